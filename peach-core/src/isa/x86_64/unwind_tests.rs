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
/// readelf writes it (`c-16`).
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
    let base = ins.memory_base();
    let frame_mem = ins.op_count() == 2 && (base == Register::RSP || base == Register::RBP);
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
            // (rsp is known again: the CFA may be found from either.)
            f.rsp = f.rbp.map(|r| r + ins.memory_displacement64() as i64);
            f.cfa_from_rbp = false;
        }
        Mnemonic::Movaps | Mnemonic::Vmovaps if frame_mem && ins.op0_kind() == OpKind::Memory => {
            let from = if base == Register::RSP { f.rsp } else { f.rbp };
            let at = from.map_or("unknown".to_string(), |r| format!("c{}", r + ins.memory_displacement64() as i64));
            f.saved.insert(name(ins.op1_register()), at);
        }
        Mnemonic::Movaps | Mnemonic::Vmovaps if frame_mem => {
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
        Mnemonic::Movaps | Mnemonic::Vmovaps => {
            ins.op0_kind() == OpKind::Memory && matches!(ins.memory_base(), Register::RSP | Register::RBP)
        }
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

/// What llvm-readobj reads from llvm-mc's COFF object of `asm_lines`: the prologue size, the
/// frame register and the unwind codes (`0x0D: SAVE_XMM128 reg=XMM6, offset=0x10`, latest
/// first), and the `.xdata` bytes; `None` when the tools do not run.
fn coff_unwind(code: &CodeObject) -> Option<(String, Vec<String>, Vec<u8>)> {
    use std::process::Command;
    let dir = crate::isa::text::scratch_dir("peach-seh");
    std::fs::create_dir_all(&dir).ok()?;
    let (src, obj) = (dir.join("k.s"), dir.join("k.o"));
    let lines = code.asm_lines("k", crate::emit::ObjectFormat::Coff);
    std::fs::write(&src, format!(".intel_syntax noprefix\n{}\n", lines.join("\n"))).ok()?;
    let triple = "-triple=x86_64-pc-windows-msvc";
    let assembled =
        Command::new("llvm-mc").args([triple, "-filetype=obj"]).arg(&src).arg("-o").arg(&obj).output().ok()?;
    assert!(assembled.status.success(), "llvm-mc: {}", String::from_utf8_lossy(&assembled.stderr));
    let out = Command::new("llvm-readobj").arg("--unwind").arg(&obj).output().ok()?;
    let dump = Command::new("llvm-readobj").arg("-x").arg(".xdata").arg(&obj).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    // `0x00000000 010d0605 0d680100 ...  .....h..`: up to four words of hex after the address.
    let mut bytes = Vec::new();
    for l in String::from_utf8_lossy(&dump.stdout).lines().filter(|l| l.starts_with("0x")) {
        for word in l.split_whitespace().skip(1).take(4).filter(|w| w.len() % 2 == 0) {
            let Ok(b) = (0..word.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&word[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
            else {
                break;
            };
            bytes.extend(b);
        }
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| text.lines().find_map(|l| l.trim().strip_prefix(name).map(str::trim).map(str::to_string));
    let frame = field("FrameRegister:").filter(|f| f != "-").unwrap_or_default();
    let header = format!("{} {frame}", field("PrologSize:")?).trim_end().to_string();
    let codes = text.lines().map(str::trim).filter(|l| l.starts_with("0x") && l.contains(": ")).map(str::to_string);
    Some((header, codes.collect(), bytes))
}

/// The Windows prologue description of `code`'s instructions, as llvm-readobj prints it: the
/// prologue runs up to the first instruction that is not a push, a `sub rsp`, a probe, `mov
/// rbp, rsp` or a vector save (a realigned frame's `and rsp` is the body's).
fn win64_prologue(code: &CodeObject) -> (String, Vec<String>) {
    let mut codes = Vec::new();
    let (mut end, mut frame) = (0, String::new());
    for line in code.lines() {
        let ins = Decoder::new(64, &code.bytes()[line.offset..line.offset + line.len], DecoderOptions::NONE).decode();
        if !builds_frame(&ins) || ins.mnemonic() == Mnemonic::And {
            break;
        }
        end = line.offset + line.len;
        let reg = |r: Register| format!("{:?}", r).to_ascii_uppercase();
        let text = match ins.mnemonic() {
            Mnemonic::Push => format!("PUSH_NONVOL reg={}", reg(ins.op0_register())),
            Mnemonic::Sub if ins.immediate(1) <= 128 => format!("ALLOC_SMALL size={}", ins.immediate(1)),
            Mnemonic::Sub => format!("ALLOC_LARGE size={}", ins.immediate(1)),
            Mnemonic::Mov => {
                frame = "RBP (0x5)".into();
                "SET_FPREG reg=RBP, offset=0x0".into()
            }
            Mnemonic::Movaps | Mnemonic::Vmovaps => {
                format!("SAVE_XMM128 reg={}, offset={:#X}", reg(ins.op1_register()), ins.memory_displacement64())
                    .replace("offset=0X", "offset=0x")
            }
            _ => continue, // a probe
        };
        codes.push(format!("{end:#04X}: {text}").replacen("0X", "0x", 1));
    }
    codes.reverse();
    (format!("{end} {frame}").trim_end().to_string(), codes)
}

/// Win64 code's `.seh_*` directives describe its prologue as the instructions build it (read
/// back by llvm-readobj from llvm-mc's object), and the `UNWIND_INFO` peach makes for code
/// loaded at run time is the one llvm-mc makes of the directives, byte for byte.
#[test]
fn windows_unwind_data_matches_the_instructions() {
    let kernels = [
        kernel("leaf", Abi::Win64, &[], (0, 0)),
        kernel("pushes", Abi::Win64, &["rbx", "rsi", "r15"], (0, 0)),
        kernel("win64_xmm", Abi::Win64, &["rsi", "xmm6", "xmm7", "xmm15"], (24, 8)),
        kernel("win64_xmm_odd", Abi::Win64, &["rsi", "rdi", "xmm6"], (0, 0)),
        kernel("probed", Abi::Win64, &["rbx", "xmm8"], (3 * 4096 + 100, 16)),
        kernel(
            "largest",
            Abi::Win64,
            &["rbx", "rsi", "rdi", "r12", "r13", "r14", "r15", "xmm6", "xmm15"],
            (48 << 10, 16),
        ),
        kernel("realigned", Abi::Win64, &["rbx", "r12"], (64, 64)),
        kernel("win64_xmm_realigned", Abi::Win64, &["rdi", "xmm6", "xmm9"], (128, 32)),
        kernel("win64_xmm_realigned_even", Abi::Win64, &["rdi", "rsi", "xmm6"], (128, 32)),
    ];
    for code in &kernels {
        let Some((header, codes, xdata)) = coff_unwind(code) else {
            eprintln!("skipped: llvm-mc, llvm-readobj or llvm-objcopy did not run");
            return;
        };
        let (want_header, want_codes) = win64_prologue(code);
        let listing = code.listing();
        assert_eq!(header, want_header, "{}: prologue size and frame register\n{listing}", code.name());
        assert_eq!(codes, want_codes, "{}: unwind codes\n{listing}", code.name());
        let steps = code.win64_unwind().expect("Win64 code describes its prologue");
        let ours = crate::emit::win64_unwind_info(steps).expect("a prologue Windows can describe");
        assert_eq!(xdata, ours, "{}: UNWIND_INFO bytes\n{listing}", code.name());
    }
}

/// A prologue Windows cannot describe (over 255 bytes: page probes for big stack locals) is an
/// error for Microsoft x64 code, and fine for System V.
#[test]
fn windows_prologues_have_a_limit() {
    let build = |abi: Abi| {
        let mut f = Function::new("huge", Signature::new(&[Type::U64], None), Target::x86_64_v3());
        let n = f.param(0);
        let slot = f.stack_local(600_000, 16);
        f.ins("mov", (slot, n));
        f.ret(None);
        f.compile(abi)
    };
    let e = build(Abi::Win64).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Limit);
    assert!(e.message().contains("48 KiB"), "{e}");
    assert!(build(Abi::SysV).is_ok());
}

/// A function without a frame records no steps: its epilogue changes nothing an unwinder reads
/// (the CFA stays rsp + 8 through the `ret`), so there is no state to remember or restore; one
/// with a frame still records them.
#[test]
fn frameless_functions_record_no_steps() {
    let leaf = kernel("leaf", Abi::SysV, &[], (0, 0));
    assert_eq!(leaf.frame_steps(), Some(&[][..]));
    let pushes = kernel("pushes", Abi::SysV, &["rbx"], (0, 0));
    let steps = pushes.frame_steps().expect("x86-64 describes its frames");
    assert!(steps.iter().any(|(_, s)| *s == crate::emit::FrameStep::Remember), "{steps:?}");
}
