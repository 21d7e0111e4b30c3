use peach::prelude::*;

// Only the caller can promise that a pointer is valid: such a kernel is an `unsafe fn`.
peach_fn! {
    pub fn first(p: *const u64) -> u64 {
        let r = GP64();
        MOV(r, [p]);
        RETURN(r);
    }
}

fn main() {}
