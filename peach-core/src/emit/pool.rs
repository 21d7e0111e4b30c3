//! The constant pool after the code: one slot per distinct byte string among the constants the
//! code reads, each aligned to its size, largest first so that no padding is needed between
//! slots. Both backends lay their pools out with it.

use crate::ir::Constant;

/// A laid-out constant pool.
#[derive(Clone, Debug)]
pub struct ConstPool {
    /// `(offset, bytes)` per slot.
    slots: Vec<(u32, Constant)>,
    /// Slot of each constant index.
    slot_of: Vec<u32>,
    end: u32,
}

impl ConstPool {
    /// Lays out the constants of `consts` marked in `used` after `code_len` bytes of code.
    ///
    /// ```
    /// use peach_core::{emit::ConstPool, ir::Constant};
    /// let consts = [Constant::f64(1.0), Constant::f32x4([2.0; 4]), Constant::u64(1.0f64.to_bits())];
    /// let pool = ConstPool::layout(&consts, &[true, true, true], 20);
    /// assert_eq!(pool.offset_of(1), Some(32)); // 16 bytes, aligned to 16
    /// assert_eq!(pool.offset_of(0), Some(48)); // 1.0 as f64 ...
    /// assert_eq!(pool.offset_of(2), Some(48)); // ... has the same bytes as this u64: one slot
    /// assert_eq!(pool.end(), 56);
    /// ```
    pub fn layout(consts: &[Constant], used: &[bool], code_len: u32) -> ConstPool {
        let mut distinct: Vec<Constant> = consts.iter().zip(used).filter(|(_, u)| **u).map(|(c, _)| *c).collect();
        distinct.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.bytes().cmp(b.bytes())));
        distinct.dedup();
        let align = distinct.first().map_or(1, |c| c.len() as u32);
        let mut at = code_len.next_multiple_of(align);
        let mut slots = Vec::with_capacity(distinct.len());
        for c in &distinct {
            slots.push((at, *c));
            at += c.len() as u32;
        }
        let slot_of = consts
            .iter()
            .map(|c| {
                distinct
                    .binary_search_by(|d| c.len().cmp(&d.len()).then_with(|| d.bytes().cmp(c.bytes())))
                    .map_or(0, |i| i as u32)
            })
            .collect();
        ConstPool { slots, slot_of, end: at }
    }

    /// The offset of constant `index` from the start of the code (`None` for a constant the
    /// pool was not made with).
    pub fn offset_of(&self, index: u32) -> Option<u32> {
        let slot = self.slot_of.get(index as usize)?;
        self.slots.get(*slot as usize).map(|s| s.0)
    }

    /// The end of the pool (the size of code and pool together).
    pub fn end(&self) -> u32 {
        self.end
    }

    /// The alignment the pool needs: its widest constant's size (constants are aligned to their
    /// size), 1 when empty.
    pub fn alignment(&self) -> u32 {
        self.slots.first().map_or(1, |(_, c)| c.len() as u32)
    }

    /// The slots: offset and bytes.
    pub fn slots(&self) -> &[(u32, Constant)] {
        &self.slots
    }

    /// Pads `bytes` with `fill` up to each slot and writes it.
    pub fn write(&self, bytes: &mut Vec<u8>, fill: u8) {
        for (at, c) in &self.slots {
            bytes.resize(*at as usize, fill);
            bytes.extend_from_slice(c.bytes());
        }
    }

    /// The listing lines of the pool (`.byte ...`).
    pub fn lines(&self) -> Vec<super::ListingLine> {
        self.slots
            .iter()
            .map(|(at, c)| {
                let data: Vec<String> = c.bytes().iter().map(|b| format!("0x{b:02x}")).collect();
                let text = format!(".byte {}", data.join(", "));
                super::ListingLine {
                    offset: *at as usize,
                    len: c.len(),
                    labels: Vec::new(),
                    intel: text.clone(),
                    gas: text,
                }
            })
            .collect()
    }
}
