//! Encoding one instruction from a table row: the fixed bits, then each operand placed by its
//! field after a range check. Out-of-range values are errors, never truncated.

use super::syntax::EXTENDS;
use super::table::{Field, Kind, Row, rows};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Mem;

/// A vector arrangement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arrangement {
    /// 8 bytes.
    B8,
    /// 16 bytes.
    B16,
    /// 4 halfwords.
    H4,
    /// 8 halfwords.
    H8,
    /// 2 singles.
    S2,
    /// 4 singles.
    S4,
    /// 1 double.
    D1,
    /// 2 doubles.
    D2,
}

impl Arrangement {
    /// Every arrangement, in view order.
    pub const ALL: [Arrangement; 8] = [
        Arrangement::B8,
        Arrangement::B16,
        Arrangement::H4,
        Arrangement::H8,
        Arrangement::S2,
        Arrangement::S4,
        Arrangement::D1,
        Arrangement::D2,
    ];
}

/// An AArch64 operand with physical registers, as the encoder takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum A64 {
    /// `x0`..`x30`, `xzr` (31).
    X(u8),
    /// `sp` (only where a form allows it).
    Sp,
    /// `w0`..`w30`, `wzr` (31).
    W(u8),
    /// `wsp` (only where a form allows it).
    Wsp,
    /// `v0`..`v31` with an arrangement.
    V(u8, Arrangement),
    /// `b0`..`b31`.
    B(u8),
    /// `h0`..`h31`.
    H(u8),
    /// `s0`..`s31`.
    S(u8),
    /// `d0`..`d31`.
    D(u8),
    /// `q0`..`q31`.
    Q(u8),
    /// `v0.1q`..`v31.1q`.
    Q1(u8),
    /// An immediate.
    Imm(i64),
    /// `lsl #n`.
    Lsl(u8),
    /// A shifted register's shift: type (0 `lsl`, 1 `lsr`, 2 `asr`, 3 `ror`) and amount.
    Shift(u8, u8),
    /// `msl #n`.
    Msl(u8),
    /// `v0.2h`..`v31.2h`.
    H2(u8),
    /// A register pair from an even one: `(n, 64-bit)`, written `x0, x1`.
    Pair(u8, bool),
    /// `[base, #offset]`; base 31 is `sp`.
    Mem(u8, i64),
    /// `[base, #offset]!`: the base is updated before the access.
    MemPre(u8, i64),
    /// `[base], #offset`: the base is updated after the access.
    MemPost(u8, i64),
    /// `[base], x{index}`: the base is advanced by a register after the access.
    MemPostReg(u8, u8),
    /// A branch target: byte offset from the instruction.
    Label(i64),
    /// The low 12 bits of an address (`:lo12:label` once laid out), as an `add` immediate or,
    /// after a `[base]`, the offset of a load or store (written `[base, #offset]`).
    PageOffset(i64),
    /// Element `index` of `v{n}`, of `size` bytes (`v1.s[2]`).
    Elem(u8, u8, u8),
    /// Group `index` of `v{n}`, of 32 bits, made of lanes of `size` bytes (`v1.4b[2]`).
    ElemGroup(u8, u8, u8),
    /// A condition code, by number (`eq` is 0).
    Cond(u8),
    /// A prefetch operation, by number (`pldl1keep` is 0).
    Prfop(u8),
    /// A barrier option, by number (`ish` is 11).
    Barrier(u8),
    /// The kind of a `bti` landing pad (`c` is 1, `j` 2, `jc` 3).
    Target(u8),
    /// A system register, as `o0:op1:CRn:CRm:op2`.
    SysReg(u16),
    /// A cache maintenance operation, as `op1:CRn:CRm:op2`.
    Cache(u16),
    /// `[base, index]` scaled by 1 or by the access size (`lsl #log2(size)`).
    MemIndex(u8, u8, u8),
    /// `[base, windex, sxtw]` scaled by 1 or by the access size.
    MemIndexSxtw(u8, u8, u8),
    /// The extension of the index of the memory operand before it, where it is not the one
    /// the index's width implies: `option` 2 (`uxtw`) or 7 (`sxtx`). Written inside that
    /// operand's brackets.
    IndexExtend(u8),
    /// `{v{n}.arrangement}`.
    List1(u8, Arrangement),
    /// `count` consecutive registers from `v{n}` (wrapping after v31).
    List(u8, u8, Arrangement),
    /// Element `index` (of `size` bytes) of `count` consecutive registers from `v{n}`:
    /// `(n, count, size, index)`.
    LaneList(u8, u8, u8, u8),
    /// A floating-point immediate, as its f64 bits.
    FpImm(u64),
    /// An extension of a 32-bit register: `option` (0 `uxtb` ... 7 `sxtx`) and a shift.
    Extend(u8, u8),
}

/// The 8-bit FMOV encoding of `value`: `(-1)^a * (1 + efgh/16) * 2^e` with `e` from -3 to 4.
fn fp_imm8(value: f64) -> Option<u32> {
    (0u32..256).find(|&imm| fp_of_imm8(imm) == value && value.is_sign_negative() == (imm >> 7 == 1))
}

/// The value of an 8-bit FMOV encoding.
fn fp_of_imm8(imm: u32) -> f64 {
    let sign = if imm >> 7 & 1 == 1 { -1.0 } else { 1.0 };
    let exp = ((imm >> 4 & 7) ^ 4) as i32 - 3;
    sign * (1.0 + (imm & 15) as f64 / 16.0) * 2f64.powi(exp)
}

/// The `N:immr:imms` encoding of `value` as a logical immediate of a `width`-bit register: a
/// run of ones, rotated, repeated in elements of 2 to `width` bits.
pub fn bitmask(value: u64, width: u32) -> Option<u32> {
    let value = if width == 32 { value & 0xffff_ffff | (value & 0xffff_ffff) << 32 } else { value };
    if value == 0 || value == u64::MAX {
        return None;
    }
    for e in [2u32, 4, 8, 16, 32, 64] {
        let mask = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
        let elem = value & mask;
        if (0..64 / e).any(|i| (value >> (i * e)) & mask != elem) {
            continue;
        }
        let ones = elem.count_ones();
        let run = (1u64 << ones) - 1;
        let rotate = |x: u64, r: u32| if r == 0 { x } else { ((x >> r) | (x << (e - r))) & mask };
        let r = (0..e).find(|&r| rotate(run, r) == elem)?;
        let n = u32::from(e == 64);
        let imms = (!(2 * e - 1) & 0x3f) | (ones - 1);
        return Some(n << 12 | r << 6 | imms);
    }
    None
}

fn fits(kind: Kind, op: &A64) -> Option<u32> {
    Some(match (kind, *op) {
        (Kind::X, A64::X(n)) => n as u32,
        (Kind::XSp, A64::X(n)) if n < 31 => n as u32,
        (Kind::XSp, A64::Sp) => 31,
        (Kind::W, A64::W(n)) => n as u32,
        (Kind::WSp, A64::W(n)) if n < 31 => n as u32,
        (Kind::WSp, A64::Wsp) => 31,
        (Kind::V(a), A64::V(n, b)) if a == b => n as u32,
        (Kind::B, A64::B(n)) | (Kind::H, A64::H(n)) => n as u32,
        (Kind::S, A64::S(n)) | (Kind::D, A64::D(n)) | (Kind::Q, A64::Q(n)) | (Kind::Q1, A64::Q1(n)) => n as u32,
        (Kind::H2, A64::H2(n)) => n as u32,
        (Kind::Pair(a), A64::Pair(n, b)) if a == b && n % 2 == 0 && n < 31 => n as u32,
        (Kind::Msl, A64::Msl(_)) => 0,
        (Kind::Imm, A64::Imm(_)) | (Kind::Lsl, A64::Lsl(_)) | (Kind::Label, A64::Label(_)) => 0,
        (Kind::Page, A64::Imm(_)) | (Kind::PageOffset, A64::PageOffset(_)) => 0,
        (Kind::Mem, A64::Mem(..)) | (Kind::MemPre, A64::MemPre(..)) | (Kind::MemPost, A64::MemPost(..)) => 0,
        (Kind::Elem(a), A64::Elem(n, b, _)) | (Kind::ElemGroup(a), A64::ElemGroup(n, b, _)) if a == b => n as u32,
        (Kind::Cond, A64::Cond(_)) | (Kind::Prfop, A64::Prfop(_)) | (Kind::MemIndex, A64::MemIndex(..)) => 0,
        (Kind::MemIndexSxtw, A64::MemIndexSxtw(..)) | (Kind::MemPostReg, A64::MemPostReg(..)) => 0,
        (Kind::IndexExtend, A64::IndexExtend(_)) | (Kind::Barrier, A64::Barrier(_)) => 0,
        (Kind::Target, A64::Target(_)) | (Kind::SysReg, A64::SysReg(_)) => 0,
        (Kind::Cache(dc), A64::Cache(op)) if super::system::CacheOp::name(op).is_some_and(|n| (n.1 == "dc") == dc) => 0,
        (Kind::MemBase, A64::Mem(_, 0)) => 0,
        (Kind::List1(a), A64::List1(n, b)) if a == b => n as u32,
        (Kind::List(c, a), A64::List(n, d, b)) if a == b && c == d => n as u32,
        (Kind::LaneList(c, e), A64::LaneList(n, d, f, _)) if c == d && e == f => n as u32,
        (Kind::FpImm, A64::FpImm(_)) | (Kind::Extend, A64::Extend(..)) | (Kind::Shift, A64::Shift(..)) => 0,
        _ => return None,
    })
}

/// Why `value` is not one of the multiples of `scale` from `min` to `max`, with the nearest
/// values that are.
fn unencodable(value: i64, min: i64, max: i64, scale: i64) -> String {
    let below = (value.clamp(min, max) - min) / scale * scale + min;
    let above = below + if below < value { scale } else { 0 };
    let mut near: Vec<i64> = [below, above].into_iter().filter(|v| (min..=max).contains(v) && *v != value).collect();
    near.dedup();
    let near: Vec<String> = near.iter().map(|v| v.to_string()).collect();
    let step = if scale > 1 { format!(" in steps of {scale}") } else { String::new() };
    format!("{value} cannot be encoded: the range is {min} to {max}{step}; nearest encodable: {}", near.join(" or "))
}

fn out_of_range(what: &str) -> Error {
    Error::new(ErrorKind::ImmediateOutOfRange, what.to_string())
}

fn place(word: &mut u32, field: Field, op: &A64, reg: u32) -> Result<()> {
    let value = match *op {
        A64::Imm(v) | A64::Label(v) | A64::PageOffset(v) => v,
        A64::Lsl(v) | A64::Cond(v) | A64::Prfop(v) | A64::Barrier(v) | A64::Target(v) | A64::Msl(v) => v as i64,
        A64::SysReg(v) | A64::Cache(v) => v as i64,
        _ => 0,
    };
    match field {
        Field::Reg(pos) => *word |= (reg & 31) << pos,
        Field::Unsigned(pos, width, scale) => {
            let scale = scale as i64;
            if value < 0 || value % scale != 0 || value / scale >= 1 << width {
                return Err(out_of_range(&unencodable(value, 0, ((1i64 << width) - 1) * scale, scale)));
            }
            *word |= ((value / scale) as u32) << pos;
        }
        Field::Signed(pos, width, scale) => {
            let scale = scale as i64;
            let half = 1i64 << (width - 1);
            if value % scale != 0 || !(-half..half).contains(&(value / scale)) {
                return Err(out_of_range(&format!(
                    "offset {value} is out of reach (±{} bytes, multiples of {scale})",
                    half * scale
                )));
            }
            *word |= (((value / scale) as u32) & ((1 << width) - 1)) << pos;
        }
        Field::Adr => {
            if !(-(1 << 20)..1 << 20).contains(&value) {
                return Err(out_of_range(&format!("offset {value} is out of reach (±1 MiB)")));
            }
            *word |= ((value as u32) & 3) << 29 | ((value >> 2) as u32 & 0x7_ffff) << 5;
        }
        Field::AdrPage => {
            let pages = value >> 12;
            if value % 4096 != 0 || !(-(1 << 20)..1 << 20).contains(&pages) {
                return Err(out_of_range(&format!("page offset {value} is not a multiple of 4096 within ±4 GiB")));
            }
            *word |= ((pages as u32) & 3) << 29 | ((pages >> 2) as u32 & 0x7_ffff) << 5;
        }
        Field::PageOffset(scale) => {
            if !(0..4096).contains(&value) || value % scale as i64 != 0 {
                return Err(out_of_range(&format!(
                    "the label is {value} bytes into its page, not a multiple of the access size {scale}: \
                     align the label to {scale} bytes"
                )));
            }
            *word |= ((value / scale as i64) as u32) << 10;
        }
        Field::Shift12(pos) => match value {
            0 => {}
            12 => *word |= 1 << pos,
            _ => return Err(out_of_range("the shift must be 0 or 12")),
        },
        Field::Hw(pos) => {
            // Bit 31 (`sf`) tells 64-bit forms from 32-bit ones.
            let max = if *word & 1 << 31 != 0 { 48 } else { 16 };
            if value % 16 != 0 || !(0..=max).contains(&value) {
                return Err(out_of_range(if max == 48 {
                    "the shift must be 0, 16, 32 or 48"
                } else {
                    "the shift of a 32-bit register must be 0 or 16"
                }));
            }
            *word |= ((value / 16) as u32) << pos;
        }
        Field::LslImm(width) => {
            let width = width as i64;
            if !(0..width).contains(&value) {
                return Err(out_of_range(&format!("the shift must be from 0 to {}", width - 1)));
            }
            let (immr, imms) = ((width - value) % width, width - 1 - value);
            *word |= (immr as u32) << 16 | (imms as u32) << 10;
        }
        Field::LeftShift(esize) => {
            let esize = esize as i64;
            if !(0..esize).contains(&value) {
                return Err(out_of_range(&format!("the shift must be from 0 to {}", esize - 1)));
            }
            *word |= ((esize + value) as u32) << 16;
        }
        Field::RightShift(esize) => {
            let esize = esize as i64;
            if !(1..=esize).contains(&value) {
                return Err(out_of_range(&format!("the shift must be from 1 to {esize}")));
            }
            *word |= ((2 * esize - value) as u32) << 16;
        }
        Field::TestBit => {
            if !(0..64).contains(&value) {
                return Err(out_of_range("the bit number must be from 0 to 63"));
            }
            *word |= ((value as u32) >> 5) << 31 | ((value as u32) & 31) << 19;
        }
        Field::Mem(size) => {
            let A64::Mem(base, offset) = *op else { return Err(Error::internal("memory field without memory")) };
            let size = size as i64;
            if offset < 0 || offset % size != 0 || offset / size >= 4096 {
                return Err(out_of_range(&format!("offset {}", unencodable(offset, 0, 4095 * size, size))));
            }
            *word |= ((base as u32) & 31) << 5 | ((offset / size) as u32) << 10;
        }
        Field::Index9 => {
            let (A64::Mem(base, offset) | A64::MemPre(base, offset) | A64::MemPost(base, offset)) = *op else {
                return Err(Error::internal("index field without memory"));
            };
            if !(-256..256).contains(&offset) {
                return Err(out_of_range(&format!("offset {offset} is out of range (-256 to 255)")));
            }
            *word |= ((base as u32) & 31) << 5 | ((offset as u32) & 0x1FF) << 12;
        }
        Field::Pair(size) => {
            let (A64::Mem(base, offset) | A64::MemPre(base, offset) | A64::MemPost(base, offset)) = *op else {
                return Err(Error::internal("pair field without memory"));
            };
            let size = size as i64;
            if offset % size != 0 || !(-64..64).contains(&(offset / size)) {
                return Err(out_of_range(&format!(
                    "offset {offset} must be a multiple of {size} from {} to {}",
                    -64 * size,
                    63 * size
                )));
            }
            *word |= ((base as u32) & 31) << 5 | (((offset / size) as u32) & 0x7F) << 15;
        }
        Field::RegTwice(a, b) => *word |= (reg & 31) << a | (reg & 31) << b,
        Field::Cond(pos) => *word |= (value as u32 & 15) << pos,
        Field::CondInv(pos) => {
            if value >= 14 {
                return Err(out_of_range("`al` and `nv` have no inverse here"));
            }
            *word |= (value as u32 ^ 1) << pos;
        }
        Field::RegOffset(size) => {
            let (A64::MemIndex(base, index, scale) | A64::MemIndexSxtw(base, index, scale)) = *op else {
                return Err(Error::internal("register-offset field without an index"));
            };
            let shift = match scale {
                1 => 0,
                s if s == size && size > 1 => 1,
                // An explicit `lsl #0`: a shift of its own for bytes, none for wider accesses.
                Mem::ZERO_SHIFT => u32::from(size == 1),
                _ => {
                    return Err(out_of_range(&format!(
                        "the index scale must be 1 or {size} (the access size), not {scale}"
                    )));
                }
            };
            *word |= (base as u32 & 31) << 5 | (index as u32 & 31) << 16 | shift << 12;
        }
        Field::PostStep(step) => {
            let A64::MemPost(base, by) = *op else { return Err(Error::internal("post-index field without one")) };
            if by != step as i64 {
                return Err(out_of_range(&format!("this post-index must advance by {step} bytes, not {by}")));
            }
            *word |= (base as u32 & 31) << 5;
        }
        Field::MslAmount => match value {
            8 => {}
            16 => *word |= 1 << 12,
            _ => return Err(out_of_range("`msl` shifts by 8 or 16")),
        },
        Field::FracBits(width) => {
            if !(1..=width as i64).contains(&value) {
                return Err(out_of_range(&format!("the fraction bits must be from 1 to {width}")));
            }
            *word |= ((64 - value) as u32) << 10;
        }
        Field::LaneIndex(size) => {
            let A64::LaneList(n, _, _, index) = *op else {
                return Err(Error::internal("lane index without a lane list"));
            };
            let lanes = 16 / size;
            if index >= lanes {
                return Err(out_of_range(&format!(
                    "lane index {index} is out of range for {}-bit elements (0 to {})",
                    8 * size as u32,
                    lanes - 1
                )));
            }
            // Q:S:size holds the index above the element size's own bits.
            let bits = (index as u32) << size.trailing_zeros();
            *word |= (n as u32 & 31) | (bits >> 3) << 30 | (bits >> 2 & 1) << 12 | (bits & 3) << 10;
        }
        Field::PostReg => {
            let A64::MemPostReg(base, index) = *op else {
                return Err(Error::internal("register post-index field without one"));
            };
            if index >= 31 {
                return Err(out_of_range("a post-index register is x0-x30 (`xzr` there means the immediate form)"));
            }
            *word |= (base as u32 & 31) << 5 | (index as u32) << 16;
        }
        Field::IndexOption(w) => {
            let A64::IndexExtend(option) = *op else { return Err(Error::internal("index option without one")) };
            let allowed = if w { 2 } else { 7 };
            if option != allowed {
                return Err(out_of_range(if w {
                    "a 32-bit index is extended with `uxtw` or `sxtw`"
                } else {
                    "a 64-bit index is shifted with `lsl` or extended with `sxtx`"
                }));
            }
            *word = *word & !(7 << 13) | (option as u32) << 13;
        }
        Field::FpImm8 | Field::FpImm8Split => {
            let A64::FpImm(bits) = *op else { return Err(Error::internal("FP immediate field without one")) };
            let v = f64::from_bits(bits);
            let Some(imm) = fp_imm8(v) else {
                let mut values: Vec<f64> = (0..256).map(fp_of_imm8).collect();
                values.sort_by(f64::total_cmp);
                let below = values.iter().rev().find(|x| **x < v);
                let above = values.iter().find(|x| **x > v);
                let near: Vec<String> = below.into_iter().chain(above).map(|x| format!("{x:?}")).collect();
                return Err(out_of_range(&format!(
                    "{v:?} is not an FMOV immediate (\u{b1}(1 + n/16) \u{d7} 2^e, e from -3 to 4); nearest: {}",
                    near.join(" or ")
                )));
            };
            *word |= match field {
                Field::FpImm8 => imm << 13,
                _ => (imm >> 5) << 16 | (imm & 31) << 5,
            };
        }
        Field::Imm8Split => {
            if !(0..256).contains(&value) {
                return Err(out_of_range(&format!("{value} is not an 8-bit immediate (0 to 255)")));
            }
            let v = value as u32;
            *word |= (v >> 5) << 16 | (v & 31) << 5;
        }
        Field::CmodeShift(esize) => {
            if value % 8 != 0 || !(0..esize as i64).contains(&value) {
                let allowed = if esize == 16 { "0 or 8" } else { "0, 8, 16 or 24" };
                return Err(out_of_range(&format!("the shift must be {allowed}")));
            }
            *word |= (value as u32 / 8) << 13;
        }
        Field::ByteMask => {
            let bytes = (value as u64).to_le_bytes();
            if bytes.iter().any(|b| *b != 0 && *b != 0xff) {
                return Err(out_of_range(&format!(
                    "{value:#x} is not a byte mask (each byte 0x00 or 0xff, as `movi` of 64-bit lanes takes)"
                )));
            }
            let v = bytes.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b == 0xff) << i);
            *word |= (v >> 5) << 16 | (v & 31) << 5;
        }
        Field::ShiftedReg(bits, ror) => {
            let A64::Shift(kind, amount) = *op else { return Err(Error::internal("shift field without one")) };
            if kind == 3 && !ror {
                return Err(out_of_range("`ror` shifts the operands of logical instructions only"));
            }
            if kind > 3 || amount as u32 >= bits as u32 {
                return Err(out_of_range(&format!("the shift must be from 0 to {}", bits - 1)));
            }
            *word |= (kind as u32) << 22 | (amount as u32) << 10;
        }
        Field::Extend(rm) => {
            let A64::Extend(option, shift) = *op else { return Err(Error::internal("extend field without one")) };
            match rm {
                super::table::Rm::W if option & 3 == 3 => {
                    return Err(out_of_range("`uxtx`/`sxtx` extend a 64-bit register, not a W register"));
                }
                super::table::Rm::X if option & 3 != 3 => {
                    return Err(out_of_range("a 64-bit register is extended with `uxtx` or `sxtx`"));
                }
                _ => {}
            }
            if shift > 4 {
                return Err(out_of_range(&format!(
                    "the shift after `{}` must be from 0 to 4",
                    EXTENDS[option as usize & 7]
                )));
            }
            *word |= (option as u32 & 7) << 13 | (shift as u32) << 10;
        }
        Field::Base => {
            let A64::Mem(base, _) = *op else { return Err(Error::internal("base field without memory")) };
            *word |= (base as u32 & 31) << 5;
        }
        Field::Bitmask(width) => match bitmask(value as u64, width as u32) {
            Some(bits) if width == 64 || value as u64 >> 32 == 0 || value >> 31 == -1 => *word |= bits << 10,
            _ => {
                return Err(out_of_range(&format!(
                    "{value:#x} is not a logical immediate (a rotated run of ones repeated across the register)"
                )));
            }
        },
        Field::ElemMul | Field::ElemImm5(_) | Field::ElemImm4 => {
            let (n, size, index) = match *op {
                A64::Elem(n, size, index) => (n, size, index),
                A64::ElemGroup(n, _, index) => (n, 4, index),
                _ => return Err(Error::internal("element field without an element")),
            };
            let lanes = 16 / size.max(1);
            if index >= lanes {
                return Err(out_of_range(&format!(
                    "lane index {index} is out of range for {}-bit elements (0 to {})",
                    8 * size as u32,
                    lanes - 1
                )));
            }
            if field == Field::ElemMul && size == 2 && n >= 16 {
                return Err(Error::new(
                    ErrorKind::InvalidOperands,
                    format!("a 16-bit element operand by element is one of v0-v15, not v{n}"),
                ));
            }
            let (n, index, log) = (n as u32 & 31, index as u32, size.trailing_zeros());
            *word |= match field {
                // By-element multiplies: Rm at 16; the index in H (bit 11), and L (bit 21) for
                // 32-bit elements, and M (bit 20, Rm's top bit) for 16-bit ones.
                Field::ElemMul if size == 8 => n << 16 | index << 11,
                Field::ElemMul if size == 2 => {
                    n << 16 | (index >> 2) << 11 | (index >> 1 & 1) << 21 | (index & 1) << 20
                }
                Field::ElemMul => n << 16 | (index >> 1) << 11 | (index & 1) << 21,
                // `imm5`: the index above a one-hot element size.
                Field::ElemImm5(pos) => n << pos | ((index << (log + 1)) | (1 << log)) << 16,
                // `imm4` of INS (element): the source index, scaled by the element size.
                _ => n << 5 | (index << log) << 11,
            };
        }
    }
    Ok(())
}

/// Encodes `mnemonic` with `ops`: the first row whose operand kinds match.
pub fn encode(mnemonic: &str, ops: &[A64]) -> Result<u32> {
    let mut named = false;
    for row in rows().iter().filter(|r| r.name == mnemonic) {
        named = true;
        if let Some(word) = encode_row(row, ops) {
            return word;
        }
    }
    let kind = if named { ErrorKind::InvalidOperands } else { ErrorKind::UnknownMnemonic };
    Err(Error::new(kind, format!("no AArch64 form of `{mnemonic}` takes these operands")))
}

/// Encodes `row` with `ops`, or `None` if the operands are not of the row's kinds.
pub fn encode_row(row: &Row, ops: &[A64]) -> Option<Result<u32>> {
    if row.kinds().len() != ops.len() {
        return None;
    }
    let mut regs = [0u32; 4];
    for (i, (k, o)) in row.kinds().iter().zip(ops).enumerate() {
        regs[i] = fits(*k, o)?;
    }
    Some(check_unpredictable(row, ops).and_then(|()| {
        let mut word = row.base;
        for ((field, op), reg) in row.fields().iter().zip(ops).zip(regs) {
            place(&mut word, *field, op, reg)?;
        }
        Ok(word)
    }))
}

/// Forms the architecture leaves unpredictable, which assemblers reject: a write-back base that
/// is also a transfer register, and a pair load into one register twice.
fn check_unpredictable(row: &Row, ops: &[A64]) -> Result<()> {
    let gp = |o: &A64| match *o {
        A64::X(n) | A64::W(n) => Some(n),
        _ => None,
    };
    let transfer: Vec<u8> = ops.iter().filter_map(gp).collect();
    for op in ops {
        if let A64::MemPre(base, _) | A64::MemPost(base, _) = *op
            && base != 31
            && transfer.contains(&base)
        {
            return Err(Error::new(
                ErrorKind::InvalidOperands,
                format!("`{}` writes back to x{base}, which it also transfers: the result is unpredictable", row.name),
            ));
        }
    }
    let reg = |o: &A64| match *o {
        A64::X(n) | A64::W(n) | A64::D(n) | A64::Q(n) | A64::S(n) => Some(n),
        _ => None,
    };
    if super::table::is_load_pair(row.name) && reg(&ops[0]).is_some() && reg(&ops[0]) == reg(&ops[1]) {
        return Err(Error::new(
            ErrorKind::InvalidOperands,
            format!("`{}` into the same register twice is unpredictable", row.name),
        ));
    }
    if super::table::writes_status(row.name) {
        let status = reg(&ops[0]);
        // (A base of 31 is `sp`, which the status never is.)
        let others = ops[1..].iter().map(|o| match *o {
            A64::Mem(base, _) if base != 31 => Some(base),
            _ => reg(o),
        });
        if others.into_iter().any(|r| r.is_some() && r == status) {
            return Err(Error::new(
                ErrorKind::InvalidOperands,
                format!("`{}`'s status register must differ from the others (unpredictable otherwise)", row.name),
            ));
        }
    }
    Ok(())
}
