//! The finished product: [`CodeObject`], machine code with its symbol, the ISA extensions it
//! uses and a listing.

mod buffer;
mod dwarf;
mod pool;
mod unwind;

pub use buffer::{Assembled, CodeBuffer, Fixup, FixupTarget};
pub use dwarf::{Call, DebugSections, Hole, Inlined, LineRow, LineTable};
pub use pool::ConstPool;
pub use unwind::{EntryFrame, FrameStep, FrameSteps, Win64Step, eh_frame, win64_unwind_info};

use std::fmt::Write as _;
use std::sync::Arc;

use crate::error::Src;
use crate::target::{ExtSet, Target};

/// One line of a listing: an instruction's offset, bytes and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListingLine {
    /// Offset from the start of the code.
    pub offset: usize,
    /// Number of bytes.
    pub len: usize,
    /// Labels bound at this instruction.
    pub labels: Vec<u32>,
    /// Intel syntax.
    pub intel: String,
    /// GNU assembler (AT&T) syntax.
    pub gas: String,
}

/// Machine code for one function.
///
/// ```
/// use peach_core::prelude::*;
/// let mut f = Function::new("seven", Signature::new(&[], Some(Type::I64)), Target::x86_64_baseline());
/// let x = f.gp64();
/// f.ins("mov", (x, 7));
/// f.ret(x);
/// let code = f.compile(Abi::SysV).unwrap();
/// assert_eq!(code.name(), "seven");
/// assert!(code.listing().contains("ret"));
/// ```
#[derive(Clone)]
pub struct CodeObject {
    name: Arc<str>,
    bytes: Vec<u8>,
    entry: usize,
    extensions: ExtSet,
    target: Target,
    alignment: u32,
    listing: Arc<dyn Listing>,
    /// `None` where the backend does not describe its frames (then no unwind information is
    /// given, rather than a wrong one).
    /// How the frame is entered and then changes (see [`CodeObject::frame_steps`]).
    frame_steps: Option<(EntryFrame, Vec<(u32, FrameStep)>)>,
    /// Where the code of each source location starts (see [`CodeObject::source_lines`]).
    source_lines: Vec<(u32, Src)>,
    /// The Windows x64 prologue, for code of that convention.
    win64_unwind: Option<Vec<(u32, Win64Step)>>,
}

/// A source of listing lines, kept by a code object and rendered only when asked for.
pub trait Listing: Send + Sync {
    /// The instructions of `bytes` (the code object's), one line each.
    fn lines(&self, bytes: &[u8]) -> Vec<ListingLine>;
}

impl PartialEq for CodeObject {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.bytes == other.bytes
            && self.entry == other.entry
            && self.extensions == other.extensions
            && self.alignment == other.alignment
            && self.frame_steps == other.frame_steps
    }
}

impl Eq for CodeObject {}

impl std::fmt::Debug for CodeObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeObject")
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .field("target", &self.target.name())
            .finish()
    }
}

impl CodeObject {
    /// A code object from its parts (used by the ISA backends).
    pub fn new(
        name: impl Into<Arc<str>>,
        bytes: Vec<u8>,
        entry: usize,
        extensions: ExtSet,
        target: Target,
        listing: Arc<dyn Listing>,
    ) -> Self {
        CodeObject {
            name: name.into(),
            bytes,
            entry,
            extensions,
            target,
            alignment: Self::MIN_ALIGNMENT,
            listing,
            frame_steps: None,
            source_lines: Vec::new(),
            win64_unwind: None,
        }
    }

    /// The same code, with its Windows x64 prologue (used by the x86-64 backend for code of the
    /// Microsoft x64 convention).
    #[inline]
    pub fn with_win64_unwind(mut self, steps: Vec<(u32, Win64Step)>) -> Self {
        self.win64_unwind = Some(steps);
        self
    }

    /// The prologue as Windows x64's unwind data describes it, for code of the Microsoft x64
    /// convention: `.seh_*` directives in [`CodeObject::asm_lines`] for COFF, and
    /// [`win64_unwind_info`] for code loaded at run time.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::emit::Win64Step;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.asm("xor ebx, ebx", ());
    /// f.ret(None);
    /// let code = f.compile(Abi::Win64)?;
    /// // push rbx, then the prologue ends.
    /// assert_eq!(code.win64_unwind(), Some(&[(1, Win64Step::Push(3)), (1, Win64Step::EndPrologue)][..]));
    /// assert_eq!(f_sysv()?.win64_unwind(), None);
    /// # fn f_sysv() -> peach_core::Result<peach_core::CodeObject> {
    /// #     let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// #     f.ret(None);
    /// #     f.compile(Abi::SysV)
    /// # }
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn win64_unwind(&self) -> Option<&[(u32, Win64Step)]> {
        self.win64_unwind.as_deref()
    }

    /// The same code, with the offsets where the code of each source location starts (used
    /// by the ISA backends).
    #[inline]
    pub fn with_source_lines(mut self, rows: Vec<(u32, Src)>) -> Self {
        self.source_lines = rows;
        self
    }

    /// `(offset, location)` by offset: from `offset` on, the code comes from the instruction
    /// written at `location` (an epilogue from its return; the first row is where the body
    /// starts, after the prologue, which belongs to the first row's location too);
    /// empty unless the function recorded them
    /// ([`crate::Function::record_source_lines_by_default`],
    /// [`crate::Function::set_source_lines`]). [`LineTable`] turns them into lines for
    /// debuggers.
    ///
    /// ```
    /// use peach_core::{Src, prelude::*};
    /// let new_line = line!() + 1;
    /// let mut f = Function::new("k", Signature::new(&[Type::I64], Some(Type::I64)), Target::x86_64_baseline());
    /// f.set_source_lines(true);
    /// let x = f.param(0);
    /// f.ins("add", (x, 1));
    /// f.ret(x);
    /// let code = f.compile(Abi::SysV)?;
    /// let lines: Vec<(u32, u32)> = code
    ///     .source_lines()
    ///     .iter()
    ///     .map(|(offset, src)| match src {
    ///         Src::Rust(l) => (*offset, l.line() - new_line),
    ///         Src::Token(_) => unreachable!("the builder API gives lines of Rust"),
    ///     })
    ///     .collect();
    /// // mov rax, rdi (the parameter's arrival: the function's line), add rax, 1, ret.
    /// assert_eq!(lines, [(0, 0), (3, 3), (7, 4)]);
    /// # let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// # f.set_source_lines(true);
    /// # f.asm("xor ebx, ebx", ());
    /// # f.ret(None);
    /// # // After `push rbx`.
    /// # assert_eq!(f.compile(Abi::SysV)?.source_lines()[0].0, 1);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn source_lines(&self) -> &[(u32, Src)] {
        &self.source_lines
    }

    /// The same code, entered with `entry`, with the steps by which its frame changes (used by
    /// the ISA backends).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::emit::{EntryFrame, FrameStep};
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.ret(None);
    /// let entry = EntryFrame { cfa: (7, 8), return_address: 16, return_saved_at: Some(-8) };
    /// let code = f.compile(Abi::SysV)?.with_frame_steps(entry, vec![(0, FrameStep::Remember)]);
    /// assert_eq!(code.frame_steps(), Some(&[(0, FrameStep::Remember)][..]));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    #[inline]
    pub fn with_frame_steps(mut self, entry: EntryFrame, steps: Vec<(u32, FrameStep)>) -> Self {
        self.frame_steps = Some((entry, steps));
        self
    }

    /// The frame at the code's entry, where the backend describes its frames.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.ret(None);
    /// let code = f.compile(Abi::SysV)?;
    /// // x86-64: the CFA is rsp (DWARF 7) + 8, the return address at CFA - 8.
    /// let entry = code.entry_frame().expect("x86-64 describes its frames");
    /// assert_eq!((entry.cfa, entry.return_saved_at), ((7, 8), Some(-8)));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn entry_frame(&self) -> Option<&EntryFrame> {
        self.frame_steps.as_ref().map(|(entry, _)| entry)
    }

    /// Where the frame changes, by offset, in order: the prologue's pushes and stack
    /// adjustments, each epilogue's, and where the body's frame holds again after a return.
    /// Registers by their DWARF numbers; what `asm_lines` gives as `.cfi_*` directives.
    /// `None` where the backend does not describe its frames yet (AArch64).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::emit::FrameStep;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.asm("mov rbx, 1", ());
    /// f.ret(None);
    /// let code = f.compile(Abi::SysV)?;
    /// // `push rbx` (1 byte): the CFA is rsp + 16, rbx saved at CFA - 16.
    /// let steps = code.frame_steps().expect("x86-64 describes its frames");
    /// assert_eq!(steps[..2], [(1, FrameStep::Cfa { reg: 7, offset: 16 }), (1, FrameStep::Saved { reg: 3, offset: -16 })]);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn frame_steps(&self) -> Option<&[(u32, FrameStep)]> {
        self.frame_steps.as_ref().map(|(_, steps)| steps.as_slice())
    }

    /// The alignment every code object gets at least: a cache line.
    pub const MIN_ALIGNMENT: u32 = 64;

    /// The same code, needing its start aligned to `bytes` (a power of two; never less than
    /// [`CodeObject::MIN_ALIGNMENT`]).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.ret(None);
    /// let code = f.compile(Abi::SysV)?;
    /// assert_eq!(code.clone().with_alignment(4096).alignment(), 4096);
    /// assert_eq!(code.with_alignment(8).alignment(), CodeObject::MIN_ALIGNMENT);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    #[inline]
    pub fn with_alignment(mut self, bytes: u32) -> Self {
        self.alignment = bytes.max(Self::MIN_ALIGNMENT).next_power_of_two();
        self
    }

    /// The alignment the code's start address needs, a power of two of at least 64: more when
    /// it aligns a loop to more (`Function::align`) or its constant pool holds wider constants.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.align(256);
    /// f.ret(None);
    /// assert_eq!(f.compile(Abi::SysV)?.alignment(), 256);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn alignment(&self) -> u32 {
        self.alignment
    }

    /// The symbol name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The machine code.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Offset of the entry point in [`CodeObject::bytes`].
    pub fn entry(&self) -> usize {
        self.entry
    }

    /// The ISA extensions the code uses.
    pub fn extensions(&self) -> &ExtSet {
        &self.extensions
    }

    /// The names of the ISA extensions the code uses, sorted.
    pub fn extension_names(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.extensions.iter().map(|e| self.target.extension_name(e)).collect();
        v.sort_unstable();
        v
    }

    /// The target the code was built for.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The instructions, one line each (rendered on each call).
    pub fn lines(&self) -> Vec<ListingLine> {
        self.listing.lines(&self.bytes)
    }

    /// A listing in Intel syntax: labels, offsets, bytes and instructions.
    pub fn listing(&self) -> String {
        self.render(|l| &l.intel)
    }

    /// A listing in GNU assembler (AT&T) syntax.
    pub fn listing_gas(&self) -> String {
        self.render(|l| &l.gas)
    }

    fn render(&self, text: impl Fn(&ListingLine) -> &String) -> String {
        let mut out = format!("{}:\n", self.name);
        for l in &self.lines() {
            for label in &l.labels {
                let _ = writeln!(out, ".L{label}:");
            }
            let hex: String = self.bytes[l.offset..l.offset + l.len].iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(out, "  {:04x}  {:<24} {}", l.offset, hex, text(l));
        }
        out
    }
}

/// An object-file format, for [`CodeObject::asm_lines`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectFormat {
    /// ELF (Linux, the BSDs).
    Elf,
    /// Mach-O (macOS, iOS): C symbols take a leading underscore.
    MachO,
    /// COFF (Windows).
    Coff,
}

impl CodeObject {
    /// Assembler directives that define `symbol` (a C name) as this code, aligned as it needs
    /// ([`CodeObject::alignment`]) in the text section, visible to the linker but not exported from a shared library: what
    /// `peach_fn!` hands to `global_asm!`.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::emit::ObjectFormat;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.ret(None);
    /// let code = f.compile(Abi::SysV)?;
    /// let lines = code.asm_lines("my_kernel", ObjectFormat::MachO);
    /// assert!(lines.contains(&"_my_kernel:".to_string()));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn asm_lines(&self, symbol: &str, format: ObjectFormat) -> Vec<String> {
        let name = match format {
            ObjectFormat::MachO => format!("_{symbol}"),
            _ => symbol.to_string(),
        };
        let align = format!(".p2align {}", self.alignment.trailing_zeros());
        let mut lines = vec![".text".to_string(), align, format!(".globl {name}")];
        match format {
            ObjectFormat::Elf => lines.push(format!(".hidden {name}")),
            ObjectFormat::MachO => lines.push(format!(".private_extern {name}")),
            ObjectFormat::Coff => {}
        }
        if format == ObjectFormat::Elf {
            lines.push(format!(".type {name},@function"));
        }
        lines.push(format!("{name}:"));
        // Unwind information: DWARF's call-frame information where the object format takes it,
        // Windows x64's prologue description on COFF. The bytes are cut where the frame
        // changes, the directives between.
        let directives: Vec<(u32, String)> = match (format, &self.frame_steps, &self.win64_unwind) {
            (ObjectFormat::Coff, _, Some(w)) => {
                lines.push(format!(".seh_proc {name}"));
                w.iter().map(|(at, s)| (*at, s.directive())).collect()
            }
            (ObjectFormat::Coff, _, None) | (_, None, _) => Vec::new(),
            (_, Some((_, steps)), _) => {
                lines.push(".cfi_startproc".into());
                steps.iter().map(|(at, s)| (*at, s.directive())).collect()
            }
        };
        let mut steps = directives.iter().peekable();
        let mut at = 0;
        loop {
            while let Some((_, directive)) = steps.next_if(|(offset, _)| *offset as usize <= at) {
                lines.push(directive.clone());
            }
            if at >= self.bytes.len() {
                break;
            }
            // (The steps due here are out: the next is further on.)
            let next = steps.peek().map_or(self.bytes.len(), |(offset, _)| *offset as usize);
            let end = next.min(at + 32).min(self.bytes.len());
            let bytes: Vec<String> = self.bytes[at..end].iter().map(|b| format!("0x{b:02x}")).collect();
            lines.push(format!(".byte {}", bytes.join(",")));
            at = end;
        }
        match (format, &self.frame_steps, &self.win64_unwind) {
            (ObjectFormat::Coff, _, Some(_)) => lines.push(".seh_endproc".into()),
            (ObjectFormat::Coff, _, None) | (_, None, _) => {}
            (_, Some(_), _) => lines.push(".cfi_endproc".into()),
        }
        if format == ObjectFormat::Elf {
            lines.push(format!(".size {name}, .-{name}"));
        }
        lines
    }
}
