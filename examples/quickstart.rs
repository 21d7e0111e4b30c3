//! peach in one page: an assembly kernel written inline with `peach_fn!` (checked and assembled
//! at compile time), the same kernel tuned at run time in JIT mode, and a kernel built with the
//! plain-Rust builder API; each is run and checked against plain Rust.
//!
//! Run with `cargo run --release --example quickstart`.

use peach::prelude::*;

peach_fn! {
    /// Sum of `n` doubles (`n` a positive multiple of 16): the seed paper's VECTOR_SUM, with four
    /// accumulators in virtual registers: AVX on x86-64, NEON on AArch64 (one fat binary).
    #[variants(x86_64::haswell, aarch64::neon, fallback = vector_sum_in_rust)]
    pub unsafe fn vector_sum(array: *const f64, n: usize) -> f64 {
        const UNROLL: usize = 4;
        if target.has_neon() {
            let acc = [VEC(); UNROLL];
            for r in acc {
                EOR(r.b16(), r.b16(), r.b16());
            }
            let next = Label::new();
            LABEL(next);
            for _ in 0..2 {
                for r in acc {
                    let x = VEC();
                    LDR(x.q(), [array].post(16));
                    FADD(r.d2(), r.d2(), x.d2());
                }
            }
            SUBS(n, n, UNROLL * 4);
            B_NE(next);
            FADD(acc[0].d2(), acc[0].d2(), acc[1].d2());
            FADD(acc[2].d2(), acc[2].d2(), acc[3].d2());
            FADD(acc[0].d2(), acc[0].d2(), acc[2].d2());
            FADDP(acc[0].d(), acc[0].d2());
            RETURN(acc[0]);
        } else {
            let acc = [YMM(); UNROLL];
            for r in acc {
                VXORPD(r, r, r);
            }
            let next = Label::new();
            LABEL(next);
            for i in 0..UNROLL {
                VADDPD(acc[i], acc[i], [array + i * 32]);
            }
            ADD(array, UNROLL * 32);
            SUB(n, UNROLL * 4);
            JNZ(next);
            REDUCE_SUM(acc, f64);
            RETURN(acc[0].xmm());
        }
    }
}

/// [`vector_sum`] on a CPU that has neither AVX2 nor NEON.
unsafe fn vector_sum_in_rust(array: *const f64, n: usize) -> f64 {
    // SAFETY: the caller passes `n` readable doubles.
    unsafe { std::slice::from_raw_parts(array, n) }.iter().sum()
}

peach_fn! {
    /// The same sum with the unroll factor chosen at run time: JIT mode, full Rust in the body.
    #[target(x86_64::haswell)]
    #[jit(unroll: usize)]
    pub unsafe fn vector_sum_tuned(array: *const f64, n: usize) -> f64 {
        let acc: Vec<Reg> = (0..unroll).map(|_| YMM()).collect();
        for &r in &acc {
            VXORPD(r, r, r);
        }
        let next = Label::new();
        LABEL(next);
        for (i, &r) in acc.iter().enumerate() {
            VADDPD(r, r, [array + i * 32]);
        }
        ADD(array, unroll * 32);
        SUB(n, unroll * 4);
        JNZ(next);
        REDUCE_SUM(acc, f64);
        RETURN(acc[0].xmm());
    }
}

/// The variant of `vector_sum` this CPU runs.
fn variant() -> &'static str {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    if let Some(name) = VECTOR_SUM_DISPATCH.active() {
        return name;
    }
    "plain Rust"
}

pub fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    println!("{VECTOR_SUM_HASWELL_LISTING}");
    println!("{VECTOR_SUM_ARMV8_A_LISTING}");
    let dot_code = peach::kernels::dot_f32(Abi::for_target(&Target::x86_64_v3()))?; // the builder API
    println!("{}", dot_code.listing());
    println!("ISA extensions used by dot_f32: {:?}\n", dot_code.extension_names());
    // The same dot product for AArch64 with NEON: peach cross-compiles on any host.
    println!("{}", peach::kernels::neon::dot_f32(Abi::Aapcs64)?.listing());

    // The static fat binary runs everywhere: AVX2 or NEON, else plain Rust.
    let data: Vec<f64> = (0..4096).map(|i| (i as f64) * 0.25 - 100.0).collect();
    let want: f64 = data.iter().sum();
    // SAFETY: `data` holds `len` doubles, a multiple of 16.
    let got = unsafe { vector_sum(data.as_ptr(), data.len()) };
    println!("vector_sum (static, {}) of {} doubles: peach {got}, Rust {want}", variant(), data.len());
    assert_eq!(got, want, "vector_sum disagrees with Rust");

    let host = Target::native_x86_64();
    if !(cfg!(target_arch = "x86_64") && host.has_avx2() && host.has_fma3()) {
        println!("this machine cannot run AVX2+FMA code: the x86-64 kernels were built and listed, not run");
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    {
        for unroll in [2, 4, 8] {
            let k = vector_sum_tuned(unroll)?;
            // SAFETY: as above; `len` is a multiple of 4 * unroll.
            let got = unsafe { k.call(data.as_ptr(), data.len()) };
            println!("vector_sum_tuned (JIT, unroll {unroll}): peach {got}");
            assert_eq!(got, want, "vector_sum_tuned disagrees with Rust");
        }

        let x: Vec<f32> = (0..4096).map(|i| ((i % 17) as f32) * 0.5 - 3.0).collect();
        let y: Vec<f32> = (0..4096).map(|i| ((i % 13) as f32) * 0.25 - 1.0).collect();
        // SAFETY: the signature and ABI match the kernel, and this CPU has AVX2 and FMA.
        let dot = unsafe { Kernel::<unsafe extern "C" fn(*const f32, *const f32, usize) -> f32>::load(&dot_code)? };
        let got = unsafe { dot.call(x.as_ptr(), y.as_ptr(), x.len()) };
        let want = x.iter().zip(&y).map(|(a, b)| (*a as f64) * (*b as f64)).sum::<f64>() as f32;
        println!("dot_f32 (builder) of {} floats: peach {got}, Rust {want}", x.len());
        assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0), "dot_f32 disagrees with Rust");
        println!("\nall kernels agree with plain Rust");
    }
    Ok(())
}
