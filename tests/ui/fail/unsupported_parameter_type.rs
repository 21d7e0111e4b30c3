use peach::prelude::*;

struct Pair(u64, u64);

peach_fn! {
    fn k(p: Pair, q: u128) -> u64 {
        RETURN(q);
    }
}

fn main() {}
