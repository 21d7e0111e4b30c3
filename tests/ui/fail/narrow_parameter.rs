use peach::prelude::*;

// An `i32` argument's upper 32 bits are unspecified: reading it as 64 bits needs MOVSXD first.
peach_fn! {
    unsafe fn get(p: *const i64, i: i32) -> i64 {
        let r = GP64();
        MOV(r, [p + i.r64() * 8]);
        RETURN(r);
    }
}

fn main() {}
