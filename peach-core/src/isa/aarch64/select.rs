//! Choosing the row for a user's instruction: the mnemonic names the candidates, the operands'
//! register classes and views pick one, and a trial encoding with stand-in register numbers
//! checks immediates and offsets while the user's location is still at hand.

use super::pseudo::{EXTEND_TAG, NAME_TAG, NameKind, SHIFT_TAG, name_of, page_offset_of};
use std::collections::HashMap;
use std::sync::OnceLock;

use super::encode::{A64, encode_row};
use super::regs::{
    GP, VEC, VIEW_B, VIEW_B4, VIEW_D, VIEW_H, VIEW_H2, VIEW_Q, VIEW_Q1, VIEW_S, VIEW_SP, VIEW_W, VIEW_WSP, VIEW_X,
    arrangement, class_view, elem_size, parts,
};
use super::table::{Field, Kind, Row, feature, rows};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{Mem, Operand, Reg, Update, VRegGroup, group_starting};
use crate::target::Target;

/// Row indices by mnemonic.
fn by_name() -> &'static HashMap<&'static str, Vec<u32>> {
    static MAP: OnceLock<HashMap<&'static str, Vec<u32>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut m: HashMap<&'static str, Vec<u32>> = HashMap::new();
        for (i, r) in rows().iter().enumerate() {
            m.entry(r.name).or_default().push(i as u32);
        }
        m
    })
}

/// Whether an immediate is a plain number, not an [`Extend`](super::Extend) or a
/// [`Shift`](super::Shift) (which carry tags no plain immediate form accepts).
fn untagged(v: i64) -> bool {
    extend_of(v).is_none() && shift_of(v).is_none() && v & !0xFF_FFFF != NAME_TAG && page_offset_of(v).is_none()
}

/// `(option, amount)` of an [`Extend`](super::Extend) operand.
fn extend_of(v: i64) -> Option<(u8, u8)> {
    (v & !0xFFFF == EXTEND_TAG).then_some(((v >> 8) as u8 & 7, v as u8))
}

/// `(type, amount)` of a [`Shift`](super::Shift) operand.
fn shift_of(v: i64) -> Option<(u8, u8)> {
    (v & !0xFFFF == SHIFT_TAG).then_some(((v >> 8) as u8 & 7, v as u8))
}

/// The row index of `name` with exactly these operand kinds (for instructions the passes make).
/// The passes ask only for rows the table has; an index past the table would be refused by the
/// emitter ("unknown AArch64 row"), never encoded.
pub(crate) fn row_index(name: &str, kinds: &[Kind]) -> u32 {
    let found = by_name().get(name).and_then(|v| v.iter().copied().find(|&i| rows()[i as usize].kinds() == kinds));
    debug_assert!(found.is_some(), "no row `{name}` {kinds:?}");
    found.unwrap_or(u32::MAX)
}

/// Whether register `r` can stand where the row wants `kind`.
fn reg_fits(kind: Kind, r: Reg) -> bool {
    let Some((class, view)) = class_view(r) else { return false };
    let zr = parts(r).is_some_and(|(_, _, n)| n == 31);
    match kind {
        Kind::X => class == GP && view == VIEW_X,
        Kind::XSp => class == GP && ((view == VIEW_X && !zr) || view == VIEW_SP),
        Kind::W => class == GP && view == VIEW_W,
        Kind::WSp => class == GP && ((view == VIEW_W && !zr) || view == VIEW_WSP),
        Kind::V(a) => class == VEC && arrangement(view) == Some(a),
        Kind::B => class == VEC && view == VIEW_B,
        Kind::H => class == VEC && view == VIEW_H,
        Kind::S => class == VEC && view == VIEW_S,
        Kind::D => class == VEC && view == VIEW_D,
        Kind::Q => class == VEC && view == VIEW_Q,
        Kind::Q1 => class == VEC && view == VIEW_Q1,
        Kind::H2 => class == VEC && view == VIEW_H2,
        _ => false,
    }
}

/// Whether `r` is seen as elements of `size` bytes (`v0.s` for 4), as a lane list names them.
fn lane_view(r: Reg, size: u8) -> bool {
    class_view(r).is_some_and(|(c, v)| c == VEC && (VIEW_B..=VIEW_D).contains(&v) && elem_size(v) == Some(size))
}

/// The size of the group `r` is the first register of (1 when it starts none).
fn group_of(r: Reg, groups: &[VRegGroup]) -> u8 {
    group_starting(groups, r).map_or(1, |g| g.count)
}

fn plain_mem(m: &Mem) -> bool {
    m.base.is_some() && m.index.is_none() && m.broadcast == 0 && m.update == Update::None
}

fn updating(m: &Mem, update: Update) -> bool {
    m.base.is_some_and(|b| b != Reg::CONSTANTS) && m.index.is_none() && m.broadcast == 0 && m.update == update
}

fn fits(row: &Row, kind: Kind, op: &Operand, groups: &[VRegGroup]) -> bool {
    match (kind, op) {
        // A list of several registers: the first of a group of exactly that many virtual ones,
        // or a physical register where the mnemonic gives the count (`ld4`, not `ld1` or `tbl`,
        // whose one-register form a lone register means).
        (Kind::List(n, a), Operand::Reg(r)) if r.is_virtual() => reg_fits(Kind::V(a), *r) && group_of(*r, groups) == n,
        (Kind::List(_, a), Operand::Reg(r)) => {
            reg_fits(Kind::V(a), *r) && !matches!(row.name, "ld1" | "st1" | "tbl" | "tbx")
        }
        (Kind::List1(a), Operand::Reg(r)) => reg_fits(Kind::V(a), *r) && group_of(*r, groups) <= 1,
        // An explicit list: its count is the row's, and a virtual first register starts a
        // group of exactly that many.
        (Kind::List(n, a), Operand::List(l)) => {
            l.count == n
                && l.lane.is_none()
                && reg_fits(Kind::V(a), l.first)
                && (!l.first.is_virtual() || group_of(l.first, groups) == n)
        }
        (Kind::List1(a), Operand::List(l)) => {
            l.count == 1 && l.lane.is_none() && reg_fits(Kind::V(a), l.first) && group_of(l.first, groups) <= 1
        }
        // A lane list: explicit, or an element of the first of a group of that many (or of a
        // lone register, for one).
        (Kind::LaneList(n, size), Operand::List(l)) => {
            l.count == n
                && l.lane.is_some()
                && lane_view(l.first, size)
                && (!l.first.is_virtual() || group_of(l.first, groups) == n)
        }
        (Kind::LaneList(n, size), Operand::Lane(l)) => {
            lane_view(l.reg, size) && if l.reg.is_virtual() { group_of(l.reg, groups) == n } else { n == 1 }
        }
        // A constant is read with `ldr`, which becomes a PC-relative load from the pool.
        (Kind::Mem, Operand::Mem(m)) if m.base == Some(Reg::CONSTANTS) => row.name == "ldr",
        // A plain number is an `lsl` amount: never negative (it would be clamped, silently).
        (Kind::Lsl, Operand::Imm(v)) => (0..256).contains(v) || shift_of(*v).is_some_and(|(kind, _)| kind == 0),
        (Kind::Shift, Operand::Imm(v)) => (0..256).contains(v) || shift_of(*v).is_some_and(|(kind, _)| kind < 4),
        (Kind::Msl, Operand::Imm(v)) => shift_of(*v).is_some_and(|(kind, _)| kind == 4),
        (Kind::Imm, Operand::Imm(v)) => untagged(*v),
        (Kind::Label | Kind::Page, Operand::Label(_)) => true,
        (Kind::PageOffset, Operand::Imm(v)) => page_offset_of(*v).is_some(),
        (Kind::Mem, Operand::Mem(m)) => plain_mem(m),
        (Kind::MemBase, Operand::Mem(m)) => plain_mem(m) && m.disp == 0 && m.base != Some(Reg::CONSTANTS),
        (Kind::MemIndex | Kind::MemIndexSxtw, Operand::Mem(m)) => {
            // An X index, or a W one (sign-extended): never a vector register.
            let view = if kind == Kind::MemIndexSxtw { VIEW_W } else { VIEW_X };
            m.index.and_then(class_view) == Some((GP, view))
                && m.base.is_some()
                && m.index.is_some()
                && m.disp == 0
                && m.broadcast == 0
                && m.update == Update::None
                && m.base != Some(Reg::CONSTANTS)
        }
        (Kind::MemPostReg, Operand::Mem(m)) => {
            m.base.is_some_and(|b| b != Reg::CONSTANTS)
                && m.index.and_then(class_view) == Some((GP, VIEW_X))
                && m.disp == 0
                && m.broadcast == 0
                && m.update == Update::Post
        }
        // `uxtw` of a 32-bit index, `sxtx` of a 64-bit one: the memory operand's kind says which.
        (Kind::IndexExtend, Operand::Imm(v)) => extend_of(*v).is_some_and(|(option, amount)| {
            let width_w = row.kinds().contains(&Kind::MemIndexSxtw);
            amount == 0 && option == if width_w { 2 } else { 7 }
        }),
        (Kind::MemPre, Operand::Mem(m)) => updating(m, Update::Pre),
        (Kind::MemPost, Operand::Mem(m)) => updating(m, Update::Post),
        // Names, never numbers, except where assembly also takes a number (`prfm #24`, `dmb #4`).
        (Kind::Pair(x), Operand::Reg(r)) => {
            parts(*r).is_some_and(|(c, v, n)| c == GP && v == if x { VIEW_X } else { VIEW_W } && n % 2 == 0)
        }
        (Kind::Cond, Operand::Imm(v)) => name_of(*v, NameKind::Cond).is_some(),
        (Kind::Prfop, Operand::Imm(v)) => name_of(*v, NameKind::Prefetch).is_some() || (0..32).contains(v),
        (Kind::Barrier, Operand::Imm(v)) => name_of(*v, NameKind::Barrier).is_some() || (0..16).contains(v),
        (Kind::Target, Operand::Imm(v)) => name_of(*v, NameKind::Target).is_some(),
        (Kind::SysReg, Operand::Imm(v)) => name_of(*v, NameKind::SysReg).is_some(),
        (Kind::Cache(dc), Operand::Imm(v)) => {
            name_of(*v, NameKind::Cache).and_then(super::system::CacheOp::name).is_some_and(|(_, m)| (m == "dc") == dc)
        }

        (Kind::FpImm, Operand::Imm(v)) => untagged(*v),
        (Kind::Extend, Operand::Imm(v)) => extend_of(*v).is_some(),
        (_, Operand::Reg(r)) => reg_fits(kind, *r),
        (Kind::Elem(size), Operand::Lane(l)) => class_view(l.reg)
            .is_some_and(|(c, v)| c == VEC && !matches!(v, VIEW_B4 | VIEW_H2) && elem_size(v) == Some(size)),
        (Kind::ElemGroup(size), Operand::Lane(l)) => {
            class_view(l.reg) == Some((VEC, if size == 1 { VIEW_B4 } else { VIEW_H2 }))
        }
        _ => false,
    }
}

/// The operand as the encoder takes it; `number` gives a register's number.
pub(crate) fn to_a64(kind: Kind, op: &Operand, number: impl Fn(Reg) -> u8) -> A64 {
    match (kind, op) {
        (Kind::X, Operand::Reg(r)) => A64::X(number(*r)),
        (Kind::Pair(x), Operand::Reg(r)) => A64::Pair(number(*r), x),
        (Kind::XSp, Operand::Reg(r)) if parts(*r).is_some_and(|(_, v, _)| v == VIEW_SP) => A64::Sp,
        (Kind::XSp, Operand::Reg(r)) => A64::X(number(*r)),
        (Kind::WSp, Operand::Reg(r)) if parts(*r).is_some_and(|(_, v, _)| v == VIEW_WSP) => A64::Wsp,
        (Kind::W | Kind::WSp, Operand::Reg(r)) => A64::W(number(*r)),
        (Kind::V(a), Operand::Reg(r)) => A64::V(number(*r), a),
        (Kind::B, Operand::Reg(r)) => A64::B(number(*r)),
        (Kind::H, Operand::Reg(r)) => A64::H(number(*r)),
        (Kind::S, Operand::Reg(r)) => A64::S(number(*r)),
        (Kind::D, Operand::Reg(r)) => A64::D(number(*r)),
        (Kind::Q, Operand::Reg(r)) => A64::Q(number(*r)),
        (Kind::Q1, Operand::Reg(r)) => A64::Q1(number(*r)),
        (Kind::H2, Operand::Reg(r)) => A64::H2(number(*r)),
        (Kind::Lsl, Operand::Imm(v)) => A64::Lsl(shift_of(*v).map_or(*v, |(_, n)| n as i64).clamp(0, 255) as u8),
        (Kind::Msl, Operand::Imm(v)) => A64::Msl(shift_of(*v).map_or(0, |(_, n)| n)),
        (Kind::Shift, Operand::Imm(v)) => match shift_of(*v) {
            Some((kind, n)) => A64::Shift(kind, n),
            None => A64::Shift(0, (*v).clamp(0, 255) as u8),
        },
        (Kind::Cond, Operand::Imm(v)) => A64::Cond(*v as u8 & 15),
        (Kind::Prfop, Operand::Imm(v)) => A64::Prfop(*v as u8 & 31),
        (Kind::Barrier, Operand::Imm(v)) => A64::Barrier(*v as u8 & 15),
        (Kind::Target, Operand::Imm(v)) => A64::Target(*v as u8 & 3),
        (Kind::SysReg, Operand::Imm(v)) => A64::SysReg(*v as u16 & 0x7fff),
        (Kind::Cache(_), Operand::Imm(v)) => A64::Cache(*v as u16 & 0x3fff),
        (Kind::List1(a), Operand::Reg(r)) => A64::List1(number(*r), a),
        (Kind::List(c, a), Operand::Reg(r)) => A64::List(number(*r), c, a),
        (Kind::List1(a), Operand::List(l)) => A64::List1(number(l.first), a),
        (Kind::List(c, a), Operand::List(l)) => A64::List(number(l.first), c, a),
        (Kind::LaneList(c, size), Operand::List(l)) => A64::LaneList(number(l.first), c, size, l.lane.unwrap_or(0)),
        (Kind::LaneList(c, size), Operand::Lane(l)) => A64::LaneList(number(l.reg), c, size, l.index),
        (Kind::FpImm, Operand::Imm(v)) => A64::FpImm(*v as u64),
        (Kind::Extend, Operand::Imm(v)) => {
            let (option, amount) = extend_of(*v).unwrap_or((0, 0));
            A64::Extend(option, amount)
        }
        (Kind::MemIndex, Operand::Mem(m)) => {
            A64::MemIndex(m.base.map_or(31, &number), m.index.map_or(31, &number), m.scale)
        }
        (Kind::MemIndexSxtw, Operand::Mem(m)) => {
            A64::MemIndexSxtw(m.base.map_or(31, &number), m.index.map_or(31, &number), m.scale)
        }
        (Kind::MemPostReg, Operand::Mem(m)) => A64::MemPostReg(m.base.map_or(31, &number), m.index.map_or(31, &number)),
        (Kind::IndexExtend, Operand::Imm(v)) => A64::IndexExtend(extend_of(*v).map_or(0, |(option, _)| option)),
        (Kind::MemPre, Operand::Mem(m)) => A64::MemPre(m.base.map_or(31, &number), m.disp as i64),
        (Kind::MemPost, Operand::Mem(m)) => A64::MemPost(m.base.map_or(31, &number), m.disp as i64),
        // (Offsets from a label: known at layout.)
        (Kind::Page, _) => A64::Imm(0),
        (Kind::PageOffset, _) => A64::PageOffset(0),
        (_, Operand::Imm(v)) => A64::Imm(*v),
        (_, Operand::Mem(m)) => A64::Mem(m.base.map_or(31, number), m.disp as i64),
        (Kind::Elem(size), Operand::Lane(l)) => A64::Elem(number(l.reg), size, l.index),
        (Kind::ElemGroup(size), Operand::Lane(l)) => A64::ElemGroup(number(l.reg), size, l.index),
        _ => A64::Label(0),
    }
}

/// [`to_a64`] with `stand_in` for the number of a virtual register (and a zero offset for a
/// constant, whose place is only known at layout).
fn stand_in(kind: Kind, op: &Operand, stand_in: u8) -> A64 {
    match op {
        Operand::Mem(m) if m.base == Some(Reg::CONSTANTS) => A64::Mem(stand_in, 0),
        _ => to_a64(kind, op, |r| parts(r).map_or(stand_in, |(_, _, n)| n)),
    }
}

fn describe(op: &Operand) -> String {
    match op {
        Operand::Reg(r) => match class_view(*r) {
            Some((GP, VIEW_W)) => "w".into(),
            Some((GP, VIEW_SP)) => "sp".into(),
            Some((GP, VIEW_WSP)) => "wsp".into(),
            Some((GP, _)) => "x".into(),
            Some((_, v)) => match arrangement(v) {
                Some(a) => format!("v.{a}"),
                None => match v {
                    VIEW_B4 => "v.4b",
                    VIEW_H2 => "v.2h",
                    VIEW_Q1 => "v.1q",
                    _ => ["b", "h", "s", "d", "q"].get(v as usize).copied().unwrap_or("v"),
                }
                .into(),
            },
            None => "register".into(),
        },
        Operand::List(l) if l.lane.is_some() => format!("{{{} elements}}[i]", l.count),
        Operand::List(l) => format!("{{{} registers}}", l.count),
        Operand::Imm(v) if extend_of(*v).is_some() => "extend".into(),
        Operand::Imm(v) if name_of(*v, NameKind::Cond).is_some() => "cond".into(),
        Operand::Imm(v) if name_of(*v, NameKind::Prefetch).is_some() => "prfop".into(),
        Operand::Imm(v) if name_of(*v, NameKind::Barrier).is_some() => "barrier".into(),
        Operand::Imm(v) if name_of(*v, NameKind::Target).is_some() => "branch target".into(),
        Operand::Imm(v) if name_of(*v, NameKind::SysReg).is_some() => "system register".into(),
        Operand::Imm(v) if name_of(*v, NameKind::Cache).is_some() => "cache operation".into(),
        Operand::Imm(v) if shift_of(*v).is_some() => "shift".into(),
        Operand::Imm(v) if page_offset_of(*v).is_some() => ":lo12:label".into(),
        Operand::Imm(_) => "#imm".into(),
        Operand::Mem(_) => "[mem]".into(),
        Operand::Label(_) => "label".into(),
        Operand::Lane(l) if class_view(l.reg).is_some_and(|(_, v)| v == VIEW_B4) => "v.4b[i]".into(),
        Operand::Lane(l) if class_view(l.reg).is_some_and(|(_, v)| v == VIEW_H2) => "v.2h[i]".into(),
        Operand::Lane(l) => match class_view(l.reg).and_then(|(_, v)| elem_size(v)) {
            Some(size) => format!("v.{}[i]", ["b", "h", "s", "d"][size.trailing_zeros() as usize]),
            None => "element".into(),
        },
        _ => "?".into(),
    }
}

/// How `k` is written in the list of a mnemonic's forms (`row` tells what a field restricts).
fn kind_name(row: &Row, k: &Kind) -> String {
    match k {
        Kind::X => "x".into(),
        Kind::XSp => "x|sp".into(),
        Kind::W => "w".into(),
        Kind::WSp => "w|wsp".into(),
        Kind::V(a) => format!("v.{a}"),
        Kind::B => "b".into(),
        Kind::H => "h".into(),
        Kind::S => "s".into(),
        Kind::D => "d".into(),
        Kind::Q => "q".into(),
        Kind::Q1 => "v.1q".into(),
        Kind::H2 => "v.2h".into(),
        Kind::Pair(x) => if *x { "x(even), x(next)" } else { "w(even), w(next)" }.into(),
        Kind::Imm => "#imm".into(),
        Kind::Lsl => "lsl #n".into(),
        Kind::Shift => "shift (#n for lsl, or Shift)".into(),
        Kind::Msl => "msl #8|#16".into(),
        Kind::Mem => "[x, #off]".into(),
        Kind::MemPre => "[x, #off]!".into(),
        Kind::MemPost => "[x], #off".into(),
        Kind::MemPostReg => "[x], x".into(),
        Kind::IndexExtend => "uxtw (of a w index) | sxtx (of an x index)".into(),
        Kind::Label | Kind::Page => "label".into(),
        Kind::PageOffset => ":lo12:label (PageOffset)".into(),
        Kind::Elem(2) if row.fields().contains(&Field::ElemMul) => "v.h[i] (v0-v15)".into(),
        Kind::Elem(size) => format!("v.{}[i]", ["b", "h", "s", "d"][size.trailing_zeros() as usize]),
        Kind::ElemGroup(size) => format!("v.{}[i]", if *size == 1 { "4b" } else { "2h" }),
        Kind::Cond => "cond".into(),
        Kind::Prfop => "prfop".into(),
        Kind::Barrier => "barrier (ish, sy, ...)".into(),
        Kind::Target => "c|j|jc".into(),
        Kind::SysReg => "system register".into(),
        Kind::Cache(true) => "zva|cvac|cvau|cvap|civac".into(),
        Kind::Cache(false) => "ivau".into(),
        Kind::MemIndex => "[x, x{, lsl #n}]".into(),
        Kind::MemIndexSxtw => "[x, w, sxtw{ #n}]".into(),
        Kind::MemBase => "[x]".into(),
        Kind::List1(a) => format!("{{v.{a}}}"),
        Kind::List(c, a) => format!("{{{c} consecutive v.{a}: a group from `v_group` or physical}}"),
        Kind::LaneList(c, size) => {
            let t = ["b", "h", "s", "d"][size.trailing_zeros() as usize & 3];
            let regs: Vec<String> = (0..*c).map(|_| format!("v.{t}")).collect();
            format!("{{{}}}[i]", regs.join(", "))
        }
        Kind::FpImm => "#fp (FpImm)".into(),
        Kind::Extend => "extend (Extend)".into(),
    }
}

/// Picks the row for `mnemonic` with `ops` on `target`.
/// The bitfield aliases as the moves they are: `ubfx d, n, #lsb, #width` is
/// `ubfm d, n, #lsb, #(lsb + width - 1)`, `bfi d, n, #lsb, #width` is
/// `bfm d, n, #(-lsb mod size), #(width - 1)`, and so on. Rewrites `ops` in place.
fn bitfield_alias(lower: &str, ops: &mut [Operand]) -> Result<Option<&'static str>> {
    let (base, insert) = match lower {
        "ubfx" => ("ubfm", false),
        "sbfx" => ("sbfm", false),
        "bfxil" => ("bfm", false),
        "ubfiz" => ("ubfm", true),
        "sbfiz" => ("sbfm", true),
        "bfi" => ("bfm", true),
        _ => return Ok(None),
    };
    let [Operand::Reg(d), _, Operand::Imm(lsb), Operand::Imm(width)] = *ops else { return Ok(None) };
    let size = if class_view(d) == Some((GP, VIEW_W)) { 32 } else { 64 };
    if !(0..size).contains(&lsb) || width < 1 || lsb + width > size {
        return Err(Error::new(
            ErrorKind::ImmediateOutOfRange,
            format!("`{lower}` of {width} bits from bit {lsb} does not fit a {size}-bit register"),
        ));
    }
    let (immr, imms) = if insert { ((size - lsb) % size, width - 1) } else { (lsb, lsb + width - 1) };
    ops[2] = Operand::Imm(immr);
    ops[3] = Operand::Imm(imms);
    Ok(Some(base))
}

/// `mov xd, #imm` as the one instruction an assembler makes of it: `movz` where the value is
/// one 16-bit chunk, `movn` where its complement is, `orr` from the zero register where it is a
/// logical immediate (in that order, as llvm-mc and GNU as choose). Rewrites `ops`.
fn mov_imm_alias(lower: &str, ops: &mut Vec<Operand>) -> Result<Option<&'static str>> {
    let [Operand::Reg(d), Operand::Imm(v)] = ops[..] else { return Ok(None) };
    if lower != "mov" || !untagged(v) {
        return Ok(None);
    }
    let (bits, zr) = match class_view(d) {
        Some((GP, VIEW_W)) => (32u32, super::reg::WZR),
        Some((GP, VIEW_X | VIEW_SP)) => (64, super::reg::XZR),
        _ => return Ok(None),
    };
    let mask = if bits == 32 { 0xffff_ffffu64 } else { u64::MAX };
    if bits == 32 && !(-(1i64 << 31)..1i64 << 32).contains(&v) {
        return Err(Error::new(ErrorKind::ImmediateOutOfRange, format!("{v} does not fit a 32-bit register")));
    }
    let u = v as u64 & mask;
    // The chunk `k` holding every set bit of `x`, if one does.
    let chunk = |x: u64| (0..bits / 16).find(|k| x & !(0xffffu64 << (16 * k)) == 0);
    let (name, value) = if let Some(k) = chunk(u) {
        ("movz", (u >> (16 * k) & 0xffff, 16 * k))
    } else if let Some(k) = chunk(!u & mask) {
        ("movn", ((!u & mask) >> (16 * k) & 0xffff, 16 * k))
    } else if super::encode::bitmask(u, bits).is_some() {
        *ops = vec![Operand::Reg(d), Operand::Reg(zr), Operand::Imm(u as i64)];
        return Ok(Some("orr"));
    } else {
        return Err(Error::new(
            ErrorKind::ImmediateOutOfRange,
            format!("{v:#x} is not one instruction's `mov` (use MOV_IMM for any value)"),
        ));
    };
    let (imm, shift) = value;
    *ops = vec![Operand::Reg(d), Operand::Imm(imm as i64), Operand::Imm(shift as i64)];
    Ok(Some(name))
}

/// `casp x0, x1, x2, x3, [x4]` names each pair by its two registers; the row takes the first
/// of each. Rewrites `ops`, checking that each pair is physical, from an even register.
fn pair_alias(lower: &str, ops: &mut Vec<Operand>) -> Result<()> {
    if !matches!(lower, "casp" | "caspa" | "caspal" | "caspl") || ops.len() != 5 {
        return Ok(());
    }
    let wrong = || {
        Error::new(
            ErrorKind::InvalidOperands,
            format!("`{lower}` takes two pairs of physical registers, each an even one and the next (`x0, x1`)"),
        )
    };
    for k in [0, 2] {
        let (Operand::Reg(a), Operand::Reg(b)) = (ops[k], ops[k + 1]) else { return Err(wrong()) };
        let (Some((GP, va, na)), Some((GP, vb, nb))) = (parts(a), parts(b)) else { return Err(wrong()) };
        if va != vb || !matches!(va, VIEW_W | VIEW_X) || na % 2 != 0 || nb != na + 1 {
            return Err(wrong());
        }
    }
    *ops = vec![ops[0], ops[2], ops[4]];
    Ok(())
}

pub(crate) fn select(target: &Target, groups: &[VRegGroup], mnemonic: &str, ops: &mut Vec<Operand>) -> Result<u32> {
    let mut lower = mnemonic.to_ascii_lowercase();
    pair_alias(&lower, ops)?;
    if let Some(base) = bitfield_alias(&lower, ops)? {
        lower = base.to_string();
    }
    if let Some(base) = mov_imm_alias(&lower, ops)? {
        lower = base.to_string();
    }
    // `ror d, n, #s` is `extr d, n, n, #s`.
    if lower == "ror"
        && let [d @ Operand::Reg(_), n @ Operand::Reg(_), Operand::Imm(s)] = ops[..]
        && untagged(s)
    {
        *ops = vec![d, n, n, Operand::Imm(s)];
        lower = "extr".to_string();
    }
    let row = pick(target, groups, &lower, mnemonic, ops)?;
    // A page offset is kept as its label (the row says which part of its address it is).
    for (kind, op) in rows()[row as usize].kinds().iter().zip(ops.iter_mut()) {
        if let (Kind::PageOffset, Operand::Imm(v)) = (kind, *op)
            && let Some(label) = page_offset_of(v)
        {
            *op = Operand::Label(label);
        }
    }
    Ok(row)
}

/// The row of `lower` that takes `ops` on `target`.
fn pick(target: &Target, groups: &[VRegGroup], lower: &str, mnemonic: &str, ops: &[Operand]) -> Result<u32> {
    let Some(candidates) = by_name().get(lower) else {
        return Err(Error::new(ErrorKind::UnknownMnemonic, format!("unknown AArch64 instruction `{mnemonic}`")));
    };
    for &i in candidates {
        let row: &Row = &rows()[i as usize];
        let stated = super::table::first_role(row).is_some();
        if !stated
            || row.kinds().len() != ops.len()
            || !row.kinds().iter().zip(ops).all(|(k, o)| fits(row, *k, o, groups))
        {
            continue;
        }
        // Stand-in numbers differ per operand, so that only real clashes look unpredictable.
        let trial: Vec<A64> =
            row.kinds().iter().zip(ops).enumerate().map(|(n, (k, o))| stand_in(*k, o, 1 + n as u8)).collect();
        if let Some(Err(e)) = encode_row(row, &trial) {
            return Err(e);
        }
        if let Some(e) = feature(row)
            && !target.extensions().contains(e)
        {
            return Err(Error::new(
                ErrorKind::NotInTarget,
                format!(
                    "`{lower}` needs {}, which target `{}` does not have",
                    super::target::extension_name(e),
                    target.name()
                ),
            ));
        }
        return Ok(i);
    }
    let given: Vec<String> = ops.iter().map(describe).collect();
    let forms: Vec<String> = candidates
        .iter()
        .map(|&i| {
            let row = &rows()[i as usize];
            let kinds = row.kinds();
            // (An index extension is written inside the brackets of the memory operand.)
            let k: Vec<String> = kinds
                .iter()
                .enumerate()
                .filter(|(i, k)| {
                    **k != Kind::IndexExtend && !(**k == Kind::PageOffset && *i > 0 && kinds[i - 1] == Kind::MemBase)
                })
                .map(|(i, k)| match (k, kinds.get(i + 1)) {
                    (Kind::MemIndex, Some(Kind::IndexExtend)) => "[x, x, sxtx{ #n}]".into(),
                    (Kind::MemIndexSxtw, Some(Kind::IndexExtend)) => "[x, w, uxtw{ #n}]".into(),
                    (Kind::MemBase, Some(Kind::PageOffset)) => "[x, :lo12:label]".into(),
                    _ => kind_name(row, k),
                })
                .collect();
            format!("{lower} {}", k.join(", "))
        })
        .collect();
    Err(Error::new(
        ErrorKind::InvalidOperands,
        format!("no form of `{lower}` takes ({}); its forms are: {}", given.join(", "), forms.join("; ")),
    ))
}
