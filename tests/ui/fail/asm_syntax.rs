use peach::prelude::*;

peach_fn! {
    #[target(x86_64::avx512)]
    unsafe fn k(p: *const f32) {
        let z = ZMM();
        ASM("vmovups {}, zmmword ptr [{} + {}*3]", z, p, p);
    }
}

fn main() {}
