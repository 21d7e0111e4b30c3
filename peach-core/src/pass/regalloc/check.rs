//! An independent allocation checker. It knows only [`AllocInput`] and [`Allocation`].
//!
//! Abstract state: for every unit, which value it holds: `Value::Vreg(v)`, the unit's own
//! `Value::Phys` value (its content at entry or from a physical write), or `Conflict` where paths
//! disagree. Transfer: a write of `v` in unit `u` sets `u := v`; a write of physical unit `u` sets
//! `u := Phys`. A read of `v` must find `v` in `units[v]`; a read of physical unit `u` must find
//! `Phys`. Block entry states are the meet of their predecessors' exit states, iterated to a fixed
//! point. Every operand's unit must also be one the operand allows.

use std::fmt;

use super::{AllocInput, Allocation, Var};
use crate::ir::VReg;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    Unknown,
    Phys,
    Vreg(VReg),
    Conflict,
}

fn meet(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Unknown, x) | (x, Value::Unknown) => x,
        (x, y) if x == y => x,
        _ => Value::Conflict,
    }
}

/// What the checker found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// The instruction.
    pub inst: u32,
    /// The register read or written.
    pub var: Var,
    /// Its unit.
    pub unit: u8,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allocation check failed at instruction {} ({:?} in unit {}): {}",
            self.inst, self.var, self.unit, self.what
        )
    }
}

impl std::error::Error for CheckError {}

/// The units the checker tracks.
const UNITS: usize = crate::ir::UnitSet::CAPACITY;

/// Checks that `alloc` is a correct allocation of `input`.
pub fn check(input: &AllocInput, alloc: &Allocation) -> Result<(), CheckError> {
    let nb = input.blocks.len();
    let mut entry = vec![[Value::Unknown; UNITS]; nb];
    if nb > 0 {
        entry[0] = [Value::Phys; UNITS];
    }
    let mut work: Vec<usize> = (0..nb).rev().collect();
    let mut queued = vec![true; nb];
    while let Some(b) = work.pop() {
        queued[b] = false;
        let mut state = entry[b];
        let block = input.blocks[b];
        for i in block.start..block.end {
            step(input, alloc, i, &mut state)?;
        }
        for s in block.succs.into_iter().flatten() {
            let s = s.index();
            let mut changed = false;
            for u in 0..UNITS {
                let m = meet(entry[s][u], state[u]);
                if m != entry[s][u] {
                    entry[s][u] = m;
                    changed = true;
                }
            }
            if changed && !queued[s] {
                queued[s] = true;
                work.push(s);
            }
        }
    }
    Ok(())
}

fn step(input: &AllocInput, alloc: &Allocation, i: u32, state: &mut [Value; UNITS]) -> Result<(), CheckError> {
    let ops = input.inst_ops(i as usize);
    let unit_of = |var: Var| -> Result<u8, CheckError> {
        match var {
            Var::P(u) if (u as usize) < UNITS => Ok(u),
            Var::P(u) => Err(CheckError { inst: i, var, unit: u, what: "unit out of range".into() }),
            Var::V(v) => match alloc.units.get(v.index()).copied().flatten() {
                Some(u) if (u as usize) < UNITS => Ok(u),
                _ => Err(CheckError { inst: i, var, unit: u8::MAX, what: "value has no register".into() }),
            },
        }
    };
    for op in ops {
        let u = unit_of(op.var())?;
        if let Var::V(_) = op.var()
            && !input.allowed(op).contains(u)
        {
            return Err(CheckError {
                inst: i,
                var: op.var(),
                unit: u,
                what: "register not allowed for this operand".into(),
            });
        }
        if op.role.reads() {
            let want = match op.var() {
                Var::V(v) => Value::Vreg(v),
                Var::P(_) => Value::Phys,
            };
            // `Unknown` means no path has reached this point yet (or none does): nothing to check.
            if state[u as usize] != want && state[u as usize] != Value::Unknown {
                return Err(CheckError {
                    inst: i,
                    var: op.var(),
                    unit: u,
                    what: format!("read expects {want:?} but the register holds {:?}", state[u as usize]),
                });
            }
        }
    }
    // A late read and a write of the same instruction never share a register.
    for late in ops.iter().filter(|op| op.role == crate::isa::Role::UseLate) {
        let u = unit_of(late.var())?;
        for op in ops.iter().filter(|op| op.role.writes()) {
            if unit_of(op.var())? == u {
                return Err(CheckError {
                    inst: i,
                    var: op.var(),
                    unit: u,
                    what: "a destination shares its register with a source it must differ from".into(),
                });
            }
        }
    }
    for op in ops {
        if op.role.writes() {
            let u = unit_of(op.var())?;
            state[u as usize] = match op.var() {
                Var::V(v) => Value::Vreg(v),
                Var::P(_) => Value::Phys,
            };
        }
    }
    Ok(())
}
