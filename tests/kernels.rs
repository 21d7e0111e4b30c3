//! The streaming kernels of `peach::kernels`, every variant this CPU runs, against plain Rust.
#![cfg(target_arch = "x86_64")]

use peach::kernels::streaming::*;
use peach::prelude::*;
use peach::runtime::dispatch;

#[path = "common/sgemm_block.rs"]
mod sgemm_block;

#[test]
fn dot_f32_every_variant() {
    let x: Vec<f32> = (0..4096).map(|i| ((i * 7) % 23) as f32 * 0.25 - 2.0).collect();
    let y: Vec<f32> = (0..4096).map(|i| ((i * 5) % 17) as f32 * 0.5 - 4.0).collect();
    let want: f64 = x.iter().zip(&y).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
    type Dot = unsafe fn(*const f32, *const f32, usize) -> f32;
    let variants: [Dot; 3] = [dot_f32_x86_64_v4, dot_f32_haswell, dot_f32_x86_64];
    for (v, f) in DOT_F32_DISPATCH.variants().iter().zip(variants) {
        if !dispatch::runs_here(v.required) {
            eprintln!("skipped the {} variant", v.name);
            continue;
        }
        for n in [64, 128, 1024, 4096] {
            let got = unsafe { f(x.as_ptr(), y.as_ptr(), n) };
            let want_n: f64 = x[..n].iter().zip(&y[..n]).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            assert!((got as f64 - want_n).abs() <= 1e-3 * want_n.abs().max(1.0), "{} n={n}: {got} vs {want_n}", v.name);
        }
    }
    let got = unsafe { dot_f32(x.as_ptr(), y.as_ptr(), x.len()) };
    assert!((got as f64 - want).abs() <= 1e-3 * want.abs().max(1.0));
}

#[test]
fn sum_f64_every_setting() {
    if !Target::native_x86_64().has_avx2() {
        eprintln!("skipped: no AVX2");
        return;
    }
    let data: Vec<f64> = (0..8192).map(|i| (i % 101) as f64 - 50.0).collect();
    for unroll in [1, 2, 4, 8] {
        for prefetch in [0, 512, 2048] {
            let k = sum_f64(unroll, prefetch).unwrap_or_else(|e| panic!("{e}"));
            for n in [8 * unroll, 64 * unroll, 8192 / (8 * unroll) * 8 * unroll] {
                let got = unsafe { k.call(data.as_ptr(), n) };
                assert_eq!(got, data[..n].iter().sum::<f64>(), "unroll {unroll} prefetch {prefetch} n {n}");
            }
        }
    }
}

#[test]
fn add_i32_pipelined() {
    let a: Vec<i32> = (0..2048).map(|i: i32| i.wrapping_mul(1_234_567)).collect();
    let b: Vec<i32> = (0..2048).map(|i| i32::MIN + i * 3).collect();
    let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
    type AddFn = unsafe fn(*const i32, *const i32, *mut i32, usize);
    let fns: [(&str, AddFn); 3] =
        [("sapphirerapids", add_i32_sapphirerapids), ("x86-64-v4", add_i32_x86_64_v4), ("haswell", add_i32_haswell)];
    for v in ADD_I32_DISPATCH.variants() {
        // Found by name: a new variant cannot go untested, nor one be tested as another.
        let Some(&(_, f)) = fns.iter().find(|(name, _)| *name == v.name) else {
            panic!("no function given for the {} variant", v.name);
        };
        if !peach::runtime::dispatch::runs_here(v.required) {
            eprintln!("skipped {}", v.name);
            continue;
        }
        for n in [128, 1024, 2048] {
            let mut c = vec![0; n];
            unsafe { f(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), n) };
            assert_eq!(c, want[..n], "{} n={n}", v.name);
        }
        // 2^18 values and more (2^22 on Sapphire Rapids) into a 64-byte-aligned output:
        // non-temporal stores (AVX2: plain ones at every size).
        let n = if v.name == "sapphirerapids" { 1 << 22 } else { 1 << 18 };
        let (big_a, big_b): (Vec<i32>, Vec<i32>) = (0..n as i32).map(|i| (i * 7, i32::MAX - i)).unzip();
        let mut buffer = vec![0i32; n + 16];
        let skip = buffer.as_ptr().align_offset(64);
        let c = &mut buffer[skip..skip + n];
        unsafe { f(big_a.as_ptr(), big_b.as_ptr(), c.as_mut_ptr(), n) };
        assert!(c.iter().zip(big_a.iter().zip(&big_b)).all(|(c, (a, b))| *c == a.wrapping_add(*b)), "{}", v.name);
    }
    // The streams skew the stages: column i loads at step i, adds at i + 1, stores at i + 2.
    let stages: String = ADD_I32_X86_64_V4_LISTING
        .lines()
        .filter_map(|l| {
            if l.contains("vpaddd") {
                Some('A')
            } else if l.contains("vmovdqu32 zmmword") || l.contains("vmovntdq") {
                Some('S')
            } else if l.contains("vmovdqu32 zmm") {
                Some('L')
            } else {
                None
            }
        })
        .collect();
    // Twice: the loop with non-temporal stores, then the one with plain stores.
    assert_eq!(stages, format!("LLA{}ASS", "LAS".repeat(6)).repeat(2), "{ADD_I32_X86_64_V4_LISTING}");
    // Where the non-temporal stores start: n (in rcx) against 2^18, or 2^22 on Sapphire Rapids.
    let threshold = |listing: &'static str| listing.lines().find_map(|l| l.split("cmp rcx, ").nth(1)).map(str::trim);
    assert_eq!(threshold(ADD_I32_X86_64_V4_LISTING), Some("0x40000"));
    assert_eq!(threshold(ADD_I32_SAPPHIRERAPIDS_LISTING), Some("0x400000"));
}

/// `sgemm_edge_dot`, every variant this CPU runs and the plain Rust, against the triple loop on
/// every shape `EdgeDot::shapes` names; C's floats past `cols` in each row left as they were.
#[test]
fn sgemm_edge_dot_every_variant() {
    use peach::kernels::gemm::{SGEMM_EDGE_DOT_DISPATCH, sgemm_edge_dot_in_rust, sgemm_edge_dot_x86_64_v4};
    use sgemm_block::{EdgeDot, EdgeDotFn};
    let variants: [EdgeDotFn; 1] = [sgemm_edge_dot_x86_64_v4];
    let mut runs: Vec<(&str, EdgeDotFn)> = vec![("rust", sgemm_edge_dot_in_rust)];
    for (v, f) in SGEMM_EDGE_DOT_DISPATCH.variants().iter().zip(variants) {
        if dispatch::runs_here(v.required) {
            runs.push((v.name, f));
        } else {
            eprintln!("skipped the {} variant", v.name);
        }
    }
    for (name, f) in runs {
        for mut call in EdgeDot::shapes() {
            // SAFETY: the variant runs here (`runs_here`, or plain Rust).
            unsafe { call.call(f) };
            call.check(name);
        }
    }
}

#[test]
fn sgemm_matches_the_triple_loop() {
    use peach::kernels::gemm::{sgemm, sgemm_n_multiple};
    if !Target::native_x86_64().has_avx2() {
        eprintln!("skipped: no AVX2");
        return;
    }
    // (On Ice Lake, 32: odd multiples take the 64-column kernel and the 32-column one.) Sizes
    // off the multiples take the edges: rows past a multiple of 6 (the kernels' last, smaller
    // block), columns past one of nr (through the edge's copies; on AVX-512 cores up to 16 of
    // them through the 16-column kernel, more through the 32-column one), alone or with whole
    // blocks and panels, over one block of k or several.
    let nr = sgemm_n_multiple();
    let aligned = [(6, nr, 1), (12, 2 * nr, 7), (36, 4 * nr, 64), (6, nr, 300), (102, 3 * nr, 600)];
    let edges = [(1, 1, 1), (5, nr - 1, 3), (7, nr + 1, 2), (100, 3 * nr + 5, 300), (256, 256, 256), (13, 7, 700)];
    let edges = edges.into_iter().chain([(7, nr + 16, 5), (7, nr + 17, 5), (30, 33, 32)]);
    // Edges of up to 8 columns (on AVX-512, dot products along k, 4 columns a call).
    let edges =
        edges.chain([(100, 100, 100), (9, 2, 64), (37, nr + 7, 40), (5, 4, 1000), (3, nr + 8, 3), (10, 1, 300)]);
    // Edges of 17 to 24 (on AVX-512, a whole 16-column panel, then dot products), with one pass
    // over A's rows and one block of k or more.
    let edges = edges.chain([(20, 20, 20), (40, nr + 20, 70), (130, 3 * nr + 24, 300), (12, nr + 18, 900)]);
    // A 32-column panel and a 16-column edge (on AVX-512, one 48-column panel).
    let edges = edges.chain([(40, 3 * nr + 16, 70), (100, nr + 16, 1000)]);
    // B as wide as its one panel (then B is the panel).
    let edges = edges.chain([(300, 2 * nr, 200), (50, nr, 50)]);
    // 25 to 48 rows with B larger than half of L1 (then read in place).
    let edges = edges.chain([(40, 8 * nr, 300), (44, 1000, 600), (25, 3 * nr + 17, 100)]);
    // Few rows of a B whose rows are more than 2 KiB apart (prefetched), through the narrow kernel
    // too.
    let edges = edges.chain([(20, 1044, 300), (7, 600, 50)]);
    // Few rows of a B larger than L2 (up to 2 MiB): blocks of k of up to 64 steps.
    let edges = edges.chain([(10, 600, 1000)]);
    // Small k with C's rows 4 or 2 KiB apart (passes of 6 or 12 rows), B read in place and packed;
    // few rows with k of 8-32: on AVX-512, up to 24 read in place by the tall kernel (blocks of
    // 12 rows, the rest in one or two; edges of 24 and 9 columns), more with B packed in one pass.
    let edges = edges.chain([(20, 1024, 4), (40, 1024, 3), (30, 512, 7), (100, 2048, 1), (20, 1024, 16)]);
    let edges = edges.chain([(7, 600, 16), (12, 4096, 8), (17, 777, 32), (24, 1024, 9), (30, 1024, 9)]);
    for (m, n, k) in aligned.into_iter().chain(edges) {
        sgemm_block::check_sgemm(m, n, k, 1);
    }
    // C larger than three L2 caches (6.4 MiB: any L2 up to 2 MiB) takes blocks of k of at least
    // 384 steps (here two of 200), and edges both ways; on Sapphire Rapids (panels from L2) a
    // B of 1400 columns of 200-step panels goes in three chunks of columns, then the edge. Every
    // 37th element checked. With k up to 160 (here 20), such a C takes passes of 36 rows.
    for (m, n, k) in [(1537, 1100, 400), (199, 1400, 600), (1030, 1100, 20)] {
        sgemm_block::check_sgemm(m, n, k, 37);
    }
    // A C one float short is refused.
    let mut c = vec![0.0; 5 * nr - 1];
    assert_eq!(sgemm(5, nr, 1, &[0.0; 5], &vec![0.0; nr], &mut c).unwrap_err().kind(), ErrorKind::InvalidOperands);
}
