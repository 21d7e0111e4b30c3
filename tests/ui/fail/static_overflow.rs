use peach::prelude::*;

// Overflow is a compile error, as in a Rust `const`: `255u8 + 1` does not fit in `u8`.
peach_fn! {
    fn k() -> u64 {
        let r = GP64();
        MOVZX(r, Constant::u8(255u8 + 1));
        RETURN(r);
    }
}

fn main() {}
