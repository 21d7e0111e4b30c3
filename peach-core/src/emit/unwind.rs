//! Unwind information: where a function's frame changes, as the ISA's prologue and epilogue
//! build and tear it down, so that debuggers, profilers and exception handling can walk out of
//! it. Registers are named by their DWARF numbers; the steps become the call-frame directives
//! (`.cfi_*`) of static code.

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

fn uleb128(mut v: u64, out: &mut Vec<u8>) {
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

fn sleb128(mut v: i64, out: &mut Vec<u8>) {
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
#[derive(Clone, Debug, Default)]
pub struct FrameSteps {
    steps: Vec<(u32, FrameStep)>,
}

impl FrameSteps {
    /// `step` at mark `mark` ([`super::CodeBuffer::mark`]).
    pub fn push(&mut self, mark: u32, step: FrameStep) {
        self.steps.push((mark, step));
    }

    /// The steps at their offsets, given every mark's offset ([`super::Assembled::marks`]).
    pub fn at_offsets(self, marks: &[u32]) -> Vec<(u32, FrameStep)> {
        self.steps.into_iter().filter_map(|(m, s)| marks.get(m as usize).map(|&at| (at, s))).collect()
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
