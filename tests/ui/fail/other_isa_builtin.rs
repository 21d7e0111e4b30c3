use peach::prelude::*;

peach_fn! {
    #[target(aarch64::neon)]
    unsafe fn k(p: *const f32) {
        let v = VEC();
        LDR(v.q(), [p]);
        REDUCE_SUM(v, f32);
    }
}

fn main() {}
