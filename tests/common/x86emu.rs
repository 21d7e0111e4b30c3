//! A small x86-64 interpreter, written from the Intel SDM's descriptions of the instructions
//! peach's GEMM kernels use, so that a variant this core cannot run (AVX-512 on an AVX2 core) is
//! still executed and compared with plain Rust. It runs machine code decoded by iced-x86 (not
//! peach's encoder), and every memory access must fall inside a buffer the test declares: a
//! kernel that reads or writes one byte outside them stops with an error.
//!
//! Covered: the integer instructions of prologues, epilogues and loops (`push`, `pop`, `mov`,
//! `lea`, `add`, `sub`, `xor`, `and`, `or`, `test`, `cmp`, `shr`, `shl`, `jcc`, `jmp`, `ret`),
//! the no-ops (`nop`, prefetches, fences, `vzeroupper`), and unmasked vector operations on xmm,
//! ymm and zmm: moves (`vmovups`, `vmovaps`, `vmovdqu32` and friends, the non-temporal
//! `vmovntps`/`vmovntdq`), `vxorps`, `vbroadcastss`, `vaddps`, `vmulps`, `vfmadd231ps`, `vpaddd`,
//! and the shuffles of a horizontal sum (`vextractf128`, `vextractf64x4`, `vmovshdup`,
//! `vshufpd`). Anything else is an error naming the instruction.
#![allow(dead_code)]

use iced_x86::{ConditionCode, Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};

/// Registers, flags and the memory a kernel may touch.
pub struct Machine {
    gp: [u64; 16],
    vec: [[u8; 64]; 32],
    zf: bool,
    sf: bool,
    cf: bool,
    of: bool,
    /// `(start, length, writable)` of each buffer the code may access.
    regions: Vec<(usize, usize, bool)>,
    /// Instructions executed by the last call.
    pub steps: u64,
}

/// Integer argument registers of the System V convention, in order.
const SYSV_ARGS: [Register; 6] =
    [Register::RDI, Register::RSI, Register::RDX, Register::RCX, Register::R8, Register::R9];
/// Registers a System V function must preserve (with rsp).
const SYSV_SAVED: [Register; 6] =
    [Register::RBX, Register::RBP, Register::R12, Register::R13, Register::R14, Register::R15];

type Result<T> = std::result::Result<T, String>;

impl Machine {
    pub fn new() -> Machine {
        Machine {
            gp: [0; 16],
            vec: [[0; 64]; 32],
            zf: false,
            sf: false,
            cf: false,
            of: false,
            regions: Vec::new(),
            steps: 0,
        }
    }

    /// Lets the code read the bytes of `buffer`; returns its address, as the code receives it.
    pub fn allow<T>(&mut self, buffer: &[T]) -> u64 {
        let at = buffer.as_ptr().expose_provenance();
        self.regions.push((at, std::mem::size_of_val(buffer), false));
        at as u64
    }

    /// Lets the code read and write the bytes of `buffer`; returns its address. The test must
    /// not use the buffer between this and the end of the call.
    pub fn allow_mut<T>(&mut self, buffer: &mut [T]) -> u64 {
        let at = buffer.as_mut_ptr().expose_provenance();
        self.regions.push((at, std::mem::size_of_val(buffer), true));
        at as u64
    }

    /// Calls `code` (entry at offset 0) with the System V convention and integer `args`, and
    /// returns rax. Checks on return that the stack pointer and the callee-saved registers are
    /// as they were. Gives up after `max_steps` instructions.
    pub fn call_sysv(&mut self, code: &[u8], args: &[u64], max_steps: u64) -> Result<u64> {
        // A stack of its own: the return address, then the arguments past the sixth.
        // (At a call, rsp + 8 is 16-byte aligned.)
        let mut stack = vec![0u64; 1024];
        let misaligned = (stack.as_ptr() as usize / 8 + 1) % 2;
        let top = stack.len() - 16 - misaligned;
        let stack_args = args.get(6..).unwrap_or(&[]);
        stack[top] = RETURN_MARK;
        stack[top + 1..top + 1 + stack_args.len()].copy_from_slice(stack_args);
        let entry_rsp = self.allow_mut(&mut stack) + top as u64 * 8;
        assert_eq!(entry_rsp % 16, 8);
        self.allow(code);
        // Known garbage elsewhere, so that a register read before it is written shows.
        self.gp = [0xDEAD_BEEF_0BAD_F00D; 16];
        for (r, v) in SYSV_ARGS.iter().zip(args) {
            self.set_gp(*r, *v);
        }
        self.set_gp(Register::RSP, entry_rsp);
        let saved: Vec<u64> = SYSV_SAVED.iter().map(|r| self.gp(*r)).collect();
        let result = self.run(code, entry_rsp, max_steps);
        self.regions.truncate(self.regions.len() - 2);
        result?;
        if self.gp(Register::RSP) != entry_rsp + 8 {
            return Err("rsp after the return is not the caller's".into());
        }
        for (r, v) in SYSV_SAVED.iter().zip(saved) {
            if self.gp(*r) != v {
                return Err(format!("{r:?} is not preserved"));
            }
        }
        Ok(self.gp(Register::RAX))
    }

    fn run(&mut self, code: &[u8], entry_rsp: u64, max_steps: u64) -> Result<()> {
        let mut ip = 0usize;
        self.steps = 0;
        loop {
            if self.steps == max_steps {
                return Err(format!("no return after {max_steps} instructions"));
            }
            self.steps += 1;
            let bytes = code.get(ip..).ok_or_else(|| format!("jump outside the code to {ip:#x}"))?;
            let mut decoder = Decoder::with_ip(64, bytes, ip as u64, DecoderOptions::NONE);
            let ins = decoder.decode();
            if ins.is_invalid() {
                return Err(format!("invalid instruction at {ip:#x}"));
            }
            let next = ins.next_ip() as usize;
            match self.step(&ins, code)? {
                Flow::Next => ip = next,
                Flow::Jump(to) => ip = to as usize,
                Flow::Return(to) if to == RETURN_MARK && self.gp(Register::RSP) == entry_rsp + 8 => return Ok(()),
                Flow::Return(to) => return Err(format!("return to {to:#x} at {ip:#x}")),
            }
        }
    }

    /// Executes one instruction.
    fn step(&mut self, ins: &Instruction, code: &[u8]) -> Result<Flow> {
        use Mnemonic::*;
        if ins.op_mask() != Register::None || ins.is_broadcast() || ins.has_lock_prefix() || ins.has_rep_prefix() {
            return Err(self.unsupported(ins));
        }
        match ins.mnemonic() {
            Nop | Prefetcht0 | Prefetcht1 | Prefetcht2 | Prefetchnta => {}
            Vzeroupper => {
                for v in &mut self.vec[..16] {
                    v[16..].fill(0);
                }
            }
            Push => {
                let v = self.read_int(ins, 0, code)?;
                let rsp = self.gp(Register::RSP) - 8;
                self.store(rsp, &v.to_le_bytes())?;
                self.set_gp(Register::RSP, rsp);
            }
            Pop => {
                let rsp = self.gp(Register::RSP);
                let v = u64::from_le_bytes(self.load::<8>(rsp)?);
                self.set_gp(Register::RSP, rsp + 8);
                self.write_int(ins, 0, v)?;
            }
            Ret if ins.op_count() == 0 => {
                let rsp = self.gp(Register::RSP);
                let to = u64::from_le_bytes(self.load::<8>(rsp)?);
                self.set_gp(Register::RSP, rsp + 8);
                return Ok(Flow::Return(to));
            }
            Mov => {
                let v = self.read_int(ins, 1, code)?;
                self.write_int(ins, 0, v)?;
            }
            Lea => {
                let v = self.address(ins, code)?;
                self.write_int(ins, 0, v)?;
            }
            Add | Sub | Xor | And | Or | Cmp | Test => {
                let bits = self.int_bits(ins, 0)?;
                let (a, b) = (self.read_int(ins, 0, code)?, self.read_int(ins, 1, code)?);
                let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
                let (a, b) = (a & mask, b & mask);
                let sign = 1u64 << (bits - 1);
                let r = match ins.mnemonic() {
                    Add => {
                        let r = a.wrapping_add(b) & mask;
                        self.cf = r < a;
                        self.of = (a ^ r) & (b ^ r) & sign != 0;
                        r
                    }
                    Sub | Cmp => {
                        let r = a.wrapping_sub(b) & mask;
                        self.cf = b > a;
                        self.of = (a ^ b) & (a ^ r) & sign != 0;
                        r
                    }
                    m => {
                        (self.cf, self.of) = (false, false);
                        match m {
                            Xor => a ^ b,
                            Or => a | b,
                            _ => a & b,
                        }
                    }
                };
                (self.zf, self.sf) = (r == 0, r & sign != 0);
                if !matches!(ins.mnemonic(), Cmp | Test) {
                    self.write_int(ins, 0, r)?;
                }
            }
            Shr | Shl => {
                let bits = self.int_bits(ins, 0)?;
                let a = self.read_int(ins, 0, code)?;
                let count = self.read_int(ins, 1, code)? as u32 & if bits == 64 { 63 } else { 31 };
                if count != 0 {
                    let mask = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
                    let r = if ins.mnemonic() == Shr {
                        self.cf = (a >> (count - 1)) & 1 != 0;
                        (a & mask) >> count
                    } else {
                        self.cf = (a >> (bits - count)) & 1 != 0;
                        (a << count) & mask
                    };
                    // (OF is defined for 1-bit shifts only; no kernel reads it after one.)
                    (self.zf, self.sf) = (r == 0, r >> (bits - 1) & 1 != 0);
                    self.write_int(ins, 0, r)?;
                }
            }
            Jmp => return Ok(Flow::Jump(self.branch_target(ins)?)),
            _ if ins.condition_code() != ConditionCode::None && ins.op_kind(0) == OpKind::NearBranch64 => {
                let taken = match ins.condition_code() {
                    ConditionCode::e => self.zf,
                    ConditionCode::ne => !self.zf,
                    ConditionCode::b => self.cf,
                    ConditionCode::ae => !self.cf,
                    ConditionCode::be => self.cf || self.zf,
                    ConditionCode::a => !self.cf && !self.zf,
                    ConditionCode::s => self.sf,
                    ConditionCode::ns => !self.sf,
                    ConditionCode::l => self.sf != self.of,
                    ConditionCode::ge => self.sf == self.of,
                    ConditionCode::le => self.zf || self.sf != self.of,
                    ConditionCode::g => !self.zf && self.sf == self.of,
                    _ => return Err(self.unsupported(ins)),
                };
                if taken {
                    return Ok(Flow::Jump(self.branch_target(ins)?));
                }
            }
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
            Vxorps | Vaddps | Vmulps | Vfmadd231ps => {
                let width = self.vec_bytes(ins)?;
                let dst = self.vec_index(ins.op_register(0))?;
                let a = self.read_vec(ins, 1, width, code)?;
                let b = self.read_vec(ins, 2, width, code)?;
                let old = self.vec[dst];
                let mut out = [0u8; 64];
                for i in (0..width).step_by(4) {
                    let f = |v: &[u8; 64]| f32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
                    let r = match ins.mnemonic() {
                        Vxorps => f32::from_bits(f(&a).to_bits() ^ f(&b).to_bits()),
                        Vaddps => f(&a) + f(&b),
                        Vmulps => f(&a) * f(&b),
                        // dst = a * b + dst, rounded once.
                        _ => f(&a).mul_add(f(&b), f(&old)),
                    };
                    out[i..i + 4].copy_from_slice(&r.to_le_bytes());
                }
                // A VEX or EVEX write clears the register above its width.
                self.vec[dst] = out;
            }
            Vmovups | Vmovaps | Vmovdqu | Vmovdqa | Vmovdqu32 | Vmovdqu64 | Vmovdqa32 | Vmovdqa64 | Vmovntps
            | Vmovntdq => {
                let width = self.vec_bytes(ins)?;
                if matches!(ins.mnemonic(), Vmovaps | Vmovdqa | Vmovdqa32 | Vmovdqa64 | Vmovntps | Vmovntdq) {
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
            _ => return Err(self.unsupported(ins)),
        }
        Ok(Flow::Next)
    }

    fn unsupported(&self, ins: &Instruction) -> String {
        format!("the interpreter does not run `{ins}` (at {:#x})", ins.ip())
    }

    fn gp_index(r: Register) -> Result<usize> {
        let high_byte = matches!(r, Register::AH | Register::BH | Register::CH | Register::DH);
        if r.is_gpr() && !high_byte {
            Ok(r.full_register().number())
        } else {
            Err(format!("{r:?} is not a general-purpose register the interpreter names"))
        }
    }

    /// The low single of xmm0 (a `f32` result).
    pub fn xmm0_f32(&self) -> f32 {
        f32::from_le_bytes([self.vec[0][0], self.vec[0][1], self.vec[0][2], self.vec[0][3]])
    }

    pub fn gp(&self, r: Register) -> u64 {
        self.gp[r.full_register().number()]
    }

    fn set_gp(&mut self, r: Register, v: u64) {
        self.gp[r.full_register().number()] = v;
    }

    /// The width in bits of the integer operand `i` (a register or memory).
    fn int_bits(&self, ins: &Instruction, i: u32) -> Result<u32> {
        match ins.op_kind(i) {
            OpKind::Register => Ok(ins.op_register(i).size() as u32 * 8),
            OpKind::Memory => Ok(ins.memory_size().size() as u32 * 8),
            _ => Err(self.unsupported(ins)),
        }
    }

    fn read_int(&self, ins: &Instruction, i: u32, code: &[u8]) -> Result<u64> {
        Ok(match ins.op_kind(i) {
            OpKind::Register => {
                let r = ins.op_register(i);
                self.gp[Self::gp_index(r)?] & low_bits(r.size())
            }
            OpKind::Memory => {
                let at = self.address(ins, code)?;
                match ins.memory_size().size() {
                    8 => u64::from_le_bytes(self.load::<8>(at)?),
                    4 => u32::from_le_bytes(self.load::<4>(at)?) as u64,
                    2 => u16::from_le_bytes(self.load::<2>(at)?) as u64,
                    1 => self.load::<1>(at)?[0] as u64,
                    _ => return Err(self.unsupported(ins)),
                }
            }
            OpKind::Immediate8
            | OpKind::Immediate32
            | OpKind::Immediate8to64
            | OpKind::Immediate32to64
            | OpKind::Immediate64 => ins.immediate(i),
            OpKind::Immediate8to32 => ins.immediate(i) & 0xFFFF_FFFF,
            OpKind::Immediate16 | OpKind::Immediate8to16 => ins.immediate(i) & 0xFFFF,
            _ => return Err(self.unsupported(ins)),
        })
    }

    fn write_int(&mut self, ins: &Instruction, i: u32, v: u64) -> Result<()> {
        match ins.op_kind(i) {
            OpKind::Register => {
                let (r, mask) = (ins.op_register(i), low_bits(ins.op_register(i).size()));
                let n = Self::gp_index(r)?;
                // A 32-bit write clears the upper half; 8- and 16-bit writes keep it.
                self.gp[n] = if r.size() >= 4 { v & mask } else { self.gp[n] & !mask | v & mask };
                Ok(())
            }
            OpKind::Memory => {
                let at = self.address_of(ins)?;
                let size = ins.memory_size().size();
                if matches!(size, 1 | 2 | 4 | 8) {
                    self.store(at, &v.to_le_bytes()[..size])
                } else {
                    Err(self.unsupported(ins))
                }
            }
            _ => Err(self.unsupported(ins)),
        }
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
                if ins.memory_size().size() != width {
                    return Err(self.unsupported(ins));
                }
                let at = self.address(ins, code)?;
                let mut out = [0u8; 64];
                self.check(at, width, false)?;
                // SAFETY: `check` found the bytes inside a buffer the test declared, whose
                // address was exposed then.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        std::ptr::with_exposed_provenance(at as usize),
                        out.as_mut_ptr(),
                        width,
                    )
                };
                Ok(out)
            }
            _ => Err(self.unsupported(ins)),
        }
    }

    /// The effective address of the memory operand (RIP-relative: into `code`).
    fn address(&self, ins: &Instruction, code: &[u8]) -> Result<u64> {
        if ins.is_ip_rel_memory_operand() {
            return Ok(code.as_ptr() as u64 + ins.ip_rel_memory_address());
        }
        self.address_of(ins)
    }

    fn address_of(&self, ins: &Instruction) -> Result<u64> {
        if ins.memory_segment() != Register::DS && ins.memory_segment() != Register::SS {
            return Err(self.unsupported(ins));
        }
        let reg = |r: Register| if r == Register::None { Ok(0) } else { Self::gp_index(r).map(|n| self.gp[n]) };
        if ins.memory_base().is_gpr32() || ins.memory_index().is_gpr32() || ins.is_ip_rel_memory_operand() {
            return Err(self.unsupported(ins));
        }
        let base = reg(ins.memory_base())?;
        let index = reg(ins.memory_index())?.wrapping_mul(ins.memory_index_scale() as u64);
        Ok(base.wrapping_add(index).wrapping_add(ins.memory_displacement64()))
    }

    fn branch_target(&self, ins: &Instruction) -> Result<u64> {
        match ins.op_kind(0) {
            OpKind::NearBranch64 => Ok(ins.near_branch64()),
            _ => Err(self.unsupported(ins)),
        }
    }

    /// Whether `len` bytes at `at` lie inside one declared buffer (writable, if asked).
    fn check(&self, at: u64, len: usize, write: bool) -> Result<()> {
        let (at, end) = (at as usize, at as usize + len);
        if self.regions.iter().any(|&(s, l, w)| s <= at && end <= s + l && (w || !write)) {
            Ok(())
        } else {
            let what = if write { "writes" } else { "reads" };
            Err(format!("the code {what} {len} bytes at {at:#x}, outside the buffers it was given"))
        }
    }

    fn load<const N: usize>(&self, at: u64) -> Result<[u8; N]> {
        self.check(at, N, false)?;
        // SAFETY: `check` found the bytes inside a buffer the test declared, whose address
        // was exposed then.
        Ok(unsafe { std::ptr::read_unaligned(std::ptr::with_exposed_provenance::<[u8; N]>(at as usize)) })
    }

    fn store(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        self.check(at, bytes.len(), true)?;
        // SAFETY: `check` found the bytes inside a buffer the test declared writable, exposing
        // a pointer from its unique borrow; the test does not use it while the code runs.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                std::ptr::with_exposed_provenance_mut(at as usize),
                bytes.len(),
            )
        };
        Ok(())
    }
}

/// The mask of an integer `bytes` wide.
fn low_bits(bytes: usize) -> u64 {
    if bytes >= 8 { u64::MAX } else { (1 << (8 * bytes)) - 1 }
}

/// Where execution goes after an instruction.
enum Flow {
    Next,
    Jump(u64),
    Return(u64),
}

/// The return address `call_sysv` pushes: not an address of the code.
const RETURN_MARK: u64 = 0x5EED_0000_0000_0001;
