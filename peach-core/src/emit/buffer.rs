//! The code buffer both backends emit into: bytes that do not depend on their position go in as
//! they are encoded; instructions that reach a label or a pool constant wait as fixups of the
//! ISA's kind; labels bind to positions; alignment pads with the ISA's no-ops. [`CodeBuffer::finish`]
//! lays the code out (growing fixups that cannot reach their target until none needs to), places
//! the constant pool after the code and writes every fixup.

use super::ConstPool;
use crate::error::{Error, ErrorKind, Result, Src};
use crate::ir::{Constant, Locations};

/// What a fixup refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixupTarget {
    /// A label.
    Label(u32),
    /// A constant of the pool, by index.
    Constant(u32),
}

/// An ISA's position-dependent instruction, finished once the layout is known.
pub trait Fixup {
    /// Its length in bytes in its present form.
    fn size(&self) -> u32;

    /// What it reaches.
    fn target(&self) -> FixupTarget;

    /// At offset `at`, with its target at offset `target`: grows to a longer form if the
    /// present one cannot reach, and says whether it grew. A fixup that cannot grow any more
    /// stays as it is (writing it then reports the error).
    fn relax(&mut self, at: u32, target: u32) -> Result<bool>;

    /// Appends its bytes for offset `at` and target offset `target`.
    fn write(&self, at: u32, target: u32, out: &mut Vec<u8>) -> Result<()>;
}

/// A stretch of the code.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// `len` bytes at `at` in the buffer of bytes encoded on arrival.
    Run { at: u32, len: u32 },
    /// Fixup `index`.
    Fixup { index: u32 },
    /// No-op padding up to a multiple of `to` bytes; `len` follows the layout.
    Align { to: u32, len: u32 },
}

/// Code in the making; `F` is the ISA's kind of fixup.
pub struct CodeBuffer<F> {
    pieces: Vec<Piece>,
    fixups: Vec<F>,
    early: Vec<u8>,
    /// The piece each label stands before.
    label_piece: Vec<Option<u32>>,
    /// Labels bound since the last piece.
    pending: Vec<u32>,
    /// The offset of each piece, and the end, once laid out.
    offsets: Vec<u32>,
    /// Positions recorded with [`CodeBuffer::mark`]: the number of pieces then, and the length
    /// of the last one if it was a run (a run may grow after the mark).
    marks: Vec<(u32, Option<u32>)>,
    /// `(mark, location index)` where the source location changes ([`CodeBuffer::note_line`]).
    lines: Vec<(u32, u32)>,
    line_loc: u32,
}

/// Laid-out code: the bytes (code, then the constant pool) and where things are.
pub struct Assembled {
    /// Code and pool.
    pub bytes: Vec<u8>,
    /// Where the code ends and the pool (if any) begins.
    pub code_end: usize,
    /// `(offset, label)` of every bound label, by offset.
    pub labels_at: Vec<(u32, u32)>,
    /// The pool.
    pub pool: ConstPool,
    /// The address alignment the layout assumes: the largest of the alignments asked for and the
    /// pool's widest constant (at least 1).
    pub alignment: u32,
}

impl<F: Fixup> CodeBuffer<F> {
    /// A buffer for about `bytes` bytes of code and `labels` labels.
    pub fn new(bytes: usize, labels: usize) -> CodeBuffer<F> {
        CodeBuffer {
            pieces: Vec::with_capacity(labels * 2 + 8),
            fixups: Vec::with_capacity(labels + 8),
            early: Vec::with_capacity(bytes),
            label_piece: vec![None; labels],
            pending: Vec::new(),
            offsets: Vec::new(),
            marks: Vec::new(),
            lines: Vec::new(),
            line_loc: u32::MAX,
        }
    }

    /// Empties the buffer for new code of about `bytes` bytes and `labels` labels, keeping its
    /// memory (a JIT compiling function after function then allocates nothing here).
    pub fn reset(&mut self, bytes: usize, labels: usize) {
        self.pieces.clear();
        self.fixups.clear();
        self.early.clear();
        self.early.reserve(bytes);
        self.label_piece.clear();
        self.label_piece.resize(labels, None);
        self.pending.clear();
        self.marks.clear();
        self.lines.clear();
        self.line_loc = u32::MAX;
    }

    /// The memory the buffer holds, in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.pieces.capacity() * size_of::<Piece>()
            + self.fixups.capacity() * size_of::<F>()
            + self.early.capacity()
            + self.label_piece.capacity() * 8
            + self.offsets.capacity() * 4
    }

    /// Records the position after everything appended so far (where the frame changes, for
    /// unwind information); [`CodeBuffer::mark_offset`] gives its offset once laid out.
    pub fn mark(&mut self) -> u32 {
        let run = match self.pieces.last() {
            Some(Piece::Run { len, .. }) => Some(*len),
            _ => None,
        };
        self.marks.push((self.pieces.len() as u32, run));
        self.marks.len() as u32 - 1
    }

    /// The code from here on comes from location `loc` (an index into the function's
    /// [`Locations`]): a row of the source lines where it changes.
    #[inline]
    pub fn note_line(&mut self, loc: u32) {
        if loc != self.line_loc {
            self.line_loc = loc;
            let mark = self.mark();
            self.lines.push((mark, loc));
        }
    }

    /// After [`CodeBuffer::finish`], `(offset, location)` rows by offset (see
    /// [`super::CodeObject::source_lines`]): where several fall at one offset (code that
    /// emitted nothing), the last is kept; the first is where the body starts (after a
    /// prologue).
    ///
    /// ```
    /// use peach_core::emit::{CodeBuffer, FixupTarget};
    /// use peach_core::{Src, ir::Locations};
    /// # struct NoFixup;
    /// # impl peach_core::emit::Fixup for NoFixup {
    /// #     fn size(&self) -> u32 { 0 }
    /// #     fn target(&self) -> FixupTarget { FixupTarget::Label(0) }
    /// #     fn relax(&mut self, _: u32, _: u32) -> peach_core::Result<bool> { Ok(false) }
    /// #     fn write(&self, _: u32, _: u32, _: &mut Vec<u8>) -> peach_core::Result<()> { Ok(()) }
    /// # }
    /// let mut locs = Locations::default();
    /// let (a, b) = (locs.intern(Src::Token(1)), locs.intern(Src::Token(2)));
    /// let mut buffer = CodeBuffer::<NoFixup>::new(16, 0);
    /// buffer.put(&[0x55]); // a prologue
    /// buffer.note_line(a);
    /// buffer.put(&[0x90, 0x90]);
    /// buffer.note_line(a); // the same location: nothing new
    /// buffer.put(&[0x90]);
    /// buffer.note_line(b);
    /// buffer.put(&[0xc3]);
    /// buffer.finish(&[], |_, _| {}, 0)?;
    /// assert_eq!(buffer.source_lines(&locs), [(1, Src::Token(1)), (4, Src::Token(2))]);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn source_lines(&self, locs: &Locations) -> Vec<(u32, Src)> {
        let mut rows: Vec<(u32, Src)> = Vec::with_capacity(self.lines.len());
        for &(mark, loc) in &self.lines {
            let Some(at) = self.mark_offset(mark) else { continue };
            let src = locs.get(loc);
            match rows.last_mut() {
                Some(last) if last.0 == at => last.1 = src,
                Some(last) if last.1 == src => {}
                _ => rows.push((at, src)),
            }
        }
        rows
    }

    /// The offset of mark `mark` ([`CodeBuffer::mark`]) after [`CodeBuffer::finish`].
    pub fn mark_offset(&self, mark: u32) -> Option<u32> {
        let &(pieces, run) = self.marks.get(mark as usize)?;
        Some(match (pieces.checked_sub(1), run) {
            (None, _) => 0,
            (Some(last), Some(len)) => self.offsets[last as usize] + len,
            (Some(_), None) => self.offsets[pieces as usize],
        })
    }

    /// Binds `label` before the next instruction.
    pub fn bind(&mut self, label: u32) {
        self.pending.push(label);
    }

    /// Whether labels wait for an instruction to stand before.
    pub fn has_pending_labels(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Binds the pending labels to the next piece; whether there were any.
    fn bind_pending(&mut self) -> bool {
        let next = self.pieces.len() as u32;
        let any = !self.pending.is_empty();
        for l in self.pending.drain(..) {
            if let Some(slot) = self.label_piece.get_mut(l as usize) {
                *slot = Some(next);
            }
        }
        any
    }

    /// Appends bytes that do not depend on their position, if `encode` writes them (it returns
    /// whether it did; what it wrote otherwise is dropped).
    #[inline]
    pub fn put_with(&mut self, encode: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let before = self.early.len();
        if !encode(&mut self.early) {
            self.early.truncate(before);
            return false;
        }
        let len = (self.early.len() - before) as u32;
        let labelled = self.bind_pending();
        match self.pieces.last_mut() {
            // Extends the last run unless a label stands between.
            Some(Piece::Run { at, len: run }) if !labelled && *at + *run == before as u32 => *run += len,
            _ => self.pieces.push(Piece::Run { at: before as u32, len }),
        }
        true
    }

    /// Appends bytes that do not depend on their position.
    pub fn put(&mut self, bytes: &[u8]) {
        self.put_with(|out| {
            out.extend_from_slice(bytes);
            true
        });
    }

    /// The last `len` bytes appended with [`CodeBuffer::put`] (for checks).
    pub fn last_bytes(&self, len: usize) -> &[u8] {
        &self.early[self.early.len().saturating_sub(len)..]
    }

    /// Appends a fixup.
    pub fn push_fixup(&mut self, fixup: F) {
        self.bind_pending();
        self.pieces.push(Piece::Fixup { index: self.fixups.len() as u32 });
        self.fixups.push(fixup);
    }

    /// Pads with no-ops up to a multiple of `to` bytes.
    pub fn align(&mut self, to: u32) {
        self.bind_pending();
        self.pieces.push(Piece::Align { to: to.max(1), len: 0 });
    }

    /// The offset of `label`, once laid out.
    fn label_offset(&self, label: u32) -> Result<u32> {
        let piece = self.label_piece.get(label as usize).copied().flatten();
        piece
            .map(|p| self.offsets[p as usize])
            .ok_or_else(|| Error::new(ErrorKind::Label, format!("label L{label} is never bound")))
    }

    /// Lays out the pieces (`offsets`, the last being the length of the code) so that every
    /// fixup reaches its label (fixups only grow, so this ends).
    fn relax(&mut self) -> Result<()> {
        let mut offsets = std::mem::take(&mut self.offsets);
        offsets.clear();
        offsets.resize(self.pieces.len() + 1, 0);
        loop {
            let mut at = 0;
            for (k, piece) in self.pieces.iter_mut().enumerate() {
                offsets[k] = at;
                at += match piece {
                    Piece::Run { len, .. } => *len,
                    Piece::Align { to, len } => {
                        *len = (*to - at % *to) % *to;
                        *len
                    }
                    Piece::Fixup { index } => self.fixups[*index as usize].size(),
                };
            }
            offsets[self.pieces.len()] = at;
            self.offsets = offsets;
            let mut grew = false;
            for k in 0..self.pieces.len() {
                let Piece::Fixup { index } = self.pieces[k] else { continue };
                // Constants sit after the code, where nothing grows.
                if let FixupTarget::Label(l) = self.fixups[index as usize].target() {
                    let target = self.label_offset(l)?;
                    grew |= self.fixups[index as usize].relax(self.offsets[k], target)?;
                }
            }
            if !grew {
                return Ok(());
            }
            offsets = std::mem::take(&mut self.offsets);
        }
    }

    /// Lays out the code, places the constants the fixups read after it (padded with
    /// `pool_fill`), and writes everything; `pad` writes `len` bytes of no-ops. A label bound
    /// at the very end must have been given an instruction to stand on. The buffer is left to
    /// [`CodeBuffer::reset`].
    pub fn finish(&mut self, consts: &[Constant], pad: fn(usize, &mut Vec<u8>), pool_fill: u8) -> Result<Assembled> {
        self.relax()?;
        let code_len = self.offsets[self.pieces.len()];
        let mut used = vec![false; consts.len()];
        for f in &self.fixups {
            if let FixupTarget::Constant(c) = f.target()
                && let Some(u) = used.get_mut(c as usize)
            {
                *u = true;
            }
        }
        let pool = ConstPool::layout(consts, &used, code_len);
        let mut bytes = Vec::with_capacity(pool.end() as usize);
        for (k, piece) in self.pieces.iter().enumerate() {
            match *piece {
                Piece::Run { at, len } => bytes.extend_from_slice(&self.early[at as usize..(at + len) as usize]),
                Piece::Align { len, .. } => pad(len as usize, &mut bytes),
                Piece::Fixup { index } => {
                    let fixup = &self.fixups[index as usize];
                    let target = match fixup.target() {
                        FixupTarget::Label(l) => self.label_offset(l)?,
                        FixupTarget::Constant(c) => pool
                            .offset_of(c)
                            .ok_or_else(|| Error::internal(format!("constant {c} is not in the pool")))?,
                    };
                    let before = bytes.len();
                    fixup.write(self.offsets[k], target, &mut bytes)?;
                    if bytes.len() - before != fixup.size() as usize {
                        return Err(Error::internal("a fixup changed length when written"));
                    }
                }
            }
        }
        let code_end = bytes.len();
        pool.write(&mut bytes, pool_fill);
        let mut labels_at: Vec<(u32, u32)> = self
            .label_piece
            .iter()
            .enumerate()
            .filter_map(|(l, p)| p.map(|p| (self.offsets[p as usize], l as u32)))
            .collect();
        labels_at.sort_unstable();
        let alignment = self
            .pieces
            .iter()
            .filter_map(|p| if let Piece::Align { to, .. } = p { Some(*to) } else { None })
            .chain([pool.alignment()])
            .max()
            .unwrap_or(1);
        Ok(Assembled { bytes, code_end, labels_at, pool, alignment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy jump: two bytes (`0xEB`, rel8) that grow to five (`0xE9`, rel32).
    struct Jump {
        label: u32,
        long: bool,
    }

    impl Fixup for Jump {
        fn size(&self) -> u32 {
            if self.long { 5 } else { 2 }
        }
        fn target(&self) -> FixupTarget {
            FixupTarget::Label(self.label)
        }
        fn relax(&mut self, at: u32, target: u32) -> Result<bool> {
            let reach = (-128..128).contains(&(target as i64 - (at as i64 + 2)));
            let grow = !self.long && !reach;
            self.long |= grow;
            Ok(grow)
        }
        fn write(&self, at: u32, target: u32, out: &mut Vec<u8>) -> Result<()> {
            let rel = target as i64 - (at + self.size()) as i64;
            if self.long {
                out.push(0xE9);
                out.extend_from_slice(&(rel as i32).to_le_bytes());
            } else {
                out.extend_from_slice(&[0xEB, rel as i8 as u8]);
            }
            Ok(())
        }
    }

    fn pad(len: usize, out: &mut Vec<u8>) {
        out.resize(out.len() + len, 0x90);
    }

    #[test]
    fn jumps_grow_only_when_they_must() {
        let mut b = CodeBuffer::new(0, 2);
        b.push_fixup(Jump { label: 0, long: false });
        b.put(&[0xCC; 100]);
        b.bind(0);
        b.put(&[0xC3]);
        b.push_fixup(Jump { label: 1, long: false });
        b.put(&[0xCC; 200]);
        b.bind(1);
        b.put(&[0xC3]);
        let done = b.finish(&[], pad, 0).unwrap();
        assert_eq!(&done.bytes[..2], &[0xEB, 100]);
        assert_eq!(&done.bytes[103..108], &[0xE9, 200, 0, 0, 0]);
        assert_eq!(done.labels_at, [(102, 0), (308, 1)]);
        assert_eq!(done.code_end, 309);
    }

    #[test]
    fn alignment_follows_growth_and_the_pool_follows_the_code() {
        let mut b: CodeBuffer<Jump> = CodeBuffer::new(0, 1);
        b.put(&[1, 2, 3]);
        b.align(8);
        b.bind(0);
        b.put(&[4]);
        let consts = [Constant::u64(7)];
        let done = b.finish(&consts, pad, 0xAA).unwrap();
        assert_eq!(done.bytes[..9], [1, 2, 3, 0x90, 0x90, 0x90, 0x90, 0x90, 4]);
        assert_eq!(done.labels_at, [(8, 0)]);
        assert_eq!(done.pool.end(), 9);
    }

    /// Marks follow the layout: inside a run that grows after them, after a jump that grows,
    /// after padding, and at the start.
    #[test]
    fn marks_follow_the_layout() {
        let mut b = CodeBuffer::new(0, 1);
        let start = b.mark();
        b.put(&[1, 2, 3]);
        let in_run = b.mark();
        b.put(&[4]);
        b.push_fixup(Jump { label: 0, long: false });
        let after_jump = b.mark();
        b.align(16);
        let after_pad = b.mark();
        b.put(&[0xCC; 200]);
        b.bind(0);
        b.put(&[0xC3]);
        b.finish(&[], pad, 0).unwrap();
        // The jump grew to five bytes (4..9); the padding reaches 16.
        let at = |m| b.mark_offset(m).unwrap();
        assert_eq!([at(start), at(in_run), at(after_jump), at(after_pad)], [0, 3, 9, 16]);
    }

    #[test]
    fn unbound_labels_are_errors() {
        let mut b = CodeBuffer::new(0, 1);
        b.push_fixup(Jump { label: 0, long: false });
        assert_eq!(b.finish(&[], pad, 0).err().map(|e| e.kind()), Some(ErrorKind::Label));
    }
}
