//! The vector instructions: each lane's arithmetic as the SDM describes it (the special
//! functions' semantics in `float.rs`). A VEX or EVEX write clears the register above its width.

use iced_x86::{Instruction, Mnemonic, OpKind, Register};

use super::float::*;
use super::{Machine, Result};

impl Machine {
    /// Executes a vector instruction (an error for anything else).
    pub(super) fn step_vector(&mut self, ins: &Instruction, code: &[u8]) -> Result<()> {
        use Mnemonic::*;
        match ins.mnemonic() {
            Vpaddd => {
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let mut out = [0u8; 64];
                for i in (0..width).step_by(4) {
                    let f = |v: &[u8; 64]| i32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
                    out[i..i + 4].copy_from_slice(&f(&a).wrapping_add(f(&b)).to_le_bytes());
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vmovshdup => {
                let width = self.vec_bytes(ins)?;
                let a = self.read_vec(ins, 1, width, code)?;
                let mut out = [0u8; 64];
                for i in (0..width).step_by(8) {
                    out[i..i + 4].copy_from_slice(&a[i + 4..i + 8]);
                    out[i + 4..i + 8].copy_from_slice(&a[i + 4..i + 8]);
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vshufpd => {
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let imm = ins.immediate(3) as usize;
                let mut out = [0u8; 64];
                // Per 128-bit lane: the low double from the first source, the high one from the
                // second, each picked by one bit of the immediate.
                for lane in 0..width / 16 {
                    let (lo, hi) = (imm >> (2 * lane) & 1, imm >> (2 * lane + 1) & 1);
                    let at = 16 * lane;
                    out[at..at + 8].copy_from_slice(&a[at + 8 * lo..at + 8 * lo + 8]);
                    out[at + 8..at + 16].copy_from_slice(&b[at + 8 * hi..at + 8 * hi + 8]);
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vextractf128 | Vextracti128 | Vextractf32x4 | Vextractf64x4 | Vextracti32x4 | Vextracti64x4 => {
                let src = self.vec[self.vec_index(ins.op_register(1))?];
                let part = ins.memory_size().size().max(match ins.mnemonic() {
                    Vextractf64x4 | Vextracti64x4 => 32,
                    _ => 16,
                });
                let at = ins.immediate(2) as usize * part;
                let piece = src.get(at..at + part).ok_or_else(|| self.unsupported(ins))?;
                match ins.op_kind(0) {
                    OpKind::Register => {
                        let mut out = [0u8; 64];
                        out[..part].copy_from_slice(piece);
                        self.vec[self.vec_index(ins.op_register(0))?] = out;
                    }
                    _ => {
                        let to = self.address(ins, code)?;
                        self.store(to, piece)?;
                    }
                }
            }
            Sfence | Lfence | Mfence => {}
            Vxorps | Vxorpd | Vandps | Vandpd | Vorps | Vorpd | Vpxor | Vpxord | Vpxorq | Vpand | Vpandd | Vpandq
            | Vpor | Vpord | Vporq => {
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let m = ins.mnemonic();
                let mut out = [0u8; 64];
                for i in 0..width {
                    out[i] = match m {
                        Vxorps | Vxorpd | Vpxor | Vpxord | Vpxorq => a[i] ^ b[i],
                        Vandps | Vandpd | Vpand | Vpandd | Vpandq => a[i] & b[i],
                        _ => a[i] | b[i],
                    };
                }
                // A VEX or EVEX write clears the register above its width.
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vpaddq | Vpsubq | Vpcmpgtq => {
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let m = ins.mnemonic();
                self.vec[self.vec_index(ins.op_register(0))?] = lanes_f64(width, |i| {
                    let (x, y) = (f64_at(&a, i).to_bits() as i64, f64_at(&b, i).to_bits() as i64);
                    f64::from_bits(match m {
                        Vpaddq => x.wrapping_add(y),
                        Vpsubq => x.wrapping_sub(y),
                        _ => -((x > y) as i64),
                    } as u64)
                });
            }
            Vptest => {
                // ZF: no bit of the second in the first; CF: no bit of the second outside it.
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 0, width, code)?, self.read_vec(ins, 1, width, code)?);
                self.zf = (0..width).all(|i| a[i] & b[i] == 0);
                self.cf = (0..width).all(|i| !a[i] & b[i] == 0);
                (self.sf, self.of) = (false, false);
            }
            Vcmppd | Vcmpps => {
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let predicate = ins.immediate(3) as u32;
                let ones = |t: bool| if t { u64::MAX } else { 0 };
                self.vec[self.vec_index(ins.op_register(0))?] = if ins.mnemonic() == Vcmppd {
                    lanes_f64(width, |i| f64::from_bits(ones(compare(f64_at(&a, i), f64_at(&b, i), predicate))))
                } else {
                    lanes_f32(width, |i| {
                        let t = compare(f32_at(&a, i) as f64, f32_at(&b, i) as f64, predicate);
                        f32::from_bits(ones(t) as u32)
                    })
                };
            }
            Vblendvpd | Vblendvps => {
                // The second source where the mask lane's sign bit is set, else the first.
                let width = self.vec_bytes(ins)?;
                let (a, b, mask) = (
                    self.read_vec(ins, 1, width, code)?,
                    self.read_vec(ins, 2, width, code)?,
                    self.read_vec(ins, 3, width, code)?,
                );
                let lane = if ins.mnemonic() == Vblendvpd { 8 } else { 4 };
                let mut out = [0u8; 64];
                for i in (0..width).step_by(lane) {
                    let from = if mask[i + lane - 1] & 0x80 != 0 { &b } else { &a };
                    out[i..i + lane].copy_from_slice(&from[i..i + lane]);
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vaddps | Vsubps | Vmulps | Vdivps | Vminps | Vmaxps | Vaddpd | Vsubpd | Vmulpd | Vdivpd | Vminpd
            | Vmaxpd | Vscalefpd => {
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let m = ins.mnemonic();
                let out = if matches!(m, Vaddps | Vsubps | Vmulps | Vdivps | Vminps | Vmaxps) {
                    lanes_f32(width, |i| {
                        let (x, y) = (f32_at(&a, i), f32_at(&b, i));
                        match m {
                            Vaddps => x + y,
                            Vsubps => x - y,
                            Vmulps => x * y,
                            Vdivps => x / y,
                            // The second source unless the first is strictly smaller (larger):
                            // NaNs and zeros of either sign give the second.
                            Vminps => {
                                if x < y {
                                    x
                                } else {
                                    y
                                }
                            }
                            _ => {
                                if x > y {
                                    x
                                } else {
                                    y
                                }
                            }
                        }
                    })
                } else {
                    lanes_f64(width, |i| {
                        let (x, y) = (f64_at(&a, i), f64_at(&b, i));
                        match m {
                            Vaddpd => x + y,
                            Vsubpd => x - y,
                            Vmulpd => x * y,
                            Vdivpd => x / y,
                            Vminpd => {
                                if x < y {
                                    x
                                } else {
                                    y
                                }
                            }
                            Vmaxpd => {
                                if x > y {
                                    x
                                } else {
                                    y
                                }
                            }
                            _ => scalef(x, y),
                        }
                    })
                };
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vgetexppd => {
                let width = self.vec_bytes(ins)?;
                let a = self.read_vec(ins, 1, width, code)?;
                self.vec[self.vec_index(ins.op_register(0))?] = lanes_f64(width, |i| getexp(f64_at(&a, i)));
            }
            Vgetmantpd => {
                let width = self.vec_bytes(ins)?;
                let a = self.read_vec(ins, 1, width, code)?;
                let imm = ins.immediate(2) as u32;
                if imm & 3 == 1 {
                    return Err(self.unsupported(ins));
                }
                self.vec[self.vec_index(ins.op_register(0))?] = lanes_f64(width, |i| getmant(f64_at(&a, i), imm));
            }
            Vfixupimmpd => {
                let width = self.vec_bytes(ins)?;
                let (dst, v, table) = (
                    self.read_vec(ins, 0, width, code)?,
                    self.read_vec(ins, 1, width, code)?,
                    self.read_vec(ins, 2, width, code)?,
                );
                self.vec[self.vec_index(ins.op_register(0))?] =
                    lanes_f64(width, |i| fixup(f64_at(&dst, i), f64_at(&v, i), f64_at(&table, i).to_bits()));
            }
            Vpermt2pd | Vpermi2pd => {
                // VPERMT2PD: the first operand is a table and the destination, the second the
                // indexes, the third the other table. VPERMI2PD: the first is the indexes and the
                // destination, the second and third the tables.
                let width = self.vec_bytes(ins)?;
                let (first, second, t2) = (
                    self.read_vec(ins, 0, width, code)?,
                    self.read_vec(ins, 1, width, code)?,
                    self.read_vec(ins, 2, width, code)?,
                );
                let (t1, idx) = if ins.mnemonic() == Vpermt2pd { (first, second) } else { (second, first) };
                let n = width / 8;
                self.vec[self.vec_index(ins.op_register(0))?] = lanes_f64(width, |i| {
                    let k = f64_at(&idx, i).to_bits() as usize;
                    let table = if k & n != 0 { &t2 } else { &t1 };
                    f64_at(table, k % n)
                });
            }
            Vpsrlq | Vpsllq if ins.op_kind(2) == OpKind::Immediate8 => {
                let width = self.vec_bytes(ins)?;
                let a = self.read_vec(ins, 1, width, code)?;
                let count = ins.immediate(2) as u32;
                let left = ins.mnemonic() == Vpsllq;
                self.vec[self.vec_index(ins.op_register(0))?] = lanes_f64(width, |i| {
                    let x = f64_at(&a, i).to_bits();
                    f64::from_bits(match (count > 63, left) {
                        (true, _) => 0,
                        (false, true) => x << count,
                        (false, false) => x >> count,
                    })
                });
            }
            Kmovw => {
                // To a mask register from a 32-bit one, or back.
                let (to, from) = (ins.op_register(0), ins.op_register(1));
                if to.is_k() && from.is_gpr32() {
                    self.k[to.number()] = self.read_int(ins, 1, code)? & 0xffff;
                } else if to.is_gpr32() && from.is_k() {
                    self.write_int(ins, 0, self.k[from.number()] & 0xffff)?;
                } else {
                    return Err(self.unsupported(ins));
                }
            }
            Vmovups if ins.op_mask() != Register::None => {
                // Only the floats whose bit the mask sets are read or written; a load's other
                // lanes are zeroed or kept.
                let width = self.vec_bytes(ins)?;
                let mask = self.k[ins.op_mask().number()];
                let at = self.address(ins, code)?;
                let selected = (0..width / 4).filter(|lane| mask >> lane & 1 != 0);
                if ins.op_kind(0) == OpKind::Register {
                    let dst = self.vec_index(ins.op_register(0))?;
                    let mut out = if ins.zeroing_masking() { [0u8; 64] } else { self.vec[dst] };
                    out[width..].fill(0);
                    for lane in selected {
                        out[4 * lane..4 * lane + 4].copy_from_slice(&self.load::<4>(at + 4 * lane as u64)?);
                    }
                    self.vec[dst] = out;
                } else {
                    let v = self.vec[self.vec_index(ins.op_register(1))?];
                    for lane in selected.collect::<Vec<_>>() {
                        self.store(at + 4 * lane as u64, &v[4 * lane..4 * lane + 4])?;
                    }
                }
            }
            Vshufps => {
                // Per 128-bit lane: two floats of the first source, then two of the second, each
                // picked by two bits of the immediate.
                let width = self.vec_bytes(ins)?;
                let (a, b) = (self.read_vec(ins, 1, width, code)?, self.read_vec(ins, 2, width, code)?);
                let imm = ins.immediate(3) as usize;
                let mut out = [0u8; 64];
                for lane in 0..width / 16 {
                    for e in 0..4 {
                        let (src, pick) = (if e < 2 { &a } else { &b }, imm >> (2 * e) & 3);
                        let (to, from) = (16 * lane + 4 * e, 16 * lane + 4 * pick);
                        out[to..to + 4].copy_from_slice(&src[from..from + 4]);
                    }
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vshuff32x4 if self.vec_bytes(ins)? == 64 => {
                // Four 128-bit lanes: two of the first source, then two of the second, each
                // picked by two bits of the immediate.
                let (a, b) = (self.read_vec(ins, 1, 64, code)?, self.read_vec(ins, 2, 64, code)?);
                let imm = ins.immediate(3) as usize;
                let mut out = [0u8; 64];
                for lane in 0..4 {
                    let (src, pick) = (if lane < 2 { &a } else { &b }, imm >> (2 * lane) & 3);
                    out[16 * lane..16 * lane + 16].copy_from_slice(&src[16 * pick..16 * pick + 16]);
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            Vmovups | Vmovaps | Vmovupd | Vmovapd | Vmovdqu | Vmovdqa | Vmovdqu32 | Vmovdqu64 | Vmovdqa32
            | Vmovdqa64 | Vmovntps | Vmovntpd | Vmovntdq => {
                let width = self.vec_bytes(ins)?;
                let aligned = [Vmovaps, Vmovapd, Vmovdqa, Vmovdqa32, Vmovdqa64, Vmovntps, Vmovntpd, Vmovntdq];
                if aligned.contains(&ins.mnemonic()) {
                    let at = (0..2).find(|&i| ins.op_kind(i) == OpKind::Memory);
                    if at.is_some() && self.address(ins, code)? % width as u64 != 0 {
                        return Err(format!("misaligned `{ins}` (#GP)"));
                    }
                }
                let v = self.read_vec(ins, 1, width, code)?;
                match ins.op_kind(0) {
                    OpKind::Register => {
                        let dst = self.vec_index(ins.op_register(0))?;
                        self.vec[dst] = v;
                    }
                    _ => {
                        let at = self.address(ins, code)?;
                        self.store(at, &v[..width])?;
                    }
                }
            }
            Vbroadcastss => {
                let width = self.vec_bytes(ins)?;
                let x = match ins.op_kind(1) {
                    OpKind::Register => {
                        let v = self.vec[self.vec_index(ins.op_register(1))?];
                        [v[0], v[1], v[2], v[3]]
                    }
                    _ => self.load::<4>(self.address(ins, code)?)?,
                };
                let mut out = [0u8; 64];
                for i in (0..width).step_by(4) {
                    out[i..i + 4].copy_from_slice(&x);
                }
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            _ if fma_form(ins.mnemonic()).is_some() => {
                let Some((order, negate_product, subtract, double)) = fma_form(ins.mnemonic()) else { unreachable!() };
                let width = self.vec_bytes(ins)?;
                let (dst, v2, v3) = (
                    self.read_vec(ins, 0, width, code)?,
                    self.read_vec(ins, 1, width, code)?,
                    self.read_vec(ins, 2, width, code)?,
                );
                // 132: dst * v3 and v2; 213: v2 * dst and v3; 231: v2 * v3 and dst.
                let (p, q, r) = match order {
                    132 => (&dst, &v3, &v2),
                    213 => (&v2, &dst, &v3),
                    _ => (&v2, &v3, &dst),
                };
                let out = if double {
                    lanes_f64(width, |i| {
                        let x = if negate_product { -f64_at(p, i) } else { f64_at(p, i) };
                        x.mul_add(f64_at(q, i), if subtract { -f64_at(r, i) } else { f64_at(r, i) })
                    })
                } else {
                    lanes_f32(width, |i| {
                        let x = if negate_product { -f32_at(p, i) } else { f32_at(p, i) };
                        x.mul_add(f32_at(q, i), if subtract { -f32_at(r, i) } else { f32_at(r, i) })
                    })
                };
                self.vec[self.vec_index(ins.op_register(0))?] = out;
            }
            _ => return Err(self.unsupported(ins)),
        }
        Ok(())
    }

    fn vec_index(&self, r: Register) -> Result<usize> {
        if r.is_xmm() || r.is_ymm() || r.is_zmm() {
            Ok(r.number())
        } else {
            Err(format!("{r:?} is not a vector register"))
        }
    }

    /// The vector width of an instruction, from its first vector register.
    fn vec_bytes(&self, ins: &Instruction) -> Result<usize> {
        (0..ins.op_count())
            .filter(|&i| ins.op_kind(i) == OpKind::Register)
            .map(|i| ins.op_register(i))
            .find(|r| r.is_xmm() || r.is_ymm() || r.is_zmm())
            .map(|r| r.size())
            .ok_or_else(|| self.unsupported(ins))
    }

    /// Vector operand `i`: a register's bytes, or `width` bytes of memory.
    fn read_vec(&self, ins: &Instruction, i: u32, width: usize, code: &[u8]) -> Result<[u8; 64]> {
        match ins.op_kind(i) {
            OpKind::Register => Ok(self.vec[self.vec_index(ins.op_register(i))?]),
            OpKind::Memory => {
                // A vector of `width` bytes, or (an embedded broadcast) one element, copied to
                // every lane.
                let bytes = if ins.is_broadcast() { ins.memory_size().element_size() } else { width };
                if ins.memory_size().size() != bytes || !(1..=width).contains(&bytes) {
                    return Err(self.unsupported(ins));
                }
                let at = self.address(ins, code)?;
                let mut out = [0u8; 64];
                self.check(at, bytes, false)?;
                // SAFETY: `check` found the bytes inside a buffer the test declared, whose
                // address was exposed then.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        std::ptr::with_exposed_provenance(at as usize),
                        out.as_mut_ptr(),
                        bytes,
                    )
                };
                for lane in 1..width / bytes {
                    out.copy_within(0..bytes, lane * bytes);
                }
                Ok(out)
            }
            _ => Err(self.unsupported(ins)),
        }
    }
}
