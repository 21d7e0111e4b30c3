use peach::prelude::*;

peach_fn! {
    #[target(x86_64::sandybridge)]
    fn k(p: *const f32) {
        let v = YMM();
        VXORPS(v, v, v);
        VFMADD231PS(v, v, [p]);
        VMOVUPS([p], v);
    }
}

fn main() {}
