use peach::prelude::*;

peach_fn! {
    #[target(x86_64::v3)]
    fn k(p: *const f64) {
        let v = YMM();
        VXORPD(v, v, v);
        VADDPD(v, p, 3);
    }
}

fn main() {}
