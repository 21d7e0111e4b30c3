//! x86-64 targets: the x86-64 psABI levels and the host, as sets of iced CPUID features.

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

fn set(levels: &[&[F]]) -> ExtSet {
    let mut s = ExtSet::EMPTY;
    for f in levels.iter().flat_map(|l| l.iter()) {
        s.insert(Extension(*f as u16));
    }
    s
}

impl Target {
    /// x86-64 baseline (SSE2), what every x86-64 CPU has.
    pub fn x86_64_baseline() -> Target {
        Target::new(Arch::X86_64, "x86-64", set(&[BASELINE]))
    }

    /// x86-64-v2: adds SSE3, SSSE3, SSE4.1, SSE4.2 and POPCNT (Nehalem and later).
    pub fn x86_64_v2() -> Target {
        Target::new(Arch::X86_64, "x86-64-v2", set(&[BASELINE, V2]))
    }

    /// x86-64-v3: adds AVX, AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE (Haswell, Zen 1 and later).
    pub fn x86_64_v3() -> Target {
        Target::new(Arch::X86_64, "x86-64-v3", set(&[BASELINE, V2, V3]))
    }

    /// x86-64-v4: adds AVX-512 F, BW, CD, DQ and VL (Skylake-X, Zen 4 and later).
    pub fn x86_64_v4() -> Target {
        Target::new(Arch::X86_64, "x86-64-v4", set(&[BASELINE, V2, V3, V4]))
    }

    /// The machine running this code, as detected by the standard library (which also checks that
    /// the operating system enabled the register state). On other architectures: x86-64 baseline.
    pub fn native_x86_64() -> Target {
        Target::new(Arch::X86_64, "native", detect())
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> ExtSet {
    let mut s = set(&[BASELINE]);
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
    set(&[BASELINE])
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
