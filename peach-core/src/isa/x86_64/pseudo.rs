//! Pseudo-instructions: `REDUCE_SUM`, `REDUCE_MAX` and `REDUCE_MIN` over a list of vector
//! registers. They are custom instructions like any a user could write: Rust functions that emit
//! instructions, picking the ones the target has.

use std::panic::Location;

use crate::Src;

use super::regs::{VEC, VIEW_XMM, VIEW_YMM, VIEW_ZMM, X86Builder, X86Reg};
use crate::error::ErrorKind;
use crate::ir::{Function, Reg};

/// The element type a reduction works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
    /// 32-bit signed integers.
    I32,
    /// 64-bit signed integers.
    I64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reduce {
    Sum,
    Max,
    Min,
}

/// Reductions of vector registers into lane 0 of the first one.
///
/// ```
/// use peach_core::prelude::*;
/// let mut f = Function::new("hsum", Signature::new(&[Type::Ptr], Some(Type::F32)), Target::x86_64_v3());
/// let p = f.param(0);
/// let acc = [f.ymm(), f.ymm()];
/// for (i, &a) in acc.iter().enumerate() {
///     f.ins("vmovups", (a, [p + 32 * i]));
/// }
/// f.reduce_sum(&acc, Elem::F32);
/// f.ret(acc[0]);
/// assert!(f.compile(Abi::SysV).is_ok());
/// ```
pub trait X86Pseudo {
    /// Adds up every lane of every register; the sum lands in lane 0 of `regs[0]` (the other
    /// registers and lanes are clobbered).
    fn reduce_sum(&mut self, regs: &[Reg], elem: Elem);
    /// The largest lane of all registers, into lane 0 of `regs[0]`.
    fn reduce_max(&mut self, regs: &[Reg], elem: Elem);
    /// The smallest lane of all registers, into lane 0 of `regs[0]`.
    fn reduce_min(&mut self, regs: &[Reg], elem: Elem);
    /// [`X86Pseudo::reduce_sum`] attributed to a given source location.
    fn reduce_sum_at(&mut self, regs: &[Reg], elem: Elem, loc: Src);
    /// [`X86Pseudo::reduce_max`] attributed to a given source location.
    fn reduce_max_at(&mut self, regs: &[Reg], elem: Elem, loc: Src);
    /// [`X86Pseudo::reduce_min`] attributed to a given source location.
    fn reduce_min_at(&mut self, regs: &[Reg], elem: Elem, loc: Src);
}

impl X86Pseudo for Function {
    #[track_caller]
    fn reduce_sum(&mut self, regs: &[Reg], elem: Elem) {
        reduce(self, regs, elem, Reduce::Sum, Location::caller().into());
    }
    #[track_caller]
    fn reduce_max(&mut self, regs: &[Reg], elem: Elem) {
        reduce(self, regs, elem, Reduce::Max, Location::caller().into());
    }
    #[track_caller]
    fn reduce_min(&mut self, regs: &[Reg], elem: Elem) {
        reduce(self, regs, elem, Reduce::Min, Location::caller().into());
    }
    fn reduce_sum_at(&mut self, regs: &[Reg], elem: Elem, loc: Src) {
        reduce(self, regs, elem, Reduce::Sum, loc);
    }
    fn reduce_max_at(&mut self, regs: &[Reg], elem: Elem, loc: Src) {
        reduce(self, regs, elem, Reduce::Max, loc);
    }
    fn reduce_min_at(&mut self, regs: &[Reg], elem: Elem, loc: Src) {
        reduce(self, regs, elem, Reduce::Min, loc);
    }
}

/// The width view of a vector register (virtual or physical), if it is one.
fn vector_view(r: Reg) -> Option<u8> {
    if r.is_virtual() {
        return (r.class() == VEC).then_some(r.view());
    }
    let ir = super::regs::iced(r)?;
    if ir.is_xmm() {
        Some(VIEW_XMM)
    } else if ir.is_ymm() {
        Some(VIEW_YMM)
    } else if ir.is_zmm() {
        Some(VIEW_ZMM)
    } else {
        None
    }
}

#[track_caller]
fn reduce(f: &mut Function, regs: &[Reg], elem: Elem, kind: Reduce, loc: Src) {
    let fail = |f: &mut Function, msg: String| f.push_error(ErrorKind::InvalidOperands, msg, loc);
    let Some(&first) = regs.first() else {
        return fail(f, "a reduction needs at least one register".into());
    };
    let Some(view) = vector_view(first) else {
        return fail(f, "a reduction works on vector registers (xmm, ymm or zmm)".into());
    };
    if regs.iter().any(|r| vector_view(*r) != Some(view)) {
        return fail(f, "a reduction's registers must all be vector registers of the same width".into());
    }
    let t = f.target().clone();
    let avx = t.has_avx();
    // Combine the registers pairwise, a tree whose depth is log2 of their number.
    let mut live: Vec<Reg> = regs.to_vec();
    while live.len() > 1 {
        let mut next = Vec::with_capacity(live.len().div_ceil(2));
        for pair in live.chunks(2) {
            if let [a, b] = pair {
                combine(f, *a, *b, elem, kind, avx, loc);
            }
            next.push(pair[0]);
        }
        live = next;
    }
    // Then fold the halves of the first register down to one lane.
    let acc = first;
    if view == VIEW_ZMM {
        let hi = f.ymm();
        let extract = if matches!(elem, Elem::F32 | Elem::F64) { "vextractf64x4" } else { "vextracti64x4" };
        f.ins_at(extract, (hi, acc.zmm(), 1), loc);
        combine(f, acc.ymm(), hi, elem, kind, avx, loc);
    }
    if view >= VIEW_YMM {
        let hi = f.xmm();
        let extract =
            if matches!(elem, Elem::F32 | Elem::F64) || !t.has_avx2() { "vextractf128" } else { "vextracti128" };
        f.ins_at(extract, (hi, acc.ymm(), 1), loc);
        combine(f, acc.xmm(), hi, elem, kind, avx, loc);
    }
    let shuffles: &[i64] = match elem {
        Elem::F64 | Elem::I64 => &[0x4E],
        Elem::F32 | Elem::I32 => &[0x4E, 0xB1],
    };
    for &imm in shuffles {
        let t = f.xmm();
        let float = matches!(elem, Elem::F32 | Elem::F64);
        if avx && float {
            // Float data stays on the float side: an integer shuffle between float operations
            // costs a bypass delay on many cores.
            if imm == 0x4E {
                f.ins_at("vshufpd", (t, acc.xmm(), acc.xmm(), 1), loc);
            } else {
                f.ins_at("vmovshdup", (t, acc.xmm()), loc);
            }
        } else {
            f.ins_at(if avx { "vpshufd" } else { "pshufd" }, (t, acc.xmm(), imm), loc);
        }
        combine(f, acc.xmm(), t, elem, kind, avx, loc);
    }
}

/// `a = op(a, b)` lane by lane, with the instructions the target has.
fn combine(f: &mut Function, a: Reg, b: Reg, elem: Elem, kind: Reduce, avx: bool, loc: Src) {
    let t = f.target().clone();
    let direct = match (kind, elem) {
        (Reduce::Sum, Elem::F32) => Some("addps"),
        (Reduce::Sum, Elem::F64) => Some("addpd"),
        (Reduce::Sum, Elem::I32) => Some("paddd"),
        (Reduce::Sum, Elem::I64) => Some("paddq"),
        (Reduce::Max, Elem::F32) => Some("maxps"),
        (Reduce::Max, Elem::F64) => Some("maxpd"),
        (Reduce::Min, Elem::F32) => Some("minps"),
        (Reduce::Min, Elem::F64) => Some("minpd"),
        (Reduce::Max, Elem::I32) if t.has_sse4_1() => Some("pmaxsd"),
        (Reduce::Min, Elem::I32) if t.has_sse4_1() => Some("pminsd"),
        (Reduce::Max, Elem::I64) if t.has_avx512f() && t.has_avx512vl() => Some("vpmaxsq"),
        (Reduce::Min, Elem::I64) if t.has_avx512f() && t.has_avx512vl() => Some("vpminsq"),
        _ => None,
    };
    if let Some(op) = direct {
        if op.starts_with('v') {
            f.ins_at(op, (a, a, b), loc);
        } else if avx {
            f.ins_at(&format!("v{op}"), (a, a, b), loc);
        } else {
            f.ins_at(op, (a, b), loc);
        }
        return;
    }
    // Integer max/min without a direct instruction: a compare, then a select by the mask:
    // a = mask ? a : b, where mask = a > b for max and b > a for min.
    let compare = if elem == Elem::I32 { "pcmpgtd" } else { "pcmpgtq" };
    let (lhs, rhs) = if kind == Reduce::Max { (a, b) } else { (b, a) };
    let wide = if a.is_virtual() { a.view() == VIEW_YMM } else { super::regs::iced(a).is_some_and(|r| r.is_ymm()) };
    let mask = if wide { f.ymm() } else { f.xmm() };
    if avx {
        f.ins_at(&format!("v{compare}"), (mask, lhs, rhs), loc);
        f.ins_at("vpblendvb", (a, b, a, mask), loc);
    } else {
        f.ins_at("movdqa", (mask, lhs), loc);
        f.ins_at(compare, (mask, rhs), loc);
        let keep = f.xmm();
        f.ins_at("movdqa", (keep, mask), loc);
        f.ins_at("pand", (keep, a), loc);
        f.ins_at("pandn", (mask, b), loc);
        f.ins_at("por", (keep, mask), loc);
        f.ins_at("movdqa", (a, keep), loc);
    }
}
