//! Assembly text: arbitrary lines (with two operands for their placeholders) go through
//! `Function::asm` and the compiler. Nothing panics; a line that is accepted compiles or fails
//! with an error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peach_core::ir::{Function, Signature, Type};
use peach_core::isa::x86_64::X86Builder;
use peach_core::{Abi, Target};

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let mut f = Function::new("text", Signature::new(&[Type::Ptr], None), Target::x86_64_v4());
    let p = f.param(0);
    let v = f.zmm();
    f.asm(&line, (v, p));
    f.ret(None);
    let _ = f.compile(Abi::SysV);
});
