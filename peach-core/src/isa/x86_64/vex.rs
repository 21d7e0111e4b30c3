//! A direct encoder for the VEX forms with plain operands (registers 0-15, `[base + index*scale +
//! disp]` or a pool constant, imm8): the bulk of a vector kernel's instructions, encoded in a
//! fraction of the time iced's general encoder takes, and those with a register in the
//! immediate (`Is4Plan`). Everything else (other RIP-relative operands, VSIB) goes through iced,
//! and EVEX forms through `evex`. In debug builds every instruction encoded here is encoded by iced too and the bytes
//! compared, so every test cross-checks this file.
//!
//! A pool constant is read `[rip + disp32]`, its displacement written at layout: only
//! [`VexPlan::encode_reading`] (and its twins in `evex` and `legacy`) writes one, so an
//! instruction pushed as finished bytes never carries a displacement still to be written.
//!
//! The layout is the VEX prefix of the Intel SDM (volume 2, 2.3.5): `C5 [R vvvv L pp]` when only
//! `R` is needed and the map is 0F with W0, otherwise `C4 [R X B mmmmm] [W vvvv L pp]`; then the
//! opcode, ModRM, SIB, displacement and imm8 as in legacy encodings.

use iced_x86::{MandatoryPrefix, OpCodeInfo, OpCodeOperandKind as K, OpCodeTableKind};

use super::regs::iced;
use crate::ir::{Mem, Operand, Reg};

/// Where an operand goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// ModRM.reg.
    Reg,
    /// ModRM.rm: a register or memory.
    Rm,
    /// VEX.vvvv.
    Vvvv,
    /// An 8-bit immediate.
    Imm8,
}

/// How to encode one VEX form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct VexPlan {
    opcode: u8,
    /// `mmmmm`: 1 for 0F, 2 for 0F38, 3 for 0F3A.
    map: u8,
    /// `W`, `L` and `pp` as they stand in the last prefix byte (`vvvv` left at zero).
    wlpp: u8,
    /// ModRM.reg when the opcode fixes it (`/digit`).
    digit: u8,
    places: [Place; 4],
    count: u8,
}

impl VexPlan {
    /// The plan for a form, if it is a VEX form with plain operands only.
    pub(crate) fn new(op: &OpCodeInfo) -> Option<VexPlan> {
        Self::with_kinds(op, op.op_kinds())
    }

    /// The plan for a VEX form whose operands are of `kinds`.
    fn with_kinds(op: &OpCodeInfo, kinds: &[K]) -> Option<VexPlan> {
        if op.encoding() != iced_x86::EncodingKind::VEX || op.rm_group_index() >= 0 || kinds.len() > 4 {
            return None;
        }
        let (map, pp, w, l) = prefix_fields(op).filter(|f| f.0 <= 3)?;
        let mut places = [Place::Imm8; 4];
        for (i, kind) in kinds.iter().enumerate() {
            places[i] = match kind {
                K::r32_reg | K::r64_reg | K::xmm_reg | K::ymm_reg | K::k_reg => Place::Reg,
                K::r32_rm | K::r64_rm | K::xmm_rm | K::ymm_rm | K::k_rm => Place::Rm,
                K::mem | K::r32_or_mem | K::r64_or_mem | K::xmm_or_mem | K::ymm_or_mem | K::k_or_mem => Place::Rm,
                K::r32_vvvv | K::r64_vvvv | K::xmm_vvvv | K::ymm_vvvv | K::k_vvvv => Place::Vvvv,
                K::imm8 => Place::Imm8,
                _ => return None,
            };
        }
        let has_modrm = places[..kinds.len()].iter().any(|p| matches!(p, Place::Reg | Place::Rm));
        if !has_modrm {
            return None;
        }
        Some(VexPlan {
            opcode: op.op_code() as u8,
            map,
            wlpp: w << 7 | l << 2 | pp,
            digit: op.group_index().max(0) as u8,
            places,
            count: kinds.len() as u8,
        })
    }
}

/// A direct encoder's plan for one form (VEX, is4, EVEX, legacy): the bytes of an instruction
/// of the form, written without iced.
pub(crate) trait DirectPlan {
    /// What `number` is asked with a register: for VEX and legacy plans whether it is a memory
    /// operand's base or index (which must be 64-bit), for EVEX the kind of register wanted.
    type Ask;

    /// Appends the encoding of the form with `ops` to `out`, reading a pool constant
    /// (`[rip + disp32]`, the displacement left at zero for the layout to write) exactly when
    /// `rip`; or returns `false` and leaves `out` as it was if an operand is out of this
    /// encoder's reach. `number` gives a register's hardware number, `None` for what this
    /// encoder cannot name.
    fn encode_with(
        &self,
        ops: &[Operand],
        number: impl Fn(Reg, Self::Ask) -> Option<u8>,
        rip: bool,
        out: &mut Vec<u8>,
    ) -> bool;

    /// The bytes of immediate it writes last (a RIP-relative displacement stands before them).
    fn imm_bytes(&self) -> usize;

    /// [`DirectPlan::encode_with`] for an instruction without a pool constant.
    #[inline(always)]
    fn encode(&self, ops: &[Operand], number: impl Fn(Reg, Self::Ask) -> Option<u8>, out: &mut Vec<u8>) -> bool {
        self.encode_with(ops, number, false, out)
    }

    /// [`DirectPlan::encode_with`] for an instruction that reads a pool constant: `false`
    /// unless it does.
    #[inline(always)]
    fn encode_reading(
        &self,
        ops: &[Operand],
        number: impl Fn(Reg, Self::Ask) -> Option<u8>,
        out: &mut Vec<u8>,
    ) -> bool {
        self.encode_with(ops, number, true, out)
    }
}

impl DirectPlan for VexPlan {
    type Ask = bool;

    fn imm_bytes(&self) -> usize {
        self.places[..self.count as usize].contains(&Place::Imm8) as usize
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
        let (mut reg, mut vvvv, mut imm) = (self.digit, 0u8, None);
        let mut rm = Rm::Reg(0);
        for (place, op) in self.places.iter().zip(ops) {
            match (place, op) {
                (Place::Reg, Operand::Reg(r)) => match number(*r, false) {
                    Some(n) => reg = n,
                    None => return false,
                },
                (Place::Vvvv, Operand::Reg(r)) => match number(*r, false) {
                    Some(n) => vvvv = n,
                    None => return false,
                },
                (Place::Rm, Operand::Reg(r)) => match number(*r, false) {
                    Some(n) => rm = Rm::Reg(n),
                    None => return false,
                },
                (Place::Rm, Operand::Mem(m)) if m.broadcast == 0 => match memory(m, |r| number(r, true), rip) {
                    Some(m) => rm = m,
                    None => return false,
                },
                (Place::Imm8, Operand::Imm(v)) if (-128..256).contains(v) => imm = Some(*v as u8),
                _ => return false,
            }
        }
        if rip != matches!(rm, Rm::Rip) {
            return false;
        }
        let (b, x) = rm.high_bits();
        let r = reg >> 3;
        let last = self.wlpp | (!vvvv & 15) << 3;
        // At most 3 prefix bytes, opcode, ModRM, SIB, disp32 and imm8: 12 bytes, written here
        // and appended at once.
        let mut buf = [0u8; 16];
        let n = if self.map == 1 && self.wlpp & 0x80 == 0 && x == 0 && b == 0 {
            buf[..2].copy_from_slice(&[0xC5, (r ^ 1) << 7 | last]);
            2
        } else {
            buf[..3].copy_from_slice(&[0xC4, (r ^ 1) << 7 | (x ^ 1) << 6 | (b ^ 1) << 5 | self.map, last]);
            3
        };
        buf[n] = self.opcode;
        let mut n = put_modrm(&mut buf, n + 1, reg, rm, 0);
        if let Some(imm) = imm {
            buf[n] = imm;
            n += 1;
        }
        append(out, &buf, n);
        true
    }
}

/// A VEX or EVEX form's opcode map (1 for 0F, 2 for 0F38, 3 for 0F3A, 5 and 6 for EVEX's),
/// `pp` (the mandatory prefix), W and L (0 where ignored, as iced writes them).
pub(super) fn prefix_fields(op: &OpCodeInfo) -> Option<(u8, u8, u8, u8)> {
    let map = match op.table() {
        OpCodeTableKind::T0F => 1,
        OpCodeTableKind::T0F38 => 2,
        OpCodeTableKind::T0F3A => 3,
        OpCodeTableKind::MAP5 => 5,
        OpCodeTableKind::MAP6 => 6,
        _ => return None,
    };
    let pp = match op.mandatory_prefix() {
        MandatoryPrefix::None | MandatoryPrefix::PNP => 0,
        MandatoryPrefix::P66 => 1,
        MandatoryPrefix::PF3 => 2,
        MandatoryPrefix::PF2 => 3,
    };
    let w = if op.is_wig() { 0 } else { op.w() as u8 };
    let l = if op.is_lig() { 0 } else { op.l() as u8 };
    Some((map, pp, w, l))
}

/// Appends the first `n` bytes of `buf`: the whole buffer, then cut (a fixed-size copy is one
/// store, a variable one a call).
pub(super) fn append<const N: usize>(out: &mut Vec<u8>, buf: &[u8; N], n: usize) {
    let end = out.len() + n;
    out.extend_from_slice(buf);
    out.truncate(end);
}

/// Writes ModRM (with `reg` in its reg field), SIB and displacement at `buf[n..]`; returns the
/// position after them. A one-byte displacement counts in units of `1 << shift` bytes (1 but
/// for EVEX's disp8*N): a displacement that is not a multiple of it takes four bytes.
#[inline(always)]
pub(super) fn put_modrm<const N: usize>(buf: &mut [u8; N], mut n: usize, reg: u8, rm: Rm, shift: u32) -> usize {
    match rm {
        Rm::Reg(m) => {
            buf[n] = 0xC0 | (reg & 7) << 3 | (m & 7);
            n + 1
        }
        Rm::Rip => {
            buf[n] = (reg & 7) << 3 | 5;
            buf[n + 1..n + 5].copy_from_slice(&[0; 4]);
            n + 5
        }
        Rm::Mem { base, index, scale, disp } => {
            // [rbp]/[r13] have no mod-0 form: they take a zero disp8.
            let (mode, disp_len, disp) = match disp {
                0 if base & 7 != 5 => (0, 0, 0),
                _ if disp & ((1 << shift) - 1) == 0 && (-128..=127).contains(&(disp >> shift)) => (1, 1, disp >> shift),
                _ => (2, 4, disp),
            };
            if index.is_some() || base & 7 == 4 {
                let index = index.unwrap_or(4);
                buf[n] = mode << 6 | (reg & 7) << 3 | 4;
                buf[n + 1] = scale << 6 | (index & 7) << 3 | (base & 7);
                n += 2;
            } else {
                buf[n] = mode << 6 | (reg & 7) << 3 | (base & 7);
                n += 1;
            }
            buf[n..n + 4].copy_from_slice(&disp.to_le_bytes());
            n + disp_len
        }
    }
}

/// The ModRM.rm operand.
#[derive(Clone, Copy)]
pub(super) enum Rm {
    Reg(u8),
    Mem {
        base: u8,
        index: Option<u8>,
        scale: u8,
        disp: i32,
    },
    /// `[rip + disp32]`: a pool constant, the displacement written at layout (zero here).
    Rip,
}

impl Rm {
    /// The REX/VEX `B` and `X` bits it needs.
    pub(super) fn high_bits(self) -> (u8, u8) {
        match self {
            Rm::Reg(n) => (n >> 3, 0),
            Rm::Mem { base, index, .. } => (base >> 3, index.map_or(0, |i| i >> 3)),
            Rm::Rip => (0, 0),
        }
    }
}

/// The number of a physical register this encoder can name: general-purpose registers of 32
/// or 64 bits, vector registers 0-15 and mask registers; with `mem`, 64-bit general-purpose
/// registers only.
pub(crate) fn phys_number(r: Reg, mem: bool) -> Option<u8> {
    let x = iced(r)?;
    let n = x.number();
    let ok = if mem { x.is_gpr64() } else { x.is_gpr32() || x.is_gpr64() || x.is_xmm() || x.is_ymm() || x.is_k() };
    (n < 16 && ok).then_some(n as u8)
}

/// How to encode a VEX form with a register in its immediate's upper four bits (`is4`:
/// `vblendvps`, `vpblendvb`, FMA4): the plan of its other three operands, then that byte.
/// Apart from the rest so that the common forms' loop has no case for it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Is4Plan {
    vex: VexPlan,
    /// The operand in the immediate.
    at: u8,
}

impl Is4Plan {
    /// The plan for a form, if it is a VEX form of three plain operands and a register in the
    /// immediate.
    pub(crate) fn new(op: &OpCodeInfo) -> Option<Is4Plan> {
        let kinds = op.op_kinds();
        let at = kinds.iter().position(|k| matches!(k, K::xmm_is4 | K::ymm_is4))?;
        if kinds.len() != 4 {
            return None;
        }
        let rest: Vec<K> = kinds.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, k)| *k).collect();
        if rest.contains(&K::imm8) {
            return None;
        }
        Some(Is4Plan { vex: VexPlan::with_kinds(op, &rest)?, at: at as u8 })
    }
}

impl DirectPlan for Is4Plan {
    type Ask = bool;

    /// The register's byte.
    fn imm_bytes(&self) -> usize {
        1
    }

    fn encode_with(
        &self,
        ops: &[Operand],
        number: impl Fn(Reg, bool) -> Option<u8>,
        rip: bool,
        out: &mut Vec<u8>,
    ) -> bool {
        let at = self.at as usize;
        let (4, Some(&Operand::Reg(r))) = (ops.len(), ops.get(at)) else { return false };
        let Some(n) = number(r, false) else { return false };
        let mut rest = [ops[0]; 3];
        for (slot, op) in rest.iter_mut().zip(ops.iter().enumerate().filter(|(i, _)| *i != at)) {
            *slot = *op.1;
        }
        if !self.vex.encode_with(&rest, &number, rip, out) {
            return false;
        }
        out.push(n << 4);
        true
    }
}

/// `[base + index*scale + disp]` with a 64-bit base and index, or a pool constant when `rip`
/// (no other RIP-relative or absolute forms, no VSIB, no `rsp` index); `address` gives a base or
/// index register's number. A broadcast is the caller's to refuse or encode.
#[inline(always)]
pub(super) fn memory(m: &Mem, address: impl Fn(Reg) -> Option<u8>, rip: bool) -> Option<Rm> {
    if m.base == Some(Reg::CONSTANTS) {
        return (rip && m.index.is_none()).then_some(Rm::Rip);
    }
    let base = address(m.base?)?;
    let index = match m.index {
        Some(i) => Some(address(i).filter(|n| *n != 4)?),
        None => None,
    };
    // (A scale without an index is written in a SIB byte by iced: left to it.)
    let scale = match m.scale {
        _ if index.is_none() && m.scale != 1 => return None,
        1 => 0,
        2 => 1,
        4 => 2,
        8 => 3,
        _ => return None,
    };
    Some(Rm::Mem { base, index, scale, disp: m.disp })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::forms::{Form, Forms};
    use super::DirectPlan;
    use crate::ir::Operand;

    /// A xorshift generator: `rng(seed)(n)` is below `n`.
    pub(in crate::isa::x86_64) fn rng(mut state: u64) -> impl FnMut(u64) -> u64 {
        move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        }
    }

    /// iced's encoding of `form` with `ops` at address 0, or `None` where the form does not
    /// take them.
    pub(in crate::isa::x86_64) fn iced_bytes(form: &Form, ops: &[Operand]) -> Option<Vec<u8>> {
        let ins = super::super::encode::build(form, ops).ok()?;
        let mut encoder = iced_x86::Encoder::new(64);
        encoder.encode(&ins, 0).ok()?;
        Some(encoder.take_buffer())
    }

    #[test]
    fn most_vex_forms_have_a_plan() {
        let forms = Forms::get();
        let vex: Vec<_> = iced_x86::Code::values()
            .filter_map(|c| forms.form(c))
            .filter(|f| f.encoding == iced_x86::EncodingKind::VEX)
            .collect();
        let planned = vex.iter().filter(|f| f.vex.is_some() || f.is4.is_some()).count();
        eprintln!("{planned} of {} VEX forms encoded directly", vex.len());
        assert!(planned * 10 > vex.len() * 8, "{planned} of {}", vex.len());
    }

    /// Random operands for `form`'s slots, as the VEX and legacy encoders take them: registers
    /// 0-15 of every kind the form takes (mask registers too), memory in the first slot that
    /// takes it when `memory` (and in memory-only and byte or word slots, whose registers the
    /// encoders leave to iced), with random bases, indexes, scales and displacements (one and
    /// four bytes, `rbp`/`r13` and `rsp`/`r12` bases), immediates the slot takes, at the edges
    /// of each size. `None` where a byte or word slot would need a register (a second one, or
    /// one that takes no memory); a panic for a slot of another kind.
    pub(in crate::isa::x86_64) fn random_operands(
        form: &Form,
        rnd: &mut impl FnMut(u64) -> u64,
        memory: bool,
    ) -> Option<Vec<Operand>> {
        use super::super::forms::{Slot, add_reg};
        use super::super::regs::phys;
        use crate::ir::Mem;
        use iced_x86::Register;
        const IMMEDIATES: [i64; 24] = [
            0,
            1,
            5,
            15,
            16,
            127,
            128,
            255,
            256,
            -1,
            -2,
            -128,
            -129,
            32767,
            65535,
            65536,
            0x7FFF_FFFF,
            -0x8000_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            -0x8000_0001,
            0x1234_5678_9ABC,
            i64::MAX,
            i64::MIN,
        ];
        let mut ops: Vec<Operand> = Vec::new();
        for slot in &form.slots {
            let used = ops.iter().any(|o| matches!(o, Operand::Mem(_)));
            ops.push(match *slot {
                Slot::Gp { mem: true, .. } | Slot::Vec { mem: true, .. } | Slot::K { mem: true } | Slot::Mem
                    if (memory && !used) || *slot == Slot::Mem || matches!(slot, Slot::Gp { bits: 8 | 16, .. }) =>
                {
                    if used {
                        return None;
                    }
                    let base = add_reg(Register::RAX, rnd(16) as u32);
                    let mut m = Mem::base_disp(phys(base), [0, 8, -8, 127, 128, -129, 4096][rnd(7) as usize]);
                    if rnd(3) != 0 {
                        m.index = Some(phys(add_reg(Register::RAX, [0, 1, 3, 5, 8, 12, 13, 15][rnd(8) as usize])));
                        m.scale = [1, 2, 4, 8][rnd(4) as usize];
                    }
                    Operand::Mem(m)
                }
                Slot::Gp { bits: 32 | 64, .. } => {
                    let first = if matches!(slot, Slot::Gp { bits: 64, .. }) { Register::RAX } else { Register::EAX };
                    phys(add_reg(first, rnd(16) as u32)).into()
                }
                Slot::Vec { bits: 128 | 256, .. } => {
                    let first =
                        if matches!(slot, Slot::Vec { bits: 256, .. }) { Register::YMM0 } else { Register::XMM0 };
                    phys(add_reg(first, rnd(16) as u32)).into()
                }
                Slot::K { .. } => phys(add_reg(Register::K0, rnd(8) as u32)).into(),
                // (Selection only picks a form for an immediate its kind fits.)
                Slot::Imm(kind) => {
                    let byte = rnd(256) as i64;
                    let fitting: Vec<i64> = IMMEDIATES.iter().copied().filter(|v| kind.fits(*v)).collect();
                    match rnd(2) {
                        0 if kind.fits(byte) => Operand::Imm(byte),
                        _ => Operand::Imm(*fitting.get(rnd(fitting.len().max(1) as u64) as usize)?),
                    }
                }
                Slot::Gp { bits: 8 | 16, .. } => return None,
                other => panic!("{:?}: no operand for {other:?}", form.code),
            });
        }
        Some(ops)
    }

    /// `encode` gives iced's bytes on `rounds` sets of random operands (see [`random_operands`])
    /// for every form `plan` gives a plan, and takes every such operand iced takes; the number
    /// of instructions compared.
    pub(in crate::isa::x86_64) fn compare_with_iced<P>(
        seed: u64,
        rounds: usize,
        plan: impl Fn(&Form) -> Option<&P>,
        encode: impl Fn(&P, &[Operand], &mut Vec<u8>) -> bool,
    ) -> usize {
        let mut rnd = rng(seed);
        let mut compared = 0;
        for form in Forms::get().iter() {
            let Some(p) = plan(form) else { continue };
            for round in 0..rounds {
                let Some(ops) = random_operands(form, &mut rnd, round % 2 == 0) else { continue };
                let Some(theirs) = iced_bytes(form, &ops) else { continue };
                let mut ours = Vec::new();
                assert!(encode(p, &ops, &mut ours), "{:?} {ops:?}: not encoded (iced: {theirs:02x?})", form.code);
                assert_eq!(ours, theirs, "{:?} {ops:?}", form.code);
                compared += 1;
            }
        }
        compared
    }

    /// The encoder gives iced's bytes on every form with a plan, over random operands.
    #[test]
    fn the_vex_encoder_matches_iced() {
        let compared = compare_with_iced(
            0x2545_F491_4F6C_DD1D,
            24,
            |form| form.vex.as_ref(),
            |plan, ops, out| plan.encode(ops, super::phys_number, out),
        );
        eprintln!("{compared} VEX instructions compared with iced");
        assert!(compared > 15_000, "{compared}");
    }

    /// The same for the forms with a register in the immediate.
    #[test]
    fn the_is4_encoder_matches_iced() {
        let compared = compare_with_iced(
            0x5851_F42D_4C95_7F2D,
            64,
            |form| form.is4.as_ref(),
            |plan, ops, out| plan.encode(ops, super::phys_number, out),
        );
        eprintln!("{compared} VEX instructions with a register in the immediate compared with iced");
        assert!(compared > 1500, "{compared}");
    }

    /// The legacy, VEX and EVEX encoders read a pool constant as iced does: on every form with
    /// a plan and a memory operand, the bytes with the displacement a read of address 0 from
    /// address 0 takes (minus the length) are iced's, and a plain encoding refuses the constant.
    #[test]
    fn the_direct_encoders_read_constants_as_iced_does() {
        use super::super::forms::{Slot, add_reg};
        use super::super::regs::phys;
        use crate::ir::{Mem, Reg};
        use iced_x86::Register;
        let mut compared = 0;
        for form in Forms::get().iter() {
            let mem_slot = form.slots.iter().position(|s| s.takes_mem());
            let Some(mem_slot) = mem_slot else { continue };
            if form.vex.is_none() && form.evex.is_none() && form.legacy.is_none() && form.is4.is_none() {
                continue;
            }
            for broadcast in [false, true] {
                if broadcast && form.bcst_size == 0 {
                    continue;
                }
                let ops: Option<Vec<Operand>> = form
                    .slots
                    .iter()
                    .enumerate()
                    .map(|(i, slot)| {
                        let n = 9 + i as u32;
                        Some(match *slot {
                            _ if i == mem_slot => {
                                let mut m = Mem::base_disp(Reg::CONSTANTS, 3);
                                m.broadcast = broadcast as u8;
                                Operand::Mem(m)
                            }
                            Slot::Gp { bits: 64, .. } => phys(add_reg(Register::RAX, n)).into(),
                            Slot::Gp { bits: 32, .. } => phys(add_reg(Register::EAX, n)).into(),
                            Slot::Vec { bits: 512, .. } => phys(add_reg(Register::ZMM0, n)).into(),
                            Slot::Vec { bits: 256, .. } => phys(add_reg(Register::YMM0, n)).into(),
                            Slot::Vec { .. } => phys(add_reg(Register::XMM0, n)).into(),
                            Slot::K { .. } => phys(add_reg(Register::K0, i as u32 + 1)).into(),
                            Slot::Imm(_) => Operand::Imm(5),
                            _ => return None,
                        })
                    })
                    .collect();
                let Some(ops) = ops else { continue };
                let Some(theirs) = iced_bytes(form, &ops) else { continue };
                let (mut ours, mut plain) = (Vec::new(), Vec::new());
                let (read, refused, imm) = if let Some(v) = &form.vex {
                    (
                        v.encode_reading(&ops, super::phys_number, &mut ours),
                        !v.encode(&ops, super::phys_number, &mut plain),
                        v.imm_bytes(),
                    )
                } else if let Some(e) = &form.evex {
                    let number = super::super::evex::phys_number;
                    (e.encode_reading(&ops, number, &mut ours), !e.encode(&ops, number, &mut plain), e.imm_bytes())
                } else if let Some(p) = &form.is4 {
                    (
                        p.encode_reading(&ops, super::phys_number, &mut ours),
                        !p.encode(&ops, super::phys_number, &mut plain),
                        p.imm_bytes(),
                    )
                } else if let Some(l) = &form.legacy {
                    (
                        l.encode_reading(&ops, super::phys_number, &mut ours),
                        !l.encode(&ops, super::phys_number, &mut plain),
                        l.imm_bytes(),
                    )
                } else {
                    continue;
                };
                assert!(refused && plain.is_empty(), "{:?}: a plain encoding took a constant", form.code);
                if !read {
                    continue; // (an operand out of the direct encoder's reach)
                }
                let at = ours.len() - 4 - imm;
                let rel = -(ours.len() as i32);
                ours[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                assert_eq!(ours, theirs, "{:?} {ops:?}", form.code);
                compared += 1;
            }
        }
        eprintln!("{compared} constant reads compared with iced");
        assert!(compared > 3000, "{compared}");
    }
}
