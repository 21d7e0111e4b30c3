//! exp over a million inputs spread over its whole domain plus every special case, against a
//! double-double reference (accurate to far better than 0.01 ulp), for every variant this CPU
//! runs. The test reports the largest error found and fails above 1 ulp.
#![cfg(target_arch = "x86_64")]

use peach::kernels::elementary::*;
use peach::runtime::dispatch;

#[path = "common/accuracy.rs"]
mod accuracy;
use accuracy::*;

type ArrayFn = unsafe fn(*const f64, *mut f64, usize);

/// The x86-64 variants of exp and ln, by the names dispatch gives them.
const EXP_VARIANTS: [(&str, ArrayFn); 3] =
    [("sapphirerapids", exp_f64_sapphirerapids), ("x86-64-v4", exp_f64_x86_64_v4), ("haswell", exp_f64_haswell)];
const LN_VARIANTS: [(&str, ArrayFn); 3] =
    [("sapphirerapids", ln_f64_sapphirerapids), ("x86-64-v4", ln_f64_x86_64_v4), ("haswell", ln_f64_haswell)];

/// The variants of `dispatch_state` this CPU runs, each with its function in `fns`, found by
/// name: every variant must have one, so that a new variant cannot go untested and a reordered
/// list cannot test one variant's code as another's.
fn runnable(dispatch_state: &dispatch::Dispatch, fns: &[(&str, ArrayFn)]) -> Vec<(&'static str, ArrayFn)> {
    let mut ran = Vec::new();
    for v in dispatch_state.variants() {
        let Some(&(_, f)) = fns.iter().find(|(name, _)| *name == v.name) else {
            panic!("no function given for the {} variant", v.name);
        };
        if dispatch::runs_here(v.required) {
            ran.push((v.name, f));
        } else {
            eprintln!("skipped the {} variant", v.name);
        }
    }
    ran
}

/// Runs every variant this CPU supports over `x` and checks the largest error (`error(x, y)` in
/// ulps) against `bound`; returns the variants run.
fn check_variants(
    what: &str,
    dispatch_state: &dispatch::Dispatch,
    fns: &[(&str, ArrayFn)],
    x: &[f64],
    error: impl Fn(f64, f64) -> f64,
    bound: f64,
) -> Vec<ArrayFn> {
    let mut ran = Vec::new();
    for (name, f) in runnable(dispatch_state, fns) {
        let mut y = vec![0.0; x.len()];
        unsafe { f(x.as_ptr(), y.as_mut_ptr(), x.len()) };
        check_bound(&format!("{what}, {name} variant"), x, &y, &error, bound);
        ran.push(f);
    }
    ran
}

/// `f` on `special` (32 values).
fn on_specials(f: ArrayFn, special: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; special.len()];
    unsafe { f(special.as_ptr(), out.as_mut_ptr(), special.len()) };
    out
}

#[test]
fn exp_is_within_one_ulp_and_handles_special_cases() {
    let x = exp_inputs();
    for f in check_variants("exp", &EXP_F64_DISPATCH, &EXP_VARIANTS, &x, exp_ulp_error, 1.0) {
        check_exp_specials(&on_specials(f, &exp_specials()));
    }
}

#[test]
fn ln_is_within_one_ulp_and_handles_special_cases() {
    let x = ln_inputs();
    for f in check_variants("ln", &LN_F64_DISPATCH, &LN_VARIANTS, &x, ln_ulp_error, 1.0) {
        check_ln_specials(&on_specials(f, &ln_specials()));
    }
}

/// Each of `specials` anywhere in a block of 32 inputs of 2 gets a result `right` accepts, and
/// its neighbours theirs: the AVX2 variants check a block's inputs to choose its path.
fn specials_anywhere_in_a_block(
    dispatch_state: &dispatch::Dispatch,
    fns: &[(&str, ArrayFn)],
    specials: &[f64],
    right: impl Fn(f64, f64) -> bool,
) {
    for (name, f) in runnable(dispatch_state, fns) {
        let two = on_specials(f, &[2.0; 32])[0];
        for &s in specials {
            for at in 0..32 {
                let mut x = [2.0; 32];
                x[at] = s;
                let y = on_specials(f, &x);
                assert!(right(s, y[at]), "{name}: f({s:e}) at {at} is {:e}", y[at]);
                assert!(y.iter().enumerate().all(|(k, &r)| k == at || r == two), "{name}: {s:e} at {at}");
            }
        }
    }
}

/// The same bits, or both NaN.
fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn ln_special_inputs_anywhere_in_a_block() {
    // C99's results, which are `f64::ln`'s, for the 9 special inputs (the rest is padding).
    let right = |x: f64, y: f64| same(y, x.ln());
    specials_anywhere_in_a_block(&LN_F64_DISPATCH, &LN_VARIANTS, &ln_specials()[..9], right);
}

#[test]
fn exp_special_inputs_anywhere_in_a_block() {
    // The special cases (exact results, as `f64::exp`'s), and finite inputs past the AVX2
    // variant's usual path (within 1 ulp).
    let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, 709.8, 1000.0, -746.0, -1e300];
    let edges = [704.0, -704.0, 709.0, -708.0, -720.0, -745.0];
    let right = |x: f64, y: f64| if edges.contains(&x) { exp_ulp_error(x, y) <= 1.0 } else { same(y, x.exp()) };
    let inputs: Vec<f64> = specials.iter().chain(&edges).copied().collect();
    specials_anywhere_in_a_block(&EXP_F64_DISPATCH, &EXP_VARIANTS, &inputs, right);
}

fn bits_of(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The kernels' tables, computed here in double-double arithmetic: `2^(j/16)` (high and low
/// parts) for exp; `1/c` rounded, `ln(c)` rounded to a multiple of 2^-32 and the rest, for the
/// sixteen centres of ln. Each half of each table must appear in the AVX-512 code's constant
/// pool. This test is the tables' generator: `cargo test --release --test elementary --
/// tables --nocapture` prints them in the form the kernel source uses.
fn tables() -> Vec<(&'static str, Vec<u64>)> {
    // 2^(8/16), 2^(4/16), 2^(2/16), 2^(1/16) by square roots, multiplied by the bits of j.
    let mut roots = vec![sqrt_dd(Dd(2.0, 0.0))];
    while roots.len() < 4 {
        roots.push(sqrt_dd(roots[roots.len() - 1]));
    }
    let powers: Vec<Dd> =
        (0..16).map(|j| (0..4).filter(|b| j & (8 >> b) != 0).fold(Dd(1.0, 0.0), |p, b| mul(p, roots[b]))).collect();
    let centres: Vec<f64> = (0..16)
        .map(|j| match j {
            0 => 1.0,
            1..=8 => 1.0 + j as f64 / 16.0,
            _ => 0.5 + (2 * j - 1) as f64 / 64.0,
        })
        .collect();
    let inv_c: Vec<f64> = centres.iter().map(|c| 1.0 / c).collect();
    let ln_c: Vec<Dd> = inv_c.iter().map(|&i| if i == 1.0 { Dd(0.0, 0.0) } else { ln_reference(i).neg() }).collect();
    let ln_c_hi: Vec<f64> = ln_c.iter().map(|l| (l.0 * 4294967296.0).round() / 4294967296.0).collect();
    let ln_c_lo: Vec<f64> = ln_c.iter().zip(&ln_c_hi).map(|(l, h)| (l.0 - h) + l.1).collect();
    vec![
        ("exp: 2^(j/16), high parts", bits_of(&powers.iter().map(|p| p.0).collect::<Vec<_>>())),
        ("exp: 2^(j/16), low parts", bits_of(&powers.iter().map(|p| p.1).collect::<Vec<_>>())),
        ("ln: 1/c", bits_of(&inv_c)),
        ("ln: ln(c), high parts", bits_of(&ln_c_hi)),
        ("ln: ln(c), low parts", bits_of(&ln_c_lo)),
    ]
}

#[test]
fn tables_are_the_ones_computed_here() {
    let exp_code = EXP_F64_X86_64_V4_CODES[0].1;
    let ln_code = LN_F64_X86_64_V4_CODES[0].1;
    let tables = tables();
    for (what, table) in &tables {
        let literal: Vec<String> = table.iter().map(|b| format!("0x{b:016X}")).collect();
        println!("{what}:\n[{}]", literal.join(", "));
    }
    for (what, table) in tables {
        let code = if what.starts_with("exp") { exp_code } else { ln_code };
        for half in table.chunks(8) {
            let bytes: Vec<u8> = half.iter().flat_map(|b| b.to_le_bytes()).collect();
            assert!(code.windows(64).any(|w| w == bytes), "{what}: the kernel's table is not the one printed above");
        }
    }
}

/// The polynomial of degree `degree` that Chebyshev economization makes of `taylor` (the
/// coefficients of r^0, r^1, ...) on [-h, h]: each top term a r^m becomes its best
/// approximation of lower degree, a (r^m - (h/2)^m 2 T_m(r/h)), in double-double arithmetic.
fn economize(taylor: &[Dd], h: f64, degree: usize) -> Vec<f64> {
    // Chebyshev polynomials' coefficients, exact in f64 at these degrees.
    let mut t: Vec<Vec<f64>> = vec![vec![1.0], vec![0.0, 1.0]];
    while t.len() < taylor.len() {
        let (a, b) = (&t[t.len() - 1], &t[t.len() - 2]);
        let mut next = vec![0.0; a.len() + 1];
        for (j, c) in a.iter().enumerate() {
            next[j + 1] += 2.0 * c;
        }
        for (j, c) in b.iter().enumerate() {
            next[j] -= c;
        }
        t.push(next);
    }
    let mut a = taylor.to_vec();
    for m in (degree + 1..taylor.len()).rev() {
        // r^m = h^m (T_m(r/h) - sum_{j<m} t_mj (r/h)^j) / 2^(m-1); drop T_m.
        let scale = 2f64.powi(m as i32 - 1);
        for j in 0..m {
            if t[m][j] != 0.0 {
                let hj = (0..m - j).fold(Dd(1.0, 0.0), |p, _| mul(p, Dd(h, 0.0)));
                let term = mul(mul(a[m], hj), Dd(t[m][j] / scale, 0.0));
                a[j] = add(a[j], term.neg());
            }
        }
        a.truncate(m);
    }
    a.iter().map(|c| c.0).collect()
}

/// The kernels' polynomials: for the AVX-512 exp, `(e^r - 1) / r` of degree 5 on
/// |r| <= ln2/32 (from degree 9); for the AVX-512 ln, `(ln(1 + r) - r) / r^2` of degree 7 on
/// |r| <= 1/32 (from degree 13). Highest degree first, as the kernels' Horner loops read them.
fn polynomials() -> Vec<(&'static str, Vec<u64>)> {
    let factorial = |k: usize| (1..=k).fold(Dd(1.0, 0.0), |p, i| mul(p, Dd(i as f64, 0.0)));
    let exp: Vec<Dd> = (0..10).map(|k| div_f(Dd(1.0, 0.0), factorial(k + 1).0)).collect();
    let ln: Vec<Dd> = (0..14).map(|k| div_f(Dd(if k % 2 == 0 { -1.0 } else { 1.0 }, 0.0), (k + 2) as f64)).collect();
    let mut e = economize(&exp, 0.0217, 5);
    let mut l = economize(&ln, 0.0313, 7);
    // AVX2 and NEON: e^r of degree 11 on |r| <= ln2/2 (from degree 17); fdlibm's
    // Q(z) = sum 2 z^k / (2k + 3), z = s^2, of degree 7 in z on |s| <= 0.2 (from degree 13),
    // economized as the even polynomial in s it is.
    let exp_wide: Vec<Dd> = (0..18).map(|k| div_f(Dd(1.0, 0.0), factorial(k).0)).collect();
    let mut ew = economize(&exp_wide, 0.347, 11);
    let q_in_s: Vec<Dd> =
        (0..28).map(|k| if k % 2 == 0 { div_f(Dd(2.0, 0.0), (k + 3) as f64) } else { Dd(0.0, 0.0) }).collect();
    let q = economize(&q_in_s, 0.2, 14);
    let mut lw: Vec<f64> = q.iter().step_by(2).copied().collect();
    for p in [&mut e, &mut l, &mut ew, &mut lw] {
        p.reverse();
    }
    vec![
        ("exp: (e^r - 1)/r", bits_of(&e)),
        ("ln: (ln(1 + r) - r)/r^2", bits_of(&l)),
        ("exp, AVX2 and NEON: e^r", bits_of(&ew)),
        ("ln, AVX2 and NEON: Q(z)", bits_of(&lw)),
    ]
}

/// The AVX-512 kernels' coefficients are the ones [`polynomials`] computes, each splat over a
/// zmm constant in the code's pool. This test is their generator: `cargo test --release --test
/// elementary -- polynomials --nocapture` prints them in the form the kernel source uses.
#[test]
fn polynomials_are_the_ones_computed_here() {
    let polys = polynomials();
    for (what, poly) in &polys {
        let literal: Vec<String> = poly.iter().map(|b| format!("0x{b:016X}")).collect();
        println!("{what}:\n[{}]", literal.join(", "));
    }
    for (what, poly) in polys {
        let exp = what.starts_with("exp");
        // AVX-512 splats over a zmm; AVX2 over a ymm; NEON in pairs (the bytes of each value).
        let builds: Vec<(&[u8], usize)> = if what.contains("AVX2") {
            let haswell = if exp { EXP_F64_HASWELL_CODES[0].1 } else { LN_F64_HASWELL_CODES[0].1 };
            let neon = if exp { EXP_F64_ARMV8_A_CODES[0].1 } else { LN_F64_ARMV8_A_CODES[0].1 };
            vec![(haswell, 4), (neon, 1)]
        } else {
            vec![(if exp { EXP_F64_X86_64_V4_CODES[0].1 } else { LN_F64_X86_64_V4_CODES[0].1 }, 8)]
        };
        for (code, copies) in builds {
            for &c in &poly {
                let splat: Vec<u8> = (0..copies).flat_map(|_| c.to_le_bytes()).collect();
                assert!(code.windows(8 * copies).any(|w| w == splat), "{what}: 0x{c:016X} is not in the kernel");
            }
        }
    }
}

#[test]
fn slices_of_any_length_give_the_kernels_results() {
    let x: Vec<f64> = (0..100).map(|i| (i as f64 - 50.0) * 1.37).collect();
    let positive: Vec<f64> = x.iter().map(|v| v.abs() + 0.5).collect();
    let mut want = vec![0.0; 96];
    unsafe { exp_f64(x.as_ptr(), want.as_mut_ptr(), 96) };
    for len in 0..=x.len() {
        let mut y = vec![0.0; len];
        exp(&x[..len], &mut y).unwrap();
        for (i, (v, w)) in y.iter().zip(x.iter().map(|v| v.exp())).enumerate() {
            if i < 96 {
                assert_eq!(v.to_bits(), want[i].to_bits(), "len {len}, i {i}");
            }
            assert!((v - w).abs() <= 2.0 * f64::EPSILON * w, "exp({}) = {v}", x[i]);
        }
        ln(&positive[..len], &mut y).unwrap();
        for (v, p) in y.iter().zip(&positive) {
            assert!((v - p.ln()).abs() <= 2.0 * f64::EPSILON * p.ln().abs().max(1.0), "ln({p}) = {v}");
        }
    }
    let err = exp(&x, &mut [0.0; 3]).unwrap_err();
    assert_eq!(err.kind(), peach::ErrorKind::InvalidOperands, "{err}");
}

/// Outputs of 2^18 values and more (2^22 in the Sapphire Rapids variants), 64-byte aligned, are
/// written with non-temporal stores: the same values as through the caches, in each AVX-512
/// variant this CPU runs.
#[test]
fn non_temporal_stores_give_the_same_results() {
    let from = |name: &str| if name == "sapphirerapids" { 1usize << 22 } else { 1 << 18 };
    for (name, listing) in [
        ("x86-64-v4", EXP_F64_X86_64_V4_LISTING),
        ("x86-64-v4", LN_F64_X86_64_V4_LISTING),
        ("sapphirerapids", EXP_F64_SAPPHIRERAPIDS_LISTING),
        ("sapphirerapids", LN_F64_SAPPHIRERAPIDS_LISTING),
    ] {
        assert!(listing.contains("vmovntpd"), "{name}");
        // n is in rdx.
        let threshold = listing.lines().find_map(|l| l.split("cmp rdx, ").nth(1)).map(str::trim);
        assert_eq!(threshold, Some(format!("{:#x}", from(name)).as_str()), "{name}");
    }
    type Reference = fn(f64) -> f64;
    let exps =
        runnable(&EXP_F64_DISPATCH, &EXP_VARIANTS).into_iter().map(|(name, f)| (name, f, f64::exp as Reference, false));
    let lns =
        runnable(&LN_F64_DISPATCH, &LN_VARIANTS).into_iter().map(|(name, f)| (name, f, f64::ln as Reference, true));
    // (The AVX2 variants store through the caches at every size.)
    for (name, kernel, reference, positive) in exps.chain(lns).filter(|case| case.0 != "haswell") {
        let n = from(name);
        let input: Vec<f64> = (0..n)
            .map(|i| (i as f64 - n as f64 / 2.0) * (0.0041 * (1 << 18) as f64 / n as f64))
            .map(|v| if positive { v.abs() + 1e-3 } else { v })
            .collect();
        let mut buffer = vec![0.0f64; 2 * n + 16];
        let skip = buffer.as_ptr().align_offset(64);
        let (aligned, rest) = buffer[skip..].split_at_mut(n);
        let unaligned = &mut rest[1..n + 1]; // 8 bytes past a 64-byte boundary: the cached path
        assert_eq!(aligned.as_ptr() as usize % 64, 0);
        unsafe {
            kernel(input.as_ptr(), aligned.as_mut_ptr(), n);
            kernel(input.as_ptr(), unaligned.as_mut_ptr(), n);
        }
        let differ = aligned.iter().zip(unaligned.iter()).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "{name}");
        for (v, i) in aligned.iter().zip(input.iter()).step_by(997) {
            let want = reference(*i);
            assert!((v - want).abs() <= 2.0 * f64::EPSILON * want.abs(), "{name}: {v} for {want}");
        }
    }
}
