//! The load and store rows: single registers in every addressing mode (unsigned, unscaled
//! and unprivileged offsets, pre- and post-index, register offsets with their extensions,
//! literals), structure loads and stores of whole registers and of one element per register,
//! replicating loads, pairs, exclusives and acquire/release accesses, and prefetches.

use super::super::encode::Arrangement::*;
use super::{Field, Kind, Table, int_bits};
use Field::{Reg, Signed, Unsigned};
use Kind::{D, H, Label, MemPost, MemPre, Q, S, W, X};

/// The two post-indexed forms of a structure load or store: by the bytes it transfers
/// (`[x0], #32`, Rm 31) and by a register (`[x0], x2`). `base` has Rm clear.
fn post_indexed(t: &mut Table, name: &'static str, list: Kind, bytes: u8, base: u32) {
    t.row(name, &[list, MemPost], &[Reg(0), Field::PostStep(bytes)], base | 0x1f_0000);
    t.row(name, &[list, Kind::MemPostReg], &[Reg(0), Field::PostReg], base);
}

pub(super) fn rows(t: &mut Table) {
    use Field::{IndexOption, RegOffset};
    use Kind::Mem as M;
    // (mnemonic, register kind, access size, unsigned offset, pre-index, post-index)
    let singles: [(&'static str, Kind, u8, u32, u32, u32); 23] = [
        ("ldr", X, 8, 0xf940_0000, 0xf840_0c00, 0xf840_0400),
        ("ldr", W, 4, 0xb940_0000, 0xb840_0c00, 0xb840_0400),
        ("ldr", Q, 16, 0x3dc0_0000, 0x3cc0_0c00, 0x3cc0_0400),
        ("ldr", D, 8, 0xfd40_0000, 0xfc40_0c00, 0xfc40_0400),
        ("ldr", S, 4, 0xbd40_0000, 0xbc40_0c00, 0xbc40_0400),
        ("ldr", H, 2, 0x7d40_0000, 0x7c40_0c00, 0x7c40_0400),
        ("ldr", Kind::B, 1, 0x3d40_0000, 0x3c40_0c00, 0x3c40_0400),
        ("ldrb", W, 1, 0x3940_0000, 0x3840_0c00, 0x3840_0400),
        ("ldrh", W, 2, 0x7940_0000, 0x7840_0c00, 0x7840_0400),
        ("ldrsw", X, 4, 0xb980_0000, 0xb880_0c00, 0xb880_0400),
        ("ldrsb", X, 1, 0x3980_0000, 0x3880_0c00, 0x3880_0400),
        ("ldrsb", W, 1, 0x39c0_0000, 0x38c0_0c00, 0x38c0_0400),
        ("ldrsh", X, 2, 0x7980_0000, 0x7880_0c00, 0x7880_0400),
        ("ldrsh", W, 2, 0x79c0_0000, 0x78c0_0c00, 0x78c0_0400),
        ("strb", W, 1, 0x3900_0000, 0x3800_0c00, 0x3800_0400),
        ("strh", W, 2, 0x7900_0000, 0x7800_0c00, 0x7800_0400),
        ("str", X, 8, 0xf900_0000, 0xf800_0c00, 0xf800_0400),
        ("str", W, 4, 0xb900_0000, 0xb800_0c00, 0xb800_0400),
        ("str", Q, 16, 0x3d80_0000, 0x3c80_0c00, 0x3c80_0400),
        ("str", D, 8, 0xfd00_0000, 0xfc00_0c00, 0xfc00_0400),
        ("str", S, 4, 0xbd00_0000, 0xbc00_0c00, 0xbc00_0400),
        ("str", H, 2, 0x7d00_0000, 0x7c00_0c00, 0x7c00_0400),
        ("str", Kind::B, 1, 0x3d00_0000, 0x3c00_0c00, 0x3c00_0400),
    ];
    for (name, reg, size, offset, pre, post) in singles {
        t.row(name, &[reg, M], &[Reg(0), Field::Mem(size)], offset);
        // The offset in a label's page, after an `adrp` of it (`ldr q0, [x0, :lo12:label]`).
        t.row(name, &[reg, Kind::MemBase, Kind::PageOffset], &[Reg(0), Field::Base, Field::PageOffset(size)], offset);
        t.row(name, &[reg, MemPre], &[Reg(0), Field::Index9], pre);
        t.row(name, &[reg, MemPost], &[Reg(0), Field::Index9], post);
        // The unscaled form (`ldur x0, [x1, #-3]`): a signed 9-bit byte offset, bits 10-11 clear.
        let unscaled = match name {
            "ldr" => "ldur",
            "ldrb" => "ldurb",
            "ldrh" => "ldurh",
            "ldrsw" => "ldursw",
            "ldrsb" => "ldursb",
            "ldrsh" => "ldursh",
            "str" => "stur",
            "strb" => "sturb",
            _ => "sturh",
        };
        t.row(unscaled, &[reg, M], &[Reg(0), Field::Index9], pre & !0xc00);
        // The unprivileged form (`ldtr x0, [x1, #8]`, bits 10-11 = 10), of general registers.
        if matches!(reg, X | W) {
            let unprivileged = match name {
                "ldr" => "ldtr",
                "ldrb" => "ldtrb",
                "ldrh" => "ldtrh",
                "ldrsw" => "ldtrsw",
                "ldrsb" => "ldtrsb",
                "ldrsh" => "ldtrsh",
                "str" => "sttr",
                "strb" => "sttrb",
                _ => "sttrh",
            };
            t.row(unprivileged, &[reg, M], &[Reg(0), Field::Index9], (pre & !0xc00) | 0x800);
        }
    }
    // Loads from the literal pool (PC-relative, +-1 MiB).
    for (reg, base) in [(X, 0x5800_0000), (W, 0x1800_0000), (Q, 0x9c00_0000), (D, 0x5c00_0000), (S, 0x1c00_0000)] {
        t.row("ldr", &[reg, Label], &[Reg(0), Signed(5, 19, 4)], base);
    }
    t.row("ldrsw", &[X, Label], &[Reg(0), Signed(5, 19, 4)], 0x9800_0000);
    t.row("prfm", &[Kind::Prfop, Label], &[Unsigned(0, 5, 1), Signed(5, 19, 4)], 0xd800_0000);
    // Register offsets: `[base, index{, lsl #log2(size)}]`.
    for (name, reg, size, base) in [
        ("ldr", X, 8, 0xf860_6800),
        ("ldr", W, 4, 0xb860_6800),
        ("ldr", Q, 16, 0x3ce0_6800),
        ("ldr", D, 8, 0xfc60_6800),
        ("ldr", S, 4, 0xbc60_6800),
        ("ldr", H, 2, 0x7c60_6800),
        ("ldr", Kind::B, 1, 0x3c60_6800),
        ("ldrb", W, 1, 0x3860_6800),
        ("ldrh", W, 2, 0x7860_6800),
        ("ldrsw", X, 4, 0xb8a0_6800),
        ("ldrsb", X, 1, 0x38a0_6800),
        ("ldrsb", W, 1, 0x38e0_6800),
        ("ldrsh", X, 2, 0x78a0_6800),
        ("ldrsh", W, 2, 0x78e0_6800),
        ("str", X, 8, 0xf820_6800),
        ("str", W, 4, 0xb820_6800),
        ("str", Q, 16, 0x3ca0_6800),
        ("str", D, 8, 0xfc20_6800),
        ("str", S, 4, 0xbc20_6800),
        ("str", H, 2, 0x7c20_6800),
        ("str", Kind::B, 1, 0x3c20_6800),
        ("strb", W, 1, 0x3820_6800),
        ("strh", W, 2, 0x7820_6800),
    ] {
        t.row(name, &[reg, Kind::MemIndex], &[Reg(0), RegOffset(size)], base);
        // A 32-bit index is sign-extended (`sxtw`): option 110 instead of 011.
        let sxtw = base ^ 0x6000 ^ 0xc000;
        t.row(name, &[reg, Kind::MemIndexSxtw], &[Reg(0), RegOffset(size)], sxtw);
        // Written otherwise: `uxtw` of a 32-bit index, `sxtx` of a 64-bit one.
        t.row(name, &[reg, Kind::MemIndex, Kind::IndexExtend], &[Reg(0), RegOffset(size), IndexOption(false)], base);
        t.row(name, &[reg, Kind::MemIndexSxtw, Kind::IndexExtend], &[Reg(0), RegOffset(size), IndexOption(true)], sxtw);
    }
    t.row("prfm", &[Kind::Prfop, M], &[Unsigned(0, 5, 1), Field::Mem(8)], 0xf980_0000);
    t.row("prfum", &[Kind::Prfop, M], &[Unsigned(0, 5, 1), Field::Index9], 0xf880_0000);
    t.row("prfm", &[Kind::Prfop, Kind::MemIndex], &[Unsigned(0, 5, 1), Field::RegOffset(8)], 0xf8a0_6800);
    t.row("prfm", &[Kind::Prfop, Kind::MemIndexSxtw], &[Unsigned(0, 5, 1), Field::RegOffset(8)], 0xf8a0_c800);
    let prfop = Unsigned(0, 5, 1);
    t.row(
        "prfm",
        &[Kind::Prfop, Kind::MemIndex, Kind::IndexExtend],
        &[prfop, RegOffset(8), IndexOption(false)],
        0xf8a0_6800,
    );
    t.row(
        "prfm",
        &[Kind::Prfop, Kind::MemIndexSxtw, Kind::IndexExtend],
        &[prfop, RegOffset(8), IndexOption(true)],
        0xf8a0_c800,
    );
    // Multiple-structure loads and stores of two to four consecutive registers: LD1/ST1 of
    // several registers, and the interleaving LD2-LD4/ST2-ST4.
    // (Interleaving needs two elements per register: no `1d` for LD2-LD4/ST2-ST4.)
    for a in [B8, B16, H4, H8, S2, S4, D1, D2] {
        let bits = (int_bits(a) & 1 << 30) | (int_bits(a) >> 22 & 3) << 10;
        let bytes = if int_bits(a) & 1 << 30 != 0 { 16 } else { 8 };
        for (n, one, inter) in [(2u8, 0xa000, 0x8000), (3, 0x6000, 0x4000), (4, 0x2000, 0x0000)] {
            let list = Kind::List(n, a);
            let interleaved = [
                (["ld2", "ld3", "ld4"][n as usize - 2], inter, 0x0c40_0000),
                (["st2", "st3", "st4"][n as usize - 2], inter, 0x0c00_0000),
            ];
            let take = if a == D1 { 0 } else { 2 };
            for (name, op, base) in [("ld1", one, 0x0c40_0000), ("st1", one, 0x0c00_0000)]
                .into_iter()
                .chain(interleaved.into_iter().take(take))
            {
                t.row(name, &[list, Kind::MemBase], &[Reg(0), Field::Base], base | op | bits);
                post_indexed(t, name, list, n * bytes, base | 0x80_0000 | op | bits);
            }
        }
    }
    // Single-register structure loads and stores.
    for a in [B8, B16, H4, H8, S2, S4, D1, D2] {
        let bits = (int_bits(a) & 1 << 30) | (int_bits(a) >> 22 & 3) << 10;
        let fields = [Reg(0), Field::Base];
        t.row("ld1", &[Kind::List1(a), Kind::MemBase], &fields, 0x0c40_7000 | bits);
        t.row("st1", &[Kind::List1(a), Kind::MemBase], &fields, 0x0c00_7000 | bits);
        t.row("ld1r", &[Kind::List1(a), Kind::MemBase], &fields, 0x0d40_c000 | bits);
        let (q, esize) = (if int_bits(a) & 1 << 30 != 0 { 16 } else { 8 }, 1u8 << (int_bits(a) >> 22 & 3));
        post_indexed(t, "ld1", Kind::List1(a), q, 0x0cc0_7000 | bits);
        post_indexed(t, "st1", Kind::List1(a), q, 0x0c80_7000 | bits);
        post_indexed(t, "ld1r", Kind::List1(a), esize, 0x0dc0_c000 | bits);
        // Load one element and replicate it into two to four consecutive registers.
        for (name, n, op) in [("ld2r", 2u8, 0x0020_c000), ("ld3r", 3, 0x0000_e000), ("ld4r", 4, 0x0020_e000)] {
            let list = Kind::List(n, a);
            t.row(name, &[list, Kind::MemBase], &fields, 0x0d40_0000 | op | bits);
            post_indexed(t, name, list, n * esize, 0x0dc0_0000 | op | bits);
        }
    }
    // Single-structure loads and stores of one element per register (`ld3 {v0.s-v2.s}[1]`):
    // `R` (bit 21) for two and four registers, the opcode from the element size and whether
    // there are three or four. A load keeps the other elements: it reads its registers too.
    for (n, r, opcode_step) in [(1u8, 0u32, 0u32), (2, 1 << 21, 0), (3, 0, 1 << 13), (4, 1 << 21, 1 << 13)] {
        for (esize, opcode) in [(1u8, 0x0000u32), (2, 0x4000), (4, 0x8000), (8, 0x8400)] {
            let list = Kind::LaneList(n, esize);
            let fields = [Field::LaneIndex(esize), Field::Base];
            let bits = r | opcode | opcode_step;
            let (load, store) =
                (["ld1", "ld2", "ld3", "ld4"][n as usize - 1], ["st1", "st2", "st3", "st4"][n as usize - 1]);
            t.row_merging(load, &[list, Kind::MemBase], &fields, 0x0d40_0000 | bits);
            t.row(store, &[list, Kind::MemBase], &fields, 0x0d00_0000 | bits);
            let step = [Field::LaneIndex(esize), Field::PostStep(n * esize)];
            let by_reg = [Field::LaneIndex(esize), Field::PostReg];
            t.row_merging(load, &[list, MemPost], &step, 0x0ddf_0000 | bits);
            t.row_merging(load, &[list, Kind::MemPostReg], &by_reg, 0x0dc0_0000 | bits);
            t.row(store, &[list, MemPost], &step, 0x0d9f_0000 | bits);
            t.row(store, &[list, Kind::MemPostReg], &by_reg, 0x0d80_0000 | bits);
        }
    }
    // (mnemonic, register kind, size, offset, pre-index, post-index)
    let pairs: [(&'static str, Kind, u8, u32, u32, u32); 10] = [
        ("ldp", X, 8, 0xa940_0000, 0xa9c0_0000, 0xa8c0_0000),
        ("ldp", W, 4, 0x2940_0000, 0x29c0_0000, 0x28c0_0000),
        ("ldp", Q, 16, 0xad40_0000, 0xadc0_0000, 0xacc0_0000),
        ("ldp", D, 8, 0x6d40_0000, 0x6dc0_0000, 0x6cc0_0000),
        ("ldp", S, 4, 0x2d40_0000, 0x2dc0_0000, 0x2cc0_0000),
        ("stp", X, 8, 0xa900_0000, 0xa980_0000, 0xa880_0000),
        ("stp", W, 4, 0x2900_0000, 0x2980_0000, 0x2880_0000),
        ("stp", Q, 16, 0xad00_0000, 0xad80_0000, 0xac80_0000),
        ("stp", D, 8, 0x6d00_0000, 0x6d80_0000, 0x6c80_0000),
        ("stp", S, 4, 0x2d00_0000, 0x2d80_0000, 0x2c80_0000),
    ];
    for (name, reg, size, offset, pre, post) in pairs {
        let fields = [Reg(0), Reg(10), Field::Pair(size)];
        t.row(name, &[reg, reg, M], &fields, offset);
        t.row(name, &[reg, reg, MemPre], &fields, pre);
        t.row(name, &[reg, reg, MemPost], &fields, post);
    }
    // Exclusive and acquire/release accesses, of 64 and 32 bits and of bytes and halfwords:
    // `[base]` only. A store-exclusive writes its status (0 = stored) to its first operand.
    use Kind::MemBase as MB;
    for (name, x, w) in [
        ("ldxr", 0xc85f_7c00, 0x885f_7c00),
        ("ldaxr", 0xc85f_fc00, 0x885f_fc00),
        ("ldar", 0xc8df_fc00, 0x88df_fc00),
        ("stlr", 0xc89f_fc00, 0x889f_fc00),
        // Load-acquire RCpc: ordered only after earlier store-releases to the same address.
        ("ldapr", 0xf8bf_c000, 0xb8bf_c000),
    ] {
        t.row(name, &[X, MB], &[Reg(0), Field::Base], x);
        t.row(name, &[W, MB], &[Reg(0), Field::Base], w);
    }
    for (name, base) in [
        ("ldxrb", 0x085f_7c00),
        ("ldxrh", 0x485f_7c00),
        ("ldaxrb", 0x085f_fc00),
        ("ldaxrh", 0x485f_fc00),
        ("ldarb", 0x08df_fc00),
        ("ldarh", 0x48df_fc00),
        ("stlrb", 0x089f_fc00),
        ("stlrh", 0x489f_fc00),
        ("ldaprb", 0x38bf_c000),
        ("ldaprh", 0x78bf_c000),
    ] {
        t.row(name, &[W, MB], &[Reg(0), Field::Base], base);
    }
    for (name, x, w) in [("stxr", 0xc800_7c00, 0x8800_7c00), ("stlxr", 0xc800_fc00, 0x8800_fc00)] {
        t.row(name, &[W, X, MB], &[Reg(16), Reg(0), Field::Base], x);
        t.row(name, &[W, W, MB], &[Reg(16), Reg(0), Field::Base], w);
    }
    for (name, base) in
        [("stxrb", 0x0800_7c00), ("stxrh", 0x4800_7c00), ("stlxrb", 0x0800_fc00), ("stlxrh", 0x4800_fc00)]
    {
        t.row(name, &[W, W, MB], &[Reg(16), Reg(0), Field::Base], base);
    }
    for (name, x, w) in [("ldxp", 0xc87f_0000, 0x887f_0000), ("ldaxp", 0xc87f_8000, 0x887f_8000)] {
        t.row(name, &[X, X, MB], &[Reg(0), Reg(10), Field::Base], x);
        t.row(name, &[W, W, MB], &[Reg(0), Reg(10), Field::Base], w);
    }
    for (name, x, w) in [("stxp", 0xc820_0000, 0x8820_0000), ("stlxp", 0xc820_8000, 0x8820_8000)] {
        t.row(name, &[W, X, X, MB], &[Reg(16), Reg(0), Reg(10), Field::Base], x);
        t.row(name, &[W, W, W, MB], &[Reg(16), Reg(0), Reg(10), Field::Base], w);
    }
    let fields = [Reg(0), Reg(10), Field::Pair(4)];
    t.row("ldpsw", &[X, X, M], &fields, 0x6940_0000);
    t.row("ldpsw", &[X, X, MemPre], &fields, 0x69c0_0000);
    t.row("ldpsw", &[X, X, MemPost], &fields, 0x68c0_0000);
    // Non-temporal pairs (a hint not to keep the data in the caches): an offset only.
    for (reg, size, load, store) in [
        (X, 8, 0xa840_0000, 0xa800_0000),
        (W, 4, 0x2840_0000, 0x2800_0000),
        (Q, 16, 0xac40_0000, 0xac00_0000),
        (D, 8, 0x6c40_0000, 0x6c00_0000),
        (S, 4, 0x2c40_0000, 0x2c00_0000),
    ] {
        let fields = [Reg(0), Reg(10), Field::Pair(size)];
        t.row("ldnp", &[reg, reg, M], &fields, load);
        t.row("stnp", &[reg, reg, M], &fields, store);
    }
}
