//! Register allocation on random programs.
//!
//! Every compile in a debug build runs the independent allocation checker, so a wrong allocation
//! surfaces as an internal error. Random straight-line integer programs (with fixed-register
//! instructions: `MUL` through rax/rdx, shifts by `cl`) are also executed and compared with an
//! interpreter; random programs with loops and branches are compiled for both conventions. The
//! generators are `peach_core::random` (feature `random-programs`), which the fuzzers share.

use peach::core::random::{Seeded, straight_line, with_control_flow};
use peach::prelude::*;

#[test]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut, unused_variables))] // compiled, not run, elsewhere
fn random_straight_line_programs_match_the_interpreter() {
    let mut rng = Seeded(0x9e37_79b9_7f4a_7c15);
    let (mut ran, mut out_of_registers) = (0, 0);
    for _ in 0..300 {
        let p = straight_line(&mut rng, Target::x86_64_baseline());
        let (f, args, want) = (p.function, p.args, p.expected);
        let code = match f.compile(Abi::SysV) {
            Ok(code) => code,
            Err(e) if e.kind() == ErrorKind::OutOfRegisters => {
                out_of_registers += 1;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        if let Err(e) = f.compile(Abi::Win64) {
            assert_eq!(e.kind(), ErrorKind::OutOfRegisters, "{e}");
        }
        #[cfg(target_arch = "x86_64")]
        {
            let k = unsafe { Kernel::<unsafe extern "sysv64" fn(u64, u64, u64, u64) -> u64>::load(&code).unwrap() };
            let got = unsafe { k.call(args[0], args[1], args[2], args[3]) };
            assert_eq!(got, want, "{}", code.listing());
            ran += 1;
        }
        let _ = code;
    }
    eprintln!("{ran} programs ran and matched; {out_of_registers} needed more registers than exist");
    assert!(ran >= 200, "too few programs ran: {ran}");
}

/// Random programs with loops and branches over vector and general-purpose values: allocation
/// succeeds and the checker agrees, or it fails with an out-of-registers error.
#[test]
fn random_programs_with_control_flow_allocate_or_fail_cleanly() {
    let mut rng = Seeded(0x1234_5678_9abc_def1);
    let mut ok = 0;
    for _ in 0..300 {
        use peach::core::random::Entropy;
        let target = if rng.below(2) == 0 { Target::x86_64_v3() } else { Target::x86_64_v4() };
        let f = with_control_flow(&mut rng, target);
        for abi in [Abi::SysV, Abi::Win64] {
            match f.compile(abi) {
                Ok(_) => ok += 1,
                // Random jumps can skip a value's definition: a user error, reported as such.
                Err(e) if matches!(e.kind(), ErrorKind::OutOfRegisters | ErrorKind::UndefinedValue) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!(ok >= 200, "only {ok} programs allocated");
}
