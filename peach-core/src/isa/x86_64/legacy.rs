//! A direct encoder for the legacy forms with plain operands: the 32- and 64-bit integer
//! instructions (general-purpose registers, `[base + index*scale + disp]` or a pool constant as
//! for the VEX encoder, immediates), the loop counters, pointer bumps and address arithmetic
//! around a kernel's vector code, bytes and words in memory (`movzx`, `cmp byte ptr`), and the
//! SSE forms (xmm registers 0-15, with their mandatory `66`/`F2`/`F3` prefix), encoded without
//! building an iced instruction. Everything else (8- and 16-bit registers, 16-bit operations,
//! MMX, other prefixes, other RIP-relative operands, branches) goes through iced. As for the VEX encoder, debug builds encode every instruction
//! written here with iced too and compare the bytes.
//!
//! The layout is the Intel SDM's (volume 2, 2.1): the mandatory prefix, `REX` (`0100WRXB`, when
//! W or a high register needs it), the opcode map's escape bytes (`0F`, `0F 38`, `0F 3A`), the
//! opcode (plus the register, for `+rd` forms), ModRM, SIB, displacement and immediate.

use iced_x86::{Code, MandatoryPrefix, OpCodeInfo, OpCodeOperandKind as K, OpCodeTableKind, Register};

use super::forms::{Form, ImmKind, Slot, add_reg};
use super::vex::{DirectPlan, Rm, append, memory, put_modrm};
use super::{regs, select};
use crate::ir::{Operand, Reg};

/// Where an operand goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// ModRM.reg.
    Reg,
    /// ModRM.rm: a register, memory, or either (the form decides: an encoding the form does
    /// not take would be another instruction).
    Rm { reg: bool, mem: bool },
    /// The low three bits of the opcode (`+rd`).
    Opcode,
    /// An immediate of 1, 4 or 8 bytes; `extends_to` the operation's size in bits when the CPU
    /// sign-extends it to that size (the value must then be one the extension gives), else 0.
    Imm { bytes: u8, extends_to: u8 },
    /// The constant 1 the opcode implies (`shl r/m64, 1` as `D1 /4`): no byte.
    One,
}

/// How to encode one legacy form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LegacyPlan {
    /// The mandatory prefix (`66`, `F2` or `F3`), or 0 for none.
    prefix: u8,
    /// The escape bytes and the opcode, `len` of them.
    opcode: [u8; 4],
    len: u8,
    /// REX.W.
    w: bool,
    /// ModRM.reg when the opcode fixes it (`/digit`).
    digit: u8,
    places: [Place; 3],
    count: u8,
}

impl LegacyPlan {
    /// The plan for a form, if it is a legacy form of 32- or 64-bit or xmm operands with plain
    /// operands only.
    pub(crate) fn new(op: &OpCodeInfo) -> Option<LegacyPlan> {
        let prefix = match op.mandatory_prefix() {
            MandatoryPrefix::None | MandatoryPrefix::PNP => 0,
            MandatoryPrefix::P66 => 0x66,
            MandatoryPrefix::PF3 => 0xF3,
            MandatoryPrefix::PF2 => 0xF2,
        };
        let plain = op.encoding() == iced_x86::EncodingKind::Legacy
            && matches!(op.operand_size(), 0 | 32 | 64)
            && matches!(op.address_size(), 0 | 64)
            && op.rm_group_index() < 0
            && op.op_count() as usize <= 3
            && op.op_count() > 0
            && !op.fwait();
        if !plain {
            return None;
        }
        let escape: &[u8] = match op.table() {
            OpCodeTableKind::Normal => &[],
            OpCodeTableKind::T0F => &[0x0F],
            OpCodeTableKind::T0F38 => &[0x0F, 0x38],
            OpCodeTableKind::T0F3A => &[0x0F, 0x3A],
            _ => return None,
        };
        let code = op.op_code();
        let code_bytes: &[u8] = match op.op_code_len() {
            1 => &[code as u8],
            2 => &[(code >> 8) as u8, code as u8],
            _ => return None,
        };
        let mut opcode = [0u8; 4];
        let len = escape.len() + code_bytes.len();
        opcode.get_mut(..len)?.copy_from_slice(&[escape, code_bytes].concat());
        let mut places = [Place::Reg; 3];
        for (i, kind) in op.op_kinds().iter().enumerate() {
            places[i] = match kind {
                K::r32_reg | K::r64_reg | K::xmm_reg => Place::Reg,
                K::r32_rm | K::r64_rm | K::xmm_rm => Place::Rm { reg: true, mem: false },
                K::r32_or_mem | K::r64_or_mem | K::xmm_or_mem => Place::Rm { reg: true, mem: true },
                // Bytes and words in memory (`movzx eax, byte ptr [rsi]`, `cmp byte ptr [rdi],
                // 0`); their registers are out of reach (`number` names none), left to iced.
                K::r8_or_mem | K::r16_or_mem => Place::Rm { reg: false, mem: true },
                K::mem => Place::Rm { reg: false, mem: true },
                K::r32_opcode | K::r64_opcode => Place::Opcode,
                K::imm8 => Place::Imm { bytes: 1, extends_to: 0 },
                K::imm8sex32 => Place::Imm { bytes: 1, extends_to: 32 },
                K::imm8sex64 => Place::Imm { bytes: 1, extends_to: 64 },
                K::imm32 => Place::Imm { bytes: 4, extends_to: 0 },
                K::imm32sex64 => Place::Imm { bytes: 4, extends_to: 64 },
                K::imm64 => Place::Imm { bytes: 8, extends_to: 0 },
                K::imm8_const_1 => Place::One,
                _ => return None,
            };
        }
        let places_used = &places[..op.op_count() as usize];
        let modrm = places_used.iter().any(|p| matches!(p, Place::Reg | Place::Rm { .. }));
        // A ModRM form names its reg field by an operand or a digit, and an opcode-register form
        // has no ModRM.
        let in_opcode = places_used.contains(&Place::Opcode);
        // One immediate at most (`extrq xmm, imm8, imm8` has two).
        if places_used.iter().filter(|p| matches!(p, Place::Imm { .. })).count() > 1 {
            return None;
        }
        if modrm == in_opcode || (op.group_index() >= 0) != (modrm && !places_used.contains(&Place::Reg)) {
            return None;
        }
        Some(LegacyPlan {
            prefix,
            opcode,
            len: len as u8,
            // 64-bit operands take REX.W, except where 64 bits are the default (`push`).
            w: op.operand_size() == 64 && !op.default_op_size64() && !op.force_op_size64(),
            digit: op.group_index().max(0) as u8,
            places,
            count: op.op_count() as u8,
        })
    }
}

impl DirectPlan for LegacyPlan {
    type Ask = bool;

    fn imm_bytes(&self) -> usize {
        self.places[..self.count as usize]
            .iter()
            .map(|p| if let Place::Imm { bytes, .. } = p { *bytes as usize } else { 0 })
            .sum()
    }

    #[inline(always)]
    fn encode_with(
        &self,
        ops: &[Operand],
        number: impl Fn(Reg, bool) -> Option<u8>,
        rip: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        if ops.len() != self.count as usize {
            return false;
        }
        let (mut reg, mut rm, mut in_opcode) = (self.digit, None, 0u8);
        let (mut imm, mut imm_bytes) = (0u64, 0usize);
        // Each operand into its place; `None` for one this encoder cannot write.
        let placed = self.places.iter().zip(ops).try_for_each(|(place, op)| {
            match (*place, op) {
                (Place::Reg, Operand::Reg(r)) => reg = number(*r, false)?,
                (Place::Rm { reg: true, .. }, Operand::Reg(r)) => rm = Some(Rm::Reg(number(*r, false)?)),
                (Place::Rm { mem: true, .. }, Operand::Mem(m)) if m.broadcast == 0 => {
                    rm = Some(memory(m, |r| number(r, true), rip)?)
                }
                (Place::Opcode, Operand::Reg(r)) => in_opcode = number(*r, false)?,
                (Place::One, Operand::Imm(1)) => {}
                (Place::Imm { bytes, extends_to }, &Operand::Imm(v)) => {
                    // A 32-bit operation's value may be written as its unsigned bits (0xFFFF_FFFF
                    // for -1), as selection takes it.
                    let as_32 = if (0..=u32::MAX as i64).contains(&v) { v as u32 as i32 as i64 } else { v };
                    let fits = match (bytes, extends_to) {
                        (1, 32) => (-128..128).contains(&as_32),
                        (1, 64) => (-128..128).contains(&v),
                        (1, _) => (-128..256).contains(&v),
                        (4, 64) => i32::try_from(v).is_ok(),
                        (4, _) => (i32::MIN as i64..=u32::MAX as i64).contains(&v),
                        _ => true,
                    };
                    fits.then_some(())?;
                    (imm, imm_bytes) = (v as u64, bytes as usize);
                }
                _ => return None,
            }
            Some(())
        });
        if placed.is_none() || rip != matches!(rm, Some(Rm::Rip)) {
            return false;
        }
        let (b, x) = match rm {
            Some(rm) => rm.high_bits(),
            None => (in_opcode >> 3, 0),
        };
        let rex = (self.w as u8) << 3 | (reg >> 3) << 2 | x << 1 | b;
        // At most the prefix, REX, four opcode bytes, ModRM, SIB and disp32 (12), then up to 8
        // bytes of immediate, written whole: 20 bytes, written here and appended at once.
        let mut buf = [0u8; 24];
        buf[0] = self.prefix;
        let mut n = (self.prefix != 0) as usize;
        if rex != 0 {
            buf[n] = 0x40 | rex;
            n += 1;
        }
        let len = self.len as usize;
        buf[n..n + len].copy_from_slice(&self.opcode[..len]);
        n += len;
        match rm {
            Some(rm) => n = put_modrm(&mut buf, n, reg, rm, 0),
            None => buf[n - 1] += in_opcode & 7,
        }
        buf[n..n + 8].copy_from_slice(&imm.to_le_bytes());
        n += imm_bytes;
        append(out, &buf, n);
        true
    }
}

/// For a legacy form with alternatives, the one [`super::encode`]'s final choice (the shortest
/// encoding, ties in iced's order) picks when every operand is a register, if that does not
/// depend on which registers: every slot of the form takes a 32/64-bit general-purpose or an
/// xmm register, and every alternative that takes such operands is a legacy form with a plan,
/// the form's extensions, and no alternative names a fixed register instead (`XCHG r32, EAX`
/// is chosen for EAX only). A legacy encoding's length then depends on the registers only through REX, which every
/// alternative needs alike for the same registers; the choice is checked with registers 0-2
/// (no REX) and 8-10 (REX), and must agree.
pub(crate) fn register_choice(form: &Form, by_code: &[Option<Form>]) -> Option<Code> {
    if form.legacy.is_none() || form.alternatives.is_empty() {
        return None;
    }
    // An alternative naming a fixed register in place of one of the form's registers (`XCHG
    // r32, EAX`) is chosen for that register only.
    let fixed = |alt: &Form| {
        alt.slots.len() == form.slots.len()
            && alt.slots.iter().any(|s| matches!(s, Slot::Fixed(_)))
            && !alt.slots.iter().any(|s| matches!(s, Slot::Imm(_)))
    };
    if form.alternatives.iter().filter_map(|c| by_code.get(*c as usize)?.as_ref()).any(fixed) {
        return None;
    }
    let choice = |first: u32| final_choice(form, by_code, &probe(form, first, None)?);
    let low = choice(0)?;
    (choice(8)? == low).then_some(low)
}

/// Operands to try `form`'s choice with: registers `first`, `first + 1`, ... in its register
/// slots (general-purpose of 32 or 64 bits, xmm), `imm` in its immediate slot; `None` for a
/// slot of another kind.
fn probe(form: &Form, first: u32, imm: Option<i64>) -> Option<Vec<Operand>> {
    let reg = |r: Register, n: u32| Operand::Reg(regs::phys(add_reg(r, n)));
    form.slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let n = first + i as u32;
            Some(match slot {
                Slot::Imm(_) => Operand::Imm(imm?),
                Slot::Gp { bits: 64, .. } => reg(Register::RAX, n),
                Slot::Gp { bits: 32, .. } => reg(Register::EAX, n),
                Slot::Vec { bits: 128, .. } => reg(Register::XMM0, n),
                _ => return None,
            })
        })
        .collect()
}

/// The alternative of `form` that `encode::choose_final` takes for the physical operands `ops`,
/// made with the direct encoder: among the legacy alternatives that take them, the shortest
/// encoding, then the shorter immediate, then iced's order; `None` if one of those has no plan
/// or other extensions.
fn final_choice(form: &Form, by_code: &[Option<Form>], ops: &[Operand]) -> Option<Code> {
    let shapes = select::shapes(ops).ok()?;
    let mut best: Option<(Code, usize)> = None;
    for code in &form.alternatives {
        let Some(alt) = by_code.get(*code as usize).and_then(Option::as_ref) else { continue };
        if alt.encoding != iced_x86::EncodingKind::Legacy || !select::matches(alt, &shapes, true) {
            continue;
        }
        let plan = alt.legacy.as_ref()?;
        if alt.features != form.features {
            return None;
        }
        let mut bytes = Vec::new();
        if !plan.encode(ops, super::vex::phys_number, &mut bytes) {
            return None;
        }
        // As `encode::choose_final`: 64 per byte, plus the immediate's bytes for ties.
        let imm: usize = alt.slots.iter().map(|s| if let Slot::Imm(k) = s { k.bytes() as usize } else { 0 }).sum();
        let cost = 64 * bytes.len() + imm;
        if best.is_none_or(|b| cost < b.1) {
            best = Some((alt.code, cost));
        }
    }
    best.map(|b| b.0)
}

/// For a legacy form of registers and one immediate, with alternatives (`ADD r/m64, imm32`,
/// `ADD r/m64, imm8` and `ADD RAX, imm32`): the alternative the final choice (the shortest
/// encoding; ties: the shorter immediate, then iced's order) takes for each class of values,
/// whatever the registers, as long as none of them is one an alternative names (`RAX` here).
/// A value's class is which of the alternatives' immediate kinds it fits: with the registers
/// kept apart, that is all the choice depends on (a legacy encoding's length depends on the
/// registers only through REX, which each alternative needs alike). Made with the form table
/// by trying values at the edges of every kind with registers 1-3 and 9-11; loop counters and
/// pointer bumps (`add rsi, 128`, `sub rcx, 1`) are then encoded straight from the allocation.
#[derive(Clone, Debug)]
pub(crate) struct ImmChoice {
    /// The immediate kinds of the alternatives.
    kinds: [ImmKind; 4],
    count: u8,
    /// By class (bit k set when the value fits `kinds[k]`), the form chosen, where known.
    by_class: [Option<Code>; 16],
    /// The hardware numbers of the registers alternatives name (bit n for register n).
    pub(crate) avoid: u16,
}

impl ImmChoice {
    /// The form the final choice takes for immediate `v` (the registers kept apart from
    /// [`ImmChoice::avoid`]), if known.
    #[inline]
    pub(crate) fn form_for(&self, v: i64) -> Option<Code> {
        let class = self.kinds[..self.count as usize]
            .iter()
            .enumerate()
            .fold(0, |c, (k, kind)| c | (kind.fits(v) as usize) << k);
        self.by_class[class]
    }
}

/// The values a class is tried with: the edges of every immediate kind.
const PROBES: [i64; 22] = [
    0,
    1,
    15,
    16,
    127,
    128,
    -128,
    -129,
    255,
    256,
    32767,
    32768,
    -32768,
    -32769,
    65535,
    65536,
    i32::MAX as i64,
    i32::MAX as i64 + 1,
    i32::MIN as i64,
    i32::MIN as i64 - 1,
    u32::MAX as i64,
    u32::MAX as i64 + 1,
];

/// The [`ImmChoice`] of `form`, if it has one: a legacy form with a plan and alternatives, of
/// general-purpose (32/64-bit) or xmm registers and one immediate, whose alternatives are legacy
/// forms of its extensions with plans; classes where two tries disagree are left unknown.
pub(crate) fn imm_choice(form: &Form, by_code: &[Option<Form>]) -> Option<ImmChoice> {
    if form.legacy.is_none() || form.alternatives.is_empty() {
        return None;
    }
    let imm_at = form.slots.iter().position(|s| matches!(s, Slot::Imm(_)))?;
    let Slot::Imm(own) = form.slots[imm_at] else { return None };
    let plain = |s: &Slot| matches!(s, Slot::Gp { bits: 32 | 64, .. } | Slot::Vec { bits: 128, .. });
    if form.slots.iter().enumerate().any(|(i, s)| i != imm_at && !plain(s)) {
        return None;
    }
    let alternatives: Vec<&Form> =
        form.alternatives.iter().filter_map(|c| by_code.get(*c as usize)?.as_ref()).collect();
    let (mut kinds, mut count, mut avoid) = ([ImmKind::I64; 4], 0usize, 0u16);
    for alt in &alternatives {
        for (i, slot) in alt.slots.iter().enumerate() {
            match slot {
                Slot::Imm(k) if !kinds[..count].contains(k) => {
                    *kinds.get_mut(count)? = *k;
                    count += 1;
                }
                // (`SHL r/m64, CL` in the immediate's place never takes one.)
                Slot::Fixed(r) if i != imm_at => avoid |= 1 << r.number(),
                _ => {}
            }
        }
    }
    let choice = |first: u32, v: i64| final_choice(form, by_code, &probe(form, first, Some(v))?);
    // The registers tried must be apart from those the alternatives name.
    let tried = |first: u32| (0..form.slots.len() as u32).fold(0u16, |m, i| m | 1 << ((first + i) & 15));
    if (tried(1) | tried(9)) & avoid != 0 {
        return None;
    }
    let mut by_class: [Option<Option<Code>>; 16] = [None; 16];
    for v in PROBES.into_iter().filter(|&v| own.fits(v)) {
        let class = kinds[..count].iter().enumerate().fold(0, |c, (k, kind)| c | (kind.fits(v) as usize) << k);
        for first in [1, 9] {
            let chosen = choice(first, v);
            let slot = &mut by_class[class];
            *slot = match *slot {
                None => Some(chosen),
                Some(before) if before == chosen => Some(chosen),
                Some(_) => Some(None),
            };
        }
    }
    let by_class = by_class.map(Option::flatten);
    by_class.iter().any(Option::is_some).then_some(ImmChoice { kinds, count: count as u8, by_class, avoid })
}

#[cfg(test)]
mod tests {
    use super::super::forms::Forms;
    use super::super::vex::DirectPlan;

    #[test]
    fn the_common_integer_forms_have_a_plan() {
        use iced_x86::Code::*;
        let forms = Forms::get();
        for code in [
            Add_rm64_imm8,
            Add_rm64_r64,
            Sub_r64_rm64,
            Lea_r64_m,
            Mov_r64_rm64,
            Mov_r32_imm32,
            Imul_r64_rm64_imm32,
            Cmp_rm32_imm32,
            Test_rm64_r64,
            Shl_rm64_imm8,
            Push_r64,
            Movsxd_r64_rm32,
            Mov_r64_imm64,
            Movzx_r32_rm8,
            Movsx_r64_rm16,
            Cmp_rm8_imm8,
        ] {
            assert!(forms.form(code).is_some_and(|f| f.legacy.is_some()), "{code:?}");
        }
        let legacy = iced_x86::Code::values()
            .filter_map(|c| forms.form(c))
            .filter(|f| f.encoding == iced_x86::EncodingKind::Legacy)
            .count();
        let planned = iced_x86::Code::values().filter_map(|c| forms.form(c)).filter(|f| f.legacy.is_some()).count();
        eprintln!("{planned} of {legacy} legacy forms encoded directly");
    }

    /// The SSE forms kernels use have a plan.
    #[test]
    fn the_common_sse_forms_have_a_plan() {
        use iced_x86::Code::*;
        let forms = Forms::get();
        for code in [
            Movups_xmm_xmmm128,
            Movups_xmmm128_xmm,
            Movaps_xmm_xmmm128,
            Addps_xmm_xmmm128,
            Mulpd_xmm_xmmm128,
            Addsd_xmm_xmmm64,
            Movsd_xmm_xmmm64,
            Xorps_xmm_xmmm128,
            Pxor_xmm_xmmm128,
            Paddd_xmm_xmmm128,
            Shufps_xmm_xmmm128_imm8,
            Pshufd_xmm_xmmm128_imm8,
            Cvtsi2sd_xmm_rm64,
            Movq_xmm_rm64,
            Movd_rm32_xmm,
            Pextrd_rm32_xmm_imm8,
            Roundpd_xmm_xmmm128_imm8,
            Movmskps_r32_xmm,
            Popcnt_r64_rm64,
        ] {
            assert!(forms.form(code).is_some_and(|f| f.legacy.is_some()), "{code:?}");
        }
    }

    /// The encoder gives iced's bytes on every form with a plan, over random operands
    /// (general-purpose and xmm registers 0-15, memory, immediates at the edges of each size).
    #[test]
    fn the_legacy_encoder_matches_iced() {
        use super::super::vex::tests::compare_with_iced;
        let compared = compare_with_iced(
            0x9E37_79B9_7F4A_7C15,
            24,
            |form| form.legacy.as_ref(),
            |plan, ops, out| plan.encode(ops, super::super::vex::phys_number, out),
        );
        eprintln!("{compared} legacy instructions compared with iced");
        assert!(compared > 10_000, "{compared}");
    }
}
