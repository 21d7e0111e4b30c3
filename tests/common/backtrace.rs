//! What the unwinding tests share (tests/tools.rs on Linux, tests/windows.rs on Windows): a Rust
//! callback that a kernel calls and that takes a backtrace, and the check of that backtrace.
#![allow(dead_code)]

use std::backtrace::Backtrace;
use std::cell::RefCell;

use peach::prelude::*;

thread_local! {
    /// The backtrace the callback took (tests run on threads of their own).
    pub static TRACE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Takes a backtrace into [`TRACE`]; returns 35.
pub extern "C" fn callback() -> u64 {
    TRACE.set(Backtrace::force_capture().to_string());
    35
}

/// [`callback`]'s address, to pass to a kernel.
pub fn callback_address() -> usize {
    callback as extern "C" fn() -> u64 as usize
}

/// Asserts that the backtrace taken shows the callback, then (through the kernel) `caller`, the
/// Rust function that called the kernel, then `test`. (Frame names are paths, `tools::the_caller`,
/// where the test has full debugging information, and bare names with line tables alone.)
pub fn walked(caller: &str, test: &str) {
    let trace = TRACE.take();
    // A frame's line: `  3: path::name` (then `at file:line` on the next line).
    let named = |l: &str, name: &str| {
        l.trim_start()
            .split_once(": ")
            .is_some_and(|(_, path)| path.rsplit("::").next().is_some_and(|n| n.starts_with(name)))
    };
    let at = |name: &str| {
        let found = trace.lines().position(|l| named(l, name));
        found.unwrap_or_else(|| panic!("`{name}` is not in the backtrace:\n{trace}"))
    };
    let (inner, caller, test) = (at("callback"), at(caller), at(test));
    assert!(inner < caller && caller < test, "{trace}");
}

/// Calls JIT kernel `k` with the callback's address.
#[inline(never)]
pub fn the_rust_caller_of_a_jit_kernel(k: &Kernel<unsafe extern "C" fn(usize) -> u64>) -> u64 {
    // (`black_box`: the call is not a tail call, so this function keeps its frame.)
    // SAFETY: the kernels given here call their argument as an `extern "C" fn() -> u64`, as the
    // convention wants, and compute.
    std::hint::black_box(unsafe { k.call(callback_address()) })
}
