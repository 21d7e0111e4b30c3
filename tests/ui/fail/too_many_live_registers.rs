use peach::prelude::*;

peach_fn! {
    #[target(x86_64::haswell)]
    fn k(p: *const f32) {
        let v = [YMM(); 17];
        for i in 0..17 {
            VMOVUPS(v[i], [p + 32 * i]);
        }
        for i in 1..17 {
            VADDPS(v[0], v[0], v[i]);
        }
        VMOVUPS([p], v[0]);
    }
}

fn main() {}
