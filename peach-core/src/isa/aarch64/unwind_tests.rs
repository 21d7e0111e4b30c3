//! Call-frame information checked from the outside, as for x86-64: the table readelf reads
//! from GNU as's object of `asm_lines` ([`cfi_table`]) must match, at every instruction, what a
//! simulation of the instruction words themselves says the frame is. The simulation decodes
//! the few forms a frame is made of from the Arm ARM's bit patterns (`stp`/`str` with
//! pre-index, `ldp`/`ldr` with post-index, `sub`/`add sp, sp, #imm`, `ret`).

use std::collections::BTreeMap;

use crate::ir::{Function, Signature, Type};
use crate::isa::text::cfi_table;
use crate::{Abi, CodeObject, Target};

/// The frame: sp relative to the CFA, and where each saved register sits (`c-16`).
#[derive(Clone, Debug, PartialEq)]
struct Frame {
    sp: i64,
    saved: BTreeMap<String, String>,
}

fn name(vector: bool, n: u32) -> String {
    if vector { format!("v{n}") } else { format!("x{n}") }
}

/// The frame after instruction `w`; `body` is the frame a `ret` goes back to.
fn step(before: &Frame, w: u32, body: &Frame) -> Frame {
    let mut f = before.clone();
    let (rt, rt2) = (w & 31, (w >> 10) & 31);
    let imm7 = (((w >> 15) & 0x7f) as i64) << 57 >> 57;
    let imm9 = (((w >> 12) & 0x1ff) as i64) << 55 >> 55;
    let imm12 = ((w >> 10) & 0xfff) as i64;
    let pair = |f: &mut Frame, vector: bool, by: i64, store: bool| {
        f.sp += by;
        for (k, r) in [rt, rt2].into_iter().enumerate() {
            if store {
                f.saved.insert(name(vector, r), format!("c{}", f.sp + 8 * k as i64));
            } else {
                f.saved.remove(&name(vector, r));
            }
        }
        if !store {
            f.sp += -by + 8 * imm7;
        }
    };
    match w & 0xffc0_0000 {
        0xa980_0000 => pair(&mut f, false, 8 * imm7, true),
        0x6d80_0000 => pair(&mut f, true, 8 * imm7, true),
        0xa8c0_0000 => pair(&mut f, false, 0, false),
        0x6cc0_0000 => pair(&mut f, true, 0, false),
        _ => match (w & 0xffe0_0c00, w & 0xff80_03ff) {
            // str/ldr of one register, pre- and post-indexed.
            (0xf800_0c00 | 0xfc00_0c00, _) => {
                f.sp += imm9;
                f.saved.insert(name(w & 0x0400_0000 != 0, rt), format!("c{}", f.sp));
            }
            (0xf840_0400 | 0xfc40_0400, _) => {
                f.saved.remove(&name(w & 0x0400_0000 != 0, rt));
                f.sp += imm9;
            }
            (_, 0xd100_03ff) => f.sp -= imm12,
            (_, 0x9100_03ff) => f.sp += imm12,
            _ if w == 0xd65f_03c0 => return body.clone(),
            _ => {}
        },
    }
    f
}

/// Whether `w` belongs to a prologue (a pre-indexed store or a `sub sp`).
fn builds_frame(w: u32) -> bool {
    matches!(w & 0xffc0_0000, 0xa980_0000 | 0x6d80_0000)
        || matches!(w & 0xffe0_0c00, 0xf800_0c00 | 0xfc00_0c00)
        || w & 0xff80_03ff == 0xd100_03ff
}

/// Checks `code`'s CFI against the simulation at every instruction; the number checked.
fn check(code: &CodeObject) -> usize {
    let Some(rows) = cfi_table("aarch64-linux-gnu-as", "", Some("x30"), code) else {
        eprintln!("skipped: aarch64-linux-gnu-as or readelf is not installed");
        return 0;
    };
    let mut frame = Frame { sp: 0, saved: BTreeMap::new() };
    let mut body = None;
    let mut checked = 0;
    for line in code.lines() {
        let w = u32::from_le_bytes(code.bytes()[line.offset..line.offset + 4].try_into().expect("a word"));
        if body.is_none() && !builds_frame(w) {
            body = Some(frame.clone());
        }
        let row = rows.iter().rev().find(|r| r.0 <= line.offset as u64).expect("a row for every offset");
        let cfa = format!("sp+{}", -frame.sp);
        assert_eq!(row.1, cfa, "CFA at {:#x} `{}` in\n{}", line.offset, line.intel, code.listing());
        assert_eq!(row.2, frame.saved, "saved registers at {:#x} `{}` in\n{}", line.offset, line.intel, code.listing());
        checked += 1;
        frame = step(&frame, w, body.as_ref().unwrap_or(&frame));
    }
    checked
}

/// A function that writes the registers `saved`, has `locals` bytes of locals, and returns
/// early on one path.
fn kernel(name: &str, saved: &[&str], locals: u32) -> CodeObject {
    use super::regs::A64Builder;
    let mut f = Function::new(name, Signature::new(&[Type::U64], None), Target::aarch64_neon());
    let n = f.param(0);
    for r in saved {
        let zero = if r.starts_with('d') { format!("movi {r}, #0") } else { format!("mov {r}, #0") };
        f.asm(&zero, ());
    }
    if locals > 0 {
        let slot = f.stack_local(locals, 8);
        f.ins("str", (n, slot));
    }
    let late = f.label();
    f.ins("cbz", (n, late));
    let x = f.x();
    f.ins("add", (x, n, 1));
    f.ret(None);
    f.bind(late);
    f.ins("add", (n, n, 2));
    f.ret(None);
    f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn call_frame_information_matches_the_instructions() {
    let kernels = [
        kernel("leaf", &[], 0),
        kernel("pair", &["x19", "x20"], 0),
        kernel("odd", &["x19", "x21", "x23", "d8"], 0),
        kernel("locals", &["x19", "x29", "x30", "d8", "d9", "d15"], 40),
        kernel("locals_only", &[], 24),
    ];
    for code in &kernels {
        let checked = check(code);
        assert!(checked == 0 || checked >= 5, "{}: {checked} instructions", code.name());
    }
}
