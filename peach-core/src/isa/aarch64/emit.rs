//! Emission: the prologue saves the callee-saved registers the code writes (pairs pushed with
//! `stp ..., [sp, #-16]!`), every return restores them; then each instruction is encoded with
//! its allocated registers. Every instruction is four bytes, so one pass finds the labels and a
//! second one encodes, with branch offsets known.

use std::sync::Arc;

use super::encode::{A64, encode, encode_row};
use super::regs::{ARG_AREA, GP_UNITS, VEC, VEC_UNITS, parts};
use super::select::{row_index, to_a64};
use super::table::{Field, Kind, Row, feature, rows};
use super::target::NEON;
use crate::abi::CallConv;
use crate::abi::Frame;
use crate::emit::{CodeObject, ConstPool, Listing, ListingLine};
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

fn text(name: &str, ops: &[A64], labels: &[Option<u32>]) -> String {
    let parts: Vec<String> = ops
        .iter()
        .enumerate()
        .map(|(i, o)| match labels.get(i).copied().flatten() {
            Some(l) => format!(".L{l}"),
            None => o.to_string(),
        })
        .collect();
    if parts.is_empty() { name.to_string() } else { format!("{name} {}", parts.join(", ")) }
}

/// Encodes the allocated body.
pub(crate) fn emit(body: &Body, units: &[u8], frame: &Frame, _conv: &CallConv) -> Result<CodeObject> {
    if units.len() < body.vregs.len() {
        return Err(Error::internal(format!("{} units for {} virtual registers", units.len(), body.vregs.len())));
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
    let ret_words = pop.len() as u32 + 1;

    let number = |r: Reg| -> u8 {
        match r.vreg() {
            Some(v) => {
                // Every virtual register has a unit (checked above).
                debug_assert!((v as usize) < units.len());
                let unit = units.get(v as usize).copied().unwrap_or(0);
                if r.class() == VEC { unit.wrapping_sub(VEC_UNITS) } else { unit.wrapping_sub(GP_UNITS) }
            }
            None => parts(r).map_or(31, |(_, _, n)| n),
        }
    };
    // A full-register copy onto itself disappears.
    let noop = |inst: &crate::ir::Inst| match inst.op {
        crate::ir::Op::Isa(index) => <super::Aarch64 as crate::isa::Isa>::as_move(index, body.ops(inst))
            .is_some_and(|(d, s)| number(d) == number(s)),
        _ => false,
    };

    // Pass 1: where every label is.
    let mut labels = vec![u32::MAX; body.num_labels];
    let mut at = 4 * push.len() as u32;
    for inst in &body.insts {
        match inst.op {
            crate::ir::Op::Isa(_) if noop(inst) => {}
            crate::ir::Op::Isa(_) => at += 4,
            crate::ir::Op::Ret => at += 4 * ret_words,
            crate::ir::Op::Bind(l) => labels[l.0 as usize] = at,
            crate::ir::Op::Align(n) => at = at.next_multiple_of(n.max(4)),
        }
    }

    // The constants the code loads go after it.
    let mut used = vec![false; body.consts.len()];
    for inst in &body.insts {
        for op in body.ops(inst) {
            if let Operand::Mem(m) = op
                && m.base == Some(Reg::CONSTANTS)
                && let Some(u) = used.get_mut(m.disp as usize)
            {
                *u = true;
            }
        }
    }
    let pool = ConstPool::layout(body.consts, &used, at);

    // Pass 2: the words.
    let mut words: Vec<u32> = Vec::with_capacity(at as usize / 4);
    let mut lines: Vec<(usize, Vec<u32>, String)> = Vec::new();
    let mut pending: Vec<u32> = Vec::new();
    let mut extensions = ExtSet::EMPTY;
    extensions.insert(NEON);
    let mut put = |words: &mut Vec<u32>, pending: &mut Vec<u32>, text: String, word: u32| {
        lines.push((words.len() * 4, std::mem::take(pending), text));
        words.push(word);
    };
    for (t, w) in &push {
        put(&mut words, &mut pending, t.clone(), *w);
    }
    for inst in &body.insts {
        let here = 4 * words.len() as i64;
        match inst.op {
            crate::ir::Op::Isa(index) => {
                let row = rows().get(index as usize).ok_or_else(|| Error::internal("unknown AArch64 row"))?;
                let ops = body.ops(inst);
                if noop(inst) {
                    continue;
                }
                let mut literal = None;
                let mut a64 = Vec::with_capacity(ops.len());
                let mut names = Vec::with_capacity(ops.len());
                for (kind, op) in row.kinds().iter().zip(ops) {
                    let (value, label) = match op {
                        Operand::Label(l) => {
                            let target = labels.get(l.0 as usize).copied().unwrap_or(u32::MAX);
                            if target == u32::MAX {
                                return Err(Error::at(
                                    ErrorKind::Label,
                                    format!("label L{} is never bound", l.0),
                                    body.loc(inst),
                                ));
                            }
                            (A64::Label(target as i64 - here), Some(l.0))
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
                            let at = pool
                                .offset_of(m.disp as u32)
                                .ok_or_else(|| Error::internal(format!("constant {} is not in the pool", m.disp)))?;
                            (A64::Label(at as i64 - here), None)
                        }
                        _ => (to_a64(*kind, op, number), None),
                    };
                    a64.push(value);
                    names.push(label);
                }
                // A constant load is the PC-relative form of `ldr`.
                let row = literal.unwrap_or(row);
                let word = encode_row(row, &a64)
                    .unwrap_or_else(|| Err(Error::internal("allocated operands do not fit their row")))
                    .map_err(|e| e.or_at(body.loc(inst)))?;
                if let Some(e) = feature(row) {
                    extensions.insert(e);
                }
                put(&mut words, &mut pending, text(row.name, &a64, &names), word);
            }
            crate::ir::Op::Ret => {
                for (t, w) in &pop {
                    put(&mut words, &mut pending, t.clone(), *w);
                }
                put(&mut words, &mut pending, "ret".into(), 0xd65f_03c0);
            }
            crate::ir::Op::Bind(l) => pending.push(l.0),
            crate::ir::Op::Align(n) => {
                while !(4 * words.len() as u32).is_multiple_of(n.max(4)) {
                    put(&mut words, &mut pending, "nop".into(), NOP);
                }
            }
        }
    }
    if !pending.is_empty() {
        // A label bound at the very end gets a trap to stand on.
        put(&mut words, &mut pending, "brk #0".into(), 0xd420_0000);
    }
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    pool.write(&mut bytes, 0);
    let listing = A64Listing { lines, pool };
    Ok(CodeObject::new(body.name.clone(), bytes, 0, extensions, body.target.clone(), Arc::new(listing)))
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
