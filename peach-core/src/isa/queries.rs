//! Target queries by extension name (`target.has("AVX2")`, `target.has_avx2()`), and targets
//! by name of either architecture: answers only the ISAs can give, so they live above them.

use super::{extension_by_name, extension_name};
use crate::target::{Arch, CoreId, Extension, Target, VectorRates};

impl Target {
    /// A target by name, whatever its architecture: an x86-64 one ([`Target::x86_64`]) or an
    /// AArch64 one ([`Target::aarch64`]).
    ///
    /// ```
    /// use peach_core::{Target, target::Arch};
    /// assert_eq!(Target::named("haswell")?.arch(), Arch::X86_64);
    /// assert_eq!(Target::named("neoverse-n1")?.arch(), Arch::Aarch64);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn named(name: &str) -> crate::Result<Target> {
        Target::x86_64(name).or_else(|e| Target::aarch64(name).map_err(|_| e))
    }

    /// Whether the target has the extension named `name` (for example `"AVX2"`); unknown names
    /// answer `false`.
    pub fn has(&self, name: &str) -> bool {
        extension_by_name(self.arch(), name).is_some_and(|e| self.extensions().contains(e))
    }

    /// Whether the target was made for microarchitecture `name` (exactly: `zen5` is not
    /// `zen4`), as a variant named for it is; code tuned per core branches on it.
    ///
    /// ```
    /// use peach_core::Target;
    /// assert!(Target::x86_64("zen4")?.is("zen4"));
    /// assert!(!Target::x86_64("zen5")?.is("zen4") && !Target::x86_64_v4().is("zen4"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn is(&self, name: &str) -> bool {
        self.name() == name
    }

    /// What a core of this target's microarchitecture does per cycle with vectors of `bits`
    /// (128, 256, 512): FMAs, loads and stores. `None` for a target that is an ISA level
    /// rather than a microarchitecture (`x86-64-v3`), a width it has no vectors of, or a core
    /// whose rates peach does not list.
    ///
    /// ```
    /// use peach_core::Target;
    /// let zen4 = Target::x86_64("zen4")?;
    /// assert_eq!(zen4.vector_rates(512).map(|r| r.fma), Some(1.0)); // two 256-bit halves
    /// assert_eq!(Target::x86_64("zen5")?.vector_rates(512).map(|r| r.fma), Some(2.0));
    /// assert_eq!(Target::x86_64("zen3")?.vector_rates(512), None);
    /// assert_eq!(Target::x86_64_v4().vector_rates(512), None);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn vector_rates(&self, bits: u32) -> Option<VectorRates> {
        match self.arch() {
            Arch::X86_64 => super::x86_64::cores::rates(self.name(), bits),
            Arch::Aarch64 => super::aarch64::target::rates(self.name(), bits),
        }
    }

    /// Vector FMAs of `bits` per cycle on this target's microarchitecture (see
    /// [`Target::vector_rates`]), 0 where unknown: kernel code (`peach_fn!` bodies too)
    /// branches on it, as in `if target.fma_per_cycle(512) >= 2.0 { ... }`.
    ///
    /// ```
    /// use peach_core::Target;
    /// assert_eq!(Target::x86_64("zen4")?.fma_per_cycle(512), 1.0);
    /// assert_eq!(Target::aarch64("neoverse-v1")?.fma_per_cycle(128), 4.0);
    /// assert_eq!(Target::x86_64_v3().fma_per_cycle(256), 0.0);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn fma_per_cycle(&self, bits: u32) -> f64 {
        self.vector_rates(bits).map_or(0.0, |r| r.fma)
    }

    /// Vector loads of `bits` per cycle (see [`Target::fma_per_cycle`]), 0 where unknown.
    ///
    /// ```
    /// assert_eq!(peach_core::Target::x86_64("zen4")?.loads_per_cycle(256), 2.0);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn loads_per_cycle(&self, bits: u32) -> f64 {
        self.vector_rates(bits).map_or(0.0, |r| r.loads)
    }

    /// Vector stores of `bits` per cycle (see [`Target::fma_per_cycle`]), 0 where unknown.
    ///
    /// ```
    /// assert_eq!(peach_core::Target::x86_64("zen4")?.stores_per_cycle(512), 0.5);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn stores_per_cycle(&self, bits: u32) -> f64 {
        self.vector_rates(bits).map_or(0.0, |r| r.stores)
    }

    /// The name of extension `e` on this target's architecture.
    pub fn extension_name(&self, e: Extension) -> &'static str {
        extension_name(self.arch(), e)
    }
}

macro_rules! has {
    ($($(#[$doc:meta])* $fn:ident => $name:literal),* $(,)?) => {
        impl Target {
            $(
                $(#[$doc])*
                pub fn $fn(&self) -> bool {
                    self.has($name)
                }
            )*

            /// Answers a query by its method name (`"has_fma3"`; `"is_zen4"`, whether the
            /// target was made for that microarchitecture: see [`Target::is`]), for interpreters
            /// of kernel code; `None` for an unknown query.
            ///
            /// ```
            /// let t = peach_core::Target::x86_64_v3();
            /// assert_eq!(t.query("has_fma3"), Some(true));
            /// assert_eq!(t.query("is_skylake_x"), Some(false));
            /// assert_eq!(t.query("has_wings"), None);
            /// assert_eq!(t.query("is_pentium"), None);
            /// ```
            pub fn query(&self, method: &str) -> Option<bool> {
                match method {
                    $(stringify!($fn) => Some(self.has($name)),)*
                    _ => {
                        let name = method.strip_prefix("is_")?.replace('_', "-");
                        (!Target::lineage(self.arch(), &name).is_empty()).then(|| self.is(&name))
                    }
                }
            }
        }
    };
}

has! {
    /// Whether the target has SSE.
    has_sse => "SSE",
    /// Whether the target has SSE2.
    has_sse2 => "SSE2",
    /// Whether the target has SSE3.
    has_sse3 => "SSE3",
    /// Whether the target has SSSE3.
    has_ssse3 => "SSSE3",
    /// Whether the target has SSE4.1.
    has_sse4_1 => "SSE4_1",
    /// Whether the target has SSE4.2.
    has_sse4_2 => "SSE4_2",
    /// Whether the target has AMD SSE4a.
    has_sse4a => "SSE4A",
    /// Whether the target has POPCNT.
    has_popcnt => "POPCNT",
    /// Whether the target has LZCNT.
    has_lzcnt => "LZCNT",
    /// Whether the target has AVX.
    has_avx => "AVX",
    /// Whether the target has AVX2.
    has_avx2 => "AVX2",
    /// Whether the target has FMA3 (Intel's fused multiply-add, `VFMADD231PS` and friends).
    has_fma3 => "FMA",
    /// Whether the target has FMA4 (AMD Bulldozer's four-operand fused multiply-add).
    has_fma4 => "FMA4",
    /// Whether the target has AMD XOP.
    has_xop => "XOP",
    /// Whether the target has F16C (half-precision conversions).
    has_f16c => "F16C",
    /// Whether the target has BMI1.
    has_bmi1 => "BMI1",
    /// Whether the target has BMI2.
    has_bmi2 => "BMI2",
    /// Whether the target has AES-NI (x86-64) or the AES instructions (AArch64).
    has_aes => "AES",
    /// Whether the target has PCLMULQDQ.
    has_pclmulqdq => "PCLMULQDQ",
    /// Whether the target has SHA.
    has_sha => "SHA",
    /// Whether the target has GFNI.
    has_gfni => "GFNI",
    /// Whether the target has VAES.
    has_vaes => "VAES",
    /// Whether the target has VPCLMULQDQ.
    has_vpclmulqdq => "VPCLMULQDQ",
    /// Whether the target has AVX-VNNI (VEX-encoded dot products).
    has_avx_vnni => "AVX_VNNI",
    /// Whether the target has AVX-512 Foundation.
    has_avx512f => "AVX512F",
    /// Whether the target has AVX-512 Conflict Detection.
    has_avx512cd => "AVX512CD",
    /// Whether the target has AVX-512 Byte and Word.
    has_avx512bw => "AVX512BW",
    /// Whether the target has AVX-512 Doubleword and Quadword.
    has_avx512dq => "AVX512DQ",
    /// Whether the target has AVX-512 Vector Length (128/256-bit EVEX forms).
    has_avx512vl => "AVX512VL",
    /// Whether the target has AVX-512 IFMA.
    has_avx512ifma => "AVX512_IFMA",
    /// Whether the target has AVX-512 VBMI.
    has_avx512vbmi => "AVX512_VBMI",
    /// Whether the target has AVX-512 VBMI2.
    has_avx512vbmi2 => "AVX512_VBMI2",
    /// Whether the target has AVX-512 VNNI.
    has_avx512vnni => "AVX512_VNNI",
    /// Whether the target has AVX-512 BITALG.
    has_avx512bitalg => "AVX512_BITALG",
    /// Whether the target has AVX-512 VPOPCNTDQ.
    has_avx512vpopcntdq => "AVX512_VPOPCNTDQ",
    /// Whether the target has AVX-512 BF16.
    has_avx512bf16 => "AVX512_BF16",
    /// Whether the target has AVX-512 FP16.
    has_avx512fp16 => "AVX512_FP16",
    /// Whether the target has AArch64 FP and Advanced SIMD (NEON).
    has_neon => "NEON",
    /// Whether the target has the AArch64 dot-product instructions (`SDOT`, `UDOT`).
    has_dotprod => "DOTPROD",
    /// Whether the target has AArch64 half-precision arithmetic.
    has_fp16 => "FP16",
    /// Whether the target has the AArch64 int8 matrix multiply instructions.
    has_i8mm => "I8MM",
    /// Whether the target has the AArch64 BFloat16 instructions.
    has_bf16 => "BF16",
    /// Whether the target has the AArch64 SHA-1 and SHA-256 instructions.
    has_sha2 => "SHA2",
    /// Whether the target has the AArch64 CRC-32 instructions (`CRC32B` ... `CRC32CX`).
    has_crc32 => "CRC32",
    /// Whether the target has the AArch64 large-system-extension atomics (`LDADD`, `CAS`, ...).
    has_lse => "LSE",
    /// Whether the target has the AArch64 rounding doubling multiply-accumulates (`SQRDMLAH`).
    has_rdm => "RDM",
    /// Whether the target has the AArch64 load-acquire RCpc instructions (`LDAPR`).
    has_rcpc => "RCPC",
}

impl CoreId {
    /// The microarchitecture peach knows this processor as (a name [`Target::x86_64`] or
    /// [`Target::aarch64`] takes), or `None`. `has` says which extensions the processor reports
    /// (by the names [`Target::has`] takes): on x86-64 they must agree with the model's
    /// vector extensions (a virtual machine may report another model than its host's; then the
    /// family's one member with those extensions, if there is one).
    ///
    /// ```
    /// use peach_core::target::CoreId;
    /// let zen4 = CoreId::X86 { vendor: "AuthenticAMD".into(), family: 0x19, model: 0x61 };
    /// assert_eq!(zen4.microarch(|f| matches!(f, "AVX" | "AVX2" | "AVX512F")), Some("zen4"));
    /// let future = CoreId::X86 { vendor: "AuthenticAMD".into(), family: 0x1b, model: 0 };
    /// assert_eq!(future.microarch(|_| true), None);
    /// let n1 = CoreId::Arm { implementer: 0x41, part: 0xd0c };
    /// assert_eq!(n1.microarch(|_| true), Some("neoverse-n1"));
    /// ```
    pub fn microarch(&self, has: impl Fn(&str) -> bool) -> Option<&'static str> {
        match self {
            CoreId::X86 { vendor, family, model } => crate::isa::x86_64::cores::identify(vendor, *family, *model, &has),
            CoreId::Arm { implementer, part } => crate::isa::aarch64::target::identify(*implementer, *part),
        }
    }
}

impl Target {
    /// Microarchitecture `name` of `arch` and those it descends from, nearest first (x86-64's
    /// table has descent; AArch64 cores stand alone); empty for a name that is not a
    /// microarchitecture (an ISA level such as `x86-64-v3`).
    ///
    /// ```
    /// use peach_core::{Target, target::Arch};
    /// assert_eq!(Target::lineage(Arch::X86_64, "zen5")[..2], ["zen5", "zen4"]);
    /// assert_eq!(Target::lineage(Arch::Aarch64, "neoverse-v1"), ["neoverse-v1"]);
    /// assert!(Target::lineage(Arch::Aarch64, "armv8-a").is_empty());
    /// ```
    pub fn lineage(arch: Arch, name: &str) -> Vec<&'static str> {
        match arch {
            Arch::X86_64 => Target::x86_64_lineage(name),
            Arch::Aarch64 => Target::aarch64_names()
                .into_iter()
                .filter(|n| *n == name && crate::isa::aarch64::target::is_core(n))
                .collect(),
        }
    }
}
