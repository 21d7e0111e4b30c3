//! The checked half of [`Function`]: binding parameters, recording an instruction once the
//! ISA has checked it, returns in the calling convention, and compiling. It is the top layer
//! (it calls the ISA and the pipeline); the recorded state and everything that needs no ISA are
//! in `ir::function`.

use std::panic::Location;

use crate::abi::Abi;
use crate::emit::CodeObject;
use crate::error::{Error, ErrorKind, Result, Src};
use crate::ir::{Function, IntoOperands, Op, Operand, Param, Reg, Signature, Type};
use crate::isa::{self, ForIsa, Isa};
use crate::target::Target;

impl Function {
    /// Starts a function with a name, a signature and the target it is built for.
    /// Every parameter becomes a live-in virtual register ([`Function::param`]).
    #[track_caller]
    pub fn new(name: impl Into<std::sync::Arc<str>>, sig: Signature, target: Target) -> Self {
        let mut f = Function::unbound(name, sig, target);
        for i in 0..f.sig.params().len() {
            let ty = f.sig.params()[i];
            let reg = isa::param_vreg(&mut f, ty);
            f.params.push(Param { ty, reg });
        }
        f
    }

    /// The live-in virtual register of parameter `i`. A narrow integer (`i8` ... `u32`) is a
    /// register of its own width: the calling conventions leave the bits above it unspecified, so
    /// reading it wider before writing it whole is an error at compilation that names the
    /// widening instruction (`movsxd`, `movzx`, a 32-bit `mov`; `sxtw`, `uxtb`, ...).
    ///
    /// An index past the last parameter records an error and returns a fresh register.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("idx", Signature::new(&[Type::Ptr, Type::I32], Some(Type::I64)), Target::x86_64_baseline());
    /// let (p, i) = (f.param(0), f.param(1));
    /// let (j, r) = (f.gp64(), f.gp64());
    /// f.ins("movsxd", (j, i)); // i is a 32-bit register: widen it before addressing with it
    /// f.ins("mov", (r, [p + j * 8]));
    /// f.ret(r);
    /// assert!(f.compile(Abi::SysV).is_ok());
    /// ```
    #[track_caller]
    pub fn param(&mut self, i: usize) -> Reg {
        match self.params.get(i) {
            Some(p) => p.reg,
            None => {
                let n = self.params.len();
                self.error(ErrorKind::Signature, format!("parameter {i} does not exist: the function has {n}"));
                isa::param_vreg(self, Type::I64)
            }
        }
    }

    /// Appends an instruction: `f.ins("vaddpd", (acc, acc, [ptr + 32]))`.
    ///
    /// The mnemonic is case-insensitive. AVX instructions may be written in the two-operand
    /// shorthand of the PeachPy paper: `f.ins("vaddpd", (a, b))` means `vaddpd a, a, b` when no
    /// two-operand form exists. If no form takes these operands, or the target lacks
    /// the extension it needs, the error is recorded with the caller's location and returned by
    /// [`Function::compile`].
    #[track_caller]
    pub fn ins(&mut self, mnemonic: &str, operands: impl IntoOperands) {
        self.ins_at(mnemonic, operands, Location::caller());
    }

    /// [`Function::ins`] attributed to a given source location: custom instructions (Rust
    /// functions that emit several instructions) pass their caller's location, so that errors
    /// point at the user's line.
    pub fn ins_at(&mut self, mnemonic: &str, operands: impl IntoOperands, loc: impl Into<Src>) {
        let mut ops = std::mem::take(&mut self.scratch);
        ops.clear();
        operands.push_into(&mut ops, &mut self.consts);
        self.record(mnemonic, ops, loc.into());
    }

    /// Checks and appends an instruction whose operands are in `ops` (the builder's spare
    /// vector, given back), or records its error. Kept out of [`Function::ins_at`], which is
    /// instantiated for every kind of operand list, so that only the conversion is.
    #[inline(never)]
    fn record(&mut self, mnemonic: &str, mut ops: Vec<Operand>, loc: Src) {
        match isa::check_inst(self, mnemonic, &mut ops) {
            Ok(opcode) => self.push(Op::Isa(opcode), &ops, loc),
            Err(e) => self.errors.push(e.or_at(loc)),
        }
        self.scratch = ops;
    }

    /// Appends one instruction written as assembly text, in the syntax llvm-mc and GNU as accept
    /// (x86-64: Intel syntax as with `.intel_syntax noprefix`), so that a line can be pasted from
    /// a manual or a compiler's output. `{}` placeholders (or `{0}`, `{1}`, ...) stand for the
    /// builder's operands in `args`, in order: virtual or physical registers, immediates, labels,
    /// constants, memory operands; they can also be a base, an index or a displacement inside
    /// brackets, and right after a destination (`{}{}`) its write mask.
    ///
    /// Errors are recorded like [`Function::ins`]'s, with the line and a caret under the column.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::new(&[Type::Ptr, Type::Usize], None), Target::x86_64_v4());
    /// let (p, i) = (f.param(0), f.param(1));
    /// let (x, k, bits) = (f.zmm(), f.k(), f.gp64());
    /// f.asm("mov {}, 0x00ff", bits.r32());
    /// f.asm("kmovw {}, {}", (k, bits.r32()));
    /// f.asm("vmovups {}{}{z}, zmmword ptr [{} + {}*4 + 64]", (x, k, p, i));
    /// f.asm("vaddps {}, {}, dword ptr [{}]{1to16}", (x, x, p));
    /// f.asm("vmovups zmmword ptr [{}], {}", (p, x));
    /// f.ret(None);
    /// assert!(f.compile(Abi::SysV)?.listing().contains("vaddps"));
    ///
    /// let mut g = Function::new("bad", Signature::default(), Target::x86_64_v4());
    /// g.asm("vaddps xmm33, xmm1, xmm2", ());
    /// let e = g.compile(Abi::SysV).unwrap_err();
    /// assert!(e.to_string().contains("^^^^^"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    #[track_caller]
    pub fn asm(&mut self, line: &str, args: impl IntoOperands) {
        self.asm_at(line, args, Location::caller());
    }

    /// [`Function::asm`] attributed to a given source location.
    pub fn asm_at(&mut self, line: &str, args: impl IntoOperands, loc: impl Into<Src>) {
        let loc = loc.into();
        let mut bound = Vec::new();
        args.push_into(&mut bound, &mut self.consts);
        let parsed = match isa::parse_text(self.target().arch(), line, &bound) {
            Ok(p) => p,
            Err(e) => return self.errors.push(e.or_at(loc)),
        };
        let before = self.errors.len();
        self.ins_at(&parsed.mnemonic, parsed.ops.as_slice(), loc);
        // An error about the instruction points at its mnemonic or at its operands.
        if let Some(e) = self.errors.get_mut(before) {
            let (s, end) = if e.kind() == ErrorKind::UnknownMnemonic { parsed.mnemonic_at } else { parsed.ops_at };
            *e = Error::at(e.kind(), crate::error::in_line(e.message(), line, s, end), loc);
        }
    }

    /// Copies parameter `index` into `reg` (PeachPy's `LOAD.ARGUMENT`). Parameters are already
    /// live-in virtual registers, so this is an ordinary register move that the allocator usually
    /// removes.
    #[track_caller]
    pub fn load_argument(&mut self, reg: Reg, index: usize) {
        self.load_argument_at(reg, index, Location::caller());
    }

    /// [`Function::load_argument`] attributed to a given source location.
    pub fn load_argument_at(&mut self, reg: Reg, index: usize, loc: impl Into<Src>) {
        let loc = loc.into();
        match self.params.get(index) {
            Some(p) => {
                let p = p.reg;
                isa::push_move(self, reg, p, loc);
            }
            None => self.push_error(ErrorKind::Signature, format!("parameter {index} does not exist"), loc),
        }
    }

    /// Returns `value` (moved into the ABI's return register), or nothing for `()`.
    #[track_caller]
    pub fn ret(&mut self, value: impl Into<Option<Reg>>) {
        self.ret_at(value, Location::caller());
    }

    /// [`Function::ret`] attributed to a given source location.
    pub fn ret_at(&mut self, value: impl Into<Option<Reg>>, loc: impl Into<Src>) {
        let loc = loc.into();
        let value = value.into();
        match (value, self.sig.ret()) {
            (Some(v), Some(ty)) => isa::push_return(self, v, ty, loc),
            (None, None) => self.push(Op::Ret, &[], loc),
            (Some(_), None) => {
                self.push_error(ErrorKind::Signature, "the function returns nothing, but a value is returned", loc)
            }
            (None, Some(_)) => {
                self.push_error(ErrorKind::Signature, "the function returns a value, but `ret` has none", loc)
            }
        }
    }

    /// Frees the memory this thread keeps for the next function and compilation.
    ///
    /// Dropping a function, and compiling one, leave their largest buffers to the next on the
    /// same thread (up to 128 MiB each, enough for about a million instructions), so that a JIT
    /// building kernel after kernel reuses warm memory instead of faulting in fresh pages. A
    /// thread that built one large function and will build no more can give that memory back.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.ret(None);
    /// f.compile(Abi::SysV)?;
    /// drop(f);
    /// Function::release_thread_buffers();
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn release_thread_buffers() {
        crate::ir::Recycled::release();
        crate::pass::Scratch::release();
    }

    /// Runs the whole pipeline for `abi` and returns the finished machine code.
    ///
    /// The first recorded error, if any, is returned instead (all of them are in
    /// [`Function::errors`]).
    pub fn compile(&self, abi: crate::abi::Abi) -> Result<crate::emit::CodeObject> {
        if let Some(e) = self.errors.first() {
            if self.errors.len() == 1 {
                return Err(e.clone());
            }
            let mut msg = e.message().to_string();
            msg.push_str(&format!(" (and {} more errors)", self.errors.len() - 1));
            return Err(match e.location() {
                Some(l) => Error::at(e.kind(), msg, l),
                None => Error::new(e.kind(), msg),
            });
        }
        if let Some((l, loc)) = self.unbound_label_used() {
            return Err(Error::at(ErrorKind::Label, format!("label L{l} is used but never bound"), loc));
        }
        isa::for_arch(self.target().arch(), Pipeline(self, abi))
    }
}

/// The pipeline, for the ISA of the function's target.
struct Pipeline<'f>(&'f Function, Abi);

impl ForIsa for Pipeline<'_> {
    type Output = Result<CodeObject>;

    fn run<I: Isa>(self) -> Result<CodeObject> {
        crate::pass::compile::<I>(self.0, self.1)
    }
}
