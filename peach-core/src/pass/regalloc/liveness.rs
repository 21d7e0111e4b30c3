//! Liveness: which registers hold a needed value at each program point.
//!
//! Program point `2i` is where instruction `i` reads, `2i + 1` where it writes, so a value read
//! for the last time by an instruction can share a register with a value that instruction writes.
//! Virtual registers get the hull of their live points (one `[start, end)` range); physical units
//! get exact segments, because they are live only around the few instructions that name them.
//!
//! Sparse: most values live inside one block, so only the *global* ones, read in some block
//! before that block writes them, take part in the block-level dataflow (one bit per global per
//! block, a worklist over predecessors). Everything else is one scan over the operands. Linear in
//! operands plus blocks times globals.

use super::{AllocInput, Var};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{UnitSet, VReg};
use crate::isa::Role;
use crate::pass::refill;

const UNITS: usize = UnitSet::CAPACITY;

/// A half-open range of program points.
pub(crate) type Range = (u32, u32);

/// Live ranges, and the memory that computes them, kept between compilations (a JIT compiling
/// kernel after kernel allocates nothing here once warm).
#[derive(Default)]
pub(crate) struct Liveness {
    /// The live range of each virtual register; [`EMPTY`] for those no instruction names
    /// (widening it then needs no branch).
    range: Vec<Range>,
    /// Sorted, disjoint segments per physical unit, up to the highest unit named.
    unit: Vec<Vec<Range>>,
    /// Per unit, the segment being built while scanning (valid for the units open).
    open: Vec<Range>,
    /// `(unit, index in its segments)` of the segments still open at a block's end, per block:
    /// those of block `b` are `tails[tail_start[b]..tail_start[b + 1]]`.
    tails: Vec<(u8, u32)>,
    tail_start: Vec<u32>,
    globals: Globals,
    flow: Dataflow,
}

/// The range of a value no instruction names.
const EMPTY: Range = (u32::MAX, 0);

impl Liveness {
    /// The live range of virtual register `v`; `None` if no instruction names it.
    pub fn vreg(&self, v: usize) -> Option<Range> {
        self.range.get(v).copied().filter(|&r| r != EMPTY)
    }

    /// The virtual registers some instruction names, with their live ranges.
    pub fn vregs(&self) -> impl Iterator<Item = (usize, Range)> + '_ {
        self.range.iter().enumerate().filter(|(_, r)| **r != EMPTY).map(|(v, r)| (v, *r))
    }

    /// The segments where unit `u` holds a value the code needs, sorted and disjoint.
    pub fn unit(&self, u: u8) -> &[Range] {
        self.unit.get(u as usize).map_or(&[], Vec::as_slice)
    }
}

/// One row of bits per block.
#[derive(Default)]
struct Rows {
    words: usize,
    data: Vec<u64>,
}

impl Rows {
    /// Every bit cleared, for `rows` rows of `bits` bits.
    fn reset(&mut self, rows: usize, bits: usize) {
        self.words = bits.div_ceil(64);
        self.data.clear();
        self.data.resize(rows * self.words, 0);
    }
    fn row(&self, r: usize) -> &[u64] {
        self.data.get(r * self.words..(r + 1) * self.words).unwrap_or(&[])
    }
    fn set(&mut self, r: usize, bit: u32) {
        self.data[r * self.words + bit as usize / 64] |= 1 << (bit % 64);
    }
}

/// The bits set in `words`, lowest first.
fn ones(words: &[u64]) -> Ones<'_> {
    Ones { words, word: 0, bits: words.first().copied().unwrap_or(0) }
}

/// See [`ones`].
struct Ones<'a> {
    words: &'a [u64],
    word: usize,
    bits: u64,
}

impl Iterator for Ones<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.bits == 0 {
            self.word += 1;
            self.bits = *self.words.get(self.word)?;
        }
        let t = self.bits.trailing_zeros();
        self.bits &= self.bits - 1;
        Some(self.word as u32 * 64 + t)
    }
}

/// The values that live across blocks, numbered densely: virtual registers first, in the order
/// they are found, then units; with each block's upward-exposed reads and first writes, the
/// dataflow's input. Filled by the forward scan in [`Liveness::analyze`].
#[derive(Default)]
struct Globals {
    /// The global number of each virtual register.
    vreg: Vec<Option<u32>>,
    /// The global units.
    units: UnitSet,
    /// The variable of each global number.
    var: Vec<Var>,
    /// The block that last wrote or exposed each virtual register, while scanning: a read of
    /// a value written earlier in the same block does not make it global, and a value exposed
    /// in a block is exposed there once. Block numbers plus one, 0 for none (a plain compare per
    /// operand).
    written_in: Vec<u32>,
    /// `(block, variable)`: a read before any write in the block (all of them global).
    exposed: Vec<(u32, Var)>,
    /// `(block, variable)`: the first write of a variable in the block, unless a read exposed
    /// it there first.
    writes: Vec<(u32, Var)>,
}

impl Globals {
    fn reset(&mut self, nv: usize) {
        refill(&mut self.vreg, nv, None);
        refill(&mut self.written_in, nv, 0);
        self.units = UnitSet::EMPTY;
        self.var.clear();
        self.exposed.clear();
        self.writes.clear();
    }

    /// The global number of `var`, if it is global.
    fn number(&self, var: Var) -> Option<u32> {
        match var {
            Var::V(v) => self.vreg[v.index()],
            Var::P(u) if self.units.contains(u) => {
                Some((self.var.len() - self.units.len()) as u32 + self.units.rank(u))
            }
            Var::P(_) => None,
        }
    }
}

/// The block-level dataflow's memory.
#[derive(Default)]
struct Dataflow {
    uses: Rows,
    defs: Rows,
    live_in: Rows,
    live_out: Rows,
    /// Predecessors, flattened: those of block `b` are `preds[pred_start[b]..pred_start[b + 1]]`.
    pred_start: Vec<u32>,
    preds: Vec<u32>,
    fill: Vec<u32>,
    work: Vec<u32>,
    queued: Vec<bool>,
}

impl Dataflow {
    /// Live-in and live-out sets of the globals at every block: each block's upward-exposed
    /// reads and writes, then a worklist to the fixed point that revisits a block only when a
    /// successor's live-in set grew.
    fn solve(&mut self, input: &AllocInput, globals: &Globals) {
        let (nb, ng) = (input.blocks.len(), globals.var.len());
        let d = self;
        d.uses.reset(nb, ng);
        d.defs.reset(nb, ng);
        d.live_out.reset(nb, ng);
        for &(b, var) in &globals.exposed {
            if let Some(g) = globals.number(var) {
                d.uses.set(b as usize, g);
            }
        }
        for &(b, var) in &globals.writes {
            if let Some(g) = globals.number(var) {
                d.defs.set(b as usize, g);
            }
        }

        refill(&mut d.pred_start, nb + 1, 0);
        for block in input.blocks {
            for s in block.succs.into_iter().flatten() {
                d.pred_start[s.index() + 1] += 1;
            }
        }
        for b in 0..nb {
            d.pred_start[b + 1] += d.pred_start[b];
        }
        refill(&mut d.preds, d.pred_start[nb] as usize, 0);
        d.fill.clear();
        d.fill.extend_from_slice(&d.pred_start);
        for (b, block) in input.blocks.iter().enumerate() {
            for s in block.succs.into_iter().flatten() {
                d.preds[d.fill[s.index()] as usize] = b as u32;
                d.fill[s.index()] += 1;
            }
        }

        let w = d.uses.words;
        d.live_in.words = w;
        d.live_in.data.clear();
        d.live_in.data.extend_from_slice(&d.uses.data);
        // Backward problem: start from the last block, so that most successors are final first.
        d.work.clear();
        d.work.extend(0..nb as u32);
        refill(&mut d.queued, nb, true);
        while let Some(b) = d.work.pop() {
            let b = b as usize;
            d.queued[b] = false;
            let mut grew = false;
            for k in 0..w {
                let mut out = 0;
                for s in input.blocks[b].succs.into_iter().flatten() {
                    out |= d.live_in.data[s.index() * w + k];
                }
                d.live_out.data[b * w + k] = out;
                let inn = d.uses.data[b * w + k] | (out & !d.defs.data[b * w + k]);
                if inn != d.live_in.data[b * w + k] {
                    d.live_in.data[b * w + k] = inn;
                    grew = true;
                }
            }
            if grew {
                for &p in &d.preds[d.pred_start[b] as usize..d.pred_start[b + 1] as usize] {
                    if !std::mem::replace(&mut d.queued[p as usize], true) {
                        d.work.push(p);
                    }
                }
            }
        }
    }
}

impl Liveness {
    /// The live ranges of `input`: one forward scan over the operands (ranges inside blocks and
    /// the globals), the block-level dataflow if any value crosses a block boundary, then the
    /// ranges widened to the block boundaries the globals cross.
    pub(crate) fn analyze(&mut self, input: &AllocInput) -> Result<()> {
        self.scan(input);
        let (globals, flow) = (&self.globals, &mut self.flow);
        if globals.var.is_empty() {
            flow.live_in.reset(0, 0);
            flow.live_out.reset(0, 0);
        } else {
            flow.solve(input, globals);
        }
        let (live_in, live_out) = (&flow.live_in, &flow.live_out);
        // A value live into the entry block is read before anything writes it.
        if let Some(Var::V(v)) = ones(live_in.row(0)).map(|g| globals.var[g as usize]).find(|x| matches!(x, Var::V(_)))
        {
            return Err(undefined(input, v));
        }
        if !globals.var.is_empty() {
            for (b, block) in input.blocks.iter().enumerate() {
                let (bs, be) = (2 * block.start, 2 * block.end);
                for g in ones(live_in.row(b)) {
                    if let Var::V(v) = globals.var[g as usize] {
                        widen(&mut self.range[v.index()], bs, bs + 1);
                    }
                }
                let tails = &self.tails[self.tail_start[b] as usize..self.tail_start[b + 1] as usize];
                for g in ones(live_out.row(b)) {
                    match globals.var[g as usize] {
                        Var::V(v) => widen(&mut self.range[v.index()], be - 1, be),
                        // A unit live out of a block: its last segment there lasts to the end,
                        // or, untouched in the block, it lives through it.
                        Var::P(u) => match tails.iter().find(|t| t.0 == u) {
                            Some(&(_, k)) => self.unit[u as usize][k as usize].1 = be,
                            None => add_segment(&mut self.unit, u, (bs, be)),
                        },
                    }
                }
            }
        }
        for segs in self.unit.iter_mut().filter(|s| s.len() > 1) {
            // Sorted, then overlapping or touching segments merged in place.
            segs.sort_unstable();
            let mut kept = 0;
            for k in 1..segs.len() {
                if segs[k].0 <= segs[kept].1 {
                    segs[kept].1 = segs[kept].1.max(segs[k].1);
                } else {
                    kept += 1;
                    segs[kept] = segs[k];
                }
            }
            segs.truncate(kept + 1);
        }
        Ok(())
    }

    /// The forward scan: each virtual register's hull of the points that name it, each unit's
    /// segments inside blocks (a write starts one, reads extend it; a read before any write in
    /// the block starts it at the block's start), and the globals with each block's exposed
    /// reads and first writes.
    fn scan(&mut self, input: &AllocInput) {
        let nv = input.num_vregs();
        let g = &mut self.globals;
        g.reset(nv);
        refill(&mut self.range, nv, EMPTY);
        self.unit.iter_mut().for_each(Vec::clear);
        self.tails.clear();
        self.tail_start.clear();
        if self.open.len() < UNITS {
            self.open.resize(UNITS, (0, 0));
        }
        let (range, unit, seg) = (&mut self.range, &mut self.unit, &mut self.open);
        for (b, block) in input.blocks.iter().enumerate() {
            let (b, this, bs) = (b as u32, b as u32 + 1, 2 * block.start);
            // Units written in this block so far, and those with a segment open.
            let (mut written, mut open) = (UnitSet::EMPTY, UnitSet::EMPTY);
            self.tail_start.push(self.tails.len() as u32);
            // (The operand ranges walked directly: one bounds check per block, not two per
            // instruction.)
            let starts = &input.op_start[block.start as usize..=block.end as usize];
            for (i, w) in (block.start..).zip(starts.windows(2)) {
                let rd = 2 * i;
                let ops = &input.ops[w[0] as usize..w[1] as usize];
                // Reads first: an instruction reads its operands before it writes any.
                for op in ops {
                    let reads = op.role.reads();
                    match op.var() {
                        Var::V(v) => {
                            // A read covers [rd, rd + 1), a write [rd + 1, rd + 2): one
                            // widening, without branches on the role. A late read lasts through
                            // the write, so the destination cannot take its register.
                            let writes = op.role.writes() as u32;
                            let late = (op.role == Role::UseLate) as u32;
                            widen(&mut range[v.index()], rd + 1 - reads as u32, rd + 1 + (writes | late));
                            if reads && g.written_in[v.index()] != this {
                                if g.vreg[v.index()].is_none() {
                                    g.vreg[v.index()] = Some(g.var.len() as u32);
                                    g.var.push(Var::V(v));
                                }
                                g.exposed.push((b, Var::V(v)));
                                // Once per block: later reads add nothing, and a write after
                                // this read need not be noted (the value is live in anyway).
                                g.written_in[v.index()] = this;
                            }
                        }
                        Var::P(u) if reads => {
                            if !written.contains(u) {
                                g.units.insert(u);
                                g.exposed.push((b, Var::P(u)));
                            }
                            if open.contains(u) {
                                seg[u as usize].1 = rd + 1;
                            } else {
                                seg[u as usize] = (bs, rd + 1);
                                open.insert(u);
                            }
                        }
                        Var::P(_) => {}
                    }
                }
                for op in ops.iter().filter(|op| op.role.writes()) {
                    match op.var() {
                        Var::V(v) if g.written_in[v.index()] != this => {
                            g.written_in[v.index()] = this;
                            g.writes.push((b, Var::V(v)));
                        }
                        Var::V(_) => {}
                        Var::P(u) => {
                            if !written.contains(u) {
                                written.insert(u);
                                g.writes.push((b, Var::P(u)));
                            }
                            if open.contains(u) {
                                add_segment(unit, u, seg[u as usize]);
                            }
                            seg[u as usize] = (rd + 1, rd + 2);
                            open.insert(u);
                        }
                    }
                }
            }
            // The segments open at the block's end, which the dataflow may extend to it.
            open.for_each(|u| {
                self.tails.push((u, unit.get(u as usize).map_or(0, Vec::len) as u32));
                add_segment(unit, u, seg[u as usize]);
            });
        }
        self.tail_start.push(self.tails.len() as u32);
        let units = g.units;
        units.for_each(|u| g.var.push(Var::P(u)));
    }
}

/// `r` widened to cover `[s, e)`.
fn widen(r: &mut Range, s: u32, e: u32) {
    *r = (r.0.min(s), r.1.max(e));
}

fn add_segment(unit: &mut Vec<Vec<Range>>, u: u8, seg: Range) {
    if unit.len() <= u as usize {
        unit.resize_with(u as usize + 1, Vec::new);
    }
    unit[u as usize].push(seg);
}

fn undefined(input: &AllocInput, v: VReg) -> Error {
    let first_read = (0..input.num_insts())
        .find(|&i| input.inst_ops(i).iter().any(|op| op.var() == Var::V(v) && op.role.reads() && op.role != Role::Def));
    let created = input.vreg_loc(v.index());
    let msg = format!(
        "a value is read before anything writes it (virtual register created at {created}); \
         write it first on every path that reaches this read"
    );
    match first_read {
        Some(i) => Error::at(ErrorKind::UndefinedValue, msg, input.inst_loc(i)),
        None => Error::new(ErrorKind::UndefinedValue, msg),
    }
}
