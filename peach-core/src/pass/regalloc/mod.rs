//! Register allocation, as three parts that share only data:
//!
//! - [`AllocInput`]: an abstract view of the function (blocks, and per instruction the registers
//!   it reads and writes with the units each may take), built once from the IR and the ISA;
//! - [`allocate`]: liveness, then linear scan over live ranges, returning an [`Allocation`] (one
//!   unit per virtual register) and never changing the input. It never spills: when values do not
//!   fit, the error names the busiest instruction and every value live there;
//! - [`check`]: an independent checker that replays the allocation over the control-flow graph
//!   and proves every read finds the value it expects. It shares no code with the allocator.

mod check;
mod liveness;
mod scan;

pub use check::check;
pub use scan::{Memory, allocate};

use super::cfg::Block;
use crate::abi::CallConv;
use crate::ir::Body;
use crate::ir::{Inst, Locations, Op, Operand, Reg, RegClass, UnitSet, VReg, VRegGroup, VRegInfo};
use crate::isa::{ClassInfo, Isa, RegVisitor, Role};
use std::marker::PhantomData;

/// What an operand names: a virtual register or a physical unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Var {
    /// A virtual register.
    V(VReg),
    /// Physical unit `n`.
    P(u8),
}

/// One register read or written by an instruction (8 bytes: there are several per instruction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocOp {
    /// The register, packed: physical units have the top bit set.
    packed: u32,
    /// Read, written or both.
    pub role: Role,
    /// Index in [`AllocInput::masks`] of the units a virtual register may take here (ignored
    /// for physical ones). Kernels use a handful of distinct masks, so an index keeps operands
    /// small.
    pub mask: u16,
}

impl AllocOp {
    const PHYS: u32 = 1 << 31;

    /// An operand naming `var`.
    pub fn new(var: Var, role: Role, mask: u16) -> AllocOp {
        let packed = match var {
            Var::V(v) => v.0 & !Self::PHYS,
            Var::P(u) => Self::PHYS | u as u32,
        };
        AllocOp { packed, role, mask }
    }

    /// The register.
    pub fn var(&self) -> Var {
        if self.packed & Self::PHYS != 0 { Var::P(self.packed as u8) } else { Var::V(VReg(self.packed)) }
    }
}

/// A register copy, which the allocator tries to make a no-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    /// Destination.
    pub dst: Var,
    /// Source.
    pub src: Var,
}

/// The buffers an [`AllocInput`] is built in, kept between compilations.
#[derive(Default)]
pub(crate) struct InputMemory {
    ops: Vec<AllocOp>,
    op_start: Vec<u32>,
    vreg_allowed: Vec<u16>,
    class_units: Vec<UnitSet>,
    moves: Vec<(u32, Move)>,
    masks: Vec<UnitSet>,
}

impl InputMemory {
    /// The memory held by its largest buffers.
    pub(crate) fn bytes(&self) -> usize {
        self.ops.capacity() * size_of::<AllocOp>() + self.op_start.capacity() * 4
    }
}

/// The allocator's view of a function.
#[derive(Clone, Debug)]
pub struct AllocInput<'b> {
    /// The units each virtual register may take (an index in [`AllocInput::masks`]): its
    /// class's, narrowed by every operand that names it.
    pub vreg_allowed: Vec<u16>,
    /// Groups of virtual registers that take consecutive units.
    pub groups: &'b [VRegGroup],
    /// The virtual registers (where each was created, for messages).
    vregs: &'b [VRegInfo],
    /// The instructions (where each was written, for messages).
    insts: &'b [Inst],
    locs: &'b Locations,
    /// Operands of instruction `i` are `ops[op_start[i]..op_start[i + 1]]`.
    pub op_start: Vec<u32>,
    /// All operands.
    pub ops: Vec<AllocOp>,
    /// Basic blocks in layout order; block 0 is the entry.
    pub blocks: &'b [Block],
    /// The register classes.
    pub classes: &'static [ClassInfo],
    /// Units each class may use on this target.
    pub class_units: Vec<UnitSet>,
    /// Units in order of preference.
    pub order: &'static [u8],
    /// Register copies, by instruction.
    pub moves: Vec<(u32, Move)>,
    /// The distinct allowed-unit masks operands refer to.
    pub masks: Vec<UnitSet>,
    /// The physical units the code writes (named, or used implicitly).
    pub phys_written: UnitSet,
}

impl<'b> AllocInput<'b> {
    /// Builds the view of `body` for ISA `I`.
    pub(crate) fn build<I: Isa>(
        body: &'b Body,
        blocks: &'b [Block],
        conv: &CallConv,
        memory: InputMemory,
    ) -> crate::Result<AllocInput<'b>> {
        let n = body.insts.len();
        // Over-aligned stack locals need a frame pointer, which values then cannot use.
        let frame_pointer = if body.locals.1 > 16 { UnitSet::of(&[I::FRAME_POINTER_UNIT]) } else { UnitSet::EMPTY };
        let mut class_units = reuse(memory.class_units, I::CLASSES.len());
        class_units
            .extend((0..I::CLASSES.len()).map(|c| I::class_units(body.target, RegClass(c as u8)) & !frame_pointer));
        let mut input = AllocInput {
            vreg_allowed: reuse(memory.vreg_allowed, body.vregs.len()),
            groups: body.groups,
            vregs: body.vregs,
            insts: &body.insts,
            locs: body.locs,
            op_start: reuse(memory.op_start, n + 1),
            ops: reuse(memory.ops, n * 3),
            blocks,
            classes: I::CLASSES,
            class_units,
            order: conv.alloc_order,
            moves: reuse(memory.moves, 8),
            masks: reuse(memory.masks, 8),
            phys_written: UnitSet::EMPTY,
        };
        input.masks.push(UnitSet::ALL);
        // The masks start with every unit, then each class's units.
        input.masks.extend(input.class_units.iter().copied());
        input.vreg_allowed.extend(body.vregs.iter().map(|v| 1 + v.class.0 as u16));
        let mut collect = Collect::<I> {
            out: &mut input.ops,
            masks: &mut input.masks,
            vreg_allowed: &mut input.vreg_allowed,
            phys_written: &mut input.phys_written,
            recent: [(UnitSet::ALL, 0); 2],
            full: false,
            isa: PhantomData,
        };
        for (i, inst) in body.insts.iter().enumerate() {
            input.op_start.push(collect.out.len() as u32);
            let ops = body.ops(inst);
            match inst.op {
                Op::Isa(opcode) => {
                    I::visit(body.target, body.vregs, opcode, ops, &mut collect);
                    // (A copy's operands are two registers, as `Isa::as_move` promises: most
                    // instructions are told apart without the call.)
                    if let [Operand::Reg(_), Operand::Reg(_)] = ops
                        && let Some((d, s)) = I::as_move(opcode, ops)
                        && let (Some(dst), Some(src)) = (var::<I>(d), var::<I>(s))
                    {
                        input.moves.push((i as u32, Move { dst, src }));
                    }
                }
                Op::Ret => {
                    for op in ops {
                        if let Operand::Reg(r) = op
                            && let Some(var) = var::<I>(*r)
                        {
                            collect.out.push(AllocOp::new(var, Role::Use, 0));
                        }
                    }
                }
                Op::Bind(_) | Op::Align(_) => {}
            }
        }
        let full = collect.full;
        input.op_start.push(input.ops.len() as u32);
        if full {
            return Err(crate::Error::new(crate::ErrorKind::Limit, "more than 65,536 distinct register constraints"));
        }
        Ok(input)
    }

    /// The units virtual register `v` may take.
    pub fn vreg_units(&self, v: usize) -> UnitSet {
        self.vreg_allowed.get(v).and_then(|m| self.masks.get(*m as usize)).copied().unwrap_or_default()
    }

    /// The buffers, for the next compilation to reuse.
    pub(crate) fn into_memory(self) -> InputMemory {
        InputMemory {
            ops: self.ops,
            op_start: self.op_start,
            vreg_allowed: self.vreg_allowed,
            class_units: self.class_units,
            moves: self.moves,
            masks: self.masks,
        }
    }

    /// The class of virtual register `v`.
    pub fn vreg_class(&self, v: usize) -> RegClass {
        self.vregs.get(v).map_or(RegClass(0), |info| info.class)
    }

    /// Number of instructions.
    pub fn num_insts(&self) -> usize {
        self.op_start.len().saturating_sub(1)
    }

    /// Where instruction `i` was written.
    pub fn inst_loc(&self, i: usize) -> crate::Src {
        self.insts.get(i).map_or(crate::Src::Token(0), |inst| self.locs.get(inst.loc))
    }

    /// Where virtual register `v` was created.
    pub fn vreg_loc(&self, v: usize) -> crate::Src {
        self.vregs.get(v).map_or(crate::Src::Token(0), |info| self.locs.get(info.loc))
    }

    /// Number of virtual registers.
    pub fn num_vregs(&self) -> usize {
        self.vregs.len()
    }

    /// The units operand `op` allows.
    pub fn allowed(&self, op: &AllocOp) -> UnitSet {
        self.masks.get(op.mask as usize).copied().unwrap_or(UnitSet::ALL)
    }

    /// The operands of instruction `i`.
    pub fn inst_ops(&self, i: usize) -> &[AllocOp] {
        &self.ops[self.op_start[i] as usize..self.op_start[i + 1] as usize]
    }
}

/// What register `r` names for the allocator: a virtual register, or an allocatable unit.
#[inline(always)]
fn var<I: Isa>(r: Reg) -> Option<Var> {
    match r.vreg() {
        Some(v) => Some(Var::V(v)),
        None => I::unit(r).map(Var::P),
    }
}

/// The allocator's side of [`Isa::visit`]: each register reported becomes an [`AllocOp`] and
/// narrows the units its virtual register may take. A type rather than a closure, so that `reg`
/// is inlined at each of the ISA's reports (measured: a closure is called out of line).
struct Collect<'a, I> {
    out: &'a mut Vec<AllocOp>,
    masks: &'a mut Vec<UnitSet>,
    vreg_allowed: &'a mut Vec<u16>,
    phys_written: &'a mut UnitSet,
    /// The two masks last interned, with their indices, the latest first: an instruction's
    /// operands mostly allow one of two sets (its registers', its address's).
    recent: [(UnitSet, u16); 2],
    /// Set when the masks overflow (see [`intern`]).
    full: bool,
    isa: PhantomData<I>,
}

impl<I: Isa> RegVisitor for Collect<'_, I> {
    #[inline(always)]
    fn reg(&mut self, r: Reg, role: Role, allowed: UnitSet) {
        let v = match var::<I>(r) {
            Some(Var::V(v)) => v,
            // (A physical unit's mask is never read.)
            Some(Var::P(u)) => {
                if role.writes() {
                    self.phys_written.insert(u);
                }
                self.out.push(AllocOp::new(Var::P(u), role, 0));
                return;
            }
            None => return,
        };
        let mask = if allowed == self.recent[0].0 {
            self.recent[0].1
        } else if allowed == self.recent[1].0 {
            self.recent[1].1
        } else {
            let mask = intern(self.masks, allowed, &mut self.full);
            self.recent[1] = self.recent[0];
            self.recent[0] = (allowed, mask);
            mask
        };
        if let Some(a) = self.vreg_allowed.get_mut(v.index())
            && *a != mask
        {
            let narrowed = self.masks[*a as usize] & allowed;
            if narrowed != self.masks[*a as usize] {
                *a = intern(self.masks, narrowed, &mut self.full);
            }
        }
        self.out.push(AllocOp::new(Var::V(v), role, mask));
    }
}

/// The index of `set` in `masks`, added if new. Kernels use a handful; past 65,536 distinct
/// ones (which no kernel reaches) `full` is set and the compilation fails.
fn intern(masks: &mut Vec<UnitSet>, set: UnitSet, full: &mut bool) -> u16 {
    match masks.iter().position(|m| *m == set) {
        Some(i) => i as u16,
        None if masks.len() <= u16::MAX as usize => {
            masks.push(set);
            (masks.len() - 1) as u16
        }
        None => {
            *full = true;
            0
        }
    }
}

use super::reuse;

/// The result: the unit of every virtual register (`None` for those never used).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Unit per virtual register.
    pub units: Vec<Option<u8>>,
    /// The units given to values.
    pub used: UnitSet,
}
