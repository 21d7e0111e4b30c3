//! Random programs, for property tests and fuzzers (feature `random-programs`): straight-line
//! x86-64 integer programs with the value an interpreter computes for them, and programs with
//! loops and branches over vector and general-purpose values. Every choice is drawn from an
//! [`Entropy`] source: a seeded generator for tests, a fuzzer's bytes for fuzzing.
//!
//! ```
//! use peach_core::random::{straight_line, Seeded};
//! use peach_core::{Abi, Target};
//! let p = straight_line(&mut Seeded(7), Target::x86_64_baseline());
//! match p.function.compile(Abi::SysV) {
//!     Ok(code) => assert!(!code.bytes().is_empty()),
//!     Err(e) => assert_eq!(e.kind(), peach_core::ErrorKind::OutOfRegisters),
//! }
//! ```

use crate::ir::{Function, Label, Reg, Signature, Type};
use crate::isa::x86_64::{X86Builder, X86Reg, reg};
use crate::target::Target;

/// Where the random choices come from.
pub trait Entropy {
    /// The next 64 random bits.
    fn next(&mut self) -> u64;

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// A seeded xorshift generator: the same seed, the same programs.
#[derive(Clone, Copy, Debug)]
pub struct Seeded(pub u64);

impl Entropy for Seeded {
    fn next(&mut self) -> u64 {
        // Xorshift never leaves zero: start elsewhere.
        if self.0 == 0 {
            self.0 = 0x9e37_79b9_7f4a_7c15;
        }
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A fuzzer's input, read eight bytes at a time (zeros once it runs out).
#[derive(Clone, Debug)]
pub struct Bytes<'a>(pub &'a [u8]);

impl Entropy for Bytes<'_> {
    fn next(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(word)
    }
}

/// A straight-line program of `u64 f(u64, u64, u64, u64)` and what it returns for `args`.
pub struct Program {
    /// The function.
    pub function: Function,
    /// Its arguments.
    pub args: [u64; 4],
    /// What it returns for them, computed by an interpreter of its instructions.
    pub expected: u64,
}

/// A random straight-line program over 64-bit values: moves, arithmetic, 32-bit operations
/// (which zero-extend), `MUL` through rax/rdx, shifts by `cl`, `LEA`; the values a random
/// subset of registers holds at the end are summed into the result.
pub fn straight_line(e: &mut impl Entropy, target: Target) -> Program {
    let args = [e.next(), e.next(), e.next() >> 3, e.next()];
    let sig = Signature::new(&[Type::U64, Type::U64, Type::U64, Type::U64], Some(Type::U64));
    let mut f = Function::new("random", sig, target);
    let mut regs: Vec<Reg> = (0..4).map(|i| f.param(i)).collect();
    let mut vals: Vec<u64> = args.to_vec();
    let steps = 10 + e.below(60);
    let cap = 10 + e.below(8);
    for _ in 0..steps {
        let a = e.below(regs.len());
        let b = e.below(regs.len());
        let (ra, rb, va, vb) = (regs[a], regs[b], vals[a], vals[b]);
        match e.below(12) {
            0 if regs.len() < cap => {
                let t = f.gp64();
                let imm = e.next() as i32 as i64;
                f.ins("mov", (t, imm));
                regs.push(t);
                vals.push(imm as u64);
            }
            1 if regs.len() < cap => {
                let t = f.gp64();
                f.ins("mov", (t, rb));
                regs.push(t);
                vals.push(vb);
            }
            2 => {
                f.ins("add", (ra, rb));
                vals[a] = va.wrapping_add(vb);
            }
            3 => {
                f.ins("sub", (ra, rb));
                vals[a] = va.wrapping_sub(vb);
            }
            4 => {
                f.ins("xor", (ra, rb));
                vals[a] = va ^ vb;
            }
            5 => {
                f.ins("imul", (ra, rb));
                vals[a] = va.wrapping_mul(vb);
            }
            6 => {
                let s = e.below(64) as i32;
                f.ins("shl", (ra, s));
                vals[a] = va << s;
            }
            7 => {
                // 32-bit operations zero-extend.
                f.ins("add", (ra.r32(), rb.r32()));
                vals[a] = (va as u32).wrapping_add(vb as u32) as u64;
            }
            8 if regs.len() < cap => {
                // The high half of the product, through MUL's fixed rax and rdx.
                let t = f.gp64();
                f.ins("mov", (reg::RAX, ra));
                f.ins("mul", rb);
                f.ins("mov", (t, reg::RDX));
                regs.push(t);
                vals.push(((va as u128 * vb as u128) >> 64) as u64);
            }
            9 => {
                // A shift by a count in cl.
                f.ins("mov", (reg::RCX, rb));
                f.ins("shr", (ra, reg::CL));
                vals[a] = va >> (vb & 63);
            }
            10 if regs.len() < cap => {
                let t = f.gp64();
                let d = e.next() as i16 as i64;
                f.ins("lea", (t, [ra + rb * 4 + d]));
                regs.push(t);
                vals.push(va.wrapping_add(vb.wrapping_mul(4)).wrapping_add(d as u64));
            }
            _ => {
                f.ins("not", ra);
                vals[a] = !va;
            }
        }
    }
    // A random subset goes into the result, which keeps those values live to the end.
    let acc = f.gp64();
    f.ins("mov", (acc, 0));
    let mut expected = 0u64;
    for i in 0..regs.len() {
        if e.below(3) != 0 {
            f.ins("add", (acc, regs[i]));
            expected = expected.wrapping_add(vals[i]);
        }
    }
    f.ret(acc);
    Program { function: f, args, expected }
}

/// A random program with loops and branches over ymm and general-purpose values, `void
/// f(ptr, usize)`: it allocates (and the checker agrees), or fails with out-of-registers, or,
/// where a random jump skips a value's definition, with read-before-written.
pub fn with_control_flow(e: &mut impl Entropy, target: Target) -> Function {
    let sig = Signature::new(&[Type::Ptr, Type::Usize], None);
    let mut f = Function::new("cfg", sig, target);
    let (p, n) = (f.param(0), f.param(1));
    let mut vecs: Vec<Reg> = Vec::new();
    let labels: Vec<Label> = (0..3).map(|_| f.label()).collect();
    let mut bound = [false; 3];
    for _ in 0..(5 + e.below(40)) {
        match e.below(8) {
            0 | 1 if vecs.len() < 40 => {
                let v = if e.below(2) == 0 { f.ymm() } else { f.zmm().ymm() };
                f.ins("vmovups", (v, [p + 32 * e.below(8)]));
                vecs.push(v);
            }
            2 if !vecs.is_empty() => {
                let (a, b) = (vecs[e.below(vecs.len())], vecs[e.below(vecs.len())]);
                f.ins("vaddps", (a, a, b));
            }
            3 => {
                let l = e.below(3);
                if !bound[l] {
                    f.bind(labels[l]);
                    bound[l] = true;
                }
            }
            4 => {
                f.ins("sub", (n, 1));
                f.ins("jnz", labels[e.below(3)]);
            }
            5 if !vecs.is_empty() => {
                let v = vecs[e.below(vecs.len())];
                f.ins("vmovups", ([p + 32 * e.below(8)], v));
            }
            _ => f.ins("add", (p, 32)),
        }
    }
    for (l, b) in labels.iter().zip(bound) {
        if !b {
            f.bind(*l);
        }
    }
    for &v in &vecs {
        f.ins("vmovups", ([p], v));
    }
    f.ret(None);
    f
}

/// The scalar-double operations of [`branchy`] programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdOp {
    /// `vaddsd`
    Add,
    /// `vsubsd`
    Sub,
    /// `vmulsd`
    Mul,
    /// `vdivsd`
    Div,
    /// `vminsd`
    Min,
    /// `vmaxsd`
    Max,
}

impl SdOp {
    const ALL: [SdOp; 6] = [SdOp::Add, SdOp::Sub, SdOp::Mul, SdOp::Div, SdOp::Min, SdOp::Max];

    fn mnemonic(self) -> &'static str {
        match self {
            SdOp::Add => "vaddsd",
            SdOp::Sub => "vsubsd",
            SdOp::Mul => "vmulsd",
            SdOp::Div => "vdivsd",
            SdOp::Min => "vminsd",
            SdOp::Max => "vmaxsd",
        }
    }

    /// What the instruction computes (`vminsd`/`vmaxsd` return the second source unless the
    /// first is strictly smaller/larger, NaNs included).
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            SdOp::Add => a + b,
            SdOp::Sub => a - b,
            SdOp::Mul => a * b,
            SdOp::Div => a / b,
            SdOp::Min => {
                if a < b {
                    a
                } else {
                    b
                }
            }
            SdOp::Max => {
                if a > b {
                    a
                } else {
                    b
                }
            }
        }
    }
}

/// Where an operand of a [`branchy`] operation lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// One of the long-lived values.
    Value(usize),
    /// One of the block's three local values.
    Local(usize),
}

/// One operation of a [`branchy`] block: `dst = op(a, b)`.
pub type SdInst = (SdOp, Slot, Slot, Slot);

/// A program of [`branchy`]: `void f(i64 counter, f64 *values)`.
pub struct Branchy {
    /// The function.
    pub function: Function,
    /// Per block: its operations (`dst = op(a, b)`) and the block its `jns` goes to.
    pub blocks: Vec<(Vec<SdInst>, usize)>,
    /// The number of long-lived values.
    pub values: usize,
}

impl Branchy {
    /// What the function leaves in `values` when called with `counter`, by interpreting it
    /// (each block runs its operations, decrements the counter and jumps while it is not
    /// negative; the last block falls out of the function).
    pub fn run(&self, mut counter: i64, values: &mut [f64]) {
        let mut b = 0;
        while b < self.blocks.len() {
            let mut locals = [0.0f64; 3];
            let (ops, target) = &self.blocks[b];
            for &(op, dst, x, y) in ops {
                let read = |s: Slot, values: &[f64], locals: &[f64; 3]| match s {
                    Slot::Value(i) => values[i],
                    Slot::Local(i) => locals[i],
                };
                let r = op.apply(read(x, values, &locals), read(y, values, &locals));
                match dst {
                    Slot::Value(i) => values[i] = r,
                    Slot::Local(i) => locals[i] = r,
                }
            }
            counter = counter.wrapping_sub(1);
            b = if counter >= 0 { *target } else { b + 1 };
        }
    }
}

/// A random control-flow graph in the shape of asmjit's register-allocation benchmark: `values`
/// long-lived xmm values loaded from memory, then `blocks` blocks of 15 scalar-double operations
/// (the first three define the block's locals, the last three read them) ending in `sub counter,
/// 1; jns` to a random block, and the values stored back. Every long-lived value is live across
/// the whole function; `values` + 3 must fit the target's xmm registers.
pub fn branchy(e: &mut impl Entropy, blocks: usize, values: usize, target: Target) -> Branchy {
    let sig = Signature::new(&[Type::I64, Type::Ptr], None);
    let mut f = Function::new("branchy", sig, target);
    let (counter, ptr) = (f.param(0), f.param(1));
    let vals: Vec<Reg> = (0..values).map(|_| f.xmm()).collect();
    for (i, &v) in vals.iter().enumerate() {
        f.ins("vmovsd", (v, [ptr + 8 * i]));
    }
    let labels: Vec<Label> = (0..blocks).map(|_| f.label()).collect();
    // Each block is the target of at most two jumps, as in asmjit's generator.
    let mut jumps_to = vec![0u8; blocks];
    let mut spec = Vec::with_capacity(blocks);
    for &label in &labels {
        f.bind(label);
        let locals: [Reg; 3] = [f.xmm(), f.xmm(), f.xmm()];
        let mut ops = Vec::with_capacity(15);
        for j in 0..15 {
            let op = SdOp::ALL[e.below(6)];
            let (id1, id2) = (e.below(values), e.below(values));
            let dst = if j < 3 { Slot::Local(j) } else { Slot::Value(id1) };
            let b = if j >= 12 { Slot::Local(j - 12) } else { Slot::Value(id2) };
            let reg = |s: Slot| match s {
                Slot::Value(i) => vals[i],
                Slot::Local(i) => locals[i],
            };
            f.ins(op.mnemonic(), (reg(dst), vals[id1], reg(b)));
            ops.push((op, dst, Slot::Value(id1), b));
        }
        let mut to = e.below(blocks);
        if jumps_to[to] > 1 {
            to = (0..blocks).find(|&t| jumps_to[t] == 0).unwrap_or(to);
        }
        jumps_to[to] += 1;
        f.ins("sub", (counter, 1));
        f.ins("jns", labels[to]);
        spec.push((ops, to));
    }
    for (i, &v) in vals.iter().enumerate() {
        f.ins("vmovsd", ([ptr + 8 * i], v));
    }
    f.ret(None);
    Branchy { function: f, blocks: spec, values }
}
