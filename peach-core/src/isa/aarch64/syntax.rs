//! The assembly syntax of encoder operands, as llvm-mc and GNU as read it: what listings
//! print and what the tests hand to the assemblers.

use super::encode::{A64, Arrangement};

/// The extend options, by number.
pub const EXTENDS: [&str; 8] = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"];

/// The condition codes, by number.
pub const CONDITIONS: [&str; 16] =
    ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"];

/// The name of prefetch operation `op`, if it has one (`pldl1keep`, `pstl2strm`, ...).
fn prfop_name(op: u8) -> Option<String> {
    let kind = ["pld", "pli", "pst"].get((op >> 3) as usize)?;
    let level = ["l1", "l2", "l3"].get((op >> 1 & 3) as usize)?;
    let policy = if op & 1 == 0 { "keep" } else { "strm" };
    Some(format!("{kind}{level}{policy}"))
}

impl std::fmt::Display for Arrangement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arrangement::B8 => "8b",
            Arrangement::B16 => "16b",
            Arrangement::H4 => "4h",
            Arrangement::H8 => "8h",
            Arrangement::S2 => "2s",
            Arrangement::S4 => "4s",
            Arrangement::D1 => "1d",
            Arrangement::D2 => "2d",
        })
    }
}

/// The assembly text of operand `i` of `ops`: `None` for an [`A64::IndexExtend`] or an
/// [`A64::PageOffset`] after a memory operand, which are written inside the brackets before them
/// (`[x1, w2, uxtw #2]`, `[x0, #16]`).
pub fn operand_text(ops: &[A64], i: usize) -> Option<String> {
    let after_mem = i > 0 && matches!(ops[i - 1], A64::Mem(..));
    match (ops[i], ops.get(i + 1)) {
        (A64::IndexExtend(_), _) => None,
        (A64::PageOffset(_), _) if after_mem => None,
        (A64::Mem(base, 0), Some(&A64::PageOffset(offset))) => Some(A64::Mem(base, offset).to_string()),
        (
            A64::MemIndex(base, index, scale) | A64::MemIndexSxtw(base, index, scale),
            Some(&A64::IndexExtend(option)),
        ) => {
            let width = if option & 3 == 3 { 'x' } else { 'w' };
            Some(register_offset(base, width, index, EXTENDS[option as usize & 7], scale))
        }
        (op, _) => Some(op.to_string()),
    }
}

/// `[base, index{, extend #log2(scale)}]`; the `lsl` of a 64-bit index without a shift is left
/// out.
fn register_offset(base: u8, width: char, index: u8, extend: &str, scale: u8) -> String {
    let base = if base == 31 { "sp".to_string() } else { format!("x{base}") };
    match scale {
        crate::ir::Mem::ZERO_SHIFT => format!("[{base}, {width}{index}, {extend} #0]"),
        1 if extend == "lsl" => format!("[{base}, {width}{index}]"),
        1 => format!("[{base}, {width}{index}, {extend}]"),
        s => format!("[{base}, {width}{index}, {extend} #{}]", s.trailing_zeros()),
    }
}

/// Assembly syntax, as llvm-mc and GNU as read it (branch targets as `.+offset`).
impl std::fmt::Display for A64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            A64::X(31) => f.write_str("xzr"),
            A64::X(n) => write!(f, "x{n}"),
            A64::Sp => f.write_str("sp"),
            A64::W(31) => f.write_str("wzr"),
            A64::W(n) => write!(f, "w{n}"),
            A64::Wsp => f.write_str("wsp"),
            A64::V(n, a) => write!(f, "v{n}.{a}"),
            A64::B(n) => write!(f, "b{n}"),
            A64::H(n) => write!(f, "h{n}"),
            A64::S(n) => write!(f, "s{n}"),
            A64::D(n) => write!(f, "d{n}"),
            A64::Q(n) => write!(f, "q{n}"),
            A64::Q1(n) => write!(f, "v{n}.1q"),
            A64::H2(n) => write!(f, "v{n}.2h"),
            A64::Pair(n, x) => {
                let r = if x { A64::X } else { A64::W };
                write!(f, "{}, {}", r(n), r(n + 1))
            }
            A64::Msl(n) => write!(f, "msl #{n}"),
            A64::Imm(v) => write!(f, "#{v}"),
            A64::Lsl(v) => write!(f, "lsl #{v}"),
            A64::Shift(kind, v) => write!(f, "{} #{v}", ["lsl", "lsr", "asr", "ror"][kind as usize & 3]),
            A64::Mem(31, 0) => write!(f, "[sp]"),
            A64::Mem(base, 0) => write!(f, "[x{base}]"),
            A64::Mem(31, off) => write!(f, "[sp, #{off}]"),
            A64::Mem(base, off) => write!(f, "[x{base}, #{off}]"),
            A64::MemPre(31, off) => write!(f, "[sp, #{off}]!"),
            A64::MemPre(base, off) => write!(f, "[x{base}, #{off}]!"),
            A64::MemPost(31, off) => write!(f, "[sp], #{off}"),
            A64::MemPost(base, off) => write!(f, "[x{base}], #{off}"),
            A64::MemPostReg(31, index) => write!(f, "[sp], x{index}"),
            A64::MemPostReg(base, index) => write!(f, "[x{base}], x{index}"),
            A64::IndexExtend(option) => f.write_str(EXTENDS[option as usize & 7]),
            A64::Barrier(option) => match super::system::Barrier::name(option) {
                Some(name) => f.write_str(name),
                None => write!(f, "#{option}"),
            },
            A64::Target(kind) => f.write_str(super::system::BranchTarget::name(kind)),
            A64::SysReg(bits) => f.write_str(&super::system::SysReg::name(bits)),
            A64::Cache(op) => f.write_str(super::system::CacheOp::name(op).map_or("?", |n| n.0)),
            A64::Label(off) => write!(f, ".{off:+}"),
            A64::PageOffset(off) => write!(f, "#{off}"),
            A64::Cond(c) => f.write_str(CONDITIONS[c as usize & 15]),
            A64::Prfop(op) => match prfop_name(op) {
                Some(name) => f.write_str(&name),
                None => write!(f, "#{op}"),
            },
            A64::MemIndex(base, index, scale) => f.write_str(&register_offset(base, 'x', index, "lsl", scale)),
            A64::MemIndexSxtw(base, index, scale) => f.write_str(&register_offset(base, 'w', index, "sxtw", scale)),
            A64::List1(n, a) => write!(f, "{{v{n}.{a}}}"),
            A64::List(n, count, a) => {
                let regs: Vec<String> = (0..count).map(|k| format!("v{}.{a}", (n + k) % 32)).collect();
                write!(f, "{{{}}}", regs.join(", "))
            }
            A64::LaneList(n, count, size, index) => {
                let t = ["b", "h", "s", "d"][size.trailing_zeros() as usize & 3];
                let regs: Vec<String> = (0..count).map(|k| format!("v{}.{t}", (n + k) % 32)).collect();
                write!(f, "{{{}}}[{index}]", regs.join(", "))
            }
            A64::FpImm(bits) => write!(f, "#{:?}", f64::from_bits(bits)),
            A64::Extend(option, 0) => f.write_str(EXTENDS[option as usize & 7]),
            A64::Extend(option, shift) => write!(f, "{} #{shift}", EXTENDS[option as usize & 7]),
            A64::Elem(n, size, index) => {
                let t = match size {
                    1 => "b",
                    2 => "h",
                    4 => "s",
                    _ => "d",
                };
                write!(f, "v{n}.{t}[{index}]")
            }
            A64::ElemGroup(n, size, index) => write!(f, "v{n}.{}[{index}]", if size == 1 { "4b" } else { "2h" }),
        }
    }
}
