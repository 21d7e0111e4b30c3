//! peach-core: the compiler behind peach.
//!
//! A kernel is recorded into a [`Function`] (virtual registers, labels, instructions written
//! with their mnemonics), then [`Function::compile`] runs the pipeline (`pass`): ABI binding,
//! control-flow graph, liveness and register allocation (never spilling), frame layout and
//! encoding, and returns a [`CodeObject`] with the machine code, the ISA extensions it uses and a
//! listing.
//!
//! ```
//! use peach_core::prelude::*;
//!
//! // u64 add3(u64 a, u64 b, u64 c) { a + b + c }
//! let sig = Signature::new(&[Type::U64, Type::U64, Type::U64], Some(Type::U64));
//! let mut f = Function::new("add3", sig, Target::x86_64_baseline());
//! let (a, b, c) = (f.param(0), f.param(1), f.param(2));
//! f.ins("add", (a, b));
//! f.ins("add", (a, c));
//! f.ret(a);
//! let code = f.compile(Abi::SysV)?;
//! assert!(code.listing().contains("add"));
//! # Ok::<(), peach_core::Error>(())
//! ```

#![warn(missing_docs)]

pub mod abi;
mod builder;
pub mod emit;
mod error;
mod fx;
pub mod ir;
pub mod isa;
mod pass;
#[cfg(feature = "random-programs")]
pub mod random;
pub mod target;

pub use abi::Abi;
pub use emit::CodeObject;
pub use error::{Error, ErrorKind, Result, Src};
pub use ir::Function;
pub use target::Target;

/// Everything a kernel author needs, in one import, for either architecture; the physical
/// registers of each are in [`regs_x86_64`] and [`regs_aarch64`] (both have an `SP`, so they
/// cannot share one glob).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::regs_x86_64::*;
/// let mut f = Function::new("k", Signature::new(&[], Some(Type::U64)), Target::x86_64_baseline());
/// f.ins("mov", (RAX, 1));
/// f.ret(RAX);
/// assert!(f.compile(Abi::SysV).is_ok());
/// ```
pub mod prelude {
    pub use crate::abi::Abi;
    pub use crate::emit::CodeObject;
    pub use crate::error::{Error, ErrorKind};
    pub use crate::ir::{Constant, Function, Label, Mem, Operand, Reg, Rounding, Signature, Type};
    pub use crate::isa::aarch64::{A64Builder, A64Pseudo, A64Reg};
    pub use crate::isa::x86_64::{Elem, X86Builder, X86Pseudo, X86Reg};
    pub use crate::target::Target;
}

/// The x86-64 physical registers (`RAX`, `XMM3`, `K1`, ...), for a glob import beside the prelude.
pub mod regs_x86_64 {
    pub use crate::isa::x86_64::reg::*;
}

/// The AArch64 physical registers (`X0`, `W3`, `V8`, `SP`, ...), conditions (`GT`) and
/// prefetch operations (`PLDL1KEEP`), for a glob import beside the prelude.
pub mod regs_aarch64 {
    pub use crate::isa::aarch64::names::*;
    pub use crate::isa::aarch64::reg::*;
}
