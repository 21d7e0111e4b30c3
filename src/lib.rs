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

//!
//! ## `peach_fn!`
//!
//! ```
//! use peach::prelude::*;
//!
//! peach_fn! {
//!     /// `x * 3 + 1`, with an instruction chosen by the target.
//!     #[target(x86_64::v3)]
//!     pub fn three_x_plus_one(x: u64) -> u64 {
//!         fn times3(r: Reg) {               // a custom instruction
//!             LEA(r, [r + r * 2]);
//!         }
//!         times3(x);
//!         if target.has_bmi2() { ADD(x, 1); } else { INC(x); }
//!         RETURN(x);
//!     }
//! }
//! # #[cfg(target_arch = "x86_64")]
//! assert_eq!(three_x_plus_one(5), 16);
//! ```
//!
//! The function's attributes: `#[target(x86_64::NAME)]` picks the target (`baseline`, `v2`,
//! `v3`, `v4` or a microarchitecture such as `haswell`, `skylake_x`, `zen4`; baseline when
//! absent); `#[jit(name: Type, ...)]` makes a JIT generator. Parameters are integers, `f32`,
//! `f64` or raw pointers, and live in virtual registers named like them; so is the result.
//!
//! **Parameters keep their width.** The calling conventions leave the bits above an `i8` ...
//! `u32` argument unspecified, so such a parameter is a register of its own width (`r32` for
//! `u32` on x86-64, a `w` register on AArch64), and reading more of it (`x.r64()` in an
//! address, a 64-bit operand, a wider `RETURN`, `LOAD_ARGUMENT`) before the body has written it
//! whole is a compile error naming the widening instruction: `MOVSXD` for `i32`, `MOV(x, x)`
//! (a 32-bit write zero-extends) for `u32`, `MOVSX`/`MOVZX` for 8 and 16 bits; `SXTW`, `UXTB`,
//! `SXTH`, ... on AArch64. peach never extends an argument silently.
//!
//! In the body, an upper-case call is an instruction (`VADDPD(a, b, c)`; AVX instructions also
//! take the two-operand shorthand `VADDPD(a, b)`), `[base + index * scale + disp]` is a memory
//! operand, and these are built in: `GP64()`, `GP32()`, `XMM()`, `YMM()`, `ZMM()`, `K()` (fresh
//! virtual registers; `[YMM(); 4]` makes four), physical registers by name (`RAX`, `YMM3`),
//! `Label::new()` and `LABEL(l)`, `RETURN(value)`, `LOAD_ARGUMENT(reg, param)`, `ALIGN(n)`,
//! `REDUCE_SUM/MAX/MIN(regs, f32 | f64 | i32 | i64)`, `Constant::f64x4_splat(0.5)` and the other
//! [`Constant`](core::ir::Constant) constructors, register views (`.xmm()`, `.ymm()`, `.r32()`),
//! masks (`dst.mask(k).zeroing()`), rounding (`RN_SAE`, `SAE`), and `target.has_*()` queries.
//! The generated items are the function, `NAME_LISTING` (its listing) and `NAME_CODE` (its
//! machine code for this platform's calling convention).
//!
//! **Static mode is Rust.** Without `#[jit]`, the body is interpreted at expansion time, and
//! every number means what rustc makes of it: its type comes from its suffix, a `let`/`const`
//! or `fn` parameter type, the other operand, the place it is used (an index is a `usize`, a
//! lane a `u8`, `Constant::u16x8` takes `u16`s) or Rust's default (`i32`, `f64`; an unsuffixed
//! literal operand of an instruction is an `i32`, as in JIT mode). Arithmetic is computed in
//! that type: overflow, a shift by the width or more, division by zero and mixed types are
//! compile errors, as in a Rust `const`; `as` truncates, wraps, saturates and rounds as Rust
//! does; `f32` arithmetic is rounded in `f32`. Also available: `u32::MAX`-style constants,
//! `std::f64::consts`, `f64::from_bits`, and the methods `sqrt`, `abs`, `powi`, `mul_add`,
//! `to_bits`, `min`, `max`, `floor`, `ceil`, `trunc`, `round` on floats and `min`, `max`, `pow`,
//! `abs`, `count_ones`, `leading_zeros`, `trailing_zeros`, `is_power_of_two`, `wrapping_add`,
//! `wrapping_sub`, `wrapping_mul` on integers. Loops run over arrays and ranges, also through the
//! adapters `iter`, `into_iter`, `copied`, `cloned`, `enumerate`, `rev`, `zip`, `step_by`, `skip`
//! and `take` (`for (i, &r) in acc.iter().enumerate()`); a shared reference is the value it
//! points at. What static mode cannot compute exactly it
//! refuses with a compile error: `u128` values above `i128::MAX`, NaNs made by arithmetic
//! (Rust leaves their bits unspecified), and the few results that depend on a type rustc would
//! infer from a later use (`!x` or a lossy `x << n` before `x` has a type: give the literal a
//! suffix). A body sees only its own names: items outside `peach_fn!` need JIT mode. Being an
//! interpreter, static mode checks the code it runs: a branch not taken (or a custom
//! instruction never called) is not type-checked; JIT mode, which is Rust, checks it all.
//! A generative test compares thousands of random expressions with rustc.
//!
//! `#[variants(x86_64::avx512, x86_64::haswell, x86_64::baseline, fallback = path)]` makes a fat
//! binary: the body is evaluated and assembled once per target, each variant is also a function
//! of its own (`NAME_HASWELL`-style names in lower case: `dot_haswell`), and `NAME_DISPATCH`
//! ([`runtime::dispatch::Dispatch`]) lists them and the one the CPU runs. With `#[jit(...)]` as
//! well, the JIT function builds the best variant the CPU runs. A JIT body names the physical
//! registers of its architecture; one with variants for both names none (`SP` would be two
//! registers), but AArch64's conditions and prefetch operations (`GT`, `PLDL1KEEP`) still.
//!
//! ## Compiling kernels at run time
//!
//! A program that builds many kernels at run time compiles them about 6 % faster when Cargo
//! builds the code generator and its encoder tables in one codegen unit each (LLVM then inlines
//! across them), for a few seconds more of release build. Cargo takes profiles only from the
//! workspace being built, so add to your own `Cargo.toml`:
//!
//! ```toml
//! [profile.release.package.peach-core]
//! codegen-units = 1
//!
//! [profile.release.package.iced-x86]
//! codegen-units = 1
//! ```

#![warn(missing_docs)]

// The code `peach_fn!` generates names `::peach`, which must resolve inside this crate too.
extern crate self as peach;

pub mod kernels;

/// Writes an assembly kernel inline in Rust: see the crate documentation.
pub use peach_macros::peach_fn;

#[doc(hidden)]
mod jit;

/// Everything the code `peach_fn!` generates refers to, and nothing else does: the expansion
/// reaches peach only through this module. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::jit::*;
    pub use core::arch::global_asm;
    pub use peach_core::ir::{Reg, Type};
    pub use peach_core::isa::lang::{Reduction, VregKind};
    pub use peach_core::isa::x86_64::Elem;
    pub use peach_core::{CodeObject, Error};
    pub use peach_runtime::Kernel;
    pub use peach_runtime::dispatch::{CpuCheck, Dispatch, Variant};

    /// What a JIT body sees: the user's prelude.
    pub mod prelude {
        pub use crate::prelude::*;
    }
    /// AArch64's conditions and prefetch operations alone: what a JIT body with variants for
    /// both architectures sees (their registers would clash: `SP`).
    pub use peach_core::isa::aarch64::names as names_aarch64;
    pub use peach_core::{regs_aarch64, regs_x86_64};
}

pub use peach_core::{Abi, CodeObject, Error, ErrorKind, Function, Result, Target};
pub use peach_runtime::Kernel;

/// The compiler (IR, passes, ISA backends), for when the prelude is not enough.
pub use peach_core as core;
/// The runtime (executable memory, typed kernels).
pub use peach_runtime as runtime;

pub use peach_core::{regs_aarch64, regs_x86_64};

/// Everything a kernel author needs, in one import (the physical registers of each
/// architecture are in [`regs_x86_64`] and [`regs_aarch64`]).
pub mod prelude {
    pub use peach_core::prelude::*;
    /// Writes an assembly kernel inline in Rust: see the crate documentation.
    pub use peach_macros::peach_fn;
    pub use peach_runtime::Kernel;
}
