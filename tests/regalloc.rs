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

/// Large random control-flow graphs (asmjit's register-allocation benchmark shape: random
/// forward and backward `jns`, 24 values live through all of them, 3 per block): the checker
/// agrees (debug builds), and the code computes what an interpreter of the program computes.
#[test]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))] // compiled, not run, elsewhere
fn large_random_control_flow_graphs_match_the_interpreter() {
    use peach::core::random::branchy;
    let mut rng = Seeded(0x5eed_cf60);
    for blocks in [1, 2, 17, 300, 3000] {
        let p = branchy(&mut rng, blocks, 24, Target::x86_64_v4());
        let code = p.function.compile(Abi::SysV).unwrap_or_else(|e| panic!("{blocks} blocks: {e}"));
        if let Err(e) = p.function.compile(Abi::Win64) {
            panic!("{blocks} blocks, Win64: {e}");
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            use peach::core::random::Entropy;
            let k = unsafe { Kernel::<unsafe extern "sysv64" fn(i64, *mut f64)>::load(&code).unwrap() };
            for counter in [0, 5, 10 * blocks as i64] {
                let start: Vec<f64> = (0..24).map(|_| 1.0 + (rng.next() >> 12) as f64 / (1u64 << 52) as f64).collect();
                let (mut got, mut want) = (start.clone(), start);
                // SAFETY: the kernel reads and writes 24 doubles at the pointer, which `got` holds.
                unsafe { k.call(counter, got.as_mut_ptr()) };
                p.run(counter, &mut want);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                        "{blocks} blocks, value {i}: {g} != {w}"
                    );
                }
            }
        }
    }
}
