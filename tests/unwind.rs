//! Unwinding through a static kernel: the kernel saves a callee-saved register (so its frame is
//! not the caller's) and calls back into Rust; the callback captures a backtrace, which must
//! walk through the kernel's frame, by its call-frame information, to the Rust test that called
//! it. Without the kernel's CFI the walk stops at the kernel.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::backtrace::Backtrace;
use std::sync::Mutex;

use peach::prelude::*;

static TRACE: Mutex<String> = Mutex::new(String::new());

extern "C" fn callback() -> u64 {
    *TRACE.lock().unwrap() = Backtrace::force_capture().to_string();
    35
}

peach_fn! {
    /// Calls `f` (an `extern "C" fn() -> u64`) with rbx in use across the call; returns its
    /// result plus 7.
    #[target(x86_64::baseline)]
    pub unsafe fn call_through(f: usize) -> u64 {
        ASM("mov rbx, 7");
        ASM("call {}", f);
        ASM("add rax, rbx");
        RETURN(RAX);
    }
}

#[inline(never)]
fn the_rust_caller() -> u64 {
    // SAFETY: `callback` is an `extern "C" fn() -> u64`, which the kernel calls with the stack
    // aligned as the C convention wants (rbx pushed: rsp is 16-byte aligned at the call).
    unsafe { call_through(callback as extern "C" fn() -> u64 as usize) }
}

#[test]
fn a_backtrace_walks_through_a_static_kernel() {
    assert_eq!(the_rust_caller(), 42);
    let trace = TRACE.lock().unwrap().clone();
    let at = |name: &str| trace.find(name).unwrap_or_else(|| panic!("`{name}` is not in the backtrace:\n{trace}"));
    // The callback, then (through the kernel) the Rust function that called the kernel, then
    // the test.
    let (inner, caller, test) = (at("unwind::callback"), at("the_rust_caller"), at("a_backtrace_walks_through"));
    assert!(inner < caller && caller < test, "{trace}");
}
