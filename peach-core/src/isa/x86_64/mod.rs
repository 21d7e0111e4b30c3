//! The x86-64 backend: forms and def/use from iced-x86's tables, encoding through iced's
//! `Encoder` with our own layout, the System V and Microsoft x64 conventions.

mod abi;
pub(crate) mod cores;
mod encode;
mod evex;
pub(crate) mod forms;
mod frame;
pub(crate) mod lang;
mod layout;
mod legacy;
mod pseudo;
mod regs;
mod select;
pub(crate) mod target;
pub(crate) mod text;
mod vex;

use iced_x86::{Code, EncodingKind, FlowControl, Mnemonic};

pub use pseudo::{Elem, X86Pseudo};
pub use regs::{GP, MASK, VEC, X86Builder, X86Reg, X86VReg, reg, reg_by_name};

use self::forms::{Forms, PlanKind, Role as FormRole, Slot};
use self::regs::{GP_UNITS, MASK_UNITS, VEC_UNITS, VIEW_8, VIEW_16, VIEW_32, VIEW_64, VIEW_XMM, iced, unit_of};
use super::{ClassInfo, Flow, Isa, RegVisitor, Role};
use crate::abi::Frame;
use crate::abi::{Abi, CallConv};
use crate::emit::CodeObject;
use crate::error::Result;
use crate::ir::Body;
use crate::ir::{Function, Mem, Operand, Reg, RegClass, Type, UnitSet, VRegInfo};
use crate::target::{Extension, Target};

/// The x86-64 instruction set.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct X86_64;

const GP_ALLOC: UnitSet = UnitSet::range(0, 16).without(UnitSet::of(&[regs::RSP_UNIT]));
/// The general-purpose registers named without a REX prefix (rax-rdi, but rsp).
const GP_LOW: UnitSet = UnitSet::range(0, 8).without(UnitSet::of(&[regs::RSP_UNIT]));
const VEC_LOW: UnitSet = UnitSet::range(VEC_UNITS, 16);
const VEC_ALL: UnitSet = UnitSet::range(VEC_UNITS, 32);
const MASK_ALLOC: UnitSet = UnitSet::range(MASK_UNITS + 1, 7);

/// An opcode is an iced `Code`, with the prefix bits ([`LOCK`], [`REP`], [`REPNE`]) of the
/// prefixes written before it.
fn code_of(opcode: u32) -> Code {
    Code::try_from((opcode & !PREFIXES) as usize).unwrap_or(Code::INVALID)
}

/// The opcode bit of the `lock` prefix (iced's codes are far below it).
const LOCK: u32 = 1 << 30;
/// The opcode bit of `rep`, `repe` and `repz` (F3).
const REP: u32 = 1 << 29;
/// The opcode bit of `repne` and `repnz` (F2).
const REPNE: u32 = 1 << 28;
/// The opcode bit of `data16` (66), where it is redundant: on an instruction of 16-bit operands.
const DATA16: u32 = 1 << 27;
/// The opcode bit of `addr32` (67), where it changes nothing a program sees: on an instruction
/// without addresses, or one whose address registers are 32-bit already.
const ADDR32: u32 = 1 << 26;
/// The opcode bit of a form chosen by its spelling (`movabs rax, 1` is the 10-byte form): kept
/// after allocation, where the shortest form that takes the registers is chosen otherwise.
const EXACT: u32 = 1 << 25;
const PREFIXES: u32 = LOCK | REP | REPNE | DATA16 | ADDR32 | EXACT;

/// `lock add` is `add` with the prefix: the name without its prefixes, and their bits.
fn strip_prefixes(mnemonic: &str) -> (&str, u32) {
    // Every prefix starts with `l`, `r`, `d` or `a`: most names are done after one byte.
    if !mnemonic.starts_with(['l', 'L', 'r', 'R', 'd', 'D', 'a', 'A']) {
        return (mnemonic, 0);
    }
    let mut rest = mnemonic;
    let mut bits = 0;
    while let Some((word, after)) = rest.split_once(' ') {
        let is = |p: &str| word.eq_ignore_ascii_case(p);
        let bit = if is("lock") {
            LOCK
        } else if is("rep") || is("repe") || is("repz") {
            REP
        } else if is("repne") || is("repnz") {
            REPNE
        } else if is("data16") {
            DATA16
        } else if is("addr32") {
            ADDR32
        } else {
            break;
        };
        bits |= bit;
        rest = after.trim_start();
    }
    (rest, bits)
}

/// Whether `code` is a string instruction that compares (`cmps`, `scas`): `repe` and `repne`
/// apply to it.
pub(super) fn compares(code: Code) -> bool {
    use Mnemonic::*;
    matches!(code.mnemonic(), Cmpsb | Cmpsw | Cmpsd | Cmpsq | Scasb | Scasw | Scasd | Scasq)
}

/// Whether `code` is a string instruction (its memory operands are `[rsi]` and `[rdi]`).
fn is_string(code: Code) -> bool {
    Forms::get().form(code).is_some_and(forms::Form::is_string)
}

/// A string instruction written with the operands it uses anyway (`movsb byte ptr [rdi], byte
/// ptr [rsi]`, `stosb byte ptr [rdi], al`, as iced and objdump print them): exactly those, they
/// are dropped and the bare form is selected; anything else is left for selection to refuse.
fn drop_string_operands(name: &str, ops: &mut Vec<Operand>) -> Result<()> {
    if !may_be_string_operands(ops) {
        return Ok(());
    }
    let segments = ops.iter().filter(|o| matches!(o, Operand::Segment(_))).count();
    let forms = Forms::get();
    let mut buf = [0u8; 24];
    let Some(m) = select::lowercase(name, &mut buf).and_then(|l| forms.mnemonic(l)) else { return Ok(()) };
    // Written with all of them, or with the memory operands alone (`lodsb byte ptr [rsi]`).
    let fits = |f: &forms::Form, with_registers: bool| {
        let hidden = f.places.hidden.iter().filter(|(_, h)| with_registers || !matches!(h, forms::Hidden::Reg(_)));
        let memory_size = |mem: &Mem| mem.size == 0 || mem.size as u16 == f.mem_size;
        let at = |op: &Operand, r: iced_x86::Register| {
            matches!(op, Operand::Mem(mem) if mem.base == Some(regs::phys(r)) && mem.index.is_none()
                && mem.disp == 0 && mem.broadcast == 0 && memory_size(mem))
        };
        f.slots.is_empty()
            && hidden.clone().count() == ops.len() - segments
            && hidden.zip(ops.iter().filter(|o| !matches!(o, Operand::Segment(_)))).all(|(&(_, h), op)| match h {
                forms::Hidden::Memory(iced_x86::OpKind::MemorySegRSI) => at(op, iced_x86::Register::RSI),
                forms::Hidden::Memory(_) => at(op, iced_x86::Register::RDI),
                forms::Hidden::Xlat => at(op, iced_x86::Register::RBX),
                forms::Hidden::Reg(r) => *op == Operand::Reg(regs::phys(r)),
            })
    };
    if !forms.codes(m).iter().filter_map(|c| forms.form(*c)).any(|f| fits(f, true) || fits(f, false)) {
        return Ok(());
    }
    // A segment written right after `[rsi]` (or xlat's `[rbx]`) overrides ds and stays; one after
    // `[rdi]` can only be the es: the instruction always uses there, which no prefix changes.
    let mut after_rdi = false;
    let mut kept = Vec::new();
    for op in ops.iter() {
        match op {
            Operand::Mem(mem) => after_rdi = mem.base == Some(regs::phys(iced_x86::Register::RDI)),
            Operand::Segment(s) if after_rdi => {
                if *s != regs::phys(iced_x86::Register::ES) {
                    return Err(crate::Error::new(
                        crate::ErrorKind::InvalidOperands,
                        format!(
                            "`{name}` addresses `[rdi]` through es: always; a segment override does not apply to it"
                        ),
                    ));
                }
            }
            Operand::Segment(_) => kept.push(*op),
            _ => after_rdi = false,
        }
    }
    *ops = kept;
    Ok(())
}

/// Whether `ops` may be a string instruction's operands as written out: physical registers,
/// memory and segments only (never virtual registers, immediates or labels), the common case
/// leaving at its first operand.
fn may_be_string_operands(ops: &[Operand]) -> bool {
    let physical = |o: &Operand| match o {
        Operand::Reg(r) => !r.is_virtual(),
        Operand::Mem(_) | Operand::Segment(_) => true,
        _ => false,
    };
    !ops.is_empty() && ops.iter().all(physical)
}

/// The form's checks of its own operands, on every use.
fn own_checks(f: &Function, code: Code, ops: &mut [Operand]) -> Result<()> {
    match Forms::get().form(code) {
        Some(form) if form.checks != 0 => check_form(f, form, ops),
        _ => Ok(()),
    }
}

/// The instruction's form chosen from its spelling and operands, remembered under `key` for the
/// next instruction written the same way. Out of line: most instructions replay a choice.
#[inline(never)]
fn select_and_remember(
    f: &mut Function,
    mnemonic: &str,
    ops: &mut Vec<Operand>,
    key: Option<crate::fx::MemoKey>,
) -> Result<u32> {
    let (name, prefixes) = strip_prefixes(mnemonic);
    // (Before the decorations move: a segment belongs to the memory operand it follows.)
    drop_string_operands(name, ops)?;
    let moved = mask_after_operands(ops);
    let exact = name.eq_ignore_ascii_case("movabs");
    let (code, entry) = match exact {
        true => (movabs(f, ops)?, None),
        false => select::select(f.target(), name, ops).map(|(code, entry)| (code, Some(entry)))?,
    };
    own_checks(f, code, ops)?;
    let prefixes = check_prefixes(code, name, prefixes, ops)?;
    // Remembered when nothing but the form's own rewrites happened: no prefix, no
    // decoration moved (the key has the operands in the order written).
    if let (Some(key), Some(entry)) = (key, entry)
        && name.len() == mnemonic.len()
        && !moved
    {
        f.memo.insert(key, entry);
    }
    Ok(code as u32 | prefixes | if exact { EXACT } else { 0 })
}

/// `movabs`, as assemblers spell the 64-bit forms of `mov`: the accumulator to or from a 64-bit
/// absolute address (`movabs al, byte ptr [0x1000]` keeps all 8 bytes of the address), or a
/// 64-bit immediate into a 64-bit register (`movabs rax, 1` takes all 8 bytes of the value).
fn movabs(f: &mut Function, ops: &mut [Operand]) -> Result<Code> {
    for op in ops.iter_mut() {
        if let Operand::Mem(m) = op
            && m.base.is_none()
            && m.index.is_none()
        {
            *op = Operand::Abs64(crate::ir::Abs64::new(m.disp as i64 as u64, m.size));
        }
    }
    if let [Operand::Reg(r), Operand::Imm(_)] = ops
        && X86_64::gp_bits(*r) == 64
        && (r.is_virtual() && r.class() == GP || iced(*r).is_some_and(|x| x.is_gpr64()))
    {
        return Ok(Code::Mov_r64_imm64);
    }
    let (code, _) = select::select(f.target(), "mov", &mut ops.to_vec())?;
    if code.op_code().op_kinds().contains(&iced_x86::OpCodeOperandKind::mem_offs) {
        return Ok(code);
    }
    Err(crate::Error::new(
        crate::ErrorKind::InvalidOperands,
        "`movabs` moves the accumulator (al, ax, eax, rax) to or from an absolute address, or an immediate into a 64-bit register",
    ))
}

/// Whether the prefixes written are ones the CPU takes on `code`: `lock` on an atomic
/// read-modify-write of memory, `rep` on a string instruction, `repe`/`repne` on one that
/// compares (`cmps`, `scas`).
fn check_prefixes(code: Code, name: &str, bits: u32, ops: &[Operand]) -> Result<u32> {
    let err = |msg: String| Err(crate::Error::new(crate::ErrorKind::InvalidOperands, msg));
    if bits & LOCK != 0 {
        // The CPU raises #UD for `lock` on anything but a read-modify-write of memory.
        let to_memory = matches!(ops.first(), Some(Operand::Mem(_)));
        if !code.op_code().can_use_lock_prefix() || !to_memory {
            return err(format!(
                "`lock` applies only to an atomic read-modify-write of a memory destination, not to `{name}` here"
            ));
        }
    }
    if bits & (REP | REPNE) == REP | REPNE {
        return err("`rep` and `repne` exclude each other".into());
    }
    // VIA's `rep xsha1` and friends: the F3 is part of the opcode (iced's form has it).
    let mut bits = bits;
    if bits & (REP | REPNE) == REP && code.op_code().mandatory_prefix() == iced_x86::MandatoryPrefix::PF3 {
        bits &= !REP;
    } else if bits & (REP | REPNE) != 0 && (!is_string(code) || (bits & REPNE != 0 && !compares(code))) {
        return err(format!(
            "`rep` applies to the string instructions (movs, stos, lods, ins, outs; repe and repne to cmps and scas), not to `{name}`"
        ));
    }
    // `data16` and `addr32` are accepted where they change nothing (padding, or what the
    // operands say already): the CPU must decode the instruction with them as without.
    if bits & (DATA16 | ADDR32) != 0 {
        let mut addresses = ops.iter().filter_map(|o| if let Operand::Mem(m) = o { Some(m) } else { None }).peekable();
        let has_address = addresses.peek().is_some();
        if bits & ADDR32 != 0 && has_address && !addresses.all(is_32_bit_address) {
            return err(format!(
                "`addr32` would make the address of `{name}` 32-bit: write it with 32-bit registers (`[ecx]`)"
            ));
        }
        // (An address of 32-bit registers has its 67 already: the stand-in's is 64-bit.)
        let asked = if has_address { bits & DATA16 } else { bits & (DATA16 | ADDR32) };
        let same = asked == 0
            || forms::instance_of(
                Forms::get().form(code).ok_or_else(|| crate::Error::internal("no form"))?,
                has_address,
            )
            .is_some_and(|ins| encode::prefixes_change_nothing(&ins, asked));
        if !same {
            return err(format!(
                "`{}` would change `{name}` (its operand or address size): it is taken only where it changes nothing",
                if asked & DATA16 != 0 { "data16" } else { "addr32" }
            ));
        }
    }
    Ok(bits)
}

fn has(target: &Target, f: iced_x86::CpuidFeature) -> bool {
    target.extensions().contains(Extension(f as u16))
}

/// Whether two operands name the same register: the same virtual register, or physical views
/// of one full register (`eax` and `rax`).
fn same_register(a: Reg, b: Reg) -> bool {
    match (a.vreg(), b.vreg()) {
        (Some(x), Some(y)) => x == y,
        (None, None) => iced(a).map(|x| x.full_register()) == iced(b).map(|x| x.full_register()),
        _ => false,
    }
}

/// Whether the register operands of an instruction are all the same register and no source is
/// memory (`vpxor ymm1, ymm1, [m]` reads ymm1).
fn all_same_reg(ops: &[Operand]) -> bool {
    if ops.iter().any(|o| matches!(o, Operand::Mem(_))) {
        return false;
    }
    let mut regs = ops.iter().filter_map(|o| if let Operand::Reg(r) = o { Some(*r) } else { None });
    let Some(first) = regs.next() else {
        return false;
    };
    let mut n = 1;
    for r in regs {
        if !same_register(first, r) {
            return false;
        }
        n += 1;
    }
    n >= 2
}

impl Isa for X86_64 {
    const FRAME_POINTER_UNIT: u8 = GP_UNITS + 5;

    const CLASSES: &'static [ClassInfo] = &[
        ClassInfo { name: "general-purpose", first_unit: GP_UNITS, units: 16 },
        ClassInfo { name: "vector", first_unit: VEC_UNITS, units: 32 },
        ClassInfo { name: "mask", first_unit: MASK_UNITS, units: 8 },
    ];

    fn parse_text(line: &str, args: &[Operand]) -> Result<super::TextInst> {
        text::parse(line, args)
    }

    fn check_inst(f: &mut Function, mnemonic: &str, ops: &mut Vec<Operand>) -> Result<u32> {
        // An instruction written as one before it (the same spelling, the same kinds of
        // operands: see `select::memo_key`) replays the choice made then, in one hash lookup.
        // Operands that may be a string instruction's go the long way: whether they are dropped
        // depends on which registers they name.
        let key = if may_be_string_operands(ops) { None } else { select::memo_key(mnemonic, ops) };
        if let Some(&entry) = key.as_ref().and_then(|k| f.memo.get(k)) {
            let (code, checks) = select::replay(entry, ops)?;
            if checks {
                own_checks(f, code, ops)?;
            }
            return Ok(code as u32);
        }
        select_and_remember(f, mnemonic, ops, key)
    }

    fn param_vreg(f: &mut Function, ty: Type) -> Reg {
        // Parameters are created where the function is.
        let loc = f.location();
        // A narrow integer is a register of its own width: the bits above it are unspecified.
        let view = match ty {
            _ if ty.is_float() => return f.new_vreg_at(VEC, VIEW_XMM, loc),
            Type::I8 | Type::U8 => VIEW_8,
            Type::I16 | Type::U16 => VIEW_16,
            Type::I32 | Type::U32 => VIEW_32,
            _ => VIEW_64,
        };
        f.new_vreg_at(GP, view, loc)
    }

    fn gp_bits(reg: Reg) -> u32 {
        let view = if reg.is_virtual() {
            reg.view()
        } else {
            iced(reg).map_or(VIEW_64, |r| (r.size().trailing_zeros()) as u8)
        };
        8 << view
    }

    fn reads_low_bits(_opcode: u32) -> Option<u32> {
        // MOVZX, MOVSX and MOVSXD name their narrow source by its view.
        None
    }

    fn widen_hint(ty: Type) -> &'static str {
        match ty {
            Type::I32 => "`MOVSXD(wide, x)` sign-extends it",
            Type::U32 => "`MOV(x, x)` zero-extends it in place (a 32-bit write clears the upper half)",
            Type::I8 | Type::I16 => "`MOVSX(wide, x)` sign-extends it",
            _ => "`MOVZX(wide.r32(), x)` zero-extends it",
        }
    }

    fn value_class(ty: Type) -> RegClass {
        if ty.is_float() { VEC } else { GP }
    }

    fn gen_move(dst: Reg, src: Reg, class: RegClass, target: &Target) -> (u32, [Operand; 2]) {
        if class == VEC {
            let code = if has(target, iced_x86::CpuidFeature::AVX) {
                Code::VEX_Vmovaps_xmm_xmmm128
            } else {
                Code::Movaps_xmm_xmmm128
            };
            (code as u32, [Operand::Reg(dst.xmm()), Operand::Reg(src.xmm())])
        } else {
            (Code::Mov_r64_rm64 as u32, [Operand::Reg(dst.r64()), Operand::Reg(src.r64())])
        }
    }

    fn gen_load_arg(dst: Reg, ty: Type, offset: i32, target: &Target) -> (u32, [Operand; 2]) {
        let avx = has(target, iced_x86::CpuidFeature::AVX);
        let mem = Mem::base_disp(regs::ARG_AREA, offset as i64);
        let (code, dst) = match ty {
            Type::F64 if avx => (Code::VEX_Vmovsd_xmm_m64, dst.xmm()),
            Type::F64 => (Code::Movsd_xmm_xmmm64, dst.xmm()),
            Type::F32 if avx => (Code::VEX_Vmovss_xmm_m32, dst.xmm()),
            Type::F32 => (Code::Movss_xmm_xmmm32, dst.xmm()),
            _ => (Code::Mov_r64_rm64, dst.r64()),
        };
        (code as u32, [Operand::Reg(dst), Operand::Mem(mem)])
    }

    fn visit(target: &Target, vregs: &[VRegInfo], opcode: u32, ops: &[Operand], visit: &mut impl RegVisitor) {
        let Some(form) = Forms::get().form(code_of(opcode)) else {
            return;
        };
        match &form.alloc_plan {
            Some(plan) if opcode & (REP | REPNE) == 0 => {
                let vec_units = if select::high_vectors_ok(form, target) { VEC_ALL } else { VEC_LOW };
                visit_planned(plan, vec_units, vregs, ops, visit)
            }
            _ => visit_form(form, target, vregs, opcode, ops, visit),
        }
    }

    fn unit(reg: Reg) -> Option<u8> {
        iced(reg).and_then(unit_of)
    }

    fn class_units(target: &Target, class: RegClass) -> UnitSet {
        let avx512 = has(target, iced_x86::CpuidFeature::AVX512F);
        match class {
            GP => GP_ALLOC,
            VEC if avx512 => VEC_ALL,
            VEC => VEC_LOW,
            MASK if avx512 => MASK_ALLOC,
            _ => UnitSet::EMPTY,
        }
    }

    fn flow(opcode: u32, ops: &[Operand]) -> Flow {
        let control = code_of(opcode).flow_control();
        if control == FlowControl::Next {
            return Flow::Next; // most instructions: no need to look for a label
        }
        if matches!(control, FlowControl::Call | FlowControl::IndirectCall) {
            return Flow::Call;
        }
        let label = ops.iter().find_map(|o| if let Operand::Label(l) = o { Some(*l) } else { None });
        match (control, label) {
            // XBEGIN goes on, or to its fallback when the transaction aborts.
            (FlowControl::ConditionalBranch | FlowControl::XbeginXabortXend, Some(l)) => Flow::Cond(l),
            (FlowControl::UnconditionalBranch, Some(l)) => Flow::Jump(l),
            (FlowControl::Return | FlowControl::IndirectBranch | FlowControl::UnconditionalBranch, _) => Flow::Exit,
            _ => Flow::Next,
        }
    }

    fn as_move(opcode: u32, ops: &[Operand]) -> Option<(Reg, Reg)> {
        let [Operand::Reg(d), Operand::Reg(s)] = ops else {
            return None;
        };
        let m = code_of(opcode).mnemonic();
        let gp64 = m == Mnemonic::Mov && d.r64() == *d && s.r64() == *s;
        use Mnemonic::*;
        let vec = matches!(
            m,
            Movaps
                | Movapd
                | Movdqa
                | Movups
                | Movupd
                | Movdqu
                | Vmovaps
                | Vmovapd
                | Vmovups
                | Vmovupd
                | Vmovdqa
                | Vmovdqu
                | Vmovdqa32
                | Vmovdqa64
                | Vmovdqu8
                | Vmovdqu16
                | Vmovdqu32
                | Vmovdqu64
        );
        (gp64 || vec).then_some((*d, *s))
    }

    fn call_conv(abi: Abi) -> Result<CallConv> {
        abi::call_conv(abi)
    }

    fn emit(body: &Body, units: &[Option<u8>], frame: &Frame, conv: &CallConv) -> Result<CodeObject> {
        encode::emit(body, units, frame, conv)
    }

    fn dirties_upper(opcode: u32) -> bool {
        Forms::get().form(code_of(opcode)).is_some_and(|f| f.dirties_upper)
    }

    fn extension_name(e: Extension) -> &'static str {
        target::extension_name(e)
    }

    fn extension_by_name(name: &str) -> Option<Extension> {
        target::extension_by_name(name)
    }
}

/// The registers of an instruction of `form`, whatever its operands (see `X86_64::visit`).
fn visit_form(
    form: &forms::Form,
    target: &Target,
    vregs: &[VRegInfo],
    opcode: u32,
    ops: &[Operand],
    visit: &mut impl RegVisitor,
) {
    let roles = match (&form.idiom_roles, &form.mem_roles) {
        (Some(idiom), _) if all_same_reg(ops) => idiom,
        (_, Some(mem)) if ops.iter().any(|o| matches!(o, Operand::Mem(_))) => mem,
        _ => &form.roles,
    };
    let vec_units = if select::high_vectors_ok(form, target) { VEC_ALL } else { VEC_LOW };
    let legacy = form.encoding == EncodingKind::Legacy;
    // Gathers and scatters clear their mask as they go.
    let mask_role = if form.needs_mask { Role::UseDef } else { Role::Use };
    for (i, op) in ops.iter().enumerate() {
        if let Operand::MemMask(k) = op {
            visit.reg(*k, mask_role, MASK_ALLOC);
            continue;
        }
        let (slot, role) = (form.slots.get(i), roles.get(i));
        let (Some(slot), Some(role)) = (slot, role) else {
            continue;
        };
        match op {
            Operand::Reg(_) | Operand::Masked(_) => {
                let (r, merge) = match op {
                    Operand::Masked(m) => {
                        visit.reg(m.mask, mask_role, MASK_ALLOC);
                        (m.reg, !m.zeroing)
                    }
                    Operand::Reg(r) => (*r, false),
                    _ => unreachable!(),
                };
                // A write mask on a mask-register destination (compares, VFPCLASS, VPTESTM)
                // zeroes the bits it masks off: the old value is not read.
                let merge = merge && !matches!(slot, Slot::K { .. });
                let mut role = match role {
                    FormRole::None => continue,
                    FormRole::Use => Role::Use,
                    FormRole::Def if merge => Role::UseDef,
                    FormRole::Def => Role::Def,
                    FormRole::UseDef => Role::UseDef,
                };
                if role == Role::Def && partial_write(r, vregs, legacy) {
                    role = Role::UseDef;
                }
                if role == Role::UseDef && i == 0 && legacy && scalar_result(form.code.mnemonic()) {
                    role = Role::Def;
                }
                if role == Role::Use && form.checks & forms::checks::DISTINCT != 0 {
                    role = Role::UseLate;
                }
                let allowed = match slot {
                    Slot::Fixed(f) => unit_of(*f).map_or(UnitSet::EMPTY, |u| UnitSet::of(&[u])),
                    Slot::Gp { .. } => GP_ALLOC,
                    Slot::Vec { .. } => vec_units,
                    Slot::Bank { .. } => UnitSet::EMPTY,
                    // Both registers of a mask pair are written.
                    Slot::KPair => {
                        if let Some(k) = iced(r) {
                            visit.reg(r, role, UnitSet::EMPTY);
                            visit.reg(regs::phys(forms::add_reg(k, 1)), role, UnitSet::EMPTY);
                        }
                        continue;
                    }
                    // All four registers of a block are read.
                    Slot::Block { .. } => {
                        for k in 0..4 {
                            match (r.vreg(), iced(r)) {
                                (Some(v), _) => visit.reg(Reg::virt(VEC, r.view(), v.0 + k), role, vec_units),
                                (None, Some(first)) => {
                                    visit.reg(regs::phys(forms::add_reg(first, k)), role, UnitSet::EMPTY)
                                }
                                _ => {}
                            }
                        }
                        continue;
                    }
                    _ => MASK_ALLOC,
                };
                visit.reg(r, role, allowed);
            }
            Operand::Mem(m) => {
                let gp_units = if form.encoding == EncodingKind::D3NOW { GP_LOW } else { GP_ALLOC };
                visit_mem(m, gp_units, vec_units, visit)
            }
            _ => {}
        }
    }
    let implicit = if opcode & REP != 0 || opcode & REPNE != 0 { &form.rep_implicit } else { &form.implicit };
    for (r, role) in implicit {
        let role = match role {
            FormRole::None => continue,
            FormRole::Use => Role::Use,
            FormRole::Def => Role::Def,
            FormRole::UseDef => Role::UseDef,
        };
        visit.reg(regs::phys(*r), role, UnitSet::EMPTY);
    }
}

/// The registers of an instruction of a form with a plan, as the general path of
/// `X86_64::visit` reports them (for these forms its cases come down to these).
#[inline(always)]
fn visit_planned(
    plan: &forms::AllocPlan,
    vec_units: UnitSet,
    vregs: &[VRegInfo],
    ops: &[Operand],
    visit: &mut impl RegVisitor,
) {
    // The role of each form role (by `FormRole as usize`; `None` is skipped) and the units of
    // each kind of operand (by `PlanKind as usize`).
    const ROLES: [Role; 4] = [Role::Use, Role::Use, Role::Def, Role::UseDef];
    let units = [GP_ALLOC, vec_units, vec_units, MASK_ALLOC, UnitSet::EMPTY];
    for (i, op) in ops.iter().enumerate() {
        let (r, merge) = match op {
            Operand::Reg(r) => (*r, false),
            // A memory operand's write mask, moved after the operands.
            Operand::MemMask(k) => {
                visit.reg(*k, Role::Use, MASK_ALLOC);
                continue;
            }
            Operand::Mem(m) if i < plan.ops().len() => {
                visit_mem(m, GP_ALLOC, vec_units, visit);
                continue;
            }
            Operand::Masked(m) if i < plan.ops().len() => {
                visit.reg(m.mask, Role::Use, MASK_ALLOC);
                (m.reg, !m.zeroing)
            }
            _ => continue,
        };
        let Some(&(role, kind)) = plan.ops().get(i) else {
            continue;
        };
        if role == FormRole::None || kind == PlanKind::None {
            continue;
        }
        // Looked up rather than branched on: the operands of consecutive instructions differ.
        let mut role = ROLES[role as usize];
        // Merge masking keeps the lanes it leaves (a mask register's masked bits are zeroed), and
        // so does a legacy xmm write of a wider value.
        if role == Role::Def
            && ((merge && kind != PlanKind::K) || (kind == PlanKind::LegacyVec && partial_write(r, vregs, true)))
        {
            role = Role::UseDef;
        }
        let allowed = units[kind as usize];
        visit.reg(r, role, allowed);
    }
}

fn visit_mem(m: &Mem, gp_units: UnitSet, vec_units: UnitSet, visit: &mut impl RegVisitor) {
    for r in [m.base, m.index].into_iter().flatten() {
        if r == regs::ARG_AREA || r == Reg::CONSTANTS || r == Reg::LOCALS {
            continue;
        }
        match r.is_virtual() && r.class() == VEC {
            // A VSIB index lasts through the write: the CPU refuses a destination that is
            // also the index.
            true => visit.reg(r, Role::UseLate, vec_units),
            false => visit.reg(r, Role::Use, gp_units),
        }
    }
}

/// Moves a memory operand's decorations (its write mask and segment, written right after it)
/// after the other operands and before a rounding mode, where they take no form slot; whether
/// it moved any.
fn mask_after_operands(ops: &mut Vec<Operand>) -> bool {
    let decoration = |o: &Operand| matches!(o, Operand::MemMask(_) | Operand::Segment(_));
    if let Some(first) = ops.iter().position(decoration) {
        let end = ops.iter().rposition(|o| !matches!(o, Operand::Rounding(_)) && !decoration(o)).map_or(0, |p| p + 1);
        if first >= end {
            return false;
        }
        let decorations: Vec<Operand> = ops.iter().copied().filter(decoration).collect();
        ops.retain(|o| !decoration(o));
        let end = ops.iter().rposition(|o| !matches!(o, Operand::Rounding(_))).map_or(0, |p| p + 1);
        ops.splice(end..end, decorations);
        return true;
    }
    false
}

/// MOVDIR64B and ENQCMD(S) take the source address in the size of the register that holds the
/// destination address: one address size for both (`movdir64b eax, [ecx]`, `movdir64b rax,
/// [rcx]`).
fn check_address_register(code: Code, ops: &[Operand], thirty_two: bool) -> Result<()> {
    if ops.iter().any(|o| matches!(o, Operand::Mem(m) if is_32_bit_address(m) != thirty_two)) {
        let bits = if thirty_two { "32-bit registers here (`[ecx]`)" } else { "64-bit registers here" };
        return Err(crate::Error::new(
            crate::ErrorKind::InvalidOperands,
            format!("{:?} takes its source address in the size of its address register: {bits}", code.mnemonic()),
        ));
    }
    Ok(())
}

/// MPX's address operands have no RIP-relative form (so no constant), and BNDLDX/BNDSTX use
/// the index register as a pointer: the CPU ignores a scale, which is therefore refused.
fn check_mpx_address(code: Code, ops: &[Operand], index_is_pointer: bool) -> Result<()> {
    let Some(m) = ops.iter().find_map(|o| if let Operand::Mem(m) = o { Some(m) } else { None }) else { return Ok(()) };
    let message = if m.base == Some(Reg::CONSTANTS) {
        "takes no RIP-relative address (a constant)"
    } else if index_is_pointer && m.index.is_some() && m.scale != 1 {
        "uses its index register as a pointer, unscaled: the CPU ignores a scale (write `[base + index]`)"
    } else {
        return Ok(());
    };
    Err(crate::Error::new(crate::ErrorKind::InvalidMemory, format!("{:?} {message}", code.mnemonic())))
}

/// 3DNow! instructions address through rax-rdi only: iced-x86, peach's encoder for them, leaves
/// out their REX prefix (so `[r15]` would become `[rdi]`). Virtual registers are kept there
/// by the allocator; a physical r8-r15 is an error.
fn check_3dnow_address(code: Code, ops: &[Operand]) -> Result<()> {
    let high =
        |r: Option<Reg>| r.filter(|r| !r.is_virtual()).and_then(iced).is_some_and(|x| x.is_gpr() && x.number() >= 8);
    if ops.iter().any(|o| matches!(o, Operand::Mem(m) if high(m.base) || high(m.index))) {
        return Err(crate::Error::new(
            crate::ErrorKind::InvalidMemory,
            format!(
                "{:?} (3DNow!) addresses through rax-rdi only: peach's encoder for it leaves out the REX prefix r8-r15 need",
                code.mnemonic()
            ),
        ));
    }
    Ok(())
}

/// Whether `m` addresses through physical 32-bit registers (`[ecx]`: an address-size prefix).
fn is_32_bit_address(m: &Mem) -> bool {
    let thirty_two = |r: Option<Reg>| r.filter(|r| !r.is_virtual()).and_then(iced).is_some_and(|x| x.is_gpr32());
    thirty_two(m.base) || thirty_two(m.index)
}

/// The checks of `form`'s [`forms::checks`] bits on an instruction's operands.
fn check_form(f: &Function, form: &forms::Form, ops: &mut [Operand]) -> Result<()> {
    use forms::checks::*;
    let (code, on) = (form.code, |bit: u16| form.checks & bit != 0);
    if on(DISTINCT) {
        check_distinct(code, ops)?;
    }
    if on(VSIB) {
        check_vsib_distinct(code, ops)?;
    }
    if on(MASK_PAIR) {
        check_mask_pair(code, ops)?;
    }
    if on(THREE_D_NOW) {
        check_3dnow_address(code, ops)?;
    }
    if on(BLOCK)
        && let Some(i) = form.slots.iter().position(|s| matches!(s, forms::Slot::Block { .. }))
    {
        check_block(f, code, ops, i)?;
    }
    if on(MPX) {
        check_mpx_address(code, ops, on(MIB))?;
    }
    if on(ADDRESS_REG32 | ADDRESS_REG64) {
        check_address_register(code, ops, on(ADDRESS_REG32))?;
    }
    Ok(())
}

/// A block of four vector registers (`v4fmaddps zmm0, zmm4+3, [rax]`) is named by its first:
/// a physical register whose number is a multiple of 4, or the first of a virtual block.
/// A block written out (`zmm4+3`) becomes its first register.
fn check_block(f: &Function, code: Code, ops: &mut [Operand], i: usize) -> Result<()> {
    let Some(op) = ops.get_mut(i) else { return Ok(()) };
    let first = match *op {
        Operand::List(l) => l.first,
        Operand::Reg(r) => r,
        _ => return Ok(()),
    };
    *op = Operand::Reg(first);
    let ok = match first.vreg() {
        Some(_) => f.group_starting(first).is_some_and(|g| g.count == 4 && g.align == 4),
        None => iced(first).is_some_and(|r| r.number() % 4 == 0),
    };
    if ok {
        return Ok(());
    }
    let what = if first.is_virtual() {
        "a virtual register outside a block".to_string()
    } else {
        iced(first).map_or("?".into(), |r| format!("{r:?}").to_ascii_lowercase())
    };
    Err(crate::Error::new(
        crate::ErrorKind::InvalidOperands,
        format!(
            "{:?} reads a block of four registers named by the first, whose number is a multiple of 4 (`zmm4`, or in full `zmm4+3`), or by the first of `f.zmm_block()`/`f.xmm_block()`; {what} is not one",
            code.mnemonic()
        ),
    ))
}

/// A mask pair (`vp2intersectd k2, ...` writes k2 and k3) is an even physical mask register.
fn check_mask_pair(code: Code, ops: &[Operand]) -> Result<()> {
    let even = match ops.first() {
        Some(Operand::Reg(r)) => iced(*r).is_some_and(|k| k.is_k() && k.number() % 2 == 0),
        _ => false,
    };
    if even {
        return Ok(());
    }
    Err(crate::Error::new(
        crate::ErrorKind::InvalidOperands,
        format!(
            "{:?} writes a pair of mask registers, named by the first: an even physical one (k0, k2, k4, k6)",
            code.mnemonic()
        ),
    ))
}

/// A gather's destination, index and (AVX2) mask must be three different registers: the CPU
/// raises #UD otherwise (Intel SDM, VGATHERDPS and friends).
fn check_vsib_distinct(code: Code, ops: &[Operand]) -> Result<()> {
    let index = ops.iter().find_map(|o| match o {
        Operand::Mem(m) => m.index,
        _ => None,
    });
    let dest = match ops.first() {
        Some(Operand::Reg(r)) => Some(*r),
        Some(Operand::Masked(m)) => Some(m.reg),
        _ => None,
    };
    let vector_mask = match ops.get(2) {
        Some(Operand::Reg(r)) if code.op_code().encoding() == EncodingKind::VEX => Some(*r),
        _ => None,
    };
    let regs = [dest, index, vector_mask];
    for (i, a) in regs.iter().enumerate() {
        for b in &regs[i + 1..] {
            if let (Some(a), Some(b)) = (a, b)
                && same_register(*a, *b)
            {
                return Err(crate::Error::new(
                    crate::ErrorKind::InvalidOperands,
                    format!(
                        "{}'s destination, index{} must be different registers (the CPU raises #UD otherwise)",
                        format!("{:?}", code.mnemonic()).to_uppercase(),
                        if vector_mask.is_some() { " and mask" } else { "" }
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Instructions whose destination must differ from every source register: the AVX512-FP16
/// complex multiplies raise #UD otherwise (Intel SDM, VFCMULCPH and friends).
fn distinct_destination(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(m, Vfcmulcph | Vfmulcph | Vfcmaddcph | Vfmaddcph | Vfcmulcsh | Vfmulcsh | Vfcmaddcsh | Vfmaddcsh)
}

/// A destination written as one of the sources of such an instruction: an error, as the CPU
/// would refuse it.
fn check_distinct(code: Code, ops: &[Operand]) -> Result<()> {
    let dst = match ops.first() {
        Some(Operand::Reg(r)) => *r,
        Some(Operand::Masked(m)) => m.reg,
        _ => return Ok(()),
    };
    if ops[1..].iter().any(|o| matches!(o, Operand::Reg(r) if same_register(*r, dst))) {
        return Err(crate::Error::new(
            crate::ErrorKind::InvalidOperands,
            format!(
                "{}'s destination must differ from its sources (the CPU raises #UD when they are the same register)",
                format!("{:?}", code.mnemonic()).to_uppercase()
            ),
        ));
    }
    Ok(())
}

/// Legacy-SSE scalar operations whose result does not depend on the destination's old low lane:
/// the lanes they keep are treated as undefined, so a fresh register can be their destination
/// (as it is in hand-written assembly).
fn scalar_result(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(m, Cvtsi2sd | Cvtsi2ss | Cvtss2sd | Cvtsd2ss | Sqrtss | Sqrtsd | Rcpss | Rsqrtss | Roundss | Roundsd)
}

/// A write that keeps part of the old value: 8/16-bit writes of a wider general-purpose value,
/// and legacy-SSE xmm writes of a value also used as ymm/zmm.
fn partial_write(r: Reg, vregs: &[VRegInfo], legacy: bool) -> bool {
    match r.vreg() {
        Some(i) => {
            let max = vregs.get(i.index()).map_or(0, |v| v.max_view);
            match r.class() {
                GP => r.view() < VIEW_32 && max > r.view(),
                VEC => legacy && max > r.view(),
                _ => false,
            }
        }
        None => iced(r).is_some_and(|x| x.is_gpr() && x.size() < 4),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
#[cfg(test)]
mod unwind_tests;
