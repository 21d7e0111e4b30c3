//! peach-runtime: run code that peach generated.
//!
//! [`Kernel`] loads a [`CodeObject`] into executable memory and calls it. The memory lives as
//! long as the kernel and is never writable and executable at once. On Linux kernels share a
//! pool: chunks of one memory object mapped twice, read-write to copy code in and read-execute
//! to run it, so that a load is a copy (about 0.06 us for load and drop, against 7.7 us for a
//! mapping of its own, on Zen 5) and a chunk is unmapped when its last kernel goes. Elsewhere
//! each kernel's bytes go into a mapping of its own that is then turned read-execute.
//! [`mapped_code_bytes`] tells how much is mapped.
//!
//! # Soundness: what each public item guarantees
//!
//! Safe code cannot cause undefined behaviour through this crate, the `peach` facade or the code
//! `peach_fn!` generates. Where a caller must promise something, the function is `unsafe` and
//! its `# Safety` section says what.
//!
//! - [`Kernel::load`] is `unsafe`: the caller promises that `F` is the code's signature and
//!   convention, that the code runs on this CPU, and, for a safe `F`, that no arguments can make
//!   it misbehave. It checks what it can: `F` is a function pointer (the sealed [`KernelFn`]),
//!   the code is for this architecture, its entry is inside it.
//! - [`Kernel::call`] borrows the kernel, so no call outlives the memory; it is safe exactly
//!   when `F` is a safe function type. [`Kernel::get`] hands out the bare pointer and is `unsafe`
//!   (the pointer must not be called after the kernel is dropped). `Kernel` is `Send` and `Sync`:
//!   the memory is immutable once loaded and only a function pointer is shared.
//! - [`ExecCode`] maps bytes read-execute: making one is safe (nothing runs); running it needs a
//!   typed pointer, which only `unsafe` code can make.
//! - [`dispatch::Dispatch`]: `new`, `choose`, `active`, `variants`, `pointer` and `reset` are
//!   safe (reset points calls back at the resolver the kernel was made with);
//!   [`dispatch::Dispatch::install`] is `unsafe`, since every later call of the kernel jumps to
//!   the pointer it is given. Only the generated resolver calls it, with a variant `choose`
//!   found to run here, or the fallback.
//! - [`dispatch::set_max_isa`], [`dispatch::detected`], [`dispatch::runs_here`] and
//!   [`dispatch::CpuCheck`] only read the CPU or steer the choice among variants that run here.
//!
//! The code `peach_fn!` generates: a kernel that takes a raw pointer must be declared `unsafe
//! fn` (a compile error otherwise), and its callers promise what its documentation asks; a safe
//! kernel whose code needs more than its architecture's baseline checks the CPU once
//! ([`dispatch::CpuCheck`]) and panics where it would raise an illegal instruction; a fat binary
//! calls only variants whose extensions the CPU has (or its fallback); a `#[jit]` kernel is an
//! error on a CPU that lacks what its code uses. The generated `unsafe` blocks call code built
//! for exactly the declared signature and convention; each says why in a `SAFETY` comment.
//!
//! How this is checked: `tests/soundness.rs` holds the reproducers of every hole found so far;
//! trybuild cases show that the unsound uses do not compile; CI runs this crate's tests and the
//! reproducers under Miri (everything but the machine code itself, which Miri cannot run: under
//! it [`ExecCode`] is an ordinary allocation and sgemm's micro-kernels are Rust models of the
//! same widths) and the kernel tests under AddressSanitizer.

#![warn(missing_docs)]

pub mod dispatch;
mod mem;
pub mod tools;
pub mod tune;

use std::marker::PhantomData;

pub use mem::{ExecCode, mapped_code_bytes};
use peach_core::target::Arch;
use peach_core::{CodeObject, Error, ErrorKind};

/// A loaded kernel: executable memory plus a function pointer of type `F` into it.
///
/// `F` is a function pointer type such as `unsafe extern "sysv64" fn(*const f64, usize) -> f64`;
/// its ABI must be the one the code was compiled for. The kernel is called through
/// [`call`](Kernel::call), which borrows it, so that no call can outlive the memory: a safe
/// `F` gives a safe `call`, an `unsafe` one an `unsafe` `call`. [`get`](Kernel::get) hands out the
/// bare pointer, unsafely: nothing stops it from outliving the kernel.
///
/// ```
/// use peach_core::prelude::*;
/// use peach_runtime::Kernel;
///
/// let mut f = Function::new("answer", Signature::new(&[], Some(Type::I32)), Target::x86_64_baseline());
/// let x = f.gp64();
/// f.ins("mov", (x.r32(), 42));
/// f.ret(x);
/// let code = f.compile(Abi::SysV)?;
/// # #[cfg(target_arch = "x86_64")] {
/// // SAFETY: the code was compiled for this signature in System V and runs on any x86-64.
/// let k = unsafe { Kernel::<extern "sysv64" fn() -> i32>::load(&code)? };
/// assert_eq!(k.call(), 42);
/// # }
/// # Ok::<(), peach_core::Error>(())
/// ```
pub struct Kernel<F: KernelFn> {
    code: ExecCode,
    entry: F,
    _f: PhantomData<F>,
}

mod sealed {
    pub trait Sealed {}
}

/// The function pointer types a [`Kernel`] can have: `extern "C"` (and, on x86-64,
/// `extern "sysv64"` and `extern "win64"`) functions of up to 12 parameters, safe or `unsafe`.
/// Sealed: nothing else is a function pointer.
pub trait KernelFn: Copy + sealed::Sealed {}

macro_rules! kernel_fns {
    ($abi:literal: $($($a:ident)*;)*) => {$(
        impl<R, $($a),*> $crate::sealed::Sealed for extern $abi fn($($a),*) -> R {}
        impl<R, $($a),*> $crate::KernelFn for extern $abi fn($($a),*) -> R {}
        impl<R, $($a),*> $crate::sealed::Sealed for unsafe extern $abi fn($($a),*) -> R {}
        impl<R, $($a),*> $crate::KernelFn for unsafe extern $abi fn($($a),*) -> R {}
        #[allow(non_snake_case, clippy::too_many_arguments)]
        impl<R, $($a),*> $crate::Kernel<extern $abi fn($($a),*) -> R> {
            /// Calls the kernel (its memory stays alive: `self` is borrowed).
            pub fn call(&self, $($a: $a),*) -> R {
                (self.entry)($($a),*)
            }
        }
        #[allow(non_snake_case, clippy::too_many_arguments)]
        impl<R, $($a),*> $crate::Kernel<unsafe extern $abi fn($($a),*) -> R> {
            /// Calls the kernel (its memory stays alive: `self` is borrowed).
            ///
            /// # Safety
            ///
            /// The kernel's own contract: what its `unsafe` signature asks of the caller.
            pub unsafe fn call(&self, $($a: $a),*) -> R {
                // SAFETY: the caller upholds the kernel's contract; the code lives while `self` does.
                unsafe { (self.entry)($($a),*) }
            }
        }
    )*};
}

macro_rules! all_arities {
    ($abi:literal) => {
        kernel_fns!($abi: ; A0; A0 A1; A0 A1 A2; A0 A1 A2 A3; A0 A1 A2 A3 A4; A0 A1 A2 A3 A4 A5;
            A0 A1 A2 A3 A4 A5 A6; A0 A1 A2 A3 A4 A5 A6 A7; A0 A1 A2 A3 A4 A5 A6 A7 A8;
            A0 A1 A2 A3 A4 A5 A6 A7 A8 A9; A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 A10;
            A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11;);
    };
}
all_arities!("C");

/// The explicit x86-64 conventions, to run System V and Microsoft x64 code side by side.
#[cfg(target_arch = "x86_64")]
mod x86_64_conventions {
    all_arities!("sysv64");
    all_arities!("win64");
}

impl<F: KernelFn> Drop for Kernel<F> {
    fn drop(&mut self) {
        // The tools forget the kernel before its memory goes.
        tools::withdraw(&self.code);
    }
}

impl<F: KernelFn> Kernel<F> {
    /// Loads `code` and returns it as a callable `F`.
    ///
    /// # Safety
    ///
    /// `F` must be a function pointer type whose signature and calling convention match the
    /// signature and ABI `code` was compiled for, the code must run on this CPU, and a safe `F`
    /// promises that calling the code cannot cause undefined behaviour whatever the arguments.
    pub unsafe fn load(code: &CodeObject) -> Result<Kernel<F>, Error> {
        if std::mem::size_of::<F>() != std::mem::size_of::<usize>() {
            return Err(Error::new(ErrorKind::Signature, "a kernel's type must be a function pointer"));
        }
        let host = Arch::host();
        if code.target().arch() != host {
            return Err(Error::new(
                ErrorKind::NotInTarget,
                format!("`{}` is {:?} code and cannot run on this {host:?} machine", code.name(), code.target().arch()),
            ));
        }
        if code.entry() >= code.bytes().len() {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("`{}`: entry {} is outside its {} bytes", code.name(), code.entry(), code.bytes().len()),
            ));
        }
        let exec = ExecCode::aligned(code.bytes(), code.alignment())?;
        tools::announce(code, exec.as_ptr() as usize);
        let addr = exec.as_ptr() as usize + code.entry();
        // SAFETY: `F` is a function pointer type (sealed), of the code's signature by this
        // function's contract; `addr` is inside the mapping (checked above).
        let entry = unsafe { std::mem::transmute_copy::<usize, F>(&addr) };
        Ok(Kernel { code: exec, entry, _f: PhantomData })
    }

    /// The bare function pointer.
    ///
    /// # Safety
    ///
    /// The pointer must not be called after the kernel is dropped: the memory it points into
    /// is freed then (and may hold another kernel). [`Kernel::call`] borrows the kernel instead.
    pub unsafe fn get(&self) -> F {
        self.entry
    }

    /// The executable memory holding the code.
    pub fn memory(&self) -> &ExecCode {
        &self.code
    }

    /// The machine code, as loaded.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is readable and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.code.as_ptr(), self.code.len()) }
    }
}

impl<F: KernelFn> std::fmt::Debug for Kernel<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("addr", &self.code.as_ptr()).field("len", &self.code.len()).finish()
    }
}

// SAFETY: the memory is immutable once loaded and freed only on drop; `F` is a function pointer
// (sealed), which any thread may call while the kernel lives.
unsafe impl<F: KernelFn> Send for Kernel<F> {}
// SAFETY: as above.
unsafe impl<F: KernelFn> Sync for Kernel<F> {}

#[cfg(test)]
mod tests;
