//! Safe code cannot reach undefined behaviour through peach: the reproducers of the soundness
//! issue, each in its own process state (this file sets the dispatch cap).
//!
//! They also run under Miri (`cargo +nightly miri test --test soundness`, with `RUSTFLAGS="-C
//! target-cpu=x86-64-v4"` so that dispatch sees AVX-512 and AVX2), which checks the safe API's
//! Rust side: Miri runs no machine code, so the calls into it are left out there, and sgemm's
//! micro-kernels are Rust models of the same widths.

use std::sync::Mutex;

/// The tests that set the dispatch cap take turns.
static CAP: Mutex<()> = Mutex::new(());

/// `sgemm` under every cap, after the dispatcher resolved under another: the kernel and the
/// width of its panels are chosen together, so nothing is written past the buffers (it used to
/// size them for 16 columns while the installed AVX-512 kernel wrote 32).
#[cfg(target_arch = "x86_64")]
#[test]
fn sgemm_under_every_cap() {
    use peach::kernels::gemm::{SGEMM_BLOCK_DISPATCH, SGEMM_KERNEL_DISPATCH, sgemm, sgemm_block_nr, sgemm_nr};
    use peach::runtime::dispatch::set_max_isa;
    let _turn = CAP.lock().unwrap_or_else(|e| e.into_inner());
    set_max_isa(None).unwrap();
    if SGEMM_BLOCK_DISPATCH.choose().is_none() {
        eprintln!("skipped: this CPU runs no sgemm variant");
        return;
    }
    // Resolve the dispatchers under no cap (the widest kernels), then multiply under each cap.
    if !cfg!(miri) {
        let nr0 = sgemm_nr();
        let (a0, b0) = (vec![1.0f32; 6], vec![1.0f32; nr0]);
        let mut c0 = vec![0.0f32; 6 * nr0];
        // SAFETY: panels of 6 and nr floats (k = 1), 6 rows of nr floats.
        unsafe { peach::kernels::gemm::sgemm_kernel(a0.as_ptr(), b0.as_ptr(), c0.as_mut_ptr(), 1, nr0 * 4) };
        assert!(SGEMM_KERNEL_DISPATCH.active().is_some());
        let nr0 = sgemm_block_nr();
        let mut b0 = vec![1.0f32; nr0];
        let mut c0 = vec![0.0f32; 6 * nr0];
        // SAFETY: 6 rows of one float, 1 float apart; a panel of nr floats (k = 1), already
        // packed; 6 rows of nr floats.
        let (a0, b0) = (a0.as_ptr(), b0.as_mut_ptr());
        unsafe { peach::kernels::gemm::sgemm_block(a0, 4, b0, c0.as_mut_ptr(), 1, nr0 * 4, 6, 0, std::ptr::null(), 0) };
        assert!(SGEMM_BLOCK_DISPATCH.active().is_some());
    }
    for cap in [Some("avx2"), None, Some("avx2")] {
        set_max_isa(cap).unwrap();
        // (96 columns: on Ice Lake, a panel of 64 and one of 32. Then edges: 37, 36 and 24
        // leave 5, 4 and 8 columns past 16, through AVX2's 8-column narrow kernel (which packs
        // the 8 itself), and 5, 4 and 24 past 32, by dot products along k on AVX-512, the 24
        // after a whole 16-column panel; on AVX-512, 48 and 112 end on a 48-column panel; 512
        // columns with k 1, rows in passes of 12; one column, B itself its transpose.)
        let sizes = [(12, 96, 5), (13, 37, 5), (9, 36, 17), (7, 24, 3), (8, 48, 4), (30, 112, 3), (13, 512, 1)];
        let sizes = sizes.into_iter().chain([(7, 1, 20)]);
        for (m, n, k) in sizes {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32).collect();
            let mut c = vec![0.0f32; m * n];
            sgemm(m, n, k, &a, &b, &mut c).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                    assert_eq!(c[i * n + j], want, "cap {cap:?}, {m} x {n}: C[{i}][{j}]");
                }
            }
        }
    }
    set_max_isa(None).unwrap();
}

/// Sizes whose products overflow are an error, not a write through a dangling pointer.
#[test]
fn sgemm_sizes_that_overflow_are_errors() {
    use peach::kernels::gemm::sgemm;
    let mut c: Vec<f32> = Vec::new();
    for (m, n, k) in [(6 << 61, 32, 8), (6, 32 << 58, 1 << 10), (6 * (1 << 40), 32 << 30, 1)] {
        let e = sgemm(m, n, k, &[], &[], &mut c).expect_err("overflowing sizes");
        // (A CPU without AVX2 says so first: an error too.)
        assert!(matches!(e.kind(), peach::ErrorKind::InvalidOperands | peach::ErrorKind::NotInTarget), "{e}");
    }
}

#[cfg(target_arch = "x86_64")]
mod fma4 {
    use peach::prelude::*;

    peach_fn! {
        /// `x * x + x` with FMA4, which only AMD's Bulldozer family has.
        #[target(x86_64::bulldozer)]
        pub fn square_plus(x: f64) -> f64 {
            VFMADDSD(x, x, x, x);
            RETURN(x);
        }
    }

    peach_fn! {
        #[target(x86_64::bulldozer)]
        #[jit]
        pub fn square_plus_jit(x: f64) -> f64 {
            VFMADDSD(x, x, x, x);
            RETURN(x);
        }
    }
}

/// A safe kernel whose target needs an extension this CPU lacks (FMA4 on anything but
/// Bulldozer) panics with a message instead of raising SIGILL.
#[cfg(target_arch = "x86_64")]
#[test]
fn safe_kernels_check_the_cpu() {
    if peach::runtime::dispatch::detected("FMA4") {
        assert_eq!(fma4::square_plus(3.0), 12.0);
        return;
    }
    let panic = std::panic::catch_unwind(|| fma4::square_plus(3.0)).expect_err("no FMA4 here");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("square_plus") && msg.contains("FMA4"), "{msg}");
}

/// The JIT twin of a kernel this CPU cannot run is an error (under Miri, compiling takes
/// minutes and nothing could run).
#[cfg(target_arch = "x86_64")]
#[test]
#[cfg_attr(miri, ignore)]
fn jit_kernels_check_the_cpu() {
    if peach::runtime::dispatch::detected("FMA4") {
        assert_eq!(fma4::square_plus_jit().unwrap().call(3.0), 12.0);
        return;
    }
    let e = fma4::square_plus_jit().expect_err("no FMA4 here");
    assert_eq!(e.kind(), peach::ErrorKind::NotInTarget, "{e}");
}

/// `exp` and `ln` over slices of every length around the block of 32, under each cap (under
/// Miri only where no variant runs and the Rust fallback is called): the right values, and
/// nothing read or written outside the slices.
#[test]
fn exp_and_ln_over_slices_of_every_length() {
    use peach::kernels::elementary::{EXP_F64_DISPATCH, LN_F64_DISPATCH, exp, ln};
    use peach::runtime::dispatch::set_max_isa;
    let _turn = CAP.lock().unwrap_or_else(|e| e.into_inner());
    let lowest = peach::runtime::dispatch::max_isa_names()[0];
    let caps: &[Option<&str>] = if cfg!(miri) { &[Some(lowest)] } else { &[None, Some(lowest)] };
    // Miri perturbs libm's results by a few ulps on purpose.
    let tolerance = if cfg!(miri) { 1e-13 } else { 4e-16 };
    for &cap in caps {
        set_max_isa(cap).unwrap();
        EXP_F64_DISPATCH.reset();
        LN_F64_DISPATCH.reset();
        for n in [0, 1, 31, 32, 33, 64, 70] {
            let x: Vec<f64> = (0..n).map(|i| 0.25 + i as f64 * 0.5).collect();
            let mut y = vec![f64::NAN; n];
            exp(&x, &mut y).unwrap();
            let mut back = vec![f64::NAN; n];
            ln(&y, &mut back).unwrap();
            for i in 0..n {
                let (e, l) = (x[i].exp(), y[i].ln());
                assert!((y[i] - e).abs() <= e * tolerance, "cap {cap:?} exp({}) = {} vs {e}", x[i], y[i]);
                assert!((back[i] - l).abs() <= l.abs() * tolerance, "cap {cap:?} ln({}) = {} vs {l}", y[i], back[i]);
            }
        }
        let mut short = vec![0.0; 3];
        assert!(exp(&[1.0; 4], &mut short).is_err());
        assert!(ln(&[1.0; 2], &mut short).is_err());
    }
    set_max_isa(None).unwrap();
    EXP_F64_DISPATCH.reset();
    LN_F64_DISPATCH.reset();
}
