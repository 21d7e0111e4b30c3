//! Unwind information: where a function's frame changes, as the ISA's prologue and epilogue
//! build and tear it down, so that debuggers, profilers and exception handling can walk out of
//! it. Registers are named by their DWARF numbers; the steps become the call-frame directives
//! (`.cfi_*`) of static code, and an `.eh_frame` ([`eh_frame`]) for code loaded at run time.

/// The frame at a function's entry, as a call of the ISA leaves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryFrame {
    /// The CFA: a register (DWARF number) and what is added to it.
    pub cfa: (u16, i32),
    /// The register (DWARF number) that holds the return address, or names its column.
    pub return_address: u16,
    /// Where the return address is saved, from the CFA (`None`: in its register).
    pub return_saved_at: Option<i32>,
}

/// A change of the frame, taking effect at an offset of the code (after the instruction that
/// makes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameStep {
    /// The canonical frame address (the stack pointer before the call) is `reg + offset`.
    Cfa {
        /// DWARF register number.
        reg: u16,
        /// Bytes added to it.
        offset: i32,
    },
    /// Register `reg`'s caller value is saved at CFA + `offset`.
    Saved {
        /// DWARF register number.
        reg: u16,
        /// From the CFA.
        offset: i32,
    },
    /// Register `reg` holds its caller's value again.
    Restored {
        /// DWARF register number.
        reg: u16,
    },
    /// The state is kept here (before an epilogue) ...
    Remember,
    /// ... and brought back here (after its return, for the code that follows).
    Restore,
}

impl FrameStep {
    /// The assembler directive that says it (`.cfi_def_cfa 7, 16`).
    ///
    /// ```
    /// use peach_core::emit::FrameStep;
    /// assert_eq!(FrameStep::Saved { reg: 3, offset: -16 }.directive(), ".cfi_offset 3, -16");
    /// assert_eq!(FrameStep::Restore.directive(), ".cfi_restore_state");
    /// ```
    pub fn directive(&self) -> String {
        match *self {
            FrameStep::Cfa { reg, offset } => format!(".cfi_def_cfa {reg}, {offset}"),
            FrameStep::Saved { reg, offset } => format!(".cfi_offset {reg}, {offset}"),
            FrameStep::Restored { reg } => format!(".cfi_restore {reg}"),
            FrameStep::Remember => ".cfi_remember_state".into(),
            FrameStep::Restore => ".cfi_restore_state".into(),
        }
    }
}

/// An `.eh_frame` for one function at `address`, `len` bytes long, entered with `entry` and
/// whose frame changes by `steps`: a CIE (the frame at entry), an FDE (the steps as DWARF
/// call-frame instructions) and the zero word that ends the section, as libgcc's
/// `__register_frame` takes it.
///
/// ```
/// use peach_core::emit::{EntryFrame, FrameStep, eh_frame};
/// // x86-64: the CFA is rsp + 8, the return address at CFA - 8.
/// let entry = EntryFrame { cfa: (7, 8), return_address: 16, return_saved_at: Some(-8) };
/// let steps = [(1, FrameStep::Cfa { reg: 7, offset: 16 }), (1, FrameStep::Saved { reg: 3, offset: -16 })];
/// let frame = eh_frame(&entry, 0x1000, 16, &steps);
/// assert_eq!(&frame[frame.len() - 4..], &[0, 0, 0, 0]);
/// ```
pub fn eh_frame(entry: &EntryFrame, address: u64, len: u64, steps: &[(u32, FrameStep)]) -> Vec<u8> {
    // Offsets are multiples of 4 on every ISA peach has (others take the long form).
    let data_align = -4;
    let mut cie = vec![1u8, 0]; // version 1, no augmentation: pointers are absolute, 8 bytes
    uleb128(1, &mut cie); // code alignment
    sleb128(data_align, &mut cie);
    uleb128(entry.return_address as u64, &mut cie);
    instruction(FrameStep::Cfa { reg: entry.cfa.0, offset: entry.cfa.1 }, data_align, &mut cie);
    if let Some(at) = entry.return_saved_at {
        instruction(FrameStep::Saved { reg: entry.return_address, offset: at }, data_align, &mut cie);
    }
    let mut out = Vec::new();
    record(&mut out, 0, &cie);
    let mut fde = Vec::new();
    fde.extend_from_slice(&address.to_le_bytes());
    fde.extend_from_slice(&len.to_le_bytes());
    let mut at = 0u32;
    for &(offset, step) in steps {
        if offset > at {
            advance(offset - at, &mut fde);
            at = offset;
        }
        instruction(step, data_align, &mut fde);
    }
    // The CIE pointer is the distance back from itself to the CIE.
    let cie_pointer = out.len() as u32 + 4;
    record(&mut out, cie_pointer, &fde);
    out.extend_from_slice(&[0; 4]);
    out
}

/// A CIE or FDE: its length, its id or CIE pointer, `body`, padded to 8 bytes with
/// `DW_CFA_nop`.
fn record(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    let len = (4 + body.len()).next_multiple_of(8);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + len - 4 - body.len(), 0);
}

/// `DW_CFA_advance_loc` in its shortest form.
fn advance(delta: u32, out: &mut Vec<u8>) {
    match delta {
        0..64 => out.push(0x40 | delta as u8),
        64..256 => out.extend_from_slice(&[0x02, delta as u8]),
        256..65536 => {
            out.push(0x03);
            out.extend_from_slice(&(delta as u16).to_le_bytes());
        }
        _ => {
            out.push(0x04);
            out.extend_from_slice(&delta.to_le_bytes());
        }
    }
}

/// The DWARF call-frame instruction of `step`.
fn instruction(step: FrameStep, data_align: i64, out: &mut Vec<u8>) {
    match step {
        FrameStep::Cfa { reg, offset } => {
            out.push(0x0c); // DW_CFA_def_cfa
            uleb128(reg as u64, out);
            uleb128(offset as u64, out);
        }
        FrameStep::Saved { reg, offset } => {
            let factored = offset as i64 / data_align;
            if reg < 64 && factored >= 0 && factored * data_align == offset as i64 {
                out.push(0x80 | reg as u8); // DW_CFA_offset
                uleb128(factored as u64, out);
            } else {
                out.push(0x11); // DW_CFA_offset_extended_sf
                uleb128(reg as u64, out);
                sleb128(factored, out);
            }
        }
        FrameStep::Restored { reg } if reg < 64 => out.push(0xc0 | reg as u8), // DW_CFA_restore
        FrameStep::Restored { reg } => {
            out.push(0x06); // DW_CFA_restore_extended
            uleb128(reg as u64, out);
        }
        FrameStep::Remember => out.push(0x0a),
        FrameStep::Restore => out.push(0x0b),
    }
}

pub(super) fn uleb128(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(super) fn sleb128(mut v: i64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An operation of the Windows x64 unwind data (an `UNWIND_CODE`), taking effect at the end of
/// the prologue instruction it follows; registers by the numbers the instruction encoding uses
/// (`rbx` 3, `rbp` 5, `xmm6` 6). Windows reads a prologue only: epilogues are recognised by
/// their shape (`add rsp` or `lea rsp`, pops, `ret`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Win64Step {
    /// `push reg` (`UWOP_PUSH_NONVOL`).
    Push(u8),
    /// `sub rsp, bytes` (`UWOP_ALLOC_SMALL`/`LARGE`).
    Alloc(u32),
    /// `reg` now holds rsp + `offset` (a multiple of 16 up to 240), and marks the frame: the
    /// stack pointer may move freely after it (`UWOP_SET_FPREG`).
    SetFrame {
        /// The frame register.
        reg: u8,
        /// Its distance above rsp.
        offset: u32,
    },
    /// xmm `reg` stored at `offset` (a multiple of 16) above rsp, or above the frame register
    /// less its offset once there is one (`UWOP_SAVE_XMM128`).
    SaveXmm {
        /// The xmm register.
        reg: u8,
        /// Where.
        offset: u32,
    },
    /// The prologue ends here.
    EndPrologue,
}

impl Win64Step {
    /// The assembler directive that says it (`.seh_pushreg 3`).
    ///
    /// ```
    /// use peach_core::emit::Win64Step;
    /// assert_eq!(Win64Step::SaveXmm { reg: 6, offset: 32 }.directive(), ".seh_savexmm 6, 32");
    /// ```
    pub fn directive(&self) -> String {
        match *self {
            Win64Step::Push(reg) => format!(".seh_pushreg {reg}"),
            Win64Step::Alloc(bytes) => format!(".seh_stackalloc {bytes}"),
            Win64Step::SetFrame { reg, offset } => format!(".seh_setframe {reg}, {offset}"),
            Win64Step::SaveXmm { reg, offset } => format!(".seh_savexmm {reg}, {offset}"),
            Win64Step::EndPrologue => ".seh_endprologue".into(),
        }
    }
}

/// The `UNWIND_INFO` of a function whose prologue is `steps` (offsets from the function's
/// start), as `RtlAddFunctionTable`'s `RUNTIME_FUNCTION`s point to it: version 1, no handler;
/// `None` where the prologue is too long to describe (over 255 bytes or codes).
///
/// ```
/// use peach_core::emit::{Win64Step, win64_unwind_info};
/// // push rbx (1 byte), sub rsp, 32 (4 bytes).
/// let steps = [(1, Win64Step::Push(3)), (5, Win64Step::Alloc(32)), (5, Win64Step::EndPrologue)];
/// let info = win64_unwind_info(&steps).unwrap();
/// // Version 1, a 5-byte prologue, 2 codes, no frame register; the last operation first.
/// assert_eq!(info, [1, 5, 2, 0, 5, 0x32, 1, 0x30]);
/// ```
pub fn win64_unwind_info(steps: &[(u32, Win64Step)]) -> Option<Vec<u8>> {
    // Latest first; each operation's extra slots follow it.
    let mut codes: Vec<[u8; 2]> = Vec::new();
    let (mut prologue, mut frame) = (0, 0u8);
    for &(at, step) in steps.iter().rev() {
        let at = u8::try_from(at).ok()?;
        let slot = |op: u8, info: u8| [at, op | info << 4];
        let low = |v: u32| (v as u16).to_le_bytes();
        let high = |v: u32| ((v >> 16) as u16).to_le_bytes();
        match step {
            Win64Step::Push(reg) => codes.push(slot(0, reg)),
            Win64Step::Alloc(bytes @ 8..=128) => codes.push(slot(2, (bytes / 8 - 1) as u8)),
            Win64Step::Alloc(bytes) if bytes / 8 <= 0xffff => codes.extend([slot(1, 0), low(bytes / 8)]),
            Win64Step::Alloc(bytes) => codes.extend([slot(1, 1), low(bytes), high(bytes)]),
            Win64Step::SetFrame { reg, offset } => {
                frame = reg | ((offset / 16) as u8) << 4;
                codes.push(slot(3, 0));
            }
            Win64Step::SaveXmm { reg, offset } if offset / 16 <= 0xffff => {
                codes.extend([slot(8, reg), low(offset / 16)]);
            }
            Win64Step::SaveXmm { reg, offset } => codes.extend([slot(9, reg), low(offset), high(offset)]),
            Win64Step::EndPrologue => prologue = prologue.max(at),
        }
    }
    let count = u8::try_from(codes.len()).ok()?;
    let mut info = vec![1, prologue, count, frame];
    info.extend(codes.iter().flatten());
    // The array holds an even number of slots, and the structure at least 8 bytes.
    info.resize(info.len().next_multiple_of(4).max(8), 0);
    Some(info)
}

/// Collects frame steps at marks of the code buffer while a prologue or epilogue is emitted;
/// the marks become offsets once the code is laid out.
///
/// ```
/// use peach_core::emit::{FrameStep, FrameSteps};
/// let mut steps = FrameSteps::default();
/// steps.push(0, FrameStep::Remember);
/// steps.push(1, FrameStep::Restore);
/// // Mark 0 laid out at offset 4, mark 1 at 9.
/// let at = steps.at_offsets(|mark| [4, 9].get(mark as usize).copied());
/// assert_eq!(at, [(4, FrameStep::Remember), (9, FrameStep::Restore)]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct FrameSteps {
    steps: Vec<(u32, FrameStep)>,
    /// The Windows x64 prologue, where it is recorded.
    win64: Option<Vec<(u32, Win64Step)>>,
}

impl FrameSteps {
    /// Steps that also record the Windows x64 prologue ([`FrameSteps::push_win64`]).
    pub fn with_win64() -> FrameSteps {
        FrameSteps { steps: Vec::new(), win64: Some(Vec::new()) }
    }

    /// `step` at mark `mark` ([`super::CodeBuffer::mark`]).
    pub fn push(&mut self, mark: u32, step: FrameStep) {
        self.steps.push((mark, step));
    }

    /// Whether the Windows x64 prologue is recorded.
    pub fn records_win64(&self) -> bool {
        self.win64.is_some()
    }

    /// `step` of the Windows x64 prologue at mark `mark`, where it is recorded.
    pub fn push_win64(&mut self, mark: u32, step: Win64Step) {
        if let Some(w) = &mut self.win64 {
            w.push((mark, step));
        }
    }

    /// The Windows x64 prologue at its offsets (see [`FrameSteps::at_offsets`]), where it is
    /// recorded.
    pub fn win64_at_offsets(&mut self, offset: impl Fn(u32) -> Option<u32>) -> Option<Vec<(u32, Win64Step)>> {
        let mut w = self.win64.take()?;
        w.retain_mut(|(m, _)| offset(*m).map(|at| *m = at).is_some());
        Some(w)
    }

    /// The steps at their offsets, given the offset of each mark
    /// ([`super::CodeBuffer::mark_offset`]); in place.
    pub fn at_offsets(mut self, offset: impl Fn(u32) -> Option<u32>) -> Vec<(u32, FrameStep)> {
        self.steps.retain_mut(|(m, _)| offset(*m).map(|at| *m = at).is_some());
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_encoded_as_dwarf_says() {
        let mut b = Vec::new();
        sleb128(-128, &mut b);
        assert_eq!(b, [0x80, 0x7f]);
        b.clear();
        uleb128(300, &mut b);
        assert_eq!(b, [0xac, 0x02]);
    }
}
