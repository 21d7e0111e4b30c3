use peach::prelude::*;

// A general-purpose register cannot carry an `f64` result (xmm0 does).
peach_fn! {
    fn k(n: u64) -> f64 {
        RETURN(n);
    }
}

fn main() {}
