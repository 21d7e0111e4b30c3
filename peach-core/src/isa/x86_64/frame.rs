//! The stack frame: which callee-saved registers the prologue pushes or stores, where stack
//! locals live, and the prologue and epilogue that set it up and tear it down.
//!
//! Without over-aligned locals the frame is rsp-based: pushes, then one `sub rsp` that makes rsp
//! 16-byte aligned and holds the vector save area and the locals. A local aligned to more than 16
//! bytes needs `rbp`: `push rbp`, the other pushes, `sub rsp` for the vector save area, `mov rbp,
//! rsp` (the vectors are saved from rbp), then `and rsp, -align` and `sub rsp` for the locals;
//! stack-passed parameters are then found from rbp. Both are prologues Windows x64 can describe
//! (pushes, allocations, a frame register set last, saves), as well as DWARF.

use iced_x86::{Code, Instruction, Register};

use super::encode::{Op2, with};
use super::layout::Assembler;
use super::regs::{GP, GP_UNITS, VEC, VEC_UNITS, unit_reg};
use crate::abi::CallConv;
use crate::abi::Frame;
use crate::emit::{EntryFrame, FrameStep, FrameSteps, Win64Step};
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

/// Appends `steps` (and the Windows x64 prologue's `win64`) at the position after the code so
/// far.
fn note(out: &mut Assembler, steps: &mut FrameSteps, now: &[FrameStep], win64: Option<Win64Step>) {
    if now.is_empty() && !(win64.is_some() && steps.records_win64()) {
        return;
    }
    let mark = out.mark();
    for s in now {
        steps.push(mark, *s);
    }
    if let Some(w) = win64 {
        steps.push_win64(mark, w);
    }
}

/// The number the instruction encoding (and Windows' unwind data) gives a register.
fn hardware(r: Register) -> u8 {
    r.full_register().number() as u8 % 32
}

/// The frame's layout, decided from the registers to save and the locals.
pub(super) struct Layout {
    /// General-purpose registers pushed after the frame pointer (if any).
    pushed: Vec<Register>,
    /// Vector registers stored at `[rsp + vec_at + 16 * i]` (`[rbp + 16 * i]` in a realigned
    /// frame).
    vec_saved: Vec<Register>,
    /// Offset of the vector saves from rsp: past the callee's home area when the code calls out
    /// (Microsoft x64), 0 otherwise and in a realigned frame.
    vec_at: i32,
    /// In a realigned frame, the bytes below the pushes that hold the vector saves (and keep
    /// rbp 16-byte aligned for them).
    vec_area: i32,
    /// The locals' alignment when it exceeds 16 (an rbp frame).
    realign: Option<u32>,
    /// Bytes `sub rsp` reserves.
    adjust: i32,
    /// Offset of the locals from rsp after the prologue.
    locals_base: i32,
    frame: Frame,
}

impl Layout {
    pub(super) fn new(frame: &Frame, conv: &CallConv) -> Layout {
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
        // rsp is 8 mod 16 at entry: after rbp and an even number of other pushes it is aligned.
        let vec_area = match saves {
            0 => 0,
            _ if pushed.len().is_multiple_of(2) => saves,
            _ => saves + 8,
        };
        // What the code calls may write its home area, at the bottom of the frame.
        let home = if frame.calls { conv.home_area } else { 0 };
        let (adjust, locals_base) = match realign {
            Some(align) => {
                let align = align as i32;
                let base = (home + align - 1) / align * align;
                (base + (frame.locals_size as i32 + align - 1) / align * align, base)
            }
            None => {
                let base = home + (saves + 15) / 16 * 16;
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
        let (vec_area, vec_at) = if realign.is_some() { (vec_area, 0) } else { (0, home) };
        Layout { pushed, vec_saved, vec_at, vec_area, realign, adjust, locals_base, frame: *frame }
    }

    /// Base register and offset of the stack locals.
    pub(super) fn locals(&self) -> (Register, i32) {
        (Register::RSP, self.locals_base)
    }

    /// Base register and offset of the first stack-passed parameter.
    pub(super) fn args(&self, conv: &CallConv) -> (Register, i32) {
        match self.realign {
            // rbp is below the vector area and the pushes (rbp's among them).
            Some(_) => (Register::RBP, self.vec_area + 8 * (self.pushed.len() as i32 + 1) + conv.stack_args_offset),
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
    /// at entry) moves with each push and `sub rsp`, or is found from rbp once `mov rbp, rsp`
    /// marks a realigned frame; each register pushed or stored is saved at its place.
    pub(super) fn prologue(&self, avx: bool, out: &mut Assembler, steps: &mut FrameSteps) -> Result<()> {
        let mut cfa = 8;
        let rbp = self.realign.map(|_| Register::RBP);
        for r in rbp.iter().chain(&self.pushed) {
            out.push(with(Code::Push_r64, &[Op2::R(*r)])?)?;
            cfa += 8;
            let now =
                [FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }, FrameStep::Saved { reg: dwarf(*r), offset: -cfa }];
            note(out, steps, &now, Some(Win64Step::Push(hardware(*r))));
        }
        // A page or more is reserved a page at a time, each one touched before the next: the
        // stack never moves past an untouched guard page (stack clash; Windows' guard page).
        // (`cfa`: where the CFA is still found from rsp, and so moves with it.)
        let reserve = |out: &mut Assembler, steps: &mut FrameSteps, mut cfa: Option<&mut i32>, bytes: i32| {
            let mut left = bytes;
            while left > 0 {
                let chunk = left.min(PAGE);
                out.push(rsp_imm(Code::Sub_rm64_imm8, Code::Sub_rm64_imm32, chunk)?)?;
                if let Some(cfa) = cfa.as_deref_mut() {
                    *cfa += chunk;
                    let now = [FrameStep::Cfa { reg: DWARF_RSP, offset: *cfa }];
                    note(out, steps, &now, Some(Win64Step::Alloc(chunk as u32)));
                }
                if chunk == PAGE {
                    out.push(with(Code::Or_rm64_imm8, &[Op2::M(Register::RSP, 0), Op2::I(0)])?)?;
                }
                left -= chunk;
            }
            Ok::<(), crate::error::Error>(())
        };
        // The vector saves, from `base` (which is where rsp was after the allocation), then the
        // end of the prologue.
        let store = if avx { Code::VEX_Vmovaps_xmmm128_xmm } else { Code::Movaps_xmmm128_xmm };
        let save = |out: &mut Assembler, steps: &mut FrameSteps, base: Register, cfa: i32| {
            for (i, r) in self.vec_saved.iter().enumerate() {
                let at = self.vec_at + 16 * i as i32;
                out.push(with(store, &[Op2::M(base, at as i64), Op2::R(*r)])?)?;
                let win64 = Win64Step::SaveXmm { reg: hardware(*r), offset: at as u32 };
                note(out, steps, &[FrameStep::Saved { reg: dwarf(*r), offset: at - cfa }], Some(win64));
            }
            note(out, steps, &[], Some(Win64Step::EndPrologue));
            Ok::<(), crate::error::Error>(())
        };
        match self.realign {
            Some(align) => {
                reserve(out, steps, Some(&mut cfa), self.vec_area)?;
                out.push(with(Code::Mov_r64_rm64, &[Op2::R(Register::RBP), Op2::R(Register::RSP)])?)?;
                let frame = Win64Step::SetFrame { reg: hardware(Register::RBP), offset: 0 };
                note(out, steps, &[FrameStep::Cfa { reg: DWARF_RBP, offset: cfa }], Some(frame));
                save(out, steps, Register::RBP, cfa)?;
                // The CFA is found from rbp from here on: the stack pointer is the body's.
                out.push(with(Code::And_rm64_imm32, &[Op2::R(Register::RSP), Op2::I(-(align as i64))])?)?;
                reserve(out, steps, None, self.adjust)?;
            }
            None => {
                reserve(out, steps, Some(&mut cfa), self.adjust)?;
                save(out, steps, Register::RSP, cfa)?;
            }
        }
        Ok(())
    }

    /// An epilogue, and in `steps` how it unwinds the frame: the body's state is remembered
    /// before it and restored after its `ret`, for the code that follows (unless the epilogue
    /// changes nothing the unwinder reads: then the body's state holds through it, and a
    /// function without a frame records no steps at all). Its shape is the one Windows
    /// recognises: `add rsp` or `lea rsp`, pops, `ret`.
    pub(super) fn epilogue(&self, avx: bool, out: &mut Assembler, steps: &mut FrameSteps) -> Result<()> {
        let frameless =
            self.vec_saved.is_empty() && self.realign.is_none() && self.adjust == 0 && self.pushed.is_empty();
        if !frameless {
            note(out, steps, &[FrameStep::Remember], None);
        }
        if self.frame.clear_upper && avx {
            out.push_blank(Code::VEX_Vzeroupper)?;
        }
        let load = if avx { Code::VEX_Vmovaps_xmm_xmmm128 } else { Code::Movaps_xmm_xmmm128 };
        let base = if self.realign.is_some() { Register::RBP } else { Register::RSP };
        for (i, r) in self.vec_saved.iter().enumerate() {
            out.push(with(load, &[Op2::R(*r), Op2::M(base, (self.vec_at + 16 * i as i32) as i64)])?)?;
            note(out, steps, &[FrameStep::Restored { reg: dwarf(*r) }], None);
        }
        let rbp = self.realign.map(|_| Register::RBP);
        let mut cfa = 8 + 8 * (self.pushed.len() + rbp.iter().len()) as i32;
        if self.realign.is_some() {
            let above_rbp = self.vec_area as i64;
            out.push(with(Code::Lea_r64_m, &[Op2::R(Register::RSP), Op2::M(Register::RBP, above_rbp)])?)?;
            note(out, steps, &[FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }], None);
        } else if self.adjust != 0 {
            out.push(rsp_imm(Code::Add_rm64_imm8, Code::Add_rm64_imm32, self.adjust)?)?;
            note(out, steps, &[FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }], None);
        }
        for r in self.pushed.iter().rev().chain(&rbp) {
            out.push(with(Code::Pop_r64, &[Op2::R(*r)])?)?;
            cfa -= 8;
            let now = [FrameStep::Cfa { reg: DWARF_RSP, offset: cfa }, FrameStep::Restored { reg: dwarf(*r) }];
            note(out, steps, &now, None);
        }
        out.push_blank(Code::Retnq)?;
        if !frameless {
            note(out, steps, &[FrameStep::Restore], None);
        }
        Ok(())
    }
}

/// The page size probes step by (the smallest of the targets' pages).
const PAGE: i32 = 4096;

fn rsp_imm(short: Code, long: Code, v: i32) -> Result<Instruction> {
    let code = if (-128..128).contains(&v) { short } else { long };
    with(code, &[Op2::R(Register::RSP), Op2::I(v as i64)])
}
