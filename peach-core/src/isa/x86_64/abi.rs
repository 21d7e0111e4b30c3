//! System V AMD64 and Microsoft x64, as register-level data.

use iced_x86::Register as R;

use super::regs::{GP_UNITS as G, VEC_UNITS as V};
use crate::abi::{Abi, CallConv};
use crate::error::Result;
use crate::ir::UnitSet;

const fn ids<const N: usize>(regs: [R; N]) -> [u16; N] {
    let mut out = [0u16; N];
    let mut i = 0;
    while i < N {
        out[i] = regs[i] as u16;
        i += 1;
    }
    out
}

const SYSV_INT: [u16; 6] = ids([R::RDI, R::RSI, R::RDX, R::RCX, R::R8, R::R9]);
const SYSV_FLOAT: [u16; 8] = ids([R::XMM0, R::XMM1, R::XMM2, R::XMM3, R::XMM4, R::XMM5, R::XMM6, R::XMM7]);
const WIN_INT: [u16; 4] = ids([R::RCX, R::RDX, R::R8, R::R9]);
const WIN_FLOAT: [u16; 4] = ids([R::XMM0, R::XMM1, R::XMM2, R::XMM3]);

// GP units: rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7, r8-r15 8-15.
const SYSV_SAVED: UnitSet = UnitSet::of(&[G + 3, G + 5, G + 12, G + 13, G + 14, G + 15]);
const WIN_SAVED: UnitSet =
    UnitSet::of(&[G + 3, G + 5, G + 6, G + 7, G + 12, G + 13, G + 14, G + 15]).union(UnitSet::range(V + 6, 10));

const MASKS: [u8; 7] = [49, 50, 51, 52, 53, 54, 55];

const fn order<const N: usize>(gp: [u8; 15], vec: [u8; 32]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < 15 {
        out[i] = gp[i];
        i += 1;
    }
    while i < 47 {
        out[i] = vec[i - 15];
        i += 1;
    }
    while i < N {
        out[i] = MASKS[i - 47];
        i += 1;
    }
    out
}

const fn seq<const N: usize>(first: u8) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = first + i as u8;
        i += 1;
    }
    out
}

const fn cat<const A: usize, const B: usize, const C: usize, const N: usize>(
    a: [u8; A],
    b: [u8; B],
    c: [u8; C],
) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < A {
            a[i]
        } else if i < A + B {
            b[i - A]
        } else {
            c[i - A - B]
        };
        i += 1;
    }
    out
}

// Caller-saved first (argument registers last among them, so that they stay free for the
// parameters), then callee-saved.
const SYSV_ORDER: [u8; 54] = order(
    [G, G + 11, G + 10, G + 9, G + 8, G + 1, G + 2, G + 6, G + 7, G + 3, G + 5, G + 12, G + 13, G + 14, G + 15],
    seq::<32>(V),
);
const WIN_ORDER: [u8; 54] = order(
    [G, G + 11, G + 10, G + 9, G + 8, G + 2, G + 1, G + 3, G + 5, G + 6, G + 7, G + 12, G + 13, G + 14, G + 15],
    cat::<6, 16, 10, 32>(seq::<6>(V), seq::<16>(V + 16), seq::<10>(V + 6)),
);

pub(crate) fn call_conv(abi: Abi) -> Result<CallConv> {
    Ok(match abi {
        Abi::SysV => CallConv {
            abi,
            int_params: &SYSV_INT,
            float_params: &SYSV_FLOAT,
            positional: false,
            stack_args_offset: 8,
            stack_slot: 8,
            home_area: 0,
            stack_packed: false,
            int_ret: R::RAX as u16,
            float_ret: R::XMM0 as u16,
            callee_saved: SYSV_SAVED,
            alloc_order: &SYSV_ORDER,
        },
        Abi::Win64 => CallConv {
            abi,
            int_params: &WIN_INT,
            float_params: &WIN_FLOAT,
            positional: true,
            stack_args_offset: 8 + 32,
            stack_slot: 8,
            home_area: 32,
            stack_packed: false,
            int_ret: R::RAX as u16,
            float_ret: R::XMM0 as u16,
            callee_saved: WIN_SAVED,
            alloc_order: &WIN_ORDER,
        },
        other => {
            return Err(crate::Error::new(
                crate::ErrorKind::UnknownTarget,
                format!("{other:?} is not an x86-64 calling convention (use SysV or Win64)"),
            ));
        }
    })
}
