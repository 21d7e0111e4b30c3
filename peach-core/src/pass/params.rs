//! Narrow integer parameters keep their width. The calling conventions leave the bits above an
//! `i8` ... `u32` argument unspecified (System V, Microsoft x64, AAPCS64; Apple arm64 extends to
//! 32 bits only), so such a parameter is a register of its own width, and reading more of it
//! before the code has written it whole (a 32-bit write or wider: both targets zero-extend those)
//! is an error that names the widening instruction. The check follows program order: a write that
//! comes first in the text counts, as the author reads the code.

use crate::error::{Error, ErrorKind, Result};
use crate::ir::{Function, Op, Operand, Reg, Type, VReg};
use crate::isa::{Isa, Role};

pub(crate) fn check<I: Isa>(f: &Function) -> Result<()> {
    // (virtual register, bits, type, parameter index) of each narrow integer parameter.
    let narrow: Vec<(VReg, u32, Type, usize)> = f
        .params()
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.ty.is_float() && p.ty.size() < 8)
        .filter_map(|(i, p)| Some((p.reg.vreg()?, 8 * p.ty.size(), p.ty, i)))
        .collect();
    if narrow.is_empty() {
        return Ok(());
    }
    let mut written = vec![false; narrow.len()];
    let fail = |k: usize, what: &str| {
        let (_, bits, ty, index) = narrow[k];
        format!(
            "parameter {index} is {}: only its low {bits} bits are defined (the calling convention leaves the rest unspecified), so {what}; widen it first: {}",
            type_name(ty),
            I::widen_hint(ty)
        )
    };
    for inst in f.insts() {
        let ops = &f.operands[inst.first as usize..inst.first as usize + inst.len as usize];
        let mut problem = None;
        match inst.op {
            Op::Isa(opcode) => {
                let low = I::reads_low_bits(opcode);
                I::visit(f.target(), &f.vregs, opcode, ops, &mut |r: Reg, role: Role, _| {
                    let Some(k) = r.vreg().and_then(|v| narrow.iter().position(|n| n.0 == v)) else {
                        return;
                    };
                    if written[k] {
                        return;
                    }
                    let (bits, width) = (I::gp_bits(r), narrow[k].1);
                    if role.reads() && bits > width && low.is_none_or(|b| b > width) && problem.is_none() {
                        problem = Some(fail(k, &format!("it cannot be read as a {bits}-bit register")));
                    }
                    if role.writes() && bits >= 32 {
                        written[k] = true;
                    }
                });
            }
            Op::Ret => {
                let ret_bits = f.signature().ret().map_or(0, |t| 8 * t.size());
                for op in ops {
                    if let Operand::Reg(r) = op
                        && let Some(k) = r.vreg().and_then(|v| narrow.iter().position(|n| n.0 == v))
                        && !written[k]
                        && ret_bits > narrow[k].1
                    {
                        problem = Some(fail(k, &format!("it cannot be returned as a {ret_bits}-bit result")));
                    }
                }
            }
            Op::Bind(_) | Op::Align(_) => {}
        }
        if let Some(message) = problem {
            return Err(Error::at(ErrorKind::Signature, message, f.locs.get(inst.loc)));
        }
    }
    Ok(())
}

fn type_name(ty: Type) -> &'static str {
    match ty {
        Type::I8 => "an `i8`",
        Type::U8 => "a `u8`",
        Type::I16 => "an `i16`",
        Type::U16 => "a `u16`",
        Type::I32 => "an `i32`",
        _ => "a `u32`",
    }
}
