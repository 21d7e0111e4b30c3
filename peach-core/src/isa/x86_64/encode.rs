//! Emission: virtual registers replaced by their allocation, the final form chosen (the shortest
//! encoding among the forms that take the physical operands; EVEX when xmm16-31 are used),
//! prologue and epilogues added, and everything encoded by iced's `BlockEncoder`, which resolves
//! labels and picks short or near branches.

use std::collections::HashMap;
use std::sync::Arc;

use iced_x86::{
    Code, CpuidFeature, Encoder, EncodingKind, FlowControl, Formatter, GasFormatter, Instruction, IntelFormatter,
    OpKind, Register, RoundingControl,
};

use super::forms::{Form, Forms, Slot, blank};
use super::frame::Layout;
use super::regs::{self, GP, iced, unit_reg};
use super::select;
use crate::abi::CallConv;
use crate::emit::{CodeObject, Listing, ListingLine};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{Constant, Mem, Op, Operand, Reg, Rounding};
use crate::pass::{Body, Frame};
use crate::target::{ExtSet, Extension};

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

/// An instruction from a code and simple operands (for prologues and epilogues).
pub(super) fn with(code: Code, ops: &[Op2]) -> Result<Instruction> {
    let mut ins = blank(code);
    for (i, op) in ops.iter().enumerate() {
        let i = i as u32;
        match *op {
            Op2::R(r) => {
                ins.set_op_kind(i, OpKind::Register);
                ins.set_op_register(i, r);
            }
            Op2::M(base, disp) => {
                ins.set_op_kind(i, OpKind::Memory);
                set_mem(&mut ins, base, Register::None, 1, disp);
            }
            Op2::I(v) => {
                let kind = match code.op_code().op_kinds().get(i as usize) {
                    Some(iced_x86::OpCodeOperandKind::imm8sex64) => OpKind::Immediate8to64,
                    _ => OpKind::Immediate32to64,
                };
                ins.set_op_kind(i, kind);
                ins.try_set_immediate_i64(i, v).map_err(internal)?;
            }
        }
    }
    Ok(ins)
}

/// A simple operand: register, `[base + disp]` or immediate.
pub(super) enum Op2 {
    R(Register),
    M(Register, i64),
    I(i64),
}

fn set_mem(ins: &mut Instruction, base: Register, index: Register, scale: u32, disp: i64) {
    ins.set_memory_base(base);
    ins.set_memory_index(index);
    ins.set_memory_index_scale(scale);
    ins.set_memory_displacement64(disp as u64);
    let size = if disp == 0 && base != Register::None {
        0
    } else if base == Register::None {
        4
    } else {
        1
    };
    ins.set_memory_displ_size(size);
}

/// Maps IR registers to physical ones.
struct Regs<'a> {
    units: &'a [u8],
}

impl Regs<'_> {
    fn phys(&self, r: Reg) -> Result<Reg> {
        match r.vreg() {
            None => Ok(r),
            Some(v) => {
                let u = self
                    .units
                    .get(v as usize)
                    .copied()
                    .filter(|u| *u < 64)
                    .ok_or_else(|| internal("unallocated register"))?;
                Ok(regs::phys(unit_reg(u, r.class(), r.view())))
            }
        }
    }

    fn mem(&self, m: &Mem) -> Result<Mem> {
        let map = |r: Option<Reg>| -> Result<Option<Reg>> {
            match r {
                Some(r) if r.is_virtual() => Ok(Some(self.phys(r.with_view(regs::VIEW_64))?)),
                other => Ok(other),
            }
        };
        Ok(Mem { base: map(m.base)?, index: map(m.index)?, ..*m })
    }

    fn operands(&self, ops: &[Operand], out: &mut Vec<Operand>) -> Result<()> {
        out.clear();
        for op in ops {
            out.push(match op {
                Operand::Reg(r) => Operand::Reg(self.phys(*r)?),
                Operand::Masked(m) => Operand::Masked(crate::ir::operand::Masked {
                    reg: self.phys(m.reg)?,
                    mask: self.phys(m.mask)?,
                    zeroing: m.zeroing,
                }),
                Operand::Mem(m) => Operand::Mem(self.mem(m)?),
                other => *other,
            });
        }
        Ok(())
    }
}

/// Whether a copy does nothing once allocated (same register, no upper bits lost).
fn is_noop_move(body: &Body, regs: &Regs, opcode: u32, ir_ops: &[Operand]) -> Result<bool> {
    use super::super::Isa;
    let Some((id, is)) = super::X86_64::as_move(opcode, ir_ops) else { return Ok(false) };
    let (d, s) = (regs.phys(id)?, regs.phys(is)?);
    if d != s {
        return Ok(false);
    }
    let width = iced(d).map_or(0, |x| x.size());
    let fits = |ir: &Reg| match ir.vreg() {
        None => true,
        Some(v) => body.vregs.get(v as usize).is_none_or(|info| {
            let max_bytes = if ir.class() == GP { 1usize << info.max_view } else { 16usize << info.max_view };
            width >= max_bytes
        }),
    };
    // A copy into a physical register (a return) only needs the low part; a copy between
    // values must not drop upper bits either of them uses.
    Ok(!id.is_virtual() || (fits(&id) && fits(&is)))
}

/// The form to encode for physical operands: among the forms of the same encoding family that
/// take them, the shortest encoding (ties: iced's order, which matches GNU as and llvm-mc).
fn final_form<'a>(
    forms: &'a Forms,
    primary: &'a Form,
    ops: &[Operand],
    body: &Body,
    encoder: &mut Encoder,
) -> Result<&'a Form> {
    let high = ops.iter().any(|o| {
        let r = match o {
            Operand::Reg(r) => *r,
            Operand::Masked(m) => m.reg,
            _ => return false,
        };
        iced(r).is_some_and(|x| x.is_vector_register() && x.number() >= 16)
    });
    let mut form = primary;
    if high && primary.encoding != EncodingKind::EVEX {
        form =
            primary.evex_twin.and_then(|c| forms.form(c)).ok_or_else(|| internal("xmm16-31 without an EVEX form"))?;
    }
    if form.alternatives.is_empty() || form.code.flow_control() != FlowControl::Next {
        return Ok(form);
    }
    let shapes = select::shapes(ops)?;
    let mut best: Option<(&Form, usize)> = None;
    let candidates = form.alternatives.iter().filter_map(|c| forms.form(*c)).filter(|f| {
        let same_family = (f.encoding == EncodingKind::EVEX) == (form.encoding == EncodingKind::EVEX);
        // `XCHG eax, eax` as 90 would be a NOP, which does not zero-extend.
        let nop = f.code == Code::Xchg_r32_EAX && ops.first() == ops.get(1);
        same_family && !nop && select::matches(f, &shapes, true) && f.features.is_subset(body.target.extensions())
    });
    let mut candidates = candidates.peekable();
    let first = candidates.next();
    if candidates.peek().is_none() {
        return first.ok_or_else(|| internal(format!("no form of {:?} for the allocated operands", form.code)));
    }
    for f in first.into_iter().chain(candidates) {
        let ins = build(f, ops)?;
        // Shortest first; on a tie, memory in a vector slot rather than a general-purpose one
        // (`MOVQ xmm, m64` as F3 0F 7E), then the shorter immediate (`XOR ax, -3` as 83 /6 ib),
        // then iced's order: the choices GNU as and llvm-mc make.
        let gp_mem = f.slots.iter().zip(ops).any(|(s, o)| matches!((s, o), (Slot::Gp { .. }, Operand::Mem(_))))
            && f.slots.iter().any(|s| matches!(s, Slot::Vec { .. }));
        let imm: usize = f.slots.iter().map(|s| if let Slot::Imm(k) = s { k.bytes() as usize } else { 0 }).sum();
        let cost = 64 * encoder.encode(&ins, 0).map_err(internal)? + 16 * usize::from(gp_mem) + imm;
        if best.is_none_or(|b| cost < b.1) {
            best = Some((f, cost));
        }
    }
    best.map(|b| b.0).ok_or_else(|| internal(format!("no form of {:?} for the allocated operands", form.code)))
}

fn rounding(r: Rounding) -> RoundingControl {
    match r {
        Rounding::NearestSae => RoundingControl::RoundToNearest,
        Rounding::DownSae => RoundingControl::RoundDown,
        Rounding::UpSae => RoundingControl::RoundUp,
        Rounding::ZeroSae => RoundingControl::RoundTowardZero,
        Rounding::Sae => RoundingControl::None,
    }
}

/// An iced instruction for `form` with physical operands; labels resolve through `labels`.
fn build(form: &Form, ops: &[Operand]) -> Result<Instruction> {
    let mut ins = Instruction::default();
    build_into(&mut ins, form, ops)?;
    Ok(ins)
}

/// [`build`], writing into an instruction already in place (no 40-byte copy per instruction).
fn build_into(ins: &mut Instruction, form: &Form, ops: &[Operand]) -> Result<()> {
    ins.set_code(form.code);
    let mut i = 0u32;
    for op in ops {
        let slot = form.slots.get(i as usize).copied();
        match op {
            Operand::Reg(r) | Operand::Masked(crate::ir::operand::Masked { reg: r, .. }) => {
                ins.set_op_kind(i, OpKind::Register);
                ins.set_op_register(i, iced(*r).ok_or_else(|| internal("bad register"))?);
                if let Operand::Masked(m) = op {
                    ins.set_op_mask(iced(m.mask).ok_or_else(|| internal("bad mask"))?);
                    ins.set_zeroing_masking(m.zeroing);
                }
            }
            Operand::Mem(m) => {
                ins.set_op_kind(i, OpKind::Memory);
                if m.base == Some(Reg::CONSTANTS) {
                    // RIP-relative; the displacement becomes the slot's address at layout.
                    ins.set_memory_base(Register::RIP);
                    ins.set_memory_index(Register::None);
                    ins.set_memory_index_scale(1);
                    ins.set_memory_displacement64(0);
                    ins.set_memory_displ_size(8);
                } else {
                    let reg = |r: Option<Reg>| r.and_then(iced).unwrap_or(Register::None);
                    set_mem(ins, reg(m.base), reg(m.index), m.scale as u32, m.disp as i64);
                }
                ins.set_is_broadcast(m.broadcast);
            }
            Operand::Imm(v) => {
                let Some(Slot::Imm(k)) = slot else {
                    return Err(internal("immediate in a non-immediate slot"));
                };
                let second = k.op_kind() == OpKind::Immediate8
                    && (0..i).any(|j| matches!(ins.op_kind(j), OpKind::Immediate8 | OpKind::Immediate16));
                if second {
                    ins.set_op_kind(i, OpKind::Immediate8_2nd);
                    ins.set_immediate8_2nd(*v as u8);
                } else {
                    ins.set_op_kind(i, k.op_kind());
                    ins.try_set_immediate_i64(i, *v).map_err(internal)?;
                }
            }
            Operand::Label(l) => {
                ins.set_op_kind(i, OpKind::NearBranch64);
                ins.set_near_branch64(LABEL_TARGET + l.0 as u64);
            }
            Operand::Rounding(r) => {
                match r {
                    Rounding::Sae => ins.set_suppress_all_exceptions(true),
                    other => ins.set_rounding_control(rounding(*other)),
                }
                continue;
            }
        }
        i += 1;
    }
    Ok(())
}

/// Encodes the allocated body.
pub(crate) fn emit(body: &Body, units: &[u8], frame: &Frame, conv: &CallConv) -> Result<CodeObject> {
    let forms = Forms::get();
    let avx = body.target.extensions().contains(Extension(CpuidFeature::AVX as u16));
    let layout = Layout::new(frame);
    let regs = Regs { units };
    let (args_base, args_offset) = layout.args(conv);
    let (locals_base, locals_offset) = layout.locals();
    let mut asm = Assembler::new(body.insts.len() + 16, body.num_labels);
    let mut extensions = ExtSet::EMPTY;
    let mut scratch = Vec::with_capacity(16);
    layout.prologue(avx, &mut scratch)?;
    asm.push_all(&mut scratch)?;
    let mut encoder = Encoder::new(64);
    let mut ops: Vec<Operand> = Vec::with_capacity(8);
    for inst in &body.insts {
        match inst.op {
            Op::Isa(code) => {
                if is_noop_move(body, &regs, code, body.ops(inst))? {
                    continue;
                }
                let code = Code::try_from(code as usize).map_err(internal)?;
                let primary = forms.form(code).ok_or_else(|| internal("unknown form"))?;
                regs.operands(body.ops(inst), &mut ops)?;
                for op in &mut ops {
                    if let Operand::Mem(m) = op {
                        if m.base == Some(regs::ARG_AREA) {
                            m.base = Some(regs::phys(args_base));
                            m.disp += args_offset;
                        } else if m.base == Some(Reg::LOCALS) {
                            m.base = Some(regs::phys(locals_base));
                            m.disp += locals_offset;
                        }
                    }
                }
                let form = final_form(forms, primary, &ops, body, &mut encoder)?;
                let mut ins = Instruction::default();
                build_into(&mut ins, form, &ops).map_err(|e| e.or_at(inst.loc))?;
                extensions.union_with(&form.features);
                asm.push_reading(ins, constant_read(&ops))?;
            }
            Op::Ret => {
                layout.epilogue(avx, &mut scratch)?;
                asm.push_all(&mut scratch)?;
            }
            Op::Bind(l) => asm.bind(l.0),
            Op::Align(to) => asm.align(to)?,
        }
    }
    asm.finish_labels()?;
    for code in layout.codes(avx) {
        for f in code.cpuid_features() {
            extensions.insert(Extension(*f as u16));
        }
    }
    let (bytes, listing) = asm.assemble(body.consts)?;
    Ok(CodeObject::new(body.name.clone(), bytes, 0, extensions, body.target.clone(), Arc::new(listing)))
}

/// The pool constant an instruction reads, if any.
fn constant_read(ops: &[Operand]) -> Option<u32> {
    ops.iter().find_map(|o| match o {
        Operand::Mem(m) if m.base == Some(Reg::CONSTANTS) => Some(m.disp as u32),
        _ => None,
    })
}

/// Branch targets are written as `LABEL_TARGET + label` until the layout is known.
const LABEL_TARGET: u64 = 1 << 62;

fn is_branch(ins: &Instruction) -> bool {
    ins.op_count() == 1 && ins.op0_kind() == OpKind::NearBranch64
}

/// The length of a branch form (it does not depend on the target once the form is chosen).
fn branch_len(ins: &Instruction) -> Result<u32> {
    let mut probe = *ins;
    probe.set_near_branch64(0);
    Encoder::new(64).encode(&probe, 0).map(|n| n as u32).map_err(internal)
}

/// How an instruction's bytes are produced.
#[derive(Clone, Copy, Debug)]
enum Span {
    /// Encoded on arrival; its bytes are at `at` in the early-encoded buffer.
    Bytes { at: u32, len: u32 },
    /// A branch: encoded once the layout is known.
    Branch { len: u32 },
    /// Reads constant `constant` RIP-relative: encoded once the pool is laid out.
    Rip { len: u32, constant: u32 },
    /// No-op padding up to a multiple of `to` bytes; `len` follows the layout.
    Align { to: u32, len: u32 },
}

impl Span {
    fn len(self) -> u32 {
        match self {
            Span::Bytes { len, .. } | Span::Branch { len } | Span::Rip { len, .. } | Span::Align { len, .. } => len,
        }
    }
}

/// `len` bytes of no-op instructions, the longest recommended forms first (Intel SDM, NOP).
fn nops(len: usize, out: &mut Vec<u8>) {
    const NOPS: [&[u8]; 9] = [
        &[0x90],
        &[0x66, 0x90],
        &[0x0F, 0x1F, 0x00],
        &[0x0F, 0x1F, 0x40, 0x00],
        &[0x0F, 0x1F, 0x44, 0x00, 0x00],
        &[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
        &[0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
        &[0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    let mut left = len;
    while left > 0 {
        let n = left.min(NOPS.len());
        out.extend_from_slice(NOPS[n - 1]);
        left -= n;
    }
}

/// Collects the machine instructions in order. Everything that does not depend on its position
/// is encoded as soon as it arrives; branches and constant loads wait for the layout. Labels are
/// resolved to the instruction that follows them.
struct Assembler {
    out: Vec<Instruction>,
    spans: Vec<Span>,
    encoder: Encoder,
    /// Bytes encoded so far.
    encoded: u32,
    /// The instruction index each label stands before (`u32::MAX` while unbound).
    label_index: Vec<u32>,
    pending: Vec<u32>,
}

impl Assembler {
    fn new(capacity: usize, labels: usize) -> Assembler {
        Assembler {
            out: Vec::with_capacity(capacity),
            spans: Vec::with_capacity(capacity),
            encoder: Encoder::try_with_capacity(64, capacity * 6).unwrap_or_else(|_| Encoder::new(64)),
            encoded: 0,
            label_index: vec![u32::MAX; labels],
            pending: Vec::new(),
        }
    }

    fn bind(&mut self, label: u32) {
        self.pending.push(label);
    }

    /// Appends an instruction; `constant` names the pool constant it reads, if any.
    fn push_reading(&mut self, mut ins: Instruction, constant: Option<u32>) -> Result<()> {
        let index = self.out.len() as u32;
        for l in self.pending.drain(..) {
            if let Some(slot) = self.label_index.get_mut(l as usize) {
                *slot = index;
            }
        }
        let span = if is_branch(&ins) {
            ins.set_code(ins.code().as_short_branch());
            Span::Branch { len: branch_len(&ins)? }
        } else if let Some(constant) = constant {
            // RIP-relative operands always take a 32-bit displacement: the length is fixed.
            let len = Encoder::new(64).encode(&ins, 0).map_err(internal)? as u32;
            Span::Rip { len, constant }
        } else {
            let len = self.encoder.encode(&ins, 0).map_err(internal)? as u32;
            self.encoded += len;
            Span::Bytes { at: self.encoded - len, len }
        };
        self.spans.push(span);
        self.out.push(ins);
        Ok(())
    }

    fn push(&mut self, ins: Instruction) -> Result<()> {
        self.push_reading(ins, None)
    }

    /// Padding; it stands in the listing as a `nop`.
    fn align(&mut self, to: u32) -> Result<()> {
        let index = self.out.len() as u32;
        for l in self.pending.drain(..) {
            if let Some(slot) = self.label_index.get_mut(l as usize) {
                *slot = index;
            }
        }
        self.spans.push(Span::Align { to, len: 0 });
        self.out.push(blank(Code::Nopd));
        Ok(())
    }

    fn push_all(&mut self, list: &mut Vec<Instruction>) -> Result<()> {
        for ins in list.drain(..) {
            self.push(ins)?;
        }
        Ok(())
    }

    /// A label bound at the very end gets a trap to stand on.
    fn finish_labels(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.push(blank(Code::Int3))?;
        }
        Ok(())
    }

    fn target_index(&self, ins: &Instruction) -> Result<usize> {
        let l = ins.near_branch64().wrapping_sub(LABEL_TARGET) as usize;
        self.label_index
            .get(l)
            .copied()
            .filter(|i| *i != u32::MAX)
            .map(|i| i as usize)
            .ok_or_else(|| internal("unbound label"))
    }

    /// Lays out the code: short branches grow to near where their target is out of reach, until
    /// nothing changes (they only grow, so this ends); then the constant pool follows the code
    /// and the bytes are put together.
    fn assemble(mut self, consts: &[Constant]) -> Result<(Vec<u8>, X86Listing)> {
        let mut offsets = vec![0u32; self.out.len()];
        let mut code_len = 0;
        for _ in 0..64 {
            code_len = 0;
            for (k, span) in self.spans.iter_mut().enumerate() {
                offsets[k] = code_len;
                if let Span::Align { to, len } = span {
                    *len = (*to - code_len % *to) % *to;
                }
                code_len += span.len();
            }
            let mut changed = false;
            for k in 0..self.out.len() {
                let Span::Branch { len: 2 } = self.spans[k] else { continue };
                let target = offsets[self.target_index(&self.out[k])?] as i64;
                let ins = &mut self.out[k];
                let near = ins.code().as_near_branch();
                if !(-128..128).contains(&(target - (offsets[k] as i64 + 2))) && near != ins.code() {
                    ins.set_code(near);
                    self.spans[k] = Span::Branch { len: branch_len(ins)? };
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let pool = Pool::layout(consts, &self.spans, code_len);
        let pre = self.encoder.take_buffer();
        let mut bytes = Vec::with_capacity(pool.end as usize);
        let mut late = Encoder::new(64);
        for k in 0..self.out.len() {
            let span = self.spans[k];
            let target = match span {
                Span::Branch { .. } => Some(offsets[self.target_index(&self.out[k])?] as u64),
                _ => None,
            };
            let ins = &mut self.out[k];
            ins.set_ip(offsets[k] as u64);
            match span {
                Span::Bytes { at, len } => {
                    bytes.extend_from_slice(&pre[at as usize..(at + len) as usize]);
                    continue;
                }
                Span::Align { len, .. } => {
                    nops(len as usize, &mut bytes);
                    continue;
                }
                Span::Branch { .. } => ins.set_near_branch64(target.unwrap_or(0)),
                Span::Rip { constant, .. } => ins.set_memory_displacement64(pool.offset_of(constant) as u64),
            }
            let n = late.encode(ins, offsets[k] as u64).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidOperands,
                    format!("the target of {:?} is out of its reach", ins.mnemonic()),
                )
            })?;
            if n as u32 != span.len() {
                return Err(internal("instruction size changed in layout"));
            }
            bytes.extend_from_slice(&late.take_buffer());
        }
        let code_end = bytes.len();
        pool.write(&mut bytes);
        let mut labels_at: Vec<(u32, u32)> = self
            .label_index
            .iter()
            .enumerate()
            .filter(|(_, i)| **i != u32::MAX)
            .map(|(l, i)| (offsets[*i as usize], l as u32))
            .collect();
        labels_at.sort_unstable();
        let total = bytes.len();
        Ok((bytes, X86Listing { out: self.out, offsets, code_end, total, labels_at, pool: pool.slots }))
    }
}

/// The constant pool after the code: one slot per distinct byte string, each aligned to its size,
/// largest first so that no padding is needed between slots.
struct Pool {
    /// `(offset, bytes)` per slot.
    slots: Vec<(u32, Constant)>,
    /// Slot of each constant index.
    slot_of: Vec<u32>,
    end: u32,
}

impl Pool {
    fn layout(consts: &[Constant], spans: &[Span], code_len: u32) -> Pool {
        let mut used = vec![false; consts.len()];
        for span in spans {
            if let Span::Rip { constant, .. } = span
                && let Some(u) = used.get_mut(*constant as usize)
            {
                *u = true;
            }
        }
        let mut distinct: Vec<Constant> = consts.iter().zip(&used).filter(|(_, u)| **u).map(|(c, _)| *c).collect();
        distinct.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.bytes().cmp(b.bytes())));
        distinct.dedup();
        let align = distinct.first().map_or(1, |c| c.len() as u32);
        let mut at = code_len.next_multiple_of(align);
        let mut slots = Vec::with_capacity(distinct.len());
        for c in &distinct {
            slots.push((at, *c));
            at += c.len() as u32;
        }
        let slot_of = consts
            .iter()
            .map(|c| {
                distinct
                    .binary_search_by(|d| c.len().cmp(&d.len()).then_with(|| d.bytes().cmp(c.bytes())))
                    .map_or(0, |i| i as u32)
            })
            .collect();
        Pool { slots, slot_of, end: at }
    }

    fn offset_of(&self, constant: u32) -> u32 {
        let slot = self.slot_of.get(constant as usize).copied().unwrap_or(0);
        self.slots.get(slot as usize).map_or(0, |s| s.0)
    }

    /// Pads with `int3` up to the pool and writes it.
    fn write(&self, bytes: &mut Vec<u8>) {
        for (at, c) in &self.slots {
            bytes.resize(*at as usize, 0xCC);
            bytes.extend_from_slice(c.bytes());
        }
    }
}

/// Branch targets shown as the labels bound there (`jne .L0`).
struct LabelNames(HashMap<u64, String>);

impl iced_x86::SymbolResolver for LabelNames {
    fn symbol(
        &mut self,
        instruction: &Instruction,
        _operand: u32,
        instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<iced_x86::SymbolResult<'_>> {
        let branch = instruction_operand.is_some_and(|i| instruction.op_kind(i) == OpKind::NearBranch64);
        let name = self.0.get(&address).filter(|_| branch)?;
        Some(iced_x86::SymbolResult::with_str(address, name))
    }
}

/// The encoded instructions, kept to render listings on demand (formatting costs more than
/// everything else in the pipeline). Branch targets are already offsets.
struct X86Listing {
    out: Vec<Instruction>,
    offsets: Vec<u32>,
    /// End of the instructions (the constant pool follows).
    code_end: usize,
    total: usize,
    /// The constant pool: `(offset, bytes)`.
    pool: Vec<(u32, Constant)>,
    /// `(offset, label)`, sorted.
    labels_at: Vec<(u32, u32)>,
}

impl Listing for X86Listing {
    fn lines(&self) -> Vec<ListingLine> {
        let mut names: HashMap<u64, String> = HashMap::new();
        for (offset, label) in &self.labels_at {
            names.entry(*offset as u64).or_insert_with(|| format!(".L{label}"));
        }
        let mut intel = IntelFormatter::with_options(Some(Box::new(LabelNames(names.clone()))), None);
        let o = intel.options_mut();
        o.set_hex_prefix("0x");
        o.set_hex_suffix("");
        o.set_uppercase_hex(false);
        o.set_branch_leading_zeros(false);
        o.set_show_branch_size(false);
        o.set_space_after_operand_separator(true);
        o.set_memory_size_options(iced_x86::MemorySizeOptions::Always);
        let mut gas = GasFormatter::with_options(Some(Box::new(LabelNames(names))), None);
        gas.options_mut().set_branch_leading_zeros(false);
        gas.options_mut().set_space_after_operand_separator(true);
        let mut lines = Vec::with_capacity(self.out.len());
        for (k, ins) in self.out.iter().enumerate() {
            let offset = self.offsets[k] as usize;
            let next = self.offsets.get(k + 1).map_or(self.code_end, |o| *o as usize);
            if next == offset {
                continue; // padding of no bytes
            }
            let (mut a, mut b) = (String::new(), String::new());
            intel.format(ins, &mut a);
            gas.format(ins, &mut b);
            let labels = self
                .labels_at
                .iter()
                .filter(|(o, _)| *o as usize == offset && next > offset)
                .map(|(_, l)| *l)
                .collect();
            lines.push(ListingLine { offset, len: next - offset, labels, intel: a, gas: b });
        }
        for (at, c) in &self.pool {
            let data: Vec<String> = c.bytes().iter().map(|b| format!("0x{b:02x}")).collect();
            let text = format!(".byte {}", data.join(", "));
            let line =
                ListingLine { offset: *at as usize, len: c.len(), labels: Vec::new(), intel: text.clone(), gas: text };
            lines.push(line);
        }
        let _ = self.total;
        lines
    }
}
