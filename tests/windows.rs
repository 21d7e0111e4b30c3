//! Windows x64 (run under Wine in CI): a backtrace taken in a callback that a kernel calls walks
//! through the kernel to the Rust function that called it: static kernels by the `.seh_*`
//! directives assembled into their object's `.pdata`/`.xdata`, JIT kernels by the unwind data
//! registered with `RtlAddFunctionTable` when they load (`Tool::Unwind`). Frames that save
//! xmm registers and frames realigned with rbp among them.
#![cfg(all(windows, target_arch = "x86_64"))]

use peach::prelude::*;

#[path = "common/backtrace.rs"]
mod backtrace;
use backtrace::{callback_address, the_rust_caller_of_a_jit_kernel, walked};

peach_fn! {
    /// Calls `f` (an `extern "C" fn() -> u64`) with rbx and xmm6 in use across the call;
    /// returns its result plus 7.
    #[target(x86_64::baseline)]
    pub unsafe fn call_through(f: usize) -> u64 {
        ASM("mov rbx, 7");
        ASM("pcmpeqd xmm6, xmm6");
        ASM("call {}", f);
        ASM("add rax, rbx");
        RETURN(RAX);
    }
}

#[inline(never)]
fn the_rust_caller() -> u64 {
    // (`black_box`: the call is not a tail call, so this function keeps its frame.)
    // SAFETY: `callback` is an `extern "C" fn() -> u64`, which the kernel calls as the
    // convention wants (stack aligned, home area free).
    std::hint::black_box(unsafe { call_through(callback_address()) })
}

#[test]
fn a_backtrace_walks_through_a_static_kernel() {
    assert_eq!(the_rust_caller(), 42);
    walked("the_rust_caller", "a_backtrace_walks_through_a_static");
}

/// A JIT kernel that saves rbx, r12 and xmm6-7 around a call, in an rsp-based frame or one
/// realigned with rbp (a 64-byte aligned stack local); each is loaded and dropped many times
/// (its unwind data registered and withdrawn), then called.
#[test]
fn a_backtrace_walks_through_jit_kernels() {
    use peach::core::ir::{Signature, Type};
    use peach::core::regs_x86_64::RAX;
    peach::runtime::tools::enable(peach::runtime::tools::Tool::Unwind);
    for align in [8, 64] {
        let mut f =
            Function::new("jit_through", Signature::new(&[Type::Usize], Some(Type::U64)), Target::x86_64_baseline());
        let p = f.param(0);
        let slot = f.stack_local(8, align);
        f.ins("mov", (slot, p));
        f.asm("mov rbx, 7", ());
        f.asm("mov r12, 8", ());
        f.asm("pcmpeqd xmm6, xmm6", ());
        f.asm("pcmpeqd xmm7, xmm7", ());
        f.asm("call {}", p);
        f.asm("add rax, rbx", ());
        f.asm("add rax, r12", ());
        f.ret(RAX);
        let code = f.compile(Abi::Win64).unwrap();
        assert_eq!(code.listing().contains("and rsp"), align == 64, "{}", code.listing());
        for _ in 0..100 {
            // SAFETY: loaded and dropped, never called.
            drop(unsafe { Kernel::<unsafe extern "C" fn(usize) -> u64>::load(&code) }.unwrap());
        }
        // SAFETY: the code's signature, in the host's C convention (Microsoft x64).
        let k = unsafe { Kernel::<unsafe extern "C" fn(usize) -> u64>::load(&code) }.unwrap();
        assert_eq!(the_rust_caller_of_a_jit_kernel(&k), 50);
        walked("the_rust_caller_of_a_jit_kernel", "a_backtrace_walks_through_jit");
    }
}
