//! Targets: an architecture and the set of ISA extensions code may use.
//!
//! The extension numbering belongs to the architecture's backend (for x86-64, iced-x86's CPUID
//! feature numbers); the microarchitecture tables live with each backend under `isa/`.

use std::borrow::Cow;
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
    /// Every architecture peach generates code for.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

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
    pub const fn insert(&mut self, e: Extension) {
        let word = e.0 as usize / 64;
        if word < self.0.len() {
            self.0[word] |= 1 << (e.0 % 64);
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
    name: Cow<'static, str>,
    extensions: ExtSet,
}

impl Target {
    /// A target from its parts (a `&'static str` name is kept without a copy).
    pub fn new(arch: Arch, name: impl Into<Cow<'static, str>>, extensions: ExtSet) -> Self {
        Target { arch, name: name.into(), extensions }
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The target's name, as used in error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The extensions code for this target may use.
    pub fn extensions(&self) -> &ExtSet {
        &self.extensions
    }
}

/// What one core of a microarchitecture does per cycle with vectors of one width: fused
/// multiply-adds, loads and stores (see [`Target::vector_rates`]). Kernels tune to these: the
/// accumulators that hide FMA latency, whether 512-bit vectors pay on a core that splits them.
///
/// They are the vendors' documented sustained rates (optimisation guides, software
/// optimisation guides for Arm cores), conservative: where parts of one microarchitecture
/// differ (one or two 512-bit FMA units on Skylake-X and Ice Lake), or a rate holds only in
/// special cases, the lower figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VectorRates {
    /// Vector FMAs per cycle (`VFMADD231PS`, `FMLA`).
    pub fma: f64,
    /// Vector loads per cycle.
    pub loads: f64,
    /// Vector stores per cycle.
    pub stores: f64,
}

/// A processor as it identifies itself: what dispatch reads to tell microarchitectures apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreId {
    /// x86-64: CPUID's vendor string (`GenuineIntel`, `AuthenticAMD`), family and model (with
    /// the extended fields folded in, as the vendors' manuals compute them).
    X86 {
        /// The vendor string.
        vendor: String,
        /// The family.
        family: u32,
        /// The model.
        model: u32,
    },
    /// AArch64: MIDR_EL1's implementer and part number.
    Arm {
        /// The implementer (0x41 Arm, 0x61 Apple).
        implementer: u8,
        /// The part number.
        part: u16,
    },
}

impl std::fmt::Display for CoreId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreId::X86 { vendor, family, model } => write!(f, "{vendor} family {family:#x} model {model:#x}"),
            CoreId::Arm { implementer, part } => write!(f, "implementer {implementer:#x} part {part:#x}"),
        }
    }
}
