//! The line programs and sections read back by GNU as and llvm-dwarfdump.

use super::*;
use crate::error::Src;
use std::process::Command;

/// xorshift: the tests' own numbers (emit/ sits below the crate's random programs).
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A random table: small and large steps of address and line (forward and back), columns,
/// two files, a body that starts at 0 or after a prologue.
fn random_table(r: &mut Seeded, len: u32) -> LineTable {
    let files = vec!["src/a.rs".to_string(), "/abs/b.rs".to_string()];
    let mut rows = Vec::new();
    let (mut offset, mut line) = (0u32, 1 + r.below(50) as i64);
    while offset < len {
        let file = 1 + r.below(4).min(1) as u32;
        rows.push(LineRow { offset, file, line: line as u32, column: r.below(3) as u32 * 7 });
        offset += match r.below(4) {
            0 => 1 + r.below(16) as u32,
            1 => 17 + r.below(300) as u32,
            _ => 1 + r.below(5) as u32,
        };
        line = (line + [-3, 1, 2, 9, -40, 700][r.below(6)]).max(1);
    }
    let first_end = rows.get(1).map_or(len, |r| r.offset);
    let prologue_end = r.below(first_end as usize) as u32;
    LineTable { directory: Some("/work".into()), files, rows, prologue_end, inlined: Vec::new() }
}

/// What `llvm-dwarfdump <option>` prints of `sections` assembled by GNU as at `k` with `len`
/// bytes of code, after `llvm-dwarfdump --verify` found nothing wrong; `None` where the tools
/// do not run.
fn dump(sections: &DebugSections, len: u32, option: &str) -> Option<String> {
    let mut lines = vec![".text".to_string(), "k:".into(), format!(".fill {len}, 1, 0")];
    lines.extend(sections.directives("k"));
    assemble_and_dump(&lines, &["as"], option)
}

/// What `llvm-dwarfdump <option>` prints of `lines` assembled by `assembler` (a command and its
/// arguments before the source and `-o`), after `llvm-dwarfdump --verify` found nothing wrong;
/// `None` where the tools do not run.
fn assemble_and_dump(lines: &[String], assembler: &[&str], option: &str) -> Option<String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("peach-dwarf-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let (src, obj) = (dir.join("k.s"), dir.join("k.o"));
    std::fs::write(&src, lines.join("\n") + "\n").ok()?;
    let assembled = Command::new(assembler[0]).args(&assembler[1..]).arg(&src).arg("-o").arg(&obj).status().ok()?;
    assert!(assembled.success(), "{} refused the debug sections", assembler[0]);
    let verify = Command::new("llvm-dwarfdump").arg("--verify").arg(&obj).output().ok()?;
    let dump = Command::new("llvm-dwarfdump").arg(option).arg(&obj).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    Some(String::from_utf8_lossy(&dump.stdout).to_string())
}

/// A compiler's unit in the same object, written after the kernel's (`global_asm!` comes first
/// in rustc's output) and finding its abbreviations at the start of the object's
/// `.debug_abbrev`, as LLVM's do: both units read back, with their own producers.
#[test]
fn a_compilers_unit_in_the_same_object_still_reads() {
    let rows = vec![LineRow { offset: 0, file: 1, line: 3, column: 0 }];
    let table = LineTable { directory: None, files: vec!["k.rs".into()], rows, ..Default::default() };
    let mut lines = vec![".text".to_string(), "k:".into(), ".fill 8, 1, 0".into()];
    lines.extend(DebugSections::new("k", 8, &table).directives("k"));
    // Abbreviation 9 (a code the kernel's table lacks): a unit without children, with a
    // producer; then the unit.
    lines.extend(
        [
            ".section .debug_abbrev,\"\",%progbits",
            ".byte 9, 0x11, 0, 0x25, 0x08, 0, 0, 0",
            ".section .debug_info,\"\",%progbits",
            ".long .Lunit_end - .Lunit_start",
            ".Lunit_start:",
            ".short 4",
            ".long .debug_abbrev",
            ".byte 8, 9",
            ".asciz \"the compiler\"",
            ".Lunit_end:",
        ]
        .map(String::from),
    );
    for assembler in [&["as"][..], &["llvm-mc", "-filetype=obj"]] {
        let Some(info) = assemble_and_dump(&lines, assembler, "--debug-info") else {
            eprintln!("skipped: {} or llvm-dwarfdump did not run", assembler[0]);
            continue;
        };
        let producers: Vec<&str> = info.lines().filter(|l| l.contains("DW_AT_producer")).collect();
        assert_eq!(producers.len(), 2, "{info}");
        assert!(producers.iter().any(|p| p.contains("(\"peach ")), "{info}");
        assert!(producers.iter().any(|p| p.contains("(\"the compiler\")")), "{info}");
    }
}

/// A row as read back: offset, file, line, column, whether it ends the prologue.
type ReadRow = (u32, u32, u32, u32, bool);

/// The rows llvm-dwarfdump reads from `sections` (see [`dump`]).
fn read_back(sections: &DebugSections, len: u32) -> Option<Vec<ReadRow>> {
    let text = dump(sections, len, "--debug-line")?;
    let rows = text.lines().filter(|l| l.starts_with("0x") && !l.contains("end_sequence"));
    let number = |s: &str| s.parse::<u32>().ok();
    rows.map(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        let offset = u32::from_str_radix(c[0].trim_start_matches("0x"), 16).ok()?;
        Some((offset, number(c[3])?, number(c[1])?, number(c[2])?, l.contains("prologue_end")))
    })
    .collect()
}

#[test]
fn line_programs_read_back_as_written() {
    let mut r = Seeded(0x11ee);
    for len in [1, 40, 64, 300, 3000] {
        let table = random_table(&mut r, len);
        let sections = DebugSections::new("k", len, &table);
        let Some(rows) = read_back(&sections, len) else {
            eprintln!("skipped: GNU as or llvm-dwarfdump did not run");
            return;
        };
        let pe = table.prologue_end;
        let mut expected: Vec<_> =
            table.rows.iter().map(|r| (r.offset, r.file, r.line, r.column, r.offset == 0 && pe == 0)).collect();
        // The first line again where the body starts.
        if pe > 0 {
            let r = table.rows[0];
            expected.insert(1, (pe, r.file, r.line, r.column, true));
        }
        assert_eq!(rows, expected, "prologue end {pe}");
    }
}

#[test]
fn filled_holes_hold_the_address_and_zero_offsets() {
    let table = LineTable { directory: None, files: vec!["k.rs".into()], rows: vec![], ..Default::default() };
    let mut d = DebugSections::new("k", 8, &table);
    d.fill(0x1122_3344_5566_7788);
    for (section, holes) in [(&d.info, &d.info_holes), (&d.line, &d.line_holes)] {
        for &(at, hole) in holes {
            let want: &[u8] = match hole {
                Hole::Code(_) => &0x1122_3344_5566_7788u64.to_le_bytes(),
                _ => &[0; 4],
            };
            assert_eq!(&section[at..at + want.len()], want);
        }
    }
}

/// Custom instructions inlined (one called twice, one inside another): llvm-dwarfdump finds an
/// inlined subroutine per stretch of code, nested as the calls are, with the name, extent and
/// call site; the rows have the call's line where its code starts, then the code's own.
#[test]
fn inlined_code_reads_back_as_written() {
    // Tokens 0-2 in the body (lines 10-12), 3-4 in `outer` (lines 20-21), 5 in `inner` (30).
    let line = |src: Src| match src {
        Src::Token(n @ 0..=2) => 10 + n,
        Src::Token(n @ 3..=4) => 17 + n,
        _ => 30,
    };
    let calls = [
        Call { name: "outer".into(), file: "a.rs".into(), line: 11, column: 9 },
        Call { name: "inner".into(), file: "a.rs".into(), line: 21, column: 13 },
        Call { name: "outer".into(), file: "a.rs".into(), line: 12, column: 9 },
    ];
    let chain = |src: Src| match src {
        Src::Token(3) => vec![0],
        Src::Token(4) => vec![0, 1],
        Src::Token(5) => vec![0, 1],
        Src::Token(6) => vec![2],
        _ => vec![],
    };
    // After a 1-byte prologue: line 10, then `outer` at 4 (its line 20, then `inner`'s code at
    // 6), then line 11 again at 12, then the second call of `outer` from 14 to the end.
    let tok = Src::Token;
    let rows = [(1, tok(0)), (4, tok(3)), (6, tok(5)), (12, tok(1)), (14, tok(6))];
    let len = 20;
    let mut table = LineTable::new(&rows, |src| Some(("a.rs".into(), line(src), 1)));
    table.inline(&rows, len, chain, &calls);
    let want = [
        Inlined { name: "outer".into(), call: (1, 11, 9), start: 4, end: 12, depth: 0 },
        Inlined { name: "inner".into(), call: (1, 21, 13), start: 6, end: 12, depth: 1 },
        Inlined { name: "outer".into(), call: (1, 12, 9), start: 14, end: 20, depth: 0 },
    ];
    assert_eq!(table.inlined, want);
    let sections = DebugSections::new("k", len, &table);
    let Some(rows) = read_back(&sections, len) else {
        eprintln!("skipped: GNU as or llvm-dwarfdump did not run");
        return;
    };
    let lines: Vec<(u32, u32)> = rows.iter().map(|r| (r.0, r.2)).collect();
    assert_eq!(lines, [(0, 10), (1, 10), (4, 11), (4, 20), (6, 21), (6, 30), (12, 11), (14, 12), (14, 30)]);
    let info = dump(&sections, len, "--debug-info").unwrap_or_default();
    // (indentation: the depth; name, low pc, high pc, call line)
    let mut found = Vec::new();
    let mut lines = info.lines().peekable();
    while let Some(l) = lines.next() {
        if !l.contains("DW_TAG_inlined_subroutine") {
            continue;
        }
        let indent = l.find("DW_TAG").unwrap_or(0);
        let mut attr = |name: &str| {
            let l = lines.find(|l| l.contains(name)).unwrap_or_else(|| panic!("{info}"));
            l.split('(').nth(1).unwrap_or_default().trim_end_matches(')').to_string()
        };
        let origin = attr("DW_AT_abstract_origin");
        let name = origin.split('"').nth(1).unwrap_or_default().to_string();
        let number = |s: String| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or(u64::MAX);
        let (low, high) = (number(attr("DW_AT_low_pc")), number(attr("DW_AT_high_pc")));
        let _ = attr("DW_AT_call_file");
        let call_line: u32 = attr("DW_AT_call_line").parse().unwrap_or(0);
        found.push((indent, name, low, high, call_line));
    }
    assert_eq!(found.len(), 3, "{info}");
    assert!(found[1].0 > found[0].0 && found[2].0 == found[0].0, "{info}");
    let got: Vec<_> = found.iter().map(|f| (f.1.as_str(), f.2, f.3, f.4)).collect();
    assert_eq!(got, [("outer", 4, 12, 11), ("inner", 6, 12, 21), ("outer", 14, 20, 12)], "{info}");
}
