//! The cost of a fat binary's dispatch: a call through it minus a direct call of the same
//! variant, measured in one run on a kernel that does almost nothing.
//!
//! Prints `bench dispatch_overhead <nanoseconds> ns`. Run with `cargo bench --bench dispatch`.

use peach::prelude::*;

peach_fn! {
    #[variants(x86_64::haswell, x86_64::baseline, aarch64::neon)]
    unsafe fn inc(x: u64) -> u64 {
        if target.has_neon() { ADD(x, x, 1); } else { ADD(x, 1); }
        RETURN(x);
    }
}

#[cfg(target_arch = "x86_64")]
fn per_call(f: impl Fn(u64) -> u64) -> f64 {
    use std::hint::black_box;
    use std::time::Instant;
    const CALLS: u64 = 20_000_000;
    let mut best = f64::MAX;
    for _ in 0..7 {
        let t = Instant::now();
        let mut x = 0u64;
        for _ in 0..CALLS {
            x = f(black_box(x));
        }
        black_box(x);
        best = best.min(t.elapsed().as_nanos() as f64 / CALLS as f64);
    }
    best
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    {
        unsafe { inc(0) }; // resolve
        // Direct calls of the chosen variant (monomorphised: no function pointer involved).
        let direct = match INC_DISPATCH.active() {
            Some("haswell") => per_call(|x| unsafe { inc_haswell(x) }),
            _ => per_call(|x| unsafe { inc_x86_64(x) }),
        };
        let dispatched = per_call(|x| unsafe { inc(x) });
        println!("bench dispatch_direct_call {direct:.3} ns");
        println!("bench dispatch_call {dispatched:.3} ns");
        println!("bench dispatch_overhead {:.3} ns", (dispatched - direct).max(0.0));
    }
}
