//! A direct encoder for the legacy forms of the 32- and 64-bit integer instructions with plain
//! operands (general-purpose registers, `[base + index*scale + disp]` or a pool constant as for
//! the VEX encoder, immediates): the loop counters, pointer bumps and address arithmetic around
//! a kernel's vector code, encoded without building an iced instruction. Everything else (8- and
//! 16-bit operands, prefixes, implicit operands, other RIP-relative operands, branches) goes
//! through iced. As for the VEX encoder, debug
//! builds encode every instruction written here with iced too and compare the bytes.
//!
//! The layout is the Intel SDM's (volume 2, 2.1): `REX` (`0100WRXB`, when W or a high register
//! needs it), the opcode map's escape bytes (`0F`, `0F 38`, `0F 3A`), the opcode (plus the
//! register, for `+rd` forms), ModRM, SIB, displacement and immediate.

use iced_x86::{MandatoryPrefix, OpCodeInfo, OpCodeOperandKind as K, OpCodeTableKind};

use super::vex::{Rm, append, memory, put_modrm};
use crate::ir::{Operand, Reg};

/// Where an operand goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// ModRM.reg.
    Reg,
    /// ModRM.rm: a register or memory.
    Rm,
    /// The low three bits of the opcode (`+rd`).
    Opcode,
    /// An immediate of 1, 4 or 8 bytes; `signed` when the CPU sign-extends it (the value must
    /// then fit the signed range).
    Imm { bytes: u8, signed: bool },
}

/// How to encode one legacy form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LegacyPlan {
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
    /// The plan for a form, if it is a legacy form of 32- or 64-bit operands with plain operands
    /// only.
    pub(crate) fn new(op: &OpCodeInfo) -> Option<LegacyPlan> {
        let plain = op.encoding() == iced_x86::EncodingKind::Legacy
            && matches!(op.mandatory_prefix(), MandatoryPrefix::None | MandatoryPrefix::PNP)
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
                K::r32_reg | K::r64_reg => Place::Reg,
                K::r32_rm | K::r64_rm | K::r32_or_mem | K::r64_or_mem | K::mem => Place::Rm,
                K::r32_opcode | K::r64_opcode => Place::Opcode,
                K::imm8 => Place::Imm { bytes: 1, signed: false },
                K::imm8sex32 | K::imm8sex64 => Place::Imm { bytes: 1, signed: true },
                K::imm32 => Place::Imm { bytes: 4, signed: false },
                K::imm32sex64 => Place::Imm { bytes: 4, signed: true },
                K::imm64 => Place::Imm { bytes: 8, signed: false },
                _ => return None,
            };
        }
        let places_used = &places[..op.op_count() as usize];
        let modrm = places_used.iter().any(|p| matches!(p, Place::Reg | Place::Rm));
        // A ModRM form names its reg field by an operand or a digit, and an opcode-register form
        // has no ModRM.
        let in_opcode = places_used.contains(&Place::Opcode);
        if modrm == in_opcode || (op.group_index() >= 0) != (modrm && !places_used.contains(&Place::Reg)) {
            return None;
        }
        Some(LegacyPlan {
            opcode,
            len: len as u8,
            // 64-bit operands take REX.W, except where 64 bits are the default (`push`).
            w: op.operand_size() == 64 && !op.default_op_size64() && !op.force_op_size64(),
            digit: op.group_index().max(0) as u8,
            places,
            count: op.op_count() as u8,
        })
    }

    /// The bytes of immediate it writes last (a RIP-relative displacement stands before them).
    pub(crate) fn imm_bytes(&self) -> usize {
        self.places[..self.count as usize]
            .iter()
            .map(|p| if let Place::Imm { bytes, .. } = p { *bytes as usize } else { 0 })
            .sum()
    }

    /// Appends the encoding of the form with `ops` to `out`, or returns `false` and leaves
    /// `out` as it was if an operand is out of this encoder's reach. `number` gives a
    /// register's hardware number (see [`super::vex::VexPlan::encode`]).
    pub(crate) fn encode(&self, ops: &[Operand], number: impl Fn(Reg, bool) -> Option<u8>, out: &mut Vec<u8>) -> bool {
        self.encode_with(ops, number, false, out)
    }

    /// [`LegacyPlan::encode`] for an instruction that reads a pool constant (see
    /// [`super::vex::VexPlan::encode_reading`]).
    pub(crate) fn encode_reading(
        &self,
        ops: &[Operand],
        number: impl Fn(Reg, bool) -> Option<u8>,
        out: &mut Vec<u8>,
    ) -> bool {
        self.encode_with(ops, number, true, out)
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
                (Place::Rm, Operand::Reg(r)) => rm = Some(Rm::Reg(number(*r, false)?)),
                (Place::Rm, Operand::Mem(m)) if m.broadcast == 0 => rm = Some(memory(m, |r| number(r, true), rip)?),
                (Place::Opcode, Operand::Reg(r)) => in_opcode = number(*r, false)?,
                (Place::Imm { bytes, signed }, &Operand::Imm(v)) => {
                    let fits = match (bytes, signed) {
                        (1, true) => (-128..128).contains(&v),
                        (1, false) => (-128..256).contains(&v),
                        (4, true) => i32::try_from(v).is_ok(),
                        (4, false) => (i32::MIN as i64..=u32::MAX as i64).contains(&v),
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
        // At most REX, four opcode bytes, ModRM, SIB and disp32 (11), then up to 8 bytes of
        // immediate, written whole: 19 bytes, written here and appended at once.
        let mut buf = [0u8; 24];
        let mut n = 0;
        if rex != 0 {
            buf[0] = 0x40 | rex;
            n = 1;
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

#[cfg(test)]
mod tests {
    use super::super::forms::Forms;

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
}
