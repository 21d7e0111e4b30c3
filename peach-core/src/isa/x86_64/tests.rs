//! Encodings checked against an independent assembler: a sample of operands for every form peach
//! accepts (EVEX masks, zeroing, broadcast and rounding; memory bases rsp, r12, rbp, r13;
//! displacements that compress to disp8*N and ones that do not) goes through the public builder,
//! the listing's Intel text is assembled by `llvm-mc` in one batch, and the bytes must agree.

use std::collections::BTreeMap;
use std::process::Command;

use iced_x86::{EncodingKind, Register};

use super::forms::{Forms, ImmKind, Slot};
use super::regs::phys;
use crate::Abi;
use crate::ir::{Function, Mem, Operand, Reg, Rounding, Signature};
use crate::target::{Arch, ExtSet, Extension, Target};

/// Every extension but the VEX re-encodings of AVX-512 instructions (AVX-VNNI, AVX-IFMA, ...),
/// which peach would prefer and LLVM 14 does not know.
pub(super) fn all_extensions() -> Target {
    use iced_x86::CpuidFeature as F;
    let newer = [F::AVX_VNNI, F::AVX_IFMA, F::AVX_NE_CONVERT, F::AVX_VNNI_INT8];
    let mut s = ExtSet::EMPTY;
    for i in 0..256 {
        if !newer.iter().any(|f| *f as u16 == i) {
            s.insert(Extension(i));
        }
    }
    Target::new(Arch::X86_64, "everything", s)
}

const GP64: [Register; 8] = [
    Register::RAX,
    Register::RCX,
    Register::R9,
    Register::RSI,
    Register::R14,
    Register::RDX,
    Register::R11,
    Register::RBX,
];
const BASES: [Register; 7] =
    [Register::RSP, Register::R12, Register::RBP, Register::R13, Register::RAX, Register::R15, Register::RDI];
const DISPS: [i64; 6] = [0, 0x40, -0x80, 0x1000, 0x7f, 0x200];

fn sized(full: Register, bits: u16) -> Reg {
    phys(super::forms::full_to_sized(full, bits))
}

fn vector(bits: u16, n: u32) -> Reg {
    let base = match bits {
        128 => Register::XMM0,
        256 => Register::YMM0,
        _ => Register::ZMM0,
    };
    phys(super::forms::add_reg(base, n))
}

/// Operands for `variant` of a form, or `None` if the form is out of the test's reach.
pub(super) fn sample(form: &super::forms::Form, variant: usize) -> Option<Vec<Operand>> {
    let evex = form.encoding == EncodingKind::EVEX;
    let mut ops = Vec::new();
    let mut mem_seen = false;
    for (i, slot) in form.slots.iter().enumerate() {
        let k = variant + i;
        let use_mem = variant % 2 == 1 && !mem_seen;
        let op = match *slot {
            Slot::Gp { mem, .. } if mem && use_mem => None,
            Slot::Vec { mem, .. } | Slot::K { mem } | Slot::Bank { mem, .. } if mem && use_mem => None,
            Slot::Bank { bank, .. } => {
                let (first, count) = bank.sample();
                Some(Operand::Reg(phys(super::forms::add_reg(first, k as u32 % count))))
            }
            Slot::Gp { bits, .. } => Some(Operand::Reg(sized(GP64[k % GP64.len()], bits))),
            Slot::Vec { bits, .. } => {
                let n = if evex { (5 + 7 * k as u32) % 32 } else { (3 + 5 * k as u32) % 16 };
                Some(Operand::Reg(vector(bits, n)))
            }
            Slot::K { .. } => Some(Operand::Reg(phys(super::forms::add_reg(Register::K1, (k % 7) as u32)))),
            Slot::KPair => Some(Operand::Reg(phys(super::forms::add_reg(Register::K0, 2 * (k % 4) as u32)))),
            Slot::Block { bits } => Some(Operand::Reg(vector(bits, 4 * (k as u32 % 8)))),
            Slot::Mem => None,
            Slot::Vsib { bits } => {
                // An index register no other operand of the instance uses (a gather's
                // destination, index and mask must differ).
                let number = |k: usize| if evex { (5 + 7 * k as u32) % 32 } else { (3 + 5 * k as u32) % 16 };
                let taken = [number(variant), number(variant + 1), number(variant + 2)];
                let modulus = if evex { 32 } else { 16 };
                let n = (0..modulus).map(|d| (9 + variant as u32 + d) % modulus).find(|n| !taken.contains(n))?;
                mem_seen = true;
                let mut m =
                    Mem::base_disp(phys(BASES[(variant / 2) % BASES.len()]), DISPS[(variant / 2 + i) % DISPS.len()]);
                m.index = Some(vector(bits, n));
                m.scale = [1, 2, 4, 8][variant % 4];
                Some(Operand::Mem(m.sized(form.mem_size)))
            }
            Slot::Fixed(r) => Some(Operand::Reg(phys(r))),
            Slot::Imm(kind) => Some(Operand::Imm(match kind {
                ImmKind::U8 => 0x5a,
                ImmKind::I8 => -3,
                ImmKind::S8(_) => -3,
                ImmKind::I16 => 0x1234,
                ImmKind::I32 => 0x1234_5678,
                ImmKind::S32 => -0x10_0000,
                ImmKind::I64 => 0x1234_5678_9abc_def0,
                ImmKind::One => 1,
                ImmKind::U4 => 2 + variant as i64 % 14,
            })),
            Slot::Branch => return None,
            // Addresses a 32-bit displacement cannot hold (those are `[disp32]` memory operands).
            Slot::Moffs => Some(Operand::Abs64(crate::ir::Abs64::new(
                [0x1122_3344_5566_7788, 0xffff_8000_0000_0040, 0x1_0000_0000][variant % 3],
                form.mem_size as u8,
            ))),
        };
        let op = match op {
            Some(op) => op,
            None => {
                mem_seen = true;
                let base = BASES[(variant / 2) % BASES.len()];
                let mut disp = DISPS[(variant / 2 + i) % DISPS.len()];
                if evex && variant % 4 == 3 {
                    disp = 64 * (form.mem_size.max(1) as i64 / 64).max(1); // compresses to disp8*N
                }
                let mut m = Mem::base_disp(phys(base), disp).sized(form.mem_size);
                if variant.is_multiple_of(3) {
                    m.index = Some(phys(if base == Register::R13 { Register::RCX } else { Register::R9 }));
                    m.scale = [1, 2, 4, 8][variant % 4];
                }
                if form.bcst_size != 0 && variant % 4 == 1 {
                    m = m.sized(form.bcst_size).bcst_to((form.mem_size / form.bcst_size) as u8);
                }
                // BNDLDX and BNDSTX take their index unscaled.
                if form.code.op_code().op_kinds().contains(&iced_x86::OpCodeOperandKind::mem_mib) {
                    m.scale = 1;
                }
                // A 32-bit register holding an address takes a 32-bit source address.
                if form.code.op_code().op_kinds().contains(&iced_x86::OpCodeOperandKind::r32_reg_mem) {
                    let narrow = |r: Reg| sized(super::regs::iced(r).unwrap_or(Register::RAX), 32);
                    m.base = m.base.map(narrow);
                    m.index = m.index.map(narrow);
                }
                Operand::Mem(m)
            }
        };
        ops.push(op);
    }
    if form.can_mask && (variant % 3 != 2 || form.needs_mask) {
        let k = phys(super::forms::add_reg(Register::K1, (variant % 7) as u32));
        match ops.first().copied() {
            Some(Operand::Reg(r)) => {
                let mut m = r.mask(k);
                if form.can_zero && variant.is_multiple_of(2) {
                    m = m.zeroing();
                }
                ops[0] = Operand::Masked(m);
            }
            // A masked store (stores merge: no zeroing).
            Some(Operand::Mem(_)) => ops.push(Operand::MemMask(k)),
            _ => {}
        }
    }
    let has_mem = ops.iter().any(|o| matches!(o, Operand::Mem(_)));
    if !has_mem && form.can_round && variant.is_multiple_of(2) {
        ops.push(Operand::Rounding(
            // Variants 0, 2, 4 and 6: each rounding mode once.
            [Rounding::NearestSae, Rounding::DownSae, Rounding::UpSae, Rounding::ZeroSae][(variant / 2) % 4],
        ));
    } else if !has_mem && form.can_sae && variant.is_multiple_of(2) {
        ops.push(Operand::Rounding(Rounding::Sae));
    }
    Some(ops)
}

/// `llvm-mc`'s encoding of each line, in Intel syntax (`None` where it rejects the line).
pub(super) fn llvm_mc(lines: &[String]) -> Option<Vec<Option<Vec<u8>>>> {
    crate::isa::text::llvm_mc_lines(
        ".intel_syntax noprefix",
        &["-triple=x86_64", "-x86-asm-syntax=intel", "-output-asm-variant=1"],
        lines,
    )
}

/// Whether two encodings decode to the same instruction: where the ISA has two encodings and
/// assemblers pick differently (FMA4's operand placement chosen by W, `XCHG`'s symmetric
/// operands, the optional 66 prefix of `VERW r16`), peach's choice is still correct.
pub(super) fn same_instruction(a: &[u8], b: &[u8]) -> bool {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter, Mnemonic};
    let text = |bytes: &[u8]| {
        let ins = Decoder::new(64, bytes, DecoderOptions::NONE).decode();
        let mut s = String::new();
        IntelFormatter::new().format(&ins, &mut s);
        if ins.mnemonic() == Mnemonic::Xchg {
            let mut ops: Vec<String> = s.trim_start_matches("xchg ").split(',').map(|o| o.trim().to_string()).collect();
            ops.sort();
            s = ops.join(",");
        }
        (s, ins.len() == bytes.len())
    };
    let (ta, ok_a) = text(a);
    let (tb, ok_b) = text(b);
    ok_a && ok_b && ta == tb
}

#[test]
fn encodings_agree_with_llvm_mc() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let forms = Forms::get();
    let target = all_extensions();
    let mut f = Function::new("forms", Signature::default(), target.clone());
    let mut tried: BTreeMap<String, usize> = BTreeMap::new();
    let mut rejected = 0;
    for form in forms.iter() {
        for variant in 0..4 {
            let Some(ops) = sample(form, variant) else { continue };
            let mnemonic = format!("{:?}", form.code.mnemonic());
            let mut probe = Function::new("probe", Signature::default(), target.clone());
            probe.ins(&mnemonic, ops.as_slice());
            if !probe.errors().is_empty() {
                rejected += 1;
                continue;
            }
            f.ins(&mnemonic, ops.as_slice());
            *tried.entry(mnemonic).or_default() += 1;
        }
    }
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let lines = code.lines();
    let texts: Vec<String> = lines.iter().map(|l| l.intel.clone()).collect();
    let theirs = llvm_mc(&texts).expect("llvm-mc runs");
    let (mut same, mut equivalent, mut unknown) = (0usize, 0usize, 0usize);
    let mut codes_checked = std::collections::HashSet::new();
    let mut mismatches = Vec::new();
    for (l, t) in lines.iter().zip(&theirs) {
        let ours = &code.bytes()[l.offset..l.offset + l.len];
        // `XCHG rax, rax` is a no-op: llvm-mc shortens it to NOP, a different instruction.
        let self_xchg = l.intel == "xchg rax, rax";
        match t {
            None => unknown += 1,
            Some(_) if self_xchg => unknown += 1,
            Some(t) if t.as_slice() == ours => {
                same += 1;
                codes_checked.insert(l.intel.split(' ').next().unwrap_or("").to_string() + &format!("/{}", l.len));
            }
            Some(t) if same_instruction(ours, t) => equivalent += 1,
            Some(t) => mismatches.push((l.intel.clone(), ours.to_vec(), t.clone())),
        }
    }
    // Where llvm-mc picks another instruction (`mov ax, cs` as `mov eax, cs`), GNU as decides.
    let gnu = crate::isa::text::gnu_as_lines(
        "as",
        ".intel_syntax noprefix",
        &mismatches.iter().map(|(l, ..)| l.clone()).collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let mut gnu_agrees = 0;
    let mismatches: Vec<String> = mismatches
        .iter()
        .enumerate()
        .filter(|(k, (_, ours, _))| {
            let agrees = gnu.get(*k).is_some_and(|g| g.as_deref() == Some(ours.as_slice()));
            gnu_agrees += usize::from(agrees);
            !agrees
        })
        .map(|(_, (l, ours, t))| format!("{l}: peach {ours:02x?} llvm-mc {t:02x?}"))
        .collect();
    eprintln!(
        "{} instructions: {same} identical to llvm-mc, {equivalent} other encodings of the same instruction, \
         {gnu_agrees} where llvm-mc differs and GNU as agrees, {} differ, {unknown} not accepted by llvm-mc; \
         {rejected} samples rejected by peach; {} mnemonics",
        lines.len(),
        mismatches.len(),
        tried.len()
    );
    assert!(mismatches.is_empty(), "{} encodings differ from llvm-mc:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(same >= 2000, "only {same} encodings were compared");
}

/// The directives `peach_fn!` puts in `global_asm!` assemble for ELF, Mach-O and COFF (checked
/// with llvm-mc's object writers, since only ELF can be linked and run here), and the object's
/// text holds exactly the code.
#[test]
fn asm_lines_assemble_for_every_object_format() {
    use crate::emit::ObjectFormat;
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let mut f =
        Function::new("k", Signature::new(&[crate::ir::Type::U64], Some(crate::ir::Type::U64)), all_extensions());
    let x = f.param(0);
    f.ins("add", (x, 1));
    f.ret(x);
    let code = f.compile(Abi::SysV).unwrap();
    let dir = crate::isa::text::scratch_dir("peach-asm");
    std::fs::create_dir_all(&dir).unwrap();
    for (format, triple) in [
        (ObjectFormat::Elf, "x86_64-unknown-linux-gnu"),
        (ObjectFormat::MachO, "x86_64-apple-macosx"),
        (ObjectFormat::Coff, "x86_64-pc-windows-msvc"),
    ] {
        let src = dir.join("k.s");
        std::fs::write(&src, code.asm_lines("__peach_k_0123", format).join("\n") + "\n").unwrap();
        let obj = dir.join("k.o");
        let out = Command::new("llvm-mc")
            .args([&format!("-triple={triple}"), "-filetype=obj", "-o"])
            .arg(&obj)
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "{format:?}: {}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&obj).unwrap();
        assert!(bytes.windows(code.bytes().len()).any(|w| w == code.bytes()), "{format:?}: the code is in the object");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The form-selection memo never changes what is accepted or chosen: each instruction checked
/// cold (a fresh thread, so an empty memo) and warm (after every other one, in one function)
/// gives the same form and operands, or the same error. The cases are the collisions the memo
/// used to have (a zero-padded mnemonic, a virtual mask next to a physical vector register used
/// as a mask) and what it must not skip: a form's own checks on operands of the same kinds, the
/// shorthand with a write mask, prefixes, string instructions' operands, decorations.
#[test]
fn memo_is_exact() {
    use super::X86Builder;
    use super::reg::*;
    type Case = (&'static str, fn(&mut Function) -> Vec<Operand>);
    let cases: Vec<Case> = vec![
        ("add", |_| vec![RAX.into(), 1.into()]),
        ("add\0", |_| vec![RAX.into(), 1.into()]),
        ("ADD", |_| vec![RAX.into(), 1.into()]),
        ("vaddps", |f| {
            let k = f.k();
            vec![ZMM1.mask(k).into(), ZMM2.into(), ZMM3.into()]
        }),
        ("vaddps", |_| vec![ZMM1.mask(ZMM19).into(), ZMM2.into(), ZMM3.into()]),
        ("vaddps", |_| vec![ZMM1.mask(K3).into(), ZMM2.into(), ZMM3.into()]),
        ("vaddps", |_| vec![ZMM1.mask(K0).into(), ZMM2.into(), ZMM3.into()]),
        ("vaddps", |f| {
            let k = f.k();
            vec![ZMM1.mask(k).zeroing().into(), ZMM2.into(), ZMM3.into()]
        }),
        ("vaddps", |f| {
            let x = f.xmm();
            vec![ZMM1.mask(x).into(), ZMM2.into(), ZMM3.into()]
        }),
        ("mov", |_| vec![RAX.into(), (1i64 << 40).into()]),
        ("mov", |_| vec![EAX.into(), (1i64 << 40).into()]),
        // The same kinds of operands, distinct registers or not (the form's check).
        ("vfcmulcph", |f| {
            let (a, b, c) = (f.zmm(), f.zmm(), f.zmm());
            vec![a.into(), b.into(), c.into()]
        }),
        ("vfcmulcph", |f| {
            let (a, b) = (f.zmm(), f.zmm());
            vec![a.into(), a.into(), b.into()]
        }),
        // The two-operand shorthand, masked: the source repeated without the mask.
        ("vaddps", |f| {
            let (a, b, k) = (f.zmm(), f.zmm(), f.k());
            vec![a.mask(k).into(), b.into()]
        }),
        ("lock add", |f| {
            let p = f.gp64();
            vec![Mem::base_disp(p, 0).sized(8).into(), 1.into()]
        }),
        ("add", |f| {
            let p = f.gp64();
            vec![Mem::base_disp(p, 0).sized(8).into(), 1.into()]
        }),
        ("movsb", |_| vec![Mem::base_disp(RDI, 0).sized(1).into(), Mem::base_disp(RSI, 0).sized(1).into()]),
        ("movsb", |_| vec![Mem::base_disp(RAX, 0).sized(1).into(), Mem::base_disp(RSI, 0).sized(1).into()]),
        ("vmovups", |f| {
            let (p, x, k) = (f.gp64(), f.zmm(), f.k());
            vec![Mem::base_disp(p, 0).into(), Operand::MemMask(k), x.into()]
        }),
    ];
    let target = Target::named("sapphirerapids").unwrap(); // (for the AVX512-FP16 complex multiplies)
    // The operands as written out, virtual registers renumbered by first appearance (the warm
    // function has made more of them).
    fn renumbered(ops: &[Operand]) -> String {
        let text = format!("{ops:?}");
        let (mut out, mut seen, mut rest) = (String::new(), Vec::new(), text.as_str());
        while let Some(at) = rest.find(" v").or_else(|| rest.find("(v")) {
            let (head, tail) = rest.split_at(at + 2);
            let digits = tail.find(|c: char| !c.is_ascii_digit()).unwrap_or(tail.len());
            let number = &tail[..digits];
            let k = seen.iter().position(|s| *s == number).unwrap_or_else(|| {
                seen.push(number);
                seen.len() - 1
            });
            out += head;
            out += &k.to_string();
            rest = &tail[digits..];
        }
        out + rest
    }
    let outcome = |f: &mut Function, (m, ops): &Case| {
        let mut ops = ops(f);
        <super::X86_64 as crate::isa::Isa>::check_inst(f, m, &mut ops)
            .map(|c| (format!("{:?}", super::code_of(c)), renumbered(&ops)))
            .map_err(|e| e.to_string())
    };
    let cold: Vec<_> = cases
        .iter()
        .map(|case| {
            let (case, target) = (*case, target.clone());
            std::thread::spawn(move || {
                let mut f = Function::new("cold", Signature::new(&[], None), target);
                outcome(&mut f, &case)
            })
            .join()
            .unwrap()
        })
        .collect();
    let mut f = Function::new("warm", Signature::new(&[], None), target);
    for pass in 0..2 {
        for (case, want) in cases.iter().zip(&cold) {
            assert_eq!(&outcome(&mut f, case), want, "{} (pass {pass})", case.0);
        }
    }
    assert!(cold[1].is_err() && cold[4].is_err() && cold[8].is_err(), "{cold:?}");
    let n = cold.len();
    assert!(cold[n - 8].is_ok() && cold[n - 7].is_err(), "the form's check: {cold:?}");
    assert!(cold[n - 6].as_ref().is_ok_and(|(_, ops)| ops.matches("Masked(Masked").count() == 1), "{cold:?}");
    assert!(cold[n - 5].is_ok() && cold[n - 4].is_ok() && cold[n - 1].is_ok(), "{cold:?}");
    assert!(cold[n - 3].is_ok() && cold[n - 2].is_err(), "string operands: {cold:?}");
}

/// A broadcast whose count the other operands do not decide: `bcst()` is an error that asks for
/// the count, `bcst_to(n)` encodes exactly `{1toN}`, byte for byte what llvm-mc makes of the same
/// text (written here, not printed by peach).
#[test]
fn broadcast_counts_are_explicit() {
    let cases: &[(&str, u16, u8, &str)] = &[
        ("vcvtpd2ps", 8, 2, "vcvtpd2ps xmm0, qword ptr [rdi]{1to2}"),
        ("vcvtpd2ps", 8, 4, "vcvtpd2ps xmm0, qword ptr [rdi]{1to4}"),
        ("vcvtqq2ps", 8, 2, "vcvtqq2ps xmm0, qword ptr [rdi]{1to2}"),
        ("vcvtqq2ps", 8, 4, "vcvtqq2ps xmm0, qword ptr [rdi]{1to4}"),
        ("vcvttpd2udq", 8, 4, "vcvttpd2udq xmm0, qword ptr [rdi]{1to4}"),
        ("vcvtpd2dq", 8, 2, "vcvtpd2dq xmm0, qword ptr [rdi]{1to2}"),
        ("vcvtuqq2ps", 8, 4, "vcvtuqq2ps xmm0, qword ptr [rdi]{1to4}"),
    ];
    let mut texts = Vec::new();
    let mut ours = Vec::new();
    for &(m, size, n, text) in cases {
        let build = |mem: Mem| {
            let mut f = Function::new("b", Signature::new(&[crate::ir::Type::Ptr], None), Target::x86_64_v4());
            f.ins(m, (super::reg::XMM0, mem));
            f.ret(None);
            f.compile(Abi::SysV)
        };
        let base = Mem::from([super::reg::RDI]).sized(size);
        let e = build(base.bcst()).expect_err("an ambiguous count");
        assert!(e.message().contains("broadcast count is ambiguous"), "{m}: {e}");
        let code = build(base.bcst_to(n)).unwrap_or_else(|e| panic!("{m} {{1to{n}}}: {e}"));
        // The instruction, then `ret`: nothing to save, no upper state to clear.
        let bytes = code.bytes();
        assert_eq!(bytes.last(), Some(&0xc3), "{}", code.listing());
        ours.push(bytes[..bytes.len() - 1].to_vec());
        texts.push(text.to_string());
    }
    let Some(theirs) = llvm_mc(&texts) else {
        eprintln!("skipped the comparison: llvm-mc is not installed");
        return;
    };
    for ((text, ours), theirs) in texts.iter().zip(&ours).zip(&theirs) {
        assert_eq!(Some(ours), theirs.as_ref(), "{text}");
    }
}

/// What stands between peach and a form it does not take: the first operand kind it cannot
/// express, by group, or the encoding.
fn missing_reason(code: iced_x86::Code) -> String {
    use iced_x86::OpCodeOperandKind as K;
    let op = code.op_code();
    match op.encoding() {
        EncodingKind::D3NOW => return "3DNow! (AMD, withdrawn)".into(),
        EncodingKind::MVEX => return "MVEX (Knights Corner)".into(),
        _ => {}
    }
    if code.cpuid_features().contains(&iced_x86::CpuidFeature::KNC) {
        return "Knights Corner VEX".into();
    }
    let Some(kind) = op.op_kinds().iter().copied().find(|k| super::forms::slot(*k).is_none()) else {
        return format!("a form peach drops: `{code:?}`");
    };
    match kind {
        K::br16_1 | K::br16_2 | K::xbegin_2 => {
            "branches of 16-bit operand size (a `66` prefix; AMD cuts RIP to 16 bits)".into()
        }
        _ => format!("operand kind `{kind:?}`"),
    }
}

/// The README's x86-64 coverage tables, generated: every 64-bit-mode instruction form iced-x86
/// knows, by encoding, and what keeps peach from the rest. `PEACH_BLESS=1 cargo test -p
/// peach-core --lib coverage` rewrites them.
#[test]
fn coverage_tables_in_the_readme_are_current() {
    let forms = Forms::get();
    let mut factory = iced_x86::InstructionInfoFactory::new();
    // encoding -> (forms, encoded, aliases)
    let mut by_encoding: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut missing: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for code in iced_x86::Code::values() {
        let op = code.op_code();
        if !op.is_instruction() || !op.mode64() {
            continue;
        }
        let encoding = match op.encoding() {
            EncodingKind::Legacy => "Legacy",
            EncodingKind::VEX => "VEX",
            EncodingKind::EVEX => "EVEX",
            EncodingKind::XOP => "XOP",
            EncodingKind::D3NOW => "3DNow!",
            EncodingKind::MVEX => "MVEX",
            _ => "other",
        };
        let row = by_encoding.entry(encoding.into()).or_default();
        row.0 += 1;
        if forms.form(code).is_some() {
            row.1 += 1;
        } else if super::forms::make_form(code, &mut factory).is_some() {
            row.2 += 1;
        } else {
            let entry = missing.entry(missing_reason(code)).or_insert((0, String::new()));
            entry.0 += 1;
            if entry.1.is_empty() {
                entry.1 = match op.instruction_string() {
                    "" => format!("{code:?}"),
                    text => text.to_string(),
                };
            }
        }
    }
    let mut table = String::from(
        "| encoding | 64-bit forms | peach encodes | same text as a twin | not yet |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    let mut total = (0, 0, 0);
    for (encoding, (all, ours, aliases)) in &by_encoding {
        table.push_str(&format!("| {encoding} | {all} | {ours} | {aliases} | {} |\n", all - ours - aliases));
        total = (total.0 + all, total.1 + ours, total.2 + aliases);
    }
    table.push_str(&format!(
        "| all | {} | {} | {} | {} |\n\n| not yet, because of | forms | for example |\n| --- | ---: | --- |\n",
        total.0,
        total.1,
        total.2,
        total.0 - total.1 - total.2
    ));
    let mut reasons: Vec<_> = missing.into_iter().collect();
    reasons.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    for (reason, (count, example)) in reasons {
        table.push_str(&format!("| {reason} | {count} | `{example}` |\n"));
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).expect("the README");
    let (begin, end) = ("<!-- x86 coverage: begin -->\n", "<!-- x86 coverage: end -->");
    let (Some(a), Some(b)) = (readme.find(begin), readme.find(end)) else {
        panic!("the README has no `{begin}` ... `{end}` section")
    };
    let current = &readme[a + begin.len()..b];
    if current != table {
        if std::env::var_os("PEACH_BLESS").is_some() {
            let updated = format!("{}{table}{}", &readme[..a + begin.len()], &readme[b..]);
            std::fs::write(&path, updated).expect("README written");
        } else {
            panic!(
                "the README's x86-64 coverage is stale: run `PEACH_BLESS=1 cargo test -p peach-core --lib coverage`\n{table}"
            );
        }
    }
}

/// `jcc` and `jmp` to labels, forward and backward, over gaps that keep them short and that
/// make them near: each lands on its label (the bytes are iced's too, in debug builds).
#[test]
fn jumps_reach_their_labels_short_and_near() {
    use crate::ir::Type;
    for gap in [0usize, 16, 40, 5000] {
        let mut f = Function::new("jumps", Signature::new(&[Type::Usize], None), Target::x86_64_v3());
        let n = f.param(0);
        let (top, end) = (f.label(), f.label());
        f.bind(top);
        f.ins("sub", (n, 1));
        f.ins("jz", end);
        for _ in 0..gap {
            // 7 bytes each: 16 of them keep both jumps short, 40 do not.
            f.ins("add", (n, 0x12345));
        }
        f.ins("jmp", top);
        f.bind(end);
        f.ret(None);
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
        let decoded: Vec<iced_x86::Instruction> =
            iced_x86::Decoder::with_ip(64, code.bytes(), 0, iced_x86::DecoderOptions::NONE).into_iter().collect();
        let at = |m: iced_x86::Mnemonic| decoded.iter().position(|i| i.mnemonic() == m).expect("the jump is there");
        let (jz, jmp, sub) =
            (&decoded[at(iced_x86::Mnemonic::Je)], &decoded[at(iced_x86::Mnemonic::Jmp)], at(iced_x86::Mnemonic::Sub));
        let after_jmp = jmp.next_ip();
        assert_eq!(jz.near_branch_target(), after_jmp, "gap {gap}: jz lands after the jmp");
        assert_eq!(jmp.near_branch_target(), decoded[sub].ip(), "gap {gap}: jmp lands on the sub");
        let near = gap >= 40;
        assert_eq!((jz.len(), jmp.len()), if near { (6, 5) } else { (2, 2) }, "gap {gap}");
    }
}

/// The allocator's short path (forms with an `AllocPlan`) reports what the general path does,
/// for every such form: virtual and physical registers, memory where a slot takes it, merge and
/// zeroing write masks on the destination, a memory destination's mask, a register or memory
/// operand past the slots.
#[test]
fn planned_forms_visit_as_the_general_path() {
    use super::regs::{GP, MASK, VEC, VIEW_32, VIEW_64, VIEW_XMM, VIEW_YMM, VIEW_ZMM};
    use crate::ir::{Masked, UnitSet, VRegInfo};
    use crate::isa::{Isa, Role};
    let target = all_extensions();
    let mut planned = 0;
    for form in Forms::get().iter() {
        let Some(plan) = &form.alloc_plan else { continue };
        planned += 1;
        let mut next = 100;
        let mut virt = |class, view| {
            next += 1;
            Reg::virt(class, view, next)
        };
        // Each slot's register, virtual or physical, or memory where it takes memory.
        let operands = |physical: bool, memory: bool, virt: &mut dyn FnMut(_, _) -> Reg| -> Vec<Operand> {
            let mem = |virt: &mut dyn FnMut(_, _) -> Reg| {
                let (base, index) = (virt(GP, VIEW_64), virt(GP, VIEW_64));
                Operand::Mem(Mem { index: Some(index), scale: 4, ..Mem::base_disp(base, 8) })
            };
            form.slots
                .iter()
                .enumerate()
                .map(|(i, slot)| match *slot {
                    Slot::Gp { mem: true, .. } | Slot::Vec { mem: true, .. } | Slot::K { mem: true } if memory => {
                        mem(virt)
                    }
                    Slot::Gp { bits, .. } if physical => {
                        phys(if bits == 64 { GP64[i] } else { GP64[i].full_register32() }).into()
                    }
                    Slot::Gp { bits, .. } => virt(GP, if bits == 64 { VIEW_64 } else { VIEW_32 }).into(),
                    Slot::Vec { bits, .. } => {
                        let view = match bits {
                            512 => VIEW_ZMM,
                            256 => VIEW_YMM,
                            _ => VIEW_XMM,
                        };
                        if physical {
                            let base = match bits {
                                512 => Register::ZMM0,
                                256 => Register::YMM0,
                                _ => Register::XMM0,
                            };
                            phys(forms_add(base, 3 * i as u32 + 1)).into()
                        } else {
                            virt(VEC, view).into()
                        }
                    }
                    Slot::K { .. } if physical => phys(forms_add(Register::K0, i as u32 + 1)).into(),
                    Slot::K { .. } => virt(MASK, 0).into(),
                    Slot::Mem => mem(virt),
                    _ => Operand::Imm(1),
                })
                .collect()
        };
        let mut cases = Vec::new();
        for (physical, memory) in [(false, false), (true, false), (false, true), (true, true)] {
            let ops = operands(physical, memory, &mut virt);
            if form.can_mask && !ops.is_empty() {
                let mask = virt(MASK, 0);
                for zeroing in [false, true] {
                    let mut masked = ops.clone();
                    if let Operand::Reg(reg) = masked[0] {
                        masked[0] = Operand::Masked(Masked { reg, mask, zeroing });
                        cases.push(masked);
                    } else {
                        masked.push(Operand::MemMask(mask));
                        cases.push(masked);
                    }
                }
            }
            let (mut past, mut past_mem) = (ops.clone(), ops.clone());
            past.push(Operand::Reg(virt(VEC, VIEW_XMM)));
            past_mem.push(Operand::Mem(Mem::base_disp(virt(GP, VIEW_64), 0)));
            cases.extend([ops, past, past_mem]);
        }
        // Values used at their own width only, and values also used as zmm (a legacy xmm write
        // keeps their upper lanes).
        let wide = vec![VRegInfo { class: VEC, max_view: VIEW_ZMM, loc: 0 }; next as usize + 8];
        for ops in cases {
            for vregs in [&[][..], &wide[..]] {
                let (mut short, mut general) = (Vec::new(), Vec::new());
                let opcode = form.code as u32;
                super::X86_64::visit(&target, vregs, opcode, &ops, &mut |r: Reg, role: Role, units: UnitSet| {
                    short.push((r, role, units))
                });
                super::visit_form(form, &target, vregs, opcode, &ops, &mut |r: Reg, role: Role, units: UnitSet| {
                    general.push((r, role, units))
                });
                assert_eq!(short, general, "{:?} on {ops:?} ({plan:?})", form.code);
            }
        }
    }
    assert!(planned > 2000, "{planned} forms with plans");
}

/// Register `r` plus `n` in its bank.
fn forms_add(r: Register, n: u32) -> Register {
    super::forms::add_reg(r, n)
}

/// Compiles `f` (ending it with a return) and compares the bytes of each instruction after the
/// prologue's saves with llvm-mc's for `texts`, in order: how many are equal, how many are
/// another encoding of the same instruction (see [`same_instruction`]), how many llvm-mc
/// refuses; any other difference fails.
fn against_llvm_mc(mut f: Function, texts: &[String]) -> (usize, usize, usize) {
    f.ret(None);
    assert!(f.errors().is_empty(), "{:?}", f.errors().first());
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let theirs = llvm_mc(texts).expect("llvm-mc runs");
    // After the prologue: saves of the callee-saved registers the instructions name, and the
    // stack's alignment.
    let lines = code.lines();
    let saves = lines.iter().take_while(|l| l.intel.starts_with("push ") || l.intel.starts_with("sub rsp,")).count();
    assert!(lines.len() >= saves + texts.len(), "one line per instruction");
    let (mut equal, mut equivalent, mut refused) = (0, 0, 0);
    for ((line, text), t) in lines[saves..].iter().zip(texts).zip(&theirs) {
        let ours = &code.bytes()[line.offset..line.offset + line.len];
        match t {
            None => refused += 1,
            Some(t) if ours == t.as_slice() => equal += 1,
            Some(t) => {
                assert!(same_instruction(ours, t), "{text}: peach {ours:02x?}, llvm-mc {t:02x?}");
                equivalent += 1;
            }
        }
    }
    (equal, equivalent, refused)
}

/// The legacy forms of registers and an immediate encoded straight from the allocation with
/// their alternative chosen by the value (`Form::imm_choice`: `add rsi, 128` as `48 81 C6`,
/// `add rsi, 1` as `48 83 C6`, `add rax, 128` left to the choice after allocation) are encoded
/// as llvm-mc encodes the same text, for random registers 0-15 (0, which the accumulator forms
/// name, once in every slot) and values at the edges of each immediate kind (written here, not
/// read from peach's listing); debug builds also check each against the choice made after
/// allocation.
#[test]
fn imm_choices_agree_with_llvm_mc() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let target = all_extensions();
    let mut f = Function::new("imm_choices", Signature::default(), target.clone());
    let mut texts = Vec::new();
    let mut rnd = super::vex::tests::rng(0x9E6C_63D0_676A_9A99);
    let mut choices = 0;
    let values = [0i64, 1, -1, 127, 128, -128, -129, 255, 256, 32767, -32769, 65535, 65536, 0x7FFF_FFFF, -0x8000_0000];
    for form in Forms::get().iter() {
        if form.imm_choice.is_none() {
            continue;
        }
        choices += 1;
        let Some(Slot::Imm(kind)) = form.slots.last().copied() else { continue };
        for (round, &v) in values.iter().filter(|&&v| kind.fits(v)).enumerate() {
            let mut names = Vec::new();
            let mut ops = Vec::new();
            for (i, slot) in form.slots.iter().enumerate() {
                let n = if i == round % form.slots.len() { 0 } else { rnd(16) as u32 };
                let r = match slot {
                    Slot::Imm(_) => {
                        names.push(v.to_string());
                        ops.push(Operand::Imm(v));
                        continue;
                    }
                    Slot::Gp { bits: 64, .. } => forms_add(Register::RAX, n),
                    Slot::Gp { .. } => forms_add(Register::EAX, n),
                    _ => forms_add(Register::XMM0, n),
                };
                names.push(format!("{r:?}").to_ascii_lowercase());
                ops.push(Operand::Reg(phys(r)));
            }
            let mnemonic = format!("{:?}", form.code.mnemonic()).to_ascii_lowercase();
            f.ins(&mnemonic, ops.as_slice());
            texts.push(format!("{mnemonic} {}", names.join(", ")));
        }
    }
    let (equal, equivalent, unknown) = against_llvm_mc(f, &texts);
    let compared = equal + equivalent;
    eprintln!(
        "{compared} instructions of {choices} forms with an immediate choice: as llvm-mc encodes them but \
         {equivalent} other encodings of the same instruction (`pinsrw xmm0, rbx, 0`: peach writes the REX.W \
         form of a 64-bit register, llvm-mc the one without W, which the CPU ignores there), and {unknown} \
         llvm-mc refuses"
    );
    assert!(compared >= 300 && unknown * 10 < compared, "{compared} compared, {unknown} refused");
    assert!(equivalent * 10 < compared, "{equivalent} of {compared}");
    assert!(choices >= 20, "{choices} forms with an immediate choice");
}

/// Instructions that read a pool constant, with values in registers, are encoded straight from
/// the allocation with the constant's displacement where the CPU reads it: for every form with
/// a direct encoder and a memory operand (the constant of the form's memory size), iced decodes
/// the compiled bytes to an instruction reading the constant's bytes, with its immediate.
/// (Debug builds also compare each with iced's encoding and with the choice after allocation.)
#[test]
fn constant_reads_from_the_allocation_decode_to_the_constant() {
    use super::{X86Builder, X86Reg};
    use crate::ir::Constant;
    use iced_x86::{Decoder, DecoderOptions, OpKind};
    let (mut compiled, mut checked) = (0, 0);
    for form in Forms::get().iter() {
        let direct = form.vex.is_some() || form.evex.is_some() || form.legacy.is_some() || form.is4.is_some();
        let Some(mem_slot) = form.slots.iter().position(|s| s.takes_mem()) else { continue };
        let size = form.mem_size as usize;
        if !direct || !size.is_power_of_two() || size > 64 {
            continue;
        }
        let mut f = Function::new("reads", Signature::default(), all_extensions());
        let pattern: Vec<u8> = (0..size).map(|i| 0xA0 ^ i as u8).collect();
        let constant = f.constant(Constant::from_bytes(&pattern).expect("a power of two"));
        let ops: Option<Vec<Operand>> = form
            .slots
            .iter()
            .enumerate()
            .map(|(i, slot)| {
                Some(match *slot {
                    _ if i == mem_slot => Operand::Mem(constant),
                    Slot::Gp { bits: 64, .. } => f.gp64().into(),
                    Slot::Gp { bits: 32, .. } => f.gp32().into(),
                    Slot::Vec { bits: 512, .. } => f.zmm().into(),
                    Slot::Vec { bits: 256, .. } => f.ymm().into(),
                    Slot::Vec { .. } => f.xmm().into(),
                    Slot::K { .. } => f.k().into(),
                    Slot::Imm(_) => Operand::Imm(5),
                    _ => return None,
                })
            })
            .collect();
        let Some(ops) = ops else { continue };
        // Values read before anything writes them are refused: each register is written first.
        for op in &ops {
            if let Operand::Reg(r) = op {
                match r.class() {
                    super::regs::GP => f.ins("xor", (r.r32(), r.r32())),
                    super::regs::MASK => {
                        let g = f.gp32();
                        f.ins("xor", (g, g));
                        f.ins("kmovw", (*r, g));
                    }
                    _ => f.ins("vpxord", (*r, *r, *r)),
                }
            }
        }
        let mnemonic = format!("{:?}", form.code.mnemonic()).to_ascii_lowercase();
        f.ins(&mnemonic, ops.as_slice());
        f.ret(None);
        // (Forms the builder does not pick for these operands are left out; what it takes must
        // compile.)
        if !f.errors().is_empty() {
            continue;
        }
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{:?}: {e}", form.code));
        compiled += 1;
        let bytes = code.bytes();
        let mut decoder = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
        let read = decoder.iter().find(|ins| ins.is_ip_rel_memory_operand());
        let Some(ins) = read else { panic!("{:?}: no instruction reads the constant", form.code) };
        let at = ins.ip_rel_memory_address() as usize;
        assert_eq!(bytes.get(at..at + size), Some(pattern.as_slice()), "{:?}: reads {at:#x}", form.code);
        if let Some(i) = (0..ins.op_count()).find(|&i| matches!(ins.op_kind(i), OpKind::Immediate8)) {
            assert_eq!(ins.immediate(i), 5, "{:?}", form.code);
        }
        checked += 1;
    }
    eprintln!("{checked} of {compiled} compiled constant reads decode to the constant");
    assert!(checked > 1500, "{checked}");
}

/// The VEX and EVEX copies between registers chosen by encoding each alternative straight from
/// the allocation (`Form::direct_alternatives`: `vmovapd ymm8, ymm1` in the form whose VEX
/// prefix is shorter) are encoded as llvm-mc encodes the same text, for random registers (0-15
/// for VEX forms; 16-31 for EVEX forms of xmm and ymm, which llvm-mc would otherwise write with
/// VEX; 0-31 for zmm), written here, not read from peach's listing; debug builds also check
/// each against the choice made after allocation.
#[test]
fn direct_alternatives_agree_with_llvm_mc() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let mut f = Function::new("copies", Signature::default(), all_extensions());
    let mut texts = Vec::new();
    let mut rnd = super::vex::tests::rng(0xD1B5_4A32_D192_ED03);
    let mut forms = 0;
    for form in Forms::get().iter().filter(|f| f.direct_alternatives) {
        forms += 1;
        let evex = form.encoding == EncodingKind::EVEX;
        for _ in 0..8 {
            let regs: Vec<Register> = form
                .slots
                .iter()
                .map(|slot| match *slot {
                    Slot::Vec { bits: 512, .. } => forms_add(Register::ZMM0, rnd(32) as u32),
                    Slot::Vec { bits, .. } => {
                        let n = if evex { 16 + rnd(16) } else { rnd(16) } as u32;
                        forms_add(if bits == 256 { Register::YMM0 } else { Register::XMM0 }, n)
                    }
                    _ => unreachable!("copies of vector registers"),
                })
                .collect();
            let ops: Vec<Operand> = regs.iter().map(|r| Operand::Reg(phys(*r))).collect();
            // (A register moved onto itself is left out as a no-op.)
            if ops.len() == 2 && ops[0] == ops[1] {
                continue;
            }
            let mnemonic = format!("{:?}", form.code.mnemonic()).to_ascii_lowercase();
            let names: Vec<String> = regs.iter().map(|r| format!("{r:?}").to_ascii_lowercase()).collect();
            f.ins(&mnemonic, ops.as_slice());
            texts.push(format!("{mnemonic} {}", names.join(", ")));
        }
    }
    let compared = texts.len();
    assert_eq!(against_llvm_mc(f, &texts), (compared, 0, 0), "all as llvm-mc encodes them");
    eprintln!("{compared} copies of {forms} forms with alternatives as llvm-mc encodes them");
    assert!(compared >= 500 && forms >= 60, "{compared} of {forms} forms");
}

/// A value allocated to the register the accumulator forms name keeps the choice after
/// allocation (`add rax, 128` as `48 05`, one byte shorter than `48 81 C0`), and another takes
/// the choice made ahead: the bytes of each `add` are llvm-mc's for the same text.
#[test]
fn imm_choices_leave_the_accumulator_to_the_late_choice() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    use super::X86Builder;
    use crate::ir::Type;
    let sig = Signature::new(&[Type::I64], Some(Type::I64));
    let mut f = Function::new("acc", sig, Target::x86_64_baseline());
    // The parameter arrives in rdi, the result leaves in rax: each value is hinted there.
    let (p, x) = (f.param(0), f.gp64());
    f.ins("mov", (x, p));
    f.ins("add", (p, 1000));
    f.ins("add", (x, 128));
    f.ins("sub", (x, p));
    f.ret(x);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let lines = code.lines();
    let adds: Vec<&[u8]> = lines
        .iter()
        .filter(|l| l.intel.starts_with("add "))
        .map(|l| &code.bytes()[l.offset..l.offset + l.len])
        .collect();
    let texts = ["add rdi, 1000".to_string(), "add rax, 128".to_string()];
    let theirs = llvm_mc(&texts).expect("llvm-mc runs");
    let theirs: Vec<&[u8]> = theirs.iter().map(|t| t.as_deref().expect("llvm-mc takes it")).collect();
    assert_eq!(adds, theirs, "{:?}", lines.iter().map(|l| &l.intel).collect::<Vec<_>>());
}

/// The legacy forms encoded straight from the allocation with their alternative chosen ahead
/// (`Form::register_choice`: `movaps xmm, xmm` as `0F 28`, whatever the registers) are encoded
/// as llvm-mc encodes the same text, for random registers 0-15 (written here, not read from
/// peach's listing); debug builds also check each against the choice made after allocation.
#[test]
fn register_choices_agree_with_llvm_mc() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let target = all_extensions();
    let mut f = Function::new("choices", Signature::default(), target.clone());
    let mut texts = Vec::new();
    let mut rnd = super::vex::tests::rng(0x2545_F491_4F6C_DD1D);
    let mut choices = 0;
    for form in Forms::get().iter() {
        if form.register_choice.is_none() {
            continue;
        }
        choices += 1;
        for round in 0..8 {
            // Register 0 (`eax`, whose short forms are alternatives) once in every slot.
            let regs: Vec<Register> = form
                .slots
                .iter()
                .enumerate()
                .map(|(i, slot)| {
                    let n = if i == round { 0 } else { rnd(16) as u32 };
                    match slot {
                        Slot::Gp { bits: 64, .. } => forms_add(Register::RAX, n),
                        Slot::Gp { .. } => forms_add(Register::EAX, n),
                        _ => forms_add(Register::XMM0, n),
                    }
                })
                .collect();
            let mnemonic = format!("{:?}", form.code.mnemonic()).to_ascii_lowercase();
            let names: Vec<String> = regs.iter().map(|r| format!("{r:?}").to_ascii_lowercase()).collect();
            let ops: Vec<Operand> = regs.iter().map(|r| Operand::Reg(phys(*r))).collect();
            // (A register moved onto itself is left out as a no-op.)
            if ops.len() == 2 && ops[0] == ops[1] {
                continue;
            }
            f.ins(&mnemonic, ops.as_slice());
            texts.push(format!("{mnemonic} {}", names.join(", ")));
        }
    }
    // (`XCHG`'s operands are symmetric: peach keeps the order written, llvm-mc may not; llvm-mc
    // refuses forms iced and peach take: `reservednop`, `lldt esp`.)
    let (equal, equivalent, unknown) = against_llvm_mc(f, &texts);
    eprintln!(
        "{} instructions of {choices} forms with a register choice: as llvm-mc encodes them but {equivalent} \
         other encodings of the same instruction and {unknown} llvm-mc refuses",
        texts.len()
    );
    let compared = equal + equivalent;
    assert!(compared >= 400 && equivalent * 20 < compared, "{equivalent} of {compared}");
    assert!(choices >= 20, "{choices} forms with a register choice");
}
