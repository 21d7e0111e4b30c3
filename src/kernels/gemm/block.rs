//! The block kernels: [`sgemm_block`], the micro-kernel of [`sgemm_kernel`](super::sgemm_kernel)
//! run down a block of rows of A read in place, and [`sgemm_block_48`], the same 48 columns
//! wide, from one generator.

use super::models::sgemm_block_in_rust;
#[cfg(target_arch = "x86_64")]
use super::models::{sgemm_block_48_in_rust, sgemm_block_tall_in_rust};
use peach_macros::peach_fn;

/// The generator of [`sgemm_block`] and [`sgemm_block_48`]: the kernel `$name` with the
/// attributes given, its panel 48 columns wide where `$three` (three zmm a row), otherwise as
/// wide as its variant's registers and core suit.
macro_rules! block_kernel {
    ($(#[$($attr:tt)*])* $name:ident, three = $three:tt, tall = $tall:tt) => {
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
                } else if $tall {
                    32
                } else if !zmm {
                    16
                } else if target.is_icelake() {
                    64
                } else {
                    32
                };
                // Rows per block: 12 in the tall kernel (24 accumulators of two zmm a row).
                let height = if $tall { 12 } else { 6 };
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
                // One step of k for `rows` rows (up to 12): a row of the panel of B times a column of A,
                // `a_off` bytes along A's rows (rows 3j to 3j + 2 at `bases[j]`, `lda` apart) and `b_off`
                // bytes along the panel. When `packing`, the row of B comes from `src` (which then moves
                // to the next row, `ldb` on) and is written to the panel. When `prefetch`, the row eight
                // rows ahead of the one read from B (packing or `direct`) is asked for, each of its lines.
                fn k_step(acc: [Reg; 24], rows: usize, vecs: usize, bases: [Reg; 4], panel: Reg, lda: Reg, a_off: usize, b_off: usize, vbytes: usize, packing: bool, direct: bool, prefetch: bool, src: Reg, ldb: Reg) {
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
                        // B's row itself (`panel` walks down them).
                        let row_bytes = vecs * vbytes;
                        if prefetch {
                            for l in 0..row_bytes / 64 {
                                PREFETCHT0([panel + ldb * 8 + 64 * l]);
                            }
                            PREFETCHT0([panel + ldb * 8 + (row_bytes - 1)]);
                        }
                        ADD(panel, ldb);
                    }
                    if packing {
                        let row_bytes = vecs * vbytes;
                        if prefetch {
                            for l in 0..row_bytes / 64 {
                                PREFETCHT0([src + ldb * 8 + 64 * l]);
                            }
                            PREFETCHT0([src + ldb * 8 + (row_bytes - 1)]);
                        }
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
                // One block of `rows` rows of A (1 to 12), from `a`, into as many rows of C from `c`: the
                // k loop over the panel at `b`, several steps per round (the loop's own instructions
                // shared), then the rest. `a` and `b` are the loop's own pointers, wound back after it
                // where `more` blocks follow, so that the block that packs the panel still finds a
                // register for each of its values; `a` and `c` move on to the next block's rows. When
                // `direct`, there is no panel: `b` walks down B's rows from `src`. When `prefetch`, the
                // rows read from B are prefetched eight ahead (see `k_step`).
                fn block(rows: usize, more: bool, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, nr: usize, vbytes: usize, packing: bool, direct: bool, prefetch: bool, src: Reg, ldb: Reg) {
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
                    // (5-7 % at 768^3 on Zen 3); unless bit 1 of `accumulate` says not to (see
                    // `prefetch_c` in the driver), and not in the tall kernel, whose short k loops these
                    // prefetches held up (12 x 4096 x 16 1.3 times as fast without them).
                    let t = GP64();
                    if !$tall {
                        let unfetched = Label::new();
                        TEST(accumulate, 2);
                        JNZ(unfetched);
                        MOV(t, c);
                        for _ in 0..rows {
                            prefetch_lines(t, 0, 4 * nr, false);
                            ADD(t, ldc);
                        }
                        LABEL(unfetched);
                    }
                    // Rows 3j to 3j + 2 at bases[j].
                    let bases = [a, GP64(), GP64(), GP64()];
                    let used = (rows + 2) / 3;
                    for j in 1..used {
                        LEA(bases[j], [bases[j - 1] + lda * 2]);
                        ADD(bases[j], lda);
                    }
                    let (last, done) = (Label::new(), Label::new());
                    // Rounds of `unroll` steps, t of them, from the top of a loop aligned for the
                    // front end; `prefetch` as for `k_step`.
                    fn rounds(acc: [Reg; 24], rows: usize, vecs: usize, bases: [Reg; 4], used: usize, b: Reg, lda: Reg, t: Reg, unroll: usize, nr: usize, vbytes: usize, packing: bool, direct: bool, prefetch: bool, src: Reg, ldb: Reg) {
                        let top = Label::new();
                        ALIGN(32);
                        LABEL(top);
                        for s in 0..unroll {
                            k_step(acc, rows, vecs, bases, b, lda, 4 * s, 4 * nr * s, vbytes, packing, direct, prefetch, src, ldb);
                        }
                        for j in 0..used {
                            ADD(bases[j], 4 * unroll);
                        }
                        if !direct {
                            ADD(b, 4 * nr * unroll);
                        }
                        SUB(t, 1);
                        JNZ(top);
                    }
                    // Where B's rows are prefetched eight ahead, only while the block has rows there:
                    // all rounds but those of the last eight steps with prefetches (none if there are
                    // no others), then those without (the rows eight past the block are the next
                    // block's or past B; 4 x 2048-4096 x 16-32 went 8-20 % faster, 12 x 4096 x 16 5 %).
                    let quiet_rounds = 8 / unroll;
                    MOV(t, k);
                    SHR(t, shift);
                    if prefetch {
                        let (quiet, keep) = (Label::new(), Label::new());
                        SUB(t, quiet_rounds);
                        JBE(quiet);
                        rounds(acc, rows, vecs, bases, used, b, lda, t, unroll, nr, vbytes, packing, direct, true, src, ldb);
                        LABEL(quiet);
                        MOV(t, k);
                        SHR(t, shift);
                        CMP(t, quiet_rounds);
                        JBE(keep);
                        MOV(t, quiet_rounds);
                        LABEL(keep);
                        TEST(t, t);
                    }
                    JZ(last);
                    rounds(acc, rows, vecs, bases, used, b, lda, t, unroll, nr, vbytes, packing, direct, false, src, ldb);
                    // The last k mod `unroll` steps, one at a time.
                    LABEL(last);
                    MOV(t, k);
                    AND(t, unroll - 1);
                    JZ(done);
                    let tail = Label::new();
                    LABEL(tail);
                    k_step(acc, rows, vecs, bases, b, lda, 0, 0, vbytes, packing, direct, false, src, ldb);
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
                    TEST(accumulate, 1);
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
                            6 => {
                                LEA(t, [lda + lda * 2]);
                                LEA(a, [a + t * 2]);
                            }
                            7 => {
                                LEA(t, [lda + lda * 2]);
                                LEA(t, [lda + t * 2]);
                                ADD(a, t);
                            }
                            8 => LEA(a, [a + lda * 8]),
                            9 => {
                                LEA(t, [lda + lda * 8]);
                                ADD(a, t);
                            }
                            // 12, the tall kernel's blocks.
                            _ => {
                                LEA(t, [lda + lda * 2]);
                                LEA(a, [a + t * 4]);
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
                    TBZ(accumulate, 0, store);
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
                    // Blocks of `height` rows (6, or 12 in the tall kernel) while more than half as many
                    // are left after them; the last ones over `height` in two blocks (7 as 4 + 3, 9 as 5
                    // + 4, 16 as 8 + 8), so that no block has fewer than half as many rows (at 32
                    // columns, 2 rows keep only four chains of FMAs; 32^3 went 6 % faster; in the tall
                    // kernel 16 rows as 8 + 8 were level with 12 + 4); fewer in all go in one block.
                    // Then to `end`.
                    fn blocks(height: usize, rows: Reg, a: Reg, lda: Reg, b: Reg, c: Reg, k: Reg, ldc: Reg, accumulate: Reg, nr: usize, vbytes: usize, direct: bool, prefetch: bool, src: Reg, ldb: Reg, end: Label) {
                        let (top, rest, last) = (Label::new(), Label::new(), Label::new());
                        let half = height / 2;
                        CMP(rows, height + half + 1);
                        JB(rest);
                        LABEL(top);
                        block(height, true, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, prefetch, src, ldb);
                        SUB(rows, height);
                        CMP(rows, height + half + 1);
                        JAE(top);
                        // The last 0 to height + half rows: those over `height`, the first half (rounded
                        // up) in a block of its own.
                        LABEL(rest);
                        let first = [Label::new(); 4]; // first[h - half]: a block of h rows, then the rest
                        for r in height + 1..height + half + 1 {
                            CMP(rows, r);
                            JE(first[(r + 1) / 2 - half]);
                        }
                        LABEL(last);
                        let alone = [Label::new(); 13]; // alone[r]: the last block, of r rows
                        for r in 1..height + 1 {
                            CMP(rows, r);
                            JE(alone[r]);
                        }
                        JMP(end);
                        for h in half + 1..(height + half + 1) / 2 + 1 {
                            LABEL(first[h - half]);
                            block(h, true, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, prefetch, src, ldb);
                            SUB(rows, h);
                            JMP(last);
                        }
                        for r in 1..height + 1 {
                            LABEL(alone[r]);
                            block(r, false, a, lda, b, c, k, ldc, accumulate, nr, vbytes, false, direct, prefetch, src, ldb);
                            JMP(end);
                        }
                    }
                    // With no panel (`b` null), every block reads B's rows, prefetching each row's
                    // lines eight rows ahead where they are more than 2 KiB apart: nearer, the core's
                    // own prefetcher follows the stride, and prefetches only take load slots (4 x 256 x
                    // 256, 24 x 512 x 512 and 16 x 100 x 100 ran 8-13 % faster without them; 16 x 1024
                    // x 1024 15-20 % slower). Otherwise the block that packs is a whole one where that
                    // leaves more than half as many rows, else the panel is packed alone first.
                    let (panel, pack_alone, packing_block, far) = (Label::new(), Label::new(), Label::new(), Label::new());
                    TEST(b, b);
                    JNZ(panel);
                    CMP(ldb_bytes, 2048);
                    JA(far);
                    blocks(height, rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, true, false, b_rows, ldb_bytes, end);
                    LABEL(far);
                    blocks(height, rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, true, true, b_rows, ldb_bytes, end);
                    LABEL(panel);
                    TEST(ldb_bytes, ldb_bytes);
                    JZ(next);
                    CMP(rows, height);
                    JE(packing_block);
                    CMP(rows, height + height / 2 + 1);
                    JB(pack_alone);
                    LABEL(packing_block);
                    block(height, true, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, true, false, true, b_rows, ldb_bytes);
                    SUB(rows, height);
                    JMP(next);
                    LABEL(pack_alone);
                    pack(b, k, nr, vbytes, b_rows, ldb_bytes);
                    LABEL(next);
                    blocks(height, rows, a, lda_bytes, b, c, k, ldc_bytes, accumulate, nr, vbytes, false, false, b_rows, ldb_bytes, end);
                }
                LABEL(end);
            }
        }
    };
}

block_kernel! {
    /// `C[rows x NR] (+)= A[rows x k] * B[k x NR]` with A read in place: the micro-kernel of
    /// [`sgemm_kernel`](super::sgemm_kernel) run down the 6-row blocks of `rows` rows of a
    /// row-major A (rows `lda_bytes` apart, row `i` at `a + i * lda_bytes`), the last `rows` mod 6
    /// in a smaller block, against one packed panel of B (as for
    /// [`sgemm_kernel`](super::sgemm_kernel)), into `rows` rows of C (`ldc_bytes` apart). With
    /// bit 0 of `accumulate` clear the product replaces C, set it is added to it; with bit 1 set
    /// the x86-64 variants leave C's lines to the core instead of prefetching each block's at its
    /// start ([`sgemm`](super::sgemm) sets it where C fits in L2), with no other effect. `k` and
    /// `rows` must be positive.
    ///
    /// With `ldb_bytes` nonzero the panel is packed on the way, in the shadow of the first block's
    /// multiplications: that block reads B's rows themselves (row `kk`'s NR floats at `b_rows + kk
    /// * ldb_bytes`) and writes each to the panel at `b`, and the other blocks read the panel (with
    /// fewer than 6 rows, the panel is packed before them). With `ldb_bytes` 0, `b_rows` is not
    /// read. With `b` null there is no panel: every block reads B's rows in place (faster for a few
    /// blocks, which would not repay the stores of packing), prefetching them where they are more
    /// than 2 KiB apart.
    ///
    /// On Ice Lake and Sapphire Rapids (the `icelake` variant; both have two 512-bit FMA units) the
    /// panel is 64 columns wide: 6 rows in 24 zmm accumulators, so that each value of A broadcast
    /// feeds four FMAs (on Ice Lake, level with the `gemm` crate or ahead, where 12 rows by 32
    /// trailed it by up to 8 %). On AArch64 (the `neon` variant) it is 16 columns wide: 6 rows in
    /// 24 accumulators of four floats.
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
    /// floats, `ldc_bytes` apart; `b` a panel of `NR k` floats (writable when `ldb_bytes` is not 0,
    /// and then `b_rows` must hold `k` rows of NR floats, `ldb_bytes` apart), or null, and then
    /// `ldb_bytes` must be nonzero and `b_rows` hold those rows. NR is what
    /// [`sgemm_block_nr`](super::sgemm_block_nr) says while no other thread changes the dispatch
    /// (see [`sgemm_kernel`](super::sgemm_kernel)).
    #[variants(x86_64::icelake, x86_64::avx512, x86_64::haswell, aarch64::neon, fallback = sgemm_block_in_rust)]
    #[allow(clippy::too_many_arguments)]
    sgemm_block, three = false, tall = false
}

#[cfg(target_arch = "x86_64")]
block_kernel! {
    /// [`sgemm_block`] 48 columns wide (x86-64 with AVX-512 only): 6 rows by three zmm in 18
    /// accumulators, a step loading 9 vectors for 18 FMAs. [`sgemm`](super::sgemm) runs it where a
    /// 32-column panel and a 16-column edge would end a product (48^3, 112 columns), whose narrow
    /// kernel loads a value of A for each FMA. The arguments are [`sgemm_block`]'s with NR 48; the
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
    sgemm_block_48, three = true, tall = false
}

#[cfg(target_arch = "x86_64")]
block_kernel! {
    /// [`sgemm_block`] 32 columns wide in blocks of 12 rows (x86-64 with AVX-512 only): 12 rows by
    /// two zmm in 24 accumulators, a step loading 14 vectors (two of B) for 24 FMAs, so that a
    /// block reads B's rows once for twice as many rows as [`sgemm_block`]'s.
    /// [`sgemm`](super::sgemm) runs it over B in place where few rows meet a short k and B's rows
    /// lie far apart. The arguments are [`sgemm_block`]'s with NR 32; the fallback is plain Rust.
    ///
    /// ```
    /// use peach::kernels::gemm::sgemm_block_tall;
    /// let (k, lda, ldb) = (3, 5, 40);
    /// let a = vec![1.0f32; 13 * lda];
    /// let b = vec![2.0f32; ldb * k];
    /// let mut c = vec![1.0f32; 13 * 32];
    /// // SAFETY: 13 rows of k floats lda floats apart; k rows of 32 floats ldb floats apart, read
    /// // in place (no panel); 13 rows of 32 floats.
    /// let (a, b) = (a.as_ptr(), b.as_ptr());
    /// let null = std::ptr::null_mut();
    /// unsafe { sgemm_block_tall(a, lda * 4, null, c.as_mut_ptr(), k, 32 * 4, 13, 1, b, ldb * 4) };
    /// assert!(c.iter().all(|&v| v == 7.0));
    /// ```
    ///
    /// # Safety
    ///
    /// As for [`sgemm_block`], with NR 32.
    #[variants(x86_64::avx512, fallback = sgemm_block_tall_in_rust)]
    #[allow(clippy::too_many_arguments)]
    sgemm_block_tall, three = false, tall = true
}
