//! The last few columns of an SGEMM product by dot products along k: where `n` leaves up to 4
//! columns past the last whole panel, a kernel that vectorises over rows of C (16 columns
//! in a zmm) spends 16 lanes on each of them; this one vectorises over k, so that each lane
//! counts.

use super::EDGE_DOT_COLS;
use peach_macros::peach_fn;

peach_fn! {
    /// `C[rows x cols] = A[rows x k] * E[k x cols]` for `cols` of 1 to 4, with AVX-512 (x86-64
    /// only): A row-major and read in place (rows `lda_bytes` apart), E packed transposed at
    /// `et` (column `j` of E as row `j`, the rows `kp` floats apart for `kp` the multiple of 16
    /// at or above `k`, of which the first `k` are read), C's rows `ldc_bytes` apart,
    /// of which the first `cols` floats are written and the others left alone. `k` and `rows`
    /// must be positive.
    ///
    /// Each block of 4 rows keeps 16 accumulators, one a row and column, each summing 16
    /// products a step along k (the last `k` mod 16 under a mask; with 1 or 2 columns, 4 or 2
    /// accumulators a row and column, taking the steps in turn), and then adds each one's
    /// lanes in one tree that leaves a block's results in one register. [`super::sgemm`]
    /// runs it on the last 1 to 4 columns of products on AVX-512 cores, where a 16-column
    /// kernel would have done 4 to 16 times the multiplications. The fallback is plain Rust.
    ///
    /// ```
    /// use peach::kernels::gemm::sgemm_edge_dot;
    /// let (k, kp) = (20, 32);
    /// let a = vec![1.0f32; 5 * k];
    /// // E's two columns, 2s and 3s, kp apart.
    /// let mut et = vec![0.0f32; kp + k];
    /// et[..k].fill(2.0);
    /// et[kp..kp + k].fill(3.0);
    /// let mut c = vec![-1.0f32; 5 * 3];
    /// // SAFETY: 5 rows of k floats, 2 rows of k floats kp apart, 5 rows of 3 floats (2 written).
    /// unsafe { sgemm_edge_dot(a.as_ptr(), k * 4, et.as_ptr(), k, c.as_mut_ptr(), 12, 5, 2) };
    /// assert!(c.chunks(3).all(|row| row == [40.0, 60.0, -1.0]));
    /// ```
    ///
    /// # Safety
    ///
    /// `a` must hold `rows` rows of `k` floats, `lda_bytes` apart; `et` `cols` rows of `k`
    /// floats, `kp` floats apart; `c` `rows` rows of `cols` floats, `ldc_bytes` apart; `cols`
    /// must be 1 to 4.
    #[variants(x86_64::avx512, fallback = sgemm_edge_dot_in_rust)]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn sgemm_edge_dot(
        a: *const f32,
        lda_bytes: usize,
        et: *const f32,
        k: usize,
        c: *mut f32,
        ldc_bytes: usize,
        rows: usize,
        cols: usize,
    ) {
        // One step along k for `rows` rows (up to 4: row 3 at `p3`, the others from `p`) and
        // the first `ncols` columns of E (1 to 4; column 3 at `e3`), `off` bytes on: 16
        // floats of each, under `tail` when `masked`, into the accumulators of columns `slot`
        // to `slot + ncols`.
        fn step(acc: [Reg; 16], slot: usize, rows: usize, ncols: usize, p: Reg, p3: Reg, lda: Reg, e: Reg, e3: Reg, s: Reg, off: usize, masked: bool, tail: Reg) {
            // `x` from `at`, under `tail` when `masked`.
            fn load(x: Reg, at: Mem, masked: bool, tail: Reg) {
                if masked {
                    VMOVUPS(x.mask(tail).zeroing(), at);
                } else {
                    VMOVUPS(x, at);
                }
            }
            let ev = [ZMM(); 4];
            for j in 0..ncols {
                let column = match j {
                    0 => [e + off],
                    1 => [e + s + off],
                    2 => [e + s * 2 + off],
                    _ => [e3 + off],
                };
                load(ev[j], column, masked, tail);
            }
            for r in 0..rows {
                let x = ZMM();
                let row = match r {
                    0 => [p + off],
                    1 => [p + lda + off],
                    2 => [p + lda * 2 + off],
                    _ => [p3 + off],
                };
                load(x, row, masked, tail);
                for j in 0..ncols {
                    VFMADD231PS(acc[4 * (slot + j) + r], x, ev[j]);
                }
            }
        }
        // `p`, `p3` and `e`, `e3` (those in use) `bytes` on.
        fn advance(rows: usize, ncols: usize, p: Reg, p3: Reg, e: Reg, e3: Reg, bytes: usize) {
            ADD(p, bytes);
            if rows > 3 {
                ADD(p3, bytes);
            }
            ADD(e, bytes);
            if ncols == 4 {
                ADD(e3, bytes);
            }
        }
        // `out = a' + b'`, a' and b' picked from `a` and `b` by the immediates `low` and `high`:
        // their 128-bit lanes where `lanes`, else the floats within each lane.
        fn fold(out: Reg, a: Reg, b: Reg, lanes: bool, low: usize, high: usize) {
            let (lo, hi) = (ZMM(), ZMM());
            if lanes {
                VSHUFF32X4(lo, a, b, low);
                VSHUFF32X4(hi, a, b, high);
            } else {
                VSHUFPS(lo, a, b, low);
                VSHUFPS(hi, a, b, high);
            }
            VADDPS(out, lo, hi);
        }
        // A block of `rows` rows from `a` (moved on past them) into as many rows of C from `c`
        // (likewise), by the first `ncols` columns of E.
        fn block(rows: usize, ncols: usize, a: Reg, lda: Reg, et: Reg, s: Reg, k: Reg, c: Reg, ldc: Reg, tail: Reg, kept: Reg) {
            let acc = [ZMM(); 16]; // acc[4 j + r]: row r, column j
            for i in 0..16 {
                VXORPS(acc[i], acc[i], acc[i]);
            }
            let (p, p3, e, e3, n) = (GP64(), GP64(), GP64(), GP64(), GP64());
            MOV(p, a);
            if rows > 3 {
                LEA(p3, [lda + lda * 2]);
                ADD(p3, a);
            }
            MOV(e, et);
            if ncols == 4 {
                LEA(e3, [s + s * 2]);
                ADD(e3, et);
            }
            // With fewer than 4 columns, the spare accumulators take the next steps (4 / ncols
            // a round): each accumulator then waits for its last FMA once every 4 / ncols steps.
            let unroll = 4 / ncols;
            let (top, single, one, rest, done) = (Label::new(), Label::new(), Label::new(), Label::new(), Label::new());
            MOV(n, k);
            SHR(n, if unroll == 4 { 6 } else if unroll == 2 { 5 } else { 4 });
            JZ(single);
            LABEL(top);
            for u in 0..unroll {
                step(acc, ncols * u, rows, ncols, p, p3, lda, e, e3, s, 64 * u, false, tail);
            }
            advance(rows, ncols, p, p3, e, e3, 64 * unroll);
            SUB(n, 1);
            JNZ(top);
            LABEL(single);
            if unroll > 1 {
                MOV(n, k);
                SHR(n, 4);
                AND(n, unroll - 1);
                JZ(rest);
                LABEL(one);
                step(acc, 0, rows, ncols, p, p3, lda, e, e3, s, 0, false, tail);
                advance(rows, ncols, p, p3, e, e3, 64);
                SUB(n, 1);
                JNZ(one);
            }
            LABEL(rest);
            TEST(k, 15);
            JZ(done);
            step(acc, 0, rows, ncols, p, p3, lda, e, e3, s, 0, true, tail);
            LABEL(done);
            // The spare accumulators into the columns' own (the tree then adds up columns past
            // `ncols` that the store leaves out).
            if unroll > 1 {
                for q in ncols..4 {
                    for r in 0..rows {
                        VADDPS(acc[4 * (q % ncols) + r], acc[4 * (q % ncols) + r], acc[4 * q + r]);
                    }
                }
            }
            // The lanes of each accumulator added up: 512-bit halves of pairs, then 256-bit
            // ones (x[i]'s 128-bit lane L then holds accumulator 4i + L's sums of 4), then
            // within those lanes, so that lane L of z holds row L's 4 columns; only the first
            // `ncols` columns' (with fewer, a column's sums pair with themselves or another's, in
            // lanes the store leaves out: 5, 8 or 12 folds instead of 15, whose shuffles all take
            // one port).
            let (w, x, y, z) = ([ZMM(); 8], [ZMM(); 4], [ZMM(); 2], ZMM());
            for i in 0..2 * ncols {
                fold(w[i], acc[2 * i], acc[2 * i + 1], true, 0x44, 0xEE);
            }
            for i in 0..ncols {
                fold(x[i], w[2 * i], w[2 * i + 1], true, 0x88, 0xDD);
            }
            let pairs = if ncols > 2 { 2 } else { 1 };
            for i in 0..pairs {
                let second = if 2 * i + 1 < ncols { x[2 * i + 1] } else { x[2 * i] };
                fold(y[i], x[2 * i], second, false, 0x44, 0xEE);
            }
            let second = if pairs == 2 { y[1] } else { y[0] };
            fold(z, y[0], second, false, 0x88, 0xDD);
            // Row r's lane moved to the bottom, stored under the mask of the columns (whole
            // registers, so that AVX-512F is all the stores need).
            for r in 0..rows {
                if r == 0 {
                    VMOVUPS([c].mask(kept), z);
                } else {
                    let row = ZMM();
                    VSHUFF32X4(row, z, z, r);
                    VMOVUPS([c].mask(kept), row);
                }
                ADD(c, ldc);
            }
            if rows == 4 {
                LEA(a, [a + lda * 4]);
            }
        }
        // `t = (1 << n) - 1`, counting `n` down (a few steps, once a call: no BMI2 `bzhi`, which
        // the variants of `sgemm_block` that call this do not need, and no shift by `cl`).
        fn low_bits(t: Reg, n: Reg) {
            let (top, done) = (Label::new(), Label::new());
            XOR(t, t);
            TEST(n, n);
            JZ(done);
            LABEL(top);
            LEA(t, [t + t + 1]);
            SUB(n, 1);
            JNZ(top);
            LABEL(done);
        }
        // The masks of A's last k mod 16 floats and of C's `cols` columns.
        let (tail, kept, t, u) = (K(), K(), GP64(), GP64());
        MOV(u, k);
        AND(u, 15);
        low_bits(t, u);
        KMOVW(tail, t.r32());
        MOV(u, cols);
        low_bits(t, u);
        KMOVW(kept, t.r32());
        // E's rows, kp floats apart.
        let s = GP64();
        LEA(s, [k + 15]);
        AND(s, -16);
        SHL(s, 2);
        // The blocks of 4 rows, then the last 1 to 3, by the first `ncols` columns of E.
        fn blocks(ncols: usize, a: Reg, lda: Reg, et: Reg, s: Reg, k: Reg, c: Reg, ldc: Reg, rows: Reg, tail: Reg, kept: Reg) {
            let (quads, rest, end) = (Label::new(), Label::new(), Label::new());
            CMP(rows, 4);
            JB(rest);
            LABEL(quads);
            block(4, ncols, a, lda, et, s, k, c, ldc, tail, kept);
            SUB(rows, 4);
            CMP(rows, 4);
            JAE(quads);
            LABEL(rest);
            for r in 1..4 {
                let other = Label::new();
                CMP(rows, r);
                JNE(other);
                block(r, ncols, a, lda, et, s, k, c, ldc, tail, kept);
                JMP(end);
                LABEL(other);
            }
            LABEL(end);
        }
        // Each number of columns by its own blocks, which multiply by no columns of zeros (as
        // blocks of 4 columns had: products of 100 or 256 rows by 1 column 1.9 times as fast
        // as through them, by 2 columns 1.45-1.55 times).
        let end = Label::new();
        for ncols in 1..4 {
            let other = Label::new();
            CMP(cols, ncols);
            JNE(other);
            blocks(ncols, a, lda_bytes, et, s, k, c, ldc_bytes, rows, tail, kept);
            JMP(end);
            LABEL(other);
        }
        blocks(4, a, lda_bytes, et, s, k, c, ldc_bytes, rows, tail, kept);
        LABEL(end);
    }
}

/// [`sgemm_edge_dot`] where AVX-512 is missing: plain Rust (under Miri, it stands in for the
/// kernel).
///
/// # Safety
///
/// As for [`sgemm_edge_dot`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_edge_dot_in_rust(
    a: *const f32,
    lda_bytes: usize,
    et: *const f32,
    k: usize,
    c: *mut f32,
    ldc_bytes: usize,
    rows: usize,
    cols: usize,
) {
    let kp = k.next_multiple_of(16);
    for i in 0..rows {
        for j in 0..cols.min(EDGE_DOT_COLS) {
            let mut sum = 0.0f32;
            for kk in 0..k {
                // SAFETY: the caller passes `rows` rows of k floats at `a` and `cols` rows of k
                // floats at `et`, kp apart.
                sum += unsafe { *a.byte_add(i * lda_bytes).add(kk) * *et.add(j * kp + kk) };
            }
            // SAFETY: and `rows` rows of `cols` floats at `c`.
            unsafe { *c.byte_add(i * ldc_bytes).add(j) = sum };
        }
    }
}
