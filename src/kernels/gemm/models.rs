//! The kernels in plain Rust: their fallbacks where no variant runs, and under Miri (which
//! cannot run machine code) the driver's stand-ins.

use super::{sgemm_block_nr, sgemm_nr};

/// A block kernel of fixed width `$nr` where no variant runs (x86-64 only): [`multiply_rows`]
/// with that width, under the name and documentation given.
macro_rules! fixed_width_model {
    ($(#[$doc:meta])* $name:ident, $nr:literal) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[allow(clippy::too_many_arguments)]
        pub unsafe fn $name(
            a: *const f32,
            lda_bytes: usize,
            b: *mut f32,
            c: *mut f32,
            k: usize,
            ldc_bytes: usize,
            rows: usize,
            accumulate: usize,
            b_rows: *const f32,
            ldb_bytes: usize,
        ) {
            // SAFETY: the caller's promise.
            unsafe { multiply_rows::<$nr>(a, lda_bytes, b, c, k, ldc_bytes, rows, accumulate, b_rows, ldb_bytes) }
        }
    };
}

fixed_width_model! {
    /// [`sgemm_block_narrow`](super::sgemm_block_narrow) where no variant runs: plain Rust, 16
    /// columns wide.
    ///
    /// # Safety
    ///
    /// As for [`sgemm_block_narrow`](super::sgemm_block_narrow), with NR 16.
    sgemm_block_narrow_in_rust, 16
}

fixed_width_model! {
    /// [`sgemm_block_48`](super::sgemm_block_48) where no variant runs: plain Rust.
    ///
    /// # Safety
    ///
    /// As for [`sgemm_block_48`](super::sgemm_block_48).
    sgemm_block_48_in_rust, 48
}

fixed_width_model! {
    /// [`sgemm_block_tall`](super::sgemm_block_tall) where no variant runs: plain Rust.
    ///
    /// # Safety
    ///
    /// As for [`sgemm_block_tall`](super::sgemm_block_tall).
    sgemm_block_tall_in_rust, 32
}

/// [`sgemm_block`](super::sgemm_block) where no variant runs: plain Rust, with
/// [`sgemm_block_nr`](super::sgemm_block_nr) columns.
///
/// # Safety
///
/// As for [`sgemm_block`](super::sgemm_block).
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_block_in_rust(
    a: *const f32,
    lda_bytes: usize,
    b: *mut f32,
    c: *mut f32,
    k: usize,
    ldc_bytes: usize,
    rows: usize,
    accumulate: usize,
    b_rows: *const f32,
    ldb_bytes: usize,
) {
    let multiply = match sgemm_block_nr() {
        64 => multiply_rows::<64>,
        32 => multiply_rows::<32>,
        _ => multiply_rows::<16>,
    };
    // SAFETY: the caller's promise, with the width `sgemm_block_nr` says.
    unsafe { multiply(a, lda_bytes, b, c, k, ldc_bytes, rows, accumulate, b_rows, ldb_bytes) }
}

/// `C[rows x NR] (+)= A[rows x k] * B[k x NR]` with A in place, in Rust (see
/// [`sgemm_block`](super::sgemm_block), packing included); under Miri, it stands in for the
/// kernels.
///
/// # Safety
///
/// As for [`sgemm_block`](super::sgemm_block), with `NR` columns.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn multiply_rows<const NR: usize>(
    a: *const f32,
    lda_bytes: usize,
    b: *mut f32,
    c: *mut f32,
    k: usize,
    ldc_bytes: usize,
    rows: usize,
    accumulate: usize,
    b_rows: *const f32,
    ldb_bytes: usize,
) {
    // B's row kk: the panel's, or with no panel (`b` null), B's own.
    let b_row =
        |kk: usize| if b.is_null() { b_rows.wrapping_byte_add(kk * ldb_bytes) } else { b.wrapping_add(kk * NR) };
    if ldb_bytes != 0 && !b.is_null() {
        for kk in 0..k {
            // SAFETY: the caller passes k rows of NR floats at b_rows, ldb_bytes apart, and a
            // writable panel of k NR floats.
            unsafe { std::ptr::copy_nonoverlapping(b_rows.byte_add(kk * ldb_bytes), b.add(kk * NR), NR) };
        }
    }
    let (lda, ldc) = (lda_bytes / 4, ldc_bytes / 4);
    for i in 0..rows {
        for j in 0..NR {
            let mut sum = 0.0f32;
            for kk in 0..k {
                // SAFETY: the caller passes `rows` rows of k floats and a k x NR panel, or with no
                // panel k rows of B of NR floats.
                sum += unsafe { *a.add(i * lda + kk) * *b_row(kk).add(j) };
            }
            // SAFETY: and `rows` rows of C.
            unsafe {
                let out = c.add(i * ldc + j);
                *out = if accumulate & 1 == 0 { sum } else { *out + sum };
            }
        }
    }
}

/// [`sgemm_kernel`](super::sgemm_kernel) where no variant runs: plain Rust, with [`sgemm_nr`]
/// columns.
///
/// # Safety
///
/// As for [`sgemm_kernel`](super::sgemm_kernel).
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
