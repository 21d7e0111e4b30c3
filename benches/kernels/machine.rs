//! What this core does, measured rather than assumed: the throughput of FMAs, loads and stores
//! of its widest vectors (zmm with AVX-512, ymm with AVX2), from loops built with peach. Each
//! kernel's limit is derived from these numbers.

use std::hint::black_box;

use peach::prelude::*;

use crate::harness::{Clock, measure};

/// Operations per core cycle, on vectors of `bits`.
#[derive(Clone, Copy)]
pub struct Limits {
    pub bits: usize,
    pub fma: f64,
    pub loads: f64,
    pub stores: f64,
    /// Loads and stores per cycle when two loads go with each store (add's mix): on some cores
    /// (this Ice Lake VM's) loads and stores share one budget of accesses.
    pub mixed: f64,
}

impl Limits {
    /// The higher of each rate: another tenant of the core (a sibling hyperthread) only ever
    /// lowers what a probe measures, so the best of several measurements spread over a run is
    /// the closest to what the core does.
    pub fn best(self, other: Limits) -> Limits {
        Limits {
            bits: self.bits,
            fma: self.fma.max(other.fma),
            loads: self.loads.max(other.loads),
            stores: self.stores.max(other.stores),
            mixed: self.mixed.max(other.mixed),
        }
    }
}

/// A loop of `iterations` rounds of `body` (which gets a 64-byte-aligned scratch pointer and 16
/// zeroed vector registers of `bits`), built for AVX-512 or AVX2.
fn probe(bits: usize, body: impl Fn(&mut Function, Reg, &[Reg])) -> Kernel<unsafe extern "C" fn(*mut u8, usize)> {
    let target = if bits == 512 { Target::x86_64_v4() } else { Target::x86_64_v3() };
    let mut f = Function::new("probe", Signature::new(&[Type::Ptr, Type::Usize], None), target);
    let (p, n) = (f.param(0), f.param(1));
    let regs: Vec<Reg> = (0..16).map(|_| if bits == 512 { f.zmm() } else { f.ymm() }).collect();
    for &r in &regs {
        f.ins("vxorpd", (r, r, r));
    }
    f.align(32);
    f.loop_block(|f, l| {
        body(f, p, &regs);
        f.ins("sub", (n, 1));
        f.ins("jnz", l.begin);
    });
    f.ret(None);
    let code = f.compile(Abi::host()).expect("the probes are valid code");
    // SAFETY: the signature is the one the code was built for.
    unsafe { Kernel::load(&code).expect("the probes load") }
}

/// The FMA probe of [`limits`]: 12 independent FMAs of `bits` per round, `n` rounds; its
/// pointer is not read.
pub fn fma_probe(bits: usize) -> Kernel<unsafe extern "C" fn(*mut u8, usize)> {
    probe(bits, |f, _, r| {
        for &a in &r[..FMA_CHAINS] {
            f.ins("vfmadd231pd", (a, a, a));
        }
    })
}

/// The FMA probe's independent chains (enough to fill two FMA units of four cycles' latency).
pub const FMA_CHAINS: usize = 12;

/// Operations per cycle of a probe doing `per_round` of them per round.
fn rate(clock: &Clock, per_round: usize, k: &Kernel<unsafe extern "C" fn(*mut u8, usize)>, scratch: *mut u8) -> f64 {
    const ROUNDS: usize = 10_000;
    // SAFETY: `k` outlives every call of `f` (they all happen in this function).
    let f = unsafe { k.get() };
    let (cycles_per_op, _) = measure(clock, ROUNDS * per_round, || unsafe { f(black_box(scratch), ROUNDS) });
    1.0 / cycles_per_op
}

/// Measures FMA, load and store throughput on vectors of `bits` (12 FMA chains, 8 loads, 4
/// stores, or 8 loads with 4 stores per round).
pub fn limits(clock: &Clock, bits: usize) -> Limits {
    let mut scratch = crate::harness::Aligned::new(1024, |_| 0u8);
    let s = scratch.slice_mut().as_mut_ptr();
    let bytes = bits / 8;
    let fma = fma_probe(bits);
    let loads = probe(bits, |f, p, r| {
        for (i, &a) in r[..8].iter().enumerate() {
            f.ins("vmovupd", (a, [p + bytes * i]));
        }
    });
    let stores = probe(bits, |f, p, r| {
        for i in 0..4 {
            f.ins("vmovupd", ([p + bytes * i], r[0]));
        }
    });
    // Loads from eight lines, stores to four others (no load reads what a store wrote).
    let mixed = probe(bits, |f, p, r| {
        for (i, &a) in r[..8].iter().enumerate() {
            f.ins("vmovupd", (a, [p + bytes * i]));
            if i % 2 == 1 {
                f.ins("vmovupd", ([p + bytes * (8 + i / 2)], r[8]));
            }
        }
    });
    Limits {
        bits,
        fma: rate(clock, FMA_CHAINS, &fma, s),
        loads: rate(clock, 8, &loads, s),
        stores: rate(clock, 4, &stores, s),
        mixed: rate(clock, 12, &mixed, s),
    }
}
