//! Line tables: where each piece of a function's code comes from (and, for a custom
//! instruction's code, where it was called), and the DWARF line-number program that carries
//! the rows.

use super::Hole;
use super::string;
use crate::emit::unwind::{sleb128, uleb128};
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
    /// The custom instructions' code, by start, each before those it calls (see
    /// [`LineTable::inline`]).
    pub inlined: Vec<Inlined>,
}

/// A custom instruction's code, inlined where it was called (DWARF's inlined subroutine).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inlined {
    /// The custom instruction's name.
    pub name: String,
    /// Where it was called: file (numbered as in the rows), line and column.
    pub call: (u32, u32, u32),
    /// Offset of its code's start.
    pub start: u32,
    /// Offset of its code's end (exclusive).
    pub end: u32,
    /// How many custom instructions' code it is in (0: called by the function's body).
    pub depth: u32,
}

/// A call of a custom instruction, for [`LineTable::inline`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The custom instruction's name.
    pub name: String,
    /// The file the call is in.
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl LineTable {
    /// A table from a code object's rows ([`crate::CodeObject::source_lines`]), each
    /// location resolved by `resolve` to a file, a line and a column (`None` drops the row;
    /// consecutive rows at one place are one).
    pub fn new(rows: &[(u32, Src)], mut resolve: impl FnMut(Src) -> Option<(String, u32, u32)>) -> LineTable {
        let mut table = LineTable { prologue_end: rows.first().map_or(0, |r| r.0), ..LineTable::default() };
        for &(offset, src) in rows {
            let Some((file, line, column)) = resolve(src) else { continue };
            let file = table.file_number(file);
            // Locations that resolve to one place make one row.
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

    /// The number of file `name`, added if new.
    fn file_number(&mut self, name: String) -> u32 {
        match self.files.iter().position(|f| *f == name) {
            Some(i) => i as u32 + 1,
            None => {
                self.files.push(name);
                self.files.len() as u32
            }
        }
    }

    /// Adds the custom instructions inlined in `len` bytes of code: `chain(src)` gives the calls
    /// (indexes into `calls`, outermost first) that the code of each location in `rows` (the
    /// code object's, as for [`LineTable::new`]) is in. Consecutive code in one call is one
    /// [`Inlined`]; where a call's code starts, a row on the call's line comes before the
    /// code's, so that a breakpoint on that line stops there.
    ///
    /// ```
    /// use peach_core::emit::{Call, LineTable};
    /// use peach_core::Src;
    /// // Token 1 in the body (line 10); tokens 2 and 3 (lines 2 and 3) in `helper`, called on
    /// // line 11.
    /// let rows = [(0, Src::Token(1)), (4, Src::Token(2)), (7, Src::Token(3)), (9, Src::Token(1))];
    /// let line = |src| match src { Src::Token(1) => 10, Src::Token(n) => n, Src::Rust(_) => 0 };
    /// let mut table = LineTable::new(&rows, |src| Some(("k.rs".into(), line(src), 1)));
    /// let calls = [Call { name: "helper".into(), file: "k.rs".into(), line: 11, column: 5 }];
    /// table.inline(&rows, 12, |src| if line(src) < 10 { vec![0] } else { vec![] }, &calls);
    /// assert_eq!((table.inlined[0].start, table.inlined[0].end, table.inlined[0].call), (4, 9, (1, 11, 5)));
    /// let lines: Vec<(u32, u32)> = table.rows.iter().map(|r| (r.offset, r.line)).collect();
    /// assert_eq!(lines, [(0, 10), (4, 11), (4, 2), (7, 3), (9, 10)]);
    /// ```
    pub fn inline(&mut self, rows: &[(u32, Src)], len: u32, mut chain: impl FnMut(Src) -> Vec<u32>, calls: &[Call]) {
        // The calls open at the code so far: (call, index in `inlined`).
        let mut open: Vec<(u32, usize)> = Vec::new();
        let mut call_rows: Vec<LineRow> = Vec::new();
        for (i, &(offset, src)) in rows.iter().enumerate() {
            let end = rows.get(i + 1).map_or(len, |r| r.0);
            let ids = chain(src);
            let kept = open.iter().zip(&ids).take_while(|(o, id)| o.0 == **id).count();
            open.truncate(kept);
            for &(_, k) in &open {
                self.inlined[k].end = end;
            }
            for &id in &ids[kept..] {
                let Some(call) = calls.get(id as usize) else { break };
                let file = self.file_number(call.file.clone());
                let (name, depth) = (call.name.clone(), open.len() as u32);
                self.inlined.push(Inlined { name, call: (file, call.line, call.column), start: offset, end, depth });
                open.push((id, self.inlined.len() - 1));
                call_rows.push(LineRow { offset, file, line: call.line, column: call.column });
            }
        }
        if call_rows.is_empty() {
            return;
        }
        // Merged by offset, the calls' rows before the code's; where no code row starts at a
        // call's offset, the one in effect there follows again.
        let code = std::mem::take(&mut self.rows);
        let mut code_at = code.iter().peekable();
        let mut in_effect: Option<LineRow> = None;
        let mut calls_at = call_rows.iter().peekable();
        while let Some(call) = calls_at.next() {
            while let Some(r) = code_at.next_if(|r| r.offset < call.offset) {
                self.rows.push(*r);
                in_effect = Some(*r);
            }
            self.rows.push(*call);
            let last_here = calls_at.peek().is_none_or(|next| next.offset != call.offset);
            if last_here && code_at.peek().is_none_or(|r| r.offset != call.offset) {
                self.rows.extend(in_effect.map(|r| LineRow { offset: call.offset, ..r }));
            }
        }
        self.rows.extend(code_at);
    }
}

/// The line program's parameters: a row that moves up to 17 bytes and -5 to 8 lines is one
/// byte (a special opcode).
const LINE_BASE: i8 = -5;
const LINE_RANGE: u8 = 14;
const OPCODE_BASE: u8 = 13;
/// Operands of standard opcodes 1-12.
const STANDARD_LENGTHS: [u8; 12] = [0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1];

/// The standard opcode that marks the next row as the end of the prologue (DWARF 3).
const DW_LNS_SET_PROLOGUE_END: u8 = 10;

/// The line-number program of `table` for `len` bytes of code, with its hole (the address
/// the sequence starts at).
pub(super) fn line_program(len: u32, table: &LineTable) -> (Vec<u8>, Vec<(usize, Hole)>) {
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
    let holes = vec![(out.len(), Hole::Code(0))];
    out.extend_from_slice(&[0; 8]);
    let mut program = Program { out, file: 1, line: 1, column: 0, at: 0 };
    // The body's start is marked as the prologue's end (gdb stops there for a breakpoint on
    // the first line; without it, it skips to the second line's code): the first row there,
    // or the row in effect there again.
    let pe = table.prologue_end;
    let mut marked = table.rows.is_empty();
    let mut last: Option<&LineRow> = None;
    for row in &table.rows {
        if !marked && row.offset >= pe {
            match last {
                Some(prev) if row.offset > pe => {
                    program.out.push(DW_LNS_SET_PROLOGUE_END);
                    program.row(&LineRow { offset: pe, ..*prev });
                }
                _ => program.out.push(DW_LNS_SET_PROLOGUE_END),
            }
            marked = true;
        }
        program.row(row);
        last = Some(row);
    }
    if let (false, Some(prev)) = (marked, last)
        && pe < len
    {
        program.out.push(DW_LNS_SET_PROLOGUE_END);
        program.row(&LineRow { offset: pe, ..*prev });
    }
    let Program { mut out, at, .. } = program;
    if len > at {
        out.push(2);
        uleb128((len - at) as u64, &mut out);
    }
    out.extend_from_slice(&[0, 1, 1]); // DW_LNE_end_sequence
    let unit_length = out.len() as u32 - 4;
    out[..4].copy_from_slice(&unit_length.to_le_bytes());
    (out, holes)
}

/// A line program being written, with the state machine's registers.
struct Program {
    out: Vec<u8>,
    file: u32,
    line: u32,
    column: u32,
    at: u32,
}

impl Program {
    /// Appends `row`.
    fn row(&mut self, row: &LineRow) {
        let out = &mut self.out;
        if row.file != self.file {
            out.push(4); // DW_LNS_set_file
            uleb128(row.file as u64, out);
            self.file = row.file;
        }
        if row.column != self.column {
            out.push(5); // DW_LNS_set_column
            uleb128(row.column as u64, out);
            self.column = row.column;
        }
        let (address_delta, line_delta) = ((row.offset - self.at) as i64, row.line as i64 - self.line as i64);
        let special = (line_delta - LINE_BASE as i64) + LINE_RANGE as i64 * address_delta + OPCODE_BASE as i64;
        if (0..LINE_RANGE as i64).contains(&(line_delta - LINE_BASE as i64)) && special <= 255 {
            // A special opcode: both advances and the row in one byte.
            out.push(special as u8);
        } else {
            if address_delta > 0 {
                out.push(2); // DW_LNS_advance_pc
                uleb128(address_delta as u64, out);
            }
            if line_delta != 0 {
                out.push(3); // DW_LNS_advance_line
                sleb128(line_delta, out);
            }
            out.push(1); // DW_LNS_copy
        }
        (self.at, self.line) = (row.offset, row.line);
    }
}
