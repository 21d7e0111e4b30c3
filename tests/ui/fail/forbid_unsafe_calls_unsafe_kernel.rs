//! A crate that forbids unsafe code cannot call a kernel that takes pointers: only `unsafe`
//! code can promise what such a kernel needs.
#![forbid(unsafe_code)]

use peach::prelude::*;

peach_fn! {
    unsafe fn first(p: *const u64) -> u64 {
        let r = GP64();
        MOV(r, [p]);
        RETURN(r);
    }
}

fn main() {
    let x = 7u64;
    let _ = unsafe { first(&x) };
}
