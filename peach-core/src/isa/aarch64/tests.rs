//! Every table row, with sample operands that reach the ends of each field, is assembled by
//! `llvm-mc`; the words must agree.

use std::process::Command;

use super::encode::{A64, encode};
use super::table::{Field, Kind, Row, rows};

/// Operands for `variant` (0..3) of a row: low registers and small values, high registers and
/// the largest values, then zero registers, `sp` and negative offsets where the field allows.
fn sample(row: &Row, variant: usize) -> Vec<A64> {
    // (A store-exclusive's status must differ from its other registers.)
    let regs = if super::table::writes_status(row.name) {
        [[1u8, 2, 3, 4], [30, 29, 28, 27], [31, 0, 1, 15]]
    } else {
        [[1u8, 2, 3, 4], [30, 29, 28, 27], [31, 0, 31, 15]]
    };
    row.kinds()
        .iter()
        .zip(row.fields())
        .enumerate()
        .map(|(i, (kind, field))| {
            let n = regs[variant][i % 4];
            let base = [5, 26, 31][variant];
            match *kind {
                Kind::X => A64::X(n),
                Kind::XSp if variant == 2 => A64::Sp,
                Kind::XSp => A64::X(n.min(30)),
                Kind::W => A64::W(n),
                Kind::WSp if variant == 2 => A64::Wsp,
                Kind::WSp => A64::W(n.min(30)),
                Kind::V(a) => A64::V(n, a),
                Kind::B => A64::B(n),
                Kind::H => A64::H(n),
                Kind::S => A64::S(n),
                Kind::D => A64::D(n),
                Kind::Q => A64::Q(n),
                Kind::Q1 => A64::Q1(n),
                Kind::H2 => A64::H2(n),
                Kind::Pair(x) => A64::Pair([0, 2, 30][variant] + [0, 4, 0][variant] * (i as u8 % 2), x),
                Kind::Msl => A64::Msl([8, 16, 8][variant]),
                Kind::Lsl if matches!(field, Field::Hw(_)) && row.base & 1 << 31 == 0 => A64::Lsl(16),
                Kind::Lsl => A64::Lsl(value(*field, variant) as u8),
                Kind::Shift => {
                    let Field::ShiftedReg(bits, ror) = *field else { panic!("a shift without its field") };
                    A64::Shift([1, if ror { 3 } else { 2 }, 0][variant], [1, bits - 1, 0][variant])
                }
                Kind::Mem => A64::Mem(base, mem_offset(*field, variant)),
                Kind::MemPre => A64::MemPre(base, mem_offset(*field, variant)),
                Kind::MemPost => A64::MemPost(base, mem_offset(*field, variant)),
                Kind::MemPostReg => A64::MemPostReg(base, [2, 30, 0][variant]),
                Kind::IndexExtend => A64::IndexExtend(if *field == Field::IndexOption(true) { 2 } else { 7 }),
                Kind::Label => A64::Label(value(*field, variant)),
                Kind::Page => A64::Imm(value(*field, variant)),
                Kind::PageOffset => A64::PageOffset(value(*field, variant)),
                // (A 16-bit element by element is one of v0-v15.)
                Kind::Elem(2) if *field == Field::ElemMul => A64::Elem(n % 16, 2, [1, 7, 0][variant]),
                Kind::Elem(size) => A64::Elem(n, size, [1, 16 / size - 1, 0][variant]),
                Kind::ElemGroup(size) => A64::ElemGroup(n, size, [1, 3, 0][variant]),
                Kind::Cond => A64::Cond([0, 13, 11][variant]),
                Kind::Prfop => A64::Prfop([0, 21, 5][variant]),
                Kind::Barrier => A64::Barrier([11, 15, 4][variant]),
                Kind::Target => A64::Target([1, 2, 3][variant]),
                Kind::SysReg => A64::SysReg([0x5e82, 0x5a10, 0x7fff][variant]),
                Kind::Cache(true) => A64::Cache([0x1ba1, 0x1bf1, 0x1bd1][variant]),
                Kind::Cache(false) => A64::Cache(0x1ba9),
                Kind::MemBase => A64::Mem(base, 0),
                Kind::List1(a) => A64::List1(n, a),
                Kind::List(c, a) => A64::List(n, c, a),
                Kind::LaneList(c, size) => A64::LaneList(n, c, size, [1, 16 / size - 1, 0][variant]),
                Kind::FpImm if matches!(field, Field::Unsigned(_, 0, _)) => A64::FpImm(0.0f64.to_bits()),
                Kind::FpImm => A64::FpImm([1.0f64, 31.0, -0.125][variant].to_bits()),
                Kind::Extend if *field == Field::Extend(super::table::Rm::X) => {
                    A64::Extend([3, 7, 3][variant], [2, 4, 0][variant])
                }
                Kind::Extend if *field == Field::Extend(super::table::Rm::Any) => {
                    A64::Extend([3, 6, 7][variant], [2, 4, 0][variant])
                }
                Kind::Extend => A64::Extend([2, 6, 0][variant], [2, 4, 0][variant]),
                Kind::MemIndex => {
                    let Field::RegOffset(size) = *field else { panic!("an index without its field") };
                    A64::MemIndex(base, [7, 0, 25][variant], [1, size, zero_or(size)][variant])
                }
                Kind::MemIndexSxtw => {
                    let Field::RegOffset(size) = *field else { panic!("an index without its field") };
                    A64::MemIndexSxtw(base, [7, 0, 25][variant], [1, size, zero_or(size)][variant])
                }
                Kind::Imm if matches!(field, Field::Bitmask(_)) => {
                    let Field::Bitmask(width) = *field else { unreachable!() };
                    let v: [u64; 3] = [0xff, 0x5555_5555_5555_5555, u64::MAX - 1];
                    A64::Imm(if width == 32 { (v[variant] & 0xffff_ffff) as i64 } else { v[variant] as i64 })
                }
                Kind::Imm => A64::Imm(value(*field, variant)),
            }
        })
        .collect()
}

/// A byte access's third index sample is an explicit `lsl #0` (the others repeat `size`).
fn zero_or(size: u8) -> u8 {
    if size == 1 { crate::ir::Mem::ZERO_SHIFT } else { size }
}

fn mem_offset(field: Field, variant: usize) -> i64 {
    match field {
        Field::Mem(size) => [3, 4095, 0][variant] * size as i64,
        Field::Index9 => [8, 255, -256][variant],
        Field::Pair(size) => [1, 63, -64][variant] * size as i64,
        Field::PostStep(step) => step as i64,
        _ => panic!("memory operand without a memory field"),
    }
}

fn value(field: Field, variant: usize) -> i64 {
    match field {
        // (A field of no bits takes only zero: compares against #0.)
        Field::Unsigned(_, 0, _) => 0,
        Field::Unsigned(_, width, scale) => [1, (1i64 << width) - 1, 0][variant] * scale as i64,
        Field::Signed(_, width, scale) => {
            [2, (1i64 << (width - 1)) - 1, -(1i64 << (width - 1))][variant] * scale as i64
        }
        Field::Shift12(_) => [0, 12, 12][variant],
        Field::Hw(_) => [16, 48, 0][variant],
        Field::LslImm(width) | Field::LeftShift(width) => [1, width as i64 - 1, 0][variant],
        Field::RightShift(esize) => [1, esize as i64, 3][variant],
        Field::TestBit => [3, 63, 32][variant],
        Field::FracBits(width) => [1, width as i64, 16][variant],
        Field::Adr => [5, (1 << 20) - 1, -(1 << 20)][variant],
        Field::AdrPage => [1, (1 << 20) - 1, -(1 << 20)][variant] << 12,
        Field::PageOffset(size) => [1, 4095 / size as i64, 0][variant] * size as i64,
        Field::Imm8Split => [1, 255, 0][variant],
        Field::CmodeShift(esize) => [8, esize as i64 - 8, 0][variant],
        Field::ByteMask => [0xff, 0xff00_ff00_ff00_ff00u64 as i64, 0][variant],
        _ => 0,
    }
}

/// Every row with its three samples: the text and peach's word.
pub(super) fn samples() -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for row in rows() {
        for variant in 0..3 {
            let ops = sample(row, variant);
            let text: Vec<String> = (0..ops.len()).filter_map(|i| super::syntax::operand_text(&ops, i)).collect();
            let line = format!("{} {}", row.name, text.join(", ")).trim_end().to_string();
            let word = encode(row.name, &ops).unwrap_or_else(|e| panic!("{line}: {e}"));
            out.push((line, word));
        }
    }
    out
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Assembles `lines` into an object file with `assemble`, then reads `.text` back with
/// `objcopy`: one word per line, branches resolved.
fn assemble(lines: &[String], assemble: &[&str], objcopy: &str) -> Vec<u32> {
    let dir = crate::isa::text::scratch_dir("peach-a64");
    std::fs::create_dir_all(&dir).unwrap();
    let (src, obj, bin) = (dir.join("rows.s"), dir.join("rows.o"), dir.join("rows.bin"));
    std::fs::write(&src, lines.join("\n") + "\n").unwrap();
    let run = |cmd: &mut Command| {
        let out = cmd.output().expect("the assembler runs");
        assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    };
    run(Command::new(assemble[0]).args(&assemble[1..]).arg("-o").arg(&obj).arg(&src));
    run(Command::new(objcopy).args(["-O", "binary", "--only-section=.text"]).arg(&obj).arg(&bin));
    let bytes = std::fs::read(&bin).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes.chunks_exact(4).map(|w| u32::from_le_bytes(w.try_into().unwrap())).collect()
}

fn llvm_mc(lines: &[String]) -> Vec<u32> {
    assemble(
        lines,
        &[
            "llvm-mc",
            "-triple=aarch64",
            "-mattr=+neon,+dotprod,+fullfp16,+i8mm,+bf16,+crc,+aes,+sha2,+lse,+rdm,+rcpc,+ccpp",
            "-filetype=obj",
        ],
        "llvm-objcopy",
    )
}

fn gnu_as(lines: &[String]) -> Vec<u32> {
    assemble(
        lines,
        &["aarch64-linux-gnu-as", "-march=armv8.6-a+dotprod+fp16+i8mm+bf16+crc+aes+sha2+lse+rdm+rcpc"],
        "aarch64-linux-gnu-objcopy",
    )
}

fn compare(oracle: &str, ours: &[(String, u32)], theirs: &[u32]) {
    assert_eq!(theirs.len(), ours.len(), "{oracle} gave one word per line");
    let wrong: Vec<String> = ours
        .iter()
        .zip(theirs)
        .filter(|((_, a), b)| a != *b)
        .map(|((l, a), b)| format!("{l}: peach {a:08x}, {oracle} {b:08x}"))
        .collect();
    assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), ours.len(), wrong.join("\n"));
    eprintln!("{} AArch64 encodings identical to {oracle}", ours.len());
}

/// The golden file: llvm-mc's word for every sample, made by
/// `PEACH_BLESS=1 cargo test -p peach-core --lib aarch64::tests::golden_file`.
const GOLDEN: &str = include_str!("golden.txt");

#[test]
fn golden_file() {
    let ours = samples();
    if std::env::var_os("PEACH_BLESS").is_some() {
        let lines: Vec<String> = ours.iter().map(|(l, _)| l.clone()).collect();
        let words = llvm_mc(&lines);
        let text: String = lines.iter().zip(&words).map(|(l, w)| format!("{w:08x} {l}\n")).collect();
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/isa/aarch64/golden.txt"), text).unwrap();
        return;
    }
    let golden: Vec<(String, u32)> = GOLDEN
        .lines()
        .map(|l| {
            let (word, text) = l.split_once(' ').expect("`word text` lines");
            (text.to_string(), u32::from_str_radix(word, 16).expect("a hex word"))
        })
        .collect();
    let changed = ours.iter().zip(&golden).find(|(a, b)| a.0 != b.0);
    assert!(
        ours.len() == golden.len() && changed.is_none(),
        "the rows changed ({} samples, the golden file has {}; first difference: {changed:?}): regenerate the \
         golden file with PEACH_BLESS=1",
        ours.len(),
        golden.len()
    );
    compare("the golden file", &ours, &golden.iter().map(|(_, w)| *w).collect::<Vec<_>>());
}

#[test]
fn every_row_matches_llvm_mc() {
    if !have("llvm-mc") {
        assert!(std::env::var_os("CI").is_none(), "llvm-mc is missing");
        eprintln!("SKIPPED: llvm-mc is not installed");
        return;
    }
    let ours = samples();
    let lines: Vec<String> = ours.iter().map(|(l, _)| l.clone()).collect();
    compare("llvm-mc", &ours, &llvm_mc(&lines));
}

#[test]
fn every_row_matches_gnu_as() {
    if !have("aarch64-linux-gnu-as") {
        assert!(std::env::var_os("CI").is_none(), "aarch64-linux-gnu-as is missing");
        eprintln!("SKIPPED: aarch64-linux-gnu-as is not installed (binutils-aarch64-linux-gnu)");
        return;
    }
    // (GNU as takes no number for `adrp`'s page, only a symbol; llvm-mc checks those rows.)
    let ours: Vec<(String, u32)> = samples().into_iter().filter(|(l, _)| !l.starts_with("adrp ")).collect();
    let lines: Vec<String> = ours.iter().map(|(l, _)| l.clone()).collect();
    compare("GNU as", &ours, &gnu_as(&lines));
}

#[test]
fn out_of_range_values_are_errors() {
    assert!(encode("add", &[A64::X(0), A64::X(1), A64::Imm(4096)]).is_err());
    assert!(encode("ldr", &[A64::X(0), A64::Mem(1, 12)]).is_err());
    assert!(encode("b", &[A64::Label(1 << 28)]).is_err());
    // Unpredictable forms, which assemblers reject.
    assert!(encode("ldr", &[A64::X(3), A64::MemPost(3, 8)]).is_err());
    assert!(encode("stp", &[A64::X(1), A64::X(2), A64::MemPre(2, -16)]).is_err());
    assert!(encode("ldp", &[A64::X(4), A64::X(4), A64::Mem(1, 16)]).is_err());
    assert!(encode("ldr", &[A64::X(3), A64::MemPost(31, 8)]).is_ok());
    assert!(
        encode(
            "fadd",
            &[A64::V(0, super::Arrangement::S4), A64::V(1, super::Arrangement::D2), A64::V(2, super::Arrangement::S4)]
        )
        .is_err()
    );
    assert!(encode("frobnicate", &[]).is_err());
}

/// Every row states the role of its first operand and the extension it needs (no default).
#[test]
fn every_row_states_its_role() {
    let missing: Vec<&str> = rows().iter().filter(|r| super::table::first_role(r).is_none()).map(|r| r.name).collect();
    assert!(missing.is_empty(), "rows without a role: {missing:?}");
}

/// The destination of the instructions that keep part of it (TBX's out-of-range lanes, BFI's
/// other bits, MOVK's other halves, INS's other lanes) is read: writing one into a register that
/// holds nothing yet is "read before written", not a silent use of garbage (TBX and BFI used to
/// count as plain writes).
#[test]
fn partial_writers_read_their_destination() {
    use super::{A64Builder, A64Reg};
    use crate::ir::{Function, Operand, Signature, Type};
    use crate::{Abi, ErrorKind, Target};
    type Make = fn(&mut Function, crate::ir::Reg, crate::ir::Reg) -> (&'static str, Vec<Operand>);
    let cases: [(&str, Make); 4] = [
        ("tbx", |f, _, _| {
            let (d, t, i) = (f.v(), f.v(), f.v());
            f.ins("eor", (t.b16(), t.b16(), t.b16()));
            f.ins("eor", (i.b16(), i.b16(), i.b16()));
            ("tbx", vec![d.b16().into(), t.b16().into(), i.b16().into()])
        }),
        ("bfi", |f, _, b| {
            let d = f.x();
            ("bfi", vec![d.into(), b.into(), 8.into(), 8.into()])
        }),
        ("movk", |f, _, _| {
            let d = f.x();
            ("movk", vec![d.into(), 7.into()])
        }),
        ("ins", |f, a, _| {
            let d = f.v();
            ("ins", vec![d.s().lane(1).into(), a.w().into()])
        }),
    ];
    for (name, make) in cases {
        let mut f = Function::new("w", Signature::new(&[Type::U64, Type::U64], None), Target::aarch64_neon());
        let (a, b) = (f.param(0), f.param(1));
        let (m, ops) = make(&mut f, a, b);
        f.ins(m, ops.as_slice());
        f.ret(None);
        let e = f.compile(Abi::Aapcs64).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::UndefinedValue, "{name}: {e}");
    }
}

#[test]
fn encode_takes_the_first_row_that_fits() {
    assert_eq!(encode("add", &[A64::X(1), A64::X(2), A64::X(3)]).unwrap(), 0x8b03_0041);
}

/// Every named system register reads as llvm-mc encodes it (the names are typed in
/// `system.rs`; the words come from llvm-mc's own tables).
#[test]
fn system_register_names_match_llvm_mc() {
    if !have("llvm-mc") {
        assert!(std::env::var_os("CI").is_none(), "llvm-mc is missing");
        return;
    }
    let registers = super::system::SysReg::names().map(|name| {
        let reg = super::system::SysReg::by_name(name).expect("a named register");
        (format!("mrs x0, {name}"), encode("mrs", &[A64::X(0), A64::SysReg(reg.0)]).expect("mrs encodes"))
    });
    // The cache operations likewise.
    let operations = super::system::CacheOp::names().map(|(name, mnemonic)| {
        let op = super::system::CacheOp::by_name(name).expect("a named operation");
        (format!("{mnemonic} {name}, x3"), encode(mnemonic, &[A64::Cache(op.0), A64::X(3)]).expect("it encodes"))
    });
    let ours: Vec<(String, u32)> = registers.chain(operations).collect();
    let lines: Vec<String> = ours.iter().map(|(l, _)| l.clone()).collect();
    compare("llvm-mc", &ours, &llvm_mc(&lines));
}
