//! The AArch64 backend: a table-driven encoder of our own (there is no maintained run-time
//! AArch64 encoder crate), checked row by row against llvm-mc; registers with their views; the
//! AAPCS64 and Apple arm64 conventions.
//!
//! ```
//! use peach_core::prelude::*;
//! use peach_core::isa::aarch64::A64Reg;
//!
//! // f64 axpy1(f64 a, f64 x, f64 y) { a * x + y }
//! let sig = Signature::new(&[Type::F64, Type::F64, Type::F64], Some(Type::F64));
//! let mut f = Function::new("axpy1", sig, Target::aarch64_neon());
//! let (a, x, y) = (f.param(0), f.param(1), f.param(2));
//! f.ins("fmadd", (a.d(), a.d(), x.d(), y.d()));
//! f.ret(a);
//! let code = f.compile(Abi::Aapcs64)?;
//! assert!(code.listing().contains("fmadd d0, d0, d1, d2"));
//! # Ok::<(), peach_core::Error>(())
//! ```

mod abi;
mod emit;
mod encode;
pub(crate) mod lang;
mod pseudo;
mod regs;
mod select;
mod syntax;
mod system;
mod table;
pub(crate) mod target;
mod text;

pub(crate) use encode::Arrangement;
pub use pseudo::{A64Pseudo, Cond, Extend, FpImm, PageOffset, Prefetch, Shift, names};
pub use regs::{A64Builder, A64Reg, GP, VEC, reg, reg_by_name};
pub use system::{Barrier, BranchTarget, CacheOp, SysReg};
pub(crate) use table::{Kind, Row, rows};

use self::abi::{GP_ALLOC, VEC_ALL, VEC_LOW};
use self::regs::{GP_UNITS, VEC_UNITS, VIEW_D, VIEW_S, VIEW_W, VIEW_X, unit_of};
use self::table::{First, first_role, second_written, writes_status};
use super::{ClassInfo, Flow, Isa, RegVisitor, Role};
use crate::abi::Frame;
use crate::abi::{Abi, CallConv};
use crate::emit::CodeObject;
use crate::error::Result;
use crate::ir::Body;
use crate::ir::{Function, Mem, Operand, Reg, RegClass, Type, UnitSet, VReg, VRegInfo};
use crate::target::{Extension, Target};

/// The AArch64 instruction set.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Aarch64;

fn reg_of(op: &Operand) -> Option<VReg> {
    if let Operand::Reg(r) = op { r.vreg() } else { None }
}

fn row(opcode: u32) -> Option<&'static Row> {
    rows().get(opcode as usize)
}

impl Isa for Aarch64 {
    const FRAME_POINTER_UNIT: u8 = GP_UNITS + 29;

    const CLASSES: &'static [ClassInfo] = &[
        ClassInfo { name: "general-purpose", first_unit: GP_UNITS, units: 31 },
        ClassInfo { name: "vector", first_unit: VEC_UNITS, units: 32 },
    ];

    fn parse_text(line: &str, args: &[Operand]) -> Result<super::TextInst> {
        text::parse(line, args)
    }

    fn check_inst(f: &mut Function, mnemonic: &str, ops: &mut Vec<Operand>) -> Result<u32> {
        let groups = f.vreg_groups().to_vec();
        select::select(f.target(), &groups, mnemonic, ops)
    }

    fn param_vreg(f: &mut Function, ty: Type) -> Reg {
        // Parameters are created where the function is.
        let loc = f.location();
        match ty {
            Type::F64 => f.new_vreg_at(VEC, VIEW_D, loc),
            Type::F32 => f.new_vreg_at(VEC, VIEW_S, loc),
            // A narrow integer is a `w` register: what is above its own width is unspecified.
            Type::I8 | Type::U8 | Type::I16 | Type::U16 | Type::I32 | Type::U32 => f.new_vreg_at(GP, VIEW_W, loc),
            _ => f.new_vreg_at(GP, VIEW_X, loc),
        }
    }

    fn gp_bits(reg: Reg) -> u32 {
        if regs::class_view(reg) == Some((GP, VIEW_W)) { 32 } else { 64 }
    }

    fn reads_low_bits(opcode: u32) -> Option<u32> {
        match row(opcode)?.name {
            "uxtb" | "sxtb" => Some(8),
            "uxth" | "sxth" => Some(16),
            _ => None,
        }
    }

    fn widen_hint(ty: Type) -> &'static str {
        match ty {
            Type::I32 => "`SXTW(wide, x)` sign-extends it",
            Type::U32 => "`MOV(x, x)` on the `w` view zero-extends it in place",
            Type::I16 => "`SXTH(x, x)` sign-extends it",
            Type::U16 => "`UXTH(x, x)` zero-extends it",
            Type::I8 => "`SXTB(x, x)` sign-extends it",
            _ => "`UXTB(x, x)` zero-extends it",
        }
    }

    fn value_class(ty: Type) -> RegClass {
        if ty.is_float() { VEC } else { GP }
    }

    fn gen_move(dst: Reg, src: Reg, class: RegClass, _target: &Target) -> (u32, [Operand; 2]) {
        if class == VEC {
            let index = select::row_index("mov", &[Kind::V(Arrangement::B16), Kind::V(Arrangement::B16)]);
            (index, [Operand::Reg(dst.b16()), Operand::Reg(src.b16())])
        } else {
            (select::row_index("mov", &[Kind::X, Kind::X]), [Operand::Reg(dst.x()), Operand::Reg(src.x())])
        }
    }

    fn gen_load_arg(dst: Reg, ty: Type, offset: i32, _target: &Target) -> (u32, [Operand; 2]) {
        let mem = Operand::Mem(Mem::base_disp(regs::ARG_AREA, offset as i64));
        let (kind, dst) = match ty {
            Type::F64 => (Kind::D, dst.d()),
            Type::F32 => (Kind::S, dst.s()),
            Type::I32 | Type::U32 => (Kind::W, dst.w()),
            _ => (Kind::X, dst.x()),
        };
        (select::row_index("ldr", &[kind, Kind::Mem]), [Operand::Reg(dst), mem])
    }

    fn visit(_target: &Target, _vregs: &[VRegInfo], opcode: u32, ops: &[Operand], visit: &mut impl RegVisitor) {
        let Some(row) = row(opcode) else { return };
        // Selection never picks a row without a role; read-and-written is the safe reading.
        let first = first_role(row).unwrap_or(First::UseDef);
        // `eor v0.16b, v0.16b, v0.16b` and `sub x0, x0, x0` read nothing: they make zero.
        let zeroing = matches!(row.name, "eor" | "sub" | "bic")
            && ops.len() == 3
            && ops.iter().all(|o| matches!(o, Operand::Reg(r) if r.vreg().is_some() && r.vreg() == reg_of(&ops[0])));
        for (i, op) in ops.iter().enumerate() {
            match op {
                Operand::Reg(_) if zeroing && i > 0 => {}
                // Every register of a list: a group of virtual ones, or consecutive physical ones.
                Operand::Reg(r)
                | Operand::List(crate::ir::RegList { first: r, .. })
                | Operand::Lane(crate::ir::Lane { reg: r, .. })
                    if matches!(row.kinds().get(i), Some(Kind::List(..) | Kind::List1(_) | Kind::LaneList(..))) =>
                {
                    let count = match row.kinds().get(i).copied() {
                        Some(Kind::List(count, _) | Kind::LaneList(count, _)) => count,
                        _ => 1,
                    };
                    // (A lane load keeps the other elements: its row reads the list too.)
                    let role = match (i, first) {
                        (0, First::Def) => Role::Def,
                        (0, First::UseDef) => Role::UseDef,
                        _ => Role::Use,
                    };
                    match r.vreg() {
                        Some(v) => {
                            for k in 0..count as u32 {
                                visit.reg(Reg::virt(VEC, r.view(), v.0 + k), role, VEC_ALL);
                            }
                        }
                        None => {
                            let n = regs::parts(*r).map_or(0, |(_, _, n)| n);
                            for k in 0..count {
                                visit.reg(regs::phys(VEC, regs::VIEW_Q, (n + k) % 32), role, UnitSet::EMPTY);
                            }
                        }
                    }
                }
                // A register pair (`casp`): both registers, physical.
                Operand::Reg(r) if matches!(row.kinds().get(i), Some(Kind::Pair(_))) => {
                    let role = if i == 0 { Role::UseDef } else { Role::Use };
                    if let Some((class, view, n)) = regs::parts(*r) {
                        visit.reg(*r, role, UnitSet::EMPTY);
                        visit.reg(regs::phys(class, view, (n + 1) % 32), role, UnitSet::EMPTY);
                    }
                }
                Operand::Reg(r) | Operand::Lane(crate::ir::Lane { reg: r, .. }) => {
                    let role = match (i, first) {
                        (0, First::Def) => Role::Def,
                        (0, First::UseDef) => Role::UseDef,
                        (1, _) if second_written(row) => Role::Def,
                        // Read while the status is written: never the status's register.
                        _ if writes_status(row.name) => Role::UseLate,
                        _ => Role::Use,
                    };
                    let allowed = match (row.kinds().get(i), row.fields().get(i)) {
                        (Some(Kind::Elem(2)), Some(table::Field::ElemMul)) => VEC_LOW,
                        _ if regs::class_view(*r).is_some_and(|(c, _)| c == VEC) => VEC_ALL,
                        _ => GP_ALLOC,
                    };
                    visit.reg(*r, role, allowed);
                }
                Operand::Mem(m) => {
                    // A pre- or post-indexed base is written back.
                    let base_role = match m.update {
                        _ if writes_status(row.name) => Role::UseLate,
                        crate::ir::Update::None => Role::Use,
                        _ => Role::UseDef,
                    };
                    for (r, role) in [(m.base, base_role), (m.index, Role::Use)] {
                        if let Some(r) =
                            r.filter(|r| *r != regs::ARG_AREA && r.phys_id().is_none_or(|_| unit_of(*r).is_some()))
                        {
                            visit.reg(r, role, GP_ALLOC);
                        }
                    }
                }
                _ => {}
            }
        }
        // A call leaves its return address in x30, which the function's own `ret` needs (the
        // prologue saves x30 where the code writes it), and runs code that may write every
        // register its caller must save: x0-x18 and the vector registers (of v8-v15 only the
        // low halves are kept). To the allocator the call writes them all.
        if matches!(row.name, "bl" | "blr") {
            for n in (0..19).chain([30]) {
                visit.reg(regs::phys(GP, VIEW_X, n), Role::Def, UnitSet::EMPTY);
            }
            for n in 0..32 {
                visit.reg(regs::phys(VEC, regs::VIEW_Q, n), Role::Def, UnitSet::EMPTY);
            }
        }
    }

    fn unit(reg: Reg) -> Option<u8> {
        unit_of(reg)
    }

    fn class_units(_target: &Target, class: RegClass) -> UnitSet {
        match class {
            GP => GP_ALLOC,
            VEC => VEC_ALL,
            _ => UnitSet::EMPTY,
        }
    }

    fn flow(opcode: u32, ops: &[Operand]) -> Flow {
        let label = ops.iter().find_map(|o| if let Operand::Label(l) = o { Some(*l) } else { None });
        let Some(row) = row(opcode) else { return Flow::Next };
        let conditional = row.name.starts_with("b.") || matches!(row.name, "cbz" | "cbnz" | "tbz" | "tbnz");
        match (row.name, label) {
            ("b", Some(l)) => Flow::Jump(l),
            (_, Some(l)) if conditional => Flow::Cond(l),
            ("ret" | "br", None) => Flow::Exit,
            ("bl" | "blr", _) => Flow::Call,
            // `adr` and `ldr` only read a label's address.
            _ => Flow::Next,
        }
    }

    fn as_move(opcode: u32, ops: &[Operand]) -> Option<(Reg, Reg)> {
        let [Operand::Reg(d), Operand::Reg(s)] = ops else { return None };
        let row = row(opcode)?;
        let full = row.kinds() == [Kind::X, Kind::X] || row.kinds() == [Kind::V(Arrangement::B16); 2];
        (row.name == "mov" && full).then_some((*d, *s))
    }

    fn call_conv(abi: Abi) -> Result<CallConv> {
        abi::call_conv(abi)
    }

    fn emit(body: &Body, units: &[Option<u8>], frame: &Frame, conv: &CallConv) -> Result<CodeObject> {
        emit::emit(body, units, frame, conv)
    }

    fn dirties_upper(_opcode: u32) -> bool {
        false
    }

    fn extension_name(e: Extension) -> &'static str {
        target::extension_name(e)
    }

    fn extension_by_name(name: &str) -> Option<Extension> {
        target::extension_by_name(name)
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod text_tests;
#[cfg(test)]
mod unwind_tests;
