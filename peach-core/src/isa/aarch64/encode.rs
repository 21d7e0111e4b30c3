//! Encoding one instruction from a table row: the fixed bits, then each operand placed by its
//! field after a range check. Out-of-range values are errors, never truncated.

use super::table::{Field, Kind, ROWS, Row};
use crate::error::{Error, ErrorKind, Result};

/// A vector arrangement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arrangement {
    /// 16 bytes.
    B16,
    /// 8 halfwords.
    H8,
    /// 4 singles.
    S4,
    /// 2 doubles.
    D2,
}

/// An AArch64 operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum A64 {
    /// `x0`..`x30`, `xzr` (31).
    X(u8),
    /// `sp` (only where a form allows it).
    Sp,
    /// `w0`..`w30`, `wzr` (31).
    W(u8),
    /// `v0`..`v31` with an arrangement.
    V(u8, Arrangement),
    /// `s0`..`s31`.
    S(u8),
    /// `d0`..`d31`.
    D(u8),
    /// `q0`..`q31`.
    Q(u8),
    /// An immediate.
    Imm(i64),
    /// `lsl #n`.
    Lsl(u8),
    /// `[base, #offset]`; base 31 is `sp`.
    Mem(u8, i64),
    /// A branch target: byte offset from the instruction.
    Label(i64),
}

fn fits(kind: Kind, op: &A64) -> Option<u32> {
    Some(match (kind, *op) {
        (Kind::X, A64::X(n)) | (Kind::XSp, A64::X(n)) if n < 31 || kind == Kind::X => n as u32,
        (Kind::XSp, A64::Sp) => 31,
        (Kind::W, A64::W(n)) => n as u32,
        (Kind::V(a), A64::V(n, b)) if a == b => n as u32,
        (Kind::S, A64::S(n)) | (Kind::D, A64::D(n)) | (Kind::Q, A64::Q(n)) => n as u32,
        (Kind::Imm, A64::Imm(_))
        | (Kind::Lsl, A64::Lsl(_))
        | (Kind::Mem, A64::Mem(..))
        | (Kind::Label, A64::Label(_)) => 0,
        _ => return None,
    })
}

fn out_of_range(what: &str) -> Error {
    Error::new(ErrorKind::ImmediateOutOfRange, what.to_string())
}

fn place(word: &mut u32, field: Field, op: &A64, reg: u32) -> Result<()> {
    let value = match *op {
        A64::Imm(v) | A64::Label(v) => v,
        A64::Lsl(v) => v as i64,
        _ => 0,
    };
    match field {
        Field::Reg(pos) => *word |= (reg & 31) << pos,
        Field::Unsigned(pos, width, scale) => {
            let scale = scale as i64;
            if value < 0 || value % scale != 0 || value / scale >= 1 << width {
                return Err(out_of_range(&format!(
                    "{value} is not a multiple of {scale} below {}",
                    (1i64 << width) * scale
                )));
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
        Field::Shift12(pos) => match value {
            0 => {}
            12 => *word |= 1 << pos,
            _ => return Err(out_of_range("the shift must be 0 or 12")),
        },
        Field::Hw(pos) => {
            if value % 16 != 0 || !(0..=48).contains(&value) {
                return Err(out_of_range("the shift must be 0, 16, 32 or 48"));
            }
            *word |= ((value / 16) as u32) << pos;
        }
        Field::Mem(size) => {
            let A64::Mem(base, offset) = *op else { return Err(Error::internal("memory field without memory")) };
            let size = size as i64;
            if offset < 0 || offset % size != 0 || offset / size >= 4096 {
                return Err(out_of_range(&format!(
                    "offset {offset} must be a multiple of {size} from 0 to {}",
                    4095 * size
                )));
            }
            *word |= ((base as u32) & 31) << 5 | ((offset / size) as u32) << 10;
        }
        Field::None => {}
    }
    Ok(())
}

/// Encodes `mnemonic` with `ops`: the first row whose operand kinds match.
///
/// ```
/// use peach_core::isa::aarch64::{A64, encode};
/// assert_eq!(encode("add", &[A64::X(1), A64::X(2), A64::X(3)])?, 0x8b03_0041);
/// # Ok::<(), peach_core::Error>(())
/// ```
pub fn encode(mnemonic: &str, ops: &[A64]) -> Result<u32> {
    let mut named = false;
    for row in ROWS.iter().filter(|r| r.name == mnemonic) {
        named = true;
        if let Some(word) = try_row(row, ops) {
            return word;
        }
    }
    let kind = if named { ErrorKind::InvalidOperands } else { ErrorKind::UnknownMnemonic };
    Err(Error::new(kind, format!("no AArch64 form of `{mnemonic}` takes these operands")))
}

fn try_row(row: &Row, ops: &[A64]) -> Option<Result<u32>> {
    if row.ops.len() != ops.len() {
        return None;
    }
    let regs: Option<Vec<u32>> = row.ops.iter().zip(ops).map(|(k, o)| fits(*k, o)).collect();
    let regs = regs?;
    let mut word = row.base;
    for ((field, op), reg) in row.fields.iter().zip(ops).zip(regs) {
        if let Err(e) = place(&mut word, *field, op, reg) {
            return Some(Err(e));
        }
    }
    Some(Ok(word))
}

impl std::fmt::Display for Arrangement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arrangement::B16 => "16b",
            Arrangement::H8 => "8h",
            Arrangement::S4 => "4s",
            Arrangement::D2 => "2d",
        })
    }
}

/// Assembly syntax, as llvm-mc and GNU as read it (branch targets as `.+offset`).
impl std::fmt::Display for A64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            A64::X(31) => f.write_str("xzr"),
            A64::X(n) => write!(f, "x{n}"),
            A64::Sp => f.write_str("sp"),
            A64::W(31) => f.write_str("wzr"),
            A64::W(n) => write!(f, "w{n}"),
            A64::V(n, a) => write!(f, "v{n}.{a}"),
            A64::S(n) => write!(f, "s{n}"),
            A64::D(n) => write!(f, "d{n}"),
            A64::Q(n) => write!(f, "q{n}"),
            A64::Imm(v) => write!(f, "#{v}"),
            A64::Lsl(v) => write!(f, "lsl #{v}"),
            A64::Mem(31, off) => write!(f, "[sp, #{off}]"),
            A64::Mem(base, off) => write!(f, "[x{base}, #{off}]"),
            A64::Label(off) => write!(f, ".{off:+}"),
        }
    }
}
