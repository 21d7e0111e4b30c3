//! One `sgemm_block` call's inputs and the result it must give, shared by the tests that run
//! its variants: natively on x86-64 and AArch64, in the x86 interpreter, under qemu; and
//! `sgemm` against the triple loop.
#![allow(dead_code)]

/// Values of many magnitudes, so that a product rounded apart from its sum shows.
pub fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32).map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 12) as f32 / 1024.0 - 1800.0).collect()
}

/// Where an `sgemm_block` call finds B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BFrom {
    /// The panel, packed before the call.
    Panel,
    /// B's rows, packed into the panel on the way.
    Packing,
    /// B's rows alone, read in place by every block (the panel pointer null).
    Rows,
    /// The same, the rows more than 2 KiB apart (where the x86 kernels prefetch them).
    FarRows,
}

impl BFrom {
    /// Whether the call reads B's rows in place (the panel pointer null).
    pub fn in_place(self) -> bool {
        matches!(self, BFrom::Rows | BFrom::FarRows)
    }
}

/// One `sgemm_block` call's inputs, in buffers of exactly the sizes its contract names.
#[derive(Clone)]
pub struct Block {
    pub nr: usize,
    pub k: usize,
    pub rows: usize,
    pub lda: usize,
    pub ldb: usize,
    pub ldc: usize,
    pub accumulate: bool,
    /// Bit 1 of the kernel's `accumulate`, no prefetch of C: set on every other shape (by k +
    /// rows), which must give the same results.
    pub unfetched: bool,
    pub from: BFrom,
    pub a: Vec<f32>,
    pub b_rows: Vec<f32>,
    pub panel: Vec<f32>,
    pub c: Vec<f32>,
}

impl Block {
    pub fn new(nr: usize, k: usize, rows: usize, accumulate: bool, from: BFrom) -> Block {
        let ldb = if from == BFrom::FarRows { nr + 530 } else { nr + 5 };
        let (lda, ldc) = (k + 3, nr + 7);
        let b_rows = values((k - 1) * ldb + nr, 3);
        let panel = if from == BFrom::Panel {
            (0..k).flat_map(|kk| b_rows[kk * ldb..kk * ldb + nr].to_vec()).collect()
        } else {
            vec![f32::NAN; k * nr]
        };
        Block {
            nr,
            k,
            rows,
            lda,
            ldb,
            ldc,
            accumulate,
            unfetched: (k + rows) % 2 == 1,
            from,
            a: values((rows - 1) * lda + k, 1),
            b_rows,
            panel,
            c: values((rows - 1) * ldc + nr, 2),
        }
    }

    /// The result the kernel must give: C and the panel (packed, or with no panel untouched).
    pub fn model(&self) -> (Vec<f32>, Vec<f32>) {
        let mut c = self.c.clone();
        for i in 0..self.rows {
            for j in 0..self.nr {
                let mut acc = 0.0f32;
                for kk in 0..self.k {
                    acc = self.a[i * self.lda + kk].mul_add(self.b_rows[kk * self.ldb + j], acc);
                }
                let out = &mut c[i * self.ldc + j];
                *out = if self.accumulate { acc + *out } else { acc };
            }
        }
        let panel = if self.from.in_place() {
            self.panel.clone()
        } else {
            (0..self.k).flat_map(|kk| self.b_rows[kk * self.ldb..kk * self.ldb + self.nr].to_vec()).collect()
        };
        (c, panel)
    }

    /// The kernel's `accumulate` argument: bit 0 to add to C, bit 1 not to prefetch it.
    pub fn flags(&self) -> usize {
        self.accumulate as usize | (self.unfetched as usize) << 1
    }

    /// Calls `kernel` (an `sgemm_block` variant this core runs) on these inputs.
    ///
    /// # Safety
    ///
    /// `kernel` must be an `sgemm_block` variant `self.nr` columns wide that runs on this core.
    pub unsafe fn call(&mut self, kernel: BlockFn) {
        let (b_rows, ldb) =
            if self.from == BFrom::Panel { (std::ptr::null(), 0) } else { (self.b_rows.as_ptr(), self.ldb * 4) };
        let panel = if self.from.in_place() { std::ptr::null_mut() } else { self.panel.as_mut_ptr() };
        // SAFETY: the buffers have the sizes the contract names for these arguments.
        unsafe {
            kernel(
                self.a.as_ptr(),
                self.lda * 4,
                panel,
                self.c.as_mut_ptr(),
                self.k,
                self.ldc * 4,
                self.rows,
                self.flags(),
                b_rows,
                ldb,
            )
        };
    }
}

/// An `sgemm_block` variant's signature.
pub type BlockFn = unsafe fn(*const f32, usize, *mut f32, *mut f32, usize, usize, usize, usize, *const f32, usize);

/// Every shape worth telling apart: k below, at and past a round of the k loop, with steps left
/// over or not; rows in one block and several, and every way the kernels split the last ones
/// (1 to 11 rows after blocks of 12; 1 to 9 after blocks of 6, those over 6 in two), alone (the
/// panel packed before them) or after the block that packs; B from a packed panel, packed on
/// the way, or read in place by every block with no panel; C replaced or added to.
pub fn shapes() -> impl Iterator<Item = (usize, usize, bool, BFrom)> {
    let froms = [BFrom::Panel, BFrom::Packing, BFrom::Rows, BFrom::FarRows];
    [1, 2, 3, 8, 17, 23].into_iter().flat_map(move |k| {
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 23, 24, 31].into_iter().flat_map(
            move |rows| {
                [false, true].into_iter().flat_map(move |acc| froms.into_iter().map(move |from| (k, rows, acc, from)))
            },
        )
    })
}

/// The floats' bits, to compare results bit for bit (NaN included).
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `sgemm` of an `m x n x k` product of small integers and halves (every sum exact, in any order)
/// against the triple loop, on every `stride`-th element of C and the last.
pub fn check_sgemm(m: usize, n: usize, k: usize, stride: usize) {
    let a: Vec<f32> = (0..m * k).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 * 0.5 - 2.0).collect();
    let mut c = vec![f32::NAN; m * n];
    peach::kernels::gemm::sgemm(m, n, k, &a, &b, &mut c).unwrap();
    for e in (0..m * n).step_by(stride).chain([m * n - 1]) {
        let (i, j) = (e / n, e % n);
        let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        assert_eq!(c[e], want, "({m},{n},{k}) at ({i},{j})");
    }
}

/// One `sgemm_edge_dot` call's inputs (small integers and halves: every sum exact in any order),
/// in buffers of exactly the sizes its contract names, C's rows with two floats of guard after
/// the columns.
pub struct EdgeDot {
    pub k: usize,
    pub rows: usize,
    pub cols: usize,
    pub lda: usize,
    pub kp: usize,
    pub ldc: usize,
    pub a: Vec<f32>,
    pub et: Vec<f32>,
    pub c: Vec<f32>,
}

impl EdgeDot {
    pub fn new(k: usize, rows: usize, cols: usize) -> EdgeDot {
        let (lda, kp, ldc) = (k + 3, k.next_multiple_of(16), cols + 2);
        let a = (0..(rows - 1) * lda + k).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
        // E's rows kp apart, the floats between them NaN (never read: any product with one
        // would show), the last one ending at k.
        let mut et = vec![f32::NAN; (cols - 1) * kp + k];
        for j in 0..cols {
            for kk in 0..k {
                et[j * kp + kk] = ((j * 31 + kk * 5) % 11) as f32 * 0.5 - 2.0;
            }
        }
        EdgeDot { k, rows, cols, lda, kp, ldc, a, et, c: vec![f32::NAN; (rows - 1) * ldc + cols + 2] }
    }

    /// Every shape worth telling apart: 1 to 9 rows (blocks of 4 and 1 to 3 left over), k below,
    /// at and past a step of 16 and rounds of 2 and 4 steps (with steps left over or not), 1 to 4
    /// columns.
    pub fn shapes() -> impl Iterator<Item = EdgeDot> {
        [1, 2, 15, 16, 17, 31, 48, 64, 100, 200]
            .into_iter()
            .flat_map(|k| (1..=9).flat_map(move |rows| (1..=4).map(move |cols| EdgeDot::new(k, rows, cols))))
    }

    /// Calls `kernel` (an `sgemm_edge_dot` variant this core runs) on these inputs.
    ///
    /// # Safety
    ///
    /// `kernel` must be an `sgemm_edge_dot` variant that runs on this core.
    pub unsafe fn call(&mut self, kernel: EdgeDotFn) {
        let (a, et, c) = (self.a.as_ptr(), self.et.as_ptr(), self.c.as_mut_ptr());
        // SAFETY: the buffers have the sizes the contract names for these arguments.
        unsafe { kernel(a, self.lda * 4, et, self.k, c, self.ldc * 4, self.rows, self.cols) };
    }

    /// The arguments of a call, with the addresses of A, E and C given.
    pub fn args(&self, a: u64, et: u64, c: u64) -> [u64; 8] {
        let (lda, ldc) = (self.lda as u64 * 4, self.ldc as u64 * 4);
        [a, lda, et, self.k as u64, c, ldc, self.rows as u64, self.cols as u64]
    }

    /// Panics unless C holds the exact sums in its columns and NaN (as it started) elsewhere.
    pub fn check(&self, what: &str) {
        for (e, &got) in self.c.iter().enumerate() {
            let (i, j) = (e / self.ldc, e % self.ldc);
            let at = format!("{what}: k {}, {} rows, {} columns, at ({i},{j})", self.k, self.rows, self.cols);
            if j < self.cols {
                let want: f32 = (0..self.k).map(|kk| self.a[i * self.lda + kk] * self.et[j * self.kp + kk]).sum();
                assert_eq!(got, want, "{at}");
            } else {
                assert!(got.is_nan(), "{at}: written");
            }
        }
    }
}

/// An `sgemm_edge_dot` variant's signature.
pub type EdgeDotFn = unsafe fn(*const f32, usize, *const f32, usize, *mut f32, usize, usize, usize);
