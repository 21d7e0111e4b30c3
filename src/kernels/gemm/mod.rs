//! SGEMM: a register-blocked micro-kernel (6 rows by 32 columns in zmm accumulators on AVX-512,
//! 6 by 16 in ymm on AVX2+FMA and in NEON registers on AArch64), the same run down a block of
//! rows of A read in place ([`sgemm_block`], packing its panel of B on its first block; 6 rows
//! by 64 columns on Ice Lake and Sapphire Rapids), and a driver that blocks k by the core's
//! caches (see `kc_max`) and multiplies; on AVX-512, the last few columns by dot products
//! along k (`edge.rs`).

use super::caches::{Caches, caches};
use peach_core::{Error, ErrorKind};
use peach_macros::peach_fn;
use std::mem::MaybeUninit;

#[cfg(target_arch = "x86_64")]
mod edge;
#[cfg(target_arch = "x86_64")]
pub use edge::*;

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

/// The generator of [`sgemm_block`] and [`sgemm_block_48`]: the kernel `$name` with the
/// attributes given, its panel 48 columns wide where `$three` (three zmm a row), otherwise as
/// wide as its variant's registers and core suit.
macro_rules! block_kernel {
    ($(#[$($attr:tt)*])* $name:ident, three = $three:tt) => {
        peach_fn! {
            $(#[$($attr)*])*
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
                let zmm = target.has_avx512f();
                // Ice Lake and Sapphire Rapids (whose variant this is): 6 rows by 64 columns, so that
                // each broadcast of A feeds four FMAs and a step loads 10 vectors for 24 FMAs (these
                // cores load about one zmm a cycle).
                let nr = if $three {
                    48
                } else if !zmm {
                    16
                } else if target.is_icelake() {
                    64
                } else {
                    32
                };
                let vbytes = if zmm { 64 } else { 32 };
                fn vreg() -> Reg {
                    if target.has_avx512f() { ZMM() } else { YMM() }
                }
                // Each cache line of the `bytes` bytes `off` bytes from `at` (which need not start on a
                // line) into L1, or into L2 when `l2`.
                fn prefetch_lines(at: Reg, off: usize, bytes: usize, l2: bool) {
                    for l in 0..bytes / 64 {
                        if l2 { PREFETCHT1([at + off + 64 * l]) } else { PREFETCHT0([at + off + 64 * l]) }
                    }
                    if l2 { PREFETCHT1([at + off + (bytes - 1)]) } else { PREFETCHT0([at + off + (bytes - 1)]) }
                }
                // One step of k for `rows` rows (up to 6): a row of the panel of B times a column of A,
                // `a_off` bytes along A's rows (rows 3j to 3j + 2 at `bases[j]`, `lda` apart) and `b_off`
                // bytes along the panel. When `packing`, the row of B comes from `src` (which then moves
                // to the next row, `ldb` on) and is written to the panel.
                fn k_step(acc: [Reg; 24], rows: usize, vecs: usize, bases: [Reg; 2], panel: Reg, lda: Reg, a_off: usize, b_off: usize, vbytes: usize, packing: bool, direct: bool, src: Reg, ldb: Reg) {
                    let row = [vreg(); 4];
                    for v in 0..vecs {
                        if packing {
                            VMOVUPS(row[v], [src + v * vbytes]);
                            VMOVUPS([panel + b_off + v * vbytes], row[v]);
                        } else if direct {
                            VMOVUPS(row[v], [panel + v * vbytes]);
                        } else {
                            VMOVUPS(row[v], [panel + b_off + v * vbytes]);
                        }
                    }
                    if direct {
                        // B's row itself (`panel` walks down them): eight rows ahead, each of its lines.
                        let row_bytes = vecs * vbytes;
                        for l in 0..row_bytes / 64 {
                            PREFETCHT0([panel + ldb * 8 + 64 * l]);
                        }
                        PREFETCHT0([panel + ldb * 8 + (row_bytes - 1)]);
                        ADD(panel, ldb);
                    }
                    if packing {
                        let row_bytes = vecs * vbytes;
                        // Eight rows ahead, each of the row's cache lines.
                        for l in 0..row_bytes / 64 {
                            PREFETCHT0([src + ldb * 8 + 64 * l]);
                        }
                        PREFETCHT0([src + ldb * 8 + (row_bytes - 1)]);
                        // The same row of the next panel, which the next call packs, into L2.
                        prefetch_lines(src, row_bytes, row_bytes, true);
                        ADD(src, ldb);
                    }
                    for i in 0..rows {
                        let ai = vreg();
                        let base = bases[i / 3];
                        match i % 3 {
                            0 => VBROADCASTSS(ai, [base + a_off]),
                            1 => VBROADCASTSS(ai, [base + lda + a_off]),
                            _ => VBROADCASTSS(ai, [base + lda * 2 + a_off]),
                        }
                        for v in 0..vecs {
                            VFMADD231PS(acc[vecs * i + v], ai, row[v]);
                        }
                    }
                }
                // One block of `rows` rows of A (1 to 6), from `a`, into as many rows of C from `c`: the
                // k loop over the panel at `b`, several steps per round (the loop's own instructions
                // shared), then the rest. `a` and `b` are the loop's own pointers, wound back after it
                // where `more` blocks follow, so that the block that packs the panel still finds a
                // register for each of its values; `a` and `c` move on to the next block's rows. When
                // `direct`, there is no panel: `b` walks down B's rows from `src`.
                fn block(rows: usize, more: bool, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, nr: usize, vbytes: usize, packing: bool, direct: bool, src: Reg, ldb: Reg) {
                    let vecs = 4 * nr / vbytes;
                    if direct {
                        MOV(b, src);
                    }
                    // Steps of k per round of the loop (2 to the `shift`).
                    let (unroll, shift) = if nr >= 48 { (4, 2) } else { (2, 1) };
                    let acc = [vreg(); 24]; // row i, vector v: acc[vecs i + v]
                    for i in 0..rows * vecs {
                        VXORPS(acc[i], acc[i], acc[i]);
                    }
                    // The block's rows of C (each of its cache lines), asked for now: the k loop hides
                    // their misses, which products too large for L2 would otherwise wait for at the end
                    // (5-7 % at 768^3 on Zen 3).
                    let t = GP64();
                    MOV(t, c);
                    for _ in 0..rows {
                        prefetch_lines(t, 0, 4 * nr, false);
                        ADD(t, ldc);
                    }
                    // Rows 3 to 5 at bases[1].
                    let bases = [a, GP64()];
                    let used = if rows > 3 { 2 } else { 1 };
                    if rows > 3 {
                        LEA(bases[1], [a + lda * 2]);
                        ADD(bases[1], lda);
                    }
                    let (last, done) = (Label::new(), Label::new());
                    MOV(t, k);
                    SHR(t, shift);
                    JZ(last);
                    let top = Label::new();
                    ALIGN(32);
                    LABEL(top);
                    for s in 0..unroll {
                        k_step(acc, rows, vecs, bases, b, lda, 4 * s, 4 * nr * s, vbytes, packing, direct, src, ldb);
                    }
                    for j in 0..used {
                        ADD(bases[j], 4 * unroll);
                    }
                    if !direct {
                        ADD(b, 4 * nr * unroll);
                    }
                    SUB(t, 1);
                    JNZ(top);
                    // The last k mod `unroll` steps, one at a time.
                    LABEL(last);
                    MOV(t, k);
                    AND(t, unroll - 1);
                    JZ(done);
                    let tail = Label::new();
                    LABEL(tail);
                    k_step(acc, rows, vecs, bases, b, lda, 0, 0, vbytes, packing, direct, src, ldb);
                    for j in 0..used {
                        ADD(bases[j], 4);
                    }
                    if !direct {
                        ADD(b, 4 * nr);
                    }
                    SUB(t, 1);
                    JNZ(tail);
                    LABEL(done);
                    let store = Label::new();
                    TEST(accumulate, accumulate);
                    JZ(store);
                    MOV(t, c);
                    for i in 0..rows {
                        for v in 0..vecs {
                            VADDPS(acc[vecs * i + v], acc[vecs * i + v], [t + v * vbytes]);
                        }
                        ADD(t, ldc);
                    }
                    LABEL(store);
                    for i in 0..rows {
                        for v in 0..vecs {
                            VMOVUPS([c + v * vbytes], acc[vecs * i + v]);
                        }
                        ADD(c, ldc);
                    }
                    // The loops moved `a` and `b` on by 4 and 4 NR bytes per step: back, then `a` down
                    // to the next block's rows (after the last block, nothing).
                    if more {
                        MOV(t, k);
                        SHL(t, 2);
                        SUB(a, t);
                        if !direct {
                            if nr == 48 {
                                LEA(t, [t + t * 2]);
                            }
                            SHL(t, if nr == 64 { 6 } else if nr == 32 { 5 } else { 4 });
                            SUB(b, t);
                        }
                        match rows {
                            4 => LEA(a, [a + lda * 4]),
                            5 => {
                                LEA(t, [lda + lda * 4]);
                                ADD(a, t);
                            }
                            _ => {
                                LEA(t, [lda + lda * 2]);
                                LEA(a, [a + t * 2]);
                            }
                        }
                    }
                }
                // The panel at `b` packed from B's `k` rows at `src` (`ldb` apart), alone: where fewer
                // than 6 rows come, before the block that reads it.
                fn pack(b: Reg, k: Reg, nr: usize, vbytes: usize, src: Reg, ldb: Reg) {
                    let (to, t) = (GP64(), GP64());
                    MOV(to, b);
                    MOV(t, k);
                    let top = Label::new();
                    LABEL(top);
                    for v in 0..4 * nr / vbytes {
                        let x = vreg();
                        VMOVUPS(x, [src + v * vbytes]);
                        VMOVUPS([to + v * vbytes], x);
                    }
                    ADD(src, ldb);
                    ADD(to, 4 * nr);
                    SUB(t, 1);
                    JNZ(top);
                }
                // NEON: 6 rows (or the last 1 to 5) by 16 columns, in up to 24 accumulators of 4
                // floats. Each value of A is loaded into every lane (`ld1r`, post-indexed along its row)
                // and feeds four FMAs; a step of 6 rows loads 10 registers for 24 FMAs, as on x86-64.
                // When `direct`, there is no panel: `b` walks down B's rows from `src`.
                fn neon_block(height: usize, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, packing: bool, direct: bool, src: Reg, ldb: Reg) {
                    if direct {
                        MOV(b, src);
                    }
                    let acc = [VEC(); 24]; // row i, vector v: acc[4 i + v]
                    for r in 0..4 * height {
                        EOR(acc[r].b16(), acc[r].b16(), acc[r].b16());
                    }
                    let rows = [GP64(); 6];
                    MOV(rows[0], a);
                    for i in 1..height {
                        ADD(rows[i], rows[i - 1], lda);
                    }
                    let t = GP64();
                    MOV(t, k);
                    let top = Label::new();
                    LABEL(top);
                    let row = [VEC(); 4];
                    if packing {
                        LDP(row[0].q(), row[1].q(), [src]);
                        LDP(row[2].q(), row[3].q(), [src + 32]);
                        ADD(src, src, ldb);
                        STP(row[0].q(), row[1].q(), [b].post(32));
                        STP(row[2].q(), row[3].q(), [b].post(32));
                    } else if direct {
                        LDP(row[0].q(), row[1].q(), [b]);
                        LDP(row[2].q(), row[3].q(), [b + 32]);
                        ADD(b, b, ldb);
                    } else {
                        LDP(row[0].q(), row[1].q(), [b].post(32));
                        LDP(row[2].q(), row[3].q(), [b].post(32));
                    }
                    for i in 0..height {
                        let ai = VEC();
                        LD1R(ai.s4(), [rows[i]].post(4));
                        for v in 0..4 {
                            FMLA(acc[4 * i + v].s4(), row[v].s4(), ai.s4());
                        }
                    }
                    SUBS(t, t, 1);
                    B_NE(top);
                    let store = Label::new();
                    CBZ(accumulate, store);
                    MOV(t, c);
                    for i in 0..height {
                        let old = [VEC(); 4];
                        LDP(old[0].q(), old[1].q(), [t]);
                        LDP(old[2].q(), old[3].q(), [t + 32]);
                        for v in 0..4 {
                            FADD(acc[4 * i + v].s4(), acc[4 * i + v].s4(), old[v].s4());
                        }
                        ADD(t, t, ldc);
                    }
                    LABEL(store);
                    for i in 0..height {
                        STP(acc[4 * i].q(), acc[4 * i + 1].q(), [c]);
                        STP(acc[4 * i + 2].q(), acc[4 * i + 3].q(), [c + 32]);
                        ADD(c, c, ldc);
                    }
                    // The panel back to its start (64 bytes a step), `a` down to the next block's rows
                    // (after the last block, nothing).
                    if height == 6 {
                        if !direct {
                            LSL(t, k, 6);
                            SUB(b, b, t);
                        }
                        for _ in 0..6 {
                            ADD(a, a, lda);
                        }
                    }
                }
                // The panel at `b` packed from B's `k` rows at `src` (`ldb` apart), alone: where fewer
                // than 6 rows come, before the block that reads it.
                fn neon_pack(b: Reg, k: Reg, src: Reg, ldb: Reg) {
                    let (to, t) = (GP64(), GP64());
                    MOV(to, b);
                    MOV(t, k);
                    let top = Label::new();
                    LABEL(top);
                    let row = [VEC(); 4];
                    LDP(row[0].q(), row[1].q(), [src]);
                    LDP(row[2].q(), row[3].q(), [src + 32]);
                    ADD(src, src, ldb);
                    STP(row[0].q(), row[1].q(), [to].post(32));
                    STP(row[2].q(), row[3].q(), [to].post(32));
                    SUBS(t, t, 1);
                    B_NE(top);
                }
                // The first block of 6 packs the panel, when asked (with fewer rows, a copy before
                // them); the other blocks read it, then the last rows mod 6.
                let (next, end) = (Label::new(), Label::new());
                if target.has_neon() {
                    // Blocks of 6, then the last rows mod 6 in one block; then to `end`.
                    fn neon_blocks(rows: Reg, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, direct: bool, src: Reg, ldb: Reg, end: Label) {
                        let (top, rest) = (Label::new(), Label::new());
                        CMP(rows, 6);
                        B_LO(rest);
                        LABEL(top);
                        neon_block(6, a, lda, b, c, k, ldc, accumulate, false, direct, src, ldb);
                        SUB(rows, rows, 6);
                        CMP(rows, 6);
                        B_HS(top);
                        LABEL(rest);
                        for r in 1..6 {
                            let other = Label::new();
                            CMP(rows, r);
                            B_NE(other);
                            neon_block(r, a, lda, b, c, k, ldc, accumulate, false, direct, src, ldb);
                            B(end);
                            LABEL(other);
                        }
                        B(end);
                    }
                    // With no panel (`b` null), every block reads B's rows.
                    let (pack_alone, panel) = (Label::new(), Label::new());
                    CBNZ(b, panel);
                    neon_blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, true, b_rows, ldb_bytes, end);
                    LABEL(panel);
                    CBZ(ldb_bytes, next);
                    CMP(rows, 6);
                    B_LO(pack_alone);
                    neon_block(6, a, lda_bytes, b, c, k, ldc_bytes, accumulate, true, false, b_rows, ldb_bytes);
                    SUB(rows, rows, 6);
                    B(next);
                    LABEL(pack_alone);
                    neon_pack(b, k, b_rows, ldb_bytes);
                    LABEL(next);
                    neon_blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, false, b_rows, ldb_bytes, end);
                } else {
                    // Blocks of 6 while at least 10 rows are left; the last 4 to 9 as 4 + 3, 4 + 4 and
                    // 5 + 4 where they are over 6, so that no block has fewer than 3 rows (at 32 columns,
                    // 2 rows keep only four chains of FMAs; 32^3 went 6 % faster); fewer than 4 rows in
                    // all go in one block. Then to `end`.
                    fn blocks(rows: Reg, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, nr: usize, vbytes: usize, direct: bool, src: Reg, ldb: Reg, end: Label) {
                        let (top, rest) = (Label::new(), Label::new());
                        CMP(rows, 10);
                        JB(rest);
                        LABEL(top);
                        block(6, true, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, src, ldb);
                        SUB(rows, 6);
                        CMP(rows, 10);
                        JAE(top);
                        // The last 0 to 9 rows.
                        LABEL(rest);
                        let alone = [Label::new(); 7]; // alone[r]: the last block, of r rows
                        let (seven, eight, nine) = (Label::new(), Label::new(), Label::new());
                        for (r, to) in [(9, nine), (8, eight), (7, seven)] {
                            CMP(rows, r);
                            JE(to);
                        }
                        for r in 1..7 {
                            CMP(rows, r);
                            JE(alone[r]);
                        }
                        JMP(end);
                        LABEL(nine);
                        block(5, true, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, src, ldb);
                        JMP(alone[4]);
                        LABEL(eight);
                        LABEL(seven);
                        block(4, true, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, src, ldb);
                        SUB(rows, 4);
                        CMP(rows, 4);
                        JE(alone[4]);
                        JMP(alone[3]);
                        for r in 1..7 {
                            LABEL(alone[r]);
                            block(r, false, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, src, ldb);
                            JMP(end);
                        }
                    }
                    // With no panel (`b` null), every block reads B's rows. Otherwise the block that
                    // packs is one of 6 where that leaves no fewer than 4 rows, else the panel is packed
                    // alone first.
                    let (panel, pack_alone, packing_block) = (Label::new(), Label::new(), Label::new());
                    TEST(b, b);
                    JNZ(panel);
                    blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, true, b_rows, ldb_bytes, end);
                    LABEL(panel);
                    TEST(ldb_bytes, ldb_bytes);
                    JZ(next);
                    CMP(rows, 6);
                    JE(packing_block);
                    CMP(rows, 10);
                    JB(pack_alone);
                    LABEL(packing_block);
                    block(6, true, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, true, false, b_rows, ldb_bytes);
                    SUB(rows, 6);
                    JMP(next);
                    LABEL(pack_alone);
                    pack(b, k, nr, vbytes, b_rows, ldb_bytes);
                    LABEL(next);
                    blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, false, b_rows, ldb_bytes, end);
                }
                LABEL(end);
            }
        }
    };
}

block_kernel! {
    /// `C[rows x NR] (+)= A[rows x k] * B[k x NR]` with A read in place: the micro-kernel of
    /// [`sgemm_kernel`] run down the 6-row blocks of `rows` rows of a row-major A (rows
    /// `lda_bytes` apart, row `i` at `a + i * lda_bytes`), the last `rows` mod 6 in a smaller
    /// block, against one packed panel of B (as for [`sgemm_kernel`]), into `rows` rows of C
    /// (`ldc_bytes` apart). With `accumulate` 0 the product replaces C, otherwise it is added to
    /// it. `k` and `rows` must be positive.
    ///
    /// With `ldb_bytes` nonzero the panel is packed on the way, in the shadow of the first
    /// block's multiplications: that block reads B's rows themselves (row `kk`'s NR floats at
    /// `b_rows + kk * ldb_bytes`) and writes each to the panel at `b`, and the other blocks read
    /// the panel (with fewer than 6 rows, the panel is packed before them). With `ldb_bytes` 0,
    /// `b_rows` is not read. With `b` null there is no panel: every block reads B's rows in
    /// place (faster for a few blocks, which would not repay the stores of packing).
    ///
    /// On Ice Lake and Sapphire Rapids (the `icelake` variant; both have two 512-bit FMA
    /// units) the panel is 64 columns wide: 6 rows in 24 zmm accumulators, so that each value of
    /// A broadcast feeds four FMAs (on Ice Lake, level with the `gemm` crate or ahead, where 12
    /// rows by 32 trailed it by up to 8 %). On AArch64 (the `neon` variant) it is 16 columns
    /// wide: 6 rows in 24 accumulators of four floats.
    ///
    /// ```
    /// use peach::kernels::gemm::{sgemm_block, sgemm_block_nr};
    /// let (nr, k, lda) = (sgemm_block_nr(), 3, 5);
    /// let a = vec![1.0f32; 12 * lda];
    /// let b = vec![2.0f32; nr * k];
    /// let mut panel = vec![0.0f32; nr * k];
    /// let mut c = vec![1.0f32; 12 * nr];
    /// // SAFETY: 12 rows of k floats lda floats apart; k rows of nr floats, packed into a panel
    /// // of nr k floats; 12 rows of nr floats.
    /// let (a, p) = (a.as_ptr(), panel.as_mut_ptr());
    /// unsafe { sgemm_block(a, lda * 4, p, c.as_mut_ptr(), k, nr * 4, 12, 1, b.as_ptr(), nr * 4) };
    /// assert!(c.iter().all(|&v| v == 7.0) && panel == b);
    /// unsafe { sgemm_block(a, lda * 4, p, c.as_mut_ptr(), k, nr * 4, 12, 0, std::ptr::null(), 0) };
    /// assert!(c.iter().all(|&v| v == 6.0));
    /// ```
    ///
    /// # Safety
    ///
    /// `a` must hold `rows` rows of `k` floats, `lda_bytes` apart, and `c` as many rows of NR
    /// floats, `ldc_bytes` apart; `b` a panel of `NR k` floats (writable when `ldb_bytes` is
    /// not 0, and then `b_rows` must hold `k` rows of NR floats, `ldb_bytes` apart), or null,
    /// and then `ldb_bytes` must be nonzero and `b_rows` hold those rows. NR is what
    /// [`sgemm_block_nr`] says while no other thread changes the dispatch (see [`sgemm_kernel`]).
    #[variants(x86_64::icelake, x86_64::avx512, x86_64::haswell, aarch64::neon, fallback = sgemm_block_in_rust)]
    #[allow(clippy::too_many_arguments)]
    sgemm_block, three = false
}

#[cfg(target_arch = "x86_64")]
block_kernel! {
    /// [`sgemm_block`] 48 columns wide (x86-64 with AVX-512 only): 6 rows by three zmm in 18
    /// accumulators, a step loading 9 vectors for 18 FMAs. [`sgemm`] runs it where a 32-column
    /// panel and a 16-column edge would end a product (48^3, 112 columns), whose narrow kernel
    /// loads a value of A for each FMA. The arguments are [`sgemm_block`]'s with NR 48; the
    /// fallback is plain Rust.
    ///
    /// ```
    /// use peach::kernels::gemm::sgemm_block_48;
    /// let (k, lda) = (3, 5);
    /// let a = vec![1.0f32; 8 * lda];
    /// let b = vec![2.0f32; 48 * k];
    /// let mut panel = vec![0.0f32; 48 * k];
    /// let mut c = vec![1.0f32; 8 * 48];
    /// // SAFETY: 8 rows of k floats lda floats apart; k rows of 48 floats, packed into a panel
    /// // of 48 k floats; 8 rows of 48 floats.
    /// let (a, p) = (a.as_ptr(), panel.as_mut_ptr());
    /// unsafe { sgemm_block_48(a, lda * 4, p, c.as_mut_ptr(), k, 48 * 4, 8, 1, b.as_ptr(), 48 * 4) };
    /// assert!(c.iter().all(|&v| v == 7.0) && panel == b);
    /// ```
    ///
    /// # Safety
    ///
    /// As for [`sgemm_block`], with NR 48.
    #[variants(x86_64::avx512, fallback = sgemm_block_48_in_rust)]
    #[allow(clippy::too_many_arguments)]
    sgemm_block_48, three = true
}

#[cfg(target_arch = "x86_64")]
peach_fn! {
    /// [`sgemm_block`] with a row of C in one register (x86-64 only): 16 columns in a zmm with
    /// AVX-512, each value of A broadcast from memory into its FMA, 8 in a ymm with AVX2 (see
    /// [`sgemm_block_narrow_nr`]); blocks of 12 rows, for twelve chains of FMAs. [`sgemm`] runs
    /// it on edges no wider, where the main kernels' 32 or 16 columns take two registers a row
    /// (at 30 x 48 x 32, such an edge had taken as long as the 32 columns before it). The
    /// arguments are [`sgemm_block`]'s; the fallback is plain Rust, 16 columns wide.
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
    /// As for [`sgemm_block`], with NR what [`sgemm_block_narrow_nr`] says while no other thread
    /// changes the dispatch.
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
        fn k_step(acc: [Reg; 12], rows: usize, bases: [Reg; 4], lda: Reg, panel: Reg, off: usize, vbytes: usize, packing: bool, direct: bool, src: Reg, ldb: Reg) {
            let row = vreg();
            if packing {
                VMOVUPS(row, [src]);
                VMOVUPS([panel + vbytes * off], row);
                ADD(src, ldb);
            } else if direct {
                // B's row itself (`panel` walks down them).
                VMOVUPS(row, [panel]);
                PREFETCHT0([panel + ldb * 8]);
                PREFETCHT0([panel + ldb * 8 + (vbytes - 1)]);
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
        fn block(rows: usize, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, vbytes: usize, packing: bool, direct: bool, src: Reg, ldb: Reg) {
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
                k_step(acc, rows, bases, lda, panel, off, vbytes, packing, direct, src, ldb);
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
            k_step(acc, rows, bases, lda, panel, 0, vbytes, packing, direct, src, ldb);
            LABEL(done);
            let store = Label::new();
            TEST(accumulate, accumulate);
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
        fn blocks(rows: Reg, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, vbytes: usize, direct: bool, src: Reg, ldb: Reg, end: Label) {
            let (pairs, rest) = (Label::new(), Label::new());
            CMP(rows, 12);
            JB(rest);
            LABEL(pairs);
            block(12, a, lda, b, c, k, ldc, accumulate, vbytes, false, direct, src, ldb);
            SUB(rows, 12);
            CMP(rows, 12);
            JAE(pairs);
            LABEL(rest);
            for r in 1..12 {
                let other = Label::new();
                CMP(rows, r);
                JNE(other);
                block(r, a, lda, b, c, k, ldc, accumulate, vbytes, false, direct, src, ldb);
                JMP(end);
                LABEL(other);
            }
            JMP(end);
        }
        // With no panel (`b` null), every block reads B's rows. Otherwise the first block of 12
        // packs the panel, when asked (with fewer rows, a copy before them).
        let (panel, next, pack_alone, end) = (Label::new(), Label::new(), Label::new(), Label::new());
        TEST(b, b);
        JNZ(panel);
        blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, true, b_rows, ldb_bytes, end);
        LABEL(panel);
        TEST(ldb_bytes, ldb_bytes);
        JZ(next);
        CMP(rows, 12);
        JB(pack_alone);
        block(12, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, true, false, b_rows, ldb_bytes);
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
        blocks(rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, vbytes, false, b_rows, ldb_bytes, end);
        LABEL(end);
    }
}

/// [`sgemm_block_narrow`] where no variant runs: plain Rust, 16 columns wide.
///
/// # Safety
///
/// As for [`sgemm_block_narrow`], with NR 16.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_block_narrow_in_rust(
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
    unsafe { multiply_rows::<16>(a, lda_bytes, b, c, k, ldc_bytes, rows, accumulate, b_rows, ldb_bytes) }
}

/// [`sgemm_block_48`] where no variant runs: plain Rust.
///
/// # Safety
///
/// As for [`sgemm_block_48`].
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_block_48_in_rust(
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
    unsafe { multiply_rows::<48>(a, lda_bytes, b, c, k, ldc_bytes, rows, accumulate, b_rows, ldb_bytes) }
}

/// [`sgemm_block`] where no variant runs: plain Rust, with [`sgemm_block_nr`] columns.
///
/// # Safety
///
/// As for [`sgemm_block`].
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
/// [`sgemm_block`], packing included); under Miri, it stands in for the kernels.
///
/// # Safety
///
/// As for [`sgemm_block`], with `NR` columns.
#[allow(clippy::too_many_arguments)]
unsafe fn multiply_rows<const NR: usize>(
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
                *out = if accumulate == 0 { sum } else { *out + sum };
            }
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

/// A kernel [`sgemm`] calls: A's rows, the distance between them in bytes, a panel of B, C's
/// rows, k, the distance between C's rows in bytes, the number of rows, whether to add
/// to C, and B's rows to pack into the panel and the distance between them (0: already packed).
type BlockKernel = unsafe fn(*const f32, usize, *mut f32, *mut f32, usize, usize, usize, usize, *const f32, usize);

/// The kernel [`sgemm`] calls for an edge of up to [`EDGE_DOT_COLS`] columns: A's rows, the
/// distance between them in bytes, the edge of B packed transposed, k, C's rows from the edge's
/// first column, the distance between them in bytes, the number of rows and of columns.
type DotKernel = unsafe fn(*const f32, usize, *const f32, usize, *mut f32, usize, usize, usize);

/// The most columns one `sgemm_edge_dot` call computes (x86-64 only).
pub const EDGE_DOT_COLS: usize = 4;

/// The kernels [`sgemm`] runs for one [`sgemm_block`] variant: `main`, `nr` columns wide,
/// where n leaves half that (Ice Lake's 64 columns, n an odd multiple of 32), `half` for the
/// rest, for an edge no wider than it, `narrow` (`sgemm_block_narrow`, a row of C in one
/// register: 16 columns with AVX-512, 8 with AVX2) with its width, so that an edge of a few
/// columns is not padded to a whole panel (at 30 x 33 x 32, twice the work), for one of at
/// most [`DOT_EDGE`], `dot` (`sgemm_edge_dot`, 4 columns a call), and for a 32-column panel
/// and a whole 16-column edge after it, `last_48` (`sgemm_block_48`).
#[derive(Clone, Copy)]
struct Kernels {
    nr: usize,
    main: BlockKernel,
    half: Option<BlockKernel>,
    narrow: Option<(BlockKernel, usize)>,
    dot: Option<DotKernel>,
    last_48: Option<BlockKernel>,
}

impl Kernels {
    /// The narrowest panel's width: n a multiple of it needs no edge panel.
    fn step(&self) -> usize {
        if self.half.is_some() { self.nr / 2 } else { self.nr }
    }

    /// The kernel for the panel from column `j` and its width, where the panels of `main` and
    /// `half` end at `n_full` (a multiple of [`Kernels::step`]): `main`, the last one `half`
    /// where `n_full` leaves half (then `half` is there), from `n_full` on `edge`.
    fn at(&self, j: usize, n_full: usize, edge: (BlockKernel, usize)) -> (BlockKernel, usize) {
        match self.half {
            _ if j == n_full => edge,
            Some(half) if j + self.nr > n_full => (half, self.nr / 2),
            _ => (self.main, self.nr),
        }
    }
}

/// [`sgemm`]'s kernels by the [`sgemm_block`] variant: Ice Lake's (which Sapphire Rapids also
/// runs; the variant requires every extension of x86-64-v4, whose kernel finishes its
/// and, with x86-64-v4's, [`sgemm_block_narrow`] its narrow edges), the AVX-512 one, the AVX2
/// one.
#[cfg(all(target_arch = "x86_64", not(miri)))]
const BLOCK_KERNELS: [(&str, Kernels); 3] = [
    (
        "icelake",
        Kernels {
            nr: 64,
            main: sgemm_block_icelake,
            half: Some(sgemm_block_x86_64_v4),
            narrow: Some((sgemm_block_narrow_x86_64_v4, 16)),
            dot: Some(sgemm_edge_dot_x86_64_v4),
            last_48: Some(sgemm_block_48_x86_64_v4),
        },
    ),
    (
        "x86-64-v4",
        Kernels {
            nr: 32,
            main: sgemm_block_x86_64_v4,
            half: None,
            narrow: Some((sgemm_block_narrow_x86_64_v4, 16)),
            dot: Some(sgemm_edge_dot_x86_64_v4),
            last_48: Some(sgemm_block_48_x86_64_v4),
        },
    ),
    (
        "haswell",
        Kernels {
            nr: 16,
            main: sgemm_block_haswell,
            half: None,
            narrow: Some((sgemm_block_narrow_haswell, 8)),
            dot: None,
            last_48: None,
        },
    ),
];

/// Under Miri, which cannot run machine code, Rust models of the same widths stand in, so that
/// Miri checks every pointer [`sgemm`] hands a kernel (run it with `-C
/// target-cpu=x86-64-v4` for `choose` to see the AVX-512 widths).
#[cfg(all(target_arch = "x86_64", miri))]
const BLOCK_KERNELS: [(&str, Kernels); 3] = [
    (
        "icelake",
        Kernels {
            nr: 64,
            main: multiply_rows::<64>,
            half: Some(multiply_rows::<32>),
            narrow: Some((multiply_rows::<16>, 16)),
            dot: Some(sgemm_edge_dot_in_rust),
            last_48: Some(multiply_rows::<48>),
        },
    ),
    (
        "x86-64-v4",
        Kernels {
            nr: 32,
            main: multiply_rows::<32>,
            half: None,
            narrow: Some((multiply_rows::<16>, 16)),
            dot: Some(sgemm_edge_dot_in_rust),
            last_48: Some(multiply_rows::<48>),
        },
    ),
    (
        "haswell",
        Kernels {
            nr: 16,
            main: multiply_rows::<16>,
            half: None,
            narrow: Some((multiply_rows::<8>, 8)),
            dot: None,
            last_48: None,
        },
    ),
];

/// The kernels [`sgemm`] calls for the variant dispatch chooses on this CPU.
#[cfg(target_arch = "x86_64")]
fn block_kernels() -> Option<Kernels> {
    let variant = SGEMM_BLOCK_DISPATCH.variants().get(SGEMM_BLOCK_DISPATCH.choose()?)?;
    kernels_of(variant.name)
}

/// The kernels of the [`sgemm_block`] variant named `name`.
#[cfg(target_arch = "x86_64")]
fn kernels_of(name: &str) -> Option<Kernels> {
    BLOCK_KERNELS.iter().find(|k| k.0 == name).map(|k| k.1)
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
/// instead.
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
/// panels (with up to 24 rows, reads B's rows in place instead) and runs [`sgemm_block`] on A's
/// rows, any number of them; columns past the last
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
    let kernels = Kernels { nr: 16, main: sgemm_block, half: None, narrow: None, dot: None, last_48: None };
    let home = PanelHome::on(peach::runtime::dispatch::microarch(), kernels.nr);
    // SAFETY: `choose` picked the kernels' variant for this CPU, and `half` and `narrow` need no
    // extension its variant lacks (the table's test checks it); off x86-64, plain Rust.
    unsafe { multiply(kernels, caches(), home, m, n, k, a, b, c) }
}

/// Where a panel of B stays while the kernel runs down the blocks of A, which sets how long
/// the blocks of k are (see [`kc_max`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanelHome {
    /// The L1 data cache: the panel takes up to three quarters of it.
    L1,
    /// L2, the panel up to 4/3 of L1, so that C is loaded and stored in fewer passes: on
    /// Sapphire Rapids with the 64-column kernel (256 steps in its 48 KiB L1, against 128 with
    /// the panel in L1: products 1-3.5 % faster at 256-1344, level at 384, in runs alternated in
    /// one process; 192-256 steps were best at 1344, 352 and 512 slower).
    L2,
}

impl PanelHome {
    /// The home for panels `nr` wide on microarchitecture `uarch`.
    fn on(uarch: Option<&str>, nr: usize) -> PanelHome {
        match (uarch, nr) {
            (Some("sapphirerapids"), 64) => PanelHome::L2,
            _ => PanelHome::L1,
        }
    }
}

/// The largest block of k (KC) for an m x n x k product on panels `nr` wide, with `caches`
/// and the panel at `home`.
///
/// In L1, the panel (KC nr floats) takes up to three quarters of the L1 data cache, or all of
/// it when k then fits in one block (a pass over C saved: 1-3 % at 192^3 on Ice Lake, 64
/// columns). Where C is more than three times the L2 cache, so that each pass over it comes
/// from further out, the panel may spill into L2 for a third as many passes: KC at least 384
/// (on Ice Lake, 64 columns, median time ratios of products alternated in one process:
/// 0.99-1.05 at 1024, 1.04-1.10 at 1152, 1.08 at 1280, 1.05-1.10 at 1536, 1.05-1.14 at 2048;
/// 0.99-1.02 at 512-896, where the rule does not apply). In L2, the panel takes up to 4/3 of
/// L1 (see [`PanelHome::L2`]), or all of k where that is at most half as long again (one pass
/// over C saved: on Sapphire Rapids, median time ratios of products alternated in one process,
/// 1.3-3.4 % faster at 384^3 than two blocks of 192 steps, 0.7-1.6 % at 288-336, level at 352;
/// at 448 and 512 a block of all k was not faster), and where C is more than twice L2, 512
/// steps (on Sapphire Rapids, with the columns in chunks: 1-4 % faster at 1152-4096, level at
/// 1024 and 896, 1 % slower at 768, where the rule does not apply). Then k is cut into blocks
/// of equal size, a multiple of 8 (600 as 200, 200 and 200, not 256, 256 and 88: a short block
/// pays C's loads and stores for few steps; at 384^3 on Sapphire Rapids, 192 and 192 were 1.5 %
/// faster than 256 and 128).
fn kc_max(nr: usize, m: usize, n: usize, k: usize, caches: Caches, home: PanelHome) -> usize {
    let panel_steps = |bytes: usize| bytes / (4 * nr) / 64 * 64;
    let c_bytes = m.saturating_mul(n).saturating_mul(4);
    let kc_limit = match home {
        PanelHome::L2 => {
            let kc_limit = panel_steps(caches.l1d / 3 * 4);
            if c_bytes > caches.l2.saturating_mul(2) {
                kc_limit.max(512)
            } else if k <= kc_limit * 3 / 2 {
                k
            } else {
                kc_limit
            }
        }
        PanelHome::L1 => {
            let kc_limit = if k <= panel_steps(caches.l1d) { k } else { panel_steps(caches.l1d * 3 / 4) };
            if c_bytes > caches.l2.saturating_mul(3) { kc_limit.max(384) } else { kc_limit }
        }
    };
    let kc_limit = kc_limit.clamp(128, 512);
    // (Two divisions cost a product of 32^3 about 1 %: none where k fits.)
    if k <= kc_limit {
        return k.next_multiple_of(8);
    }
    k.div_ceil(k.div_ceil(kc_limit)).next_multiple_of(8)
}

/// The columns of B (NC) each round over k and A's rows covers, for panels `kc` (> 0) steps
/// long at `home`, of `n` (a multiple of the narrowest panel): all of them where panels are kept
/// in L1, or where the panels of all of them take less than half of L2; otherwise chunks of equal
/// width, multiples of `nr`, whose panels take up to a quarter of L2, so that a round's panels
/// stay there while the kernel runs down A's rows (on Sapphire Rapids, chunks of 512 columns
/// of 256 steps: products 6-8 % faster at 1536 and 2048, 0.4-1 % at 1024 in turns shuffled
/// each round, 2-3 % in turns taken in a fixed order, which biases by position; at 768, where
/// all the panels take 768 KiB, chunks of 384 or 512 were 2 % slower).
fn nc_max(nr: usize, n: usize, kc: usize, caches: Caches, home: PanelHome) -> usize {
    let bytes = |cols: usize| cols.saturating_mul(kc).saturating_mul(4);
    if home == PanelHome::L1 || bytes(n) < caches.l2 / 2 {
        return n.max(nr);
    }
    let widest = (caches.l2 / 4 / bytes(1) / nr * nr).max(nr);
    n.div_ceil(n.div_ceil(widest)).next_multiple_of(nr)
}

/// [`sgemm`] with `kernels`, blocked for `caches` with panels at `home`.
///
/// # Safety
///
/// The kernels must run on this CPU, `main` `nr` columns wide and `half` half that.
#[allow(clippy::too_many_arguments)]
unsafe fn multiply(
    kernels: Kernels,
    caches: Caches,
    home: PanelHome,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) -> Result<(), Error> {
    let bad = |msg: String| Err(Error::new(ErrorKind::InvalidOperands, msg));
    let (Some(mk), Some(kn), Some(mn)) = (m.checked_mul(k), k.checked_mul(n), m.checked_mul(n)) else {
        return bad(format!("sgemm: {m} x {n} x {k} matrices do not fit in memory"));
    };
    if a.len() < mk || b.len() < kn || c.len() < mn {
        return bad("sgemm: a slice is shorter than its matrix".into());
    }
    if k == 0 {
        c[..mn].fill(0.0);
        return Ok(());
    }
    if mn == 0 {
        return Ok(());
    }
    // BLIS's loop order: columns in chunks of NC (see `nc_max`; on most cores one chunk), k in
    // blocks of KC (see `kc_max`) and rows in blocks of MC, so that one packed panel of B (KC nr
    // floats) stays in L1 (or L2) while the kernel runs down the 6-row blocks of A (MC rows of
    // KC floats, in L2). A is read in place; the first block of k writes C, the others add to
    // it. The kernel packs each panel itself, on its first pass (B's rows read in the shadow of
    // the multiplications instead of copied before them), or with few rows reads B's rows in
    // place on every pass, with no panels.
    let (nr, step) = (kernels.nr, kernels.step());
    let (kc_max, mc_max) = (kc_max(nr, m, n, k, caches, home), 96);
    // The edge: the last n mod `step` columns of B. Up to `DOT_EDGE` of them go through dot
    // products along k where the core has the kernel (see `sgemm_edge_dot`), after the
    // panels, this part of B packed transposed, and so do those past a whole narrow panel where
    // they are as few (an edge of 20 as 16 and 4, not through a zero-padded 32-column panel:
    // 20^3 1.4-1.6 times as fast, 52^3 1.25); otherwise into a panel (zeros right of them) as
    // wide as the narrowest kernel that takes them, packed here (or by the kernel where they
    // fill it), and their part of C through a tile of a pass's rows. Rows need no edge: the
    // kernels take any number.
    let n_full = n - n % step;
    // Few rows: no panels, the kernels read B's rows in place (see `DIRECT_ROWS`).
    let direct = m <= DIRECT_ROWS;
    let dot_cols = match (kernels.dot, kernels.narrow) {
        (Some(_), _) if n - n_full <= DOT_EDGE => n - n_full,
        (Some(_), Some((_, width))) if n - n_full > width && n - n_full - width <= DOT_EDGE => n - n_full - width,
        _ => 0,
    };
    let dot = kernels.dot.filter(|_| dot_cols > 0);
    let edge_cols = n - n_full - dot_cols;
    let (edge_kernel, edge_width) = match kernels.narrow {
        Some((narrow, width)) if edge_cols <= width => (narrow, width),
        _ => (kernels.half.unwrap_or(kernels.main), step),
    };
    // The panels' last 32 columns and a whole 16-column edge: one panel of 48 where the core
    // has the kernel (the narrow kernel loads a value of A for each FMA; 48^3 10 % faster, 52^3
    // 7 %, 112^3 3 %; where the last panel was one of 64, as fast as before: the rest of it
    // goes through the half kernel).
    let (n_full, edge_cols, edge_kernel, edge_width) = match kernels.last_48 {
        Some(last_48) if n_full >= 32 && (n_full - 32).is_multiple_of(step) && edge_cols == 16 && edge_width == 16 => {
            (n_full - 32, 48, last_48, 48)
        }
        _ => (n_full, edge_cols, edge_kernel, edge_width),
    };
    let tile_len = if edge_cols > 0 && edge_cols < edge_width { mc_max.min(m) * edge_width } else { 0 };
    // B's edge for the dot products, packed transposed (see `dot_edge`).
    let kp = k.next_multiple_of(16);
    let et_len = dot_cols.next_multiple_of(EDGE_DOT_COLS) * kp;
    // Up to twice MC rows in one pass and k in one block, with no tile: each panel is one
    // kernel call, which packs it into one panel of scratch memory that every call reuses (on a
    // cache line, as below) or, with few rows, reads B's rows in place. (The blocking below had
    // cost a 16^3 product a quarter of its time; 100^3 went 3 % faster in one pass than in two,
    // 128^3 and 192^3 as fast.)
    if m <= 2 * mc_max && k <= kc_max && tile_len == 0 {
        let panel_len = if direct { 0 } else { k * nr + 15 };
        let mut one_pass = |scratch: &mut [MaybeUninit<f32>]| {
            let (panel, et) = scratch.split_at_mut(panel_len);
            let panel = if direct { std::ptr::null_mut() } else { from_a_line(panel).as_mut_ptr().cast::<f32>() };
            let mut j = 0;
            while j < n_full + edge_cols {
                let (kernel, width) = kernels.at(j, n_full, (edge_kernel, edge_width));
                // SAFETY: A holds m rows of k floats from `a`, k apart; the panel, unless null
                // (then B's rows are read in place), has room for k nr >= k width floats (15
                // floats of slack for the line), which the kernel writes before it reads them
                // (ldb_bytes is not 0); B holds k rows of n floats from `b`, of which width from
                // column j (j + width <= n: the panels end at n_full, the edge is a whole one);
                // C m rows of n floats, width from column j; `kernel` is width columns wide and
                // runs on this CPU (the caller's promise).
                unsafe {
                    kernel(a.as_ptr(), k * 4, panel, c[j..].as_mut_ptr(), k, n * 4, m, 0, b[j..].as_ptr(), n * 4)
                };
                j += width;
            }
            if let Some(dot) = dot {
                // SAFETY: `dot` runs on this CPU (the caller's promise).
                unsafe { dot_edge(dot, m, n, k, n - dot_cols, a, b, c, et) };
            }
        };
        match panel_len + et_len {
            0 => one_pass(&mut []),
            floats => with_scratch(floats, one_pass),
        }
        return Ok(());
    }
    // The panels (the edge's last; with B read in place, the edge's alone), then the tile, in
    // scratch memory. The panels are left uninitialised (no zeroing pass over them): the first
    // pass of the kernel over each writes it before any pass reads it, and Rust only sees the
    // memory. They start on a cache line (the allocator's large blocks start 16 bytes into a
    // page), so that no vector load of a panel row spans two lines: up to 15 floats of slack.
    let first_edge_col = if direct { 0 } else { n_full };
    let panel_cols = first_edge_col + if edge_cols > 0 { edge_width } else { 0 };
    let panels_len = kc_max.min(k) * panel_cols + 15;
    with_scratch(panels_len + tile_len + et_len, |scratch| {
        let (panels, rest) = scratch.split_at_mut(panels_len);
        let (tile, et) = rest.split_at_mut(tile_len);
        let panels = from_a_line(panels);
        let tile = zeroed(tile);
        // Columns in chunks of NC (see `nc_max`), each a round of its own over k and A's rows; the
        // last chunk takes the edge panel.
        let nc = nc_max(nr, n_full, kc_max.min(k), caches, home);
        let chunks = if nc >= n_full { 1 } else { n_full.div_ceil(nc) };
        for chunk in 0..chunks {
            let (j0, j1, last_chunk) = (chunk * nc, ((chunk + 1) * nc).min(n_full), chunk + 1 == chunks);
            for k0 in starts(0, k, kc_max) {
                let kc = kc_max.min(k - k0);
                let accumulate = k0 > 0;
                let b_rows = &b[k0 * n..];
                if edge_cols > 0 && edge_cols < edge_width && last_chunk {
                    let edge = &mut panels[first_edge_col * kc..][..kc * edge_width];
                    for (kk, row) in edge.chunks_exact_mut(edge_width).enumerate() {
                        let (cols, zeros) = row.split_at_mut(edge_cols);
                        cols.write_copy_of_slice(&b_rows[kk * n + n_full..][..edge_cols]);
                        zeros.fill(MaybeUninit::new(0.0));
                    }
                }
                // Passes of MC rows (the last what is left); the first packs the panels.
                for (pass, i0) in starts(0, m, mc_max).enumerate() {
                    let rows = mc_max.min(m - i0);
                    let a_rows = &a[i0 * k + k0..];
                    // Panels of nr columns from column j (the last one half as wide where n
                    // leaves half), then the edge.
                    for j in starts(j0, j1, nr).chain((edge_cols > 0 && last_chunk).then_some(n_full)) {
                        let (kernel, width) = kernels.at(j, n_full, (edge_kernel, edge_width));
                        // A whole panel's columns are B's own: packed on the first pass or, with
                        // few rows, read in place (no panel); a narrower edge's, packed above.
                        let whole = j < n_full || edge_cols == edge_width;
                        let in_b = direct && whole;
                        let (to_pack, ldb_bytes) = if whole && (pass == 0 || direct) {
                            (b_rows[j..].as_ptr(), n * 4)
                        } else {
                            (std::ptr::null(), 0)
                        };
                        let panel = if in_b {
                            std::ptr::null_mut()
                        } else {
                            let at = if j == n_full { first_edge_col } else { j };
                            panels[at * kc..][..kc * width].as_mut_ptr().cast::<f32>()
                        };
                        let cols = width.min(n - j);
                        // Whole panels write C in place; an edge narrower than its panel, the tile.
                        let in_place = cols == width;
                        let (c_out, ldc) = if in_place {
                            (c[i0 * n + j..].as_mut_ptr(), n)
                        } else {
                            if accumulate {
                                for (i, row) in tile.chunks_exact_mut(width).take(rows).enumerate() {
                                    row[..cols].copy_from_slice(&c[(i0 + i) * n + j..][..cols]);
                                }
                            }
                            (tile.as_mut_ptr(), width)
                        };
                        // SAFETY: A holds `rows` rows of kc floats from `a_rows`, k apart (rows i0 to
                        // i0 + rows <= m of k floats, and k0 + kc <= k); the panel has room for width
                        // kc floats (inside the kc panel_cols floats from `panels`: the edge's
                        // `edge_width` from first_edge_col), written before it is read: by the
                        // kernel on the first pass (from B's kc rows of n floats at `to_pack`, whose
                        // first width are in the row as j + width <= n) or above for a narrower
                        // edge; or, null, B's rows themselves are read, the same rows; C holds
                        // `rows` rows of width floats, `ldc` apart, from `c_out` (n-float rows of C
                        // with j + width <= n, or the tile of mc_max.min(m) >= rows rows of
                        // edge_width floats); `kernel` is width columns wide and runs on this CPU
                        // (the caller's promise).
                        unsafe {
                            kernel(
                                a_rows.as_ptr(),
                                k * 4,
                                panel,
                                c_out,
                                kc,
                                ldc * 4,
                                rows,
                                accumulate as usize,
                                to_pack,
                                ldb_bytes,
                            )
                        };
                        if !in_place {
                            for (i, row) in tile.chunks_exact(width).take(rows).enumerate() {
                                c[(i0 + i) * n + j..][..cols].copy_from_slice(&row[..cols]);
                            }
                        }
                    }
                }
            }
        }
        if let Some(dot) = dot {
            // SAFETY: `dot` runs on this CPU (the caller's promise).
            unsafe { dot_edge(dot, m, n, k, n - dot_cols, a, b, c, et) };
        }
    });
    Ok(())
}

/// The columns of C from `from` (1 to [`DOT_EDGE`] of them) through `dot`, [`EDGE_DOT_COLS`]
/// a call, with B's part of them packed transposed into `et` (their number rounded up to a
/// multiple of [`EDGE_DOT_COLS`], rows of k rounded up to 16 floats: zero past k and past the
/// columns).
///
/// # Safety
///
/// `dot` must run on this CPU, and the slices be as long as their matrices (m x k, k x n,
/// m x n).
#[allow(clippy::too_many_arguments)]
unsafe fn dot_edge(
    dot: DotKernel,
    m: usize,
    n: usize,
    k: usize,
    from: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    et: &mut [MaybeUninit<f32>],
) {
    let kp = k.next_multiple_of(16);
    let et = zeroed(et);
    for (j, column) in et.chunks_exact_mut(kp).take(n - from).enumerate() {
        for (kk, to) in column[..k].iter_mut().enumerate() {
            *to = b[kk * n + from + j];
        }
    }
    for j in starts(from, n, EDGE_DOT_COLS) {
        let cols = EDGE_DOT_COLS.min(n - j);
        let et = &et[(j - from) * kp..][..EDGE_DOT_COLS * kp];
        // SAFETY: A holds m rows of k floats, k apart; `et` 4 rows of kp floats, zero past
        // k and below `cols` (1 to 4); C m rows of n floats, of which `cols` from column
        // j < n are written; `dot` runs on this CPU (the caller's promise).
        unsafe { dot(a.as_ptr(), k * 4, et.as_ptr(), k, c[j..].as_mut_ptr(), n * 4, m, cols) };
    }
}

/// The widest edge [`sgemm`] sends through `sgemm_edge_dot`, 4 columns a call: on Sapphire
/// Rapids, 96 rows by an edge of 8 columns went 2-12 % faster than through the 16-column kernel
/// at k of 16 to 256, an edge of 12 4-14 % slower; edges of 4 or fewer 20-35 % faster at any k
/// from 1 up (100^3: 12 %).
const DOT_EDGE: usize = 8;

/// The most rows of a product for which [`sgemm`] has the kernels read B's rows in place, with
/// no panels: the packing block's stores of the panel take about as long as its
/// multiplications (on Sapphire Rapids, 6 rows by 64 columns by 256 steps run at 0.48 of the
/// FMA probe packing, 0.87 reading B's rows alone, 0.94 over a packed panel), which few blocks
/// after it do not repay. Products of 256 on the other sides, 1-24 rows: 1.05-3.9 times as fast
/// (5 % at 24), level at 48, 10 % slower at 96; of 1024, 1.06-2 times at 4-24 rows, 7-8 % slower
/// at 36 and 48.
const DIRECT_ROWS: usize = 24;

/// `(from..to).step_by(step)` without the division `step_by` starts with (the driver's few
/// divisions had cost a 32^3 product about 1 % each).
fn starts(from: usize, to: usize, step: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(from), move |&i| i.checked_add(step)).take_while(move |&i| i < to)
}

/// Floats of scratch memory [`sgemm`] keeps on each thread for its next call: products of up
/// to about 256 on a side fit (at 16^3, allocating the scratch for each call had taken longer
/// than the multiplications); larger ones allocate their own.
const SCRATCH_KEPT: usize = 1 << 16;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<MaybeUninit<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on `floats` floats of scratch memory: this thread's kept memory where they fit
/// in it (and it is not in use), else memory of its own.
fn with_scratch<R>(floats: usize, mut f: impl FnMut(&mut [MaybeUninit<f32>]) -> R) -> R {
    if floats <= SCRATCH_KEPT {
        let kept = SCRATCH.try_with(|cell| {
            let mut kept = cell.try_borrow_mut().ok()?;
            if kept.len() < floats {
                kept.resize(floats, MaybeUninit::uninit());
            }
            Some(f(&mut kept[..floats]))
        });
        if let Ok(Some(r)) = kept {
            return r;
        }
    }
    let mut own = Vec::with_capacity(floats);
    f(&mut own.spare_capacity_mut()[..floats])
}

/// `floats` from the first that starts a cache line (up to 15 floats in).
fn from_a_line(floats: &mut [MaybeUninit<f32>]) -> &mut [MaybeUninit<f32>] {
    let skip = (64 - floats.as_ptr() as usize % 64) % 64 / 4;
    &mut floats[skip..]
}

/// `floats`, set to zero.
fn zeroed(floats: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    for x in floats.iter_mut() {
        x.write(0.0);
    }
    // SAFETY: every element was just initialised, and `MaybeUninit<f32>` has `f32`'s layout.
    unsafe { &mut *(floats as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    /// The driver against the triple loop with Rust models for kernels, 64 columns wide with a
    /// 32-column half (Ice Lake's shape, whatever the CPU), with and without a 16-column kernel
    /// for narrow edges, and 16 wide alone: n an odd multiple of 32 ends on a half panel; n not a
    /// multiple of the narrowest panel goes through the edge's copies (alone too, where n < 32;
    /// edges of 1-16 columns through the narrow kernel where there is one, which packs an edge
    /// of 16 itself, wider ones through the half), with and without a 48-column kernel, and 32
    /// wide with one; m any number, over one pass of rows and several, and several blocks of k.
    #[test]
    fn the_driver_takes_any_size() {
        use super::{Caches, Kernels, PanelHome, caches, multiply, multiply_rows, sgemm_edge_dot_in_rust};
        let wide = Kernels {
            nr: 64,
            main: multiply_rows::<64>,
            half: Some(multiply_rows::<32>),
            narrow: None,
            dot: None,
            last_48: None,
        };
        let wide_narrow =
            Kernels { narrow: Some((multiply_rows::<16>, 16)), dot: Some(sgemm_edge_dot_in_rust), ..wide };
        let wide_48 = Kernels { last_48: Some(multiply_rows::<48>), ..wide_narrow };
        let v4 = Kernels { nr: 32, main: multiply_rows::<32>, half: None, ..wide_48 };
        let narrow = Kernels { nr: 16, main: multiply_rows::<16>, half: None, narrow: None, dot: None, last_48: None };
        let narrow_8 = Kernels { narrow: Some((multiply_rows::<8>, 8)), ..narrow };
        let sizes = [(6, 32, 3), (12, 96, 5), (102, 160, 600), (18, 64, 1), (1, 1, 1), (5, 31, 2), (7, 100, 130)];
        let sizes = sizes.into_iter().chain([(4, 16, 9), (97, 47, 300), (200, 200, 70), (6, 33, 1), (13, 64, 2)]);
        let sizes = sizes.chain([(7, 48, 3), (7, 49, 3), (103, 112, 20), (30, 33, 32), (103, 80, 300)]);
        // Edges of 1 to 8 columns (through the dot kernel where there is one, 4 columns a
        // call), alone too.
        let sizes = sizes.chain([(13, 66, 40), (5, 3, 64), (103, 36, 600), (9, 1, 33), (11, 39, 7), (4, 6, 2)]);
        // Edges of 17 to 24: a whole narrow panel, then dot products.
        let sizes = sizes.chain([(5, 20, 9), (40, 52, 70), (130, 88, 300), (30, 56, 16)]);
        // A 32-column panel and a 16-column edge (with the 48-column kernel, one panel).
        let sizes = sizes.chain([(7, 48, 3), (40, 112, 70), (130, 52, 300), (5, 120, 9), (100, 80, 50)]);
        // This core's caches, and caches so small that C counts as large (larger blocks of k).
        let tiny = Caches { l1d: 4 << 10, l2: 8 << 10 };
        for (m, n, k) in sizes {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 * 0.5 - 2.0).collect();
            let homes = [PanelHome::L1, PanelHome::L2];
            let runs =
                [(wide, caches()), (wide_narrow, caches()), (narrow, caches()), (wide, tiny), (wide_narrow, tiny)];
            let runs = runs.into_iter().chain([(narrow, tiny), (narrow_8, caches()), (narrow_8, tiny)]);
            let runs = runs.chain([(wide_48, caches()), (wide_48, tiny), (v4, caches()), (v4, tiny)]);
            for ((kernels, caches), home) in runs.flat_map(|run| homes.map(|home| (run, home))) {
                // One float past C must stay as it is.
                let mut c = vec![f32::NAN; m * n + 1];
                c[m * n] = 7.0;
                // SAFETY: Rust models of the widths they say.
                unsafe { multiply(kernels, caches, home, m, n, k, &a, &b, &mut c) }.unwrap();
                assert_eq!(c[m * n], 7.0);
                for i in 0..m {
                    for j in 0..n {
                        let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                        let narrow = kernels.narrow.is_some();
                        assert_eq!(
                            c[i * n + j],
                            want,
                            "({m},{n},{k}) nr {} {narrow} {home:?} at ({i},{j})",
                            kernels.nr
                        );
                    }
                }
            }
        }
        // k = 0 zeroes C; no rows or columns leave it alone.
        let mut c = vec![1.0; 6];
        // SAFETY: as above.
        unsafe { multiply(wide, caches(), PanelHome::L1, 2, 3, 0, &[], &[], &mut c) }.unwrap();
        assert_eq!(c, [0.0; 6]);
        c.fill(1.0);
        // SAFETY: as above.
        unsafe { multiply(wide, caches(), PanelHome::L1, 0, 3, 4, &[], &[0.0; 12], &mut c) }.unwrap();
        assert_eq!(c, [1.0; 6]);
        // SAFETY: as above; the sizes are refused before any kernel runs.
        let e = unsafe { multiply(wide, caches(), PanelHome::L1, 6, 48, 1, &[0.0; 6], &[0.0; 48], &mut [0.0; 287]) }
            .unwrap_err();
        assert!(e.to_string().contains("shorter than its matrix"), "{e}");
    }

    /// Blocks of k: the panel in three quarters of L1, all of it where k then fits, at least
    /// 384 steps where C is more than three times L2; from L2, 4/3 of L1; equal blocks,
    /// multiples of 8.
    #[test]
    fn blocks_of_k_follow_the_caches() {
        use super::{Caches, PanelHome, kc_max};
        let kc_max = |nr, m, n, k, caches| kc_max(nr, m, n, k, caches, PanelHome::L1);
        let icelake = Caches { l1d: 48 << 10, l2: 1280 << 10 };
        // 64 columns: 48 KiB hold 192 steps, three quarters 144 (128 in multiples of 64).
        assert_eq!(kc_max(64, 192, 192, 192, icelake), 192);
        assert_eq!(kc_max(64, 768, 768, 768, icelake), 128);
        assert_eq!(kc_max(64, 384, 384, 384, icelake), 128);
        // C of 896^2 floats (3.1 MiB) is under three L2s, of 1024^2 (4 MiB) over.
        assert_eq!(kc_max(64, 896, 896, 896, icelake), 128);
        assert_eq!(kc_max(64, 1024, 1024, 1024, icelake), 344);
        assert_eq!(kc_max(64, 2048, 2048, 1152, icelake), 384);
        assert_eq!(kc_max(64, 2048, 2048, 100, icelake), 104);
        // 16 columns in 32 KiB: 384 steps already.
        assert_eq!(kc_max(16, 300, 300, 1000, Caches::DEFAULT), 336);
        for k in [1, 7, 8, 129, 500, 1000, 5000] {
            for (m, n) in [(6, 16), (1000, 1000), (4000, 4000)] {
                let kc = kc_max(64, m, n, k, icelake);
                assert!(kc.is_multiple_of(8) && kc <= 512 && kc >= k.min(8), "k {k}: {kc}");
            }
        }
        // Sapphire Rapids (48 KiB L1, 2 MiB L2), the panel from L2: 256 steps of 64 columns.
        let sapphire = Caches { l1d: 48 << 10, l2: 2 << 20 };
        let from_l2 = |m, n, k| super::kc_max(64, m, n, k, sapphire, PanelHome::L2);
        assert_eq!(from_l2(256, 256, 256), 256);
        // Up to 384 steps in one block; from 385, two.
        assert_eq!(from_l2(384, 384, 384), 384);
        assert_eq!(from_l2(1024, 1024, 385), 200);
        assert_eq!(from_l2(1024, 1024, 1024), 256);
        assert_eq!(from_l2(1024, 1024, 1344), 224);
        // C of 1152^2 floats (5.1 MiB) is over two L2s: 512 steps.
        assert_eq!(from_l2(1152, 1152, 1152), 384);
        assert_eq!(from_l2(4096, 4096, 4096), 512);
        assert_eq!(from_l2(6, 64, 100), 104);
    }

    /// Columns in one chunk, unless the panels stream from L2 and all of them would take half
    /// of it: then equal chunks whose panels take up to a quarter, multiples of the panel.
    #[test]
    fn chunks_of_columns_follow_l2() {
        use super::{Caches, PanelHome, nc_max};
        let sapphire = Caches { l1d: 48 << 10, l2: 2 << 20 };
        assert_eq!(nc_max(64, 768, 256, sapphire, PanelHome::L2), 768);
        assert_eq!(nc_max(64, 1024, 256, sapphire, PanelHome::L2), 512);
        assert_eq!(nc_max(64, 2048, 256, sapphire, PanelHome::L2), 512);
        assert_eq!(nc_max(64, 1088, 256, sapphire, PanelHome::L2), 384);
        assert_eq!(nc_max(64, 4096, 256, sapphire, PanelHome::L1), 4096);
        assert_eq!(nc_max(64, 0, 256, sapphire, PanelHome::L2), 64);
        // Caches too small for one panel: a panel a chunk.
        assert_eq!(nc_max(64, 160, 128, Caches { l1d: 4 << 10, l2: 8 << 10 }, PanelHome::L2), 64);
    }

    /// Panels come from L2 only with the 64-column kernel on Sapphire Rapids.
    #[test]
    fn panels_come_from_l2_on_sapphire_rapids_alone() {
        use super::PanelHome;
        assert_eq!(PanelHome::on(Some("sapphirerapids"), 64), PanelHome::L2);
        assert_eq!(PanelHome::on(Some("sapphirerapids"), 32), PanelHome::L1);
        assert_eq!(PanelHome::on(Some("icelake"), 64), PanelHome::L1);
        assert_eq!(PanelHome::on(None, 64), PanelHome::L1);
    }

    /// Every variant of `sgemm_block` has its kernels in the table, the main one as wide as its
    /// extensions give it (64 for Ice Lake's), a half kernel only where its variant requires
    /// every extension of x86-64-v4, whose kernel that is, a narrow one everywhere (AVX-512's
    /// 16 columns wide, AVX2's 8) and a dot one and a 48-column one with AVX-512, each needing no
    /// extension its variant lacks.
    #[test]
    fn each_block_variant_has_its_kernels_and_width() {
        let variants = super::SGEMM_BLOCK_DISPATCH.variants();
        let v4 = variants.iter().find(|v| v.name == "x86-64-v4").expect("an AVX-512 variant");
        let narrow = super::SGEMM_BLOCK_NARROW_DISPATCH.variants();
        assert_eq!(narrow.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4", "haswell"]);
        let dot = super::SGEMM_EDGE_DOT_DISPATCH.variants();
        assert_eq!(dot.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4"]);
        let last_48 = super::SGEMM_BLOCK_48_DISPATCH.variants();
        assert_eq!(last_48.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4"]);
        for v in variants {
            let entry = super::kernels_of(v.name);
            let nr = match (v.name, v.required.contains(&"AVX512F")) {
                ("icelake", _) => 64,
                (_, true) => 32,
                _ => 16,
            };
            assert_eq!(entry.map(|k| k.nr), Some(nr), "{}", v.name);
            if entry.is_some_and(|k| k.half.is_some()) {
                assert!(v4.required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            }
            // A narrow kernel everywhere: AVX-512's 16 columns wide, AVX2's 8.
            let zmm = v.required.contains(&"AVX512F");
            let (width, narrow_variant) = if zmm { (16, &narrow[0]) } else { (8, &narrow[1]) };
            assert_eq!(entry.and_then(|k| k.narrow).map(|n| n.1), Some(width), "{}", v.name);
            assert!(narrow_variant.required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            // The dot kernel and the 48-column one with AVX-512, needing nothing more than the
            // variant.
            assert_eq!(entry.is_some_and(|k| k.dot.is_some()), zmm, "{}", v.name);
            assert_eq!(entry.is_some_and(|k| k.last_48.is_some()), zmm, "{}", v.name);
            if entry.is_some_and(|k| k.last_48.is_some()) {
                assert!(last_48[0].required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            }
            if entry.is_some_and(|k| k.dot.is_some()) {
                assert!(dot[0].required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            }
        }
    }
}
