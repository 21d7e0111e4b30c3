//! The NEON variants of `peach::kernels::elementary::{exp_f64, ln_f64}` under qemu, against the
//! same double-double references as the x86-64 variants, over a million inputs each and every
//! special case; the largest error is reported and must be at most 1 ulp.

use super::*;
use crate::accuracy::*;

/// Runs an AAPCS64 build of `y[i] = f(x[i])` over `x` (a multiple of 32 values) under qemu.
fn map(codes: &[(&str, &[u8])], listing: &str, x: &[f64]) -> Option<Vec<f64>> {
    let (_, bytes) = codes.iter().find(|(abi, _)| *abi == "Aapcs64").expect("an AAPCS64 build");
    let mut data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    data.resize(16 * x.len(), 0);
    let n = x.len();
    let out = run_bytes(bytes, listing, &data, &[Arg::Ptr(0, 0), Arg::Ptr(1, 8 * n), Arg::X(2, n as u64)])?;
    Some(out.data[8 * n..].chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect())
}

/// The largest error of `y` against `error`, and where.
fn worst(x: &[f64], y: &[f64], error: fn(f64, f64) -> f64) -> (f64, f64) {
    let mut worst = (0.0f64, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        let e = error(*xi, *yi);
        if e > worst.0 || e.is_nan() {
            worst = (e, *xi);
        }
    }
    worst
}

fn padded(special: &[f64], fill: f64) -> Vec<f64> {
    let mut s = special.to_vec();
    s.resize(32, fill);
    s
}

#[test]
fn neon_exp_is_within_one_ulp_and_handles_special_cases() {
    use peach::kernels::elementary::{EXP_F64_ARMV8_A_CODES as CODES, EXP_F64_ARMV8_A_LISTING as LISTING};
    let x = exp_inputs();
    let Some(y) = map(CODES, LISTING, &x) else { return };
    let (e, at) = worst(&x, &y, exp_ulp_error);
    eprintln!("exp, NEON variant: max error {e:.3} ulp (at x = {at:e}) over {} inputs", x.len());
    assert!(e <= 1.0, "exp NEON: {e} ulp at x = {at:e}");
    let special =
        [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 709.8, 1000.0, -746.0, -1e300, -745.2, -745.13];
    let Some(out) = map(CODES, LISTING, &padded(&special, 2.0)) else { return };
    assert!(out[0].is_nan(), "exp(NaN) = {}", out[0]);
    assert_eq!((out[1], out[2]), (f64::INFINITY, 0.0));
    assert_eq!((out[3], out[4]), (1.0, 1.0));
    assert_eq!((out[5], out[6]), (f64::INFINITY, f64::INFINITY), "overflow");
    assert_eq!((out[7], out[8], out[9]), (0.0, 0.0, 0.0), "underflow");
    assert_eq!(out[10], f64::from_bits(1), "the smallest subnormal: exp(-745.13)");
}

#[test]
fn neon_ln_is_within_one_ulp_and_handles_special_cases() {
    use peach::kernels::elementary::{LN_F64_ARMV8_A_CODES as CODES, LN_F64_ARMV8_A_LISTING as LISTING};
    let x = ln_inputs();
    let Some(y) = map(CODES, LISTING, &x) else { return };
    let (e, at) = worst(&x, &y, ln_ulp_error);
    eprintln!("ln, NEON variant: max error {e:.3} ulp (at x = {at:e}) over {} inputs", x.len());
    assert!(e <= 1.0, "ln NEON: {e} ulp at x = {at:e}");
    let special = [0.0, -0.0, -1.0, f64::NEG_INFINITY, f64::INFINITY, f64::NAN, 1.0, f64::from_bits(1), f64::MAX];
    let Some(out) = map(CODES, LISTING, &padded(&special, 2.0)) else { return };
    assert_eq!((out[0], out[1]), (f64::NEG_INFINITY, f64::NEG_INFINITY), "ln(±0)");
    assert!(out[2].is_nan() && out[3].is_nan(), "ln(x < 0)");
    assert_eq!(out[4], f64::INFINITY);
    assert!(out[5].is_nan());
    assert_eq!(out[6], 0.0);
    assert_eq!(out[7], -744.4400719213812, "ln of the smallest subnormal");
    assert_eq!(out[8], 709.782712893384);
}
