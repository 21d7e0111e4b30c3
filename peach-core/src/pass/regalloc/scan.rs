//! Linear scan: values in order of their first live point, each given the first unit that is free
//! for its whole range. A copy's source or destination unit is tried first, so that parameter,
//! return and user copies usually disappear. No spilling, no splitting: if nothing is free, the
//! error explains the register pressure.
//!
//! O(values x units) after an O(n log n) sort.

use super::liveness::Liveness;
use super::{AllocInput, Allocation, Var};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::{UnitSet, VReg};
use crate::pass::refill;

const UNITS: usize = UnitSet::CAPACITY;

/// The allocator's memory, kept between compilations.
#[derive(Default)]
pub struct Memory {
    live: Liveness,
    /// The unit a copy to or from a physical register suggests for each value.
    hint: Vec<Option<u8>>,
    /// The other side of a copy between two values.
    partner: Vec<Option<VReg>>,
    order: Vec<(u32, VReg)>,
    group_of: Vec<Option<u32>>,
    units: Vec<Option<u8>>,
    /// Per allowed-units mask of this compilation, once asked for: its units in preference
    /// order, as an index in `known`.
    pref_of_mask: Vec<Option<u32>>,
    /// The preferences computed so far, by mask and preference order (kept between
    /// compilations: a JIT's functions use the same few).
    known: Vec<(UnitSet, &'static [u8], Preference)>,
    pref: Vec<u8>,
    /// The units holding a value, by when the value ends (bucket `e / 16` for end `e`).
    ending: Vec<UnitSet>,
}

impl Memory {
    /// Takes back the memory of an allocation that is no longer needed.
    pub fn recycle(&mut self, alloc: Allocation) {
        self.units = alloc.units;
    }
}

/// The units a mask allows, in preference order: `pref[start..end]`; when that order is
/// ascending (vector registers, in every convention), the lowest free unit of `set` is the
/// preferred one, found without walking the list.
#[derive(Clone, Copy)]
struct Preference {
    start: u32,
    end: u32,
    set: UnitSet,
    ascending: bool,
}

/// Allocates every virtual register of `input` to a unit, or explains why they do not fit.
pub fn allocate(input: &AllocInput, mem: &mut Memory) -> Result<Allocation> {
    mem.live.analyze(input)?;
    let live = &mem.live;
    let nv = input.num_vregs();
    let allowed = |v: usize| input.vreg_units(v);
    let (hint_unit, partner) = (&mut mem.hint, &mut mem.partner);
    refill(hint_unit, nv, None);
    refill(partner, nv, None);
    for (_, mv) in &input.moves {
        match (mv.dst, mv.src) {
            (Var::V(d), Var::P(u)) => hint_unit[d.index()] = Some(u),
            (Var::P(u), Var::V(s)) => hint_unit[s.index()] = Some(u),
            (Var::V(d), Var::V(s)) => {
                partner[d.index()] = Some(s);
                partner[s.index()] = Some(d);
            }
            _ => {}
        }
    }

    // Values by first live point (those never named have no range and no register).
    let order = &mut mem.order;
    order.clear();
    order.extend(live.vregs().map(|(v, (s, _))| (s, VReg(v as u32))));
    order.sort_unstable();

    // Preference is the position in `input.order`; units it does not name are never chosen.
    // Single values walk the order itself; groups compare bases by rank.
    let mut rank = [u8::MAX; UNITS];
    if !input.groups.is_empty() {
        for (i, &u) in input.order.iter().enumerate() {
            if let Some(r) = rank.get_mut(u as usize) {
                *r = i.min(254) as u8;
            }
        }
    }
    let mut units = std::mem::take(&mut mem.units);
    refill(&mut units, nv, None);
    let mut busy_until = [0u32; UNITS];
    // Units holding a value, each also in the bucket of its value's end, so that those whose
    // value has ended are found without walking the long-lived ones: buckets before `swept`
    // are empty.
    let mut busy = UnitSet::EMPTY;
    let ending = &mut mem.ending;
    refill(ending, order.last().map_or(0, |&(s, _)| s as usize / 16 + 1), UnitSet::EMPTY);
    let mut swept = 0;
    let mut cursor = [0u32; UNITS];
    let (pref_of_mask, known, pref) = (&mut mem.pref_of_mask, &mut mem.known, &mut mem.pref);
    refill(pref_of_mask, input.masks.len(), None);
    if known.len() > 64 {
        known.clear();
        pref.clear();
    }
    let group_of = &mut mem.group_of;
    refill(group_of, if input.groups.is_empty() { 0 } else { nv }, None);
    for (g, group) in input.groups.iter().enumerate() {
        for k in 0..group.count as usize {
            if let Some(slot) = group_of.get_mut(group.first.index() + k) {
                *slot = Some(g as u32);
            }
        }
    }
    for &(s, v) in order.iter() {
        if units[v.index()].is_some() {
            continue; // placed with its group
        }
        let e = live.vreg(v.index()).map_or(s + 1, |r| r.1);
        let ok = allowed(v.index());
        // The units whose value has ended are free again: those of the buckets up to now whose
        // end has passed.
        for bucket in ending.iter_mut().take(s as usize / 16 + 1).skip(swept) {
            let named = *bucket;
            bucket.retain_within(UnitSet::ALL, |u| busy_until[u as usize] > s);
            busy &= !(named & !*bucket);
        }
        swept = s as usize / 16;
        if let Some(g) = group_of.get(v.index()).copied().flatten() {
            // A group takes consecutive units, all at once, reserved from now to each member's
            // end.
            let group = input.groups[g as usize];
            let first = group.first.index();
            let members: Vec<usize> = (first..first + group.count as usize).collect();
            // (The first unit of a class is its register 0.)
            let class_first =
                input.classes.get(input.vreg_class(first).0 as usize).map_or(0, |c| c.first_unit as usize);
            let fits = |base: usize| {
                members.iter().enumerate().all(|(k, &m)| {
                    let u = base + k;
                    u < UNITS
                        && allowed(m).contains(u as u8)
                        && !busy.contains(u as u8)
                        && live
                            .vreg(m)
                            .is_none_or(|(ms, me)| live.unit(u as u8).iter().all(|&(a, b)| b <= ms.min(s) || a >= me))
                })
            };
            let aligned = |b: usize| b.wrapping_sub(class_first).is_multiple_of(group.align as usize);
            let base = (0..UNITS).filter(|&b| rank[b] != u8::MAX && aligned(b) && fits(b)).min_by_key(|&b| rank[b]);
            let Some(base) = base else { return Err(out_of_registers(input, live, v)) };
            for (k, &m) in members.iter().enumerate() {
                let u = base + k;
                units[m] = Some(u as u8);
                busy_until[u] = live.vreg(m).map_or(s + 1, |r| r.1.max(s + 1));
                busy.insert(u as u8);
                if let Some(bucket) = ending.get_mut(busy_until[u] as usize / 16) {
                    bucket.insert(u as u8);
                }
            }
            continue;
        }
        let mut free = |u: u8| -> bool {
            let u = u as usize;
            if u >= UNITS || !ok.contains(u as u8) || busy_until[u] > s {
                return false;
            }
            let segs = live.unit(u as u8);
            let c = &mut cursor[u];
            while (*c as usize) < segs.len() && segs[*c as usize].1 <= s {
                *c += 1;
            }
            segs.get(*c as usize).is_none_or(|seg| seg.0 >= e)
        };
        let hinted = [hint_unit[v.index()], partner[v.index()].and_then(|p| units[p.index()])];
        let mut chosen = hinted.into_iter().flatten().find(|&u| free(u));
        if chosen.is_none() {
            // The most preferred free unit: the first of the value's units in preference order.
            let mask = input.vreg_allowed[v.index()] as usize;
            let k = *pref_of_mask[mask].get_or_insert_with(|| {
                let order = input.order;
                if let Some(k) = known.iter().position(|k| k.0 == ok && std::ptr::eq(k.1, order)) {
                    return k as u32;
                }
                let start = pref.len() as u32;
                pref.extend(input.order.iter().filter(|&&u| ok.contains(u)));
                let list = &pref[start as usize..];
                let p = Preference {
                    start,
                    end: pref.len() as u32,
                    set: list.iter().copied().collect(),
                    ascending: list.windows(2).all(|w| w[0] < w[1]),
                };
                known.push((ok, order, p));
                known.len() as u32 - 1
            });
            let p = &known[k as usize].2;
            chosen = if p.ascending {
                (p.set & !busy).iter().find(|&u| free(u))
            } else {
                pref[p.start as usize..p.end as usize].iter().copied().find(|&u| !busy.contains(u) && free(u))
            };
        }
        match chosen {
            Some(u) => {
                units[v.index()] = Some(u);
                busy_until[u as usize] = e;
                busy.insert(u);
                // (A value ending after the last start never needs its unit back.)
                if let Some(bucket) = ending.get_mut(e as usize / 16) {
                    bucket.insert(u);
                }
            }
            None => return Err(out_of_registers(input, live, v)),
        }
    }
    let used = units.iter().flatten().copied().collect();
    Ok(Allocation { units, used })
}

fn loc_str(l: crate::Src) -> String {
    l.to_string()
}

/// The error for a value that found no register: where the pressure in its class is highest,
/// and every value live there with the place it was created.
fn out_of_registers(input: &AllocInput, live: &Liveness, failed: VReg) -> Error {
    let class = input.vreg_class(failed.index());
    let info = input.classes.get(class.0 as usize);
    let class_name = info.map_or("register", |c| c.name);
    let class_mask = input.class_units.get(class.0 as usize).copied().unwrap_or_default();
    let available = class_mask.len() as u32;

    // Sweep the class's live ranges (values and fixed registers) for the busiest point.
    let mut events: Vec<(u32, i32)> = Vec::new();
    for (v, (s, e)) in live.vregs() {
        if input.vreg_class(v) == class {
            events.push((s, 1));
            events.push((e, -1));
        }
    }
    for u in class_mask.iter() {
        for &(s, e) in live.unit(u) {
            events.push((s, 1));
            events.push((e, -1));
        }
    }
    events.sort_unstable();
    let (mut cur, mut best, mut at) = (0, 0, live.vreg(failed.index()).map_or(0, |r| r.0));
    for (p, d) in events {
        cur += d;
        if cur > best {
            best = cur;
            at = p;
        }
    }
    let inst = ((at / 2) as usize).min(input.num_insts().saturating_sub(1));
    // Live values by where they were created, in order of first creation.
    let mut places: Vec<(String, usize)> = Vec::new();
    for (v, (s, e)) in live.vregs() {
        if input.vreg_class(v) == class && s <= at && at < e {
            let place = loc_str(input.vreg_loc(v));
            match places.iter_mut().find(|(p, _)| *p == place) {
                Some((_, n)) => *n += 1,
                None => places.push((place, 1)),
            }
        }
    }
    let mut values: Vec<String> = places
        .into_iter()
        .map(
            |(p, n)| {
                if n == 1 { format!("  - value created at {p}") } else { format!("  - {n} values created at {p}") }
            },
        )
        .collect();
    let fixed: Vec<String> = class_mask
        .iter()
        .filter(|&u| live.unit(u).iter().any(|&(s, e)| s <= at && at < e))
        .map(|u| format!("unit {u}"))
        .collect();
    if !fixed.is_empty() {
        values.push(format!(
            "  - and {} physical register(s) the code names or an instruction uses implicitly",
            fixed.len()
        ));
    }
    let constrained = input.vreg_units(failed.index()) != class_mask;
    let msg = if best as u32 > available || !constrained {
        format!(
            "out of {class_name} registers: {best} values are live here and the target has {available}; \
             peach never spills, so keep fewer values live (fewer accumulators, shorter ranges) or use a \
             target with more registers. Live values:\n{}",
            values.join("\n")
        )
    } else {
        format!(
            "no {class_name} register is free for the value created at {}: it may only use some registers \
             (a fixed-register operand, or an instruction without an EVEX form) and those are taken. \
             Live values:\n{}",
            loc_str(input.vreg_loc(failed.index())),
            values.join("\n")
        )
    };
    Error::at(ErrorKind::OutOfRegisters, msg, input.inst_loc(inst))
}
