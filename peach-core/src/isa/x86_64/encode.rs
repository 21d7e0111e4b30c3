//! Emission: virtual registers replaced by their allocation, the final form chosen (the shortest
//! encoding among the forms that take the physical operands; EVEX when xmm16-31 are used),
//! prologue and epilogues added, and each instruction encoded by iced's `Encoder`; `layout`
//! places them, resolves labels and picks short or near branches.

use std::sync::Arc;

use iced_x86::{
    Code, CpuidFeature, Encoder, EncodingKind, FlowControl, Instruction, OpKind, Register, RoundingControl,
};

use super::evex::Kind as EvexKind;
use super::forms::{Form, Forms, Slot, blank};
use super::frame::Layout;
use super::layout::{Assembler, LABEL_TARGET, is_branch, jump_condition, with_assembler};
use super::regs::{self, GP, GP_UNITS, MASK_UNITS, VEC_UNITS, iced, unit_reg};
use super::select;
use super::vex::DirectPlan;
use crate::abi::CallConv;
use crate::abi::Frame;
use crate::emit::{CodeObject, FrameSteps};
use crate::error::{Error, Result};
use crate::ir::Body;
use crate::ir::{Mem, Op, Operand, Reg, Rounding};
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
    // (A bare address is a 64-bit one: iced would take a 4-byte size for `addr32`.)
    let size = if disp == 0 && base != Register::None {
        0
    } else if base == Register::None && index == Register::None {
        8
    } else if base == Register::None {
        4
    } else {
        1
    };
    ins.set_memory_displ_size(size);
}

/// Maps IR registers to physical ones.
struct Regs<'a> {
    units: &'a [Option<u8>],
}

impl Regs<'_> {
    fn phys(&self, r: Reg) -> Result<Reg> {
        match r.vreg() {
            None => Ok(r),
            Some(v) => {
                let u = self.units.get(v.index()).copied().flatten().ok_or_else(|| internal("unallocated register"))?;
                Ok(regs::phys(unit_reg(u, r.class(), r.view())))
            }
        }
    }

    /// The hardware number of `r` for the direct VEX and legacy encoders (see
    /// [`super::vex::phys_number`]): for a virtual register, straight from its unit.
    fn number(&self, r: Reg, mem: bool) -> Option<u8> {
        let Some(v) = r.vreg() else { return super::vex::phys_number(r, mem) };
        let unit = (*self.units.get(v.index())?)?;
        let vec = regs::VEC_UNITS..regs::VEC_UNITS + 16;
        match r.class() {
            GP if unit < regs::VEC_UNITS && (mem || r.view() >= regs::VIEW_32) => Some(unit - regs::GP_UNITS),
            regs::VEC if !mem && r.view() <= regs::VIEW_YMM && vec.contains(&unit) => Some(unit - regs::VEC_UNITS),
            _ => None,
        }
    }

    /// The hardware number of `r` for the direct EVEX encoder, if it is of `kind` (see
    /// [`super::evex::phys_number`]): for a virtual register, straight from its unit.
    fn evex_number(&self, r: Reg, kind: EvexKind) -> Option<u8> {
        let Some(v) = r.vreg() else { return super::evex::phys_number(r, kind) };
        let unit = (*self.units.get(v.index())?)?;
        let (gp, vec, mask) = (GP_UNITS..VEC_UNITS, VEC_UNITS..VEC_UNITS + 32, MASK_UNITS..MASK_UNITS + 8);
        match (r.class(), kind) {
            (GP, EvexKind::Addr) if gp.contains(&unit) => Some(unit - GP_UNITS),
            (GP, EvexKind::Gp) if gp.contains(&unit) && r.view() >= regs::VIEW_32 => Some(unit - GP_UNITS),
            (regs::VEC, EvexKind::Vec) if vec.contains(&unit) => Some(unit - VEC_UNITS),
            (regs::MASK, EvexKind::Mask) if mask.contains(&unit) => Some(unit - MASK_UNITS),
            _ => None,
        }
    }

    /// Whether a register operand of `ops` is a vector register 16-31, which only EVEX names.
    fn any_high(&self, ops: &[Operand]) -> bool {
        ops.iter().any(|o| {
            let r = match o {
                Operand::Reg(r) => *r,
                Operand::Masked(m) => m.reg,
                _ => return false,
            };
            match r.vreg() {
                Some(v) => {
                    r.class() == regs::VEC
                        && self.units.get(v.index()).copied().flatten().is_some_and(|u| u >= VEC_UNITS + 16)
                }
                None => iced(r).is_some_and(|x| x.is_vector_register() && x.number() >= 16),
            }
        })
    }

    fn mem(&self, m: &Mem) -> Result<Mem> {
        // General-purpose bases and indexes address with 64 bits; a vector index (VSIB) keeps
        // its width.
        let map = |r: Option<Reg>| -> Result<Option<Reg>> {
            match r {
                Some(r) if r.is_virtual() && r.class() == GP => Ok(Some(self.phys(r.with_view(regs::VIEW_64))?)),
                Some(r) if r.is_virtual() => Ok(Some(self.phys(r)?)),
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
                Operand::MemMask(k) => Operand::MemMask(self.phys(*k)?),
                other => *other,
            });
        }
        Ok(())
    }
}

/// An instruction of an EVEX form, or a VEX form's EVEX twin where a vector register is 16-31
/// (as [`final_form`] would take it), or of a VEX form with a register in the immediate, that is
/// final whatever the registers (no alternatives, or memory decides), encoded directly; whether
/// it was (its extensions then added). Out of line: the VEX path around it stays as tight (in
/// line, the EVEX part slowed the VEX kernels' compilation by 3 %, the is4 part by 0.5 %).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn evex_or_is4_early(
    forms: &Forms,
    primary: &Form,
    ir_ops: &[Operand],
    regs: &Regs,
    body: &Body,
    asm: &mut Assembler,
    extensions: &mut ExtSet,
    ops: &mut Vec<Operand>,
) -> Result<bool> {
    let form = match primary.evex_twin {
        _ if primary.evex.is_some() || primary.is4.is_some() => primary,
        Some(twin) if regs.any_high(ir_ops) => forms.form(twin).ok_or_else(|| internal("unknown form"))?,
        _ => return Ok(false),
    };
    let encoded = final_whatever_registers(form, ir_ops)
        && asm.push_encoded(|out| match (&form.evex, &form.is4) {
            (Some(evex), _) => evex.encode(ir_ops, |r, kind| regs.evex_number(r, kind), out),
            (None, Some(is4)) => is4.encode(ir_ops, |r, mem| regs.number(r, mem), out),
            (None, None) => false,
        });
    if !encoded {
        return Ok(false);
    }
    extensions.union_with(&form.features);
    if cfg!(debug_assertions) {
        check_early(forms, primary, form, ir_ops, regs, body, asm, ops)?;
    }
    Ok(true)
}

/// The general path of emission, for what the direct encoders do not take straight from the
/// allocation (but a pool constant's read, which `reading_early` tries first): the operands
/// made physical, the final form chosen, then a direct encoder or iced. Out of line: the common
/// paths of `emit_into` stay dense in the instruction cache.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn late(
    forms: &Forms,
    primary: &Form,
    ir_ops: &[Operand],
    prefixes: u32,
    regs: &Regs,
    body: &Body,
    inst: &crate::ir::Inst,
    asm: &mut Assembler,
    extensions: &mut ExtSet,
    ops: &mut Vec<Operand>,
    (args_base, args_offset): (Register, i32),
    (locals_base, locals_offset): (Register, i32),
) -> Result<()> {
    if prefixes == 0
        && let Some(c) = constant_read(ir_ops)
        && reading_early(forms, primary, ir_ops, c, regs, body, asm, extensions, ops)?
    {
        return Ok(());
    }
    if prefixes == 0
        && primary.direct_alternatives
        && shortest_early(forms, primary, ir_ops, regs, body, asm, extensions, ops)?
    {
        return Ok(());
    }
    regs.operands(ir_ops, ops)?;
    for op in ops.iter_mut() {
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
    let form = if prefixes & super::EXACT != 0 { primary } else { final_form(forms, primary, ops, body, asm)? };
    extensions.union_with(&form.features);
    let constant = constant_read(ops);
    // A form has one direct encoder at most.
    if constant.is_none() && prefixes == 0 {
        let number = super::vex::phys_number;
        let encoded = match (&form.vex, &form.evex, &form.legacy, &form.is4) {
            (Some(vex), ..) => asm.push_encoded(|out| vex.encode(ops, number, out)),
            (_, Some(evex), ..) => asm.push_encoded(|out| evex.encode(ops, super::evex::phys_number, out)),
            (.., Some(legacy), _) => asm.push_encoded(|out| legacy.encode(ops, number, out)),
            (.., Some(is4)) => asm.push_encoded(|out| is4.encode(ops, number, out)),
            _ => false,
        };
        if encoded {
            if cfg!(debug_assertions) {
                cross_check(form, ops, asm)?;
            }
            return Ok(());
        }
    }
    if let (Some(c), 0) = (constant, prefixes)
        && let Some((bytes, len, disp_at)) = push_direct_reading(form, ops, c, asm)
    {
        if cfg!(debug_assertions) {
            cross_check_reading(form, ops, &bytes[..len], disp_at)?;
        }
        return Ok(());
    }
    let mut ins = Instruction::default();
    build_into(&mut ins, form, ops).map_err(|e| e.or_at(body.loc(inst)))?;
    ins.set_has_lock_prefix(prefixes & super::LOCK != 0);
    ins.set_has_rep_prefix(prefixes & super::REP != 0);
    ins.set_has_repne_prefix(prefixes & super::REPNE != 0);
    push_redundant_prefixes(asm, &ins, prefixes).map_err(|e| e.or_at(body.loc(inst)))?;
    asm.push_reading(ins, constant)?;
    Ok(())
}

/// An instruction that reads a pool constant (`vfmadd213pd ymm0, ymm1, [rip + c]`: the
/// constants of exp and ln), of a form final whatever the registers (its EVEX twin where a
/// vector register is 16-31), encoded straight from the allocation with the constant's
/// displacement left to the layout; whether it was. (Asked first by `late`, out of line: the
/// common paths of `emit_into` stay as they were.)
#[allow(clippy::too_many_arguments)]
fn reading_early(
    forms: &Forms,
    primary: &Form,
    ir_ops: &[Operand],
    constant: u32,
    regs: &Regs,
    body: &Body,
    asm: &mut Assembler,
    extensions: &mut ExtSet,
    ops: &mut Vec<Operand>,
) -> Result<bool> {
    let form = match primary.evex_twin {
        Some(twin) if primary.evex.is_none() && regs.any_high(ir_ops) => {
            forms.form(twin).ok_or_else(|| internal("unknown form"))?
        }
        _ => primary,
    };
    if !final_whatever_registers(form, ir_ops) {
        return Ok(false);
    }
    let number = |r, mem| regs.number(r, mem);
    let pushed = if let Some(vex) = &form.vex {
        asm.push_encoded_reading(constant, vex.imm_bytes(), |out| vex.encode_reading(ir_ops, number, out))
    } else if let Some(evex) = &form.evex {
        let number = |r, kind| regs.evex_number(r, kind);
        asm.push_encoded_reading(constant, evex.imm_bytes(), |out| evex.encode_reading(ir_ops, number, out))
    } else if let Some(is4) = &form.is4 {
        asm.push_encoded_reading(constant, is4.imm_bytes(), |out| is4.encode_reading(ir_ops, number, out))
    } else if let Some(legacy) = &form.legacy {
        asm.push_encoded_reading(constant, legacy.imm_bytes(), |out| legacy.encode_reading(ir_ops, number, out))
    } else {
        None
    };
    let Some((bytes, len, disp_at)) = pushed else { return Ok(false) };
    extensions.union_with(&form.features);
    if cfg!(debug_assertions) {
        // The form the general path would choose for the physical operands, and iced's bytes.
        regs.operands(ir_ops, ops)?;
        let late = final_form(forms, primary, ops, body, asm)?;
        if late.code != form.code {
            return Err(internal(format!("{:?} chosen early, {:?} late", form.code, late.code)));
        }
        cross_check_reading(form, ops, &bytes[..len], disp_at)?;
    }
    Ok(true)
}

/// A VEX or EVEX instruction of registers whose form has alternatives that all take them
/// (`Form::direct_alternatives`: `vmovapd ymm8, ymm1`), encoded straight from the allocation:
/// each alternative encoded, the shortest kept (ties: the first, as [`choose_final`] does);
/// whether it was. (Asked by `late`, out of line.)
#[allow(clippy::too_many_arguments)]
fn shortest_early(
    forms: &Forms,
    primary: &Form,
    ir_ops: &[Operand],
    regs: &Regs,
    body: &Body,
    asm: &mut Assembler,
    extensions: &mut ExtSet,
    ops: &mut Vec<Operand>,
) -> Result<bool> {
    thread_local! {
        /// Where the alternatives are encoded, kept between calls.
        static SPARE_BYTES: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    if !ir_ops.iter().all(|o| matches!(o, Operand::Reg(_))) {
        return Ok(false);
    }
    let mut bytes = SPARE_BYTES.take();
    let mut best: Option<(&Form, usize, usize)> = None;
    for alt in primary.alternatives.iter().filter_map(|c| forms.form(*c)) {
        let start = bytes.len();
        let encoded = match (&alt.vex, &alt.evex) {
            (Some(vex), _) => vex.encode(ir_ops, |r, mem| regs.number(r, mem), &mut bytes),
            (None, Some(evex)) => evex.encode(ir_ops, |r, kind| regs.evex_number(r, kind), &mut bytes),
            (None, None) => false,
        };
        if !encoded {
            best = None;
            break;
        }
        if best.is_none_or(|b| bytes.len() - start < b.2 - b.1) {
            best = Some((alt, start, bytes.len()));
        }
    }
    let pushed = best.is_some_and(|(_, start, end)| {
        asm.push_encoded(|out| {
            out.extend_from_slice(&bytes[start..end]);
            true
        })
    });
    bytes.clear();
    SPARE_BYTES.set(bytes);
    let Some((form, ..)) = best.filter(|_| pushed) else { return Ok(false) };
    extensions.union_with(&form.features);
    if cfg!(debug_assertions) {
        check_early(forms, primary, form, ir_ops, regs, body, asm, ops)?;
    }
    Ok(true)
}

/// Whether a copy does nothing once allocated (same register, no upper bits lost). A copy
/// between physical registers was written as such and is kept, even `mov r14, r14`.
fn is_noop_move(body: &Body, regs: &Regs, opcode: u32, ir_ops: &[Operand]) -> Result<bool> {
    use super::super::Isa;
    // (A copy's operands are two registers, as `Isa::as_move` promises: most instructions are
    // told apart without the call.)
    if !matches!(ir_ops, [Operand::Reg(_), Operand::Reg(_)]) {
        return Ok(false);
    }
    let Some((id, is)) = super::X86_64::as_move(opcode, ir_ops) else { return Ok(false) };
    if !id.is_virtual() && !is.is_virtual() {
        return Ok(false);
    }
    let (d, s) = (regs.phys(id)?, regs.phys(is)?);
    if d != s {
        return Ok(false);
    }
    let width = iced(d).map_or(0, |x| x.size());
    let fits = |ir: &Reg| match ir.vreg() {
        None => true,
        Some(v) => body.vregs.get(v.index()).is_none_or(|info| {
            let max_bytes = if ir.class() == GP { 1usize << info.max_view } else { 16usize << info.max_view };
            width >= max_bytes
        }),
    };
    // A copy into a physical register (a return) only needs the low part; a copy between
    // values must not drop upper bits either of them uses.
    Ok(!id.is_virtual() || (fits(&id) && fits(&is)))
}

/// Whether `form` is the one to encode whatever registers `ops` get: it has no alternatives, or
/// it is the only one of them that takes memory and `ops` has some.
#[inline(always)]
fn final_whatever_registers(form: &Form, ops: &[Operand]) -> bool {
    form.alternatives.is_empty() || (form.mem_decides && ops.iter().any(|o| matches!(o, Operand::Mem(_))))
}

/// The legacy form to encode `ops` with straight from the allocation, where the registers
/// cannot change the final choice: `primary` itself, with registers alone the alternative
/// chosen whatever they are, or with registers and an immediate the alternative chosen for its
/// value; with the hardware numbers of the registers that would change the choice (bit n for
/// register n), which the encoding must then refuse.
#[inline(always)]
fn legacy_early<'a>(forms: &'a Forms, primary: &'a Form, ops: &[Operand]) -> Option<(&'a Form, u16)> {
    primary.legacy.as_ref()?;
    if final_whatever_registers(primary, ops) {
        return Some((primary, 0));
    }
    if let Some(code) = primary.register_choice {
        return ops.iter().all(|o| matches!(o, Operand::Reg(_))).then(|| Some((forms.form(code)?, 0))).flatten();
    }
    let choice = primary.imm_choice.as_ref()?;
    let [regs @ .., Operand::Imm(v)] = ops else { return None };
    if !regs.iter().all(|o| matches!(o, Operand::Reg(_))) {
        return None;
    }
    Some((forms.form(choice.form_for(*v)?)?, choice.avoid))
}

/// Debug builds: `early`, encoded straight from the allocation, is the form [`final_form`]
/// chooses from `primary` for the physical operands, and the bytes are iced's.
#[allow(clippy::too_many_arguments)]
fn check_early(
    forms: &Forms,
    primary: &Form,
    early: &Form,
    ir_ops: &[Operand],
    regs: &Regs,
    body: &Body,
    asm: &mut Assembler,
    ops: &mut Vec<Operand>,
) -> Result<()> {
    regs.operands(ir_ops, ops)?;
    let form = final_form(forms, primary, ops, body, asm)?;
    if form.code != early.code {
        return Err(internal(format!("{:?} chosen early, {:?} late", early.code, form.code)));
    }
    cross_check(form, ops, asm)
}

/// The form to encode for physical operands: among the forms of the same encoding family that
/// take them, the shortest encoding (ties: iced's order, which matches GNU as and llvm-mc).
fn final_form<'a>(
    forms: &'a Forms,
    primary: &'a Form,
    ops: &[Operand],
    body: &Body,
    asm: &mut Assembler,
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
    // The choice depends on nothing but the form, the operands and the target's extensions:
    // kernels repeat their instructions, so each choice is made once per thread.
    let key = FinalKey::new(form.code, ops, body.target.extensions());
    if let Some(code) = key.and_then(|k| FINAL_FORMS.with_borrow(|m| m.get(&k).copied()))
        && let Some(f) = forms.form(code)
    {
        return Ok(f);
    }
    let chosen = choose_final(forms, form, ops, body, asm)?;
    if let Some(k) = key {
        FINAL_FORMS.with_borrow_mut(|m| {
            // Bounded: a JIT generating endless distinct constants must not grow it forever.
            if m.len() >= 4096 {
                m.clear();
            }
            m.insert(k, chosen.code);
        });
    }
    Ok(chosen)
}

/// What [`final_form`]'s choice among alternatives depends on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct FinalKey {
    code: Code,
    extensions: ExtSet,
    ops: [Option<Operand>; 4],
}

impl FinalKey {
    /// The key, for up to four operands.
    fn new(code: Code, ops: &[Operand], extensions: &ExtSet) -> Option<FinalKey> {
        let mut key = FinalKey { code, extensions: *extensions, ops: [None; 4] };
        if ops.len() > key.ops.len() {
            return None;
        }
        for (k, op) in key.ops.iter_mut().zip(ops) {
            *k = Some(*op);
        }
        Some(key)
    }
}

thread_local! {
    /// The final forms chosen on this thread, by form, operands and extensions.
    static FINAL_FORMS: std::cell::RefCell<crate::fx::FxHashMap<FinalKey, Code>> = Default::default();
}

/// [`final_form`]'s choice among `form`'s alternatives: the shortest encoding.
fn choose_final<'a>(
    forms: &'a Forms,
    form: &'a Form,
    ops: &[Operand],
    body: &Body,
    asm: &mut Assembler,
) -> Result<&'a Form> {
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
        let cost = 64 * asm.length_of(&ins)? + 16 * usize::from(gp_mem) + imm;
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
pub(super) fn build(form: &Form, ops: &[Operand]) -> Result<Instruction> {
    let mut ins = Instruction::default();
    build_into(&mut ins, form, ops)?;
    Ok(ins)
}

/// [`build`], writing into an instruction already in place (no 40-byte copy per instruction).
fn build_into(ins: &mut Instruction, form: &Form, ops: &[Operand]) -> Result<()> {
    ins.set_code(form.code);
    form.places.set_hidden(ins);
    let mut n = 0usize;
    for op in ops {
        let slot = form.slots.get(n).copied();
        let i = form.places.op_index(n);
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
                ins.set_is_broadcast(m.broadcast != 0);
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
            Operand::Lane(_) | Operand::List(_) => return Err(internal("an AArch64 operand in an x86 instruction")),
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
            Operand::MemMask(k) => {
                ins.set_op_mask(iced(*k).ok_or_else(|| internal("bad mask"))?);
                continue;
            }
            Operand::Abs64(a) => {
                // The whole address, in 8 bytes: only the `moffs` forms take it.
                ins.set_op_kind(i, OpKind::Memory);
                ins.set_memory_base(Register::None);
                ins.set_memory_index(Register::None);
                ins.set_memory_index_scale(1);
                ins.set_memory_displacement64(a.addr());
                ins.set_memory_displ_size(8);
            }
            Operand::Segment(seg) => {
                ins.set_segment_prefix(iced(*seg).ok_or_else(|| internal("bad segment"))?);
                continue;
            }
        }
        n += 1;
    }
    Ok(())
}

thread_local! {
    /// The operand buffer of this thread's last `emit`, for the next.
    static SPARE_OPERANDS: std::cell::Cell<Vec<Operand>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Encodes the allocated body.
pub(crate) fn emit(body: &Body, units: &[Option<u8>], frame: &Frame, conv: &CallConv) -> Result<CodeObject> {
    with_assembler(body.insts.len() + 16, body.num_labels, |asm| emit_into(asm, body, units, frame, conv))
}

fn emit_into(
    asm: &mut Assembler,
    body: &Body,
    units: &[Option<u8>],
    frame: &Frame,
    conv: &CallConv,
) -> Result<CodeObject> {
    let forms = Forms::get();
    let avx = body.target.extensions().contains(Extension(CpuidFeature::AVX as u16));
    let layout = Layout::new(frame, conv);
    let regs = Regs { units };
    let (args_base, args_offset) = layout.args(conv);
    let (locals_base, locals_offset) = layout.locals();
    let mut extensions = ExtSet::EMPTY;
    let mut steps = if conv.abi == crate::Abi::Win64 { FrameSteps::with_win64() } else { FrameSteps::default() };
    layout.prologue(avx, asm, &mut steps)?;
    let mut ops = SPARE_OPERANDS.take();
    for inst in &body.insts {
        if body.source_lines && matches!(inst.op, Op::Isa(_) | Op::Ret) {
            asm.note_line(inst.loc);
        }
        match inst.op {
            Op::Isa(code) => {
                let ir_ops = body.ops(inst);
                if is_noop_move(body, &regs, code, ir_ops)? {
                    continue;
                }
                let prefixes = code & super::PREFIXES;
                let code = super::code_of(code);
                let primary = forms.form(code).ok_or_else(|| internal("unknown form"))?;
                // The common case, straight from the allocation: a VEX form that is final
                // whatever the registers (no alternatives, or memory decides), with plain
                // operands in registers 0-15 (the number closure refuses anything else).
                if let Some(vex) = &primary.vex
                    && prefixes == 0
                    && final_whatever_registers(primary, ir_ops)
                    && asm.push_encoded(|out| vex.encode(ir_ops, |r, mem| regs.number(r, mem), out))
                {
                    extensions.union_with(&primary.features);
                    if cfg!(debug_assertions) {
                        check_early(forms, primary, primary, ir_ops, &regs, body, asm, &mut ops)?;
                    }
                    continue;
                }
                if (primary.evex.is_some() || primary.evex_twin.is_some() || primary.is4.is_some())
                    && prefixes == 0
                    && evex_or_is4_early(forms, primary, ir_ops, &regs, body, asm, &mut extensions, &mut ops)?
                {
                    continue;
                }
                // The same for a legacy form (SSE and integer code).
                if prefixes == 0
                    && let Some((form, avoid)) = legacy_early(forms, primary, ir_ops)
                    && let Some(legacy) = &form.legacy
                    && asm.push_encoded(|out| {
                        let number = |r, mem| regs.number(r, mem).filter(|&n| mem || avoid >> n & 1 == 0);
                        legacy.encode(ir_ops, number, out)
                    })
                {
                    extensions.union_with(&form.features);
                    if cfg!(debug_assertions) {
                        check_early(forms, primary, form, ir_ops, &regs, body, asm, &mut ops)?;
                    }
                    continue;
                }
                if let (Some(cc), [Operand::Label(l)], 0) = (jump_condition(primary.code), ir_ops, prefixes) {
                    asm.push_jump(cc, l.0);
                    continue;
                }
                late(
                    forms,
                    primary,
                    ir_ops,
                    prefixes,
                    &regs,
                    body,
                    inst,
                    asm,
                    &mut extensions,
                    &mut ops,
                    (args_base, args_offset),
                    (locals_base, locals_offset),
                )?;
            }
            Op::Ret => {
                layout.epilogue(avx, asm, &mut steps)?;
            }
            Op::Bind(l) => asm.bind(l.0),
            Op::Align(to) => asm.align(to),
        }
    }
    SPARE_OPERANDS.set(ops);
    asm.finish_labels()?;
    for code in layout.codes(avx) {
        let features = forms.form(code).map_or_else(|| super::forms::extensions_of(code), |form| form.features);
        extensions.union_with(&features);
    }
    let (bytes, alignment, listing) = asm.assemble(body.consts)?;
    let win64 = steps.win64_at_offsets(|m| asm.mark_offset(m));
    let steps = steps.at_offsets(|m| asm.mark_offset(m));
    let lines = asm.source_lines(body.locs);
    let listing = listing.shared(bytes.len());
    let code = CodeObject::new(Arc::clone(body.name), bytes, 0, extensions, body.target.clone(), listing);
    let code = code.with_alignment(alignment).with_frame_steps(super::frame::ENTRY, steps).with_source_lines(lines);
    Ok(match win64 {
        Some(w) => {
            if crate::emit::win64_unwind_info(&w).is_none() {
                let end = w.last().map_or(0, |(at, _)| *at);
                return Err(Error::new(
                    crate::ErrorKind::Limit,
                    format!(
                        "the prologue is {end} bytes, more than the 255 Windows x64 unwind data can describe (stack \
                         locals are reserved a page at a time): keep a Microsoft x64 kernel's stack locals under 48 KiB"
                    ),
                ));
            }
            code.with_win64_unwind(w)
        }
        None => code,
    })
}

/// The bytes of `data16` and `addr32` before `ins`, a byte each (also where the operands need
/// one of their own: `addr32 mov eax, [ecx]` is 67 67 8b 01, as llvm-mc writes it), checked
/// again on the allocated registers.
fn push_redundant_prefixes(asm: &mut Assembler, ins: &Instruction, prefixes: u32) -> Result<()> {
    let bytes = prefix_bytes(prefixes);
    if bytes.is_empty() {
        return Ok(());
    }
    if !prefixes_change_nothing(ins, prefixes) {
        return Err(Error::new(
            crate::ErrorKind::InvalidOperands,
            format!(
                "`data16`/`addr32` would change `{:?}` here: it is taken only where it changes nothing",
                ins.mnemonic()
            ),
        ));
    }
    asm.push_raw(&bytes);
    Ok(())
}

/// The bytes of the `data16` (66) and `addr32` (67) bits of `prefixes`.
fn prefix_bytes(prefixes: u32) -> Vec<u8> {
    [(super::DATA16, 0x66), (super::ADDR32, 0x67)]
        .iter()
        .filter(|(bit, _)| prefixes & bit != 0)
        .map(|(_, b)| *b)
        .collect()
}

/// Whether Intel's and AMD's CPUs both decode `ins` with the `data16`/`addr32` bytes of
/// `prefixes` before it as the same instruction. (A 32-bit address size changes `loop`'s
/// counter, `monitor`'s address register, `movsb`'s pointers; a 16-bit operand size turns `mov
/// eax, 1` into `mov ax, 1`, and a near branch into one that AMD's CPUs cut to 16 bits.)
pub(super) fn prefixes_change_nothing(ins: &Instruction, prefixes: u32) -> bool {
    // (Branches are encoded with their own address as target: only the form matters.)
    let mut probe = *ins;
    if is_branch(&probe) {
        probe.set_near_branch64(0);
    }
    let mut encoder = Encoder::new(64);
    if encoder.encode(&probe, 0).is_err() {
        return false;
    }
    let plain = encoder.take_buffer();
    let with: Vec<u8> = prefix_bytes(prefixes).iter().chain(&plain).copied().collect();
    // Decoded at address 0: a branch target or RIP-relative address moves with the length,
    // which is not a change of the instruction.
    let decode = |b: &[u8], options: u32| {
        let mut ins = iced_x86::Decoder::new(64, b, options).decode();
        if is_branch(&ins) {
            ins.set_near_branch64(0);
        }
        if ins.memory_base() == Register::RIP {
            ins.set_memory_displacement64(0);
        }
        ins
    };
    [iced_x86::DecoderOptions::NONE, iced_x86::DecoderOptions::AMD].into_iter().all(|options| {
        let (a, b) = (decode(&plain, options), decode(&with, options));
        b.len() == with.len() && a == b
    })
}

/// Debug builds: the bytes a direct encoder (VEX or legacy) just wrote must be iced's.
fn cross_check(form: &Form, ops: &[Operand], asm: &Assembler) -> Result<()> {
    let ins = build(form, ops)?;
    let mut encoder = Encoder::new(64);
    encoder.encode(&ins, 0).map_err(internal)?;
    let theirs = encoder.take_buffer();
    let ours = asm.last_bytes(theirs.len());
    if ours != theirs {
        return Err(internal(format!("direct encoding of {:?} is {ours:02x?}, iced's is {theirs:02x?}", form.code)));
    }
    Ok(())
}

/// An instruction of `form` on physical `ops` that reads pool constant `constant`, encoded by
/// its direct encoder and pushed for the layout to write its displacement; its bytes, length
/// and displacement's place, or `None` where no direct encoder takes it. (Out of line, as
/// `evex_or_is4_early`.)
#[inline(never)]
fn push_direct_reading(
    form: &Form,
    ops: &[Operand],
    constant: u32,
    asm: &mut Assembler,
) -> Option<([u8; 16], usize, usize)> {
    if let Some(vex) = &form.vex {
        let encode = |out: &mut Vec<u8>| vex.encode_reading(ops, super::vex::phys_number, out);
        return asm.push_encoded_reading(constant, vex.imm_bytes(), encode);
    }
    if let Some(evex) = &form.evex {
        let encode = |out: &mut Vec<u8>| evex.encode_reading(ops, super::evex::phys_number, out);
        return asm.push_encoded_reading(constant, evex.imm_bytes(), encode);
    }
    if let Some(is4) = &form.is4 {
        let encode = |out: &mut Vec<u8>| is4.encode_reading(ops, super::vex::phys_number, out);
        return asm.push_encoded_reading(constant, is4.imm_bytes(), encode);
    }
    let legacy = form.legacy.as_ref()?;
    let encode = |out: &mut Vec<u8>| legacy.encode_reading(ops, super::vex::phys_number, out);
    asm.push_encoded_reading(constant, legacy.imm_bytes(), encode)
}

/// [`cross_check`] for an instruction that reads a pool constant: iced's encoding at address
/// 0 of a read of address 0, against ours with the displacement that gives (minus its length).
fn cross_check_reading(form: &Form, ops: &[Operand], ours: &[u8], disp_at: usize) -> Result<()> {
    let ins = build(form, ops)?;
    let mut encoder = Encoder::new(64);
    encoder.encode(&ins, 0).map_err(internal)?;
    let theirs = encoder.take_buffer();
    let mut ours = ours.to_vec();
    let rel = -(ours.len() as i32);
    ours.get_mut(disp_at..disp_at + 4).ok_or_else(|| internal("no displacement"))?.copy_from_slice(&rel.to_le_bytes());
    if ours != theirs {
        return Err(internal(format!("direct encoding of {:?} is {ours:02x?}, iced's is {theirs:02x?}", form.code)));
    }
    Ok(())
}

/// The pool constant an instruction reads, if any.
fn constant_read(ops: &[Operand]) -> Option<u32> {
    ops.iter().find_map(|o| match o {
        Operand::Mem(m) if m.base == Some(Reg::CONSTANTS) => Some(m.disp as u32),
        _ => None,
    })
}
