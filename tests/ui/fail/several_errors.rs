use peach::prelude::*;

peach_fn! {
    fn k(n: u64) -> u64 {
        ADD(n, 1i64 << 40);
        SUBB(n, 1);
        RETURN(n);
    }
}

fn main() {}
