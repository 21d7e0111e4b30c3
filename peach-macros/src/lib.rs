//! The `peach_fn!` procedural macro: kernels written inline in Rust, checked and assembled at
//! compile time. It is being built; until it lands, kernels are written with the builder API of
//! `peach-core` (see the `peach` crate's documentation).
