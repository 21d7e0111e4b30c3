//! A kernel that calls other code: the call writes, for the allocator, every register the
//! caller must save in either convention, so no value stays in one across it; the stack
//! pointer is 16-byte aligned at the call. The code called here checks the alignment and then
//! writes every caller-saved register; the caller's values must survive, compared with Rust.
#![cfg(all(target_arch = "x86_64", not(windows)))]

use peach::core::ir::{Signature, Type};
use peach::core::regs_x86_64::RAX;
use peach::prelude::*;

/// Checks that rsp was 16-byte aligned at the call (8 mod 16 after it), then writes rax, rcx,
/// rdx, rsi, rdi, r8-r11 and xmm0-15.
fn clobberer() -> CodeObject {
    let mut f = Function::new("clobberer", Signature::default(), Target::x86_64_baseline());
    let ok = f.label();
    f.asm("mov rax, rsp", ());
    f.asm("and rax, 15", ());
    f.asm("cmp rax, 8", ());
    f.asm("je {}", ok);
    f.asm("ud2", ());
    f.bind(ok);
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
