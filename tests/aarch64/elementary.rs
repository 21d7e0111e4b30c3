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

#[test]
fn neon_exp_is_within_one_ulp_and_handles_special_cases() {
    use peach::kernels::elementary::{EXP_F64_ARMV8_A_CODES as CODES, EXP_F64_ARMV8_A_LISTING as LISTING};
    let x = exp_inputs();
    let Some(y) = map(CODES, LISTING, &x) else { return };
    check_bound("exp, NEON variant", &x, &y, &exp_ulp_error, 1.0);
    let Some(out) = map(CODES, LISTING, &exp_specials()) else { return };
    check_exp_specials(&out);
}

#[test]
fn neon_ln_is_within_one_ulp_and_handles_special_cases() {
    use peach::kernels::elementary::{LN_F64_ARMV8_A_CODES as CODES, LN_F64_ARMV8_A_LISTING as LISTING};
    let x = ln_inputs();
    let Some(y) = map(CODES, LISTING, &x) else { return };
    check_bound("ln, NEON variant", &x, &y, &ln_ulp_error, 1.0);
    let Some(out) = map(CODES, LISTING, &ln_specials()) else { return };
    check_ln_specials(&out);
}
