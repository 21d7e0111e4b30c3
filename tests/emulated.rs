//! The AVX-512 variants of the library's kernels (GEMM, streaming, exp and ln), run in an
//! interpreter (tests/common/x86emu) on any x86-64 core and compared with plain Rust: the GEMM
//! kernels bit for bit, with Rust that rounds as they do (one FMA per step of k, then the add to
//! C), exp and ln within 1 ulp of the double-double references over every 16th of the native
//! test's inputs, and on every special case. So a core without AVX-512 still checks every
//! variant, and checks that each reads and writes only the memory its contract names. The
//! interpreter itself is checked against this core on the variants it runs: the AVX2 ones, and
//! the AVX-512 ones where it has AVX-512.
#![cfg(all(target_arch = "x86_64", not(windows)))]

#[path = "common/x86emu/mod.rs"]
mod x86emu;

#[path = "common/accuracy.rs"]
mod accuracy;

#[path = "common/sgemm_block.rs"]
mod sgemm_block;

use peach::kernels::elementary::*;
use peach::kernels::gemm::*;
use peach::kernels::streaming::*;
use sgemm_block::*;
use x86emu::Machine;

/// Runs `code` (an `sgemm_block` variant) in the interpreter on `block`'s inputs.
fn emulate(block: &mut Block, code: &[u8]) -> Result<(), String> {
    let mut m = Machine::new();
    let a = m.allow(&block.a);
    // With no panel, its pointer null and its memory out of the kernel's reach.
    let panel = if block.from.in_place() { 0 } else { m.allow_mut(&mut block.panel) };
    let c = m.allow_mut(&mut block.c);
    let (b_rows, ldb) = if block.from == BFrom::Panel { (0, 0) } else { (m.allow(&block.b_rows), block.ldb * 4) };
    let args = [
        a,
        block.lda as u64 * 4,
        panel,
        c,
        block.k as u64,
        block.ldc as u64 * 4,
        block.rows as u64,
        block.flags() as u64,
        b_rows,
        ldb as u64,
    ];
    m.call_sysv(code, &args, 10_000_000).map(drop)
}

#[test]
fn sgemm_block_avx512_in_the_interpreter() {
    for (k, rows, accumulate, from) in shapes() {
        let what = format!("k {k}, {rows} rows, accumulate {accumulate}, B from {from:?}");
        for (name, nr, code) in [
            ("x86-64-v4", 32, SGEMM_BLOCK_X86_64_V4_CODE),
            ("icelake", 64, SGEMM_BLOCK_ICELAKE_CODE),
            ("narrow", 16, SGEMM_BLOCK_NARROW_X86_64_V4_CODE),
            ("48", 48, SGEMM_BLOCK_48_X86_64_V4_CODE),
            ("tall", 32, SGEMM_BLOCK_TALL_X86_64_V4_CODE),
        ] {
            let mut block = Block::new(nr, k, rows, accumulate, from);
            let (c, panel) = block.model();
            emulate(&mut block, code).unwrap_or_else(|e| panic!("{name}, {what}: {e}"));
            assert_eq!(bits(&block.c), bits(&c), "{name}, {what}: C");
            assert_eq!(bits(&block.panel), bits(&panel), "{name}, {what}: the panel");
        }
    }
}

#[test]
fn sgemm_kernel_avx512_in_the_interpreter() {
    for k in [1, 2, 5, 16] {
        let (nr, ldc) = (32, 40);
        let (a, b) = (values(6 * k, 4), values(nr * k, 5));
        let mut c = values(5 * ldc + nr, 6);
        let mut want = c.clone();
        for i in 0..6 {
            for j in 0..nr {
                let mut acc = 0.0f32;
                for kk in 0..k {
                    acc = a[kk * 6 + i].mul_add(b[kk * nr + j], acc);
                }
                want[i * ldc + j] += acc;
            }
        }
        let mut m = Machine::new();
        let args = [m.allow(&a), m.allow(&b), m.allow_mut(&mut c), k as u64, ldc as u64 * 4];
        m.call_sysv(SGEMM_KERNEL_X86_64_V4_CODE, &args, 1_000_000).unwrap_or_else(|e| panic!("k {k}: {e}"));
        assert_eq!(bits(&c), bits(&want), "k {k}");
    }
}

/// The variants this core runs, each with its name and what the test passes to check it:
/// `(avx2, avx512)` (AVX-512 meaning x86-64-v4), those the core lacks left out (and said so).
fn on_this_core<T>(avx2: T, avx512: T) -> Vec<(&'static str, T)> {
    let t = peach::Target::native_x86_64();
    let has_avx2 = t.has_avx2() && t.has_fma3();
    let has_v4 =
        has_avx2 && t.has_avx512f() && t.has_avx512vl() && t.has_avx512bw() && t.has_avx512dq() && t.has_avx512cd();
    let mut out = Vec::new();
    for (name, has, what) in [("AVX2", has_avx2, avx2), ("AVX-512", has_v4, avx512)] {
        if has {
            out.push((name, what));
        } else {
            eprintln!("skipped the {name} variant: not on this core");
        }
    }
    out
}

/// The interpreter and the Rust model against this core: each variant the core runs (AVX2,
/// AVX-512) run natively and in the interpreter gives the model's bits.
#[test]
fn the_interpreter_agrees_with_this_core() {
    let variants = on_this_core(
        vec![
            ("haswell", 16, SGEMM_BLOCK_HASWELL_CODE, sgemm_block_haswell as BlockFn),
            ("narrow haswell", 8, SGEMM_BLOCK_NARROW_HASWELL_CODE, sgemm_block_narrow_haswell as BlockFn),
        ],
        vec![
            ("x86-64-v4", 32, SGEMM_BLOCK_X86_64_V4_CODE, sgemm_block_x86_64_v4 as BlockFn),
            ("icelake", 64, SGEMM_BLOCK_ICELAKE_CODE, sgemm_block_icelake as BlockFn),
            ("narrow", 16, SGEMM_BLOCK_NARROW_X86_64_V4_CODE, sgemm_block_narrow_x86_64_v4 as BlockFn),
            ("48", 48, SGEMM_BLOCK_48_X86_64_V4_CODE, sgemm_block_48_x86_64_v4 as BlockFn),
            ("tall", 32, SGEMM_BLOCK_TALL_X86_64_V4_CODE, sgemm_block_tall_x86_64_v4 as BlockFn),
        ],
    );
    for (name, nr, code, kernel) in variants.into_iter().flat_map(|(_, v)| v) {
        for (k, rows, accumulate, from) in shapes() {
            let what = format!("{name}: k {k}, {rows} rows, accumulate {accumulate}, B from {from:?}");
            let mut native = Block::new(nr, k, rows, accumulate, from);
            let (c, panel) = native.model();
            // SAFETY: the variant is nr columns wide and this core runs it (`on_this_core`).
            unsafe { native.call(kernel) };
            assert_eq!(bits(&native.c), bits(&c), "{what}: native C against the model");
            assert_eq!(bits(&native.panel), bits(&panel), "{what}: native panel against the model");
            let mut emulated = Block::new(nr, k, rows, accumulate, from);
            emulate(&mut emulated, code).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(bits(&emulated.c), bits(&native.c), "{what}: C");
            assert_eq!(bits(&emulated.panel), bits(&native.panel), "{what}: the panel");
        }
    }
}

/// The interpreter stops a kernel that reaches past its buffers: here C one row short.
#[test]
fn the_interpreter_catches_an_access_out_of_bounds() {
    let mut block = Block::new(32, 4, 12, true, BFrom::Panel);
    block.c.truncate(block.c.len() - 1);
    let e = emulate(&mut block, SGEMM_BLOCK_X86_64_V4_CODE).expect_err("C is one float short");
    assert!(e.contains("outside the buffers"), "{e}");
}

/// `sgemm_edge_dot`'s AVX-512 variant in the interpreter on every shape `EdgeDot::shapes` names,
/// against the triple loop (its masked loads and stores touching only the floats they select:
/// A's rows end at k, C's at the columns but for two floats of guard, which must stay as they
/// were), and against this core where it runs the variant: the same bits.
#[test]
fn sgemm_edge_dot_in_the_interpreter() {
    let v4 = SGEMM_EDGE_DOT_DISPATCH.variants().iter().find(|v| v.name == "x86-64-v4").expect("an AVX-512 variant");
    let native = peach::runtime::dispatch::runs_here(v4.required);
    for mut call in EdgeDot::shapes() {
        let mut m = Machine::new();
        // A and E exactly as long as the contract says, C's last row without its guard.
        let c_len = call.c.len() - 2;
        let (a, et, c) = (m.allow(&call.a), m.allow(&call.et), m.allow_mut(&mut call.c[..c_len]));
        let args = call.args(a, et, c);
        m.call_sysv(SGEMM_EDGE_DOT_X86_64_V4_CODE, &args, 10_000_000)
            .unwrap_or_else(|e| panic!("k {}, {} rows, {} columns: {e}", call.k, call.rows, call.cols));
        call.check("interpreter");
        if native {
            let mut here = EdgeDot::new(call.k, call.rows, call.cols);
            // SAFETY: this core runs the variant (`runs_here`).
            unsafe { here.call(sgemm_edge_dot_x86_64_v4) };
            assert_eq!(bits(&here.c), bits(&call.c), "k {}, {} rows, {} columns", call.k, call.rows, call.cols);
        }
    }
}

/// `dot_f32` in the interpreter on `x` and `y` (the first `n` floats).
fn emulate_dot(code: &[u8], x: &[f32], y: &[f32], n: usize) -> f32 {
    let mut m = Machine::new();
    let args = [m.allow(&x[..n]), m.allow(&y[..n]), n as u64];
    m.call_sysv(code, &args, 10_000_000).unwrap_or_else(|e| panic!("n {n}: {e}"));
    m.xmm0_f32()
}

/// VECTOR_SUM, a JIT kernel: each x86-64 variant its `_code` companion builds (AVX-512 and
/// AVX2, whatever this core runs), in the interpreter, over accumulator counts and prefetch
/// distances, exactly Rust's sum (every partial sum of these values is exact).
#[test]
fn sum_f64_every_x86_variant_in_the_interpreter() {
    let data: Vec<f64> = (0..512).map(|i| (i % 101) as f64 - 50.0).collect();
    for unroll in [1, 2, 4, 8] {
        for prefetch in [0, 512] {
            let codes = sum_f64_code(unroll, prefetch).unwrap();
            let x86: Vec<_> = codes.iter().filter(|c| c.target().arch() == peach::core::target::Arch::X86_64).collect();
            assert_eq!(x86.len(), 2, "the AVX-512 and AVX2 variants");
            for code in x86 {
                assert_eq!(code.entry(), 0);
                for n in [8 * unroll, 512] {
                    let mut m = Machine::new();
                    let args = [m.allow(&data[..n]), n as u64];
                    m.call_sysv(code.bytes(), &args, 10_000_000).unwrap_or_else(|e| panic!("n {n}: {e}"));
                    let what = format!("{}, unroll {unroll}, prefetch {prefetch}, n {n}", code.target().name());
                    assert_eq!(m.xmm0_f64(), data[..n].iter().sum::<f64>(), "{what}");
                }
            }
        }
    }
}

/// `add_i32` in the interpreter, into a fresh output of `n` values `skip` values into a
/// 64-byte-aligned buffer (0: aligned, as the non-temporal path wants).
fn emulate_add(code: &[u8], a: &[i32], b: &[i32], n: usize, skip: usize) -> Vec<i32> {
    let mut buffer = vec![0i32; n + 32];
    let start = buffer.as_ptr().align_offset(64) + skip;
    let c = &mut buffer[start..start + n];
    let mut m = Machine::new();
    let args = [m.allow(&a[..n]), m.allow(&b[..n]), m.allow_mut(c), n as u64];
    m.call_sysv(code, &args, 100_000_000).unwrap_or_else(|e| panic!("n {n}: {e}"));
    c.to_vec()
}

fn dot_inputs() -> (Vec<f32>, Vec<f32>) {
    let x = (0..4096).map(|i| ((i * 7) % 23) as f32 * 0.25 - 2.0).collect();
    let y = (0..4096).map(|i| ((i * 5) % 17) as f32 * 0.5 - 4.0).collect();
    (x, y)
}

#[test]
fn dot_f32_avx512_in_the_interpreter() {
    let (x, y) = dot_inputs();
    for n in [64, 128, 1024, 4096] {
        let got = emulate_dot(DOT_F32_X86_64_V4_CODE, &x, &y, n);
        let want: f64 = x[..n].iter().zip(&y[..n]).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
        assert!((got as f64 - want).abs() <= 1e-3 * want.abs().max(1.0), "n {n}: {got} vs {want}");
    }
}

#[test]
fn add_i32_avx512_in_the_interpreter() {
    let a: Vec<i32> = (0..1 << 22).map(|i: i32| i.wrapping_mul(1_234_567)).collect();
    let b: Vec<i32> = (0..1 << 22).map(|i| i32::MIN + i * 3).collect();
    // From 2^18 values (2^22 on Sapphire Rapids), an aligned output takes the non-temporal path;
    // misaligned, the other.
    for (isa, code, from) in
        [("x86-64-v4", ADD_I32_X86_64_V4_CODE, 1 << 18), ("sapphirerapids", ADD_I32_SAPPHIRERAPIDS_CODE, 1 << 22)]
    {
        for (n, skip) in [(128, 0), (2048, 3), (from, 0), (from, 1)] {
            let got = emulate_add(code, &a, &b, n, skip);
            let right = got.iter().zip(a.iter().zip(&b)).all(|(c, (a, b))| *c == a.wrapping_add(*b));
            assert!(right, "{isa}: n {n}, skip {skip}");
        }
    }
}

/// The streaming kernels' variants give the same in the interpreter as on this core.
#[test]
fn the_interpreter_agrees_with_this_core_on_streaming_kernels() {
    type DotFn = unsafe fn(*const f32, *const f32, usize) -> f32;
    type AddFn = unsafe fn(*const i32, *const i32, *mut i32, usize);
    let variants = on_this_core(
        (DOT_F32_HASWELL_CODE, dot_f32_haswell as DotFn, ADD_I32_HASWELL_CODE, add_i32_haswell as AddFn),
        (DOT_F32_X86_64_V4_CODE, dot_f32_x86_64_v4 as DotFn, ADD_I32_X86_64_V4_CODE, add_i32_x86_64_v4 as AddFn),
    );
    let (x, y) = dot_inputs();
    let a: Vec<i32> = (0..2048).map(|i| i * 77 - 5000).collect();
    let b: Vec<i32> = (0..2048).map(|i| i32::MAX - i).collect();
    for (isa, (dot_code, dot, add_code, add)) in variants {
        for n in [64, 1024, 4096] {
            // SAFETY: n floats at each; this core runs the variant (`on_this_core`).
            let native = unsafe { dot(x.as_ptr(), y.as_ptr(), n) };
            assert_eq!(emulate_dot(dot_code, &x, &y, n).to_bits(), native.to_bits(), "{isa}: dot n {n}");
        }
        let mut native = vec![0; 2048];
        // SAFETY: 2048 values at each; this core runs the variant.
        unsafe { add(a.as_ptr(), b.as_ptr(), native.as_mut_ptr(), 2048) };
        assert_eq!(emulate_add(add_code, &a, &b, 2048, 0), native, "{isa}: add");
    }
}

/// An `exp_f64`/`ln_f64` variant in the interpreter on `x`, into an output `skip` doubles past a
/// 64-byte boundary (0 and 2^18 values or more: the non-temporal path).
fn emulate_array(code: &[u8], x: &[f64], skip: usize) -> Vec<f64> {
    let mut buffer = vec![0.0f64; x.len() + 16];
    let start = buffer.as_ptr().align_offset(64) + skip;
    let y = &mut buffer[start..start + x.len()];
    let mut m = Machine::new();
    let args = [m.allow(x), m.allow_mut(y), x.len() as u64];
    m.call_sysv(code, &args, u64::MAX).unwrap_or_else(|e| panic!("{} values: {e}", x.len()));
    y.to_vec()
}

/// Every `step`-th value of `x`, padded with `pad` to a multiple of 32.
fn sample(x: &[f64], step: usize, pad: f64) -> Vec<f64> {
    let mut v: Vec<f64> = x.iter().step_by(step).copied().collect();
    v.resize(v.len().next_multiple_of(32), pad);
    v
}

#[test]
fn exp_f64_avx512_in_the_interpreter() {
    // Both AVX-512 variants (Sapphire Rapids' keeps its table in registers); the non-temporal
    // path of Sapphire Rapids', from 2^22 values, is the same loop with other stores.
    for (isa, code) in [("x86-64-v4", EXP_F64_X86_64_V4_CODE), ("sapphirerapids", EXP_F64_SAPPHIRERAPIDS_CODE)] {
        let x = sample(&accuracy::exp_inputs(), 16, 1.0);
        let y = emulate_array(code, &x, 1);
        accuracy::check_bound(&format!("exp, {isa} in the interpreter"), &x, &y, &accuracy::exp_ulp_error, 1.0);
        accuracy::check_exp_specials(&emulate_array(code, &accuracy::exp_specials(), 0));
    }
    // The non-temporal stores give the same results.
    let big: Vec<f64> = (0..1 << 18).map(|i| -700.0 + i as f64 * 0.005).collect();
    assert_eq!(emulate_array(EXP_F64_X86_64_V4_CODE, &big, 0), emulate_array(EXP_F64_X86_64_V4_CODE, &big, 1));
}

#[test]
fn ln_f64_avx512_in_the_interpreter() {
    for (isa, code) in [("x86-64-v4", LN_F64_X86_64_V4_CODE), ("sapphirerapids", LN_F64_SAPPHIRERAPIDS_CODE)] {
        let x = sample(&accuracy::ln_inputs(), 16, 2.0);
        let y = emulate_array(code, &x, 1);
        accuracy::check_bound(&format!("ln, {isa} in the interpreter"), &x, &y, &accuracy::ln_ulp_error, 1.0);
        accuracy::check_ln_specials(&emulate_array(code, &accuracy::ln_specials(), 0));
    }
    let big: Vec<f64> = (1..=1 << 18).map(|i| i as f64 * 0.37).collect();
    assert_eq!(emulate_array(LN_F64_X86_64_V4_CODE, &big, 0), emulate_array(LN_F64_X86_64_V4_CODE, &big, 1));
}

/// exp and ln give the same results in the interpreter as on this core, in each variant the
/// core runs (both paths: blocks of usual inputs, and blocks with a special input anywhere).
/// The AVX2 variants also check the interpreter's double-precision arithmetic, FMAs, compares
/// and blends that the AVX-512 ones share, for cores without AVX-512.
#[test]
fn the_interpreter_agrees_with_this_core_on_exp_and_ln() {
    type ArrayFn = unsafe fn(*const f64, *mut f64, usize);
    // Name, code, the same variant to call, sampled inputs, special inputs.
    type Case = (&'static str, &'static [u8], ArrayFn, Vec<f64>, Vec<f64>);
    let cases = |exp_code, exp: ArrayFn, ln_code, ln: ArrayFn| -> [Case; 2] {
        [
            ("exp", exp_code, exp, sample(&accuracy::exp_inputs(), 64, 1.0), accuracy::exp_specials()),
            ("ln", ln_code, ln, sample(&accuracy::ln_inputs(), 64, 2.0), accuracy::ln_specials()),
        ]
    };
    let mut variants = on_this_core(
        cases(EXP_F64_HASWELL_CODE, exp_f64_haswell, LN_F64_HASWELL_CODE, ln_f64_haswell),
        cases(EXP_F64_X86_64_V4_CODE, exp_f64_x86_64_v4, LN_F64_X86_64_V4_CODE, ln_f64_x86_64_v4),
    );
    let sapphire = EXP_F64_DISPATCH.variants().iter().find(|v| v.name == "sapphirerapids").expect("the variant");
    if peach::runtime::dispatch::runs_here(sapphire.required) {
        let spr = cases(
            EXP_F64_SAPPHIRERAPIDS_CODE,
            exp_f64_sapphirerapids,
            LN_F64_SAPPHIRERAPIDS_CODE,
            ln_f64_sapphirerapids,
        );
        variants.push(("Sapphire Rapids", spr));
    } else {
        eprintln!("skipped the Sapphire Rapids variant: not on this core");
    }
    for (isa, kernels) in variants {
        for (name, code, native, mut x, specials) in kernels {
            // Each special input in a block of its own, at a different position each time.
            for (k, s) in specials.iter().enumerate() {
                let mut block = [2.0; 32];
                block[(5 * k) % 32] = *s;
                x.extend(block);
            }
            let mut want = vec![0.0; x.len()];
            // SAFETY: x.len() values at each; this core runs the variant (`on_this_core`).
            unsafe { native(x.as_ptr(), want.as_mut_ptr(), x.len()) };
            let got = emulate_array(code, &x, 1);
            for ((xi, w), g) in x.iter().zip(&want).zip(&got) {
                assert!(
                    w.to_bits() == g.to_bits() || (w.is_nan() && g.is_nan()),
                    "{isa} {name}({xi:e}): core {w:e}, interpreter {g:e}"
                );
            }
        }
    }
}
