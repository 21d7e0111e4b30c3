//! The ISA-neutral intermediate representation: a function is a list of instructions over
//! registers (physical or virtual), memory operands, immediates and labels.
//!
//! Instructions are stored flat: `Function::insts` holds fixed-size headers and
//! `Function::operands` holds every operand of every instruction, so that building a
//! million-instruction kernel allocates a few large vectors and nothing per instruction.

mod body;
mod constant;
mod function;
pub(crate) mod operand;
mod units;

pub use body::Body;
pub use constant::Constant;
pub(crate) use function::Recycled;
pub(crate) use function::group_starting;
pub use function::{
    Function, Inst, InstructionStream, Locations, LoopLabels, Op, Param, Signature, Type, VRegGroup, VRegInfo,
};
pub use operand::{
    Abs64, IndexExpr, IntoOperand, IntoOperands, Label, Lane, Masked, MaskedMem, Mem, MemExpr, Operand, Reg, RegClass,
    RegList, Rounding, SegmentedMem, Update, VReg,
};
pub use units::{UnitSet, Units};
