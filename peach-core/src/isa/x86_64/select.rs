//! Choosing forms: which iced `Code`s accept an instruction's operands, which one is written
//! into the IR before allocation (VEX before EVEX, short immediates first), and which one is
//! encoded once the physical registers are known (the shortest).

use iced_x86::{Code, EncodingKind, Mnemonic, Register};

use super::forms::{Bank, Form, Forms, Slot};
use super::regs::{self, GP, VEC};
use crate::error::{Error, ErrorKind, Result};
use crate::fx::MemoKey;
use crate::ir::{Mem, Operand, Reg, Rounding};
use crate::target::Target;

/// What an operand is, for matching against form slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// General-purpose register of `bits`; `phys` when physical.
    Gp { bits: u16, phys: Option<Register> },
    /// Vector register of `bits`; `high` when it is physical xmm16-31 (EVEX only).
    Vec { bits: u16, high: bool },
    /// Mask register.
    K,
    /// A block of four vector registers of `bits` named as one (`zmm4+3`).
    Block { bits: u16 },
    /// A register of a bank peach does not allocate (MMX, x87, segment, control, debug, AMX).
    Bank(Register),
    /// Memory of `size` bytes (0: unknown), broadcast (`Mem::broadcast`) or not; `vsib` is the
    /// width in bits of a vector index register (gathers and scatters), 0 for none or a
    /// general-purpose one.
    Mem { size: u16, bcst: u8, vsib: u16 },
    /// A 64-bit absolute address of `size` bytes (0: unknown).
    Abs64 { size: u16 },
    /// Immediate.
    Imm(i64),
    /// Label.
    Label,
}

/// An instruction's operands, reduced to what form matching needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shapes {
    pub ops: [Option<Shape>; 6],
    pub len: usize,
    pub masked: bool,
    pub zeroing: bool,
    /// The mask is on the memory destination (`[m]{k1}`).
    pub mem_masked: bool,
    /// A segment override is written (`fs:[...]`).
    pub segment: bool,
    pub rounding: Option<Rounding>,
}

fn reg_shape(r: Reg) -> Option<Shape> {
    if r.is_virtual() {
        return Some(match r.class() {
            GP => Shape::Gp { bits: 8 << r.view(), phys: None },
            VEC => Shape::Vec { bits: 128 << r.view(), high: false },
            _ => Shape::K,
        });
    }
    let ir = regs::iced(r)?;
    if ir.is_gpr() {
        Some(Shape::Gp { bits: ir.size() as u16 * 8, phys: Some(ir) })
    } else if ir.is_vector_register() {
        Some(Shape::Vec { bits: ir.size() as u16 * 8, high: ir.number() >= 16 })
    } else if ir.is_k() {
        Some(Shape::K)
    } else if Bank::of(ir).is_some() {
        Some(Shape::Bank(ir))
    } else {
        None
    }
}

/// The common memory operand, valid at a glance: virtual general-purpose base (and index), an
/// encodable scale, no write-back.
#[inline]
fn plainly_valid(m: &Mem) -> bool {
    let gp = |r: Reg| r.is_virtual() && r.class() == GP;
    m.update == crate::ir::Update::None
        && matches!(m.scale, 1 | 2 | 4 | 8)
        && m.base.is_some_and(gp)
        && m.index.is_none_or(gp)
}

fn check_mem(m: &Mem) -> Result<()> {
    let bad = |msg: String| Err(Error::new(ErrorKind::InvalidMemory, msg));
    if m.update != crate::ir::Update::None {
        return bad("x86 has no pre- or post-indexed addressing (that is AArch64)".into());
    }
    if m.scale == Mem::TWO_INDEXES {
        return bad("a memory operand can have one index register; this one has two".into());
    }
    if m.scale == Mem::DISP_OVERFLOW {
        return bad("the displacement does not fit in 32 bits".into());
    }
    if m.scale == Mem::ZERO_SHIFT {
        return bad("an index shifted by an explicit 0 is AArch64's (`lsl #0`); on x86 write the index alone".into());
    }
    if !matches!(m.scale, 1 | 2 | 4 | 8) {
        return bad(format!("index scale {} is not encodable: use 1, 2, 4 or 8", m.scale));
    }
    if m.base == Some(Reg::CONSTANTS) {
        return Ok(());
    }
    if m.base == Some(Reg::LOCALS) && m.index.is_some() {
        return bad("a stack local is addressed without an index register".into());
    }
    let vector_index = m.index.is_some_and(is_vector);
    for (what, r) in [("base", m.base), ("index", m.index)] {
        let Some(r) = r else { continue };
        if r == regs::ARG_AREA || r == Reg::LOCALS || (what == "index" && vector_index) {
            continue;
        }
        // 32-bit addresses (`[ecx + edx*4]`, with an address-size prefix) take physical
        // registers: a virtual one is always read whole.
        let ok = if r.is_virtual() {
            r.class() == GP
        } else {
            regs::iced(r).is_some_and(|ir| {
                (ir.is_gpr64() || ir.is_gpr32()) && !(what == "index" && matches!(ir, Register::RSP | Register::ESP))
            })
        };
        if !ok {
            return bad(format!(
                "the {what} of a memory operand must be a 64-bit general-purpose register{}",
                if what == "index" {
                    " other than rsp (or a vector register, for gathers and scatters; or a 32-bit one with a 32-bit base)"
                } else {
                    " (or a physical 32-bit one, for a 32-bit address)"
                }
            ));
        }
    }
    // A 32-bit address: every register of it physical and 32-bit.
    let width = |r: Option<Reg>| r.filter(|r| !r.is_virtual()).and_then(regs::iced).map(|ir| ir.is_gpr32());
    let regs32 = [m.base, m.index].into_iter().flatten().filter(|r| width(Some(*r)) == Some(true)).count();
    let regs_all = [m.base, m.index].into_iter().flatten().filter(|r| !vector_index || Some(*r) != m.index).count();
    if regs32 > 0 && regs32 != regs_all {
        return bad("a 32-bit address takes 32-bit registers only (`[ecx + edx*4]`), all physical".into());
    }
    if vector_index && (m.base == Some(Reg::LOCALS) || m.base == Some(regs::ARG_AREA)) {
        return bad("a vector index goes with a general-purpose base register".into());
    }
    Ok(())
}

/// Whether `r` is a vector register (an index that makes a memory operand VSIB).
fn is_vector(r: Reg) -> bool {
    if r.is_virtual() { r.class() == VEC } else { regs::iced(r).is_some_and(|x| x.is_vector_register()) }
}

/// The width in bits of a memory operand's vector index register, 0 if it has none.
fn vsib_bits(m: &Mem) -> u16 {
    match m.index {
        Some(r) if r.is_virtual() && r.class() == VEC => 128 << r.view(),
        Some(r) => regs::iced(r).filter(|x| x.is_vector_register()).map_or(0, |x| x.size() as u16 * 8),
        None => 0,
    }
}

/// Reduces operands to shapes, checking registers and memory operands on the way.
pub(crate) fn shapes(ops: &[Operand]) -> Result<Shapes> {
    let mut s = Shapes::default();
    for (i, op) in ops.iter().enumerate() {
        if i >= s.ops.len() {
            return Err(Error::new(ErrorKind::InvalidOperands, "x86 instructions take at most 5 operands"));
        }
        let shape = match op {
            // A block written out (`zmm4+3`).
            Operand::List(l) if l.count == 4 && l.lane.is_none() => match reg_shape(l.first) {
                Some(Shape::Vec { bits, .. }) => Some(Shape::Block { bits }),
                _ => None,
            },
            Operand::Lane(_) | Operand::List(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperands,
                    "x86 instructions name single whole registers, not elements or lists (AArch64's)",
                ));
            }
            Operand::Reg(r) => reg_shape(*r),
            Operand::Masked(m) => {
                if i != 0 {
                    return Err(Error::new(
                        ErrorKind::InvalidOperands,
                        "only the destination (first operand) can be masked",
                    ));
                }
                if reg_shape(m.mask) != Some(Shape::K) || m.mask == regs::reg::K0 {
                    return Err(Error::new(
                        ErrorKind::InvalidOperands,
                        "a write mask must be one of k1-k7 or a virtual mask register",
                    ));
                }
                s.masked = true;
                s.zeroing = m.zeroing;
                reg_shape(m.reg)
            }
            Operand::Mem(m) => {
                check_mem(m)?;
                Some(Shape::Mem { size: m.size as u16, bcst: m.broadcast, vsib: vsib_bits(m) })
            }
            Operand::Abs64(a) => Some(Shape::Abs64 { size: a.size() as u16 }),
            Operand::Segment(seg) => {
                // (Whether the form has a memory operand, maybe an implicit one, `matches` says.)
                s.segment = true;
                if !regs::iced(*seg).is_some_and(|r| r.is_segment_register()) {
                    return Err(Error::new(
                        ErrorKind::InvalidOperands,
                        "a segment override names a segment register (`fs`, `gs`, `es`, `cs`, `ss`, `ds`)",
                    ));
                }
                continue;
            }
            Operand::MemMask(k) => {
                if !matches!(ops.first(), Some(Operand::Mem(_))) {
                    return Err(Error::new(
                        ErrorKind::InvalidOperands,
                        "a write mask on memory applies to a memory destination (the first operand)",
                    ));
                }
                if reg_shape(*k) != Some(Shape::K) || *k == regs::reg::K0 {
                    return Err(Error::new(
                        ErrorKind::InvalidOperands,
                        "a write mask must be one of k1-k7 or a virtual mask register",
                    ));
                }
                s.masked = true;
                s.mem_masked = true;
                continue;
            }
            Operand::Imm(v) => Some(Shape::Imm(*v)),
            Operand::Label(_) => Some(Shape::Label),
            Operand::Rounding(r) => {
                if i + 1 != ops.len() {
                    return Err(Error::new(
                        ErrorKind::InvalidOperands,
                        "rounding ({rn-sae} and friends) must be the last operand",
                    ));
                }
                s.rounding = Some(*r);
                continue;
            }
        };
        let Some(shape) = shape else {
            return Err(Error::new(
                ErrorKind::InvalidOperands,
                format!("operand {} is not a register peach can use", i + 1),
            ));
        };
        s.ops[i] = Some(shape);
        s.len += 1;
    }
    Ok(s)
}

/// How well a form fits: `None` if it does not, else whether immediates were ignored.
pub(crate) fn matches(form: &Form, s: &Shapes, check_imm: bool) -> bool {
    if form.slots.len() != s.len {
        return false;
    }
    if (s.masked && !form.can_mask) || (s.zeroing && !form.can_zero) || (form.needs_mask && !s.masked) {
        return false;
    }
    if s.segment && !form.has_memory() {
        return false;
    }
    match s.rounding {
        Some(Rounding::Sae) if !form.can_sae => return false,
        Some(Rounding::Sae) | None => {}
        Some(_) if !form.can_round => return false,
        Some(_) => {}
    }
    let evex = form.encoding == EncodingKind::EVEX;
    form.slots.iter().zip(&s.ops).all(|(slot, shape)| {
        let Some(shape) = shape else { return false };
        match (*slot, *shape) {
            (Slot::Gp { bits, .. }, Shape::Gp { bits: b, .. }) => bits == b,
            (Slot::Fixed(r), Shape::Gp { bits, phys }) => match phys {
                Some(p) => p == r,
                None => r.size() as u16 * 8 == bits,
            },
            (Slot::Vec { bits, .. }, Shape::Vec { bits: b, high }) => bits == b && (evex || !high),
            (Slot::K { .. }, Shape::K) => true,
            // (That it is physical and even, `check_inst` says, with a clear message.)
            (Slot::KPair, Shape::K) => true,
            // A block is named by its first register, as assemblers write it, or in full
            // (whether that starts a block, `check_inst` says).
            (Slot::Block { bits }, Shape::Vec { bits: b, .. } | Shape::Block { bits: b }) => bits == b,
            (Slot::Bank { bank, .. }, Shape::Bank(r)) => Bank::of(r) == Some(bank),
            (Slot::Fixed(r), Shape::Bank(q)) => r == q,
            (Slot::Vsib { bits }, Shape::Mem { size, bcst, vsib }) => {
                // GNU as names the element (`dword ptr`), llvm-mc the whole vector of data
                // (`ymmword ptr` for `vgatherdps ymm, ...`): both say the same.
                let data =
                    form.slots.iter().find_map(|s| if let Slot::Vec { bits, .. } = s { Some(bits / 8) } else { None });
                vsib == bits && bcst == 0 && (size == 0 || size == form.mem_size || Some(size) == data)
            }
            (
                Slot::Gp { mem: true, .. }
                | Slot::Vec { mem: true, .. }
                | Slot::K { mem: true }
                | Slot::Bank { mem: true, .. }
                | Slot::Mem,
                Shape::Mem { size, bcst, vsib: 0 },
            ) => {
                if s.rounding.is_some() {
                    return false;
                }
                if bcst != 0 {
                    let count_fits = bcst == 1 || form.mem_size == bcst as u16 * form.bcst_size;
                    form.bcst_size != 0 && (size == 0 || size == form.bcst_size) && count_fits
                } else {
                    size == 0 || size == form.mem_size
                }
            }
            (Slot::Imm(k), Shape::Imm(v)) => !check_imm || k.fits(v),
            (Slot::Branch, Shape::Label) => true,
            (Slot::Moffs, Shape::Abs64 { size }) => s.rounding.is_none() && (size == 0 || size == form.mem_size),
            _ => false,
        }
    })
}

/// Whether a form needs a fixed register where a virtual register stands.
fn fixed_for_vreg(form: &Form, s: &Shapes) -> bool {
    form.slots
        .iter()
        .zip(&s.ops)
        .any(|(slot, sh)| matches!((slot, sh), (Slot::Fixed(_), Some(Shape::Gp { phys: None, .. }))))
}

fn imm_bytes(form: &Form) -> u8 {
    form.slots.iter().map(|s| if let Slot::Imm(k) = s { k.bytes() } else { 0 }).sum()
}

fn mnemonic_name(m: Mnemonic) -> String {
    format!("{m:?}").to_ascii_uppercase()
}

/// What selection depends on for one operand, packed exactly in 32 bits: its kind, its register
/// class and view (or physical register), a memory operand's size and broadcast, the immediate
/// kinds a value fits (not the value). `None` for an operand that does not pack exactly: the
/// instruction is then selected without the memo.
fn op_key(op: &Operand) -> Option<u64> {
    use super::forms::ImmKind::*;
    // 16 bits: the virtual flag with class and view, or a physical register's number.
    let reg = |r: Reg| match r.is_virtual() {
        true => Some(0x8000 | (r.bits() >> 24) as u64 & 0xFF),
        false => (r.bits() < 0x8000).then_some(r.bits() as u64),
    };
    // 9 bits, for a write mask: the same, narrower.
    let mask = |r: Reg| match r.is_virtual() {
        true => Some(0x100 | (r.bits() >> 24) as u64 & 0xFF),
        false => (r.bits() < 0x100).then_some(r.bits() as u64),
    };
    Some(match op {
        Operand::Reg(r) => 1 | reg(*r)? << 4,
        Operand::Masked(m) => 2 | reg(m.reg)? << 4 | (m.zeroing as u64) << 20 | mask(m.mask)? << 21,
        Operand::Mem(m) if m.index.is_some_and(is_vector) => return None,
        Operand::Mem(m) => 3 | (m.size as u64) << 4 | (m.broadcast as u64) << 12,
        Operand::MemMask(k) => 7 | mask(*k)? << 4,
        Operand::Segment(_) => return None,
        Operand::Imm(v) => {
            let kinds = [U8, I8, S8(16), S8(32), S8(64), I16, I32, S32, I64, One, U4];
            4 | kinds.iter().enumerate().fold(0u64, |acc, (i, k)| acc | (k.fits(*v) as u64) << (4 + i))
        }
        Operand::Label(_) => 5,
        Operand::Abs64(a) => 8 | (a.size() as u64) << 4,
        Operand::Rounding(r) => 6 | (*r as u64) << 4,
        Operand::Lane(_) | Operand::List(_) => return None,
    })
}

/// The memo key of an instruction as written: its spelling and what selection depends on in
/// each operand (see [`op_key`]). `None` when the spelling is longer than 15 bytes, there are
/// more than four operands or an operand does not pack exactly: the instruction is then checked
/// without the memo.
#[inline]
pub(crate) fn memo_key(mnemonic: &str, ops: &[Operand]) -> Option<MemoKey> {
    let bytes = mnemonic.as_bytes();
    if bytes.len() > 15 || ops.len() > 4 {
        return None;
    }
    // The spelling as written: `VADDPS` and `vaddps` get an entry each, which is cheaper than
    // folding the case on every lookup. Its second word has at most 7 bytes: the top one holds
    // the lengths (which tell `add` from `add\0`, whose words are equal).
    let (lo, hi) = bytes.split_at(bytes.len().min(8));
    let lengths = (ops.len() as u64) << 60 | (bytes.len() as u64) << 56;
    let mut key = [le_word(lo), le_word(hi) | lengths, 0, 0];
    for (i, op) in ops.iter().enumerate() {
        key[2 + i / 2] |= op_key(op)? << (32 * (i % 2));
    }
    Some(MemoKey(key))
}

/// Replays a memo entry (see [`select`]) on operands with its key: the memory operands checked
/// (the key has only their size and broadcast), the operands rewritten as the first time; the
/// form, and whether it has checks of its own (`Form::checks`) to run.
#[inline]
pub(crate) fn replay(entry: u32, ops: &mut Vec<Operand>) -> Result<(Code, bool)> {
    for op in ops.iter() {
        if let Operand::Mem(m) = op
            && !plainly_valid(m)
        {
            check_mem(m)?;
        }
    }
    if entry & SHORTHAND != 0 {
        ops.insert(1, shorthand_source(ops[0]));
    }
    if entry & DROP_ST0 != 0 {
        ops.retain(|o| *o != Operand::Reg(regs::phys(Register::ST0)));
    }
    let code = Code::try_from((entry & !(SHORTHAND | DROP_ST0 | CHECKS)) as usize);
    Ok((code.map_err(|_| Error::internal("bad memo entry"))?, entry & CHECKS != 0))
}

/// Picks the form recorded in the IR for a user's instruction; with it, the memo entry that
/// replays the choice (see [`replay`]): the form and how `ops` were rewritten.
pub(crate) fn select(target: &Target, mnemonic: &str, ops: &mut Vec<Operand>) -> Result<(Code, u32)> {
    let (code, rewrite) = select_or_shorthand(target, mnemonic, ops)?;
    let checks = if Forms::get().form(code).is_some_and(|form| form.checks != 0) { CHECKS } else { 0 };
    Ok((code, code as u32 | rewrite | checks))
}

/// Up to 8 bytes as a little-endian number, loaded whole (a copy into a buffer first would stall
/// the loads behind the copy's byte stores; a loop over bytes costs more than the lookup).
fn le_word(b: &[u8]) -> u64 {
    let n = b.len();
    let at = |i: usize| b[i] as u64;
    match n {
        8.. => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        // Two overlapping four-byte loads, the overlap ORed with itself.
        4..8 => {
            let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
            let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
            lo | hi << (8 * (n - 4))
        }
        1..4 => at(0) | at(n / 2) << (8 * (n / 2)) | at(n - 1) << (8 * (n - 1)),
        0 => 0,
    }
}

/// Memo flag: the instruction was written in the two-operand AVX shorthand.
const SHORTHAND: u32 = 1 << 31;
/// Memo flag: an x87 memory form was written with the `st` it uses implicitly.
const DROP_ST0: u32 = 1 << 30;
/// Memo flag: the form has checks of its own, to run on every use.
const CHECKS: u32 = 1 << 29;

/// The operand the two-operand shorthand repeats: the destination, without its write mask.
fn shorthand_source(dst: Operand) -> Operand {
    match dst {
        Operand::Masked(m) => Operand::Reg(m.reg),
        other => other,
    }
}

/// Selects a form; failing that, reads a VEX/EVEX instruction written with one operand short as
/// the seed paper's shorthand (`VADDPD(a, b)` for `VADDPD(a, a, b)`) and rewrites `ops`.
fn select_or_shorthand(target: &Target, mnemonic: &str, ops: &mut Vec<Operand>) -> Result<(Code, u32)> {
    let err = match select_uncached(target, mnemonic, ops) {
        Ok(code) => return Ok((code, 0)),
        Err(e) => e,
    };
    // iced prints an x87 memory form with the `st` it uses implicitly (`fadd st, dword ptr
    // [rax]`): the same instruction as without it.
    let st0 = Operand::Reg(regs::phys(Register::ST0));
    if err.kind() == ErrorKind::InvalidOperands
        && mnemonic.starts_with(['f', 'F'])
        && ops.iter().filter(|o| **o == st0).count() == 1
        && ops.iter().any(|o| matches!(o, Operand::Mem(_)))
    {
        let short: Vec<Operand> = ops.iter().copied().filter(|o| *o != st0).collect();
        if let Ok(code) = select_uncached(target, mnemonic, &short) {
            *ops = short;
            return Ok((code, DROP_ST0));
        }
    }
    let avx = forced_encoding(mnemonic).1.starts_with(['v', 'V']);
    let first_is_reg = matches!(ops.first(), Some(Operand::Reg(_) | Operand::Masked(_)));
    if err.kind() != ErrorKind::InvalidOperands || !avx || ops.len() < 2 || !first_is_reg {
        return Err(err);
    }
    let mut long = ops.clone();
    long.insert(1, shorthand_source(long[0]));
    match select_uncached(target, mnemonic, &long) {
        Ok(code) => {
            *ops = long;
            Ok((code, SHORTHAND))
        }
        Err(_) => Err(err),
    }
}

/// The encoding a `{vex}` or `{evex}` pseudo-prefix asks for, and the name after it.
fn forced_encoding(mnemonic: &str) -> (Option<EncodingKind>, &str) {
    let Some((word, rest)) = mnemonic.split_once(' ') else { return (None, mnemonic) };
    match word.to_ascii_lowercase().as_str() {
        "{vex}" => (Some(EncodingKind::VEX), rest.trim_start()),
        "{evex}" => (Some(EncodingKind::EVEX), rest.trim_start()),
        _ => (None, mnemonic),
    }
}

/// How a form that fits ranks among others (lower first): EVEX last, then a fixed register
/// for a virtual one, the immediate's size, an implicit 32-bit address size.
type Rank = (bool, bool, u8, bool);

fn select_uncached(target: &Target, mnemonic: &str, ops: &[Operand]) -> Result<Code> {
    let (only, mnemonic) = forced_encoding(mnemonic);
    let forms = Forms::get();
    let mut buf = [0u8; 24];
    let lower = lowercase(mnemonic, &mut buf);
    let spelled = lower.and_then(Forms::spelled);
    if lower == Some("iret") {
        // (llvm-mc reads it as `iretw`, GNU as as `iretd`.)
        return Err(Error::new(
            ErrorKind::InvalidOperands,
            "`iret` means 16 bits to some assemblers and 32 to others: write `iretw`, `iretd` or `iretq`",
        ));
    }
    let Some(m) = spelled.map(|c| c[0].mnemonic()).or_else(|| lower.and_then(|l| forms.mnemonic(l))) else {
        if lower.is_some_and(|l| forms.is_knights_corner(l)) {
            return Err(Error::new(
                ErrorKind::UnknownMnemonic,
                format!(
                    "`{mnemonic}` is a Knights Corner instruction (the Xeon Phi coprocessor's own ISA, whose encodings collide with x86-64's): peach does not encode it"
                ),
            ));
        }
        let hint = forms
            .suggest(&mnemonic.to_ascii_lowercase())
            .map(|s| format!(" (did you mean `{}`?)", s.to_ascii_uppercase()));
        return Err(Error::new(
            ErrorKind::UnknownMnemonic,
            format!("unknown x86-64 instruction `{mnemonic}`{}", hint.unwrap_or_default()),
        ));
    };
    let s = shapes(ops)?;
    let mut best: Option<(&Form, Rank)> = None;
    let mut any_match = None;
    // A form the operands fit in an encoding other than the one a pseudo-prefix asks for.
    let mut forced_out: Option<&Form> = None;
    for &code in spelled.unwrap_or_else(|| forms.codes(m)) {
        let Some(form) = forms.form(code) else {
            continue;
        };
        if !matches(form, &s, true) {
            continue;
        }
        if let Some(kind) = only
            && form.encoding != kind
        {
            forced_out = Some(form);
            continue;
        }
        any_match.get_or_insert(form);
        if !form.features.is_subset(target.extensions()) {
            continue;
        }
        // Last in rank: a form that counts or addresses through 32-bit registers it does not
        // name (`loop` on ecx, `monitor` at eax: a 67 prefix) is not what the plain text says.
        let addr32 = form.code.op_code().address_size() == 32;
        let rank = (form.encoding == EncodingKind::EVEX, fixed_for_vreg(form, &s), imm_bytes(form), addr32);
        if best.is_none_or(|(_, r)| rank < r) {
            best = Some((form, rank));
        }
    }
    if let Some((form, _)) = best {
        check_ambiguous_size(forms, m, form, &s, target)?;
        return Ok(form.code);
    }
    let name = mnemonic_name(m);
    if let (Some(kind), None, Some(other)) = (only, any_match, forced_out) {
        let kind = if kind == EncodingKind::EVEX { "EVEX" } else { "VEX" };
        return Err(Error::new(
            ErrorKind::InvalidOperands,
            format!(
                "`{{{}}}` asks for the {kind} encoding, which {name} does not have for these operands (only {})",
                kind.to_ascii_lowercase(),
                other.code.op_code().instruction_string()
            ),
        ));
    }
    if let Some(form) = any_match {
        let missing: Vec<&str> = form
            .features
            .iter()
            .filter(|e| !target.extensions().contains(*e))
            .map(|e| target.extension_name(e))
            .collect();
        let high = s.ops.iter().flatten().any(|sh| matches!(sh, Shape::Vec { high: true, .. }));
        return Err(Error::new(
            ErrorKind::NotInTarget,
            format!(
                "{name} ({}) needs {}, which target `{}` does not have{}",
                form.code.op_code().instruction_string(),
                missing.join(" and "),
                target.name(),
                if high { " (vector registers 16-31 need AVX-512)" } else { "" }
            ),
        ));
    }
    let imm_forms: Vec<&Form> =
        forms.codes(m).iter().filter_map(|c| forms.form(*c)).filter(|f| matches(f, &s, false)).collect();
    if !imm_forms.is_empty() {
        // Name the value and what the forms that take the other operands accept.
        let value = ops.iter().find_map(|o| if let Operand::Imm(v) = o { Some(*v) } else { None });
        let mut ranges: Vec<&str> = imm_forms
            .iter()
            .flat_map(|f| f.slots.iter())
            .filter_map(|s| if let Slot::Imm(k) = s { Some(k.range()) } else { None })
            .collect();
        ranges.dedup();
        ranges.sort_unstable();
        ranges.dedup();
        return Err(Error::new(
            ErrorKind::ImmediateOutOfRange,
            format!(
                "the immediate {} does not fit any form of {name}: its forms take {}",
                value.map_or("?".to_string(), |v| v.to_string()),
                ranges.join(", or ")
            ),
        ));
    }
    let mut listed: Vec<String> = forms.codes(m).iter().map(|c| c.op_code().instruction_string().to_string()).collect();
    listed.dedup();
    let more = listed.len().saturating_sub(6);
    listed.truncate(6);
    let constant = ops.iter().find_map(|o| match o {
        Operand::Mem(m) if m.base == Some(Reg::CONSTANTS) => Some(m.size),
        _ => None,
    });
    let hint = constant.map_or(String::new(), |n| {
        format!(" (the operand is a constant of {n} bytes: a constant must have the size of the memory operand it stands for)")
    });
    Err(Error::new(
        ErrorKind::InvalidOperands,
        format!(
            "no form of {name} takes ({}){hint}; forms: {}{}",
            describe(&s),
            listed.join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        ),
    ))
}

/// A memory operand without a size that several forms would take with different sizes.
fn check_ambiguous_size(forms: &Forms, m: Mnemonic, chosen: &Form, s: &Shapes, target: &Target) -> Result<()> {
    if s.ops.iter().flatten().any(|sh| matches!(sh, Shape::Mem { bcst: 1, .. })) {
        let other = forms.codes(m).iter().filter_map(|c| forms.form(*c)).find(|f| {
            f.bcst_size == chosen.bcst_size
                && f.mem_size != chosen.mem_size
                && matches(f, s, true)
                && f.features.is_subset(target.extensions())
        });
        if let Some(f) = other {
            let n = |f: &Form| f.mem_size / f.bcst_size.max(1);
            return Err(Error::new(
                ErrorKind::InvalidMemory,
                format!(
                    "the broadcast count is ambiguous ({{1to{}}} or {{1to{}}}): give it with `Mem::bcst_to(n)` (`.bcst_to(n)` in `peach_fn!`)",
                    n(chosen),
                    n(f)
                ),
            ));
        }
    }
    if !s.ops.iter().flatten().any(|sh| matches!(sh, Shape::Mem { size: 0, .. })) {
        return Ok(());
    }
    let other =
        forms.codes(m).iter().filter_map(|c| forms.form(*c)).find(|f| {
            f.mem_size != chosen.mem_size && matches(f, s, true) && f.features.is_subset(target.extensions())
        });
    match other {
        Some(f) => Err(Error::new(
            ErrorKind::InvalidMemory,
            format!(
                "the size of the memory operand is ambiguous ({} or {} bytes): give it with `Mem::sized`",
                chosen.mem_size, f.mem_size
            ),
        )),
        None => Ok(()),
    }
}

fn describe(s: &Shapes) -> String {
    let parts: Vec<String> = s
        .ops
        .iter()
        .flatten()
        .map(|sh| match sh {
            Shape::Gp { bits, .. } => format!("r{bits}"),
            Shape::Vec { bits: 128, .. } => "xmm".into(),
            Shape::Vec { bits: 256, .. } => "ymm".into(),
            Shape::Vec { .. } => "zmm".into(),
            Shape::K => "k".into(),
            Shape::Block { bits: 128 } => "xmm+3".into(),
            Shape::Block { .. } => "zmm+3".into(),
            Shape::Bank(r) if r.is_st() => format!("st({})", r.number()),
            Shape::Bank(r) => Bank::of(*r).map_or("?", Bank::name).into(),
            Shape::Mem { size: 0, .. } => "mem".into(),
            Shape::Mem { size, .. } => format!("m{}", size * 8),
            Shape::Abs64 { size: 0 } => "moffs".into(),
            Shape::Abs64 { size } => format!("moffs{}", size * 8),
            Shape::Imm(v) => format!("imm {v}"),
            Shape::Label => "label".into(),
        })
        .collect();
    parts.join(", ")
}

pub(super) fn lowercase<'a>(s: &str, buf: &'a mut [u8; 24]) -> Option<&'a str> {
    let b = s.as_bytes();
    if b.len() > buf.len() {
        return None;
    }
    for (d, c) in buf.iter_mut().zip(b) {
        *d = c.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..b.len()]).ok()
}

/// Whether `unit` may hold a vector operand of `form` on `target` (xmm16-31 need EVEX).
pub(crate) fn high_vectors_ok(form: &Form, target: &Target) -> bool {
    form.encoding == EncodingKind::EVEX
        || form.evex_twin.and_then(|c| Forms::get().form(c)).is_some_and(|f| f.features.is_subset(target.extensions()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn le_word_is_the_bytes_as_a_little_endian_number() {
        let text = b"vpternlogq";
        for start in 0..text.len() {
            for end in start..=(start + 8).min(text.len()) {
                let b = &text[start..end];
                let expected = b.iter().rev().fold(0u64, |a, &x| a << 8 | x as u64);
                assert_eq!(super::le_word(b), expected, "{:?}", std::str::from_utf8(b));
            }
        }
    }
}
