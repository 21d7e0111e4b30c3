//! Telling the process's tools about the kernels it loads: the platform unwinder, so that a
//! backtrace taken in a kernel's callee (or by a profiler) walks through the kernel to its
//! caller; `perf`, through the map file it reads JIT symbols from or its jitdump file; gdb,
//! through its JIT interface. All are off by default: loading then costs nothing more. Switch
//! them on with [`enable`] or the environment, read at the first load: `PEACH_UNWIND=1`,
//! `PEACH_PERF=map` or `PEACH_PERF=jitdump` (or both, `map,jitdump`), `PEACH_GDB=1`.
//!
//! ```
//! use peach_runtime::tools::{self, Tool};
//! tools::enable(Tool::Unwind);
//! assert!(tools::enabled(Tool::Unwind));
//! ```

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

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
    /// A code-load record per kernel (address, size, name and the machine code itself), after
    /// a debug-info record with its source lines (where the builder API was called), in perf's
    /// jitdump format, in `jit-<pid>.dump` in `$JITDUMPDIR` or `/tmp`, which the process
    /// maps executable so that `perf record -k mono` notes it and `perf inject --jit` turns the
    /// records into symbols and code for `perf report` and `perf annotate` (Linux).
    /// Environment: `PEACH_PERF=jitdump`.
    JitDump,
    /// An in-memory ELF object per kernel (its symbol, source lines and call-frame
    /// information) registered with gdb's JIT interface, and unregistered when the kernel is
    /// dropped: gdb then stops at breakpoints on the kernel's lines (lines of Rust where the
    /// builder API was called), shows them in backtraces and unwinds through the kernel (Linux,
    /// x86-64 and AArch64). Kernels loaded while it is on get private memory of their own
    /// instead of a slot of the shared pool: gdb writes its breakpoints into the code, which a
    /// shared read-execute mapping refuses. Environment: `PEACH_GDB=1`.
    Gdb,
}

impl Tool {
    fn bit(self) -> u8 {
        match self {
            Tool::Unwind => 1,
            Tool::PerfMap => 2,
            Tool::JitDump => 4,
            Tool::Gdb => 8,
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
        if set("PEACH_GDB", "1") {
            ON.fetch_or(Tool::Gdb.bit(), Ordering::Relaxed);
        }
    });
}

/// Announces the kernels loaded from now on to `tool`. For the tools that read source lines
/// (`JitDump`, `Gdb`), functions compiled from now on record them
/// ([`peach_core::ir::Function::record_source_lines_by_default`]).
pub fn enable(tool: Tool) {
    read_env();
    if matches!(tool, Tool::JitDump | Tool::Gdb) {
        peach_core::ir::Function::record_source_lines_by_default(true);
    }
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

/// Whether kernels loaded now are debugged with gdb (one atomic load when no tool is on).
/// (Under Miri, which maps no code, nothing asks.)
#[cfg(target_os = "linux")]
#[cfg_attr(miri, allow(dead_code))]
#[inline]
pub(crate) fn debugged() -> bool {
    ON.load(Ordering::Relaxed) != 0 && enabled(Tool::Gdb)
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
        perf::map(code, address);
    }
    if enabled(Tool::JitDump) {
        perf::jitdump::record(code, address);
    }
    if enabled(Tool::Unwind) {
        unwind::register(code, address);
        WITHDRAW.store(true, Ordering::Relaxed);
    }
    if enabled(Tool::Gdb) {
        gdb::register(code, address);
        WITHDRAW.store(true, Ordering::Relaxed);
    }
}

/// Whether any kernel was ever announced to a tool that must be told when it goes.
static WITHDRAW: AtomicBool = AtomicBool::new(false);

/// Withdraws what was announced of the kernel in `code`, before its memory goes (one atomic
/// load when nothing was).
#[inline]
pub(crate) fn withdraw(code: &crate::ExecCode) {
    if WITHDRAW.load(Ordering::Relaxed) {
        unwind::deregister(code.as_ptr() as usize);
        gdb::deregister(code.as_ptr() as usize);
    }
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(miri)))]
mod gdb;
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"), not(miri))))]
mod gdb {
    pub(super) fn register(_code: &peach_core::CodeObject, _address: usize) {}
    pub(super) fn deregister(_address: usize) {}
}
mod perf;
mod unwind;

#[cfg(target_os = "linux")]
pub use perf::jitdump;
