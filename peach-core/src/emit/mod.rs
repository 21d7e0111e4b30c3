//! The finished product: [`CodeObject`], machine code with its symbol, the ISA extensions it
//! uses and a listing.

mod buffer;
mod pool;

pub use buffer::{Assembled, CodeBuffer, Fixup, FixupTarget};
pub use pool::ConstPool;

use std::fmt::Write as _;
use std::sync::Arc;

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
        CodeObject { name: name.into(), bytes, entry, extensions, target, alignment: Self::MIN_ALIGNMENT, listing }
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
        lines.push(format!("{name}:"));
        for chunk in self.bytes.chunks(32) {
            let bytes: Vec<String> = chunk.iter().map(|b| format!("0x{b:02x}")).collect();
            lines.push(format!(".byte {}", bytes.join(",")));
        }
        lines
    }
}
