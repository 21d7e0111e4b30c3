//! Run on an AArch64 machine (or under qemu: see the README): static `peach_fn!` code linked into
//! the binary, a JIT kernel loaded into executable memory, and a fat binary dispatching on the
//! CPU's features, all called natively. On other architectures this file is empty.
#![cfg(target_arch = "aarch64")]

use peach::prelude::*;

#[path = "common/sgemm_block.rs"]
mod sgemm_block;

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

/// `adrp` and `:lo12:` reach labels pages away, before and after: the address of one (`add`)
/// and a load from the other (`ldr w, [x, :lo12:label]`) are the machine's own; the code is
/// loaded at a page boundary, which the page arithmetic needs.
#[test]
fn adrp_and_page_offsets_reach_labels_pages_away() {
    let sig = Signature::new(&[Type::Ptr], None);
    let mut f = Function::new("pages", sig, Target::aarch64_neon());
    let out = f.param(0);
    let (a, b, w) = (f.x(), f.x(), f.x());
    let (back, far) = (f.label(), f.label());
    // Distinct words, so that a load from the wrong place is seen.
    let pad = |f: &mut Function, first: u32, n: u32, label: Label, at: u32| {
        for i in 0..n {
            if i == at {
                f.bind(label);
            }
            f.asm(&format!("movz x9, #{}", first + i), ());
        }
    };
    pad(&mut f, 0, 700, back, 301);
    f.asm("adrp {}, {}", (a, far));
    f.asm("add {}, {}, :lo12:{}", (a, a, far));
    f.asm("str {}, [{}]", (a, out));
    f.asm("adrp {}, {}", (b, back));
    f.asm("ldr {}, [{}, :lo12:{}]", (w.w(), b, back));
    f.asm("str {}, [{}, #8]", (w, out));
    pad(&mut f, 10_000, 2300, far, 2203);
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code.alignment(), 4096);
    let listing = code.listing();
    assert!(listing.contains(", :lo12:.L1\n") && listing.contains(", :lo12:.L0]"), "{listing}");
    let offset = |l: Label| code.lines().iter().find(|x| x.labels.contains(&l.0)).expect("a bound label").offset;
    let (back_at, far_at) = (offset(back), offset(far));
    assert!(far_at / 4096 >= back_at / 4096 + 2, "the labels are pages apart");
    // SAFETY: the code writes 16 bytes at its argument and reads nothing else.
    let k = unsafe { Kernel::<extern "C" fn(*mut u64)>::load(&code).unwrap() };
    let base = k.memory().as_ptr() as u64;
    assert_eq!(base % 4096, 0);
    let mut got = [0u64; 2];
    k.call(got.as_mut_ptr());
    assert_eq!(got[0], base + far_at as u64, "adrp + add :lo12:");
    let word = u32::from_le_bytes(code.bytes()[back_at..back_at + 4].try_into().unwrap());
    assert_eq!(got[1], word as u64, "ldr [x, :lo12:]");
    assert_eq!(word, 0xd280_0009 | 301 << 5, "movz x9, #301 at the label");
}

/// A widening dot product of signed bytes (`smull`, `smull2`, `sadalp`, `addv`): 16 products
/// per step, summed into 32-bit lanes without overflow.
#[test]
fn a_widening_dot_product_of_bytes_matches_rust() {
    use peach::core::isa::aarch64::A64Reg;
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], Some(Type::I32));
    let mut f = Function::new("dot_i8", sig, Target::aarch64_neon());
    let (a, b, n) = (f.param(0), f.param(1), f.param(2));
    let (acc, x, y, lo, hi, s) = (f.v(), f.v(), f.v(), f.v(), f.v(), f.v());
    let out = f.x().w();
    f.ins("eor", (acc.b16(), acc.b16(), acc.b16()));
    let top = f.label();
    f.bind(top);
    f.ins("ldr", (x.q(), Mem::from([a]).post(16)));
    f.ins("ldr", (y.q(), Mem::from([b]).post(16)));
    f.ins("smull", (lo.h8(), x.b8(), y.b8()));
    f.ins("smull2", (hi.h8(), x.b16(), y.b16()));
    f.ins("sadalp", (acc.s4(), lo.h8()));
    f.ins("sadalp", (acc.s4(), hi.h8()));
    f.ins("subs", (n, n, 16));
    f.ins("b.ne", top);
    f.ins("addv", (s.s(), acc.s4()));
    f.ins("fmov", (out, s.s()));
    f.ret(out);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code has this signature and reads `n` bytes at each pointer, `n` a positive
    // multiple of 16.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const i8, *const i8, usize) -> i32>::load(&code).unwrap() };
    let xs: Vec<i8> = (0..256).map(|i| ((i * 37) % 256) as u8 as i8).collect();
    let ys: Vec<i8> = (0..256).map(|i| ((i * 91 + 7) % 256) as u8 as i8).collect();
    let want: i32 = xs.iter().zip(&ys).map(|(&p, &q)| p as i32 * q as i32).sum();
    // SAFETY: both hold 256 bytes.
    assert_eq!(unsafe { k.call(xs.as_ptr(), ys.as_ptr(), 256) }, want, "{}", code.listing());
}

/// Saturating pixel arithmetic: `(a + b) -sat c` per byte with `uqadd`/`uqsub`, then the
/// 16-bit differences of two rows narrowed with saturation (`sqxtn`, `sqxtn2`), written as text.
#[test]
fn saturating_pixel_arithmetic_matches_rust() {
    use peach::core::isa::aarch64::A64Reg;
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("pixels", sig, Target::aarch64_neon());
    let (a, b, c, out) = (f.param(0), f.param(1), f.param(2), f.param(3));
    let (x, y, z) = (f.v(), f.v(), f.v());
    f.ins("ldr", (x.q(), [a]));
    f.ins("ldr", (y.q(), [b]));
    f.ins("ldr", (z.q(), [c]));
    f.asm("uqadd {}, {}, {}", (x.b16(), x.b16(), y.b16()));
    f.asm("uqsub {}, {}, {}", (x.b16(), x.b16(), z.b16()));
    f.ins("str", (x.q(), [out]));
    // 16-bit lanes: x = a16 - b16 (wrapping), narrowed to i8 with saturation.
    let (p, q, r) = (f.v(), f.v(), f.v());
    f.ins("ldr", (p.q(), Mem::from([a]).at(16)));
    f.ins("ldr", (q.q(), Mem::from([a]).at(32)));
    f.asm("sqxtn {}, {}", (r.b8(), p.h8()));
    f.asm("sqxtn2 {}, {}", (r.b16(), q.h8()));
    f.ins("str", (r.q(), Mem::from([out]).at(16)));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code reads 48 bytes at `a` and 16 at `b` and `c`, and writes 32 at `out`.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u8, *const u8, *const u8, *mut u8)>::load(&code).unwrap() };
    let mut a = [0u8; 48];
    for (i, v) in a.iter_mut().enumerate() {
        *v = (i * 53 % 256) as u8;
    }
    let b: Vec<u8> = (0..16).map(|i| (i * 29 % 256) as u8).collect();
    let c: Vec<u8> = (0..16).map(|i| (i * 7) as u8).collect();
    let mut out = [0u8; 32];
    // SAFETY: the sizes above.
    unsafe { k.call(a.as_ptr(), b.as_ptr(), c.as_ptr(), out.as_mut_ptr()) };
    let sums: Vec<u8> = (0..16).map(|i| a[i].saturating_add(b[i]).saturating_sub(c[i])).collect();
    assert_eq!(&out[..16], &sums[..]);
    let halves: Vec<i16> = a[16..].chunks(2).map(|h| i16::from_le_bytes([h[0], h[1]])).collect();
    let narrowed: Vec<u8> = halves.iter().map(|&h| h.clamp(-128, 127) as i8 as u8).collect();
    assert_eq!(&out[16..], &narrowed[..]);
}

/// A reciprocal by estimate and two Newton steps (`frecpe`, `frecps`, `fmul`): within 2^-20 of
/// `1 / x`.
#[test]
fn a_reciprocal_by_newton_steps_is_accurate() {
    use peach::core::isa::aarch64::A64Reg;
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("recip", sig, Target::aarch64_neon());
    let (src, dst) = (f.param(0), f.param(1));
    let (x, e, s) = (f.v(), f.v(), f.v());
    f.ins("ldr", (x.q(), [src]));
    f.ins("frecpe", (e.s4(), x.s4()));
    for _ in 0..2 {
        f.ins("frecps", (s.s4(), x.s4(), e.s4()));
        f.ins("fmul", (e.s4(), e.s4(), s.s4()));
    }
    f.ins("str", (e.q(), [dst]));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code reads and writes four floats.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const f32, *mut f32)>::load(&code).unwrap() };
    let xs = [3.0f32, -0.125, 1234.5, 7.0e-3];
    let mut out = [0.0f32; 4];
    // SAFETY: four floats each.
    unsafe { k.call(xs.as_ptr(), out.as_mut_ptr()) };
    for (x, r) in xs.iter().zip(out) {
        let exact = 1.0 / x;
        assert!(((r - exact) / exact).abs() < 1.0 / (1 << 20) as f32, "1/{x}: {r} against {exact}");
    }
}

/// An 8-tap filter of 16-bit samples by element (`mul`/`mla` and `smull`/`smlal2` with
/// `c.h[k]`, whose register must be one of v0-v15), element moves (`mov v.h[i], v.h[j]`,
/// `mov w, v.s[i]`) and a scalar saturating add (`sqadd s, s, s`), written as text.
#[test]
fn a_filter_by_element_matches_rust() {
    use peach::core::isa::aarch64::A64Reg;
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr], Some(Type::I32));
    let mut f = Function::new("fir8", sig, Target::aarch64_neon());
    let (x, c, out) = (f.param(0), f.param(1), f.param(2));
    let (coef, row, acc16, lo, hi, sum) = (f.v(), f.v(), f.v(), f.v(), f.v(), f.v());
    let ret = f.x().w();
    f.asm("ldr {}, [{}]", (coef.q(), c));
    for k in 0..8u8 {
        f.asm("ldr {}, [{}], #16", (row.q(), x));
        let lane = coef.h().lane(k);
        let (first, long) = if k == 0 { ("mul", "smull") } else { ("mla", "smlal") };
        f.asm(&format!("{first} {{}}, {{}}, {{}}"), (acc16.h8(), row.h8(), lane));
        f.asm(&format!("{long} {{}}, {{}}, {{}}"), (lo.s4(), row.h4(), lane));
        f.asm(&format!("{long}2 {{}}, {{}}, {{}}"), (hi.s4(), row.h8(), lane));
    }
    // acc16[0] = acc16[7]; the low sums, the high sums and the 16-bit sums are stored.
    f.asm("mov {}, {}", (acc16.h().lane(0), acc16.h().lane(7)));
    f.asm("stp {}, {}, [{}]", (lo.q(), hi.q(), out));
    f.asm("str {}, [{}, #32]", (acc16.q(), out));
    // The saturating sum of the first low and the first high sum, plus lane 1 of the low ones.
    f.asm("sqadd {}, {}, {}", (sum.s(), lo.s(), hi.s()));
    let (t, u) = (f.x().w(), f.x().w());
    f.asm("mov {}, {}", (t, sum.s().lane(0)));
    f.asm("mov {}, {}", (u, lo.s().lane(1)));
    f.asm("add {}, {}, {}", (ret, t, u));
    f.ret(ret);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let listing = code.listing();
    let register = |line: &str| line.rsplit(", v").next().and_then(|r| r.split('.').next()?.parse::<u8>().ok());
    for line in listing.lines().filter(|l| l.contains(".h[") && (l.contains("mla") || l.contains("mul"))) {
        assert!(register(line).is_some_and(|n| n < 16), "a 16-bit element outside v0-v15: {line}");
    }
    // SAFETY: the code reads 64 samples at `x` and 8 at `c`, and writes 48 bytes at `out`.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const i16, *const i16, *mut u8) -> i32>::load(&code).unwrap() };
    let xs: Vec<i16> = (0..64).map(|i| (i * 2477 % 65536 - 32768) as i16).collect();
    let cs: [i16; 8] = [3, -7, 11, 250, -1000, 32767, -32768, 5];
    let mut got = [0u8; 48];
    // SAFETY: the sizes above.
    let r = unsafe { k.call(xs.as_ptr(), cs.as_ptr(), got.as_mut_ptr()) };
    let wide: Vec<i32> =
        (0..8).map(|j| (0..8).map(|k| xs[k * 8 + j] as i32 * cs[k] as i32).fold(0i32, i32::wrapping_add)).collect();
    let mut narrow: Vec<i16> =
        (0..8).map(|j| (0..8).map(|k| xs[k * 8 + j].wrapping_mul(cs[k])).fold(0i16, i16::wrapping_add)).collect();
    narrow[0] = narrow[7];
    let got32: Vec<i32> = got[..32].chunks(4).map(|b| i32::from_le_bytes(b.try_into().unwrap())).collect();
    let got16: Vec<i16> = got[32..].chunks(2).map(|b| i16::from_le_bytes(b.try_into().unwrap())).collect();
    assert_eq!(got32, wide, "{listing}");
    assert_eq!(got16, narrow, "{listing}");
    assert_eq!(r, wide[0].saturating_add(wide[4]).wrapping_add(wide[1]), "{listing}");
}

/// A dot product of bytes by element (`sdot v.4s, v.16b, v.4b[i]`, DOTPROD): each 32-bit lane
/// of the result sums four products with the bytes of one 32-bit group of the other operand.
#[test]
fn a_dot_product_by_element_matches_rust() {
    use peach::core::isa::aarch64::A64Reg;
    let target = Target::aarch64("neoverse-n1").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("sdot_lane", sig, target.clone());
    let (a, b, out) = (f.param(0), f.param(1), f.param(2));
    let (x, y, acc) = (f.v(), f.v(), f.v());
    f.asm("ldr {}, [{}]", (x.q(), a));
    f.asm("ldr {}, [{}]", (y.q(), b));
    f.asm("movi {}, #0", (acc.d2(),));
    for i in 0..4u8 {
        f.asm("sdot {}, {}, {}", (acc.s4(), x.b16(), y.b4().lane(i)));
    }
    f.asm("str {}, [{}]", (acc.q(), out));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains(".4b[3]"), "{}", code.listing());
    if !host_has(&target) {
        eprintln!("skipped: this core lacks DOTPROD");
        return;
    }
    // SAFETY: the code reads 16 bytes at `a` and `b` and writes 16 at `out`; the core has DOTPROD.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const i8, *const i8, *mut i32)>::load(&code).unwrap() };
    let xs: Vec<i8> = (0..16).map(|i| (i * 37 - 100) as i8).collect();
    let ys: Vec<i8> = (0..16).map(|i| (i * 59 + 3) as u8 as i8).collect();
    let mut got = [0i32; 4];
    // SAFETY: the sizes above.
    unsafe { k.call(xs.as_ptr(), ys.as_ptr(), got.as_mut_ptr()) };
    let want: Vec<i32> = (0..4)
        .map(|lane| {
            (0..4).map(|group| (0..4).map(|j| xs[lane * 4 + j] as i32 * ys[group * 4 + j] as i32).sum::<i32>()).sum()
        })
        .collect();
    assert_eq!(got.to_vec(), want, "{}", code.listing());
}

/// Bit counts and reversals (`clz`, `cls`, `rbit`, `rev`, `rev16`), `cinc`, `tbz` on a W
/// register, barriers and hints, and system registers (`mrs` of `tpidr_el0`, against the
/// value Rust's own `asm!` reads), written as text.
#[test]
fn bit_operations_barriers_and_system_registers_match_rust() {
    let sig = Signature::new(&[Type::U64, Type::Ptr], None);
    let mut f = Function::new("bits", sig, Target::aarch64_neon());
    let (x, out) = (f.param(0), f.param(1));
    let t = f.x();
    let skip = f.label();
    for (k, op) in ["clz", "cls", "rbit", "rev", "rev16", "rev32"].iter().enumerate() {
        f.asm(&format!("{op} {{}}, {{}}"), (t, x));
        f.asm("str {}, [{}, {}]", (t, out, 8 * k as i64));
    }
    f.asm("clz {}, {}", (t.w(), x.w()));
    f.asm("str {}, [{}, #48]", (t, out));
    f.asm("cmp {}, #0", (x,));
    f.asm("cinc {}, {}, ne", (t, x));
    f.asm("str {}, [{}, #56]", (t, out));
    f.asm("mov {}, #0", (t,));
    f.asm("tbz {}, #31, {}", (x.w(), skip));
    f.asm("mov {}, #1", (t,));
    f.bind(skip);
    f.asm("str {}, [{}, #64]", (t, out));
    f.asm("dmb ish", ());
    f.asm("dsb sy", ());
    f.asm("isb", ());
    f.asm("yield", ());
    f.asm("mrs {}, tpidr_el0", (t,));
    f.asm("str {}, [{}, #72]", (t, out));
    f.asm("mrs {}, fpcr", (t,));
    f.asm("str {}, [{}, #80]", (t, out));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code has this signature and writes 88 bytes at `out`.
    let k = unsafe { Kernel::<unsafe extern "C" fn(u64, *mut u64)>::load(&code).unwrap() };
    for x in [0x0123_4567_89ab_cdefu64, 0xffff_0000_8000_0000, 0, u64::MAX, 0x8000_0001] {
        let mut got = [0u64; 11];
        // SAFETY: `got` holds 88 bytes.
        unsafe { k.call(x, got.as_mut_ptr()) };
        let rev16 = u64::from_be_bytes({
            let b = x.to_be_bytes();
            [b[1], b[0], b[3], b[2], b[5], b[4], b[7], b[6]]
        });
        let rev32 = (((x >> 32) as u32).swap_bytes() as u64) << 32 | (x as u32).swap_bytes() as u64;
        let cls = if (x as i64) < 0 { (!x).leading_zeros() } else { x.leading_zeros() } as u64 - 1;
        let (tp, fpcr): (u64, u64);
        // SAFETY: reading the thread pointer and the FP control register has no side effect.
        unsafe {
            std::arch::asm!("mrs {}, tpidr_el0", out(reg) tp);
            std::arch::asm!("mrs {}, fpcr", out(reg) fpcr);
        }
        let want = [
            x.leading_zeros() as u64,
            cls,
            x.reverse_bits(),
            x.swap_bytes(),
            rev16,
            rev32,
            (x as u32).leading_zeros() as u64,
            if x != 0 { x.wrapping_add(1) } else { x },
            (x >> 31 & 1),
            tp,
            fpcr,
        ];
        assert_eq!(got, want, "x = {x:#x}\n{}", code.listing());
    }
}

/// Addressing forms: a register post-index on `ld1` (`[x0], x2`), `ld2r` (two elements
/// replicated), a zero-extended 32-bit index (`uxtw #2`) and a sign-extended 64-bit one
/// (`sxtx #3`); fixed-point conversions, scalar and vector; and scalar shifts by an immediate.
#[test]
fn addressing_forms_and_fixed_point_match_rust() {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize, Type::Ptr], None);
    let mut f = Function::new("forms", sig, Target::aarch64_neon());
    let (p, q, n, out) = (f.param(0), f.param(1), f.param(2), f.param(3));
    use peach::core::isa::aarch64::A64Reg;
    let (acc, v, pair) = (f.v(), f.v(), f.v_group(2));
    let (p0, p1) = (pair[0], pair[1]);
    let (step, i, t) = (f.x(), f.x(), f.x());
    // acc = sum of n / 4 vectors of four u32 at p, read with a register post-index of 16.
    f.asm("movi {}, #0", (acc.d2(),));
    f.asm("mov {}, #16", (step,));
    let top = f.label();
    f.bind(top);
    f.asm("ld1 {}, [{}], {}", (v.s4(), p, step));
    f.asm("add {}, {}, {}", (acc.s4(), acc.s4(), v.s4()));
    f.asm("subs {}, {}, #4", (n, n));
    f.asm("b.ne {}", (top,));
    f.asm("str {}, [{}]", (acc.q(), out));
    // q[0], q[1] replicated: out[16..48] = {q0 x4}, {q1 x4}.
    f.asm("ld2r {}, [{}]", (p0.s4(), q));
    f.asm("stp {}, {}, [{}, #16]", (p0.q(), p1.q(), out));
    // q[3] through a 32-bit index (uxtw #2); q[2..4] as a u64 through a 64-bit one (sxtx #3).
    f.asm("mov {}, #3", (i.w(),));
    f.asm("ldr {}, [{}, {}, uxtw #2]", (t.w(), q, i.w()));
    f.asm("str {}, [{}, #48]", (t.w(), out));
    f.asm("mov {}, #1", (i,));
    f.asm("ldr {}, [{}, {}, sxtx #3]", (t, q, i));
    f.asm("str {}, [{}, #56]", (t, out));
    // Fixed point: (q[0] as i32) / 2^16 as f64, and q[0..4] / 2^8 as f32 lanes, and back to
    // integers times 2^4.
    let (d, s4) = (f.v(), f.v());
    f.asm("ldr {}, [{}]", (t.w(), q));
    f.asm("scvtf {}, {}, #16", (d.d(), t.w()));
    f.asm("str {}, [{}, #64]", (d.d(), out));
    f.asm("ldr {}, [{}]", (s4.q(), q));
    f.asm("scvtf {}, {}, #8", (s4.s4(), s4.s4()));
    f.asm("str {}, [{}, #80]", (s4.q(), out));
    f.asm("fcvtzs {}, {}, #4", (s4.s4(), s4.s4()));
    f.asm("str {}, [{}, #96]", (s4.q(), out));
    // Scalar shifts: d = q[0..2] as u64 >> 3 (ushr d), then << 5 (shl d).
    f.asm("ldr {}, [{}]", (d.d(), q));
    f.asm("ushr {}, {}, #3", (d.d(), d.d()));
    f.asm("shl {}, {}, #5", (d.d(), d.d()));
    f.asm("str {}, [{}, #112]", (d.d(), out));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let listing = code.listing();
    for form in ["], x", "ld2r", "uxtw #2]", "sxtx #3]", "#16", "ushr d"] {
        assert!(listing.contains(form), "{form}:\n{listing}");
    }
    // SAFETY: the code reads `n` u32 at `p` (n a positive multiple of 4) and 16 bytes at `q`,
    // and writes 120 bytes at `out`.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u32, *const i32, usize, *mut u8)>::load(&code).unwrap() };
    let xs: Vec<u32> = (0..64u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let qs = [-123_456i32, 77_777, 1 << 20, -5];
    let mut got = [0u8; 120];
    // SAFETY: the sizes above.
    unsafe { k.call(xs.as_ptr(), qs.as_ptr(), 64, got.as_mut_ptr()) };
    let u32s = |at: usize, n: usize| -> Vec<u32> {
        got[at..at + 4 * n].chunks(4).map(|b| u32::from_le_bytes(b.try_into().unwrap())).collect()
    };
    let sums: Vec<u32> = (0..4).map(|l| (0..16).map(|r| xs[r * 4 + l]).fold(0u32, u32::wrapping_add)).collect();
    assert_eq!(u32s(0, 4), sums, "{listing}");
    assert_eq!(u32s(16, 8), [qs[0], qs[0], qs[0], qs[0], qs[1], qs[1], qs[1], qs[1]].map(|v| v as u32), "{listing}");
    assert_eq!(u32s(48, 1), [qs[3] as u32]);
    let q64 = |k: usize| qs[2 * k] as u32 as u64 | (qs[2 * k + 1] as u32 as u64) << 32;
    assert_eq!(u64::from_le_bytes(got[56..64].try_into().unwrap()), q64(1));
    assert_eq!(f64::from_le_bytes(got[64..72].try_into().unwrap()), qs[0] as f64 / 65536.0);
    let fixed: Vec<f32> = qs.iter().map(|&v| v as f32 / 256.0).collect();
    let lanes: Vec<f32> = got[80..96].chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    assert_eq!(lanes, fixed);
    let back: Vec<u32> = fixed.iter().map(|&v| ((v * 16.0) as i32) as u32).collect();
    assert_eq!(u32s(96, 4), back);
    assert_eq!(u64::from_le_bytes(got[112..120].try_into().unwrap()), q64(0) >> 3 << 5);
}

/// Single-structure loads and stores: `ld1 {v.s}[2]` replaces one element and keeps the others
/// (the load reads its register too), `ld3 {a.h, b.h, c.h}[5]` de-interleaves one triple into
/// a group, `st2 {v.d, w.d}[1]` stores one element of each, and `ld4` with a register
/// post-index walks an array of structures.
#[test]
fn lane_loads_keep_the_other_elements() {
    use peach::core::isa::aarch64::{A64Builder, A64Reg};
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("lanes", sig, Target::aarch64_neon());
    let (p, q, out) = (f.param(0), f.param(1), f.param(2));
    let v = f.v();
    f.asm("ldr {}, [{}]", (v.q(), p));
    f.asm("ld1 {}, [{}]", (v.s().lane(2), q));
    f.asm("str {}, [{}]", (v.q(), out));
    let g = f.v_group(3);
    for r in &g {
        f.asm("movi {}, #0", (r.d2(),));
    }
    f.asm("ld3 {}, [{}]", (g[0].h().lane(5), q));
    for (k, r) in g.iter().enumerate() {
        f.asm("str {}, [{}, {}]", (r.q(), out, 16 + 16 * k as i64));
    }
    let (a, b) = (f.v_group(2), f.x());
    f.asm("ldp {}, {}, [{}]", (a[0].q(), a[1].q(), p));
    f.asm("add {}, {}, #64", (b, out));
    f.asm("st2 {}, [{}]", (a[0].d().lane(1), b));
    let (w, step) = (f.v_group(4), f.x());
    for r in &w {
        f.asm("movi {}, #0", (r.d2(),));
    }
    f.asm("mov {}, #4", (step,));
    for lane in 0..4u8 {
        f.asm("ld4 {}, [{}], {}", (w[0].b().lane(lane), p, step));
    }
    for (k, r) in w.iter().enumerate() {
        f.asm("str {}, [{}, {}]", (r.s(), out, 80 + 4 * k as i64));
    }
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let listing = code.listing();
    for form in [".s}[2]", ".h}[5]", ".d}[1]", ".b}[3], [x"] {
        assert!(listing.contains(form), "{form}:\n{listing}");
    }
    // SAFETY: the code reads 32 bytes at `p` and 6 at `q`, and writes 96 bytes at `out`.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u8, *const u8, *mut u8)>::load(&code).unwrap() };
    let ps: Vec<u8> = (0..32).map(|i| i * 7 + 1).collect();
    let qs: Vec<u8> = (0..6).map(|i| 200 + i).collect();
    let mut got = [0u8; 96];
    // SAFETY: the sizes above.
    unsafe { k.call(ps.as_ptr(), qs.as_ptr(), got.as_mut_ptr()) };
    let mut first = ps[..16].to_vec();
    first[8..12].copy_from_slice(&qs[..4]);
    assert_eq!(&got[..16], &first[..], "{listing}");
    for k in 0..3 {
        let mut reg = [0u8; 16];
        reg[10..12].copy_from_slice(&qs[2 * k..2 * k + 2]);
        assert_eq!(&got[16 + 16 * k..32 + 16 * k], &reg, "register {k} of ld3\n{listing}");
    }
    assert_eq!(&got[64..72], &ps[8..16]);
    assert_eq!(&got[72..80], &ps[24..32]);
    for r in 0..4 {
        let want: Vec<u8> = (0..4).map(|lane| ps[lane * 4 + r]).collect();
        assert_eq!(&got[80 + 4 * r..84 + 4 * r], &want[..], "register {r} of ld4\n{listing}");
    }
}

/// W-register arithmetic with immediates (`add w, w, #imm, lsl #12`, `subs`, `cmp w, #imm`,
/// `and w, w, #mask`) and signed loads of bytes, halfwords and words (`ldrsb`, `ldrsh`,
/// `ldursb`, `ldrsw` with a post-index), written as text: a checksum over mixed-width data.
#[test]
fn w_register_immediates_and_signed_loads_match_rust() {
    let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::I64));
    let mut f = Function::new("mixed", sig, Target::aarch64_neon());
    let (p, n) = (f.param(0), f.param(1));
    let (acc, b, h, w, t) = (f.x(), f.x(), f.x(), f.x(), f.x());
    f.asm("mov {}, #0", (acc,));
    let (top, small) = (f.label(), f.label());
    f.bind(top);
    // One record: i8, i8 (unscaled at -1 after the post-index), i16, i32 = 8 bytes.
    f.asm("ldrsb {}, [{}], #2", (b, p));
    f.asm("ldursb {}, [{}, #-1]", (t.w(), p));
    f.asm("add {}, {}, {}", (b, b, t));
    f.asm("ldrsh {}, [{}], #2", (h.w(), p));
    f.asm("ldrsw {}, [{}], #4", (w, p));
    // x = (b + h) as W, plus 0x3000 (`#3, lsl #12`), minus 7, masked to 20 bits.
    f.asm("add {}, {}, {}", (t.w(), b.w(), h.w()));
    f.asm("add {}, {}, #3, lsl #12", (t.w(), t.w()));
    f.asm("sub {}, {}, #7", (t.w(), t.w()));
    f.asm("and {}, {}, #0xfffff", (t.w(), t.w()));
    // Words below 1000 are doubled.
    f.asm("cmp {}, #1000", (w.w(),));
    f.asm("b.ge {}", (small,));
    f.asm("add {}, {}, {}", (w, w, w));
    f.bind(small);
    f.asm("add {}, {}, {}", (acc, acc, t));
    f.asm("add {}, {}, {}", (acc, acc, w));
    f.asm("subs {}, {}, #1", (n, n));
    f.asm("b.ne {}", (top,));
    f.ret(acc);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    // SAFETY: the code reads `n` 8-byte records at `p` (n > 0).
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u8, usize) -> i64>::load(&code).unwrap() };
    let records: Vec<(i8, i8, i16, i32)> = (0..50i32)
        .map(|i| ((i * 37 - 90) as i8, (i * 71) as u8 as i8, (i * 1999 - 30000) as i16, i * 123_457 - 2_000_000))
        .collect();
    let bytes: Vec<u8> = records
        .iter()
        .flat_map(|&(a, b, h, w)| [a as u8, b as u8].into_iter().chain(h.to_le_bytes()).chain(w.to_le_bytes()))
        .collect();
    let want: i64 = records
        .iter()
        .map(|&(a, b, h, w)| {
            let t = ((a as i32 + b as i32 + h as i32) as u32).wrapping_add(0x3000).wrapping_sub(7) & 0xfffff;
            let w = if w < 1000 { 2 * w as i64 } else { w as i64 };
            t as i64 + w
        })
        .sum();
    // SAFETY: `bytes` holds 50 records.
    assert_eq!(unsafe { k.call(bytes.as_ptr(), 50) }, want, "{}", code.listing());
}

/// The carry-less product of two doublewords (`pmull v.1q, v.1d, v.1d` and `pmull2` on the
/// upper halves, AES), against a bitwise Rust reference.
#[test]
fn carry_less_multiply_matches_rust() {
    use peach::core::isa::aarch64::A64Reg;
    let target = Target::aarch64("neoverse-n1").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("clmul", sig, target.clone());
    let (p, out) = (f.param(0), f.param(1));
    let (a, b, lo, hi) = (f.v(), f.v(), f.v(), f.v());
    f.asm("ldp {}, {}, [{}]", (a.q(), b.q(), p));
    f.asm("pmull {}, {}, {}", (lo.q1(), a.d1(), b.d1()));
    f.asm("pmull2 {}, {}, {}", (hi.q1(), a.d2(), b.d2()));
    f.asm("stp {}, {}, [{}]", (lo.q(), hi.q(), out));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains(".1q"), "{}", code.listing());
    if !host_has(&target) {
        eprintln!("skipped: this core lacks AES (PMULL)");
        return;
    }
    // SAFETY: the code reads 32 bytes at `p` and writes 32 at `out`; the core has AES.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u64, *mut u128)>::load(&code).unwrap() };
    let clmul = |x: u64, y: u64| (0..64).filter(|i| y >> i & 1 == 1).fold(0u128, |acc, i| acc ^ (x as u128) << i);
    let inputs = [0x8700_0000_0000_0001_u64, 0xffff_ffff_ffff_ffff, 0x1234_5678_9abc_def0, 0xc200_0000_0000_0001];
    let mut got = [0u128; 2];
    // SAFETY: the sizes above.
    unsafe { k.call(inputs.as_ptr(), got.as_mut_ptr()) };
    assert_eq!(got, [clmul(inputs[0], inputs[2]), clmul(inputs[1], inputs[3])], "{}", code.listing());
}

/// `ldapr` (RCPC) reads what was stored, like `ldar`.
#[test]
fn a_load_acquire_rcpc_reads_the_value() {
    let target = Target::aarch64("neoverse-n1").unwrap();
    assert!(target.has_rcpc());
    let sig = Signature::new(&[Type::Ptr], Some(Type::U64));
    let mut f = Function::new("acquire", sig, target.clone());
    let (p, v, b) = (f.param(0), f.x(), f.x());
    f.asm("ldapr {}, [{}]", (v, p));
    f.asm("ldaprb {}, [{}]", (b.w(), p));
    f.asm("add {}, {}, {}", (v, v, b));
    f.ret(v);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let mut base = Function::new("x", Signature::default(), Target::aarch64_neon());
    base.asm("ldapr x0, [x1]", ());
    assert!(base.errors().first().is_some_and(|e| e.to_string().contains("RCPC")), "{:?}", base.errors());
    if !host_has(&target) {
        eprintln!("skipped: this core lacks RCPC");
        return;
    }
    // SAFETY: the code reads eight bytes at the pointer; the core has RCPC.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u64) -> u64>::load(&code).unwrap() };
    let x = 0x1122_3344_5566_77f8u64;
    // SAFETY: `x` is eight readable bytes.
    assert_eq!(unsafe { k.call(&x) }, x + 0xf8);
}

/// `caspal` swaps a 128-bit value only when both halves match, and returns the old value in
/// the compared pair (physical pairs x8, x9 and x10, x11).
#[test]
fn a_pair_compare_and_swap_swaps_only_on_a_match() {
    let target = Target::aarch64("neoverse-n1").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::U64, Type::U64, Type::U64, Type::U64], Some(Type::U64));
    let mut f = Function::new("cas128", sig, target.clone());
    let (p, lo, hi, new_lo, new_hi) = (f.param(0), f.param(1), f.param(2), f.param(3), f.param(4));
    let ret = f.x();
    f.asm("mov x8, {}", (lo,));
    f.asm("mov x9, {}", (hi,));
    f.asm("mov x10, {}", (new_lo,));
    f.asm("mov x11, {}", (new_hi,));
    f.asm("caspal x8, x9, x10, x11, [{}]", (p,));
    // The old value's halves, xored: the caller checks both.
    f.asm("eor {}, x8, x9", (ret,));
    f.ret(ret);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains("caspal x8, x9, x10, x11"), "{}", code.listing());
    if !host_has(&target) {
        eprintln!("skipped: this core lacks LSE");
        return;
    }
    // SAFETY: the code has this signature and swaps the 16 aligned bytes at the pointer; the
    // core has LSE.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*mut u128, u64, u64, u64, u64) -> u64>::load(&code).unwrap() };
    let mut cell: u128 = 0x1111_2222_3333_4444_5555_6666_7777_8888;
    let (old_lo, old_hi) = (cell as u64, (cell >> 64) as u64);
    // SAFETY: `cell` is a live, aligned u128.
    let r = unsafe { k.call(&mut cell, old_lo ^ 1, old_hi, 5, 6) };
    assert_eq!((r, cell), (old_lo ^ old_hi, 0x1111_2222_3333_4444_5555_6666_7777_8888), "a mismatch stores nothing");
    // SAFETY: as above.
    let r = unsafe { k.call(&mut cell, old_lo, old_hi, 5, 6) };
    assert_eq!((r, cell), (old_lo ^ old_hi, 6u128 << 64 | 5), "a match stores the new pair\n{}", code.listing());
}

/// `dc zva` zeroes one block (of the size `dczid_el0` gives) and nothing around it;
/// `dc civac` and `ic ivau` run (what a JIT does after writing code).
#[test]
fn a_cache_zeroing_block_matches_dczid() {
    let sig = Signature::new(&[Type::Ptr], Some(Type::U64));
    let mut f = Function::new("zva", sig, Target::aarch64_neon());
    let (p, id) = (f.param(0), f.x());
    f.asm("mrs {}, dczid_el0", (id,));
    f.asm("dc zva, {}", (p,));
    f.asm("dc civac, {}", (p,));
    f.asm("ic ivau, {}", (p,));
    f.asm("dsb ish", ());
    f.asm("isb", ());
    f.ret(id);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.listing().contains("dc zva, x"), "{}", code.listing());
    // SAFETY: the code zeroes the block at `p`, which the caller aligns and owns.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*mut u8) -> u64>::load(&code).unwrap() };
    let mut buf = vec![0xabu8; 8192];
    let at = buf.as_ptr().align_offset(2048) + 2048;
    // SAFETY: `at` leaves 2048 bytes before and at least 2048 after; blocks are at most 2 KiB.
    let id = unsafe { k.call(buf.as_mut_ptr().add(at)) };
    if id & 16 != 0 {
        eprintln!("skipped: dc zva is prohibited here (DZP)");
        return;
    }
    let block = 4usize << (id & 15);
    assert!(buf[at..at + block].iter().all(|b| *b == 0), "block of {block}");
    assert!(buf[..at].iter().chain(&buf[at + block..]).all(|b| *b == 0xab), "only the block");
}

/// The host under qemu `-cpu max` has CRC32, AES, SHA2 and LSE; a real core may lack them.
fn host_has(target: &Target) -> bool {
    target.extensions().is_subset(Target::native_aarch64().extensions())
}

/// CRC-32 (the polynomial of zlib and Ethernet) of a buffer with `crc32x` eight bytes at a time
/// and `crc32b` for the rest, against a bitwise Rust reference.
#[test]
fn crc32_of_a_buffer_matches_a_reference() {
    let target = Target::aarch64("neoverse-n1").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::U32));
    let mut f = Function::new("crc32", sig, target.clone());
    let (p, n) = (f.param(0), f.param(1));
    let (crc, word) = (f.x().w(), f.x());
    f.ins("mov", (crc, -1i64));
    let (wide, bytes, byte_loop, done) = (f.label(), f.label(), f.label(), f.label());
    f.bind(wide);
    f.ins("cmp", (n, 8));
    f.ins("b.lo", bytes);
    f.ins("ldr", (word, Mem::from([p]).post(8)));
    f.asm("crc32x {}, {}, {}", (crc, crc, word));
    f.ins("sub", (n, n, 8));
    f.ins("b", wide);
    f.bind(bytes);
    f.ins("cbz", (n, done));
    f.bind(byte_loop);
    f.ins("ldrb", (word.w(), Mem::from([p]).post(1)));
    f.ins("crc32b", (crc, crc, word.w()));
    f.ins("subs", (n, n, 1));
    f.ins("b.ne", byte_loop);
    f.bind(done);
    f.ins("mvn", (crc, crc));
    f.ret(crc);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    if !host_has(&target) {
        eprintln!("skipped: this core lacks CRC32");
        return;
    }
    // SAFETY: the code has this signature and reads `n` bytes at the pointer; the core has CRC32.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*const u8, usize) -> u32>::load(&code).unwrap() };
    let reference = |data: &[u8]| {
        let mut c = u32::MAX;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { c >> 1 ^ 0xEDB8_8320 } else { c >> 1 };
            }
        }
        !c
    };
    assert_eq!(reference(b"123456789"), 0xCBF4_3926, "the reference is CRC-32");
    for len in [0usize, 1, 7, 8, 9, 100, 1000] {
        let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
        // SAFETY: `data` holds `len` bytes.
        assert_eq!(unsafe { k.call(data.as_ptr(), len) }, reference(&data), "len {len}");
    }
}

/// An LSE `ldaddal` counter hammered by eight threads counts every increment.
#[test]
fn an_lse_counter_counts_every_increment() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let target = Target::aarch64("neoverse-n1").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::U64], None);
    let mut f = Function::new("bump", sig, target.clone());
    let (p, n) = (f.param(0), f.param(1));
    let (one, old) = (f.x(), f.x());
    f.ins("mov", (one, 1));
    let top = f.label();
    f.bind(top);
    f.asm("ldaddal {}, {}, [{}]", (one, old, p));
    f.ins("subs", (n, n, 1));
    f.ins("b.ne", top);
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    if !host_has(&target) {
        eprintln!("skipped: this core lacks LSE");
        return;
    }
    // SAFETY: the code has this signature and updates the u64 at the pointer atomically; the core
    // has LSE.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*mut u64, u64)>::load(&code).unwrap() };
    let counter = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            // SAFETY: a valid, aligned u64 every thread updates atomically.
            s.spawn(|| unsafe { k.call(counter.as_ptr(), 10_000) });
        }
    });
    assert_eq!(counter.load(Ordering::SeqCst), 80_000);
}

/// AES-128 in plain Rust (FIPS-197), the reference for the kernel below: the S-box from the
/// field inverse and the affine map, the key schedule, and the cipher.
mod aes {
    fn sbox() -> [u8; 256] {
        let mut s = [0u8; 256];
        let (mut p, mut q) = (1u8, 1u8);
        loop {
            // p times 3, q divided by 3: q is p's inverse in GF(2^8).
            p ^= (p << 1) ^ if p & 0x80 != 0 { 0x1B } else { 0 };
            q ^= q << 1;
            q ^= q << 2;
            q ^= q << 4;
            if q & 0x80 != 0 {
                q ^= 0x09;
            }
            s[p as usize] = q ^ q.rotate_left(1) ^ q.rotate_left(2) ^ q.rotate_left(3) ^ q.rotate_left(4) ^ 0x63;
            if p == 1 {
                break;
            }
        }
        s[0] = 0x63;
        s
    }

    fn xtime(b: u8) -> u8 {
        (b << 1) ^ if b & 0x80 != 0 { 0x1B } else { 0 }
    }

    /// The 11 round keys of a 128-bit key.
    pub fn round_keys(key: [u8; 16]) -> [[u8; 16]; 11] {
        let s = sbox();
        let mut w = [[0u8; 4]; 44];
        for i in 0..4 {
            w[i].copy_from_slice(&key[4 * i..4 * i + 4]);
        }
        let mut rcon = 1u8;
        for i in 4..44 {
            let mut t = w[i - 1];
            if i % 4 == 0 {
                t = [s[t[1] as usize] ^ rcon, s[t[2] as usize], s[t[3] as usize], s[t[0] as usize]];
                rcon = xtime(rcon);
            }
            for k in 0..4 {
                w[i][k] = w[i - 4][k] ^ t[k];
            }
        }
        let mut keys = [[0u8; 16]; 11];
        for (r, key) in keys.iter_mut().enumerate() {
            for c in 0..4 {
                key[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
            }
        }
        keys
    }

    /// One block, encrypted.
    pub fn encrypt(block: [u8; 16], keys: &[[u8; 16]; 11]) -> [u8; 16] {
        let s = sbox();
        let mut st = block;
        let add = |st: &mut [u8; 16], k: &[u8; 16]| st.iter_mut().zip(k).for_each(|(a, b)| *a ^= b);
        add(&mut st, &keys[0]);
        for (round, key) in keys.iter().enumerate().skip(1) {
            // SubBytes and ShiftRows: byte r of column c moves to column c - r.
            let mut t = [0u8; 16];
            for c in 0..4 {
                for r in 0..4 {
                    t[4 * c + r] = s[st[4 * ((c + r) % 4) + r] as usize];
                }
            }
            if round < 10 {
                for c in 0..4 {
                    let a = [t[4 * c], t[4 * c + 1], t[4 * c + 2], t[4 * c + 3]];
                    let all = a[0] ^ a[1] ^ a[2] ^ a[3];
                    for r in 0..4 {
                        t[4 * c + r] = a[r] ^ all ^ xtime(a[r] ^ a[(r + 1) % 4]);
                    }
                }
            }
            st = t;
            add(&mut st, key);
        }
        st
    }
}

/// AES-128 of one block with `aese`/`aesmc`, against the Rust reference (itself checked against
/// FIPS-197's example).
#[test]
fn aes_rounds_encrypt_a_block_like_the_reference() {
    use peach::core::isa::aarch64::A64Reg;
    let hex = |s: &str| -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        b
    };
    let fips_key = hex("000102030405060708090a0b0c0d0e0f");
    let fips = aes::encrypt(hex("00112233445566778899aabbccddeeff"), &aes::round_keys(fips_key));
    assert_eq!(fips, hex("69c4e0d86a7b0430d8cdb78070b4c55a"), "the reference is AES-128");

    let target = Target::aarch64("neoverse-n1").unwrap();
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("aes128", sig, target.clone());
    let (out, block, keys) = (f.param(0), f.param(1), f.param(2));
    let (st, k) = (f.v(), f.v());
    f.ins("ldr", (st.q(), [block]));
    for round in 0..9 {
        f.ins("ldr", (k.q(), Mem::from([keys]).at(16 * round)));
        f.ins("aese", (st.b16(), k.b16()));
        f.ins("aesmc", (st.b16(), st.b16()));
    }
    f.ins("ldr", (k.q(), Mem::from([keys]).at(144)));
    f.asm("aese {}, {}", (st.b16(), k.b16()));
    f.ins("ldr", (k.q(), Mem::from([keys]).at(160)));
    f.ins("eor", (st.b16(), st.b16(), k.b16()));
    f.ins("str", (st.q(), [out]));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    if !host_has(&target) {
        eprintln!("skipped: this core lacks AES");
        return;
    }
    // SAFETY: the code reads 16 bytes at `block` and 176 at `keys` and writes 16 at `out`; the
    // core has AES.
    let k = unsafe { Kernel::<unsafe extern "C" fn(*mut u8, *const u8, *const u8)>::load(&code).unwrap() };
    for seed in 0..4u8 {
        let key: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(29).wrapping_add(seed));
        let block: [u8; 16] = std::array::from_fn(|i| (i as u8).wrapping_mul(71) ^ seed.wrapping_mul(13));
        let keys = aes::round_keys(key);
        let mut got = [0u8; 16];
        // SAFETY: the sizes above.
        unsafe { k.call(got.as_mut_ptr(), block.as_ptr(), keys.as_ptr().cast()) };
        assert_eq!(got, aes::encrypt(block, &keys), "seed {seed}");
    }
}

peach_fn! {
    /// Uses the frame pointer and the link register as scratch registers: the prologue saves
    /// them and every return restores them (x29 is the caller's, x30 where `ret` goes).
    #[target(aarch64::neon)]
    pub unsafe fn scratch_fp_lr(n: u64) -> u64 {
        let r = GP64();
        ASM("mov x29, {}", n);
        ASM("add x30, x29, #5");
        MOV(r, X30);
        RETURN(r);
    }
}

#[test]
fn writing_the_frame_pointer_and_link_register_still_returns() {
    // SAFETY: no memory is touched.
    assert_eq!(unsafe { scratch_fp_lr(37) }, 42);
}

thread_local! {
    static TRACE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

extern "C" fn callback() -> u64 {
    TRACE.set(std::backtrace::Backtrace::force_capture().to_string());
    35
}

peach_fn! {
    /// Calls `f` (an `extern "C" fn() -> u64`) with x19 and a value in use across the call;
    /// returns its result plus 12. `blr` writes x30 (so the prologue saves it) and the
    /// caller-saved registers (so the value is kept in a callee-saved one).
    #[target(aarch64::neon)]
    #[jit]
    pub unsafe fn call_through_a64(f: usize) -> u64 {
        let (r, keep) = (GP64(), GP64());
        MOV(keep, 5);
        ASM("mov x19, #7");
        ASM("blr {}", f);
        ASM("add x0, x0, x19");
        ADD(r, X0, keep);
        RETURN(r);
    }
}

#[inline(never)]
fn the_rust_caller_of_an_a64_kernel(k: &Kernel<unsafe extern "C" fn(usize) -> u64>) -> u64 {
    // SAFETY: `callback` is an `extern "C" fn() -> u64`; sp stays 16-byte aligned.
    unsafe { k.call(callback as extern "C" fn() -> u64 as usize) }
}

/// A backtrace from a callee walks through a JIT kernel whose unwind information is registered
/// when it loads.
#[test]
fn a_backtrace_walks_through_an_a64_jit_kernel() {
    peach::runtime::tools::enable(peach::runtime::tools::Tool::Unwind);
    let k = call_through_a64().unwrap();
    assert_eq!(the_rust_caller_of_an_a64_kernel(&k), 47);
    let trace = TRACE.take();
    let at = |name: &str| trace.find(name).unwrap_or_else(|| panic!("`{name}` is not in the backtrace:\n{trace}"));
    let (inner, caller) = (at("callback"), at("the_rust_caller_of_an_a64_kernel"));
    assert!(inner < caller, "{trace}");
}

/// `sgemm` runs `sgemm_block`'s NEON variant (6 rows by 16 columns) and matches the triple loop
/// exactly (small integers and halves: every sum is exact in any order): whole blocks and panels,
/// rows past a multiple of 6 (in a smaller block) and columns past one of 16 (through the edge's
/// copies), one block of k and several, a C too short refused.
#[test]
fn sgemm_runs_the_neon_kernel_and_matches_the_triple_loop() {
    use peach::kernels::gemm::{SGEMM_BLOCK_DISPATCH, sgemm, sgemm_block_nr};
    assert_eq!(sgemm_block_nr(), 16);
    let sizes = [
        (6, 16, 1),
        (12, 32, 7),
        (36, 64, 64),
        (1, 1, 1),
        (5, 15, 3),
        (7, 17, 2),
        (100, 53, 300),
        (13, 7, 1500),
        (19, 40, 1100),
    ];
    for (m, n, k) in sizes {
        sgemm_block::check_sgemm(m, n, k, 1);
    }
    assert_eq!(SGEMM_BLOCK_DISPATCH.active(), Some("armv8-a"));
    let mut c = vec![0.0; 5 * 16 - 1];
    assert_eq!(sgemm(5, 16, 1, &[0.0; 5], &[0.0; 16], &mut c).unwrap_err().kind(), ErrorKind::InvalidOperands);
}

/// `sgemm_block`'s NEON variant, call by call, against the model that rounds as its fused
/// multiply-adds do, on every shape the x86 variants are checked on (tests/emulated.rs).
#[test]
fn the_neon_sgemm_block_matches_a_fused_model() {
    for (k, rows, accumulate, from) in sgemm_block::shapes() {
        let what = format!("k {k}, {rows} rows, accumulate {accumulate}, B from {from:?}");
        let mut block = sgemm_block::Block::new(16, k, rows, accumulate, from);
        let (c, panel) = block.model();
        // SAFETY: the NEON variant (which dispatch picks here) is 16 columns wide.
        unsafe { block.call(peach::kernels::gemm::sgemm_block) };
        assert_eq!(sgemm_block::bits(&block.c), sgemm_block::bits(&c), "{what}: C");
        assert_eq!(sgemm_block::bits(&block.panel), sgemm_block::bits(&panel), "{what}: the panel");
    }
}

/// `sgemm_kernel` dispatches to its NEON variant, 16 columns wide ([`sgemm_nr`]), and adds the
/// product of packed panels to C bit for bit as one fused multiply-add per step would.
#[test]
fn the_neon_sgemm_kernel_adds_the_product_of_packed_panels() {
    use peach::kernels::gemm::{SGEMM_KERNEL_DISPATCH, sgemm_kernel, sgemm_nr};
    let (nr, k, ldc) = (sgemm_nr(), 7, 19);
    assert_eq!(nr, 16);
    let (a, b) = (sgemm_block::values(6 * k, 4), sgemm_block::values(nr * k, 5));
    let mut c = sgemm_block::values(5 * ldc + nr, 6);
    let mut want = c.clone();
    for i in 0..6 {
        for j in 0..nr {
            want[i * ldc + j] += (0..k).fold(0.0f32, |acc, p| a[p * 6 + i].mul_add(b[p * nr + j], acc));
        }
    }
    // SAFETY: panels of 6 k and nr k floats; 6 rows of nr floats, ldc apart.
    unsafe { sgemm_kernel(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), k, ldc * 4) };
    assert_eq!(sgemm_block::bits(&c), sgemm_block::bits(&want));
    assert_eq!(SGEMM_KERNEL_DISPATCH.active(), Some("armv8-a"));
}

/// The library's JIT VECTOR_SUM builds its NEON variant here and sums right, over accumulator
/// counts and prefetch distances.
#[test]
fn the_library_vector_sum_builds_for_neon() {
    let v: Vec<f64> = (0..768).map(|i| (i % 13) as f64 * 0.25 - 1.0).collect();
    for (unroll, prefetch) in [(1, 0), (4, 512), (6, 0)] {
        let k = peach::kernels::streaming::sum_f64(unroll, prefetch).unwrap();
        // SAFETY: 768 doubles, a multiple of 8 unroll.
        assert_eq!(unsafe { k.call(v.as_ptr(), v.len()) }, v.iter().sum::<f64>(), "unroll {unroll}");
    }
}

/// `add_i32` dispatches to its NEON variant here and wraps as Rust does.
#[test]
fn the_library_add_runs_its_neon_variant() {
    let n = 256;
    let a: Vec<i32> = (0..n).map(|i| i32::MAX - i).collect();
    let b: Vec<i32> = (0..n).map(|i| i * 3 + 1).collect();
    let mut c = vec![0; n as usize];
    // SAFETY: 256 values at each pointer, a multiple of 128.
    unsafe { peach::kernels::add_i32(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), n as usize) };
    let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
    assert_eq!(c, want);
    assert_eq!(peach::kernels::streaming::ADD_I32_DISPATCH.active(), Some("armv8-a"));
}
