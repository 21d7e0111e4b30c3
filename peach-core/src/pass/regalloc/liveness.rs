//! Liveness: which registers hold a needed value at each program point.
//!
//! Block-level dataflow over bitsets (one bit per virtual register and per physical unit), then
//! one scan that turns it into ranges. Program point `2i` is where instruction `i` reads, `2i + 1`
//! where it writes, so a value read for the last time by an instruction can share a register with a
//! value that instruction writes.
//!
//! Virtual registers get the hull of their live points (one `[start, end)` range); physical units
//! get exact segments, because they are live only around the few instructions that name them.
//! Linear in instructions times the number of blocks a value is live across.

use super::{AllocInput, Var};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::UnitSet;
use crate::isa::Role;

const UNITS: usize = UnitSet::CAPACITY;

/// Live ranges.
pub(crate) struct Liveness {
    /// `[start, end)` per virtual register; `start == u32::MAX` for unused ones.
    pub vreg: Vec<(u32, u32)>,
    /// Sorted, disjoint segments per physical unit.
    pub unit: Vec<Vec<(u32, u32)>>,
}

struct Bits {
    words: usize,
    data: Vec<u64>,
}

impl Bits {
    fn new(rows: usize, bits: usize) -> Bits {
        let words = bits.div_ceil(64);
        Bits { words, data: vec![0; rows * words] }
    }
    fn row(&self, r: usize) -> &[u64] {
        &self.data[r * self.words..(r + 1) * self.words]
    }
    fn set(&mut self, r: usize, bit: usize) {
        self.data[r * self.words + bit / 64] |= 1 << (bit % 64);
    }
    fn get(&self, r: usize, bit: usize) -> bool {
        self.data[r * self.words + bit / 64] & (1 << (bit % 64)) != 0
    }
}

fn index(var: Var, nv: usize) -> usize {
    match var {
        Var::V(v) => v as usize,
        Var::P(u) => nv + u as usize,
    }
}

fn ones(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &bits)| {
        let mut b = bits;
        std::iter::from_fn(move || {
            if b == 0 {
                return None;
            }
            let t = b.trailing_zeros() as usize;
            b &= b - 1;
            Some(w * 64 + t)
        })
    })
}

/// Live-in and live-out sets of every block, by iterating the dataflow equations to a fixed
/// point; a value live into the entry block is read before it is written.
fn dataflow(input: &AllocInput, nv: usize) -> Result<(Bits, Bits)> {
    let nvars = nv + UNITS;
    let nb = input.blocks.len();
    let mut uses = Bits::new(nb, nvars);
    let mut defs = Bits::new(nb, nvars);
    for (b, block) in input.blocks.iter().enumerate() {
        for i in block.start..block.end {
            for op in input.inst_ops(i as usize) {
                let x = index(op.var(), nv);
                if op.role.reads() && !defs.get(b, x) {
                    uses.set(b, x);
                }
            }
            for op in input.inst_ops(i as usize) {
                if op.role.writes() {
                    defs.set(b, index(op.var(), nv));
                }
            }
        }
    }
    let mut live_in = Bits::new(nb, nvars);
    let mut live_out = Bits::new(nb, nvars);
    let w = live_in.words;
    let mut changed = true;
    while changed {
        changed = false;
        for b in (0..nb).rev() {
            for k in 0..w {
                let mut out = 0;
                for s in input.blocks[b].succs.into_iter().flatten() {
                    out |= live_in.data[s as usize * w + k];
                }
                live_out.data[b * w + k] = out;
                let inn = uses.data[b * w + k] | (out & !defs.data[b * w + k]);
                if inn != live_in.data[b * w + k] {
                    live_in.data[b * w + k] = inn;
                    changed = true;
                }
            }
        }
    }
    if nb > 0
        && let Some(v) = ones(live_in.row(0)).find(|&x| x < nv)
    {
        return Err(undefined(input, v as u32));
    }
    Ok((live_in, live_out))
}

pub(crate) fn analyze(input: &AllocInput) -> Result<Liveness> {
    let nv = input.num_vregs();
    // Straight-line code (one block, no way back) needs no dataflow: nothing is live across
    // blocks, and a value read before it is written shows as a range that starts at a read.
    let straight = input.blocks.len() == 1 && input.blocks[0].succs.iter().all(Option::is_none);
    let (live_in, live_out) =
        if straight { (Bits::new(1, nv + UNITS), Bits::new(1, nv + UNITS)) } else { dataflow(input, nv)? };

    let mut vreg = vec![(u32::MAX, 0u32); nv];
    let widen = |r: &mut (u32, u32), s: u32, e: u32| {
        r.0 = r.0.min(s);
        r.1 = r.1.max(e);
    };
    let mut unit: Vec<Vec<(u32, u32)>> = vec![Vec::new(); UNITS];
    let mut open = [u32::MAX; UNITS];
    for (b, block) in input.blocks.iter().enumerate() {
        let (bs, be) = (2 * block.start, 2 * block.end);
        for x in ones(live_in.row(b)).take_while(|&x| x < nv) {
            widen(&mut vreg[x], bs, bs + 1);
        }
        for x in ones(live_out.row(b)) {
            if x < nv {
                widen(&mut vreg[x], be - 1, be);
            } else {
                open[x - nv] = be;
            }
        }
        for i in (block.start..block.end).rev() {
            let (rd, wr) = (2 * i, 2 * i + 1);
            for op in input.inst_ops(i as usize) {
                match op.var() {
                    Var::V(v) => {
                        // A read covers [rd, rd + 1), a write [wr, wr + 1) with wr = rd + 1:
                        // one widening, without branches on the role. A late read lasts
                        // through the write, so the destination cannot take its register.
                        let (reads, writes) = (op.role.reads() as u32, op.role.writes() as u32);
                        let late = (op.role == Role::UseLate) as u32;
                        widen(&mut vreg[v as usize], rd + 1 - reads, rd + 1 + (writes | late));
                    }
                    Var::P(u) if op.role.writes() => {
                        let u = u as usize;
                        let end = if open[u] == u32::MAX { wr + 1 } else { open[u] };
                        unit[u].push((wr, end));
                        open[u] = u32::MAX;
                    }
                    Var::P(_) => {}
                }
            }
            for op in input.inst_ops(i as usize) {
                if let (Var::P(u), true) = (op.var(), op.role.reads())
                    && open[u as usize] == u32::MAX
                {
                    open[u as usize] = rd + 1;
                }
            }
        }
        for (u, o) in open.iter_mut().enumerate() {
            if *o != u32::MAX {
                unit[u].push((bs, *o));
                *o = u32::MAX;
            }
        }
    }
    for segs in &mut unit {
        segs.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(segs.len());
        for &(s, e) in segs.iter() {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *segs = merged;
    }
    if straight && let Some(v) = vreg.iter().position(|r| r.0 != u32::MAX && r.0 % 2 == 0) {
        return Err(undefined(input, v as u32));
    }
    Ok(Liveness { vreg, unit })
}

fn undefined(input: &AllocInput, v: u32) -> Error {
    let first_read = (0..input.num_insts())
        .find(|&i| input.inst_ops(i).iter().any(|op| op.var() == Var::V(v) && op.role.reads() && op.role != Role::Def));
    let created = input.vreg_loc(v as usize);
    let msg = format!(
        "a value is read before anything writes it (virtual register created at {created}); \
         write it first on every path that reaches this read"
    );
    match first_read {
        Some(i) => Error::at(ErrorKind::UndefinedValue, msg, input.inst_loc(i)),
        None => Error::new(ErrorKind::UndefinedValue, msg),
    }
}
