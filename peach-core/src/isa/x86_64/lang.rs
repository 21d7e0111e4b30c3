//! x86-64's part of the kernel language (see `isa::lang`): register constructors, the
//! reductions, physical register names, element types, rounding modes and register views.

use super::pseudo::{Elem, X86Pseudo};
use super::regs::{X86Builder, X86Reg, X86VReg, reg_by_name};
use crate::error::Src;
use crate::ir::{Function, Reg, Rounding};
use crate::isa::lang::{Builtin, Named, Reduction, View, VregKind, Word};

pub(crate) const WORDS: &[Word] = &[
    Word {
        name: "GP64",
        builtin: Builtin::Vreg(VregKind::Gp64),
        usage: "GP64()",
        doc: "a general-purpose register (64 bits)",
    },
    Word { name: "GPR", builtin: Builtin::Vreg(VregKind::Gp64), usage: "GPR()", doc: "the same as `GP64()`" },
    Word {
        name: "GP32",
        builtin: Builtin::Vreg(VregKind::Gp32),
        usage: "GP32()",
        doc: "a general-purpose register seen as 32 bits",
    },
    Word { name: "XMM", builtin: Builtin::Vreg(VregKind::Xmm), usage: "XMM()", doc: "a vector register seen as xmm" },
    Word { name: "YMM", builtin: Builtin::Vreg(VregKind::Ymm), usage: "YMM()", doc: "a vector register seen as ymm" },
    Word { name: "ZMM", builtin: Builtin::Vreg(VregKind::Zmm), usage: "ZMM()", doc: "a vector register seen as zmm" },
    Word {
        name: "ZMM_BLOCK",
        builtin: Builtin::Block(VregKind::Zmm),
        usage: "let [a, b, c, d] = ZMM_BLOCK();",
        doc: "four vector registers seen as zmm, at consecutive registers from a multiple of 4: the block `v4fmaddps` and `vp4dpwssd` read, named by the first",
    },
    Word {
        name: "XMM_BLOCK",
        builtin: Builtin::Block(VregKind::Xmm),
        usage: "let [a, b, c, d] = XMM_BLOCK();",
        doc: "the same block seen as xmm, for `v4fmaddss`",
    },
    Word { name: "K", builtin: Builtin::Vreg(VregKind::Mask), usage: "K()", doc: "an AVX-512 mask register" },
    Word {
        name: "REDUCE_SUM",
        builtin: Builtin::Reduce(Reduction::Sum),
        usage: "REDUCE_SUM(registers, f32 | f64 | i32 | i64)",
        doc: "adds the registers together, then their lanes, into lane 0 of the first",
    },
    Word {
        name: "REDUCE_MAX",
        builtin: Builtin::Reduce(Reduction::Max),
        usage: "REDUCE_MAX(registers, f32 | f64 | i32 | i64)",
        doc: "the largest lane of the registers, into lane 0 of the first",
    },
    Word {
        name: "REDUCE_MIN",
        builtin: Builtin::Reduce(Reduction::Min),
        usage: "REDUCE_MIN(registers, f32 | f64 | i32 | i64)",
        doc: "the smallest lane of the registers, into lane 0 of the first",
    },
];

pub(crate) const VIEWS: &[View] = &[
    View { name: "r8", apply: X86Reg::r8, doc: "the low 8 bits of a general-purpose register (`al`)" },
    View { name: "r16", apply: X86Reg::r16, doc: "its low 16 bits (`ax`)" },
    View { name: "r32", apply: X86Reg::r32, doc: "its low 32 bits (`eax`)" },
    View { name: "r64", apply: X86Reg::r64, doc: "all 64 bits (`rax`)" },
    View { name: "xmm", apply: X86Reg::xmm, doc: "the low 128 bits of a vector register" },
    View { name: "ymm", apply: X86Reg::ymm, doc: "its low 256 bits" },
    View { name: "zmm", apply: X86Reg::zmm, doc: "all 512 bits" },
];

pub(crate) const NAMED_DOC: &str = "the physical registers by name (`RAX`, `r8d`, `XMM3`, `k1`, any case); \
    `f32`, `f64`, `i32`, `i64` (element types of the reductions); `RN_SAE`, `RD_SAE`, `RU_SAE`, `RZ_SAE`, \
    `SAE` (AVX-512 rounding); `target`.";

pub(crate) fn named(name: &str) -> Option<Named> {
    Some(match name {
        "f32" => Named::Elem(Elem::F32),
        "f64" => Named::Elem(Elem::F64),
        "i32" => Named::Elem(Elem::I32),
        "i64" => Named::Elem(Elem::I64),
        "RN_SAE" => Named::Rounding(Rounding::NearestSae),
        "RD_SAE" => Named::Rounding(Rounding::DownSae),
        "RU_SAE" => Named::Rounding(Rounding::UpSae),
        "RZ_SAE" => Named::Rounding(Rounding::ZeroSae),
        "SAE" => Named::Rounding(Rounding::Sae),
        _ => return reg_by_name(name).map(Named::Reg),
    })
}

pub(crate) fn vreg(f: &mut Function, kind: VregKind, loc: Src) -> Option<Reg> {
    let kind = match kind {
        VregKind::Gp64 => X86VReg::Gp64,
        VregKind::Gp32 => X86VReg::Gp32,
        VregKind::Xmm => X86VReg::Xmm,
        VregKind::Ymm => X86VReg::Ymm,
        VregKind::Zmm => X86VReg::Zmm,
        VregKind::Mask => X86VReg::K,
        VregKind::Vec => return None,
    };
    Some(f.vreg_of_at(kind, loc))
}

/// A block of four vector registers (`kind` is `Xmm` or `Zmm`).
pub(crate) fn block(f: &mut Function, kind: VregKind, loc: Src) -> [Reg; 4] {
    let view = if kind == VregKind::Zmm { super::regs::VIEW_ZMM } else { super::regs::VIEW_XMM };
    super::regs::block(f, view, loc)
}

/// A reduction over `regs`.
pub(crate) fn reduce(f: &mut Function, r: Reduction, regs: &[Reg], elem: Elem, loc: Src) {
    match r {
        Reduction::Sum => f.reduce_sum_at(regs, elem, loc),
        Reduction::Max => f.reduce_max_at(regs, elem, loc),
        Reduction::Min => f.reduce_min_at(regs, elem, loc),
    }
}
