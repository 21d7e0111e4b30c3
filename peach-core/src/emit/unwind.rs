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
    /// Register `reg`'s caller value is saved at `base + offset`, `base` being a register of
    /// this frame (a save below a realigned stack pointer, which the CFA cannot reach).
    SavedAt {
        /// DWARF register number of the saved register.
        reg: u16,
        /// DWARF register number of the base.
        base: u16,
        /// From the base.
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
            FrameStep::SavedAt { reg, base, offset } => {
                // DW_CFA_expression reg, [DW_OP_breg<base> offset]: no directive names it.
                let mut expr = vec![0x70 + base as u8];
                sleb128(offset as i64, &mut expr);
                let mut bytes = vec![0x10];
                uleb128(reg as u64, &mut bytes);
                uleb128(expr.len() as u64, &mut bytes);
                bytes.extend(expr);
                let hex: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
                format!(".cfi_escape {}", hex.join(", "))
            }
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
        FrameStep::SavedAt { reg, base, offset } => {
            let mut expr = vec![0x70 + base as u8]; // DW_OP_breg<base>
            sleb128(offset as i64, &mut expr);
            out.push(0x10); // DW_CFA_expression
            uleb128(reg as u64, out);
            uleb128(expr.len() as u64, out);
            out.extend(expr);
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
}

impl FrameSteps {
    /// `step` at mark `mark` ([`super::CodeBuffer::mark`]).
    pub fn push(&mut self, mark: u32, step: FrameStep) {
        self.steps.push((mark, step));
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
    fn expressions_are_encoded_as_dwarf_says() {
        // xmm6 (23) saved at rsp + 32: DW_CFA_expression 23, 2 bytes: DW_OP_breg7 32.
        let s = FrameStep::SavedAt { reg: 23, base: 7, offset: 32 };
        assert_eq!(s.directive(), ".cfi_escape 0x10, 0x17, 0x02, 0x77, 0x20");
        let mut b = Vec::new();
        sleb128(-128, &mut b);
        assert_eq!(b, [0x80, 0x7f]);
        b.clear();
        uleb128(300, &mut b);
        assert_eq!(b, [0xac, 0x02]);
    }
}
