//! Errors from `#[jit]` kernels point at the user's source: the file, line and column of the
//! instruction, and the place each register named in the message was made.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

peach_fn! {
    #[target(x86_64::haswell)]
    #[jit]
    fn unwritten() -> f64 {
        let a = XMM();
        let b = XMM();
        VADDSD(a, a, b);
        RETURN(a);
    }
}

#[test]
fn jit_errors_name_the_users_places() {
    let e = unwritten().expect_err("a value read before written");
    let loc = e.location().expect("a location");
    assert_eq!((loc.file(), loc.line()), (file!(), 13), "{e}");
    assert_eq!(loc.column(), 9, "{e}");
    // The register's own place: `XMM()` on line 11 or 12, column 17.
    let msg = e.message();
    assert!(!msg.contains("src/jit.rs"), "{msg}");
    assert!(msg.contains(&format!("{}:11:17", file!())) || msg.contains(&format!("{}:12:17", file!())), "{msg}");
}
