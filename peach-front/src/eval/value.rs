//! The values a static kernel body computes with.

use std::rc::Rc;

use peach_core::ir::{Constant, Label, Lane, Masked, MaskedMem, Mem, Operand, Reg, Rounding};
use peach_core::isa::x86_64::Elem;

use super::num::{Float, Int};

/// An address being computed: `base + index * scale + disp`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Addr {
    pub base: Option<Reg>,
    pub index: Option<(Reg, u8)>,
    pub disp: i128,
}

/// A value of the interpreted Rust subset.
#[derive(Clone)]
pub(crate) enum Value {
    Unit,
    Int(Int),
    Float(Float),
    Bool(bool),
    Reg(Reg),
    Masked(Masked),
    MaskedMem(MaskedMem),
    Lane(Lane),
    Addr(Addr),
    Mem(Mem),
    Label(Label),
    Rounding(Rounding),
    Constant(Constant),
    Elem(Elem),
    Array(Vec<Value>),
    Tuple(Vec<Value>),
    /// `start..end`, or `start..=end` when the flag is set.
    Range(Int, Int, bool),
    /// The target being compiled for (`target.has_fma3()`).
    Target,
    /// A nested `fn`: a custom instruction, with the depth of the scope that defines it (what
    /// it sees: the items of that scope and those around it, as in Rust).
    Func(Rc<syn::ItemFn>, usize),
    /// An instruction stream made by `STREAM({ ... })`: an index into the evaluator's streams.
    Stream(usize),
}

impl Value {
    /// What kind of value this is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Unit => "()",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a bool",
            Value::Reg(_) => "a register",
            Value::Masked(_) => "a masked register",
            Value::MaskedMem(_) => "a masked memory operand",
            Value::Lane(_) => "a vector element",
            Value::Addr(_) => "an address (put it in brackets to make a memory operand)",
            Value::Mem(_) => "a memory operand",
            Value::Label(_) => "a label",
            Value::Rounding(_) => "a rounding mode",
            Value::Constant(_) => "a constant",
            Value::Elem(_) => "an element type",
            Value::Array(_) => "an array",
            Value::Tuple(_) => "a tuple",
            Value::Range(..) => "a range",
            Value::Target => "the target",
            Value::Func(..) => "a function",
            Value::Stream(_) => "an instruction stream",
        }
    }

    /// The value as instruction operands (two for a masked memory destination), if it is one
    /// (constants and integers are handled by the caller).
    pub(crate) fn push_operands(&self, out: &mut Vec<Operand>) -> bool {
        match self {
            Value::MaskedMem(m) => out.extend([Operand::Mem(m.mem), Operand::MemMask(m.mask)]),
            other => match other.operand() {
                Some(op) => out.push(op),
                None => return false,
            },
        }
        true
    }

    /// The value as one instruction operand, if it is one.
    pub(crate) fn operand(&self) -> Option<Operand> {
        Some(match self {
            Value::Reg(r) => Operand::Reg(*r),
            Value::Masked(m) => Operand::Masked(*m),
            Value::Lane(l) => Operand::Lane(*l),
            Value::Mem(m) => Operand::Mem(*m),
            Value::Label(l) => Operand::Label(*l),
            Value::Rounding(r) => Operand::Rounding(*r),
            _ => return None,
        })
    }
}
