//! Which x86-64 microarchitecture a processor is, from what CPUID says of it: vendor, family and
//! model, as the vendors' manuals, Linux (`intel-family.h`) and LLVM (`Host.cpp`) list them. A
//! virtual machine may report a model other than the host's, so the model's answer stands only
//! if the vector extensions the processor reports are that microarchitecture's; otherwise the
//! family's member whose vector extensions they are, if exactly one is.

use super::target::microarch;
use iced_x86::CpuidFeature as F;

/// `(vendor, family, models, microarchitecture)`, models as inclusive ranges.
type Models = (&'static str, u32, &'static [(u32, u32)], &'static str);

#[rustfmt::skip]
const MODELS: &[Models] = &[
    ("GenuineIntel", 6, &[(0x3c, 0x3c), (0x3f, 0x3f), (0x45, 0x46)], "haswell"),
    ("GenuineIntel", 6, &[(0x3d, 0x3d), (0x47, 0x47), (0x4f, 0x4f), (0x56, 0x56)], "broadwell"),
    ("GenuineIntel", 6, &[(0x4e, 0x4e), (0x5e, 0x5e), (0x8e, 0x8e), (0x9e, 0x9e), (0xa5, 0xa6)], "skylake"),
    ("GenuineIntel", 6, &[(0x55, 0x55)], "skylake-x"),
    ("GenuineIntel", 6, &[(0x6a, 0x6a), (0x6c, 0x6c), (0x7d, 0x7e), (0x8c, 0x8d), (0xa7, 0xa7)], "icelake"),
    ("GenuineIntel", 6, &[(0x8f, 0x8f), (0xcf, 0xcf)], "sapphirerapids"),
    ("AuthenticAMD", 0x17, &[(0x00, 0x2f)], "zen1"),
    ("AuthenticAMD", 0x17, &[(0x30, 0xff)], "zen2"),
    ("AuthenticAMD", 0x19, &[(0x00, 0x0f), (0x20, 0x5f)], "zen3"),
    ("AuthenticAMD", 0x19, &[(0x10, 0x1f), (0x60, 0x7f), (0xa0, 0xaf)], "zen4"),
    ("AuthenticAMD", 0x1a, &[(0x00, 0x4f), (0x60, 0x7f)], "zen5"),
];

/// `(bits, FMAs, loads, stores per cycle)`.
type Rate = (u32, f64, f64, f64);

/// `(microarchitecture, [(bits, FMAs, loads, stores per cycle)])`, from Intel's and AMD's
/// optimisation manuals, conservative (see [`crate::target::VectorRates`]): Skylake-X and Ice
/// Lake parts with one 512-bit FMA unit give the 512-bit figure; Zen 1 and Zen 4 split 256- and
/// 512-bit operations into halves; Zen 5's 512-bit datapath is full width.
#[rustfmt::skip]
const RATES: &[(&str, &[Rate])] = &[
    ("haswell", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0)]),
    ("broadwell", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0)]),
    ("skylake", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0)]),
    ("skylake-x", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0), (512, 1.0, 2.0, 1.0)]),
    ("icelake", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0), (512, 1.0, 2.0, 1.0)]),
    ("sapphirerapids", &[(128, 2.0, 3.0, 2.0), (256, 2.0, 3.0, 2.0), (512, 2.0, 2.0, 1.0)]),
    ("zen1", &[(128, 2.0, 2.0, 1.0), (256, 1.0, 1.0, 0.5)]),
    ("zen2", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0)]),
    ("zen3", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0)]),
    ("zen4", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0), (512, 1.0, 1.0, 0.5)]),
    ("zen5", &[(128, 2.0, 2.0, 1.0), (256, 2.0, 2.0, 1.0), (512, 2.0, 2.0, 1.0)]),
];

/// The vector rates of microarchitecture `name` at `bits`, if it is one and has such vectors.
pub(crate) fn rates(name: &str, bits: u32) -> Option<crate::target::VectorRates> {
    let (_, rows) = RATES.iter().find(|(n, _)| *n == name)?;
    let &(_, fma, loads, stores) = rows.iter().find(|r| r.0 == bits)?;
    Some(crate::target::VectorRates { fma, loads, stores })
}

/// The extensions that must agree: those that set what vector code a core runs (AVX512_FP16
/// tells Sapphire Rapids from the earlier AVX-512 cores).
const VECTOR: [F; 4] = [F::AVX, F::AVX2, F::AVX512F, F::AVX512_FP16];

/// The microarchitecture of an x86-64 processor (see the module's documentation); `has` answers
/// by iced-x86 CPUID feature name (`AVX512F`).
pub(crate) fn identify(vendor: &str, family: u32, model: u32, has: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    let agrees = |name: &str| {
        let exts = microarch(name);
        VECTOR.iter().all(|f| {
            let theirs = exts.is_some_and(|e| e.contains(crate::target::Extension(*f as u16)));
            theirs == has(&format!("{f:?}"))
        })
    };
    let family_members = || MODELS.iter().filter(|m| m.0 == vendor && m.1 == family);
    let by_model = family_members().find(|m| m.2.iter().any(|&(lo, hi)| (lo..=hi).contains(&model))).map(|m| m.3);
    if let Some(name) = by_model.filter(|n| agrees(n)) {
        return Some(name);
    }
    let mut agreeing = family_members().map(|m| m.3).filter(|n| agrees(n));
    match (agreeing.next(), agreeing.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_name_their_microarchitectures_and_vms_are_told_by_their_extensions() {
        let avx512 = |f: &str| matches!(f, "AVX" | "AVX2" | "AVX512F");
        let fp16 = |f: &str| matches!(f, "AVX" | "AVX2" | "AVX512F" | "AVX512_FP16");
        let avx2 = |f: &str| matches!(f, "AVX" | "AVX2");
        type Has<'a> = &'a dyn Fn(&str) -> bool;
        let cases: [(&str, u32, u32, Has, Option<&str>); 14] = [
            ("AuthenticAMD", 0x19, 0x61, &avx512, Some("zen4")),
            ("AuthenticAMD", 0x19, 0x21, &avx2, Some("zen3")),
            // A virtual machine on Zen 4 that reports model 1 (a Zen 3 model): the extensions tell.
            ("AuthenticAMD", 0x19, 0x01, &avx512, Some("zen4")),
            ("AuthenticAMD", 0x1a, 0x44, &avx512, Some("zen5")),
            ("AuthenticAMD", 0x17, 0x31, &avx2, Some("zen2")),
            // A family not in the table (a future one): unknown.
            ("AuthenticAMD", 0x1b, 0x00, &avx512, None),
            ("GenuineIntel", 6, 0x55, &avx512, Some("skylake-x")),
            ("GenuineIntel", 6, 0x8f, &fp16, Some("sapphirerapids")),
            ("GenuineIntel", 6, 0xa7, &avx512, Some("icelake")),
            // A virtual machine on a Sapphire Rapids-class host that reports Rocket Lake's model
            // (seen on a cloud machine); an unknown model with AVX-512 but no FP16 could be
            // Skylake-X or Ice Lake: unknown.
            ("GenuineIntel", 6, 0xa7, &fp16, Some("sapphirerapids")),
            ("GenuineIntel", 6, 0xf0, &avx512, None),
            // Skylake-X's model with AVX-512 masked off, and Alder Lake (not in the table).
            ("GenuineIntel", 6, 0x55, &avx2, None),
            ("GenuineIntel", 6, 0x97, &avx2, None),
            ("CentaurHauls", 7, 0x3b, &avx2, None),
        ];
        for (vendor, family, model, has, want) in cases {
            assert_eq!(identify(vendor, family, model, has), want, "{vendor} {family:#x} {model:#x}");
        }
    }

    #[test]
    fn every_microarchitecture_has_rates_for_exactly_its_vector_widths() {
        for &(_, _, _, name) in MODELS {
            let exts = microarch(name).expect("a target of that name");
            let has = |f: F| exts.contains(crate::target::Extension(f as u16));
            for (bits, present) in [(128, true), (256, has(F::AVX)), (512, has(F::AVX512F))] {
                assert_eq!(rates(name, bits).is_some(), present, "{name} at {bits} bits");
            }
            let r = rates(name, 128).expect("SSE");
            assert!(r.fma > 0.0 && r.loads >= r.stores && r.stores > 0.0, "{name}: {r:?}");
        }
        assert_eq!(rates("x86-64-v3", 256), None);
    }
}
