// Iterator adapters in a static body: a zero step (Rust panics) and an adapter it lacks.
use peach::prelude::*;

peach_fn! {
    #[target(x86_64::baseline)]
    fn zero_step() -> u64 {
        let r = GP64();
        XOR(r, r);
        for i in (0..8i64).step_by(0) {
            ADD(r, i);
        }
        RETURN(r);
    }
}

peach_fn! {
    #[target(x86_64::baseline)]
    fn no_map() -> u64 {
        let r = GP64();
        XOR(r, r);
        for i in (0..8i64).map(0) {
            ADD(r, i);
        }
        RETURN(r);
    }
}

fn main() {}
