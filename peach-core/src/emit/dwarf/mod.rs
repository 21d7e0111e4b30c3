//! DWARF debugging information for one function: a compilation unit that names it and gives
//! its extent (with the custom instructions inlined in it), and a line-number program that maps
//! its addresses to source lines, so that `break file.rs:LINE`, `info line`, stepping and
//! backtraces work in a debugger. Version 4, which every debugger and `readelf` read. The
//! function's address is left as a hole: an assembler fills it with a relocation (static code),
//! a loader with the address (code loaded at run time).

mod lines;
#[cfg(test)]
mod tests;

pub use lines::{Call, Inlined, LineRow, LineTable};

use super::unwind::uleb128;
use lines::line_program;

/// A place in a debug section that holds what only the linker or the loader knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hole {
    /// 8 bytes: the address of the code's start plus this offset.
    Code(u32),
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
const DW_TAG_INLINED_SUBROUTINE: u64 = 0x1d;
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
const DW_AT_INLINE: u64 = 0x20;
const DW_AT_ABSTRACT_ORIGIN: u64 = 0x31;
const DW_AT_CALL_COLUMN: u64 = 0x57;
const DW_AT_CALL_FILE: u64 = 0x58;
const DW_AT_CALL_LINE: u64 = 0x59;
const DW_FORM_ADDR: u64 = 0x01;
const DW_FORM_DATA1: u64 = 0x0b;
const DW_FORM_DATA2: u64 = 0x05;
const DW_FORM_REF4: u64 = 0x13;
const DW_FORM_DATA4: u64 = 0x06;
const DW_FORM_STRING: u64 = 0x08;
const DW_FORM_SEC_OFFSET: u64 = 0x17;
const DW_FORM_EXPRLOC: u64 = 0x18;
const DW_FORM_FLAG_PRESENT: u64 = 0x19;
const DW_LANG_RUST: u16 = 0x1c;
const DW_INL_INLINED: u8 = 1;
const DW_OP_CALL_FRAME_CFA: u8 = 0x9c;

impl DebugSections {
    /// The sections of function `name`, `len` bytes of code, with the lines of `table`.
    ///
    /// ```
    /// use peach_core::emit::{DebugSections, Hole, LineRow, LineTable};
    /// let rows = vec![LineRow { offset: 0, file: 1, line: 7, column: 5 }];
    /// let table = LineTable { directory: None, files: vec!["k.rs".into()], rows, ..Default::default() };
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
        info_holes.push((info.len(), Hole::Code(0)));
        info.extend_from_slice(&[0; 8]);
        info.extend_from_slice(&len.to_le_bytes());
        // The custom instructions inlined, once each by name (what their inlined code refers to).
        let mut origins: Vec<(&str, u32)> = Vec::new();
        for inlined in &table.inlined {
            if !origins.iter().any(|(n, _)| *n == inlined.name) {
                origins.push((&inlined.name, info.len() as u32));
                uleb128(3, &mut info);
                string(&inlined.name, &mut info);
                info.push(DW_INL_INLINED);
            }
        }
        // The function, with the code inlined in it as its children (nested as the calls are).
        uleb128(2, &mut info);
        string(name, &mut info);
        info_holes.push((info.len(), Hole::Code(0)));
        info.extend_from_slice(&[0; 8]);
        info.extend_from_slice(&len.to_le_bytes());
        let first = table.rows.first();
        info.extend_from_slice(&first.map_or(0, |r| r.file).to_le_bytes());
        info.extend_from_slice(&first.map_or(0, |r| r.line).to_le_bytes());
        info.extend_from_slice(&[1, DW_OP_CALL_FRAME_CFA]);
        let mut open = 0;
        for inlined in &table.inlined {
            while open > inlined.depth {
                info.push(0); // end of an inlined call's children
                open -= 1;
            }
            uleb128(4, &mut info);
            let origin = origins.iter().find(|(n, _)| *n == inlined.name).map_or(0, |o| o.1);
            info.extend_from_slice(&origin.to_le_bytes());
            info_holes.push((info.len(), Hole::Code(inlined.start)));
            info.extend_from_slice(&[0; 8]);
            info.extend_from_slice(&(inlined.end - inlined.start).to_le_bytes());
            let (file, line, column) = inlined.call;
            for v in [file, line, column] {
                info.extend_from_slice(&v.to_le_bytes());
            }
            open += 1;
        }
        info.extend(std::iter::repeat_n(0, open as usize + 1)); // ends of the children
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
                    Hole::Code(offset) => section[at..at + 8].copy_from_slice(&(address + offset as u64).to_le_bytes()),
                    Hole::Abbrev | Hole::Line => section[at..at + 4].fill(0),
                }
            }
        }
    }

    /// Assembler directives that put the sections into an ELF object, for the code at
    /// `symbol`: the holes become relocations the linker resolves.
    ///
    /// The bytes go to subsection 1 of each section, after whatever the compiler writes there in
    /// the same object: a compiler's unit may find its abbreviations at the start of the object's
    /// `.debug_abbrev` (LLVM's do), and `global_asm!` comes before the compiler's own output. An
    /// empty entry into subsection 0 first keeps the section's start there.
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
            out.push(".popsection".into());
            out.push(format!(".pushsection {name},1"));
            out.extend(label.map(|l| format!("{l}:")));
            let mut at = 0;
            for &(hole_at, hole) in holes.iter().chain([&(bytes.len(), Hole::Code(0))]) {
                for chunk in bytes[at..hole_at].chunks(32) {
                    let hex: Vec<String> = chunk.iter().map(|b| format!("0x{b:02x}")).collect();
                    out.push(format!(".byte {}", hex.join(",")));
                }
                if hole_at == bytes.len() {
                    break;
                }
                out.push(match hole {
                    Hole::Code(0) => format!(".quad {symbol}"),
                    Hole::Code(offset) => format!(".quad {symbol}+{offset}"),
                    Hole::Abbrev => format!(".long {abbrev}"),
                    Hole::Line => format!(".long {line}"),
                });
                at = hole_at + if matches!(hole, Hole::Code(_)) { 8 } else { 4 };
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

/// Abbreviation 1: the compilation unit (with its directory or not); 2: the function; 3: a
/// custom instruction, as its inlined code refers to it; 4: its code inlined at a call.
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
        true,
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
    entry(3, DW_TAG_SUBPROGRAM, false, &[(DW_AT_NAME, DW_FORM_STRING), (DW_AT_INLINE, DW_FORM_DATA1)]);
    entry(
        4,
        DW_TAG_INLINED_SUBROUTINE,
        true,
        &[
            (DW_AT_ABSTRACT_ORIGIN, DW_FORM_REF4),
            (DW_AT_LOW_PC, DW_FORM_ADDR),
            (DW_AT_HIGH_PC, DW_FORM_DATA4),
            (DW_AT_CALL_FILE, DW_FORM_DATA4),
            (DW_AT_CALL_LINE, DW_FORM_DATA4),
            (DW_AT_CALL_COLUMN, DW_FORM_DATA4),
        ],
    );
    out.push(0);
    out
}
