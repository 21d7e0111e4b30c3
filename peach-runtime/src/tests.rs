//! The runtime's own checks. They run natively and under Miri (`cargo +nightly miri test -p
//! peach-runtime`), which checks every `unsafe` step up to the call into machine code; the calls
//! themselves are left out under Miri, which cannot run machine code.

use super::*;
use peach_core::prelude::*;

/// `return 42` for the host architecture, compiled by peach-core.
#[cfg(not(miri))]
fn answer() -> CodeObject {
    returns(42)
}

/// `return value` (below 65,536) for the host architecture.
#[cfg(not(miri))]
fn returns(value: u16) -> CodeObject {
    if Arch::host() == Arch::Aarch64 {
        let mut f = Function::new("answer", Signature::new(&[], Some(Type::I32)), Target::aarch64_neon());
        let x = A64Builder::x(&mut f);
        f.ins("movz", (x.w(), value as i64));
        f.ret(x);
        f.compile(Abi::Aapcs64).unwrap()
    } else {
        let mut f = Function::new("answer", Signature::new(&[], Some(Type::I32)), Target::x86_64_baseline());
        let x = f.gp64();
        f.ins("mov", (x.r32(), value as i64));
        f.ret(x);
        f.compile(Abi::SysV).unwrap()
    }
}

/// The same code, as bytes: compiling takes Miri minutes (the encoder's tables), and nothing
/// runs under it anyway.
#[cfg(miri)]
fn answer() -> CodeObject {
    let (target, bytes) = if Arch::host() == Arch::Aarch64 {
        // movz w0, #42; ret
        (Target::aarch64_neon(), vec![0x40, 0x05, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6])
    } else {
        // mov eax, 42; ret
        (Target::x86_64_baseline(), vec![0xb8, 0x2a, 0, 0, 0, 0xc3])
    };
    CodeObject::new("answer", bytes, 0, Default::default(), target, std::sync::Arc::new(NoListing))
}

type Answer = extern "C" fn() -> i32;

#[test]
fn loads_reads_calls_and_frees() {
    let code = answer();
    // SAFETY: `answer` takes nothing and returns an i32 in the C convention of this platform,
    // and uses only baseline instructions.
    let k = unsafe { Kernel::<Answer>::load(&code) }.unwrap();
    assert_eq!(k.bytes(), code.bytes());
    assert_eq!(k.memory().len(), code.bytes().len());
    assert!(format!("{k:?}").contains("len"));
    if !cfg!(miri) {
        assert_eq!(k.call(), 42);
    }
    drop(k);
}

#[test]
fn kernels_are_shared_between_threads() {
    let code = answer();
    // SAFETY: as in `loads_reads_calls_and_frees`.
    let k = std::sync::Arc::new(unsafe { Kernel::<Answer>::load(&code) }.unwrap());
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let k = k.clone();
            std::thread::spawn(move || {
                let sum: u32 = k.bytes().iter().map(|&b| b as u32).sum();
                let value = if cfg!(miri) { 42 } else { k.call() };
                (sum, value)
            })
        })
        .collect();
    let want: u32 = code.bytes().iter().map(|&b| b as u32).sum();
    for t in threads {
        assert_eq!(t.join().unwrap(), (want, 42));
    }
}

#[test]
fn load_refuses_what_it_can_check() {
    let code = answer();
    let bad_entry = CodeObject::new(
        "bad",
        code.bytes().to_vec(),
        code.bytes().len(),
        *code.extensions(),
        code.target().clone(),
        std::sync::Arc::new(NoListing),
    );
    // SAFETY: the load is refused before anything could be called.
    let e = unsafe { Kernel::<Answer>::load(&bad_entry) }.unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");

    let other = if Arch::host() == Arch::Aarch64 { Target::x86_64_baseline() } else { Target::aarch64_neon() };
    let foreign = CodeObject::new("foreign", vec![0; 4], 0, *code.extensions(), other, std::sync::Arc::new(NoListing));
    // SAFETY: as above.
    let e = unsafe { Kernel::<Answer>::load(&foreign) }.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotInTarget, "{e}");
}

#[test]
fn empty_memory_is_empty() {
    let m = ExecCode::new(&[]).unwrap();
    assert!(m.is_empty());
    assert_eq!(m.len(), 0);
}

/// The executable-memory pool: kernels share chunks, loading and dropping from many threads at
/// once gives every kernel its own code, memory stays bounded, and no mapping is writable and
/// executable.
#[cfg(all(target_os = "linux", not(miri)))]
mod pool {
    use super::*;

    /// Held by the tests that load many kernels, so that the memory test measures only itself.
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn load(code: &CodeObject) -> Kernel<Answer> {
        // SAFETY: `returns` code takes nothing and returns an i32 in this platform's C
        // convention, with baseline instructions only.
        unsafe { Kernel::<Answer>::load(code) }.unwrap()
    }

    #[test]
    fn kernels_share_chunks_and_keep_their_alignment() {
        let code = returns(1);
        let kernels: Vec<_> = (0..32).map(|_| load(&code)).collect();
        let addrs: Vec<usize> = kernels.iter().map(|k| k.memory().as_ptr() as usize).collect();
        assert!(kernels.iter().all(|k| k.memory().is_pooled() && k.call() == 1));
        assert!(addrs.iter().all(|a| a % 64 == 0), "{addrs:x?}");
        // Consecutive loads share a chunk (other tests load kernels meanwhile, and a chunk may
        // fill up between two loads, but not between most).
        let near = addrs.windows(2).filter(|w| w[0].abs_diff(w[1]) < 64 << 10).count();
        assert!(near >= 24, "small kernels do not share chunks: {addrs:x?}");
        // A kernel larger than a chunk's quarter gets memory of its own, and still runs.
        let big = std::iter::repeat_n(0u8, 40_000).chain(returns(3).bytes().iter().copied()).collect::<Vec<_>>();
        let code = returns(3);
        let big = CodeObject::new(
            "big",
            big,
            40_000,
            *code.extensions(),
            code.target().clone(),
            std::sync::Arc::new(NoListing),
        );
        assert_eq!(load(&big).call(), 3);
    }

    #[test]
    fn sixteen_threads_load_call_and_drop_concurrently() {
        let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
        let codes: Vec<CodeObject> = (0..16).map(|t| returns(1000 + t)).collect();
        std::thread::scope(|s| {
            for (t, code) in codes.iter().enumerate() {
                s.spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..2000 {
                        let k = load(code);
                        assert_eq!(k.call(), 1000 + t as i32);
                        // Some live on while others come and go, so chunks interleave threads.
                        if i % 7 == 0 {
                            kept.push(k);
                        }
                    }
                    for k in &kept {
                        assert_eq!(k.call(), 1000 + t as i32);
                    }
                });
            }
        });
    }

    #[test]
    fn a_million_loads_and_drops_keep_memory_bounded() {
        let _heavy = HEAVY.lock().unwrap_or_else(|e| e.into_inner());
        let code = returns(7);
        for _ in 0..10_000 {
            drop(load(&code)); // the first chunks come and go
        }
        let mut most = 0;
        for i in 0..1_000_000 {
            let k = load(&code);
            most = most.max(crate::mapped_code_bytes());
            if i % 100_000 == 0 {
                assert_eq!(k.call(), 7);
            }
        }
        // A million kernels of 64 bytes would be 64 MB; chunks come and go instead (other tests
        // load kernels meanwhile: a few chunks each).
        assert!(most < 4 << 20, "{most} bytes of code memory mapped at once");
    }

    #[test]
    fn no_mapping_is_writable_and_executable() {
        let kernels: Vec<_> = (0..100).map(|i| load(&returns(i))).collect();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for line in maps.lines() {
            let perms = line.split_whitespace().nth(1).unwrap();
            assert!(!(perms.contains('w') && perms.contains('x')), "writable and executable: {line}");
        }
        let code_maps = maps.lines().filter(|l| l.contains("peach-code")).count();
        assert!(code_maps >= 2, "the pool's two views are not in the maps:\n{maps}");
        assert_eq!(kernels[99].call(), 99);
    }
}

struct NoListing;

impl peach_core::emit::Listing for NoListing {
    fn lines(&self, _: &[u8]) -> Vec<peach_core::emit::ListingLine> {
        Vec::new()
    }
}

/// A kernel's dispatch as `peach_fn!` generates it, with Rust functions as the variants: the
/// first calls (from several threads at once) resolve, later ones go straight to the choice.
mod dispatching {
    use crate::dispatch::{CpuCheck, Dispatch, Variant, choose, microarch, runs_here, set_max_isa, set_microarch};
    use peach_core::target::{Arch, CoreId};
    use std::sync::atomic::{AtomicUsize, Ordering};

    type F = unsafe extern "C" fn(u32) -> u32;

    static VARIANTS: &[Variant] =
        &[Variant { name: "impossible", required: &["NO_SUCH_EXTENSION"] }, Variant { name: "any", required: &[] }];
    static DISPATCH: Dispatch = Dispatch::new(VARIANTS, resolve as *mut ());

    unsafe extern "C" fn impossible(_: u32) -> u32 {
        unreachable!("chosen although its extension is missing")
    }

    unsafe extern "C" fn twice(x: u32) -> u32 {
        x * 2
    }

    unsafe extern "C" fn fallback(x: u32) -> u32 {
        x + 1
    }

    static RESOLUTIONS: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn resolve(x: u32) -> u32 {
        RESOLUTIONS.fetch_add(1, Ordering::Relaxed);
        let choice = DISPATCH.choose();
        let f: F = match choice {
            Some(0) => impossible,
            Some(1) => twice,
            _ => fallback,
        };
        // SAFETY: `f` has the kernel's type and lives for good.
        unsafe { DISPATCH.install(f as *mut (), choice) };
        // SAFETY: the functions above are safe to call with any argument.
        unsafe { f(x) }
    }

    fn kernel(x: u32) -> u32 {
        // SAFETY: the pointer is always `resolve`, `twice` or `fallback`, all of type `F`.
        let f = unsafe { std::mem::transmute::<*mut (), F>(DISPATCH.pointer()) };
        // SAFETY: they are safe to call with any argument.
        unsafe { f(x) }
    }

    /// Processors as they identify themselves (vendor, family, model) with the vector extensions
    /// they report, and the variant dispatch picks among `zen5`, `zen4`, `x86-64-v4`, `haswell`
    /// and `x86-64` (each needing the extensions of its name).
    #[test]
    fn each_processor_gets_the_most_specific_variant_it_runs() {
        const V4: &[&str] = &["AVX", "AVX2", "AVX512F"];
        const V3: &[&str] = &["AVX", "AVX2"];
        let variants = [
            Variant { name: "zen5", required: V4 },
            Variant { name: "zen4", required: V4 },
            Variant { name: "x86-64-v4", required: V4 },
            Variant { name: "haswell", required: V3 },
            Variant { name: "x86-64", required: &[] },
        ];
        // (vendor, family, model, extensions, the variant chosen)
        type Case<'a> = (&'a str, u32, u32, &'a [&'a str], Option<&'a str>);
        let cases: [Case; 10] = [
            ("AuthenticAMD", 0x1a, 0x44, V4, Some("zen5")),
            ("AuthenticAMD", 0x19, 0x61, V4, Some("zen4")),
            // A virtual machine on Zen 4 reporting a Zen 3 model: told by its extensions.
            ("AuthenticAMD", 0x19, 0x01, V4, Some("zen4")),
            // Zen 3: the Zen variants are not for it, and it lacks AVX-512; Haswell's are its
            // ancestor's.
            ("AuthenticAMD", 0x19, 0x01, V3, Some("haswell")),
            ("GenuineIntel", 6, 0x55, V4, Some("x86-64-v4")),
            ("GenuineIntel", 6, 0x3c, V3, Some("haswell")),
            // Unknown processors (Alder Lake, not in the table; a future AMD family; a virtual
            // machine without AVX): the first variant, in the order written, that runs.
            ("GenuineIntel", 6, 0x97, V3, Some("haswell")),
            ("AuthenticAMD", 0x1b, 0x00, V4, Some("zen5")),
            ("AuthenticAMD", 0x19, 0x61, &[], Some("x86-64")),
            ("HygonGenuine", 0x18, 0x00, V3, Some("haswell")),
        ];
        for (vendor, family, model, has, want) in cases {
            let id = CoreId::X86 { vendor: vendor.into(), family, model };
            let core = id.microarch(|f| has.contains(&f));
            let runs = |v: &Variant| v.required.iter().all(|f| has.contains(f));
            let choice = choose(Arch::X86_64, &variants, core, runs);
            let got = choice.index.map(|i| variants[i].name);
            assert_eq!(got, want, "{id} ({core:?}): {}", choice.reason);
        }
        // AArch64: a Neoverse V1 gets its own; an unknown core the first that runs.
        let arm = [Variant { name: "neoverse-v1", required: &[] }, Variant { name: "armv8-a", required: &[] }];
        for (part, want) in [(0xd40, "neoverse-v1"), (0xd0c, "armv8-a"), (0xfff, "neoverse-v1")] {
            let core = CoreId::Arm { implementer: 0x41, part }.microarch(|_| true);
            let choice = choose(Arch::Aarch64, &arm, core, |_| true);
            assert_eq!(choice.index.map(|i| arm[i].name), Some(want), "{part:#x}: {}", choice.reason);
        }
    }

    /// Held by the tests that change the settings (the cap, the microarchitecture), so that one
    /// does not change them under another's assertions.
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A choice is remembered until the settings change, then made again.
    #[test]
    fn choices_are_remembered_until_the_settings_change() {
        static WITH_AVX2: &[Variant] =
            &[Variant { name: "with-avx2", required: &["AVX2"] }, Variant { name: "plain", required: &[] }];
        static D: Dispatch = Dispatch::new(WITH_AVX2, std::ptr::null_mut());
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        set_max_isa(None).unwrap();
        if !runs_here(&["AVX2"]) {
            eprintln!("skipped: this CPU lacks AVX2");
            return;
        }
        assert_eq!((D.choose(), D.choose()), (Some(0), Some(0)));
        set_max_isa(Some("v2")).unwrap();
        assert_eq!((D.choose(), D.choose()), (Some(1), Some(1)));
        set_max_isa(None).unwrap();
        assert_eq!(D.choose(), Some(0));
    }

    static BY_CORE: &[Variant] = &[Variant { name: "zen4", required: &[] }, Variant { name: "x86-64", required: &[] }];
    static BY_CORE_DISPATCH: Dispatch = Dispatch::new(BY_CORE, std::ptr::null_mut());

    /// `set_microarch` decides what dispatch takes the processor for, and `explain` says why.
    #[test]
    fn set_microarch_names_the_processor() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        set_max_isa(None).unwrap();
        if cfg!(target_arch = "x86_64") {
            set_microarch(Some("zen4")).unwrap();
            assert_eq!((microarch(), BY_CORE_DISPATCH.choose()), (Some("zen4"), Some(0)));
            assert!(
                BY_CORE_DISPATCH.explain().contains("`zen4`, the variant built for it"),
                "{}",
                BY_CORE_DISPATCH.explain()
            );
            set_microarch(Some("skylake-x")).unwrap();
            assert_eq!(BY_CORE_DISPATCH.choose(), Some(1));
            assert!(
                BY_CORE_DISPATCH.explain().contains("`zen4` is built for another"),
                "{}",
                BY_CORE_DISPATCH.explain()
            );
        }
        set_microarch(Some("unknown")).unwrap();
        assert_eq!(microarch(), None);
        assert!(set_microarch(Some("zen9")).unwrap_err().to_string().contains("zen9"));
        set_microarch(None).unwrap();
    }

    #[test]
    fn resolves_once_from_racing_threads_then_calls_the_choice() {
        let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        set_max_isa(None).unwrap();
        DISPATCH.reset();
        assert_eq!(DISPATCH.active(), None);
        let threads: Vec<_> = (0..4u32).map(|i| std::thread::spawn(move || kernel(i))).collect();
        let results: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results, [0, 2, 4, 6]);
        assert_eq!(DISPATCH.active(), Some("any"));
        // (Function addresses are not unique in Rust, so the pointer is judged by what it does.)
        let resolved = RESOLUTIONS.load(Ordering::Relaxed);
        assert!((1..=4).contains(&resolved));
        assert_eq!(kernel(21), 42);
        assert_eq!(RESOLUTIONS.load(Ordering::Relaxed), resolved);
        DISPATCH.reset();
        assert_eq!(DISPATCH.active(), None);
        assert_eq!(kernel(5), 10);
        assert_eq!(RESOLUTIONS.load(Ordering::Relaxed), resolved + 1);
        assert_eq!(DISPATCH.variants(), VARIANTS);
    }

    #[test]
    fn unknown_extensions_never_run_and_unknown_caps_change_nothing() {
        assert!(!runs_here(&["NO_SUCH_EXTENSION"]));
        assert!(runs_here(&[]));
        let e = set_max_isa(Some("avx-2")).unwrap_err();
        assert!(e.to_string().contains("avx-2"), "{e}");
    }

    #[test]
    fn cpu_checks_pass_or_panic_with_the_missing_extension() {
        static NOTHING: CpuCheck = CpuCheck::new("k", &[]);
        NOTHING.require();
        NOTHING.require();
        static IMPOSSIBLE: CpuCheck = CpuCheck::new("k", &["NO_SUCH_EXTENSION"]);
        let e = std::panic::catch_unwind(|| IMPOSSIBLE.require()).unwrap_err();
        let message = e.downcast_ref::<String>().unwrap();
        assert!(message.contains("NO_SUCH_EXTENSION"), "{message}");
    }
}
