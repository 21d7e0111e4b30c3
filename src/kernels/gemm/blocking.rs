//! How [`sgemm`](super::sgemm) blocks a product for the core's caches: where a panel of B
//! stays, how long the blocks of k are, how wide the chunks of columns.

use crate::kernels::caches::Caches;

/// Where a panel of B stays while the kernel runs down the blocks of A, which sets how long
/// the blocks of k are (see [`kc_max`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PanelHome {
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
    pub(super) fn on(uarch: Option<&str>, nr: usize) -> PanelHome {
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
/// faster than 256 and 128). But in L2, where all of B takes at most a quarter of it, all of k
/// in one block: on Sapphire Rapids, B of 64 to 192 columns by 500 to 2000 steps (one to three
/// panels) 1.04-1.14 times as fast as in blocks of 256 steps, with 1000 to 4096 rows (median
/// time ratios alternated in one process; at 1024 x 256 x 1024, B 1 MiB, one block 4 % slower).
pub(super) fn kc_max(nr: usize, m: usize, n: usize, k: usize, caches: Caches, home: PanelHome) -> usize {
    let panel_steps = |bytes: usize| bytes / (4 * nr) / 64 * 64;
    let c_bytes = m.saturating_mul(n).saturating_mul(4);
    if home == PanelHome::L2 && k.saturating_mul(n).saturating_mul(4) <= caches.l2 / 4 {
        return k.next_multiple_of(8);
    }
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

/// The block of k for a product whose kernels read B's rows in place (no panels; see
/// `DIRECT_ROWS`), given `kc` from [`kc_max`]: on x86-64, where B is larger than L2 and its rows at
/// least 2 KiB apart, blocks of at most [`IN_PLACE_KC`] steps or half that (of equal size,
/// multiples of 8), so that the rows a panel's walk down B reads are few enough for the core's
/// prefetcher to follow each one on into the next panel's lines; otherwise `kc`.
///
/// On Sapphire Rapids, products of 1 to 48 rows by 2048 or 4096 columns and k run 1.07-1.7 times as
/// fast in blocks of 64 steps as of 256 (4096 columns by 32 steps up to 8 % faster still at 8 to 16
/// rows, 8 % slower at 40), 16 rows by 512, 768 and 1024 columns by 4096 steps 1.06-1.27 times; 16
/// rows by 256 columns (rows 1 KiB apart) 3 % slower, and where B fits L2 (16 x 512 x 512) 4-12 %
/// slower (median time ratios alternated in one process).
pub(super) fn kc_in_place(kc: usize, m: usize, n: usize, k: usize, caches: Caches) -> usize {
    let b_bytes = k.saturating_mul(n).saturating_mul(4);
    // Up to 16 rows over B's rows 16 KiB apart or more: half as long again.
    let limit = if m <= 16 && n >= 4096 { IN_PLACE_KC / 2 } else { IN_PLACE_KC };
    if b_bytes <= caches.l2 || n * 4 < 2048 || kc <= limit || !cfg!(target_arch = "x86_64") {
        return kc;
    }
    k.div_ceil(k.div_ceil(limit)).next_multiple_of(8)
}

/// The longest block of k [`kc_in_place`] takes where it shortens them (half of it for up to 16
/// rows over B's rows 16 KiB apart or more: 1, 4, 8 and 16 rows by 4096 columns 1.07-1.29 times
/// as fast as with 64, 8 by 8192 1.15; at 24 rows level, at 40 8 % slower).
const IN_PLACE_KC: usize = 64;

/// The columns of B (NC) each round over k and A's rows covers, for panels `kc` (> 0) steps
/// long at `home`, of `n` (a multiple of the narrowest panel): all of them where panels are kept
/// in L1, or where the panels of all of them take less than half of L2; otherwise chunks of equal
/// width, multiples of `nr`, whose panels take up to a quarter of L2, so that a round's panels
/// stay there while the kernel runs down A's rows (on Sapphire Rapids, chunks of 512 columns
/// of 256 steps: products 6-8 % faster at 1536 and 2048, 0.4-1 % at 1024 in turns shuffled
/// each round, 2-3 % in turns taken in a fixed order, which biases by position; at 768, where
/// all the panels take 768 KiB, chunks of 384 or 512 were 2 % slower).
pub(super) fn nc_max(nr: usize, n: usize, kc: usize, caches: Caches, home: PanelHome) -> usize {
    let bytes = |cols: usize| cols.saturating_mul(kc).saturating_mul(4);
    if home == PanelHome::L1 || bytes(n) < caches.l2 / 2 {
        return n.max(nr);
    }
    let widest = (caches.l2 / 4 / bytes(1) / nr * nr).max(nr);
    n.div_ceil(n.div_ceil(widest)).next_multiple_of(nr)
}

/// The rows of A a pass runs down each panel of an m x n x k product, with `caches`: [`MC`],
/// but on x86-64 fewer where k is short, so that a block of rows takes little more time to
/// compute than to store its rows of C: 6 where k is at most [`SMALL_K`] and C's rows a multiple
/// of 4 KiB apart, 12 where 2 KiB; otherwise, where k is at most [`MID_K`] and C larger than L2,
/// 36.
///
/// On C's rows 2 or 4 KiB apart, a block's lines of C fall on the few L1 sets of the blocks
/// before it down the same panel, and their stores held each other up: on Sapphire Rapids,
/// products of 384 rows by 512 or 1024 columns with k of 1 to 6 ran 1.3-1.7 times as fast in
/// passes of 12 or 6 rows (one block a panel, then the next panel's) as in passes of 96, 24 x
/// 1024 x 4 1.6 times, with the 64-, 32- and 16-column kernels alike; 1.04-1.3 times at k 7 and
/// 8; 5-15 % slower from k 12. Rows 1 or 3 KiB apart were level in passes of any height. Where
/// C comes from beyond L2, whatever its rows' length, passes of 36 rows were 1.02-1.2 times as
/// fast as 96 at 1024 x 1024 with k of 16 to 128, 1.2-1.8 times at 2048-4096 on a side with k
/// of 16 to 160 (24 and 48 close behind), level with k of 192 and 256. (Median time ratios
/// alternated in one process.)
pub(super) fn mc_max(m: usize, n: usize, k: usize, caches: Caches) -> usize {
    if k > MID_K || !cfg!(target_arch = "x86_64") {
        MC
    } else if k <= SMALL_K && n.is_multiple_of(1024) {
        6
    } else if k <= SMALL_K && n.is_multiple_of(512) {
        12
    } else if m.saturating_mul(n).saturating_mul(4) > caches.l2 {
        36
    } else {
        MC
    }
}

/// Whether the kernels prefetch each block's rows of C at its start (on x86-64; see
/// [`sgemm_block`](super::sgemm_block)): where k is at most [`SMALL_K`], or over 64 with C
/// larger than L2. Elsewhere C's lines come in time for the block's stores without them, and the
/// prefetches (24-30 a block) held up the block's first loads: on Sapphire Rapids, with C in L2,
/// 512 x 1024 x 32 ran 1.15 times as fast without them, 100 x 4096 x 100 and 200 x 2048 x 48
/// 1.08, 256 x 256 x 16 1.06, 192^3-448^3 1-3 % faster, 512^3-768^3 level; with C beyond L2 and
/// k of 16-64, 1024 x 1024 x 16-64 and 2048 x 2048 x 32 1-6 % faster, 4096 x 4096 x 32 level.
/// With C beyond L2 and longer k they are worth keeping (896^3 and 1024^3 2-4 % slower without,
/// k of 100-160 level), and with k of 8 or less (512 x 512 x 4 9 % slower without). (Median time
/// ratios alternated in one process.)
pub(super) fn prefetch_c(m: usize, n: usize, k: usize, caches: Caches) -> bool {
    let beyond_l2 = m.saturating_mul(n).saturating_mul(4) > caches.l2;
    !cfg!(target_arch = "x86_64") || k <= SMALL_K || (k > 64 && beyond_l2)
}

/// The rows of A a pass runs down each panel, in general: their blocks of k (96 KC floats, 96
/// KiB at 256 steps) stay in L2 while the pass goes over the panels.
pub(super) const MC: usize = 96;

/// The longest k for which [`mc_max`] shortens the passes over C's rows 2 or 4 KiB apart.
const SMALL_K: usize = 8;

/// The longest k for which [`mc_max`] shortens the passes over a C larger than L2.
const MID_K: usize = 160;

#[cfg(test)]
mod tests {
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
        // All of a B of up to a quarter of L2 in one block.
        assert_eq!(from_l2(4096, 64, 777), 784);
        assert_eq!(from_l2(2048, 64, 2048), 2048);
        assert_eq!(from_l2(2048, 64, 2049), 232);
        assert_eq!(from_l2(1024, 256, 1024), 256);
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

    /// B read in place: blocks of up to 64 steps where B is larger than L2 and its rows 2 KiB
    /// apart or more.
    #[test]
    fn blocks_of_k_for_b_read_in_place() {
        use super::{Caches, kc_in_place};
        let sapphire = Caches { l1d: 48 << 10, l2: 2 << 20 };
        let x86 = |kc| if cfg!(target_arch = "x86_64") { kc } else { 256 };
        assert_eq!(kc_in_place(256, 24, 4096, 4096, sapphire), x86(64));
        assert_eq!(kc_in_place(256, 16, 512, 4096, sapphire), x86(64));
        assert_eq!(kc_in_place(256, 8, 1000, 1000, sapphire), x86(64));
        assert_eq!(kc_in_place(256, 40, 4096, 200, sapphire), x86(56));
        // Up to 16 rows, B's rows 16 KiB apart: 32 steps.
        assert_eq!(kc_in_place(256, 16, 4096, 4096, sapphire), x86(32));
        assert_eq!(kc_in_place(256, 1, 8192, 1000, sapphire), x86(32));
        // Rows 1 KiB apart, B in L2, or blocks already short: as they were.
        assert_eq!(kc_in_place(256, 8, 256, 8192, sapphire), 256);
        assert_eq!(kc_in_place(256, 8, 512, 512, sapphire), 256);
        assert_eq!(kc_in_place(40, 8, 4096, 40, sapphire), 40);
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

    /// C prefetched where k is at most 8, or over 64 with C larger than L2, on x86-64
    /// (elsewhere always).
    #[test]
    fn c_prefetched_for_small_k_or_beyond_l2() {
        use super::{Caches, prefetch_c};
        let sapphire = Caches { l1d: 48 << 10, l2: 2 << 20 };
        let x86 = |prefetch| prefetch || !cfg!(target_arch = "x86_64");
        // 724 x 724 floats take just under 2 MiB, 725 x 724 just over.
        assert_eq!(prefetch_c(724, 724, 724, sapphire), x86(false));
        assert_eq!(prefetch_c(725, 724, 724, sapphire), x86(true));
        assert_eq!(prefetch_c(725, 724, 64, sapphire), x86(false));
        assert_eq!(prefetch_c(725, 724, 65, sapphire), x86(true));
        assert_eq!(prefetch_c(512, 512, 8, sapphire), x86(true));
        assert_eq!(prefetch_c(4096, 4096, 8, sapphire), x86(true));
        assert_eq!(prefetch_c(512, 512, 9, sapphire), x86(false));
        assert_eq!(prefetch_c(usize::MAX, 2, 100, sapphire), x86(true));
    }

    /// Passes of 96 rows, but of 6 where k is small and C's rows 4 KiB apart (a multiple), of 12
    /// where 2 KiB, of 36 where k is up to 160 and C larger than L2 (on x86-64).
    #[test]
    fn short_passes_for_short_k() {
        use super::{Caches, MC, mc_max};
        let x86 = |rows| if cfg!(target_arch = "x86_64") { rows } else { MC };
        let sapphire = Caches { l1d: 48 << 10, l2: 2 << 20 };
        let mc = |m, n, k| mc_max(m, n, k, sapphire);
        assert_eq!(mc(384, 1024, 4), x86(6));
        assert_eq!(mc(2048, 3072, 8), x86(6));
        assert_eq!(mc(20, 512, 1), x86(12));
        assert_eq!(mc(384, 1536, 8), x86(12));
        // C of 1024 x 1024 floats (4 MiB) is larger than L2, of 1024 x 512 not.
        assert_eq!(mc(1024, 1024, 16), x86(36));
        assert_eq!(mc(1024, 1040, 4), x86(36));
        assert_eq!(mc(4096, 4096, 160), x86(36));
        for (m, n, k) in [(4096, 4096, 161), (1024, 512, 16), (384, 512, 256), (384, 256, 4), (384, 768, 4)] {
            assert_eq!(mc(m, n, k), MC, "{m} x {n} x {k}");
        }
    }
}
