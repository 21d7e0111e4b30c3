//! Lanes of a vector register, and the lane semantics of the instructions whose special cases
//! need more than Rust's arithmetic: the FMA forms, compare predicates, and AVX-512's VGETEXPPD, VGETMANTPD,
//! VSCALEFPD and VFIXUPIMMPD, from the SDM's pseudo-code and special-case tables (MXCSR at its
//! default: round to nearest even, no DAZ or FTZ).

use iced_x86::Mnemonic;

pub(super) fn f32_at(v: &[u8; 64], i: usize) -> f32 {
    f32::from_le_bytes(v[4 * i..4 * i + 4].try_into().expect("4 bytes"))
}

pub(super) fn f64_at(v: &[u8; 64], i: usize) -> f64 {
    f64::from_le_bytes(v[8 * i..8 * i + 8].try_into().expect("8 bytes"))
}

/// A register of `width` bytes of singles, lane `i` being `f(i)`; zero above.
pub(super) fn lanes_f32(width: usize, f: impl Fn(usize) -> f32) -> [u8; 64] {
    let mut out = [0u8; 64];
    for i in 0..width / 4 {
        out[4 * i..4 * i + 4].copy_from_slice(&f(i).to_le_bytes());
    }
    out
}

/// A register of `width` bytes of doubles, lane `i` being `f(i)`; zero above.
pub(super) fn lanes_f64(width: usize, f: impl Fn(usize) -> f64) -> [u8; 64] {
    let mut out = [0u8; 64];
    for i in 0..width / 8 {
        out[8 * i..8 * i + 8].copy_from_slice(&f(i).to_le_bytes());
    }
    out
}

/// An FMA's operand order (132, 213 or 231), whether it negates the product, whether it
/// subtracts the addend, and whether it works on doubles.
pub(super) fn fma_form(m: Mnemonic) -> Option<(u32, bool, bool, bool)> {
    use Mnemonic::*;
    Some(match m {
        Vfmadd132ps => (132, false, false, false),
        Vfmadd213ps => (213, false, false, false),
        Vfmadd231ps => (231, false, false, false),
        Vfmadd132pd => (132, false, false, true),
        Vfmadd213pd => (213, false, false, true),
        Vfmadd231pd => (231, false, false, true),
        Vfmsub132ps => (132, false, true, false),
        Vfmsub213ps => (213, false, true, false),
        Vfmsub231ps => (231, false, true, false),
        Vfmsub132pd => (132, false, true, true),
        Vfmsub213pd => (213, false, true, true),
        Vfmsub231pd => (231, false, true, true),
        Vfnmadd132ps => (132, true, false, false),
        Vfnmadd213ps => (213, true, false, false),
        Vfnmadd231ps => (231, true, false, false),
        Vfnmadd132pd => (132, true, false, true),
        Vfnmadd213pd => (213, true, false, true),
        Vfnmadd231pd => (231, true, false, true),
        Vfnmsub132ps => (132, true, true, false),
        Vfnmsub213ps => (213, true, true, false),
        Vfnmsub231ps => (231, true, true, false),
        Vfnmsub132pd => (132, true, true, true),
        Vfnmsub213pd => (213, true, true, true),
        Vfnmsub231pd => (231, true, true, true),
        _ => return None,
    })
}

/// A NaN made quiet (its payload kept).
pub(super) fn quiet(x: f64) -> f64 {
    f64::from_bits(x.to_bits() | 1 << 51)
}

/// The default NaN x86 makes for an invalid operation.
pub(super) const QNAN_INDEFINITE: u64 = 0xFFF8_0000_0000_0000;

/// A finite nonzero double as (sign bit, unbiased exponent, 53-bit significand with its leading
/// one at bit 52), subnormals normalized.
pub(super) fn split(x: f64) -> (u64, i64, u64) {
    let bits = x.to_bits();
    let (sign, exp, frac) = (bits & 1 << 63, (bits >> 52 & 0x7FF) as i64, bits & ((1 << 52) - 1));
    if exp == 0 {
        let shift = frac.leading_zeros() as i64 - 11;
        (sign, -1022 - shift, frac << shift)
    } else {
        (sign, exp - 1023, frac | 1 << 52)
    }
}

/// VGETEXPPD: floor(log2 |x|) of a finite nonzero x (subnormals normalized, MXCSR.DAZ clear);
/// -inf for ±0, +inf for ±inf, the NaN quieted.
pub(super) fn getexp(x: f64) -> f64 {
    if x.is_nan() {
        quiet(x)
    } else if x == 0.0 {
        f64::NEG_INFINITY
    } else if x.is_infinite() {
        f64::INFINITY
    } else {
        split(x).1 as f64
    }
}

/// VGETMANTPD with interval `imm[1:0]` (0: [1, 2), 2: [1/2, 1), 3: [3/4, 3/2)) and sign control
/// `imm[3:2]` (bit 2: clear the sign; bit 3: a negative input gives the default NaN).
pub(super) fn getmant(x: f64, imm: u32) -> f64 {
    let negative = x.to_bits() >> 63 != 0;
    let sign = if imm & 4 != 0 { 0 } else { x.to_bits() & 1 << 63 };
    if x.is_nan() {
        return quiet(x);
    }
    if negative && imm & 8 != 0 {
        return f64::from_bits(QNAN_INDEFINITE);
    }
    if x == 0.0 || x.is_infinite() {
        return f64::from_bits(sign | 1.0f64.to_bits());
    }
    let (_, _, significand) = split(x);
    let frac = significand & ((1 << 52) - 1);
    let exp: u64 = match imm & 3 {
        0 => 0x3FF,
        2 => 0x3FE,
        _ => 0x3FF - (frac >> 51),
    };
    f64::from_bits(sign | exp << 52 | frac)
}

/// VSCALEFPD: x 2^floor(y), rounded once to nearest even, with the instruction's special cases.
pub(super) fn scalef(x: f64, y: f64) -> f64 {
    if x.is_nan() {
        return quiet(x);
    }
    if y.is_nan() {
        return quiet(y);
    }
    let indefinite = f64::from_bits(QNAN_INDEFINITE);
    if x == 0.0 || x.is_infinite() {
        let invalid = if x == 0.0 { y == f64::INFINITY } else { y == f64::NEG_INFINITY };
        return if invalid { indefinite } else { x };
    }
    let sign = x.to_bits() & 1 << 63;
    if y.is_infinite() {
        return f64::from_bits(sign | if y > 0.0 { f64::INFINITY.to_bits() } else { 0 });
    }
    let k = y.floor().clamp(-10_000.0, 10_000.0) as i64;
    let (_, e, m) = split(x);
    let e = e + k;
    if e > 1023 {
        return f64::from_bits(sign | f64::INFINITY.to_bits());
    }
    if e >= -1022 {
        return f64::from_bits(sign | ((e + 1023) as u64) << 52 | m & ((1 << 52) - 1));
    }
    // Subnormal: the significand shifted right, rounded to nearest even (a carry into bit 52
    // makes the smallest normal, as it should).
    let shift = (-1022 - e) as u32;
    if shift > 53 {
        return f64::from_bits(sign);
    }
    let (q, rest, half) = (m >> shift, m & ((1 << shift) - 1), 1u64 << (shift - 1));
    let q = if rest > half || (rest == half && q & 1 == 1) { q + 1 } else { q };
    f64::from_bits(sign | q)
}

/// VFIXUPIMMPD on one lane: `v` classified (QNaN, SNaN, zero, +1, -inf, +inf, negative,
/// positive: 0-7), the class's 4-bit token read from `table`, and the token's result (0 keeps
/// `dst`).
pub(super) fn fixup(dst: f64, v: f64, table: u64) -> f64 {
    let class = if v.is_nan() {
        if v.to_bits() & 1 << 51 != 0 { 0 } else { 1 }
    } else if v == 0.0 {
        2
    } else if v == 1.0 {
        3
    } else if v == f64::NEG_INFINITY {
        4
    } else if v == f64::INFINITY {
        5
    } else if v < 0.0 {
        6
    } else {
        7
    };
    match table >> (4 * class) & 0xF {
        0 => dst,
        1 => v,
        2 => quiet(v),
        3 => f64::from_bits(QNAN_INDEFINITE),
        4 => f64::NEG_INFINITY,
        5 => f64::INFINITY,
        6 => {
            if v.is_sign_negative() {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        7 => -0.0,
        8 => 0.0,
        9 => -1.0,
        10 => 1.0,
        11 => 0.5,
        12 => 90.0,
        13 => std::f64::consts::FRAC_PI_2,
        14 => f64::MAX,
        _ => -f64::MAX,
    }
}

/// VCMPPD/VCMPPS's predicate `p` (0-31; 16-31 differ from 0-15 only in the exceptions they
/// signal) on `a` and `b`.
pub(super) fn compare(a: f64, b: f64, p: u32) -> bool {
    let unordered = a.is_nan() || b.is_nan();
    match p % 16 {
        0 => a == b,
        1 => a < b,
        2 => a <= b,
        3 => unordered,
        4 => a != b,
        5 => unordered || a >= b,
        6 => unordered || a > b,
        7 => !unordered,
        8 => unordered || a == b,
        9 => unordered || a < b,
        10 => unordered || a <= b,
        11 => false,
        12 => !unordered && a != b,
        13 => a >= b,
        14 => a > b,
        _ => true,
    }
}
