//! [`sgemm_block_narrow`]: a block kernel with a row of C in one register, for narrow edges.

use super::models::sgemm_block_narrow_in_rust;
use peach_macros::peach_fn;

peach_fn! {
    /// [`sgemm_block`](super::sgemm_block) with a row of C in one register (x86-64 only): 16
    /// columns in a zmm with AVX-512, each value of A broadcast from memory into its FMA, 8 in a
    /// ymm with AVX2 (see [`sgemm_block_narrow_nr`](super::sgemm_block_narrow_nr)); blocks of 12
    /// rows, for twelve chains of FMAs. [`sgemm`](super::sgemm) runs it on edges no wider, where
    /// the main kernels' 32 or 16 columns take two registers a row (at 30 x 48 x 32, such an edge
    /// had taken as long as the 32 columns before it). The arguments are
    /// [`sgemm_block`](super::sgemm_block)'s; the fallback is plain Rust, 16 columns wide.
    ///
    /// ```
    /// use peach::kernels::gemm::{sgemm_block_narrow, sgemm_block_narrow_nr};
    /// let (nr, k, lda) = (sgemm_block_narrow_nr(), 3, 5);
    /// let a = vec![1.0f32; 12 * lda];
    /// let b = vec![2.0f32; nr * k];
    /// let mut panel = vec![0.0f32; nr * k];
    /// let mut c = vec![1.0f32; 12 * nr];
    /// // SAFETY: 12 rows of k floats lda floats apart; k rows of nr floats, packed into a panel
    /// // of nr k floats; 12 rows of nr floats.
    /// let (a, p, ld) = (a.as_ptr(), panel.as_mut_ptr(), nr * 4);
    /// unsafe { sgemm_block_narrow(a, lda * 4, p, c.as_mut_ptr(), k, ld, 12, 1, b.as_ptr(), ld) };
    /// assert!(c.iter().all(|&v| v == 7.0) && panel == b);
    /// unsafe { sgemm_block_narrow(a, lda * 4, p, c.as_mut_ptr(), k, ld, 12, 0, std::ptr::null(), 0) };
    /// assert!(c.iter().all(|&v| v == 6.0));
    /// ```
    ///
    /// # Safety
    ///
    /// As for [`sgemm_block`](super::sgemm_block), with NR what
    /// [`sgemm_block_narrow_nr`](super::sgemm_block_narrow_nr) says while no other thread changes
    /// the dispatch.
    #[variants(x86_64::avx512, x86_64::haswell, fallback = sgemm_block_narrow_in_rust)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn sgemm_block_narrow(
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
        // A row of C in one register: a zmm of 16 floats, or with AVX2 a ymm of 8.
        let vbytes = if target.has_avx512f() { 64 } else { 32 };
        fn vreg() -> Reg {
            if target.has_avx512f() { ZMM() } else { YMM() }
        }
        // One step of k for `rows` rows: the panel's row `off` steps on (read from `src` and
        // written to the panel when `packing`, `src` then moved `ldb` on) times A's column,
        // rows 3j to 3j + 2 at `bases[j]`, `lda` apart, each value broadcast from memory into
        // its FMA (with AVX2, which has no such FMA, into a register first).
        fn k_step(acc: [Reg; 12], rows: usize, bases: [Reg; 4], lda: Reg, panel: Reg, off: usize, vbytes: usize, packing: bool, direct: bool, prefetch: bool, src: Reg, ldb: Reg) {
            let row = vreg();
            if packing {
                VMOVUPS(row, [src]);
                VMOVUPS([panel + vbytes * off], row);
                ADD(src, ldb);
            } else if direct {
                // B's row itself (`panel` walks down them); when `prefetch`, eight rows ahead.
                VMOVUPS(row, [panel]);
                if prefetch {
                    PREFETCHT0([panel + ldb * 8]);
                    PREFETCHT0([panel + ldb * 8 + (vbytes - 1)]);
                }
                ADD(panel, ldb);
            } else {
                VMOVUPS(row, [panel + vbytes * off]);
            }
            for i in 0..rows {
                let base = bases[i / 3];
                let value = match i % 3 {
                    0 => [base + 4 * off],
                    1 => [base + lda + 4 * off],
                    _ => [base + lda * 2 + 4 * off],
                };
                if vbytes == 64 {
                    VFMADD231PS(acc[i], row, value.bcst());
                } else {
                    let x = YMM();
                    VBROADCASTSS(x, value);
                    VFMADD231PS(acc[i], row, x);
                }
            }
        }
        // `rows` rows of A (12, so that twelve chains of FMAs keep both FMA units busy, or the
        // last 1 to 11), from `a`, into as many rows of C from `c`: two steps of k a round, then
        // the last one where k is odd. `a` and `b` are the loop's own pointers (so that the
        // block of 12 that packs finds a register for each of its values), wound back after a
        // block of 12, which moves `a` and `c` on to the next block's rows. When `direct`,
        // there is no panel: `b` walks down B's rows from `src`.
        fn block(rows: usize, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, vbytes: usize, packing: bool, direct: bool, prefetch: bool, src: Reg, ldb: Reg) {
            if direct {
                MOV(b, src);
            }
            let acc = [vreg(); 12];
            for r in 0..rows {
                VXORPS(acc[r], acc[r], acc[r]);
            }
            let bases = [a, GP64(), GP64(), GP64()];
            let used = (rows + 2) / 3;
            for j in 1..used {
                LEA(bases[j], [bases[j - 1] + lda * 2]);
                ADD(bases[j], lda);
            }
            let panel = b;
            let (pairs, pairs_done, done) = (Label::new(), Label::new(), Label::new());
            let t = GP64();
            MOV(t, k);
            SHR(t, 1);
            JZ(pairs_done);
            LABEL(pairs);
            for off in 0..2 {
                k_step(acc, rows, bases, lda, panel, off, vbytes, packing, direct, prefetch, src, ldb);
            }
            for j in 0..used {
                ADD(bases[j], 8);
            }
            if !direct {
                ADD(panel, 2 * vbytes);
            }
            SUB(t, 1);
            JNZ(pairs);
            LABEL(pairs_done);
            TEST(k, 1);
            JZ(done);
            k_step(acc, rows, bases, lda, panel, 0, vbytes, packing, direct, prefetch, src, ldb);
            LABEL(done);
            let store = Label::new();
            TEST(accumulate, 1);
            JZ(store);
            MOV(t, c);
            for r in 0..rows {
                VADDPS(acc[r], acc[r], [t]);
                ADD(t, ldc);
            }
            LABEL(store);
            for r in 0..rows {
                VMOVUPS([c], acc[r]);
                ADD(c, ldc);
            }
            if rows == 12 {
                // Back by the pairs of steps: 8 bytes each along A, two rows along the panel.
                MOV(t, k);
                SHR(t, 1);
                SHL(t, 3);
                SUB(a, t);
                if !direct {
                    SHL(t, if vbytes == 64 { 4 } else { 3 });
                    SUB(b, t);
                }
                LEA(t, [lda + lda * 2]);
                LEA(a, [a + t * 4]);
            }
        }
        // Blocks of 12, then the last 1 to 11 rows in one block: twelve chains of FMAs where
        // there are 12 rows, as many as there are rows after them. Then to `end`.
        fn blocks(rows: Reg, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, vbytes: usize, direct: bool, prefetch: bool, src: Reg, ldb: Reg, end: Label) {
            let (pairs, rest) = (Label::new(), Label::new());
            CMP(rows, 12);
            JB(rest);
            LABEL(pairs);
            block(12, a, lda, b, c, k, ldc, accumulate, vbytes, false, direct, prefetch, src, ldb);
            SUB(rows, 12);
            CMP(rows, 12);
            JAE(pairs);
            LABEL(rest);
            for r in 1..12 {
                let other = Label::new();
                CMP(rows, r);
                JNE(other);
                block(r, a, lda, b, c, k, ldc, accumulate, vbytes, false, direct, prefetch, src, ldb);
                JMP(end);
                LABEL(other);
            }
            JMP(end);
        }
        // With no panel (`b` null), every block reads B's rows, prefetching them eight rows
        // ahead only where they are more than 2 KiB apart (as `sgemm_block` does). Otherwise the
        // first block of 12 packs the panel, when asked (with fewer rows, a copy before them).
        let (panel, next, pack_alone, end, far) = (Label::new(), Label::new(), Label::new(), Label::new(), Label::new());
        TEST(b, b);
        JNZ(panel);
        CMP(ldb_bytes, 2048);
        JA(far);
        blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, true, false, b_rows, ldb_bytes, end);
        LABEL(far);
        blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, true, true, b_rows, ldb_bytes, end);
        LABEL(panel);
        TEST(ldb_bytes, ldb_bytes);
        JZ(next);
        CMP(rows, 12);
        JB(pack_alone);
        block(12, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, true, false, false, b_rows, ldb_bytes);
        SUB(rows, 12);
        JMP(next);
        LABEL(pack_alone);
        let (to, t, row) = (GP64(), GP64(), vreg());
        MOV(to, b);
        MOV(t, k);
        let copy = Label::new();
        LABEL(copy);
        VMOVUPS(row, [b_rows]);
        VMOVUPS([to], row);
        ADD(b_rows, ldb_bytes);
        ADD(to, vbytes);
        SUB(t, 1);
        JNZ(copy);
        LABEL(next);
        blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, false, false, b_rows, ldb_bytes, end);
        LABEL(end);
    }
}
