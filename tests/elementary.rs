//! exp over a million inputs spread over its whole domain plus every special case, against a
//! double-double reference (accurate to far better than 0.01 ulp), for every variant this CPU
//! runs. The test reports the largest error found and fails above 1 ulp.
#![cfg(target_arch = "x86_64")]

use peach::kernels::elementary::*;
use peach::runtime::dispatch;

/// A double-double number `hi + lo`.
#[derive(Clone, Copy, Debug)]
struct Dd(f64, f64);

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd(s, (a - (s - bb)) + (b - bb))
}

fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd(p, a.mul_add(b, -p))
}

fn add(a: Dd, b: Dd) -> Dd {
    let s = two_sum(a.0, b.0);
    let t = two_sum(s.1, a.1 + b.1);
    two_sum(s.0, t.0).plus(t.1)
}

impl Dd {
    fn plus(self, e: f64) -> Dd {
        two_sum(self.0, self.1 + e)
    }
    fn neg(self) -> Dd {
        Dd(-self.0, -self.1)
    }
}

fn mul(a: Dd, b: Dd) -> Dd {
    let p = two_prod(a.0, b.0);
    two_sum(p.0, p.1 + (a.0 * b.1 + a.1 * b.0))
}

fn div_f(a: Dd, d: f64) -> Dd {
    let q = a.0 / d;
    let r = add(a, two_prod(q, d).neg());
    two_sum(q, r.0 / d)
}

/// `v * 2^k`, exactly when the result is normal.
fn ldexp(v: f64, k: i32) -> f64 {
    let half = k / 2;
    v * 2f64.powi(half) * 2f64.powi(k - half)
}

/// exp(x) = 2^n * e^r as (n, e^r in double-double).
fn exp_reference(x: f64) -> (i32, Dd) {
    const LN2_HI: f64 = f64::from_bits(0x3FE62E42FEFA39EF);
    const LN2_LO: f64 = f64::from_bits(0x3C7ABC9E3B39803F);
    let n = (x / std::f64::consts::LN_2).round();
    let mut r = add(Dd(x, 0.0), two_prod(n, LN2_HI).neg());
    r = add(r, two_prod(n, LN2_LO).neg());
    let (mut term, mut sum) = (Dd(1.0, 0.0), Dd(1.0, 0.0));
    for k in 1..32 {
        term = div_f(mul(term, r), k as f64);
        sum = add(sum, term);
    }
    (n as i32, sum)
}

fn ulp(v: f64) -> f64 {
    // The spacing of doubles at |v|: 2^(e - 52) for a normal v of exponent e, 2^-1074 below.
    let biased = (v.abs().to_bits() >> 52) as i64;
    if biased > 52 { f64::from_bits(((biased - 52) as u64) << 52) } else { f64::from_bits(1u64 << (biased - 1).max(0)) }
}

/// The error of `y` against exp(x), in ulps of the reference.
fn ulp_error(x: f64, y: f64) -> f64 {
    let (n, e) = exp_reference(x);
    let reference = ldexp(e.0, n);
    if reference.is_infinite() || reference == 0.0 {
        return if y == reference { 0.0 } else { (y - reference).abs() / ulp(reference) };
    }
    // Compare unscaled, where everything is exact: y * 2^-n against e.
    let unscaled = ldexp(y, -n);
    let diff = add(Dd(unscaled, 0.0), e.neg());
    (diff.0 + diff.1).abs() / ldexp(ulp(reference), -n)
}

fn inputs() -> Vec<f64> {
    let mut v = Vec::with_capacity(1 << 20);
    let mut s = 0x2545_f491_4f6c_dd1du64;
    while v.len() < 1_000_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let u = (s >> 11) as f64 / (1u64 << 53) as f64;
        v.push(-745.13 + u * (709.78 + 745.13));
    }
    // Near zero, near the subnormal range and around the edges.
    for i in 0..20_000 {
        let u = i as f64 / 20_000.0;
        v.extend([u * 1e-10 - 0.5e-10, -708.0 - u * 37.1, u - 0.5, 709.0 + u * 0.78]);
    }
    while v.len() % 32 != 0 {
        v.push(1.0);
    }
    v
}

type ArrayFn = unsafe fn(*const f64, *mut f64, usize);

/// Runs every variant this CPU supports over `x` and returns, per variant, its name and outputs;
/// checks the largest error (`error(x, y)` in ulps) against `bound`.
fn check_variants(
    what: &str,
    dispatch_state: &peach::runtime::dispatch::Dispatch,
    variants: [ArrayFn; 2],
    x: &[f64],
    error: impl Fn(f64, f64) -> f64,
    bound: f64,
) -> Vec<ArrayFn> {
    let mut ran = Vec::new();
    for (v, f) in dispatch_state.variants().iter().zip(variants) {
        if !dispatch::runs_here(v.required) {
            eprintln!("skipped the {} variant", v.name);
            continue;
        }
        let mut y = vec![0.0; x.len()];
        unsafe { f(x.as_ptr(), y.as_mut_ptr(), x.len()) };
        let (mut worst, mut at) = (0.0f64, 0.0);
        for (xi, yi) in x.iter().zip(&y) {
            let e = error(*xi, *yi);
            if e > worst || e.is_nan() {
                worst = e;
                at = *xi;
            }
        }
        eprintln!("{what}, {} variant: max error {worst:.3} ulp (at x = {at:e}) over {} inputs", v.name, x.len());
        assert!(worst <= bound, "{what} {}: {worst} ulp at x = {at:e}", v.name);
        ran.push(f);
    }
    ran
}

/// `f` on `special` padded to 32 values.
fn on_specials(f: ArrayFn, special: &[f64]) -> Vec<f64> {
    let mut s = special.to_vec();
    s.resize(32, 2.0);
    let mut out = vec![0.0; 32];
    unsafe { f(s.as_ptr(), out.as_mut_ptr(), 32) };
    out
}

#[test]
fn exp_is_within_one_ulp_and_handles_special_cases() {
    let x = inputs();
    for f in check_variants("exp", &EXP_F64_DISPATCH, [exp_f64_x86_64_v4, exp_f64_haswell], &x, ulp_error, 1.0) {
        let special =
            [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 709.8, 1000.0, -746.0, -1e300, -745.2, -745.13];
        let out = on_specials(f, &special);
        assert!(out[0].is_nan(), "exp(NaN) = {}", out[0]);
        assert_eq!(out[1], f64::INFINITY);
        assert_eq!(out[2], 0.0);
        assert_eq!((out[3], out[4]), (1.0, 1.0));
        assert_eq!((out[5], out[6]), (f64::INFINITY, f64::INFINITY), "overflow");
        assert_eq!((out[7], out[8], out[9]), (0.0, 0.0, 0.0), "underflow");
        assert_eq!(out[10], f64::from_bits(1), "the smallest subnormal: exp(-745.13)");
    }
}

/// ln(x) in double-double: one Newton step on the double-double exp from f64::ln.
fn ln_reference(x: f64) -> Dd {
    let y0 = x.ln();
    let (n, e) = exp_reference(y0);
    // y = y0 + (x - exp(y0)) / exp(y0), computed unscaled: x 2^-n against e.
    let xs = ldexp(x, -n);
    let diff = add(Dd(xs, 0.0), e.neg());
    let d = (diff.0 + diff.1) / e.0;
    two_sum(y0, d)
}

fn ln_inputs() -> Vec<f64> {
    let mut v = Vec::with_capacity(1 << 20);
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    while v.len() < 1_000_000 {
        v.push(10f64.powf(-300.0 + 600.0 * next())); // log-uniform over [1e-300, 1e300]
    }
    for _ in 0..20_000 {
        v.push(f64::from_bits(1 + (next() * ((1u64 << 52) - 2) as f64) as u64)); // subnormals
        v.push(1.0 + (next() - 0.5) * 1e-3); // near 1
        v.push(0.5 + next()); // [0.5, 1.5)
    }
    while v.len() % 32 != 0 {
        v.push(2.0);
    }
    v
}

#[test]
fn ln_is_within_one_ulp_and_handles_special_cases() {
    let x = ln_inputs();
    let error = |xi: f64, yi: f64| {
        let r = ln_reference(xi);
        let diff = add(Dd(yi, 0.0), r.neg());
        (diff.0 + diff.1).abs() / ulp(r.0)
    };
    for f in check_variants("ln", &LN_F64_DISPATCH, [ln_f64_x86_64_v4, ln_f64_haswell], &x, error, 1.0) {
        let special = [0.0, -0.0, -1.0, f64::NEG_INFINITY, f64::INFINITY, f64::NAN, 1.0, f64::from_bits(1), f64::MAX];
        let out = on_specials(f, &special);
        assert_eq!((out[0], out[1]), (f64::NEG_INFINITY, f64::NEG_INFINITY), "ln(±0)");
        assert!(out[2].is_nan() && out[3].is_nan(), "ln(x < 0)");
        assert_eq!(out[4], f64::INFINITY);
        assert!(out[5].is_nan());
        assert_eq!(out[6], 0.0);
        assert_eq!(out[7], -744.4400719213812, "ln of the smallest subnormal");
        assert_eq!(out[8], 709.782712893384);
    }
}

fn sqrt_dd(a: Dd) -> Dd {
    // One Newton step on the double square root doubles its precision.
    let s = a.0.sqrt();
    let r = add(a, two_prod(s, s).neg());
    two_sum(s, (r.0 + r.1) / (2.0 * s))
}

fn bits_of(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The kernels' tables, computed here in double-double arithmetic: `2^(j/16)` (high and low
/// parts) for exp; `1/c` rounded, `ln(c)` rounded to a multiple of 2^-32 and the rest, for the
/// sixteen centres of ln. Each half of each table must appear in the AVX-512 code's constant
/// pool. This test is the tables' generator: `cargo test --release --test elementary tables --
/// --nocapture` prints them in the form the kernel source uses.
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
