//! ABI lowering: parameters become live-in virtual registers copied from where the calling
//! convention puts them; returns move their value into the result register; after allocation,
//! the frame records which callee-saved registers the prologue must save.
//!
//! Requires: a recorded function. Guarantees: every `Ret` carries physical registers only.
//! Linear in the number of instructions.

use super::regalloc::{AllocInput, Allocation};
use crate::abi::Frame;
use crate::abi::{CallConv, ParamLoc};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Body;
use crate::ir::{Function, Inst, Op, Operand, Reg};
use crate::isa::Isa;

/// Builds the body: parameter moves first, then the user's code with returns expanded.
/// `buffers` are the memory to build it in.
pub(crate) fn bind_params<'f, I: Isa>(
    f: &'f Function,
    conv: &CallConv,
    buffers: (Vec<Inst>, Vec<Operand>),
) -> Result<Body<'f>> {
    let mut body = Body::new(f, buffers.0, buffers.1);
    let entry = f.location_index();
    let locs = conv.param_locs(f.signature().params());
    for (p, loc) in f.params().iter().zip(locs) {
        if !p.reg.vreg().is_some_and(|v| f.param_used(v.index())) {
            continue;
        }
        let (op, ops) = match loc {
            ParamLoc::Reg(id) => I::gen_move(p.reg, Reg::phys(id), p.reg.class(), body.target),
            ParamLoc::Stack(off) => I::gen_load_arg(p.reg, p.ty, off, body.target),
        };
        body.push_new(Op::Isa(op), &ops, entry);
    }
    // The user's instructions go over in runs, cut only at returns that carry a value.
    let mut run = 0;
    for (i, inst) in f.insts().iter().enumerate() {
        if inst.op != Op::Ret {
            continue;
        }
        body.push_user(&f.insts()[run..i]);
        run = i + 1;
        let ops = f.operands(inst);
        match (inst.op, ops) {
            (Op::Ret, [Operand::Reg(v)]) => {
                let ty = f.signature().ret().ok_or_else(|| Error::internal("return value without a return type"))?;
                let id = if ty.is_float() { conv.float_ret } else { conv.int_ret };
                let (op, mv) = I::gen_move(Reg::phys(id), *v, v.class(), body.target);
                let dst = match mv[0] {
                    Operand::Reg(r) => r,
                    _ => return Err(Error::internal("move without a register destination")),
                };
                // (A value already in the result register needs no copy: an explicit copy of a
                // register to itself is the user's and is kept.)
                if mv[0] != mv[1] {
                    body.push_new(Op::Isa(op), &mv, inst.loc);
                }
                body.push_new(Op::Ret, &[Operand::Reg(dst)], inst.loc);
            }
            (Op::Ret, [_, ..]) => {
                return Err(Error::at(ErrorKind::Signature, "a return value must be a register", f.loc_of(inst.loc)));
            }
            _ => body.push_user(std::slice::from_ref(inst)),
        }
    }
    body.push_user(&f.insts()[run..]);
    Ok(body)
}

/// Decides the frame: the callee-saved units written and whether upper vector state is dirty;
/// `calls` says whether the code calls out (see `cfg::Cfg`).
pub(crate) fn frame<I: Isa>(
    body: &Body,
    calls: bool,
    input: &AllocInput,
    alloc: &Allocation,
    conv: &CallConv,
) -> Frame {
    // Every value that has a unit is written there (parameters by their binding copies); the
    // code also writes the physical registers it names or uses implicitly.
    let written = alloc.used | input.phys_written;
    let dirties_upper = body.insts.iter().any(|inst| matches!(inst.op, Op::Isa(opcode) if I::dirties_upper(opcode)));
    let (locals_size, locals_align) = body.locals;
    Frame { saved: written & conv.callee_saved, clear_upper: dirties_upper, locals_size, locals_align, calls }
}
