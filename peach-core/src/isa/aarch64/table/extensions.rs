//! The rows of the optional extensions: CRC32, AES, SHA1 and SHA256, and the LSE atomics
//! (`ldadd`, `ldclr`, `ldeor`, `ldset`, `ld{s,u}{max,min}`, their `st` forms, `swp`, `cas`) in every size and
//! ordering. Encodings follow the Arm ARM (data-processing (2 source), cryptographic AES and
//! SHA, atomic memory operations, compare and swap).

use super::super::encode::Arrangement::*;
use super::{Field, First, Kind, Needs, R2, R3, Table};
use Field::Reg;
use Kind::{Q, S, V, W, X};

pub(super) fn rows(t: &mut Table) {
    // CRC32 and CRC32C of a byte, halfword, word (from a W register) or doubleword (from X).
    for (c, name) in
        [(0u32, ["crc32b", "crc32h", "crc32w", "crc32x"]), (1, ["crc32cb", "crc32ch", "crc32cw", "crc32cx"])]
    {
        for (size, n) in name.iter().enumerate() {
            let data = if size == 3 { X } else { W };
            let sf = if size == 3 { 1 << 31 } else { 0 };
            t.row(n, &[W, W, data], &R3, 0x1ac0_4000 | sf | c << 12 | (size as u32) << 10);
        }
    }
    for (name, base) in [("aese", 0x4e28_4800), ("aesd", 0x4e28_5800), ("aesmc", 0x4e28_6800), ("aesimc", 0x4e28_7800)]
    {
        t.row(name, &[V(B16), V(B16)], &R2, base);
    }
    for (name, base) in [("sha1c", 0x5e00_0000), ("sha1p", 0x5e00_1000), ("sha1m", 0x5e00_2000)] {
        t.row(name, &[Q, S, V(S4)], &R3, base);
    }
    for (name, base) in [("sha256h", 0x5e00_4000), ("sha256h2", 0x5e00_5000)] {
        t.row(name, &[Q, Q, V(S4)], &R3, base);
    }
    for (name, base) in [("sha1su0", 0x5e00_3000), ("sha256su1", 0x5e00_6000)] {
        t.row(name, &[V(S4), V(S4), V(S4)], &R3, base);
    }
    t.row("sha1h", &[S, S], &R2, 0x5e28_0800);
    t.row("sha1su1", &[V(S4), V(S4)], &R2, 0x5e28_1800);
    t.row("sha256su0", &[V(S4), V(S4)], &R2, 0x5e28_2800);
    // Compare and swap a pair: `casp x0, x1, x2, x3, [x4]`, each pair from an even register
    // (the first compared and receiving the old value).
    for (name, bits) in [("casp", 0u32), ("caspa", 1 << 22), ("caspal", 1 << 22 | 1 << 15), ("caspl", 1 << 15)] {
        for (x, size) in [(true, 1u32 << 30), (false, 0)] {
            let pair = Kind::Pair(x);
            t.row(name, &[pair, pair, Kind::MemBase], &[Reg(16), Reg(0), Field::Base], 0x0820_7c00 | size | bits);
        }
    }
    // LSE: `ld<op>{a,al,l}{b,h} rs, rt, [xn]` (rt receives the old value) and `cas`: bytes and
    // halfwords in W registers, words and doublewords in W or X (size at 30).
    let fields = [Reg(16), Reg(0), Field::Base];
    for &(name, _, bits) in lse() {
        let sizes: &[(Kind, u32)] = match name.as_bytes().last() {
            Some(b'b') => &[(W, 0)],
            Some(b'h') => &[(W, 1)],
            _ => &[(X, 3), (W, 2)],
        };
        for &(data, size) in sizes {
            if name.starts_with("st") {
                t.row(name, &[data, Kind::MemBase], &[Reg(16), Field::Base], bits | size << 30);
            } else {
                t.row(name, &[data, data, Kind::MemBase], &fields, bits | size << 30);
            }
        }
    }
}

/// Every LSE mnemonic with its first operand's role and its bits (the size left out), built
/// once (the names are made from their parts).
fn lse() -> &'static [(&'static str, First, u32)] {
    static LSE: std::sync::OnceLock<Vec<(&'static str, First, u32)>> = std::sync::OnceLock::new();
    LSE.get_or_init(|| {
        let mut all = Vec::new();
        let mut add = |name: String, first, bits| all.push((&*Box::leak(name.into_boxed_str()), first, bits));
        // Atomic memory operations: opc at 12, `swp` at 15; A (acquire) at 23, R (release) at 22.
        let ops = [
            ("ldadd", 0x0000),
            ("ldclr", 0x1000),
            ("ldeor", 0x2000),
            ("ldset", 0x3000),
            ("ldsmax", 0x4000),
            ("ldsmin", 0x5000),
            ("ldumax", 0x6000),
            ("ldumin", 0x7000),
            ("swp", 0x8000),
        ];
        for (op, opc) in ops {
            for (order, ar) in [("", 0u32), ("a", 1 << 23), ("al", 3 << 22), ("l", 1 << 22)] {
                for size in ["", "b", "h"] {
                    add(format!("{op}{order}{size}"), First::Use, 0x3820_0000 | opc | ar);
                    // `st<op>` discards the old value (into the zero register): no acquire.
                    if let Some(store) = op.strip_prefix("ld")
                        && !order.starts_with('a')
                    {
                        add(format!("st{store}{order}{size}"), First::Use, 0x3820_001f | opc | ar);
                    }
                }
            }
        }
        // Compare and swap: L (acquire) at 22, o0 (release) at 15; rs is compared and receives
        // the old value.
        for (order, lo) in [("", 0u32), ("a", 1 << 22), ("al", 1 << 22 | 1 << 15), ("l", 1 << 15)] {
            for size in ["", "b", "h"] {
                add(format!("cas{order}{size}"), First::UseDef, 0x08a0_7c00 | lo);
            }
        }
        all
    })
}

/// The role of an LSE mnemonic's first operand and the extension it needs, if it is one.
pub(super) fn entry(name: &str) -> Option<(First, Needs)> {
    if matches!(name, "casp" | "caspa" | "caspal" | "caspl") {
        return Some((First::UseDef, Needs::Lse));
    }
    lse().iter().find(|(n, ..)| *n == name).map(|&(_, first, _)| (first, Needs::Lse))
}

/// Whether `name` is an LSE load (`ldadd`, `swp`, ...): its second operand receives the old
/// value.
pub(super) fn loads_old_value(name: &str) -> bool {
    !name.starts_with("st") && lse().iter().any(|&(n, first, _)| n == name && first == First::Use)
}
