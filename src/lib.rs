//! # peach
//!
//! High-performance assembly kernels written inline in Rust: assembly-looking instructions over
//! virtual registers, with register allocation (never spilling), calling-convention adaptation,
//! checking against the target CPU and encoding done for you.
//!
//! ```
//! use peach::prelude::*;
//!
//! // f64 sum(const f64* x, usize n), n a multiple of 4.
//! let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::F64));
//! let mut f = Function::new("sum", sig, Target::x86_64_v3());
//! let (x, n) = (f.param(0), f.param(1));
//! let acc = f.ymm();
//! f.ins("vxorpd", (acc, acc, acc));
//! let top = f.label();
//! f.bind(top);
//! f.ins("vaddpd", (acc, acc, [x]));
//! f.ins("add", (x, 32));
//! f.ins("sub", (n, 4));
//! f.ins("jnz", top);
//! let hi = f.xmm();
//! f.ins("vextractf128", (hi, acc, 1));
//! f.ins("vaddpd", (acc.xmm(), acc.xmm(), hi));
//! f.ins("vhaddpd", (acc.xmm(), acc.xmm(), acc.xmm()));
//! f.ret(acc);
//! let code = f.compile(Abi::host())?;
//! println!("{}", code.listing());
//! # Ok::<(), peach::Error>(())
//! ```

#![warn(missing_docs)]

pub mod kernels;

pub use peach_macros::peach_fn;

#[doc(hidden)]
mod jit;

/// Items the code `peach_fn!` generates refers to. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::jit::*;
    pub use core::arch::global_asm;
}

pub use peach_core::{Abi, CodeObject, Error, ErrorKind, Function, Result, Target};
pub use peach_runtime::Kernel;

/// The compiler (IR, passes, ISA backends), for when the prelude is not enough.
pub use peach_core as core;
/// The runtime (executable memory, typed kernels).
pub use peach_runtime as runtime;

/// Everything a kernel author needs, in one import.
pub mod prelude {
    pub use peach_core::prelude::*;
    pub use peach_macros::peach_fn;
    pub use peach_runtime::Kernel;
}
