//! Emission: the prologue saves the callee-saved registers the code writes (pairs pushed with
//! `stp ..., [sp, #-16]!`), every return restores them; then each instruction is encoded with
//! its allocated registers into the shared code buffer, branches and literal loads as fixups
//! that the buffer finishes once labels and the constant pool are placed.

use std::sync::Arc;

use super::encode::{A64, encode, encode_row};
use super::regs::{ARG_AREA, GP_UNITS, VEC, VEC_UNITS, parts};
use super::select::{row_index, to_a64};
use super::table::{Field, Kind, Row, feature, rows};
use super::target::NEON;
use crate::abi::CallConv;
use crate::abi::Frame;
use crate::emit::{
    CodeBuffer, CodeObject, ConstPool, EntryFrame, Fixup, FixupTarget, FrameStep, FrameSteps, Listing, ListingLine,
};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Body;
use crate::ir::{Operand, Reg};
use crate::target::ExtSet;

const NOP: u32 = 0xd503_201f;

/// What the prologue pushes: pairs (or a last single register) of general-purpose registers,
/// then of vector registers (their low 64 bits).
struct Saves {
    gp: Vec<u8>,
    vec: Vec<u8>,
}

impl Saves {
    fn new(frame: &Frame) -> Saves {
        let numbers =
            |first: u8, count: u8| -> Vec<u8> { (0..count).filter(|n| frame.saved.contains(first + n)).collect() };
        Saves { gp: numbers(GP_UNITS, 31), vec: numbers(VEC_UNITS, 32) }
    }

    /// Bytes pushed.
    fn bytes(&self) -> i64 {
        16 * (self.gp.len().div_ceil(2) + self.vec.len().div_ceil(2)) as i64
    }

    fn groups(&self) -> Vec<(bool, &[u8])> {
        let gp = self.gp.chunks(2).map(|c| (false, c));
        gp.chain(self.vec.chunks(2).map(|c| (true, c))).collect()
    }

    fn push_words(&self) -> Result<Vec<(String, u32)>> {
        self.groups().into_iter().map(|(v, regs)| transfer(v, regs, true)).collect()
    }

    fn pop_words(&self) -> Result<Vec<(String, u32)>> {
        self.groups().into_iter().rev().map(|(v, regs)| transfer(v, regs, false)).collect()
    }

    /// How each instruction of the prologue (the pushes, then the `sub sp` of `locals` bytes if
    /// any) changes the frame: the CFA (sp at entry) moves up 16 bytes a push, each register
    /// pushed is saved at its place. Registers by DWARF number (x0-x30 are 0-30, v0-v31 64-95).
    fn push_steps(&self, locals: i64) -> Vec<Vec<FrameStep>> {
        let mut cfa = 0;
        let mut out: Vec<Vec<FrameStep>> = self
            .groups()
            .into_iter()
            .map(|(vector, regs)| {
                cfa += 16;
                let mut now = vec![FrameStep::Cfa { reg: DWARF_SP, offset: cfa }];
                for (k, n) in regs.iter().enumerate() {
                    now.push(FrameStep::Saved { reg: dwarf(vector, *n), offset: 8 * k as i32 - cfa });
                }
                now
            })
            .collect();
        if locals > 0 {
            out.push(vec![FrameStep::Cfa { reg: DWARF_SP, offset: cfa + locals as i32 }]);
        }
        out
    }

    /// The same for each instruction of an epilogue before its `ret`: the `add sp`, then the
    /// pops.
    fn pop_steps(&self, locals: i64) -> Vec<Vec<FrameStep>> {
        let mut cfa = self.bytes() as i32;
        let mut out = Vec::new();
        if locals > 0 {
            out.push(vec![FrameStep::Cfa { reg: DWARF_SP, offset: cfa }]);
        }
        for (vector, regs) in self.groups().into_iter().rev() {
            cfa -= 16;
            let mut now = vec![FrameStep::Cfa { reg: DWARF_SP, offset: cfa }];
            now.extend(regs.iter().map(|n| FrameStep::Restored { reg: dwarf(vector, *n) }));
            out.push(now);
        }
        out
    }
}

/// DWARF's number of sp, and of x`n` or v`n` (the AArch64 DWARF ABI).
const DWARF_SP: u16 = 31;

/// The frame at entry: the CFA is sp, the return address in x30.
const ENTRY: EntryFrame = EntryFrame { cfa: (DWARF_SP, 0), return_address: 30, return_saved_at: None };

fn dwarf(vector: bool, n: u8) -> u16 {
    if vector { 64 + n as u16 } else { n as u16 }
}

/// Appends `now` at the position after the code so far.
fn note(buffer: &mut CodeBuffer<A64Fixup>, steps: &mut FrameSteps, now: &[FrameStep]) {
    let mark = buffer.mark();
    for s in now {
        steps.push(mark, *s);
    }
}

/// The literal form of the `ldr` in `row` for constant `index`, after checking the constant is
/// big enough for the load.
fn constant_load(row: &Row, body: &Body, index: u32) -> Result<&'static Row> {
    let size = row.fields().iter().find_map(|f| if let Field::Mem(s) = f { Some(*s as usize) } else { None });
    let have = body.consts.get(index as usize).map_or(0, |c| c.len());
    if size.is_some_and(|s| have < s) {
        return Err(Error::new(
            ErrorKind::InvalidMemory,
            format!("the constant has {have} bytes and `{}` reads {}", row.name, size.unwrap_or(0)),
        ));
    }
    let index = row_index("ldr", &[row.kinds()[0], Kind::Label]);
    rows().get(index as usize).ok_or_else(|| Error::internal("no literal form of this load"))
}

/// `stp`/`str` with pre-decrement, or `ldp`/`ldr` with post-increment, of one or two registers.
fn transfer(vector: bool, regs: &[u8], push: bool) -> Result<(String, u32)> {
    let reg = |n: u8| if vector { A64::D(n) } else { A64::X(n) };
    let mem = if push { A64::MemPre(31, -16) } else { A64::MemPost(31, 16) };
    let (name, ops) = match regs {
        [a, b] => (if push { "stp" } else { "ldp" }, vec![reg(*a), reg(*b), mem]),
        [a] => (if push { "str" } else { "ldr" }, vec![reg(*a), mem]),
        _ => return Err(Error::internal("empty register group")),
    };
    Ok((text(name, &ops, &[]), encode(name, &ops)?))
}

/// An instruction's text; `labels` names the label an operand stands for, where one does.
fn text(name: &str, ops: &[A64], labels: &[Option<u32>]) -> String {
    let label = |i: usize| labels.get(i).copied().flatten();
    let parts: Vec<String> = (0..ops.len())
        .filter_map(|i| match (ops[i], label(i), ops.get(i + 1), label(i + 1)) {
            (A64::PageOffset(_), Some(_), ..) if i > 0 && matches!(ops[i - 1], A64::Mem(..)) => None,
            (A64::PageOffset(_), Some(l), ..) => Some(format!(":lo12:.L{l}")),
            (A64::Mem(base, _), None, Some(A64::PageOffset(_)), Some(l)) => {
                Some(format!("[{}, :lo12:.L{l}]", if base == 31 { "sp".to_string() } else { format!("x{base}") }))
            }
            (_, Some(l), ..) => Some(format!(".L{l}")),
            _ => super::syntax::operand_text(ops, i),
        })
        .collect();
    if parts.is_empty() { name.to_string() } else { format!("{name} {}", parts.join(", ")) }
}

/// An instruction that reaches a label (a branch, `adr`) or a pool constant (a literal `ldr`),
/// encoded once the layout is known. Every A64 instruction is four bytes, so nothing grows; a
/// target out of the form's reach is an error when it is written.
struct A64Fixup {
    row: &'static Row,
    ops: Vec<A64>,
    /// The operand that holds the offset.
    slot: usize,
    target: FixupTarget,
    loc: crate::Src,
}

impl Fixup for A64Fixup {
    fn size(&self) -> u32 {
        4
    }

    fn target(&self) -> FixupTarget {
        self.target
    }

    fn relax(&mut self, _at: u32, _target: u32) -> Result<bool> {
        Ok(false)
    }

    fn write(&self, at: u32, target: u32, out: &mut Vec<u8>) -> Result<()> {
        let mut ops = self.ops.clone();
        // (Pages are the layout's: code with an `adrp` starts at a page boundary.)
        ops[self.slot] = match self.row.kinds()[self.slot] {
            Kind::Page => A64::Imm(((target >> 12) as i64 - (at >> 12) as i64) << 12),
            Kind::PageOffset => A64::PageOffset((target & 0xfff) as i64),
            _ => A64::Label(target as i64 - at as i64),
        };
        let word = encode_row(self.row, &ops)
            .unwrap_or_else(|| Err(Error::internal("allocated operands do not fit their row")))
            .map_err(|e| e.or_at(self.loc))?;
        out.extend_from_slice(&word.to_le_bytes());
        Ok(())
    }
}

/// `len` bytes of `nop`s.
fn nops(len: usize, out: &mut Vec<u8>) {
    for _ in 0..len / 4 {
        out.extend_from_slice(&NOP.to_le_bytes());
    }
}

/// A listing line's text: known, or (for a constant load) waiting for the pool's layout.
enum Text {
    Known(String),
    Constant { name: &'static str, ops: Vec<A64>, slot: usize, constant: u32 },
}

/// Encodes the allocated body.
pub(crate) fn emit(body: &Body, units: &[Option<u8>], frame: &Frame, _conv: &CallConv) -> Result<CodeObject> {
    // Every register the code names has a unit (the allocator gives one to every value that
    // lives), so that `number` below never guesses.
    for inst in &body.insts {
        for op in body.ops(inst) {
            let regs = match op {
                Operand::Reg(r)
                | Operand::Lane(crate::ir::Lane { reg: r, .. })
                | Operand::List(crate::ir::RegList { first: r, .. }) => [Some(*r), None],
                Operand::Mem(m) => [m.base, m.index],
                _ => [None, None],
            };
            for v in regs.into_iter().flatten().filter_map(|r| r.vreg()) {
                if units.get(v.index()).copied().flatten().is_none() {
                    return Err(Error::internal(format!("virtual register {} has no register", v.0)));
                }
            }
        }
    }
    // Stack locals sit below the saved registers, at the stack pointer.
    if frame.locals_align > 16 {
        return Err(Error::new(ErrorKind::Limit, "AArch64 stack locals are aligned to at most 16 bytes"));
    }
    let locals = frame.locals_size.next_multiple_of(16) as i64;
    if locals > 4095 {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("{locals} bytes of stack locals: AArch64 kernels have at most 4080"),
        ));
    }
    let saves = Saves::new(frame);
    let (mut push, mut pop) = (saves.push_words()?, saves.pop_words()?);
    if locals > 0 {
        let adjust = |name: &str| -> Result<(String, u32)> {
            let ops = [A64::Sp, A64::Sp, A64::Imm(locals)];
            Ok((text(name, &ops, &[]), encode(name, &ops)?))
        };
        push.push(adjust("sub")?);
        pop.insert(0, adjust("add")?);
    }

    let number = |r: Reg| -> u8 {
        match r.vreg() {
            Some(v) => {
                // (Every virtual register named has a unit: checked above.)
                let unit = units.get(v.index()).copied().flatten().unwrap_or(0);
                if r.class() == VEC { unit.wrapping_sub(VEC_UNITS) } else { unit.wrapping_sub(GP_UNITS) }
            }
            None => parts(r).map_or(31, |(_, _, n)| n),
        }
    };
    // A full-register copy onto itself that allocation made disappears (one between physical
    // registers was written as such and is kept).
    let noop = |inst: &crate::ir::Inst| match inst.op {
        crate::ir::Op::Isa(index) => <super::Aarch64 as crate::isa::Isa>::as_move(index, body.ops(inst))
            .is_some_and(|(d, s)| (d.is_virtual() || s.is_virtual()) && number(d) == number(s)),
        _ => false,
    };

    let mut buffer: CodeBuffer<A64Fixup> = CodeBuffer::new(4 * body.insts.len() + 64, body.num_labels);
    // Nothing grows, so offsets are known as instructions arrive.
    let mut here: u32 = 0;
    let mut lines: Vec<(u32, Vec<u32>, Text)> = Vec::new();
    let mut pending: Vec<u32> = Vec::new();
    let mut extensions = ExtSet::EMPTY;
    extensions.insert(NEON);
    let mut line = |here: &mut u32, pending: &mut Vec<u32>, text: Text| {
        lines.push((*here, std::mem::take(pending), text));
        *here += 4;
    };
    let mut steps = FrameSteps::default();
    for ((t, w), now) in push.iter().zip(saves.push_steps(locals)) {
        buffer.put(&w.to_le_bytes());
        line(&mut here, &mut pending, Text::Known(t.clone()));
        note(&mut buffer, &mut steps, &now);
    }
    let pop_steps = saves.pop_steps(locals);
    for inst in &body.insts {
        if body.source_lines && matches!(inst.op, crate::ir::Op::Isa(_) | crate::ir::Op::Ret) {
            buffer.note_line(inst.loc);
        }
        match inst.op {
            crate::ir::Op::Isa(index) => {
                let row = rows().get(index as usize).ok_or_else(|| Error::internal("unknown AArch64 row"))?;
                let ops = body.ops(inst);
                if noop(inst) {
                    continue;
                }
                let mut reaches = None;
                let mut literal = None;
                let mut a64 = Vec::with_capacity(ops.len());
                let mut names = Vec::with_capacity(ops.len());
                for (i, (kind, op)) in row.kinds().iter().zip(ops).enumerate() {
                    let (value, label) = match op {
                        Operand::Label(l) => {
                            reaches = Some((i, FixupTarget::Label(l.0)));
                            (to_a64(*kind, op, number), Some(l.0))
                        }
                        Operand::Mem(m) if m.base == Some(ARG_AREA) => {
                            (A64::Mem(31, locals + saves.bytes() + m.disp as i64), None)
                        }
                        Operand::Mem(m) if m.base == Some(Reg::LOCALS) => {
                            let mut local = *m;
                            local.base = Some(super::reg::SP);
                            (to_a64(*kind, &Operand::Mem(local), number), None)
                        }
                        Operand::Mem(m) if m.base == Some(Reg::CONSTANTS) => {
                            literal =
                                Some(constant_load(row, body, m.disp as u32).map_err(|e| e.or_at(body.loc(inst)))?);
                            reaches = Some((i, FixupTarget::Constant(m.disp as u32)));
                            (A64::Label(0), None)
                        }
                        _ => (to_a64(*kind, op, number), None),
                    };
                    a64.push(value);
                    names.push(label);
                }
                // A constant load is the PC-relative form of `ldr`.
                let row = literal.unwrap_or(row);
                if let Some(e) = feature(row) {
                    extensions.insert(e);
                }
                let loc = body.loc(inst);
                match reaches {
                    Some((slot, target @ FixupTarget::Constant(constant))) => {
                        let text = Text::Constant { name: row.name, ops: a64.clone(), slot, constant };
                        buffer.push_fixup(A64Fixup { row, ops: a64, slot, target, loc });
                        line(&mut here, &mut pending, text);
                    }
                    Some((slot, target)) => {
                        let text = Text::Known(text(row.name, &a64, &names));
                        buffer.push_fixup(A64Fixup { row, ops: a64, slot, target, loc });
                        line(&mut here, &mut pending, text);
                    }
                    None => {
                        let word = encode_row(row, &a64)
                            .unwrap_or_else(|| Err(Error::internal("allocated operands do not fit their row")))
                            .map_err(|e| e.or_at(loc))?;
                        buffer.put(&word.to_le_bytes());
                        line(&mut here, &mut pending, Text::Known(text(row.name, &a64, &names)));
                    }
                }
            }
            crate::ir::Op::Ret => {
                note(&mut buffer, &mut steps, &[FrameStep::Remember]);
                for ((t, w), now) in pop.iter().zip(&pop_steps) {
                    buffer.put(&w.to_le_bytes());
                    line(&mut here, &mut pending, Text::Known(t.clone()));
                    note(&mut buffer, &mut steps, now);
                }
                buffer.put(&0xd65f_03c0u32.to_le_bytes());
                line(&mut here, &mut pending, Text::Known("ret".into()));
                note(&mut buffer, &mut steps, &[FrameStep::Restore]);
            }
            crate::ir::Op::Bind(l) => {
                buffer.bind(l.0);
                pending.push(l.0);
            }
            crate::ir::Op::Align(n) => {
                while !here.is_multiple_of(n.max(4)) {
                    buffer.put(&NOP.to_le_bytes());
                    line(&mut here, &mut pending, Text::Known("nop".into()));
                }
            }
        }
    }
    if !pending.is_empty() {
        // A label bound at the very end gets a trap to stand on.
        buffer.put(&0xd420_0000u32.to_le_bytes());
        line(&mut here, &mut pending, Text::Known("brk #0".into()));
    }
    let done = buffer.finish(body.consts, nops, 0)?;
    let lines = lines
        .into_iter()
        .map(|(at, labels, t)| {
            let t = match t {
                Text::Known(t) => t,
                Text::Constant { name, mut ops, slot, constant } => {
                    let to = done.pool.offset_of(constant).unwrap_or(at);
                    ops[slot] = A64::Label(to as i64 - at as i64);
                    text(name, &ops, &[])
                }
            };
            (at as usize, labels, t)
        })
        .collect();
    // An `adrp`'s page offsets hold where the code starts at a page boundary.
    let pages = body.insts.iter().any(|inst| {
        matches!(inst.op, crate::ir::Op::Isa(i) if rows().get(i as usize).is_some_and(|r| r.kinds().contains(&Kind::Page)))
    });
    let alignment = if pages { done.alignment.max(4096) } else { done.alignment };
    let listing = A64Listing { lines, pool: done.pool };
    let code =
        CodeObject::new(Arc::clone(body.name), done.bytes, 0, extensions, body.target.clone(), Arc::new(listing));
    let steps = steps.at_offsets(|m| buffer.mark_offset(m));
    let source_lines = buffer.source_lines(body.locs);
    Ok(code.with_alignment(alignment).with_frame_steps(ENTRY, steps).with_source_lines(source_lines))
}

/// The instructions' text, kept for listings.
struct A64Listing {
    /// `(offset, labels bound there, text)`.
    lines: Vec<(usize, Vec<u32>, String)>,
    pool: ConstPool,
}

impl Listing for A64Listing {
    fn lines(&self, _bytes: &[u8]) -> Vec<ListingLine> {
        self.lines
            .iter()
            .map(|(offset, labels, text)| ListingLine {
                offset: *offset,
                len: 4,
                labels: labels.clone(),
                intel: text.clone(),
                gas: text.clone(),
            })
            .chain(self.pool.lines())
            .collect()
    }
}
