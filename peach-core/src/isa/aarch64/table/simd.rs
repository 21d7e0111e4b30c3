//! The Advanced SIMD rows: three registers of one arrangement, two-register operations,
//! across-lane reductions, by-element forms, long, wide and narrowing operations, and shifts
//! by an immediate. Encodings follow the Arm ARM's "Advanced SIMD" classes (three same, two-reg
//! misc, across lanes, three different, shift by immediate); each family's base word sets
//! `U` and the opcode, the arrangement sets `Q` and the size.

use super::super::encode::Arrangement::{self, *};
use super::{Field, Kind, R2, R3, Table, fp_bits, int_bits};
use Field::{Reg, Unsigned};
use Kind::{D, H, Imm, S, V, W, X};

pub(super) fn vector(t: &mut Table) {
    const FP: [Arrangement; 3] = [S2, S4, D2];
    for (name, base) in [
        ("fadd", 0x0e20_d400),
        ("fsub", 0x0ea0_d400),
        ("fmul", 0x2e20_dc00),
        ("fdiv", 0x2e20_fc00),
        ("fmla", 0x0e20_cc00),
        ("fmls", 0x0ea0_cc00),
        ("fmax", 0x0e20_f400),
        ("fmin", 0x0ea0_f400),
        ("fmaxnm", 0x0e20_c400),
        ("fminnm", 0x0ea0_c400),
        ("faddp", 0x2e20_d400),
        ("fcmeq", 0x0e20_e400),
        ("fcmge", 0x2e20_e400),
        ("fcmgt", 0x2ea0_e400),
        ("fmulx", 0x0e20_dc00),
        ("frecps", 0x0e20_fc00),
        ("frsqrts", 0x0ea0_fc00),
        ("fabd", 0x2ea0_d400),
        ("facge", 0x2e20_ec00),
        ("facgt", 0x2ea0_ec00),
        ("fmaxp", 0x2e20_f400),
        ("fminp", 0x2ea0_f400),
        ("fmaxnmp", 0x2e20_c400),
        ("fminnmp", 0x2ea0_c400),
    ] {
        for a in FP {
            t.row(name, &[V(a), V(a), V(a)], &R3, base | fp_bits(a));
        }
        for (a, q) in [(H4, 0), (H8, 1 << 30)] {
            t.row(name, &[V(a), V(a), V(a)], &R3, half_three(base) | q);
        }
    }
    for (name, base) in [
        ("fabs", 0x0ea0_f800),
        ("fneg", 0x2ea0_f800),
        ("fsqrt", 0x2ea1_f800),
        ("scvtf", 0x0e21_d800),
        ("ucvtf", 0x2e21_d800),
        ("fcvtzs", 0x0ea1_b800),
        ("fcvtzu", 0x2ea1_b800),
        ("frecpe", 0x0ea1_d800),
        ("frsqrte", 0x2ea1_d800),
        ("frintn", 0x0e21_8800),
        ("frintm", 0x0e21_9800),
        ("frintp", 0x0ea1_8800),
        ("frintz", 0x0ea1_9800),
        ("frinta", 0x2e21_8800),
        ("frintx", 0x2e21_9800),
        ("frinti", 0x2ea1_9800),
        ("fcvtns", 0x0e21_a800),
        ("fcvtms", 0x0e21_b800),
        ("fcvtas", 0x0e21_c800),
        ("fcvtps", 0x0ea1_a800),
        ("fcvtnu", 0x2e21_a800),
        ("fcvtmu", 0x2e21_b800),
        ("fcvtau", 0x2e21_c800),
        ("fcvtpu", 0x2ea1_a800),
    ] {
        for a in FP {
            t.row(name, &[V(a), V(a)], &R2, base | fp_bits(a));
        }
        for (a, q) in [(H4, 0), (H8, 1 << 30)] {
            t.row(name, &[V(a), V(a)], &R2, half_misc(base) | q);
        }
    }
    for (name, base) in [("urecpe", 0x0ea1_c800), ("ursqrte", 0x2ea1_c800)] {
        for a in [S2, S4] {
            t.row(name, &[V(a), V(a)], &R2, base | fp_bits(a));
        }
    }
    const INT: [Arrangement; 7] = [B8, B16, H4, H8, S2, S4, D2];
    const NO_D: [Arrangement; 6] = [B8, B16, H4, H8, S2, S4];
    for (name, base, set) in [
        ("add", 0x0e20_8400, &INT[..]),
        ("sub", 0x2e20_8400, &INT[..]),
        ("cmeq", 0x2e20_8c00, &INT[..]),
        ("cmgt", 0x0e20_3400, &INT[..]),
        ("cmge", 0x0e20_3c00, &INT[..]),
        ("cmhi", 0x2e20_3400, &INT[..]),
        ("sshl", 0x0e20_4400, &INT[..]),
        ("ushl", 0x2e20_4400, &INT[..]),
        ("mul", 0x0e20_9c00, &NO_D[..]),
        ("mla", 0x0e20_9400, &NO_D[..]),
        ("mls", 0x2e20_9400, &NO_D[..]),
        ("sqadd", 0x0e20_0c00, &INT[..]),
        ("uqadd", 0x2e20_0c00, &INT[..]),
        ("sqsub", 0x0e20_2c00, &INT[..]),
        ("uqsub", 0x2e20_2c00, &INT[..]),
        ("cmhs", 0x2e20_3c00, &INT[..]),
        ("sqshl", 0x0e20_4c00, &INT[..]),
        ("uqshl", 0x2e20_4c00, &INT[..]),
        ("srshl", 0x0e20_5400, &INT[..]),
        ("urshl", 0x2e20_5400, &INT[..]),
        ("sqrshl", 0x0e20_5c00, &INT[..]),
        ("uqrshl", 0x2e20_5c00, &INT[..]),
        ("cmtst", 0x0e20_8c00, &INT[..]),
        ("addp", 0x0e20_bc00, &INT[..]),
        ("shadd", 0x0e20_0400, &NO_D[..]),
        ("uhadd", 0x2e20_0400, &NO_D[..]),
        ("srhadd", 0x0e20_1400, &NO_D[..]),
        ("urhadd", 0x2e20_1400, &NO_D[..]),
        ("shsub", 0x0e20_2400, &NO_D[..]),
        ("uhsub", 0x2e20_2400, &NO_D[..]),
        ("sabd", 0x0e20_7400, &NO_D[..]),
        ("uabd", 0x2e20_7400, &NO_D[..]),
        ("saba", 0x0e20_7c00, &NO_D[..]),
        ("uaba", 0x2e20_7c00, &NO_D[..]),
        ("smaxp", 0x0e20_a400, &NO_D[..]),
        ("umaxp", 0x2e20_a400, &NO_D[..]),
        ("sminp", 0x0e20_ac00, &NO_D[..]),
        ("uminp", 0x2e20_ac00, &NO_D[..]),
        ("sqdmulh", 0x0e20_b400, &[H4, H8, S2, S4][..]),
        ("sqrdmulh", 0x2e20_b400, &[H4, H8, S2, S4][..]),
        ("sqrdmlah", 0x2e00_8400, &[H4, H8, S2, S4][..]),
        ("sqrdmlsh", 0x2e00_8c00, &[H4, H8, S2, S4][..]),
        ("pmul", 0x2e20_9c00, &[B8, B16][..]),
        ("smax", 0x0e20_6400, &NO_D[..]),
        ("smin", 0x0e20_6c00, &NO_D[..]),
        ("umax", 0x2e20_6400, &NO_D[..]),
        ("umin", 0x2e20_6c00, &NO_D[..]),
        ("zip1", 0x0e00_3800, &INT[..]),
        ("zip2", 0x0e00_7800, &INT[..]),
        ("uzp1", 0x0e00_1800, &INT[..]),
        ("uzp2", 0x0e00_5800, &INT[..]),
        ("trn1", 0x0e00_2800, &INT[..]),
        ("trn2", 0x0e00_6800, &INT[..]),
    ] {
        for &a in set {
            t.row(name, &[V(a), V(a), V(a)], &R3, base | int_bits(a));
        }
    }
    for (name, base) in [
        ("and", 0x0e20_1c00),
        ("bic", 0x0e60_1c00),
        ("orr", 0x0ea0_1c00),
        ("orn", 0x0ee0_1c00),
        ("eor", 0x2e20_1c00),
        ("bsl", 0x2e60_1c00),
        ("bit", 0x2ea0_1c00),
        ("bif", 0x2ee0_1c00),
    ] {
        for a in [B8, B16] {
            t.row(name, &[V(a), V(a), V(a)], &R3, base | int_bits(a));
        }
    }
    for a in [B8, B16] {
        t.row("mov", &[V(a), V(a)], &[Reg(0), Field::RegTwice(5, 16)], 0x0ea0_1c00 | int_bits(a));
        t.row("mvn", &[V(a), V(a)], &R2, 0x2e20_5800 | int_bits(a));
    }
    // Two-register operations (the "two-reg misc" class).
    for (name, base, set) in [
        ("abs", 0x0e20_b800, &INT[..]),
        ("neg", 0x2e20_b800, &INT[..]),
        ("sqabs", 0x0e20_7800, &INT[..]),
        ("sqneg", 0x2e20_7800, &INT[..]),
        ("suqadd", 0x0e20_3800, &INT[..]),
        ("usqadd", 0x2e20_3800, &INT[..]),
        ("cls", 0x0e20_4800, &NO_D[..]),
        ("clz", 0x2e20_4800, &NO_D[..]),
        ("cnt", 0x0e20_5800, &[B8, B16][..]),
        ("rev16", 0x0e20_1800, &[B8, B16][..]),
        ("rev32", 0x2e20_0800, &[B8, B16, H4, H8][..]),
        ("rev64", 0x0e20_0800, &[B8, B16, H4, H8, S2, S4][..]),
    ] {
        for &a in set {
            t.row(name, &[V(a), V(a)], &R2, base | int_bits(a));
        }
    }
    for a in [B8, B16] {
        t.row("rbit", &[V(a), V(a)], &R2, 0x2e60_5800 | int_bits(a));
    }
    // Modified immediates: MOVI, MVNI, and ORR/BIC into the destination, of bytes, of 16- or
    // 32-bit lanes with a left shift, and of 64-bit byte masks.
    use Field::{ByteMask, CmodeShift, Imm8Split};
    for (a, q) in [(B8, 0), (B16, 1 << 30)] {
        t.row("movi", &[V(a), Imm], &[Reg(0), Imm8Split], 0x0f00_e400 | q);
    }
    for (lanes, esize, cmode) in [([H4, H8], 16u8, 0x8000u32), ([S2, S4], 32, 0)] {
        for (a, q) in lanes.into_iter().zip([0, 1 << 30]) {
            for (name, op_cmode) in
                [("movi", 0x0f00_0400u32), ("mvni", 0x2f00_0400), ("orr", 0x0f00_1400), ("bic", 0x2f00_1400)]
            {
                let base = op_cmode | cmode | q;
                let fields = [Reg(0), Imm8Split, CmodeShift(esize)];
                if matches!(name, "orr" | "bic") {
                    t.row_merging(name, &[V(a), Imm], &fields[..2], base);
                    t.row_merging(name, &[V(a), Imm, Kind::Lsl], &fields, base);
                } else {
                    t.row(name, &[V(a), Imm], &fields[..2], base);
                    t.row(name, &[V(a), Imm, Kind::Lsl], &fields, base);
                }
            }
        }
    }
    // Ones shifted in (`movi v0.4s, #0x12, msl #8`): cmode 110x.
    for (a, q) in [(S2, 0), (S4, 1 << 30)] {
        for (name, base) in [("movi", 0x0f00_c400u32), ("mvni", 0x2f00_c400)] {
            t.row(name, &[V(a), Imm, Kind::Msl], &[Reg(0), Imm8Split, Field::MslAmount], base | q);
        }
    }
    t.row("movi", &[D, Imm], &[Reg(0), ByteMask], 0x2f00_e400);
    t.row("movi", &[V(D2), Imm], &[Reg(0), ByteMask], 0x6f00_e400);
    // Compares against zero (`cmeq v0.4s, v1.4s, #0`, `fcmlt v0.2d, v1.2d, #0.0`): the zero is
    // the only value the (empty) field takes.
    let zero = [Reg(0), Reg(5), Unsigned(10, 0, 1)];
    for (name, base) in [
        ("cmgt", 0x0e20_8800),
        ("cmeq", 0x0e20_9800),
        ("cmlt", 0x0e20_a800),
        ("cmge", 0x2e20_8800),
        ("cmle", 0x2e20_9800),
    ] {
        for a in INT {
            t.row(name, &[V(a), V(a), Imm], &zero, base | int_bits(a));
        }
    }
    for (name, base) in [
        ("fcmgt", 0x0ea0_c800),
        ("fcmeq", 0x0ea0_d800),
        ("fcmlt", 0x0ea0_e800),
        ("fcmge", 0x2ea0_c800),
        ("fcmle", 0x2ea0_d800),
    ] {
        for a in FP {
            t.row(name, &[V(a), V(a), Kind::FpImm], &zero, base | fp_bits(a));
        }
        for (a, q) in [(H4, 0), (H8, 1 << 30)] {
            t.row(name, &[V(a), V(a), Kind::FpImm], &zero, half_misc(base) | q);
        }
    }
    // Shifts by immediate: immh:immb at 16 encodes the element size and the amount.
    for (a, esize) in [(B8, 8u8), (B16, 8), (H4, 16), (H8, 16), (S2, 32), (S4, 32), (D2, 64)] {
        let q = int_bits(a) & 1 << 30;
        t.row("shl", &[V(a), V(a), Imm], &[Reg(0), Reg(5), Field::LeftShift(esize)], 0x0f00_5400 | q);
        t.row("sshr", &[V(a), V(a), Imm], &[Reg(0), Reg(5), Field::RightShift(esize)], 0x0f00_0400 | q);
        t.row("ushr", &[V(a), V(a), Imm], &[Reg(0), Reg(5), Field::RightShift(esize)], 0x2f00_0400 | q);
    }
    for (a, from, imm5) in [(B8, W, 1), (B16, W, 1), (H4, W, 2), (H8, W, 2), (S2, W, 4), (S4, W, 4), (D2, X, 8)] {
        t.row("dup", &[V(a), from], &R2, 0x0e00_0c00 | (int_bits(a) & 1 << 30) | imm5 << 16);
    }
    for (a, bits) in [(B8, 3), (B16, 4)] {
        t.row(
            "ext",
            &[V(a), V(a), V(a), Imm],
            &[Reg(0), Reg(5), Reg(16), Unsigned(11, bits, 1)],
            0x2e00_0000 | int_bits(a),
        );
    }
    for (a, base) in [(S2, 0x0f00_f400), (S4, 0x4f00_f400), (D2, 0x6f00_f400), (H4, 0x0f00_fc00), (H8, 0x4f00_fc00)] {
        t.row("fmov", &[V(a), Kind::FpImm], &[Reg(0), Field::FpImm8Split], base);
    }
    // Table lookups: one table register (any), or two to four consecutive (physical) ones.
    for (a, q) in [(B8, 0), (B16, 1 << 30)] {
        for (name, base) in [("tbl", 0x0e00_0000), ("tbx", 0x0e00_1000)] {
            t.row(name, &[V(a), Kind::List1(B16), V(a)], &R3, base | q);
            for n in 2..=4u32 {
                t.row(name, &[V(a), Kind::List(n as u8, B16), V(a)], &R3, base | q | (n - 1) << 13);
            }
        }
    }
    t.row("addv", &[Kind::B, V(B16)], &R2, 0x4e31_b800);
    t.row("addv", &[H, V(H8)], &R2, 0x4e71_b800);
    t.row("addv", &[S, V(S4)], &R2, 0x4eb1_b800);
    t.row("fmaxv", &[S, V(S4)], &R2, 0x6e30_f800);
    t.row("fminv", &[S, V(S4)], &R2, 0x6eb0_f800);
    t.row("fmaxnmv", &[S, V(S4)], &R2, 0x6e30_c800);
    t.row("fminnmv", &[S, V(S4)], &R2, 0x6eb0_c800);
    // Across lanes, the result one element: maxima and minima keep the element size, the long
    // sums double it.
    for (name, base) in [("smaxv", 0x0e30_a800), ("umaxv", 0x2e30_a800), ("sminv", 0x0e31_a800), ("uminv", 0x2e31_a800)]
    {
        for (to, from) in [(Kind::B, B8), (Kind::B, B16), (H, H4), (H, H8), (S, S4)] {
            t.row(name, &[to, V(from)], &R2, base | int_bits(from));
        }
    }
    for (name, base) in [("saddlv", 0x0e30_3800), ("uaddlv", 0x2e30_3800)] {
        for (to, from) in [(H, B8), (H, B16), (S, H4), (S, H8), (D, S4)] {
            t.row(name, &[to, V(from)], &R2, base | int_bits(from));
        }
    }
    t.row("faddp", &[S, V(S2)], &R2, 0x7e30_d800);
    t.row("faddp", &[D, V(D2)], &R2, 0x7e70_d800);
    // Across the lanes of half-precision vectors (FP16).
    for (name, base) in
        [("fmaxnmv", 0x0e30_c800), ("fmaxv", 0x0e30_f800), ("fminnmv", 0x0eb0_c800), ("fminv", 0x0eb0_f800)]
    {
        t.row(name, &[H, V(H4)], &R2, base);
        t.row(name, &[H, V(H8)], &R2, base | 1 << 30);
    }
    // Int8 matrix multiplies (I8MM) and BFloat16 (BF16).
    for (name, base) in
        [("smmla", 0x4e80_a400), ("ummla", 0x6e80_a400), ("usmmla", 0x4e80_ac00), ("usdot", 0x4e80_9c00)]
    {
        t.row(name, &[V(S4), V(B16), V(B16)], &R3, base);
    }
    t.row("usdot", &[V(S2), V(B8), V(B8)], &R3, 0x0e80_9c00);
    t.row("bfdot", &[V(S2), V(H4), V(H4)], &R3, 0x2e40_fc00);
    t.row("bfdot", &[V(S4), V(H8), V(H8)], &R3, 0x6e40_fc00);
    t.row("bfmmla", &[V(S4), V(H8), V(H8)], &R3, 0x6e40_ec00);
    for (name, base) in [("sdot", 0x0e80_9400), ("udot", 0x2e80_9400)] {
        t.row(name, &[V(S2), V(B8), V(B8)], &R3, base);
        t.row(name, &[V(S4), V(B16), V(B16)], &R3, base | 1 << 30);
    }
}

/// Forms with an element operand: by-element multiplies, DUP, INS, UMOV.
pub(super) fn lanes(t: &mut Table) {
    use Kind::Elem;
    const BY: [Field; 3] = [Reg(0), Reg(5), Field::ElemMul];
    // Integer by-element multiplies; `size` (bits 22-23) from the element, Q for the wide form.
    // The 16-bit element register is one of v0-v15.
    for (name, base) in [
        ("mul", 0x0f00_8000),
        ("mla", 0x2f00_0000),
        ("mls", 0x2f00_4000),
        ("sqdmulh", 0x0f00_c000),
        ("sqrdmulh", 0x0f00_d000),
        ("sqrdmlah", 0x2f00_d000),
        ("sqrdmlsh", 0x2f00_f000),
    ] {
        for (a, size) in [(H4, 2), (H8, 2), (S2, 4), (S4, 4)] {
            t.row(name, &[V(a), V(a), Elem(size)], &BY, base | int_bits(a));
        }
    }
    // Floating-point ones: half precision (FP16) with size 00, single and double with `sz`.
    for (name, base) in [("fmla", 0x0f00_1000), ("fmls", 0x0f00_5000), ("fmul", 0x0f00_9000), ("fmulx", 0x2f00_9000)] {
        for (a, size, bits) in [(H4, 2, 0), (H8, 2, 1 << 30), (S2, 4, 2 << 22), (S4, 4, 1 << 30 | 2 << 22)] {
            t.row(name, &[V(a), V(a), Elem(size)], &BY, base | bits);
        }
        t.row(name, &[V(D2), V(D2), Elem(8)], &BY, base | 1 << 30 | 3 << 22);
        // Scalar: the same operation on element 0 of the destination and first source.
        let scalar = base | 0x5000_0000;
        t.row(name, &[H, H, Elem(2)], &BY, scalar);
        t.row(name, &[S, S, Elem(4)], &BY, scalar | 2 << 22);
        t.row(name, &[D, D, Elem(8)], &BY, scalar | 3 << 22);
    }
    for (name, base) in
        [("sqdmulh", 0x5f00_c000), ("sqrdmulh", 0x5f00_d000), ("sqrdmlah", 0x7f00_d000), ("sqrdmlsh", 0x7f00_f000)]
    {
        t.row(name, &[H, H, Elem(2)], &BY, base | 1 << 22);
        t.row(name, &[S, S, Elem(4)], &BY, base | 2 << 22);
    }
    // Long by element: the narrow source's elements, the `2` forms on its upper half.
    for (name, base) in [
        ("smull", 0x0f00_a000u32),
        ("umull", 0x2f00_a000),
        ("smlal", 0x0f00_2000),
        ("umlal", 0x2f00_2000),
        ("smlsl", 0x0f00_6000),
        ("umlsl", 0x2f00_6000),
        ("sqdmull", 0x0f00_b000),
        ("sqdmlal", 0x0f00_3000),
        ("sqdmlsl", 0x0f00_7000),
    ] {
        for (to, lo, hi, size) in [(S4, H4, H8, 2u8), (D2, S2, S4, 4)] {
            let bits = if size == 2 { 1 << 22 } else { 2 << 22 };
            t.row(name, &[V(to), V(lo), Elem(size)], &BY, base | bits);
            t.row(two(name), &[V(to), V(hi), Elem(size)], &BY, base | bits | 1 << 30);
        }
        if name.starts_with("sqdm") {
            // Scalar saturating doubling long: `sqdmull s0, h1, v2.h[3]`.
            t.row(name, &[S, H, Elem(2)], &BY, base | 0x5000_0000 | 1 << 22);
            t.row(name, &[D, S, Elem(4)], &BY, base | 0x5000_0000 | 2 << 22);
        }
    }
    // Dot products by element: a 32-bit group of four bytes (`v2.4b[1]`) or two halfwords.
    for (name, base, lanes) in [
        ("sdot", 0x0f80_e000u32, 1u8),
        ("udot", 0x2f80_e000, 1),
        ("sudot", 0x0f00_f000, 1),
        ("usdot", 0x0f80_f000, 1),
        ("bfdot", 0x0f40_f000, 2),
    ] {
        let (narrow, wide) = if lanes == 1 { (B8, B16) } else { (H4, H8) };
        t.row(name, &[V(S2), V(narrow), Kind::ElemGroup(lanes)], &BY, base);
        t.row(name, &[V(S4), V(wide), Kind::ElemGroup(lanes)], &BY, base | 1 << 30);
    }
    // BF16 widening multiply-add of the even (`b`) or odd (`t`) halfwords.
    for (name, q) in [("bfmlalb", 0), ("bfmlalt", 1 << 30)] {
        t.row(name, &[V(S4), V(H8), V(H8)], &R3, 0x2ec0_fc00 | q);
        t.row(name, &[V(S4), V(H8), Elem(2)], &BY, 0x0fc0_f000 | q);
    }
    for (a, size) in [(B8, 1), (B16, 1), (H4, 2), (H8, 2), (S2, 4), (S4, 4), (D2, 8)] {
        let q = int_bits(a) & 1 << 30;
        t.row("dup", &[V(a), Elem(size)], &[Reg(0), Field::ElemImm5(5)], 0x0e00_0400 | q);
    }
    // The element moves, each also as the `mov` an assembler prints for it: `dup` of one
    // element to a scalar, `ins` (which keeps the other elements), `umov` of a word or doubleword.
    for (scalar, size) in [(Kind::B, 1), (H, 2), (S, 4), (D, 8)] {
        for name in ["dup", "mov"] {
            t.row(name, &[scalar, Elem(size)], &[Reg(0), Field::ElemImm5(5)], 0x5e00_0400);
        }
    }
    for size in [1, 2, 4, 8] {
        let from = if size == 8 { X } else { W };
        t.row("ins", &[Elem(size), from], &[Field::ElemImm5(0), Reg(5)], 0x4e00_1c00);
        t.row("ins", &[Elem(size), Elem(size)], &[Field::ElemImm5(0), Field::ElemImm4], 0x6e00_0400);
        t.row_merging("mov", &[Elem(size), from], &[Field::ElemImm5(0), Reg(5)], 0x4e00_1c00);
        t.row_merging("mov", &[Elem(size), Elem(size)], &[Field::ElemImm5(0), Field::ElemImm4], 0x6e00_0400);
        let to = if size == 8 { (X, 0x4e00_3c00) } else { (W, 0x0e00_3c00) };
        t.row("umov", &[to.0, Elem(size)], &[Reg(0), Field::ElemImm5(5)], to.1);
        if size >= 4 {
            t.row("mov", &[to.0, Elem(size)], &[Reg(0), Field::ElemImm5(5)], to.1);
        }
    }
    // Signed moves of an element, sign-extended to W (bytes, halfwords) or X (up to words).
    for size in [1, 2, 4] {
        if size < 4 {
            t.row("smov", &[W, Elem(size)], &[Reg(0), Field::ElemImm5(5)], 0x0e00_2c00);
        }
        t.row("smov", &[X, Elem(size)], &[Reg(0), Field::ElemImm5(5)], 0x4e00_2c00);
    }
}

/// The half-precision (FP16) twin of a "three same" floating-point encoding: `size` 01 and
/// opcode bits 15-14 clear, the low three opcode bits and `U`, `a` kept.
pub(super) fn half_three(single: u32) -> u32 {
    single & !(1 << 21 | 3 << 14) | 1 << 22
}

/// The half-precision (FP16) twin of a "two-register misc" floating-point encoding: bits 22-17
/// `111100` where the single form has `sz` and `10000`.
pub(super) fn half_misc(single: u32) -> u32 {
    single & !(0x3f << 17) | 0x3c << 17
}

/// The source arrangement of a long operation's destination `to`, half as wide per element
/// (`8h` from `8b`; the `2` forms read the upper half, `16b`).
const LONG: [(Arrangement, Arrangement, Arrangement); 3] = [(H8, B8, B16), (S4, H4, H8), (D2, S2, S4)];

/// Long (`smull v.8h, v.8b, v.8b`), wide (`saddw v.8h, v.8h, v.8b`) and narrowing
/// (`addhn v.8b, v.8h, v.8h`, `xtn v.8b, v.8h`) operations, each with its `2` form on the upper
/// halves (which keeps the lower half of a narrowed destination).
pub(super) fn long_and_narrow(t: &mut Table) {
    // The "three different" class: size from the narrow elements, Q for the `2` forms.
    for (name, base, only_hs) in [
        ("saddl", 0x0e20_0000u32, false),
        ("uaddl", 0x2e20_0000, false),
        ("ssubl", 0x0e20_2000, false),
        ("usubl", 0x2e20_2000, false),
        ("sabal", 0x0e20_5000, false),
        ("uabal", 0x2e20_5000, false),
        ("sabdl", 0x0e20_7000, false),
        ("uabdl", 0x2e20_7000, false),
        ("smlal", 0x0e20_8000, false),
        ("umlal", 0x2e20_8000, false),
        ("smlsl", 0x0e20_a000, false),
        ("umlsl", 0x2e20_a000, false),
        ("smull", 0x0e20_c000, false),
        ("umull", 0x2e20_c000, false),
        ("sqdmlal", 0x0e20_9000, true),
        ("sqdmlsl", 0x0e20_b000, true),
        ("sqdmull", 0x0e20_d000, true),
    ] {
        for (to, low, high) in LONG {
            if only_hs && to == H8 {
                continue;
            }
            t.row(name, &[V(to), V(low), V(low)], &R3, base | int_bits(low));
            t.row(two(name), &[V(to), V(high), V(high)], &R3, base | int_bits(high));
        }
    }
    t.row("pmull", &[V(H8), V(B8), V(B8)], &R3, 0x0e20_e000);
    t.row("pmull2", &[V(H8), V(B16), V(B16)], &R3, 0x4e20_e000);
    // The carry-less product of two doublewords (AES): GHASH, CRC folding.
    t.row("pmull", &[Kind::Q1, V(Arrangement::D1), V(Arrangement::D1)], &R3, 0x0ee0_e000);
    t.row("pmull2", &[Kind::Q1, V(D2), V(D2)], &R3, 0x4ee0_e000);
    for (name, base) in
        [("saddw", 0x0e20_1000u32), ("uaddw", 0x2e20_1000), ("ssubw", 0x0e20_3000), ("usubw", 0x2e20_3000)]
    {
        for (to, low, high) in LONG {
            t.row(name, &[V(to), V(to), V(low)], &R3, base | int_bits(low));
            t.row(two(name), &[V(to), V(to), V(high)], &R3, base | int_bits(high));
        }
    }
    for (name, base) in
        [("addhn", 0x0e20_4000u32), ("raddhn", 0x2e20_4000), ("subhn", 0x0e20_6000), ("rsubhn", 0x2e20_6000)]
    {
        for (from, low, high) in LONG {
            t.row(name, &[V(low), V(from), V(from)], &R3, base | int_bits(low));
            t.row(two(name), &[V(high), V(from), V(from)], &R3, base | int_bits(high));
        }
    }
    // Narrowing moves (two-reg misc), and long pairwise additions.
    // Floating-point narrowing and widening: `fcvtn v.4h, v.4s`, `fcvtl v.2d, v.2s`, `fcvtxn`
    // (round to odd), `sz` (bit 22) from the wider side.
    for (name, base, pairs) in [
        ("fcvtn", 0x0e21_6800u32, &[(H4, S4, 0), (S2, D2, 1 << 22)][..]),
        ("fcvtxn", 0x2e61_6800, &[(S2, D2, 0)][..]),
        ("fcvtl", 0x0e21_7800, &[(S4, H4, 0), (D2, S2, 1 << 22)][..]),
    ] {
        let upper = |a| match a {
            H4 => H8,
            S2 => S4,
            _ => a,
        };
        for &(to, from, sz) in pairs {
            if name == "fcvtl" {
                t.row(name, &[V(to), V(from)], &R2, base | sz);
                t.row(two(name), &[V(to), V(upper(from))], &R2, base | sz | 1 << 30);
            } else {
                t.row(name, &[V(to), V(from)], &R2, base | sz);
                t.row(two(name), &[V(upper(to)), V(from)], &R2, base | sz | 1 << 30);
            }
        }
    }
    t.row("fcvtxn", &[S, D], &R2, 0x7e61_6800);
    for (name, base) in
        [("xtn", 0x0e21_2800u32), ("sqxtn", 0x0e21_4800), ("uqxtn", 0x2e21_4800), ("sqxtun", 0x2e21_2800)]
    {
        for (from, low, high) in LONG {
            t.row(name, &[V(low), V(from)], &R2, base | int_bits(low));
            t.row(two(name), &[V(high), V(from)], &R2, base | int_bits(high));
        }
    }
    for (name, base) in
        [("saddlp", 0x0e20_2800u32), ("uaddlp", 0x2e20_2800), ("sadalp", 0x0e20_6800), ("uadalp", 0x2e20_6800)]
    {
        for (to, from) in [(H4, B8), (H8, B16), (S2, H4), (S4, H8), (Arrangement::D1, S2), (D2, S4)] {
            t.row(name, &[V(to), V(from)], &R2, base | int_bits(from));
        }
    }
}

/// The `2` form's name (`smull2`): the upper halves. Names are static, so each is spelled here.
fn two(name: &str) -> &'static str {
    const TWOS: &[&str] = &[
        "saddl2",
        "uaddl2",
        "ssubl2",
        "usubl2",
        "sabal2",
        "uabal2",
        "sabdl2",
        "uabdl2",
        "smlal2",
        "umlal2",
        "smlsl2",
        "umlsl2",
        "smull2",
        "umull2",
        "sqdmlal2",
        "sqdmlsl2",
        "sqdmull2",
        "saddw2",
        "uaddw2",
        "ssubw2",
        "usubw2",
        "addhn2",
        "raddhn2",
        "subhn2",
        "rsubhn2",
        "xtn2",
        "sqxtn2",
        "uqxtn2",
        "sqxtun2",
        "fcvtn2",
        "fcvtxn2",
        "fcvtl2",
        "shrn2",
        "rshrn2",
        "sqshrn2",
        "uqshrn2",
        "sqrshrn2",
        "uqrshrn2",
        "sqshrun2",
        "sqrshrun2",
        "sshll2",
        "ushll2",
        "sxtl2",
        "uxtl2",
    ];
    // (A family without its `2` name here is a mistake in this file, found by every test.)
    TWOS.iter().copied().find(|t| t.strip_suffix('2') == Some(name)).unwrap_or_else(|| panic!("no `{name}2` in TWOS"))
}

/// Shifts by an immediate beyond `shl`/`sshr`/`ushr`: accumulating, rounding, inserting and
/// saturating shifts, and the narrowing (`shrn`) and long (`sshll`, `sxtl`) ones.
pub(super) fn shifts(t: &mut Table) {
    use Field::{LeftShift, RightShift};
    let same: [(Arrangement, u8); 7] = [(B8, 8), (B16, 8), (H4, 16), (H8, 16), (S2, 32), (S4, 32), (D2, 64)];
    for (a, esize) in same {
        let q = int_bits(a) & 1 << 30;
        for (name, base) in [
            ("ssra", 0x0f00_1400u32),
            ("usra", 0x2f00_1400),
            ("srshr", 0x0f00_2400),
            ("urshr", 0x2f00_2400),
            ("srsra", 0x0f00_3400),
            ("ursra", 0x2f00_3400),
            ("sri", 0x2f00_4400),
        ] {
            t.row(name, &[V(a), V(a), Imm], &[Reg(0), Reg(5), RightShift(esize)], base | q);
        }
        for (name, base) in
            [("sli", 0x2f00_5400u32), ("sqshl", 0x0f00_7400), ("uqshl", 0x2f00_7400), ("sqshlu", 0x2f00_6400)]
        {
            t.row(name, &[V(a), V(a), Imm], &[Reg(0), Reg(5), LeftShift(esize)], base | q);
        }
    }
    // Fixed-point conversions, the fraction bits as a right shift (`scvtf v0.4s, v1.4s, #16`).
    for (name, base) in
        [("scvtf", 0x0f00_e400u32), ("ucvtf", 0x2f00_e400), ("fcvtzs", 0x0f00_fc00), ("fcvtzu", 0x2f00_fc00)]
    {
        for (a, esize) in [(H4, 16u8), (H8, 16), (S2, 32), (S4, 32), (D2, 64)] {
            let q = int_bits(a) & 1 << 30;
            t.row(name, &[V(a), V(a), Imm], &[Reg(0), Reg(5), RightShift(esize)], base | q);
        }
    }
    // Narrowing: the destination's element size sets immh (`shrn v.8b, v.8h, #8`).
    let narrow: [(Arrangement, Arrangement, Arrangement, u8); 3] =
        [(H8, B8, B16, 8), (S4, H4, H8, 16), (D2, S2, S4, 32)];
    for (name, base) in [
        ("shrn", 0x0f00_8400u32),
        ("rshrn", 0x0f00_8c00),
        ("sqshrn", 0x0f00_9400),
        ("uqshrn", 0x2f00_9400),
        ("sqrshrn", 0x0f00_9c00),
        ("uqrshrn", 0x2f00_9c00),
        ("sqshrun", 0x2f00_8400),
        ("sqrshrun", 0x2f00_8c00),
    ] {
        for (from, low, high, esize) in narrow {
            t.row(name, &[V(low), V(from), Imm], &[Reg(0), Reg(5), RightShift(esize)], base);
            t.row(two(name), &[V(high), V(from), Imm], &[Reg(0), Reg(5), RightShift(esize)], base | 1 << 30);
        }
    }
    // Long: the source's element size sets immh (`sshll v.8h, v.8b, #3`); `sxtl` is a shift by 0.
    for (name, alias, base) in [("sshll", "sxtl", 0x0f00_a400u32), ("ushll", "uxtl", 0x2f00_a400)] {
        for (to, low, high, esize) in narrow {
            t.row(name, &[V(to), V(low), Imm], &[Reg(0), Reg(5), LeftShift(esize)], base);
            t.row(two(name), &[V(to), V(high), Imm], &[Reg(0), Reg(5), LeftShift(esize)], base | 1 << 30);
            let immh = (esize as u32) << 16;
            t.row(alias, &[V(to), V(low)], &R2, base | immh);
            t.row(two(alias), &[V(to), V(high)], &R2, base | 1 << 30 | immh);
        }
    }
}
