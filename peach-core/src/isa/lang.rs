//! The kernel language's vocabulary: the builtins of `peach_fn!` bodies (register constructors,
//! labels, returns, streams, pseudo-instructions), the names that stand for values (physical
//! registers, conditions, prefetch operations, element types, rounding modes), the register
//! views and how a Rust name spells a mnemonic. Each ISA supplies its part
//! (`isa/<arch>/lang.rs`); static mode and JIT mode both read these tables, so they cannot
//! disagree, and [`reference()`] writes the language reference from them.
//!
//! ```
//! use peach_core::isa::lang::{self, Builtin, VregKind};
//! use peach_core::target::Arch;
//! assert_eq!(lang::builtin(Arch::X86_64, "YMM").map(|w| w.builtin), Some(Builtin::Vreg(VregKind::Ymm)));
//! assert!(lang::builtin(Arch::Aarch64, "YMM").is_none());
//! assert_eq!(lang::mnemonic(Arch::Aarch64, "B_NE").as_deref(), Some("b.ne"));
//! ```

use std::borrow::Cow;

use super::{aarch64, x86_64};
use crate::error::{ErrorKind, Src};
use crate::ir::{Function, Reg, Rounding};
use crate::target::Arch;

/// What a builtin does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// Makes a fresh virtual register.
    Vreg(VregKind),
    /// Makes four fresh vector registers placed at consecutive registers from a multiple of 4
    /// (the block x86's `v4fmaddps` reads), as an array.
    Block(VregKind),
    /// `LABEL(l)`: binds a label here.
    Bind,
    /// `RETURN(value)` or `RETURN()`.
    Return,
    /// `ALIGN(bytes)`: pads with no-ops.
    Align,
    /// `LOAD_ARGUMENT(register, parameter)`: copies a parameter.
    LoadArgument,
    /// `STREAM({ ... })`: records a block's instructions instead of emitting them.
    Stream,
    /// `ISSUE(stream, n)`: emits the next `n` instructions of a stream.
    Issue,
    /// `ISSUE_ALL(stream)`: emits the rest of a stream.
    IssueAll,
    /// `ISSUE_SKEWED([streams], skew)`: interleaves streams, each `skew` steps behind the last.
    IssueSkewed,
    /// A horizontal reduction of vector registers into the first one's lane 0.
    Reduce(Reduction),
    /// `MOV_IMM(register, value)`: the shortest sequence that loads a 64-bit constant.
    MovImm,
    /// `ASM("text", operands...)`: one instruction written as assembly text.
    Asm,
}

/// The kinds of virtual register the constructors make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VregKind {
    /// General-purpose, seen as 64 bits.
    Gp64,
    /// General-purpose, seen as 32 bits.
    Gp32,
    /// x86 vector, seen as xmm.
    Xmm,
    /// x86 vector, seen as ymm.
    Ymm,
    /// x86 vector, seen as zmm.
    Zmm,
    /// AVX-512 mask.
    Mask,
    /// AArch64 vector (128 bits).
    Vec,
}

/// The horizontal reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reduction {
    /// Sum of the lanes.
    Sum,
    /// Largest lane.
    Max,
    /// Smallest lane.
    Min,
}

/// A builtin as the language offers it: its name, what it does, how it is called and what it
/// means.
#[derive(Clone, Copy, Debug)]
pub struct Word {
    /// The name written in a body.
    pub name: &'static str,
    /// What it does.
    pub builtin: Builtin,
    /// How it is called.
    pub usage: &'static str,
    /// What it means.
    pub doc: &'static str,
}

/// The builtins of every ISA.
const COMMON: &[Word] = &[
    Word {
        name: "LABEL",
        builtin: Builtin::Bind,
        usage: "LABEL(l)",
        doc: "binds label `l` (made by `Label::new()`) here",
    },
    Word {
        name: "RETURN",
        builtin: Builtin::Return,
        usage: "RETURN(value) / RETURN()",
        doc: "returns a register (moved to where the calling convention wants it), or nothing",
    },
    Word {
        name: "ASM",
        builtin: Builtin::Asm,
        usage: "ASM(\"text\", operands...)",
        doc: "one instruction as assembly text in the syntax llvm-mc accepts (x86-64: Intel; AArch64: A64), `{}` standing for the operands that follow (`Function::asm`)",
    },
    Word {
        name: "ALIGN",
        builtin: Builtin::Align,
        usage: "ALIGN(bytes)",
        doc: "pads with no-ops to a multiple of `bytes`",
    },
    Word {
        name: "LOAD_ARGUMENT",
        builtin: Builtin::LoadArgument,
        usage: "LOAD_ARGUMENT(register, parameter)",
        doc: "copies a parameter into a register (PeachPy's `LOAD.ARGUMENT`)",
    },
    Word {
        name: "STREAM",
        builtin: Builtin::Stream,
        usage: "STREAM({ ... })",
        doc: "records the block's instructions into a stream instead of emitting them",
    },
    Word {
        name: "ISSUE",
        builtin: Builtin::Issue,
        usage: "ISSUE(stream, n)",
        doc: "emits the next `n` instructions of a stream",
    },
    Word {
        name: "ISSUE_ALL",
        builtin: Builtin::IssueAll,
        usage: "ISSUE_ALL(stream)",
        doc: "emits the rest of a stream",
    },
    Word {
        name: "ISSUE_SKEWED",
        builtin: Builtin::IssueSkewed,
        usage: "ISSUE_SKEWED([streams], skew)",
        doc: "interleaves streams instruction by instruction, each `skew` steps behind the one before (software pipelining)",
    },
];

/// The builtins of `arch`: its own, then those of every ISA.
pub fn builtins(arch: Arch) -> impl Iterator<Item = &'static Word> {
    let own: &[Word] = match arch {
        Arch::X86_64 => x86_64::lang::WORDS,
        Arch::Aarch64 => aarch64::lang::WORDS,
    };
    own.iter().chain(COMMON)
}

/// The builtin `name` on `arch`.
pub fn builtin(arch: Arch, name: &str) -> Option<&'static Word> {
    builtins(arch).find(|w| w.name == name)
}

/// The builtin `name` on any ISA (for front ends that expand before the target is known), with
/// the architectures that have it.
pub fn builtin_anywhere(name: &str) -> Option<(Builtin, Vec<Arch>)> {
    let archs: Vec<Arch> = Arch::ALL.into_iter().filter(|a| builtin(*a, name).is_some()).collect();
    Some((builtin(*archs.first()?, name)?.builtin, archs))
}

/// A name that stands for a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// A physical register (`RAX`, `x0`, `v3`).
    Reg(Reg),
    /// An immediate with a name: an AArch64 condition (`GT`) or prefetch operation
    /// (`PLDL1KEEP`).
    Imm(i64),
    /// An element type for the reductions (`f32`, `f64`, `i32`, `i64`).
    Elem(x86_64::Elem),
    /// An AVX-512 rounding mode (`RN_SAE`, ..., `SAE`).
    Rounding(Rounding),
}

/// What `name` stands for on `arch`, if it is one of the ISA's named values.
pub fn named(arch: Arch, name: &str) -> Option<Named> {
    match arch {
        Arch::X86_64 => x86_64::lang::named(name),
        Arch::Aarch64 => aarch64::lang::named(name),
    }
}

/// A register view: a method on registers (`r.ymm()`, `r.s4()`) that names another part or
/// arrangement of the same register.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// The method's name.
    pub name: &'static str,
    /// What it does to a register.
    pub apply: fn(Reg) -> Reg,
    /// What it names.
    pub doc: &'static str,
}

/// The register views of `arch`.
pub fn views(arch: Arch) -> &'static [View] {
    match arch {
        Arch::X86_64 => x86_64::lang::VIEWS,
        Arch::Aarch64 => aarch64::lang::VIEWS,
    }
}

/// The view `name` on `arch`.
pub fn view(arch: Arch, name: &str) -> Option<&'static View> {
    views(arch).iter().find(|v| v.name == name)
}

/// The mnemonic a Rust name spells on `arch`: instructions are written in upper case
/// (`VADDPD`), and on AArch64 `B_NE` spells `b.ne` (a dot cannot stand in a Rust name).
/// `None` for a name that is not an instruction's spelling.
pub fn mnemonic(arch: Arch, name: &str) -> Option<Cow<'_, str>> {
    let spelled = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !spelled {
        return None;
    }
    match (arch, name.strip_prefix("B_")) {
        (Arch::Aarch64, Some(cond)) => Some(Cow::Owned(format!("b.{}", cond.to_ascii_lowercase()))),
        _ => Some(Cow::Borrowed(name)),
    }
}

/// Why `name` is not a builtin on `arch` when another ISA has it (`None` when `arch` has it,
/// or no ISA does): the error both modes give.
pub fn elsewhere(arch: Arch, name: &str) -> Option<String> {
    if builtin(arch, name).is_some() {
        return None;
    }
    let (_, archs) = builtin_anywhere(name)?;
    let names: Vec<&str> = archs.iter().map(|a| arch_name(*a)).collect();
    Some(format!("`{name}` is a builtin of {}, and this kernel is {} code", names.join(" and "), arch_name(arch)))
}

impl Function {
    /// Whether builtin `name` exists on the target's ISA; if not, records an error at `loc`
    /// that says where it exists.
    pub fn has_builtin_at(&mut self, name: &str, loc: impl Into<Src>) -> bool {
        let arch = self.target().arch();
        if builtin(arch, name).is_some() {
            return true;
        }
        let message = elsewhere(arch, name).unwrap_or_else(|| format!("`{name}` is not a builtin"));
        self.push_error(ErrorKind::InvalidOperands, message, loc);
        false
    }

    /// The reduction `r` of `regs` (lanes of type `elem`), attributed to `loc`; an error on an
    /// ISA without the reductions.
    pub fn reduce_at(&mut self, r: Reduction, regs: &[Reg], elem: x86_64::Elem, loc: impl Into<Src>) {
        let loc = loc.into();
        let name = match r {
            Reduction::Sum => "REDUCE_SUM",
            Reduction::Max => "REDUCE_MAX",
            Reduction::Min => "REDUCE_MIN",
        };
        if self.has_builtin_at(name, loc) {
            x86_64::lang::reduce(self, r, regs, elem, loc);
        }
    }

    /// `MOV_IMM(dst, value)`, attributed to `loc`; an error on an ISA without it.
    pub fn mov_imm_builtin_at(&mut self, dst: Reg, value: u64, loc: impl Into<Src>) {
        let loc = loc.into();
        if self.has_builtin_at("MOV_IMM", loc) {
            aarch64::lang::mov_imm(self, dst, value, loc);
        }
    }

    /// `ZMM_BLOCK()`/`XMM_BLOCK()`: four vector registers at consecutive registers from a
    /// multiple of 4, attributed to `loc`; an error on an ISA without blocks (four unrelated
    /// registers are returned, so that recording goes on).
    pub fn block_at(&mut self, kind: VregKind, loc: impl Into<Src>) -> [Reg; 4] {
        let loc = loc.into();
        match (self.target().arch(), kind) {
            (Arch::X86_64, VregKind::Xmm | VregKind::Zmm) => x86_64::lang::block(self, kind, loc),
            _ => {
                let message =
                    format!("blocks of {kind:?} registers do not exist on {}", arch_name(self.target().arch()));
                self.push_error(ErrorKind::InvalidOperands, message, loc);
                std::array::from_fn(|_| self.vreg_at(VregKind::Gp64, loc))
            }
        }
    }

    /// A fresh virtual register of `kind`, attributed to `loc`; a kind the target's ISA does
    /// not have is an error there (and a general-purpose register is returned, so that
    /// recording goes on).
    pub fn vreg_at(&mut self, kind: VregKind, loc: impl Into<Src>) -> Reg {
        let loc = loc.into();
        let arch = self.target().arch();
        let made = match arch {
            Arch::X86_64 => x86_64::lang::vreg(self, kind, loc),
            Arch::Aarch64 => aarch64::lang::vreg(self, kind, loc),
        };
        made.unwrap_or_else(|| {
            let message = format!("{kind:?} registers do not exist on {}", arch_name(arch));
            self.push_error(ErrorKind::InvalidOperands, message, loc);
            match arch {
                Arch::X86_64 => x86_64::lang::vreg(self, VregKind::Gp64, loc),
                Arch::Aarch64 => aarch64::lang::vreg(self, VregKind::Gp64, loc),
            }
            .unwrap_or(Reg::LOCALS)
        })
    }
}

/// An architecture's name in prose.
pub fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86-64",
        Arch::Aarch64 => "AArch64",
    }
}

/// The language reference, in Markdown, written from the tables: what the `peach_fn!`
/// documentation shows (`tests/lang.rs` keeps `peach-front/src/language.md` equal
/// to it; `PEACH_BLESS=1` rewrites the file).
pub fn reference() -> String {
    let mut out = String::from(
        "# The kernel language\n\n\
         A `peach_fn!` body is Rust. Calls of upper-case names are instructions (`VADDPD(a, b, c)`; on AArch64 \
         `B_NE(l)` is `b.ne l`), unless the name is a builtin below or a `fn` of the body (a custom \
         instruction). Operands: registers, integers, `[base + index * scale + offset]` memory, labels, \
         `Constant::...` pool constants.\n\n\
         Operand methods: `.mask(k)` and `.zeroing()` (AVX-512 write masks; `[p].mask(k)` masks a \
         store to memory), `.sized(bytes)`, `.bcst()` and `.bcst_to(n)` (AVX-512 broadcasts), `.pre()` and `.post(n)` (AArch64 write-back addressing), \
         `.lane(i)` (AArch64 vector lanes); `target.has_avx2()`-style queries pick code per target, \
         `target.is_zen4()` per microarchitecture, and `target.fma_per_cycle(bits)`, \
         `target.loads_per_cycle(bits)`, `target.stores_per_cycle(bits)` give the core's vector \
         rates as `f64` (0 where unknown).\n",
    );
    for arch in Arch::ALL {
        out.push_str(&format!("\n## {}\n\n| builtin | use | does |\n| --- | --- | --- |\n", arch_name(arch)));
        // A `|` would end a table cell, even in code.
        let cell = |s: &str| s.replace('|', "\\|");
        for w in builtins(arch) {
            out.push_str(&format!("| `{}` | `{}` | {} |\n", w.name, cell(w.usage), cell(w.doc)));
        }
        out.push_str("\n| view | names |\n| --- | --- |\n");
        for v in views(arch) {
            out.push_str(&format!("| `.{}()` | {} |\n", v.name, v.doc));
        }
        let names = match arch {
            Arch::X86_64 => x86_64::lang::NAMED_DOC,
            Arch::Aarch64 => aarch64::lang::NAMED_DOC,
        };
        out.push_str(&format!("\nNamed values: {names}\n"));
    }
    out
}
