//! The ISA boundary: `trait Isa` is everything the passes know about a machine.
//!
//! Only this file maps a target's architecture to a backend; `ir/`, `pass/` and `emit/` see
//! nothing but the trait.

pub mod aarch64;
pub mod lang;
mod queries;
pub(crate) mod text;
pub mod x86_64;

use crate::abi::{Abi, CallConv, Frame};
use crate::emit::CodeObject;
use crate::error::Result;
use crate::ir::{Body, Function, Operand, Reg, RegClass, Type, UnitSet, VRegInfo};
use crate::target::{Arch, Extension, Target};

/// The def/use role of a register in an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// Read.
    Use,
    /// Written; the old value is dead.
    Def,
    /// Read, then written (or written only in part, or only sometimes).
    UseDef,
    /// Read, and needed until the instruction has written its results: a source that must not
    /// share a register with the destination (the AVX512-FP16 complex multiplies raise #UD when
    /// it does).
    UseLate,
}

impl Role {
    /// Whether the old value is read.
    pub fn reads(self) -> bool {
        matches!(self, Role::Use | Role::UseDef | Role::UseLate)
    }

    /// Whether the register is written.
    pub fn writes(self) -> bool {
        matches!(self, Role::Def | Role::UseDef)
    }
}

/// How control leaves an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Falls through to the next instruction.
    Next,
    /// Calls other code, which returns to the next instruction.
    Call,
    /// Jumps to the label or falls through.
    Cond(crate::ir::Label),
    /// Always jumps to the label.
    Jump(crate::ir::Label),
    /// Leaves the function (or jumps somewhere peach cannot follow).
    Exit,
}

/// A register class as the allocator sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClassInfo {
    /// Name for messages ("general-purpose", "vector", "mask").
    pub name: &'static str,
    /// First global unit number of the class.
    pub first_unit: u8,
    /// Number of units (physical registers) in the class.
    pub units: u8,
}

/// What [`Isa::visit`] reports each register to: any `FnMut(Reg, Role, UnitSet)` closure, or a
/// type of its own, whose `reg` can be inlined at each of the ISA's reports (a closure with
/// several call sites is called out of line).
pub(crate) trait RegVisitor {
    /// Register `r` is read or written as `role`; a virtual one may take the units in `allowed`.
    fn reg(&mut self, r: Reg, role: Role, allowed: UnitSet);
}

impl<F: FnMut(Reg, Role, UnitSet)> RegVisitor for F {
    fn reg(&mut self, r: Reg, role: Role, allowed: UnitSet) {
        self(r, role, allowed)
    }
}

/// A machine backend. Every method is an associated function, so the passes are generic over
/// the ISA and pay nothing for the abstraction.
///
/// Physical registers are numbered by *unit*: one global number (below [`UnitSet::CAPACITY`]) per independently
/// allocatable register, shared by all its views (`al`, `eax` and `rax` are one unit).
pub(crate) trait Isa {
    /// The unit of the frame pointer, kept free when stack locals need a realigned frame.
    const FRAME_POINTER_UNIT: u8;

    /// The register classes, in `RegClass` order.
    const CLASSES: &'static [ClassInfo];

    /// One instruction of assembly text in the ISA's syntax, its placeholders bound to `args`.
    fn parse_text(line: &str, args: &[Operand]) -> Result<TextInst>;

    /// Checks a user's instruction against the forms and the target; returns its opcode.
    fn check_inst(f: &mut Function, mnemonic: &str, ops: &mut Vec<Operand>) -> Result<u32>;

    /// A fresh virtual register able to hold a parameter of type `ty`.
    fn param_vreg(f: &mut Function, ty: Type) -> Reg;

    /// How many low bits of its value a general-purpose register operand names (its view).
    /// A write of 32 bits or more defines the whole register on both targets (32-bit writes
    /// zero-extend).
    fn gp_bits(reg: Reg) -> u32;

    /// For an instruction that reads only the low bits of its source whatever the view names
    /// (AArch64's `uxtb`, `sxth`), how many.
    fn reads_low_bits(opcode: u32) -> Option<u32>;

    /// The instructions that widen a parameter of type `ty`, for messages.
    fn widen_hint(ty: Type) -> &'static str;

    /// The class of the registers that pass and return values of type `ty`.
    fn value_class(ty: Type) -> RegClass;

    /// An opcode and operands that copy `src` to `dst` (values of class `class`).
    fn gen_move(dst: Reg, src: Reg, class: RegClass, target: &Target) -> (u32, [Operand; 2]);

    /// An opcode and operands that load a stack-passed parameter at `offset` from the incoming
    /// argument area into `dst`.
    fn gen_load_arg(dst: Reg, ty: Type, offset: i32, target: &Target) -> (u32, [Operand; 2]);

    /// Calls `visit.reg(reg, role, allowed)` for every register the instruction reads or
    /// writes, implicit ones included. `allowed` is the mask of units a virtual register may get
    /// here.
    fn visit(target: &Target, vregs: &[VRegInfo], opcode: u32, ops: &[Operand], visit: &mut impl RegVisitor);

    /// The unit of a physical register, if it is allocatable state.
    fn unit(reg: Reg) -> Option<u8>;

    /// Units a virtual register of `class` may get on `target`.
    fn class_units(target: &Target, class: RegClass) -> UnitSet;

    /// How control leaves the instruction.
    fn flow(opcode: u32, ops: &[Operand]) -> Flow;

    /// `(dst, src)` if the instruction is a plain register copy. A copy's operands are exactly
    /// two registers, so callers may skip the call for any other operand list.
    fn as_move(opcode: u32, ops: &[Operand]) -> Option<(Reg, Reg)>;

    /// The calling convention `abi` on this ISA.
    fn call_conv(abi: Abi) -> Result<CallConv>;

    /// Encodes the allocated, ABI-lowered body into machine code.
    fn emit(body: &Body, units: &[Option<u8>], frame: &Frame, conv: &CallConv) -> Result<CodeObject>;

    /// Whether the instruction leaves the upper vector state dirty (x86: writes a ymm/zmm).
    fn dirties_upper(opcode: u32) -> bool;

    /// The name of an extension.
    fn extension_name(e: Extension) -> &'static str;

    /// An extension by name.
    fn extension_by_name(name: &str) -> Option<Extension>;
}

macro_rules! dispatch {
    ($arch:expr, $isa:ident => $e:expr) => {
        match $arch {
            Arch::X86_64 => {
                type $isa = x86_64::X86_64;
                $e
            }
            Arch::Aarch64 => {
                type $isa = aarch64::Aarch64;
                $e
            }
        }
    };
}

/// One instruction parsed from assembly text: the mnemonic, the operands, and where the mnemonic
/// and the operands are in the line (byte ranges), for errors about the instruction as a whole.
#[derive(Debug)]
pub(crate) struct TextInst {
    pub mnemonic: String,
    pub ops: Vec<Operand>,
    pub mnemonic_at: (usize, usize),
    pub ops_at: (usize, usize),
}

pub(crate) fn parse_text(arch: Arch, line: &str, args: &[Operand]) -> Result<TextInst> {
    dispatch!(arch, I => I::parse_text(line, args))
}

pub(crate) fn check_inst(f: &mut Function, mnemonic: &str, ops: &mut Vec<Operand>) -> Result<u32> {
    dispatch!(f.target().arch(), I => I::check_inst(f, mnemonic, ops))
}

pub(crate) fn param_vreg(f: &mut Function, ty: Type) -> Reg {
    dispatch!(f.target().arch(), I => I::param_vreg(f, ty))
}

pub(crate) fn push_move(f: &mut Function, dst: Reg, src: Reg, loc: crate::Src) {
    let class = if dst.is_virtual() { dst.class() } else { src.class() };
    let (op, ops) = dispatch!(f.target().arch(), I => I::gen_move(dst, src, class, f.target()));
    f.push(crate::ir::Op::Isa(op), &ops, loc);
}

/// The class of a register, virtual or physical (`None` for a physical register that is not
/// allocatable state).
fn class_of<I: Isa>(reg: Reg) -> Option<RegClass> {
    if reg.is_virtual() {
        return Some(reg.class());
    }
    let unit = I::unit(reg)?;
    let index = I::CLASSES.iter().position(|c| (c.first_unit..c.first_unit + c.units).contains(&unit))?;
    Some(RegClass(index as u8))
}

/// `RETURN(v)` for a result of type `ty`: `v` must be of the class that carries it.
pub(crate) fn push_return(f: &mut Function, v: Reg, ty: Type, loc: crate::Src) {
    let (have, want, names) = dispatch!(f.target().arch(), I => (class_of::<I>(v), I::value_class(ty), I::CLASSES));
    if have != Some(want) {
        let name = |c: Option<RegClass>| c.and_then(|c| names.get(c.0 as usize)).map_or("non-allocatable", |c| c.name);
        let message = format!(
            "`RETURN` of a {} register, but the function returns `{}`, which is passed in a {} register",
            name(have),
            format!("{ty:?}").to_lowercase(),
            name(Some(want))
        );
        f.push_error(crate::ErrorKind::Signature, message, loc);
        return;
    }
    f.push(crate::ir::Op::Ret, &[Operand::Reg(v)], loc);
}

/// Work generic over the ISA, handed in from a layer above (the pipeline) and run with the
/// backend of an architecture.
pub(crate) trait ForIsa {
    /// What the work returns.
    type Output;
    /// Runs the work with ISA `I`.
    fn run<I: Isa>(self) -> Self::Output;
}

/// Runs `work` with the backend of `arch`.
pub(crate) fn for_arch<W: ForIsa>(arch: Arch, work: W) -> W::Output {
    dispatch!(arch, I => work.run::<I>())
}

pub(crate) fn extension_name(arch: Arch, e: Extension) -> &'static str {
    dispatch!(arch, I => I::extension_name(e))
}

pub(crate) fn extension_by_name(arch: Arch, name: &str) -> Option<Extension> {
    dispatch!(arch, I => I::extension_by_name(name))
}
