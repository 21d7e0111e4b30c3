//! Assembly text: arbitrary lines (with two operands for their placeholders) go through
//! `Function::asm` and the compiler, for x86-64 and AArch64 (the first byte chooses). Nothing
//! panics; a line that is accepted compiles or fails with an error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peach_core::ir::{Function, Signature, Type};
use peach_core::isa::aarch64::A64Builder;
use peach_core::isa::x86_64::X86Builder;
use peach_core::{Abi, Target};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let line = String::from_utf8_lossy(rest);
    let sig = Signature::new(&[Type::Ptr], None);
    let (mut f, abi) = if choice & 1 == 0 {
        (Function::new("text", sig, Target::x86_64_v4()), Abi::SysV)
    } else {
        (Function::new("text", sig, Target::aarch64_neon()), Abi::Aapcs64)
    };
    let p = f.param(0);
    let v = if choice & 1 == 0 { f.zmm() } else { A64Builder::v(&mut f) };
    f.asm(&line, (v, p));
    f.ret(None);
    let _ = f.compile(abi);
});
