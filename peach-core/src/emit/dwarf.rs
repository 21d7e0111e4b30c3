//! DWARF debugging information for one function: a compilation unit that names it and gives
//! its extent, and a line-number program that maps its addresses to source lines, so that
//! `break file.rs:LINE`, `info line` and backtraces work in a debugger. Version 4, which every
//! debugger and `readelf` read. The function's address is left as a hole: an assembler fills it
//! with a relocation (static code), a loader with the address (code loaded at run time).

use super::unwind::{sleb128, uleb128};
use crate::error::Src;

/// One row of a line table: from `offset` on, the code comes from `line` and `column` (from
/// 1; 0 for unknown) of file `file` (an index into [`LineTable::files`], from 1 as DWARF
/// counts them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineRow {
    /// Offset from the start of the code.
    pub offset: u32,
    /// File number, from 1.
    pub file: u32,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1 (0: unknown).
    pub column: u32,
}

/// The source lines of one function's code.
///
/// ```
/// use peach_core::emit::LineTable;
/// use peach_core::Src;
/// let rows = [(0, Src::Token(4)), (3, Src::Token(5)), (9, Src::Token(4))];
/// let table = LineTable::new(&rows, |src| match src {
///     Src::Token(n) => Some(("src/lib.rs".to_string(), 10 + n, 5)),
///     Src::Rust(_) => None,
/// });
/// assert_eq!(table.files, ["src/lib.rs"]);
/// assert_eq!(table.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [14, 15, 14]);
///
/// // After a 2-byte prologue: the first row starts at 0 all the same.
/// let table = LineTable::new(&[(2, Src::Token(4))], |_| Some(("src/lib.rs".into(), 10, 5)));
/// assert_eq!((table.rows[0].offset, table.prologue_end), (0, 2));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineTable {
    /// The directory relative file names start from (DWARF's compilation directory).
    pub directory: Option<String>,
    /// The files, numbered from 1 in the rows.
    pub files: Vec<String>,
    /// The rows, by offset; the first starts at 0 (the prologue belongs to the first line).
    pub rows: Vec<LineRow>,
    /// Where the body starts, after the prologue: where a debugger stops for a breakpoint on
    /// the function or on its first line.
    pub prologue_end: u32,
}

impl LineTable {
    /// A table from a code object's rows ([`super::CodeObject::source_lines`]), each
    /// location resolved by `resolve` to a file, a line and a column (`None` drops the row;
    /// consecutive rows at one place are one).
    pub fn new(rows: &[(u32, Src)], mut resolve: impl FnMut(Src) -> Option<(String, u32, u32)>) -> LineTable {
        let mut table = LineTable::default();
        table.prologue_end = rows.first().map_or(0, |r| r.0);
        for &(offset, src) in rows {
            let Some((file, line, column)) = resolve(src) else { continue };
            let file = match table.files.iter().position(|f| *f == file) {
                Some(i) => i as u32 + 1,
                None => {
                    table.files.push(file);
                    table.files.len() as u32
                }
            };
            // Locations that resolve to one place (a custom instruction's, at its call) make one
            // row.
            if table.rows.last().is_none_or(|r| (r.file, r.line, r.column) != (file, line, column)) {
                table.rows.push(LineRow { offset, file, line, column });
            }
        }
        if let Some(first) = table.rows.first_mut() {
            first.offset = 0;
        }
        table
    }

    /// A table whose locations are lines of Rust ([`Src::Rust`]: builder calls); others are
    /// dropped.
    ///
    /// ```
    /// use peach_core::emit::LineTable;
    /// use peach_core::Src;
    /// let here = std::panic::Location::caller();
    /// let table = LineTable::of_rust(&[(0, Src::Rust(here))]);
    /// assert_eq!(table.rows[0].line, here.line());
    /// ```
    pub fn of_rust(rows: &[(u32, Src)]) -> LineTable {
        LineTable::new(rows, |src| match src {
            Src::Rust(l) => Some((l.file().to_string(), l.line(), l.column())),
            Src::Token(_) => None,
        })
    }
}

/// A place in a debug section that holds what only the linker or the loader knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hole {
    /// 8 bytes: the address of the code's start.
    Code,
    /// 4 bytes: the offset of this unit's abbreviations in `.debug_abbrev`.
    Abbrev,
    /// 4 bytes: the offset of this unit's line program in `.debug_line`.
    Line,
}

/// The DWARF sections of one function, with their holes (`(offset in the section, what)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebugSections {
    /// `.debug_abbrev`.
    pub abbrev: Vec<u8>,
    /// `.debug_info`: the compilation unit.
    pub info: Vec<u8>,
    /// Holes of `.debug_info`.
    pub info_holes: Vec<(usize, Hole)>,
    /// `.debug_line`: the line-number program.
    pub line: Vec<u8>,
    /// Holes of `.debug_line`.
    pub line_holes: Vec<(usize, Hole)>,
}

// DWARF constants (DWARF 4, section 7).
const DW_TAG_COMPILE_UNIT: u64 = 0x11;
const DW_TAG_SUBPROGRAM: u64 = 0x2e;
const DW_AT_NAME: u64 = 0x03;
const DW_AT_STMT_LIST: u64 = 0x10;
const DW_AT_LOW_PC: u64 = 0x11;
const DW_AT_HIGH_PC: u64 = 0x12;
const DW_AT_LANGUAGE: u64 = 0x13;
const DW_AT_COMP_DIR: u64 = 0x1b;
const DW_AT_PRODUCER: u64 = 0x25;
const DW_AT_DECL_FILE: u64 = 0x3a;
const DW_AT_DECL_LINE: u64 = 0x3b;
const DW_AT_EXTERNAL: u64 = 0x3f;
const DW_AT_FRAME_BASE: u64 = 0x40;
const DW_FORM_ADDR: u64 = 0x01;
const DW_FORM_DATA2: u64 = 0x05;
const DW_FORM_DATA4: u64 = 0x06;
const DW_FORM_STRING: u64 = 0x08;
const DW_FORM_SEC_OFFSET: u64 = 0x17;
const DW_FORM_EXPRLOC: u64 = 0x18;
const DW_FORM_FLAG_PRESENT: u64 = 0x19;
const DW_LANG_RUST: u16 = 0x1c;
const DW_OP_CALL_FRAME_CFA: u8 = 0x9c;

/// The line program's parameters: a row that moves up to 17 bytes and -5 to 8 lines is one
/// byte (a special opcode).
const LINE_BASE: i8 = -5;
const LINE_RANGE: u8 = 14;
const OPCODE_BASE: u8 = 13;
/// Operands of standard opcodes 1-12.
const STANDARD_LENGTHS: [u8; 12] = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];

impl DebugSections {
    /// The sections of function `name`, `len` bytes of code, with the lines of `table`.
    ///
    /// ```
    /// use peach_core::emit::{DebugSections, Hole, LineRow, LineTable};
    /// let rows = vec![LineRow { offset: 0, file: 1, line: 7, column: 5 }];
    /// let table = LineTable { directory: None, files: vec!["k.rs".into()], rows, prologue_end: 0 };
    /// let mut d = DebugSections::new("kernel", 16, &table);
    /// assert!(d.info_holes.contains(&(6, Hole::Abbrev)));
    /// d.fill(0x1000);
    /// assert_eq!(&d.info[6..10], &[0, 0, 0, 0]);
    /// ```
    pub fn new(name: &str, len: u32, table: &LineTable) -> DebugSections {
        let abbrev = abbreviations(table.directory.is_some());
        let (line, line_holes) = line_program(len, table);
        let mut info = Vec::new();
        let mut info_holes = Vec::new();
        info.extend_from_slice(&[0; 4]); // unit length, below
        info.extend_from_slice(&4u16.to_le_bytes()); // version
        info_holes.push((info.len(), Hole::Abbrev));
        info.extend_from_slice(&[0; 4]);
        info.push(8); // address size
        // The compilation unit.
        uleb128(1, &mut info);
        string(concat!("peach ", env!("CARGO_PKG_VERSION")), &mut info);
        info.extend_from_slice(&DW_LANG_RUST.to_le_bytes());
        string(table.files.first().map_or(name, |f| f.as_str()), &mut info);
        if let Some(dir) = &table.directory {
            string(dir, &mut info);
        }
        info_holes.push((info.len(), Hole::Line));
        info.extend_from_slice(&[0; 4]);
        info_holes.push((info.len(), Hole::Code));
        info.extend_from_slice(&[0; 8]);
        info.extend_from_slice(&len.to_le_bytes());
        // The function.
        uleb128(2, &mut info);
        string(name, &mut info);
        info_holes.push((info.len(), Hole::Code));
        info.extend_from_slice(&[0; 8]);
        info.extend_from_slice(&len.to_le_bytes());
        let first = table.rows.first();
        info.extend_from_slice(&first.map_or(0, |r| r.file).to_le_bytes());
        info.extend_from_slice(&first.map_or(0, |r| r.line).to_le_bytes());
        info.extend_from_slice(&[1, DW_OP_CALL_FRAME_CFA]);
        info.push(0); // end of the unit's children
        let unit_length = info.len() as u32 - 4;
        info[..4].copy_from_slice(&unit_length.to_le_bytes());
        DebugSections { abbrev, info, info_holes, line, line_holes }
    }

    /// Fills the holes for an object that holds this unit alone, with its code at `address`.
    pub fn fill(&mut self, address: u64) {
        for (section, holes) in [(&mut self.info, &self.info_holes), (&mut self.line, &self.line_holes)] {
            for &(at, hole) in holes {
                match hole {
                    Hole::Code => section[at..at + 8].copy_from_slice(&address.to_le_bytes()),
                    Hole::Abbrev | Hole::Line => section[at..at + 4].fill(0),
                }
            }
        }
    }

    /// Assembler directives that put the sections into an ELF object, for the code at
    /// `symbol`: the holes become relocations the linker resolves.
    ///
    /// ```
    /// use peach_core::emit::{DebugSections, LineTable};
    /// let d = DebugSections::new("k", 4, &LineTable::default());
    /// let lines = d.directives("k");
    /// assert!(lines.contains(&".quad k".to_string()));
    /// assert!(lines.contains(&".pushsection .debug_line,\"\",%progbits".to_string()));
    /// ```
    pub fn directives(&self, symbol: &str) -> Vec<String> {
        let abbrev = format!(".L__peach_abbrev_{symbol}");
        let line = format!(".L__peach_line_{symbol}");
        let mut out = Vec::new();
        let mut section = |name: &str, label: Option<&str>, bytes: &[u8], holes: &[(usize, Hole)]| {
            out.push(format!(".pushsection {name},\"\",%progbits"));
            out.extend(label.map(|l| format!("{l}:")));
            let mut at = 0;
            for &(hole_at, hole) in holes.iter().chain([&(bytes.len(), Hole::Code)]) {
                for chunk in bytes[at..hole_at].chunks(32) {
                    let hex: Vec<String> = chunk.iter().map(|b| format!("0x{b:02x}")).collect();
                    out.push(format!(".byte {}", hex.join(",")));
                }
                if hole_at == bytes.len() {
                    break;
                }
                out.push(match hole {
                    Hole::Code => format!(".quad {symbol}"),
                    Hole::Abbrev => format!(".long {abbrev}"),
                    Hole::Line => format!(".long {line}"),
                });
                at = hole_at + if hole == Hole::Code { 8 } else { 4 };
            }
            out.push(".popsection".into());
        };
        section(".debug_abbrev", Some(&abbrev), &self.abbrev, &[]);
        section(".debug_info", None, &self.info, &self.info_holes);
        section(".debug_line", Some(&line), &self.line, &self.line_holes);
        out
    }
}

fn string(s: &str, out: &mut Vec<u8>) {
    out.extend(s.bytes().filter(|&b| b != 0));
    out.push(0);
}

/// Abbreviation 1: the compilation unit (with its directory or not); 2: the function.
fn abbreviations(with_directory: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut entry = |code: u64, tag: u64, children: bool, attributes: &[(u64, u64)]| {
        uleb128(code, &mut out);
        uleb128(tag, &mut out);
        out.push(children as u8);
        for &(name, form) in attributes {
            uleb128(name, &mut out);
            uleb128(form, &mut out);
        }
        out.extend_from_slice(&[0, 0]);
    };
    let mut unit =
        vec![(DW_AT_PRODUCER, DW_FORM_STRING), (DW_AT_LANGUAGE, DW_FORM_DATA2), (DW_AT_NAME, DW_FORM_STRING)];
    if with_directory {
        unit.push((DW_AT_COMP_DIR, DW_FORM_STRING));
    }
    unit.extend([(DW_AT_STMT_LIST, DW_FORM_SEC_OFFSET), (DW_AT_LOW_PC, DW_FORM_ADDR), (DW_AT_HIGH_PC, DW_FORM_DATA4)]);
    entry(1, DW_TAG_COMPILE_UNIT, true, &unit);
    entry(
        2,
        DW_TAG_SUBPROGRAM,
        false,
        &[
            (DW_AT_NAME, DW_FORM_STRING),
            (DW_AT_LOW_PC, DW_FORM_ADDR),
            (DW_AT_HIGH_PC, DW_FORM_DATA4),
            (DW_AT_DECL_FILE, DW_FORM_DATA4),
            (DW_AT_DECL_LINE, DW_FORM_DATA4),
            (DW_AT_FRAME_BASE, DW_FORM_EXPRLOC),
            (DW_AT_EXTERNAL, DW_FORM_FLAG_PRESENT),
        ],
    );
    out.push(0);
    out
}

/// The line-number program of `table` for `len` bytes of code, with its hole (the address
/// the sequence starts at).
/// The standard opcode that marks the next row as the end of the prologue (DWARF 3).
const DW_LNS_SET_PROLOGUE_END: u8 = 10;

fn line_program(len: u32, table: &LineTable) -> (Vec<u8>, Vec<(usize, Hole)>) {
    let mut out = vec![0; 4]; // unit length, below
    out.extend_from_slice(&4u16.to_le_bytes());
    let header_length_at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[1, 1, 1, LINE_BASE as u8, LINE_RANGE, OPCODE_BASE]);
    out.extend_from_slice(&STANDARD_LENGTHS);
    out.push(0); // no include directories: names are relative to the unit's directory
    for file in &table.files {
        string(file, &mut out);
        out.extend_from_slice(&[0, 0, 0]); // directory 0, no time, no size
    }
    out.push(0);
    let header_length = (out.len() - header_length_at - 4) as u32;
    out[header_length_at..header_length_at + 4].copy_from_slice(&header_length.to_le_bytes());
    // DW_LNE_set_address: the hole.
    out.extend_from_slice(&[0, 9, 2]);
    let holes = vec![(out.len(), Hole::Code)];
    out.extend_from_slice(&[0; 8]);
    let (mut file, mut line, mut column, mut at) = (1, 1i64, 0, 0);
    // The first row again where the body starts, marked as the prologue's end: gdb stops there
    // for a breakpoint on the first line (without it, it skips to the second line's code).
    let first = table.rows.first().copied();
    let body = first
        .filter(|_| table.prologue_end > 0 && table.prologue_end < len)
        .map(|r| LineRow { offset: table.prologue_end, ..r });
    let body = body.filter(|b| table.rows.get(1).is_none_or(|next| next.offset > b.offset));
    if first.is_some() && body.is_none() {
        out.push(DW_LNS_SET_PROLOGUE_END);
    }
    for (i, row) in table.rows.iter().take(1).chain(body.iter()).chain(table.rows.iter().skip(1)).enumerate() {
        if i == 1 && body.is_some() {
            out.push(DW_LNS_SET_PROLOGUE_END);
        }
        if row.file != file {
            out.push(4); // DW_LNS_set_file
            uleb128(row.file as u64, &mut out);
            file = row.file;
        }
        if row.column != column {
            out.push(5); // DW_LNS_set_column
            uleb128(row.column as u64, &mut out);
            column = row.column;
        }
        let (address_delta, line_delta) = ((row.offset - at) as i64, row.line as i64 - line);
        let special = (line_delta - LINE_BASE as i64) + LINE_RANGE as i64 * address_delta + OPCODE_BASE as i64;
        if (0..LINE_RANGE as i64).contains(&(line_delta - LINE_BASE as i64)) && special <= 255 {
            // A special opcode: both advances and the row in one byte.
            out.push(special as u8);
        } else {
            if address_delta > 0 {
                out.push(2); // DW_LNS_advance_pc
                uleb128(address_delta as u64, &mut out);
            }
            if line_delta != 0 {
                out.push(3); // DW_LNS_advance_line
                sleb128(line_delta, &mut out);
            }
            out.push(1); // DW_LNS_copy
        }
        (at, line) = (row.offset, row.line as i64);
    }
    if len > at {
        out.push(2);
        uleb128((len - at) as u64, &mut out);
    }
    out.extend_from_slice(&[0, 1, 1]); // DW_LNE_end_sequence
    let unit_length = out.len() as u32 - 4;
    out[..4].copy_from_slice(&unit_length.to_le_bytes());
    (out, holes)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        LineTable { directory: Some("/work".into()), files, rows, prologue_end }
    }

    /// The rows llvm-dwarfdump reads from `sections` assembled at `k` with `len` bytes of code,
    /// as `(offset, file, line, column, whether it ends the prologue)`; `None` where the tools
    /// do not run.
    fn read_back(sections: &DebugSections, len: u32) -> Option<Vec<(u32, u32, u32, u32, bool)>> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("peach-dwarf-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let (src, obj) = (dir.join("k.s"), dir.join("k.o"));
        let mut lines = vec![".text".to_string(), "k:".into(), format!(".fill {len}, 1, 0")];
        lines.extend(sections.directives("k"));
        std::fs::write(&src, lines.join("\n") + "\n").ok()?;
        let assembled = Command::new("as").arg(&src).arg("-o").arg(&obj).status().ok()?;
        assert!(assembled.success(), "GNU as refused the debug sections");
        let verify = Command::new("llvm-dwarfdump").arg("--verify").arg(&obj).output().ok()?;
        let dump = Command::new("llvm-dwarfdump").arg("--debug-line").arg(&obj).output().ok()?;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
        let text = String::from_utf8_lossy(&dump.stdout).to_string();
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
        let table = LineTable { directory: None, files: vec!["k.rs".into()], rows: vec![], prologue_end: 0 };
        let mut d = DebugSections::new("k", 8, &table);
        d.fill(0x1122_3344_5566_7788);
        for (section, holes) in [(&d.info, &d.info_holes), (&d.line, &d.line_holes)] {
            for &(at, hole) in holes {
                let want: &[u8] = match hole {
                    Hole::Code => &0x1122_3344_5566_7788u64.to_le_bytes(),
                    _ => &[0; 4],
                };
                assert_eq!(&section[at..at + want.len()], want);
            }
        }
    }
}
