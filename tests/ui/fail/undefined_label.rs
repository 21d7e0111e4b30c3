use peach::prelude::*;

peach_fn! {
    fn k(n: u64) -> u64 {
        let top = Label::new();
        SUB(n, 1);
        JNZ(top);
        RETURN(n);
    }
}

fn main() {}
