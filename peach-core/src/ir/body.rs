//! `Body`: a function on its way through the pipeline, the form the passes and the ISA's
//! emitter read.

use super::{Constant, Function, Inst, Locations, Op, Operand, Signature, VRegGroup, VRegInfo};
use crate::target::Target;

/// A function on its way through the pipeline: the user's instructions plus what the passes add
/// (parameter moves, return moves). The user's operands are borrowed, not copied; added
/// instructions keep theirs in `extra` (their `first` has `Body::EXTRA` set).
#[derive(Clone, Debug)]
pub struct Body<'f> {
    /// Symbol name.
    pub name: &'f std::sync::Arc<str>,
    /// Signature.
    pub sig: &'f Signature,
    /// Target.
    pub target: &'f Target,
    /// Instructions.
    pub insts: Vec<Inst>,
    /// The function's operands.
    base: &'f [Operand],
    /// Operands of the instructions the passes added.
    extra: Vec<Operand>,
    /// Virtual registers.
    pub vregs: &'f [VRegInfo],
    /// Groups of virtual registers that take consecutive units.
    pub groups: &'f [VRegGroup],
    /// Source locations of instructions and virtual registers (the passes' instructions reuse
    /// the user's).
    pub locs: &'f Locations,
    /// Constants used as operands, by index.
    pub consts: &'f [Constant],
    /// Bytes and alignment of the stack locals.
    pub locals: (u32, u32),
    /// Number of labels.
    pub num_labels: usize,
    /// Whether the code object records its source lines.
    pub source_lines: bool,
}

impl<'f> Body<'f> {
    /// Marks an instruction whose operands live in `extra`.
    const EXTRA: u32 = 1 << 31;

    /// The operands of `inst`.
    pub fn ops(&self, inst: &Inst) -> &[Operand] {
        let (store, first) = if inst.first & Self::EXTRA != 0 {
            (&self.extra[..], inst.first & !Self::EXTRA)
        } else {
            (self.base, inst.first)
        };
        &store[first as usize..first as usize + inst.len as usize]
    }

    /// The body of `f`, built in the memory of `insts` and `extra` (emptied first).
    pub(crate) fn new(f: &'f Function, mut insts: Vec<Inst>, mut extra: Vec<Operand>) -> Body<'f> {
        insts.clear();
        insts.reserve(f.insts().len() + 8);
        extra.clear();
        Body {
            name: f.shared_name(),
            sig: f.signature(),
            target: f.target(),
            insts,
            base: &f.operands,
            extra,
            vregs: &f.vregs,
            groups: f.vreg_groups(),
            locs: &f.locs,
            consts: &f.consts,
            locals: f.locals(),
            num_labels: f.num_labels(),
            source_lines: f.records_source_lines(),
        }
    }

    /// The instruction and operand buffers, for the next body.
    pub(crate) fn into_buffers(self) -> (Vec<Inst>, Vec<Operand>) {
        (self.insts, self.extra)
    }

    /// Appends some of the user's instructions, operands shared.
    pub(crate) fn push_user(&mut self, insts: &[Inst]) {
        self.insts.extend_from_slice(insts);
    }

    /// Where `inst` was written.
    pub fn loc(&self, inst: &Inst) -> crate::Src {
        self.locs.get(inst.loc)
    }

    /// Appends an instruction the passes made, attributed to the user's location `loc` (an index
    /// into [`Body::locs`]).
    pub(crate) fn push_new(&mut self, op: Op, ops: &[Operand], loc: u32) {
        let first = self.extra.len() as u32 | Self::EXTRA;
        self.extra.extend_from_slice(ops);
        self.insts.push(Inst { op, first, len: ops.len() as u8, loc });
    }
}
