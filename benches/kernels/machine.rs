//! What this core does, measured rather than assumed: the throughput of zmm FMAs, loads and
//! stores, from loops built with peach. Each kernel's limit is derived from these numbers.

use std::hint::black_box;

use peach::prelude::*;

use crate::harness::{Clock, measure};

/// Operations per core cycle.
pub struct Limits {
    pub fma: f64,
    pub loads: f64,
    pub stores: f64,
}

/// A loop of `iterations` rounds of `body` (which gets a 64-byte-aligned scratch pointer and 16
/// zeroed zmm registers), built for AVX-512.
fn probe(body: impl Fn(&mut Function, Reg, &[Reg])) -> Kernel<unsafe extern "C" fn(*mut u8, usize)> {
    let mut f = Function::new("probe", Signature::new(&[Type::Ptr, Type::Usize], None), Target::x86_64_v4());
    let (p, n) = (f.param(0), f.param(1));
    let regs: Vec<Reg> = (0..16).map(|_| f.zmm()).collect();
    for &r in &regs {
        f.ins("vpxorq", (r, r, r));
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

/// Operations per cycle of a probe doing `per_round` of them per round.
fn rate(clock: &Clock, per_round: usize, k: &Kernel<unsafe extern "C" fn(*mut u8, usize)>, scratch: *mut u8) -> f64 {
    const ROUNDS: usize = 10_000;
    // SAFETY: `k` outlives every call of `f` (they all happen in this function).
    let f = unsafe { k.get() };
    let (cycles_per_op, _) = measure(clock, ROUNDS * per_round, || unsafe { f(black_box(scratch), ROUNDS) });
    1.0 / cycles_per_op
}

/// Measures FMA, load and store throughput (12 FMA chains, 8 loads, 4 stores per round).
pub fn limits(clock: &Clock) -> Limits {
    let mut scratch = crate::harness::Aligned::new(1024, |_| 0u8);
    let s = scratch.slice_mut().as_mut_ptr();
    let fma = probe(|f, _, r| {
        for &a in &r[..12] {
            f.ins("vfmadd231pd", (a, a, a));
        }
    });
    let loads = probe(|f, p, r| {
        for (i, &a) in r[..8].iter().enumerate() {
            f.ins("vmovupd", (a, [p + 64 * i]));
        }
    });
    let stores = probe(|f, p, r| {
        for i in 0..4 {
            f.ins("vmovupd", ([p + 64 * i], r[0]));
        }
    });
    Limits { fma: rate(clock, 12, &fma, s), loads: rate(clock, 8, &loads, s), stores: rate(clock, 4, &stores, s) }
}
