use peach::prelude::*;

peach_fn! {
    fn k(n: u64) -> u64 {
        let f = |x| x + 1;
        RETURN(n);
    }
}

fn main() {}
