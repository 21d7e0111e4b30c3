//! Elementary functions over arrays: `y[i] = exp(x[i])` and `y[i] = ln(x[i])` in f64, at most
//! 1 ulp of error with the C99 special cases, as fat binaries.
//!
//! exp reduces with a shifter constant (which leaves the integer part in the low bits) and a
//! two-part ln2, then evaluates a short polynomial: on AVX-512 after a sixteen-entry table of
//! `2^(j/16)` read with permutes and finished by VSCALEFPD; on AVX2 and NEON a longer one, with
//! `2^n` rebuilt from the exponent bits (the Yeppp! scheme). ln splits `x = m 2^e`: on AVX-512
//! with VGETMANTPD/VGETEXPPD and a sixteen-entry table of `1/c` and `ln c`; on AVX2 and NEON with
//! fdlibm's formulation. Each variant's `fn` in `elementary/exp.rs` and `elementary/ln.rs` says how.

mod exp;
mod ln;

pub use exp::*;
pub use ln::*;

/// [`exp_f64`] where no variant runs: `f64::exp`, element by element.
///
/// # Safety
///
/// As for [`exp_f64`].
pub unsafe fn exp_f64_in_rust(x: *const f64, y: *mut f64, n: usize) {
    for i in 0..n {
        // SAFETY: the caller passes `n` readable doubles at `x` and `n` writable ones at `y`.
        unsafe { *y.add(i) = (*x.add(i)).exp() };
    }
}

/// [`ln_f64`] where no variant runs: `f64::ln`, element by element.
///
/// # Safety
///
/// As for [`ln_f64`].
pub unsafe fn ln_f64_in_rust(x: *const f64, y: *mut f64, n: usize) {
    for i in 0..n {
        // SAFETY: as above.
        unsafe { *y.add(i) = (*x.add(i)).ln() };
    }
}
