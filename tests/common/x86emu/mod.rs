//! A small x86-64 interpreter, written from the Intel SDM's descriptions of the instructions
//! peach's kernels use, so that a variant this core cannot run (AVX-512 on an AVX2 core) is
//! still executed and compared with plain Rust. It runs machine code decoded by iced-x86 (not
//! peach's encoder), and every memory access must fall inside a buffer the test declares: a
//! kernel that reads or writes one byte outside them stops with an error.
//!
//! Covered: the integer instructions of prologues, epilogues and loops (`push`, `pop`, `mov`,
//! `lea`, `add`, `sub`, `xor`, `and`, `or`, `test`, `cmp`, `shr`, `shl`, `jcc`, `jmp`, `ret`),
//! the no-ops (`nop`, prefetches, fences, `vzeroupper`), `kmovw`, and unmasked vector operations
//! on xmm, ymm and zmm: moves (`vmovups`, also under a write mask, merging or zeroing, which
//! touches only the memory of the lanes it selects; `vmovapd`, `vmovdqu32` and friends, the
//! non-temporal ones),
//! bitwise logic, `vbroadcastss`, packed single and double add, subtract, multiply, divide, min,
//! max, compare (every predicate) and every FMA form (with a register, a vector in memory or an
//! element broadcast from it), `vblendvpd`/`vblendvps`, `vptest`,
//! `vpaddd`, `vpaddq`, `vpsubq`, `vpcmpgtq`, `vpsrlq`/`vpsllq` by an immediate, the shuffles of a horizontal sum
//! (`vextractf128`, `vextractf64x4`, `vmovshdup`, `vshufpd`, `vshufps`, `vshuff32x4` on zmm), and
//! AVX-512's `vpermt2pd`, `vpermi2pd`,
//! `vgetexppd`, `vgetmantpd`, `vscalefpd` and `vfixupimmpd` (exp's and ln's), with their special
//! cases as the SDM tables give them (MXCSR at its default: round to nearest, no DAZ or FTZ).
//! Anything else is an error naming the instruction.
#![allow(dead_code)]

mod float;
mod vector;

use iced_x86::{ConditionCode, Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};

/// Registers, flags and the memory a kernel may touch.
pub struct Machine {
    gp: [u64; 16],
    vec: [[u8; 64]; 32],
    /// The mask registers k0-k7.
    k: [u64; 8],
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
            k: [0; 8],
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
        // The code at a 64-byte boundary, as a kernel's section aligns it (its constants are
        // read with aligned loads).
        #[derive(Clone, Copy)]
        #[repr(align(64))]
        struct Line([u8; 64]);
        let mut lines = vec![Line([0; 64]); code.len().div_ceil(64)];
        for (line, chunk) in lines.iter_mut().zip(code.chunks(64)) {
            line.0[..chunk.len()].copy_from_slice(chunk);
        }
        // SAFETY: the lines are contiguous bytes (64-byte arrays, 64-byte aligned: no padding).
        let aligned = unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<u8>(), code.len()) };
        self.call_aligned_sysv(aligned, args, max_steps)
    }

    fn call_aligned_sysv(&mut self, code: &[u8], args: &[u64], max_steps: u64) -> Result<u64> {
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
        // Each address decoded once (loops run the same instructions many times).
        let mut decoded: Vec<Option<Instruction>> = vec![None; code.len()];
        loop {
            if self.steps == max_steps {
                return Err(format!("no return after {max_steps} instructions"));
            }
            self.steps += 1;
            let slot = decoded.get_mut(ip).ok_or_else(|| format!("jump outside the code to {ip:#x}"))?;
            let ins = match slot {
                Some(ins) => *ins,
                None => {
                    let mut decoder = Decoder::with_ip(64, &code[ip..], ip as u64, DecoderOptions::NONE);
                    let ins = decoder.decode();
                    if ins.is_invalid() {
                        return Err(format!("invalid instruction at {ip:#x}"));
                    }
                    *slot = Some(ins);
                    ins
                }
            };
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
        // (Embedded broadcasts: the FMA forms only, whose memory operand `read_vec` reads.)
        let broadcast = ins.is_broadcast() && float::fma_form(ins.mnemonic()).is_none();
        // (Write masks: `vmovups`'s alone, whose loads and stores `step_vector` masks.)
        let masked = ins.op_mask() != Register::None && ins.mnemonic() != Mnemonic::Vmovups;
        if masked || broadcast || ins.has_lock_prefix() || ins.has_rep_prefix() {
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
            _ => return self.step_vector(ins, code).map(|()| Flow::Next),
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

    /// The low double of xmm0 (a `f64` result).
    pub fn xmm0_f64(&self) -> f64 {
        f64::from_le_bytes(self.vec[0][..8].try_into().unwrap())
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
