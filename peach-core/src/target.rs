//! Targets: an architecture and the set of ISA extensions code may use.
//!
//! The extension numbering belongs to the architecture's backend (for x86-64, iced-x86's CPUID
//! feature numbers); the microarchitecture tables live with each backend under `isa/`.

use std::fmt;

/// An instruction-set architecture peach generates code for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64 (AMD64 / Intel 64).
    X86_64,
    /// AArch64 (64-bit Arm).
    Aarch64,
}

impl Arch {
    /// The architecture of the machine running this code (x86-64 on any other).
    ///
    /// ```
    /// use peach_core::target::Arch;
    /// assert_eq!(Arch::host() == Arch::Aarch64, cfg!(target_arch = "aarch64"));
    /// ```
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") { Arch::Aarch64 } else { Arch::X86_64 }
    }
}

/// One ISA extension (CPUID feature), numbered by the architecture's backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Extension(pub u16);

/// A set of ISA extensions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtSet([u64; 4]);

impl ExtSet {
    /// The empty set.
    pub const EMPTY: ExtSet = ExtSet([0; 4]);

    /// Adds an extension.
    pub fn insert(&mut self, e: Extension) {
        if let Some(w) = self.0.get_mut(e.0 as usize / 64) {
            *w |= 1 << (e.0 % 64);
        }
    }

    /// Whether the set holds `e`.
    pub fn contains(&self, e: Extension) -> bool {
        self.0.get(e.0 as usize / 64).is_some_and(|w| w & (1 << (e.0 % 64)) != 0)
    }

    /// Adds every extension of `other`.
    pub fn union_with(&mut self, other: &ExtSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// Whether every extension of `self` is in `other`.
    pub fn is_subset(&self, other: &ExtSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    /// The extensions, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = Extension> + '_ {
        (0..256u16).map(Extension).filter(|e| self.contains(*e))
    }
}

impl fmt::Debug for ExtSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|e| e.0)).finish()
    }
}

/// What code is generated for: an architecture, a name and the extensions allowed.
///
/// ```
/// use peach_core::Target;
/// let t = Target::x86_64_v3();
/// assert!(t.has("AVX2") && t.has("FMA") && !t.has("AVX512F"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    arch: Arch,
    name: String,
    extensions: ExtSet,
}

impl Target {
    /// A target from its parts.
    pub fn new(arch: Arch, name: impl Into<String>, extensions: ExtSet) -> Self {
        Target { arch, name: name.into(), extensions }
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

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

    /// The target's name, as used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The extensions code for this target may use.
    pub fn extensions(&self) -> &ExtSet {
        &self.extensions
    }

    /// Whether the target has the extension named `name` (for example `"AVX2"`); unknown names
    /// answer `false`.
    pub fn has(&self, name: &str) -> bool {
        crate::isa::extension_by_name(self.arch, name).is_some_and(|e| self.extensions.contains(e))
    }

    /// The name of extension `e` on this target's architecture.
    pub fn extension_name(&self, e: Extension) -> &'static str {
        crate::isa::extension_name(self.arch, e)
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

            /// Answers a query by its method name (`"has_fma3"`), for interpreters of kernel
            /// code; `None` for an unknown query.
            ///
            /// ```
            /// let t = peach_core::Target::x86_64_v3();
            /// assert_eq!(t.query("has_fma3"), Some(true));
            /// assert_eq!(t.query("has_wings"), None);
            /// ```
            pub fn query(&self, method: &str) -> Option<bool> {
                match method {
                    $(stringify!($fn) => Some(self.has($name)),)*
                    _ => None,
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
    /// Whether the target has AES-NI.
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
}
