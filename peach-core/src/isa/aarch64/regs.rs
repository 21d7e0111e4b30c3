//! AArch64 registers: physical ones as `Reg` constants (module [`reg`]), virtual ones made by
//! [`A64Builder`], and views ([`A64Reg`]): `w`/`x` for general-purpose values; scalar `b h s d q`
//! and arrangements `8b 16b 4h 8h 2s 4s 1d 2d` for vector values.
//!
//! A physical register id is `class << 12 | view << 8 | number`. Units (what the allocator hands
//! out): 0-30 general-purpose (`x0`..`x30`), 32-63 vector (`v0`..`v31`).

use super::encode::Arrangement;
use crate::Src;
use crate::ir::{Function, Lane, Reg, RegClass, RegList};

/// General-purpose class.
pub const GP: RegClass = RegClass(0);
/// Vector (FP/SIMD) class.
pub const VEC: RegClass = RegClass(1);

/// General-purpose views.
pub(crate) const VIEW_W: u8 = 0;
pub(crate) const VIEW_X: u8 = 1;
/// `sp` (physical only).
pub(crate) const VIEW_SP: u8 = 2;
/// `wsp`, its low 32 bits (physical only).
pub(crate) const VIEW_WSP: u8 = 3;
/// Vector views: scalars, then arrangements in [`Arrangement`] order.
pub(crate) const VIEW_B: u8 = 0;
pub(crate) const VIEW_H: u8 = 1;
pub(crate) const VIEW_S: u8 = 2;
pub(crate) const VIEW_D: u8 = 3;
pub(crate) const VIEW_Q: u8 = 4;
pub(crate) const VIEW_ARRANGED: u8 = 5;
/// The groups a dot product by element reads as one lane: four bytes (`v1.4b[2]`) and two
/// halfwords (`v1.2h[2]`).
pub(crate) const VIEW_B4: u8 = VIEW_ARRANGED + 8;
pub(crate) const VIEW_H2: u8 = VIEW_ARRANGED + 9;
/// The whole register as one 128-bit element (`v0.1q`, the product of `pmull` on doublewords).
pub(crate) const VIEW_Q1: u8 = VIEW_ARRANGED + 10;

pub(crate) const GP_UNITS: u8 = 0;
pub(crate) const VEC_UNITS: u8 = 32;

/// The base of the incoming stack-argument area, resolved against the frame at emission.
pub(crate) const ARG_AREA: Reg = Reg::phys(0xFFFF);

/// The physical register `number` of `class` seen through `view`.
pub(crate) const fn phys(class: RegClass, view: u8, number: u8) -> Reg {
    Reg::phys((class.0 as u16) << 12 | (view as u16) << 8 | number as u16)
}

/// `(class, view, number)` of a physical register id.
pub(crate) fn parts(r: Reg) -> Option<(RegClass, u8, u8)> {
    let id = r.phys_id()?;
    let class = RegClass((id >> 12) as u8);
    let (view, number) = ((id >> 8 & 15) as u8, (id & 255) as u8);
    let valid = match class {
        GP => number < 32 && view <= VIEW_WSP && (view < VIEW_SP || number == 31),
        VEC => number < 32 && view <= VIEW_Q1,
        _ => false,
    };
    valid.then_some((class, view, number))
}

/// The class and view of any register, virtual or physical.
pub(crate) fn class_view(r: Reg) -> Option<(RegClass, u8)> {
    if r.is_virtual() { Some((r.class(), r.view())) } else { parts(r).map(|(c, v, _)| (c, v)) }
}

/// The unit of a physical register (`sp` and the zero registers have none).
pub(crate) fn unit_of(r: Reg) -> Option<u8> {
    match parts(r)? {
        (GP, VIEW_SP | VIEW_WSP, _) | (GP, _, 31) => None,
        (GP, _, n) => Some(GP_UNITS + n),
        (_, _, n) => Some(VEC_UNITS + n),
    }
}

/// The name of a view as assembly writes it after a vector register (`4s`), or its scalar letter.
pub(crate) fn arrangement(view: u8) -> Option<Arrangement> {
    view.checked_sub(VIEW_ARRANGED).and_then(|i| Arrangement::ALL.get(i as usize).copied())
}

/// The element size in bytes a vector view implies (`s`, `2s` and `4s` all give 4).
pub(crate) fn elem_size(view: u8) -> Option<u8> {
    match view {
        VIEW_B..=VIEW_D => Some(1 << view),
        VIEW_B4 | VIEW_H2 => Some(4),
        _ => arrangement(view).map(|a| match a {
            Arrangement::B8 | Arrangement::B16 => 1,
            Arrangement::H4 | Arrangement::H8 => 2,
            Arrangement::S2 | Arrangement::S4 => 4,
            Arrangement::D1 | Arrangement::D2 => 8,
        }),
    }
}

macro_rules! consts {
    ($($(#[$doc:meta])* $name:ident = $class:ident, $view:ident, $n:expr;)*) => {
        $($(#[$doc])* pub const $name: Reg = phys($class, $view, $n);)*
    };
}

/// Physical AArch64 registers.
///
/// ```
/// use peach_core::isa::aarch64::{reg, A64Reg};
/// assert_eq!(reg::X3.w(), reg::W3);
/// assert_eq!(reg::V7.d(), reg::D7);
/// ```
pub mod reg {
    use super::*;

    macro_rules! numbered {
        ($class:ident, $view:ident, $($name:ident = $n:expr),*) => {
            $(#[doc = concat!("`", stringify!($name), "`")] pub const $name: Reg = phys($class, $view, $n);)*
        };
    }
    numbered!(
        GP,
        VIEW_X,
        X0 = 0,
        X1 = 1,
        X2 = 2,
        X3 = 3,
        X4 = 4,
        X5 = 5,
        X6 = 6,
        X7 = 7,
        X8 = 8,
        X9 = 9,
        X10 = 10,
        X11 = 11,
        X12 = 12,
        X13 = 13,
        X14 = 14,
        X15 = 15,
        X16 = 16,
        X17 = 17,
        X18 = 18,
        X19 = 19,
        X20 = 20,
        X21 = 21,
        X22 = 22,
        X23 = 23,
        X24 = 24,
        X25 = 25,
        X26 = 26,
        X27 = 27,
        X28 = 28,
        X29 = 29,
        X30 = 30,
        XZR = 31
    );
    numbered!(
        GP,
        VIEW_W,
        W0 = 0,
        W1 = 1,
        W2 = 2,
        W3 = 3,
        W4 = 4,
        W5 = 5,
        W6 = 6,
        W7 = 7,
        W8 = 8,
        W9 = 9,
        W10 = 10,
        W11 = 11,
        W12 = 12,
        W13 = 13,
        W14 = 14,
        W15 = 15,
        W16 = 16,
        W17 = 17,
        W18 = 18,
        W19 = 19,
        W20 = 20,
        W21 = 21,
        W22 = 22,
        W23 = 23,
        W24 = 24,
        W25 = 25,
        W26 = 26,
        W27 = 27,
        W28 = 28,
        W29 = 29,
        W30 = 30,
        WZR = 31
    );
    numbered!(
        VEC,
        VIEW_Q,
        V0 = 0,
        V1 = 1,
        V2 = 2,
        V3 = 3,
        V4 = 4,
        V5 = 5,
        V6 = 6,
        V7 = 7,
        V8 = 8,
        V9 = 9,
        V10 = 10,
        V11 = 11,
        V12 = 12,
        V13 = 13,
        V14 = 14,
        V15 = 15,
        V16 = 16,
        V17 = 17,
        V18 = 18,
        V19 = 19,
        V20 = 20,
        V21 = 21,
        V22 = 22,
        V23 = 23,
        V24 = 24,
        V25 = 25,
        V26 = 26,
        V27 = 27,
        V28 = 28,
        V29 = 29,
        V30 = 30,
        V31 = 31
    );
    numbered!(
        VEC,
        VIEW_D,
        D0 = 0,
        D1 = 1,
        D2 = 2,
        D3 = 3,
        D4 = 4,
        D5 = 5,
        D6 = 6,
        D7 = 7,
        D8 = 8,
        D9 = 9,
        D10 = 10,
        D11 = 11,
        D12 = 12,
        D13 = 13,
        D14 = 14,
        D15 = 15,
        D16 = 16,
        D17 = 17,
        D18 = 18,
        D19 = 19,
        D20 = 20,
        D21 = 21,
        D22 = 22,
        D23 = 23,
        D24 = 24,
        D25 = 25,
        D26 = 26,
        D27 = 27,
        D28 = 28,
        D29 = 29,
        D30 = 30,
        D31 = 31
    );
    numbered!(
        VEC,
        VIEW_S,
        S0 = 0,
        S1 = 1,
        S2 = 2,
        S3 = 3,
        S4 = 4,
        S5 = 5,
        S6 = 6,
        S7 = 7,
        S8 = 8,
        S9 = 9,
        S10 = 10,
        S11 = 11,
        S12 = 12,
        S13 = 13,
        S14 = 14,
        S15 = 15,
        S16 = 16,
        S17 = 17,
        S18 = 18,
        S19 = 19,
        S20 = 20,
        S21 = 21,
        S22 = 22,
        S23 = 23,
        S24 = 24,
        S25 = 25,
        S26 = 26,
        S27 = 27,
        S28 = 28,
        S29 = 29,
        S30 = 30,
        S31 = 31
    );
    consts! {
        /// The stack pointer.
        SP = GP, VIEW_SP, 31;
        /// `wsp`: the stack pointer's low 32 bits, where 32-bit forms name it.
        WSP = GP, VIEW_WSP, 31;
    }
}

/// Creating AArch64 virtual registers in a [`Function`].
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::{A64Builder, A64Reg};
/// let mut f = Function::new("k", Signature::default(), Target::aarch64_neon());
/// let n = f.x();
/// let acc = f.v().s4();
/// assert!(n.is_virtual() && acc.is_virtual());
/// ```
pub trait A64Builder {
    /// A fresh general-purpose virtual register, seen as 64 bits (`x`).
    fn x(&mut self) -> Reg;
    /// A fresh vector virtual register, seen as 128 bits (`q`; pick an arrangement with
    /// [`A64Reg`]).
    fn v(&mut self) -> Reg;
    /// `n` fresh vector virtual registers given consecutive registers, for the instructions
    /// that take a list (`ld4`, `st2`, `tbl`): pass the first.
    fn v_group(&mut self, n: u8) -> Vec<Reg>;
    /// [`A64Builder::x`] attributed to a given source location.
    fn x_at(&mut self, loc: Src) -> Reg;
    /// [`A64Builder::v`] attributed to a given source location.
    fn v_at(&mut self, loc: Src) -> Reg;
}

impl A64Builder for Function {
    #[track_caller]
    fn x(&mut self) -> Reg {
        self.new_vreg(GP, VIEW_X)
    }
    #[track_caller]
    fn v(&mut self) -> Reg {
        self.new_vreg(VEC, VIEW_Q)
    }
    #[track_caller]
    fn v_group(&mut self, n: u8) -> Vec<Reg> {
        self.new_vreg_group(VEC, VIEW_Q, n)
    }
    fn x_at(&mut self, loc: Src) -> Reg {
        self.new_vreg_at(GP, VIEW_X, loc)
    }
    fn v_at(&mut self, loc: Src) -> Reg {
        self.new_vreg_at(VEC, VIEW_Q, loc)
    }
}

/// A physical register by its assembly name (`x3`, `w3`, `sp`, `xzr`, `v7`, `q7`, `d7`, `s7`,
/// `h7`, `b7`), case-insensitive.
///
/// ```
/// use peach_core::isa::aarch64::{reg, reg_by_name};
/// assert_eq!(reg_by_name("X19"), Some(reg::X19));
/// assert_eq!(reg_by_name("d8"), Some(reg::D8));
/// assert_eq!(reg_by_name("x31"), None);
/// ```
pub fn reg_by_name(name: &str) -> Option<Reg> {
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "sp" => return Some(reg::SP),
        "wsp" => return Some(reg::WSP),
        "xzr" => return Some(reg::XZR),
        "wzr" => return Some(reg::WZR),
        _ => {}
    }
    let (prefix, number) = name.split_at(1);
    let n: u8 = number.parse().ok().filter(|_| !number.starts_with('+'))?;
    let (class, view, max) = match prefix {
        "x" => (GP, VIEW_X, 30),
        "w" => (GP, VIEW_W, 30),
        "v" | "q" => (VEC, VIEW_Q, 31),
        "d" => (VEC, VIEW_D, 31),
        "s" => (VEC, VIEW_S, 31),
        "h" => (VEC, VIEW_H, 31),
        "b" => (VEC, VIEW_B, 31),
        _ => return None,
    };
    (n <= max).then(|| phys(class, view, n))
}

/// Views of AArch64 registers, for virtual and physical registers alike.
pub trait A64Reg: Sized {
    /// The 32-bit view (`w`).
    fn w(self) -> Self;
    /// The 64-bit view (`x`).
    fn x(self) -> Self;
    /// The 8-bit scalar view (`b`).
    fn b(self) -> Self;
    /// The 16-bit scalar view (`h`).
    fn h(self) -> Self;
    /// The 32-bit scalar view (`s`).
    fn s(self) -> Self;
    /// The 64-bit scalar view (`d`).
    fn d(self) -> Self;
    /// The 128-bit scalar view (`q`).
    fn q(self) -> Self;
    /// Eight bytes (`.8b`).
    fn b8(self) -> Self;
    /// Sixteen bytes (`.16b`).
    fn b16(self) -> Self;
    /// Four halfwords (`.4h`).
    fn h4(self) -> Self;
    /// Eight halfwords (`.8h`).
    fn h8(self) -> Self;
    /// Two singles (`.2s`).
    fn s2(self) -> Self;
    /// Four singles (`.4s`).
    fn s4(self) -> Self;
    /// One double (`.1d`).
    fn d1(self) -> Self;
    /// Two doubles (`.2d`).
    fn d2(self) -> Self;
    /// Four bytes as one lane (`.4b`, as in `sdot v0.4s, v1.16b, v2.4b[1]`).
    fn b4(self) -> Self;
    /// Two halfwords as one lane (`.2h`, as in `bfdot v0.4s, v1.8h, v2.2h[1]`).
    fn h2(self) -> Self;
    /// The register as one 128-bit element (`.1q`, as in `pmull v0.1q, v1.1d, v2.1d`).
    fn q1(self) -> Self;
    /// Element `index`, its size given by the view (`v.s().lane(2)` is `v.s[2]`).
    fn lane(self, index: u8) -> Lane;
    /// This register and the `count - 1` after it, seen through this view: a list for
    /// `ld1`-`ld4`, `st1`-`st4`, `tbl` and `tbx` (`V0.s4().list(4)` is `{v0.4s-v3.4s}`).
    fn list(self, count: u8) -> RegList;
}

fn view(r: Reg, class: RegClass, v: u8) -> Reg {
    if r.is_virtual() {
        return if r.class() == class { r.with_view(v) } else { r };
    }
    match parts(r) {
        Some((c, old, n)) if c == class && !(c == GP && old >= VIEW_SP) => phys(class, v, n),
        _ => r,
    }
}

impl A64Reg for Reg {
    fn w(self) -> Reg {
        view(self, GP, VIEW_W)
    }
    fn x(self) -> Reg {
        view(self, GP, VIEW_X)
    }
    fn b(self) -> Reg {
        view(self, VEC, VIEW_B)
    }
    fn h(self) -> Reg {
        view(self, VEC, VIEW_H)
    }
    fn s(self) -> Reg {
        view(self, VEC, VIEW_S)
    }
    fn d(self) -> Reg {
        view(self, VEC, VIEW_D)
    }
    fn q(self) -> Reg {
        view(self, VEC, VIEW_Q)
    }
    fn b8(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED)
    }
    fn b16(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 1)
    }
    fn h4(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 2)
    }
    fn h8(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 3)
    }
    fn s2(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 4)
    }
    fn s4(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 5)
    }
    fn d1(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 6)
    }
    fn d2(self) -> Reg {
        view(self, VEC, VIEW_ARRANGED + 7)
    }
    fn b4(self) -> Reg {
        view(self, VEC, VIEW_B4)
    }
    fn h2(self) -> Reg {
        view(self, VEC, VIEW_H2)
    }
    fn q1(self) -> Reg {
        view(self, VEC, VIEW_Q1)
    }
    fn lane(self, index: u8) -> Lane {
        Lane { reg: self, index }
    }
    fn list(self, count: u8) -> RegList {
        RegList { first: self, count, lane: None }
    }
}
