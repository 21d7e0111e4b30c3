use peach::prelude::*;

// An unsuffixed literal nothing else types is an `i32`, as in Rust (JIT mode rejects it too).
peach_fn! {
    fn k() -> u64 {
        let r = GP64();
        MOV(r, 0x1_0000_0000);
        RETURN(r);
    }
}

fn main() {}
