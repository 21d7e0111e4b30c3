//! Kernels under qemu, compared with plain Rust: NEON loops, constants, fat binaries and JIT
//! kernels, element operands, addressing modes, register lists, streams, optional extensions.

use super::*;

/// The NEON dot product of `peach::kernels::neon`.
fn neon_dot_f32() -> CodeObject {
    peach::kernels::neon::dot_f32(Abi::Aapcs64).unwrap()
}

#[test]
fn neon_dot_product_matches_rust() {
    let code = neon_dot_f32();
    let n = 1024;
    let a: Vec<f32> = (0..n).map(|i| ((i * 7) % 13) as f32 * 0.25 - 1.0).collect();
    let b: Vec<f32> = (0..n).map(|i| ((i * 5) % 11) as f32 * 0.5 - 2.0).collect();
    let mut data = f32_bytes(&a);
    data.extend(f32_bytes(&b));
    let Some(out) = run(&code, &data, &[Arg::Ptr(0, 0), Arg::Ptr(1, 4 * n), Arg::X(2, n as u64)]) else { return };
    let got = f32::from_bits(out.d0 as u32);
    let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    // Quarter-multiples of small integers: every partial sum is exact in f32.
    assert_eq!(got, want, "{}", code.listing());
}

#[test]
fn neon_f64_sum_matches_rust() {
    let sig = Signature::new(&[Type::Ptr, Type::U64], Some(Type::F64));
    let mut f = Function::new("sum_f64", sig, Target::aarch64_neon());
    let (p, n) = (f.param(0), f.param(1));
    let (s0, s1) = (f.v(), f.v());
    f.ins("eor", (s0.b16(), s0.b16(), s0.b16()));
    f.ins("eor", (s1.b16(), s1.b16(), s1.b16()));
    let top = f.label();
    f.bind(top);
    let (x, y) = (f.v(), f.v());
    f.ins("ldr", (x.q(), [p]));
    f.ins("ldr", (y.q(), [p + 16]));
    f.ins("fadd", (s0.d2(), s0.d2(), x.d2()));
    f.ins("fadd", (s1.d2(), s1.d2(), y.d2()));
    f.ins("add", (p, p, 32));
    f.ins("subs", (n, n, 4));
    f.ins("b.ne", top);
    f.ins("fadd", (s0.d2(), s0.d2(), s1.d2()));
    f.ins("faddp", (s0.d(), s0.d2()));
    f.ret(s0);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let v: Vec<f64> = (0..512).map(|i| (i % 17) as f64 * 0.125).collect();
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let Some(out) = run(&code, &data, &[Arg::Ptr(0, 0), Arg::X(1, v.len() as u64)]) else { return };
    assert_eq!(f64::from_bits(out.d0), v.iter().sum::<f64>());
}

/// The library's VECTOR_SUM (`streaming::sum_f64`, a JIT kernel with x86-64 and NEON
/// variants) built for AArch64 by its `_code` companion, over accumulator counts and prefetch
/// distances (one `prfm` per 64-byte line), under qemu.
#[test]
fn neon_vector_sum_of_the_library_matches_rust() {
    let v: Vec<f64> = (0..1536).map(|i| (i % 17) as f64 * 0.125 - 0.5).collect();
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    for (unroll, prefetch) in [(1, 0), (2, 256), (3, 0), (8, 512), (12, 2048)] {
        let codes = peach::kernels::streaming::sum_f64_code(unroll, prefetch).unwrap();
        let code =
            codes.iter().find(|c| c.target().arch() == peach::core::target::Arch::Aarch64).expect("a NEON build");
        let prefetches = code.listing().matches("prfm pldl1keep").count();
        assert_eq!(prefetches, if prefetch == 0 { 0 } else { unroll }, "{}", code.listing());
        let Some(out) = run(code, &data, &[Arg::Ptr(0, 0), Arg::X(1, v.len() as u64)]) else { return };
        assert_eq!(f64::from_bits(out.d0), v.iter().sum::<f64>(), "unroll {unroll}, prefetch {prefetch}");
    }
}

/// The library's `add_i32` NEON variant under qemu, wrapping as Rust's `wrapping_add` does.
#[test]
fn neon_add_of_the_library_wraps_like_rust() {
    use peach::kernels::streaming::{ADD_I32_ARMV8_A_CODES as CODES, ADD_I32_ARMV8_A_LISTING as LISTING};
    let (_, bytes) = CODES.iter().find(|(abi, _)| *abi == "Aapcs64").expect("an AAPCS64 build");
    for n in [128usize, 384] {
        let a: Vec<i32> = (0..n as i32).map(|i| i.wrapping_mul(0x2f6b_5a3d) ^ (i << 9)).collect();
        let b: Vec<i32> = (0..n as i32).map(|i| i32::MAX - i * 7).collect();
        let mut data: Vec<u8> = a.iter().chain(&b).flat_map(|v| v.to_le_bytes()).collect();
        data.resize(12 * n, 0);
        let args = [Arg::Ptr(0, 0), Arg::Ptr(1, 4 * n), Arg::Ptr(2, 8 * n), Arg::X(3, n as u64)];
        let Some(out) = run_bytes(bytes, LISTING, &data, &args) else { return };
        let got: Vec<i32> = out.data[8 * n..].chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
        let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
        assert_eq!(got, want, "n {n}");
    }
}

#[test]
fn stores_reach_memory() {
    // void scale(f32 *p, u64 n, u32 k): p[i] *= k, four at a time.
    let sig = Signature::new(&[Type::Ptr, Type::U64, Type::U32], None);
    let mut f = Function::new("scale", sig, Target::aarch64_neon());
    let (p, n, k) = (f.param(0), f.param(1), f.param(2));
    let (x, kk) = (f.v(), f.v());
    f.ins("dup", (kk.s4(), k.w()));
    f.ins("scvtf", (kk.s4(), kk.s4()));
    let top = f.label();
    f.bind(top);
    f.ins("ldr", (x.q(), [p]));
    f.ins("fmul", (x.s4(), x.s4(), kk.s4()));
    f.ins("str", (x.q(), [p]));
    f.ins("add", (p, p, 16));
    f.ins("subs", (n, n, 4));
    f.ins("b.ne", top);
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let v: Vec<f32> = (0..64).map(|i| i as f32 - 10.0).collect();
    let Some(out) = run(&code, &f32_bytes(&v), &[Arg::Ptr(0, 0), Arg::X(1, 64), Arg::X(2, 3)]) else { return };
    let want: Vec<f32> = v.iter().map(|x| x * 3.0).collect();
    assert_eq!(out.data, f32_bytes(&want));
}

/// Constants come from a literal pool after the code, loaded PC-relative; equal constants share
/// a slot.
#[test]
fn constants_from_the_literal_pool() {
    // void affine(f32 *p, u64 n): p[i] = p[i] * 2.5 + 0.75, four at a time; then a scalar f64 result.
    let sig = Signature::new(&[Type::Ptr, Type::U64], Some(Type::F64));
    let mut f = Function::new("affine", sig, Target::aarch64_neon());
    let (p, n) = (f.param(0), f.param(1));
    let (k, c, x) = (f.v(), f.v(), f.v());
    f.ins("ldr", (k.q(), Constant::f32x4_splat(2.5)));
    f.ins("ldr", (c.q(), Constant::f32x4_splat(0.75)));
    let top = f.label();
    f.bind(top);
    f.ins("ldr", (x.q(), [p]));
    let y = f.v();
    f.ins("mov", (y.b16(), c.b16()));
    f.ins("fmla", (y.s4(), x.s4(), k.s4()));
    f.ins("str", (y.q(), [p]));
    f.ins("add", (p, p, 16));
    f.ins("subs", (n, n, 4));
    f.ins("b.ne", top);
    let (r, again) = (f.v(), f.v());
    f.ins("ldr", (r.d(), Constant::f64(-1.25)));
    f.ins("ldr", (again.d(), Constant::f64(-1.25)));
    f.ins("fadd", (r.d(), r.d(), again.d()));
    f.ret(r);
    let code = f.compile(Abi::Aapcs64).unwrap();
    assert_eq!(code.lines().iter().filter(|l| l.intel.starts_with(".byte")).count(), 3, "{}", code.listing());
    let v: Vec<f32> = (0..32).map(|i| i as f32 * 0.5 - 4.0).collect();
    let Some(out) = run(&code, &f32_bytes(&v), &[Arg::Ptr(0, 0), Arg::X(1, 32)]) else { return };
    let want: Vec<f32> = v.iter().map(|x| x.mul_add(2.5, 0.75)).collect();
    assert_eq!(out.data, f32_bytes(&want), "{}", code.listing());
    assert_eq!(f64::from_bits(out.d0), -2.5);
}

peach_fn! {
    /// One kernel, two architectures: the sum of `n` doubles (`n` a positive multiple of 4),
    /// with AVX on x86-64 and NEON on AArch64, chosen per target at expansion.
    #[variants(x86_64::haswell, aarch64::neon, fallback = sum_f64_in_rust)]
    pub unsafe fn sum_f64(p: *const f64, n: usize) -> f64 {
        if target.has_neon() {
            let (s0, s1) = (VEC(), VEC());
            EOR(s0.b16(), s0.b16(), s0.b16());
            EOR(s1.b16(), s1.b16(), s1.b16());
            let top = Label::new();
            LABEL(top);
            let (x, y) = (VEC(), VEC());
            LDR(x.q(), [p]);
            LDR(y.q(), [p + 16]);
            FADD(s0.d2(), s0.d2(), x.d2());
            FADD(s1.d2(), s1.d2(), y.d2());
            ADD(p, p, 32);
            SUBS(n, n, 4);
            B_NE(top);
            FADD(s0.d2(), s0.d2(), s1.d2());
            FADDP(s0.d(), s0.d2());
            RETURN(s0);
        } else {
            let acc = YMM();
            VXORPD(acc, acc, acc);
            let top = Label::new();
            LABEL(top);
            VADDPD(acc, acc, [p]);
            ADD(p, 32);
            SUB(n, 4);
            JNZ(top);
            let hi = XMM();
            VEXTRACTF128(hi, acc, 1);
            VADDPD(acc.xmm(), acc.xmm(), hi);
            VHADDPD(acc.xmm(), acc.xmm(), acc.xmm());
            RETURN(acc);
        }
    }
}

unsafe fn sum_f64_in_rust(p: *const f64, n: usize) -> f64 {
    // SAFETY: the caller passes `n` readable doubles.
    unsafe { std::slice::from_raw_parts(p, n) }.iter().sum()
}

/// The fat binary's NEON variant runs under qemu (AAPCS64 build), and its x86-64 variant (or the
/// fallback) natively; both agree with Rust.
#[test]
fn fat_binary_neon_variant() {
    let v: Vec<f64> = (0..256).map(|i| (i % 9) as f64 * 0.5 - 1.0).collect();
    let want: f64 = v.iter().sum();
    // SAFETY: `v` holds `len` doubles, a multiple of 4.
    assert_eq!(unsafe { sum_f64(v.as_ptr(), v.len()) }, want);
    let (_, bytes) = SUM_F64_ARMV8_A_CODES.iter().find(|(abi, _)| *abi == "Aapcs64").expect("an AAPCS64 build");
    assert!(SUM_F64_ARMV8_A_LISTING.contains("faddp d"), "{SUM_F64_ARMV8_A_LISTING}");
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let args = [Arg::Ptr(0, 0), Arg::X(1, v.len() as u64)];
    let Some(out) = run_bytes(bytes, SUM_F64_ARMV8_A_LISTING, &data, &args) else { return };
    assert_eq!(f64::from_bits(out.d0), want);
}

peach_fn! {
    /// `y = A x` for a 4x4 column-major f32 matrix, one `fmla` by element per column; then lane
    /// moves: the result's lane 2 is copied to lane 0 with `ins` and returned through `umov`.
    #[variants(aarch64::neon, fallback = matvec4_in_rust)]
    pub unsafe fn matvec4(a: *const f32, x: *const f32, y: *mut f32) -> u32 {
        let (acc, xv) = (VEC(), VEC());
        LDR(xv.q(), [x]);
        EOR(acc.b16(), acc.b16(), acc.b16());
        for j in 0..4 {
            let col = VEC();
            LDR(col.q(), [a + 16 * j]);
            FMLA(acc.s4(), col.s4(), xv.s().lane(j));
        }
        STR(acc.q(), [y]);
        let copy = VEC();
        DUP(copy.s4(), acc.s().lane(3));
        INS(copy.s().lane(0), acc.s().lane(2));
        let bits = GP32();
        UMOV(bits, copy.s().lane(0));
        RETURN(bits);
    }
}

unsafe fn matvec4_in_rust(a: *const f32, x: *const f32, y: *mut f32) -> u32 {
    // SAFETY: the caller passes a 4x4 matrix and two 4-vectors.
    let (a, x, y) = unsafe {
        (std::slice::from_raw_parts(a, 16), std::slice::from_raw_parts(x, 4), std::slice::from_raw_parts_mut(y, 4))
    };
    for (i, out) in y.iter_mut().enumerate() {
        *out = (0..4).map(|j| a[4 * j + i] * x[j]).sum();
    }
    y[2].to_bits()
}

/// Element operands (`fmla` by element, `dup`, `ins`, `umov`) in a `peach_fn!` kernel, run under
/// qemu and compared with Rust.
#[test]
fn lanes_by_element() {
    let a: Vec<f32> = (0..16).map(|i| i as f32 * 0.5 - 3.0).collect();
    let x = [1.0f32, -2.0, 0.5, 4.0];
    let mut want = [0f32; 4];
    // SAFETY: the sizes match.
    let want_bits = unsafe { matvec4_in_rust(a.as_ptr(), x.as_ptr(), want.as_mut_ptr()) };
    let mut data: Vec<u8> = a.iter().chain(&x).flat_map(|v| v.to_le_bytes()).collect();
    data.extend([0u8; 16]);
    let (_, bytes) = MATVEC4_ARMV8_A_CODES.iter().find(|(abi, _)| *abi == "Aapcs64").unwrap();
    assert!(MATVEC4_ARMV8_A_LISTING.contains(".s[3]"), "{MATVEC4_ARMV8_A_LISTING}");
    let args = [Arg::Ptr(0, 0), Arg::Ptr(1, 64), Arg::Ptr(2, 80)];
    let Some(out) = run_bytes(bytes, MATVEC4_ARMV8_A_LISTING, &data, &args) else { return };
    let got: Vec<f32> = out.data[80..96].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(got, want);
    assert_eq!(out.x0 as u32, want_bits);
}

peach_fn! {
    /// Exercises selects, logical immediates, register-offset loads, prefetches, single-register
    /// structure loads and stores, and `MOV_IMM`: returns
    /// `(xor of p[i] ^ K) + (count of p[i] & 0xff > 0x80) + max(p[0], p[1])`, and doubles the
    /// four floats at `q` through `ld1`/`st1` after splatting `q[0]` into them with `ld1r`.
    #[variants(aarch64::neon, fallback = mixed_in_rust)]
    pub unsafe fn mixed(p: *const u64, q: *mut f32, n: usize) -> u64 {
        let (acc, count, i, k) = (GP64(), GP64(), GP64(), GP64());
        MOV_IMM(k, 0x0123_4567_89ab_cdef);
        MOVZ(acc, 0);
        MOVZ(count, 0);
        MOVZ(i, 0);
        let top = Label::new();
        LABEL(top);
        PRFM(PLDL1KEEP, [p + 64]);
        let (v, low, flag) = (GP64(), GP64(), GP64());
        LDR(v, [p + i * 8]);
        EOR(v, v, k);
        EOR(acc, acc, v);
        LDR(v, [p + i * 8]);
        AND(low, v, 0xff);
        CMP(low, 0x80);
        CSET(flag, HI);
        ADD(count, count, flag);
        ADD(i, i, 1);
        CMP(i, n);
        B_NE(top);
        let (a, b) = (GP64(), GP64());
        LDR(a, [p]);
        LDR(b, [p + 8]);
        CMP(a, b);
        CSEL(a, a, b, HI);
        ADD(acc, acc, count);
        ADD(acc, acc, a);
        let (splat, four) = (VEC(), VEC());
        LD1R(splat.s4(), [q]);
        LD1(four.s4(), [q]);
        FADD(four.s4(), four.s4(), splat.s4());
        ST1(four.s4(), [q]);
        RETURN(acc);
    }
}

unsafe fn mixed_in_rust(p: *const u64, q: *mut f32, n: usize) -> u64 {
    // SAFETY: the caller passes `n` values at `p` and four floats at `q`.
    let (p, q) = unsafe { (std::slice::from_raw_parts(p, n), std::slice::from_raw_parts_mut(q, 4)) };
    let k = 0x0123_4567_89ab_cdefu64;
    let x = p.iter().fold(0, |a, v| a ^ (v ^ k));
    let count = p.iter().filter(|v| *v & 0xff > 0x80).count() as u64;
    let first = q[0];
    for f in q.iter_mut() {
        *f += first;
    }
    x.wrapping_add(count).wrapping_add(p[0].max(p[1]))
}

#[test]
fn selects_immediates_and_addressing_modes() {
    let p: Vec<u64> = (0..40u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i << 7)).collect();
    let mut q = [1.5f32, -2.0, 3.25, 8.0];
    let mut data: Vec<u8> = p.iter().flat_map(|v| v.to_le_bytes()).collect();
    data.extend(q.iter().flat_map(|v| v.to_le_bytes()));
    data.extend([0u8; 64]); // what the prefetch may touch
    // SAFETY: sizes as the kernel expects.
    let want = unsafe { mixed_in_rust(p.as_ptr(), q.as_mut_ptr(), p.len()) };
    let (_, bytes) = MIXED_ARMV8_A_CODES.iter().find(|(abi, _)| *abi == "Aapcs64").unwrap();
    let listing = MIXED_ARMV8_A_LISTING;
    for form in ["prfm pldl1keep", "lsl #3]", "cset", ", hi", "and x", "ld1r {v", "st1 {v", "movk"] {
        assert!(listing.contains(form), "{form} missing:\n{listing}");
    }
    let args = [Arg::Ptr(0, 0), Arg::Ptr(1, 8 * p.len()), Arg::X(2, p.len() as u64)];
    let Some(out) = run_bytes(bytes, listing, &data, &args) else { return };
    assert_eq!(out.x0, want, "{listing}");
    let got: Vec<f32> =
        out.data[8 * p.len()..8 * p.len() + 16].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(got, q);
}

/// `mov_imm` materialises any 64-bit constant; a few hundred of them run under qemu.
#[test]
fn any_64_bit_constant() {
    let mut values = vec![0u64, 1, u64::MAX, 0xffff, 0xffff_0000, 0x5555_5555_5555_5555, 0x8000_0000_0000_0000];
    let mut x = 0x243f_6a88_85a3_08d3u64;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.push(x);
        values.push(x & 0xffff_0000_ffff);
        values.push(!(x & 0xffff));
    }
    // u64 f(u64 *out): writes each constant, returns their xor.
    let sig = Signature::new(&[Type::Ptr], Some(Type::U64));
    let mut f = Function::new("constants", sig, Target::aarch64_neon());
    let out = f.param(0);
    let (acc, t) = (f.x(), f.x());
    f.ins("movz", (acc, 0));
    for (i, v) in values.iter().enumerate() {
        f.mov_imm(t, *v);
        f.ins("str", (t, [out + 8 * i]));
        f.ins("eor", (acc, acc, t));
    }
    f.ret(acc);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let Some(res) = run(&code, &vec![0u8; 8 * values.len()], &[Arg::Ptr(0, 0)]) else { return };
    let stored: Vec<u64> = res.data.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(stored, values);
    assert_eq!(res.x0, values.iter().fold(0, |a, v| a ^ v));
}

peach_fn! {
    /// Post-indexed loads walk the arrays (`ldr q, [p], #16` and `ld1 {v.4s}, [q], #16`): the sum
    /// of `x[i] * y[i] + 1` over `n` floats, `n` a positive multiple of 4.
    #[variants(aarch64::neon, fallback = walk_in_rust)]
    pub unsafe fn walk(x: *const f32, y: *const f32, n: usize) -> f32 {
        let (acc, one, a, b) = (VEC(), VEC(), VEC(), VEC());
        EOR(acc.b16(), acc.b16(), acc.b16());
        LDR(one.q(), Constant::f32x4_splat(1.0));
        let top = Label::new();
        LABEL(top);
        LDR(a.q(), [x].post(16));
        LD1(b.s4(), [y].post(16));
        FADD(acc.s4(), acc.s4(), one.s4());
        FMLA(acc.s4(), a.s4(), b.s4());
        SUBS(n, n, 4);
        B_NE(top);
        FADDP(acc.s4(), acc.s4(), acc.s4());
        FADDP(acc.s(), acc.s2());
        RETURN(acc);
    }
}

unsafe fn walk_in_rust(x: *const f32, y: *const f32, n: usize) -> f32 {
    // SAFETY: the caller passes `n` floats at each.
    let (x, y) = unsafe { (std::slice::from_raw_parts(x, n), std::slice::from_raw_parts(y, n)) };
    x.iter().zip(y).map(|(a, b)| a * b + 1.0).sum()
}

#[test]
fn post_indexed_loads() {
    let n = 64;
    let x: Vec<f32> = (0..n).map(|i| (i % 5) as f32 - 2.0).collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 3) as f32 * 0.5).collect();
    let mut data = f32_bytes(&x);
    data.extend(f32_bytes(&y));
    // SAFETY: sizes as the kernel expects.
    let want = unsafe { walk_in_rust(x.as_ptr(), y.as_ptr(), n) };
    let (_, bytes) = WALK_ARMV8_A_CODES.iter().find(|(abi, _)| *abi == "Aapcs64").unwrap();
    assert!(WALK_ARMV8_A_LISTING.contains("], #16"), "{WALK_ARMV8_A_LISTING}");
    let args = [Arg::Ptr(0, 0), Arg::Ptr(1, 4 * n), Arg::X(2, n as u64)];
    let Some(out) = run_bytes(bytes, WALK_ARMV8_A_LISTING, &data, &args) else { return };
    assert_eq!(f32::from_bits(out.d0 as u32), want);
}

/// The README's AArch64 example, run.
#[test]
fn readme_example() {
    let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::F64));
    let mut f = Function::new("sum_f64", sig, Target::aarch64_neon());
    let (p, n) = (f.param(0), f.param(1));
    let (s, x) = (f.v(), f.v());
    f.ins("eor", (s.b16(), s.b16(), s.b16()));
    let top = f.label();
    f.bind(top);
    f.ins("ldr", (x.q(), Mem::from([p]).post(16)));
    f.ins("fadd", (s.d2(), s.d2(), x.d2()));
    f.ins("subs", (n, n, 2));
    f.ins("b.ne", top);
    f.ins("faddp", (s.d(), s.d2()));
    f.ret(s);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let v: Vec<f64> = (0..10).map(|i| i as f64 * 1.25).collect();
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let Some(out) = run(&code, &data, &[Arg::Ptr(0, 0), Arg::X(1, 10)]) else { return };
    assert_eq!(f64::from_bits(out.d0), v.iter().sum::<f64>());
}

/// Register lists: `ld4`/`st4` de-interleave and re-interleave 16 RGBA pixels with R and B
/// swapped (physical v0-v3), `tbl` reverses 16 bytes with a table from the pool, and `fmov`
/// loads an FP immediate.
#[test]
fn register_lists_tables_and_fp_immediates() {
    use peach::core::isa::aarch64::{FpImm, reg};
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], Some(Type::F64));
    let mut f = Function::new("lists", sig, Target::aarch64_neon());
    let (pixels, bytes) = (f.param(0), f.param(1));
    f.ins("ld4", (reg::V0.b16(), [pixels]));
    let t = f.v();
    f.ins("mov", (t.b16(), reg::V0.b16()));
    f.ins("mov", (reg::V0.b16(), reg::V2.b16()));
    f.ins("mov", (reg::V2.b16(), t.b16()));
    f.ins("st4", (reg::V0.b16(), [pixels]));
    let (table, data, out) = (f.v(), f.v(), f.v());
    f.ins("ldr", (table.q(), Constant::u8x16([15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0])));
    f.ins("ldr", (data.q(), [bytes]));
    f.ins("tbl", (out.b16(), data.b16(), table.b16()));
    f.ins("str", (out.q(), [bytes]));
    let r = f.v();
    f.ins("fmov", (r.d(), FpImm(-2.5)));
    f.ret(r);
    let code = f.compile(Abi::Aapcs64).unwrap();
    assert!(code.listing().contains("ld4 {v0.16b, v1.16b, v2.16b, v3.16b}, [x0]"), "{}", code.listing());
    let pixels: Vec<u8> = (0..64).map(|i| (i * 3 + 1) as u8).collect();
    let bytes: Vec<u8> = (100..116).collect();
    let mut data = pixels.clone();
    data.extend(&bytes);
    let Some(out) = run(&code, &data, &[Arg::Ptr(0, 0), Arg::Ptr(1, 64)]) else { return };
    let mut want = pixels.clone();
    for px in want.chunks_mut(4) {
        px.swap(0, 2);
    }
    let reversed: Vec<u8> = bytes.iter().rev().copied().collect();
    assert_eq!(&out.data[..64], &want[..]);
    assert_eq!(&out.data[64..80], &reversed[..]);
    assert_eq!(f64::from_bits(out.d0), -2.5);
}

/// Instruction streams interleave two computations on AArch64 as on x86-64: two independent
/// sums over the same data, recorded apart and issued one instruction at a time.
#[test]
fn instruction_streams_interleave() {
    let sig = Signature::new(&[Type::Ptr], Some(Type::I64));
    let mut f = Function::new("streams", sig, Target::aarch64_neon());
    let p = f.param(0);
    let (a, b) = (f.x(), f.x());
    f.ins("movz", (a, 0));
    f.ins("movz", (b, 0));
    let mut first = f.stream(|f| {
        for i in 0..4 {
            let t = f.x();
            f.ins("ldr", (t, [p + 8 * i]));
            f.ins("add", (a, a, t));
        }
    });
    let mut second = f.stream(|f| {
        for i in 0..4 {
            let t = f.x();
            f.ins("ldr", (t, [p + 8 * (i + 4)]));
            f.ins("eor", (b, b, t));
        }
    });
    while !first.is_empty() || !second.is_empty() {
        let (n1, n2) = (first.len().min(1), second.len().min(1));
        f.issue(&mut first, n1);
        f.issue(&mut second, n2);
    }
    f.ins("add", (a, a, b));
    f.ret(a);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let lines: Vec<String> = code.lines().iter().map(|l| l.intel.clone()).collect();
    let first_eor = lines.iter().position(|l| l.starts_with("eor")).unwrap();
    let last_add = lines.iter().rposition(|l| l.starts_with("add") && !l.contains(", #")).unwrap();
    assert!(first_eor < last_add, "the streams are interleaved:\n{}", code.listing());
    let v: Vec<u64> = (1..=8).map(|i| i * 0x1111).collect();
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let Some(out) = run(&code, &data, &[Arg::Ptr(0, 0)]) else { return };
    let want = v[..4].iter().sum::<u64>().wrapping_add(v[4..].iter().fold(0, |x, y| x ^ y));
    assert_eq!(out.x0, want);
}

/// Optional extensions: `smmla` (I8MM), `sdot` (DOTPROD), `fmla` on halves (FP16) and `bfdot`
/// (BF16) run under qemu's `max` CPU; a target without them refuses each.
#[test]
fn optional_extensions() {
    let target = Target::aarch64("neoverse-v1").unwrap();
    let sig = Signature::new(&[Type::Ptr], None);
    let mut f = Function::new("ext", sig, target);
    let p = f.param(0);
    let (a, b, mm, dot, h, bf) = (f.v(), f.v(), f.v(), f.v(), f.v(), f.v());
    f.ins("ldr", (a.q(), [p]));
    f.ins("ldr", (b.q(), [p + 16]));
    for r in [mm, dot, bf] {
        f.ins("eor", (r.b16(), r.b16(), r.b16()));
    }
    f.ins("smmla", (mm.s4(), a.b16(), b.b16()));
    f.ins("sdot", (dot.s4(), a.b16(), b.b16()));
    f.ins("ldr", (h.q(), [p + 32]));
    f.ins("fmla", (h.h8(), h.h8(), h.h8()));
    let (x, y) = (f.v(), f.v());
    f.ins("ldr", (x.q(), [p + 112]));
    f.ins("ldr", (y.q(), [p + 128]));
    f.ins("bfdot", (bf.s4(), x.h8(), y.h8()));
    f.ins("str", (mm.q(), [p + 48]));
    f.ins("str", (dot.q(), [p + 64]));
    f.ins("str", (h.q(), [p + 80]));
    f.ins("str", (bf.q(), [p + 96]));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap();
    for ext in ["I8MM", "DOTPROD", "FP16", "BF16"] {
        assert!(code.extension_names().contains(&ext), "{ext}: {:?}", code.extension_names());
    }
    for (name, ops) in [("smmla", "I8MM"), ("bfdot", "BF16")] {
        let mut g = Function::new("old", Signature::default(), Target::aarch64("cortex-a76").unwrap());
        let r = g.v();
        if name == "smmla" {
            g.ins(name, (r.s4(), r.b16(), r.b16()));
        } else {
            g.ins(name, (r.s4(), r.h8(), r.h8()));
        }
        assert!(g.compile(Abi::Aapcs64).unwrap_err().to_string().contains(ops));
    }
    let a: [i8; 16] = [1, -2, 3, -4, 5, -6, 7, -8, 9, 10, -11, 12, -13, 14, 15, -16];
    let b: [i8; 16] = [3, 1, -4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, -7, 9, 3];
    let halves: [u16; 8] = [0x3c00, 0x4000, 0xbc00, 0x3800, 0x4200, 0x0000, 0xc000, 0x3400]; // 1 2 -1 0.5 3 0 -2 0.25
    let mut data: Vec<u8> = a.iter().chain(&b).map(|x| *x as u8).collect();
    data.extend(halves.iter().flat_map(|h| h.to_le_bytes()));
    data.extend([0u8; 64]);
    // bfloat16 1..8 and 1 1 2 2 0.5 0.5 -1 -1: every product and sum is exact.
    let bx: [u16; 8] = [0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0, 0x40e0, 0x4100];
    let by: [u16; 8] = [0x3f80, 0x3f80, 0x4000, 0x4000, 0x3f00, 0x3f00, 0xbf80, 0xbf80];
    data.extend(bx.iter().chain(&by).flat_map(|h| h.to_le_bytes()));
    let Some(out) = run(&code, &data, &[Arg::Ptr(0, 0)]) else { return };
    let words = |at: usize| -> Vec<i32> {
        out.data[at..at + 16].chunks(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()
    };
    // smmla: a and b as 2x8 matrices, result[i][j] = sum_k a[i][k] * b[j][k].
    let mm: Vec<i32> =
        (0..4).map(|ij| (0..8).map(|k| a[8 * (ij / 2) + k] as i32 * b[8 * (ij % 2) + k] as i32).sum()).collect();
    assert_eq!(words(48), mm);
    let dot: Vec<i32> = (0..4).map(|i| (0..4).map(|k| a[4 * i + k] as i32 * b[4 * i + k] as i32).sum()).collect();
    assert_eq!(words(64), dot);
    // fmla h, h, h on halves: x + x * x.
    let want_h: [u16; 8] = [0x4000, 0x4600, 0x0000, 0x3a00, 0x4a00, 0x0000, 0x4000, 0x3500]; // 2 6 0 0.75 12 0 2 0.3125
    let got_h: Vec<u16> = out.data[80..96].chunks(2).map(|c| u16::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(got_h, want_h);
    // bfdot: pairs of bfloat16 products summed into f32 lanes.
    let bf: Vec<f32> = out.data[96..112].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(bf, [3.0, 14.0, 5.5, -15.0]);
}

peach_fn! {
    /// JIT mode for AArch64: the unroll factor is a run-time parameter.
    #[jit(unroll: usize)]
    #[target(aarch64::neon)]
    unsafe fn jit_sum(p: *const f64, n: usize) -> f64 {
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

/// A `#[jit]` kernel for AArch64, built at run time with two unroll factors (`NAME_code` builds
/// without loading) and run under qemu; loading it on another architecture is refused.
#[test]
fn jit_mode_for_aarch64() {
    let v: Vec<f64> = (0..48).map(|i| (i % 7) as f64 - 2.5).collect();
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    for unroll in [2, 3] {
        let codes = jit_sum_code(unroll).unwrap();
        assert_eq!(codes.len(), 1);
        let code = &codes[0];
        assert_eq!(code.listing().matches("], #16").count(), unroll, "{}", code.listing());
        let Some(out) = run(code, &data, &[Arg::Ptr(0, 0), Arg::X(1, v.len() as u64)]) else { return };
        assert_eq!(f64::from_bits(out.d0), v.iter().sum::<f64>());
    }
    if cfg!(target_arch = "x86_64") {
        assert!(jit_sum(2).is_err());
    }
}

/// A group of virtual registers (`v_group`) takes consecutive registers, so `ld3`/`st3` and a
/// two-register `tbl` work without naming physical registers; several groups live at once.
#[test]
fn register_groups_for_lists() {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("groups", sig, Target::aarch64_neon());
    let (rgb, out) = (f.param(0), f.param(1));
    let planes = f.v_group(3);
    f.ins("ld3", (planes[0].b16(), [rgb]));
    // Swap R and B through a second group, to have two groups alive together.
    let swapped = f.v_group(3);
    f.ins("mov", (swapped[0].b16(), planes[2].b16()));
    f.ins("mov", (swapped[1].b16(), planes[1].b16()));
    f.ins("mov", (swapped[2].b16(), planes[0].b16()));
    f.ins("st3", (swapped[0].b16(), [rgb]));
    // A 32-byte table (two registers) indexed by 0..16 reversed and 16..32.
    let table = f.v_group(2);
    f.ins("ld1", (table[0].b16(), [rgb]));
    let (index, result) = (f.v(), f.v());
    f.ins("ldr", (index.q(), Constant::u8x16([31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16])));
    f.ins("tbl", (result.b16(), table[0].b16(), index.b16()));
    f.ins("str", (result.q(), [out]));
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap();
    assert!(code.listing().contains("ld3 {v"), "{}", code.listing());
    let rgb: Vec<u8> = (0..48).map(|i| (i * 5 + 3) as u8).collect();
    let mut data = rgb.clone();
    data.extend([0u8; 16]);
    let Some(res) = run(&code, &data, &[Arg::Ptr(0, 0), Arg::Ptr(1, 48)]) else { return };
    let mut want = rgb.clone();
    for px in want.chunks_mut(3) {
        px.swap(0, 2);
    }
    assert_eq!(&res.data[..48], &want[..], "{}", code.listing());
    // The table was loaded after the swap: bytes 16..32 of the swapped data, reversed.
    let reversed: Vec<u8> = want[16..32].iter().rev().copied().collect();
    assert_eq!(&res.data[48..64], &reversed[..]);
}

/// Bitfield aliases (`ubfx`, `sbfx`, `bfi`, `bfxil`, `ubfiz`) become the moves they stand for,
/// and extended-register forms add a sign-extended, scaled 32-bit index.
#[test]
fn bitfields_and_extended_registers() {
    use peach::core::isa::aarch64::Extend;
    // u64 f(u64 x, u64 y, i32 i, u64 *out)
    let sig = Signature::new(&[Type::U64, Type::U64, Type::I32, Type::Ptr], Some(Type::U64));
    let mut f = Function::new("bits", sig, Target::aarch64_neon());
    let (x, y, i, out) = (f.param(0), f.param(1), f.param(2), f.param(3));
    let t = f.x();
    f.ins("ubfx", (t, x, 8, 12));
    f.ins("str", (t, [out]));
    f.ins("sbfx", (t, x, 20, 8));
    f.ins("str", (t, [out + 8]));
    f.ins("mov", (t, y));
    f.ins("bfi", (t, x, 16, 8));
    f.ins("str", (t, [out + 16]));
    f.ins("mov", (t, y));
    f.ins("bfxil", (t, x, 4, 12));
    f.ins("str", (t, [out + 24]));
    f.ins("ubfiz", (t.w(), x.w(), 3, 5));
    f.ins("str", (t, [out + 32]));
    f.ins("add", (t, out, i.w(), Extend::Sxtw.by(3)));
    f.ins("sub", (t, t, out));
    f.ret(t);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let (xv, yv, iv) = (0x1234_5678_9abc_def0u64, 0xffff_0000_ffff_0000u64, -3i32);
    let Some(res) =
        run(&code, &[0u8; 40], &[Arg::X(0, xv), Arg::X(1, yv), Arg::X(2, iv as u32 as u64), Arg::Ptr(3, 0)])
    else {
        return;
    };
    let word = |k: usize| u64::from_le_bytes(res.data[8 * k..8 * k + 8].try_into().unwrap());
    let field = |lsb: u32, width: u32| (xv >> lsb) & ((1 << width) - 1);
    assert_eq!(word(0), field(8, 12));
    assert_eq!(word(1), ((field(20, 8) as i64) << 56 >> 56) as u64);
    assert_eq!(word(2), (yv & !(0xff << 16)) | (xv & 0xff) << 16);
    assert_eq!(word(3), (yv & !0xfff) | field(4, 12));
    assert_eq!(word(4), ((xv & 0x1f) << 3) & 0xffff_ffff);
    // `out + sxtw(i) * 8 - out`: the index, sign-extended and scaled.
    assert_eq!(res.x0 as i64, iv as i64 * 8);
}

/// A 32-bit index register is sign-extended in an address (`[x, w, sxtw #3]`): negative
/// indices reach below the base.
#[test]
fn sign_extended_index() {
    // u64 pick(u64 *p, i32 i, i32 j): p[i] + p[j]
    let sig = Signature::new(&[Type::Ptr, Type::I32, Type::I32], Some(Type::U64));
    let mut f = Function::new("pick", sig, Target::aarch64_neon());
    let (p, i, j) = (f.param(0), f.param(1), f.param(2));
    let (a, b) = (f.x(), f.x());
    f.ins("ldr", (a, [p + i.w() * 8]));
    f.ins("ldr", (b, [p + j.w() * 8]));
    f.ins("add", (a, a, b));
    f.ret(a);
    let code = f.compile(Abi::Aapcs64).unwrap();
    assert!(code.listing().contains("sxtw #3]"), "{}", code.listing());
    let v: Vec<u64> = (0..16).map(|k| 100 + k * k).collect();
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let args = [Arg::Ptr(0, 64), Arg::X(1, (-3i32) as u32 as u64), Arg::X(2, 5)];
    let Some(out) = run(&code, &data, &args) else { return };
    assert_eq!(out.x0, v[8 - 3] + v[8 + 5]);
}

/// `peach::kernels::streaming::dot_f32` is one fat binary for x86-64 and AArch64: its NEON
/// variant runs under qemu.
#[test]
fn library_dot_product_neon_variant() {
    use peach::kernels::streaming::{DOT_F32_ARMV8_A_CODES, DOT_F32_ARMV8_A_LISTING};
    let n = 256;
    let x: Vec<f32> = (0..n).map(|i| (i % 9) as f32 * 0.5 - 2.0).collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * 0.25).collect();
    let mut data = f32_bytes(&x);
    data.extend(f32_bytes(&y));
    let (_, bytes) = DOT_F32_ARMV8_A_CODES.iter().find(|(abi, _)| *abi == "Aapcs64").unwrap();
    let args = [Arg::Ptr(0, 0), Arg::Ptr(1, 4 * n), Arg::X(2, n as u64)];
    let Some(out) = run_bytes(bytes, DOT_F32_ARMV8_A_LISTING, &data, &args) else { return };
    let want: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
    assert_eq!(f32::from_bits(out.d0 as u32), want);
}

/// Instructions that keep part of their destination read it: BFI keeps the bits outside its
/// field, TBX the bytes whose index is out of range (TBX used to default to "writes", which let
/// the allocator drop the destination's old value).
#[test]
fn partial_writes_keep_the_rest() {
    let sig = Signature::new(&[Type::U64, Type::U64, Type::Ptr], Some(Type::U64));
    let mut f = Function::new("partial", sig, Target::aarch64_neon());
    let (a, b, p) = (f.param(0), f.param(1), f.param(2));
    f.ins("bfi", (a, b, 8, 8));
    let (t, i, d) = (f.v(), f.v(), f.v());
    f.ins("ldr", (d.q(), [p + 32]));
    f.ins("ldr", (t.q(), [p]));
    f.ins("ldr", (i.q(), [p + 16]));
    f.ins("tbx", (d.b16(), t.b16(), i.b16()));
    f.ins("str", (d.q(), [p + 48]));
    f.ret(a);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let table: Vec<u8> = (100..116).collect();
    let index: Vec<u8> = (0..16).map(|k| if k % 3 == 0 { 200 } else { 15 - k }).collect();
    let old: Vec<u8> = (0..16).map(|k| 7 * k).collect();
    let mut data = [table.clone(), index.clone(), old.clone(), vec![0; 16]].concat();
    let (x, y) = (0x1122_3344_5566_7788u64, 0xabu64);
    let Some(out) = run(&code, &data, &[Arg::X(0, x), Arg::X(1, y), Arg::Ptr(2, 0)]) else { return };
    assert_eq!(out.x0, (x & !0xff00) | (y << 8), "{}", code.listing());
    for k in 0..16 {
        data[48 + k] = if (index[k] as usize) < 16 { table[index[k] as usize] } else { old[k] };
    }
    assert_eq!(&out.data[48..64], &data[48..64], "{}", code.listing());
}
