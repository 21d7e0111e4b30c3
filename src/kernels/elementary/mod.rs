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

use peach_core::{Error, ErrorKind};

/// `y[i] = exp(x[i])` over slices of any length, with the best variant this CPU runs (the last
/// `len % 32` values go through a padded block); the same results as [`exp_f64`].
///
/// ```
/// let x = [0.0, 1.0, f64::NEG_INFINITY];
/// let mut y = [0.0; 3];
/// peach::kernels::elementary::exp(&x, &mut y)?;
/// assert_eq!(y, [1.0, std::f64::consts::E, 0.0]);
/// # Ok::<(), peach::Error>(())
/// ```
///
/// # Errors
///
/// When `x` and `y` differ in length.
pub fn exp(x: &[f64], y: &mut [f64]) -> Result<(), Error> {
    map(x, y, exp_f64)
}

/// `y[i] = ln(x[i])` over slices of any length; the same results as [`ln_f64`].
///
/// ```
/// let x = [1.0, 0.0, std::f64::consts::E];
/// let mut y = [7.0; 3];
/// peach::kernels::elementary::ln(&x, &mut y)?;
/// assert_eq!(y, [0.0, f64::NEG_INFINITY, 1.0]);
/// # Ok::<(), peach::Error>(())
/// ```
///
/// # Errors
///
/// When `x` and `y` differ in length.
pub fn ln(x: &[f64], y: &mut [f64]) -> Result<(), Error> {
    map(x, y, ln_f64)
}

/// Runs a kernel over whole blocks of 32 and the rest through one padded block.
fn map(x: &[f64], y: &mut [f64], kernel: unsafe fn(*const f64, *mut f64, usize)) -> Result<(), Error> {
    if x.len() != y.len() {
        let msg = format!("the input has {} values and the output room for {}", x.len(), y.len());
        return Err(Error::new(ErrorKind::InvalidOperands, msg));
    }
    let body = x.len() - x.len() % 32;
    if body > 0 {
        // SAFETY: both slices hold `body` values, a positive multiple of 32.
        unsafe { kernel(x.as_ptr(), y.as_mut_ptr(), body) };
    }
    if body < x.len() {
        let (mut input, mut output) = ([1.0f64; 32], [0.0f64; 32]);
        input[..x.len() - body].copy_from_slice(&x[body..]);
        // SAFETY: 32 values each.
        unsafe { kernel(input.as_ptr(), output.as_mut_ptr(), 32) };
        y[body..].copy_from_slice(&output[..x.len() - body]);
    }
    Ok(())
}

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
