//! Run-time dispatch for fat binaries: a kernel with several ISA variants resolves once, on its
//! first call, to the best variant the CPU (and operating system) supports, and later calls go
//! straight to it through one atomic load.
//!
//! The choice, among the variants whose extensions the processor has: the variant built for
//! this processor's microarchitecture (`x86_64::zen4`, `aarch64::neoverse_v1`: see
//! [`microarch`]), if there is one; else the first variant, in the order written, leaving out
//! those built for a microarchitecture this processor is not (nor descends from, as Zen 4 does
//! from Haswell); on a processor peach does not know, simply the first in the order written; else
//! the fallback. [`Dispatch::explain`] says which and why.
//!
//! The features a variant needs are the ISA extensions its code uses, recorded by peach-core
//! when it was assembled (iced-x86 CPUID feature names such as `AVX2` or `AVX512F`, AArch64 names
//! such as `NEON` or `DOTPROD`); detection is the standard library's `is_x86_feature_detected!`
//! (which also checks that the OS enabled the register state) or `is_aarch64_feature_detected!`. `PEACH_MAX_ISA` (or [`set_max_isa`]) caps the choice, so that every variant can
//! be exercised on a machine that supports them all.

mod uarch;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use peach_core::Target;
use peach_core::target::Arch;
pub use uarch::{UnknownMicroarch, core_id, microarch, set_microarch};

/// One variant of a kernel: its target's name and the ISA extensions its code uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variant {
    /// The target it was built for (`haswell`, `x86-64-v4`, ...).
    pub name: &'static str,
    /// The extensions its code uses, as iced-x86 CPUID feature names.
    pub required: &'static [&'static str],
}

const UNRESOLVED: usize = usize::MAX;
const FALLBACK: usize = usize::MAX - 1;

/// Counts the changes of what [`Dispatch::choose`] depends on besides the processor (the cap,
/// the microarchitecture set), so that a choice remembered under an older count is made again.
static SETTINGS: AtomicU32 = AtomicU32::new(0);

/// Records a change of the settings; called after the change is stored.
fn settings_changed() {
    SETTINGS.fetch_add(1, Ordering::AcqRel);
}

/// In a remembered choice: the fallback, and no choice remembered yet.
const CHOSE_FALLBACK: u32 = u32::MAX;
const CHOSE_NOTHING: u32 = u32::MAX - 1;

/// The dispatch state of one kernel: its variants and the function pointer calls go through.
#[derive(Debug)]
pub struct Dispatch {
    variants: &'static [Variant],
    resolver: AtomicPtr<()>,
    target: AtomicPtr<()>,
    active: AtomicUsize,
    /// The last choice: the settings' count in the high half, the index in the low half.
    chosen: AtomicU64,
}

impl Dispatch {
    /// The state before the first call: calls go to `resolver`.
    pub const fn new(variants: &'static [Variant], resolver: *mut ()) -> Dispatch {
        Dispatch {
            variants,
            resolver: AtomicPtr::new(resolver),
            target: AtomicPtr::new(resolver),
            active: AtomicUsize::new(UNRESOLVED),
            chosen: AtomicU64::new(CHOSE_NOTHING as u64),
        }
    }

    /// The variants, best first.
    pub fn variants(&self) -> &'static [Variant] {
        self.variants
    }

    /// The variant calls go to, once resolved: `Some(name)`, `Some("fallback")`, or `None` before
    /// the first call.
    pub fn active(&self) -> Option<&'static str> {
        match self.active.load(Ordering::Acquire) {
            UNRESOLVED => None,
            FALLBACK => Some("fallback"),
            i => self.variants.get(i).map(|v| v.name),
        }
    }

    /// The function pointer to call (the resolver until the first call resolves it).
    #[inline(always)]
    pub fn pointer(&self) -> *mut () {
        self.target.load(Ordering::Relaxed)
    }

    /// The variant to call on this processor within the cap (see the module's documentation),
    /// if any. The choice is remembered: until [`set_max_isa`] or [`set_microarch`] changes the
    /// settings, later calls cost two atomic loads (a safe kernel's driver may ask on every
    /// call, as `sgemm` does).
    pub fn choose(&self) -> Option<usize> {
        let settings = SETTINGS.load(Ordering::Acquire);
        let memo = self.chosen.load(Ordering::Acquire);
        let code = memo as u32;
        if memo >> 32 == u64::from(settings) && code != CHOSE_NOTHING {
            return (code != CHOSE_FALLBACK).then_some(code as usize);
        }
        let index = choose(uarch::HOST, self.variants, microarch(), |v| runs_here(v.required)).index;
        // Remembered under the count read before choosing: a change made meanwhile has its own
        // count, so the next call chooses again.
        let code = index.map_or(CHOSE_FALLBACK, |i| i as u32);
        self.chosen.store(u64::from(settings) << 32 | u64::from(code), Ordering::Release);
        index
    }

    /// Which variant dispatch chooses on this processor, and why.
    ///
    /// ```
    /// use peach_runtime::dispatch::{Dispatch, Variant};
    /// static D: Dispatch = Dispatch::new(&[Variant { name: "x86-64", required: &[] }], std::ptr::null_mut());
    /// println!("{}", D.explain());
    /// ```
    pub fn explain(&self) -> String {
        let core = match (core_id(), microarch()) {
            (_, Some(m)) => format!("this processor is taken for {m}"),
            (Some(id), None) => format!("this processor ({id}) is not one peach knows"),
            (None, None) => "this processor does not say what it is".to_string(),
        };
        let choice = choose(uarch::HOST, self.variants, microarch(), |v| runs_here(v.required));
        format!("{core}: {}", choice.reason)
    }

    /// Sends later calls to `f`, which implements variant `index` (`None`: the fallback).
    ///
    /// # Safety
    ///
    /// Every call of the kernel jumps to `f`: it must be a function of exactly the kernel's
    /// signature in the C convention of this platform, whose code runs on this CPU, that lives as
    /// long as the program, and that does what the kernel's documentation promises (generated code
    /// installs a variant's machine code, the fallback or the resolver).
    pub unsafe fn install(&self, f: *mut (), index: Option<usize>) {
        self.active.store(index.unwrap_or(FALLBACK), Ordering::Release);
        self.target.store(f, Ordering::Release);
    }

    /// Forgets the choice: the next call resolves again (after [`set_max_isa`], for example).
    pub fn reset(&self) {
        self.active.store(UNRESOLVED, Ordering::Release);
        self.target.store(self.resolver.load(Ordering::Relaxed), Ordering::Release);
    }
}

/// A variant chosen, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The variant's index (`None`: the fallback).
    pub index: Option<usize>,
    /// Why, in words.
    pub reason: String,
}

/// The variant of `variants` (best first) to call on a processor of microarchitecture `core`
/// (`None`: unknown) of architecture `arch`, where `runs` says which variants' extensions it
/// has (see the module's documentation for the rules).
///
/// ```
/// use peach_core::target::Arch;
/// use peach_runtime::dispatch::{Variant, choose};
/// let v = |name| Variant { name, required: &[] };
/// let variants = [v("zen5"), v("zen4"), v("x86-64-v4"), v("haswell")];
/// assert_eq!(choose(Arch::X86_64, &variants, Some("zen4"), |_| true).index, Some(1));
/// // Skylake-X: not Zen 5 nor Zen 4, nor descended from them.
/// assert_eq!(choose(Arch::X86_64, &variants, Some("skylake-x"), |_| true).index, Some(2));
/// // Unknown: the order written.
/// assert_eq!(choose(Arch::X86_64, &variants, None, |_| true).index, Some(0));
/// ```
pub fn choose(arch: Arch, variants: &[Variant], core: Option<&str>, runs: impl Fn(&Variant) -> bool) -> Choice {
    if let Some(c) = core
        && let Some(i) = variants.iter().position(|v| v.name == c && runs(v))
    {
        return Choice { index: Some(i), reason: format!("`{c}`, the variant built for it") };
    }
    let lineage = core.map(|c| Target::lineage(arch, c)).unwrap_or_default();
    let mut passed = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let other_core = core.is_some() && !Target::lineage(arch, v.name).is_empty() && !lineage.contains(&v.name);
        if other_core {
            passed.push(format!("`{}` is built for another microarchitecture", v.name));
        } else if runs(v) {
            let reason = match core {
                Some(_) => format!(
                    "no variant is built for it; `{}` is the first, in the order written, that runs here",
                    v.name
                ),
                None => format!("`{}` is the first variant, in the order written, that runs here", v.name),
            };
            let passed = if passed.is_empty() { String::new() } else { format!(" ({})", passed.join("; ")) };
            return Choice { index: Some(i), reason: reason + &passed };
        } else {
            passed.push(format!("`{}` needs what this processor lacks or the cap forbids", v.name));
        }
    }
    let passed = if passed.is_empty() { String::new() } else { format!(" ({})", passed.join("; ")) };
    Choice { index: None, reason: format!("no variant runs here: the fallback{passed}") }
}

/// Extensions every x86-64 CPU has.
const BASELINE: &[&str] = &[
    "INTEL8086",
    "INTEL186",
    "INTEL286",
    "INTEL386",
    "INTEL486",
    "X64",
    "CPUID",
    "TSC",
    "CMOV",
    "CX8",
    "FPU",
    "FPU287",
    "FPU387",
    "FXSR",
    "MMX",
    "SSE",
    "SSE2",
    "SYSCALL",
    "SEP",
    "PAUSE",
    "MULTIBYTENOP",
    "CLFSH",
];
#[cfg(not(target_arch = "aarch64"))]
const V2: &[&str] = &["CMPXCHG16B", "POPCNT", "SSE3", "SSSE3", "SSE4_1", "SSE4_2"];
#[cfg(not(target_arch = "aarch64"))]
const V3: &[&str] = &["AVX", "AVX2", "BMI1", "BMI2", "F16C", "FMA", "LZCNT", "MOVBE", "XSAVE"];

/// Whether the running CPU and OS support an extension (an iced-x86 CPUID feature name on
/// x86-64, a peach AArch64 extension name such as `DOTPROD` on AArch64).
/// Unknown names answer `false`, so that a variant peach cannot vouch for is never chosen.
pub fn detected(feature: &str) -> bool {
    if BASELINE.contains(&feature) {
        return cfg!(target_arch = "x86_64");
    }
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! table {
            ($($name:literal => $std:tt),* $(,)?) => {
                match feature {
                    $($name => std::arch::is_x86_feature_detected!($std),)*
                    _ => false,
                }
            };
        }
        table! {
            "CMPXCHG16B" => "cmpxchg16b", "POPCNT" => "popcnt", "SSE3" => "sse3", "SSSE3" => "ssse3",
            "SSE4_1" => "sse4.1", "SSE4_2" => "sse4.2", "SSE4A" => "sse4a", "AVX" => "avx", "AVX2" => "avx2",
            "BMI1" => "bmi1", "BMI2" => "bmi2", "F16C" => "f16c", "FMA" => "fma", "LZCNT" => "lzcnt",
            "MOVBE" => "movbe", "XSAVE" => "xsave", "AES" => "aes", "PCLMULQDQ" => "pclmulqdq", "SHA" => "sha",
            "ADX" => "adx", "RDRAND" => "rdrand", "RDSEED" => "rdseed", "TBM" => "tbm", "GFNI" => "gfni",
            "VAES" => "vaes", "VPCLMULQDQ" => "vpclmulqdq", "AVX512F" => "avx512f", "AVX512CD" => "avx512cd",
            "AVX512BW" => "avx512bw", "AVX512DQ" => "avx512dq", "AVX512VL" => "avx512vl",
            "AVX512_IFMA" => "avx512ifma", "AVX512_VBMI" => "avx512vbmi", "AVX512_VBMI2" => "avx512vbmi2",
            "AVX512_VNNI" => "avx512vnni", "AVX512_BITALG" => "avx512bitalg",
            "AVX512_VPOPCNTDQ" => "avx512vpopcntdq", "AVX512_BF16" => "avx512bf16", "AVX512_FP16" => "avx512fp16",
            "AVX_VNNI" => "avxvnni",
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        macro_rules! table {
            ($($name:literal => $std:tt),* $(,)?) => {
                match feature {
                    $($name => std::arch::is_aarch64_feature_detected!($std),)*
                    _ => false,
                }
            };
        }
        table! {
            "NEON" => "neon", "FP16" => "fp16", "DOTPROD" => "dotprod", "I8MM" => "i8mm", "BF16" => "bf16",
            "AES" => "aes", "SHA2" => "sha2", "CRC32" => "crc", "LSE" => "lse", "RDM" => "rdm", "RCPC" => "rcpc",
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// A level the cap can name: its names and the extensions it allows (with those of the levels
/// below it).
struct Level {
    names: &'static [&'static str],
    allows: &'static [&'static str],
}

/// This architecture's levels, lowest first.
#[cfg(not(target_arch = "aarch64"))]
const LEVELS: &[Level] = &[
    Level { names: &["baseline", "sse2", "x86-64"], allows: BASELINE },
    Level { names: &["v2", "sse4.2", "x86-64-v2"], allows: V2 },
    Level { names: &["avx2", "v3", "x86-64-v3"], allows: V3 },
];
#[cfg(target_arch = "aarch64")]
const LEVELS: &[Level] = &[
    Level { names: &["neon", "baseline", "armv8-a"], allows: &["NEON"] },
    Level {
        names: &["dotprod", "armv8.2-a"],
        allows: &["FP16", "DOTPROD", "RDM", "LSE", "CRC32", "AES", "SHA2", "RCPC"],
    },
];
/// The names that lift the cap.
#[cfg(not(target_arch = "aarch64"))]
const UNCAPPED: &[&str] = &["avx512", "v4", "x86-64-v4", "none"];
#[cfg(target_arch = "aarch64")]
const UNCAPPED: &[&str] = &["max", "none"];

const NO_CAP: u8 = u8::MAX;
const UNREAD: u8 = u8::MAX - 1;

static CAP: AtomicU8 = AtomicU8::new(UNREAD);

fn level_of(name: &str) -> Option<u8> {
    if UNCAPPED.contains(&name) {
        return Some(NO_CAP);
    }
    LEVELS.iter().position(|l| l.names.contains(&name)).map(|i| i as u8)
}

/// The names [`set_max_isa`] and `PEACH_MAX_ISA` accept on this architecture, lowest first.
///
/// ```
/// let names = peach_runtime::dispatch::max_isa_names();
/// assert!(names.contains(&"none"));
/// ```
pub fn max_isa_names() -> Vec<&'static str> {
    LEVELS.iter().flat_map(|l| l.names.iter().copied()).chain(UNCAPPED.iter().copied()).collect()
}

/// A cap [`set_max_isa`] does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownIsaLevel(pub String);

impl std::fmt::Display for UnknownIsaLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown ISA level {:?}; this architecture knows {}", self.0, max_isa_names().join(", "))
    }
}

impl std::error::Error for UnknownIsaLevel {}

/// Caps the variants dispatch may choose: on x86-64 `Some("baseline")` (SSE2), `Some("v2")`,
/// `Some("avx2")`, on AArch64 `Some("neon")` or `Some("dotprod")`, or `None` (anything the CPU
/// has; also `"none"`). Names are exact ([`max_isa_names`] lists them); an unknown one is an
/// error and changes nothing. Kernels already resolved keep their choice until their dispatch
/// is [`Dispatch::reset`].
///
/// ```
/// use peach_runtime::dispatch::set_max_isa;
/// assert!(set_max_isa(Some("avx-2")).is_err());
/// set_max_isa(None).unwrap();
/// ```
pub fn set_max_isa(level: Option<&str>) -> Result<(), UnknownIsaLevel> {
    let cap = match level {
        Some(name) => level_of(name).ok_or_else(|| UnknownIsaLevel(name.to_string()))?,
        None => NO_CAP,
    };
    CAP.store(cap, Ordering::Release);
    settings_changed();
    Ok(())
}

/// The cap `PEACH_MAX_ISA` asks for. An unknown value is reported once on stderr and caps at the
/// lowest level: a cap that was asked for is never silently lifted.
fn env_cap() -> u8 {
    match std::env::var("PEACH_MAX_ISA") {
        Err(_) => NO_CAP,
        Ok(v) if v.is_empty() => NO_CAP,
        Ok(v) => level_of(&v).unwrap_or_else(|| {
            eprintln!("peach: PEACH_MAX_ISA: {}: using the lowest level, {}", UnknownIsaLevel(v), LEVELS[0].names[0]);
            0
        }),
    }
}

/// The cap in force: [`set_max_isa`], else the `PEACH_MAX_ISA` environment variable.
fn cap() -> u8 {
    static ENV: OnceLock<u8> = OnceLock::new();
    match CAP.load(Ordering::Acquire) {
        UNREAD => *ENV.get_or_init(env_cap),
        l => l,
    }
}

/// Whether code needing `required` runs here within the cap.
pub fn runs_here(required: &[&str]) -> bool {
    let cap = cap();
    let within = |f: &str| cap == NO_CAP || LEVELS.iter().take(cap as usize + 1).any(|l| l.allows.contains(&f));
    required.iter().all(|f| within(f) && detected(f))
}

/// The CPU check of a safe kernel whose code needs extensions beyond its architecture's
/// baseline: `peach_fn!` puts one in the kernel's wrapper. The first call detects the
/// extensions; later calls cost one atomic load. A CPU without them gets a panic that says so,
/// instead of an illegal instruction.
#[derive(Debug)]
pub struct CpuCheck {
    kernel: &'static str,
    required: &'static [&'static str],
    state: AtomicU8,
}

const UNCHECKED: u8 = 0;
const PRESENT: u8 = 1;

impl CpuCheck {
    /// The check of kernel `kernel`, which needs `required` (names as in [`Variant::required`]).
    pub const fn new(kernel: &'static str, required: &'static [&'static str]) -> CpuCheck {
        CpuCheck { kernel, required, state: AtomicU8::new(UNCHECKED) }
    }

    /// Returns if this CPU has every required extension; panics otherwise.
    ///
    /// ```
    /// use peach_runtime::dispatch::CpuCheck;
    /// static NONE: CpuCheck = CpuCheck::new("k", &[]);
    /// NONE.require();
    /// static IMPOSSIBLE: CpuCheck = CpuCheck::new("k", &["NO_SUCH_EXTENSION"]);
    /// assert!(std::panic::catch_unwind(|| IMPOSSIBLE.require()).is_err());
    /// ```
    #[inline]
    pub fn require(&self) {
        if self.state.load(Ordering::Relaxed) != PRESENT {
            self.check();
        }
    }

    #[cold]
    fn check(&self) {
        let missing: Vec<&str> = self.required.iter().copied().filter(|f| !detected(f)).collect();
        if !missing.is_empty() {
            panic!(
                "peach kernel `{}` needs {}, which this CPU lacks (make the kernel a fat binary with a fallback, or an `unsafe fn` whose callers check the CPU)",
                self.kernel,
                missing.join(", ")
            );
        }
        self.state.store(PRESENT, Ordering::Relaxed);
    }
}
