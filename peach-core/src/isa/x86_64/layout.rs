//! Layout: the code as a list of pieces. Instructions that do not depend on their position are
//! encoded as they arrive, into runs of bytes; branches and RIP-relative constant loads wait for
//! the layout, which grows short branches to near ones until every target is in reach. The
//! constant pool follows the code. Listings are rendered later by decoding the bytes, so nothing
//! per instruction is kept.

use std::collections::HashMap;

use iced_x86::{Code, Decoder, DecoderOptions, Encoder, Formatter, GasFormatter, Instruction, IntelFormatter, OpKind};

use super::forms::blank;
use crate::emit::{ConstPool, Listing, ListingLine};
use crate::error::{Error, ErrorKind, Result};
use crate::ir::Constant;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("x86-64 layout: {e}"))
}

/// Branch targets are written as `LABEL_TARGET + label` until the layout is known.
pub(super) const LABEL_TARGET: u64 = 1 << 62;

fn is_branch(ins: &Instruction) -> bool {
    ins.op_count() == 1 && ins.op0_kind() == OpKind::NearBranch64
}

/// The length of a branch form (it does not depend on the target once the form is chosen).
fn branch_len(ins: &Instruction) -> Result<u32> {
    let mut probe = *ins;
    probe.set_near_branch64(0);
    Encoder::new(64).encode(&probe, 0).map(|n| n as u32).map_err(internal)
}

/// A stretch of the code.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// Instructions encoded on arrival: `len` bytes at `at` in the early buffer.
    Run { at: u32, len: u32 },
    /// A branch (instruction `ins` of the late ones), encoded once the layout is known.
    Branch { ins: u32, len: u32 },
    /// An instruction reading pool constant `constant` RIP-relative, encoded once the pool is
    /// laid out (its length is fixed: RIP-relative operands always take 32-bit displacements).
    Rip { ins: u32, len: u32, constant: u32 },
    /// No-op padding up to a multiple of `to` bytes; `len` follows the layout.
    Align { to: u32, len: u32 },
}

impl Piece {
    fn len(self) -> u32 {
        match self {
            Piece::Run { len, .. } | Piece::Branch { len, .. } | Piece::Rip { len, .. } | Piece::Align { len, .. } => {
                len
            }
        }
    }
}

/// Collects the machine instructions in order.
pub(super) struct Assembler {
    pieces: Vec<Piece>,
    /// The instructions encoded after layout.
    late: Vec<Instruction>,
    /// The bytes encoded on arrival.
    early: Vec<u8>,
    /// iced's encoder, for what the direct one does not cover.
    encoder: Encoder,
    /// The piece each label stands before (`u32::MAX` while unbound).
    label_piece: Vec<u32>,
    /// Labels bound since the last instruction.
    pending: Vec<u32>,
}

impl Assembler {
    /// An assembler for about `insts` instructions and `labels` labels.
    pub(super) fn new(insts: usize, labels: usize) -> Assembler {
        Assembler {
            pieces: Vec::with_capacity(labels * 2 + 8),
            late: Vec::with_capacity(labels + 8),
            early: Vec::with_capacity(insts * 6),
            encoder: Encoder::new(64),
            label_piece: vec![u32::MAX; labels],
            pending: Vec::new(),
        }
    }

    /// Binds `label` before the next instruction.
    pub(super) fn bind(&mut self, label: u32) {
        self.pending.push(label);
    }

    /// Binds the pending labels to the next piece; whether there were any.
    fn bind_pending(&mut self) -> bool {
        let next = self.pieces.len() as u32;
        let any = !self.pending.is_empty();
        for l in self.pending.drain(..) {
            if let Some(slot) = self.label_piece.get_mut(l as usize) {
                *slot = next;
            }
        }
        any
    }

    /// Appends an instruction; `constant` names the pool constant it reads, if any.
    pub(super) fn push_reading(&mut self, mut ins: Instruction, constant: Option<u32>) -> Result<()> {
        let labelled = self.bind_pending();
        let late = self.late.len() as u32;
        if is_branch(&ins) {
            ins.set_code(ins.code().as_short_branch());
            self.pieces.push(Piece::Branch { ins: late, len: branch_len(&ins)? });
            self.late.push(ins);
        } else if let Some(constant) = constant {
            let len = Encoder::new(64).encode(&ins, 0).map_err(internal)? as u32;
            self.pieces.push(Piece::Rip { ins: late, len, constant });
            self.late.push(ins);
        } else {
            let len = self.encoder.encode(&ins, 0).map_err(internal)? as u32;
            let mut buffer = self.encoder.take_buffer();
            self.early.extend_from_slice(&buffer);
            buffer.clear();
            self.encoder.set_buffer(buffer);
            self.add_run(len, labelled);
        }
        Ok(())
    }

    /// Appends an instruction that does not depend on its position, if `encode` can write its
    /// bytes (it returns whether it did).
    pub(super) fn push_encoded(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let before = self.early.len();
        let done = encode(&mut self.early);
        let len = (self.early.len() - before) as u32;
        if done {
            let labelled = self.bind_pending();
            self.add_run(len, labelled);
        }
        done
    }

    /// The last `len` bytes encoded on arrival (for checks).
    pub(super) fn last_bytes(&self, len: usize) -> Vec<u8> {
        self.early[self.early.len().saturating_sub(len)..].to_vec()
    }

    /// `len` more bytes in the early buffer: they extend the last run unless a label stands
    /// between.
    fn add_run(&mut self, len: u32, labelled: bool) {
        let at = self.early.len() as u32 - len;
        match self.pieces.last_mut() {
            Some(Piece::Run { at: start, len: run }) if !labelled && *start + *run == at => *run += len,
            _ => self.pieces.push(Piece::Run { at, len }),
        }
    }

    /// Appends an instruction that reads no constant.
    pub(super) fn push(&mut self, ins: Instruction) -> Result<()> {
        self.push_reading(ins, None)
    }

    /// No-op padding up to a multiple of `to` bytes.
    pub(super) fn align(&mut self, to: u32) {
        self.bind_pending();
        self.pieces.push(Piece::Align { to, len: 0 });
    }

    /// Appends every instruction of `list`, emptying it.
    pub(super) fn push_all(&mut self, list: &mut Vec<Instruction>) -> Result<()> {
        for ins in list.drain(..) {
            self.push(ins)?;
        }
        Ok(())
    }

    /// A label bound at the very end gets a trap to stand on.
    pub(super) fn finish_labels(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            self.push(blank(Code::Int3))?;
        }
        Ok(())
    }

    fn target_piece(&self, ins: &Instruction) -> Result<usize> {
        let l = ins.near_branch64().wrapping_sub(LABEL_TARGET) as usize;
        self.label_piece
            .get(l)
            .copied()
            .filter(|i| *i != u32::MAX)
            .map(|i| i as usize)
            .ok_or_else(|| internal("unbound label"))
    }

    /// Piece offsets once short branches that cannot reach have grown to near ones (they only
    /// grow, so this ends), and the length of the code.
    fn relax(&mut self) -> Result<(Vec<u32>, u32)> {
        let mut offsets = vec![0u32; self.pieces.len() + 1];
        for _ in 0..64 {
            let mut at = 0;
            for (k, piece) in self.pieces.iter_mut().enumerate() {
                offsets[k] = at;
                if let Piece::Align { to, len } = piece {
                    *len = (*to - at % *to) % *to;
                }
                at += piece.len();
            }
            offsets[self.pieces.len()] = at;
            let mut changed = false;
            for k in 0..self.pieces.len() {
                let Piece::Branch { ins, len: 2 } = self.pieces[k] else { continue };
                let target = offsets[self.target_piece(&self.late[ins as usize])?] as i64;
                let branch = &mut self.late[ins as usize];
                let near = branch.code().as_near_branch();
                if !(-128..128).contains(&(target - (offsets[k] as i64 + 2))) && near != branch.code() {
                    branch.set_code(near);
                    self.pieces[k] = Piece::Branch { ins, len: branch_len(branch)? };
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let end = offsets[self.pieces.len()];
        Ok((offsets, end))
    }

    /// The bytes (code, then the constant pool) and what the listing needs.
    pub(super) fn assemble(mut self, consts: &[Constant]) -> Result<(Vec<u8>, X86Listing)> {
        let (offsets, code_len) = self.relax()?;
        let mut used = vec![false; consts.len()];
        for piece in &self.pieces {
            if let Piece::Rip { constant, .. } = piece
                && let Some(u) = used.get_mut(*constant as usize)
            {
                *u = true;
            }
        }
        let pool = ConstPool::layout(consts, &used, code_len);
        let early = std::mem::take(&mut self.early);
        let mut bytes = Vec::with_capacity(pool.end() as usize);
        let mut late = Encoder::new(64);
        for (k, piece) in self.pieces.iter().enumerate() {
            let (ins, len) = match *piece {
                Piece::Run { at, len } => {
                    bytes.extend_from_slice(&early[at as usize..(at + len) as usize]);
                    continue;
                }
                Piece::Align { len, .. } => {
                    nops(len as usize, &mut bytes);
                    continue;
                }
                Piece::Branch { ins, len } => {
                    let target = offsets[self.target_piece(&self.late[ins as usize])?];
                    self.late[ins as usize].set_near_branch64(target as u64);
                    (ins, len)
                }
                Piece::Rip { ins, len, constant } => {
                    let at = pool
                        .offset_of(constant)
                        .ok_or_else(|| Error::internal(format!("constant {constant} is not in the pool")))?;
                    self.late[ins as usize].set_memory_displacement64(at as u64);
                    (ins, len)
                }
            };
            let ins = &self.late[ins as usize];
            let n = late.encode(ins, offsets[k] as u64).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidOperands,
                    format!("the target of {:?} is out of its reach", ins.mnemonic()),
                )
            })?;
            if n as u32 != len {
                return Err(internal("instruction size changed in layout"));
            }
            bytes.extend_from_slice(&late.take_buffer());
        }
        let code_end = bytes.len();
        pool.write(&mut bytes, 0xCC);
        let mut labels_at: Vec<(u32, u32)> = self
            .label_piece
            .iter()
            .enumerate()
            .filter(|(_, p)| **p != u32::MAX)
            .map(|(l, p)| (offsets[*p as usize], l as u32))
            .collect();
        labels_at.sort_unstable();
        Ok((bytes, X86Listing { code_end, labels_at, pool }))
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
