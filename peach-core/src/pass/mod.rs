//! The compilation pipeline, one pass per file, in the order they run:
//!
//! 0. recording (the builder): every instruction is checked against the ISA's forms and the
//!    target as it is written, and errors keep the user's location;
//! 1. `params::check`: narrow integer parameters are not read wider than they are;
//! 2. `abi::bind_params`: parameters become live-in virtual registers copied from where the
//!    calling convention puts them; returns move their value into the result register;
//! 3. `cfg`: basic blocks and successors;
//! 4. [`regalloc`]: the allocator's view of the function, liveness, linear scan (never spilling)
//!    and, in debug builds, the independent checker;
//! 5. `abi::frame`: the callee-saved registers to save and whether to clear upper vector state;
//! 6. the ISA's emitter: final form choice, prologue and epilogues and encoding into
//!    `emit::CodeBuffer`, which places labels, grows fixups until they reach and lays out the
//!    constant pool.
//!
//! Every pass is linear in the number of instructions, or n log n where it sorts.

pub(crate) mod abi;
pub(crate) mod cfg;
pub(crate) mod params;
pub mod regalloc;

use crate::abi::Abi;
use crate::emit::CodeObject;
use crate::error::Result;
use crate::ir::{Function, Inst, Operand};
use crate::isa::Isa;

/// The pipeline's largest temporaries, kept per thread between compilations: a JIT that builds
/// kernel after kernel then reuses warm memory instead of faulting in fresh pages each time.
/// Buffers above [`Scratch::KEEP`] bytes are let go.
#[derive(Default)]
pub(crate) struct Scratch {
    pub insts: Vec<Inst>,
    pub extra: Vec<Operand>,
    pub blocks: Vec<cfg::Block>,
    pub cfg: cfg::Memory,
    pub input: regalloc::InputMemory,
    pub alloc: regalloc::Memory,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Scratch {
    /// Enough for a function of about a million instructions.
    const KEEP: usize = 128 << 20;

    /// Lets go of this thread's buffers.
    pub(crate) fn release() {
        SCRATCH.with(|c| {
            if let Ok(mut s) = c.try_borrow_mut() {
                *s = Scratch::default();
            }
        });
    }

    /// Runs `f` with this thread's buffers, in place (or fresh ones, should `f` compile too).
    fn with<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
        SCRATCH.with(|c| match c.try_borrow_mut() {
            Ok(mut scratch) => {
                let out = f(&mut scratch);
                let bytes = scratch.insts.capacity() * size_of::<Inst>() + scratch.input.bytes();
                if bytes > Self::KEEP {
                    *scratch = Scratch::default();
                }
                out
            }
            Err(_) => f(&mut Scratch::default()),
        })
    }
}

/// `v` holding `n` copies of `x`, in the memory it already has.
pub(crate) fn refill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

/// `v`, emptied, with room for `n` items.
pub(crate) fn reuse<T>(mut v: Vec<T>, n: usize) -> Vec<T> {
    v.clear();
    v.reserve(n);
    v
}

/// Runs the pipeline for ISA `I`.
pub(crate) fn compile<I: Isa>(f: &Function, abi: Abi) -> Result<CodeObject> {
    let conv = I::call_conv(abi)?;
    params::check::<I>(f)?;
    Scratch::with(|scratch| {
        let buffers = (std::mem::take(&mut scratch.insts), std::mem::take(&mut scratch.extra));
        let body = abi::bind_params::<I>(f, &conv, buffers)?;
        let cfg = cfg::build::<I>(&body, &mut scratch.cfg, std::mem::take(&mut scratch.blocks))?;
        let input = regalloc::AllocInput::build::<I>(&body, &cfg.blocks, &conv, std::mem::take(&mut scratch.input))?;
        let alloc = regalloc::allocate(&input, &mut scratch.alloc)?;
        if cfg!(debug_assertions) {
            regalloc::check(&input, &alloc).map_err(|e| crate::error::Error::internal(e.to_string()))?;
        }
        let frame = abi::frame::<I>(&body, cfg.calls, &input, &alloc, &conv);
        let code = I::emit(&body, &alloc.units, &frame, &conv);
        scratch.alloc.recycle(alloc);
        scratch.input = input.into_memory();
        scratch.blocks = cfg.blocks;
        (scratch.insts, scratch.extra) = body.into_buffers();
        code
    })
}
