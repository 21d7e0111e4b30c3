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

peach_fn! {
    /// A loop aligned to 1024 bytes: the kernel's start must be aligned as much for the padding
    /// to line the loop up.
    fn aligned_loop(n: u64) -> u64 {
        let acc = GP64();
        let i = GP64();
        MOV(acc, 0);
        MOV(i, n);
        let top = Label::new();
        ALIGN(1024);
        LABEL(top);
        ADD(acc, 3);
        SUB(i, 1);
        JNZ(top);
        RETURN(acc);
    }
}

#[test]
fn alignment_beyond_a_cache_line_is_honoured_in_the_text_section_and_when_loaded() {
    assert_eq!(aligned_loop(5), 15);
    let code = aligned_loop_jit_twin();
    assert_eq!(code.alignment(), 1024);
    // The symbol's link-time address (the binary loads at a page-aligned base), read by nm.
    let exe = std::env::current_exe().unwrap();
    let nm = std::process::Command::new("nm").arg(&exe).output().expect("nm (binutils) runs");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let ours: Vec<&str> = symbols.lines().filter(|l| l.contains("__peach_aligned_loop_")).collect();
    assert!(!ours.is_empty(), "no kernel symbol in the test binary");
    for line in ours {
        let addr = u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap();
        assert_eq!(addr % 1024, 0, "the static kernel is not 1024-aligned: {line}");
    }
    // SAFETY: the code takes and returns a u64 in System V and runs on any x86-64.
    let k = unsafe { Kernel::<extern "sysv64" fn(u64) -> u64>::load(&code).unwrap() };
    assert_eq!(k.memory().as_ptr() as usize % 1024, 0, "the loaded kernel is not 1024-aligned");
    assert_eq!(k.call(7), 21);
}

/// The same kernel built with the builder.
fn aligned_loop_jit_twin() -> CodeObject {
    let mut f = Function::new("aligned_loop", Signature::new(&[Type::U64], Some(Type::U64)), Target::x86_64_baseline());
    let n = f.param(0);
    let (acc, i) = (f.gp64(), f.gp64());
    f.ins("mov", (acc, 0));
    f.ins("mov", (i, n));
    let top = f.label();
    f.align(1024);
    f.bind(top);
    f.ins("add", (acc, 3));
    f.ins("sub", (i, 1));
    f.ins("jnz", top);
    f.ret(acc);
    let code = f.compile(Abi::SysV).unwrap();
    assert_eq!(code.bytes(), ALIGNED_LOOP_CODE, "the builder and the macro disagree");
    code
}
