//! The compilation pipeline, one pass per file, in the order they run:
//!
//! 1. `params::check`: narrow integer parameters are not read wider than they are;
//! 2. `abi::bind_params`: parameters become live-in virtual registers copied from where the
//!    calling convention puts them; returns move their value into the result register;
//! 3. `cfg`: basic blocks and successors;
//! 4. [`regalloc`]: the allocator's view of the function, liveness, linear scan (never spilling)
//!    and, in debug builds, the independent checker;
//! 5. `abi::frame`: the callee-saved registers to save and whether to clear upper vector state;
//! 6. the ISA's emitter: final form choice, prologue and epilogues, encoding, listing.
//!
//! Every pass is linear in the number of instructions, or n log n where it sorts.

pub(crate) mod abi;
pub(crate) mod cfg;
pub(crate) mod params;
pub mod regalloc;

use crate::abi::Abi;
use crate::emit::CodeObject;
use crate::error::Result;
use crate::ir::{Constant, Function, Inst, Locations, Op, Operand, Signature, VRegInfo};
use crate::isa::Isa;
use crate::target::Target;

/// A function on its way through the pipeline: the user's instructions plus what the passes add
/// (parameter moves, return moves). The user's operands are borrowed, not copied; added
/// instructions keep theirs in `extra` (their `first` has `Body::EXTRA` set).
#[derive(Clone, Debug)]
pub struct Body<'f> {
    /// Symbol name.
    pub name: String,
    /// Signature.
    pub sig: Signature,
    /// Target.
    pub target: Target,
    /// Instructions.
    pub insts: Vec<Inst>,
    /// The function's operands.
    base: &'f [Operand],
    /// Operands of the instructions the passes added.
    extra: Vec<Operand>,
    /// Virtual registers.
    pub vregs: &'f [VRegInfo],
    /// Groups of virtual registers that take consecutive units (first index, count).
    pub groups: &'f [(u32, u8)],
    /// Source locations of instructions and virtual registers.
    pub locs: Locations,
    /// Constants used as operands, by index.
    pub consts: &'f [Constant],
    /// Bytes and alignment of the stack locals.
    pub locals: (u32, u32),
    /// Number of labels.
    pub num_labels: usize,
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

    pub(crate) fn new(f: &'f Function, mut insts: Vec<Inst>) -> Body<'f> {
        insts.clear();
        insts.reserve(f.insts().len() + 8);
        Body {
            name: f.name().to_string(),
            sig: f.signature().clone(),
            target: f.target().clone(),
            insts,
            base: &f.operands,
            extra: Vec::new(),
            vregs: &f.vregs,
            groups: f.vreg_groups(),
            locs: f.locs.clone(),
            consts: &f.consts,
            locals: f.locals(),
            num_labels: f.num_labels(),
        }
    }

    /// Appends some of the user's instructions, operands shared.
    pub(crate) fn push_user(&mut self, insts: &[Inst]) {
        self.insts.extend_from_slice(insts);
    }

    /// Where `inst` was written.
    pub fn loc(&self, inst: &Inst) -> crate::Src {
        self.locs.get(inst.loc)
    }

    /// Appends an instruction the passes made.
    pub(crate) fn push_new(&mut self, op: Op, ops: &[Operand], loc: crate::Src) {
        let loc = self.locs.intern(loc);
        let first = self.extra.len() as u32 | Self::EXTRA;
        self.extra.extend_from_slice(ops);
        self.insts.push(Inst { op, first, len: ops.len() as u8, loc });
    }
}

/// What the prologue and epilogues must do, decided after register allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Callee-saved units the code writes: the prologue saves them, every epilogue restores them.
    pub saved: crate::ir::UnitSet,
    /// Clear the upper vector state before returning (x86 `vzeroupper`).
    pub clear_upper: bool,
    /// Bytes of stack locals.
    pub locals_size: u32,
    /// Their alignment (above the ABI's 16 bytes, the frame is realigned).
    pub locals_align: u32,
}

/// The pipeline's largest temporaries, kept per thread between compilations: a JIT that builds
/// kernel after kernel then reuses warm memory instead of faulting in fresh pages each time.
/// Buffers above [`Scratch::KEEP`] bytes are let go.
#[derive(Default)]
pub(crate) struct Scratch {
    pub insts: Vec<Inst>,
    pub ops: Vec<regalloc::AllocOp>,
    pub op_start: Vec<u32>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    const KEEP: usize = 32 << 20;

    fn take() -> Scratch {
        SCRATCH.with(|c| c.take()).unwrap_or_default()
    }

    fn give(self) {
        let bytes = self.insts.capacity() * size_of::<Inst>()
            + self.ops.capacity() * size_of::<regalloc::AllocOp>()
            + self.op_start.capacity() * 4;
        if bytes <= Self::KEEP {
            SCRATCH.with(|c| c.set(Some(self)));
        }
    }
}

/// Runs the pipeline for ISA `I`.
pub(crate) fn compile<I: Isa>(f: &Function, abi: Abi) -> Result<CodeObject> {
    let conv = I::call_conv(abi)?;
    params::check::<I>(f)?;
    let mut scratch = Scratch::take();
    let body = abi::bind_params::<I>(f, &conv, std::mem::take(&mut scratch.insts))?;
    let cfg = cfg::build::<I>(&body)?;
    let input = regalloc::AllocInput::build::<I>(&body, &cfg, &conv, &mut scratch);
    let alloc = regalloc::allocate(&input)?;
    if cfg!(debug_assertions) {
        regalloc::check(&input, &alloc).map_err(|e| crate::error::Error::internal(e.to_string()))?;
    }
    let frame = abi::frame::<I>(&body, &input, &alloc, &conv);
    let code = I::emit(&body, &alloc.units, &frame, &conv);
    (scratch.ops, scratch.op_start) = input.into_buffers();
    scratch.insts = body.insts;
    scratch.give();
    code
}
