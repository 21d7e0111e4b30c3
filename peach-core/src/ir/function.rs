//! `Function`: the builder that records a kernel, and the flat instruction list it holds.

use std::fmt;
use std::mem::take;
use std::panic::Location;

use super::operand::{Label, Mem, Operand, Reg, RegClass, VReg};
use crate::error::{Error, ErrorKind, Src};
use crate::target::{Arch, ExtSet, Target};

/// The type of a parameter or a return value, as seen by the calling convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `i8`
    I8,
    /// `i16`
    I16,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `isize`
    Isize,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `usize`
    Usize,
    /// Any pointer (`*const T`, `*mut T`).
    Ptr,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl Type {
    /// Whether values of this type travel in floating-point/vector registers.
    pub fn is_float(self) -> bool {
        matches!(self, Type::F32 | Type::F64)
    }

    /// Size in bytes.
    pub fn size(self) -> u32 {
        match self {
            Type::I8 | Type::U8 => 1,
            Type::I16 | Type::U16 => 2,
            Type::I32 | Type::U32 | Type::F32 => 4,
            _ => 8,
        }
    }
}

/// A function signature: parameter types and an optional return type.
///
/// ```
/// use peach_core::ir::{Signature, Type};
/// let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::F64));
/// assert_eq!(sig.params().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Signature {
    params: Vec<Type>,
    ret: Option<Type>,
}

impl Signature {
    /// A signature with the given parameter types and return type.
    pub fn new(params: &[Type], ret: Option<Type>) -> Self {
        Signature { params: params.to_vec(), ret }
    }

    /// The parameter types.
    pub fn params(&self) -> &[Type] {
        &self.params
    }

    /// The return type.
    pub fn ret(&self) -> Option<Type> {
        self.ret
    }
}

/// A parameter of the function being built: its type and the virtual register that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter's type.
    pub ty: Type,
    /// The live-in virtual register holding the parameter.
    pub reg: Reg,
}

/// What an instruction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A machine instruction; the number is the ISA's opcode (for x86-64, an iced-x86 `Code`).
    Isa(u32),
    /// The position of a label.
    Bind(Label),
    /// Return from the function; the operands are the registers that carry the result.
    Ret,
    /// Pad with no-operation instructions up to a multiple of this many bytes.
    Align(u32),
}

/// One instruction: what it is, where its operands are and who wrote it.
#[derive(Clone, Copy, Debug)]
pub struct Inst {
    /// The operation.
    pub op: Op,
    /// Index of the first operand in `Function::operands`.
    pub first: u32,
    /// Number of operands.
    pub len: u8,
    /// Where the user wrote it, as an index into the function's [`Locations`].
    pub loc: u32,
}

/// Virtual registers that the allocator places in consecutive registers of their class, the
/// first at a register number that is a multiple of `align`: an AArch64 list (`ld4`) or an
/// x86 block of four (`v4fmaddps zmm0, zmm4+3, [rax]`).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::A64Builder;
/// let mut f = Function::new("k", Signature::new(&[], None), Target::aarch64_neon());
/// let list = f.v_group(3);
/// let group = f.vreg_groups()[0];
/// assert_eq!((Some(group.first), group.count, group.align), (list[0].vreg(), 3, 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VRegGroup {
    /// The first register.
    pub first: VReg,
    /// How many registers, numbered on from `first`.
    pub count: u8,
    /// What the first register's number is a multiple of (1: anywhere).
    pub align: u8,
}

/// The group of `groups` whose first register is `r`, if any.
pub(crate) fn group_starting(groups: &[VRegGroup], r: Reg) -> Option<VRegGroup> {
    let v = r.vreg()?;
    groups.iter().find(|g| g.first == v).copied()
}

/// What peach knows about one virtual register.
#[derive(Clone, Copy, Debug)]
pub struct VRegInfo {
    /// Its register class.
    pub class: RegClass,
    /// The widest view any operand uses.
    pub max_view: u8,
    /// Where the user created it, as an index into the function's [`Locations`].
    pub loc: u32,
}

/// The source locations of a function's instructions and virtual registers, each stored once:
/// they keep a 4-byte index instead of the location (kernels repeat a few lines many times).
#[derive(Clone, Debug)]
pub struct Locations {
    all: Vec<Src>,
    /// Index of a recently stored location, by a hash of it (a cache: misses only cost a
    /// duplicate entry).
    recent: [u32; 64],
}

impl Default for Locations {
    fn default() -> Self {
        Locations { all: Vec::new(), recent: [u32::MAX; 64] }
    }
}

impl Locations {
    /// `loc` alone, at index 0, stored in `all` (emptied: a recycled buffer). (Inlined: built
    /// in place in the new function rather than copied into it.)
    #[inline(always)]
    fn starting_at(loc: Src, mut all: Vec<Src>) -> Locations {
        all.clear();
        all.push(loc);
        let mut recent = [u32::MAX; 64];
        recent[Self::slot(loc)] = 0;
        Locations { all, recent }
    }

    /// Where `recent` keeps `loc`'s index.
    fn slot(loc: Src) -> usize {
        let key = match loc {
            Src::Rust(l) => (l as *const Location<'static> as usize) >> 3,
            Src::Token(n) => n as usize,
        };
        (key ^ key >> 6) & 63
    }

    /// The index of `loc`, stored if it is new.
    pub fn intern(&mut self, loc: Src) -> u32 {
        let slot = Self::slot(loc);
        let index = self.recent[slot];
        let same = |s: &Src| match (*s, loc) {
            (Src::Rust(a), Src::Rust(b)) => std::ptr::eq(a, b),
            (a, b) => a == b,
        };
        if self.all.get(index as usize).is_some_and(same) {
            return index;
        }
        self.all.push(loc);
        self.recent[slot] = self.all.len() as u32 - 1;
        self.all.len() as u32 - 1
    }

    /// The index of `loc`, if it is stored.
    pub fn find(&self, loc: Src) -> Option<u32> {
        let same = |s: &Src| match (*s, loc) {
            (Src::Rust(a), Src::Rust(b)) => std::ptr::eq(a, b),
            (a, b) => a == b,
        };
        self.all.iter().position(same).map(|i| i as u32)
    }

    /// The location stored at `index`.
    ///
    /// ```
    /// use peach_core::{Src, ir::Locations};
    /// let mut locs = Locations::default();
    /// let i = locs.intern(Src::Token(7));
    /// assert_eq!(locs.intern(Src::Token(7)), i);
    /// assert_eq!(locs.get(i), Src::Token(7));
    /// ```
    pub fn get(&self, index: u32) -> Src {
        // Indexes come from `intern`; one that did not would be a compiler bug.
        debug_assert!((index as usize) < self.all.len(), "location {index} was never interned");
        self.all.get(index as usize).copied().unwrap_or(Src::Token(0))
    }
}

/// A function under construction: the builder API that kernels are written with.
///
/// Instructions are recorded with [`Function::ins`]; an instruction that is wrong is recorded as an
/// error with the caller's location and reported by [`Function::compile`], so kernel code does not
/// need `?` on every line.
///
/// ```
/// use peach_core::prelude::*;
/// // i64 add1(i64 x) { x + 1 }
/// let mut f = Function::new("add1", Signature::new(&[Type::I64], Some(Type::I64)), Target::x86_64_v3());
/// let x = f.param(0);
/// f.ins("add", (x, 1));
/// f.ret(x);
/// let code = f.compile(Abi::SysV).unwrap();
/// // x arrives in rdi and is given rax, where the result leaves: mov rax, rdi; add rax, 1; ret
/// assert_eq!(code.bytes(), &[0x48, 0x89, 0xf8, 0x48, 0x83, 0xc0, 0x01, 0xc3]);
/// ```
pub struct Function {
    name: std::sync::Arc<str>,
    pub(crate) sig: Signature,
    target: Target,
    pub(crate) insts: Vec<Inst>,
    pub(crate) operands: Vec<Operand>,
    pub(crate) vregs: Vec<VRegInfo>,
    pub(crate) locs: Locations,
    pub(crate) params: Vec<Param>,
    /// Which of the first 64 virtual registers (the parameters among them) the code names.
    params_used: u64,
    /// Groups of virtual registers allocated to consecutive registers.
    groups: Vec<VRegGroup>,
    labels: Vec<Option<u32>>,
    pub(crate) errors: Vec<Error>,
    pub(crate) scratch: Vec<Operand>,
    loc: Src,
    /// Bytes of stack locals so far, and their largest alignment.
    locals_size: u32,
    locals_align: u32,
    /// Streams being recorded, innermost last.
    recording: Vec<InstructionStream>,
    /// Labels bound while recording a stream (their position is known when issued).
    bound_in_streams: Vec<u32>,
    /// Constants used as operands, by index (see [`Reg::CONSTANTS`]).
    pub(crate) consts: Vec<super::Constant>,
    /// The ISA's memo of instruction-form choices (keys are the ISA's business).
    pub(crate) memo: crate::fx::FxHashMap<crate::fx::MemoKey, u32>,
    /// Whether the code object records its source lines (`None`: as
    /// [`Function::records_source_lines_by_default`] says at compile time).
    source_lines: Option<bool>,
}

/// Whether code objects record their source lines by default: 0 until the environment is
/// read, then 1 (no) or 2 (yes).
static SOURCE_LINES: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// The big buffers of functions dropped on this thread, for the next `Function::new`: building
/// kernel after kernel (a JIT tuning its parameters) then reuses warm memory instead of faulting
/// in fresh pages. Buffers above `Recycled::KEEP` bytes are let go. The form-selection memo goes
/// along, for a function with the same target (its choices depend on nothing else).
pub(crate) struct Recycled;

type Memo = crate::fx::FxHashMap<crate::fx::MemoKey, u32>;

/// What a dropped function leaves for the next one.
#[derive(Default)]
struct Buffers {
    insts: Vec<Inst>,
    operands: Vec<Operand>,
    vregs: Vec<VRegInfo>,
    locs: Vec<Src>,
    labels: Vec<Option<u32>>,
    params: Vec<Param>,
    scratch: Vec<Operand>,
    /// The memo, with the architecture and extensions it was made for.
    memo: Option<(Arch, ExtSet, Memo)>,
}

thread_local! {
    /// Boxed, so that handing the buffers over moves a pointer rather than the whole set.
    static RECYCLED: std::cell::Cell<Option<Box<Buffers>>> = const { std::cell::Cell::new(None) };
}

impl Recycled {
    /// Enough for a function of about a million instructions.
    const KEEP: usize = 128 << 20;

    /// Lets go of this thread's buffers.
    pub(crate) fn release() {
        RECYCLED.with(|c| c.take());
    }

    /// This thread's recycled buffers (empty ones the first time): the caller moves them out
    /// and hands the box back with [`Recycled::put_back`].
    fn take() -> Box<Buffers> {
        RECYCLED.try_with(|c| c.take()).ok().flatten().unwrap_or_default()
    }

    /// Hands back the box [`Recycled::take`] gave, emptied, for the next function dropped.
    fn put_back(b: Box<Buffers>) {
        let _ = RECYCLED.try_with(|c| c.set(Some(b)));
    }

    /// Keeps the buffers of `f`, being dropped, for the next function on this thread (emptied),
    /// unless they are larger than [`Recycled::KEEP`].
    fn keep(f: &mut Function) {
        let Ok(slot) = RECYCLED.try_with(|c| c.take()) else {
            return;
        };
        let mut b = slot.unwrap_or_default();
        std::mem::swap(&mut f.insts, &mut b.insts);
        std::mem::swap(&mut f.operands, &mut b.operands);
        std::mem::swap(&mut f.vregs, &mut b.vregs);
        std::mem::swap(&mut f.locs.all, &mut b.locs);
        std::mem::swap(&mut f.labels, &mut b.labels);
        std::mem::swap(&mut f.params, &mut b.params);
        std::mem::swap(&mut f.scratch, &mut b.scratch);
        b.memo = Some((f.target.arch(), *f.target.extensions(), take(&mut f.memo)));
        let memo = b.memo.as_ref().map_or(0, |(_, _, m)| m.len() * 64);
        let bytes = b.insts.capacity() * size_of::<Inst>()
            + b.operands.capacity() * size_of::<Operand>()
            + b.vregs.capacity() * size_of::<VRegInfo>()
            + b.locs.capacity() * size_of::<Src>()
            + b.labels.capacity() * 8
            + b.params.capacity() * size_of::<Param>()
            + b.scratch.capacity() * size_of::<Operand>()
            + memo;
        if bytes <= Self::KEEP {
            b.insts.clear();
            b.operands.clear();
            b.vregs.clear();
            b.locs.clear();
            b.labels.clear();
            b.params.clear();
            b.scratch.clear();
            let _ = RECYCLED.try_with(|c| c.set(Some(b)));
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        Recycled::keep(self);
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("target", &self.target.name())
            .field("insts", &self.insts.len())
            .field("vregs", &self.vregs.len())
            .finish()
    }
}

impl Function {
    /// The most bytes of stack locals a function can have (see [`Function::stack_local`]).
    pub const MAX_STACK_LOCALS: u32 = 1 << 20;

    /// A function with no parameters bound yet: [`Function::new`] binds them (it sits above
    /// the ISA layer, which makes their registers).
    #[track_caller]
    pub(crate) fn unbound(name: impl Into<std::sync::Arc<str>>, sig: Signature, target: Target) -> Self {
        let (mut b, loc) = (Recycled::take(), Src::Rust(Location::caller()));
        let memo = b.memo.take().filter(|(arch, exts, _)| *arch == target.arch() && exts == target.extensions());
        let (insts, operands, vregs) = (take(&mut b.insts), take(&mut b.operands), take(&mut b.vregs));
        let (locs, labels, params, scratch) =
            (take(&mut b.locs), take(&mut b.labels), take(&mut b.params), take(&mut b.scratch));
        Recycled::put_back(b);
        Function {
            name: name.into(),
            sig,
            target,
            insts,
            operands,
            vregs,
            locs: Locations::starting_at(loc, locs),
            params,
            params_used: 0,
            groups: Vec::new(),
            labels,
            errors: Vec::new(),
            scratch,
            loc,
            memo: memo.map(|(_, _, m)| m).unwrap_or_default(),
            consts: Vec::new(),
            recording: Vec::new(),
            locals_size: 0,
            locals_align: 1,
            bound_in_streams: Vec::new(),
            source_lines: None,
        }
    }

    /// Makes the functions compiled from now on record their source lines
    /// ([`crate::CodeObject::source_lines`], a row where the location changes: a few percent
    /// of a small function's compile time), or stop; [`Function::set_source_lines`] decides for
    /// one function. Off by default, on where the environment asks a tool that reads them
    /// (`PEACH_GDB=1`, `PEACH_PERF=jitdump`), and on once `peach_runtime::tools` enables one.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// Function::record_source_lines_by_default(true);
    /// assert!(Function::records_source_lines_by_default());
    /// ```
    pub fn record_source_lines_by_default(on: bool) {
        SOURCE_LINES.store(if on { 2 } else { 1 }, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether functions compiled now record their source lines unless told otherwise (see
    /// [`Function::record_source_lines_by_default`]).
    pub fn records_source_lines_by_default() -> bool {
        use std::sync::atomic::Ordering;
        match SOURCE_LINES.load(Ordering::Relaxed) {
            0 => {
                let wants =
                    |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v.split(',').any(|v| v == value));
                let on = wants("PEACH_GDB", "1") || wants("PEACH_PERF", "jitdump");
                // (A concurrent `record_source_lines_by_default` wins.)
                let _ = SOURCE_LINES.compare_exchange(0, if on { 2 } else { 1 }, Ordering::Relaxed, Ordering::Relaxed);
                SOURCE_LINES.load(Ordering::Relaxed) == 2
            }
            state => state == 2,
        }
    }

    /// Whether the code object records its source lines
    /// ([`crate::CodeObject::source_lines`]), whatever the default
    /// ([`Function::record_source_lines_by_default`]) says: `peach_fn!` records them for the
    /// static kernels it assembles.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.set_source_lines(true);
    /// f.ret(None);
    /// assert_eq!(f.compile(Abi::SysV)?.source_lines().len(), 1);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn set_source_lines(&mut self, on: bool) {
        self.source_lines = Some(on);
    }

    /// Whether this function's code records its source lines now.
    pub(crate) fn records_source_lines(&self) -> bool {
        self.source_lines.unwrap_or_else(Function::records_source_lines_by_default)
    }

    /// The function's name (its symbol).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function's name, shared (code objects keep it without a copy).
    pub(crate) fn shared_name(&self) -> &std::sync::Arc<str> {
        &self.name
    }

    /// The function's signature.
    pub fn signature(&self) -> &Signature {
        &self.sig
    }

    /// Where the function was created (parameter moves are attributed to it).
    pub fn location(&self) -> Src {
        self.loc
    }

    /// Sets where the function was written (for a macro that builds it).
    pub fn set_location(&mut self, loc: impl Into<Src>) {
        self.loc = loc.into();
        self.locs.intern(self.loc);
    }

    /// [`Function::location`] as an index into the function's locations (where it is stored
    /// when set).
    pub(crate) fn location_index(&self) -> u32 {
        self.locs.find(self.loc).unwrap_or(0)
    }

    /// The target the function is built for.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// A fresh virtual register of class `class`, seen through `view`.
    #[track_caller]
    pub fn new_vreg(&mut self, class: RegClass, view: u8) -> Reg {
        self.new_vreg_at(class, view, Location::caller())
    }

    /// [`Function::new_vreg`] attributed to a given source location.
    pub fn new_vreg_at(&mut self, class: RegClass, view: u8, loc: impl Into<Src>) -> Reg {
        let loc = loc.into();
        let index = self.vregs.len();
        if index >= Reg::MAX_VREGS {
            self.error(ErrorKind::OutOfRegisters, format!("more than {} virtual registers", Reg::MAX_VREGS));
        }
        let loc = self.locs.intern(loc);
        self.vregs.push(VRegInfo { class, max_view: view, loc });
        Reg::virt(class, view, index as u32)
    }

    /// `count` fresh virtual registers that the allocator gives consecutive registers, for the
    /// instructions that name a list of registers by its first (AArch64 `ld4 {v0.4s-v3.4s}`).
    #[track_caller]
    pub fn new_vreg_group(&mut self, class: RegClass, view: u8, count: u8) -> Vec<Reg> {
        self.new_vreg_group_at(class, view, count, 1, Location::caller())
    }

    /// [`Function::new_vreg_group`] attributed to a given source location, whose first
    /// register's number is a multiple of `align` (x86's `zmm4+3` blocks start at a multiple
    /// of 4).
    pub fn new_vreg_group_at(
        &mut self,
        class: RegClass,
        view: u8,
        count: u8,
        align: u8,
        loc: impl Into<Src>,
    ) -> Vec<Reg> {
        let loc = loc.into();
        let regs: Vec<Reg> = (0..count).map(|_| self.new_vreg_at(class, view, loc)).collect();
        if let Some(first) = regs.first().and_then(|r| r.vreg()) {
            self.groups.push(VRegGroup { first, count, align: align.max(1) });
        }
        regs
    }

    /// The groups of virtual registers that take consecutive registers.
    pub fn vreg_groups(&self) -> &[VRegGroup] {
        &self.groups
    }

    /// The group whose first register is `r`, if any.
    pub(crate) fn group_starting(&self, r: Reg) -> Option<VRegGroup> {
        group_starting(&self.groups, r)
    }

    /// Information about virtual register `index`.
    pub fn vreg_info(&self, index: u32) -> Option<&VRegInfo> {
        self.vregs.get(index as usize)
    }

    /// A fresh label; bind it with [`Function::bind`] and branch to it with a jump instruction.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    /// Binds `label` to the current position.
    #[track_caller]
    pub fn bind(&mut self, label: Label) {
        self.bind_at(label, Location::caller());
    }

    /// [`Function::bind`] attributed to a given source location.
    pub fn bind_at(&mut self, label: Label, loc: impl Into<Src>) {
        let loc = loc.into();
        match self.labels.get(label.0 as usize) {
            Some(None) if !self.bound_in_streams.contains(&label.0) => {
                if !self.recording.is_empty() {
                    self.bound_in_streams.push(label.0);
                }
                self.push(Op::Bind(label), &[], loc);
            }
            Some(_) => self.push_error(ErrorKind::Label, format!("label L{} is bound twice", label.0), loc),
            None => {
                self.push_error(ErrorKind::Label, format!("label L{} does not belong to this function", label.0), loc)
            }
        }
    }

    /// A stack slot of `size` bytes aligned to `align` (a power of two up to 4096), for deliberate
    /// spills: a memory operand to use like any other (`[slot]`, or `slot.at(8)` for an offset).
    /// The frame is laid out by the ABI pass; alignments above 16 bytes realign it. All the
    /// locals of a function together take at most [`Function::MAX_STACK_LOCALS`] bytes (1 MiB;
    /// 4080 on AArch64, checked when compiling); x86-64 frames of a page or more are probed page
    /// by page, in order, as compilers do against stack clash and as Windows' guard page needs.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("spill", Signature::new(&[], Some(Type::I64)), Target::x86_64_baseline());
    /// let slot = f.stack_local(8, 8);
    /// let x = f.gp64();
    /// f.ins("mov", (x, 42));
    /// f.ins("mov", (slot, x));
    /// f.ins("mov", (x, slot));
    /// f.ret(x);
    /// assert!(f.compile(Abi::SysV).is_ok());
    /// ```
    #[track_caller]
    pub fn stack_local(&mut self, size: u32, align: u32) -> Mem {
        const MAX: u32 = Function::MAX_STACK_LOCALS;
        let (size, align) = if size == 0 || size > MAX || !align.is_power_of_two() || align > 4096 {
            let kind = if size > MAX || align > 4096 { ErrorKind::Limit } else { ErrorKind::InvalidOperands };
            self.error(
                kind,
                format!("a stack local of {size} bytes aligned to {align} is not possible: sizes go from 1 to {MAX} bytes, alignments are powers of two up to 4096"),
            );
            (1, 1)
        } else if self.locals_size.next_multiple_of(align) + size > MAX {
            self.error(
                ErrorKind::Limit,
                format!(
                    "a stack local of {size} bytes would bring the function's locals to more than {MAX} bytes ({} are taken)",
                    self.locals_size
                ),
            );
            (1, 1)
        } else {
            (size, align)
        };
        let offset = self.locals_size.next_multiple_of(align);
        self.locals_size = offset + size;
        self.locals_align = self.locals_align.max(align);
        Mem {
            base: Some(Reg::LOCALS),
            index: None,
            scale: 1,
            disp: offset as i32,
            size: 0,
            broadcast: 0,
            update: super::Update::None,
        }
    }

    /// A memory operand reading `c` from the function's constant pool (what passing a
    /// [`super::Constant`] as an operand does).
    pub fn constant(&mut self, c: super::Constant) -> Mem {
        self.consts.push(c);
        let index = self.consts.len() as i32 - 1;
        Mem {
            base: Some(Reg::CONSTANTS),
            index: None,
            scale: 1,
            disp: index,
            size: c.len() as u8,
            broadcast: 0,
            update: super::Update::None,
        }
    }

    /// Bytes and alignment of the stack locals.
    pub fn locals(&self) -> (u32, u32) {
        (self.locals_size, self.locals_align)
    }

    /// Pads the code with real multi-byte no-op instructions up to a multiple of `bytes` (a power
    /// of two up to 4096), typically before a loop's first instruction.
    #[track_caller]
    pub fn align(&mut self, bytes: u32) {
        self.align_at(bytes, Location::caller());
    }

    /// [`Function::align`] attributed to a given source location.
    pub fn align_at(&mut self, bytes: u32, loc: impl Into<Src>) {
        let loc = loc.into();
        if !bytes.is_power_of_two() || bytes > 4096 {
            self.push_error(
                ErrorKind::InvalidOperands,
                format!("alignment {bytes} is not a power of two up to 4096"),
                loc,
            );
            return;
        }
        self.push(Op::Align(bytes), &[], loc);
    }

    /// A loop block: binds `begin`, runs `body` (which branches back to `begin`, or out to
    /// `end`, as it likes), then binds `end`.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("count", Signature::new(&[Type::U64], Some(Type::U64)), Target::x86_64_baseline());
    /// let n = f.param(0);
    /// let acc = f.gp64();
    /// f.ins("xor", (acc.r32(), acc.r32()));
    /// f.loop_block(|f, l| {
    ///     f.ins("add", (acc, 2));
    ///     f.ins("sub", (n, 1));
    ///     f.ins("jnz", l.begin);
    /// });
    /// f.ret(acc);
    /// assert!(f.compile(Abi::SysV).is_ok());
    /// ```
    #[track_caller]
    pub fn loop_block(&mut self, body: impl FnOnce(&mut Function, LoopLabels)) {
        let labels = LoopLabels { begin: self.label(), end: self.label() };
        self.bind(labels.begin);
        body(self, labels);
        self.bind(labels.end);
    }

    /// Records the instructions `record` emits into a stream instead of the function; issue them
    /// later with [`Function::issue`], one or a few at a time, to interleave independent
    /// computations or to skew the stages of a software pipeline. Streams nest: recording inside
    /// `record` goes to the innermost stream.
    pub fn stream(&mut self, record: impl FnOnce(&mut Function)) -> InstructionStream {
        self.begin_stream();
        record(self);
        self.end_stream()
    }

    /// [`Function::stream`] in two calls, for generators that cannot pass a closure (such as
    /// `peach_fn!`'s interpreter): instructions appended after `begin_stream` go into a new
    /// stream, which `end_stream` returns. Pairs nest; an `end_stream` without a
    /// `begin_stream` returns an empty stream.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("s", Signature::new(&[], None), Target::x86_64_v3());
    /// let (a, b) = (f.ymm(), f.ymm());
    /// f.begin_stream();
    /// f.ins("vxorps", (a, a, a));
    /// f.ins("vxorps", (b, b, b));
    /// let mut zeroes = f.end_stream();
    /// assert_eq!(zeroes.len(), 2);
    /// f.issue(&mut zeroes, 2);
    /// f.ret(None);
    /// assert!(f.compile(Abi::SysV)?.listing().contains("vxorps"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn begin_stream(&mut self) {
        self.recording.push(InstructionStream::default());
    }

    /// Ends the stream [`Function::begin_stream`] started and returns it. Without a stream being
    /// recorded, records an error and returns an empty stream.
    #[track_caller]
    pub fn end_stream(&mut self) -> InstructionStream {
        match self.recording.pop() {
            Some(s) => s,
            None => {
                self.error(
                    ErrorKind::InvalidOperands,
                    "`end_stream` without `begin_stream`: no stream is being recorded",
                );
                InstructionStream::default()
            }
        }
    }

    /// Moves the next `n` instructions of `stream` into the function (or into the stream being
    /// recorded). Issuing more than the stream holds is an error.
    #[track_caller]
    pub fn issue(&mut self, stream: &mut InstructionStream, n: usize) {
        self.issue_at(stream, n, Location::caller());
    }

    /// [`Function::issue`] with the location an error is reported at (for generators).
    pub fn issue_at(&mut self, stream: &mut InstructionStream, n: usize, loc: impl Into<Src>) {
        if n > stream.len() {
            let left = stream.len();
            self.push_error(
                ErrorKind::InvalidOperands,
                format!("cannot issue {n} instructions from a stream that holds {left}"),
                loc,
            );
        }
        for _ in 0..n {
            let Some((op, ops, loc)) = stream.pop_front() else { break };
            self.push(op, &ops, loc);
        }
    }

    /// Moves every instruction left in `stream` into the function.
    #[track_caller]
    pub fn issue_all(&mut self, stream: &mut InstructionStream) {
        self.issue_all_at(stream, Location::caller());
    }

    /// [`Function::issue_all`] with a location (for generators).
    pub fn issue_all_at(&mut self, stream: &mut InstructionStream, loc: impl Into<Src>) {
        let n = stream.len();
        self.issue_at(stream, n, loc);
    }

    /// Issues every instruction of `streams`, one of each stream per step, stream `i` starting
    /// `skew * i` steps after the first: a software pipeline's schedule (the stages of one
    /// computation with `skew` 1, or independent computations kept apart by `skew`).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("s", Signature::new(&[], None), Target::x86_64_v3());
    /// let (a, b) = (f.ymm(), f.ymm());
    /// let mut first = f.stream(|f| {
    ///     f.ins("vxorps", (a, a, a));
    ///     f.ins("vaddps", (a, a, a));
    /// });
    /// let mut second = f.stream(|f| {
    ///     f.ins("vxorps", (b, b, b));
    ///     f.ins("vaddps", (b, b, b));
    /// });
    /// f.issue_skewed(&mut [first, second], 1); // a0, a1 b0, b1
    /// f.ret(None);
    /// let listing = f.compile(Abi::SysV)?.listing();
    /// let order: Vec<&str> = listing.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    /// assert_eq!(order[..4], ["vxorps", "vaddps", "vxorps", "vaddps"]);
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    #[track_caller]
    pub fn issue_skewed(&mut self, streams: &mut [InstructionStream], skew: usize) {
        self.issue_skewed_at(streams, skew, Location::caller());
    }

    /// [`Function::issue_skewed`] with a location (for generators).
    pub fn issue_skewed_at(&mut self, streams: &mut [InstructionStream], skew: usize, loc: impl Into<Src>) {
        let loc = loc.into();
        let mut step = 0usize;
        loop {
            // Steps where no stream has started yet issue nothing: skip them, so that a huge
            // skew costs no more than a small one.
            let mut next_start = usize::MAX;
            let mut issued = false;
            for (i, stream) in streams.iter_mut().enumerate() {
                let start = skew.saturating_mul(i);
                if stream.is_empty() {
                    continue;
                }
                if step >= start {
                    self.issue_at(stream, 1, loc);
                    issued = true;
                } else {
                    next_start = next_start.min(start);
                }
            }
            match (issued, next_start) {
                (true, _) => step += 1,
                (false, usize::MAX) => break,
                (false, start) => step = start,
            }
        }
    }

    /// Whether a label is bound, and at which instruction.
    pub fn label_position(&self, label: Label) -> Option<u32> {
        self.labels.get(label.0 as usize).copied().flatten()
    }

    /// Number of labels made so far.
    pub fn num_labels(&self) -> usize {
        self.labels.len()
    }

    /// Records an error at the caller's location.
    #[track_caller]
    pub fn error(&mut self, kind: ErrorKind, message: impl Into<String>) {
        self.errors.push(Error::at(kind, message, Location::caller()));
    }

    /// Records an error at a given location (for custom instructions).
    pub fn push_error(&mut self, kind: ErrorKind, message: impl Into<String>, loc: impl Into<Src>) {
        self.errors.push(Error::at(kind, message, loc));
    }

    /// The errors recorded so far.
    pub fn errors(&self) -> &[Error] {
        &self.errors
    }

    /// Number of instructions recorded.
    pub fn len(&self) -> usize {
        self.insts.len()
    }

    /// Whether no instruction has been recorded.
    pub fn is_empty(&self) -> bool {
        self.insts.is_empty()
    }

    /// The recorded instructions.
    pub fn insts(&self) -> &[Inst] {
        &self.insts
    }

    /// Where instruction `inst` (or a virtual register's [`VRegInfo::loc`]) was written.
    pub fn loc_of(&self, index: u32) -> Src {
        self.locs.get(index)
    }

    /// The operands of instruction `inst`.
    pub fn operands(&self, inst: &Inst) -> &[Operand] {
        &self.operands[inst.first as usize..inst.first as usize + inst.len as usize]
    }

    /// Appends an instruction that is already checked (used by the ISA and the passes), to the
    /// stream being recorded if there is one.
    pub(crate) fn push(&mut self, op: Op, ops: &[Operand], loc: Src) {
        if let Some(stream) = self.recording.last_mut() {
            stream.items.push_back((op, ops.to_vec(), loc));
            return;
        }
        if let Op::Bind(label) = op
            && let Some(slot @ None) = self.labels.get_mut(label.0 as usize)
        {
            *slot = Some(self.insts.len() as u32);
        }
        let first = self.operands.len() as u32;
        for o in ops {
            self.note_views(o);
        }
        self.operands.extend_from_slice(ops);
        let loc = self.locs.intern(loc);
        self.insts.push(Inst { op, first, len: ops.len() as u8, loc });
    }

    /// Notes the registers `o` names: the parameters named (the first virtual registers), and
    /// the widest view of each virtual register written as a whole register.
    fn note_views(&mut self, o: &Operand) {
        let (params, vregs) = (&mut self.params_used, &mut self.vregs);
        let mut note = |r: Reg, whole: bool| {
            if let Some(i) = r.vreg() {
                if i.0 < 64 {
                    *params |= 1 << i.0;
                }
                if whole && let Some(info) = vregs.get_mut(i.index()) {
                    info.max_view = info.max_view.max(r.view());
                }
            }
        };
        match o {
            Operand::Reg(r) => note(*r, true),
            Operand::Masked(m) => {
                note(m.reg, true);
                note(m.mask, false);
            }
            Operand::Lane(l) => note(l.reg, true),
            Operand::List(l) => note(l.first, true),
            Operand::Mem(m) => {
                for r in [m.base, m.index].into_iter().flatten() {
                    note(r, false);
                }
            }
            _ => {}
        }
    }

    /// Whether the code names parameter `i` (parameters from the 64th on count as named).
    pub(crate) fn param_used(&self, i: usize) -> bool {
        i >= 64 || self.params_used & 1 << i != 0
    }

    /// The lowest-numbered label that is used but never bound, at its first use: one pass over
    /// the instructions, however many labels there are.
    pub(crate) fn unbound_label_used(&self) -> Option<(usize, Src)> {
        if self.labels.iter().all(Option::is_some) {
            return None;
        }
        let mut first_use: Vec<Option<u32>> = vec![None; self.labels.len()];
        for inst in &self.insts {
            for op in self.operands(inst) {
                if let Operand::Label(l) = op
                    && let Some(slot @ None) = first_use.get_mut(l.0 as usize)
                    && self.labels[l.0 as usize].is_none()
                {
                    *slot = Some(inst.loc);
                }
            }
        }
        first_use.iter().enumerate().find_map(|(l, at)| at.map(|loc| (l, self.locs.get(loc))))
    }
}

/// The two labels of a [`Function::loop_block`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoopLabels {
    /// Bound before the loop's first instruction.
    pub begin: Label,
    /// Bound after the loop's last instruction.
    pub end: Label,
}

/// Instructions recorded by [`Function::stream`], waiting to be issued in order.
#[derive(Clone, Debug, Default)]
pub struct InstructionStream {
    items: std::collections::VecDeque<(Op, Vec<Operand>, Src)>,
}

impl InstructionStream {
    /// Instructions not issued yet.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether every instruction has been issued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn pop_front(&mut self) -> Option<(Op, Vec<Operand>, Src)> {
        self.items.pop_front()
    }
}
