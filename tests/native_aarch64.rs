//! Run on an AArch64 machine (or under qemu: see the README): static `peach_fn!` code linked into
//! the binary, a JIT kernel loaded into executable memory, and a fat binary dispatching on the
//! CPU's features, all called natively. On other architectures this file is empty.
#![cfg(target_arch = "aarch64")]

use peach::prelude::*;

peach_fn! {
    /// Sum of `n` doubles, `n` a positive multiple of 2.
    #[target(aarch64::neon)]
    pub unsafe fn sum_f64(p: *const f64, n: usize) -> f64 {
        let (s, x) = (VEC(), VEC());
        EOR(s.b16(), s.b16(), s.b16());
        let top = Label::new();
        LABEL(top);
        LDR(x.q(), [p].post(16));
        FADD(s.d2(), s.d2(), x.d2());
        SUBS(n, n, 2);
        B_NE(top);
        FADDP(s.d(), s.d2());
        RETURN(s);
    }
}

peach_fn! {
    /// The same, unrolled at run time.
    #[jit(unroll: usize)]
    #[target(aarch64::neon)]
    pub unsafe fn sum_f64_jit(p: *const f64, n: usize) -> f64 {
        let accs: Vec<Reg> = (0..unroll).map(|_| VEC()).collect();
        for a in &accs {
            EOR(a.b16(), a.b16(), a.b16());
        }
        let top = Label::new();
        LABEL(top);
        for a in &accs {
            let x = VEC();
            LDR(x.q(), [p].post(16));
            FADD(a.d2(), a.d2(), x.d2());
        }
        SUBS(n, n, 2 * unroll as i64);
        B_NE(top);
        for a in &accs[1..] {
            FADD(accs[0].d2(), accs[0].d2(), a.d2());
        }
        FADDP(accs[0].d(), accs[0].d2());
        RETURN(accs[0]);
    }
}

#[test]
fn static_jit_and_fat_binary_code_run_natively() {
    let v: Vec<f64> = (0..96).map(|i| (i % 11) as f64 * 0.5 - 1.0).collect();
    let want: f64 = v.iter().sum();
    // SAFETY: `v` holds `len` doubles, a multiple of 2 (and of 2 * unroll below).
    assert_eq!(unsafe { sum_f64(v.as_ptr(), v.len()) }, want);
    for unroll in [2, 3] {
        let k = sum_f64_jit(unroll).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { k.call(v.as_ptr(), v.len()) }, want);
    }
    let x: Vec<f32> = (0..128).map(|i| (i % 7) as f32 * 0.5).collect();
    let y: Vec<f32> = (0..128).map(|i| (i % 3) as f32).collect();
    // SAFETY: 128 floats each, a multiple of 64.
    let dot = unsafe { peach::kernels::streaming::dot_f32(x.as_ptr(), y.as_ptr(), x.len()) };
    assert_eq!(dot, x.iter().zip(&y).map(|(a, b)| a * b).sum::<f32>());
    assert_eq!(peach::kernels::streaming::DOT_F32_DISPATCH.active(), Some("armv8-a"));
    // exp and ln pick their NEON variants; glibc's scalar functions are within 0.51 ulp, so
    // 2 ulp of difference would be a real error (the qemu tests measure the exact bound).
    use peach::kernels::elementary::*;
    let x: Vec<f64> = (0..256).map(|i| (i as f64 - 128.0) * 2.75).collect();
    let mut y = vec![0.0; x.len()];
    // SAFETY: 256 doubles each, a multiple of 32.
    unsafe { exp_f64(x.as_ptr(), y.as_mut_ptr(), x.len()) };
    for (a, b) in x.iter().zip(&y) {
        assert!((b - a.exp()).abs() <= 2.0 * f64::EPSILON * a.exp(), "exp({a}) = {b}");
    }
    let x: Vec<f64> = (1..=256).map(|i| i as f64 * 0.37).collect();
    // SAFETY: as above.
    unsafe { ln_f64(x.as_ptr(), y.as_mut_ptr(), x.len()) };
    for (a, b) in x.iter().zip(&y) {
        assert!((b - a.ln()).abs() <= 2.0 * f64::EPSILON * a.ln().abs().max(f64::MIN_POSITIVE), "ln({a}) = {b}");
    }
    assert_eq!(EXP_F64_DISPATCH.active(), Some("armv8-a"));
    assert_eq!(LN_F64_DISPATCH.active(), Some("armv8-a"));
}

/// An atomic counter written as A64 text: a load-acquire-exclusive / store-release-exclusive
/// loop, hammered by four threads; every increment counts.
#[test]
fn an_exclusive_counter_written_as_text_counts_every_increment() {
    let sig = Signature::new(&[Type::Ptr, Type::U64], None);
    let mut f = Function::new("bump", sig, Target::aarch64_neon());
    let (p, n) = (f.param(0), f.param(1));
    let (value, status) = (f.x(), f.x().w());
    let (top, retry) = (f.label(), f.label());
    f.bind(top);
    f.bind(retry);
    f.asm("ldaxr {}, [{}]", (value, p));
    f.asm("add {}, {}, #1", (value, value));
    f.asm("stlxr {}, {}, [{}]", (status, value, p));
    f.asm("cbnz {}, {}", (status, retry));
    f.asm("subs {}, {}, #1", (n, n));
    f.asm("b.ne {}", top);
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains("stlxr"), "{}", code.listing());
    // SAFETY: the code has this signature and uses base instructions; it updates only the
    // counter, atomically, which outlives the calls.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*mut u64, u64)>::load(&code).unwrap() };
    let counter = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            // SAFETY: as above.
            s.spawn(|| unsafe { k.call(counter.as_ptr(), 10_000) });
        }
    });
    assert_eq!(counter.load(std::sync::atomic::Ordering::SeqCst), 40_000);
}

/// A list of four physical registers loaded with one `ld1`, written as text: the sum of 16
/// floats.
#[test]
fn a_four_register_ld1_written_as_text_sums_sixteen_floats() {
    use peach::core::isa::aarch64::{A64Reg, reg};
    let sig = Signature::new(&[Type::Ptr], Some(Type::F32));
    let mut f = Function::new("sum16", sig, Target::aarch64_neon());
    let p = f.param(0);
    f.asm("ld1 {v4.4s-v7.4s}, [{}]", p);
    f.asm("fadd v4.4s, v4.4s, v5.4s", ());
    f.asm("fadd v6.4s, v6.4s, v7.4s", ());
    f.asm("fadd v4.4s, v4.4s, v6.4s", ());
    f.asm("faddp v4.4s, v4.4s, v4.4s", ());
    f.asm("faddp s0, v4.2s", ());
    f.ret(reg::V0.s());
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code has this signature and reads 16 floats at the pointer.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const f32) -> f32>::load(&code).unwrap() };
    let xs: Vec<f32> = (1..=16).map(|i| i as f32).collect();
    // SAFETY: `xs` holds 16 floats.
    assert_eq!(unsafe { k.call(xs.as_ptr()) }, 136.0);
}

/// `adr` gives a label's address: the kernel returns where its second block starts.
#[test]
fn adr_gives_a_labels_address() {
    let sig = Signature::new(&[], Some(Type::U64));
    let mut f = Function::new("where", sig, Target::aarch64_neon());
    let x = f.x();
    let later = f.label();
    f.asm("adr {}, {}", (x, later));
    f.ret(x);
    f.bind(later);
    f.asm("nop", ());
    f.ret(x);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let at = code.lines().iter().find(|l| l.labels.contains(&later.0)).expect("the label is in the listing").offset;
    // SAFETY: the code takes nothing and returns a u64; it only computes an address.
    let k = unsafe { Kernel::<extern "C" fn() -> u64>::load(&code).unwrap() };
    assert_eq!(k.call(), k.memory().as_ptr() as u64 + at as u64, "{}", code.listing());
}
