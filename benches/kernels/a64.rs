//! The benchmark on AArch64: peach's NEON variants of dot, sum, add, exp, ln and SGEMM against the naive
//! loop, rustc's auto-vectorisation (NEON is the target's baseline), `f64::exp`/`ln`, `libm`,
//! `matrixmultiply`, the `gemm` crate and, where the machine has it, OpenBLAS. Cycles come from
//! the virtual counter calibrated against a chain of adds; SGEMM's limit from an FMA probe run
//! in turns with the products. Prints the same `bench` lines as on x86-64 and writes the
//! microarchitecture's section of BENCHMARKS.md.

use std::hint::black_box;
use std::time::Instant;

use peach::prelude::*;

use crate::competitors::*;
use crate::harness::*;

/// The FMA probe's independent chains: enough for four FMA pipes of four cycles' latency.
const FMA_CHAINS: usize = 24;

/// `n` rounds of [`FMA_CHAINS`] independent 4-lane FMAs (`fmla v.4s`), 8 FLOPs each.
fn fma_probe() -> Kernel<unsafe extern "C" fn(usize)> {
    let mut f = Function::new("fma_probe", Signature::new(&[Type::Usize], None), Target::aarch64_neon());
    let n = f.param(0);
    let regs: Vec<Reg> = (0..FMA_CHAINS).map(|_| f.v()).collect();
    for &r in &regs {
        f.ins("eor", (r.b16(), r.b16(), r.b16()));
    }
    let top = f.label();
    f.bind(top);
    for &r in &regs {
        f.ins("fmla", (r.s4(), r.s4(), r.s4()));
    }
    f.ins("subs", (n, n, 1));
    f.ins("b.ne", top);
    f.ret(None);
    let code = f.compile(Abi::host()).expect("the probe is valid code");
    // SAFETY: the signature is the one the code was built for.
    unsafe { Kernel::load(&code).expect("the probe loads") }
}

/// Best competitor over peach at the L1 size, in cycles: the `bench <kernel>_speedup` line and
/// the summary row.
fn speedup(summary: &mut Vec<String>, rows: &[Row], kernel: &str) {
    let at = |name: &str| rows.iter().find(|r| r.kernel == kernel && r.size == 2048 && r.implementation == name);
    let Some(peach) = at("peach") else { return };
    let Some(best) = rows
        .iter()
        .filter(|r| r.kernel == kernel && r.size == 2048 && r.implementation != "peach")
        .min_by(|a, b| a.cpe.total_cmp(&b.cpe))
    else {
        return;
    };
    let speedup = best.cpe / peach.cpe;
    println!("bench {kernel}_speedup {speedup:.3}");
    summary.push(format!("| {kernel} | {:.4} | {:.4} ({}) | {speedup:.3} |", peach.cpe, best.cpe, best.implementation));
}

pub fn run() {
    let uarch = peach::runtime::dispatch::microarch().unwrap_or("unknown");
    let id = peach::runtime::dispatch::core_id().map_or("no identification".to_string(), |c| c.to_string());
    println!("bench uarch {uarch} ({id})");
    let clock = Clock::new();
    // The core clock ramps up under load: half a second of work before any timing.
    let warm = Instant::now();
    while warm.elapsed().as_millis() < 500 {
        black_box(clock.ticks_per_cycle());
    }
    println!("bench counter_ticks_per_cycle {:.4}", clock.ticks_per_cycle());
    let (mut rows, mut summary, mut notes) = (Vec::new(), Vec::new(), Vec::new());

    type Dot = fn(&[f32], &[f32]) -> f32;
    let dots: [(&str, Dot); 3] = [("naive", dot_naive), ("autovec", dot_autovec), ("peach", dot_peach)];
    for size in [2048usize, 32 * 1024, 1 << 20] {
        let x = Aligned::new(size, |i| (i % 13) as f32 * 0.25 - 1.5);
        let y = Aligned::new(size, |i| (i % 7) as f32 * 0.5 - 1.0);
        let (xs, ys) = (x.slice(), y.slice());
        // Small multiples of a quarter: every order of the sum gives the same value.
        let want = dot_naive(xs, ys);
        let mut runs: Vec<Box<dyn FnMut(usize)>> = dots
            .iter()
            .map(|&(name, f)| -> Box<dyn FnMut(usize)> {
                assert_eq!(f(xs, ys), want, "{name}'s dot product");
                Box::new(move |reps| {
                    for _ in 0..reps {
                        black_box(f(black_box(xs), black_box(ys)));
                    }
                })
            })
            .collect();
        for ((name, _), m) in dots.iter().zip(together(&clock, size, &mut runs)) {
            report(&mut rows, "dot", name, size, m);
        }
    }
    speedup(&mut summary, &rows, "dot");

    // VECTOR_SUM: peach's figure is the best of its parameter sweep, measured with the others.
    type Sum = fn(&[f64]) -> f64;
    let sums: [(&str, Sum); 2] = [("naive", sum_naive), ("autovec", sum_autovec)];
    for size in [2048usize, 32 * 1024, 1 << 20] {
        let x = Aligned::new(size, |i| (i % 101) as f64 - 50.0);
        let xs = x.slice();
        let settings: Vec<(usize, usize)> = [1, 2, 4, 8].iter().flat_map(|&u| [(u, 0), (u, 512), (u, 2048)]).collect();
        let kernels: Vec<_> =
            settings.iter().map(|&(u, p)| peach::kernels::streaming::sum_f64(u, p).unwrap()).collect();
        let want: f64 = xs.iter().sum();
        let mut runs: Vec<Box<dyn FnMut(usize)>> = sums
            .iter()
            .map(|&(_, f)| -> Box<dyn FnMut(usize)> {
                Box::new(move |reps| {
                    for _ in 0..reps {
                        black_box(f(black_box(xs)));
                    }
                })
            })
            .collect();
        for k in &kernels {
            // SAFETY: `size` doubles, a multiple of 8 unroll; `kernels` outlives `runs`.
            let f = unsafe { k.get() };
            assert_eq!(unsafe { f(xs.as_ptr(), size) }, want, "peach's sum");
            runs.push(Box::new(move |reps| {
                for _ in 0..reps {
                    black_box(unsafe { f(black_box(xs).as_ptr(), size) });
                }
            }));
        }
        let m = together(&clock, size, &mut runs);
        for ((name, _), m) in sums.iter().zip(&m) {
            report(&mut rows, "sum", name, size, *m);
        }
        let (best, setting) = m[sums.len()..].iter().zip(&settings).min_by(|a, b| a.0.0.total_cmp(&b.0.0)).unwrap();
        println!("bench sum_best_setting_{size} unroll={} prefetch={}", setting.0, setting.1);
        report(&mut rows, "sum", "peach", size, *best);
    }
    speedup(&mut summary, &rows, "sum");

    type Add = fn(&[i32], &[i32], &mut [i32]);
    let adds: [(&str, Add); 3] = [("naive", add_naive), ("autovec", add_autovec), ("peach", add_peach)];
    for size in [2048usize, 16 * 1024, 1 << 20] {
        let (a, b) = (Aligned::new(size, |i| i as i32 * 3 - 7), Aligned::new(size, |i| i32::MAX - i as i32));
        let (a, b) = (a.slice(), b.slice());
        let mut outs: Vec<Aligned<i32>> = adds.iter().map(|_| Aligned::new(size, |_| 0)).collect();
        let mut runs: Vec<Box<dyn FnMut(usize)>> = adds
            .iter()
            .zip(outs.iter_mut())
            .map(|(&(_, f), out)| -> Box<dyn FnMut(usize)> {
                let out = out.slice_mut().as_mut_ptr();
                // SAFETY: each competitor writes the `size` values of its own output.
                Box::new(move |reps| {
                    for _ in 0..reps {
                        f(black_box(a), black_box(b), black_box(unsafe { std::slice::from_raw_parts_mut(out, size) }));
                    }
                })
            })
            .collect();
        let m = together(&clock, size, &mut runs);
        drop(runs);
        for out in &outs[1..] {
            assert_eq!(out.slice(), outs[0].slice(), "the adds' outputs");
        }
        for ((name, _), m) in adds.iter().zip(m) {
            report(&mut rows, "add", name, size, m);
        }
    }
    speedup(&mut summary, &rows, "add");

    let exp_input = |i: usize, size: usize| -700.0 + 1400.0 * ((i * 7919) % size) as f64 / size as f64;
    let ln_input = |i: usize, size: usize| 10f64.powf(-300.0 + 600.0 * ((i * 7919) % size) as f64 / size as f64);
    let exps: [(&str, MapFn); 3] = [("std", exp_std), ("libm", exp_libm), ("peach", exp_peach)];
    let lns: [(&str, MapFn); 3] = [("std", ln_std), ("libm", ln_libm), ("peach", ln_peach)];
    for (kernel, list, input) in [("exp", exps, &exp_input as &dyn Fn(usize, usize) -> f64), ("ln", lns, &ln_input)] {
        for size in [2048usize, 32 * 1024, 1 << 20] {
            let x = Aligned::new(size, |i| input(i, size));
            let xs = x.slice();
            let mut ys: Vec<Aligned<f64>> = list.iter().map(|_| Aligned::new(size, |_| 0.0f64)).collect();
            let mut runs: Vec<Box<dyn FnMut(usize)>> = list
                .iter()
                .zip(ys.iter_mut())
                .map(|(&(_, f), y)| -> Box<dyn FnMut(usize)> {
                    let y = y.slice_mut().as_mut_ptr();
                    // SAFETY: each competitor writes the `size` values of its own output.
                    Box::new(move |reps| {
                        for _ in 0..reps {
                            unsafe { f(black_box(xs), black_box(std::slice::from_raw_parts_mut(y, size))) }
                        }
                    })
                })
                .collect();
            let m = together(&clock, size, &mut runs);
            drop(runs);
            // peach within 1 ulp of `f64::exp`/`ln` (both are; the accuracy tests say how far
            // from the truth).
            for (p, s) in ys[2].slice().iter().zip(ys[0].slice()) {
                let ulps = (p.to_bits() as i64 - s.to_bits() as i64).unsigned_abs();
                assert!(ulps <= 2 || p == s, "{kernel}: peach {p} against std {s}");
            }
            for ((name, _), m) in list.iter().zip(m) {
                report(&mut rows, kernel, name, size, m);
            }
        }
        speedup(&mut summary, &rows, kernel);
    }

    // SGEMM, in time against the FMA probe doing as many FLOPs a trial.
    let probe = fma_probe();
    let openblas = OpenBlas::load();
    let (mut gemm_rows, mut small_rows, mut shape_rows) = (Vec::new(), Vec::new(), Vec::new());
    let mut of_limit = f64::INFINITY;
    for (sides, group) in sgemm_products() {
        let ((m, n, k), label) = (sides, sgemm_label(sides));
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
        let flops = 2.0 * (m * n * k) as f64;
        let mut cs: Vec<Vec<f32>> = (0..4).map(|_| vec![0f32; m * n]).collect();
        let [cp, cm, cg, co] = &mut cs[..] else { unreachable!() };
        let probe_rounds = (flops / (FMA_CHAINS * 8) as f64).ceil() as usize;
        let mut peach_run = |reps: usize| {
            for _ in 0..reps {
                peach::kernels::gemm::sgemm(m, n, k, black_box(&a), black_box(&b), cp).unwrap()
            }
        };
        let mut mm_run = |reps: usize| {
            for _ in 0..reps {
                sgemm_matrixmultiply(sides, black_box(&a), black_box(&b), cm)
            }
        };
        let mut gemm_run = |reps: usize| {
            for _ in 0..reps {
                sgemm_gemm(sides, black_box(&a), black_box(&b), cg)
            }
        };
        let mut fma_run = |reps: usize| {
            for _ in 0..reps {
                // SAFETY: any count of rounds runs.
                unsafe { probe.call(black_box(probe_rounds)) }
            }
        };
        let mut openblas_run = |reps: usize| {
            if let Some(blas) = &openblas {
                for _ in 0..reps {
                    blas.sgemm(sides, black_box(&a), black_box(&b), co)
                }
            }
        };
        let mut runs: Vec<&mut dyn FnMut(usize)> = vec![&mut peach_run, &mut mm_run, &mut gemm_run, &mut fma_run];
        if openblas.is_some() {
            runs.push(&mut openblas_run);
        }
        let times = measure_together(&clock, 1, &mut runs);
        drop(runs);
        let mut products = vec![("peach", 0, times[0]), ("matrixmultiply", 1, times[1]), ("gemm", 2, times[2])];
        if openblas.is_some() {
            products.push(("openblas", 3, times[4]));
        }
        let want = naive_corner(&a, &b, sides);
        for &(name, c, (cycles, ns)) in &products {
            assert_eq!(cs[c][..want.len()], want, "{name}'s product");
            println!("bench sgemm_{name}_{label} {:.2} flop/cycle", flops / cycles);
            // Peach's figure also under the name issue 19 gives it.
            if name == "peach" {
                println!("bench sgemm_{label}_flop_per_cycle {:.2} flop/cycle", flops / cycles);
            }
            println!("bench sgemm_{name}_{label}_gflops {:.1} GFLOP/s", flops / ns);
            notes.push(format!("| sgemm {m}x{n}x{k} | {name} | {:.2} | {:.1} |", flops / cycles, flops / ns));
        }
        let fma_ns = times[3].1;
        println!("bench sgemm_fma_probe_{label}_gflops {:.1} GFLOP/s", flops / fma_ns);
        notes.push(format!("| sgemm {m}x{n}x{k} | FMA probe (the limit) | - | {:.1} |", flops / fma_ns));
        let best_competitor_ns = products[1..].iter().map(|p| p.2.1).fold(f64::INFINITY, f64::min);
        match group {
            SgemmGroup::Small => &mut small_rows,
            SgemmGroup::Large => &mut gemm_rows,
            SgemmGroup::Shape => &mut shape_rows,
        }
        .push(best_competitor_ns / times[0].1);
        if group == SgemmGroup::Large && m >= 256 {
            of_limit = of_limit.min(fma_ns / times[0].1);
        }
    }
    println!("bench sgemm_of_fma_limit {of_limit:.3}");
    print_smallest("sgemm_speedup", &gemm_rows);
    print_smallest("sgemm_small_speedup", &small_rows);
    print_smallest("sgemm_shapes_speedup", &shape_rows);

    let mut md = "NEON throughout. Speedups at the L1 size (2048), best competitor over peach, in cycles.\n\n\
                  | kernel (L1, cpe) | peach | best competitor | speedup |\n| --- | --- | --- | --- |\n"
        .to_string();
    for line in &summary {
        md.push_str(line);
        md.push('\n');
    }
    md.push_str("\n| kernel | implementation | size | cpe | ns/element |\n| --- | --- | --- | --- | --- |\n");
    for r in &rows {
        md.push_str(&format!("| {} | {} | {} | {:.4} | {:.4} |\n", r.kernel, r.implementation, r.size, r.cpe, r.ns));
    }
    md.push_str("\n| SGEMM | implementation | FLOP/cycle | GFLOP/s |\n| --- | --- | --- | --- |\n");
    for line in &notes {
        md.push_str(line);
        md.push('\n');
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
    let old = std::fs::read_to_string(path).unwrap_or_default();
    if let Err(e) = std::fs::write(path, merge_section(&old, &format!("## {uarch} ({id})"), &md)) {
        eprintln!("could not write {path}: {e}");
    }
}
