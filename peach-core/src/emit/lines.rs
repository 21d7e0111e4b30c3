//! Source lines: where the code of each source location starts, recorded by the backends as
//! they emit, so that debuggers and profilers can map an address back to the line of the
//! kernel that produced it.

use crate::error::Src;
use crate::ir::Locations;

/// Collects, while a backend emits, a position of the code buffer (a mark, or an offset
/// where the backend knows it) each time the source location changes.
///
/// ```
/// use peach_core::emit::LineMarks;
/// use peach_core::{Src, ir::Locations};
/// let mut locs = Locations::default();
/// let (a, b) = (locs.intern(Src::Token(1)), locs.intern(Src::Token(2)));
/// let mut marks = LineMarks::default();
/// marks.note(a, || 0);
/// marks.note(a, || 1); // the same location: nothing new
/// marks.note(b, || 2);
/// // Mark 0 laid out at offset 0, mark 2 at 7.
/// let rows = marks.at_offsets(&locs, |mark| [0, 3, 7].get(mark as usize).copied());
/// assert_eq!(rows, [(0, Src::Token(1)), (7, Src::Token(2))]);
/// ```
#[derive(Clone, Debug)]
pub struct LineMarks {
    /// `(mark, location index)`, in code order.
    marks: Vec<(u32, u32)>,
    last: u32,
}

impl Default for LineMarks {
    fn default() -> Self {
        LineMarks { marks: Vec::new(), last: u32::MAX }
    }
}

impl LineMarks {
    /// The code from here on comes from location `loc` (an index into the function's
    /// [`Locations`]); `mark` gives the buffer's position, and is asked only when `loc` is new.
    #[inline]
    pub fn note(&mut self, loc: u32, mark: impl FnOnce() -> u32) {
        if loc != self.last {
            self.last = loc;
            self.marks.push((mark(), loc));
        }
    }

    /// `(offset, location)` rows by offset, given the offset of each mark: where several rows
    /// fall at one offset (code that emitted nothing), the last is kept; the first row starts
    /// at 0 (a prologue before it belongs to it).
    pub fn at_offsets(self, locs: &Locations, offset: impl Fn(u32) -> Option<u32>) -> Vec<(u32, Src)> {
        let mut rows: Vec<(u32, Src)> = Vec::with_capacity(self.marks.len());
        for (mark, loc) in self.marks {
            let Some(at) = offset(mark) else { continue };
            let src = locs.get(loc);
            match rows.last_mut() {
                Some(last) if last.0 == at => last.1 = src,
                Some(last) if last.1 == src => {}
                _ => rows.push((at, src)),
            }
        }
        // The prologue belongs to the first instruction's line.
        if let Some(first) = rows.first_mut() {
            first.0 = 0;
        }
        rows
    }
}
