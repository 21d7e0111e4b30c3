use peach::prelude::*;

peach_fn! {
    fn k(n: u64) -> u64 {
        let s = STREAM({
            ADD(n, 1);
        });
        ISSUE(s, 2);
        RETURN(n);
    }
}

fn main() {}
