//! peach's streaming kernels against what Rust offers, side by side in one process: the naive
//! loop, rustc's auto-vectorisation for the same ISA (`#[target_feature]`), the same algorithm in
//! `std::arch` intrinsics, and peach. Same 64-byte-aligned inputs for everyone (page-aligned for
//! add, whose outputs are placed four ways), sizes for L1, L2 and L3.
//!
//! Cycles per element come from the TSC calibrated against a chain of dependent `add`s (one core
//! cycle each), because this VM's TSC is not the core clock and it has no PMU. Prints
//! `bench <kernel>_<implementation>_<size> <cycles> cpe` (and `..._ns` in ns per element),
//! `bench <kernel>_speedup <best competitor / peach>` (in cycles at L1 sizes; for SGEMM in time,
//! the smallest over the product sizes of 192 to 1024, `sgemm_small_speedup` over 32 to 128 and
//! `sgemm_shapes_speedup` over six products that are not square, named m x n x k;
//! `sgemm_of_fma_limit`, the smallest share of the FMA limit over 256 to 1024, in time against
//! the FMA probe run in turns with the products: `bench sgemm_fma_probe_<size>_gflops`),
//! `bench machine_<fma|load|store>_<zmm|ymm>` (this core's rates, the best of three
//! measurements spread over the run), `bench sgemm_microkernel_6x<nr>` and
//! `bench sgemm_block_6x<nr>` (FLOP per cycle of the public
//! micro-kernel and of one block of the kernel the products run, in L1), and writes the tables to
//! BENCHMARKS.md, in the section of the microarchitecture it ran on (a machine of another one
//! adds its own section; the others are kept). On AArch64, `a64.rs` measures the NEON kernels the
//! same way (the virtual counter for the TSC).
//!
//! Run with `cargo bench --bench kernels`.

#[cfg(target_arch = "aarch64")]
mod a64;
// (AArch64 leaves out what only x86-64's benchmark uses.)
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
mod competitors;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
mod harness;
#[cfg(target_arch = "x86_64")]
mod machine;

#[cfg(target_arch = "x86_64")]
mod bench {
    use std::hint::black_box;
    use std::time::Instant;

    use peach::kernels::elementary::{
        EXP_F64_HASWELL_LISTING, EXP_F64_X86_64_V4_LISTING, LN_F64_HASWELL_LISTING, LN_F64_X86_64_V4_LISTING,
    };
    use peach::kernels::streaming::sum_f64;
    use peach::prelude::*;

    use crate::competitors::*;
    use crate::harness::*;

    pub fn run() {
        let uarch = peach::runtime::dispatch::microarch().unwrap_or("unknown");
        let id = peach::runtime::dispatch::core_id().map_or("no identification".to_string(), |c| c.to_string());
        println!("bench uarch {uarch} ({id})");
        let host = Target::native_x86_64();
        // Cores without AVX-512 are measured with ymm: the competitors' AVX-512 intrinsics are
        // left out there, and auto-vectorisation is for AVX2.
        let wide = host.has_avx512f() && host.has_avx512vl();
        if !(wide || host.has_avx2() && host.has_fma3()) {
            println!("this CPU has neither AVX-512 nor AVX2 and FMA: no table");
            return;
        }
        let (bits, reg) = if wide { (512usize, "zmm") } else { (256, "ymm") };
        let clock = Clock::new();
        // The core clock ramps up under load: half a second of work before any timing.
        let warm = Instant::now();
        while warm.elapsed().as_millis() < 500 {
            black_box(clock.ticks_per_cycle());
        }
        println!("bench tsc_ticks_per_cycle {:.4}", clock.ticks_per_cycle());
        // Measured three times (here, before the SGEMM products and after them), the best of
        // each kept: see `Limits::best`.
        let mut limits = crate::machine::limits(&clock, bits);
        if let Some(r) = listed_rates(bits) {
            println!("bench listed_fma_{reg} {:.3} per_cycle", r.fma);
            println!("bench listed_load_{reg} {:.3} per_cycle", r.loads);
            println!("bench listed_store_{reg} {:.3} per_cycle", r.stores);
        }
        let mut rows = Vec::new();

        type Dot = unsafe fn(&[f32], &[f32]) -> f32;
        let dots: Vec<(&str, Dot)> = if wide {
            vec![("naive", dot_naive), ("autovec", dot_autovec), ("intrinsics", dot_intrinsics), ("peach", dot_peach)]
        } else {
            vec![("naive", dot_naive), ("autovec", dot_autovec_avx2), ("peach", dot_peach)]
        };
        for size in [2048usize, 32 * 1024, 1 << 20] {
            let x = Aligned::new(size, |i| ((i * 7) % 23) as f32 * 0.25 - 2.0);
            let y = Aligned::new(size + 16, |i| ((i * 5) % 17) as f32 * 0.5 - 4.0);
            let (xs, ys) = (x.slice(), &y.slice()[..size]);
            let mut runs: Vec<Box<dyn FnMut(usize)>> = dots
                .iter()
                .map(|&(_, f)| -> Box<dyn FnMut(usize)> {
                    Box::new(move |reps| {
                        for _ in 0..reps {
                            black_box(unsafe { f(black_box(xs), black_box(ys)) });
                        }
                    })
                })
                .collect();
            for ((name, _), m) in dots.iter().zip(together(&clock, size, &mut runs)) {
                report(&mut rows, "dot", name, size, m);
            }
        }

        type Sum = unsafe fn(&[f64]) -> f64;
        let sums: Vec<(&str, Sum)> = if wide {
            vec![("naive", sum_naive), ("autovec", sum_autovec), ("intrinsics", sum_intrinsics)]
        } else {
            vec![("naive", sum_naive), ("autovec", sum_autovec_avx2)]
        };
        for size in [2048usize, 32 * 1024, 1 << 20] {
            let x = Aligned::new(size, |i| (i % 101) as f64 - 50.0);
            let xs = x.slice();
            // The seed's parameter sweep (the best setting differs per cache level), measured
            // together with the competitors.
            let settings: Vec<(usize, usize)> =
                [1, 2, 4, 8].iter().flat_map(|&u| [(u, 0), (u, 512), (u, 2048)]).collect();
            let kernels: Vec<_> = settings.iter().map(|&(u, p)| sum_f64(u, p).unwrap()).collect();
            let mut runs: Vec<Box<dyn FnMut(usize)>> = sums
                .iter()
                .map(|&(_, f)| -> Box<dyn FnMut(usize)> {
                    Box::new(move |reps| {
                        for _ in 0..reps {
                            black_box(unsafe { f(black_box(xs)) });
                        }
                    })
                })
                .collect();
            for k in &kernels {
                // SAFETY: `kernels` outlives `runs`, the only place `f` is called.
                let f = unsafe { k.get() };
                runs.push(Box::new(move |reps| {
                    for _ in 0..reps {
                        black_box(unsafe { f(black_box(xs).as_ptr(), size) });
                    }
                }));
            }
            let results = together(&clock, size, &mut runs);
            for ((name, _), m) in sums.iter().zip(&results) {
                report(&mut rows, "sum", name, size, *m);
            }
            let mut best = (f64::MAX, f64::MAX, 0, 0);
            for (&(unroll, prefetch), m) in settings.iter().zip(&results[sums.len()..]) {
                println!("bench sum_peach_u{unroll}_p{prefetch}_{size} {:.4} cpe", m.0);
                if m.0 < best.0 {
                    best = (m.0, m.1, unroll, prefetch);
                }
            }
            println!("bench sum_best_setting_{size} unroll={} prefetch={}", best.2, best.3);
            report(&mut rows, "sum", "peach", size, (best.0, best.1));
        }

        type Add = unsafe fn(&[i32], &[i32], &mut [i32]);
        let adds: Vec<(&str, Add)> = if wide {
            vec![("naive", add_naive), ("autovec", add_autovec), ("intrinsics", add_intrinsics), ("peach", add_peach)]
        } else {
            vec![("naive", add_naive), ("autovec", add_autovec_avx2), ("peach", add_peach)]
        };
        // Where the output lies against the inputs moves add at L1 sizes by up to 1.5x either
        // way (a load whose address matches an earlier store's in its low 12 bits waits for
        // it, and which of the loop's loads meet that depends on the loop's order): measured on
        // Ice Lake, peach ahead 1.47x at one placement, the intrinsics 1.11x at another, and
        // level at the best of each. So the inputs start on a page (B a cache line later), and
        // each competitor writes its own output (what one leaves in the caches is not the next
        // one's starting point: a non-temporal store to a line another competitor's plain
        // stores left dirty costs a write-back first) at each of four placements a quarter
        // page apart, and counts its best.
        const PLACEMENTS: [usize; 4] = [32, 32 + 256, 32 + 512, 32 + 768]; // in i32, from a page
        for size in [2048usize, 16 * 1024, 1 << 20] {
            let a = Aligned::paged(size, |i| i as i32);
            let b = Aligned::paged(size + 64, |i| 3 * i as i32);
            let mut cs: Vec<Aligned<i32>> = adds.iter().map(|_| Aligned::paged(size + 1024, |_| 0i32)).collect();
            let (asl, bsl) = (a.slice(), &b.slice()[16..size + 16]);
            let mut runs: Vec<Box<dyn FnMut(usize)>> = Vec::new();
            for (&(_, f), c) in adds.iter().zip(cs.iter_mut()) {
                let base = c.slice_mut().as_mut_ptr();
                for offset in PLACEMENTS {
                    // SAFETY: the output holds `offset + size` values (offset <= 800 < 1024).
                    let out = unsafe { base.add(offset) };
                    // SAFETY: each competitor writes `size` values of its own output.
                    runs.push(Box::new(move |reps| {
                        for _ in 0..reps {
                            unsafe {
                                f(black_box(asl), black_box(bsl), black_box(std::slice::from_raw_parts_mut(out, size)))
                            }
                        }
                    }));
                }
            }
            let measured = together(&clock, size, &mut runs);
            for ((name, _), placed) in adds.iter().zip(measured.chunks(PLACEMENTS.len())) {
                let best =
                    placed.iter().copied().fold((f64::INFINITY, f64::INFINITY), |b, m| if m.0 < b.0 { m } else { b });
                report(&mut rows, "add", name, size, best);
            }
        }

        // (Without AVX-512, `peach` is the AVX2 variant: no second row for it.)
        type Maps = Vec<(&'static str, MapFn)>;
        let (exps, lns): (Maps, Maps) = if wide {
            (
                vec![
                    ("std", exp_std),
                    ("libm", exp_libm),
                    ("intrinsics", exp_intrinsics),
                    ("peach", exp_peach),
                    ("peach_avx2", exp_peach_avx2),
                ],
                vec![
                    ("std", ln_std),
                    ("libm", ln_libm),
                    ("intrinsics", ln_intrinsics),
                    ("peach", ln_peach),
                    ("peach_avx2", ln_peach_avx2),
                ],
            )
        } else {
            (
                vec![("std", exp_std), ("libm", exp_libm), ("peach", exp_peach)],
                vec![("std", ln_std), ("libm", ln_libm), ("peach", ln_peach)],
            )
        };
        let exp_input = |i: usize, size: usize| -700.0 + 1400.0 * ((i * 7919) % size) as f64 / size as f64;
        let ln_input = |i: usize, size: usize| 10f64.powf(-300.0 + 600.0 * ((i * 7919) % size) as f64 / size as f64);
        // `peach_general` is peach on the same inputs with every 32nd one out of the AVX2
        // variants' usual path (exp: 1000, ln: 0), so that each block takes the general path.
        for (kernel, list, input, odd) in
            [("exp", exps, &exp_input as &dyn Fn(usize, usize) -> f64, 1000.0), ("ln", lns, &ln_input, 0.0)]
        {
            for size in [2048usize, 32 * 1024, 1 << 20] {
                let x = Aligned::new(size, |i| input(i, size));
                let general = Aligned::new(size, |i| if i % 32 == 7 { odd } else { input(i, size) });
                let (xs, gs) = (x.slice(), general.slice());
                let peach = list.iter().find(|(name, _)| *name == "peach").expect("peach runs").1;
                // Each competitor writes its own output, as in the add benchmark.
                let mut ys: Vec<Aligned<f64>> = (0..=list.len()).map(|_| Aligned::new(size + 32, |_| 0.0f64)).collect();
                let mut runs: Vec<Box<dyn FnMut(usize)>> = list
                    .iter()
                    .map(|&(_, f)| (f, xs))
                    .chain([(peach, gs)])
                    .zip(ys.iter_mut())
                    .map(|((f, xs), y)| -> Box<dyn FnMut(usize)> {
                        let ys = y.slice_mut()[16..].as_mut_ptr();
                        // SAFETY: each competitor writes the `size` values of its own output.
                        Box::new(move |reps| {
                            for _ in 0..reps {
                                unsafe { f(black_box(xs), black_box(std::slice::from_raw_parts_mut(ys, size))) }
                            }
                        })
                    })
                    .collect();
                let names = list.iter().map(|(name, _)| *name).chain(["peach_general"]);
                for (name, m) in names.zip(together(&clock, size, &mut runs)) {
                    report(&mut rows, kernel, name, size, m);
                }
                if wide {
                    same_algorithm(kernel, xs, list[2].1, list[3].1);
                }
            }
        }

        // SGEMM: the micro-kernel alone (panels in L1), then whole products against matrixmultiply.
        let nr = peach::kernels::gemm::sgemm_nr();
        let k = 256;
        let ap = Aligned::new(6 * k, |i| (i % 7) as f32);
        let bp = Aligned::new(nr * k, |i| (i % 5) as f32);
        let mut cb = Aligned::new(6 * nr, |_| 0.0f32);
        let flops = (2 * 6 * nr * k) as f64;
        let (cpc, micro_ns) = measure(&clock, 1, || unsafe {
            peach::kernels::gemm::sgemm_kernel(
                ap.slice().as_ptr(),
                bp.slice().as_ptr(),
                cb.slice_mut().as_mut_ptr(),
                k,
                nr * 4,
            )
        });
        println!("bench sgemm_microkernel_6x{nr} {:.2} flop/cycle", flops / cpc);
        let mut notes = vec![format!(
            "| sgemm micro-kernel 6x{nr}, k = 256 | peach | {:.2} | {:.1} |",
            flops / cpc,
            flops / micro_ns
        )];
        // The kernel the products run: one block of sgemm_block (6 rows, as many columns as
        // this core's panels), its panel of B 32 KiB, A read in place.
        let block_nr = peach::kernels::gemm::sgemm_block_nr();
        let block_k = 8192 / block_nr;
        let ab = Aligned::new(6 * block_k, |i| (i % 7) as f32);
        let mut bb = Aligned::new(block_nr * block_k, |i| (i % 5) as f32);
        let mut cbb = Aligned::new(6 * block_nr, |_| 0.0f32);
        let block_flops = (2 * 6 * block_nr * block_k) as f64;
        let (block_cpc, block_ns) = measure(&clock, 1, || unsafe {
            peach::kernels::gemm::sgemm_block(
                ab.slice().as_ptr(),
                block_k * 4,
                bb.slice_mut().as_mut_ptr(),
                cbb.slice_mut().as_mut_ptr(),
                block_k,
                block_nr * 4,
                6,
                0,
                std::ptr::null(),
                0,
            )
        });
        println!("bench sgemm_block_6x{block_nr} {:.2} flop/cycle", block_flops / block_cpc);
        notes.push(format!(
            "| sgemm block 6x{block_nr}, k = {block_k} (the products' kernel) | peach | {:.2} | {:.1} |",
            block_flops / block_cpc,
            block_flops / block_ns
        ));
        let (mut gemm_rows, mut small_rows, mut shape_rows) = (Vec::new(), Vec::new(), Vec::new());
        // The share of the FMA limit peach's products reach, the smallest over 256-1024: in
        // time, against the machine's FMA probe doing as many FLOPs in turns with the products.
        // (Not in cycles: through trials of milliseconds the chain of adds the clock is read
        // with does not run at the FMAs' speed. On the Sapphire Rapids-class VM it read about
        // 4.0 GHz around FMA probes doing 6.8-7.4 FMAs a ns, 1.7-1.8 a cycle by that clock
        // against 1.99 in the probe's own 100-us trials; products read 0.66-0.70 of the limit
        // in cycles and 0.79-0.90 in time.)
        let mut of_limit = f64::INFINITY;
        let fma_probe = crate::machine::fma_probe(bits);
        let mut scratch = Aligned::new(64, |_| 0u8);
        limits = limits.best(crate::machine::limits(&clock, bits));
        let openblas = OpenBlas::load();
        for (sides, group) in sgemm_products() {
            let ((m, n, k), label) = (sides, sgemm_label(sides));
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 - 2.0).collect();
            let flops = 2.0 * (m * n * k) as f64;
            // Taking turns, as the L1 kernels do: one product at 768 takes milliseconds, and the
            // machine's speed drifts between one competitor's trials and the next's.
            let (mut cp, mut cm, mut cg) = (vec![0f32; m * n], vec![0f32; m * n], vec![0f32; m * n]);
            let mut peach_run = |reps: usize| {
                for _ in 0..reps {
                    peach::kernels::gemm::sgemm(m, n, k, black_box(&a), black_box(&b), &mut cp).unwrap()
                }
            };
            let mut mm_run = |reps: usize| {
                for _ in 0..reps {
                    sgemm_matrixmultiply(sides, black_box(&a), black_box(&b), &mut cm)
                }
            };
            let mut gemm_run = |reps: usize| {
                for _ in 0..reps {
                    sgemm_gemm(sides, black_box(&a), black_box(&b), &mut cg)
                }
            };
            // The FMA probe, as many FLOPs as a product (FMAs of `bits`, 2 FLOPs per f32 lane).
            let probe_rounds = (flops / (crate::machine::FMA_CHAINS * 2 * bits / 32) as f64).ceil() as usize;
            let probe_at = scratch.slice_mut().as_mut_ptr();
            let mut fma_run = |reps: usize| {
                for _ in 0..reps {
                    // SAFETY: the probe does not read its pointer; any count of rounds runs.
                    unsafe { fma_probe.call(probe_at, black_box(probe_rounds)) }
                }
            };
            // OpenBLAS, where the machine has it (its C allocated only then).
            let mut co = vec![0f32; if openblas.is_some() { m * n } else { 0 }];
            let mut openblas_run = |reps: usize| {
                if let Some(blas) = &openblas {
                    for _ in 0..reps {
                        blas.sgemm(sides, black_box(&a), black_box(&b), &mut co)
                    }
                }
            };
            let mut runs: Vec<&mut dyn FnMut(usize)> = vec![&mut peach_run, &mut mm_run, &mut gemm_run, &mut fma_run];
            if openblas.is_some() {
                runs.push(&mut openblas_run);
            }
            let times = measure_together(&clock, 1, &mut runs);
            drop(runs);
            let fma_ns = times[3].1;
            let mut products =
                vec![("peach", &cp, times[0]), ("matrixmultiply", &cm, times[1]), ("gemm", &cg, times[2])];
            if openblas.is_some() {
                products.push(("openblas", &co, times[4]));
            }
            let want = naive_corner(&a, &b, sides);
            for (name, c, _) in &products {
                assert_eq!(c[..want.len()], want, "{name}'s product");
            }
            let peach_ns = times[0].1;
            let best_competitor_ns = products[1..].iter().map(|p| p.2.1).fold(f64::INFINITY, f64::min);
            for &(name, _, (cycles, ns)) in &products {
                println!("bench sgemm_{name}_{label} {:.2} flop/cycle", flops / cycles);
                // Peach's figure also under the name issue 19 gives it.
                if name == "peach" {
                    println!("bench sgemm_{label}_flop_per_cycle {:.2} flop/cycle", flops / cycles);
                }
                println!("bench sgemm_{name}_{label}_gflops {:.1} GFLOP/s", flops / ns);
                notes.push(format!("| sgemm {m}x{n}x{k} | {name} | {:.2} | {:.1} |", flops / cycles, flops / ns));
            }
            println!("bench sgemm_fma_probe_{label}_gflops {:.1} GFLOP/s", flops / fma_ns);
            notes.push(format!("| sgemm {m}x{n}x{k} | FMA probe (the limit) | - | {:.1} |", flops / fma_ns));
            match group {
                SgemmGroup::Small => &mut small_rows,
                SgemmGroup::Large => &mut gemm_rows,
                SgemmGroup::Shape => &mut shape_rows,
            }
            .push(best_competitor_ns / peach_ns);
            if group == SgemmGroup::Large && m >= 256 {
                of_limit = of_limit.min(fma_ns / peach_ns);
            }
        }
        limits = limits.best(crate::machine::limits(&clock, bits));
        println!("bench machine_fma_{reg} {:.3} per_cycle", limits.fma);
        println!("bench machine_load_{reg} {:.3} per_cycle", limits.loads);
        println!("bench machine_store_{reg} {:.3} per_cycle", limits.stores);
        println!("bench machine_load2_store1_{reg} {:.3} per_cycle", limits.mixed);
        println!("bench sgemm_of_fma_limit {of_limit:.3}");
        // The smallest of the sizes' speedups, in time: a core that lowers its clock under
        // AVX-512 load does so as each competitor's code makes it, and time is what a user waits
        // for. (The L1 kernels' trials, 100 us each, compare in cycles.)
        print_smallest("sgemm_speedup", &gemm_rows);
        print_smallest("sgemm_small_speedup", &small_rows);
        print_smallest("sgemm_shapes_speedup", &shape_rows);

        // The L1 summary: peach, the best competitor, this core's limit (from the measured
        // throughputs) and the target.
        // (Targets: the issue's, for AVX-512; on an AVX2 core, twice as many cycles.)
        let per_cycle = |ops: f64, elems: usize, rate: f64| ops / (elems as f64 * rate);
        let (w32, w64, t) = (bits / 32, bits / 64, if wide { 1.0 } else { 2.0 });
        // exp and ln: the AVX-512 algorithms (tables read by permutes) are bound by the
        // operations of their FMA units: on AMD's cores the FMAs and multiplies alone (the
        // other operations have pipes of their own), on Intel's every 512-bit operation (they
        // all issue on ports 0 and 5, the two with an FMA unit). The AVX2 ones (longer
        // polynomials, every constant a memory operand) by the larger of their FMA-unit
        // operations and their loads. All counted in the variants' listings (their usual path,
        // which every input here takes: positive normals for ln, |x| < 704 for exp).
        let two_ports = INTEL_AVX512.contains(&uarch);
        let exp_ln_bound = |name: &'static str, zmm: &str, ymm: &str, target: f64| {
            let per = format!(
                "per {w64} doubles, counted in the {} loop's usual path",
                if wide { "AVX-512" } else { "AVX2" }
            );
            let ops = loop_ops(if wide { zmm } else { ymm });
            let by_fma = (per_cycle(ops.fma, w64, limits.fma), format!("{} FMA-unit ops {per}", ops.fma));
            let other = if wide && two_ports {
                (per_cycle(ops.vector, w64, 2.0), format!("{} 512-bit ops on ports 0 and 5 {per}", ops.vector))
            } else if wide {
                (0.0, String::new())
            } else {
                (per_cycle(ops.loads, w64, limits.loads), format!("{} ymm loads {per}", ops.loads))
            };
            let (bound, why) = if other.0 > by_fma.0 { other } else { by_fma };
            (name, bound, target, why)
        };
        // add reads two vectors for each it writes: the slowest of its loads, its store and the
        // three together at the rate of that mix.
        let add_bound = [
            (per_cycle(2.0, w32, limits.loads), format!("2 {reg} loads per {w32} ints")),
            (per_cycle(1.0, w32, limits.stores), format!("1 {reg} store per {w32} ints")),
            (per_cycle(3.0, w32, limits.mixed), format!("2 {reg} loads and 1 store per {w32} ints, at the mix's rate")),
        ]
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(bound, why)| ("add", bound, 0.07 * t, why))
        .expect("three bounds");
        let bounds = [
            ("dot", per_cycle(2.0, w32, limits.loads), 0.07 * t, format!("2 {reg} loads per {w32} floats")),
            ("sum", per_cycle(1.0, w64, limits.loads), 0.07 * t, format!("1 {reg} load per {w64} doubles")),
            add_bound,
            exp_ln_bound("exp", EXP_F64_X86_64_V4_LISTING, EXP_F64_HASWELL_LISTING, 1.15 * t),
            exp_ln_bound("ln", LN_F64_X86_64_V4_LISTING, LN_F64_HASWELL_LISTING, 1.7 * t),
        ];
        let mut summary = Vec::new();
        for (kernel, limit, target, why) in bounds {
            let l1: Vec<&Row> = rows.iter().filter(|r| r.kernel == kernel && r.size <= 2048).collect();
            let peach = l1.iter().find(|r| r.implementation == "peach").map_or(f64::NAN, |r| r.cpe);
            let best =
                l1.iter().filter(|r| !r.implementation.starts_with("peach")).min_by(|a, b| a.cpe.total_cmp(&b.cpe));
            let (best_cpe, best_name) = best.map_or((f64::NAN, "-"), |r| (r.cpe, r.implementation.as_str()));
            let speedup = best_cpe / peach;
            println!("bench {kernel}_speedup {speedup:.3}");
            summary.push(format!(
                "| {kernel} | {peach:.4} | {best_cpe:.4} ({best_name}) | {speedup:.3} | {limit:.4} ({why}) | {:.0} % | {target} |",
                100.0 * limit / peach
            ));
        }
        let (micro, limit) = (block_flops / block_cpc, 2.0 * w32 as f64 * limits.fma);
        summary.push(format!(
            "| sgemm block 6x{block_nr} (FLOP/cycle) | {micro:.2} | - | - | {limit:.2} (2 x {w32} lanes x FMAs/cycle) | {:.0} % | {} |",
            100.0 * micro / limit,
            if wide { 58 } else { 29 }
        ));
        write_table(&rows, &summary, &notes, &limits);
    }

    /// Intel's AVX-512 cores: every 512-bit operation issues on port 0 (ports 0 and 1 fused) or
    /// port 5 (Intel's optimization manual), so exp's and ln's permutes, compares and adds take
    /// the FMA units' turns.
    const INTEL_AVX512: [&str; 3] = ["skylake-x", "icelake", "sapphirerapids"];

    /// Operations per vector in the loop of a listing.
    struct LoopOps {
        /// FMAs and multiplies.
        fma: f64,
        /// Loads.
        loads: f64,
        /// Vector operations other than loads, stores and register moves (which the renamer
        /// eliminates).
        vector: f64,
    }

    /// The operations per vector in the loop of a listing (from the label its last backward
    /// branch goes to, to that branch: the common path where a loop branches off to a general
    /// one): the loop stores each vector once, so the counts are divided by its stores.
    fn loop_ops(listing: &str) -> LoopOps {
        let lines: Vec<&str> = listing.lines().collect();
        let end = lines.iter().rposition(|l| l.contains(" jne ") || l.contains(" jnz ")).expect("a loop");
        let target = format!("{}:", lines[end].split_whitespace().last().expect("a branch target"));
        let start = lines[..end].iter().rposition(|l| l.trim() == target).expect("a loop label");
        let body = &lines[start..end];
        let count = |f: &dyn Fn(&str) -> bool| body.iter().filter(|l| f(l)).count() as f64;
        let is_move = |l: &str| ["vmovupd ", "vmovapd ", "vmovntpd "].iter().any(|m| l.contains(m));
        let is_store = |l: &str| {
            is_move(l)
                && (l.contains("movupd ymmword ptr [") || l.contains("movupd zmmword ptr [") || l.contains("movntpd "))
        };
        let stores = count(&is_store);
        let fma = count(&|l| ["vfmadd", "vfnmadd", "vfmsub", "vmulpd"].iter().any(|m| l.contains(m)));
        let loads = count(&|l| l.contains("ptr [")) - stores;
        let vector = count(&|l| l.contains("mm") && !is_move(l));
        assert!(stores > 0.0, "a loop that stores:\n{listing}");
        LoopOps { fma: fma / stores, loads: loads / stores, vector: vector / stores }
    }

    /// The rates peach's table gives this core's microarchitecture at `bits`, to set beside the
    /// measured ones.
    fn listed_rates(bits: usize) -> Option<peach::core::target::VectorRates> {
        let uarch = peach::runtime::dispatch::microarch()?;
        Target::x86_64(uarch).ok()?.vector_rates(bits as u32)
    }

    fn write_table(rows: &[Row], summary: &[String], gemm: &[String], limits: &crate::machine::Limits) {
        let reg = if limits.bits == 512 { "zmm" } else { "ymm" };
        let uarch = peach::runtime::dispatch::microarch().unwrap_or("unknown");
        let id = peach::runtime::dispatch::core_id().map_or("no identification".to_string(), |c| c.to_string());
        let heading = format!("## {uarch} ({id})");
        let mut md = format!(
            "This core, measured by the benchmark (the best of three measurements spread over the run): {:.2} {reg} FMAs, {:.2} {reg} loads and {:.2} {reg} stores per cycle, {:.2} loads and stores a cycle when two loads go with each store{}{}.\n\
             Limits below follow from those; peach's share of the limit is limit / peach. At the L1 sizes a\n\
             call takes only 130-150 cycles for dot, sum and add, and the same code at another address moves\n\
             by 3-5 %: differences that small between peach and the intrinsics are placement, not code.\n\n\
             | kernel (L1, cpe) | peach | best competitor | speedup | limit | peach at | target |\n\
             | --- | --- | --- | --- | --- | --- | --- |\n",
            limits.fma,
            limits.loads,
            limits.stores,
            limits.mixed,
            if limits.bits == 512 { "" } else { " (no AVX-512: AVX2 code throughout, the intrinsics left out)" },
            match listed_rates(limits.bits) {
                Some(r) => format!(
                    "; peach's table of cores (`Target::vector_rates`) lists {} / {} / {}",
                    r.fma, r.loads, r.stores
                ),
                None => " (peach's table of cores does not list this one)".to_string(),
            }
        );
        for line in summary {
            md.push_str(line);
            md.push('\n');
        }
        md.push_str("\n| kernel | implementation | size | cpe | ns/element |\n| --- | --- | --- | --- | --- |\n");
        for r in rows {
            md.push_str(&format!(
                "| {} | {} | {} | {:.4} | {:.4} |\n",
                r.kernel, r.implementation, r.size, r.cpe, r.ns
            ));
        }
        md.push_str("\n| SGEMM | implementation | FLOP/cycle | GFLOP/s |\n| --- | --- | --- | --- |\n");
        for line in gemm {
            md.push_str(line);
            md.push('\n');
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
        let old = std::fs::read_to_string(path).unwrap_or_default();
        if let Err(e) = std::fs::write(path, merge_section(&old, &heading, &md)) {
            eprintln!("could not write {path}: {e}");
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    bench::run();
    #[cfg(target_arch = "aarch64")]
    a64::run();
}
