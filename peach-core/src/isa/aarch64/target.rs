//! AArch64 targets: Armv8-A with NEON, the optional extensions peach's forms use, a table of
//! cores and the host.

use crate::target::{Arch, ExtSet, Extension, Target};

/// The extensions, by number: FP and Advanced SIMD (NEON) first, which every AArch64 core has.
const NAMES: [&str; 11] = ["NEON", "FP16", "DOTPROD", "I8MM", "BF16", "AES", "SHA2", "CRC32", "LSE", "RDM", "RCPC"];

pub(crate) const NEON: Extension = Extension(0);
pub(crate) const FP16: Extension = Extension(1);
pub(crate) const DOTPROD: Extension = Extension(2);
pub(crate) const I8MM: Extension = Extension(3);
pub(crate) const BF16: Extension = Extension(4);
pub(crate) const AES: Extension = Extension(5);
pub(crate) const SHA2: Extension = Extension(6);
pub(crate) const CRC32: Extension = Extension(7);
pub(crate) const LSE: Extension = Extension(8);
pub(crate) const RDM: Extension = Extension(9);
pub(crate) const RCPC: Extension = Extension(10);

fn set(names: &[&str]) -> ExtSet {
    let mut s = ExtSet::EMPTY;
    for n in names {
        if let Some(i) = NAMES.iter().position(|m| m == n) {
            s.insert(Extension(i as u16));
        }
    }
    s
}

const V8: &[&str] = &["NEON"];
const V8_CRYPTO: &[&str] = &["NEON", "AES", "SHA2", "CRC32"];
const V8_2: &[&str] = &["NEON", "AES", "SHA2", "CRC32", "LSE", "RDM", "FP16", "DOTPROD"];
/// The Armv8.2 cores peach names all have RCPC (mandatory from Armv8.3).
const V8_2_RCPC: &[&str] = &["NEON", "AES", "SHA2", "CRC32", "LSE", "RDM", "FP16", "DOTPROD", "RCPC"];
const V8_6: &[&str] = &["NEON", "AES", "SHA2", "CRC32", "LSE", "RDM", "FP16", "DOTPROD", "I8MM", "BF16", "RCPC"];

/// Cores: name and extensions. Sources: Arm's technical reference manuals, Apple's feature
/// flags as LLVM records them.
const CORES: &[(&str, &[&str])] = &[
    ("cortex-a53", V8_CRYPTO),
    ("cortex-a72", V8_CRYPTO),
    ("cortex-a76", V8_2_RCPC),
    ("neoverse-n1", V8_2_RCPC),
    ("neoverse-v1", V8_6),
    ("neoverse-n2", V8_6),
    ("neoverse-v2", V8_6),
    ("apple-m1", V8_2_RCPC),
    ("apple-m2", V8_6),
    ("apple-m3", V8_6),
    ("apple-m4", V8_6),
];

/// Cores by MIDR_EL1 implementer and part number, as Linux's `cputype.h` lists them.
#[rustfmt::skip]
const PARTS: &[(u8, u16, &str)] = &[
    (0x41, 0xd03, "cortex-a53"), (0x41, 0xd08, "cortex-a72"), (0x41, 0xd0b, "cortex-a76"),
    (0x41, 0xd0c, "neoverse-n1"), (0x41, 0xd40, "neoverse-v1"), (0x41, 0xd49, "neoverse-n2"),
    (0x41, 0xd4f, "neoverse-v2"),
    (0x61, 0x022, "apple-m1"), (0x61, 0x023, "apple-m1"), (0x61, 0x024, "apple-m1"), (0x61, 0x025, "apple-m1"),
    (0x61, 0x028, "apple-m1"), (0x61, 0x029, "apple-m1"),
    (0x61, 0x032, "apple-m2"), (0x61, 0x033, "apple-m2"), (0x61, 0x034, "apple-m2"), (0x61, 0x035, "apple-m2"),
    (0x61, 0x038, "apple-m2"), (0x61, 0x039, "apple-m2"),
];

/// `(core, (FMAs, loads, stores per cycle))` of 128-bit NEON vectors, from Arm's software
/// optimisation guides and Apple's (conservative, see [`crate::target::VectorRates`]). The
/// Cortex-A53 and A72, whose FP pipes are narrower, are left out.
#[rustfmt::skip]
const RATES: &[(&str, (f64, f64, f64))] = &[
    ("cortex-a76", (2.0, 2.0, 1.0)),
    ("neoverse-n1", (2.0, 2.0, 1.0)),
    ("neoverse-n2", (2.0, 2.0, 1.0)),
    ("neoverse-v1", (4.0, 3.0, 2.0)),
    ("neoverse-v2", (4.0, 3.0, 2.0)),
    ("apple-m1", (4.0, 3.0, 2.0)),
    ("apple-m2", (4.0, 3.0, 2.0)),
    ("apple-m3", (4.0, 3.0, 2.0)),
    ("apple-m4", (4.0, 3.0, 2.0)),
];

/// The vector rates of core `name` at `bits` (128: NEON's only width), if it is known.
pub(crate) fn rates(name: &str, bits: u32) -> Option<crate::target::VectorRates> {
    let &(_, (fma, loads, stores)) = RATES.iter().find(|(n, _)| *n == name).filter(|_| bits == 128)?;
    Some(crate::target::VectorRates { fma, loads, stores })
}

/// The core an AArch64 processor is, from MIDR_EL1's implementer and part number.
pub(crate) fn identify(implementer: u8, part: u16) -> Option<&'static str> {
    PARTS.iter().find(|p| p.0 == implementer && p.1 == part).map(|p| p.2)
}

/// Whether `name` is a core (not an architecture level).
pub(crate) fn is_core(name: &str) -> bool {
    CORES.iter().any(|c| c.0 == name)
}

impl Target {
    /// Armv8-A with FP and NEON, what every AArch64 core has.
    ///
    /// ```
    /// let t = peach_core::Target::aarch64_neon();
    /// assert!(t.has_neon() && !t.has_dotprod());
    /// ```
    pub fn aarch64_neon() -> Target {
        Target::new(Arch::Aarch64, "armv8-a", set(V8))
    }

    /// An AArch64 target by name: `armv8-a`, `armv8.2-a+dotprod`, a core (`cortex-a53`,
    /// `cortex-a72`, `cortex-a76`, `neoverse-n1`, `neoverse-v1`, `neoverse-n2`, `neoverse-v2`,
    /// `apple-m1` to `apple-m4`) or `native`.
    ///
    /// ```
    /// use peach_core::Target;
    /// assert!(Target::aarch64("neoverse-n1")?.has_dotprod());
    /// assert!(!Target::aarch64("apple-m1")?.has_i8mm());
    /// assert!(Target::aarch64("cortex-z9").is_err());
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn aarch64(name: &str) -> crate::Result<Target> {
        let exts = match name {
            "armv8-a" | "baseline" => set(V8),
            "armv8.2-a+dotprod" => set(V8_2),
            "native" => return Ok(Target::native_aarch64()),
            _ => CORES.iter().find(|(n, _)| *n == name).map(|(_, e)| set(e)).ok_or_else(|| {
                let known: Vec<&str> = CORES.iter().map(|c| c.0).collect();
                crate::Error::new(
                    crate::ErrorKind::UnknownTarget,
                    format!(
                        "unknown AArch64 target `{name}`; known: armv8-a, armv8.2-a+dotprod, native, {}",
                        known.join(", ")
                    ),
                )
            })?,
        };
        Ok(Target::new(Arch::Aarch64, name.to_string(), exts))
    }

    /// The names [`Target::aarch64`] knows.
    pub fn aarch64_names() -> Vec<&'static str> {
        let mut v = vec!["armv8-a", "armv8.2-a+dotprod"];
        v.extend(CORES.iter().map(|c| c.0));
        v
    }

    /// The machine running this code, as detected by the standard library. On other
    /// architectures: Armv8-A.
    pub fn native_aarch64() -> Target {
        Target::new(Arch::Aarch64, "native", detect())
    }
}

#[cfg(target_arch = "aarch64")]
fn detect() -> ExtSet {
    let mut s = set(V8);
    macro_rules! probe {
        ($($feat:tt => $name:literal),* $(,)?) => {$(
            if std::arch::is_aarch64_feature_detected!($feat) {
                s.union_with(&set(&[$name]));
            }
        )*};
    }
    probe! {
        "fp16" => "FP16", "dotprod" => "DOTPROD", "i8mm" => "I8MM", "bf16" => "BF16", "aes" => "AES",
        "sha2" => "SHA2", "crc" => "CRC32", "lse" => "LSE", "rdm" => "RDM", "rcpc" => "RCPC",
    }
    s
}

#[cfg(not(target_arch = "aarch64"))]
fn detect() -> ExtSet {
    set(V8)
}

pub(crate) fn extension_name(e: Extension) -> &'static str {
    NAMES.get(e.0 as usize).copied().unwrap_or("?")
}

pub(crate) fn extension_by_name(name: &str) -> Option<Extension> {
    NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)).map(|i| Extension(i as u16))
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn every_core_but_the_narrow_ones_has_128_bit_rates_only() {
        for &(name, _) in CORES {
            let listed = rates(name, 128);
            assert_eq!(listed.is_some(), !matches!(name, "cortex-a53" | "cortex-a72"), "{name}");
            assert!(listed.is_none_or(|r| r.fma >= 2.0 && r.loads >= r.stores), "{name}: {listed:?}");
            assert_eq!(rates(name, 256), None, "{name}");
        }
        assert!(RATES.iter().all(|(name, _)| is_core(name)));
        assert_eq!(rates("armv8-a", 128), None);
    }
}
