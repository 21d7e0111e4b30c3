//! A fat binary: one f32 dot-product body, assembled for AVX-512, AVX2+FMA and SSE2. The first
//! call picks the best variant this CPU (and OS) supports; every later call goes straight to it.
//! The example prints the choice, then runs every variant through the `PEACH_MAX_ISA` cap (the
//! `set_max_isa` API) and checks each against plain Rust.
//!
//! Run with `cargo run --example fat_binary`.

use peach::prelude::*;
use peach::runtime::dispatch;

peach_fn! {
    /// `sum(x[i] * y[i])` for `n` a positive multiple of 32.
    #[variants(x86_64::avx512, x86_64::haswell, x86_64::baseline)]
    pub unsafe fn dot(x: *const f32, y: *const f32, n: usize) -> f32 {
        let wide = target.has_avx512f();
        let acc = if wide { [ZMM(); 2] } else if target.has_avx() { [YMM(); 2] } else { [XMM(); 2] };
        let step = if wide { 64 } else if target.has_avx() { 32 } else { 16 };
        for a in acc {
            if target.has_avx() { VXORPS(a, a, a); } else { XORPS(a, a); }
        }
        let top = Label::new();
        LABEL(top);
        let mut offset = 0;
        while offset < 128 {
            for a in acc {
                if target.has_fma3() {
                    let t = if wide { ZMM() } else { YMM() };
                    VMOVUPS(t, [x + offset]);
                    VFMADD231PS(a, t, [y + offset]);
                } else {
                    let t = XMM();
                    MOVUPS(t, [x + offset]);
                    MULPS(t, [y + offset]);
                    ADDPS(a, t);
                }
                offset += step;
            }
        }
        ADD(x, 128);
        ADD(y, 128);
        SUB(n, 32);
        JNZ(top);
        if target.has_avx() { VADDPS(acc[0], acc[1]); } else { ADDPS(acc[0], acc[1]); }
        REDUCE_SUM(acc[0], f32);
        RETURN(acc[0].xmm());
    }
}

pub fn main() {
    let x: Vec<f32> = (0..1024).map(|i| (i % 11) as f32 - 5.0).collect();
    let y: Vec<f32> = (0..1024).map(|i| (i % 7) as f32 * 0.5).collect();
    let want: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    #[cfg(target_arch = "x86_64")]
    {
        for v in DOT_DISPATCH.variants() {
            println!("variant {:<10} needs {:?}", v.name, v.required);
        }
        // SAFETY: both inputs hold 1024 floats.
        let got = unsafe { dot(x.as_ptr(), y.as_ptr(), x.len()) };
        println!("this machine runs the {} variant: {got} (Rust: {want})", DOT_DISPATCH.active().unwrap_or("?"));
        assert_eq!(got, want);
        for cap in ["avx2", "baseline", "avx512"] {
            dispatch::set_max_isa(Some(cap));
            DOT_DISPATCH.reset();
            let got = unsafe { dot(x.as_ptr(), y.as_ptr(), x.len()) };
            println!("capped at {cap:<8}: the {} variant gives {got}", DOT_DISPATCH.active().unwrap_or("?"));
            assert_eq!(got, want, "{cap}");
        }
        dispatch::set_max_isa(None);
        DOT_DISPATCH.reset();
    }
}
