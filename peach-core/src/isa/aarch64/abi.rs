//! AAPCS64 and Apple arm64, as register-level data.

use super::regs::{GP, GP_UNITS as G, VEC, VEC_UNITS as V, VIEW_D, VIEW_X, phys};
use crate::abi::{Abi, CallConv};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::UnitSet;

const fn ids<const N: usize>(class: crate::ir::RegClass, view: u8) -> [u16; N] {
    let mut out = [0u16; N];
    let mut i = 0;
    while i < N {
        out[i] = match phys(class, view, i as u8).phys_id() {
            Some(id) => id,
            None => 0,
        };
        i += 1;
    }
    out
}

const INT: [u16; 8] = ids(GP, VIEW_X);
const FLOAT: [u16; 8] = ids(VEC, VIEW_D);

/// x19-x29, x30 (the return address: `ret` goes where it points, so code that writes it gets
/// it back before returning), and the low halves of v8-v15 (saved as d8-d15). The allocator
/// never gives out x29 and x30: only code that names them writes them.
const SAVED: UnitSet = UnitSet::range(G + 19, 12).union(UnitSet::range(V + 8, 8));

/// Units never allocated: x18 (the platform register on Apple and Windows), x29 (frame
/// pointer), x30 (link register).
pub(crate) const GP_ALLOC: UnitSet = UnitSet::range(G, 31).without(UnitSet::of(&[G + 18, G + 29, G + 30]));
pub(crate) const VEC_ALL: UnitSet = UnitSet::range(V, 32);
/// v0-v15: the 16-bit element of a multiply by element has a 4-bit register field.
pub(crate) const VEC_LOW: UnitSet = UnitSet::range(V, 16);

const fn order() -> [u8; 60] {
    // Caller-saved temporaries, then argument registers, then callee-saved (a prologue is then
    // needed only under pressure).
    let gp: [u8; 28] =
        [9, 10, 11, 12, 13, 14, 15, 16, 17, 8, 7, 6, 5, 4, 3, 2, 1, 0, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28];
    let mut out = [0u8; 60];
    let mut i = 0;
    while i < 28 {
        out[i] = G + gp[i];
        i += 1;
    }
    // v16-v31, v0-v7, then v8-v15.
    let mut k = 0;
    while k < 32 {
        let n = if k < 16 { 16 + k } else { k - 16 };
        out[28 + k as usize] = V + n;
        k += 1;
    }
    out
}

const ORDER: [u8; 60] = order();

pub(crate) fn call_conv(abi: Abi) -> Result<CallConv> {
    let packed = match abi {
        Abi::Aapcs64 => false,
        Abi::AppleArm64 => true,
        other => {
            return Err(Error::new(
                ErrorKind::UnknownTarget,
                format!("{other:?} is not an AArch64 calling convention (use Aapcs64 or AppleArm64)"),
            ));
        }
    };
    Ok(CallConv {
        abi,
        int_params: &INT,
        float_params: &FLOAT,
        positional: false,
        stack_args_offset: 0,
        stack_slot: 8,
        home_area: 0,
        stack_packed: packed,
        int_ret: INT[0],
        float_ret: FLOAT[0],
        callee_saved: SAVED,
        alloc_order: &ORDER,
    })
}
