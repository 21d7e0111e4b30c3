//! SGEMM: a register-blocked micro-kernel (6 rows by 32 columns in zmm accumulators on AVX-512,
//! 6 by 16 in ymm on AVX2+FMA) and a small driver that packs the operands and multiplies.

use peach_core::{Error, ErrorKind};
use peach_macros::peach_fn;

peach_fn! {
    /// `C[6 x NR] += A[6 x k] * B[k x NR]` for packed panels: `a` holds, for each of the `k`
    /// steps, the 6 values of a column of A; `b` holds, for each step, the NR values of a row of
    /// B (NR = 32 on AVX-512, 16 on AVX2: see [`sgemm_nr`]); `c` is row-major with rows
    /// `ldc_bytes` apart. `k` must be positive.
    ///
    /// ```
    /// use peach::kernels::gemm::{sgemm_kernel, sgemm_nr};
    /// let (nr, k) = (sgemm_nr(), 3);
    /// let a = vec![1.0f32; 6 * k];
    /// let b = vec![2.0f32; nr * k];
    /// let mut c = vec![1.0f32; 6 * nr];
    /// // SAFETY: panels of 6 k and nr k floats, 6 rows of nr floats nr * 4 bytes apart.
    /// unsafe { sgemm_kernel(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), k, nr * 4) };
    /// assert!(c.iter().all(|&v| v == 7.0));
    /// ```
    ///
    /// # Safety
    ///
    /// The panels must hold `6 k` and `NR k` floats; `c` must hold 6 rows of NR floats. NR is
    /// what [`sgemm_nr`] says while no other thread changes the dispatch (`set_max_isa` and
    /// `reset` between the two may change the variant the call reaches); the safe [`sgemm`]
    /// picks its variant and width together.
    #[variants(x86_64::avx512, x86_64::haswell, fallback = sgemm_kernel_in_rust)]
    pub unsafe fn sgemm_kernel(a: *const f32, b: *const f32, c: *mut f32, k: usize, ldc_bytes: usize) {
        let zmm = target.has_avx512f();
        let nr = if zmm { 32 } else { 16 };
        let vbytes = if zmm { 64 } else { 32 };
        fn vreg() -> Reg {
            if target.has_avx512f() { ZMM() } else { YMM() }
        }
        let acc = [vreg(); 12]; // row i, half h: acc[2 i + h]
        for r in acc {
            VXORPS(r, r, r);
        }
        let top = Label::new();
        ALIGN(32);
        LABEL(top);
        let (b0, b1) = (vreg(), vreg());
        VMOVUPS(b0, [b]);
        VMOVUPS(b1, [b + vbytes]);
        for i in 0..6 {
            let ai = vreg();
            VBROADCASTSS(ai, [a + 4 * i]);
            VFMADD231PS(acc[2 * i], ai, b0);
            VFMADD231PS(acc[2 * i + 1], ai, b1);
        }
        ADD(a, 24);
        ADD(b, 4 * nr);
        SUB(k, 1);
        JNZ(top);
        for i in 0..6 {
            VADDPS(acc[2 * i], acc[2 * i], [c]);
            VADDPS(acc[2 * i + 1], acc[2 * i + 1], [c + vbytes]);
            VMOVUPS([c], acc[2 * i]);
            VMOVUPS([c + vbytes], acc[2 * i + 1]);
            ADD(c, ldc_bytes);
        }
    }
}

/// [`sgemm_kernel`] where no variant runs: plain Rust, with [`sgemm_nr`] columns.
///
/// # Safety
///
/// As for [`sgemm_kernel`].
pub unsafe fn sgemm_kernel_in_rust(a: *const f32, b: *const f32, c: *mut f32, k: usize, ldc_bytes: usize) {
    // SAFETY: the caller's promise, with the width `sgemm_nr` says.
    unsafe { multiply_panels(sgemm_nr(), a, b, c, k, ldc_bytes) }
}

/// `C[6 x nr] += A[6 x k] * B[k x nr]` for packed panels, in Rust.
///
/// # Safety
///
/// The panels must hold `6 k` and `nr k` floats; `c` must hold 6 rows of `nr` floats,
/// `ldc_bytes` apart.
unsafe fn multiply_panels(nr: usize, a: *const f32, b: *const f32, c: *mut f32, k: usize, ldc_bytes: usize) {
    let ldc = ldc_bytes / 4;
    for kk in 0..k {
        for i in 0..6 {
            for j in 0..nr {
                // SAFETY: the caller passes panels of 6 x k and k x nr values and a 6-row C.
                unsafe { *c.add(i * ldc + j) += *a.add(kk * 6 + i) * *b.add(kk * nr + j) };
            }
        }
    }
}

/// A micro-kernel [`sgemm`] calls: panels, C, k, the distance between C's rows in bytes.
type MicroKernel = unsafe fn(*const f32, *const f32, *mut f32, usize, usize);

/// [`sgemm`]'s micro-kernels and their widths: the AVX-512 one, the AVX2 one.
#[cfg(all(target_arch = "x86_64", not(miri)))]
const MICRO_KERNELS: [(usize, MicroKernel); 2] = [(32, sgemm_kernel_x86_64_v4), (16, sgemm_kernel_haswell)];

/// Under Miri, which cannot run machine code, Rust models of the same widths stand in, so that
/// Miri checks every pointer [`sgemm`] hands a micro-kernel (run it with `-C
/// target-cpu=x86-64-v4` for `choose` to see both).
#[cfg(all(target_arch = "x86_64", miri))]
const MICRO_KERNELS: [(usize, MicroKernel); 2] = [(32, model::<32>), (16, model::<16>)];

/// A Rust model of the `NR`-wide micro-kernel.
///
/// # Safety
///
/// As for [`multiply_panels`] with `nr = NR`.
#[cfg(all(target_arch = "x86_64", miri))]
unsafe fn model<const NR: usize>(a: *const f32, b: *const f32, c: *mut f32, k: usize, ldc_bytes: usize) {
    // SAFETY: the caller's promise.
    unsafe { multiply_panels(NR, a, b, c, k, ldc_bytes) }
}

/// The columns one [`sgemm_kernel`] call computes on this CPU: 32 with AVX-512, 16 otherwise.
/// Once the dispatcher has resolved, the width of the variant it installed; before, of the one
/// it will choose (so a cap set with `set_max_isa` after the first call does not change it
/// until `SGEMM_KERNEL_DISPATCH.reset()`).
pub fn sgemm_nr() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let wide = match SGEMM_KERNEL_DISPATCH.active() {
            Some(name) => name == "x86-64-v4",
            None => SGEMM_KERNEL_DISPATCH.choose() == Some(0),
        };
        if wide {
            return 32;
        }
    }
    16
}

/// `C = A B` for row-major `A` (m x k), `B` (k x n) and `C` (m x n), with `m` a multiple of 6
/// and `n` a multiple of [`sgemm_nr`]: packs the panels and runs the micro-kernel on each block.
/// Needs AVX2 and FMA (or AVX-512).
///
/// ```
/// # if !peach::Target::native_x86_64().has_avx2() { return Ok(()); }
/// let (m, n, k) = (6, peach::kernels::gemm::sgemm_nr(), 4);
/// let a = vec![1.0f32; m * k];
/// let b = vec![2.0f32; k * n];
/// let mut c = vec![0.0f32; m * n];
/// peach::kernels::gemm::sgemm(m, n, k, &a, &b, &mut c)?;
/// assert!(c.iter().all(|&x| x == 8.0));
/// # Ok::<(), peach::Error>(())
/// ```
///
/// # Errors
///
/// When the sizes are not multiples of the block, the slices are too short, or the CPU lacks
/// AVX2 and FMA.
pub fn sgemm(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) -> Result<(), Error> {
    // The micro-kernel is picked here, with its width: the one the dispatcher installed earlier
    // may be another (a cap set since), and B's panels must have the width of the kernel that
    // reads them.
    #[cfg(target_arch = "x86_64")]
    let (nr, kernel) = match SGEMM_KERNEL_DISPATCH.choose() {
        Some(0) => MICRO_KERNELS[0],
        Some(_) => MICRO_KERNELS[1],
        None => return Err(Error::new(ErrorKind::NotInTarget, "sgemm needs AVX2 and FMA")),
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (nr, kernel): (usize, MicroKernel) = (16, sgemm_kernel_in_rust);
    let bad = |msg: String| Err(Error::new(ErrorKind::InvalidOperands, msg));
    if !m.is_multiple_of(6) || !n.is_multiple_of(nr) || k == 0 {
        return bad(format!("sgemm needs m a multiple of 6, n a multiple of {nr} and k positive; got {m}, {n}, {k}"));
    }
    let (Some(mk), Some(kn), Some(mn)) = (m.checked_mul(k), k.checked_mul(n), m.checked_mul(n)) else {
        return bad(format!("sgemm: {m} x {n} x {k} matrices do not fit in memory"));
    };
    if a.len() < mk || b.len() < kn || c.len() < mn {
        return bad("sgemm: a slice is shorter than its matrix".into());
    }
    c[..mn].fill(0.0);
    // BLIS's loop order: k in blocks of KC and rows in blocks of MC, so that one packed panel
    // of B (KC nr floats, 32 KiB with zmm) stays in L1 while the micro-kernel runs down the
    // 6-row blocks of a packed MC x KC block of A, which stays in L2.
    const KC: usize = 256;
    const MC: usize = 96;
    let mut bp = vec![0.0f32; KC.min(k) * n];
    let mut ap = vec![0.0f32; MC.min(m) * KC.min(k)];
    for k0 in (0..k).step_by(KC) {
        let kc = KC.min(k - k0);
        // B[k0.., ..] in column panels of nr, row after row.
        for (p, panel) in bp.chunks_mut(kc * nr).take(n / nr).enumerate() {
            for kk in 0..kc {
                let row = (k0 + kk) * n + p * nr;
                panel[kk * nr..(kk + 1) * nr].copy_from_slice(&b[row..row + nr]);
            }
        }
        for i0 in (0..m).step_by(MC) {
            let mc = MC.min(m - i0);
            // A[i0.., k0..] in row panels of 6, column after column (each of the 6 rows read
            // straight along, as slices: no index checks in the loop).
            for (block, panel) in ap.chunks_mut(6 * kc).take(mc / 6).enumerate() {
                let rows: [&[f32]; 6] = std::array::from_fn(|r| {
                    let start = (i0 + 6 * block + r) * k + k0;
                    &a[start..start + kc]
                });
                for (kk, column) in panel.chunks_exact_mut(6).enumerate() {
                    for (out, row) in column.iter_mut().zip(&rows) {
                        *out = row[kk];
                    }
                }
            }
            for (p, b_panel) in bp.chunks(kc * nr).take(n / nr).enumerate() {
                for (block, a_panel) in ap.chunks(6 * kc).take(mc / 6).enumerate() {
                    let cij = &mut c[(i0 + 6 * block) * n + p * nr..];
                    // SAFETY: the panels hold 6 kc and nr kc floats, `c` holds 6 rows of n floats
                    // from here, and `kernel` is nr columns wide and runs on this CPU (`choose`
                    // said so); it adds its product to C.
                    unsafe { kernel(a_panel.as_ptr(), b_panel.as_ptr(), cij.as_mut_ptr(), kc, n * 4) };
                }
            }
        }
    }
    Ok(())
}
