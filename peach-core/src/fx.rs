//! A fast hasher for the compiler's internal tables, whose keys are the compiler's own (not an
//! attacker's), so that a lookup costs a few multiplications instead of SipHash.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FxHasher`].
pub(crate) type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Rotate, xor, multiply: the rustc hasher's recipe.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(v as u64);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A memo key of four words, hashed by folding them into one (the ISA decides what they hold).
#[derive(Clone, Copy, Eq)]
pub(crate) struct MemoKey(pub [u64; 4]);

impl PartialEq for MemoKey {
    /// Branch-free, without the call to `bcmp` the derived comparison makes.
    fn eq(&self, other: &Self) -> bool {
        self.0.iter().zip(&other.0).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl std::hash::Hash for MemoKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // One multiplication: the words are rotated apart and xored first.
        let [a, b, c, d] = self.0;
        let mixed = a ^ b.rotate_left(13) ^ c.rotate_left(29) ^ d.rotate_left(41);
        state.write_u64(mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
}
