//! Software pipelining with instruction streams: the seed paper's Listing 7, an int32 vector add
//! `c[i] = a[i] + b[i]`. Each of the loop's columns is load, add, store; the three stages are
//! recorded into streams and issued skewed, so that loads run ahead of the adds and the adds ahead
//! of the stores. The kernel is `peach::kernels::add_i32` (read it in `src/kernels/streaming.rs`);
//! this example builds it for AVX-512 and AVX2, prints the listings, and checks them against
//! plain Rust.
//!
//! Run with `cargo run --example pipelining`.

use peach::prelude::*;

pub fn main() {
    let host = Target::native_x86_64();
    for target in [Target::x86_64_v4(), Target::x86_64_v3()] {
        let code = peach::kernels::add_i32(target.clone()).unwrap_or_else(|e| panic!("{e}"));
        println!("{}", code.listing());
        if !(cfg!(target_arch = "x86_64") && code.extensions().is_subset(host.extensions())) {
            println!("{}: this CPU lacks some of its extensions, not run\n", target.name());
            continue;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let n = 1024;
            let a: Vec<i32> = (0..n).map(|i| i * 7 - 3000).collect();
            let b: Vec<i32> = (0..n).map(|i| i32::MAX - i).collect();
            let mut c = vec![0i32; n as usize];
            type Add = unsafe extern "C" fn(*const i32, *const i32, *mut i32, usize);
            // SAFETY: the signature and convention are the kernel's; each array holds `n` values.
            let k = unsafe { Kernel::<Add>::load(&code).unwrap() };
            unsafe { (k.get())(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), n as usize) };
            let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
            assert_eq!(c, want);
            println!("{}: add_i32 of {n} elements checked against Rust\n", target.name());
        }
    }
}
