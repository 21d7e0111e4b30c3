//! The AArch64 forms, one row each: mnemonic, operand kinds, the fixed bits, and where each
//! operand's value goes. Families that differ only in their arrangement (`fadd v.2s/4s/2d`) are
//! generated from one line. Every row is checked against llvm-mc by `tests.rs`.
//!
//! Encodings follow the Arm Architecture Reference Manual (A64 instruction set encoding).

use std::sync::OnceLock;

use super::encode::Arrangement::{self, *};

mod extensions;
mod memory;
mod roles;
mod scalar;
mod simd;
mod system;

pub use roles::{First, feature, first_role, is_load_pair, second_written, writes_status};
use roles::{Needs, entry};

/// What an operand must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit general-purpose register, `xzr` as number 31.
    X,
    /// A 64-bit general-purpose register, `sp` as number 31.
    XSp,
    /// A 32-bit general-purpose register, `wzr` as number 31.
    W,
    /// A 32-bit general-purpose register, `wsp` as number 31.
    WSp,
    /// A vector register with this arrangement.
    V(Arrangement),
    /// An 8-bit scalar FP/SIMD register (`b`).
    B,
    /// A 16-bit scalar FP/SIMD register (`h`).
    H,
    /// A 32-bit scalar FP/SIMD register (`s`).
    S,
    /// A 64-bit scalar FP/SIMD register (`d`).
    D,
    /// A 128-bit scalar FP/SIMD register (`q`).
    Q,
    /// A vector register as one 128-bit element (`v0.1q`).
    Q1,
    /// A vector register's low two halfwords (`v0.2h`, what pairwise FP16 reduces).
    H2,
    /// An even-numbered general-purpose register and the next, written as two (`x0, x1`), 64-bit
    /// (flag set) or 32-bit: physical registers (`casp`).
    Pair(bool),
    /// An immediate.
    Imm,
    /// A left shift amount (`lsl #n`): a plain number or `Shift::Lsl`.
    Lsl,
    /// The shift of a shifted register: a plain number (`lsl`) or a [`Shift`](super::Shift).
    Shift,
    /// `msl #8` or `msl #16` ([`Shift::Msl`](super::Shift::Msl)).
    Msl,
    /// `[base, #offset]` with a 64-bit base (`sp` allowed).
    Mem,
    /// `[base, #offset]!`.
    MemPre,
    /// `[base], #offset`.
    MemPost,
    /// `[base], xm`: the base advanced by a register after the access (structure loads and
    /// stores).
    MemPostReg,
    /// A branch target, as a byte offset from the instruction.
    Label,
    /// The 4 KiB page of a label, relative to the instruction's page (`adrp`). Code that uses
    /// it is placed at a 4096-byte boundary, so that its pages are the layout's.
    Page,
    /// The low 12 bits of a label's address (`:lo12:label`, a [`PageOffset`](super::PageOffset)),
    /// added to its page after an `adrp`: in `add`, or as a load's or store's offset.
    PageOffset,
    /// An element of a vector register, of this many bytes (`v1.s[2]`).
    Elem(u8),
    /// A group of lanes of this many bytes read as one 32-bit element by a dot product
    /// (`v1.4b[2]` of bytes, `v1.2h[2]` of halfwords).
    ElemGroup(u8),
    /// A condition code (`eq`, `lt`, ...), given as its number.
    Cond,
    /// A prefetch operation (`pldl1keep`, ...), or its number.
    Prfop,
    /// A barrier option (`ish`, `sy`, ...), or its number.
    Barrier,
    /// What a `bti` landing pad accepts (`c`, `j`, `jc`).
    Target,
    /// A system register of `mrs`/`msr`.
    SysReg,
    /// A cache maintenance operation of this mnemonic's (`dc` or `ic`): `zva`, `civac`, ...
    Cache(bool),
    /// `[base, index]` or `[base, index, lsl #log2(size)]`.
    MemIndex,
    /// `[base, windex, sxtw]` or `[base, windex, sxtw #log2(size)]`: a 32-bit index,
    /// sign-extended.
    MemIndexSxtw,
    /// How the index of the memory operand before it is extended, where that is not what its
    /// width implies (`uxtw` of a 32-bit index, `sxtx` of a 64-bit one): an
    /// [`Extend`](super::Extend) without an amount (the shift is the index's scale).
    IndexExtend,
    /// `[base]`, no offset.
    MemBase,
    /// A list of one vector register (`{v1.4s}`).
    List1(Arrangement),
    /// A list of this many consecutive vector registers (`{v4.4s-v7.4s}`), named by its first:
    /// physical registers, or the first of a group of virtual ones.
    List(u8, Arrangement),
    /// One element of this many bytes of each of this many consecutive registers
    /// (`{v0.s, v1.s}[3]`): a lane list, or an element of the first of a group.
    LaneList(u8, u8),
    /// A floating-point value with an 8-bit encoding (`#1.0`, `#-0.125`), as its f64 bits.
    FpImm,
    /// How a 32-bit register is extended and shifted (`uxtw #2`): an [`Extend`](super::Extend).
    Extend,
}

/// How an operand's value is placed in the instruction word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// A 5-bit register number at this bit.
    Reg(u8),
    /// The same register number at two places (`mov v0.16b, v1.16b` is `orr v0, v1, v1`).
    RegTwice(u8, u8),
    /// An unsigned immediate: bit position, width, and the scale it must be a multiple of.
    Unsigned(u8, u8, u8),
    /// A signed immediate (two's complement): bit position, width, scale.
    Signed(u8, u8, u8),
    /// A shift of 0 or 12 (one bit at this position).
    Shift12(u8),
    /// A shift of 0, 16, 32 or 48 (two bits at this position).
    Hw(u8),
    /// `lsl #n` as a bitfield move of a register this many bits wide (`ubfm` with
    /// `immr = -n mod width`, `imms = width - 1 - n`).
    LslImm(u8),
    /// A right shift of a vector element of this many bits (`immh:immb = 2 * esize - n`).
    RightShift(u8),
    /// A left shift of a vector element of this many bits (`immh:immb = esize + n`).
    LeftShift(u8),
    /// The bit number of `tbz`/`tbnz` (`b5` at 31, `b40` at 19).
    TestBit,
    /// `[base, #offset]`: base register at bit 5, unsigned 12-bit offset at bit 10, scaled by the
    /// access size in bytes.
    Mem(u8),
    /// Pre- or post-index, or an unscaled offset (`ldur`): base at bit 5, signed 9-bit byte
    /// offset at bit 12.
    Index9,
    /// A register pair's address: base at bit 5, signed 7-bit offset at bit 15 scaled by the
    /// size of one register.
    Pair(u8),
    /// The element of a by-element multiply: register at 16, index in `H` (bit 11), `H:L` (and
    /// bit 21) or, for 16-bit elements, `H:L:M` (and bit 20, leaving four bits of register:
    /// `v0`-`v15`).
    ElemMul,
    /// An element as `imm5` (bit 16: index above a one-hot size), register at this bit.
    ElemImm5(u8),
    /// The source element of `ins` (element): register at 5, index as `imm4` at 11.
    ElemImm4,
    /// A condition code at this bit (four bits).
    Cond(u8),
    /// The inverse of a condition code at this bit (`cset` is `csinc` with the inverse).
    CondInv(u8),
    /// `[base, index{, lsl #s}]` of an access of this many bytes: base at 5, index at 16, `S` at
    /// 12 (the shift, which must be 0 or log2 of the size).
    RegOffset(u8),
    /// `[base]`: base at bit 5.
    Base,
    /// A logical immediate of a register this many bits wide (`N:immr:imms` at 10-22).
    Bitmask(u8),
    /// The post-index of a structure load or store: base at 5; the step must be this many
    /// bytes (what one access transfers).
    PostStep(u8),
    /// The element index of a lane list, of elements of this many bytes, spread over `Q` (30),
    /// `S` (12) and `size` (10-11); the first register at 0.
    LaneIndex(u8),
    /// A post-index by a register: base at 5, the register at 16 (not `xzr`, whose number
    /// means the immediate form).
    PostReg,
    /// The `option` (bits 13-15) of a register offset whose index is extended otherwise than
    /// its width implies: `uxtw` of a 32-bit index (flag set), `sxtx` of a 64-bit one.
    IndexOption(bool),
    /// An 8-bit floating-point immediate (`abcdefgh`) at bit 13.
    FpImm8,
    /// The fraction bits of a fixed-point conversion, 1 to this many (the integer's width),
    /// as `64 - fbits` at bit 10.
    FracBits(u8),
    /// An 8-bit floating-point immediate split as `abc` at 16 and `defgh` at 5 (vector FMOV).
    FpImm8Split,
    /// `option` at 13 and a shift of 0-4 at 10 (extended-register forms); the flag says the
    /// extended register is 64 bits wide (`uxtx`, `sxtx` only) or 32 (the others), where the
    /// destination is 64-bit.
    Extend(Rm),
    /// `adr`'s byte offset, +-1 MiB: low two bits at 29, the rest at 5.
    Adr,
    /// `adrp`'s offset, in bytes, of a page (a multiple of 4096) +-4 GiB: split like
    /// [`Field::Adr`]'s, counted in pages.
    AdrPage,
    /// The low 12 bits of an address at bit 10, divided by this access size (which they must
    /// be a multiple of).
    PageOffset(u8),
    /// A shifted register's shift: the type at 22 (`lsl`, `lsr`, `asr`, and `ror` where the
    /// flag allows it) and an amount below this many bits at 10.
    ShiftedReg(u8, bool),
    /// An 8-bit immediate split as `abc` at 16 and `defgh` at 5 (vector MOVI, ORR, BIC).
    Imm8Split,
    /// The `lsl` of a vector immediate on elements of this many bits: a multiple of 8 below it,
    /// as `amount / 8` in `cmode` (bit 13 up).
    CmodeShift(u8),
    /// The amount of an `msl`, 8 or 16, as bit 12 of `cmode`.
    MslAmount,
    /// A 64-bit value whose bytes are each 0x00 or 0xff, one bit per byte, split like
    /// [`Field::Imm8Split`] (`movi v0.2d, #0xff00ff00ff00ff00`).
    ByteMask,
}

/// The width of an extended register, for the extends that suit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rm {
    /// A W register of a 64-bit operation: `uxtb` to `uxtw`, `sxtb` to `sxtw`.
    W,
    /// An X register of a 64-bit operation: `uxtx`, `sxtx`.
    X,
    /// A W register of a 32-bit operation: any extend.
    Any,
}

/// One form.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Mnemonic, lower case.
    pub name: &'static str,
    /// Operand kinds, in assembly order (the first `count`).
    pub ops: [Kind; 4],
    /// Where each operand goes (same order).
    pub fields: [Field; 4],
    /// Number of operands.
    pub count: u8,
    /// The fixed bits.
    pub base: u32,
    /// The role of the first operand and the extension needed, from [`MNEMONICS`] (looked up
    /// once, when the table is built; `None` for a mnemonic without an entry).
    stated: Option<(First, Option<crate::target::Extension>)>,
}

impl Row {
    /// The operand kinds.
    pub fn kinds(&self) -> &[Kind] {
        &self.ops[..self.count as usize]
    }

    /// The operand fields.
    pub fn fields(&self) -> &[Field] {
        &self.fields[..self.count as usize]
    }
}

/// Every form peach encodes, built once.
pub fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(build)
}

/// `Q` (bit 30) and `size` (bits 22-23) of an integer arrangement.
fn int_bits(a: Arrangement) -> u32 {
    let (q, size) = match a {
        B8 => (0, 0),
        B16 => (1, 0),
        H4 => (0, 1),
        H8 => (1, 1),
        S2 => (0, 2),
        S4 => (1, 2),
        D1 => (0, 3),
        D2 => (1, 3),
    };
    q << 30 | size << 22
}

/// `Q` (bit 30) and `sz` (bit 22) of a floating-point arrangement.
fn fp_bits(a: Arrangement) -> u32 {
    match a {
        S2 => 0,
        S4 => 1 << 30,
        _ => 1 << 30 | 1 << 22,
    }
}

struct Table(Vec<Row>);

impl Table {
    /// A row whose first operand is read too, though other rows of its mnemonic only write it
    /// (`orr v0.4s, #1` merges into its destination; `orr v0.16b, v1.16b, v2.16b` does not).
    fn row_merging(&mut self, name: &'static str, ops: &[Kind], fields: &[Field], base: u32) {
        self.row(name, ops, fields, base);
        if let Some(row) = self.0.last_mut() {
            row.stated = row.stated.map(|(_, needs)| (First::UseDef, needs));
        }
    }

    fn row(&mut self, name: &'static str, ops: &[Kind], fields: &[Field], base: u32) {
        let mut row =
            Row { name, ops: [Kind::Imm; 4], fields: [Field::Reg(0); 4], count: ops.len() as u8, base, stated: None };
        row.ops[..ops.len()].copy_from_slice(ops);
        row.fields[..fields.len()].copy_from_slice(fields);
        row.stated = entry(name).map(|(role, needs)| (role, needs.extension(ops)));
        self.0.push(row);
    }
}

use Field::{Hw, Reg, Shift12, Signed, Unsigned};
use Kind::{D, H, Imm, Label, Lsl, S, W, X, XSp};

const R2: [Field; 2] = [Reg(0), Reg(5)];
const R3: [Field; 3] = [Reg(0), Reg(5), Reg(16)];
const R4: [Field; 4] = [Reg(0), Reg(5), Reg(16), Reg(10)];

fn build() -> Vec<Row> {
    let mut t = Table(Vec::new());
    integer(&mut t);
    memory::rows(&mut t);
    branches(&mut t);
    scalar_fp(&mut t);
    simd::vector(&mut t);
    simd::lanes(&mut t);
    simd::long_and_narrow(&mut t);
    simd::shifts(&mut t);
    scalar::rows(&mut t);
    system::rows(&mut t);
    extensions::rows(&mut t);
    t.0
}

fn integer(t: &mut Table) {
    for (name, x, w) in [
        ("add", 0x8b00_0000, 0x0b00_0000),
        ("sub", 0xcb00_0000, 0x4b00_0000),
        ("adds", 0xab00_0000, 0x2b00_0000),
        ("subs", 0xeb00_0000, 0x6b00_0000),
        ("and", 0x8a00_0000, 0x0a00_0000),
        ("orr", 0xaa00_0000, 0x2a00_0000),
        ("eor", 0xca00_0000, 0x4a00_0000),
        ("ands", 0xea00_0000, 0x6a00_0000),
        ("bic", 0x8a20_0000, 0x0a20_0000),
        ("orn", 0xaa20_0000, 0x2a20_0000),
        ("eon", 0xca20_0000, 0x4a20_0000),
        ("bics", 0xea20_0000, 0x6a20_0000),
    ] {
        // The logical instructions rotate too; arithmetic ones do not.
        let ror = !matches!(name, "add" | "sub" | "adds" | "subs");
        t.row(name, &[X, X, X], &R3, x);
        t.row(name, &[X, X, X, Kind::Shift], &[Reg(0), Reg(5), Reg(16), Field::ShiftedReg(64, ror)], x);
        t.row(name, &[W, W, W], &R3, w);
        t.row(name, &[W, W, W, Kind::Shift], &[Reg(0), Reg(5), Reg(16), Field::ShiftedReg(32, ror)], w);
    }
    for (name, x, w) in
        [("cmp", 0xeb00_001f, 0x6b00_001f), ("cmn", 0xab00_001f, 0x2b00_001f), ("tst", 0xea00_001f, 0x6a00_001f)]
    {
        t.row(name, &[X, X], &[Reg(5), Reg(16)], x);
        t.row(name, &[W, W], &[Reg(5), Reg(16)], w);
    }
    // The same with a shifted register: `cmp x0, x1, lsl #3`.
    for (name, x, w) in
        [("cmp", 0xeb00_001f, 0x6b00_001f), ("cmn", 0xab00_001f, 0x2b00_001f), ("tst", 0xea00_001f, 0x6a00_001f)]
    {
        let shift = |bits| Field::ShiftedReg(bits, name == "tst");
        t.row(name, &[X, X, Kind::Shift], &[Reg(5), Reg(16), shift(64)], x);
        t.row(name, &[W, W, Kind::Shift], &[Reg(5), Reg(16), shift(32)], w);
    }
    t.row("mov", &[X, X], &[Reg(0), Reg(16)], 0xaa00_03e0);
    t.row("mov", &[W, W], &[Reg(0), Reg(16)], 0x2a00_03e0);
    // To and from `sp`, which `orr` cannot name: `add d, n, #0`.
    t.row("mov", &[XSp, XSp], &R2, 0x9100_0000);
    t.row("mov", &[Kind::WSp, Kind::WSp], &R2, 0x1100_0000);
    // Operations on the zero register and one other: `neg` is `sub` from zero, `mvn` is `orn`,
    // `ngc` subtracts with carry.
    for (name, x, w, shifts) in [
        ("neg", 0xcb00_03e0, 0x4b00_03e0, Some(false)),
        ("negs", 0xeb00_03e0, 0x6b00_03e0, Some(false)),
        ("mvn", 0xaa20_03e0, 0x2a20_03e0, Some(true)),
        ("ngc", 0xda00_03e0, 0x5a00_03e0, None),
        ("ngcs", 0xfa00_03e0, 0x7a00_03e0, None),
    ] {
        t.row(name, &[X, X], &[Reg(0), Reg(16)], x);
        t.row(name, &[W, W], &[Reg(0), Reg(16)], w);
        if let Some(ror) = shifts {
            t.row(name, &[X, X, Kind::Shift], &[Reg(0), Reg(16), Field::ShiftedReg(64, ror)], x);
            t.row(name, &[W, W, Kind::Shift], &[Reg(0), Reg(16), Field::ShiftedReg(32, ror)], w);
        }
    }
    // Add and subtract with carry.
    for (name, x) in [("adc", 0x9a00_0000u32), ("adcs", 0xba00_0000), ("sbc", 0xda00_0000), ("sbcs", 0xfa00_0000)] {
        t.row(name, &[X, X, X], &R3, x);
        t.row(name, &[W, W, W], &R3, x & !(1 << 31));
    }
    let imm12 = Unsigned(10, 12, 1);
    for (name, base) in [("add", 0x9100_0000), ("sub", 0xd100_0000)] {
        t.row(name, &[XSp, XSp, Imm], &[Reg(0), Reg(5), imm12], base);
        t.row(name, &[XSp, XSp, Imm, Lsl], &[Reg(0), Reg(5), imm12, Shift12(22)], base);
    }
    for (name, base) in [("add", 0x1100_0000), ("sub", 0x5100_0000)] {
        t.row(name, &[Kind::WSp, Kind::WSp, Imm], &[Reg(0), Reg(5), imm12], base);
        t.row(name, &[Kind::WSp, Kind::WSp, Imm, Lsl], &[Reg(0), Reg(5), imm12, Shift12(22)], base);
    }
    // The flag-setting forms write the zero register at 31, and read `sp` there.
    for (name, x, w) in [("adds", 0xb100_0000, 0x3100_0000), ("subs", 0xf100_0000, 0x7100_0000)] {
        t.row(name, &[X, XSp, Imm], &[Reg(0), Reg(5), imm12], x);
        t.row(name, &[X, XSp, Imm, Lsl], &[Reg(0), Reg(5), imm12, Shift12(22)], x);
        t.row(name, &[W, Kind::WSp, Imm], &[Reg(0), Reg(5), imm12], w);
        t.row(name, &[W, Kind::WSp, Imm, Lsl], &[Reg(0), Reg(5), imm12, Shift12(22)], w);
    }
    for (name, x, w) in [("cmp", 0xf100_001f, 0x7100_001f), ("cmn", 0xb100_001f, 0x3100_001f)] {
        t.row(name, &[XSp, Imm], &[Reg(5), imm12], x);
        t.row(name, &[XSp, Imm, Lsl], &[Reg(5), imm12, Shift12(22)], x);
        t.row(name, &[Kind::WSp, Imm], &[Reg(5), imm12], w);
        t.row(name, &[Kind::WSp, Imm, Lsl], &[Reg(5), imm12, Shift12(22)], w);
    }
    for (name, x, w) in
        [("movz", 0xd280_0000, 0x5280_0000), ("movk", 0xf280_0000, 0x7280_0000), ("movn", 0x9280_0000, 0x1280_0000)]
    {
        t.row(name, &[X, Imm], &[Reg(0), Unsigned(5, 16, 1)], x);
        t.row(name, &[X, Imm, Lsl], &[Reg(0), Unsigned(5, 16, 1), Hw(21)], x);
        t.row(name, &[W, Imm], &[Reg(0), Unsigned(5, 16, 1)], w);
        t.row(name, &[W, Imm, Lsl], &[Reg(0), Unsigned(5, 16, 1), Hw(21)], w);
    }
    for (name, x, w) in [
        ("mul", 0x9b00_7c00, 0x1b00_7c00),
        ("sdiv", 0x9ac0_0c00, 0x1ac0_0c00),
        ("udiv", 0x9ac0_0800, 0x1ac0_0800),
        ("lsl", 0x9ac0_2000, 0x1ac0_2000),
        ("lsr", 0x9ac0_2400, 0x1ac0_2400),
        ("asr", 0x9ac0_2800, 0x1ac0_2800),
        ("ror", 0x9ac0_2c00, 0x1ac0_2c00),
    ] {
        t.row(name, &[X, X, X], &R3, x);
        t.row(name, &[W, W, W], &R3, w);
    }
    t.row("smulh", &[X, X, X], &R3, 0x9b40_7c00);
    t.row("umulh", &[X, X, X], &R3, 0x9bc0_7c00);
    for (name, x, w) in [("madd", 0x9b00_0000, 0x1b00_0000), ("msub", 0x9b00_8000, 0x1b00_8000)] {
        t.row(name, &[X, X, X, X], &R4, x);
        t.row(name, &[W, W, W, W], &R4, w);
    }
    t.row("mneg", &[X, X, X], &R3, 0x9b00_fc00);
    t.row("mneg", &[W, W, W], &R3, 0x1b00_fc00);
    // Long multiplies: 32-bit sources, a 64-bit result (and accumulator).
    for (name, base) in
        [("smaddl", 0x9b20_0000), ("smsubl", 0x9b20_8000), ("umaddl", 0x9ba0_0000), ("umsubl", 0x9ba0_8000)]
    {
        t.row(name, &[X, W, W, X], &R4, base);
    }
    for (name, base) in
        [("smull", 0x9b20_7c00), ("smnegl", 0x9b20_fc00), ("umull", 0x9ba0_7c00), ("umnegl", 0x9ba0_fc00)]
    {
        t.row(name, &[X, W, W], &R3, base);
    }
    // Extract from a register pair (`ror` by an immediate is `extr` of one register twice).
    t.row("extr", &[X, X, X, Imm], &[Reg(0), Reg(5), Reg(16), Unsigned(10, 6, 1)], 0x93c0_0000);
    t.row("extr", &[W, W, W, Imm], &[Reg(0), Reg(5), Reg(16), Unsigned(10, 5, 1)], 0x1380_0000);
    t.row("lsl", &[X, X, Imm], &[Reg(0), Reg(5), Field::LslImm(64)], 0xd340_0000);
    t.row("lsl", &[W, W, Imm], &[Reg(0), Reg(5), Field::LslImm(32)], 0x5300_0000);
    t.row("lsr", &[X, X, Imm], &[Reg(0), Reg(5), Unsigned(16, 6, 1)], 0xd340_fc00);
    t.row("lsr", &[W, W, Imm], &[Reg(0), Reg(5), Unsigned(16, 5, 1)], 0x5300_7c00);
    t.row("asr", &[X, X, Imm], &[Reg(0), Reg(5), Unsigned(16, 6, 1)], 0x9340_fc00);
    t.row("asr", &[W, W, Imm], &[Reg(0), Reg(5), Unsigned(16, 5, 1)], 0x1300_7c00);
    // Bitfield moves (`ubfx`, `sbfx`, `bfi`, `bfxil` are rewritten to these by selection).
    for (name, x, w) in
        [("ubfm", 0xd340_0000, 0x5300_0000), ("sbfm", 0x9340_0000, 0x1300_0000), ("bfm", 0xb340_0000, 0x3300_0000)]
    {
        t.row(name, &[X, X, Imm, Imm], &[Reg(0), Reg(5), Unsigned(16, 6, 1), Unsigned(10, 6, 1)], x);
        t.row(name, &[W, W, Imm, Imm], &[Reg(0), Reg(5), Unsigned(16, 5, 1), Unsigned(10, 5, 1)], w);
    }
    // Extended registers: `add x0, sp, w1, uxtw #2` (the extend as an `Extend` operand).
    for (name, base) in [("add", 0x8b20_0000), ("sub", 0xcb20_0000), ("adds", 0xab20_0000), ("subs", 0xeb20_0000)] {
        let dst = if name.ends_with('s') { X } else { XSp };
        t.row(name, &[dst, XSp, W, Kind::Extend], &[Reg(0), Reg(5), Reg(16), Field::Extend(Rm::W)], base);
        t.row(name, &[dst, XSp, X, Kind::Extend], &[Reg(0), Reg(5), Reg(16), Field::Extend(Rm::X)], base);
        let wdst = if name.ends_with('s') { W } else { Kind::WSp };
        let w = base & !(1 << 31);
        t.row(name, &[wdst, Kind::WSp, W, Kind::Extend], &[Reg(0), Reg(5), Reg(16), Field::Extend(Rm::Any)], w);
    }
    // `add sp, sp, x1`: the extended form's `uxtx` (`lsl`), for `sp`.
    t.row("add", &[XSp, XSp, X], &R3, 0x8b20_6000);
    t.row("sub", &[XSp, XSp, X], &R3, 0xcb20_6000);
    t.row("add", &[Kind::WSp, Kind::WSp, W], &R3, 0x0b20_4000);
    t.row("sub", &[Kind::WSp, Kind::WSp, W], &R3, 0x4b20_4000);
    // Compares with an extended register: `cmp sp, w1, uxtw #2`; `cmp sp, x1` is `uxtx` (the
    // shifted-register form cannot read `sp`).
    for (name, base) in [("cmp", 0xeb20_001fu32), ("cmn", 0xab20_001f)] {
        t.row(name, &[XSp, X], &[Reg(5), Reg(16)], base | 0x6000);
        t.row(name, &[Kind::WSp, W], &[Reg(5), Reg(16)], base & !(1 << 31) | 0x4000);
        t.row(name, &[XSp, W, Kind::Extend], &[Reg(5), Reg(16), Field::Extend(Rm::W)], base);
        t.row(name, &[XSp, X, Kind::Extend], &[Reg(5), Reg(16), Field::Extend(Rm::X)], base);
        let w = base & !(1 << 31);
        t.row(name, &[Kind::WSp, W, Kind::Extend], &[Reg(5), Reg(16), Field::Extend(Rm::Any)], w);
    }
    // Sign and zero extensions (bitfield moves).
    for (name, ops, base) in [
        ("sxtw", [X, W], 0x9340_7c00),
        ("sxth", [X, W], 0x9340_3c00),
        ("sxtb", [X, W], 0x9340_1c00),
        ("sxth", [W, W], 0x1300_3c00),
        ("sxtb", [W, W], 0x1300_1c00),
        ("uxth", [W, W], 0x5300_3c00),
        ("uxtb", [W, W], 0x5300_1c00),
    ] {
        t.row(name, &ops, &R2, base);
    }
    t.row("nop", &[], &[], 0xd503_201f);
    // Data processing, one source: bit and byte reversals and bit counts.
    for (name, x, w) in [
        ("rbit", 0xdac0_0000, Some(0x5ac0_0000)),
        ("rev16", 0xdac0_0400, Some(0x5ac0_0400)),
        ("rev32", 0xdac0_0800, None),
        ("rev", 0xdac0_0c00, Some(0x5ac0_0800)),
        ("rev64", 0xdac0_0c00, None),
        ("clz", 0xdac0_1000, Some(0x5ac0_1000)),
        ("cls", 0xdac0_1400, Some(0x5ac0_1400)),
    ] {
        t.row(name, &[X, X], &R2, x);
        if let Some(w) = w {
            t.row(name, &[W, W], &R2, w);
        }
    }
    for (name, x, w) in [
        ("csel", 0x9a80_0000, 0x1a80_0000),
        ("csinc", 0x9a80_0400, 0x1a80_0400),
        ("csinv", 0xda80_0000, 0x5a80_0000),
        ("csneg", 0xda80_0400, 0x5a80_0400),
    ] {
        t.row(name, &[X, X, X, Kind::Cond], &[Reg(0), Reg(5), Reg(16), Field::Cond(12)], x);
        t.row(name, &[W, W, W, Kind::Cond], &[Reg(0), Reg(5), Reg(16), Field::Cond(12)], w);
    }
    for (name, x, w) in [("cset", 0x9a9f_07e0, 0x1a9f_07e0), ("csetm", 0xda9f_03e0, 0x5a9f_03e0)] {
        t.row(name, &[X, Kind::Cond], &[Reg(0), Field::CondInv(12)], x);
        t.row(name, &[W, Kind::Cond], &[Reg(0), Field::CondInv(12)], w);
    }
    // `cinc d, n, cond` is `csinc d, n, n, !cond`; likewise `cinv`, `cneg`.
    for (name, x, w) in
        [("cinc", 0x9a80_0400, 0x1a80_0400), ("cinv", 0xda80_0000, 0x5a80_0000), ("cneg", 0xda80_0400, 0x5a80_0400)]
    {
        let fields = [Reg(0), Field::RegTwice(5, 16), Field::CondInv(12)];
        t.row(name, &[X, X, Kind::Cond], &fields, x);
        t.row(name, &[W, W, Kind::Cond], &fields, w);
    }
    for (name, x, w) in [("ccmp", 0xfa40_0000, 0x7a40_0000), ("ccmn", 0xba40_0000, 0x3a40_0000)] {
        let reg = [Reg(5), Reg(16), Unsigned(0, 4, 1), Field::Cond(12)];
        let imm = [Reg(5), Unsigned(16, 5, 1), Unsigned(0, 4, 1), Field::Cond(12)];
        t.row(name, &[X, X, Imm, Kind::Cond], &reg, x);
        t.row(name, &[W, W, Imm, Kind::Cond], &reg, w);
        t.row(name, &[X, Imm, Imm, Kind::Cond], &imm, x | 0x800);
        t.row(name, &[W, Imm, Imm, Kind::Cond], &imm, w | 0x800);
    }
    // Logical immediates.
    for (name, x, w) in
        [("and", 0x9200_0000, 0x1200_0000), ("orr", 0xb200_0000, 0x3200_0000), ("eor", 0xd200_0000, 0x5200_0000)]
    {
        t.row(name, &[XSp, X, Imm], &[Reg(0), Reg(5), Field::Bitmask(64)], x);
        t.row(name, &[Kind::WSp, W, Imm], &[Reg(0), Reg(5), Field::Bitmask(32)], w);
    }
    t.row("ands", &[X, X, Imm], &[Reg(0), Reg(5), Field::Bitmask(64)], 0xf200_0000);
    t.row("ands", &[W, W, Imm], &[Reg(0), Reg(5), Field::Bitmask(32)], 0x7200_0000);
    t.row("tst", &[X, Imm], &[Reg(5), Field::Bitmask(64)], 0xf200_001f);
    t.row("tst", &[W, Imm], &[Reg(5), Field::Bitmask(32)], 0x7200_001f);
}

fn branches(t: &mut Table) {
    // The address of a label (a table, a constant), PC-relative.
    t.row("adr", &[X, Label], &[Reg(0), Field::Adr], 0x1000_0000);
    // Its page, and the offset in the page as `add`'s immediate: any address +-4 GiB away.
    t.row("adrp", &[X, Kind::Page], &[Reg(0), Field::AdrPage], 0x9000_0000);
    t.row("add", &[XSp, XSp, Kind::PageOffset], &[Reg(0), Reg(5), Field::PageOffset(1)], 0x9100_0000);
    let branch26 = [Signed(0, 26, 4)];
    t.row("b", &[Label], &branch26, 0x1400_0000);
    t.row("bl", &[Label], &branch26, 0x9400_0000);
    const NAMES: [&str; 14] = [
        "b.eq", "b.ne", "b.hs", "b.lo", "b.mi", "b.pl", "b.vs", "b.vc", "b.hi", "b.ls", "b.ge", "b.lt", "b.gt", "b.le",
    ];
    for (cond, name) in NAMES.iter().enumerate() {
        t.row(name, &[Label], &[Signed(5, 19, 4)], 0x5400_0000 | cond as u32);
    }
    // `al` and `nv` both always branch.
    t.row("b.al", &[Label], &[Signed(5, 19, 4)], 0x5400_000e);
    t.row("b.nv", &[Label], &[Signed(5, 19, 4)], 0x5400_000f);
    t.row("b.cs", &[Label], &[Signed(5, 19, 4)], 0x5400_0002);
    t.row("b.cc", &[Label], &[Signed(5, 19, 4)], 0x5400_0003);
    for (name, x, w) in [("cbz", 0xb400_0000, 0x3400_0000), ("cbnz", 0xb500_0000, 0x3500_0000)] {
        t.row(name, &[X, Label], &[Reg(0), Signed(5, 19, 4)], x);
        t.row(name, &[W, Label], &[Reg(0), Signed(5, 19, 4)], w);
    }
    for (name, base) in [("tbz", 0x3600_0000), ("tbnz", 0x3700_0000)] {
        t.row(name, &[X, Imm, Label], &[Reg(0), Field::TestBit, Signed(5, 14, 4)], base);
        t.row(name, &[W, Imm, Label], &[Reg(0), Unsigned(19, 5, 1), Signed(5, 14, 4)], base);
    }
    t.row("br", &[X], &[Reg(5)], 0xd61f_0000);
    t.row("blr", &[X], &[Reg(5)], 0xd63f_0000);
    t.row("ret", &[], &[], 0xd65f_03c0);
    t.row("ret", &[X], &[Reg(5)], 0xd65f_0000);
}

/// The `ftype` of half-precision scalar forms (bits 22-23 = 11), which need FP16.
const HALF: u32 = 3 << 22;

fn scalar_fp(t: &mut Table) {
    for (name, s) in [
        ("fadd", 0x1e20_2800),
        ("fsub", 0x1e20_3800),
        ("fmul", 0x1e20_0800),
        ("fdiv", 0x1e20_1800),
        ("fmax", 0x1e20_4800),
        ("fmin", 0x1e20_5800),
        ("fmaxnm", 0x1e20_6800),
        ("fminnm", 0x1e20_7800),
        ("fnmul", 0x1e20_8800),
    ] {
        t.row(name, &[S, S, S], &R3, s);
        t.row(name, &[D, D, D], &R3, s | 1 << 22);
        t.row(name, &[H, H, H], &R3, s | HALF);
    }
    for (name, s) in [("fmadd", 0x1f00_0000), ("fmsub", 0x1f00_8000), ("fnmadd", 0x1f20_0000), ("fnmsub", 0x1f20_8000)]
    {
        t.row(name, &[S, S, S, S], &R4, s);
        t.row(name, &[D, D, D, D], &R4, s | 1 << 22);
        t.row(name, &[H, H, H, H], &R4, s | HALF);
    }
    t.row("fcsel", &[S, S, S, Kind::Cond], &[Reg(0), Reg(5), Reg(16), Field::Cond(12)], 0x1e20_0c00);
    t.row("fcsel", &[D, D, D, Kind::Cond], &[Reg(0), Reg(5), Reg(16), Field::Cond(12)], 0x1e60_0c00);
    t.row("fcsel", &[H, H, H, Kind::Cond], &[Reg(0), Reg(5), Reg(16), Field::Cond(12)], 0x1e20_0c00 | HALF);
    t.row("fmov", &[S, Kind::FpImm], &[Reg(0), Field::FpImm8], 0x1e20_1000);
    t.row("fmov", &[D, Kind::FpImm], &[Reg(0), Field::FpImm8], 0x1e60_1000);
    t.row("fmov", &[H, Kind::FpImm], &[Reg(0), Field::FpImm8], 0x1e20_1000 | HALF);
    for (name, s) in [("fabs", 0x1e20_c000), ("fneg", 0x1e21_4000), ("fsqrt", 0x1e21_c000), ("fmov", 0x1e20_4000)] {
        t.row(name, &[S, S], &R2, s);
        t.row(name, &[D, D], &R2, s | 1 << 22);
        t.row(name, &[H, H], &R2, s | HALF);
    }
    t.row("fcmp", &[S, S], &[Reg(5), Reg(16)], 0x1e20_2000);
    t.row("fcmp", &[D, D], &[Reg(5), Reg(16)], 0x1e60_2000);
    t.row("fcmp", &[H, H], &[Reg(5), Reg(16)], 0x1e20_2000 | HALF);
    t.row("fcvt", &[D, S], &R2, 0x1e22_c000);
    t.row("fcvt", &[S, D], &R2, 0x1e62_4000);
    // Half precision to and from single and double (base Armv8, not FP16).
    t.row("fcvt", &[S, H], &R2, 0x1ee2_4000);
    t.row("fcvt", &[D, H], &R2, 0x1ee2_c000);
    t.row("fcvt", &[H, S], &R2, 0x1e23_c000);
    t.row("fcvt", &[H, D], &R2, 0x1e63_c000);
    // Half precision (FP16) with general-purpose registers: `ftype` 11 over the single forms.
    for (name, base) in [
        ("scvtf", 0x1e22_0000u32),
        ("ucvtf", 0x1e23_0000),
        ("fcvtzs", 0x1e38_0000),
        ("fcvtzu", 0x1e39_0000),
        ("fcvtns", 0x1e20_0000),
        ("fcvtnu", 0x1e21_0000),
        ("fcvtas", 0x1e24_0000),
        ("fcvtau", 0x1e25_0000),
        ("fcvtps", 0x1e28_0000),
        ("fcvtpu", 0x1e29_0000),
        ("fcvtms", 0x1e30_0000),
        ("fcvtmu", 0x1e31_0000),
        ("fmov", 0x1e26_0000),
    ] {
        let to_fp = name.ends_with("cvtf");
        for (gp, sf) in [(W, 0), (X, 1 << 31)] {
            let ops = if to_fp { [H, gp] } else { [gp, H] };
            t.row(name, &ops, &R2, base | HALF | sf);
            if name == "fmov" {
                t.row(name, &[H, gp], &R2, base | HALF | sf | 1 << 16);
            }
        }
    }
    // Fixed point: `scvtf d0, x1, #16` divides by 2^16; `fcvtzs w0, s1, #8` multiplies by 2^8.
    // The fraction bits are 1 to the integer's width, encoded as `64 - fbits` at bit 10.
    for (name, base) in
        [("scvtf", 0x1e02_0000u32), ("ucvtf", 0x1e03_0000), ("fcvtzs", 0x1e18_0000), ("fcvtzu", 0x1e19_0000)]
    {
        let to_fp = name.ends_with("cvtf");
        for (fp, ftype) in [(S, 0), (D, 1 << 22), (H, HALF)] {
            for (gp, sf, bits) in [(W, 0, 32u8), (X, 1 << 31, 64)] {
                let ops = if to_fp { [fp, gp, Imm] } else { [gp, fp, Imm] };
                t.row(name, &ops, &[Reg(0), Reg(5), Field::FracBits(bits)], base | ftype | sf);
            }
        }
    }
    for (name, ops, base) in [
        ("scvtf", [D, X], 0x9e62_0000),
        ("scvtf", [S, W], 0x1e22_0000),
        ("scvtf", [D, W], 0x1e62_0000),
        ("scvtf", [S, X], 0x9e22_0000),
        ("ucvtf", [D, X], 0x9e63_0000),
        ("fcvtzs", [X, D], 0x9e78_0000),
        ("fcvtzs", [W, S], 0x1e38_0000),
        ("fcvtzs", [W, D], 0x1e78_0000),
        ("fcvtzs", [X, S], 0x9e38_0000),
        ("fcvtzu", [X, D], 0x9e79_0000),
        ("fmov", [D, X], 0x9e67_0000),
        ("fmov", [X, D], 0x9e66_0000),
        ("fmov", [S, W], 0x1e27_0000),
        ("fmov", [W, S], 0x1e26_0000),
        ("fcvtzu", [W, S], 0x1e39_0000),
        ("fcvtzu", [W, D], 0x1e79_0000),
        ("fcvtzu", [X, S], 0x9e39_0000),
        ("ucvtf", [S, W], 0x1e23_0000),
        ("ucvtf", [D, W], 0x1e63_0000),
        ("ucvtf", [S, X], 0x9e23_0000),
    ] {
        t.row(name, &ops, &R2, base);
    }
    // Conversions to integers by rounding mode: rmode at 19 and opcode at 16 over FCVTNS.
    for (name, mode) in [
        ("fcvtns", 0x0_0000),
        ("fcvtnu", 0x1_0000),
        ("fcvtas", 0x4_0000),
        ("fcvtau", 0x5_0000),
        ("fcvtps", 0x8_0000),
        ("fcvtpu", 0x9_0000),
        ("fcvtms", 0x10_0000),
        ("fcvtmu", 0x11_0000),
    ] {
        for (ops, base) in [([W, S], 0x1e20_0000), ([W, D], 0x1e60_0000), ([X, S], 0x9e20_0000), ([X, D], 0x9e60_0000)]
        {
            t.row(name, &ops, &R2, base | mode);
        }
    }
    for (name, base) in [
        ("frintn", 0x1e24_4000),
        ("frintp", 0x1e24_c000),
        ("frintm", 0x1e25_4000),
        ("frintz", 0x1e25_c000),
        ("frinta", 0x1e26_4000),
        ("frintx", 0x1e27_4000),
        ("frinti", 0x1e27_c000),
    ] {
        t.row(name, &[S, S], &R2, base);
        t.row(name, &[D, D], &R2, base | 1 << 22);
        t.row(name, &[H, H], &R2, base | HALF);
    }
    // Compares with exceptions on quiet NaNs (`fcmpe`), against #0.0, and conditional compares.
    let zero = [Reg(5), Unsigned(10, 0, 1)];
    for (sz, ty) in [(S, 0), (D, 1 << 22), (H, HALF)] {
        t.row("fcmpe", &[sz, sz], &[Reg(5), Reg(16)], 0x1e20_2010 | ty);
        t.row("fcmp", &[sz, Kind::FpImm], &zero, 0x1e20_2008 | ty);
        t.row("fcmpe", &[sz, Kind::FpImm], &zero, 0x1e20_2018 | ty);
        let fields = [Reg(5), Reg(16), Unsigned(0, 4, 1), Field::Cond(12)];
        t.row("fccmp", &[sz, sz, Imm, Kind::Cond], &fields, 0x1e20_0400 | ty);
        t.row("fccmpe", &[sz, sz, Imm, Kind::Cond], &fields, 0x1e20_0410 | ty);
    }
}
