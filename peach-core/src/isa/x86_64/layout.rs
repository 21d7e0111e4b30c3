//! x86-64 on the shared code buffer (`emit::CodeBuffer`): instructions that do not depend on
//! their position are encoded as they arrive; branches and RIP-relative constant loads are
//! fixups, and a short branch that cannot reach grows to a near one. Listings are rendered later
//! by decoding the bytes, so nothing per instruction is kept.

use std::collections::HashMap;

use iced_x86::{Code, Decoder, DecoderOptions, Encoder, Formatter, GasFormatter, Instruction, IntelFormatter, OpKind};

use super::forms::blank;
use crate::emit::{CodeBuffer, ConstPool, Fixup, FixupTarget, Listing, ListingLine};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Constant;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("x86-64 layout: {e}"))
}

/// Branch targets are written as `LABEL_TARGET + label` until the layout is known.
pub(super) const LABEL_TARGET: u64 = 1 << 62;

pub(super) fn is_branch(ins: &Instruction) -> bool {
    ins.op_count() == 1 && ins.op0_kind() == OpKind::NearBranch64
}

/// The length of an instruction whose target is not known yet (it does not depend on the
/// target once the form is chosen: branches by their form, RIP-relative operands always take
/// 32-bit displacements).
fn late_len(ins: &Instruction) -> Result<u32> {
    let mut probe = *ins;
    if is_branch(ins) {
        probe.set_near_branch64(0);
    }
    with_encoder(|e| e.encode(&probe, 0).map(|n| n as u32).map_err(internal))
}

/// Runs `f` with this thread's spare encoder, its buffer emptied after (an encoder per use
/// would allocate its buffer again every time).
fn with_encoder<T>(f: impl FnOnce(&mut Encoder) -> T) -> T {
    thread_local! {
        static SPARE: std::cell::RefCell<Option<Encoder>> = const { std::cell::RefCell::new(None) };
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        let encoder = spare.get_or_insert_with(|| Encoder::new(64));
        let out = f(encoder);
        let mut bytes = encoder.take_buffer();
        bytes.clear();
        encoder.set_buffer(bytes);
        out
    })
}

/// A branch or a RIP-relative constant load, encoded once the layout is known.
pub(super) struct X86Fixup {
    how: How,
    len: u32,
    target: FixupTarget,
}

/// How a fixup is encoded.
enum How {
    /// By iced.
    Iced(Instruction),
    /// Bytes of a direct encoder reading a pool constant, their RIP-relative displacement (four
    /// bytes at `disp_at`) written when the constant's place is known.
    Rip { bytes: [u8; 16], disp_at: u8 },
    /// A `jcc` (`cc`: its condition, the low nibble of its opcode) or a `jmp` (`None`), short
    /// or near, written here: the branches of every loop.
    Jump { cc: Option<u8>, near: bool },
}

/// The condition of a `jcc` (`Some(cc)`, the low nibble of its opcode) or `None` for a `jmp`,
/// if `code` is one of those to a label.
pub(super) fn jump_condition(code: Code) -> Option<Option<u8>> {
    use iced_x86::{ConditionCode, OpCodeOperandKind as K};
    if !matches!(code.op_code().op_kind(0), K::br64_1 | K::br64_4) {
        return None;
    }
    if code.is_jmp_short_or_near() {
        Some(None)
    } else if code.is_jcc_short_or_near() && code.condition_code() != ConditionCode::None {
        // iced numbers the conditions from 1 in the opcodes' order (o, no, b, ae, ...).
        Some(Some(code.condition_code() as u8 - 1))
    } else {
        None
    }
}

/// The length of a `jcc` or `jmp`: `EB/7x rel8`, `E9 rel32`, `0F 8x rel32`.
fn jump_len(cc: Option<u8>, near: bool) -> u32 {
    match (near, cc) {
        (false, _) => 2,
        (true, None) => 5,
        (true, Some(_)) => 6,
    }
}

/// Debug builds: the bytes just written for a `jcc`/`jmp` at `at` to `target` must be iced's.
fn check_jump(cc: Option<u8>, near: bool, at: u32, target: u32, written: &[u8]) -> Result<()> {
    let short = match cc {
        None => Code::Jmp_rel8_64,
        Some(c) => Code::values()
            .find(|code| code.is_jcc_short() && jump_condition(*code) == Some(Some(c)))
            .ok_or_else(|| internal("no jcc"))?,
    };
    let code = if near { short.as_near_branch() } else { short };
    let ins = Instruction::with_branch(code, target as u64).map_err(internal)?;
    let theirs = with_encoder(|e| e.encode(&ins, at as u64).map(|_| e.take_buffer()).map_err(internal))?;
    if theirs != written {
        return Err(internal(format!("direct encoding of {code:?} is {written:02x?}, iced's is {theirs:02x?}")));
    }
    Ok(())
}

impl Fixup for X86Fixup {
    fn size(&self) -> u32 {
        self.len
    }

    fn target(&self) -> FixupTarget {
        self.target
    }

    fn relax(&mut self, at: u32, target: u32) -> Result<bool> {
        let short_reach = (-128..128).contains(&(target as i64 - (at as i64 + self.len as i64)));
        match &mut self.how {
            How::Jump { cc, near } => {
                if *near || short_reach {
                    return Ok(false);
                }
                *near = true;
                self.len = jump_len(*cc, true);
            }
            How::Iced(ins) => {
                let near = ins.code().as_near_branch();
                if near == ins.code() || short_reach {
                    return Ok(false);
                }
                ins.set_code(near);
                self.len = late_len(ins)?;
            }
            How::Rip { .. } => return Ok(false),
        }
        Ok(true)
    }

    fn write(&self, at: u32, target: u32, out: &mut Vec<u8>) -> Result<()> {
        let mut ins = match self.how {
            How::Iced(ins) => ins,
            How::Rip { mut bytes, disp_at } => {
                let rel = target as i64 - (at as i64 + self.len as i64);
                let rel = i32::try_from(rel)
                    .map_err(|_| Error::new(ErrorKind::InvalidOperands, "a constant is out of its reader's reach"))?;
                let at = disp_at as usize;
                bytes[at..at + 4].copy_from_slice(&rel.to_le_bytes());
                out.extend_from_slice(&bytes[..self.len as usize]);
                return Ok(());
            }
            How::Jump { cc, near } => {
                let rel = target as i64 - (at as i64 + self.len as i64);
                let start = out.len();
                let out_of_reach = || {
                    Error::new(
                        ErrorKind::InvalidOperands,
                        format!("the target of a {} is out of its reach", if cc.is_some() { "jcc" } else { "jmp" }),
                    )
                };
                match (near, cc) {
                    (false, _) => {
                        let rel = i8::try_from(rel).map_err(|_| out_of_reach())?;
                        out.extend_from_slice(&[cc.map_or(0xEB, |c| 0x70 | c), rel as u8]);
                    }
                    (true, None) => {
                        out.push(0xE9);
                        out.extend_from_slice(&i32::try_from(rel).map_err(|_| out_of_reach())?.to_le_bytes());
                    }
                    (true, Some(c)) => {
                        out.extend_from_slice(&[0x0F, 0x80 | c]);
                        out.extend_from_slice(&i32::try_from(rel).map_err(|_| out_of_reach())?.to_le_bytes());
                    }
                }
                if cfg!(debug_assertions) {
                    check_jump(cc, near, at, target, &out[start..])?;
                }
                return Ok(());
            }
        };
        match self.target {
            FixupTarget::Label(_) => ins.set_near_branch64(target as u64),
            FixupTarget::Constant(_) => ins.set_memory_displacement64(target as u64),
        }
        with_encoder(|encoder| {
            encoder.encode(&ins, at as u64).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidOperands,
                    format!("the target of {:?} is out of its reach", ins.mnemonic()),
                )
            })?;
            let bytes = encoder.take_buffer();
            out.extend_from_slice(&bytes);
            encoder.set_buffer(bytes);
            Ok(())
        })
    }
}

/// Collects the machine instructions in order.
pub(super) struct Assembler {
    buffer: CodeBuffer<X86Fixup>,
    /// iced's encoder, for what the direct one does not cover.
    encoder: Encoder,
    /// The bytes of the operand-less instructions pushed so far (`vzeroupper`, `ret`), which
    /// every epilogue repeats: encoded by iced once per thread.
    blanks: Vec<(Code, Vec<u8>)>,
    /// Where a direct encoder writes an instruction that reads a pool constant.
    reading: Vec<u8>,
}

/// Runs `f` with this thread's assembler, emptied for about `insts` instructions and `labels`
/// labels: a JIT compiling function after function then allocates nothing here, and the
/// assembler stays where it is.
pub(super) fn with_assembler<T>(insts: usize, labels: usize, f: impl FnOnce(&mut Assembler) -> T) -> T {
    thread_local! {
        static SPARE: std::cell::RefCell<Option<Assembler>> = const { std::cell::RefCell::new(None) };
    }
    SPARE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut spare) => {
            let asm = spare.get_or_insert_with(Assembler::empty);
            asm.buffer.reset(insts * 6, labels);
            let out = f(asm);
            if asm.buffer.capacity_bytes() > Assembler::KEEP {
                *spare = None;
            }
            out
        }
        // Only if `f` itself assembles: it gets an assembler of its own.
        Err(_) => {
            let mut asm = Assembler::empty();
            asm.buffer.reset(insts * 6, labels);
            f(&mut asm)
        }
    })
}

impl Assembler {
    /// Memory an assembler may keep for the next function (a million instructions' worth).
    const KEEP: usize = 16 << 20;

    fn empty() -> Assembler {
        Assembler { buffer: CodeBuffer::new(0, 0), encoder: Encoder::new(64), blanks: Vec::new(), reading: Vec::new() }
    }

    /// The length of `ins` encoded at offset 0 (nothing is appended).
    pub(super) fn length_of(&mut self, ins: &Instruction) -> Result<usize> {
        let len = self.encoder.encode(ins, 0).map_err(internal);
        let mut bytes = self.encoder.take_buffer();
        bytes.clear();
        self.encoder.set_buffer(bytes);
        len
    }

    /// Binds `label` before the next instruction.
    pub(super) fn bind(&mut self, label: u32) {
        self.buffer.bind(label);
    }

    /// Appends an instruction; `constant` names the pool constant it reads, if any.
    pub(super) fn push_reading(&mut self, mut ins: Instruction, constant: Option<u32>) -> Result<()> {
        if is_branch(&ins) {
            let label = ins.near_branch64().wrapping_sub(LABEL_TARGET);
            let label = u32::try_from(label).map_err(|_| internal("a branch to no label"))?;
            ins.set_code(ins.code().as_short_branch());
            let len = late_len(&ins)?;
            self.buffer.push_fixup(X86Fixup { how: How::Iced(ins), len, target: FixupTarget::Label(label) });
        } else if let Some(constant) = constant {
            let len = late_len(&ins)?;
            self.buffer.push_fixup(X86Fixup { how: How::Iced(ins), len, target: FixupTarget::Constant(constant) });
        } else {
            let encoder = &mut self.encoder;
            let mut result = Ok(());
            self.buffer.put_with(|out| match encoder.encode(&ins, 0) {
                Ok(_) => {
                    let mut bytes = encoder.take_buffer();
                    out.extend_from_slice(&bytes);
                    bytes.clear();
                    encoder.set_buffer(bytes);
                    true
                }
                Err(e) => {
                    result = Err(internal(e));
                    false
                }
            });
            result?;
        }
        Ok(())
    }

    /// Appends a `jcc` (`cc`: its condition, 0-15 as in its opcode) or a `jmp` (`None`) to
    /// `label`, short until the layout finds it cannot reach.
    pub(super) fn push_jump(&mut self, cc: Option<u8>, label: u32) {
        let fixup = X86Fixup { how: How::Jump { cc, near: false }, len: 2, target: FixupTarget::Label(label) };
        self.buffer.push_fixup(fixup);
    }

    /// Appends an instruction that does not depend on its position, if `encode` can write its
    /// bytes (it returns whether it did).
    #[inline]
    pub(super) fn push_encoded(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        self.buffer.put_with(encode)
    }

    /// Appends an instruction that reads pool constant `constant` RIP-relative, if `encode` can
    /// write its bytes (with any displacement: it is written at layout, the four bytes before
    /// the last `imm_bytes`); its bytes, length and displacement's place, to compare in debug
    /// builds.
    pub(super) fn push_encoded_reading(
        &mut self,
        constant: u32,
        imm_bytes: usize,
        encode: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Option<([u8; 16], usize, usize)> {
        self.reading.clear();
        if !encode(&mut self.reading) {
            return None;
        }
        let len = self.reading.len();
        let mut bytes = [0u8; 16];
        bytes.get_mut(..len)?.copy_from_slice(&self.reading);
        let disp_at = len.checked_sub(4 + imm_bytes)? as u8;
        let how = How::Rip { bytes, disp_at };
        self.buffer.push_fixup(X86Fixup { how, len: len as u32, target: FixupTarget::Constant(constant) });
        Some((bytes, len, disp_at as usize))
    }

    /// Appends an instruction without operands.
    pub(super) fn push_blank(&mut self, code: Code) -> Result<()> {
        let known = self.blanks.iter().position(|(c, _)| *c == code);
        let k = match known {
            Some(k) => k,
            None => {
                self.encoder.encode(&blank(code), 0).map_err(internal)?;
                self.blanks.push((code, self.encoder.take_buffer()));
                self.blanks.len() - 1
            }
        };
        let bytes = &self.blanks[k].1;
        self.buffer.put_with(|out| {
            out.extend_from_slice(bytes);
            true
        });
        Ok(())
    }

    /// Appends bytes as they are (a redundant prefix before the next instruction).
    pub(super) fn push_raw(&mut self, bytes: &[u8]) {
        self.buffer.put_with(|out| {
            out.extend_from_slice(bytes);
            true
        });
    }

    /// The last `len` bytes encoded on arrival (for checks).
    pub(super) fn last_bytes(&self, len: usize) -> Vec<u8> {
        self.buffer.last_bytes(len).to_vec()
    }

    /// Appends an instruction that reads no constant.
    pub(super) fn push(&mut self, ins: Instruction) -> Result<()> {
        self.push_reading(ins, None)
    }

    /// No-op padding up to a multiple of `to` bytes.
    pub(super) fn align(&mut self, to: u32) {
        self.buffer.align(to);
    }

    /// A label bound at the very end gets a trap to stand on.
    pub(super) fn finish_labels(&mut self) -> Result<()> {
        if self.buffer.has_pending_labels() {
            self.push_blank(Code::Int3)?;
        }
        Ok(())
    }

    /// Records the position after the code so far (see [`CodeBuffer::mark`]).
    pub(super) fn mark(&mut self) -> u32 {
        self.buffer.mark()
    }

    /// The code from here on comes from location `loc` (see [`CodeBuffer::note_line`]).
    pub(super) fn note_line(&mut self, loc: u32) {
        self.buffer.note_line(loc)
    }

    /// The source-line rows once assembled (see [`CodeBuffer::source_lines`]).
    pub(super) fn source_lines(&self, locs: &crate::ir::Locations) -> Vec<(u32, crate::Src)> {
        self.buffer.source_lines(locs)
    }

    /// The offset of a mark once assembled.
    pub(super) fn mark_offset(&self, mark: u32) -> Option<u32> {
        self.buffer.mark_offset(mark)
    }

    /// The bytes (code, then the constant pool), their alignment and what the listing needs.
    pub(super) fn assemble(&mut self, consts: &[Constant]) -> Result<(Vec<u8>, u32, X86Listing)> {
        let done = self.buffer.finish(consts, nops, 0xCC)?;
        let listing = X86Listing { code_end: done.code_end, labels_at: done.labels_at, pool: done.pool };
        Ok((done.bytes, done.alignment, listing))
    }
}

/// `len` bytes of no-op instructions, the longest recommended forms first (Intel SDM, NOP).
pub(super) fn nops(len: usize, out: &mut Vec<u8>) {
    const NOPS: [&[u8]; 9] = [
        &[0x90],
        &[0x66, 0x90],
        &[0x0F, 0x1F, 0x00],
        &[0x0F, 0x1F, 0x40, 0x00],
        &[0x0F, 0x1F, 0x44, 0x00, 0x00],
        &[0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00],
        &[0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00],
        &[0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
    ];
    let mut left = len;
    while left > 0 {
        let n = left.min(NOPS.len());
        out.extend_from_slice(NOPS[n - 1]);
        left -= n;
    }
}

/// Branch targets shown as the labels bound there (`jne .L0`).
struct LabelNames(HashMap<u64, String>);

impl iced_x86::SymbolResolver for LabelNames {
    fn symbol(
        &mut self,
        instruction: &Instruction,
        _operand: u32,
        instruction_operand: Option<u32>,
        address: u64,
        _address_size: u32,
    ) -> Option<iced_x86::SymbolResult<'_>> {
        let branch = instruction_operand.is_some_and(|i| instruction.op_kind(i) == OpKind::NearBranch64);
        let name = self.0.get(&address).filter(|_| branch)?;
        Some(iced_x86::SymbolResult::with_str(address, name))
    }
}

/// What a listing needs besides the bytes: where the code ends, the labels and the pool.
/// Formatting costs more than everything else in the pipeline, so it waits until asked for.
pub(super) struct X86Listing {
    /// End of the instructions (the constant pool follows).
    code_end: usize,
    /// The constant pool.
    pool: ConstPool,
    /// `(offset, label)`, sorted.
    labels_at: Vec<(u32, u32)>,
}

impl X86Listing {
    /// This listing, shared: code without labels or constants shares one listing of its bytes
    /// alone (an allocation fewer per compilation; small kernels feel it).
    pub(super) fn shared(self, bytes: usize) -> std::sync::Arc<dyn Listing> {
        static PLAIN: std::sync::OnceLock<std::sync::Arc<X86Listing>> = std::sync::OnceLock::new();
        if self.labels_at.is_empty() && self.pool.slots().is_empty() && self.code_end >= bytes {
            return PLAIN
                .get_or_init(|| {
                    let pool = ConstPool::layout(&[], &[], 0);
                    std::sync::Arc::new(X86Listing { code_end: usize::MAX, pool, labels_at: Vec::new() })
                })
                .clone();
        }
        std::sync::Arc::new(self)
    }
}

impl Listing for X86Listing {
    fn lines(&self, bytes: &[u8]) -> Vec<ListingLine> {
        let mut names: HashMap<u64, String> = HashMap::new();
        for (offset, label) in &self.labels_at {
            names.entry(*offset as u64).or_insert_with(|| format!(".L{label}"));
        }
        let mut intel = IntelFormatter::with_options(Some(Box::new(LabelNames(names.clone()))), None);
        let o = intel.options_mut();
        o.set_hex_prefix("0x");
        o.set_hex_suffix("");
        o.set_uppercase_hex(false);
        o.set_branch_leading_zeros(false);
        o.set_show_branch_size(false);
        o.set_space_after_operand_separator(true);
        o.set_memory_size_options(iced_x86::MemorySizeOptions::Always);
        let mut gas = GasFormatter::with_options(Some(Box::new(LabelNames(names))), None);
        gas.options_mut().set_branch_leading_zeros(false);
        gas.options_mut().set_space_after_operand_separator(true);
        let code = &bytes[..self.code_end.min(bytes.len())];
        let mut lines = Vec::new();
        for ins in Decoder::with_ip(64, code, 0, DecoderOptions::NONE).iter() {
            let (offset, len) = (ins.ip() as usize, ins.len());
            let (mut a, mut b) = (String::new(), String::new());
            intel.format(&ins, &mut a);
            gas.format(&ins, &mut b);
            let labels = self.labels_at.iter().filter(|(o, _)| *o as usize == offset).map(|(_, l)| *l).collect();
            lines.push(ListingLine { offset, len, labels, intel: a, gas: b });
        }
        lines.extend(self.pool.lines());
        lines
    }
}
