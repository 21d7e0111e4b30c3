//! The AArch64 forms, one row each: mnemonic, operand kinds, the fixed bits, and where each
//! operand's value goes. Rows are checked against llvm-mc by `tests.rs`.

/// What an operand must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit general-purpose register, `xzr` as number 31.
    X,
    /// A 64-bit general-purpose register, `sp` as number 31.
    XSp,
    /// A 32-bit general-purpose register, `wzr` as number 31.
    W,
    /// A vector register with this arrangement.
    V(super::Arrangement),
    /// A 32-bit scalar FP/SIMD register (`s`).
    S,
    /// A 64-bit scalar FP/SIMD register (`d`).
    D,
    /// A 128-bit scalar FP/SIMD register (`q`).
    Q,
    /// An immediate.
    Imm,
    /// A left shift amount (`lsl #n`).
    Lsl,
    /// `[base, #offset]` with a 64-bit base (`sp` allowed).
    Mem,
    /// A branch target, as a byte offset from the instruction.
    Label,
}

/// How an operand's value is placed in the instruction word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// A 5-bit register number at this bit.
    Reg(u8),
    /// An unsigned immediate: bit position, width, and the scale it must be a multiple of.
    Unsigned(u8, u8, u8),
    /// A signed immediate (two's complement): bit position, width, scale.
    Signed(u8, u8, u8),
    /// A shift of 0 or 12 (one bit at this position).
    Shift12(u8),
    /// A shift of 0, 16, 32 or 48 (two bits at this position; 0 and 16 only for 32-bit forms).
    Hw(u8),
    /// `[base, #offset]`: base register at bit 5, unsigned 12-bit offset at bit 10, scaled by the
    /// access size in bytes.
    Mem(u8),
    /// Not encoded (the operand only selects the row).
    None,
}

/// One form.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    /// Mnemonic, lower case.
    pub name: &'static str,
    /// Operand kinds, in assembly order.
    pub ops: &'static [Kind],
    /// Where each operand goes (same order).
    pub fields: &'static [Field],
    /// The fixed bits.
    pub base: u32,
}

use super::Arrangement::{B16, D2, H8, S4};
use Field::{Hw, Reg, Shift12, Signed, Unsigned};
use Kind::*;

/// The forms peach encodes so far.
#[rustfmt::skip]
pub const ROWS: &[Row] = &[
    Row { name: "add",  ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x8b00_0000 },
    Row { name: "add",  ops: &[X, X, X, Lsl],     fields: &[Reg(0), Reg(5), Reg(16), Unsigned(10, 6, 1)], base: 0x8b00_0000 },
    Row { name: "add",  ops: &[W, W, W],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x0b00_0000 },
    Row { name: "add",  ops: &[XSp, XSp, Imm],    fields: &[Reg(0), Reg(5), Unsigned(10, 12, 1)],     base: 0x9100_0000 },
    Row { name: "add",  ops: &[XSp, XSp, Imm, Lsl], fields: &[Reg(0), Reg(5), Unsigned(10, 12, 1), Shift12(22)], base: 0x9100_0000 },
    Row { name: "sub",  ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0xcb00_0000 },
    Row { name: "sub",  ops: &[W, W, W],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x4b00_0000 },
    Row { name: "sub",  ops: &[XSp, XSp, Imm],    fields: &[Reg(0), Reg(5), Unsigned(10, 12, 1)],     base: 0xd100_0000 },
    Row { name: "subs", ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0xeb00_0000 },
    Row { name: "and",  ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x8a00_0000 },
    Row { name: "orr",  ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0xaa00_0000 },
    Row { name: "eor",  ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0xca00_0000 },
    Row { name: "movz", ops: &[X, Imm],           fields: &[Reg(0), Unsigned(5, 16, 1)],              base: 0xd280_0000 },
    Row { name: "movz", ops: &[X, Imm, Lsl],      fields: &[Reg(0), Unsigned(5, 16, 1), Hw(21)],      base: 0xd280_0000 },
    Row { name: "movk", ops: &[X, Imm, Lsl],      fields: &[Reg(0), Unsigned(5, 16, 1), Hw(21)],      base: 0xf280_0000 },
    Row { name: "movn", ops: &[X, Imm],           fields: &[Reg(0), Unsigned(5, 16, 1)],              base: 0x9280_0000 },
    Row { name: "mul",  ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x9b00_7c00 },
    Row { name: "madd", ops: &[X, X, X, X],       fields: &[Reg(0), Reg(5), Reg(16), Reg(10)],        base: 0x9b00_0000 },
    Row { name: "sdiv", ops: &[X, X, X],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x9ac0_0c00 },
    Row { name: "udiv", ops: &[W, W, W],          fields: &[Reg(0), Reg(5), Reg(16)],                 base: 0x1ac0_0800 },
    Row { name: "ldr",  ops: &[X, Mem],           fields: &[Reg(0), Field::Mem(8)],                          base: 0xf940_0000 },
    Row { name: "ldr",  ops: &[W, Mem],           fields: &[Reg(0), Field::Mem(4)],                          base: 0xb940_0000 },
    Row { name: "ldr",  ops: &[Q, Mem],           fields: &[Reg(0), Field::Mem(16)],                         base: 0x3dc0_0000 },
    Row { name: "ldr",  ops: &[D, Mem],           fields: &[Reg(0), Field::Mem(8)],                          base: 0xfd40_0000 },
    Row { name: "ldr",  ops: &[S, Mem],           fields: &[Reg(0), Field::Mem(4)],                          base: 0xbd40_0000 },
    Row { name: "str",  ops: &[X, Mem],           fields: &[Reg(0), Field::Mem(8)],                          base: 0xf900_0000 },
    Row { name: "str",  ops: &[W, Mem],           fields: &[Reg(0), Field::Mem(4)],                          base: 0xb900_0000 },
    Row { name: "str",  ops: &[Q, Mem],           fields: &[Reg(0), Field::Mem(16)],                         base: 0x3d80_0000 },
    Row { name: "str",  ops: &[D, Mem],           fields: &[Reg(0), Field::Mem(8)],                          base: 0xfd00_0000 },
    Row { name: "ret",  ops: &[],                 fields: &[],                                        base: 0xd65f_03c0 },
    Row { name: "b",    ops: &[Label],            fields: &[Signed(0, 26, 4)],                        base: 0x1400_0000 },
    Row { name: "bl",   ops: &[Label],            fields: &[Signed(0, 26, 4)],                        base: 0x9400_0000 },
    Row { name: "b.eq", ops: &[Label],            fields: &[Signed(5, 19, 4)],                        base: 0x5400_0000 },
    Row { name: "b.ne", ops: &[Label],            fields: &[Signed(5, 19, 4)],                        base: 0x5400_0001 },
    Row { name: "cbz",  ops: &[X, Label],         fields: &[Reg(0), Signed(5, 19, 4)],                base: 0xb400_0000 },
    Row { name: "cbnz", ops: &[X, Label],         fields: &[Reg(0), Signed(5, 19, 4)],                base: 0xb500_0000 },
    Row { name: "cbnz", ops: &[W, Label],         fields: &[Reg(0), Signed(5, 19, 4)],                base: 0x3500_0000 },
    Row { name: "fadd", ops: &[V(S4), V(S4), V(S4)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4e20_d400 },
    Row { name: "fadd", ops: &[V(D2), V(D2), V(D2)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4e60_d400 },
    Row { name: "fmul", ops: &[V(S4), V(S4), V(S4)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x6e20_dc00 },
    Row { name: "fmla", ops: &[V(S4), V(S4), V(S4)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4e20_cc00 },
    Row { name: "fmla", ops: &[V(D2), V(D2), V(D2)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4e60_cc00 },
    Row { name: "faddp", ops: &[V(S4), V(S4), V(S4)], fields: &[Reg(0), Reg(5), Reg(16)],             base: 0x6e20_d400 },
    Row { name: "add",  ops: &[V(S4), V(S4), V(S4)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4ea0_8400 },
    Row { name: "add",  ops: &[V(B16), V(B16), V(B16)], fields: &[Reg(0), Reg(5), Reg(16)],           base: 0x4e20_8400 },
    Row { name: "add",  ops: &[V(H8), V(H8), V(H8)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4e60_8400 },
    Row { name: "add",  ops: &[V(D2), V(D2), V(D2)], fields: &[Reg(0), Reg(5), Reg(16)],              base: 0x4ee0_8400 },
    Row { name: "addv", ops: &[S, V(S4)],          fields: &[Reg(0), Reg(5)],                         base: 0x4eb1_b800 },
    Row { name: "fadd", ops: &[S, S, S],           fields: &[Reg(0), Reg(5), Reg(16)],                base: 0x1e20_2800 },
    Row { name: "fadd", ops: &[D, D, D],           fields: &[Reg(0), Reg(5), Reg(16)],                base: 0x1e60_2800 },
    Row { name: "fmadd", ops: &[D, D, D, D],       fields: &[Reg(0), Reg(5), Reg(16), Reg(10)],       base: 0x1f40_0000 },
    Row { name: "sdot", ops: &[V(S4), V(B16), V(B16)], fields: &[Reg(0), Reg(5), Reg(16)],            base: 0x4e80_9400 },
];
