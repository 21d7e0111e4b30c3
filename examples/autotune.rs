//! Autotuning a JIT kernel: the library's streaming f64 sum has two generation-time parameters
//! (accumulators, prefetch distance). `Tune` builds each pair, times it on a representative
//! array, keeps the fastest that sums right, and caches the choice for this processor: a second
//! run reads it back without measuring (`PEACH_TUNE=refresh` measures again, `off` takes the
//! first pair). Run with `cargo run --release --example autotune`.

pub fn main() {
    // (AVX-512, AVX2 or NEON variants: an older x86-64 CPU has none of them.)
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    {
        #[cfg(target_arch = "x86_64")]
        if !peach::Target::native_x86_64().has_avx2() {
            println!("this CPU lacks AVX2: nothing to tune");
            return;
        }
        let data: Vec<f64> = (0..1 << 16).map(|i| (i % 7) as f64).collect();
        let want: f64 = data.iter().sum();
        let space = [(4usize, 0usize), (2, 0), (8, 0), (4, 512), (8, 1024)];
        let tuned = peach::runtime::tune::Tune::new("streaming::sum_f64", space)
            .budget(std::time::Duration::from_millis(500))
            .run(
                |&(unroll, prefetch)| peach::kernels::streaming::sum_f64(unroll, prefetch),
                // SAFETY (both calls): `data` holds 2^16 doubles, a multiple of 8 * 8.
                |k| {
                    std::hint::black_box(unsafe { k.call(data.as_ptr(), data.len()) });
                },
                |k| unsafe { k.call(data.as_ptr(), data.len()) } == want,
            )
            .expect("some pair sums right");
        println!("chose (unroll, prefetch) = {:?} ({:?})", tuned.param, tuned.how);
        for (i, t) in &tuned.timings {
            println!(
                "  {:?}: {}",
                space[*i],
                t.map_or("failed".into(), |t| format!("{:.1} us", t.as_secs_f64() * 1e6))
            );
        }
        // SAFETY: as above.
        assert_eq!(unsafe { tuned.kernel.call(data.as_ptr(), data.len()) }, want);
    }
}
