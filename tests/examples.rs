//! Every example runs in `cargo test`: each checks its kernels against plain Rust and panics on
//! a mismatch.

#[path = "../examples/quickstart.rs"]
mod quickstart;

#[path = "../examples/custom_instruction.rs"]
mod custom_instruction;

#[path = "../examples/generalized_kernel.rs"]
mod generalized_kernel;

#[path = "../examples/isa_specific.rs"]
mod isa_specific;

#[path = "../examples/pipelining.rs"]
mod pipelining;

#[test]
fn quickstart_runs() {
    quickstart::main();
}

#[test]
fn custom_instruction_runs() {
    custom_instruction::main();
}

#[test]
fn generalized_kernel_runs() {
    generalized_kernel::main();
}

#[test]
fn isa_specific_runs() {
    isa_specific::main();
}

#[test]
fn pipelining_runs() {
    pipelining::main();
}

#[path = "../examples/fat_binary.rs"]
mod fat_binary;

#[test]
fn fat_binary_runs() {
    fat_binary::main();
}
