//! A forked child loads kernels into memory of its own: the pool's chunks are shared mappings,
//! and a child writing into its parent's chunk would overwrite the parent's code. (A test binary
//! of its own: a fork while other test threads hold locks could deadlock the child.)
#![cfg(all(target_os = "linux", not(miri)))]

use peach_core::prelude::*;
use peach_core::target::Arch;
use peach_runtime::Kernel;

/// `return value` for the host architecture.
fn returns(value: u16) -> CodeObject {
    if Arch::host() == Arch::Aarch64 {
        let mut f = Function::new("k", Signature::new(&[], Some(Type::I32)), Target::aarch64_neon());
        let x = peach_core::isa::aarch64::A64Builder::x(&mut f);
        f.ins("movz", (peach_core::isa::aarch64::A64Reg::w(x), value as i64));
        f.ret(x);
        f.compile(Abi::Aapcs64).unwrap()
    } else {
        let mut f = Function::new("k", Signature::new(&[], Some(Type::I32)), Target::x86_64_baseline());
        let x = peach_core::isa::x86_64::X86Builder::gp64(&mut f);
        f.ins("mov", (peach_core::isa::x86_64::X86Reg::r32(x), value as i64));
        f.ret(x);
        f.compile(Abi::SysV).unwrap()
    }
}

type K = Kernel<extern "C" fn() -> i32>;

fn load(code: &CodeObject) -> K {
    // SAFETY: `returns` code takes nothing, returns an i32 in the C convention, base instructions.
    unsafe { K::load(code) }.unwrap()
}

#[test]
fn a_forked_child_never_writes_into_its_parents_code() {
    let (one, two, three) = (returns(1), returns(2), returns(3));
    let before = load(&one);
    let mut fds = [0; 2];
    // SAFETY: a plain pipe.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: this test binary runs this one test; the child only loads and calls a kernel,
    // then leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // The child waits until the parent has loaded its next kernel, then loads one of its own
        // (which, at the same offset of a shared chunk, would overwrite the parent's).
        let mut byte = 0u8;
        // SAFETY: reads one byte into `byte`.
        unsafe { libc::read(fds[0], (&mut byte as *mut u8).cast(), 1) };
        let k = load(&two);
        let ok = k.call() == 2;
        // SAFETY: leaves the child at once, without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mine = load(&three);
    // SAFETY: writes one byte.
    unsafe { libc::write(fds[1], [1u8].as_ptr().cast(), 1) };
    let mut status = 0;
    // SAFETY: waits for our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(status, 0, "the child's kernel did not run right");
    assert_eq!((before.call(), mine.call()), (1, 3), "the child's code replaced the parent's");
}
