//! A direct encoder for the EVEX forms with plain operands (vector registers 0-31, mask and
//! general-purpose registers, `[base + index*scale + disp]` with or without a broadcast, a write
//! mask with merging or zeroing, imm8; a pool constant, as for the VEX encoder): the instructions
//! of AVX-512 kernels, encoded without building an iced instruction. Rounding and
//! exception-suppression operands, VSIB, other RIP-relative operands, segments and the other
//! operand kinds go through iced. As for the VEX
//! encoder, debug builds encode every instruction written here with iced too and compare the
//! bytes, and a test compares the two on random operands of every form with a plan.
//!
//! The layout is the EVEX prefix of the Intel SDM (volume 2, 2.7.1): `62`, then
//! `[R X B R' 0 m m m]`, `[W vvvv 1 pp]` and `[z L'L b V' aaa]`, with `R X B R' vvvv V'` stored
//! inverted; then the opcode, ModRM, SIB, displacement and imm8 as in legacy encodings, except
//! that a one-byte displacement counts in units of N bytes (2.7.5), N set by the form's tuple
//! type and whether the operand is broadcast.

use iced_x86::{OpCodeInfo, OpCodeOperandKind as K, TupleType};

use super::regs::iced;
use super::vex::{DirectPlan, Rm, append, memory, prefix_fields, put_modrm};
use crate::ir::{Operand, Reg};

/// Where an operand goes, and the kind of register it takes there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// ModRM.reg.
    Reg(Kind),
    /// ModRM.rm: a register of the kind, or memory when `mem`.
    Rm(Kind, bool),
    /// EVEX.vvvv and V'.
    Vvvv(Kind),
    /// An 8-bit immediate.
    Imm8,
}

/// A kind of register, as the encoder asks for a register's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// xmm, ymm or zmm 0-31.
    Vec,
    /// k0-k7.
    Mask,
    /// A general-purpose register of 32 or 64 bits, 0-15.
    Gp,
    /// A memory operand's base or index: a 64-bit general-purpose register, 0-15.
    Addr,
    /// None: memory only.
    None,
}

/// How to encode one EVEX form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EvexPlan {
    opcode: u8,
    /// The opcode map, as P0 holds it: 1 for 0F, 2 for 0F38, 3 for 0F3A, 5 and 6.
    map: u8,
    /// P1 without `vvvv`: W, the fixed 1 and pp.
    p1: u8,
    /// L'L in its place in P2.
    ll: u8,
    /// ModRM.reg when the opcode fixes it (`/digit`).
    digit: u8,
    /// A one-byte displacement's unit (disp8*N) as a power of two, for a plain and for a
    /// broadcast operand.
    n_shift: u8,
    n_shift_broadcast: u8,
    can_mask: bool,
    can_zero: bool,
    can_broadcast: bool,
    places: [Place; 4],
    count: u8,
}

impl EvexPlan {
    /// The plan for a form, if it is an EVEX form with plain operands only.
    pub(crate) fn new(op: &OpCodeInfo) -> Option<EvexPlan> {
        if op.encoding() != iced_x86::EncodingKind::EVEX
            || op.rm_group_index() >= 0
            || op.op_count() > 4
            || op.require_op_mask_register()
        {
            return None;
        }
        let (map, pp, w, ll) = prefix_fields(op)?;
        let (n, n_broadcast) = disp8_units(op.tuple_type())?;
        let (n_shift, n_shift_broadcast) = (n.trailing_zeros() as u8, n_broadcast.trailing_zeros() as u8);
        let mut places = [Place::Imm8; 4];
        for (i, kind) in op.op_kinds().iter().enumerate() {
            places[i] = match kind {
                K::xmm_reg | K::ymm_reg | K::zmm_reg => Place::Reg(Kind::Vec),
                K::k_reg => Place::Reg(Kind::Mask),
                K::r32_reg | K::r64_reg => Place::Reg(Kind::Gp),
                K::xmm_rm | K::ymm_rm | K::zmm_rm => Place::Rm(Kind::Vec, false),
                K::k_rm => Place::Rm(Kind::Mask, false),
                K::r32_rm | K::r64_rm => Place::Rm(Kind::Gp, false),
                K::xmm_or_mem | K::ymm_or_mem | K::zmm_or_mem => Place::Rm(Kind::Vec, true),
                K::r32_or_mem | K::r64_or_mem => Place::Rm(Kind::Gp, true),
                K::mem => Place::Rm(Kind::None, true),
                K::xmm_vvvv | K::ymm_vvvv | K::zmm_vvvv => Place::Vvvv(Kind::Vec),
                K::k_vvvv => Place::Vvvv(Kind::Mask),
                K::imm8 => Place::Imm8,
                _ => return None,
            };
        }
        let has_modrm = places[..op.op_count() as usize].iter().any(|p| matches!(p, Place::Reg(_) | Place::Rm(..)));
        if !has_modrm {
            return None;
        }
        Some(EvexPlan {
            opcode: op.op_code() as u8,
            map,
            p1: w << 7 | 4 | pp,
            ll: ll << 5,
            digit: op.group_index().max(0) as u8,
            n_shift,
            n_shift_broadcast,
            can_mask: op.can_use_op_mask_register(),
            can_zero: op.can_use_zeroing_masking(),
            can_broadcast: op.can_broadcast(),
            places,
            count: op.op_count() as u8,
        })
    }

    fn try_encode(
        &self,
        ops: &[Operand],
        number: &impl Fn(Reg, Kind) -> Option<u8>,
        rip: bool,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let count = self.count as usize;
        let (written, decorations) = (ops.get(..count)?, &ops[count..]);
        let (mut reg, mut vvvv, mut imm) = (self.digit, 0u8, None);
        let mut rm = Rm::Reg(0);
        // Bit 4 of a register in ModRM.rm (EVEX.X), the broadcast, the write mask, zeroing.
        let (mut rm_high, mut broadcast, mut aaa, mut zeroing) = (0u8, false, 0u8, false);
        for (i, (place, op)) in self.places.iter().zip(written).enumerate() {
            let op = match op {
                // A destination's write mask.
                Operand::Masked(m) if i == 0 && self.can_mask && (self.can_zero || !m.zeroing) => {
                    (aaa, zeroing) = (mask(m.mask, number)?, m.zeroing);
                    Operand::Reg(m.reg)
                }
                other => *other,
            };
            match (*place, op) {
                (Place::Reg(kind), Operand::Reg(r)) => reg = number(r, kind)?,
                (Place::Vvvv(kind), Operand::Reg(r)) => vvvv = number(r, kind)?,
                (Place::Rm(kind, _), Operand::Reg(r)) => {
                    let n = number(r, kind)?;
                    (rm, rm_high) = (Rm::Reg(n & 15), n >> 4);
                }
                (Place::Rm(_, true), Operand::Mem(m)) => {
                    broadcast = m.broadcast != 0;
                    if broadcast && !self.can_broadcast {
                        return None;
                    }
                    rm = memory(&m, |r| number(r, Kind::Addr), rip)?;
                }
                (Place::Imm8, Operand::Imm(v)) if (-128..256).contains(&v) => imm = Some(v as u8),
                _ => return None,
            }
        }
        // A memory destination's write mask, written after the operands (merging only).
        match decorations {
            [] => {}
            [Operand::MemMask(k)] if self.can_mask && aaa == 0 => aaa = mask(*k, number)?,
            _ => return None,
        }
        if rip != matches!(rm, Rm::Rip) {
            return None;
        }
        let (b, x) = match rm {
            Rm::Reg(n) => (n >> 3, rm_high),
            Rm::Mem { base, index, .. } => (base >> 3, index.map_or(0, |i| i >> 3)),
            Rm::Rip => (0, 0),
        };
        let (r, r_high) = ((reg >> 3) & 1, reg >> 4);
        let p0 = (r ^ 1) << 7 | (x ^ 1) << 6 | (b ^ 1) << 5 | (r_high ^ 1) << 4 | self.map;
        let p1 = self.p1 | (!vvvv & 15) << 3;
        let p2 = (zeroing as u8) << 7 | self.ll | (broadcast as u8) << 4 | ((vvvv >> 4) ^ 1) << 3 | aaa;
        // Prefix (4), opcode, ModRM, SIB, disp32 and imm8: 12 bytes, written here and appended
        // at once.
        let mut buf = [0u8; 16];
        buf[..5].copy_from_slice(&[0x62, p0, p1, p2, self.opcode]);
        let shift = if broadcast { self.n_shift_broadcast } else { self.n_shift };
        let mut n = put_modrm(&mut buf, 5, reg, rm, shift as u32);
        if let Some(imm) = imm {
            buf[n] = imm;
            n += 1;
        }
        append(out, &buf, n);
        Some(())
    }
}

impl DirectPlan for EvexPlan {
    /// `number` gives a register's hardware number if it is of the kind asked for and this
    /// encoder can name it (see [`phys_number`]).
    type Ask = Kind;

    fn imm_bytes(&self) -> usize {
        self.places[..self.count as usize].contains(&Place::Imm8) as usize
    }

    fn encode_with(
        &self,
        ops: &[Operand],
        number: impl Fn(Reg, Kind) -> Option<u8>,
        rip: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        self.try_encode(ops, &number, rip, out).is_some()
    }
}

/// disp8*N's unit for a tuple type, without and with a broadcast (SDM tables 2-34 and 2-35, as
/// iced names them: `N16b4` is 16 bytes, or 4 when broadcast); powers of two.
fn disp8_units(tuple: TupleType) -> Option<(u8, u8)> {
    use TupleType::*;
    Some(match tuple {
        N1 => (1, 1),
        N2 => (2, 2),
        N4 => (4, 4),
        N8 => (8, 8),
        N16 => (16, 16),
        N32 => (32, 32),
        N64 => (64, 64),
        N8b4 => (8, 4),
        N16b4 => (16, 4),
        N32b4 => (32, 4),
        N64b4 => (64, 4),
        N16b8 => (16, 8),
        N32b8 => (32, 8),
        N64b8 => (64, 8),
        N4b2 => (4, 2),
        N8b2 => (8, 2),
        N16b2 => (16, 2),
        N32b2 => (32, 2),
        N64b2 => (64, 2),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// The hardware number of physical register `r` if it is of `kind` and this encoder can name
/// it: vector registers 0-31, k0-k7, general-purpose registers of 32 or 64 bits 0-15 (64 bits
/// for an address).
pub(super) fn phys_number(r: Reg, kind: Kind) -> Option<u8> {
    let x = iced(r)?;
    let n = x.number() as u8;
    let ok = match kind {
        Kind::Vec => (x.is_xmm() || x.is_ymm() || x.is_zmm()) && n < 32,
        Kind::Mask => x.is_k() && n < 8,
        Kind::Gp => (x.is_gpr32() || x.is_gpr64()) && n < 16,
        Kind::Addr => x.is_gpr64() && n < 16,
        Kind::None => false,
    };
    ok.then_some(n)
}

/// The number of a write mask: k1-k7 (k0 means no mask, and is left to iced to refuse).
fn mask(k: Reg, number: &impl Fn(Reg, Kind) -> Option<u8>) -> Option<u8> {
    number(k, Kind::Mask).filter(|&n| n != 0)
}

#[cfg(test)]
mod tests {
    use iced_x86::Register;

    use super::super::forms::{Forms, Slot, add_reg};
    use super::super::regs::phys;
    use super::super::vex::DirectPlan;
    use super::super::vex::tests::{iced_bytes, rng};
    use crate::ir::{Masked, Mem, Operand};

    /// The encoder gives iced's bytes on every form with a plan, over random operands: registers
    /// of every number (vectors 0-31), memory with random bases, indexes and scales and
    /// displacements at disp8*N's limits for every N, broadcasts, write masks merging and
    /// zeroing, a memory destination's mask, immediates. It must also take every operand iced
    /// takes there.
    #[test]
    fn the_evex_encoder_matches_iced() {
        let mut rnd = rng(0x9E37_79B9_7F4A_7C15);
        let (mut planned, mut evex, mut compared) = (0, 0, 0);
        for form in Forms::get().iter() {
            if form.encoding == iced_x86::EncodingKind::EVEX {
                evex += 1;
            }
            let Some(plan) = &form.evex else { continue };
            planned += 1;
            for round in 0..32 {
                let mem = |rnd: &mut dyn FnMut(u64) -> u64| {
                    let base = add_reg(Register::RAX, rnd(16) as u32);
                    let index = match rnd(3) {
                        0 => None,
                        _ => Some(add_reg(
                            Register::RAX,
                            [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15][rnd(15) as usize],
                        )),
                    };
                    let unit = 1 << rnd(7);
                    let disp = unit * [0, 1, -1, 3, 127, 128, -128, -129][rnd(8) as usize] + rnd(2) as i32;
                    let mut m = Mem::base_disp(phys(base), disp as i64);
                    m.index = index.map(phys);
                    // (A scale without an index is left to iced.)
                    m.scale = if m.index.is_some() { [1, 2, 4, 8][rnd(4) as usize] } else { 1 };
                    if form.bcst_size != 0 && rnd(2) == 0 {
                        m.broadcast = 1;
                    }
                    Operand::Mem(m)
                };
                let memory = round % 2 == 0;
                let mut ops: Vec<Operand> = Vec::new();
                for slot in &form.slots {
                    let used = ops.iter().any(|o| matches!(o, Operand::Mem(_)));
                    ops.push(match *slot {
                        Slot::Gp { mem: true, .. } | Slot::Vec { mem: true, .. } | Slot::K { mem: true }
                            if memory && !used =>
                        {
                            mem(&mut rnd)
                        }
                        Slot::Mem => mem(&mut rnd),
                        Slot::Gp { bits, .. } => {
                            let first = if bits == 64 { Register::RAX } else { Register::EAX };
                            phys(add_reg(first, rnd(16) as u32)).into()
                        }
                        Slot::Vec { bits, .. } => {
                            let first = match bits {
                                512 => Register::ZMM0,
                                256 => Register::YMM0,
                                _ => Register::XMM0,
                            };
                            phys(add_reg(first, rnd(32) as u32)).into()
                        }
                        Slot::K { .. } => phys(add_reg(Register::K0, rnd(8) as u32)).into(),
                        Slot::Imm(_) => Operand::Imm(rnd(256) as i64),
                        other => panic!("{:?} has a plan and a {other:?} operand", form.code),
                    });
                }
                if form.can_mask && rnd(4) != 0 {
                    let mask = phys(add_reg(Register::K0, 1 + rnd(7) as u32));
                    match ops.first().copied() {
                        Some(Operand::Reg(reg)) => {
                            ops[0] = Operand::Masked(Masked { reg, mask, zeroing: form.can_zero && rnd(2) == 0 })
                        }
                        Some(Operand::Mem(_)) => ops.push(Operand::MemMask(mask)),
                        _ => {}
                    }
                }
                let Some(theirs) = iced_bytes(form, &ops) else { continue };
                let mut ours = Vec::new();
                assert!(
                    plan.encode(&ops, super::phys_number, &mut ours),
                    "{:?} {ops:?}: not encoded (iced: {theirs:02x?})",
                    form.code
                );
                assert_eq!(ours, theirs, "{:?} {ops:?}", form.code);
                compared += 1;
            }
        }
        eprintln!("{planned} of {evex} EVEX forms encoded directly; {compared} instructions compared with iced");
        assert!(planned * 10 > evex * 8, "{planned} of {evex}");
    }
}
