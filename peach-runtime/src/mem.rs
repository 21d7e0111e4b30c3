//! Executable memory, never writable and executable at once.
//!
//! On Linux, kernels share pooled memory (see [`pool`](self::pool)): loading copies the code into
//! the next free slot of a chunk mapped twice, read-write and read-execute, with no system call
//! for most loads. Elsewhere, or where the pool cannot be made (no `memfd_create`, or a policy
//! refusing executable shared mappings), each kernel gets its own mapping, written and then turned
//! read-execute.
//!
//! Under Miri, which can neither map executable memory nor run machine code, the bytes live in
//! an ordinary allocation, so that everything up to a call (loading, reading, sharing, freeing)
//! is still checked.

use peach_core::Error;
#[cfg(not(miri))]
use peach_core::ErrorKind;

#[cfg(all(target_os = "linux", not(miri)))]
mod pool;

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of executable memory mapped for kernels.
static MAPPED: AtomicUsize = AtomicUsize::new(0);

/// How many bytes of executable memory are mapped for loaded kernels (pooled chunks and
/// mappings of their own), to watch a JIT's footprint.
///
/// ```
/// let m = peach_runtime::ExecCode::new(&[0xc3; 100])?;
/// assert!(peach_runtime::mapped_code_bytes() >= 100);
/// # Ok::<(), peach_core::Error>(())
/// ```
pub fn mapped_code_bytes() -> usize {
    MAPPED.load(Ordering::Relaxed)
}

/// Read-execute memory holding machine code; freed on drop.
pub struct ExecCode {
    mem: Mem,
}

enum Mem {
    /// A slot of the pool.
    #[cfg(all(target_os = "linux", not(miri)))]
    Pooled(pool::Slot),
    /// A mapping of its own.
    #[cfg(not(miri))]
    Mapped(dynasmrt::ExecutableBuffer),
    #[cfg(miri)]
    Plain(Box<[u8]>),
}

impl ExecCode {
    /// Copies `bytes` into executable memory, 64-byte aligned.
    ///
    /// ```
    /// let m = peach_runtime::ExecCode::new(&[0xc3])?;
    /// assert_eq!(m.len(), 1);
    /// assert_eq!(m.as_ptr() as usize % 64, 0);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn new(bytes: &[u8]) -> Result<ExecCode, Error> {
        Self::aligned(bytes, 64)
    }

    /// Copies `bytes` into executable memory whose start is aligned to `align` bytes (a power of
    /// two up to 4096, as [`peach_core::CodeObject::alignment`] gives).
    ///
    /// ```
    /// let m = peach_runtime::ExecCode::aligned(&[0xc3], 1024)?;
    /// assert_eq!(m.as_ptr() as usize % 1024, 0);
    /// assert!(peach_runtime::ExecCode::aligned(&[0xc3], 3).is_err());
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    #[cfg(not(miri))]
    pub fn aligned(bytes: &[u8], align: u32) -> Result<ExecCode, Error> {
        if !align.is_power_of_two() || align > 4096 {
            return Err(Error::new(ErrorKind::Memory, format!("cannot align code to {align} bytes")));
        }
        // (A debugger cannot write breakpoints into the pool's shared read-execute view.)
        #[cfg(target_os = "linux")]
        if !crate::tools::debugged()
            && let Some(slot) = pool::load(bytes, align as usize)
        {
            return Ok(ExecCode { mem: Mem::Pooled(slot) });
        }
        let err = |e: std::io::Error| Error::new(ErrorKind::Memory, format!("cannot map executable memory: {e}"));
        // A mapping of its own starts on a page, which is aligned enough.
        let mut m = dynasmrt::mmap::MutableBuffer::new(bytes.len().max(1)).map_err(err)?;
        m.set_len(bytes.len());
        m.copy_from_slice(bytes);
        let buf = m.make_exec().map_err(err)?;
        // No-ops on x86-64; required on AArch64 before running freshly written code.
        dynasmrt::cache_control::synchronize_icache(&buf);
        dynasmrt::cache_control::prepare_for_execution(&buf);
        MAPPED.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(ExecCode { mem: Mem::Mapped(buf) })
    }

    /// Copies `bytes` into fresh memory (not executable: nothing runs under Miri).
    #[cfg(miri)]
    pub fn aligned(bytes: &[u8], align: u32) -> Result<ExecCode, Error> {
        if !align.is_power_of_two() || align > 4096 {
            return Err(Error::new(peach_core::ErrorKind::Memory, format!("cannot align code to {align} bytes")));
        }
        MAPPED.fetch_add(bytes.len(), Ordering::Relaxed);
        Ok(ExecCode { mem: Mem::Plain(bytes.into()) })
    }

    /// Start address.
    pub fn as_ptr(&self) -> *const u8 {
        match &self.mem {
            #[cfg(all(target_os = "linux", not(miri)))]
            Mem::Pooled(slot) => slot.as_ptr(),
            #[cfg(not(miri))]
            Mem::Mapped(buf) => buf.as_ptr(),
            #[cfg(miri)]
            Mem::Plain(buf) => buf.as_ptr(),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match &self.mem {
            #[cfg(all(target_os = "linux", not(miri)))]
            Mem::Pooled(slot) => slot.len(),
            #[cfg(not(miri))]
            Mem::Mapped(buf) => buf.len(),
            #[cfg(miri)]
            Mem::Plain(buf) => buf.len(),
        }
    }

    /// Whether it holds no code.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the code shares pooled memory with other kernels (Linux, unless the system
    /// refuses the pool's shared executable mappings).
    ///
    /// ```
    /// let m = peach_runtime::ExecCode::new(&[0xc3])?;
    /// assert_eq!(m.is_pooled(), cfg!(target_os = "linux"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn is_pooled(&self) -> bool {
        #[cfg(all(target_os = "linux", not(miri)))]
        if let Mem::Pooled(_) = self.mem {
            return true;
        }
        false
    }
}

impl Drop for ExecCode {
    fn drop(&mut self) {
        match &self.mem {
            // The pool counts its chunks.
            #[cfg(all(target_os = "linux", not(miri)))]
            Mem::Pooled(_) => {}
            #[cfg(not(miri))]
            Mem::Mapped(buf) => _ = MAPPED.fetch_sub(buf.len(), Ordering::Relaxed),
            #[cfg(miri)]
            Mem::Plain(buf) => _ = MAPPED.fetch_sub(buf.len(), Ordering::Relaxed),
        }
    }
}
