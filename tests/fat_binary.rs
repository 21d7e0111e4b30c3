//! Fat binaries: every variant runs and is correct, the features each needs are those its code
//! uses, concurrent first calls agree, and the fallback runs when no variant fits.
#![cfg(target_arch = "x86_64")]

use std::sync::{Barrier, Mutex};

use peach::prelude::*;
use peach::runtime::dispatch;

/// The cap is global: tests that set it, or that depend on the choice, take turns.
static SERIAL: Mutex<()> = Mutex::new(());

peach_fn! {
    /// `x * k`, 8 lanes at a time when the target has AVX, 4 otherwise.
    #[variants(x86_64::avx512, x86_64::haswell, x86_64::baseline)]
    pub unsafe fn scale(p: *mut f32, n: usize, k: f32) {
        let wide = target.has_avx();
        let kv = if wide { YMM() } else { XMM() };
        if wide { VBROADCASTSS(kv, k.xmm()); } else { MOVAPS(kv, k); SHUFPS(kv, kv, 0); }
        let top = Label::new();
        LABEL(top);
        if target.has_avx512f() {
            let v = ZMM();
            let kz = ZMM();
            VBROADCASTSS(kz, k.xmm());
            VMULPS(v, kz, [p]);
            VMOVUPS([p], v);
            ADD(p, 64);
            SUB(n, 16);
        } else if wide {
            let v = YMM();
            VMULPS(v, kv, [p]);
            VMOVUPS([p], v);
            ADD(p, 32);
            SUB(n, 8);
        } else {
            let v = XMM();
            MOVUPS(v, [p]);
            MULPS(v, kv);
            MOVUPS([p], v);
            ADD(p, 16);
            SUB(n, 4);
        }
        JNZ(top);
    }
}

fn scale_in_rust(p: &mut [f32], k: f32) {
    for x in p {
        *x *= k;
    }
}

peach_fn! {
    /// Only an AVX-512 build, and a Rust fallback for every other CPU.
    #[variants(x86_64::avx512, fallback = add_one_in_rust)]
    unsafe fn add_one(x: u64) -> u64 {
        let k = K();
        KMOVW(k, x.r32()); // an AVX-512 instruction, so that the variant needs AVX-512
        ADD(x, 1);
        RETURN(x);
    }
}

unsafe fn add_one_in_rust(x: u64) -> u64 {
    x + 1
}

peach_fn! {
    #[variants(x86_64::haswell, x86_64::baseline)]
    unsafe fn twice(x: u64) -> u64 {
        if target.has_bmi2() {
            let t = GP64();
            MOV(t, 1);
            SHLX(x, x, t);
        } else {
            SHL(x, 1);
        }
        RETURN(x);
    }
}

#[test]
fn every_variant_runs_and_is_correct() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let data: Vec<f32> = (0..64).map(|i| i as f32 - 20.5).collect();
    let mut want = data.clone();
    scale_in_rust(&mut want, 1.5);
    type Variant = unsafe fn(*mut f32, usize, f32);
    let variants: [(&str, Variant); 3] =
        [("x86-64-v4", scale_x86_64_v4), ("haswell", scale_haswell), ("x86-64", scale_x86_64)];
    for (i, (name, f)) in variants.iter().enumerate() {
        let v = SCALE_DISPATCH.variants()[i];
        assert_eq!(v.name, *name);
        if !dispatch::runs_here(v.required) {
            eprintln!("skipped the {name} variant: this CPU lacks {:?}", v.required);
            continue;
        }
        let mut got = data.clone();
        unsafe { f(got.as_mut_ptr(), got.len(), 1.5) };
        assert_eq!(got, want, "{name}");
    }
    // And through dispatch, capped at each level.
    for cap in [Some("baseline"), Some("avx2"), None] {
        dispatch::set_max_isa(cap).unwrap();
        SCALE_DISPATCH.reset();
        let mut got = data.clone();
        unsafe { scale(got.as_mut_ptr(), got.len(), 1.5) };
        assert_eq!(got, want, "cap {cap:?}: {:?}", SCALE_DISPATCH.active());
        if cap == Some("baseline") {
            assert_eq!(SCALE_DISPATCH.active(), Some("x86-64"));
        }
    }
    dispatch::set_max_isa(None).unwrap();
    SCALE_DISPATCH.reset();
}

#[test]
fn required_features_are_the_ones_the_code_uses() {
    let v = SCALE_DISPATCH.variants();
    let has = |i: usize, f: &str| v[i].required.contains(&f);
    assert!(has(0, "AVX512F") && has(0, "AVX"), "{:?}", v[0]);
    assert!(has(1, "AVX") && !has(1, "AVX512F") && !has(1, "FMA"), "{:?}", v[1]);
    assert!(has(2, "SSE") && !has(2, "AVX"), "{:?}", v[2]);
    // The baseline variant of `twice` uses no BMI2; the Haswell one does.
    assert!(TWICE_DISPATCH.variants()[0].required.contains(&"BMI2"));
    assert!(!TWICE_DISPATCH.variants()[1].required.contains(&"BMI2"));
}

#[test]
fn concurrent_first_calls_agree() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    TWICE_DISPATCH.reset();
    let barrier = Barrier::new(16);
    let results: Vec<(u64, Option<&str>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16u64)
            .map(|i| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let r = unsafe { twice(i) };
                    (r - 2 * i, TWICE_DISPATCH.active())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| r.0 == 0), "{results:?}");
    let first = results[0].1;
    assert!(first.is_some() && results.iter().all(|r| r.1 == first), "{results:?}");
}

#[test]
fn fallback_runs_when_no_variant_fits() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    dispatch::set_max_isa(Some("avx2")).unwrap();
    ADD_ONE_DISPATCH.reset();
    assert_eq!(unsafe { add_one(41) }, 42);
    assert_eq!(ADD_ONE_DISPATCH.active(), Some("fallback"));
    dispatch::set_max_isa(None).unwrap();
    ADD_ONE_DISPATCH.reset();
    assert_eq!(unsafe { add_one(41) }, 42);
    let expected = if dispatch::runs_here(ADD_ONE_DISPATCH.variants()[0].required) { "x86-64-v4" } else { "fallback" };
    assert_eq!(ADD_ONE_DISPATCH.active(), Some(expected));
}

peach_fn! {
    /// A JIT fat binary: `x << shift`, with BMI2's SHLX where the target has it.
    #[variants(x86_64::haswell, x86_64::baseline)]
    #[jit(shift: u64)]
    unsafe fn shift_left(x: u64) -> u64 {
        if target.has_bmi2() {
            let t = GP64();
            MOV(t, shift);
            SHLX(x, x, t);
        } else {
            SHL(x, shift as i32);
        }
        RETURN(x);
    }
}

#[test]
fn jit_fat_binaries_pick_a_variant_when_built() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    dispatch::set_max_isa(Some("baseline")).unwrap();
    let plain = shift_left(3).unwrap();
    dispatch::set_max_isa(None).unwrap();
    let best = shift_left(3).unwrap();
    for k in [&plain, &best] {
        assert_eq!(unsafe { k.call(5) }, 40);
    }
    if dispatch::detected("BMI2") {
        assert_ne!(plain.bytes(), best.bytes(), "the capped build avoids BMI2");
    }
}

/// A misspelt cap is an error naming the known levels, never "no cap".
#[test]
fn unknown_caps_are_errors() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for bad in ["avx-2", "avx2\n", "AVX2", "neon2"] {
        let e = dispatch::set_max_isa(Some(bad)).expect_err(bad);
        assert!(e.to_string().contains("avx2") && e.to_string().contains("baseline"), "{e}");
    }
    dispatch::set_max_isa(None).unwrap();
}

/// `PEACH_MAX_ISA` with an unknown value is reported on stderr and caps at the lowest level
/// (checked in a child process, since the variable is read once per process).
#[test]
fn unknown_env_cap_is_reported_and_fails_closed() {
    if std::env::var_os("PEACH_CHILD_UNKNOWN_CAP").is_some() {
        SCALE_DISPATCH.reset();
        let mut v = vec![1.0f32; 64];
        unsafe { scale(v.as_mut_ptr(), v.len(), 2.0) };
        assert_eq!(v[0], 2.0);
        println!("active: {}", SCALE_DISPATCH.active().unwrap_or("?"));
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "unknown_env_cap_is_reported_and_fails_closed", "--nocapture", "--test-threads=1"])
        .env("PEACH_CHILD_UNKNOWN_CAP", "1")
        .env("PEACH_MAX_ISA", "avx-2")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("unknown ISA level \"avx-2\""), "{stderr}");
    assert!(stdout.contains("active: x86-64\n"), "{stdout}");
}

peach_fn! {
    /// Which variant ran: 5 for Zen 5's, 4 for Zen 4's, 2 for Haswell's, 1 for the baseline.
    #[variants(x86_64::zen5, x86_64::zen4, x86_64::haswell, x86_64::baseline)]
    pub fn which_core() -> u64 {
        let r = GP64();
        if target.is_zen5() {
            MOV(r, 5);
        } else if target.is_zen4() {
            MOV(r, 4);
        } else if target.is_haswell() {
            MOV(r, 2);
        } else {
            MOV(r, 1);
        }
        RETURN(r);
    }
}

peach_fn! {
    /// 512-bit FMAs per cycle of the variant's core, as its body read them (twice the rate,
    /// in integers): 4 on Zen 5, 2 on Zen 4 (two halves), 0 where there are none or they are
    /// unknown.
    #[variants(x86_64::zen5, x86_64::zen4, x86_64::haswell, x86_64::baseline)]
    pub fn zmm_fma_rate() -> u64 {
        let r = GP64();
        let rate = target.fma_per_cycle(512);
        if rate >= 2.0 {
            MOV(r, 4);
        } else if rate >= 1.0 {
            MOV(r, 2);
        } else {
            MOV(r, 0);
        }
        RETURN(r);
    }
}

/// A kernel body branches on its core's rates (`target.fma_per_cycle(512)`): each
/// microarchitecture's variant is built with its own.
#[test]
fn kernel_bodies_read_their_cores_vector_rates() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    dispatch::set_max_isa(None).unwrap();
    on_cores(&ZMM_FMA_RATE_DISPATCH, &[("zen5", 4), ("zen4", 2), ("zen3", 0), ("nehalem", 0)], zmm_fma_rate);
    dispatch::set_microarch(None).unwrap();
    ZMM_FMA_RATE_DISPATCH.reset();
}

/// `call` with the processor named as each core of `cases`, its dispatcher `state` resolved
/// again for each, against the value expected there.
fn on_cores(state: &dispatch::Dispatch, cases: &[(&str, u64)], call: fn() -> u64) {
    for &(core, want) in cases {
        dispatch::set_microarch(Some(core)).unwrap();
        state.reset();
        assert_eq!(call(), want, "{core}: {}", state.explain());
    }
}

/// Variants built for microarchitectures: the one for the processor's wins; a processor of
/// another lineage gets the first variant it descends from or the ISA level; an unknown one
/// the first in the order written; `explain` says why. (The variants use only `mov`, so each
/// runs anywhere: the choice is the microarchitecture's alone.)
#[test]
fn variants_built_for_microarchitectures_go_to_their_cores() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    dispatch::set_max_isa(None).unwrap();
    let cases = [("zen5", 5), ("zen4", 4), ("zen3", 2), ("skylake-x", 2), ("nehalem", 1), ("unknown", 5)];
    on_cores(&WHICH_CORE_DISPATCH, &cases, which_core);
    // This machine, as identified.
    dispatch::set_microarch(None).unwrap();
    WHICH_CORE_DISPATCH.reset();
    let want = match dispatch::microarch() {
        Some("zen5") | None => 5,
        Some("zen4") => 4,
        Some(m) if peach::core::Target::x86_64_lineage(m).contains(&"haswell") => 2,
        Some(_) => 1,
    };
    assert_eq!(which_core(), want, "{}", WHICH_CORE_DISPATCH.explain());
    println!("{}", WHICH_CORE_DISPATCH.explain());
}
