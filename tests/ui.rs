//! Compile-time behaviour of `peach_fn!`: every error class is a compile error at the right
//! token (`tests/ui/fail/*.rs` with their committed `.stderr`), and the supported subset
//! compiles and runs (`tests/ui/pass/*.rs`). Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test --test ui`.

#[test]
#[cfg(target_arch = "x86_64")]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
