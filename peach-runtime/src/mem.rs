//! Executable memory with W^X by ownership: bytes go into a writable mapping, which is consumed
//! to make the read-execute one.
//!
//! Under Miri, which can neither map executable memory nor run machine code, the bytes live in
//! an ordinary allocation, so that everything up to a call (loading, reading, sharing, freeing)
//! is still checked.

use peach_core::Error;
#[cfg(not(miri))]
use peach_core::ErrorKind;

/// Read-execute memory holding machine code; unmapped on drop.
pub struct ExecCode {
    #[cfg(not(miri))]
    buf: dynasmrt::ExecutableBuffer,
    #[cfg(miri)]
    buf: Box<[u8]>,
}

impl ExecCode {
    /// Copies `bytes` into fresh executable memory.
    #[cfg(not(miri))]
    pub fn new(bytes: &[u8]) -> Result<ExecCode, Error> {
        let err = |e: std::io::Error| Error::new(ErrorKind::Memory, format!("cannot map executable memory: {e}"));
        let mut m = dynasmrt::mmap::MutableBuffer::new(bytes.len().max(1)).map_err(err)?;
        m.set_len(bytes.len());
        m.copy_from_slice(bytes);
        let buf = m.make_exec().map_err(err)?;
        // No-ops on x86-64; required on AArch64 before running freshly written code.
        dynasmrt::cache_control::synchronize_icache(&buf);
        dynasmrt::cache_control::prepare_for_execution(&buf);
        Ok(ExecCode { buf })
    }

    /// Copies `bytes` into fresh memory (not executable: nothing runs under Miri).
    #[cfg(miri)]
    pub fn new(bytes: &[u8]) -> Result<ExecCode, Error> {
        Ok(ExecCode { buf: bytes.into() })
    }

    /// Start address.
    pub fn as_ptr(&self) -> *const u8 {
        self.buf.as_ptr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it holds no code.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}
