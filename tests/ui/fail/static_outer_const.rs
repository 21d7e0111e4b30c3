use peach::prelude::*;

const OFFSET: i32 = 8;

// A static body sees only its own names: `OFFSET` is defined outside the macro.
peach_fn! {
    unsafe fn k(p: *const u64) -> u64 {
        let r = GP64();
        MOV(r, [p + OFFSET]);
        RETURN(r);
    }
}

fn main() {}
