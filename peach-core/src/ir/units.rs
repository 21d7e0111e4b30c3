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
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UnitSet(u128);

impl UnitSet {
    /// How many units a set can hold.
    pub const CAPACITY: usize = 128;
    /// No unit.
    pub const EMPTY: UnitSet = UnitSet(0);
    /// Every unit.
    pub const ALL: UnitSet = UnitSet(u128::MAX);

    /// The units in `list` (each below [`UnitSet::CAPACITY`]).
    pub const fn of(list: &[u8]) -> UnitSet {
        let mut bits = 0u128;
        let mut i = 0;
        while i < list.len() {
            bits |= 1 << list[i];
            i += 1;
        }
        UnitSet(bits)
    }

    /// Units `first .. first + count`.
    pub const fn range(first: u8, count: u8) -> UnitSet {
        let ones = if count as usize >= Self::CAPACITY { u128::MAX } else { (1u128 << count) - 1 };
        UnitSet(ones << first)
    }

    /// The units of both.
    pub const fn union(self, other: UnitSet) -> UnitSet {
        UnitSet(self.0 | other.0)
    }

    /// The units of `self` that are not in `other`.
    pub const fn without(self, other: UnitSet) -> UnitSet {
        UnitSet(self.0 & !other.0)
    }

    /// Whether `unit` is in the set (never for units beyond the capacity).
    pub const fn contains(self, unit: u8) -> bool {
        (unit as usize) < Self::CAPACITY && self.0 >> unit & 1 != 0
    }

    /// Adds `unit` (nothing beyond the capacity).
    pub fn insert(&mut self, unit: u8) {
        if (unit as usize) < Self::CAPACITY {
            self.0 |= 1 << unit;
        }
    }

    /// Adds `unit` if `present`, removes it otherwise (without a branch).
    pub fn set(&mut self, unit: u8, present: bool) {
        if (unit as usize) < Self::CAPACITY {
            self.0 = self.0 & !(1 << unit) | (present as u128) << unit;
        }
    }

    /// Removes `unit`.
    pub fn remove(&mut self, unit: u8) {
        if (unit as usize) < Self::CAPACITY {
            self.0 &= !(1 << unit);
        }
    }

    /// Whether the set has no unit.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many units it holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The lowest unit.
    pub const fn first(self) -> Option<u8> {
        if self.0 == 0 { None } else { Some(self.0.trailing_zeros() as u8) }
    }

    /// The units, lowest first.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let unit = UnitSet(bits).first()?;
            bits &= bits - 1;
            Some(unit)
        })
    }
}

impl BitAnd for UnitSet {
    type Output = UnitSet;
    fn bitand(self, other: UnitSet) -> UnitSet {
        UnitSet(self.0 & other.0)
    }
}

impl BitOr for UnitSet {
    type Output = UnitSet;
    fn bitor(self, other: UnitSet) -> UnitSet {
        UnitSet(self.0 | other.0)
    }
}

impl Not for UnitSet {
    type Output = UnitSet;
    fn not(self) -> UnitSet {
        UnitSet(!self.0)
    }
}

impl BitAndAssign for UnitSet {
    fn bitand_assign(&mut self, other: UnitSet) {
        self.0 &= other.0;
    }
}

impl BitOrAssign for UnitSet {
    fn bitor_assign(&mut self, other: UnitSet) {
        self.0 |= other.0;
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
