//! Autotuning (`peach::runtime::tune`): the fastest candidate that passes the check is chosen,
//! the choice is cached and read back without measuring, and a corrupt or foreign cache file is
//! measured over (and replaced).
#![cfg(target_arch = "x86_64")]

use peach::core::ir::{Signature, Type};
use peach::core::regs_x86_64::RAX;
use peach::prelude::*;
use peach::runtime::tune::{How, Tune};

type K = Kernel<unsafe extern "C" fn(u64) -> u64>;

/// `x + 1` after a loop of `spins` iterations (`x + 2` where not `right`: fast and wrong).
fn build(&(spins, right): &(u32, bool)) -> Result<K, peach::core::Error> {
    let mut f = Function::new("spin", Signature::new(&[Type::U64], Some(Type::U64)), Target::x86_64_baseline());
    let x = f.param(0);
    let n = f.gp64();
    f.ins("mov", (n, spins as i64));
    let top = f.label();
    f.bind(top);
    f.ins("sub", (n, 1));
    f.ins("jnz", top);
    f.ins("lea", (RAX, Mem::from([x]).at(if right { 1 } else { 2 })));
    f.ret(RAX);
    let code = f.compile(Abi::host())?;
    // SAFETY: the code's signature, in the host's C convention; it only computes.
    unsafe { Kernel::load(&code) }.map_err(|e| peach::core::Error::new(peach::core::ErrorKind::Limit, e.to_string()))
}

fn call(k: &K, x: u64) -> u64 {
    // SAFETY: `spin` takes any u64.
    unsafe { k.call(x) }
}

#[test]
fn the_fastest_right_candidate_is_chosen_cached_and_reloaded() {
    if std::env::var_os("PEACH_TUNE").is_some() {
        eprintln!("skipped: PEACH_TUNE is set");
        return;
    }
    let dir = std::env::temp_dir().join(format!("peach-tune-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Slow; fast but wrong; fast; middling.
    let space = [(2_000_000u32, true), (1, false), (100, true), (20_000, true)];
    let tune = Tune::new("spin", space).cache_dir(&dir).trials(3);
    let runs = std::cell::Cell::new(0);
    let measure = |k: &K| {
        runs.set(runs.get() + 1);
        std::hint::black_box(call(k, 1));
    };
    let check = |k: &K| call(k, 41) == 42;
    let first = tune.run(build, &measure, check).unwrap();
    assert_eq!((first.how, first.index, first.param), (How::Measured, 2, (100, true)));
    assert_eq!(call(&first.kernel, 1), 2);
    let time = |i: usize| first.timings.iter().find(|t| t.0 == i).and_then(|t| t.1);
    assert_eq!(time(1), None, "the wrong candidate is never timed");
    assert!(time(0).unwrap() > time(2).unwrap() * 10, "{:?}", first.timings);
    let file = tune.cache_file().unwrap();
    assert!(std::fs::read_to_string(&file).unwrap().ends_with("choice 2 (100, true)\n"));

    // Read back: nothing measured.
    let runs_before = runs.get();
    let again = tune.run(build, &measure, check).unwrap();
    assert_eq!((again.how, again.index), (How::Cached, 2));
    assert_eq!(runs.get(), runs_before);

    // Corrupt, then another processor's: measured again, and the file replaced.
    let text = std::fs::read_to_string(&file).unwrap();
    let foreign = text.replacen("cpu ", "cpu SomeoneElse ", 1);
    for bad in ["peach tuning 1\n\u{0}garbage".to_string(), foreign, text.replace("choice 2", "choice 9")] {
        std::fs::write(&file, bad).unwrap();
        let redo = tune.run(build, &measure, check).unwrap();
        assert_eq!((redo.how, redo.index), (How::Measured, 2));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }

    // Another parameter space is another job, in another file.
    let other = Tune::new("spin", [(100u32, true), (20_000, true)]).cache_dir(&dir);
    assert_ne!(other.cache_file(), tune.cache_file());
    assert_eq!(other.run(build, &measure, check).unwrap().how, How::Measured);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nothing_that_passes_is_an_error() {
    let dir = std::env::temp_dir().join(format!("peach-tune-none-{}", std::process::id()));
    let tune = Tune::new("spin_wrong", [(1u32, false)]).cache_dir(&dir);
    let e = tune.run(build, |_| {}, |k: &K| call(k, 41) == 42).unwrap_err();
    assert!(e.to_string().contains("no candidate"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
