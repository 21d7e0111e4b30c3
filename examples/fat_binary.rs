//! A fat binary: one f32 dot-product body (`peach::kernels::streaming::dot_f32`, read it in
//! `src/kernels/streaming.rs`), assembled for AVX-512, AVX2+FMA, SSE2 and NEON. The first call picks
//! the best variant this CPU (and OS) supports; every later call goes straight to it. The example
//! prints the choice, then runs every variant through the `PEACH_MAX_ISA` cap (the `set_max_isa`
//! API) and checks each against plain Rust.
//!
//! Run with `cargo run --example fat_binary`.

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use peach::kernels::streaming::{DOT_F32_DISPATCH as DOT_DISPATCH, dot_f32 as dot};
#[cfg(target_arch = "x86_64")]
use peach::runtime::dispatch;

pub fn main() {
    let x: Vec<f32> = (0..1024).map(|i| (i % 11) as f32 - 5.0).collect();
    let y: Vec<f32> = (0..1024).map(|i| (i % 7) as f32 * 0.5).collect();
    let want: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        for v in DOT_DISPATCH.variants() {
            println!("variant {:<10} needs {:?}", v.name, v.required);
        }
        // SAFETY: both inputs hold 1024 floats.
        let got = unsafe { dot(x.as_ptr(), y.as_ptr(), x.len()) };
        println!("this machine runs the {} variant: {got} (Rust: {want})", DOT_DISPATCH.active().unwrap_or("?"));
        assert_eq!(got, want);
    }
    #[cfg(target_arch = "x86_64")]
    {
        for cap in ["avx2", "baseline", "avx512"] {
            dispatch::set_max_isa(Some(cap)).expect("a level this architecture knows");
            DOT_DISPATCH.reset();
            let got = unsafe { dot(x.as_ptr(), y.as_ptr(), x.len()) };
            println!("capped at {cap:<8}: the {} variant gives {got}", DOT_DISPATCH.active().unwrap_or("?"));
            assert_eq!(got, want, "{cap}");
        }
        dispatch::set_max_isa(None).expect("lifting the cap always works");
        DOT_DISPATCH.reset();
    }
}
