//! Static mode computes what Rust computes: the reproducers of "static-mode arithmetic is not
//! Rust's", each built in static and JIT mode (JIT mode is Rust itself), run, and compared with
//! the same expressions evaluated by this test. The generative comparison with rustc is
//! `peach-macros`'s `static_arithmetic_is_rusts`.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

macro_rules! both {
    ($stat:ident, $jit:ident, ($($params:tt)*) -> $ret:ty, $body:block) => {
        peach_fn! {
            #[target(x86_64::baseline)]
            fn $stat($($params)*) -> $ret $body
        }
        peach_fn! {
            #[target(x86_64::baseline)]
            #[jit]
            fn $jit($($params)*) -> $ret $body
        }
    };
}

both!(halves_static, halves_jit, () -> f64, {
    let x = XMM();
    // Float division in f64: 3.5, not an integer 3.
    MOVSD(x, Constant::f64((7 as f64) / (2 as f64)));
    RETURN(x);
});

both!(narrow_static, narrow_jit, () -> f32, {
    let x = XMM();
    // Rounded in f32, as Rust rounds `f32` arithmetic (not an f64 sum rounded once).
    MOVSS(x, Constant::f32(0.1f32 + 0.2 + 16777216.0 + 1.0));
    RETURN(x);
});

both!(casts_static, casts_jit, () -> u64, {
    let r = GP64();
    let t = GP64();
    // `1.5 as i64` truncates, `-1i32 as u32` and `300i32 as u8` wrap; division, remainder and
    // shifts follow the signed type's rules.
    MOV(r, 1.5 as i64);
    MOV(t, (-1i32 as u32) as i64);
    ADD(r, t);
    MOV(t, (300i32 as u8) as i64 + (-7i64 / 2) + (-7i64 % 2) + (-256i64 >> 4));
    ADD(r, t);
    MOV(t, (1u64 << 40) as i64 + (u8::MAX as i64) + (i32::MIN as i64));
    ADD(r, t);
    RETURN(r);
});

both!(methods_static, methods_jit, () -> f64, {
    const SCALE: f64 = 2.0;
    let x = XMM();
    let v = (2.0f64).sqrt() * SCALE + (1.5f64).powi(3) + (0.5f64).mul_add(3.0, 0.25)
        + f64::from_bits((-1.0f64).abs().to_bits()) + std::f64::consts::PI + f64::EPSILON;
    MOVSD(x, Constant::f64(v));
    RETURN(x);
});

both!(flags_static, flags_jit, () -> u64, {
    // `bool` parameters and `let`s declared as such (once refused as "a bool where `bool` is
    // declared").
    fn add_if(r: Reg, yes: bool, n: i64) {
        if yes {
            ADD(r, n);
        }
    }
    let r = GP64();
    let on: bool = 3 > 2;
    XOR(r, r);
    add_if(r, on, 5);
    add_if(r, !on, 100);
    RETURN(r);
});

both!(adapters_static, adapters_jit, () -> u64, {
    // Iterator adapters over arrays and ranges, references and their patterns.
    let (r, t) = (GP64(), GP64());
    XOR(r, r);
    let weights = [1i64, 10, 100, 1000];
    for (i, &w) in weights.iter().enumerate() {
        ADD(r, w * (i as i64 + 1));
    }
    for (&a, b) in weights.iter().zip((0..3i64).rev()) {
        MOV(t, a * b);
        ADD(r, t);
    }
    for i in (0..20).step_by(7).skip(1).take(5) {
        ADD(r, i * 100000);
    }
    MOV(t, 5);
    let regs = [t, r];
    for x in regs.iter().take(1) {
        ADD(r, *x);
    }
    RETURN(r);
});

both!(patterns_static, patterns_jit, () -> u64, {
    // `name @ pattern`, tuple and array patterns with literals, or-patterns (once, `small @ 0..=1`
    // matched every value).
    let r = GP64();
    XOR(r, r);
    for n in 0..6i64 {
        match n {
            small @ 0..=1 => ADD(r, small + 1),
            mid @ (2 | 3) => ADD(r, mid * 10),
            other => ADD(r, other * 100),
        }
    }
    let pairs = [(1i64, 2i64), (3, 4)];
    for (i, &pair) in pairs.iter().enumerate() {
        match pair {
            (1, y) => ADD(r, y * 1000),
            (x, 4) => ADD(r, x * 10000 + i as i64),
            _ => {}
        }
    }
    let arr = [5i64, 6];
    match arr {
        [a, 6] => ADD(r, a * 100000),
        _ => {}
    }
    RETURN(r);
});

both!(scopes_static, scopes_jit, () -> u64, {
    // A custom instruction sees the items around its definition, not those of the block that
    // calls it (it once saw the caller's `K`, 100).
    const K: i64 = 1;
    fn add_k(r: Reg) {
        ADD(r, K);
    }
    let r = GP64();
    XOR(r, r);
    {
        const K: i64 = 100;
        add_k(r);
        ADD(r, K);
    }
    RETURN(r);
});

#[test]
fn static_constants_are_rusts() {
    assert_eq!(halves_static(), 3.5);
    assert_eq!(narrow_static(), 0.1f32 + 0.2 + 16777216.0 + 1.0);
    let want = (1.5 as i64 as u64)
        .wrapping_add((-1i32 as u32) as u64)
        .wrapping_add(((300i32 as u8) as i64 + (-7i64 / 2) + (-7i64 % 2) + (-256i64 >> 4)) as u64)
        .wrapping_add(((1u64 << 40) as i64 + (u8::MAX as i64) + (i32::MIN as i64)) as u64);
    assert_eq!(casts_static(), want);
    let v = (2.0f64).sqrt() * 2.0
        + (1.5f64).powi(3)
        + (0.5f64).mul_add(3.0, 0.25)
        + f64::from_bits((-1.0f64).abs().to_bits())
        + std::f64::consts::PI
        + f64::EPSILON;
    assert_eq!(methods_static().to_bits(), v.to_bits());
    assert_eq!(flags_static(), 5);
    assert_eq!(adapters_static(), 4321 + 12 + 2_100_000 + 5);
    assert_eq!(scopes_static(), 101);
    assert_eq!(patterns_static(), 1 + 2 + 20 + 30 + 400 + 500 + 2000 + 30001 + 500000);
}

#[test]
fn static_and_jit_agree_on_constants() {
    let pairs = [
        (HALVES_STATIC_CODE, halves_jit().unwrap().bytes().to_vec()),
        (NARROW_STATIC_CODE, narrow_jit().unwrap().bytes().to_vec()),
        (CASTS_STATIC_CODE, casts_jit().unwrap().bytes().to_vec()),
        (METHODS_STATIC_CODE, methods_jit().unwrap().bytes().to_vec()),
        (FLAGS_STATIC_CODE, flags_jit().unwrap().bytes().to_vec()),
        (ADAPTERS_STATIC_CODE, adapters_jit().unwrap().bytes().to_vec()),
        (PATTERNS_STATIC_CODE, patterns_jit().unwrap().bytes().to_vec()),
        (SCOPES_STATIC_CODE, scopes_jit().unwrap().bytes().to_vec()),
    ];
    for (i, (stat, jit)) in pairs.iter().enumerate() {
        assert_eq!(*stat, jit.as_slice(), "kernel {i}");
    }
}
