//! Telling the process's tools about the kernels it loads: the platform unwinder, so that a
//! backtrace taken in a kernel's callee (or by a profiler) walks through the kernel to its
//! caller, and `perf`, through the map file it reads JIT symbols from. All are off by default:
//! loading then costs nothing more. Switch them on with [`enable`] or the environment, read at
//! the first load: `PEACH_UNWIND=1`, `PEACH_PERF=map` or `PEACH_PERF=jitdump` (or both,
//! `map,jitdump`).
//!
//! ```
//! use peach_runtime::tools::{self, Tool};
//! tools::enable(Tool::Unwind);
//! assert!(tools::enabled(Tool::Unwind));
//! ```

use std::sync::Once;
use std::sync::atomic::{AtomicU8, Ordering};

use peach_core::CodeObject;

/// A tool that loaded kernels can be announced to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// Unwind information registered with the platform unwinder (libgcc's `__register_frame`
    /// on Linux with glibc; elsewhere nothing is registered yet), removed when the kernel is
    /// dropped. Environment: `PEACH_UNWIND=1`.
    Unwind,
    /// A line per kernel (address, size, name, in hexadecimal as perf wants them) appended to
    /// `/tmp/perf-<pid>.map`, where `perf report` looks for JIT symbols (Linux). Lines stay
    /// after a kernel is dropped, as perf expects. Environment: `PEACH_PERF=map`.
    PerfMap,
    /// A code-load record per kernel (address, size, name and the machine code itself) in
    /// perf's jitdump format, in `jit-<pid>.dump` in `$JITDUMPDIR` or `/tmp`, which the process
    /// maps executable so that `perf record -k mono` notes it and `perf inject --jit` turns the
    /// records into symbols and code for `perf report` and `perf annotate` (Linux).
    /// Environment: `PEACH_PERF=jitdump`.
    JitDump,
}

impl Tool {
    fn bit(self) -> u8 {
        match self {
            Tool::Unwind => 1,
            Tool::PerfMap => 2,
            Tool::JitDump => 4,
        }
    }
}

/// The tools that are on, and [`UNREAD`] until the environment has been read: a load with
/// everything off is one atomic load that finds 0.
static ON: AtomicU8 = AtomicU8::new(UNREAD);
const UNREAD: u8 = 0x80;
static FROM_ENV: Once = Once::new();

fn read_env() {
    FROM_ENV.call_once(|| {
        ON.fetch_and(!UNREAD, Ordering::Relaxed);
        let set = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v.split(',').any(|v| v == value));
        if set("PEACH_UNWIND", "1") {
            ON.fetch_or(Tool::Unwind.bit(), Ordering::Relaxed);
        }
        if set("PEACH_PERF", "map") {
            ON.fetch_or(Tool::PerfMap.bit(), Ordering::Relaxed);
        }
        if set("PEACH_PERF", "jitdump") {
            ON.fetch_or(Tool::JitDump.bit(), Ordering::Relaxed);
        }
    });
}

/// Announces the kernels loaded from now on to `tool`.
pub fn enable(tool: Tool) {
    read_env();
    ON.fetch_or(tool.bit(), Ordering::Relaxed);
}

/// Stops announcing the kernels loaded from now on to `tool` (those loaded stay announced
/// until they are dropped).
pub fn disable(tool: Tool) {
    read_env();
    ON.fetch_and(!tool.bit(), Ordering::Relaxed);
}

/// Whether kernels loaded now are announced to `tool`.
pub fn enabled(tool: Tool) -> bool {
    read_env();
    ON.load(Ordering::Relaxed) & tool.bit() != 0
}

/// Announces `code`, loaded at `address`, to the tools that are on.
#[inline]
pub(crate) fn announce(code: &CodeObject, address: usize) {
    if ON.load(Ordering::Relaxed) != 0 {
        announce_slowly(code, address);
    }
}

#[cold]
fn announce_slowly(code: &CodeObject, address: usize) {
    if enabled(Tool::PerfMap) {
        perf_map(code, address);
    }
    if enabled(Tool::JitDump) {
        jitdump::record(code, address);
    }
    if enabled(Tool::Unwind) {
        unwind::register(code, address);
    }
}

/// Withdraws what was announced of the kernel in `code`, before its memory goes (one atomic
/// load when nothing was).
#[inline]
pub(crate) fn withdraw(code: &crate::ExecCode) {
    if unwind::ANY.load(Ordering::Relaxed) {
        unwind::deregister(code.as_ptr() as usize);
    }
}

/// The `.eh_frame` of each kernel registered with the unwinder, by address.
mod unwind {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;

    use peach_core::CodeObject;

    /// Whether any was ever registered.
    pub(super) static ANY: AtomicBool = AtomicBool::new(false);
    /// Boxes, so that each `.eh_frame` stays where the unwinder was told it is.
    #[cfg_attr(not(all(target_os = "linux", target_env = "gnu", not(miri))), allow(dead_code))]
    static FRAMES: Mutex<Vec<(usize, Box<[u64]>)>> = Mutex::new(Vec::new());

    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    pub(super) fn register(code: &CodeObject, address: usize) {
        use std::sync::atomic::Ordering;
        let (Some(entry), Some(steps)) = (code.entry_frame(), code.frame_steps()) else { return };
        let bytes = peach_core::emit::eh_frame(entry, address as u64, code.bytes().len() as u64, steps);
        // Words, so that the unwinder reads its lengths aligned.
        let mut words = vec![0u64; bytes.len().div_ceil(8)].into_boxed_slice();
        for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        let Ok(mut frames) = FRAMES.lock() else { return };
        // SAFETY: `words` holds a complete `.eh_frame` (a CIE, an FDE and the zero terminator)
        // describing code that stays mapped until `deregister` withdraws it; the box is kept,
        // unmoved, in `FRAMES` until then.
        unsafe { __register_frame(words.as_ptr().cast()) };
        frames.push((address, words));
        ANY.store(true, Ordering::Relaxed);
    }

    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    pub(super) fn deregister(address: usize) {
        let Ok(mut frames) = FRAMES.lock() else { return };
        if let Some(i) = frames.iter().position(|(a, _)| *a == address) {
            let (_, words) = frames.swap_remove(i);
            // SAFETY: `words` was registered by `register` with this very pointer.
            unsafe { __deregister_frame(words.as_ptr().cast()) };
        }
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
    pub(super) fn register(_code: &CodeObject, _address: usize) {}

    #[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
    pub(super) fn deregister(_address: usize) {}

    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    unsafe extern "C" {
        /// libgcc: adds the `.eh_frame` at `begin` to those the unwinder searches.
        fn __register_frame(begin: *const u8);
        /// libgcc: removes it again.
        fn __deregister_frame(begin: *const u8);
    }
}

/// Appends `code`'s line to perf's map file for this process.
fn perf_map(code: &CodeObject, address: usize) {
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
    use peach_core::target::Arch;

    /// The file's magic number, `JiTD`.
    pub const MAGIC: u32 = 0x4A69_5444;
    /// The record of a piece of code loaded.
    pub const JIT_CODE_LOAD: u32 = 0;

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

    /// Appends the code-load record of `code`, loaded at `address`.
    pub(super) fn record(code: &CodeObject, address: usize) {
        let Ok(mut guard) = file().lock() else { return };
        let Some((f, index)) = guard.as_mut() else { return };
        let name = code.name().as_bytes();
        let size = 16 + 40 + name.len() + 1 + code.bytes().len();
        let mut r = Vec::with_capacity(size);
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
mod jitdump {
    pub(super) fn record(_code: &peach_core::CodeObject, _address: usize) {}
}
