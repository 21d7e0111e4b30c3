//! A kernel that calls other code: the call writes, for the allocator, every register the
//! caller must save in either convention, so no value stays in one across it; the stack
//! pointer is 16-byte aligned at the call. The code called here checks the alignment and then
//! writes every caller-saved register; the caller's values must survive, compared with Rust.
#![cfg(all(target_arch = "x86_64", not(windows)))]

use peach::core::ir::{Signature, Type};
use peach::core::regs_x86_64::RAX;
use peach::prelude::*;

/// `ud2` unless rsp was 16-byte aligned at the call (8 mod 16 after it).
fn trap_unless_aligned(f: &mut Function) {
    let ok = f.label();
    f.asm("mov rax, rsp", ());
    f.asm("and rax, 15", ());
    f.asm("cmp rax, 8", ());
    f.asm("je {}", ok);
    f.asm("ud2", ());
    f.bind(ok);
}

/// Checks that rsp was 16-byte aligned at the call (8 mod 16 after it), then writes rax, rcx,
/// rdx, rsi, rdi, r8-r11 and xmm0-15.
fn clobberer() -> CodeObject {
    let mut f = Function::new("clobberer", Signature::default(), Target::x86_64_baseline());
    trap_unless_aligned(&mut f);
    for r in ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"] {
        f.asm(&format!("mov {r}, 0x5555"), ());
    }
    for n in 0..16 {
        f.asm(&format!("pcmpeqd xmm{n}, xmm{n}"), ());
    }
    f.ret(None);
    f.compile(Abi::SysV).unwrap()
}

/// `3a + (b + 1) + a`, computed around a call of `f`, with `pushes` extra callee-saved
/// registers in use (to try both parities of the frame).
fn caller(pushes: usize) -> CodeObject {
    let sig = Signature::new(&[Type::U64, Type::U64, Type::Usize], Some(Type::U64));
    let mut f = Function::new("caller", sig, Target::x86_64_baseline());
    let (a, b, callee) = (f.param(0), f.param(1), f.param(2));
    let (x, y) = (f.gp64(), f.gp64());
    f.ins("imul", (x, a, 3));
    f.ins("lea", (y, Mem::from([b]).at(1)));
    for r in ["rbx", "r12", "r13"].iter().take(pushes) {
        f.asm(&format!("xor {r}, {r}"), ());
    }
    f.asm("call {}", callee);
    f.ins("add", (x, y));
    f.ins("add", (x, a));
    f.ins("mov", (RAX, x));
    f.ret(RAX);
    f.compile(Abi::SysV).unwrap()
}

#[test]
fn values_live_across_a_call_survive_it() {
    let callee = clobberer();
    // SAFETY: `clobberer` takes nothing and returns nothing, System V.
    let callee = unsafe { Kernel::<unsafe extern "C" fn()>::load(&callee) }.unwrap();
    for pushes in 0..3 {
        let code = caller(pushes);
        // SAFETY: the signature of `caller`; `callee` is a loaded function of no arguments.
        let k = unsafe { Kernel::<unsafe extern "C" fn(u64, u64, usize) -> u64>::load(&code) }.unwrap();
        for (a, b) in [(1u64, 2u64), (1000, 7), (u64::MAX / 8, 12345)] {
            // SAFETY: as above; `callee` outlives the call.
            let got = unsafe { k.call(a, b, callee.get() as usize) };
            assert_eq!(got, (3 * a).wrapping_add(b + 1).wrapping_add(a), "{pushes} pushes:\n{}", code.listing());
        }
    }
}

/// A vector value live across a call has nowhere to be in System V (every xmm register is the
/// caller's to save, and peach does not spill): an error that says so, not a clobbered value.
#[test]
fn a_vector_value_across_a_call_is_an_error() {
    let sig = Signature::new(&[Type::F64, Type::Usize], Some(Type::F64));
    let mut f = Function::new("vector_across", sig, Target::x86_64_baseline());
    let (x, callee) = (f.param(0), f.param(1));
    f.asm("call {}", callee);
    f.ins("addsd", (x, x));
    f.ret(x);
    let e = f.compile(Abi::SysV).unwrap_err();
    assert!(e.to_string().contains("vector register"), "{e}");
}

/// Microsoft x64: checks the stack alignment, then writes its 32-byte home area (which the
/// convention lets a callee do) and every register its caller must save.
fn home_area_writer() -> CodeObject {
    let mut f = Function::new("home_area_writer", Signature::default(), Target::x86_64_baseline());
    trap_unless_aligned(&mut f);
    f.asm("mov rax, 0x5555555555555555", ());
    for at in [8, 16, 24, 32] {
        f.asm(&format!("mov qword ptr [rsp + {at}], rax"), ());
    }
    for r in ["rcx", "rdx", "r8", "r9", "r10", "r11"] {
        f.asm(&format!("mov {r}, rax"), ());
    }
    for n in 0..6 {
        f.asm(&format!("pcmpeqd xmm{n}, xmm{n}"), ());
    }
    f.ret(None);
    f.compile(Abi::Win64).unwrap()
}

/// Microsoft x64: `3a + b + a` around a call of `f`, with `b` kept in a stack local of
/// `align` bytes' alignment, xmm6 and xmm7 (the callee's to save) written and `pushes` more
/// callee-saved registers in use (to try both parities of the frame).
fn win64_caller(align: u32, pushes: usize) -> CodeObject {
    let sig = Signature::new(&[Type::U64, Type::U64, Type::Usize], Some(Type::U64));
    let mut f = Function::new("win64_caller", sig, Target::x86_64_baseline());
    let (a, b, callee) = (f.param(0), f.param(1), f.param(2));
    let slot = f.stack_local(8, align);
    f.ins("mov", (slot, b));
    let x = f.gp64();
    f.ins("imul", (x, a, 3));
    f.asm("pcmpeqd xmm6, xmm6", ());
    f.asm("pcmpeqd xmm7, xmm7", ());
    for r in ["r13", "r14"].iter().take(pushes) {
        f.asm(&format!("xor {r}, {r}"), ());
    }
    f.asm("call {}", callee);
    f.ins("add", (x, slot));
    f.ins("add", (x, a));
    f.ins("mov", (RAX, x));
    f.ret(RAX);
    f.compile(Abi::Win64).unwrap()
}

/// Microsoft x64: sets xmm6 and xmm7, calls `g(a, b, f)`, and returns its result xor xmm6 xor
/// xmm7 shifted left by 16 (so a clobbered xmm6 or xmm7 shows in the result).
fn xmm_keeper() -> CodeObject {
    let sig = Signature::new(&[Type::U64, Type::U64, Type::Usize, Type::Usize], Some(Type::U64));
    let mut f = Function::new("xmm_keeper", sig, Target::x86_64_baseline());
    let (a, b, callee, g) = (f.param(0), f.param(1), f.param(2), f.param(3));
    f.asm("mov rax, 0x77", ());
    f.asm("movq xmm6, rax", ());
    f.asm("mov rax, 0x99", ());
    f.asm("movq xmm7, rax", ());
    f.asm("mov rcx, {}", a);
    f.asm("mov rdx, {}", b);
    f.asm("mov r8, {}", callee);
    f.asm("call {}", g);
    f.asm("movq rcx, xmm6", ());
    f.asm("xor rax, rcx", ());
    f.asm("movq rcx, xmm7", ());
    f.asm("shl rcx, 16", ());
    f.asm("xor rax, rcx", ());
    f.ret(RAX);
    f.compile(Abi::Win64).unwrap()
}

/// A Microsoft x64 function that calls out leaves the callee's 32-byte home area free: what it
/// keeps on the stack (saved xmm6 and xmm7, a stack local; rsp-based and realigned frames)
/// survives a callee that writes its home area.
#[test]
fn win64_calls_leave_the_home_area_free() {
    type Keeper = unsafe extern "win64" fn(u64, u64, usize, usize) -> u64;
    let writer = home_area_writer();
    // SAFETY: takes nothing and returns nothing, Microsoft x64.
    let writer = unsafe { Kernel::<unsafe extern "win64" fn()>::load(&writer) }.unwrap();
    // SAFETY: the signature of `xmm_keeper`, Microsoft x64.
    let keeper = unsafe { Kernel::<Keeper>::load(&xmm_keeper()) }.unwrap();
    for (align, pushes) in [(8, 0), (8, 1), (64, 0), (64, 1)] {
        let code = win64_caller(align, pushes);
        // SAFETY: loaded to be called by `keeper` with the arguments it passes (two integers
        // and `writer`, a function of no arguments), Microsoft x64.
        let caller = unsafe { Kernel::<unsafe extern "win64" fn()>::load(&code) }.unwrap();
        for (a, b) in [(1u64, 2u64), (1000, 7), (u64::MAX / 8, 12345)] {
            // SAFETY: `keeper`'s signature; `writer` and `caller` outlive the call.
            let got = unsafe { keeper.call(a, b, writer.get() as usize, caller.get() as usize) };
            let want = (3 * a).wrapping_add(b).wrapping_add(a) ^ 0x77 ^ (0x99 << 16);
            assert_eq!(got, want, "alignment {align}, {pushes} pushes:\n{}", code.listing());
        }
    }
}
