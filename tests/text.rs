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

/// `rep movsb`, `rep stosb` and `repne scasb` with their implicit registers (rdi, rsi, rcx, al):
/// a copy, a fill and a string length, each against plain Rust.
#[test]
fn string_instructions_copy_fill_and_scan() {
    type Copy = unsafe extern "sysv64" fn(*mut u8, *const u8, usize);
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], None);
    let mut f = Function::new("copy", sig, Target::x86_64_baseline());
    let (d, s, n) = (f.param(0), f.param(1), f.param(2));
    f.asm("mov rdi, {}", d);
    f.asm("mov rsi, {}", s);
    f.asm("mov rcx, {}", n);
    f.asm("rep movsb", ());
    f.ret(None);
    let copy = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    assert!(copy.listing().contains("rep movsb"), "{}", copy.listing());

    let sig = Signature::new(&[Type::Ptr, Type::U8, Type::Usize], None);
    let mut f = Function::new("fill", sig, Target::x86_64_baseline());
    let (d, v, n) = (f.param(0), f.param(1), f.param(2));
    f.asm("mov rdi, {}", d);
    f.asm("mov al, {}", v);
    f.asm("mov rcx, {}", n);
    f.ins("rep stosb", ());
    f.ret(None);
    let fill = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));

    // strlen: scan for 0 with rcx counting down from -1; the length is -rcx - 2.
    let sig = Signature::new(&[Type::Ptr], Some(Type::U64));
    let mut f = Function::new("strlen", sig, Target::x86_64_baseline());
    let p = f.param(0);
    let len = f.gp64();
    f.asm("mov rdi, {}", p);
    f.asm("xor eax, eax", ());
    f.asm("mov rcx, -1", ());
    f.asm("repne scasb", ());
    f.asm("mov {}, rcx", len);
    f.asm("not {}", len);
    f.asm("sub {}, 1", len);
    f.ret(len);
    let strlen = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));

    // SAFETY: each has its signature in System V and uses baseline instructions; the calls
    // below pass buffers of the sizes they touch.
    let (copy, fill, strlen) = unsafe {
        (
            Kernel::<Copy>::load(&copy).unwrap(),
            Kernel::<unsafe extern "sysv64" fn(*mut u8, u8, usize)>::load(&fill).unwrap(),
            Kernel::<unsafe extern "sysv64" fn(*const u8) -> u64>::load(&strlen).unwrap(),
        )
    };
    for n in [0usize, 1, 7, 64, 1000] {
        let src: Vec<u8> = (0..n).map(|i| (i * 7 + 1) as u8).collect();
        let mut dst = vec![0xEEu8; n + 8];
        // SAFETY: `src` holds `n` bytes, `dst` at least `n`.
        unsafe { copy.call(dst.as_mut_ptr(), src.as_ptr(), n) };
        assert_eq!(&dst[..n], &src[..]);
        assert!(dst[n..].iter().all(|&b| b == 0xEE), "the copy went past {n} bytes");
        // SAFETY: `dst` holds at least `n` bytes.
        unsafe { fill.call(dst.as_mut_ptr(), 0x5A, n) };
        assert!(dst[..n].iter().all(|&b| b == 0x5A) && dst[n..].iter().all(|&b| b == 0xEE));
        let mut text: Vec<u8> = (0..n).map(|i| (i % 250) as u8 + 1).collect();
        text.push(0);
        // SAFETY: `text` ends with a zero byte.
        assert_eq!(unsafe { strlen.call(text.as_ptr()) }, n as u64);
    }
}

/// A prefix on an instruction that does not take it is an error where it was written.
#[test]
fn prefixes_where_the_cpu_refuses_them_are_errors() {
    let mut f = Function::new("bad", Signature::new(&[Type::Ptr], None), Target::x86_64_baseline());
    let p = f.param(0);
    f.asm("rep add {}, 1", p);
    f.asm("repne movsb", ());
    f.asm("lock movsb", ());
    let messages: Vec<String> = f.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].contains("`rep` applies to the string instructions"), "{}", messages[0]);
    assert!(messages[1].contains("repe and repne to cmps and scas"), "{}", messages[1]);
    assert!(messages[2].contains("`lock` applies only"), "{}", messages[2]);
}

/// A thread-local read through `fs:` (Linux's x86-64 thread pointer): `fs:[0]` holds the thread
/// pointer itself (the TLS ABI's self-pointer), and `fs:[offset]` reads a `thread_local!` at its
/// offset from it.
#[cfg(target_os = "linux")]
#[test]
fn an_fs_relative_read_finds_a_thread_local() {
    use peach::core::regs_x86_64::FS;
    use std::cell::Cell;
    thread_local! {
        static SECRET: Cell<u64> = const { Cell::new(0) };
    }
    let mut f = Function::new("tp", Signature::new(&[], Some(Type::U64)), Target::x86_64_baseline());
    let x = f.gp64();
    f.asm("mov {}, qword ptr fs:[0]", x);
    f.ret(x);
    let tp = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    assert!(tp.listing().contains("fs:[0x0]") || tp.listing().contains("fs:[0]"), "{}", tp.listing());

    let mut f = Function::new("tls", Signature::new(&[Type::I64], Some(Type::U64)), Target::x86_64_baseline());
    let (off, v) = (f.param(0), f.gp64());
    f.ins("mov", (v, Mem::from([off]).segment(FS)));
    f.ret(v);
    let tls = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: both have these signatures in System V and use baseline instructions; the first
    // reads the word at the thread pointer, the second the word at the offset given below, which
    // is a live thread-local of this thread.
    let (tp, tls) = unsafe {
        (
            Kernel::<unsafe extern "sysv64" fn() -> u64>::load(&tp).unwrap(),
            Kernel::<unsafe extern "sysv64" fn(i64) -> u64>::load(&tls).unwrap(),
        )
    };
    let (tp, tls) = (&tp, &tls);
    std::thread::scope(|s| {
        for seed in 0..4u64 {
            s.spawn(move || {
                let secret = 0x1234_5678_9abc_def0 ^ seed;
                SECRET.set(secret);
                // SAFETY: the word at the thread pointer.
                let pointer = unsafe { tp.call() };
                let offset = SECRET.with(|c| c.as_ptr() as u64).wrapping_sub(pointer) as i64;
                // SAFETY: the offset of this thread's `SECRET`.
                assert_eq!(unsafe { tls.call(offset) }, secret);
            });
        }
    });
}

/// MMX registers, physical (peach allocates none and inserts no `emms`: the kernel does), and
/// a 32-bit address (`lea rax, [ecx + edx*4]`: computed in 32 bits, zero-extended): the bytes
/// at `p` added to themselves with saturation, and `(a + 4 * b) mod 2^32`.
#[test]
fn mmx_registers_and_32_bit_addresses() {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::U64, Type::U64], Some(Type::U64));
    let mut f = Function::new("mmx", sig, Target::x86_64_baseline());
    let (p, out, a, b) = (f.param(0), f.param(1), f.param(2), f.param(3));
    let t = f.gp64();
    f.asm("movq mm0, qword ptr [{}]", p);
    f.asm("movq mm1, mm0", ());
    f.asm("paddusb mm0, mm1", ());
    f.asm("movq {}, mm0", t);
    f.asm("emms", ());
    f.asm("mov qword ptr [{}], {}", (out, t));
    f.asm("mov rcx, {}", a);
    f.asm("mov rdx, {}", b);
    f.asm("lea rax, [ecx + edx*4]", ());
    f.ret(peach::core::regs_x86_64::RAX);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains("paddusb mm0, mm1"), "{}", code.listing());
    // SAFETY: the code reads eight bytes at `p` and writes eight at `out`.
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(*const u8, *mut u64, u64, u64) -> u64>::load(&code).unwrap() };
    let bytes = [1u8, 100, 200, 255, 7, 128, 127, 0];
    let mut out = 0u64;
    let (x, y) = (0xffff_ffff_0000_0010u64, 0x4000_0001u64);
    // SAFETY: the sizes above.
    let r = unsafe { k.call(bytes.as_ptr(), &mut out, x, y) };
    let want: Vec<u8> = bytes.iter().map(|b| b.saturating_add(*b)).collect();
    assert_eq!(out.to_le_bytes().to_vec(), want);
    assert_eq!(r, (x as u32).wrapping_add((y as u32).wrapping_mul(4)) as u64, "{}", code.listing());
}

/// The x87 stack: `fld`, `fadd st, st(1)`, `fmul` from memory, `fstp`, `fxch` written as
/// text: `(a + b) * c` in extended precision, stored as a double.
#[test]
fn x87_arithmetic_matches_rust() {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("x87", sig, Target::x86_64_baseline());
    let (p, out) = (f.param(0), f.param(1));
    f.asm("fld qword ptr [{}]", p);
    f.asm("fld qword ptr [{} + 8]", p);
    f.asm("fxch st(1)", ());
    f.asm("fadd st, st(1)", ());
    f.asm("fmul qword ptr [{} + 16]", p);
    f.asm("fstp qword ptr [{}]", out);
    f.asm("fstp st(0)", ());
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains("fadd st, st(1)"), "{}", code.listing());
    // SAFETY: the code reads three doubles at `p`, writes one at `out`, and leaves the x87
    // stack empty.
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(*const f64, *mut f64)>::load(&code).unwrap() };
    let xs = [1.5f64, -0.25, 8.0];
    let mut out = 0.0f64;
    // SAFETY: the sizes above.
    unsafe { k.call(xs.as_ptr(), &mut out) };
    assert_eq!(out, (xs[0] + xs[1]) * xs[2]);
}

/// A segment register as an operand (`mov ax, ss`): the selector Rust's own `asm!` reads.
#[test]
fn a_segment_register_reads_like_rust_asm() {
    let sig = Signature::new(&[], Some(Type::U64));
    let mut f = Function::new("ss", sig, Target::x86_64_baseline());
    let r = f.gp64();
    f.asm("xor {}, {}", (r, r));
    f.asm("mov {}, ss", r.r16());
    f.ret(r);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code only reads a segment register.
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn() -> u64>::load(&code).unwrap() };
    let ss: u16;
    // SAFETY: reading the stack segment selector has no side effect.
    unsafe { std::arch::asm!("mov {0:x}, ss", out(reg) ss) };
    // SAFETY: no arguments.
    assert_eq!(unsafe { k.call() }, ss as u64, "{}", code.listing());
}

/// `vp2intersectd` writes a pair of mask registers (k2 for the first source, k3 for the
/// second): which elements of each occur in the other, against a Rust reference.
#[test]
fn a_mask_pair_from_vp2intersect_matches_rust() {
    let target = Target::x86_64("zen5").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], Some(Type::U64));
    let mut f = Function::new("intersect", sig, target.clone());
    let (a, b) = (f.param(0), f.param(1));
    let (x, y, lo, hi) = (f.zmm(), f.zmm(), f.gp64(), f.gp64());
    f.asm("vmovdqu32 {}, zmmword ptr [{}]", (x, a));
    f.asm("vmovdqu32 {}, zmmword ptr [{}]", (y, b));
    f.asm("vp2intersectd k2, {}, {}", (x, y));
    f.asm("kmovw {}, k2", lo.r32());
    f.asm("kmovw {}, k3", hi.r32());
    f.asm("shl {}, 16", hi);
    f.asm("or {}, {}", (lo, hi));
    f.ret(lo);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let mut odd = Function::new("odd", Signature::default(), target);
    let (p, q) = (odd.zmm(), odd.zmm());
    odd.asm("vp2intersectd k1, {}, {}", (p, q));
    assert!(odd.errors().first().is_some_and(|e| e.to_string().contains("even physical")), "{:?}", odd.errors());
    if !std::arch::is_x86_feature_detected!("avx512vp2intersect") {
        eprintln!("skipped: the host lacks AVX512_VP2INTERSECT");
        return;
    }
    // SAFETY: the code reads 64 bytes at each pointer; the host has AVX512_VP2INTERSECT.
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(*const u32, *const u32) -> u64>::load(&code).unwrap() };
    let xs: Vec<u32> = (0..16).map(|i| i * 3).collect();
    let ys: Vec<u32> = (0..16).map(|i| i * 5 + 1).collect();
    let bits = |of: &[u32], other: &[u32]| {
        of.iter().enumerate().filter(|(_, v)| other.contains(v)).fold(0u64, |m, (i, _)| m | 1 << i)
    };
    // SAFETY: both hold 16 values.
    let got = unsafe { k.call(xs.as_ptr(), ys.as_ptr()) };
    assert_eq!(got, bits(&xs, &ys) | bits(&ys, &xs) << 16, "{}", code.listing());
}
