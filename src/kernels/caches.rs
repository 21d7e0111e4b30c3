//! The data caches the kernels block for: their sizes read once from CPUID's deterministic cache
//! parameters (leaf 4 on Intel, 0x8000001D on AMD), defaults where the processor does not say.

/// Sizes in bytes of this core's level-1 data cache and its level-2 cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caches {
    pub l1d: usize,
    pub l2: usize,
}

impl Caches {
    /// What is assumed where the processor does not say (or CPUID is not read).
    pub const DEFAULT: Caches = Caches { l1d: 32 << 10, l2: 1 << 20 };
}

/// This core's caches.
#[cfg(all(target_arch = "x86_64", not(miri)))]
pub(crate) fn caches() -> Caches {
    use std::arch::x86_64::__cpuid_count;
    static CACHES: std::sync::OnceLock<Caches> = std::sync::OnceLock::new();
    *CACHES.get_or_init(|| {
        let mut found = Caches::DEFAULT;
        let vendor = __cpuid_count(0, 0);
        let amd = vendor.ebx == u32::from_le_bytes(*b"Auth");
        let leaf = if amd { 0x8000_001D } else { 4 };
        let max = if amd { __cpuid_count(0x8000_0000, 0).eax } else { vendor.eax };
        if max < leaf {
            return found;
        }
        // Subleaves list the caches until type 0: the level-1 data cache is type 1 (data) at
        // level 1, the level-2 cache type 3 (unified) at level 2.
        for sub in 0..16 {
            let r = __cpuid_count(leaf, sub);
            let (kind, level) = (r.eax & 0x1f, (r.eax >> 5) & 7);
            if kind == 0 {
                break;
            }
            let ways = ((r.ebx >> 22) & 0x3ff) as usize + 1;
            let partitions = ((r.ebx >> 12) & 0x3ff) as usize + 1;
            let line = (r.ebx & 0xfff) as usize + 1;
            let bytes = ways * partitions * line * (r.ecx as usize + 1);
            match (kind, level) {
                (1, 1) => found.l1d = bytes,
                (3, 2) => found.l2 = bytes,
                _ => {}
            }
        }
        found
    })
}

/// [`caches`] where CPUID is not read.
#[cfg(not(all(target_arch = "x86_64", not(miri))))]
pub(crate) fn caches() -> Caches {
    Caches::DEFAULT
}

#[cfg(test)]
mod tests {
    /// The sizes read are plausible: an L1 data cache of 16 KiB to 1 MiB and an L2 larger than
    /// it.
    #[test]
    fn the_caches_read_are_plausible() {
        let c = super::caches();
        assert!((16 << 10..=1 << 20).contains(&c.l1d), "{c:?}");
        assert!(c.l2 > c.l1d, "{c:?}");
    }
}
