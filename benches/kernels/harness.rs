//! What every measurement shares: aligned buffers, the calibrated clock, the timing
//! loop, and the rows of the table.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::hint::black_box;
use std::time::Instant;

use peach::prelude::*;

/// A 64-byte-aligned buffer (or page-aligned, from [`Aligned::paged`]).
pub struct Aligned<T: Copy> {
    ptr: *mut T,
    len: usize,
    align: usize,
}

impl<T: Copy> Aligned<T> {
    pub fn new(len: usize, f: impl Fn(usize) -> T) -> Self {
        Self::with_align(len, 64, f)
    }
    /// A buffer that starts on a 4 KiB page: offsets into buffers made so are their placement
    /// relative to each other as the core's 4K-aliasing check sees it.
    pub fn paged(len: usize, f: impl Fn(usize) -> T) -> Self {
        Self::with_align(len, 4096, f)
    }
    fn with_align(len: usize, align: usize, f: impl Fn(usize) -> T) -> Self {
        let layout = Layout::from_size_align(len * size_of::<T>(), align).unwrap();
        let ptr = unsafe { alloc_zeroed(layout) } as *mut T;
        assert!(!ptr.is_null());
        for i in 0..len {
            unsafe { ptr.add(i).write(f(i)) };
        }
        Aligned { ptr, len, align }
    }
    pub fn slice(&self) -> &[T] {
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
    pub fn slice_mut(&mut self) -> &mut [T] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Copy> Drop for Aligned<T> {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.len * size_of::<T>(), self.align).unwrap();
        unsafe { dealloc(self.ptr as *mut u8, layout) };
    }
}

/// The constant-rate counter: the TSC on x86-64, the virtual counter (CNTVCT_EL0) on AArch64.
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: RDTSC reads a counter; every x86-64 core has it.
    return unsafe { std::arch::x86_64::_rdtsc() };
    #[cfg(target_arch = "aarch64")]
    {
        let t: u64;
        // SAFETY: EL0 may read the virtual counter (Linux and macOS allow it).
        unsafe { std::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) t) };
        t
    }
}

/// Counter ticks per core cycle, from a chain of 20,000 dependent adds built with peach (run
/// often enough for 20,000 ticks: AArch64's counter may tick at only tens of MHz). The adds take
/// a register, not an immediate: Golden Cove's renamer folds chains of `add reg, imm` (about
/// five a cycle, measured on a Sapphire Rapids-class core), which would make the cycle look
/// five times shorter.
pub struct Clock {
    chain: Kernel<unsafe extern "C" fn(u64) -> u64>,
    calls: u32,
}

impl Clock {
    pub fn new() -> Clock {
        let sig = Signature::new(&[Type::U64], Some(Type::U64));
        #[cfg(target_arch = "x86_64")]
        let chain = {
            let mut f = Function::new("chain", sig, Target::x86_64_baseline());
            let (x, step) = (f.gp64(), f.param(0));
            f.ins("xor", (x.r32(), x.r32()));
            for _ in 0..20_000 {
                f.ins("add", (x, step));
            }
            f.ret(x);
            f
        };
        #[cfg(target_arch = "aarch64")]
        let chain = {
            let mut f = Function::new("chain", sig, Target::aarch64_neon());
            let (x, step) = (f.x(), f.param(0));
            f.ins("movz", (x, 0));
            for _ in 0..20_000 {
                f.ins("add", (x, x, step));
            }
            f.ret(x);
            f
        };
        let code = chain.compile(Abi::host()).unwrap();
        let mut clock = Clock { chain: unsafe { Kernel::load(&code).unwrap() }, calls: 1 };
        let t = ticks();
        clock.run_chain();
        clock.calls = (20_000 / (ticks() - t).max(1)).clamp(1, 1000) as u32;
        clock
    }

    fn run_chain(&self) {
        for _ in 0..self.calls {
            black_box(unsafe { self.chain.call(black_box(1)) });
        }
    }

    pub fn ticks_per_cycle(&self) -> f64 {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = ticks();
            self.run_chain();
            best = best.min((ticks() - t) as f64 / (20_000.0 * f64::from(self.calls)));
        }
        best
    }
}

/// The sides of the square SGEMM products timed: the small ones, whose speedup is reported
/// apart (`sgemm_small_speedup`: allocation, dispatch and edges weigh there), and the 192-1024
/// that `sgemm_speedup` and `sgemm_of_fma_limit` are over.
pub const SGEMM_SMALL: [usize; 5] = [32, 48, 64, 100, 128];
pub const SGEMM_SIZES: [usize; 6] = [192, 256, 384, 512, 768, 1024];

/// The SGEMM products timed that are not square (m, n, k), whose speedup is reported apart
/// (`sgemm_shapes_speedup`): a row times a large B (a matrix-vector product, B streamed from
/// memory), a few rows times it (a small batch), a matrix times a column, a product of small k on
/// C's rows 2 KiB apart, one of short k on a C larger than L2, and a tall one on a narrow B.
pub const SGEMM_SHAPES: [(usize, usize, usize); 6] =
    [(1, 4096, 4096), (8, 4096, 4096), (256, 1, 256), (512, 512, 4), (1024, 1024, 32), (4096, 64, 777)];

/// Which of the SGEMM speedups a product counts in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SgemmGroup {
    /// `sgemm_small_speedup`: the squares of [`SGEMM_SMALL`].
    Small,
    /// `sgemm_speedup` (and `sgemm_of_fma_limit` from 256): the squares of [`SGEMM_SIZES`].
    Large,
    /// `sgemm_shapes_speedup`: [`SGEMM_SHAPES`].
    Shape,
}

/// Every SGEMM product timed, (m, n, k) and group, in order.
pub fn sgemm_products() -> impl Iterator<Item = ((usize, usize, usize), SgemmGroup)> {
    let square = |group| move |size| ((size, size, size), group);
    let small = SGEMM_SMALL.into_iter().map(square(SgemmGroup::Small));
    let large = SGEMM_SIZES.into_iter().map(square(SgemmGroup::Large));
    small.chain(large).chain(SGEMM_SHAPES.into_iter().map(|shape| (shape, SgemmGroup::Shape)))
}

/// A product's name in `bench` lines and tables: its side where it is square, else m x n x k.
pub fn sgemm_label((m, n, k): (usize, usize, usize)) -> String {
    if m == n && n == k { m.to_string() } else { format!("{m}x{n}x{k}") }
}

/// The first (up to) 8 entries of `a * b` (m x k by k x n, row-major) in row-major order, in
/// plain Rust.
pub fn naive_corner(a: &[f32], b: &[f32], (m, n, k): (usize, usize, usize)) -> Vec<f32> {
    (0..(m * n).min(8)).map(|ij| (0..k).map(|p| a[ij / n * k + p] * b[p * n + ij % n]).sum()).collect()
}

/// The smallest of `speedups`, as a `bench` line named `name`.
pub fn print_smallest(name: &str, speedups: &[f64]) {
    println!("bench {name} {:.3}", speedups.iter().copied().fold(f64::INFINITY, f64::min));
}

/// Minimum cycles and nanoseconds per element over 21 trials of >= 100 us each (cycles from
/// trials the clock was steady through: see [`measure_together`]).
pub fn measure(clock: &Clock, elems: usize, mut run: impl FnMut()) -> (f64, f64) {
    let mut repeat = |reps: usize| {
        for _ in 0..reps {
            run();
        }
    };
    measure_together(clock, elems, &mut [&mut repeat])[0]
}

/// [`measure`] for several competitors at once, their trials taken in turn: the other tenants
/// of this machine change its speed over time, and taking turns makes every competitor see the
/// same conditions. `runs[i](reps)` runs competitor `i` `reps` times.
pub fn measure_together(clock: &Clock, elems: usize, runs: &mut [&mut dyn FnMut(usize)]) -> Vec<(f64, f64)> {
    let reps: Vec<usize> = runs
        .iter_mut()
        .map(|run| {
            let warm = Instant::now();
            while warm.elapsed().as_millis() < 50 {
                run(1);
            }
            let t = Instant::now();
            run(1);
            let once = t.elapsed().as_nanos().max(1) as f64;
            ((100_000.0 / once).ceil() as usize).max(1)
        })
        .collect();
    // A trial counts in cycles only when the clock read the same before and after it: a trial
    // during which the core changed speed would be converted with the wrong ratio, and the
    // minimum picks exactly those (rates above the machine's). Up to 21 such trials each, in
    // at most 105 rounds; a competitor with none keeps the minimum over all its trials.
    let mut best = vec![(f64::MAX, f64::MAX); runs.len()];
    let mut any = vec![f64::MAX; runs.len()];
    let mut steady = vec![0; runs.len()];
    // Each round takes its turns in a fresh pseudo-random order, so that no competitor always
    // runs right after the same other: on the Sapphire Rapids-class VM the trials right after
    // the FMA probe's ran 2-3 % slower (a fixed order, or one only rotated, keeps who follows
    // whom).
    let mut order: Vec<usize> = (0..runs.len()).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..105 {
        if steady.iter().all(|&n| n >= 21) {
            break;
        }
        for last in (1..order.len()).rev() {
            // xorshift64: any spread will do, and the same one every run.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(last, (seed % (last as u64 + 1)) as usize);
        }
        for &i in &order {
            let reps = reps[i];
            let before = clock.ticks_per_cycle();
            let t0 = ticks();
            let w = Instant::now();
            runs[i](reps);
            let elapsed = (ticks() - t0) as f64;
            let ns = w.elapsed().as_nanos() as f64;
            let after = clock.ticks_per_cycle();
            let cycles = elapsed / ((before + after) / 2.0) / (reps * elems) as f64;
            best[i].1 = best[i].1.min(ns / (reps * elems) as f64);
            any[i] = any[i].min(cycles);
            if (before - after).abs() <= 0.005 * before {
                best[i].0 = best[i].0.min(cycles);
                steady[i] += 1;
            }
        }
    }
    for (b, any) in best.iter_mut().zip(any) {
        if b.0 == f64::MAX {
            b.0 = any;
        }
    }
    best
}

/// [`measure_together`] over boxed competitors.
pub fn together(clock: &Clock, size: usize, runs: &mut [Box<dyn FnMut(usize) + '_>]) -> Vec<(f64, f64)> {
    let mut refs: Vec<&mut dyn FnMut(usize)> = runs.iter_mut().map(|r| &mut **r as &mut dyn FnMut(usize)).collect();
    measure_together(clock, size, &mut refs)
}

/// Checks that the intrinsics competitor computes bit for bit what peach does: the
/// comparison is between two schedules of one algorithm, not two algorithms.
pub fn same_algorithm(kernel: &str, x: &[f64], intrinsics: MapFn, peach: MapFn) {
    let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
    unsafe {
        intrinsics(x, &mut a);
        peach(x, &mut b);
    }
    let differ = a.iter().zip(&b).filter(|(p, q)| p.to_bits() != q.to_bits()).count();
    assert_eq!(differ, 0, "{kernel}: the intrinsics version differs from peach's on {differ} inputs");
}

/// `y[i] = f(x[i])` over slices.
pub type MapFn = unsafe fn(&[f64], &mut [f64]);

pub struct Row {
    pub kernel: &'static str,
    pub implementation: String,
    pub size: usize,
    pub cpe: f64,
    pub ns: f64,
}

pub fn report(rows: &mut Vec<Row>, kernel: &'static str, implementation: &str, size: usize, (cpe, ns): (f64, f64)) {
    println!("bench {kernel}_{implementation}_{size} {cpe:.4} cpe");
    println!("bench {kernel}_{implementation}_{size}_ns {ns:.4} ns");
    rows.push(Row { kernel, implementation: implementation.to_string(), size, cpe, ns });
}

/// The file's opening, before the sections.
const PREAMBLE: &str = "# Benchmarks\n\n\
    Made by `cargo bench --bench kernels`, which rewrites the section of the microarchitecture\n\
    it runs on and keeps the others. Cycles per element (cpe) from the TSC (on AArch64, the\n\
    virtual counter) calibrated against a chain of dependent adds before and after each trial (a\n\
    trial the two disagree on, the core having changed speed, does not count in cycles), and ns\n\
    per element; minimum of 21 trials, the competitors taking turns. Speedups are in cycles, but\n\
    SGEMM's, from the times and the smallest over the sizes of 192 to 1024 (over 32 to 128, apart:\n\
    `sgemm_small_speedup`; over six products that are not square, `sgemm_shapes_speedup`; its\n\
    trials last milliseconds, and a core that lowers its clock under AVX-512 load runs each\n\
    competitor at the speed its code earns; for the same reason their share of the FMA limit is\n\
    in time, against the FMA probe run in turns with them, as many FLOPs a trial: its rows in\n\
    the SGEMM table). The competitors\n\
    are the naive loop, rustc's auto-vectorisation for the core's widest ISA (AVX-512, else\n\
    AVX2; `#[target_feature]`; NEON on AArch64), on AVX-512 cores the same algorithm in\n\
    `std::arch` intrinsics (checked to give bit-identical results for exp and ln),\n\
    `f64::exp`/`f64::ln`, `libm`, `matrixmultiply`, the `gemm` crate and, where the machine has\n\
    the library, OpenBLAS (one thread). `peach_general` is peach on inputs with one value in\n\
    every 32 that sends the AVX2 exp and ln down their general path (1000 for exp, 0 for ln).\n\
    add's figures are each competitor's best of four placements of its output, a quarter page\n\
    apart, against inputs that start on a page: at L1 sizes the placement alone moves add by up\n\
    to 1.5x either way (on AArch64, one placement).\n";

/// `file` with the section headed `heading` (a `## ` line) replaced by `section` (or added,
/// sections in order of heading), the preamble rewritten.
pub fn merge_section(file: &str, heading: &str, section: &str) -> String {
    let mut sections: Vec<(String, String)> = Vec::new();
    for part in file.split("\n## ").skip(1) {
        let (head, body) = part.split_once('\n').unwrap_or((part, ""));
        sections.push((format!("## {head}"), body.trim_end().to_string()));
    }
    sections.retain(|(h, _)| h.split(" (").next() != heading.split(" (").next());
    sections.push((heading.to_string(), section.trim_end().to_string()));
    sections.sort();
    let mut out = PREAMBLE.to_string();
    for (head, body) in sections {
        out.push_str(&format!("\n{head}\n{body}\n"));
    }
    out
}
