//! The builder on random programs: straight-line ones are compiled (the allocation checker runs
//! in every build with debug assertions, which fuzzing has), executed and compared with the
//! interpreter's value; ones with control flow allocate or fail with a user error. Nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peach_core::random::{Bytes, straight_line, with_control_flow};
use peach_core::{Abi, ErrorKind, Target};

fuzz_target!(|data: &[u8]| {
    let mut e = Bytes(data);
    let p = straight_line(&mut e, Target::x86_64_baseline());
    match p.function.compile(Abi::SysV) {
        Ok(code) => {
            #[cfg(target_arch = "x86_64")]
            {
                type F = unsafe extern "sysv64" fn(u64, u64, u64, u64) -> u64;
                // SAFETY: the code was built for this signature in System V.
                let k = unsafe { peach_runtime::Kernel::<F>::load(&code) }.expect("loads");
                let a = p.args;
                // SAFETY: the program only computes on registers.
                let got = unsafe { k.call(a[0], a[1], a[2], a[3]) };
                assert_eq!(got, p.expected, "{}", code.listing());
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::OutOfRegisters, "{e}"),
    }
    let f = with_control_flow(&mut e, Target::x86_64_v4());
    for abi in [Abi::SysV, Abi::Win64] {
        if let Err(e) = f.compile(abi) {
            assert!(matches!(e.kind(), ErrorKind::OutOfRegisters | ErrorKind::UndefinedValue), "{e}");
        }
    }
});
