use peach::prelude::*;

peach_fn! {
    #[target(x86_64::v3)]
    fn k(p: *const f64) {
        let v = YMM();
        VMOVUPD(v, [p]);
        VADDPZ(v, v, v);
    }
}

fn main() {}
