//! `peach_fn!` in JIT mode: generation-time parameters, full Rust, and the same bytes as static
//! mode for the same body.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

/// Defines the same kernel body twice: `$stat` in static mode, `$jit` in JIT mode.
macro_rules! both {
    ($stat:ident, $jit:ident, [$($attr:tt)*], ($($params:tt)*) $(-> $ret:ty)?, $body:block) => {
        peach_fn! {
            $($attr)*
            unsafe fn $stat($($params)*) $(-> $ret)? $body
        }
        peach_fn! {
            $($attr)*
            #[jit]
            unsafe fn $jit($($params)*) $(-> $ret)? $body
        }
    };
}

both!(sum_static, sum_jit, [#[target(x86_64::haswell)]], (array: *const f64, n: usize) -> f64, {
    const UNROLL: usize = 4;
    let acc = [YMM(); UNROLL];
    for r in acc {
        VXORPD(r, r, r);
    }
    let next = Label::new();
    LABEL(next);
    for i in 0..UNROLL {
        VADDPD(acc[i], acc[i], [array + i * 32]);
    }
    ADD(array, UNROLL * 32);
    SUB(n, UNROLL * 4);
    JNZ(next);
    REDUCE_SUM(acc, f64);
    RETURN(acc[0].xmm());
});

both!(dot_static, dot_jit, [#[target(x86_64::v3)]], (x: *const f32, y: *const f32, n: usize) -> f32, {
    fn multiply_add(acc: Reg, a: Reg, b: Mem) {
        if target.has_fma3() {
            VFMADD231PS(acc, a, b);
        } else {
            let t = YMM();
            VMULPS(t, a, b);
            VADDPS(acc, acc, t);
        }
    }
    let acc = [YMM(); 2];
    for a in acc {
        VXORPS(a, a, a);
    }
    let top = Label::new();
    ALIGN(16);
    LABEL(top);
    for i in 0..2 {
        let t = YMM();
        VMOVUPS(t, [x + 32 * i]);
        multiply_add(acc[i], t, [y + 32 * i]);
    }
    ADD(x, 64);
    ADD(y, 64);
    SUB(n, 16);
    JNZ(top);
    VADDPS(acc[0], acc[1]);
    REDUCE_SUM(acc[0], f32);
    RETURN(acc[0].xmm());
});

both!(scale_static, scale_jit, [#[target(x86_64::v3)]], (p: *mut f64), {
    let v = YMM();
    VMOVUPD(v, [p]);
    VMULPD(v, v, Constant::f64x4_splat(0.5));
    VADDPD(v, v, Constant::f64x4([1.0, 2.0, 3.0, 4.0]));
    VMOVUPD([p], v);
});

// Instruction streams: two independent sums recorded apart and issued interleaved.
both!(streams_static, streams_jit, [#[target(x86_64::haswell)]], (x: *const f64, n: usize) -> f64, {
    let (s, t) = (YMM(), YMM());
    VXORPD(s, s, s);
    VXORPD(t, t, t);
    let top = Label::new();
    LABEL(top);
    let first = STREAM({
        for i in 0..2 {
            VADDPD(s, s, [x + 32 * i]);
        }
    });
    let second = STREAM({
        for i in 2..4 {
            VADDPD(t, t, [x + 32 * i]);
        }
    });
    ISSUE(second, 1);
    ISSUE(first, 1);
    ISSUE_ALL(second);
    ISSUE(first, first.len());
    ADD(x, 128);
    SUB(n, 16);
    JNZ(top);
    VADDPD(s, s, t);
    REDUCE_SUM(s, f64);
    RETURN(s.xmm());
});

// The same sum with the two streams issued by ISSUE_SKEWED, one step apart.
both!(skewed_static, skewed_jit, [#[target(x86_64::haswell)]], (x: *const f64, n: usize) -> f64, {
    let (s, t) = (YMM(), YMM());
    VXORPD(s, s, s);
    VXORPD(t, t, t);
    let top = Label::new();
    LABEL(top);
    let first = STREAM({
        for i in 0..2 {
            VADDPD(s, s, [x + 32 * i]);
        }
    });
    let second = STREAM({
        for i in 2..4 {
            VADDPD(t, t, [x + 32 * i]);
        }
    });
    ISSUE_SKEWED([first, second], 1);
    ADD(x, 128);
    SUB(n, 16);
    JNZ(top);
    VADDPD(s, s, t);
    REDUCE_SUM(s, f64);
    RETURN(s.xmm());
});

peach_fn! {
    /// VECTOR_SUM with the unroll factor chosen when the kernel is built.
    #[target(x86_64::haswell)]
    #[jit(unroll: usize)]
    unsafe fn sum_tuned(array: *const f64, n: usize) -> f64 {
        let acc: Vec<Reg> = (0..unroll).map(|_| YMM()).collect(); // full Rust
        for r in acc.iter() {
            VXORPD(*r, *r, *r);
        }
        let next = Label::new();
        LABEL(next);
        for (i, r) in acc.iter().enumerate() {
            VADDPD(*r, *r, [array + i * 32]);
        }
        ADD(array, unroll * 32);
        SUB(n, unroll * 4);
        JNZ(next);
        REDUCE_SUM(acc, f64);
        RETURN(acc[0].xmm());
    }
}

#[test]
fn static_and_jit_produce_identical_bytes() {
    let pairs: [(&[u8], Vec<u8>); 5] = [
        (SUM_STATIC_CODE, sum_jit().unwrap().bytes().to_vec()),
        (STREAMS_STATIC_CODE, streams_jit().unwrap().bytes().to_vec()),
        (SKEWED_STATIC_CODE, skewed_jit().unwrap().bytes().to_vec()),
        (DOT_STATIC_CODE, dot_jit().unwrap().bytes().to_vec()),
        (SCALE_STATIC_CODE, scale_jit().unwrap().bytes().to_vec()),
    ];
    for (i, (stat, jit)) in pairs.iter().enumerate() {
        assert_eq!(*stat, jit.as_slice(), "kernel {i}");
    }
}

#[test]
fn jit_kernels_run() {
    if !Target::native_x86_64().has_avx2() {
        eprintln!("skipped: this CPU lacks AVX2");
        return;
    }
    let data: Vec<f64> = (0..768).map(|i| i as f64 - 100.0).collect();
    let want: f64 = data.iter().sum();
    for unroll in [1, 2, 3, 4, 6] {
        let k = sum_tuned(unroll).unwrap();
        let got = unsafe { k.call(data.as_ptr(), data.len()) };
        assert_eq!(got, want, "unroll {unroll}");
    }
    let k = sum_jit().unwrap();
    assert_eq!(unsafe { k.call(data.as_ptr(), data.len()) }, want);
    let k = streams_jit().unwrap();
    assert_eq!(unsafe { k.call(data.as_ptr(), data.len()) }, want);
    assert_eq!(unsafe { streams_static(data.as_ptr(), data.len()) }, want);
    assert_eq!(unsafe { skewed_static(data.as_ptr(), data.len()) }, want);
    assert_eq!(unsafe { skewed_jit().unwrap().call(data.as_ptr(), data.len()) }, want);
    // ISSUE_SKEWED with skew 1: s, then s and t together, then t.
    let adds: Vec<&str> = SKEWED_STATIC_LISTING.lines().filter(|l| l.contains("vaddpd ymm")).collect();
    assert!(
        adds[0].contains("[rdi]") && adds[1].contains("+0x20") && adds[2].contains("+0x40"),
        "{SKEWED_STATIC_LISTING}"
    );
    // The streams' instructions come out in the order they were issued: t, s, t, s.
    let adds: Vec<&str> = STREAMS_STATIC_LISTING.lines().filter(|l| l.contains("vaddpd ymm")).collect();
    let dst = |l: &str| l.split("vaddpd ").nth(1).and_then(|o| o.split(',').next()).unwrap_or("").to_string();
    assert_eq!(dst(adds[0]), dst(adds[2]), "{STREAMS_STATIC_LISTING}");
    assert_eq!(dst(adds[1]), dst(adds[3]), "{STREAMS_STATIC_LISTING}");
    assert_ne!(dst(adds[0]), dst(adds[1]), "{STREAMS_STATIC_LISTING}");
    assert!(adds[0].contains("+0x40") && adds[1].contains("[rdi]"), "{STREAMS_STATIC_LISTING}");
    assert_eq!(unsafe { sum_static(data.as_ptr(), data.len()) }, want);
    // p = p * 0.5 + [1, 2, 3, 4], by the JIT build and then by the static one.
    let mut p = [2.0f64, 4.0, 6.0, 8.0];
    let k = scale_jit().unwrap();
    unsafe { k.call(p.as_mut_ptr()) };
    assert_eq!(p, [2.0, 4.0, 6.0, 8.0]);
    unsafe { scale_static(p.as_mut_ptr()) };
    assert_eq!(p, [2.0, 4.0, 6.0, 8.0]);
    let x: Vec<f32> = (0..64).map(|i| (i % 3) as f32).collect();
    let y: Vec<f32> = (0..64).map(|i| (i % 4) as f32).collect();
    let want: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    assert_eq!(unsafe { dot_static(x.as_ptr(), y.as_ptr(), x.len()) }, want);
    let k = dot_jit().unwrap();
    assert_eq!(unsafe { k.call(x.as_ptr(), y.as_ptr(), x.len()) }, want);
}

#[test]
fn jit_errors_are_values() {
    // unroll 5 needs 5 accumulators + temporaries: fine; 17 accumulators do not fit in 16 ymm.
    let e = sum_tuned(17).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutOfRegisters);
    assert!(e.to_string().contains("jit.rs"), "{e}");
}
