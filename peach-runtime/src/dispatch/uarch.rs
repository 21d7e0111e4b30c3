//! The processor's microarchitecture, for dispatch: identified once from what the processor says
//! of itself (CPUID's vendor, family and model on x86-64; MIDR_EL1 on AArch64 Linux, where the
//! kernel publishes it in sysfs), or named by `PEACH_UARCH` or [`set_microarch`] for testing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use peach_core::Target;
use peach_core::target::{Arch, CoreId};

/// The architecture this code runs on.
pub(crate) const HOST: Arch = if cfg!(target_arch = "aarch64") { Arch::Aarch64 } else { Arch::X86_64 };

/// What the processor says of itself, if it says (read once).
///
/// ```
/// if let Some(core) = peach_runtime::dispatch::core_id() {
///     println!("{core}");
/// }
/// ```
pub fn core_id() -> Option<&'static CoreId> {
    static CORE: OnceLock<Option<CoreId>> = OnceLock::new();
    CORE.get_or_init(read_core_id).as_ref()
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
fn read_core_id() -> Option<CoreId> {
    use std::arch::x86_64::__cpuid;
    // (Every x86-64 processor has CPUID, with leaves 0 and 1.)
    let (leaf0, leaf1) = (__cpuid(0), __cpuid(1));
    let vendor: Vec<u8> = [leaf0.ebx, leaf0.edx, leaf0.ecx].iter().flat_map(|r| r.to_le_bytes()).collect();
    let (base_family, base_model) = ((leaf1.eax >> 8) & 0xf, (leaf1.eax >> 4) & 0xf);
    let family = base_family + if base_family == 0xf { (leaf1.eax >> 20) & 0xff } else { 0 };
    let extended = matches!(base_family, 6 | 0xf);
    let model = base_model | if extended { ((leaf1.eax >> 16) & 0xf) << 4 } else { 0 };
    Some(CoreId::X86 { vendor: String::from_utf8_lossy(&vendor).into_owned(), family, model })
}

#[cfg(all(target_arch = "aarch64", target_os = "linux", not(miri)))]
fn read_core_id() -> Option<CoreId> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/regs/identification/midr_el1").ok()?;
    let midr = u64::from_str_radix(text.trim().trim_start_matches("0x"), 16).ok()?;
    Some(CoreId::Arm { implementer: (midr >> 24) as u8, part: ((midr >> 4) & 0xfff) as u16 })
}

#[cfg(not(any(all(target_arch = "x86_64", not(miri)), all(target_arch = "aarch64", target_os = "linux", not(miri)))))]
fn read_core_id() -> Option<CoreId> {
    None
}

/// A microarchitecture [`set_microarch`] does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMicroarch(pub String);

impl std::fmt::Display for UnknownMicroarch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown microarchitecture {:?}; this architecture knows unknown, {}", self.0, names().join(", "))
    }
}

impl std::error::Error for UnknownMicroarch {}

/// The microarchitectures of this architecture.
fn names() -> Vec<&'static str> {
    let all = if HOST == Arch::Aarch64 { Target::aarch64_names() } else { Target::x86_64_names() };
    all.into_iter().filter(|n| !Target::lineage(HOST, n).is_empty()).collect()
}

/// `name` as a setting: `Some(None)` for `unknown`, `Some(Some(m))` for a microarchitecture.
fn parse(name: &str) -> Option<Option<&'static str>> {
    if name == "unknown" {
        return Some(None);
    }
    names().into_iter().find(|n| *n == name).map(Some)
}

/// The microarchitecture set by [`set_microarch`] (outer `None`: none set).
static SET: Mutex<Option<Option<&'static str>>> = Mutex::new(None);

/// Whether [`set_microarch`] was ever called: until then [`microarch`] takes no lock (kernels
/// such as `sgemm` ask on every call).
static EVER_SET: AtomicBool = AtomicBool::new(false);

/// Makes dispatch take this processor for microarchitecture `name` (`"zen4"`, `"neoverse-v1"`,
/// ...; `"unknown"`: one peach does not know), or, with `None`, identify it again. Kernels
/// already resolved keep their choice until their dispatch is reset
/// ([`super::Dispatch::reset`]).
///
/// ```
/// use peach_runtime::dispatch::{microarch, set_microarch};
/// set_microarch(Some("unknown")).unwrap();
/// assert_eq!(microarch(), None);
/// assert!(set_microarch(Some("pentium")).is_err());
/// set_microarch(None).unwrap();
/// ```
pub fn set_microarch(name: Option<&str>) -> Result<(), UnknownMicroarch> {
    let value = match name {
        Some(n) => Some(parse(n).ok_or_else(|| UnknownMicroarch(n.to_string()))?),
        None => None,
    };
    EVER_SET.store(true, Ordering::Release);
    *SET.lock().unwrap_or_else(|e| e.into_inner()) = value;
    super::settings_changed();
    Ok(())
}

/// The microarchitecture dispatch takes this processor for: [`set_microarch`]'s, else
/// `PEACH_UARCH`'s (an unknown name is reported once on stderr and means `unknown`), else the
/// one identified from [`core_id`] and the extensions the processor reports; `None` where
/// unknown.
pub fn microarch() -> Option<&'static str> {
    if EVER_SET.load(Ordering::Acquire)
        && let Some(set) = *SET.lock().unwrap_or_else(|e| e.into_inner())
    {
        return set;
    }
    static ENV: OnceLock<Option<Option<&'static str>>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        let v = std::env::var("PEACH_UARCH").ok().filter(|v| !v.is_empty())?;
        Some(parse(&v).unwrap_or_else(|| {
            eprintln!("peach: PEACH_UARCH: {}: taking the processor for an unknown one", UnknownMicroarch(v));
            None
        }))
    });
    if let Some(named) = *env {
        return named;
    }
    static IDENTIFIED: OnceLock<Option<&'static str>> = OnceLock::new();
    *IDENTIFIED.get_or_init(|| core_id().and_then(|c| c.microarch(super::detected)))
}
