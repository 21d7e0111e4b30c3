//! Code-generation speed: the 6x16 SGEMM micro-kernel (per k-step: 2 VMOVUPS, 6 VBROADCASTSS,
//! 12 VFMADD231PS, a fresh virtual register for every loaded value) unrolled to about 1k, 10k,
//! 100k and 1M instructions, through the whole pipeline (build, allocate, lower, encode).
//!
//! Also: random control-flow graphs in the shape of asmjit's register-allocation benchmark
//! (`peach_core::random::branchy`: c blocks of 15 scalar-double operations and a `jns` to a random
//! block, 24 long-lived xmm values, on an AVX-512 target), with the peak memory they take; and the
//! fixed cost of small functions (an empty one, a 20-instruction dot-product loop).
//!
//! The same kernel in zmm registers on an AVX-512 target (6x32, EVEX forms) and in SSE2 on
//! x86-64-v2 (6x8, two-operand legacy forms: MOVSS and SHUFPS broadcast, MOVAPS copies, MULPS and
//! ADDPS) at 1k, 10k and 100k instructions.
//!
//! Prints `bench codegen_<size> <instructions per second> inst/s`, `bench codegen_zmm_<size> ...`,
//! `bench codegen_sse_<size> ...`,
//! `bench codegen_cfg_<c> ...`,
//! `bench codegen_cfg_bytes_per_inst <bytes>`, `bench compile_empty <us> us`,
//! `bench compile_dot <us> us`, `bench load_dot <us> us` (compile, load into executable memory,
//! call, drop), `bench load_only <us> us` (load and drop) and `bench error_unknown_mnemonic <us> us`
//! (a misspelt instruction's error, with its suggestion). Run with `cargo bench -p peach-core --bench codegen`
//! (`-- cfg`, `-- sgemm` or `-- small` for one group).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use peach_core::prelude::*;
use peach_core::random::{Seeded, branchy};
use peach_core::regs_x86_64::XMM0;

/// The system allocator, counting (while `COUNTING` is set) the bytes live, the peak since the
/// last reset and the number of allocations.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grow(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
    }
    fn shrink(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(size, Ordering::Relaxed);
        }
    }
    /// Counts from now on; returns the bytes live.
    fn start() -> usize {
        COUNTING.store(true, Ordering::Relaxed);
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        CALLS.store(0, Ordering::Relaxed);
        LIVE.load(Ordering::Relaxed)
    }
    /// Stops counting; returns the peak and the number of allocations since `start`.
    fn stop() -> (usize, usize) {
        COUNTING.store(false, Ordering::Relaxed);
        (PEAK.load(Ordering::Relaxed), CALLS.load(Ordering::Relaxed))
    }
}

// SAFETY: every call forwards to the system allocator with the caller's arguments; the counters
// only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Counting::grow(layout.size());
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Counting::shrink(layout.size());
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Counting::grow(new_size);
        Counting::shrink(layout.size());
        // SAFETY: forwarded as `GlobalAlloc::realloc` requires.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The registers and forms of a micro-kernel.
#[derive(Clone, Copy, PartialEq)]
enum Vectors {
    /// SSE2 on x86-64-v2: 6x8 in xmm registers, two-operand legacy forms.
    Sse,
    /// x86-64-v3: 6x16 in ymm registers, VEX forms.
    Ymm,
    /// x86-64-v4: 6x32 in zmm registers, EVEX forms.
    Zmm,
}

/// The 6x16 micro-kernel unrolled `steps` times in ymm registers, or its 6x8 SSE2 or 6x32 zmm
/// twin.
fn sgemm_kernel(steps: usize, vectors: Vectors) -> (usize, CodeObject) {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr], None);
    let target = match vectors {
        Vectors::Sse => Target::x86_64_v2(),
        Vectors::Ymm => Target::x86_64_v3(),
        Vectors::Zmm => Target::x86_64_v4(),
    };
    let mut f = Function::new("sgemm_6x16", sig, target);
    let (a, b, c) = (f.param(0), f.param(1), f.param(2));
    let (width, sse) = match vectors {
        Vectors::Sse => (16, true),
        Vectors::Ymm => (32, false),
        Vectors::Zmm => (64, false),
    };
    let vreg = |f: &mut Function| match vectors {
        Vectors::Sse => f.xmm(),
        Vectors::Ymm => f.ymm(),
        Vectors::Zmm => f.zmm(),
    };
    let acc: Vec<Reg> = (0..12).map(|_| vreg(&mut f)).collect();
    for &r in &acc {
        if sse {
            f.ins("xorps", (r, r));
        } else {
            f.ins("vxorps", (r, r, r));
        }
    }
    for k in 0..steps {
        let b0 = vreg(&mut f);
        let b1 = vreg(&mut f);
        let load = if sse { "movups" } else { "vmovups" };
        f.ins(load, (b0, [b + (k * 2 * width) % 4096]));
        f.ins(load, (b1, [b + (k * 2 * width + width) % 4096]));
        for row in 0..6 {
            let a_bcast = vreg(&mut f);
            let a_at = Mem::from([a + (k * 24 + row * 4) % 4096]).sized(4);
            if sse {
                let t = vreg(&mut f);
                f.ins("movss", (a_bcast, a_at));
                f.ins("shufps", (a_bcast, a_bcast, 0));
                f.ins("movaps", (t, a_bcast));
                f.ins("mulps", (t, b0));
                f.ins("addps", (acc[2 * row], t));
                f.ins("mulps", (a_bcast, b1));
                f.ins("addps", (acc[2 * row + 1], a_bcast));
            } else {
                f.ins("vbroadcastss", (a_bcast, a_at));
                f.ins("vfmadd231ps", (acc[2 * row], a_bcast, b0));
                f.ins("vfmadd231ps", (acc[2 * row + 1], a_bcast, b1));
            }
        }
    }
    for (i, &r) in acc.iter().enumerate() {
        f.ins(if sse { "movups" } else { "vmovups" }, ([c + i * width], r));
    }
    f.ret(None);
    let n = f.len();
    (n, f.compile(Abi::SysV).expect("the kernel compiles"))
}

/// `f32 dot(const f32 *a, const f32 *b, usize n)` for n a multiple of 32: four ymm
/// accumulators in a loop, then a horizontal sum (20 instructions).
fn dot() -> CodeObject {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], Some(Type::F32));
    let mut f = Function::new("dot", sig, Target::x86_64_v3());
    let (a, b, n) = (f.param(0), f.param(1), f.param(2));
    let acc: Vec<Reg> = (0..4).map(|_| f.ymm()).collect();
    for &r in &acc {
        f.ins("vxorps", (r, r, r));
    }
    let top = f.label();
    f.bind(top);
    for (i, &r) in acc.iter().enumerate() {
        let x = f.ymm();
        f.ins("vmovups", (x, [a + 32 * i]));
        f.ins("vfmadd231ps", (r, x, [b + 32 * i]));
    }
    f.ins("add", (a, 128));
    f.ins("add", (b, 128));
    f.ins("sub", (n, 32));
    f.ins("jnz", top);
    f.ins("vaddps", (acc[0], acc[0], acc[1]));
    f.ins("vaddps", (acc[2], acc[2], acc[3]));
    f.ins("vaddps", (acc[0], acc[0], acc[2]));
    let (hi, sum) = (f.xmm(), f.xmm());
    f.ins("vextractf128", (hi, acc[0], 1));
    f.ins("vaddps", (sum, acc[0].xmm(), hi));
    f.ins("vhaddps", (sum, sum, sum));
    f.ins("vhaddps", (XMM0, sum, sum));
    f.ret(XMM0);
    f.compile(Abi::SysV).expect("dot compiles")
}

/// The fastest of several runs of `build` (at least 3, for up to `secs` seconds), and what the
/// last returned.
fn best_of<T>(secs: f64, mut build: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let budget = Instant::now();
    let mut runs = 0;
    loop {
        let t = Instant::now();
        let out = build();
        best = best.min(t.elapsed());
        runs += 1;
        if runs >= 3 && (budget.elapsed().as_secs_f64() > secs || runs >= 100_000) {
            return (best, out);
        }
        black_box(out);
    }
}

fn sgemm() {
    for (name, steps) in [("1k", 50), ("10k", 500), ("100k", 5_000), ("1m", 50_000)] {
        let (best, (insts, code)) = best_of(2.0, || sgemm_kernel(steps, Vectors::Ymm));
        black_box(code);
        let rate = insts as f64 / best.as_secs_f64();
        println!("bench codegen_{name} {rate:.0} inst/s");
    }
    // (The SSE2 kernel takes 44 instructions a step, the others 20.)
    for (vectors, prefix, steps) in [(Vectors::Zmm, "zmm", [50, 500, 5_000]), (Vectors::Sse, "sse", [23, 227, 2_273])] {
        for (name, steps) in ["1k", "10k", "100k"].into_iter().zip(steps) {
            let (best, (insts, code)) = best_of(2.0, || sgemm_kernel(steps, vectors));
            black_box(code);
            let rate = insts as f64 / best.as_secs_f64();
            println!("bench codegen_{prefix}_{name} {rate:.0} inst/s");
        }
    }
}

fn cfg() {
    for c in [16, 256, 1024, 4096, 16384, 65536] {
        let program = branchy(&mut Seeded(0x1234), c, 24, Target::x86_64_v4());
        let insts = program.function.len();
        let (best, code) = best_of(2.0, || program.function.compile(Abi::SysV).expect("the CFG compiles"));
        drop(code);
        // Memory is measured on one more compilation, outside the timings, on a fresh thread (the
        // memory a thread keeps between compilations counts).
        let base = Counting::start();
        std::thread::scope(|s| {
            s.spawn(|| black_box(program.function.compile(Abi::SysV).expect("the CFG compiles")));
        });
        let peak = Counting::stop().0 - base;
        println!("bench codegen_cfg_{c} {:.0} inst/s", insts as f64 / best.as_secs_f64());
        if c == 65536 {
            println!("bench codegen_cfg_bytes_per_inst {:.0} bytes", peak as f64 / insts as f64);
        }
    }
}

fn empty() -> CodeObject {
    let mut f = Function::new("empty", Signature::default(), Target::x86_64_v3());
    f.ret(None);
    f.compile(Abi::SysV).expect("an empty function compiles")
}

/// A line with a misspelt instruction: the error and its did-you-mean.
fn misspelt() -> Error {
    let mut f = Function::new("typo", Signature::default(), Target::x86_64_v3());
    f.ins("vfmad231ps", (XMM0, XMM0, XMM0));
    f.ret(None);
    f.compile(Abi::SysV).expect_err("the name is misspelt")
}

fn small() {
    let (best, e) = best_of(1.0, misspelt);
    assert!(e.to_string().contains("did you mean"), "{e}");
    println!("bench error_unknown_mnemonic {:.3} us", best.as_secs_f64() * 1e6);
    for (name, build) in [("empty", empty as fn() -> CodeObject), ("dot", dot)] {
        let (best, code) = best_of(2.0, build);
        drop(code);
        Counting::start();
        black_box(build());
        let allocations = Counting::stop().1;
        println!("bench compile_{name} {:.3} us", best.as_secs_f64() * 1e6);
        println!("bench compile_{name}_allocations {allocations} allocations");
    }
    // Compile, load, call and drop (the call needs AVX2 and FMA).
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        let (a, b) = (vec![1.0f32; 64], vec![2.0f32; 64]);
        let (best, sum) = best_of(2.0, || {
            let code = dot();
            type Dot = unsafe extern "sysv64" fn(*const f32, *const f32, usize) -> f32;
            // SAFETY: `dot` has this signature in System V; the CPU has AVX2 and FMA.
            let k = unsafe { peach_runtime::Kernel::<Dot>::load(&code) }.expect("dot loads");
            // SAFETY: 64 floats at each pointer, a multiple of 32.
            unsafe { k.call(a.as_ptr(), b.as_ptr(), 64) }
        });
        assert_eq!(sum, 128.0);
        println!("bench load_dot {:.3} us", best.as_secs_f64() * 1e6);
        let code = dot();
        let (best, _) = best_of(2.0, || {
            // SAFETY: loaded and dropped, never called.
            drop(unsafe { peach_runtime::Kernel::<unsafe extern "sysv64" fn()>::load(&code) }.expect("dot loads"))
        });
        println!("bench load_only {:.3} us", best.as_secs_f64() * 1e6);
    }
}

fn main() {
    black_box(sgemm_kernel(1, Vectors::Ymm)); // builds the form tables once, outside the timings
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let run = |group: &str| only.as_deref().is_none_or(|o| o == group);
    if run("sgemm") {
        sgemm();
    }
    if run("small") {
        small();
    }
    if run("cfg") {
        cfg();
    }
}
