//! SGEMM: a register-blocked micro-kernel (6 rows by 32 columns in zmm accumulators on AVX-512,
//! 6 by 16 in ymm on AVX2+FMA and in NEON registers on AArch64), the same run down a block of
//! rows of A read in place ([`sgemm_block`] in `block.rs`, packing its panel of B on its first
//! block; 6 rows by 64 columns on Ice Lake and Sapphire Rapids; on AVX-512 also 48 columns
//! wide, 12 rows by 32 columns for few rows, and in `narrow.rs` one register a row), a driver (`driver.rs`) that blocks the product
//! for the core's caches (`blocking.rs`) and multiplies, on AVX-512 the last few columns by dot
//! products along k (`edge.rs`), and the kernels in plain Rust (`models.rs`).

use super::caches::caches;
use peach_core::Error;
#[cfg(target_arch = "x86_64")]
use peach_core::ErrorKind;
use peach_macros::peach_fn;

mod block;
mod blocking;
mod driver;
#[cfg(target_arch = "x86_64")]
mod edge;
mod models;
#[cfg(target_arch = "x86_64")]
mod narrow;

pub use block::*;
pub use driver::EDGE_DOT_COLS;
#[cfg(target_arch = "x86_64")]
pub use edge::*;
pub use models::*;
#[cfg(target_arch = "x86_64")]
pub use narrow::*;

use blocking::PanelHome;
#[cfg(not(target_arch = "x86_64"))]
use driver::Kernels;
use driver::multiply;
#[cfg(target_arch = "x86_64")]
use driver::{block_kernels, kernels_of};

peach_fn! {
    /// `C[6 x NR] += A[6 x k] * B[k x NR]` for packed panels: `a` holds, for each of the `k`
    /// steps, the 6 values of a column of A; `b` holds, for each step, the NR values of a row of
    /// B (NR = 32 on AVX-512, 16 on AVX2 and NEON: see [`sgemm_nr`]); `c` is row-major with rows
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
    #[variants(x86_64::avx512, x86_64::haswell, aarch64::neon, fallback = sgemm_kernel_in_rust)]
    pub unsafe fn sgemm_kernel(a: *const f32, b: *const f32, c: *mut f32, k: usize, ldc_bytes: usize) {
        if target.has_neon() {
            neon_kernel(a, b, c, k, ldc_bytes);
        } else {
            x86_kernel(a, b, c, k, ldc_bytes);
        }

        // NEON: 6 rows by 16 columns in 24 accumulators of four floats; a step's six values of
        // A in two registers, each read by element (`fmla v.4s, v.4s, v.s[i]`): no broadcasts.
        fn neon_kernel(a: Reg, b: Reg, c: Reg, k: Reg, ldc_bytes: Reg) {
            let acc = [VEC(); 24]; // row i, vector v: acc[4 i + v]
            for r in acc {
                EOR(r.b16(), r.b16(), r.b16());
            }
            let top = Label::new();
            LABEL(top);
            let (first, last) = (VEC(), VEC()); // A's values 0-3 and 4-5
            LDR(first.q(), [a].post(16));
            LDR(last.d(), [a].post(8));
            let row = [VEC(); 4];
            LDP(row[0].q(), row[1].q(), [b].post(32));
            LDP(row[2].q(), row[3].q(), [b].post(32));
            let values = [first.s().lane(0), first.s().lane(1), first.s().lane(2), first.s().lane(3), last.s().lane(0), last.s().lane(1)];
            for i in 0..6 {
                for v in 0..4 {
                    FMLA(acc[4 * i + v].s4(), row[v].s4(), values[i]);
                }
            }
            SUBS(k, k, 1);
            B_NE(top);
            for i in 0..6 {
                let old = [VEC(); 4];
                LDP(old[0].q(), old[1].q(), [c]);
                LDP(old[2].q(), old[3].q(), [c + 32]);
                for v in 0..4 {
                    FADD(acc[4 * i + v].s4(), acc[4 * i + v].s4(), old[v].s4());
                }
                STP(acc[4 * i].q(), acc[4 * i + 1].q(), [c]);
                STP(acc[4 * i + 2].q(), acc[4 * i + 3].q(), [c + 32]);
                ADD(c, c, ldc_bytes);
            }
        }

        // x86-64: 6 rows by 32 columns in zmm (AVX-512), 16 in ymm (AVX2), A broadcast.
        fn x86_kernel(a: Reg, b: Reg, c: Reg, k: Reg, ldc_bytes: Reg) {
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
}

/// The columns one [`sgemm_kernel`] call computes on this CPU: 32 with AVX-512, 16 otherwise.
/// Once the dispatcher has resolved, the width of the variant it installed; before, of the one
/// it will choose (so a cap set with `set_max_isa` after the first call does not change it
/// until `SGEMM_KERNEL_DISPATCH.reset()`).
pub fn sgemm_nr() -> usize {
    #[cfg(target_arch = "x86_64")]
    return resolved(&SGEMM_KERNEL_DISPATCH).map_or(16, |v| if v.required.contains(&"AVX512F") { 32 } else { 16 });
    #[cfg(not(target_arch = "x86_64"))]
    16
}

/// The columns of the panel of B one [`sgemm_block`] call reads (64 on Ice Lake and Sapphire
/// Rapids, 32 on other AVX-512 cores, 16 otherwise), resolved as [`sgemm_nr`] says for
/// [`sgemm_kernel`] (the two dispatch separately).
pub fn sgemm_block_nr() -> usize {
    #[cfg(target_arch = "x86_64")]
    return resolved(&SGEMM_BLOCK_DISPATCH).and_then(|v| kernels_of(v.name)).map_or(16, |k| k.nr);
    #[cfg(not(target_arch = "x86_64"))]
    16
}

/// The columns of the panel of B one [`sgemm_block_narrow`] call reads: 16 with AVX-512 (and
/// where no variant runs), 8 with AVX2, resolved as [`sgemm_nr`] says for [`sgemm_kernel`].
#[cfg(target_arch = "x86_64")]
pub fn sgemm_block_narrow_nr() -> usize {
    resolved(&SGEMM_BLOCK_NARROW_DISPATCH).map_or(16, |v| if v.required.contains(&"AVX512F") { 16 } else { 8 })
}

/// The multiple of `n` that [`sgemm`] runs on its panels alone on this CPU: 32 with AVX-512, 16
/// with AVX2 (the kernels of the widest blocks finish the remainder with narrower ones). Other
/// `n` work too: their last `n` mod this columns go through a zero-padded panel (a row of C in
/// one register where they fit: 16 columns with AVX-512, 8 with AVX2) and, where they do not
/// fill it, a copy of their part of C; on AVX-512, up to 8 of them through dot products along k
/// instead (also past 16 through the narrow kernel), and 16 of them with the 32 columns before
/// through one 48-column panel.
///
/// ```
/// let n = 3 * peach::kernels::gemm::sgemm_n_multiple();
/// # if !peach::Target::native_x86_64().has_avx2() { return Ok(()); }
/// let (a, b, mut c) = (vec![1.0f32; 6 * 2], vec![1.0f32; 2 * n], vec![0.0f32; 6 * n]);
/// peach::kernels::gemm::sgemm(6, n, 2, &a, &b, &mut c)?;
/// assert!(c.iter().all(|&x| x == 2.0));
/// # Ok::<(), peach::Error>(())
/// ```
pub fn sgemm_n_multiple() -> usize {
    #[cfg(target_arch = "x86_64")]
    return block_kernels().map_or(16, |k| k.step());
    #[cfg(not(target_arch = "x86_64"))]
    16
}

/// The variant `dispatch` installed or, unresolved, would choose.
#[cfg(target_arch = "x86_64")]
fn resolved(dispatch: &peach::runtime::dispatch::Dispatch) -> Option<&peach::runtime::dispatch::Variant> {
    let variants = dispatch.variants();
    match dispatch.active() {
        Some(name) => variants.iter().find(|v| v.name == name),
        None => dispatch.choose().and_then(|i| variants.get(i)),
    }
}

/// `C = A B` for row-major `A` (m x k), `B` (k x n) and `C` (m x n), any sizes: packs B's
/// panels (with up to 24 rows, or 48 where B is larger than half of L1, reads B's rows in place
/// instead, on AVX-512 through `sgemm_block_tall` where k is 8 to 32 and B's rows far apart;
/// where B is one panel wide, it is the panel) and runs [`sgemm_block`] on A's rows, any number
/// of them; columns past the last
/// multiple of [`sgemm_n_multiple`] go through a zero-padded panel (up to 16 of them on
/// AVX-512 and 8 on AVX2 through `sgemm_block_narrow`, and on AVX-512 up to 8 through
/// `sgemm_edge_dot`, also after 16 through the narrow kernel; there 16 of them and the 32
/// columns before go through one panel of `sgemm_block_48`); with `k` 0, C is zeroed.
/// Products of up to about 256 on a side reuse scratch memory kept by the calling thread.
/// On x86-64 it needs AVX2 and FMA (or AVX-512); AArch64 runs [`sgemm_block`]'s NEON variant,
/// other targets plain Rust.
///
/// ```
/// # if !peach::Target::native_x86_64().has_avx2() { return Ok(()); }
/// let (m, n, k) = (5, 3, 4);
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
/// When the slices are shorter than their matrices, the sizes overflow, or an x86-64 CPU lacks
/// AVX2 and FMA.
pub fn sgemm(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) -> Result<(), Error> {
    // The kernels are picked here, with their widths: the one the dispatcher installed earlier
    // may be another (a cap set since), and B's panels must have the width of the kernel that
    // reads them.
    #[cfg(target_arch = "x86_64")]
    let Some(kernels) = block_kernels() else {
        return Err(Error::new(ErrorKind::NotInTarget, "sgemm needs AVX2 and FMA"));
    };
    // Elsewhere, 16 columns: the NEON variant on AArch64, plain Rust otherwise.
    #[cfg(not(target_arch = "x86_64"))]
    let kernels = Kernels { nr: 16, main: sgemm_block, half: None, narrow: None, dot: None, last_48: None, tall: None };
    let home = PanelHome::on(peach::runtime::dispatch::microarch(), kernels.nr);
    // SAFETY: `choose` picked the kernels' variant for this CPU, and `half` and `narrow` need no
    // extension its variant lacks (the table's test checks it); off x86-64, plain Rust.
    unsafe { multiply(kernels, caches(), home, m, n, k, a, b, c) }
}
