//! Assembly text, executed: kernels written with `Function::asm` run and agree with plain Rust.
#![cfg(target_arch = "x86_64")]

use std::sync::atomic::{AtomicU64, Ordering};

use peach::prelude::*;

/// `u64 bump(u64 *counter, u64 n)`: adds 1 to the counter `n` times with `lock xadd`.
fn bump() -> CodeObject {
    let sig = Signature::new(&[Type::Ptr, Type::U64], Some(Type::U64));
    let mut f = Function::new("bump", sig, Target::x86_64_baseline());
    let (p, n) = (f.param(0), f.param(1));
    let one = f.gp64();
    let top = f.label();
    f.bind(top);
    f.asm("mov {}, 1", one);
    f.asm("lock xadd qword ptr [{}], {}", (p, one));
    f.asm("sub {}, 1", n);
    f.asm("jnz {}", top);
    f.ret(one);
    f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_locked_counter_hammered_by_eight_threads_counts_every_increment() {
    let code = bump();
    assert!(code.listing().contains("lock xadd"), "{}", code.listing());
    // SAFETY: the code has this signature in System V and uses baseline instructions; it writes
    // only the counter, which outlives the calls.
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(*mut u64, u64) -> u64>::load(&code).unwrap() };
    let counter = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            // SAFETY: the counter is a valid, aligned u64 that every thread updates atomically.
            s.spawn(|| unsafe { k.call(counter.as_ptr(), 100_000) });
        }
    });
    assert_eq!(counter.load(Ordering::SeqCst), 800_000);
}

/// A loop over an array with a scaled index, written as text: the sum of `n` i64 values.
#[test]
fn an_indexed_sum_matches_rust() {
    let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::I64));
    let mut f = Function::new("sum", sig, Target::x86_64_baseline());
    let (p, n) = (f.param(0), f.param(1));
    let (acc, i) = (f.gp64(), f.gp64());
    f.asm("xor {}, {}", (acc.r32(), acc.r32()));
    f.asm("xor {}, {}", (i.r32(), i.r32()));
    let (top, done) = (f.label(), f.label());
    f.asm("test {}, {}", (n, n));
    f.asm("jz {}", done);
    f.bind(top);
    f.asm("add {}, qword ptr [{} + {}*8]", (acc, p, i));
    f.asm("add {}, 1", i);
    f.asm("cmp {}, {}", (i, n));
    f.asm("jb {}", top);
    f.bind(done);
    f.ret(acc);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code has this signature in System V, uses baseline instructions and reads
    // `n` values at the pointer.
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(*const i64, usize) -> i64>::load(&code).unwrap() };
    for len in [0, 1, 7, 100] {
        let xs: Vec<i64> = (0..len as i64).map(|v| v * v - 50).collect();
        // SAFETY: `xs` holds `len` values.
        assert_eq!(unsafe { k.call(xs.as_ptr(), len) }, xs.iter().sum::<i64>());
    }
}
