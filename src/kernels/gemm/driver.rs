//! [`sgemm`](super::sgemm)'s driver: the kernels it runs on each core and the loops that run
//! them over a product, its edges and its scratch memory.

use super::blocking::{MC, PanelHome, kc_in_place, kc_max, mc_max, nc_max, prefetch_c};
// The kernels of every variant, which the tables below name.
#[cfg(target_arch = "x86_64")]
use super::*;
use crate::kernels::caches::Caches;
use peach_core::{Error, ErrorKind};
use std::mem::MaybeUninit;

/// A kernel [`sgemm`](super::sgemm) calls: A's rows, the distance between them in bytes, a panel of
/// B, C's rows, k, the distance between C's rows in bytes, the number of rows, whether to add to C,
/// and B's rows to pack into the panel and the distance between them (0: already packed).
pub(super) type BlockKernel =
    unsafe fn(*const f32, usize, *mut f32, *mut f32, usize, usize, usize, usize, *const f32, usize);

/// The kernel [`sgemm`](super::sgemm) calls for an edge of up to [`EDGE_DOT_COLS`] columns: A's
/// rows, the distance between them in bytes, the edge of B packed transposed, k, C's rows from the
/// edge's first column, the distance between them in bytes, the number of rows and of columns.
type DotKernel = unsafe fn(*const f32, usize, *const f32, usize, *mut f32, usize, usize, usize);

/// The most columns one `sgemm_edge_dot` call computes (x86-64 only).
pub const EDGE_DOT_COLS: usize = 4;

/// The kernels [`sgemm`](super::sgemm) runs for one [`sgemm_block`](super::sgemm_block) variant:
/// `main`, `nr` columns wide, where n leaves half that (Ice Lake's 64 columns, n an odd multiple of
/// 32), `half` for the rest, for an edge no wider than it, `narrow` (`sgemm_block_narrow`, a row of
/// C in one register: 16 columns with AVX-512, 8 with AVX2) with its width, so that an edge of a
/// few columns is not padded to a whole panel (at 30 x 33 x 32, twice the work), for one of at most
/// [`DOT_EDGE`], `dot` (`sgemm_edge_dot`, 4 columns a call), for a 32-column panel and a whole
/// 16-column edge after it, `last_48` (`sgemm_block_48`), and in place of `main`, 32 columns
/// wide, for few rows with short k (see [`PACKED_K`]), `tall` (`sgemm_block_tall`).
#[derive(Clone, Copy)]
pub(super) struct Kernels {
    pub(super) nr: usize,
    pub(super) main: BlockKernel,
    pub(super) half: Option<BlockKernel>,
    pub(super) narrow: Option<(BlockKernel, usize)>,
    pub(super) dot: Option<DotKernel>,
    pub(super) last_48: Option<BlockKernel>,
    pub(super) tall: Option<BlockKernel>,
}

impl Kernels {
    /// The narrowest panel's width: n a multiple of it needs no edge panel.
    pub(super) fn step(&self) -> usize {
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

/// [`sgemm`](super::sgemm)'s kernels by the [`sgemm_block`](super::sgemm_block) variant: Ice Lake's
/// (which Sapphire Rapids also runs; the variant requires every extension of x86-64-v4, whose
/// kernel finishes its and, with x86-64-v4's, [`sgemm_block_narrow`](super::sgemm_block_narrow) its
/// narrow edges), the AVX-512 one, the AVX2 one.
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
            tall: Some(sgemm_block_tall_x86_64_v4),
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
            tall: Some(sgemm_block_tall_x86_64_v4),
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
            tall: None,
        },
    ),
];

/// Under Miri, which cannot run machine code, Rust models of the same widths stand in, so that
/// Miri checks every pointer [`sgemm`](super::sgemm) hands a kernel (run it with `-C
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
            tall: Some(multiply_rows::<32>),
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
            tall: Some(multiply_rows::<32>),
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
            tall: None,
        },
    ),
];

/// The kernels [`sgemm`](super::sgemm) calls for the variant dispatch chooses on this CPU.
#[cfg(target_arch = "x86_64")]
pub(super) fn block_kernels() -> Option<Kernels> {
    let variant = SGEMM_BLOCK_DISPATCH.variants().get(SGEMM_BLOCK_DISPATCH.choose()?)?;
    kernels_of(variant.name)
}

/// The kernels of the [`sgemm_block`](super::sgemm_block) variant named `name`.
#[cfg(target_arch = "x86_64")]
pub(super) fn kernels_of(name: &str) -> Option<Kernels> {
    BLOCK_KERNELS.iter().find(|k| k.0 == name).map(|k| k.1)
}

/// [`sgemm`](super::sgemm) with `kernels`, blocked for `caches` with panels at `home`.
///
/// # Safety
///
/// The kernels must run on this CPU, `main` `nr` columns wide and `half` half that.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn multiply(
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
    // blocks of KC (see `kc_max`) and rows in blocks of MC (see `mc_max`), so that one packed
    // panel of B (KC nr floats) stays in L1 (or L2) while the kernel runs down the 6-row blocks
    // of A (MC rows of KC floats, in L2). A is read in place; the first block of k writes C, the
    // others add to it. The kernel packs each panel itself, on its first pass (B's rows read in
    // the shadow of the multiplications instead of copied before them), or with few rows reads
    // B's rows in place on every pass, with no panels.
    // Few rows: no panels, the kernels read B's rows in place (see `DIRECT_ROWS`), unless k is
    // short and B's rows far apart (see `PACKED_K`): then, up to `DIRECT_ROWS` rows, the tall
    // kernel reads them in place, 12 rows at a time, where the core has it, else the panels, in
    // one pass over the rows.
    let few_rows_short_k =
        cfg!(target_arch = "x86_64") && PACKED_K.contains(&k) && (7..=2 * DIRECT_ROWS).contains(&m) && n * 4 > 2048;
    let (kernels, tall) = match kernels.tall {
        Some(tall) if few_rows_short_k && m <= DIRECT_ROWS => {
            (Kernels { nr: 32, main: tall, half: None, ..kernels }, true)
        }
        _ => (kernels, false),
    };
    let direct = tall
        || !few_rows_short_k && (m <= DIRECT_ROWS || (m <= 2 * DIRECT_ROWS && kn.saturating_mul(4) > caches.l1d / 2));
    let (nr, step) = (kernels.nr, kernels.step());
    let kc_max = match kc_max(nr, m, n, k, caches, home) {
        kc if direct => kc_in_place(kc, m, n, k, caches),
        kc => kc,
    };
    let mc_max = if few_rows_short_k { MC } else { mc_max(m, n, k, caches) };
    // Bit 1 of the kernels' `accumulate`: no prefetch of C (see `prefetch_c`).
    let c_unfetched = if prefetch_c(m, n, k, caches) { 0 } else { 2 };
    // The edge: the last n mod `step` columns of B. Up to `DOT_EDGE` of them go through dot
    // products along k where the core has the kernel (see `sgemm_edge_dot`), after the
    // panels, this part of B packed transposed, and so do those past a whole narrow panel where
    // they are as few (an edge of 20 as 16 and 4, not through a zero-padded 32-column panel:
    // 20^3 1.4-1.6 times as fast, 52^3 1.25); otherwise into a panel (zeros right of them) as
    // wide as the narrowest kernel that takes them, packed here (or by the kernel where they
    // fill it), and their part of C through a tile of a pass's rows. Rows need no edge: the
    // kernels take any number.
    let n_full = n - n % step;
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
    let et_len = if n == 1 { 0 } else { dot_cols * kp };
    // Up to twice MC rows in one pass (where passes are not shortened, up to MC) and k in one
    // block, with no tile: each panel is one kernel call, which packs it into one panel of
    // scratch memory that every call reuses (on a cache line, as below) or, with few rows,
    // reads B's rows in place. (The blocking below had cost a 16^3 product a quarter of its
    // time; 100^3 went 3 % faster in one pass than in two, 128^3 and 192^3 as fast.)
    let one_pass_rows = if mc_max == MC { 2 * MC } else { mc_max };
    if m <= one_pass_rows && k <= kc_max && tile_len == 0 {
        let panel_len = if direct { 0 } else { k * nr + 15 };
        let mut one_pass = |scratch: &mut [MaybeUninit<f32>]| {
            let (panel, et) = scratch.split_at_mut(panel_len);
            let panel = if direct { std::ptr::null_mut() } else { from_a_line(panel).as_mut_ptr().cast::<f32>() };
            let mut j = 0;
            while j < n_full + edge_cols {
                let (kernel, width) = kernels.at(j, n_full, (edge_kernel, edge_width));
                // Where B is as wide as the panel, its rows are the panel already.
                let (panel, to_pack, ldb_bytes) = match width == n {
                    true => (b.as_ptr().cast_mut(), std::ptr::null(), 0),
                    false => (panel, b[j..].as_ptr(), n * 4),
                };
                // SAFETY: A holds m rows of k floats from `a`, k apart; the panel is B's k rows
                // of n = width floats, which the kernel only reads (ldb_bytes is 0), or unless
                // null (then B's rows are read in place) has room for k nr >= k width floats
                // (15 floats of slack for the line), which the kernel writes before it reads
                // them (ldb_bytes is not 0); B holds k rows of n floats from `b`, of which
                // width from column j (j + width <= n: the panels end at n_full, the edge is a
                // whole one); C m rows of n floats, width from column j; `kernel` is width
                // columns wide and runs on this CPU (the caller's promise).
                unsafe {
                    kernel(a.as_ptr(), k * 4, panel, c[j..].as_mut_ptr(), k, n * 4, m, c_unfetched, to_pack, ldb_bytes)
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
    // Columns in chunks of NC (see `nc_max`), each a round of its own over k and A's rows; the
    // last chunk takes the edge panel.
    let nc = nc_max(nr, n_full, kc_max.min(k), caches, home);
    let chunks = if nc >= n_full { 1 } else { n_full.div_ceil(nc) };
    // The panels of one chunk (the edge's after them; with B read in place, the edge's alone),
    // then the tile, in scratch memory. The panels are left uninitialised (no zeroing pass over
    // them): the first pass of the kernel over each writes it before any pass reads it, and Rust
    // only sees the memory. They start on a cache line (the allocator's large blocks start 16
    // bytes into a page), so that no vector load of a panel row spans two lines: up to 15 floats
    // of slack.
    let first_edge_col = if direct { 0 } else { nc.min(n_full) };
    let panel_cols = first_edge_col + if edge_cols > 0 { edge_width } else { 0 };
    let panels_len = kc_max.min(k) * panel_cols + 15;
    with_scratch(panels_len + tile_len + et_len, |scratch| {
        let (panels, rest) = scratch.split_at_mut(panels_len);
        let (tile, et) = rest.split_at_mut(tile_len);
        let panels = from_a_line(panels);
        let tile = zeroed(tile);
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
                        // few rows, read in place (no panel), or where B is as wide as the panel,
                        // its rows are the panel already; a narrower edge's, packed above.
                        let whole = j < n_full || edge_cols == edge_width;
                        let in_b = direct && whole;
                        let (to_pack, ldb_bytes) = if whole && (pass == 0 || direct) && width < n {
                            (b_rows[j..].as_ptr(), n * 4)
                        } else {
                            (std::ptr::null(), 0)
                        };
                        let panel = if width == n {
                            b_rows.as_ptr().cast_mut()
                        } else if in_b {
                            std::ptr::null_mut()
                        } else {
                            let at = if j == n_full { first_edge_col } else { j - j0 };
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
                        // SAFETY: A holds `rows` rows of kc floats from `a_rows`, k apart (rows i0
                        // to i0 + rows <= m of k floats, and k0 + kc <= k); the panel has room for
                        // width kc floats (inside the kc panel_cols floats from `panels`: a
                        // chunk's from j - j0, which with width is at most first_edge_col, the
                        // edge's `edge_width` from first_edge_col), written before it is read: by
                        // the kernel on the first pass (from B's kc rows of n floats at `to_pack`,
                        // whose first width are in the row as j + width <= n) or above for a
                        // narrower edge; or it is B's kc rows of n = width floats, which the kernel
                        // only reads (ldb_bytes is 0); or, null, B's rows themselves are read, the
                        // same rows; C holds `rows` rows of width floats, `ldc` apart, from `c_out`
                        // (n-float rows of C with j + width <= n, or the tile of mc_max.min(m) >=
                        // rows rows of edge_width floats); `kernel` is width columns wide and runs
                        // on this CPU (the caller's promise).
                        unsafe {
                            kernel(
                                a_rows.as_ptr(),
                                k * 4,
                                panel,
                                c_out,
                                kc,
                                ldc * 4,
                                rows,
                                accumulate as usize | c_unfetched,
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
/// a call, with B's part of them packed transposed into `et` (a row a column, k rounded up to
/// 16 floats), or where B is one column, B itself.
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
    // A column of B alone is its own transpose.
    let et: &[f32] = if n == 1 {
        b
    } else {
        let et = &mut et[..(n - from) * kp];
        for (j, row) in et.chunks_exact_mut(kp).enumerate() {
            let (values, rest) = row.split_at_mut(k);
            for (kk, to) in values.iter_mut().enumerate() {
                to.write(b[kk * n + from + j]);
            }
            rest.fill(MaybeUninit::new(0.0));
        }
        // SAFETY: every float of `et` was just written, and `MaybeUninit<f32>` has `f32`'s
        // layout.
        unsafe { &*(et as *const [MaybeUninit<f32>] as *const [f32]) }
    };
    for j in starts(from, n, EDGE_DOT_COLS) {
        let cols = EDGE_DOT_COLS.min(n - j);
        let et = &et[(j - from) * kp..][..(cols - 1) * kp + k];
        // SAFETY: A holds m rows of k floats, k apart; `et` `cols` (1 to 4) rows of k floats,
        // kp apart; C m rows of n floats, of which `cols` from column j < n are written; `dot`
        // runs on this CPU (the caller's promise).
        unsafe { dot(a.as_ptr(), k * 4, et.as_ptr(), k, c[j..].as_mut_ptr(), n * 4, m, cols) };
    }
}

/// The widest edge [`sgemm`](super::sgemm) sends through `sgemm_edge_dot`, 4 columns a call: on
/// Sapphire Rapids, 96 rows by an edge of 8 columns went 2-12 % faster than through the 16-column
/// kernel at k of 16 to 256, an edge of 12 4-14 % slower; edges of 4 or fewer 20-35 % faster at any
/// k from 1 up (100^3: 12 %).
const DOT_EDGE: usize = 8;

/// The most rows of a product for which [`sgemm`](super::sgemm) has the kernels read B's rows in
/// place, with no panels: the packing block's stores of the panel take about as long as its
/// multiplications (on Sapphire Rapids, 6 rows by 64 columns by 256 steps run at 0.48 of the FMA
/// probe packing, 0.87 reading B's rows alone, 0.94 over a packed panel), which few blocks after it
/// do not repay. Products of 256 on the other sides, 1-24 rows: 1.05-3.9 times as fast (5 % at 24),
/// level at 48, 10 % slower at 96; of 1024, 1.06-2 times at 4-24 rows. Up to twice as many rows
/// where B is larger than half of L1 (in turns with `gemm`, stop 55: 25 x 256 x 256 and 32 x 512 x
/// 512 1.12-1.6 times as fast, 40 x 512 x 512 1.15, 36 and 48 x 1024 x 1024 1.2-1.35; at 36^3,
/// with B in L1, 8 % slower, and at 64 rows mixed, from 12 % faster at 1024 to 5 % slower at 100).
const DIRECT_ROWS: usize = 24;

/// The k for which products of 7 to `2 DIRECT_ROWS` rows, B's rows more than 2 KiB apart (where the
/// kernels prefetch rows read in place), pack B's panels after all on x86-64, each in one pass over
/// the rows: a panel of up to 32 steps stays in L1 for the blocks after the first, where B's rows
/// read in place are read again from L2 (on lines of few L1 sets where they are 4 KiB apart). On
/// Sapphire Rapids, products of 7-48 rows by 640-4096 columns ran 1.05-1.55 times as fast as
/// reading B in place at k of 8-32 (12 x 4096 x 16 and 8 x 4096 x 32 level); at k 48 and 64, at 4
/// rows, at k 4 where C's rows are 2 or 4 KiB apart, and with rows 2 KiB apart or less (512, 300
/// and 128 columns: 3-15 %) mostly slower (median time ratios alternated in one process). Up to
/// `DIRECT_ROWS` rows, where the core has `sgemm_block_tall`, that kernel reads B's rows in place
/// instead, each block of 12 rows reading them once: 7-20 rows by 2048-4096 columns 1.05-1.35
/// times as fast as the panels at these k (16 rows at k 32 and 24 rows level, 36 and 48 slower).
const PACKED_K: std::ops::RangeInclusive<usize> = 8..=32;

/// `(from..to).step_by(step)` without the division `step_by` starts with (the driver's few
/// divisions had cost a 32^3 product about 1 % each).
fn starts(from: usize, to: usize, step: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(from), move |&i| i.checked_add(step)).take_while(move |&i| i < to)
}

/// Floats of scratch memory [`sgemm`](super::sgemm) keeps on each thread for its next call:
/// products of up to about 256 on a side fit (at 16^3, allocating the scratch for each call had
/// taken longer than the multiplications); larger ones allocate their own.
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
    /// wide with one; m any number, over one pass of rows and several (short ones for small k
    /// where C's rows are 2 or 4 KiB apart), and several blocks of k.
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
            tall: None,
        };
        let wide_narrow =
            Kernels { narrow: Some((multiply_rows::<16>, 16)), dot: Some(sgemm_edge_dot_in_rust), ..wide };
        let wide_48 = Kernels { last_48: Some(multiply_rows::<48>), ..wide_narrow };
        let v4 = Kernels { nr: 32, main: multiply_rows::<32>, half: None, ..wide_48 };
        let (wide_tall, v4_tall) =
            (Kernels { tall: Some(multiply_rows::<32>), ..wide_48 }, Kernels { tall: Some(multiply_rows::<32>), ..v4 });
        let narrow = Kernels {
            nr: 16,
            main: multiply_rows::<16>,
            half: None,
            narrow: None,
            dot: None,
            last_48: None,
            tall: None,
        };
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
        // B as wide as its one panel, which it is then (over one block of k and several).
        let sizes = sizes.chain([(200, 64, 400), (150, 48, 600), (30, 16, 500), (40, 32, 20)]);
        // Small k, C's rows 4 or 2 KiB apart: passes of 6 or 12 rows (B read in place, packed);
        // few rows with k of 8-32: B read in place by the tall kernel, or packed, one pass.
        let sizes = sizes.chain([(20, 1024, 4), (5, 1024, 2), (40, 512, 5), (12, 1536, 8), (9, 520, 24)]);
        // B read in place in blocks of k of up to 64 steps (with the small caches).
        let sizes = sizes.chain([(7, 520, 150)]);
        // Few rows with k of 8-32 through the tall kernel where there is one (edges of 24, 9,
        // 8 columns), more through the panels.
        let sizes = sizes.chain([(7, 600, 16), (24, 777, 32), (20, 1024, 9), (25, 1024, 9)]);
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
            let runs = runs.chain([(wide_tall, caches()), (wide_tall, tiny), (v4_tall, caches())]);
            let want: Vec<f32> =
                (0..m * n).map(|ij| (0..k).map(|p| a[ij / n * k + p] * b[p * n + ij % n]).sum()).collect();
            for ((kernels, caches), home) in runs.flat_map(|run| homes.map(|home| (run, home))) {
                // One float past C must stay as it is.
                let mut c = vec![f32::NAN; m * n + 1];
                c[m * n] = 7.0;
                // SAFETY: Rust models of the widths they say.
                unsafe { multiply(kernels, caches, home, m, n, k, &a, &b, &mut c) }.unwrap();
                assert_eq!(c[m * n], 7.0);
                if let Some(ij) = (0..m * n).find(|&ij| c[ij] != want[ij]) {
                    let narrow = kernels.narrow.is_some();
                    let (i, j, nr) = (ij / n, ij % n, kernels.nr);
                    panic!("({m},{n},{k}) nr {nr} {narrow} {home:?} at ({i},{j}): {} for {}", c[ij], want[ij]);
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

    /// Every variant of `sgemm_block` has its kernels in the table, the main one as wide as its
    /// extensions give it (64 for Ice Lake's), a half kernel only where its variant requires
    /// every extension of x86-64-v4, whose kernel that is, a narrow one everywhere (AVX-512's
    /// 16 columns wide, AVX2's 8) and a dot one and a 48-column one with AVX-512, each needing no
    /// extension its variant lacks.
    #[test]
    fn each_block_variant_has_its_kernels_and_width() {
        let variants = crate::kernels::gemm::SGEMM_BLOCK_DISPATCH.variants();
        let v4 = variants.iter().find(|v| v.name == "x86-64-v4").expect("an AVX-512 variant");
        let narrow = crate::kernels::gemm::SGEMM_BLOCK_NARROW_DISPATCH.variants();
        assert_eq!(narrow.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4", "haswell"]);
        let dot = crate::kernels::gemm::SGEMM_EDGE_DOT_DISPATCH.variants();
        assert_eq!(dot.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4"]);
        let last_48 = crate::kernels::gemm::SGEMM_BLOCK_48_DISPATCH.variants();
        assert_eq!(last_48.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4"]);
        let tall = crate::kernels::gemm::SGEMM_BLOCK_TALL_DISPATCH.variants();
        assert_eq!(tall.iter().map(|v| v.name).collect::<Vec<_>>(), ["x86-64-v4"]);
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
            // The dot kernel, the 48-column one and the tall one with AVX-512, needing nothing
            // more than the variant.
            assert_eq!(entry.is_some_and(|k| k.dot.is_some()), zmm, "{}", v.name);
            assert_eq!(entry.is_some_and(|k| k.last_48.is_some()), zmm, "{}", v.name);
            assert_eq!(entry.is_some_and(|k| k.tall.is_some()), zmm, "{}", v.name);
            if entry.is_some_and(|k| k.last_48.is_some()) {
                assert!(last_48[0].required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            }
            if entry.is_some_and(|k| k.tall.is_some()) {
                assert!(tall[0].required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            }
            if entry.is_some_and(|k| k.dot.is_some()) {
                assert!(dot[0].required.iter().all(|f| v.required.contains(f)), "{}", v.name);
            }
        }
    }
}
