//! The Advanced SIMD scalar rows: vector operations on one element held in a `b`, `h`, `s` or
//! `d` register (`sqadd b0, b1, b2`, `cmgt d0, d1, d2`, `frecpe s0, s1`, `addp d0, v1.2d`).
//! Each scalar encoding is its vector twin's with bits 30 and 28 set ([`SCALAR`]); the size
//! field names the element, as in the vector form.

use super::simd::{half_misc, half_three};
use super::{Field, Kind, R2, R3, Table};
use Kind::{B, D, H, Imm, S, V};

/// What turns a vector encoding (Q clear) into its scalar twin.
const SCALAR: u32 = 0x5000_0000;

const ALL: &[Kind] = &[B, H, S, D];
const HS: &[Kind] = &[H, S];
const ONLY_D: &[Kind] = &[D];

/// `size` (bits 22-23) of an integer element.
fn size(k: Kind) -> u32 {
    match k {
        B => 0,
        H => 1 << 22,
        S => 2 << 22,
        _ => 3 << 22,
    }
}

pub(super) fn rows(t: &mut Table) {
    // Integer "three same": the vector bases of `simd::vector`.
    for (name, base, sizes) in [
        ("sqadd", 0x0e20_0c00u32, ALL),
        ("uqadd", 0x2e20_0c00, ALL),
        ("sqsub", 0x0e20_2c00, ALL),
        ("uqsub", 0x2e20_2c00, ALL),
        ("sqshl", 0x0e20_4c00, ALL),
        ("uqshl", 0x2e20_4c00, ALL),
        ("sqrshl", 0x0e20_5c00, ALL),
        ("uqrshl", 0x2e20_5c00, ALL),
        ("sshl", 0x0e20_4400, ONLY_D),
        ("ushl", 0x2e20_4400, ONLY_D),
        ("srshl", 0x0e20_5400, ONLY_D),
        ("urshl", 0x2e20_5400, ONLY_D),
        ("add", 0x0e20_8400, ONLY_D),
        ("sub", 0x2e20_8400, ONLY_D),
        ("cmeq", 0x2e20_8c00, ONLY_D),
        ("cmgt", 0x0e20_3400, ONLY_D),
        ("cmge", 0x0e20_3c00, ONLY_D),
        ("cmhi", 0x2e20_3400, ONLY_D),
        ("cmhs", 0x2e20_3c00, ONLY_D),
        ("cmtst", 0x0e20_8c00, ONLY_D),
        ("sqdmulh", 0x0e20_b400, HS),
        ("sqrdmulh", 0x2e20_b400, HS),
        ("sqrdmlah", 0x2e00_8400, HS),
        ("sqrdmlsh", 0x2e00_8c00, HS),
    ] {
        for &k in sizes {
            t.row(name, &[k, k, k], &R3, base | SCALAR | size(k));
        }
    }
    // Saturating doubling multiplies into a wider element (`sqdmull s0, h1, h2`).
    for (name, base) in [("sqdmull", 0x0e20_d000u32), ("sqdmlal", 0x0e20_9000), ("sqdmlsl", 0x0e20_b000)] {
        t.row(name, &[S, H, H], &R3, base | SCALAR | size(H));
        t.row(name, &[D, S, S], &R3, base | SCALAR | size(S));
    }
    // Integer "two-reg misc", and compares against zero.
    for (name, base, sizes) in [
        ("abs", 0x0e20_b800u32, ONLY_D),
        ("neg", 0x2e20_b800, ONLY_D),
        ("sqabs", 0x0e20_7800, ALL),
        ("sqneg", 0x2e20_7800, ALL),
        ("suqadd", 0x0e20_3800, ALL),
        ("usqadd", 0x2e20_3800, ALL),
    ] {
        for &k in sizes {
            t.row(name, &[k, k], &R2, base | SCALAR | size(k));
        }
    }
    let zero = [Field::Reg(0), Field::Reg(5), Field::Unsigned(10, 0, 1)];
    for (name, base) in [
        ("cmgt", 0x0e20_8800u32),
        ("cmeq", 0x0e20_9800),
        ("cmlt", 0x0e20_a800),
        ("cmge", 0x2e20_8800),
        ("cmle", 0x2e20_9800),
    ] {
        t.row(name, &[D, D, Imm], &zero, base | SCALAR | size(D));
    }
    // Saturating narrowing: the size of the narrow result.
    for (name, base) in [("sqxtn", 0x0e21_4800u32), ("uqxtn", 0x2e21_4800), ("sqxtun", 0x2e21_2800)] {
        for (to, from) in [(B, H), (H, S), (S, D)] {
            t.row(name, &[to, from], &R2, base | SCALAR | size(to));
        }
    }
    // Floating-point "three same": single, double, and half (FP16).
    for (name, base) in [
        ("fmulx", 0x0e20_dc00u32),
        ("fcmeq", 0x0e20_e400),
        ("frecps", 0x0e20_fc00),
        ("frsqrts", 0x0ea0_fc00),
        ("fcmge", 0x2e20_e400),
        ("facge", 0x2e20_ec00),
        ("fabd", 0x2ea0_d400),
        ("fcmgt", 0x2ea0_e400),
        ("facgt", 0x2ea0_ec00),
    ] {
        t.row(name, &[S, S, S], &R3, base | SCALAR);
        t.row(name, &[D, D, D], &R3, base | SCALAR | 1 << 22);
        t.row(name, &[H, H, H], &R3, half_three(base) | SCALAR);
    }
    // Floating-point "two-reg misc": conversions within the FP registers, estimates, and
    // compares against zero.
    for (name, base) in [
        ("fcvtns", 0x0e21_a800u32),
        ("fcvtms", 0x0e21_b800),
        ("fcvtas", 0x0e21_c800),
        ("fcvtps", 0x0ea1_a800),
        ("fcvtzs", 0x0ea1_b800),
        ("fcvtnu", 0x2e21_a800),
        ("fcvtmu", 0x2e21_b800),
        ("fcvtau", 0x2e21_c800),
        ("fcvtpu", 0x2ea1_a800),
        ("fcvtzu", 0x2ea1_b800),
        ("scvtf", 0x0e21_d800),
        ("ucvtf", 0x2e21_d800),
        ("frecpe", 0x0ea1_d800),
        ("frsqrte", 0x2ea1_d800),
        ("frecpx", 0x0ea1_f800),
    ] {
        t.row(name, &[S, S], &R2, base | SCALAR);
        t.row(name, &[D, D], &R2, base | SCALAR | 1 << 22);
        t.row(name, &[H, H], &R2, half_misc(base) | SCALAR);
    }
    for (name, base) in [
        ("fcmgt", 0x0ea0_c800u32),
        ("fcmeq", 0x0ea0_d800),
        ("fcmlt", 0x0ea0_e800),
        ("fcmge", 0x2ea0_c800),
        ("fcmle", 0x2ea0_d800),
    ] {
        t.row(name, &[S, S, Kind::FpImm], &zero, base | SCALAR);
        t.row(name, &[D, D, Kind::FpImm], &zero, base | SCALAR | 1 << 22);
        t.row(name, &[H, H, Kind::FpImm], &zero, half_misc(base) | SCALAR);
    }
    // Shifts by an immediate (immh:immb at 16 says the element size and the amount), and
    // fixed-point conversions with the fraction bits as a right shift.
    use Field::{LeftShift, RightShift};
    let width = |k: Kind| match k {
        B => 8u8,
        H => 16,
        S => 32,
        _ => 64,
    };
    for (name, base, sizes, right) in [
        ("sshr", 0x0f00_0400u32, ONLY_D, true),
        ("ushr", 0x2f00_0400, ONLY_D, true),
        ("srshr", 0x0f00_2400, ONLY_D, true),
        ("urshr", 0x2f00_2400, ONLY_D, true),
        ("ssra", 0x0f00_1400, ONLY_D, true),
        ("usra", 0x2f00_1400, ONLY_D, true),
        ("srsra", 0x0f00_3400, ONLY_D, true),
        ("ursra", 0x2f00_3400, ONLY_D, true),
        ("sri", 0x2f00_4400, ONLY_D, true),
        ("shl", 0x0f00_5400, ONLY_D, false),
        ("sli", 0x2f00_5400, ONLY_D, false),
        ("sqshl", 0x0f00_7400, ALL, false),
        ("uqshl", 0x2f00_7400, ALL, false),
        ("sqshlu", 0x2f00_6400, ALL, false),
        ("scvtf", 0x0f00_e400, &[H, S, D], true),
        ("ucvtf", 0x2f00_e400, &[H, S, D], true),
        ("fcvtzs", 0x0f00_fc00, &[H, S, D], true),
        ("fcvtzu", 0x2f00_fc00, &[H, S, D], true),
    ] {
        for &k in sizes {
            let shift = if right { RightShift(width(k)) } else { LeftShift(width(k)) };
            t.row(name, &[k, k, Imm], &[Field::Reg(0), Field::Reg(5), shift], base | SCALAR);
        }
    }
    for (name, base) in [
        ("sqshrn", 0x0f00_9400u32),
        ("uqshrn", 0x2f00_9400),
        ("sqrshrn", 0x0f00_9c00),
        ("uqrshrn", 0x2f00_9c00),
        ("sqshrun", 0x2f00_8400),
        ("sqrshrun", 0x2f00_8c00),
    ] {
        for (to, from) in [(B, H), (H, S), (S, D)] {
            t.row(name, &[to, from, Imm], &[Field::Reg(0), Field::Reg(5), RightShift(width(to))], base | SCALAR);
        }
    }
    // Pairwise reductions of two elements to a scalar (`faddp` is in `simd::vector`).
    use super::super::encode::Arrangement::{D2, S2};
    t.row("addp", &[D, V(D2)], &R2, 0x5ef1_b800);
    // Half precision (FP16) from the low two halfwords.
    for (name, base) in [
        ("faddp", 0x5e30_d800u32),
        ("fmaxp", 0x5e30_f800),
        ("fminp", 0x5eb0_f800),
        ("fmaxnmp", 0x5e30_c800),
        ("fminnmp", 0x5eb0_c800),
    ] {
        t.row(name, &[H, Kind::H2], &R2, base);
    }
    for (name, base) in
        [("fmaxp", 0x7e30_f800u32), ("fminp", 0x7eb0_f800), ("fmaxnmp", 0x7e30_c800), ("fminnmp", 0x7eb0_c800)]
    {
        t.row(name, &[S, V(S2)], &R2, base);
        t.row(name, &[D, V(D2)], &R2, base | 1 << 22);
    }
}
