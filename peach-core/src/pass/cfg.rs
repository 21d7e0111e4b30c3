//! The control-flow graph: basic blocks and their successors, and whether the code calls out.
//!
//! Blocks start at the entry, at every bound label and after every branch or return.
//! Requires: labels used by branches are bound (checked by `Function::compile`).
//! Linear in the number of instructions.

use crate::error::{Error, ErrorKind, Result};
use crate::ir::Body;
use crate::ir::Op;
use crate::isa::{Flow, Isa};

use super::refill;

/// A block's number: its position in layout order (0 is the entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u32);

impl BlockId {
    /// As an index into per-block tables.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// A basic block: a range of instructions and up to two successors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// First instruction.
    pub start: u32,
    /// One past the last instruction.
    pub end: u32,
    /// Successor blocks.
    pub succs: [Option<BlockId>; 2],
}

/// The control-flow graph of a body.
pub(crate) struct Cfg {
    /// The blocks, in layout order.
    pub blocks: Vec<Block>,
    /// Whether some instruction calls other code (which wants the stack pointer aligned as the
    /// calling convention says).
    pub calls: bool,
}

/// The working memory of [`build`], kept between compilations.
#[derive(Default)]
pub(crate) struct Memory {
    label_inst: Vec<Option<u32>>,
    /// Where blocks start, in order (the entry, bound labels, after branches and returns).
    starts: Vec<u32>,
}

/// The control-flow graph of a body, its blocks in `blocks` (emptied first).
pub(crate) fn build<I: Isa>(body: &Body, memory: &mut Memory, mut blocks: Vec<Block>) -> Result<Cfg> {
    let n = body.insts.len() as u32;
    let Memory { label_inst, starts } = memory;
    refill(label_inst, body.num_labels, None);
    starts.clear();
    starts.push(0);
    let mut calls = false;
    for (i, inst) in (0..n).zip(&body.insts) {
        match inst.op {
            Op::Bind(l) => {
                if let Some(slot) = label_inst.get_mut(l.0 as usize) {
                    *slot = Some(i);
                }
                if starts.last() != Some(&i) {
                    starts.push(i);
                }
            }
            Op::Ret => starts.push(i + 1),
            Op::Align(_) => {}
            Op::Isa(op) => match I::flow(op, body.ops(inst)) {
                Flow::Next => {}
                Flow::Call => calls = true,
                Flow::Cond(_) | Flow::Jump(_) | Flow::Exit => starts.push(i + 1),
            },
        }
    }
    blocks.clear();
    starts.push(n);
    for w in starts.windows(2) {
        if w[1] > w[0] {
            blocks.push(Block { start: w[0], end: w[1], succs: [None; 2] });
        }
    }
    let target_block = |l: crate::ir::Label, loc| -> Result<Option<BlockId>> {
        let Some(at) = label_inst.get(l.0 as usize).copied().flatten() else {
            return Err(Error::at(ErrorKind::Label, format!("label L{} is used but never bound", l.0), loc));
        };
        // A label bound at the very end leaves the function.
        // (Block k starts at `starts[k]`: the starts before `n` are distinct and in order.)
        Ok(starts.binary_search(&at).ok().filter(|_| at < n).map(|k| BlockId(k as u32)))
    };
    let count = blocks.len() as u32;
    for (b, block) in blocks.iter_mut().enumerate() {
        let last = &body.insts[block.end as usize - 1];
        let next = (b as u32 + 1 < count).then_some(BlockId(b as u32 + 1));
        let falls_through = match last.op {
            Op::Ret => false,
            Op::Bind(_) | Op::Align(_) => true,
            Op::Isa(op) => matches!(I::flow(op, body.ops(last)), Flow::Next | Flow::Call | Flow::Cond(_)),
        };
        if falls_through && next.is_none() {
            return Err(Error::at(
                ErrorKind::ControlFlow,
                "control reaches the end of the function without a return: end it with `ret`",
                body.loc(last),
            ));
        }
        block.succs = match last.op {
            Op::Ret => [None; 2],
            Op::Bind(_) | Op::Align(_) => [next, None],
            Op::Isa(op) => match I::flow(op, body.ops(last)) {
                Flow::Next | Flow::Call => [next, None],
                Flow::Cond(l) => [target_block(l, body.loc(last))?, next],
                Flow::Jump(l) => [target_block(l, body.loc(last))?, None],
                Flow::Exit => [None; 2],
            },
        };
    }
    Ok(Cfg { blocks, calls })
}
