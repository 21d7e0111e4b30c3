//! Custom instructions are plain Rust functions: the seed paper's `HADDPD` emulated with SSE2
//! (`UNPCKLPD`, `UNPCKHPD`, `ADDPD` and a virtual temporary), used exactly like a built-in
//! instruction, and checked against the real SSE3 `HADDPD` on the same data.
//!
//! Run with `cargo run --example custom_instruction`.

use std::panic::Location;

use peach::prelude::*;

/// `HADDPD x, y` for SSE2-only machines: `x = [x0 + x1, y0 + y1]`.
#[track_caller]
fn haddpd_sse2(f: &mut Function, x: Reg, y: Reg) {
    let at = Location::caller(); // errors inside point at the caller, like a real instruction
    let tmp = f.xmm();
    f.ins_at("movapd", (tmp, x), at);
    f.ins_at("unpcklpd", (x, y), at);
    f.ins_at("unpckhpd", (tmp, y), at);
    f.ins_at("addpd", (x, tmp), at);
}

/// `void kernel(const f64* in, f64* out)`: out[0..2] = haddpd(in[0..2], in[2..4]).
fn kernel(emulated: bool) -> Result<CodeObject, Error> {
    let target = if emulated { Target::x86_64_baseline() } else { Target::x86_64_v2() };
    let mut f = Function::new("hadd", Signature::new(&[Type::Ptr, Type::Ptr], None), target);
    let (src, dst) = (f.param(0), f.param(1));
    let (x, y) = (f.xmm(), f.xmm());
    f.ins("movupd", (x, [src]));
    f.ins("movupd", (y, [src + 16]));
    if emulated {
        haddpd_sse2(&mut f, x, y);
    } else {
        f.ins("haddpd", (x, y));
    }
    f.ins("movupd", ([dst], x));
    f.ret(None);
    f.compile(Abi::host())
}

pub fn main() {
    let emulated = kernel(true).unwrap_or_else(|e| panic!("{e}"));
    let real = kernel(false).unwrap_or_else(|e| panic!("{e}"));
    println!("{}\n{}", emulated.listing(), real.listing());
    assert!(!emulated.extension_names().contains(&"SSE3"), "the emulation needs only SSE2");

    #[cfg(target_arch = "x86_64")]
    {
        type Hadd = unsafe extern "C" fn(*const f64, *mut f64);
        let emulated = unsafe { Kernel::<Hadd>::load(&emulated).unwrap() };
        let real = unsafe { Kernel::<Hadd>::load(&real).unwrap() };
        for input in [[1.0, 2.0, 3.0, 4.0], [-0.5, 1e300, 7.25, -7.25], [0.1, 0.2, f64::INFINITY, 1.0]] {
            let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
            unsafe {
                (emulated.get())(input.as_ptr(), a.as_mut_ptr());
                (real.get())(input.as_ptr(), b.as_mut_ptr());
            }
            assert_eq!(a, [input[0] + input[1], input[2] + input[3]]);
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "emulation and HADDPD agree bit for bit");
            println!("haddpd({:?}) = {a:?} (emulated) = {b:?} (HADDPD)", input);
        }
    }
}
