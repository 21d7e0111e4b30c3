use peach::prelude::*;

peach_fn! {
    fn k(n: u64) -> u64 {
        let mut i = 0;
        loop {
            i += 1;
        }
        RETURN(n);
    }
}

fn main() {}
