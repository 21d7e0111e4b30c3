//! Masked stores, gathers and scatters, executed and compared with plain Rust: a tail loop that
//! stores only the elements that exist (AVX-512 `vmovups [m]{k}`), a table lookup with AVX2's
//! `vgatherdps` and a permutation with AVX-512 `vgatherdps`/`vscatterdps`. Each variant is skipped
//! where the host lacks its instructions.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// `void scale(float *dst, const float *src, usize n, float c)`: `dst[i] = src[i] * c`, 16 at a
/// time, the last `n % 16` under a mask, loaded zero-masked and stored masked. With `text`, the
/// tail is written as assembly text.
fn scale(text: bool) -> CodeObject {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize, Type::F32], None);
    let mut f = Function::new("scale", sig, Target::x86_64_v4());
    let (dst, src, n, c) = (f.param(0), f.param(1), f.param(2), f.param(3));
    let (factor, x) = (f.zmm(), f.zmm());
    let (bits, tail) = (f.gp64(), f.k());
    f.ins("vbroadcastss", (factor, c));
    let (top, rest, done) = (f.label(), f.label(), f.label());
    f.bind(top);
    f.ins("cmp", (n, 16));
    f.ins("jb", rest);
    f.ins("vmulps", (x, factor, [src]));
    f.ins("vmovups", ([dst], x));
    f.ins("add", (src, 64));
    f.ins("add", (dst, 64));
    f.ins("sub", (n, 16));
    f.ins("jmp", top);
    f.bind(rest);
    f.ins("test", (n, n));
    f.ins("jz", done);
    // The mask of the `n` elements left: (1 << n) - 1.
    f.ins("mov", (bits.r32(), -1));
    f.ins("bzhi", (bits.r32(), bits.r32(), n.r32()));
    f.ins("kmovw", (tail, bits.r32()));
    if text {
        f.asm("vmovups {}{}{z}, zmmword ptr [{}]", (x, tail, src));
        f.asm("vmulps {}, {}, {}", (x, x, factor));
        f.asm("vmovups zmmword ptr [{}]{}, {}", (dst, tail, x));
    } else {
        f.ins("vmovups", (x.mask(tail).zeroing(), [src]));
        f.ins("vmulps", (x, x, factor));
        f.ins("vmovups", (Mem::from([dst]).mask(tail), x));
    }
    f.bind(done);
    f.ret(None);
    f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_masked_tail_stores_only_the_elements_that_exist() {
    for text in [false, true] {
        let code = scale(text);
        assert!(code.listing().contains("]{k"), "no masked store:\n{}", code.listing());
        if !avx512() {
            eprintln!("skipped: the host lacks AVX-512F");
            return;
        }
        type Scale = unsafe extern "sysv64" fn(*mut f32, *const f32, usize, f32);
        // SAFETY: the code has this signature in System V and the host has AVX-512F and BMI2
        // (every AVX-512 CPU does).
        let k = unsafe { Kernel::<Scale>::load(&code).unwrap() };
        for n in [0, 1, 5, 15, 16, 17, 31, 40] {
            let src: Vec<f32> = (0..n).map(|i| i as f32 - 3.5).collect();
            // Guards after the `n` elements: a store past the end would change them.
            let mut dst = vec![f32::NAN; n + 16];
            // SAFETY: `src` holds `n` floats and `dst` at least `n`.
            unsafe { k.call(dst.as_mut_ptr(), src.as_ptr(), n, 2.5) };
            let want: Vec<f32> = src.iter().map(|v| v * 2.5).collect();
            assert_eq!(&dst[..n], &want[..], "n = {n}");
            assert!(dst[n..].iter().all(|v| v.is_nan()), "n = {n}: a store went past the end");
        }
    }
}

/// `void lookup(float *out, const float *table, const i32 *idx, usize n)`: `out[i] =
/// table[idx[i]]`, 8 at a time with AVX2's `vgatherdps` (n a multiple of 8).
fn lookup() -> CodeObject {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr, Type::Usize], None);
    let mut f = Function::new("lookup", sig, Target::x86_64_v3());
    let (out, table, idx, n) = (f.param(0), f.param(1), f.param(2), f.param(3));
    let (x, index, mask) = (f.ymm(), f.ymm(), f.ymm());
    let (top, done) = (f.label(), f.label());
    f.ins("test", (n, n));
    f.ins("jz", done);
    f.bind(top);
    f.ins("vmovdqu", (index, [idx]));
    // Every lane gathered: the mask's sign bits all set (the gather clears it).
    f.ins("vpcmpeqd", (mask, mask, mask));
    f.ins("vxorps", (x, x, x));
    f.ins("vgatherdps", (x, [table + index * 4], mask));
    f.ins("vmovups", ([out], x));
    f.ins("add", (idx, 32));
    f.ins("add", (out, 32));
    f.ins("sub", (n, 8));
    f.ins("jnz", top);
    f.bind(done);
    f.ret(None);
    f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_avx2_gather_looks_up_a_table() {
    let code = lookup();
    assert!(code.listing().contains("vgatherdps"), "{}", code.listing());
    if !std::arch::is_x86_feature_detected!("avx2") {
        eprintln!("skipped: the host lacks AVX2");
        return;
    }
    type Lookup = unsafe extern "sysv64" fn(*mut f32, *const f32, *const i32, usize);
    // SAFETY: the code has this signature in System V and the host has AVX2.
    let k = unsafe { Kernel::<Lookup>::load(&code).unwrap() };
    let table: Vec<f32> = (0..1000).map(|i| (i * i) as f32 * 0.25).collect();
    for n in [0, 8, 64] {
        let idx: Vec<i32> = (0..n as i32).map(|i| (i * 389 + 17) % 1000).collect();
        let mut out = vec![0.0f32; n];
        // SAFETY: `idx` and `out` hold `n` elements, every index is within `table`.
        unsafe { k.call(out.as_mut_ptr(), table.as_ptr(), idx.as_ptr(), n) };
        let want: Vec<f32> = idx.iter().map(|&i| table[i as usize]).collect();
        assert_eq!(out, want, "n = {n}");
    }
}

/// `void permute(float *out, const float *src, const i32 *from, const i32 *to, usize n)`:
/// `out[to[i]] = src[from[i]] + 1`, 16 at a time with AVX-512 `vgatherdps` and `vscatterdps`
/// (n a multiple of 16), the gather written as text.
fn permute() -> CodeObject {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr, Type::Ptr, Type::Usize], None);
    let mut f = Function::new("permute", sig, Target::x86_64_v4());
    let (out, src, from, to, n) = (f.param(0), f.param(1), f.param(2), f.param(3), f.param(4));
    let (x, one, gather_at, scatter_at) = (f.zmm(), f.zmm(), f.zmm(), f.zmm());
    let (all, k) = (f.k(), f.k());
    let (top, done) = (f.label(), f.label());
    f.ins("mov", (n.r32(), n.r32())); // (n < 2^32 in the test)
    f.ins("vbroadcastss", (one, Constant::f32(1.0)));
    f.ins("kxnorw", (all, all, all));
    f.ins("test", (n, n));
    f.ins("jz", done);
    f.bind(top);
    f.ins("vmovdqu32", (gather_at, [from]));
    f.ins("vmovdqu32", (scatter_at, [to]));
    f.ins("kmovw", (k, all));
    f.ins("vpxord", (x, x, x));
    f.asm("vgatherdps {}{}, dword ptr [{} + {}*4]", (x, k, src, gather_at));
    f.ins("vaddps", (x, x, one));
    f.ins("kmovw", (k, all));
    f.ins("vscatterdps", (Mem::from([out + scatter_at * 4]).mask(k), x));
    f.ins("add", (from, 64));
    f.ins("add", (to, 64));
    f.ins("sub", (n, 16));
    f.ins("jnz", top);
    f.bind(done);
    f.ret(None);
    f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_avx512_gather_and_scatter_permute_an_array() {
    let code = permute();
    assert!(code.listing().contains("vscatterdps"), "{}", code.listing());
    if !avx512() {
        eprintln!("skipped: the host lacks AVX-512F");
        return;
    }
    type Permute = unsafe extern "sysv64" fn(*mut f32, *const f32, *const i32, *const i32, usize);
    // SAFETY: the code has this signature in System V and the host has AVX-512F.
    let k = unsafe { Kernel::<Permute>::load(&code).unwrap() };
    let n = 256;
    let src: Vec<f32> = (0..n).map(|i| i as f32 * 3.0).collect();
    let from: Vec<i32> = (0..n as i32).map(|i| (i * 37 + 5) % n as i32).collect();
    let to: Vec<i32> = (0..n as i32).map(|i| (i * 101 + 11) % n as i32).collect();
    let mut out = vec![0.0f32; n];
    // SAFETY: every array holds `n` elements and every index is below `n`.
    unsafe { k.call(out.as_mut_ptr(), src.as_ptr(), from.as_ptr(), to.as_ptr(), n) };
    let mut want = vec![0.0f32; n];
    for i in 0..n {
        want[to[i] as usize] = src[from[i] as usize] + 1.0;
    }
    assert_eq!(out, want);
}

/// A gather's destination, index and mask must differ; a memory mask goes on a destination
/// and never zeroes: each is an error where it was written.
#[test]
fn gather_and_memory_mask_mistakes_are_errors() {
    let mut f = Function::new("bad", Signature::new(&[Type::Ptr], None), Target::x86_64_v4());
    let p = f.param(0);
    let (x, m, z) = (f.ymm(), f.ymm(), f.zmm());
    let k = f.k();
    f.ins("vgatherdps", (x, [p + x * 4], m));
    f.ins("vmovups", (z, Mem::from([p]).mask(k)));
    f.asm("vmovups zmmword ptr [{}]{}{z}, {}", (p, k, z));
    let messages: Vec<String> = f.errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].contains("must be different registers"), "{}", messages[0]);
    assert!(messages[1].contains("memory destination"), "{}", messages[1]);
    assert!(messages[2].contains("`{z}` does not apply"), "{}", messages[2]);
}
