//! `peach_fn!`: kernels checked and assembled at compile time, linked into the binary's text
//! section and called like Rust functions; the body's Rust is evaluated at expansion time.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

peach_fn! {
    /// Integer code with loops and branches evaluated at expansion time: sum of the squares
    /// of 1..=k for each k in 1..=4, unrolled into straight-line code.
    fn squares() -> u64 {
        let total = GP64();
        XOR(total.r32(), total.r32());
        let mut k = 1;
        while k <= 4 {
            for i in 1..=k {
                let sq = match i {
                    1 => 1,
                    2 | 3 => i * i,
                    _ => i * i * 1,
                };
                ADD(total, sq);
            }
            k += 1;
        }
        RETURN(total);
    }
}

#[test]
fn static_kernels_run() {
    // Vector kernels in static mode run in tests/jit.rs, next to their JIT twins.
    assert_eq!(squares(), 1 + (1 + 4) + (1 + 4 + 9) + (1 + 4 + 9 + 16));
}

#[test]
fn listings_are_constants() {
    assert!(SQUARES_LISTING.contains("ret"), "{SQUARES_LISTING}");
    assert_eq!(SQUARES_CODE.last(), Some(&0xc3));
}

/// The same kernel in two modules, written by one `macro_rules!`: each expansion gets its own
/// symbol, so both link.
macro_rules! answer_module {
    ($m:ident, $v:expr) => {
        mod $m {
            use peach::prelude::*;
            peach_fn! {
                pub fn answer() -> u64 {
                    let r = GP64();
                    MOV(r, 42);
                    RETURN(r);
                }
            }
            pub fn tag() -> u64 {
                $v
            }
        }
    };
}
answer_module!(first, 1);
answer_module!(second, 2);

#[test]
fn identical_kernels_in_two_modules_link() {
    assert_eq!(first::answer() + first::tag(), 43);
    assert_eq!(second::answer() + second::tag(), 44);
}
