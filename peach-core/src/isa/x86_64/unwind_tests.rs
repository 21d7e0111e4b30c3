//! Call-frame information checked from the outside: the table readelf reads from GNU as's
//! object of `asm_lines` ([`cfi_table`]) must match, at every instruction, what a small
//! simulation of the instructions themselves (decoded by iced from the bytes) says the frame
//! is: where the CFA is and where each saved register sits.

use std::collections::BTreeMap;

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind, Register};

use super::regs::X86Builder;
use crate::ir::{Function, Signature, Type};
use crate::isa::text::cfi_table;
use crate::{Abi, CodeObject, Target};

/// The frame as the instructions build it: rsp and rbp relative to the CFA (`None` once rsp
/// is realigned), which register the CFA is found from, and each saved register's place as
/// readelf writes it (`c-16`, or `exp` for an rsp-relative save).
#[derive(Clone, Debug, PartialEq)]
struct Frame {
    rsp: Option<i64>,
    rbp: Option<i64>,
    cfa_from_rbp: bool,
    saved: BTreeMap<String, String>,
}

impl Frame {
    fn cfa(&self) -> String {
        match (self.cfa_from_rbp, self.rsp, self.rbp) {
            (true, _, Some(rbp)) => format!("rbp+{}", -rbp),
            (false, Some(rsp), _) => format!("rsp+{}", -rsp),
            _ => "?".into(),
        }
    }
}

fn name(r: Register) -> String {
    format!("{:?}", r.full_register()).to_ascii_lowercase().replace("zmm", "xmm")
}

/// The frame after `ins`, from `before`; `body` is the frame a `ret` goes back to for the code
/// after it.
fn step(before: &Frame, ins: &Instruction, body: &Frame) -> Frame {
    let mut f = before.clone();
    let rsp_mem = ins.op_count() == 2 && ins.memory_base() == Register::RSP;
    match ins.mnemonic() {
        Mnemonic::Push => {
            f.rsp = f.rsp.map(|r| r - 8);
            if let Some(at) = f.rsp {
                f.saved.entry(name(ins.op0_register())).or_insert(format!("c{at}"));
            }
        }
        Mnemonic::Pop => {
            f.saved.remove(&name(ins.op0_register()));
            f.rsp = f.rsp.map(|r| r + 8);
            if ins.op0_register() == Register::RBP {
                f.cfa_from_rbp = false;
            }
        }
        Mnemonic::Mov if ins.op0_register() == Register::RBP && ins.op1_register() == Register::RSP => {
            f.rbp = f.rsp;
            f.cfa_from_rbp = true;
        }
        Mnemonic::And if ins.op0_register() == Register::RSP => f.rsp = None,
        Mnemonic::Sub if ins.op0_register() == Register::RSP => f.rsp = f.rsp.map(|r| r - ins.immediate(1) as i64),
        Mnemonic::Add if ins.op0_register() == Register::RSP => f.rsp = f.rsp.map(|r| r + ins.immediate(1) as i64),
        Mnemonic::Lea if ins.op0_register() == Register::RSP => {
            f.rsp = f.rbp.map(|r| r + ins.memory_displacement64() as i64);
        }
        Mnemonic::Movaps | Mnemonic::Vmovaps if rsp_mem && ins.op0_kind() == OpKind::Memory => {
            let at = f.rsp.map_or("exp".to_string(), |r| format!("c{}", r + ins.memory_displacement64() as i64));
            f.saved.insert(name(ins.op1_register()), at);
        }
        Mnemonic::Movaps | Mnemonic::Vmovaps if rsp_mem => {
            f.saved.remove(&name(ins.op0_register()));
        }
        Mnemonic::Ret => return body.clone(),
        _ => {}
    }
    f
}

/// Whether `ins` belongs to a prologue.
fn builds_frame(ins: &Instruction) -> bool {
    let rsp_dest = ins.op0_register() == Register::RSP;
    match ins.mnemonic() {
        Mnemonic::Push => true,
        Mnemonic::Mov => ins.op0_register() == Register::RBP && ins.op1_register() == Register::RSP,
        Mnemonic::And | Mnemonic::Sub => rsp_dest,
        Mnemonic::Or => ins.memory_base() == Register::RSP,
        Mnemonic::Movaps | Mnemonic::Vmovaps => ins.op0_kind() == OpKind::Memory && ins.memory_base() == Register::RSP,
        _ => false,
    }
}

/// Checks `code`'s CFI against the simulation at every instruction; the number checked.
fn check(code: &CodeObject) -> usize {
    let Some(rows) = cfi_table("as", ".intel_syntax noprefix", None, code) else {
        eprintln!("skipped: GNU as or readelf is not installed");
        return 0;
    };
    let mut frame = Frame { rsp: Some(-8), rbp: None, cfa_from_rbp: false, saved: BTreeMap::new() };
    let mut body = None;
    let mut checked = 0;
    for line in code.lines() {
        let ins = Decoder::new(64, &code.bytes()[line.offset..line.offset + line.len], DecoderOptions::NONE).decode();
        if body.is_none() && !builds_frame(&ins) {
            body = Some(frame.clone());
        }
        let row = rows.iter().rev().find(|r| r.0 <= line.offset as u64).expect("a row for every offset");
        assert_eq!(row.1, frame.cfa(), "CFA at {:#x} `{}` in\n{}", line.offset, line.intel, code.listing());
        assert_eq!(row.2, frame.saved, "saved registers at {:#x} `{}` in\n{}", line.offset, line.intel, code.listing());
        checked += 1;
        frame = step(&frame, &ins, body.as_ref().unwrap_or(&frame));
    }
    checked
}

/// A function that writes the callee-saved registers `saved`, has `locals` bytes of locals
/// aligned to `align`, and returns early on one path.
fn kernel(name: &str, abi: Abi, saved: &[&str], locals: (u32, u32)) -> CodeObject {
    let mut f = Function::new(name, Signature::new(&[Type::U64], None), Target::x86_64_v3());
    let n = f.param(0);
    for r in saved {
        let zero = if r.starts_with("xmm") { format!("vxorps {r}, {r}, {r}") } else { format!("xor {r}, {r}") };
        f.asm(&zero, ());
    }
    if locals.0 > 0 {
        let slot = f.stack_local(locals.0, locals.1);
        f.ins("mov", (slot, n));
    }
    let late = f.label();
    f.ins("cmp", (n, 0));
    f.ins("je", late);
    let x = f.gp64();
    f.ins("mov", (x, n));
    f.ret(None);
    f.bind(late);
    f.ins("add", (n, 1));
    f.ret(None);
    f.compile(abi).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn call_frame_information_matches_the_instructions() {
    let kernels = [
        kernel("leaf", Abi::SysV, &[], (0, 0)),
        kernel("pushes", Abi::SysV, &["rbx", "r12", "r15"], (0, 0)),
        kernel("locals", Abi::SysV, &["rbx", "r13"], (40, 8)),
        kernel("realigned", Abi::SysV, &["rbx", "r12", "r14"], (64, 64)),
        kernel("probed", Abi::SysV, &["rbx"], (3 * 4096 + 100, 16)),
        kernel("win64_xmm", Abi::Win64, &["rsi", "xmm6", "xmm7", "xmm15"], (24, 8)),
        kernel("win64_xmm_realigned", Abi::Win64, &["rdi", "xmm6", "xmm9"], (128, 32)),
    ];
    for code in &kernels {
        let checked = check(code);
        assert!(checked == 0 || checked >= 6, "{}: {checked} instructions", code.name());
    }
}
