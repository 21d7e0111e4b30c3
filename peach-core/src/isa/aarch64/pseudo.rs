//! AArch64 operands that are names (condition codes, prefetch operations) and the pseudo
//! instruction that materialises any 64-bit constant.

use super::encode::bitmask;
use super::regs::{A64Reg, GP, reg};
use crate::Src;
use crate::ir::{Function, Operand, Reg};

/// A condition code, for `b.cond`-style selects and compares (`csel`, `cset`, `ccmp`, `fcsel`).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::Cond;
/// let sig = Signature::new(&[Type::I64, Type::I64], Some(Type::I64));
/// let mut f = Function::new("max", sig, Target::aarch64_neon());
/// let (a, b) = (f.param(0), f.param(1));
/// f.ins("cmp", (a, b));
/// f.ins("csel", (a, a, b, Cond::Gt));
/// f.ret(a);
/// assert!(f.compile(Abi::Aapcs64)?.listing().contains("csel x0, x0, x1, gt"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Cond {
    Eq,
    Ne,
    Hs,
    Lo,
    Mi,
    Pl,
    Vs,
    Vc,
    Hi,
    Ls,
    Ge,
    Lt,
    Gt,
    Le,
    Al,
    Nv,
}

impl Cond {
    /// Every condition, in encoding order.
    pub const ALL: [Cond; 16] = [
        Cond::Eq,
        Cond::Ne,
        Cond::Hs,
        Cond::Lo,
        Cond::Mi,
        Cond::Pl,
        Cond::Vs,
        Cond::Vc,
        Cond::Hi,
        Cond::Ls,
        Cond::Ge,
        Cond::Lt,
        Cond::Gt,
        Cond::Le,
        Cond::Al,
        Cond::Nv,
    ];

    /// A condition by its assembly name (`eq`, `lt`, and the aliases `cs` and `cc`).
    pub fn by_name(name: &str) -> Option<Cond> {
        let name = name.to_ascii_lowercase();
        let name = match name.as_str() {
            "cs" => "hs",
            "cc" => "lo",
            other => other,
        };
        super::syntax::CONDITIONS.iter().position(|c| *c == name).map(|i| Cond::ALL[i])
    }
}

impl From<Cond> for Operand {
    fn from(c: Cond) -> Operand {
        named(NameKind::Cond, c as u16)
    }
}

/// A floating-point immediate for `fmov` (values `±(1 + n/16) × 2^e`, `e` from -3 to 4).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::FpImm;
/// let mut f = Function::new("two", Signature::new(&[], Some(Type::F64)), Target::aarch64_neon());
/// let v = f.v();
/// f.ins("fmov", (v.d(), FpImm(2.0)));
/// f.ret(v);
/// assert!(f.compile(Abi::Aapcs64)?.listing().contains("fmov d0, #2.0"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FpImm(pub f64);

impl From<FpImm> for Operand {
    fn from(v: FpImm) -> Operand {
        Operand::Imm(v.0.to_bits() as i64)
    }
}

/// How a 32-bit register operand is extended (`add x0, x1, w2, sxtw #3`).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::Extend;
/// let sig = Signature::new(&[Type::Ptr, Type::I32], Some(Type::Ptr));
/// let mut f = Function::new("index", sig, Target::aarch64_neon());
/// let (p, i) = (f.param(0), f.param(1));
/// f.ins("add", (p, p, i.w(), Extend::Sxtw.by(3)));
/// f.ret(p);
/// assert!(f.compile(Abi::Aapcs64)?.listing().contains("add x0, x0, w1, sxtw #3"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Extend {
    Uxtb,
    Uxth,
    Uxtw,
    /// (Of a 64-bit register, as `add x0, x1, x2, uxtx #2`.)
    Uxtx,
    Sxtb,
    Sxth,
    Sxtw,
    /// (Of a 64-bit register.)
    Sxtx,
}

/// The tags that make an extend and a shift operand kinds of their own: neither can stand
/// where the other (or a plain immediate) is meant. Tagged values (the tag, and 16 bits of
/// payload) are no valid immediate of any row: no logical immediate has this bit pattern, and
/// every other immediate field is far narrower.
pub(crate) const EXTEND_TAG: i64 = 0x6C00_0000_0000_0000;
pub(crate) const SHIFT_TAG: i64 = 0x6D00_0000_0000_0000;
/// The tag of the operands that are names ([`NameKind`]): the kind at bit 16, the value below.
/// A name never stands where a number is taken (`add x0, x1, ne` is refused, not `#1`), nor a
/// number where a name is (`csel x0, x1, x2, #1`).
pub(crate) const NAME_TAG: i64 = 0x6E00_0000_0000_0000;

/// The tag of a [`PageOffset`]: the label's number in the low 32 bits.
pub(crate) const PAGE_OFFSET_TAG: i64 = 0x6F00_0000_0000_0000;

/// The label a [`PageOffset`] operand names.
pub(crate) fn page_offset_of(v: i64) -> Option<crate::ir::Label> {
    (v & !0xFFFF_FFFF == PAGE_OFFSET_TAG).then_some(crate::ir::Label(v as u32))
}

/// The low 12 bits of a label's address, written `:lo12:label`: with an `adrp` of the label's
/// page, any address within ±4 GiB, as `add` (`add x0, x0, :lo12:label`) or as the offset of a
/// load or store (`ldr q0, [x0, :lo12:label]`, in the builder `("ldr", (q, [x], PageOffset(l)))`;
/// the offset must be a multiple of the access size). Code with an `adrp` is placed at a
/// 4096-byte boundary ([`CodeObject::alignment`](crate::CodeObject::alignment)).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::PageOffset;
/// let mut f = Function::new("table", Signature::new(&[], Some(Type::Ptr)), Target::aarch64_neon());
/// let (p, table) = (f.x(), f.label());
/// f.ins("adrp", (p, table));
/// f.ins("add", (p, p, PageOffset(table)));
/// f.bind(table); // (the address of the `ret`)
/// f.ret(p);
/// let code = f.compile(Abi::Aapcs64)?;
/// assert!(code.listing().contains("add x0, x0, :lo12:.L0"));
/// assert_eq!(code.alignment(), 4096);
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageOffset(pub crate::ir::Label);

impl From<PageOffset> for Operand {
    fn from(p: PageOffset) -> Operand {
        Operand::Imm(PAGE_OFFSET_TAG | p.0.0 as i64)
    }
}

/// The kinds of named operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameKind {
    Cond = 0,
    Prefetch = 1,
    Barrier = 2,
    Target = 3,
    SysReg = 4,
    Cache = 5,
}

/// The operand of the name `value` of `kind`.
pub(crate) fn named(kind: NameKind, value: u16) -> Operand {
    Operand::Imm(NAME_TAG | (kind as i64) << 16 | value as i64)
}

/// The value of `v` if it is a name of `kind`.
pub(crate) fn name_of(v: i64, kind: NameKind) -> Option<u16> {
    (v & !0xFF_FFFF == NAME_TAG && v >> 16 & 0xFF == kind as i64).then_some(v as u16)
}

impl Extend {
    /// The extension followed by a left shift of `amount` (0 to 4; larger amounts are kept, and
    /// refused by the encoder).
    pub fn by(self, amount: u8) -> Operand {
        Operand::Imm(EXTEND_TAG | ((self as i64) << 8) | amount as i64)
    }
}

/// The shift of a shifted-register operand (`add x0, x1, x2, lsr #3`; `ror` for the logical
/// instructions). A plain number in that place is an `lsl`.
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::Shift;
/// let mut f = Function::new("k", Signature::new(&[Type::U64, Type::U64], Some(Type::U64)), Target::aarch64_neon());
/// let (a, b) = (f.param(0), f.param(1));
/// f.ins("add", (a, a, b, Shift::Asr(3)));
/// f.ins("eor", (a, a, b, Shift::Ror(7)));
/// f.ret(a);
/// let listing = f.compile(Abi::Aapcs64)?.listing();
/// assert!(listing.contains("asr #3") && listing.contains("ror #7"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shift {
    /// Logical shift left.
    Lsl(u8),
    /// Logical shift right.
    Lsr(u8),
    /// Arithmetic shift right.
    Asr(u8),
    /// Rotate right (logical instructions only).
    Ror(u8),
    /// Shift left, ones shifted in (`movi`/`mvni` of 32-bit lanes: 8 or 16).
    Msl(u8),
}

impl From<Shift> for Operand {
    fn from(s: Shift) -> Operand {
        let (kind, amount) = match s {
            Shift::Lsl(n) => (0, n),
            Shift::Lsr(n) => (1, n),
            Shift::Asr(n) => (2, n),
            Shift::Ror(n) => (3, n),
            Shift::Msl(n) => (4, n),
        };
        Operand::Imm(SHIFT_TAG | kind << 8 | amount as i64)
    }
}

impl From<Extend> for Operand {
    fn from(e: Extend) -> Operand {
        e.by(0)
    }
}

/// A prefetch operation for `prfm`: what (load, instruction, store), where (L1, L2, L3) and how
/// (keep or stream).
///
/// ```
/// use peach_core::isa::aarch64::Prefetch;
/// assert_eq!(Prefetch::by_name("pldl2strm"), Some(Prefetch(3)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Prefetch(pub u8);

impl Prefetch {
    /// Prefetch for a load into L1, keep.
    pub const PLDL1KEEP: Prefetch = Prefetch(0);
    /// Prefetch for a load into L2, keep.
    pub const PLDL2KEEP: Prefetch = Prefetch(2);
    /// Prefetch for a store into L1, keep.
    pub const PSTL1KEEP: Prefetch = Prefetch(16);

    /// An operation by its assembly name (`pldl1keep`, `pstl3strm`, ...).
    pub fn by_name(name: &str) -> Option<Prefetch> {
        let name = name.to_ascii_lowercase();
        let kind = ["pld", "pli", "pst"].iter().position(|k| name.starts_with(k))?;
        let level = ["l1", "l2", "l3"].iter().position(|l| name.get(3..5) == Some(*l))?;
        let policy = ["keep", "strm"].iter().position(|p| name.get(5..) == Some(*p))?;
        Some(Prefetch((kind << 3 | level << 1 | policy) as u8))
    }
}

impl From<Prefetch> for Operand {
    fn from(p: Prefetch) -> Operand {
        named(NameKind::Prefetch, p.0 as u16)
    }
}

/// The shortest sequence that puts `value` in a register: one `orr` with a logical immediate,
/// or `movz`/`movn` and a `movk` per remaining halfword.
fn mov_sequence(value: u64) -> Vec<(&'static str, i64, i64)> {
    match value {
        0 => return vec![("movz", 0, 0)],
        u64::MAX => return vec![("movn", 0, 0)],
        _ => {}
    }
    let halves: Vec<u64> = (0..4).map(|i| value >> (16 * i) & 0xffff).collect();
    let zeros = halves.iter().filter(|h| **h == 0).count();
    let ones = halves.iter().filter(|h| **h == 0xffff).count();
    let wide = 4 - zeros.max(ones);
    if wide > 1 && bitmask(value, 64).is_some() {
        return vec![("orr", value as i64, 0)];
    }
    let inverted = ones > zeros;
    let filler = if inverted { 0xffff } else { 0 };
    let mut seq = Vec::new();
    for (i, &h) in halves.iter().enumerate() {
        if h == filler {
            continue;
        }
        if seq.is_empty() {
            let first = if inverted { ("movn", (!h & 0xffff) as i64) } else { ("movz", h as i64) };
            seq.push((first.0, first.1, 16 * i as i64));
        } else {
            seq.push(("movk", h as i64, 16 * i as i64));
        }
    }
    seq
}

/// AArch64 pseudo-instructions on a [`Function`].
pub trait A64Pseudo {
    /// Puts the 64-bit constant `value` in `dst` with as few instructions as possible.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::isa::aarch64::A64Pseudo;
    /// let mut f = Function::new("k", Signature::new(&[], Some(Type::U64)), Target::aarch64_neon());
    /// let x = f.x();
    /// f.mov_imm(x, 0x1234_0000_5678);
    /// f.ret(x);
    /// let listing = f.compile(Abi::Aapcs64)?.listing();
    /// assert!(listing.contains("movz x0, #22136") && listing.contains("movk x0, #4660, lsl #32"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    fn mov_imm(&mut self, dst: Reg, value: u64);
    /// [`A64Pseudo::mov_imm`] attributed to a given source location.
    fn mov_imm_at(&mut self, dst: Reg, value: u64, loc: Src);
}

impl A64Pseudo for Function {
    #[track_caller]
    fn mov_imm(&mut self, dst: Reg, value: u64) {
        self.mov_imm_at(dst, value, std::panic::Location::caller().into());
    }

    fn mov_imm_at(&mut self, dst: Reg, value: u64, loc: Src) {
        let x = dst.x();
        if x.is_virtual() && x.class() != GP {
            self.push_error(crate::ErrorKind::InvalidOperands, "mov_imm needs a general-purpose register", loc);
            return;
        }
        for (name, imm, shift) in mov_sequence(value) {
            match name {
                "orr" => self.ins_at(name, (x, reg::XZR, imm), loc),
                _ => self.ins_at(name, (x, imm, shift), loc),
            }
        }
    }
}

/// The conditions and prefetch operations by their assembly names, as constants: what a JIT
/// body names (`CSEL(x, a, b, GT)`, `PRFM(PLDL1KEEP, [p])`), as static mode's named values do.
pub mod names {
    use super::{Cond, Prefetch};

    macro_rules! conds {
        ($($name:ident = $cond:ident),* $(,)?) => {$(
            #[doc = concat!("The condition `", stringify!($name), "`.")]
            pub const $name: Cond = Cond::$cond;
        )*};
    }
    conds! {
        EQ = Eq, NE = Ne, HS = Hs, CS = Hs, LO = Lo, CC = Lo, MI = Mi, PL = Pl, VS = Vs, VC = Vc,
        HI = Hi, LS = Ls, GE = Ge, LT = Lt, GT = Gt, LE = Le, AL = Al, NV = Nv,
    }

    macro_rules! prefetches {
        ($($name:ident = $value:literal),* $(,)?) => {$(
            #[doc = concat!("The prefetch operation `", stringify!($name), "`.")]
            pub const $name: Prefetch = Prefetch($value);
        )*};
    }
    prefetches! {
        PLDL1KEEP = 0, PLDL1STRM = 1, PLDL2KEEP = 2, PLDL2STRM = 3, PLDL3KEEP = 4, PLDL3STRM = 5,
        PLIL1KEEP = 8, PLIL1STRM = 9, PLIL2KEEP = 10, PLIL2STRM = 11, PLIL3KEEP = 12, PLIL3STRM = 13,
        PSTL1KEEP = 16, PSTL1STRM = 17, PSTL2KEEP = 18, PSTL2STRM = 19, PSTL3KEEP = 20, PSTL3STRM = 21,
    }

    #[cfg(test)]
    mod tests {
        /// Each constant is what static mode's name means.
        #[test]
        fn the_constants_are_the_named_values() {
            use super::*;
            let conds = [("EQ", EQ), ("CS", CS), ("CC", CC), ("GT", GT), ("NV", NV)];
            for (name, c) in conds {
                assert_eq!(Cond::by_name(name), Some(c), "{name}");
            }
            let ops = [("PLDL1KEEP", PLDL1KEEP), ("PLIL2STRM", PLIL2STRM), ("PSTL3STRM", PSTL3STRM)];
            for (name, p) in ops {
                assert_eq!(Prefetch::by_name(name), Some(p), "{name}");
            }
        }
    }
}
