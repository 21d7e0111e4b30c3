//! The A64 text front end checked on text peach did not write: instruction words (every table
//! row's samples, and random words) are disassembled by llvm-mc; each line llvm-mc prints goes
//! through `Function::asm`, and peach's word must be the word llvm-mc read, or the word llvm-mc
//! assembles from the same text (where the text is an alias with several encodings).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::Abi;
use crate::ir::{Function, Signature};
use crate::target::{Arch, ExtSet, Extension, Target};

const MATTR: &str = "-mattr=+neon,+dotprod,+fullfp16,+i8mm,+bf16,+crc,+aes,+sha2,+lse,+rdm,+rcpc,+ccpp";

/// Every extension peach knows for AArch64.
fn everything() -> Target {
    let mut s = ExtSet::EMPTY;
    for i in 0..256 {
        s.insert(Extension(i));
    }
    Target::new(Arch::Aarch64, "everything", s)
}

fn have_llvm() -> bool {
    Command::new("llvm-mc").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `brk #0xbeef`: a word that separates the others in llvm-mc's input and output.
const MARK: u32 = 0xd437_dde0;

/// llvm-mc's text for each word, and the word it shows for that text (the same, with ignored
/// bits cleared), or `None` where it reads no instruction.
fn disassemble(words: &[u32]) -> Vec<Option<(String, u32)>> {
    let mut child = Command::new("llvm-mc")
        .args(["--disassemble", "-triple=aarch64", MATTR, "-show-encoding"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("llvm-mc runs");
    let mut input = String::new();
    for w in words {
        for w in [MARK, *w] {
            let b = w.to_le_bytes();
            input.push_str(&format!("0x{:02x} 0x{:02x} 0x{:02x} 0x{:02x}\n", b[0], b[1], b[2], b[3]));
        }
    }
    let mut stdin = child.stdin.take().expect("a pipe");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("llvm-mc finishes");
    let _ = writer.join();
    // Each word comes after a mark: the lines between two marks are that word's.
    let mut result = vec![None; words.len()];
    let mut k: Option<usize> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((text, enc)) = line.split_once("// encoding: [") else { continue };
        let bytes: Vec<u8> = enc
            .trim_end_matches(']')
            .split(',')
            .filter_map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).ok())
            .collect();
        let Ok(b) = <[u8; 4]>::try_from(bytes.as_slice()) else { continue };
        let word = u32::from_le_bytes(b);
        if word == MARK {
            k = Some(k.map_or(0, |k| k + 1));
        } else if let Some(slot) = k.and_then(|k| result.get_mut(k)) {
            *slot = Some((text.trim().replace('\t', " "), word));
        }
    }
    result
}

/// llvm-mc's words for lines (`None` where it refuses one).
fn assemble(lines: &[String]) -> Vec<Option<u32>> {
    let words = crate::isa::text::llvm_mc_lines("", &["-triple=aarch64", MATTR], lines).expect("llvm-mc runs");
    words
        .into_iter()
        .map(|b| b.and_then(|b| <[u8; 4]>::try_from(&b[..4.min(b.len())]).ok()).map(u32::from_le_bytes))
        .collect()
}

#[test]
fn text_agrees_with_llvm_mc() {
    if !have_llvm() {
        eprintln!("skipped: llvm-mc is not installed");
        return;
    }
    let mut words: Vec<u32> = super::tests::samples().into_iter().map(|(_, w)| w).collect();
    let first_random = words.len();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        words.push(state as u32);
    }
    let samples = words[..first_random].iter().filter(|w| **w != MARK).count();
    words.retain(|w| *w != MARK);
    let texts = disassemble(&words);
    // Per class of the encoding space, for the random words: read by llvm-mc, accepted by peach,
    // refused because a number stands where peach takes a label, refused otherwise, and of
    // those refused as unpredictable, how many llvm-mc refuses to assemble too.
    let mut classes: BTreeMap<&'static str, [usize; 5]> = BTreeMap::new();
    let mut unpredictable: Vec<(&'static str, String)> = Vec::new();
    let target = everything();
    let mut refused: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut accepted: Vec<(u32, String)> = Vec::new();
    for (k, (text, word)) in texts.iter().enumerate().filter_map(|(k, t)| t.as_ref().map(|t| (k, t))) {
        let mut probe = Function::new("probe", Signature::default(), target.clone());
        probe.asm(text, ());
        let class = (k >= samples).then(|| classes.entry(class_of(*word)).or_default());
        match probe.errors().first() {
            Some(e) => {
                let reason =
                    e.message().lines().next().unwrap_or("").split(" (column").next().unwrap_or("").to_string();
                if let Some(c) = class {
                    c[0] += 1;
                    let label = reason.starts_with("no form of") && reason.contains("label");
                    c[if label { 2 } else { 3 }] += 1;
                    if reason.contains("unpredictable") {
                        unpredictable.push((class_of(*word), text.clone()));
                    }
                }
                refused.entry(reason).or_insert((0, text.clone())).0 += 1;
            }
            None => {
                if let Some(c) = class {
                    c[0] += 1;
                    c[1] += 1;
                }
                accepted.push((*word, text.clone()));
            }
        }
    }
    let theirs = assemble(&unpredictable.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>());
    for ((class, _), word) in unpredictable.iter().zip(&theirs) {
        if word.is_none()
            && let Some(c) = classes.get_mut(class)
        {
            c[4] += 1;
        }
    }
    coverage_table(&classes);
    let mut f = Function::new("lines", Signature::default(), target.clone());
    let labels: Vec<_> = accepted.iter().map(|_| f.label()).collect();
    for ((_, text), l) in accepted.iter().zip(&labels) {
        f.bind(*l);
        f.asm(text, ());
    }
    f.ret(None);
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let mut ours: Vec<Option<u32>> = vec![None; accepted.len()];
    let at: BTreeMap<u32, usize> = labels.iter().enumerate().map(|(k, l)| (l.0, k)).collect();
    for l in code.lines() {
        for label in &l.labels {
            if let Some(&k) = at.get(label) {
                ours[k] = code.bytes().get(l.offset..l.offset + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()));
            }
        }
    }
    let (mut same, mut alias) = (0, 0);
    let mut differ: Vec<usize> = Vec::new();
    for (k, ((word, _), ours)) in accepted.iter().zip(&ours).enumerate() {
        match ours {
            Some(w) if w == word => same += 1,
            _ => differ.push(k),
        }
    }
    let again = assemble(&differ.iter().map(|&k| accepted[k].1.clone()).collect::<Vec<_>>());
    let mut mismatches = Vec::new();
    for (&k, theirs) in differ.iter().zip(&again) {
        let (word, text) = &accepted[k];
        match (ours[k], theirs) {
            (Some(o), Some(t)) if o == *t => alias += 1,
            (o, t) => {
                mismatches.push(format!("{text}: read from {word:08x}; peach {o:08x?}, llvm-mc assembles {t:08x?}"))
            }
        }
    }
    // GNU as, where it takes the text (it skips some aliases and newer extensions).
    let (mut gnu_same, mut gnu_read) = (0, 0);
    if std::process::Command::new("aarch64-linux-gnu-as").arg("--version").output().is_ok() {
        let prelude = ".arch armv8.6-a+fp16+dotprod+i8mm+bf16+crc+aes+sha2+lse+rdm+rcpc";
        let lines: Vec<String> = accepted.iter().map(|(_, t)| t.clone()).collect();
        let gnu = crate::isa::text::gnu_as_lines("aarch64-linux-gnu-as", prelude, &lines).expect("GNU as runs");
        for (k, theirs) in gnu.iter().enumerate() {
            let Some(t) = theirs.as_ref().and_then(|b| <[u8; 4]>::try_from(&b[..]).ok()).map(u32::from_le_bytes) else {
                continue;
            };
            gnu_read += 1;
            match ours[k] {
                Some(o) if o == t => gnu_same += 1,
                o => mismatches.push(format!("{}: peach {o:08x?}, GNU as assembles {t:08x}", accepted[k].1)),
            }
        }
        eprintln!("GNU as takes {gnu_read} of the {} lines peach encodes: {gnu_same} the same word", accepted.len());
    }
    let read = texts.iter().flatten().count();
    let refused_count: usize = refused.values().map(|(n, _)| n).sum();
    eprintln!(
        "{} words, {read} read by llvm-mc: {same} back to the same word, {alias} to llvm-mc's word for the text, {} differ, \
         {refused_count} refused by peach",
        words.len(),
        mismatches.len()
    );
    let mut reasons: Vec<_> = refused.iter().collect();
    reasons.sort_by_key(|(_, (n, _))| std::cmp::Reverse(*n));
    for (reason, (n, example)) in reasons.iter().take(40) {
        eprintln!("refused {n}x: {reason}  e.g. `{example}`");
    }
    assert!(mismatches.is_empty(), "{} lines differ:\n{}", mismatches.len(), mismatches.join("\n"));
    assert!(same >= 500, "only {same} lines came back to their word");
}

/// The class of the A64 encoding space a word is in (`op0`, bits 28-25, of the Arm ARM's top
/// level).
fn class_of(word: u32) -> &'static str {
    match (word >> 25) & 0xf {
        0b1000 | 0b1001 => "data processing, immediate",
        0b1010 | 0b1011 => "branches, exceptions, system",
        op0 if op0 & 0b0101 == 0b0100 => "loads and stores",
        op0 if op0 & 0b0111 == 0b0101 => "data processing, register",
        op0 if op0 & 0b0111 == 0b0111 => "FP and Advanced SIMD",
        _ => "SVE, SME, reserved",
    }
}

/// The README's AArch64 coverage table: `PEACH_BLESS=1 cargo test -p peach-core --lib
/// aarch64::text_tests` rewrites it (the words llvm-mc reads depend on its version: a stale
/// table is reported, not failed).
fn coverage_table(classes: &BTreeMap<&'static str, [usize; 5]>) {
    let mut table = String::from(
        "| class (random words) | read by llvm-mc | a number where peach takes a label | unpredictable (llvm-mc refuses to assemble them too) | peach encodes (share of the rest) | not yet |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut total = [0usize; 5];
    let row = |name: &str, c: &[usize; 5]| {
        let pct = 100.0 * c[1] as f64 / (c[0] - c[2] - c[4]).max(1) as f64;
        format!("| {name} | {} | {} | {} | {} ({pct:.0} %) | {} |\n", c[0], c[2], c[4], c[1], c[3] - c[4])
    };
    for (class, c) in classes {
        table.push_str(&row(class, c));
        for i in 0..5 {
            total[i] += c[i];
        }
    }
    table.push_str(&row("all", &total));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let Ok(readme) = std::fs::read_to_string(&path) else { return };
    let (begin, end) = ("<!-- a64 coverage: begin -->\n", "<!-- a64 coverage: end -->");
    let (Some(a), Some(b)) = (readme.find(begin), readme.find(end)) else {
        panic!("the README has no `{begin}` ... `{end}` section")
    };
    if readme[a + begin.len()..b] == table {
        return;
    }
    if std::env::var_os("PEACH_BLESS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &readme[..a + begin.len()], &readme[b..]))
            .expect("README written");
    } else {
        eprintln!(
            "NOTE: the README's AArch64 coverage table differs from this run (PEACH_BLESS=1 rewrites it):\n{table}"
        );
    }
}

/// A store-exclusive's status never shares a register with the value or the base, even where
/// both die at that instruction (the allocator reads them late).
#[test]
fn store_exclusive_status_gets_its_own_register() {
    use crate::isa::aarch64::{A64Builder, A64Reg};
    let sig = Signature::new(&[crate::ir::Type::Ptr], Some(crate::ir::Type::U32));
    let mut f = Function::new("once", sig, everything());
    let p = f.param(0);
    let (v, status) = (f.x(), f.x());
    f.asm("mov {}, #7", v);
    f.asm("stxr {}, {}, [{}]", (status.w(), v, p));
    f.ret(status.w());
    let code = f.compile(Abi::Aapcs64).unwrap_or_else(|e| panic!("{e}"));
    let line = code.lines().into_iter().find(|l| l.intel.starts_with("stxr")).expect("an stxr");
    let regs: Vec<&str> =
        line.intel.trim_start_matches("stxr ").split([',', '[', ']', ' ']).filter(|s| !s.is_empty()).collect();
    let n = |r: &str| r[1..].to_string();
    assert!(n(regs[0]) != n(regs[1]) && n(regs[0]) != n(regs[2]), "{}", line.intel);
}

/// Half-precision scalar arithmetic needs FP16; converting to and from half precision does not.
#[test]
fn half_precision_scalars_need_fp16() {
    let neon = Target::aarch64_neon();
    let mut f = Function::new("h", Signature::default(), neon.clone());
    f.asm("fadd h0, h1, h2", ());
    assert!(f.errors().first().is_some_and(|e| e.to_string().contains("FP16")), "{:?}", f.errors());
    let mut g = Function::new("h", Signature::default(), neon);
    g.asm("fcvt s0, h1", ());
    g.asm("fcvt h2, d3", ());
    assert!(g.errors().is_empty(), "{:?}", g.errors());
    let mut h = Function::new("h", Signature::default(), Target::aarch64("neoverse-n1").unwrap());
    h.asm("fmadd h0, h1, h2, h3", ());
    assert!(h.errors().is_empty(), "{:?}", h.errors());
}

/// A 16-bit element by element is one of v0-v15 (its register field has four bits): a higher
/// physical register is an error, and a lane group (`4b`) stands only where a dot product
/// takes one.
#[test]
fn by_element_operands_are_checked() {
    let mut f = Function::new("e", Signature::default(), everything());
    f.asm("mul v0.8h, v1.8h, v15.h[7]", ());
    f.asm("sdot v0.4s, v1.16b, v31.4b[3]", ());
    assert!(f.errors().is_empty(), "{:?}", f.errors());
    for (line, want) in [
        ("mul v0.8h, v1.8h, v16.h[1]", "v0-v15"),
        ("mul v0.4s, v1.4s, v2.4b[1]", "no form of `mul`"),
        ("sdot v0.4s, v1.16b, v2.s[1]", "no form of `sdot`"),
        ("fmla h0, h1, v2.h[8]", "lane index 8 is out of range"),
    ] {
        let mut g = Function::new("e", Signature::default(), everything());
        g.asm(line, ());
        assert!(g.errors().first().is_some_and(|e| e.to_string().contains(want)), "{line}: {:?}", g.errors());
    }
}

/// `pmull` of bytes is base NEON; of doublewords (`.1q`) it is part of AES.
#[test]
fn polynomial_multiply_of_doublewords_needs_aes() {
    let mut f = Function::new("p", Signature::default(), Target::aarch64_neon());
    f.asm("pmull v0.8h, v1.8b, v2.8b", ());
    assert!(f.errors().is_empty(), "{:?}", f.errors());
    f.asm("pmull v0.1q, v1.1d, v2.1d", ());
    assert!(f.errors().first().is_some_and(|e| e.to_string().contains("AES")), "{:?}", f.errors());
}

/// `casp` takes two pairs of physical registers, each from an even one.
#[test]
fn pair_compare_and_swap_takes_even_pairs() {
    use crate::isa::aarch64::A64Builder;
    let mut f = Function::new("c", Signature::default(), everything());
    f.asm("casp x0, x1, x2, x3, [x4]", ());
    f.asm("caspl w6, w7, w30, wzr, [sp]", ());
    assert!(f.errors().is_empty(), "{:?}", f.errors());
    for line in ["casp x1, x2, x4, x5, [x0]", "casp x0, x2, x4, x5, [x0]", "casp x0, w1, x4, x5, [x0]"] {
        let mut g = Function::new("c", Signature::default(), everything());
        g.asm(line, ());
        assert!(g.errors().first().is_some_and(|e| e.to_string().contains("even")), "{line}: {:?}", g.errors());
    }
    let mut g = Function::new("c", Signature::default(), everything());
    let (a, b) = (g.x(), g.x());
    g.asm("casp {}, {}, x2, x3, [x4]", (a, b));
    assert!(g.errors().first().is_some_and(|e| e.to_string().contains("physical")), "{:?}", g.errors());
}
