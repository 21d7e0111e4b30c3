//! AArch64's part of the kernel language (see `isa::lang`): register constructors, `MOV_IMM`,
//! physical register names, conditions, prefetch operations and register views.

use super::pseudo::{A64Pseudo, Cond, Prefetch};
use super::regs::{A64Builder, A64Reg, reg_by_name};
use super::system::{Barrier, SysReg};
use crate::error::Src;
use crate::ir::{Function, Operand, Reg};
use crate::isa::lang::{Builtin, Named, View, VregKind, Word};

pub(crate) const WORDS: &[Word] = &[
    Word {
        name: "GP64",
        builtin: Builtin::Vreg(VregKind::Gp64),
        usage: "GP64()",
        doc: "a general-purpose register (`x`)",
    },
    Word { name: "GPR", builtin: Builtin::Vreg(VregKind::Gp64), usage: "GPR()", doc: "the same as `GP64()`" },
    Word {
        name: "GP32",
        builtin: Builtin::Vreg(VregKind::Gp32),
        usage: "GP32()",
        doc: "a general-purpose register seen as 32 bits (`w`)",
    },
    Word {
        name: "VEC",
        builtin: Builtin::Vreg(VregKind::Vec),
        usage: "VEC()",
        doc: "a vector register (128 bits; pick an arrangement with a view)",
    },
    Word {
        name: "MOV_IMM",
        builtin: Builtin::MovImm,
        usage: "MOV_IMM(register, value)",
        doc: "loads a 64-bit constant with the shortest `orr` or `movz`/`movn`/`movk` sequence",
    },
];

pub(crate) const VIEWS: &[View] = &[
    View { name: "x", apply: A64Reg::x, doc: "a general-purpose register's 64 bits" },
    View { name: "w", apply: A64Reg::w, doc: "its low 32 bits" },
    View { name: "q", apply: A64Reg::q, doc: "a vector register's 128 bits" },
    View { name: "d", apply: A64Reg::d, doc: "its low 64 bits as a scalar" },
    View { name: "s", apply: A64Reg::s, doc: "its low 32 bits as a scalar" },
    View { name: "h", apply: A64Reg::h, doc: "its low 16 bits as a scalar" },
    View { name: "b", apply: A64Reg::b, doc: "its low 8 bits as a scalar" },
    View { name: "b8", apply: A64Reg::b8, doc: "the arrangement `8b`" },
    View { name: "b16", apply: A64Reg::b16, doc: "the arrangement `16b`" },
    View { name: "h4", apply: A64Reg::h4, doc: "the arrangement `4h`" },
    View { name: "h8", apply: A64Reg::h8, doc: "the arrangement `8h`" },
    View { name: "s2", apply: A64Reg::s2, doc: "the arrangement `2s`" },
    View { name: "s4", apply: A64Reg::s4, doc: "the arrangement `4s`" },
    View { name: "d1", apply: A64Reg::d1, doc: "the arrangement `1d`" },
    View { name: "d2", apply: A64Reg::d2, doc: "the arrangement `2d`" },
    View { name: "b4", apply: A64Reg::b4, doc: "four bytes as one lane (`v.4b[i]` of `SDOT`)" },
    View { name: "h2", apply: A64Reg::h2, doc: "two halfwords as one lane (`v.2h[i]` of `BFDOT`)" },
    View { name: "q1", apply: A64Reg::q1, doc: "the register as one 128-bit element (`v.1q` of `PMULL`)" },
];

pub(crate) const NAMED_DOC: &str = "the physical registers by name (`x0`-`x30`, `w0`-`w30`, `sp`, `xzr`, `wzr`, \
    `v0`-`v31`, `q`/`d`/`s`/`h`/`b` views, any case); the conditions `EQ`, `NE`, `HS`/`CS`, `LO`/`CC`, `MI`, `PL`, \
    `VS`, `VC`, `HI`, `LS`, `GE`, `LT`, `GT`, `LE`, `AL`, `NV`; the prefetch operations `PLDL1KEEP` ... `PSTL3STRM`; the barrier options `ISH`, `SY`, ...; system registers \
    (`TPIDR_EL0`, `FPCR`, `CNTVCT_EL0`, ...); \
    `target`.";

pub(crate) fn named(name: &str) -> Option<Named> {
    let operand = Cond::by_name(name)
        .map(Operand::from)
        .or_else(|| Prefetch::by_name(name).map(Operand::from))
        .or_else(|| Barrier::by_name(name).map(Operand::from))
        .or_else(|| SysReg::by_name(name).map(Operand::from));
    if let Some(Operand::Imm(v)) = operand {
        return Some(Named::Imm(v));
    }
    reg_by_name(name).map(Named::Reg)
}

pub(crate) fn vreg(f: &mut Function, kind: VregKind, loc: Src) -> Option<Reg> {
    match kind {
        VregKind::Gp64 => Some(f.x_at(loc)),
        VregKind::Gp32 => Some(f.x_at(loc).w()),
        VregKind::Vec => Some(f.v_at(loc)),
        _ => None,
    }
}

/// `MOV_IMM(dst, value)`.
pub(crate) fn mov_imm(f: &mut Function, dst: Reg, value: u64, loc: Src) {
    f.mov_imm_at(dst, value, loc);
}
