//! peach's streaming kernels against what Rust offers, side by side in one process: the naive
//! loop, rustc's auto-vectorisation for the same ISA (`#[target_feature]`), the same algorithm in
//! `std::arch` intrinsics, and peach. Same 64-byte-aligned inputs for everyone, sizes for L1, L2
//! and L3.
//!
//! Cycles per element come from the TSC calibrated against a chain of dependent `add`s (one core
//! cycle each), because this VM's TSC is not the core clock and it has no PMU. Prints
//! `bench <kernel>_<implementation>_<size> <cycles> cpe` (and `..._ns` in ns per element),
//! `bench <kernel>_speedup <best competitor / peach>`, and writes the table to BENCHMARKS.md.
//!
//! Run with `cargo bench --bench kernels`.

#[cfg(target_arch = "x86_64")]
mod bench {
    use std::alloc::{Layout, alloc_zeroed, dealloc};
    use std::arch::x86_64::*;
    use std::hint::black_box;
    use std::time::Instant;

    use peach::kernels::streaming::{dot_f32, sum_f64};
    use peach::prelude::*;

    /// A 64-byte-aligned buffer.
    pub struct Aligned<T: Copy> {
        ptr: *mut T,
        len: usize,
    }

    impl<T: Copy> Aligned<T> {
        pub fn new(len: usize, f: impl Fn(usize) -> T) -> Self {
            let layout = Layout::from_size_align(len * size_of::<T>(), 64).unwrap();
            let ptr = unsafe { alloc_zeroed(layout) } as *mut T;
            assert!(!ptr.is_null());
            for i in 0..len {
                unsafe { ptr.add(i).write(f(i)) };
            }
            Aligned { ptr, len }
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
            let layout = Layout::from_size_align(self.len * size_of::<T>(), 64).unwrap();
            unsafe { dealloc(self.ptr as *mut u8, layout) };
        }
    }

    /// TSC ticks per core cycle, from a chain of 20,000 dependent adds built with peach.
    pub struct Clock {
        chain: Kernel<unsafe extern "C" fn() -> u64>,
    }

    impl Clock {
        pub fn new() -> Clock {
            let mut f = Function::new("chain", Signature::new(&[], Some(Type::U64)), Target::x86_64_baseline());
            let x = f.gp64();
            f.ins("xor", (x.r32(), x.r32()));
            for _ in 0..20_000 {
                f.ins("add", (x, 1));
            }
            f.ret(x);
            let code = f.compile(Abi::host()).unwrap();
            Clock { chain: unsafe { Kernel::load(&code).unwrap() } }
        }

        pub fn ticks_per_cycle(&self) -> f64 {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = unsafe { _rdtsc() };
                black_box(unsafe { (self.chain.get())() });
                best = best.min((unsafe { _rdtsc() } - t) as f64 / 20_000.0);
            }
            best
        }
    }

    /// Minimum cycles and nanoseconds per element over 21 trials of >= 100 us each.
    pub fn measure(clock: &Clock, elems: usize, mut run: impl FnMut()) -> (f64, f64) {
        let warm = Instant::now();
        while warm.elapsed().as_millis() < 50 {
            run();
        }
        let t = Instant::now();
        run();
        let once = t.elapsed().as_nanos().max(1) as f64;
        let reps = ((100_000.0 / once).ceil() as usize).max(1);
        let (mut cpe, mut ns) = (f64::MAX, f64::MAX);
        for _ in 0..21 {
            let tpc = clock.ticks_per_cycle();
            let t0 = unsafe { _rdtsc() };
            let w = Instant::now();
            for _ in 0..reps {
                run();
            }
            let ticks = (unsafe { _rdtsc() } - t0) as f64;
            ns = ns.min(w.elapsed().as_nanos() as f64 / (reps * elems) as f64);
            cpe = cpe.min(ticks / tpc / (reps * elems) as f64);
        }
        (cpe, ns)
    }

    // ---- competitors: f32 dot ----

    pub fn dot_naive(x: &[f32], y: &[f32]) -> f32 {
        x.iter().zip(y).map(|(a, b)| a * b).sum()
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    pub fn dot_autovec(x: &[f32], y: &[f32]) -> f32 {
        let mut acc = [0f32; 16];
        for (a, b) in x.chunks_exact(16).zip(y.chunks_exact(16)) {
            for i in 0..16 {
                acc[i] += a[i] * b[i];
            }
        }
        acc.iter().sum()
    }

    #[target_feature(enable = "avx512f")]
    pub fn dot_intrinsics(x: &[f32], y: &[f32]) -> f32 {
        unsafe {
            let mut acc = [_mm512_setzero_ps(); 4];
            let mut i = 0;
            while i + 64 <= x.len() {
                for (k, a) in acc.iter_mut().enumerate() {
                    let xv = _mm512_loadu_ps(x.as_ptr().add(i + 16 * k));
                    let yv = _mm512_loadu_ps(y.as_ptr().add(i + 16 * k));
                    *a = _mm512_fmadd_ps(xv, yv, *a);
                }
                i += 64;
            }
            let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
            _mm512_reduce_add_ps(s)
        }
    }

    // ---- competitors: f64 sum ----

    pub fn sum_naive(x: &[f64]) -> f64 {
        x.iter().sum()
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2")]
    pub fn sum_autovec(x: &[f64]) -> f64 {
        let mut acc = [0f64; 32];
        for c in x.chunks_exact(32) {
            for i in 0..32 {
                acc[i] += c[i];
            }
        }
        acc.iter().sum()
    }

    #[target_feature(enable = "avx512f")]
    pub fn sum_intrinsics(x: &[f64]) -> f64 {
        unsafe {
            let mut acc = [_mm512_setzero_pd(); 4];
            let mut i = 0;
            while i + 32 <= x.len() {
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_add_pd(*a, _mm512_loadu_pd(x.as_ptr().add(i + 8 * k)));
                }
                i += 32;
            }
            _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])))
        }
    }

    // ---- competitors: i32 add ----

    pub fn add_naive(a: &[i32], b: &[i32], c: &mut [i32]) {
        for i in 0..c.len() {
            c[i] = a[i].wrapping_add(b[i]);
        }
    }

    #[target_feature(enable = "avx512f,avx512vl,avx2")]
    pub fn add_autovec(a: &[i32], b: &[i32], c: &mut [i32]) {
        for ((x, y), z) in a.iter().zip(b).zip(c.iter_mut()) {
            *z = x.wrapping_add(*y);
        }
    }

    #[target_feature(enable = "avx512f")]
    pub fn add_intrinsics(a: &[i32], b: &[i32], c: &mut [i32]) {
        unsafe {
            let mut i = 0;
            while i + 64 <= c.len() {
                for k in 0..4 {
                    let x = _mm512_loadu_si512(a.as_ptr().add(i + 16 * k).cast());
                    let y = _mm512_loadu_si512(b.as_ptr().add(i + 16 * k).cast());
                    _mm512_storeu_si512(c.as_mut_ptr().add(i + 16 * k).cast(), _mm512_add_epi32(x, y));
                }
                i += 64;
            }
        }
    }

    // ---- competitors: f64 exp ----

    pub fn exp_std(x: &[f64], y: &mut [f64]) {
        for (a, b) in x.iter().zip(y.iter_mut()) {
            *b = a.exp();
        }
    }

    pub fn exp_libm(x: &[f64], y: &mut [f64]) {
        for (a, b) in x.iter().zip(y.iter_mut()) {
            *b = libm::exp(*a);
        }
    }

    /// The same algorithm as peach's `exp_f64` AVX-512 variant, in intrinsics: the 1/16 shifter,
    /// a two-part ln2, a degree-7 polynomial, the 16-entry table of 2^(j/16) read with
    /// permutes and VSCALEFPD.
    #[target_feature(enable = "avx512f")]
    pub fn exp_intrinsics(x: &[f64], y: &mut [f64]) {
        const HI: [u64; 16] = [
            0x3FF0000000000000,
            0x3FF0B5586CF9890F,
            0x3FF172B83C7D517B,
            0x3FF2387A6E756238,
            0x3FF306FE0A31B715,
            0x3FF3DEA64C123422,
            0x3FF4BFDAD5362A27,
            0x3FF5AB07DD485429,
            0x3FF6A09E667F3BCD,
            0x3FF7A11473EB0187,
            0x3FF8ACE5422AA0DB,
            0x3FF9C49182A3F090,
            0x3FFAE89F995AD3AD,
            0x3FFC199BDD85529C,
            0x3FFD5818DCFBA487,
            0x3FFEA4AFA2A490DA,
        ];
        const LO: [u64; 16] = [
            0x0000000000000000,
            0x3C98A62E4ADC610B,
            0xBC819041B9D78A76,
            0x3C99B07EB6C70573,
            0x3C86F46AD23182E4,
            0x3C8ADA0911F09EBC,
            0x3C7D4397AFEC42E2,
            0x3C96324C054647AD,
            0xBC9BDD3413B26456,
            0xBC841577EE04992F,
            0x3C96E9F156864B27,
            0x3C7C7C46B071F2BE,
            0x3C97A1CD345DCC81,
            0x3C811065895048DD,
            0x3C82ED02D75B3707,
            0xBC9E9C23179C2893,
        ];
        unsafe {
            let table = |t: &[u64; 16], half: usize| _mm512_loadu_pd(t[8 * half..].as_ptr().cast());
            let (hi_a, hi_b, lo_a, lo_b) = (table(&HI, 0), table(&HI, 1), table(&LO, 0), table(&LO, 1));
            let shifter = _mm512_set1_pd(422212465065984.0);
            let mut coeffs = [0.0f64; 6];
            let mut f = 1.0;
            for k in 1..8 {
                f /= k as f64;
                if k >= 2 {
                    coeffs[7 - k] = f;
                }
            }
            for i in (0..x.len()).step_by(8) {
                let mut t = _mm512_loadu_pd(x.as_ptr().add(i));
                t = _mm512_max_pd(_mm512_set1_pd(-746.0), t);
                t = _mm512_min_pd(_mm512_set1_pd(746.0), t);
                let u = _mm512_fmadd_pd(t, _mm512_set1_pd(std::f64::consts::LOG2_E), shifter);
                let nk = _mm512_sub_pd(u, shifter);
                let mut r = _mm512_fnmadd_pd(nk, _mm512_set1_pd(std::f64::consts::LN_2), t);
                r = _mm512_fnmadd_pd(nk, _mm512_set1_pd(2.3190468138462996e-17), r);
                let mut p = _mm512_set1_pd(coeffs[0]);
                for c in &coeffs[1..] {
                    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(*c));
                }
                p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
                let idx = _mm512_castpd_si512(u);
                let th = _mm512_permutex2var_pd(hi_a, idx, hi_b);
                let tl = _mm512_permutex2var_pd(lo_a, idx, lo_b);
                p = _mm512_add_pd(_mm512_fmadd_pd(p, _mm512_mul_pd(r, th), tl), th);
                _mm512_storeu_pd(y.as_mut_ptr().add(i), _mm512_scalef_pd(p, nk));
            }
        }
    }

    // ---- competitors: f64 ln ----

    pub fn ln_std(x: &[f64], y: &mut [f64]) {
        for (a, b) in x.iter().zip(y.iter_mut()) {
            *b = a.ln();
        }
    }

    pub fn ln_libm(x: &[f64], y: &mut [f64]) {
        for (a, b) in x.iter().zip(y.iter_mut()) {
            *b = libm::log(*a);
        }
    }

    /// The same algorithm as peach's `ln_f64`, in AVX-512 intrinsics.
    #[target_feature(enable = "avx512f")]
    pub fn ln_intrinsics(x: &[f64], y: &mut [f64]) {
        unsafe {
            let mut coeffs = [0.0f64; 12];
            for (i, c) in coeffs.iter_mut().enumerate() {
                *c = 2.0 / (25.0 - 2.0 * i as f64);
            }
            for i in (0..x.len()).step_by(8) {
                let v = _mm512_loadu_pd(x.as_ptr().add(i));
                let m = _mm512_getmant_pd::<_MM_MANT_NORM_P75_1P5, _MM_MANT_SIGN_NAN>(v);
                let e = _mm512_sub_pd(_mm512_getexp_pd(v), _mm512_getexp_pd(m));
                let f = _mm512_sub_pd(m, _mm512_set1_pd(1.0));
                let s = _mm512_div_pd(f, _mm512_add_pd(f, _mm512_set1_pd(2.0)));
                let z = _mm512_mul_pd(s, s);
                let mut r = _mm512_set1_pd(coeffs[0]);
                for c in &coeffs[1..] {
                    r = _mm512_fmadd_pd(r, z, _mm512_set1_pd(*c));
                }
                r = _mm512_mul_pd(r, z);
                let hfsq = _mm512_mul_pd(_mm512_mul_pd(f, f), _mm512_set1_pd(0.5));
                let t = _mm512_add_pd(hfsq, r);
                let elo = _mm512_fmadd_pd(s, t, _mm512_mul_pd(e, _mm512_set1_pd(1.9082149292705877e-10)));
                let inner = _mm512_sub_pd(_mm512_sub_pd(hfsq, elo), f);
                let mut res = _mm512_sub_pd(_mm512_mul_pd(e, _mm512_set1_pd(0.6931471803691238)), inner);
                let zero = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(v, _mm512_setzero_pd());
                res = _mm512_mask_mov_pd(res, zero, _mm512_set1_pd(f64::NEG_INFINITY));
                _mm512_storeu_pd(y.as_mut_ptr().add(i), res);
            }
        }
    }

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

    pub fn run() {
        let host = Target::native_x86_64();
        if !(host.has_avx512f() && host.has_avx512vl()) {
            println!("this CPU lacks AVX-512: the competitors' AVX-512 code cannot run, so no table");
            return;
        }
        let clock = Clock::new();
        // The core clock ramps up under load: half a second of work before any timing.
        let warm = Instant::now();
        while warm.elapsed().as_millis() < 500 {
            black_box(clock.ticks_per_cycle());
        }
        println!("bench tsc_ticks_per_cycle {:.4}", clock.ticks_per_cycle());
        let mut rows = Vec::new();

        for size in [2048usize, 32 * 1024, 1 << 20] {
            let x = Aligned::new(size, |i| ((i * 7) % 23) as f32 * 0.25 - 2.0);
            let y = Aligned::new(size + 16, |i| ((i * 5) % 17) as f32 * 0.5 - 4.0);
            let (xs, ys) = (x.slice(), &y.slice()[..size]);
            report(
                &mut rows,
                "dot",
                "naive",
                size,
                measure(&clock, size, || {
                    black_box(dot_naive(black_box(xs), black_box(ys)));
                }),
            );
            report(
                &mut rows,
                "dot",
                "autovec",
                size,
                measure(&clock, size, || {
                    black_box(unsafe { dot_autovec(black_box(xs), black_box(ys)) });
                }),
            );
            report(
                &mut rows,
                "dot",
                "intrinsics",
                size,
                measure(&clock, size, || {
                    black_box(unsafe { dot_intrinsics(black_box(xs), black_box(ys)) });
                }),
            );
            report(
                &mut rows,
                "dot",
                "peach",
                size,
                measure(&clock, size, || {
                    black_box(unsafe { dot_f32(black_box(xs).as_ptr(), ys.as_ptr(), size) });
                }),
            );
        }

        for size in [2048usize, 32 * 1024, 1 << 20] {
            let x = Aligned::new(size, |i| (i % 101) as f64 - 50.0);
            let xs = x.slice();
            report(
                &mut rows,
                "sum",
                "naive",
                size,
                measure(&clock, size, || {
                    black_box(sum_naive(black_box(xs)));
                }),
            );
            report(
                &mut rows,
                "sum",
                "autovec",
                size,
                measure(&clock, size, || {
                    black_box(unsafe { sum_autovec(black_box(xs)) });
                }),
            );
            report(
                &mut rows,
                "sum",
                "intrinsics",
                size,
                measure(&clock, size, || {
                    black_box(unsafe { sum_intrinsics(black_box(xs)) });
                }),
            );
            // The seed's parameter sweep: the best setting differs per cache level.
            let mut best = (f64::MAX, f64::MAX, 0, 0);
            for unroll in [1, 2, 4, 8] {
                for prefetch in [0, 512, 2048] {
                    let k = sum_f64(unroll, prefetch).unwrap();
                    let f = k.get();
                    let m = measure(&clock, size, || {
                        black_box(unsafe { f(black_box(xs).as_ptr(), size) });
                    });
                    println!("bench sum_peach_u{unroll}_p{prefetch}_{size} {:.4} cpe", m.0);
                    if m.0 < best.0 {
                        best = (m.0, m.1, unroll, prefetch);
                    }
                }
            }
            println!("bench sum_best_setting_{size} unroll={} prefetch={}", best.2, best.3);
            report(&mut rows, "sum", "peach", size, (best.0, best.1));
        }

        let add = peach::kernels::add_i32(Target::x86_64_v4()).unwrap();
        let add =
            unsafe { Kernel::<unsafe extern "C" fn(*const i32, *const i32, *mut i32, usize)>::load(&add).unwrap() };
        for size in [2048usize, 16 * 1024, 1 << 20] {
            let a = Aligned::new(size, |i| i as i32);
            let b = Aligned::new(size + 64, |i| 3 * i as i32);
            let mut c = Aligned::new(size + 128, |_| 0i32);
            let (asl, bsl) = (a.slice(), &b.slice()[16..size + 16]);
            let out = &mut c.slice_mut()[32..size + 32];
            report(
                &mut rows,
                "add",
                "naive",
                size,
                measure(&clock, size, || add_naive(black_box(asl), black_box(bsl), black_box(&mut *out))),
            );
            report(
                &mut rows,
                "add",
                "autovec",
                size,
                measure(&clock, size, || unsafe { add_autovec(black_box(asl), black_box(bsl), black_box(&mut *out)) }),
            );
            report(
                &mut rows,
                "add",
                "intrinsics",
                size,
                measure(&clock, size, || unsafe {
                    add_intrinsics(black_box(asl), black_box(bsl), black_box(&mut *out))
                }),
            );
            let f = add.get();
            report(
                &mut rows,
                "add",
                "peach",
                size,
                measure(&clock, size, || unsafe { f(black_box(asl).as_ptr(), bsl.as_ptr(), out.as_mut_ptr(), size) }),
            );
        }

        for size in [2048usize, 32 * 1024] {
            let x = Aligned::new(size, |i| -700.0 + 1400.0 * ((i * 7919) % size) as f64 / size as f64);
            let mut y = Aligned::new(size + 32, |_| 0.0f64);
            let xs = x.slice();
            let ys = &mut y.slice_mut()[16..size + 16];
            report(
                &mut rows,
                "exp",
                "std",
                size,
                measure(&clock, size, || exp_std(black_box(xs), black_box(&mut *ys))),
            );
            report(
                &mut rows,
                "exp",
                "libm",
                size,
                measure(&clock, size, || exp_libm(black_box(xs), black_box(&mut *ys))),
            );
            report(
                &mut rows,
                "exp",
                "intrinsics",
                size,
                measure(&clock, size, || unsafe { exp_intrinsics(black_box(xs), black_box(&mut *ys)) }),
            );
            report(
                &mut rows,
                "exp",
                "peach",
                size,
                measure(&clock, size, || unsafe {
                    peach::kernels::elementary::exp_f64(black_box(xs).as_ptr(), ys.as_mut_ptr(), size)
                }),
            );
        }

        for size in [2048usize, 32 * 1024] {
            let x = Aligned::new(size, |i| 10f64.powf(-300.0 + 600.0 * ((i * 7919) % size) as f64 / size as f64));
            let mut y = Aligned::new(size + 32, |_| 0.0f64);
            let xs = x.slice();
            let ys = &mut y.slice_mut()[16..size + 16];
            report(&mut rows, "ln", "std", size, measure(&clock, size, || ln_std(black_box(xs), black_box(&mut *ys))));
            report(
                &mut rows,
                "ln",
                "libm",
                size,
                measure(&clock, size, || ln_libm(black_box(xs), black_box(&mut *ys))),
            );
            report(
                &mut rows,
                "ln",
                "intrinsics",
                size,
                measure(&clock, size, || unsafe { ln_intrinsics(black_box(xs), black_box(&mut *ys)) }),
            );
            report(
                &mut rows,
                "ln",
                "peach",
                size,
                measure(&clock, size, || unsafe {
                    peach::kernels::elementary::ln_f64(black_box(xs).as_ptr(), ys.as_mut_ptr(), size)
                }),
            );
        }

        // SGEMM: the micro-kernel alone (panels in L1), then whole products against matrixmultiply.
        let nr = peach::kernels::gemm::sgemm_nr();
        let k = 256;
        let ap = Aligned::new(6 * k, |i| (i % 7) as f32);
        let bp = Aligned::new(nr * k, |i| (i % 5) as f32);
        let mut cb = Aligned::new(6 * nr, |_| 0.0f32);
        let flops = (2 * 6 * nr * k) as f64;
        let (cpc, _) = measure(&clock, 1, || unsafe {
            peach::kernels::gemm::sgemm_kernel(
                ap.slice().as_ptr(),
                bp.slice().as_ptr(),
                cb.slice_mut().as_mut_ptr(),
                k,
                nr * 4,
            )
        });
        println!("bench sgemm_microkernel_6x{nr} {:.2} flop/cycle", flops / cpc);
        let mut notes = vec![format!("| sgemm micro-kernel 6x{nr}, k = 256 | peach | {:.2} |", flops / cpc)];
        let mut gemm_rows = Vec::new();
        for size in [192usize, 384] {
            let a: Vec<f32> = (0..size * size).map(|i| (i % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..size * size).map(|i| (i % 5) as f32 - 2.0).collect();
            let mut c = vec![0f32; size * size];
            let flops = 2.0 * (size * size * size) as f64;
            let (peach_c, _) = measure(&clock, 1, || {
                peach::kernels::gemm::sgemm(size, size, size, black_box(&a), black_box(&b), &mut c).unwrap()
            });
            let (mm_c, _) = measure(&clock, 1, || unsafe {
                matrixmultiply::sgemm(
                    size,
                    size,
                    size,
                    1.0,
                    a.as_ptr(),
                    size as isize,
                    1,
                    b.as_ptr(),
                    size as isize,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    size as isize,
                    1,
                )
            });
            println!("bench sgemm_peach_{size} {:.2} flop/cycle", flops / peach_c);
            println!("bench sgemm_matrixmultiply_{size} {:.2} flop/cycle", flops / mm_c);
            gemm_rows.push((size, flops / peach_c, flops / mm_c));
            notes.push(format!("| sgemm {size}x{size}x{size} | peach | {:.2} |", flops / peach_c));
            notes.push(format!("| sgemm {size}x{size}x{size} | matrixmultiply | {:.2} |", flops / mm_c));
        }
        if let Some((_, p, m)) = gemm_rows.last() {
            println!("bench sgemm_speedup {:.3}", p / m);
        }

        for kernel in ["dot", "sum", "add", "exp", "ln"] {
            let l1: Vec<&Row> = rows.iter().filter(|r| r.kernel == kernel && r.size <= 2048).collect();
            let peach = l1.iter().find(|r| r.implementation == "peach").map_or(f64::NAN, |r| r.cpe);
            let best = l1.iter().filter(|r| r.implementation != "peach").map(|r| r.cpe).fold(f64::MAX, f64::min);
            println!("bench {kernel}_speedup {:.3}", best / peach);
        }
        write_table(&rows, &notes);
    }

    fn write_table(rows: &[Row], gemm: &[String]) {
        let mut md = String::from(
            "# Benchmarks\n\nMade by `cargo bench --bench kernels` (which rewrites this file) on an AMD Zen 5 VM core.\n\
             Cycles per element (cpe) from the TSC calibrated against a chain of dependent adds, and ns per\n\
             element; minimum of 21 trials. Limits on this core: 0.0625 cpe for dot, sum and add (L1); about\n\
             1.0 cpe for exp (FMA-port bound of the algorithm).\n\n\
             | kernel | implementation | size | cpe | ns/element |\n| --- | --- | --- | --- | --- |\n",
        );
        for r in rows {
            md.push_str(&format!(
                "| {} | {} | {} | {:.4} | {:.4} |\n",
                r.kernel, r.implementation, r.size, r.cpe, r.ns
            ));
        }
        md.push_str("\n| SGEMM | implementation | FLOP/cycle |\n| --- | --- | --- |\n");
        for line in gemm {
            md.push_str(line);
            md.push('\n');
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md");
        if let Err(e) = std::fs::write(path, md) {
            eprintln!("could not write {path}: {e}");
        }
    }
}

fn main() {
    #[cfg(target_arch = "x86_64")]
    bench::run();
}
