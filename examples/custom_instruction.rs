//! Custom instructions are plain Rust functions: the seed paper's `HADDPD` emulated with SSE2
//! (`UNPCKLPD`, `UNPCKHPD`, `ADDPD` and a virtual temporary), used exactly like a built-in
//! instruction, and checked against the real SSE3 `HADDPD` on the same data. The emulated kernel
//! is also built in JIT mode, which gives the same bytes.
//!
//! Run with `cargo run --example custom_instruction`.

use peach::prelude::*;

// x86-64 code: on other architectures the example only says so.
#[cfg(target_arch = "x86_64")]
peach_fn! {
    /// `out[0..2] = haddpd(in[0..2], in[2..4])` with SSE2 only.
    #[target(x86_64::baseline)]
    pub unsafe fn hadd_emulated(src: *const f64, dst: *mut f64) {
        /// `HADDPD x, y` for SSE2-only machines: `x = [x0 + x1, y0 + y1]`.
        fn haddpd_sse2(x: Reg, y: Reg) {
            let tmp = XMM();
            MOVAPD(tmp, x);
            UNPCKLPD(x, y);
            UNPCKHPD(tmp, y);
            ADDPD(x, tmp);
        }
        let (x, y) = (XMM(), XMM());
        MOVUPD(x, [src]);
        MOVUPD(y, [src + 16]);
        haddpd_sse2(x, y);
        MOVUPD([dst], x);
    }
}

#[cfg(target_arch = "x86_64")]
peach_fn! {
    /// The same with SSE3's `HADDPD`.
    #[target(x86_64::v2)]
    pub unsafe fn hadd_real(src: *const f64, dst: *mut f64) {
        let (x, y) = (XMM(), XMM());
        MOVUPD(x, [src]);
        MOVUPD(y, [src + 16]);
        HADDPD(x, y);
        MOVUPD([dst], x);
    }
}

peach_fn! {
    /// `hadd_emulated`'s body in JIT mode.
    #[target(x86_64::baseline)]
    #[jit]
    pub unsafe fn hadd_emulated_jit(src: *const f64, dst: *mut f64) {
        fn haddpd_sse2(x: Reg, y: Reg) {
            let tmp = XMM();
            MOVAPD(tmp, x);
            UNPCKLPD(x, y);
            UNPCKHPD(tmp, y);
            ADDPD(x, tmp);
        }
        let (x, y) = (XMM(), XMM());
        MOVUPD(x, [src]);
        MOVUPD(y, [src + 16]);
        haddpd_sse2(x, y);
        MOVUPD([dst], x);
    }
}

pub fn main() {
    #[cfg(not(target_arch = "x86_64"))]
    println!("this example is x86-64 code: run it on an x86-64 machine");
    #[cfg(target_arch = "x86_64")]
    {
        println!("{HADD_EMULATED_LISTING}\n{HADD_REAL_LISTING}");
        assert!(!HADD_EMULATED_LISTING.contains("haddpd"), "the emulation needs only SSE2");
        let jit = hadd_emulated_jit().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(jit.bytes(), HADD_EMULATED_CODE, "static and JIT builds agree byte for byte");
        for input in [[1.0, 2.0, 3.0, 4.0], [-0.5, 1e300, 7.25, -7.25], [0.1, 0.2, f64::INFINITY, 1.0]] {
            let (mut a, mut b, mut c) = ([0.0; 2], [0.0; 2], [0.0; 2]);
            // SAFETY: `input` holds four doubles and each output two; SSE3 is universal on x86-64 CPUs
            // that run this.
            unsafe {
                hadd_emulated(input.as_ptr(), a.as_mut_ptr());
                hadd_real(input.as_ptr(), b.as_mut_ptr());
                jit.call(input.as_ptr(), c.as_mut_ptr());
            }
            assert_eq!(a, [input[0] + input[1], input[2] + input[3]]);
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "emulation and HADDPD agree bit for bit");
            assert_eq!(a.map(f64::to_bits), c.map(f64::to_bits));
            println!("haddpd({input:?}) = {a:?} (emulated) = {b:?} (HADDPD)");
        }
    }
}
