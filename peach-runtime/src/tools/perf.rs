//! perf's files: the map file of JIT symbols and the jitdump file.

use peach_core::CodeObject;

/// Appends `code`'s line to perf's map file for this process.
pub(super) fn map(code: &CodeObject, address: usize) {
    use std::io::Write as _;
    // (perf looks in /tmp itself, whatever TMPDIR says.)
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let line = format!("{:x} {:x} {}\n", address, code.bytes().len(), code.name());
    // (A tool's file that cannot be written must not fail the load.)
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = f.write_all(line.as_bytes());
    }
}

/// perf's jitdump file (tools/perf/Documentation/jitdump-specification.txt in Linux): a
/// header, then a `JIT_CODE_LOAD` record per kernel, appended under a lock.
#[cfg(target_os = "linux")]
pub mod jitdump {
    use std::io::Write as _;
    use std::sync::{Mutex, OnceLock};

    use peach_core::CodeObject;
    use peach_core::emit::LineTable;
    use peach_core::target::Arch;

    /// The file's magic number, `JiTD`.
    pub const MAGIC: u32 = 0x4A69_5444;
    /// The record of a piece of code loaded.
    pub const JIT_CODE_LOAD: u32 = 0;
    /// The record of a piece of code's source lines (before its code-load record): the code's
    /// address, the number of entries, then per entry an address, a line, a discriminator (0)
    /// and a file name.
    pub const JIT_CODE_DEBUG_INFO: u32 = 2;

    /// Where the file of this process goes: `$JITDUMPDIR` or `/tmp`.
    ///
    /// ```
    /// let path = peach_runtime::tools::jitdump::path();
    /// assert!(path.ends_with(format!("jit-{}.dump", std::process::id())));
    /// ```
    pub fn path() -> std::path::PathBuf {
        let dir = std::env::var_os("JITDUMPDIR").map_or_else(|| "/tmp".into(), std::path::PathBuf::from);
        dir.join(format!("jit-{}.dump", std::process::id()))
    }

    /// `CLOCK_MONOTONIC` in nanoseconds, the clock `perf record -k mono` stamps samples with.
    fn now() -> u64 {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid timespec to write.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
        t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
    }

    /// The open file and the next code index; `None` where it could not be made.
    fn file() -> &'static Mutex<Option<(std::fs::File, u64)>> {
        static FILE: OnceLock<Mutex<Option<(std::fs::File, u64)>>> = OnceLock::new();
        FILE.get_or_init(|| Mutex::new(open().ok().map(|f| (f, 0))))
    }

    fn open() -> std::io::Result<std::fs::File> {
        use std::os::fd::AsRawFd as _;
        let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path())?;
        let machine: u32 = match Arch::host() {
            Arch::Aarch64 => 183, // EM_AARCH64
            _ => 62,              // EM_X86_64
        };
        let mut header = Vec::with_capacity(40);
        for word in [MAGIC, 1, 40, machine, 0, std::process::id()] {
            header.extend_from_slice(&word.to_le_bytes());
        }
        header.extend_from_slice(&now().to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes()); // flags
        f.write_all(&header)?;
        // perf record notes the file through this executable mapping of it (never unmapped:
        // it marks the file for the life of the process).
        // SAFETY: a fresh private read-execute mapping of a file this process owns; nothing
        // reads or runs it.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if mapped == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(f)
    }

    /// Appends the records of `code`, loaded at `address`: its source lines (lines of Rust,
    /// where the builder API was called), then its code.
    pub(crate) fn record(code: &CodeObject, address: usize) {
        let Ok(mut guard) = file().lock() else { return };
        let Some((f, index)) = guard.as_mut() else { return };
        let mut r = Vec::new();
        let lines = LineTable::of_rust(code.source_lines());
        if !lines.rows.is_empty() {
            r.extend_from_slice(&JIT_CODE_DEBUG_INFO.to_le_bytes());
            r.extend_from_slice(&[0; 4]); // the size, below
            r.extend_from_slice(&now().to_le_bytes());
            r.extend_from_slice(&(address as u64).to_le_bytes());
            r.extend_from_slice(&(lines.rows.len() as u64).to_le_bytes());
            for row in &lines.rows {
                r.extend_from_slice(&(address as u64 + row.offset as u64).to_le_bytes());
                r.extend_from_slice(&row.line.to_le_bytes());
                r.extend_from_slice(&0u32.to_le_bytes());
                let file = lines.files.get(row.file as usize - 1).map_or("", |f| f.as_str());
                r.extend(file.bytes().filter(|&b| b != 0));
                r.push(0);
            }
            let size = r.len() as u32;
            r[4..8].copy_from_slice(&size.to_le_bytes());
        }
        let name = code.name().as_bytes();
        let size = 16 + 40 + name.len() + 1 + code.bytes().len();
        r.reserve(size);
        r.extend_from_slice(&JIT_CODE_LOAD.to_le_bytes());
        r.extend_from_slice(&(size as u32).to_le_bytes());
        r.extend_from_slice(&now().to_le_bytes());
        r.extend_from_slice(&std::process::id().to_le_bytes());
        // SAFETY: gettid has no preconditions.
        r.extend_from_slice(&(unsafe { libc::gettid() } as u32).to_le_bytes());
        for v in [address as u64, address as u64, code.bytes().len() as u64, *index] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        r.extend_from_slice(name);
        r.push(0);
        r.extend_from_slice(code.bytes());
        *index += 1;
        // (A tool's file that cannot be written must not fail the load.)
        let _ = f.write_all(&r);
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) mod jitdump {
    pub(crate) fn record(_code: &peach_core::CodeObject, _address: usize) {}
}
