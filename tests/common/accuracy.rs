//! What the accuracy tests of exp and ln share, on every architecture: double-double
//! arithmetic, references accurate to far better than 0.01 ulp, ulp errors and the inputs
//! (a million and more, over each function's whole domain).
#![allow(dead_code)]

/// A double-double number `hi + lo`.
#[derive(Clone, Copy, Debug)]
pub struct Dd(pub f64, pub f64);

pub fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd(s, (a - (s - bb)) + (b - bb))
}

pub fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd(p, a.mul_add(b, -p))
}

pub fn add(a: Dd, b: Dd) -> Dd {
    let s = two_sum(a.0, b.0);
    let t = two_sum(s.1, a.1 + b.1);
    two_sum(s.0, t.0).plus(t.1)
}

impl Dd {
    pub fn plus(self, e: f64) -> Dd {
        two_sum(self.0, self.1 + e)
    }
    pub fn neg(self) -> Dd {
        Dd(-self.0, -self.1)
    }
}

pub fn mul(a: Dd, b: Dd) -> Dd {
    let p = two_prod(a.0, b.0);
    two_sum(p.0, p.1 + (a.0 * b.1 + a.1 * b.0))
}

pub fn div_f(a: Dd, d: f64) -> Dd {
    let q = a.0 / d;
    let r = add(a, two_prod(q, d).neg());
    two_sum(q, r.0 / d)
}

/// `v * 2^k`, exactly when the result is normal.
pub fn ldexp(v: f64, k: i32) -> f64 {
    let half = k / 2;
    v * 2f64.powi(half) * 2f64.powi(k - half)
}

/// exp(x) = 2^n * e^r as (n, e^r in double-double).
pub fn exp_reference(x: f64) -> (i32, Dd) {
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

/// The spacing of doubles at `v`.
pub fn ulp(v: f64) -> f64 {
    // The spacing of doubles at |v|: 2^(e - 52) for a normal v of exponent e, 2^-1074 below.
    let biased = (v.abs().to_bits() >> 52) as i64;
    if biased > 52 { f64::from_bits(((biased - 52) as u64) << 52) } else { f64::from_bits(1u64 << (biased - 1).max(0)) }
}

/// The error of `y` against exp(x), in ulps of the reference.
pub fn exp_ulp_error(x: f64, y: f64) -> f64 {
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

/// exp inputs: uniform over the domain, plus bands near 0, the subnormal results and the top.
pub fn exp_inputs() -> Vec<f64> {
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

/// ln(x) in double-double: one Newton step on the double-double exp from f64::ln.
pub fn ln_reference(x: f64) -> Dd {
    let y0 = x.ln();
    let (n, e) = exp_reference(y0);
    // y = y0 + (x - exp(y0)) / exp(y0), computed unscaled: x 2^-n against e.
    let xs = ldexp(x, -n);
    let diff = add(Dd(xs, 0.0), e.neg());
    let d = (diff.0 + diff.1) / e.0;
    two_sum(y0, d)
}

/// ln inputs: log-uniform over the normals, plus subnormals and values near 1, first each kind
/// in runs of its own (kernels that take a general path for blocks with a subnormal or special
/// input then run both paths on the hardest normals), then interleaved.
pub fn ln_inputs() -> Vec<f64> {
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
    let kinds: [fn(f64) -> f64; 3] = [
        |r| f64::from_bits(1 + (r * ((1u64 << 52) - 2) as f64) as u64), // subnormals
        |r| 1.0 + (r - 0.5) * 1e-3,                                     // near 1
        |r| 0.5 + r,                                                    // [0.5, 1.5)
    ];
    for kind in kinds {
        v.extend((0..20_000).map(|_| kind(next())));
        while v.len() % 32 != 0 {
            v.push(2.0);
        }
    }
    for _ in 0..20_000 {
        for kind in kinds {
            v.push(kind(next()));
        }
    }
    while v.len() % 32 != 0 {
        v.push(2.0);
    }
    v
}

/// The error of `y` against ln(x), in ulps of the reference.
pub fn ln_ulp_error(x: f64, y: f64) -> f64 {
    let r = ln_reference(x);
    let diff = add(Dd(y, 0.0), r.neg());
    (diff.0 + diff.1).abs() / ulp(r.0)
}

/// The square root of a double-double.
pub fn sqrt_dd(a: Dd) -> Dd {
    // One Newton step on the double square root doubles its precision.
    let s = a.0.sqrt();
    let r = add(a, two_prod(s, s).neg());
    two_sum(s, (r.0 + r.1) / (2.0 * s))
}

/// exp's special inputs, padded to 32 values for a kernel call.
pub fn exp_specials() -> Vec<f64> {
    let mut s =
        vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 709.8, 1000.0, -746.0, -1e300, -745.2, -745.13];
    s.resize(32, 2.0);
    s
}

/// Checks exp of [`exp_specials`] against C99.
pub fn check_exp_specials(out: &[f64]) {
    assert!(out[0].is_nan(), "exp(NaN) = {}", out[0]);
    assert_eq!((out[1], out[2]), (f64::INFINITY, 0.0), "exp(±inf)");
    assert_eq!((out[3], out[4]), (1.0, 1.0), "exp(±0)");
    assert_eq!((out[5], out[6]), (f64::INFINITY, f64::INFINITY), "overflow");
    assert_eq!((out[7], out[8], out[9]), (0.0, 0.0, 0.0), "underflow");
    assert_eq!(out[10], f64::from_bits(1), "the smallest subnormal: exp(-745.13)");
}

/// ln's special inputs, padded to 32 values for a kernel call.
pub fn ln_specials() -> Vec<f64> {
    let mut s = vec![0.0, -0.0, -1.0, f64::NEG_INFINITY, f64::INFINITY, f64::NAN, 1.0, f64::from_bits(1), f64::MAX];
    s.resize(32, 2.0);
    s
}

/// Checks ln of [`ln_specials`] against C99.
pub fn check_ln_specials(out: &[f64]) {
    assert_eq!((out[0], out[1]), (f64::NEG_INFINITY, f64::NEG_INFINITY), "ln(±0)");
    assert!(out[2].is_nan() && out[3].is_nan(), "ln(x < 0)");
    assert_eq!(out[4], f64::INFINITY);
    assert!(out[5].is_nan());
    assert_eq!(out[6], 0.0);
    assert_eq!(out[7], -744.4400719213812, "ln of the smallest subnormal");
    assert_eq!(out[8], 709.782712893384);
}

/// Reports the largest error of `y` (in ulps, by `error`) over `x`, and fails above `bound`.
pub fn check_bound(what: &str, x: &[f64], y: &[f64], error: &dyn Fn(f64, f64) -> f64, bound: f64) {
    let (mut worst, mut at) = (0.0f64, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        let e = error(*xi, *yi);
        if e > worst || e.is_nan() {
            worst = e;
            at = *xi;
        }
    }
    eprintln!("{what}: max error {worst:.3} ulp (at x = {at:e}) over {} inputs", x.len());
    assert!(worst <= bound, "{what}: {worst} ulp at x = {at:e}");
}
