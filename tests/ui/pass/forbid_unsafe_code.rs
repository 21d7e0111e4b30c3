//! A crate that forbids unsafe code can define and call safe kernels: they take no pointers,
//! and one that needs more than the baseline checks the CPU before it runs.
#![forbid(unsafe_code)]

use peach::prelude::*;

peach_fn! {
    #[target(x86_64::haswell)]
    fn mix(a: u64, b: u64) -> u64 {
        let t = GP64();
        ANDN(t, a, b); // BMI1: the wrapper checks the CPU
        RETURN(t);
    }
}

fn main() {
    if peach::runtime::dispatch::detected("BMI1") {
        assert_eq!(mix(0b1100, 0b1010), 0b0010);
    } else {
        assert!(std::panic::catch_unwind(|| mix(1, 2)).is_err());
    }
}
