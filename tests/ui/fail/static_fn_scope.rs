// A custom instruction sees its parameters and the items around it, as a nested `fn` does in
// Rust, not its caller's variables.
use peach::prelude::*;

peach_fn! {
    #[target(x86_64::baseline)]
    fn k() -> u64 {
        let step = 5i64;
        fn bump(r: Reg) {
            ADD(r, step);
        }
        let r = GP64();
        XOR(r, r);
        bump(r);
        RETURN(r);
    }
}

fn main() {}
