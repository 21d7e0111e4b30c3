//! peach-runtime: run code that peach generated.
//!
//! [`Kernel`] loads a [`CodeObject`] into executable memory (never writable and executable at
//! once: the bytes are written into a read-write mapping that is then turned read-execute) and
//! hands out a typed function pointer. The memory lives as long as the kernel.

#![warn(missing_docs)]

pub mod dispatch;
mod mem;

use std::marker::PhantomData;

pub use mem::ExecCode;
use peach_core::target::Arch;
use peach_core::{CodeObject, Error, ErrorKind};

/// A loaded kernel: executable memory plus a function pointer of type `F` into it.
///
/// `F` is a function pointer type such as `unsafe extern "sysv64" fn(*const f64, usize) -> f64`;
/// its ABI must be the one the code was compiled for.
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
/// let k = unsafe { Kernel::<unsafe extern "sysv64" fn() -> i32>::load(&code)? };
/// assert_eq!(unsafe { (k.get())() }, 42);
/// # }
/// # Ok::<(), peach_core::Error>(())
/// ```
pub struct Kernel<F: Copy> {
    code: ExecCode,
    entry: F,
    _f: PhantomData<F>,
}

impl<F: Copy> Kernel<F> {
    /// Loads `code` and returns it as a callable `F`.
    ///
    /// # Safety
    ///
    /// `F` must be a function pointer type whose signature and calling convention match the
    /// signature and ABI `code` was compiled for, and the code must be for the machine running it.
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
        let exec = ExecCode::new(code.bytes())?;
        let addr = exec.as_ptr() as usize + code.entry();
        // SAFETY: `F` is pointer-sized (checked above) and, by this function's contract, a function
        // pointer type matching the code.
        let entry = unsafe { std::mem::transmute_copy::<usize, F>(&addr) };
        Ok(Kernel { code: exec, entry, _f: PhantomData })
    }

    /// The function pointer. It stays valid as long as the kernel lives.
    pub fn get(&self) -> F {
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

impl<F: Copy> std::fmt::Debug for Kernel<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("addr", &self.code.as_ptr()).field("len", &self.code.len()).finish()
    }
}

// SAFETY: the memory is immutable once loaded and freed only on drop; a function pointer is
// freely shareable.
unsafe impl<F: Copy> Send for Kernel<F> {}
// SAFETY: as above.
unsafe impl<F: Copy> Sync for Kernel<F> {}
