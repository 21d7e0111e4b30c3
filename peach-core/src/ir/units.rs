//! Sets of register units: the allocator's currency. A unit is one independently allocatable
//! physical register, numbered globally by the ISA (`al`, `eax` and `rax` are one unit).

use std::fmt;
use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not};

/// A set of register units, `0..UnitSet::CAPACITY`: room for x86-64 with APX (32 general, 32
/// vector and 8 mask registers) and AArch64 with SVE (31 general, 32 vector and 16 predicate
/// registers).
///
/// ```
/// use peach_core::ir::UnitSet;
/// let gp = UnitSet::range(0, 16).without(UnitSet::of(&[4]));
/// assert!(gp.contains(3) && !gp.contains(4) && !gp.contains(16));
/// assert_eq!(gp.len(), 15);
/// assert_eq!(gp.first(), Some(0));
/// assert_eq!((gp & UnitSet::of(&[4, 5, 100])).iter().collect::<Vec<_>>(), [5]);
/// ```
#[derive(Clone, Copy, Eq, Default)]
pub struct UnitSet([u64; 2]);

impl std::hash::Hash for UnitSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for UnitSet {
    /// Both words at once, without a branch (the derived comparison tests one, then the other).
    #[inline]
    fn eq(&self, other: &UnitSet) -> bool {
        (self.0[0] ^ other.0[0]) | (self.0[1] ^ other.0[1]) == 0
    }
}

// Two 64-bit words rather than a u128: a unit's bit is one shift within one word, and the
// allocator's loops walk one word at a time (x86's variable u128 shifts and bit scans branch).
impl UnitSet {
    /// How many units a set can hold.
    pub const CAPACITY: usize = 128;
    /// No unit.
    pub const EMPTY: UnitSet = UnitSet([0; 2]);
    /// Every unit.
    pub const ALL: UnitSet = UnitSet([u64::MAX; 2]);

    /// The units in `list` (each below [`UnitSet::CAPACITY`]).
    pub const fn of(list: &[u8]) -> UnitSet {
        let mut words = [0u64; 2];
        let mut i = 0;
        while i < list.len() {
            words[(list[i] >> 6) as usize] |= 1 << (list[i] & 63);
            i += 1;
        }
        UnitSet(words)
    }

    /// Units `first .. first + count`.
    pub const fn range(first: u8, count: u8) -> UnitSet {
        let ones = if count as usize >= Self::CAPACITY { u128::MAX } else { (1u128 << count) - 1 };
        let bits = ones << first;
        UnitSet([bits as u64, (bits >> 64) as u64])
    }

    /// The units of both.
    pub const fn union(self, other: UnitSet) -> UnitSet {
        UnitSet([self.0[0] | other.0[0], self.0[1] | other.0[1]])
    }

    /// The units of `self` that are not in `other`.
    pub const fn without(self, other: UnitSet) -> UnitSet {
        UnitSet([self.0[0] & !other.0[0], self.0[1] & !other.0[1]])
    }

    /// Whether `unit` is in the set (never for units beyond the capacity).
    #[inline]
    pub const fn contains(self, unit: u8) -> bool {
        (unit as usize) < Self::CAPACITY && self.0[(unit >> 6) as usize] >> (unit & 63) & 1 != 0
    }

    /// Adds `unit` (nothing beyond the capacity).
    #[inline]
    pub fn insert(&mut self, unit: u8) {
        if let Some(w) = self.0.get_mut((unit >> 6) as usize) {
            *w |= 1 << (unit & 63);
        }
    }

    /// Removes `unit`.
    #[inline]
    pub fn remove(&mut self, unit: u8) {
        if let Some(w) = self.0.get_mut((unit >> 6) as usize) {
            *w &= !(1 << (unit & 63));
        }
    }

    /// Removes the units of `within` for which `keep` says no: a word at a time, without a
    /// branch on the answer (the allocator asks, for every value, which registers came free).
    #[inline]
    pub fn retain_within(&mut self, within: UnitSet, mut keep: impl FnMut(u8) -> bool) {
        for k in 0..2 {
            let mut w = self.0[k] & within.0[k];
            while w != 0 {
                let bit = w.trailing_zeros();
                w &= w - 1;
                let drop = u64::from(!keep((64 * k as u32 + bit) as u8));
                self.0[k] &= !(drop << bit);
            }
        }
    }

    /// Calls `f` with each unit, lowest first (a tight loop per word, for hot paths).
    #[inline]
    pub fn for_each(self, mut f: impl FnMut(u8)) {
        for k in 0..2 {
            let mut w = self.0[k];
            while w != 0 {
                f((64 * k as u32 + w.trailing_zeros()) as u8);
                w &= w - 1;
            }
        }
    }

    /// Whether the set has no unit.
    pub const fn is_empty(self) -> bool {
        self.0[0] == 0 && self.0[1] == 0
    }

    /// How many units it holds.
    pub const fn len(self) -> usize {
        (self.0[0].count_ones() + self.0[1].count_ones()) as usize
    }

    /// How many units of the set are below `unit`.
    pub const fn rank(self, unit: u8) -> u32 {
        let below = UnitSet::range(0, unit);
        (self.0[0] & below.0[0]).count_ones() + (self.0[1] & below.0[1]).count_ones()
    }

    /// The lowest unit.
    pub const fn first(self) -> Option<u8> {
        if self.0[0] != 0 {
            Some(self.0[0].trailing_zeros() as u8)
        } else if self.0[1] != 0 {
            Some(64 + self.0[1].trailing_zeros() as u8)
        } else {
            None
        }
    }

    /// The units, lowest first.
    #[inline]
    pub fn iter(self) -> Units {
        Units { words: self.0, word: 0 }
    }
}

/// The units of a [`UnitSet`], lowest first.
#[derive(Clone, Debug)]
pub struct Units {
    words: [u64; 2],
    word: usize,
}

impl Iterator for Units {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        while self.word < 2 {
            let w = &mut self.words[self.word];
            if *w != 0 {
                let bit = w.trailing_zeros() as u8;
                *w &= *w - 1;
                return Some(64 * self.word as u8 + bit);
            }
            self.word += 1;
        }
        None
    }
}

impl BitAnd for UnitSet {
    type Output = UnitSet;
    #[inline]
    fn bitand(self, other: UnitSet) -> UnitSet {
        UnitSet([self.0[0] & other.0[0], self.0[1] & other.0[1]])
    }
}

impl BitOr for UnitSet {
    type Output = UnitSet;
    #[inline]
    fn bitor(self, other: UnitSet) -> UnitSet {
        self.union(other)
    }
}

impl Not for UnitSet {
    type Output = UnitSet;
    #[inline]
    fn not(self) -> UnitSet {
        UnitSet([!self.0[0], !self.0[1]])
    }
}

impl BitAndAssign for UnitSet {
    #[inline]
    fn bitand_assign(&mut self, other: UnitSet) {
        *self = *self & other;
    }
}

impl BitOrAssign for UnitSet {
    #[inline]
    fn bitor_assign(&mut self, other: UnitSet) {
        *self = *self | other;
    }
}

impl FromIterator<u8> for UnitSet {
    fn from_iter<T: IntoIterator<Item = u8>>(units: T) -> UnitSet {
        let mut set = UnitSet::EMPTY;
        for u in units {
            set.insert(u);
        }
        set
    }
}

impl fmt::Debug for UnitSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
