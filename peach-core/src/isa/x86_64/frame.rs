//! The stack frame: which callee-saved registers the prologue pushes or stores, where stack
//! locals live, and the prologue and epilogue that set it up and tear it down.
//!
//! Without over-aligned locals the frame is rsp-based: pushes, then one `sub rsp` that makes rsp
//! 16-byte aligned and holds the vector save area and the locals. A local aligned to more than 16
//! bytes needs `rbp`: `push rbp; mov rbp, rsp`, the other pushes, `and rsp, -align`, `sub rsp`;
//! stack-passed parameters are then found from rbp.

use iced_x86::{Code, Instruction, Register};

use super::encode::{Op2, with};
use super::layout::Assembler;
use super::regs::{GP, GP_UNITS, VEC, VEC_UNITS, unit_reg};
use crate::abi::CallConv;
use crate::abi::Frame;
use crate::emit::{EntryFrame, FrameStep, FrameSteps};
use crate::error::Result;
use crate::ir::UnitSet;

/// DWARF's numbers of rsp and rbp.
const DWARF_RSP: u16 = 7;
const DWARF_RBP: u16 = 6;

/// The frame at entry: the CFA is rsp + 8, the return address (column 16) at CFA - 8.
pub(super) const ENTRY: EntryFrame = EntryFrame { cfa: (DWARF_RSP, 8), return_address: 16, return_saved_at: Some(-8) };

/// DWARF's number of a general-purpose or xmm register (System V psABI, figure 3.36).
pub(super) fn dwarf(r: Register) -> u16 {
    let full = r.full_register();
    let n = full.number() as u16;
    if full.is_gpr64() {
        // rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, then r8-r15.
        [0, 2, 1, 3, 7, 6, 4, 5].get(n as usize).copied().unwrap_or(n)
    } else if n < 16 {
        17 + n
    } else {
        67 + n - 16
    }
}

/// Appends `steps` at the position after the code so far.
fn note(out: &mut Assembler, steps: &mut FrameSteps, now: &[FrameStep]) {
    let mark = out.mark();
    for s in now {
        steps.push(mark, *s);
    }
}

/// The frame's layout, decided from the registers to save and the locals.
pub(super) struct Layout {
    /// General-purpose registers pushed after the frame pointer (if any).
    pushed: Vec<Register>,
    /// Vector registers stored at `[rsp + 16 * i]`.
    vec_saved: Vec<Register>,
    /// The locals' alignment when it exceeds 16 (an rbp frame).
    realign: Option<u32>,
    /// Bytes `sub rsp` reserves.
    adjust: i32,
    /// Offset of the locals from rsp after the prologue.
    locals_base: i32,
    frame: Frame,
}

impl Layout {
    pub(super) fn new(frame: &Frame) -> Layout {
        let realign = (frame.locals_align > 16).then_some(frame.locals_align);
        let rbp = GP_UNITS + 5;
        // Only the units saved are visited: nothing here grows with the register file.
        let pushed: Vec<Register> = (frame.saved & UnitSet::range(GP_UNITS, 16))
            .iter()
            .filter(|u| !(realign.is_some() && *u == rbp))
            .map(|u| unit_reg(u, GP, 3))
            .collect();
        let vec_saved: Vec<Register> =
            (frame.saved & UnitSet::range(VEC_UNITS, 32)).iter().map(|u| unit_reg(u, VEC, 0)).collect();
        let saves = 16 * vec_saved.len() as i32;
        let (adjust, locals_base) = match realign {
            Some(align) => {
                let align = align as i32;
                let base = (saves + align - 1) / align * align;
                let end = base + frame.locals_size as i32;
                ((end + align - 1) / align * align, base)
            }
            None => {
                let base = (saves + 15) / 16 * 16;
                let area = base + frame.locals_size as i32;
                if area == 0 {
                    // rsp is 8 mod 16 at entry: a call needs it 0 mod 16.
                    let misaligned = pushed.len().is_multiple_of(2);
                    (if frame.calls && misaligned { 8 } else { 0 }, 0)
                } else {
                    // rsp is 8 mod 16 at entry; keep it 16-byte aligned after the prologue.
                    let area = (area + 15) / 16 * 16;
                    (if pushed.len().is_multiple_of(2) { area + 8 } else { area }, base)
                }
            }
        };
        Layout { pushed, vec_saved, realign, adjust, locals_base, frame: *frame }
    }

    /// Base register and offset of the stack locals.
    pub(super) fn locals(&self) -> (Register, i32) {
        (Register::RSP, self.locals_base)
    }

    /// Base register and offset of the first stack-passed parameter.
    pub(super) fn args(&self, conv: &CallConv) -> (Register, i32) {
        match self.realign {
            Some(_) => (Register::RBP, 8 + conv.stack_args_offset),
            None => (Register::RSP, 8 * self.pushed.len() as i32 + self.adjust + conv.stack_args_offset),
        }
    }

    /// Instructions the prologue and epilogue use, for the extensions record.
    pub(super) fn codes(&self, avx: bool) -> impl Iterator<Item = Code> {
        let always = [Code::Push_r64, Code::Pop_r64, Code::Retnq, Code::Sub_rm64_imm32, Code::Or_rm64_imm8];
        let vzeroupper = (self.frame.clear_upper && avx).then_some(Code::VEX_Vzeroupper);
        let saves = (!self.vec_saved.is_empty()).then_some(if avx {
            Code::VEX_Vmovaps_xmm_xmmm128
        } else {
            Code::Movaps_xmm_xmmm128
        });
        always.into_iter().chain(vzeroupper).chain(saves)
    }

    /// The prologue, and in `steps` how each instruction changes the frame: the CFA (rsp + 8
    /// at entry) moves with each push and `sub rsp` of an rsp frame, or is rbp + 16 from `mov
    /// rbp, rsp` on in a realigned one; each register pushed or stored is saved at its place.
    pub(super) fn prologue(&self, avx: bool, out: &mut Assembler, steps: &mut FrameSteps) -> Result<()> {
        let mut cfa = 8;
        if let Some(align) = self.realign {
            out.push(with(Code::Push_r64, &[Op2::R(Register::RBP)])?)?;
            let saved_rbp = FrameStep::Saved { reg: DWARF_RBP, offset: -16 };
            note(out, steps, &[FrameStep::Cfa { reg: DWARF_RSP, offset: 16 }, saved_rbp]);
            out.push(with(Code::Mov_r64_rm64, &[Op2::R(Register::RBP), Op2::R(Register::RSP)])?)?;
            note(out, steps, &[FrameStep::Cfa { reg: DWARF_RBP, offset: 16 }]);
            for (k, r) in self.pushed.iter().enumerate() {
                out.push(with(Code::Push_r64, &[Op2::R(*r)])?)?;
                note(out, steps, &[FrameStep::Saved { reg: dwarf(*r), offset: -24 - 8 * k as i32 }]);
            }
            out.push(with(Code::And_rm64_imm32, &[Op2::R(Register::RSP), Op2::I(-(align as i64))])?)?;
        } else {
            for r in &self.pushed {
                out.push(with(Code::Push_r64, &[Op2::R(*r)])?)?;
                cfa += 8;
                let now =
                    [FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }, FrameStep::Saved { reg: dwarf(*r), offset: -cfa }];
                note(out, steps, &now);
            }
        }
        // A page or more is reserved a page at a time, each one touched before the next: the
        // stack never moves past an untouched guard page (stack clash; Windows' guard page).
        let mut left = self.adjust;
        let mut reserve = |out: &mut Assembler, bytes: i32| -> Result<()> {
            out.push(rsp_imm(Code::Sub_rm64_imm8, Code::Sub_rm64_imm32, bytes)?)?;
            if self.realign.is_none() {
                cfa += bytes;
                note(out, steps, &[FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }]);
            }
            Ok(())
        };
        while left >= PAGE {
            reserve(out, PAGE)?;
            out.push(with(Code::Or_rm64_imm8, &[Op2::M(Register::RSP, 0), Op2::I(0)])?)?;
            left -= PAGE;
        }
        if left != 0 {
            reserve(out, left)?;
        }
        let store = if avx { Code::VEX_Vmovaps_xmmm128_xmm } else { Code::Movaps_xmmm128_xmm };
        for (i, r) in self.vec_saved.iter().enumerate() {
            out.push(with(store, &[Op2::M(Register::RSP, 16 * i as i64), Op2::R(*r)])?)?;
            // (Below a realigned rsp the CFA cannot reach: the save is rsp-relative.)
            let at = 16 * i as i32;
            let step = match self.realign {
                Some(_) => FrameStep::SavedAt { reg: dwarf(*r), base: DWARF_RSP, offset: at },
                None => FrameStep::Saved { reg: dwarf(*r), offset: at - cfa },
            };
            note(out, steps, &[step]);
        }
        Ok(())
    }

    /// An epilogue, and in `steps` how it unwinds the frame: the body's state is remembered
    /// before it and restored after its `ret`, for the code that follows.
    pub(super) fn epilogue(&self, avx: bool, out: &mut Assembler, steps: &mut FrameSteps) -> Result<()> {
        note(out, steps, &[FrameStep::Remember]);
        if self.frame.clear_upper && avx {
            out.push_blank(Code::VEX_Vzeroupper)?;
        }
        let load = if avx { Code::VEX_Vmovaps_xmm_xmmm128 } else { Code::Movaps_xmm_xmmm128 };
        for (i, r) in self.vec_saved.iter().enumerate() {
            out.push(with(load, &[Op2::R(*r), Op2::M(Register::RSP, 16 * i as i64)])?)?;
            note(out, steps, &[FrameStep::Restored { reg: dwarf(*r) }]);
        }
        let mut cfa = 8 + 8 * self.pushed.len() as i32 + self.adjust;
        if self.realign.is_some() {
            let below_rbp = -8 * self.pushed.len() as i64;
            out.push(with(Code::Lea_r64_m, &[Op2::R(Register::RSP), Op2::M(Register::RBP, below_rbp)])?)?;
        } else if self.adjust != 0 {
            out.push(rsp_imm(Code::Add_rm64_imm8, Code::Add_rm64_imm32, self.adjust)?)?;
            cfa -= self.adjust;
            note(out, steps, &[FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }]);
        }
        for r in self.pushed.iter().rev() {
            out.push(with(Code::Pop_r64, &[Op2::R(*r)])?)?;
            let restored = FrameStep::Restored { reg: dwarf(*r) };
            if self.realign.is_some() {
                note(out, steps, &[restored]);
            } else {
                cfa -= 8;
                note(out, steps, &[FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }, restored]);
            }
        }
        if self.realign.is_some() {
            out.push(with(Code::Pop_r64, &[Op2::R(Register::RBP)])?)?;
            let now = [FrameStep::Cfa { reg: DWARF_RSP, offset: 8 }, FrameStep::Restored { reg: DWARF_RBP }];
            note(out, steps, &now);
        }
        out.push_blank(Code::Retnq)?;
        note(out, steps, &[FrameStep::Restore]);
        Ok(())
    }
}

/// The page size probes step by (the smallest of the targets' pages).
const PAGE: i32 = 4096;

fn rsp_imm(short: Code, long: Code, v: i32) -> Result<Instruction> {
    let code = if (-128..128).contains(&v) { short } else { long };
    with(code, &[Op2::R(Register::RSP), Op2::I(v as i64)])
}
