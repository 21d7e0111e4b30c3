//! Software pipelining with instruction streams: the seed paper's Listing 7, an int32 vector add
//! `c[i] = a[i] + b[i]`. Each of the loop's columns is load, add, store; the three stages are
//! recorded into streams (`STREAM({ ... })`) and issued skewed (`ISSUE(stream, 1)`), so that
//! loads run ahead of the adds and the adds ahead of the stores. The kernel is
//! `peach::kernels::add_i32`, a `peach_fn!` fat binary (read it in `src/kernels/streaming.rs`);
//! this example prints the listings of its AVX-512 and AVX2 variants and checks every variant
//! this CPU runs against plain Rust.
//!
//! Run with `cargo run --example pipelining`.

#[cfg(target_arch = "x86_64")]
pub fn main() {
    use peach::kernels::streaming::*;
    use peach::runtime::dispatch;

    println!("{ADD_I32_X86_64_V4_LISTING}\n{ADD_I32_HASWELL_LISTING}");
    let n = 1024;
    let a: Vec<i32> = (0..n).map(|i| i * 7 - 3000).collect();
    let b: Vec<i32> = (0..n).map(|i| i32::MAX - i).collect();
    let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
    type AddFn = unsafe fn(*const i32, *const i32, *mut i32, usize);
    let fns: [(&str, AddFn); 3] =
        [("sapphirerapids", add_i32_sapphirerapids), ("x86-64-v4", add_i32_x86_64_v4), ("haswell", add_i32_haswell)];
    for v in ADD_I32_DISPATCH.variants() {
        let Some(&(_, f)) = fns.iter().find(|(name, _)| *name == v.name) else {
            println!("{}: no function for this variant here, not run", v.name);
            continue;
        };
        if !dispatch::runs_here(v.required) {
            println!("{}: this CPU lacks some of its extensions, not run", v.name);
            continue;
        }
        let mut c = vec![0i32; n as usize];
        // SAFETY: each array holds `n` values, a multiple of 128.
        unsafe { f(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), n as usize) };
        assert_eq!(c, want);
        println!("{}: add_i32 of {n} elements checked against Rust", v.name);
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub fn main() {
    println!("this example shows x86-64 code: run it on x86-64");
}
