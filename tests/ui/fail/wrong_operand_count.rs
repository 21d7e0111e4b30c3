use peach::prelude::*;

peach_fn! {
    fn k(n: u64) -> u64 {
        ADD(n);
        RETURN(n);
    }
}

fn main() {}
