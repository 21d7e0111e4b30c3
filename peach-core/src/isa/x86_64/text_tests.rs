//! The text front end checked against llvm-mc on text peach did not write: instances of every
//! form (registers r8-r15, xmm16-31, k1-k7, bases rsp/rbp/r12/r13, compressible and plain
//! displacements, broadcasts, masks, rounding) are encoded by iced, decoded by iced and printed
//! by iced's Intel formatter in two styles (sizes always and `0x` numbers; sizes only where
//! needed and `h` numbers). Each line goes through `Function::asm`; llvm-mc assembles the same
//! lines in one batch; the bytes must be equal, or decode to the same instruction where the ISA
//! has two encodings.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use iced_x86::{Decoder, DecoderOptions, Encoder, Formatter, IntelFormatter, MemorySizeOptions};

use super::forms::Forms;
use super::tests::{all_extensions, llvm_mc, same_instruction, sample};
use crate::Abi;
use crate::ir::{Function, Signature};
use crate::target::{Arch, ExtSet, Extension, Target};

/// Instances of each form: variants alternate registers and memory, and step through bases,
/// displacements, masks and the four rounding modes.
const VARIANTS: usize = 8;

/// iced's Intel text for form instances: (text, iced's mnemonic, the form's code).
fn lines() -> Vec<(String, String, iced_x86::Code)> {
    let mut styles = [IntelFormatter::new(), IntelFormatter::new()];
    for (k, style) in styles.iter_mut().enumerate() {
        let o = style.options_mut();
        // (llvm-mc does not read `80h`.)
        o.set_hex_prefix("0x");
        o.set_hex_suffix("");
        if k == 0 {
            o.set_memory_size_options(MemorySizeOptions::Always);
            o.set_space_after_operand_separator(true);
        }
    }
    let mut out = Vec::new();
    for form in Forms::get().iter() {
        for variant in 0..VARIANTS {
            let Some(ops) = sample(form, variant) else { continue };
            let Ok(mut ins) = super::encode::build(form, &ops) else { continue };
            // A memory operand read through `fs:` or `gs:` (thread-local data) in one instance.
            let memory = (0..ins.op_count()).any(|i| ins.op_kind(i) == iced_x86::OpKind::Memory);
            if memory && (4..6).contains(&variant) && ins.memory_base() != iced_x86::Register::RIP {
                ins.set_segment_prefix(if variant == 4 { iced_x86::Register::FS } else { iced_x86::Register::GS });
            }
            // String instructions also with `rep` (`repe`), and the comparing ones with `repne`.
            if form.is_string() {
                let compares = super::compares(form.code);
                ins.set_has_rep_prefix(variant % 3 == 1);
                ins.set_has_repne_prefix(variant % 3 == 2 && compares);
            }
            let mut enc = Encoder::new(64);
            if enc.encode(&ins, 0).is_err() {
                continue;
            }
            let bytes = enc.take_buffer();
            // (Without the option, iced decodes MPX's opcodes as the reserved NOPs they are now.)
            let mpx = form.code.cpuid_features().contains(&iced_x86::CpuidFeature::MPX);
            let options = if mpx { DecoderOptions::MPX } else { DecoderOptions::NONE };
            let decoded = Decoder::new(64, &bytes, options).decode();
            let mut text = String::new();
            styles[variant % 2].format(&decoded, &mut text);
            let mut text = llvm_rounding(&text);
            if decoded.op_mask() != iced_x86::Register::None && !text.contains('{') {
                text = assembler_mask(&text);
            }
            out.push((text, format!("{:?}", decoded.mnemonic()), form.code));
        }
    }
    out
}

/// iced prints an x87 memory form with the `st` it uses implicitly (`fadd st, dword ptr [rax]`),
/// far branches with `far` (`ret far`, which GNU as reads as a return to a symbol `far`), and
/// a block of registers in full (`zmm4+3`), which peach reads and the assemblers do not: the
/// text the oracles get says it their way.
fn assembler_text(text: &str) -> String {
    if text.contains("+3,") {
        return text.replace("+3,", ",");
    }
    if let Some(rest) = text.strip_prefix("ret far") {
        return format!("retf{rest}");
    }
    if let Some((m, rest)) = text.split_once(" far ")
        && matches!(m, "call" | "jmp")
    {
        return format!("{m} {rest}");
    }
    match text.split_once(' ') {
        Some((m, rest)) if m.starts_with('f') && rest.contains("ptr") => {
            let rest = rest.trim_start();
            match (rest.strip_prefix("st,"), rest.strip_suffix("st").map(str::trim_end)) {
                (Some(mem), _) => format!("{m} {}", mem.trim_start()),
                (None, Some(mem)) if mem.ends_with(',') => format!("{m} {}", &mem[..mem.len() - 1]),
                _ => text.to_string(),
            }
        }
        _ => text.to_string(),
    }
}

/// iced prints rounding after the destination (`zmm1{k1}{rne-sae}, ...`); llvm-mc and GNU as
/// read it as a last operand (`zmm1{k1}, ..., {rn-sae}`).
fn llvm_rounding(text: &str) -> String {
    for (iced, llvm) in [
        ("{rne-sae}", "{rn-sae}"),
        ("{rd-sae}", "{rd-sae}"),
        ("{ru-sae}", "{ru-sae}"),
        ("{rz-sae}", "{rz-sae}"),
        ("{sae}", "{sae}"),
    ] {
        if let Some(at) = text.find(iced) {
            return format!("{}{}, {llvm}", &text[..at], &text[at + iced.len()..]);
        }
    }
    text.to_string()
}

/// iced prints the mask of a gather as an operand of its own (`vgatherdps xmm5, k1, [...]`);
/// assemblers read it as the first operand's decoration (`vgatherdps xmm5{k1}, [...]`). For a
/// masked instruction whose text shows no `{k}`.
fn assembler_mask(text: &str) -> String {
    let Some((head, rest)) = text.split_once(',') else { return text.to_string() };
    let rest_trim = rest.trim_start();
    let mask: String = rest_trim.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let after = &rest_trim[mask.len()..];
    let is_mask =
        mask.len() == 2 && mask.starts_with('k') && mask[1..].parse::<u8>().is_ok_and(|n| (1..8).contains(&n));
    // `vgatherdps xmm5, k1, [...]`, or a gather prefetch's `vgatherpf0dps [...], k1`.
    if is_mask && (after.trim_start().starts_with(',') || after.trim().is_empty()) {
        return format!("{head}{{{mask}}}{after}");
    }
    text.to_string()
}

/// iced's Intel text for `bytes` (the first instruction), for failure messages.
fn decoded(bytes: &[u8]) -> String {
    let mut text = String::new();
    IntelFormatter::new().format(&Decoder::new(64, bytes, DecoderOptions::NONE).decode(), &mut text);
    text
}

#[test]
fn text_agrees_with_llvm_mc() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let all = lines();
    let o = compare(&all);
    // Codes some oracle reads: each is confirmed in at least three instances.
    let few: Vec<String> =
        o.confirmed.iter().filter(|(_, n)| (1..3).contains(*n)).map(|(c, n)| format!("{c:?} ({n})")).collect();
    // (Short only where peach refused the other instances with a reason: `nop [r13+0x1000]`,
    // printed without its size, is ambiguous.)
    let unexplained: Vec<&String> =
        few.iter().filter(|c| !o.refused_codes.iter().any(|r| c.starts_with(&format!("{r:?} ")))).collect();
    let unread = o.confirmed.values().filter(|n| **n == 0).count();
    if std::env::var_os("PEACH_SHOW_UNKNOWN").is_some() {
        let codes: Vec<String> = o.confirmed.iter().filter(|(_, n)| **n == 0).map(|(c, _)| format!("{c:?}")).collect();
        eprintln!("codes no oracle reads: {}", codes.join(", "));
    }
    eprintln!(
        "{} codes confirmed in 3 or more instances, {} in fewer: {}; {unread} codes no oracle reads",
        o.confirmed.values().filter(|n| **n >= 3).count(),
        few.len(),
        few.join(", ")
    );
    assert!(o.mismatches.is_empty(), "{} encodings differ:\n{}", o.mismatches.len(), o.mismatches.join("\n"));
    assert!(o.same >= 20_000, "only {} lines were compared", o.same);
    assert!(unexplained.is_empty(), "codes confirmed in fewer than 3 instances: {unexplained:?}");
}

/// The second path of the differential test, independent of peach's form table: random bytes
/// (after a random choice of the escapes and prefixes that lead to vector and system opcodes),
/// decoded by iced, printed by iced's Intel formatter, compared like the form instances. The
/// bytes are only a source of instructions: peach and the oracles both read the printed text.
#[test]
fn random_bytes_agree_with_llvm_mc() {
    if Command::new("llvm-mc").arg("--version").output().is_err() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let mut style = IntelFormatter::new();
    style.options_mut().set_hex_prefix("0x");
    style.options_mut().set_hex_suffix("");
    style.options_mut().set_memory_size_options(MemorySizeOptions::Always);
    // xorshift, fixed seed: the same lines on every run.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const LEADS: [&[u8]; 12] = [
        &[],
        &[0x0f],
        &[0x0f, 0x38],
        &[0x0f, 0x3a],
        &[0x66, 0x0f],
        &[0xf3, 0x0f],
        &[0xf2, 0x0f],
        &[0xc5],
        &[0xc4],
        &[0x62],
        &[0x48],
        &[0x4d, 0x0f],
    ];
    const TRIES: usize = 150_000;
    let mut seen = BTreeSet::new();
    let mut all = Vec::new();
    let mut decoded_count = 0;
    for _ in 0..TRIES {
        let lead = LEADS[(next() % LEADS.len() as u64) as usize];
        let mut bytes = lead.to_vec();
        bytes.extend_from_slice(&next().to_le_bytes());
        bytes.extend_from_slice(&next().to_le_bytes());
        let ins = Decoder::new(64, &bytes, DecoderOptions::NONE).decode();
        if ins.is_invalid() {
            continue;
        }
        decoded_count += 1;
        // Branches take labels in peach, numbers in this text.
        if ins.flow_control() != iced_x86::FlowControl::Next {
            continue;
        }
        let mut text = String::new();
        style.format(&ins, &mut text);
        let mut text = llvm_rounding(&text);
        if ins.op_mask() != iced_x86::Register::None && !text.contains('{') {
            text = assembler_mask(&text);
        }
        if seen.insert(text.clone()) {
            all.push((text, format!("{:?}", ins.mnemonic()), ins.code()));
        }
    }
    eprintln!("{decoded_count} of {TRIES} random byte strings decode; {} distinct lines", all.len());
    let o = compare(&all);
    assert!(o.mismatches.is_empty(), "{} encodings differ:\n{}", o.mismatches.len(), o.mismatches.join("\n"));
    assert!(o.same >= 10_000, "only {} lines were compared", o.same);
}

/// What [`compare`] found.
struct Outcome {
    /// Lines whose bytes equal llvm-mc's.
    same: usize,
    /// Per form's code, the instances an oracle confirmed.
    confirmed: BTreeMap<iced_x86::Code, usize>,
    /// The codes of lines peach refused.
    refused_codes: BTreeSet<iced_x86::Code>,
    /// Lines where peach and the oracles differ, with both byte strings.
    mismatches: Vec<String>,
}

/// Each line through `Function::asm`, the accepted ones compared with llvm-mc (one batch), GNU
/// as where llvm-mc refuses or differs (one batch); counts printed.
fn compare(all: &[(String, String, iced_x86::Code)]) -> Outcome {
    let target = all_extensions();

    // Lines peach refuses are counted with their reason; the rest go into one function, each
    // after a label of its own, which finds it in the listing.
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut refused_codes = BTreeSet::new();
    let mut accepted = Vec::new();
    for (text, mnemonic, code) in all {
        if std::env::var("PEACH_SHOW_CODE").is_ok_and(|c| c == format!("{code:?}")) {
            eprintln!("{code:?}: {text}");
        }
        let mut probe = Function::new("probe", Signature::default(), target.clone());
        probe.asm(text, ());
        match probe.errors().first() {
            Some(e) => {
                refused_codes.insert(*code);
                refused.entry(e.message().lines().next().unwrap_or("").to_string()).or_default().push(text.clone())
            }
            None => accepted.push((text.clone(), mnemonic.clone(), *code)),
        }
    }
    let mut f = Function::new("lines", Signature::default(), target.clone());
    let labels: Vec<_> = accepted.iter().map(|_| f.label()).collect();
    for ((text, ..), l) in accepted.iter().zip(&labels) {
        f.bind(*l);
        f.asm(text, ());
    }
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let mut ours: Vec<Option<&[u8]>> = vec![None; accepted.len()];
    for l in code.lines() {
        for label in &l.labels {
            if let Some(slot) = labels.iter().position(|x| x.0 == *label) {
                ours[slot] = Some(&code.bytes()[l.offset..l.offset + l.len]);
            }
        }
    }
    let texts: Vec<String> = accepted.iter().map(|(t, ..)| t.clone()).collect();
    let for_oracles: Vec<String> = texts.iter().map(|t| assembler_text(t)).collect();
    let theirs = llvm_mc(&for_oracles).expect("llvm-mc runs");
    // The second oracle on every line, also in one batch: GNU as (which also reads what llvm-mc
    // 14 refuses: newer extensions, `dword ptr` on a gather's vector index).
    let gnu = crate::isa::text::gnu_as_lines("as", ".intel_syntax noprefix", &for_oracles);
    let gnu = gnu.unwrap_or_else(|| vec![None; for_oracles.len()]);
    let (mut same, mut equivalent, mut unknown, mut gnu_agrees, mut gnu_only) = (0, 0, 0, 0, 0);
    let (mut gnu_same, mut gnu_differs) = (0, Vec::new());
    let mut mnemonics = BTreeSet::new();
    let mut mismatches = Vec::new();
    // Per iced code, the instances an oracle confirmed.
    let mut confirmed: BTreeMap<iced_x86::Code, usize> = BTreeMap::new();
    for ((((text, mnemonic, code), ours), theirs), gnu) in accepted.iter().zip(&ours).zip(&theirs).zip(&gnu) {
        let ours = ours.unwrap_or_else(|| panic!("`{text}` is not in the listing"));
        let agrees = |b: &[u8]| b == ours || same_instruction(ours, b);
        let confirm = confirmed.entry(*code).or_default();
        let differ = |who: &str, b: &[u8]| {
            format!("{text}: peach {ours:02x?} `{}`, {who} {b:02x?} `{}`", decoded(ours), decoded(b))
        };
        if let Some(g) = gnu {
            if agrees(g) {
                gnu_same += 1;
            } else if theirs.as_deref().is_some_and(agrees) {
                // The oracles disagree; llvm-mc sides with peach.
                gnu_differs.push(differ("GNU as", g));
            }
        }
        match (theirs, gnu) {
            // `xchg rax, rax` is a no-op that llvm-mc shortens to `nop`, a different instruction.
            (Some(_), _) if text.starts_with("xchg rax,") => unknown += 1,
            // Far branches through m16:64 (REX.W FF /3, /5 in the SDM): llvm-mc 14 drops the REX.W
            // (the m16:32 form), GNU as refuses them; no assembler here says.
            (Some(_), _) if text.contains("far tbyte") => unknown += 1,
            (Some(t), _) if t.as_slice() == ours => {
                same += 1;
                *confirm += 1;
                mnemonics.insert(mnemonic.clone());
            }
            (Some(t), _) if same_instruction(ours, t) => {
                equivalent += 1;
                *confirm += 1;
                if std::env::var_os("PEACH_SHOW_EQUIVALENT").is_some() {
                    eprintln!("equivalent: `{text}`: peach {ours:02x?} llvm-mc {t:02x?}");
                }
            }
            // LLVM 14 scales the compressed displacement of GFNI's broadcasts by 1 instead of the
            // element size; GNU as and the SDM agree with peach.
            (Some(t), Some(g)) if g.as_slice() == ours => {
                gnu_agrees += 1;
                *confirm += 1;
                eprintln!("llvm-mc differs, GNU as agrees with peach: {}", differ("llvm-mc", t));
            }
            (Some(t), _) => mismatches.push(differ("llvm-mc", t)),
            (None, Some(g)) if agrees(g) => {
                gnu_only += 1;
                *confirm += 1;
            }
            (None, Some(g)) => mismatches.push(differ("GNU as (llvm-mc refuses the line)", g)),
            (None, None) => {
                unknown += 1;
                if std::env::var_os("PEACH_SHOW_UNKNOWN").is_some() {
                    eprintln!("llvm-mc and GNU as refuse `{text}`");
                }
            }
        }
    }
    eprintln!(
        "GNU as: {gnu_same} lines the same instruction as peach's, {} where it differs from llvm-mc and peach",
        gnu_differs.len()
    );
    for d in &gnu_differs {
        eprintln!("GNU as differs: {d}");
    }
    let refused_count: usize = refused.values().map(Vec::len).sum();
    eprintln!(
        "{} lines: {same} identical to llvm-mc, {equivalent} other encodings of the same instruction, {gnu_agrees} \
         where llvm-mc is wrong and GNU as agrees, {gnu_only} that only GNU as reads and agrees with, {} differ, \
         {unknown} read by neither, {refused_count} refused by peach; {} mnemonics",
        all.len(),
        mismatches.len(),
        mnemonics.len()
    );
    for (reason, texts) in &refused {
        eprintln!("refused {}x: {reason}  e.g. `{}`", texts.len(), texts[0]);
    }
    Outcome { same, confirmed, refused_codes, mismatches }
}

/// An explicit copy of a physical register to itself is kept (only the copies allocation made
/// pointless go), in the bytes llvm-mc gives it; a return of the result register needs none.
#[test]
fn explicit_self_moves_are_kept() {
    let lines = ["mov r14, r14", "movups xmm6, xmm6", "vmovdqa64 zmm17, zmm17"];
    let mut f = Function::new("moves", Signature::default(), all_extensions());
    for l in lines {
        f.asm(l, ());
    }
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    for l in lines {
        assert!(code.listing().contains(l), "`{l}` is missing:\n{}", code.listing());
    }
    if Command::new("llvm-mc").arg("--version").output().is_ok() {
        let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let theirs: Vec<u8> = llvm_mc(&texts).expect("llvm-mc runs").into_iter().flatten().flatten().collect();
        // r14 is callee-saved: the bytes sit between its push and pop.
        assert!(code.bytes().windows(theirs.len()).any(|w| w == theirs), "{:02x?} not in {}", theirs, code.listing());
    }
    let mut g = Function::new("same", Signature::new(&[], Some(crate::ir::Type::I64)), all_extensions());
    g.asm("mov rax, 5", ());
    g.ret(super::reg::RAX);
    assert_eq!(g.compile(Abi::SysV).unwrap().bytes(), [0x48, 0xc7, 0xc0, 5, 0, 0, 0, 0xc3]);
}

/// The bytes of `line` compiled alone (its `ret` cut off).
fn alone(line: &str) -> Vec<u8> {
    let mut f = Function::new("line", Signature::default(), all_extensions());
    f.asm(line, ());
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{line}: {e}"));
    let bytes = without_call_alignment(code.bytes());
    bytes[..bytes.len() - 1].to_vec()
}

/// A function's bytes without the `sub rsp, 8` / `add rsp, 8` that align the stack for a call
/// it makes (`call fword ptr [rax]` alone), so that the line's own bytes come first.
fn without_call_alignment(bytes: &[u8]) -> Vec<u8> {
    const SUB: [u8; 4] = [0x48, 0x83, 0xec, 0x08];
    const ADD: [u8; 4] = [0x48, 0x83, 0xc4, 0x08];
    match bytes.strip_prefix(&SUB).and_then(|b| b.strip_suffix(&[0xc3])).and_then(|b| b.strip_suffix(&ADD)) {
        Some(body) => [body, &[0xc3]].concat(),
        None => bytes.to_vec(),
    }
}

/// Asserts that recording `line` gives an error whose message contains `containing`.
fn assert_error(line: &str, containing: &str) {
    let e = error_of(line);
    assert!(e.as_ref().is_some_and(|m| m.contains(containing)), "`{line}`: {e:?}");
}

/// The first error recording `line` gives, on every extension.
fn error_of(line: &str) -> Option<String> {
    let mut f = Function::new("bad", Signature::default(), all_extensions());
    f.asm(line, ());
    f.errors().first().map(|e| e.message().to_string())
}

/// Each line compiled alone on `target`: its bytes (the instruction first; a `vzeroupper` may
/// follow it), checked against llvm-mc's for the line where llvm-mc reads it: the same bytes, or
/// (`loose`) another encoding of the same instruction.
fn like_llvm_mc(lines: &[&str], target: &Target, loose: bool) -> Vec<Vec<u8>> {
    let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let theirs = llvm_mc(&texts);
    let mut all = Vec::new();
    for (k, l) in lines.iter().enumerate() {
        let mut f = Function::new("line", Signature::default(), target.clone());
        f.asm(l, ());
        f.ret(None);
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{l}: {e}"));
        let ours = &without_call_alignment(code.bytes());
        if let Some(Some(t)) = theirs.as_ref().map(|t| &t[k]) {
            let head = &ours[..t.len().min(ours.len())];
            let same = head == t.as_slice() || (loose && same_instruction(&ours[..ours.len() - 1], t));
            assert!(same, "{l}: peach {ours:02x?} llvm-mc {t:02x?}");
        }
        all.push(ours.to_vec());
    }
    all
}

/// `lock` on the read-modify-write instructions that take it, in llvm-mc's bytes; refused
/// elsewhere (the CPU would raise #UD).
#[test]
fn lock_prefix() {
    let good = [
        "lock add qword ptr [rdi], rax",
        "lock xadd dword ptr [r12 + 8], ecx",
        "lock cmpxchg qword ptr [rsp], r9",
        "lock inc byte ptr [rbp - 1]",
        "lock or word ptr [r13], 0x7f",
        "lock btc qword ptr [rax], rcx",
    ];
    // (Prefix order is free: llvm-mc puts 66 before f0, iced after.)
    for ours in like_llvm_mc(&good, &all_extensions(), true) {
        assert_eq!(ours.iter().filter(|b| **b == 0xf0).count(), 1, "{ours:02x?}");
    }
    for bad in ["lock add rax, rcx", "lock mov qword ptr [rax], rcx", "lock vaddps ymm0, ymm1, ymm2", "lock"] {
        assert!(error_of(bad).is_some(), "`{bad}` was accepted");
    }
}

/// A string instruction's segment override applies to `[rsi]`, written on either side; `[rdi]`
/// is always in es:, so `es:` there is allowed and any other segment is an error. (Found by the
/// random-bytes test: `cmpsd fs:[rsi], es:[rdi]` was encoded with the es: prefix.)
#[test]
fn string_segment_overrides() {
    let good = [
        ("cmpsd dword ptr fs:[rsi], dword ptr es:[rdi]", 0x64),
        ("movsb byte ptr es:[rdi], byte ptr gs:[rsi]", 0x65),
        ("lodsb byte ptr es:[rsi]", 0x26),
        ("rep movsb byte ptr [rdi], byte ptr fs:[rsi]", 0x64),
    ];
    let lines: Vec<&str> = good.iter().map(|(l, _)| *l).collect();
    // (Prefix order is free: llvm-mc puts f3 before 64, iced after.)
    for (ours, (line, segment)) in like_llvm_mc(&lines, &all_extensions(), true).iter().zip(good) {
        assert_eq!(ours.iter().filter(|b| matches!(b, 0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65)).count(), 1, "{line}");
        assert!(ours.contains(&segment), "{line}: {ours:02x?}");
    }
    for bad in ["stosb byte ptr fs:[rdi], al", "cmpsb byte ptr [rsi], byte ptr gs:[rdi]"] {
        assert_error(bad, "es:");
    }
}

/// `data16` and `addr32` where they change nothing the text says (padding, a 16-bit instruction,
/// a 32-bit address), in llvm-mc's bytes; where they would change the instruction, an error.
#[test]
fn data16_and_addr32() {
    let good = [
        ("data16 nop word ptr [rax + rax]", &[0x66, 0x66][..]),
        ("data16 mov ax, 1", &[0x66, 0x66]),
        // (One 67 written, one for the 32-bit address: llvm-mc's bytes. GNU as writes one.)
        ("addr32 mov eax, dword ptr [ecx]", &[0x67, 0x67, 0x8b]),
        ("addr32 nop", &[0x67, 0x90]),
        ("addr32 push rax", &[0x67, 0x50]),
        ("addr32 vaddps ymm0, ymm1, ymm2", &[0x67, 0xc5]),
    ];
    let lines: Vec<&str> = good.iter().map(|(l, _)| *l).collect();
    let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let read = llvm_mc(&texts).is_some_and(|t| t.iter().all(Option::is_some));
    assert!(read || Command::new("llvm-mc").arg("--version").output().is_err(), "llvm-mc reads every line");
    for (ours, (line, head)) in like_llvm_mc(&lines, &all_extensions(), false).iter().zip(good) {
        assert!(ours.starts_with(head), "{line}: {ours:02x?}");
        let prefixes = |b: u8| ours.iter().take_while(|x| matches!(x, 0x66 | 0x67)).filter(|x| **x == b).count();
        assert_eq!(prefixes(0x67), head.iter().filter(|x| **x == 0x67).count(), "{line}: {ours:02x?}");
    }
    for bad in [
        "data16 mov eax, 1",
        "data16 vaddps ymm0, ymm1, ymm2",
        "addr32 mov eax, dword ptr [rcx]",
        "addr32 mov eax, dword ptr [0x1000]",
        "addr32 movsb",
        "addr32 xlatb",
        "addr32 monitor",
    ] {
        let e = error_of(bad);
        assert!(e.as_ref().is_some_and(|m| m.contains("data16") || m.contains("addr32")), "`{bad}`: {e:?}");
    }
}

/// `{evex}` and `{vex}` pick the encoding where both would do, in llvm-mc's bytes; where the
/// instruction has no such form for the operands, an error says so.
#[test]
fn encoding_pseudo_prefixes() {
    let good = [
        "{evex} vaddps xmm0, xmm1, xmm2",
        "{evex} vfmadd231ps ymm3, ymm4, ymmword ptr [rax + 32]",
        "{vex} vaddps ymm0, ymm1, ymm2",
        "{evex} vcvtdq2ps xmm0, xmm1",
        "{vex} vpdpbusd xmm0, xmm1, xmm2",
    ];
    // (AVX-VNNI too: `{vex}` is how its VEX form is chosen over AVX512-VNNI's.)
    let mut every = ExtSet::EMPTY;
    for i in 0..256 {
        every.insert(Extension(i));
    }
    let target = Target::new(Arch::X86_64, "every", every);
    for (l, ours) in good.iter().zip(like_llvm_mc(&good, &target, false)) {
        assert_eq!(ours.first() == Some(&0x62), l.starts_with("{evex}"), "{l}: {ours:02x?}");
    }
    for (bad, want) in [
        ("{vex} vaddps zmm0, zmm1, zmm2", "asks for the VEX encoding"),
        ("{evex} vzeroupper", "asks for the EVEX encoding"),
        ("{evex} vpxor xmm1, xmm2, xmm3", "asks for the EVEX encoding"),
        ("{evex} add rax, rbx", "asks for the EVEX encoding"),
    ] {
        let mut g = Function::new("bad", Signature::default(), all_extensions());
        g.asm(bad, ());
        assert!(g.errors().first().is_some_and(|e| e.to_string().contains(want)), "`{bad}`: {:?}", g.errors());
    }
}

/// 32-bit addresses (`[ecx + edx*4]`: physical 32-bit registers, an address-size prefix) in
/// llvm-mc's bytes, for legacy, VEX, EVEX and VSIB forms; a mix of widths is an error.
#[test]
fn thirty_two_bit_addresses() {
    let good = [
        "mov eax, dword ptr [r12d + 8]",
        "lea eax, [ecx + edx*4]",
        "add dword ptr [esp + 4], 1",
        "vaddps ymm0, ymm1, ymmword ptr [eax + 32]",
        "vaddps zmm0, zmm1, zmmword ptr [r8d + r9d*2 + 64]",
        "vgatherdps ymm0, [eax + ymm1*4], ymm2",
    ];
    for (l, ours) in good.iter().zip(like_llvm_mc(&good, &all_extensions(), false)) {
        assert_eq!(ours.first(), Some(&0x67), "{l}: {ours:02x?}");
    }
    for bad in ["mov eax, dword ptr [rax + ecx]", "mov eax, dword ptr [eax + rcx]", "mov eax, dword ptr [eax + esp*2]"]
    {
        assert!(error_of(bad).is_some(), "`{bad}` was accepted");
    }
}
/// Instructions whose plain text counts or addresses through 64-bit registers it does not name
/// take the form without a 67 prefix (`loop` used to be encoded as `addr32 loop`, counting in
/// ecx; the text test never saw it, as it has no branches). Each is a branch to itself or an
/// instruction alone, in llvm-mc's bytes.
#[test]
fn implicit_registers_are_64_bit() {
    let lines = ["loop", "loope", "loopne", "jrcxz", "monitor", "mwait", "clzero"];
    for name in lines {
        let mut f = Function::new("l", Signature::default(), all_extensions());
        let here = f.label();
        f.bind(here);
        let branch = name.starts_with('l') || name.starts_with('j');
        let text = if branch { format!("{name} here") } else { name.to_string() };
        if branch {
            f.asm(&format!("{name} {{}}"), here);
        } else {
            f.asm(name, ());
        }
        f.ret(None);
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = &code.bytes()[..code.bytes().len() - 1];
        assert_ne!(ours[0], 0x67, "{name}: {ours:02x?}");
        let line = if branch { format!("here: {text}") } else { text };
        // (llvm-mc leaves a branch's displacement to the linker: its opcode bytes are compared.)
        if let Some(Some(theirs)) = llvm_mc(&[line]).map(|t| t[0].clone()) {
            let n = if branch { theirs.len() - 1 } else { theirs.len() };
            assert_eq!(ours.len(), theirs.len(), "{name}");
            assert_eq!(&ours[..n], &theirs[..n], "{name}");
        }
    }
}
/// XBEGIN takes its fallback as a label: llvm-mc's opcode and length (the displacement is the
/// linker's there), the displacement checked here; the fallback is a successor, and eax (the
/// abort status) is written, so a value used after the fallback is not kept in it.
#[test]
fn xbegin_falls_back_to_a_label() {
    let mut f =
        Function::new("x", Signature::new(&[crate::ir::Type::U64], Some(crate::ir::Type::U64)), all_extensions());
    let v = f.param(0);
    let fallback = f.label();
    f.asm("xbegin {}", fallback);
    f.asm("xend", ());
    f.bind(fallback);
    f.ret(v);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let lines = code.lines();
    let line = lines.iter().find(|l| l.intel.starts_with("xbegin")).expect("xbegin in the listing");
    // c7 f8 rel32, past the 3 bytes of xend.
    assert_eq!(&code.bytes()[line.offset..line.offset + line.len], [0xc7, 0xf8, 3, 0, 0, 0], "{}", line.intel);
    assert!(lines.iter().all(|l| !l.intel.contains("rax") || l.intel.starts_with("mov rax")), "{:?}", lines);
    if let Some(Some(theirs)) = llvm_mc(&["here: xbegin here".to_string()]).map(|t| t[0].clone()) {
        assert_eq!(theirs.len(), 6);
        assert_eq!(&theirs[..2], [0xc7, 0xf8]);
    }
}
/// `movabs` and 64-bit absolute addresses: the accumulator to or from all 8 bytes of an address
/// (`moffs`), a 64-bit immediate in all 8 bytes, in llvm-mc's bytes; an address a 32-bit
/// displacement cannot hold is a `moffs` with plain `mov` too (GNU as's bytes: llvm-mc 14 cuts
/// the address to its low 32 bits there). Anything else is an error.
#[test]
fn movabs_and_64_bit_addresses() {
    let good = [
        "movabs al, byte ptr [0x1122334455667788]",
        "movabs al, byte ptr [0x1000]",
        "movabs rax, 1",
        "movabs ax, word ptr [0xffff800000000000]",
    ];
    let first: Vec<u8> = like_llvm_mc(&good, &all_extensions(), false).iter().map(|b| b[0]).collect();
    assert_eq!(first, [0xa0, 0xa0, 0x48, 0x66], "the moffs and imm64 forms");
    // (llvm-mc 14 also puts a segment prefix after REX, where the CPU ignores the REX.)
    let plain = [
        "mov al, byte ptr [0x1122334455667788]",
        "mov qword ptr [0x8877665544332211], rax",
        "movabs qword ptr fs:[0x10], rax",
    ];
    let texts: Vec<String> = plain.iter().map(|l| l.to_string()).collect();
    let gnu = crate::isa::text::gnu_as_lines("as", ".intel_syntax noprefix", &texts);
    for (k, line) in plain.iter().enumerate() {
        let ours = &alone(line)[..];
        assert_eq!(ours.len(), 9 + k, "{line}: {ours:02x?}");
        if let Some(Some(theirs)) = gnu.as_ref().map(|g| g[k].clone()) {
            assert_eq!(ours, theirs.as_slice(), "{line}");
        }
    }
    for bad in [
        "movabs eax, 1",
        "movabs rcx, qword ptr [0x10]",
        "movabs rax, qword ptr [rcx]",
        "mov rcx, qword ptr [0x1122334455667788]",
    ] {
        assert!(error_of(bad).is_some(), "`{bad}` was accepted");
    }
}

/// The spellings assemblers use for forms iced names otherwise: `pushf`/`popf` are the 64-bit
/// forms, `pushfw`/`popfw`/`iretw`/`retfw` the 16-bit ones, `retfq` the REX.W far return; `ud1`
/// with 16-bit registers. Checked against both assemblers where they read the line (llvm-mc
/// has no `iretw`/`retfw`); `iret`, which they read differently, is an error.
#[test]
fn assembler_spellings() {
    let lines = [
        ("pushf", &[0x9c][..]),
        ("popf", &[0x9d]),
        ("pushfw", &[0x66, 0x9c]),
        ("popfw", &[0x66, 0x9d]),
        ("iretw", &[0x66, 0xcf]),
        ("iretd", &[0xcf]),
        ("retfw", &[0x66, 0xcb]),
        ("retfq", &[0x48, 0xcb]),
        ("retfq 8", &[0x48, 0xca, 8, 0]),
        ("retf", &[0xcb]),
        ("ud1 ax, cx", &[0x66, 0x0f, 0xb9, 0xc1]),
    ];
    let texts: Vec<String> = lines.iter().map(|(l, _)| l.to_string()).collect();
    let llvm = llvm_mc(&texts);
    let gnu = crate::isa::text::gnu_as_lines("as", ".intel_syntax noprefix", &texts);
    for (k, (line, want)) in lines.iter().enumerate() {
        let ours = &alone(line)[..];
        assert_eq!(ours, *want, "{line}");
        for oracle in [&llvm, &gnu] {
            if let Some(Some(theirs)) = oracle.as_ref().map(|o| &o[k]) {
                assert_eq!(ours, theirs.as_slice(), "{line}");
            }
        }
    }
    assert_error("iret", "iretd");
}
/// Far returns, calls and jumps as iced prints them (`ret far`, `call far fword ptr [rax]`) and
/// as assemblers take them (`retf`, `call fword ptr [rax]`), in llvm-mc's bytes. (The m16:64
/// forms, `jmp far tbyte ptr [rcx]`, no assembler here reads: llvm-mc 14 drops the REX.W, GNU
/// as refuses; iced's decoder is the check.)
#[test]
fn far_branches() {
    let pairs = [
        ("ret far", "retf"),
        ("ret far 8", "retf 8"),
        ("call far fword ptr [rax]", "call fword ptr [rax]"),
        ("jmp far fword ptr [r12 + 8]", "jmp fword ptr [r12 + 8]"),
    ];
    let theirs: Vec<String> = pairs.iter().map(|(_, t)| t.to_string()).collect();
    let ours = like_llvm_mc(&pairs.iter().map(|(t, _)| *t).collect::<Vec<_>>(), &all_extensions(), false);
    let same = like_llvm_mc(&theirs.iter().map(String::as_str).collect::<Vec<_>>(), &all_extensions(), false);
    assert_eq!(ours, same);
    if let Some(llvm) = llvm_mc(&theirs) {
        for ((o, t), line) in ours.iter().zip(&llvm).zip(&theirs) {
            let t = t.as_ref().unwrap_or_else(|| panic!("llvm-mc reads `{line}`"));
            assert_eq!(&o[..t.len()], t.as_slice(), "{line}");
        }
    }
    let far64 = like_llvm_mc(&["jmp far tbyte ptr [rcx]", "call far tbyte ptr [rax]"], &all_extensions(), false);
    let codes: Vec<_> = far64.iter().map(|b| Decoder::new(64, b, DecoderOptions::NONE).decode().code()).collect();
    assert_eq!(codes, [iced_x86::Code::Jmp_m1664, iced_x86::Code::Call_m1664]);
    for bad in ["add far rax, 1", "call far [rax]"] {
        assert!(error_of(bad).is_some(), "`{bad}` was accepted");
    }
}

/// MOVDIR64B and ENQCMD with a 64-bit or a 32-bit address register, in llvm-mc's bytes; a
/// source address of the other size (which would make the CPU read the register in the size of
/// the address) is an error.
#[test]
fn movdir64b_address_sizes() {
    let lines = [
        "movdir64b rax, zmmword ptr [rcx]",
        "enqcmd r9, zmmword ptr [rdx + 64]",
        "movdir64b eax, zmmword ptr [ecx]",
        "enqcmds r9d, zmmword ptr [r10d + r11d*2]",
    ];
    let ours = like_llvm_mc(&lines, &all_extensions(), false);
    assert_eq!([ours[2][0], ours[3][0]], [0x67, 0x67]);
    for (bad, size) in [
        ("movdir64b rax, zmmword ptr [ecx]", "64-bit"),
        ("enqcmds rdx, zmmword ptr [r9d]", "64-bit"),
        ("movdir64b eax, zmmword ptr [rcx]", "32-bit"),
    ] {
        assert_error(bad, size);
    }
}

/// `sal` is `shl` (/4), as assemblers encode it; iced's /6 twin, which iced also prints as
/// `sal`, is never chosen (the README counts it as the same text as a twin).
#[test]
fn sal_is_shl() {
    let sal = ["sal eax, 1", "sal byte ptr [rax], cl", "sal r9, 5", "sal word ptr [rsp + 8], 3"];
    let shl: Vec<String> = sal.iter().map(|l| l.replacen("sal", "shl", 1)).collect();
    let shl: Vec<&str> = shl.iter().map(String::as_str).collect();
    assert_eq!(like_llvm_mc(&sal, &all_extensions(), false), like_llvm_mc(&shl, &all_extensions(), false));
}

/// VPERMIL2PS/PD's 4-bit selector shares its byte with the fourth register, in llvm-mc's bytes;
/// a selector over 15 is an error.
#[test]
fn four_bit_immediates() {
    like_llvm_mc(
        &[
            "vpermil2ps xmm0, xmm1, xmm2, xmm3, 1",
            "vpermil2ps xmm0, xmm1, xmm2, xmmword ptr [rax], 2",
            "vpermil2pd ymm10, ymm11, ymmword ptr [r12 + 8], ymm13, 15",
        ],
        &all_extensions(),
        false,
    );
    for bad in ["vpermil2ps xmm0, xmm1, xmm2, xmm3, 16", "vpermil2ps xmm0, xmm1, xmm2, xmm3, -1"] {
        assert!(error_of(bad).is_some(), "`{bad}` was accepted");
    }
}

/// MPX: the bounds registers and their address operands, in GNU as's bytes (llvm-mc 14 has no
/// MPX); an address through RIP (a constant) or a scaled pointer index is an error.
#[test]
fn mpx_bounds() {
    let lines = [
        "bndmk bnd0, [rax]",
        "bndcl bnd1, rax",
        "bndcu bnd2, qword ptr [r12 + 8]",
        "bndcn bnd3, r9",
        "bndmov bnd3, bnd0",
        "bndmov xmmword ptr [rsp], bnd1",
        "bndldx bnd0, [rax + rbx]",
        "bndstx [r13 + r14 + 16], bnd1",
    ];
    let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let gnu = crate::isa::text::gnu_as_lines("as", ".intel_syntax noprefix", &texts);
    for (k, line) in lines.iter().enumerate() {
        let ours = alone(line);
        if let Some(g) = &gnu {
            let theirs = g[k].as_ref().unwrap_or_else(|| panic!("GNU as reads `{line}`"));
            assert_eq!(&ours, theirs, "{line}");
        }
    }
    let mut f = Function::new("mpx", Signature::default(), all_extensions());
    f.asm("bndmk bnd0, {}", crate::ir::Constant::u64(1));
    assert!(f.errors().first().is_some_and(|e| e.message().contains("RIP")), "{:?}", f.errors());
    assert_error("bndldx bnd0, [rax + rbx*4]", "scale");
}

/// A block of four registers (`v4fmaddps zmm0, zmm4+3, [rax]`) is named by its first, as
/// assemblers write it or in full, in llvm-mc's bytes; a first register that does not start a
/// block (the CPU would ignore the low bits of its number) is an error, and so is a block where
/// one register goes.
#[test]
fn register_blocks() {
    let ours = like_llvm_mc(
        &[
            "v4fmaddps zmm1 {k1} {z}, zmm4, xmmword ptr [rax]",
            "vp4dpwssds zmm30, zmm28, xmmword ptr [r13 + 0x40]",
            "v4fnmaddss xmm3, xmm8, xmmword ptr [rsp]",
        ],
        &all_extensions(),
        false,
    );
    // (`like_llvm_mc` keeps the `ret`.)
    assert_eq!(ours[0][..ours[0].len() - 1], alone("v4fmaddps zmm1 {k1} {z}, zmm4+3, xmmword ptr [rax]"));
    assert_eq!(ours[2][..ours[2].len() - 1], alone("v4fnmaddss xmm3, xmm8+3, [rsp]"));
    for bad in ["v4fmaddps zmm1, zmm5, [rax]", "vp4dpwssd zmm1, zmm30+3, [rax]"] {
        assert_error(bad, "block of four");
    }
    for bad in ["vaddps zmm1, zmm4+3, zmm2", "v4fmaddps zmm1, zmm4+2, [rax]", "v4fmaddps zmm1, rax+3, [rax]"] {
        assert!(error_of(bad).is_some(), "`{bad}` was accepted");
    }
}

/// Virtual blocks (`zmm_block`) take four consecutive registers from a multiple of 4 while 20
/// other values stay live around them, and all four are read: the placement is read back from
/// the bytes with iced. A virtual register outside a block is refused where a block goes.
#[test]
fn virtual_register_blocks() {
    use super::regs::{X86Builder, X86Reg};
    use crate::ir::{Mem, Type};
    // (With AVX512VL: Knights Mill has none, so its xmm loads reach xmm0-15 only.)
    let mut f = Function::new("blocks", Signature::new(&[Type::Ptr], None), all_extensions());
    let p = f.param(0);
    let others: Vec<_> = (0..20).map(|_| f.zmm()).collect();
    for (i, &r) in others.iter().enumerate() {
        f.ins("vmovups", (r, Mem::from([p]).at(64 * i as i32)));
    }
    let (acc, zmms, xmms) = (f.zmm(), f.zmm_block(), f.xmm_block());
    f.ins("vpxord", (acc, acc, acc));
    for (i, &r) in zmms.iter().chain(&xmms).enumerate() {
        f.ins("vmovups", (r, Mem::from([p]).at(0x1000 + 64 * i as i32)));
    }
    f.ins("v4fmaddps", (acc, zmms[0], Mem::from([p])));
    f.ins("v4fmaddss", (acc.xmm(), xmms[0], Mem::from([p])));
    for &r in &others {
        f.ins("vaddps", (acc, acc, r));
    }
    f.ins("vmovups", (Mem::from([p]), acc));
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let decoded: Vec<iced_x86::Instruction> =
        Decoder::new(64, code.bytes(), DecoderOptions::NONE).into_iter().collect();
    let loaded = |i: usize| {
        let at = 0x1000 + 64 * i as u64;
        decoded.iter().find(|d| d.op_count() == 2 && d.memory_displacement64() == at).map(|d| d.op0_register().number())
    };
    for (mnemonic, first) in [(iced_x86::Mnemonic::V4fmaddps, 0), (iced_x86::Mnemonic::V4fmaddss, 4)] {
        let block = decoded.iter().find(|d| d.mnemonic() == mnemonic).map(|d| d.op1_register().number());
        let block = block.unwrap_or_else(|| panic!("no {mnemonic:?} in\n{}", code.listing()));
        assert_eq!(block % 4, 0, "{}", code.listing());
        for k in 0..4 {
            assert_eq!(loaded(first + k), Some(block + k), "{}", code.listing());
        }
    }
    let mut g = Function::new("single", Signature::default(), Target::x86_64("knm").expect("a known target"));
    let (a, b) = (g.zmm(), g.zmm());
    g.ins("vpxord", (b, b, b));
    g.ins("v4fmaddps", (a, b, Mem::from([super::reg::RAX])));
    assert!(g.errors().first().is_some_and(|e| e.message().contains("zmm_block")), "{:?}", g.errors());
}
/// 3DNow! in llvm-mc's bytes. iced's encoder leaves out the REX prefix of 3DNow! instructions
/// (the random-bytes test found `pfrsqrt mm1, [r15]` encoded as `[rdi]`), so their addresses
/// stay in rax-rdi: a physical r8-r15 is an error, and a virtual base is placed low even when
/// other values hold most of the low registers (read back from the bytes with iced).
#[test]
fn three_d_now() {
    like_llvm_mc(
        &["pfadd mm0, mm1", "pi2fw mm2, qword ptr [rax]", "pfrcpit1 mm3, qword ptr [rsp + rcx*8 + 16]", "femms"],
        &all_extensions(),
        false,
    );
    for bad in ["pfrsqrt mm1, qword ptr [r15]", "pfadd mm1, qword ptr [rax + r9*2]"] {
        assert_error(bad, "rax-rdi");
    }
    use super::regs::X86Builder;
    let mut f = Function::new("low", Signature::new(&[crate::ir::Type::Ptr], None), all_extensions());
    let p = f.param(0);
    let held: Vec<_> = (0..2).map(|_| f.gp64()).collect();
    for (i, &r) in held.iter().enumerate() {
        f.ins("mov", (r, crate::ir::Mem::from([p]).at(8 * i as i32)));
    }
    let base = f.gp64();
    f.ins("lea", (base, crate::ir::Mem::from([p]).at(64)));
    f.asm("pfadd mm1, qword ptr [{}]", base);
    for &r in &held {
        f.ins("add", (crate::ir::Mem::from([p]), r));
    }
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    let decoded: Vec<_> = Decoder::new(64, code.bytes(), DecoderOptions::NONE).into_iter().collect();
    let find = |m: iced_x86::Mnemonic| decoded.iter().find(|d| d.mnemonic() == m).copied();
    let (Some(lea), Some(pfadd)) = (find(iced_x86::Mnemonic::Lea), find(iced_x86::Mnemonic::Pfadd)) else {
        panic!("no lea or pfadd in\n{}", code.listing())
    };
    assert_eq!(pfadd.memory_base(), lea.op0_register(), "{}", code.listing());
    assert!(pfadd.memory_base().number() < 8, "{}", code.listing());
}

/// What the coverage table leaves out is an error that names it: a branch with a 16-bit operand
/// size (Intel ignores the prefix, AMD cuts RIP to 16 bits) and Knights Corner's instructions.
#[test]
fn forms_left_out_are_errors() {
    for line in ["data16 jo {}", "data16 jmp {}", "data16 call {}", "data16 loop {}"] {
        let mut f = Function::new("b", Signature::default(), all_extensions());
        let l = f.label();
        f.bind(l);
        f.asm(line, l);
        let e = f.errors().first().map(|e| e.message().to_string());
        assert!(e.as_ref().is_some_and(|m| m.contains("data16")), "`{line}`: {e:?}");
    }
    for line in ["jkzd k1, 5", "vprefetch0 byte ptr [rax]", "VLOADUNPACKLPS zmm1, [rax]"] {
        assert_error(line, "Knights Corner");
    }
}
