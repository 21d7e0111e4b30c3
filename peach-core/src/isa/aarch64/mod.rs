//! The AArch64 backend, under construction: a table-driven encoder of our own (there is no
//! maintained run-time AArch64 encoder crate), checked form by form against llvm-mc. It is not
//! yet behind `trait Isa`; registers, allocation classes and the AAPCS64 ABI come next.

mod encode;
mod table;

pub use encode::{A64, Arrangement, encode};
pub use table::{Field, Kind, ROWS, Row};

#[cfg(test)]
mod tests;
