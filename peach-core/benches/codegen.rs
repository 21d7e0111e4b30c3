//! Code-generation speed: the 6x16 SGEMM micro-kernel (per k-step: 2 VMOVUPS, 6 VBROADCASTSS,
//! 12 VFMADD231PS, a fresh virtual register for every loaded value) unrolled to about 1k, 10k,
//! 100k and 1M instructions, through the whole pipeline (build, allocate, lower, encode).
//!
//! Prints `bench codegen_<size> <instructions per second> inst/s`.
//! Run with `cargo bench -p peach-core --bench codegen`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use peach_core::prelude::*;

fn sgemm_6x16(steps: usize) -> (usize, CodeObject) {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("sgemm_6x16", sig, Target::x86_64_v3());
    let (a, b, c) = (f.param(0), f.param(1), f.param(2));
    let acc: Vec<Reg> = (0..12).map(|_| f.ymm()).collect();
    for &r in &acc {
        f.ins("vxorps", (r, r, r));
    }
    for k in 0..steps {
        let b0 = f.ymm();
        let b1 = f.ymm();
        f.ins("vmovups", (b0, [b + (k * 64) % 4096]));
        f.ins("vmovups", (b1, [b + (k * 64 + 32) % 4096]));
        for row in 0..6 {
            let a_bcast = f.ymm();
            f.ins("vbroadcastss", (a_bcast, Mem::from([a + (k * 24 + row * 4) % 4096]).sized(4)));
            f.ins("vfmadd231ps", (acc[2 * row], a_bcast, b0));
            f.ins("vfmadd231ps", (acc[2 * row + 1], a_bcast, b1));
        }
    }
    for (i, &r) in acc.iter().enumerate() {
        f.ins("vmovups", ([c + i * 32], r));
    }
    f.ret(None);
    let n = f.len();
    (n, f.compile(Abi::SysV).expect("the kernel compiles"))
}

fn main() {
    black_box(sgemm_6x16(1)); // builds the form tables once, outside the timings
    for (name, steps) in [("1k", 50), ("10k", 500), ("100k", 5_000), ("1m", 50_000)] {
        let mut best = Duration::MAX;
        let mut insts = 0;
        let budget = Instant::now();
        let mut runs = 0;
        while runs < 3 || (budget.elapsed() < Duration::from_secs(2) && runs < 5000) {
            let t = Instant::now();
            let (n, code) = sgemm_6x16(steps);
            let dt = t.elapsed();
            black_box(code);
            insts = n;
            best = best.min(dt);
            runs += 1;
        }
        let rate = insts as f64 / best.as_secs_f64();
        println!("bench codegen_{name} {rate:.0} inst/s");
    }
}
