//! One error type for every stage: a kind, a message for humans and the user's source location.

use std::fmt;
use std::panic::Location;

/// What went wrong, and whose fault it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// User error: the mnemonic is not an instruction peach knows.
    UnknownMnemonic,
    /// User error: no form of the instruction takes these operands.
    InvalidOperands,
    /// User error: assembly text that does not parse (the message shows the line and a caret
    /// under the column).
    Syntax,
    /// User error: a memory operand cannot be encoded (bad scale, two bases, ...).
    InvalidMemory,
    /// User error: an immediate does not fit any form of the instruction.
    ImmediateOutOfRange,
    /// User error: a label is used but never bound, or bound twice.
    Label,
    /// User error: the instruction needs an ISA extension the target lacks.
    NotInTarget,
    /// Limit: more values are live at once than the register class holds (peach never spills).
    OutOfRegisters,
    /// User error: a parameter, return value or signature that the ABI cannot express.
    Signature,
    /// User error: the program uses a value before anything defines it.
    UndefinedValue,
    /// User error: control reaches the end of the function without a return.
    ControlFlow,
    /// User error: a target, or a calling convention, that peach does not know for the
    /// architecture.
    UnknownTarget,
    /// Limit: the kernel is larger than peach or the machine's encodings allow (stack locals
    /// and their alignment, frame offsets).
    Limit,
    /// Limit or platform error: executable memory could not be obtained.
    Memory,
    /// Bug in peach: an internal invariant failed. Please report it.
    Internal,
}

/// Where something was written: a line of Rust (the builder API, through `#[track_caller]`) or
/// a token of a `peach_fn!` body (numbered by the macro, which maps it back to its span).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Src {
    /// A line of Rust.
    Rust(&'static Location<'static>),
    /// Token number `n` of a macro body.
    Token(u32),
}

impl From<&'static Location<'static>> for Src {
    fn from(l: &'static Location<'static>) -> Src {
        Src::Rust(l)
    }
}

impl fmt::Display for Src {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Src::Rust(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            Src::Token(n) => write!(f, "token #{n}"),
        }
    }
}

/// An error with its kind, a message and, where known, the user's source location.
///
/// ```
/// use peach_core::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::Label, "label `top` is never bound");
/// assert_eq!(e.kind(), ErrorKind::Label);
/// assert!(e.to_string().contains("never bound"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    location: Option<Src>,
}

/// The result type of peach-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error without a source location.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), location: None }
    }

    /// An error at a source location.
    pub fn at(kind: ErrorKind, message: impl Into<String>, location: impl Into<Src>) -> Self {
        Error { kind, message: message.into(), location: Some(location.into()) }
    }

    /// Attaches a location unless the error already has one.
    pub fn or_at(mut self, location: impl Into<Src>) -> Self {
        self.location.get_or_insert(location.into());
        self
    }

    /// An internal error (a bug in peach).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The user's line of Rust, when the error comes from the builder API.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        match self.location {
            Some(Src::Rust(l)) => Some(l),
            _ => None,
        }
    }

    /// Where the error was made, a line of Rust or a token of a macro body.
    pub fn src(&self) -> Option<Src> {
        self.location
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.location {
            write!(f, "{loc}: ")?;
        }
        if self.kind == ErrorKind::Internal {
            f.write_str("internal error (a bug in peach, please report it): ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

const _: () = {
    const fn assert_traits<T: Send + Sync + 'static>() {}
    assert_traits::<Error>();
};

/// `msg`, then `line` with a caret under bytes `start..end`: an error in assembly text.
///
/// ```text
/// `xmm33` is not an x86-64 register (column 8)
///   vaddps xmm33, xmm1, xmm2
///          ^^^^^
/// ```
pub(crate) fn in_line(msg: &str, line: &str, start: usize, end: usize) -> String {
    let start = start.min(line.len());
    let end = end.clamp(start, line.len());
    let col = line.get(..start).map_or(start, |s| s.chars().count());
    let width = line.get(start..end).map_or(1, |s| s.chars().count()).max(1);
    format!("{msg} (column {})\n  {line}\n  {}{}", col + 1, " ".repeat(col), "^".repeat(width))
}
