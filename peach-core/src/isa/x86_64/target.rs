//! x86-64 targets: the x86-64 psABI levels, a table of microarchitectures and the host, as sets
//! of iced CPUID features.

use std::sync::OnceLock;

use iced_x86::CpuidFeature as F;

use crate::target::{Arch, ExtSet, Extension, Target};

const BASELINE: &[F] = &[
    F::INTEL8086,
    F::INTEL186,
    F::INTEL286,
    F::INTEL386,
    F::INTEL486,
    F::X64,
    F::CPUID,
    F::TSC,
    F::CMOV,
    F::CX8,
    F::FPU,
    F::FPU287,
    F::FPU387,
    F::FXSR,
    F::MMX,
    F::SSE,
    F::SSE2,
    F::SYSCALL,
    F::SEP,
    F::PAUSE,
    F::MULTIBYTENOP,
    F::CLFSH,
];
const V2: &[F] = &[F::CMPXCHG16B, F::POPCNT, F::SSE3, F::SSSE3, F::SSE4_1, F::SSE4_2];
const V3: &[F] = &[F::AVX, F::AVX2, F::BMI1, F::BMI2, F::F16C, F::FMA, F::LZCNT, F::MOVBE, F::XSAVE];
const V4: &[F] = &[F::AVX512F, F::AVX512BW, F::AVX512CD, F::AVX512DQ, F::AVX512VL];

/// Microarchitectures: name, the one it extends, and what it adds. Sources: the vendors'
/// optimization manuals and GCC's `-march` definitions.
#[rustfmt::skip]
const MICROARCHS: &[(&str, &str, &[F])] = &[
    ("nehalem",        "",               &[F::CMPXCHG16B, F::POPCNT, F::SSE3, F::SSSE3, F::SSE4_1, F::SSE4_2]),
    ("sandybridge",    "nehalem",        &[F::AVX, F::XSAVE, F::AES, F::PCLMULQDQ]),
    ("ivybridge",      "sandybridge",    &[F::F16C, F::RDRAND, F::FSGSBASE]),
    ("haswell",        "ivybridge",      &[F::AVX2, F::FMA, F::BMI1, F::BMI2, F::LZCNT, F::MOVBE]),
    ("broadwell",      "haswell",        &[F::ADX, F::RDSEED, F::PREFETCHW]),
    ("skylake",        "broadwell",      &[F::CLFLUSHOPT, F::XSAVEC, F::XSAVES]),
    ("skylake-x",      "skylake",        &[F::AVX512F, F::AVX512CD, F::AVX512BW, F::AVX512DQ, F::AVX512VL, F::CLWB]),
    ("icelake",        "skylake-x",      &[F::AVX512_VBMI, F::AVX512_VBMI2, F::AVX512_VNNI, F::AVX512_BITALG,
                                           F::AVX512_VPOPCNTDQ, F::AVX512_IFMA, F::GFNI, F::VAES, F::VPCLMULQDQ,
                                           F::SHA, F::RDPID]),
    ("sapphirerapids", "icelake",        &[F::AVX512_BF16, F::AVX512_FP16, F::AVX_VNNI, F::AMX_TILE, F::AMX_INT8,
                                           F::AMX_BF16, F::SERIALIZE, F::MOVDIRI, F::MOVDIR64B, F::CLDEMOTE,
                                           F::WAITPKG]),
    ("knl",            "haswell",        &[F::AVX512F, F::AVX512CD, F::AVX512ER, F::AVX512PF, F::PREFETCHWT1, F::ADX,
                                           F::RDSEED, F::PREFETCHW]),
    ("knm",            "knl",            &[F::AVX512_4FMAPS, F::AVX512_4VNNIW, F::AVX512_VPOPCNTDQ]),
    ("bulldozer",      "nehalem",        &[F::SSE4A, F::AVX, F::XSAVE, F::FMA4, F::XOP, F::AES, F::PCLMULQDQ,
                                           F::LZCNT, F::LWP]),
    ("piledriver",     "bulldozer",      &[F::FMA, F::F16C, F::BMI1, F::TBM]),
    ("zen1",           "haswell",        &[F::SSE4A, F::ADX, F::RDSEED, F::SHA, F::CLZERO, F::CLFLUSHOPT, F::XSAVEC,
                                           F::XSAVES, F::MONITORX, F::PREFETCHW]),
    ("zen2",           "zen1",           &[F::CLWB, F::RDPID, F::WBNOINVD]),
    ("zen3",           "zen2",           &[F::VAES, F::VPCLMULQDQ, F::INVPCID, F::PKU]),
    ("zen4",           "zen3",           &[F::AVX512F, F::AVX512CD, F::AVX512BW, F::AVX512DQ, F::AVX512VL,
                                           F::AVX512_IFMA, F::AVX512_VBMI, F::AVX512_VBMI2, F::AVX512_VNNI,
                                           F::AVX512_BITALG, F::AVX512_VPOPCNTDQ, F::AVX512_BF16, F::GFNI]),
    ("zen5",           "zen4",           &[F::AVX_VNNI, F::AVX512_VP2INTERSECT, F::MOVDIRI, F::MOVDIR64B]),
];

/// The extensions of microarchitecture `name`, if it is one.
pub(crate) fn microarch(name: &str) -> Option<ExtSet> {
    let (_, parent, own) = MICROARCHS.iter().find(|(n, _, _)| *n == name)?;
    let mut s = if parent.is_empty() { const { set(&[BASELINE]) } } else { microarch(parent)? };
    for f in own.iter() {
        s.insert(Extension(*f as u16));
    }
    Some(s)
}

/// The union of `levels` (a `const fn`: the levels' sets are built at compile time).
const fn set(levels: &[&[F]]) -> ExtSet {
    let mut s = ExtSet::EMPTY;
    let mut i = 0;
    while i < levels.len() {
        let mut j = 0;
        while j < levels[i].len() {
            s.insert(Extension(levels[i][j] as u16));
            j += 1;
        }
        i += 1;
    }
    s
}

impl Target {
    /// x86-64 baseline (SSE2), what every x86-64 CPU has.
    pub fn x86_64_baseline() -> Target {
        Target::new(Arch::X86_64, "x86-64", const { set(&[BASELINE]) })
    }

    /// x86-64-v2: adds SSE3, SSSE3, SSE4.1, SSE4.2 and POPCNT (Nehalem and later).
    pub fn x86_64_v2() -> Target {
        Target::new(Arch::X86_64, "x86-64-v2", const { set(&[BASELINE, V2]) })
    }

    /// x86-64-v3: adds AVX, AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE (Haswell, Zen 1 and later).
    pub fn x86_64_v3() -> Target {
        Target::new(Arch::X86_64, "x86-64-v3", const { set(&[BASELINE, V2, V3]) })
    }

    /// x86-64-v4: adds AVX-512 F, BW, CD, DQ and VL (Skylake-X, Zen 4 and later).
    pub fn x86_64_v4() -> Target {
        Target::new(Arch::X86_64, "x86-64-v4", const { set(&[BASELINE, V2, V3, V4]) })
    }

    /// An x86-64 target by name: a level (`x86-64`, `x86-64-v2`, `x86-64-v3`, `x86-64-v4`), a
    /// microarchitecture (`nehalem`, `sandybridge`, `ivybridge`, `haswell`, `broadwell`,
    /// `skylake`, `skylake-x`, `icelake`, `sapphirerapids`, `bulldozer`, `piledriver`, `zen1` to
    /// `zen5`) or `native`.
    ///
    /// ```
    /// use peach_core::Target;
    /// let t = Target::x86_64("bulldozer")?;
    /// assert!(t.has_fma4() && !t.has_fma3());
    /// assert!(Target::x86_64("pentium").is_err());
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn x86_64(name: &str) -> crate::Result<Target> {
        let exts = match name {
            "x86-64" | "baseline" => const { set(&[BASELINE]) },
            "x86-64-v2" => const { set(&[BASELINE, V2]) },
            "x86-64-v3" => const { set(&[BASELINE, V2, V3]) },
            "x86-64-v4" => const { set(&[BASELINE, V2, V3, V4]) },
            "native" => return Ok(Target::native_x86_64()),
            _ => microarch(name).ok_or_else(|| {
                let known: Vec<&str> = MICROARCHS.iter().map(|m| m.0).collect();
                crate::Error::new(
                    crate::ErrorKind::UnknownTarget,
                    format!(
                        "unknown x86-64 target `{name}`; known: x86-64, x86-64-v2, x86-64-v3, x86-64-v4, native, {}",
                        known.join(", ")
                    ),
                )
            })?,
        };
        Ok(Target::new(Arch::X86_64, name.to_string(), exts))
    }

    /// Microarchitecture `name` (one of [`Target::x86_64`]'s) and those it descends from,
    /// nearest first; empty for a name that is not a microarchitecture.
    ///
    /// ```
    /// use peach_core::Target;
    /// assert_eq!(Target::x86_64_lineage("zen2"), ["zen2", "zen1", "haswell", "ivybridge", "sandybridge", "nehalem"]);
    /// assert!(Target::x86_64_lineage("x86-64-v3").is_empty());
    /// ```
    pub fn x86_64_lineage(name: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut next = MICROARCHS.iter().find(|m| m.0 == name);
        while let Some(&(n, parent, _)) = next {
            out.push(n);
            next = MICROARCHS.iter().find(|m| m.0 == parent);
        }
        out
    }

    /// The names [`Target::x86_64`] knows, levels first.
    pub fn x86_64_names() -> Vec<&'static str> {
        let mut v = vec!["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"];
        v.extend(MICROARCHS.iter().map(|m| m.0));
        v
    }

    /// The machine running this code, as detected by the standard library (which also checks that
    /// the operating system enabled the register state). On other architectures: x86-64 baseline.
    pub fn native_x86_64() -> Target {
        Target::new(Arch::X86_64, "native", detect())
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> ExtSet {
    let mut s = const { set(&[BASELINE]) };
    macro_rules! probe {
        ($($feat:tt => $f:ident),* $(,)?) => {$(
            if std::arch::is_x86_feature_detected!($feat) {
                s.insert(Extension(F::$f as u16));
            }
        )*};
    }
    probe! {
        "sse3" => SSE3, "ssse3" => SSSE3, "sse4.1" => SSE4_1, "sse4.2" => SSE4_2, "popcnt" => POPCNT,
        "cmpxchg16b" => CMPXCHG16B, "avx" => AVX, "avx2" => AVX2, "fma" => FMA, "bmi1" => BMI1,
        "bmi2" => BMI2, "f16c" => F16C, "lzcnt" => LZCNT, "movbe" => MOVBE, "xsave" => XSAVE,
        "avx512f" => AVX512F, "avx512bw" => AVX512BW, "avx512cd" => AVX512CD, "avx512dq" => AVX512DQ,
        "avx512vl" => AVX512VL, "avx512vnni" => AVX512_VNNI, "avx512vbmi" => AVX512_VBMI,
        "avx512vbmi2" => AVX512_VBMI2, "avx512ifma" => AVX512_IFMA, "avx512bitalg" => AVX512_BITALG,
        "avx512vpopcntdq" => AVX512_VPOPCNTDQ, "avx512bf16" => AVX512_BF16, "gfni" => GFNI,
        "vaes" => VAES, "vpclmulqdq" => VPCLMULQDQ, "aes" => AES, "pclmulqdq" => PCLMULQDQ,
        "sha" => SHA, "adx" => ADX, "rdrand" => RDRAND, "rdseed" => RDSEED, "sse4a" => SSE4A,
        "tbm" => TBM,
    }
    s
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> ExtSet {
    const { set(&[BASELINE]) }
}

fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| F::values().map(|f| format!("{f:?}")).collect())
}

pub(crate) fn extension_name(e: Extension) -> &'static str {
    names().get(e.0 as usize).map_or("?", |s| s.as_str())
}

pub(crate) fn extension_by_name(name: &str) -> Option<Extension> {
    names().iter().position(|n| n.eq_ignore_ascii_case(name)).map(|i| Extension(i as u16))
}
