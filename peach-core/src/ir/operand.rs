//! Operands: registers (physical or virtual, with views), memory, immediates and labels.
//!
//! Memory operands are written the way assembly writes them, with Rust operators:
//! `[base + index * 4 + 16]` is an array of one [`MemExpr`], which converts into an [`Operand`].

use std::fmt;
use std::ops::{Add, Mul, Sub};

use super::constant::Constant;

/// A register class: a set of interchangeable physical registers (the ISA defines the classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegClass(pub u8);

/// A virtual register: the number the function gave it (its index among the function's values).
///
/// ```
/// use peach_core::prelude::*;
/// let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::x86_64_v3());
/// let (p, y) = (f.param(0), f.ymm());
/// assert_eq!(p.vreg().map(|v| v.index()), Some(0)); // parameters come first
/// assert_eq!(y.vreg().map(|v| v.index()), Some(1));
/// assert_eq!(Reg::phys(0).vreg(), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VReg(pub u32);

impl VReg {
    /// As an index into per-value tables.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// A register operand: either a physical register of the ISA or a view of a virtual register.
///
/// Bit layout (one `u32`):
/// - physical: `virtual:1 = 0`, `unused:15`, `id:16` (the ISA's register number);
/// - virtual: `virtual:1 = 1`, `class:3`, `view:4`, `index:24`.
///
/// A view selects how much of a virtual register an operand names (for example the 32-bit view of
/// a general-purpose value, or the ymm view of a vector value); views share one allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reg(std::num::NonZeroU32);

const VIRTUAL_BIT: u32 = 1 << 31;
const CLASS_SHIFT: u32 = 28;
const CLASS_MASK: u32 = 0x7;
const VIEW_SHIFT: u32 = 24;
const VIEW_MASK: u32 = 0xF;
const INDEX_MASK: u32 = 0x00FF_FFFF;

impl Reg {
    /// The base register of a constant-pool operand: `[CONSTANTS + i]` is the function's
    /// constant number `i` (made by passing a [`Constant`] as an operand).
    pub const CONSTANTS: Reg = Reg::phys(0xFFFE);

    /// The base register of a stack-local operand: `[LOCALS + offset]` is a byte of the
    /// function's stack locals (made by `Function::stack_local`).
    pub const LOCALS: Reg = Reg::phys(0xFFFD);

    /// The largest number of virtual registers a function can have.
    pub const MAX_VREGS: usize = INDEX_MASK as usize + 1;

    /// A physical register with the ISA's register number `id`.
    pub const fn phys(id: u16) -> Reg {
        Reg::from_bits(id as u32)
    }

    /// Stored inverted, so that `Option<Reg>` takes four bytes (no valid register has all bits set).
    const fn from_bits(bits: u32) -> Reg {
        match std::num::NonZeroU32::new(!bits) {
            Some(n) => Reg(n),
            None => Reg(std::num::NonZeroU32::MIN),
        }
    }

    /// A view of virtual register `index` of class `class`.
    pub const fn virt(class: RegClass, view: u8, index: u32) -> Reg {
        Reg::from_bits(
            VIRTUAL_BIT
                | ((class.0 as u32 & CLASS_MASK) << CLASS_SHIFT)
                | ((view as u32 & VIEW_MASK) << VIEW_SHIFT)
                | (index & INDEX_MASK),
        )
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        !self.0.get()
    }

    /// Whether this is a virtual register.
    pub const fn is_virtual(self) -> bool {
        self.bits() & VIRTUAL_BIT != 0
    }

    /// The ISA register number of a physical register.
    pub const fn phys_id(self) -> Option<u16> {
        if self.is_virtual() { None } else { Some(self.bits() as u16) }
    }

    /// The virtual register, if this is one.
    pub const fn vreg(self) -> Option<VReg> {
        if self.is_virtual() { Some(VReg(self.bits() & INDEX_MASK)) } else { None }
    }

    /// The class of a virtual register (meaningless for physical registers).
    pub const fn class(self) -> RegClass {
        RegClass(((self.bits() >> CLASS_SHIFT) & CLASS_MASK) as u8)
    }

    /// The view of a virtual register (meaningless for physical registers).
    pub const fn view(self) -> u8 {
        ((self.bits() >> VIEW_SHIFT) & VIEW_MASK) as u8
    }

    /// The same virtual register seen through another view.
    pub const fn with_view(self, view: u8) -> Reg {
        Reg::from_bits((self.bits() & !(VIEW_MASK << VIEW_SHIFT)) | ((view as u32 & VIEW_MASK) << VIEW_SHIFT))
    }

    /// Masks writes to this destination register with an AVX-512 mask register (`{k}`); lanes
    /// whose mask bit is clear keep their old value unless [`Masked::zeroing`] is asked for.
    pub fn mask(self, k: Reg) -> Masked {
        Masked { reg: self, mask: k, zeroing: false }
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.vreg() {
            Some(i) => write!(f, "v{}:{}.{}", i.0, self.class().0, self.view()),
            None => write!(f, "p{}", self.bits()),
        }
    }
}

/// A destination register with an AVX-512 write mask, made by [`Reg::mask`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Masked {
    /// The destination register.
    pub reg: Reg,
    /// The mask register.
    pub mask: Reg,
    /// Zero the masked-off lanes (`{z}`) instead of keeping them.
    pub zeroing: bool,
}

impl Masked {
    /// Zeroes the lanes whose mask bit is clear (`{z}`).
    pub fn zeroing(mut self) -> Masked {
        self.zeroing = true;
        self
    }
}

/// A memory destination with an AVX-512 write mask, made by [`Mem::mask`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MaskedMem {
    /// The memory operand.
    pub mem: Mem,
    /// The mask register.
    pub mask: Reg,
}

/// A memory operand with a segment override, made by [`Mem::segment`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SegmentedMem {
    /// The memory operand.
    pub mem: Mem,
    /// The segment register.
    pub segment: Reg,
}

/// A label: a position in the code, bound once with `Function::bind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

/// Embedded rounding (AVX-512 `{rn-sae}` and friends) or suppress-all-exceptions (`{sae}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Round to nearest even, exceptions suppressed.
    NearestSae,
    /// Round down, exceptions suppressed.
    DownSae,
    /// Round up, exceptions suppressed.
    UpSae,
    /// Round toward zero, exceptions suppressed.
    ZeroSae,
    /// Suppress all exceptions, no rounding override.
    Sae,
}

/// A memory operand `[base + index * scale + disp]`, with an access size in bytes
/// (0: taken from the instruction form) and an optional broadcast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mem {
    /// Base register, if any.
    pub base: Option<Reg>,
    /// Index register, if any.
    pub index: Option<Reg>,
    /// Scale of the index: 1, 2, 4 or 8 ([`Mem::TWO_INDEXES`] and [`Mem::DISP_OVERFLOW`] mark
    /// expressions that cannot be encoded; they are reported when the operand is used).
    pub scale: u8,
    /// Displacement.
    pub disp: i32,
    /// Access size in bytes; 0 means "from the instruction form". (One byte, so that an
    /// operand stays 16 bytes: instructions have several.)
    pub size: u8,
    /// Broadcast one element to every lane (AVX-512 `{1toN}`): 0 for none, 1 for a broadcast
    /// whose count the instruction's other operands decide ([`Mem::bcst`]), `N` for `{1toN}`
    /// ([`Mem::bcst_to`]).
    pub broadcast: u8,
    /// Write the address back to the base register (AArch64 pre- and post-indexing).
    pub update: Update,
}

/// Whether a memory operand writes its address back to its base register.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Update {
    /// No write-back.
    #[default]
    None,
    /// `[base, #disp]!`: the base becomes `base + disp` before the access.
    Pre,
    /// `[base], #disp`: the access is at `base`, then the base becomes `base + disp`.
    Post,
}

impl Mem {
    /// `scale` of an expression with two index registers.
    pub const TWO_INDEXES: u8 = 0;
    /// `scale` of an expression whose displacement does not fit in 32 bits.
    pub const DISP_OVERFLOW: u8 = 0xFE;
    /// `scale` of an AArch64 index written with an explicit shift of 0 (`[x1, x2, lsl #0]`,
    /// see [`Mem::zero_shift`]).
    pub const ZERO_SHIFT: u8 = 0xFD;

    /// `[base + disp]`.
    ///
    /// ```
    /// use peach_core::ir::{Mem, Reg};
    /// let m = Mem::base_disp(Reg::phys(1), 8);
    /// assert_eq!(m.disp, 8);
    /// ```
    pub fn base_disp(base: Reg, disp: i64) -> Mem {
        MemExpr { base: Some(base), index: None, scale: 1, disp }.into()
    }

    /// The same operand with an explicit access size in bytes.
    pub fn sized(mut self, bytes: u16) -> Mem {
        // No instruction accesses more than 255 bytes: larger sizes match no form.
        self.size = u8::try_from(bytes).unwrap_or(u8::MAX);
        self
    }

    /// The same operand `delta` bytes further (for parts of a stack local or a structure).
    pub fn at(mut self, delta: i32) -> Mem {
        self.disp = self.disp.wrapping_add(delta);
        self
    }

    /// The same operand, broadcast (AVX-512 `{1toN}`), `N` decided by the other operands. Where
    /// they do not decide it (`vcvtpd2ps xmm, [m]{1to2}` or `{1to4}`), selection is an error
    /// that asks for [`Mem::bcst_to`].
    pub fn bcst(mut self) -> Mem {
        self.broadcast = 1;
        self
    }

    /// The same operand, broadcast to `n` elements (AVX-512 `{1toN}`; `n` is 2, 4, 8, 16 or 32).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::x86_64_v4());
    /// let p = f.param(0);
    /// let x = f.xmm();
    /// f.ins("vcvtpd2ps", (x, Mem::from([p]).sized(8).bcst_to(4)));
    /// f.ret(None);
    /// assert!(f.compile(Abi::SysV)?.listing().contains("{1to4}"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn bcst_to(mut self, n: u8) -> Mem {
        // 1 would mean "decided by the instruction": no form broadcasts to one element.
        self.broadcast = if n == 1 { u8::MAX } else { n };
        self
    }

    /// The same memory destination under an AVX-512 write mask (`vmovups [m]{k1}, zmm`): only
    /// the elements whose mask bit is set are stored. It stands as two operands, the memory and
    /// then [`Operand::MemMask`].
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::regs_x86_64::K1;
    /// let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::x86_64_v4());
    /// let (p, z) = (f.param(0), f.zmm());
    /// f.ins("vpxord", (z, z, z));
    /// f.ins("vmovups", (Mem::from([p]).mask(K1), z));
    /// f.ret(None);
    /// assert!(f.compile(Abi::SysV)?.listing().contains("vmovups zmmword ptr [rdi]{k1}, zmm"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn mask(self, k: Reg) -> MaskedMem {
        MaskedMem { mem: self, mask: k }
    }

    /// The same memory operand read through a segment (x86 `fs:` or `gs:`, where threads keep
    /// their thread-local data). It stands as two operands, the memory and then
    /// [`Operand::Segment`]. With a segment, an address may be a bare number (`fs:[0x28]`).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::regs_x86_64::FS;
    /// let mut f = Function::new("k", Signature::new(&[], Some(Type::U64)), Target::x86_64_baseline());
    /// let x = f.gp64();
    /// f.ins("mov", (x, Mem::absolute(0x28).segment(FS)));
    /// f.ret(x);
    /// assert!(f.compile(Abi::SysV)?.listing().contains("mov rax, qword ptr fs:[0x28]"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn segment(self, s: Reg) -> SegmentedMem {
        SegmentedMem { mem: self, segment: s }
    }

    /// `[addr]` with a 64-bit address, for x86's `movabs` (`mov al, byte ptr [addr]`): the
    /// accumulator moves only; `size` bytes (0: the register says).
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::regs_x86_64::RAX;
    /// let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    /// f.ins("mov", (RAX, Mem::abs64(0x1122_3344_5566_7788, 8)));
    /// f.ret(None);
    /// assert_eq!(&f.compile(Abi::SysV).unwrap().bytes()[..10], [0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    /// ```
    pub fn abs64(addr: u64, size: u8) -> Abs64 {
        Abs64::new(addr, size)
    }

    /// `[disp]`: an address that is a number (with a segment: `fs:[0x28]`).
    pub fn absolute(disp: i32) -> Mem {
        Mem { base: None, index: None, scale: 1, disp, size: 0, broadcast: 0, update: Update::None }
    }

    /// Pre-indexed (AArch64 `[base, #disp]!`): the base register is advanced by the
    /// displacement, then used.
    pub fn pre(mut self) -> Mem {
        self.update = Update::Pre;
        self
    }

    /// Post-indexed (AArch64 `[base], #step`): the access is at the base register, which then
    /// advances by `step` bytes.
    ///
    /// ```
    /// use peach_core::ir::{Mem, Reg, Update};
    /// let m = Mem::from([Reg::phys(1)]).post(16);
    /// assert_eq!((m.disp, m.update), (16, Update::Post));
    /// ```
    pub fn post(mut self, step: i32) -> Mem {
        self.disp = step;
        self.update = Update::Post;
        self
    }

    /// Post-indexed by a register (AArch64 `[base], step` of the structure loads and stores):
    /// the access is at the base register, which then advances by the value of `step`.
    ///
    /// ```
    /// use peach_core::ir::{Mem, Reg, Update};
    /// let m = Mem::from([Reg::phys(1)]).post_reg(Reg::phys(2));
    /// assert_eq!((m.index, m.update), (Some(Reg::phys(2)), Update::Post));
    /// ```
    pub fn post_reg(mut self, step: Reg) -> Mem {
        self.index = Some(step);
        self.scale = 1;
        self.disp = 0;
        self.update = Update::Post;
        self
    }

    /// The index shifted by an explicit 0 (AArch64 `ldrb w0, [x1, x2, lsl #0]`): a byte access
    /// encodes it apart from an index without a shift (the `S` bit); a wider one as without.
    ///
    /// ```
    /// use peach_core::ir::{Mem, Reg};
    /// let m = Mem::from([Reg::phys(1) + Reg::phys(2)]).zero_shift();
    /// assert_eq!(m.scale, Mem::ZERO_SHIFT);
    /// ```
    pub fn zero_shift(mut self) -> Mem {
        self.scale = Mem::ZERO_SHIFT;
        self
    }
}

/// `index * scale`, the scaled-index part of a memory expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexExpr {
    index: Reg,
    scale: u8,
}

/// A memory address expression under construction: `base + index * scale + disp`.
/// Put it in brackets to make a memory operand: `[ptr + 64]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemExpr {
    base: Option<Reg>,
    index: Option<Reg>,
    scale: u8,
    disp: i64,
}

impl From<MemExpr> for Mem {
    fn from(e: MemExpr) -> Mem {
        let (scale, disp) = match i32::try_from(e.disp) {
            Ok(d) => (e.scale, d),
            Err(_) => (Mem::DISP_OVERFLOW, 0),
        };
        Mem { base: e.base, index: e.index, scale, disp, size: 0, broadcast: 0, update: Update::None }
    }
}

impl From<[MemExpr; 1]> for Mem {
    fn from(e: [MemExpr; 1]) -> Mem {
        e[0].into()
    }
}

impl From<[Reg; 1]> for Mem {
    fn from(r: [Reg; 1]) -> Mem {
        Mem::base_disp(r[0], 0)
    }
}

fn scale_u8(s: u64) -> u8 {
    u8::try_from(s).unwrap_or(u8::MAX)
}

impl MemExpr {
    fn add_reg(mut self, r: Reg, scale: u8) -> MemExpr {
        if self.base.is_none() && scale == 1 && self.index.is_some() {
            self.base = Some(r);
        } else if self.index.is_none() {
            self.index = Some(r);
            self.scale = scale;
        } else if self.base.is_none() && self.scale == 1 {
            // `idx + r * s`: the unscaled register becomes the base.
            self.base = self.index;
            self.index = Some(r);
            self.scale = scale;
        } else {
            self.scale = Mem::TWO_INDEXES;
        }
        self
    }
}

impl Add<Reg> for Reg {
    type Output = MemExpr;
    fn add(self, rhs: Reg) -> MemExpr {
        MemExpr { base: Some(self), index: Some(rhs), scale: 1, disp: 0 }
    }
}

impl Add<IndexExpr> for Reg {
    type Output = MemExpr;
    fn add(self, rhs: IndexExpr) -> MemExpr {
        MemExpr { base: Some(self), index: Some(rhs.index), scale: rhs.scale, disp: 0 }
    }
}

impl Add<Reg> for MemExpr {
    type Output = MemExpr;
    fn add(self, rhs: Reg) -> MemExpr {
        self.add_reg(rhs, 1)
    }
}

impl Add<IndexExpr> for MemExpr {
    type Output = MemExpr;
    fn add(self, rhs: IndexExpr) -> MemExpr {
        self.add_reg(rhs.index, rhs.scale)
    }
}

impl Add<i64> for IndexExpr {
    type Output = MemExpr;
    fn add(self, rhs: i64) -> MemExpr {
        MemExpr { base: None, index: Some(self.index), scale: self.scale, disp: rhs }
    }
}

macro_rules! int_mem_ops {
    ($($t:ty),*) => {$(
        impl Add<$t> for Reg {
            type Output = MemExpr;
            fn add(self, rhs: $t) -> MemExpr {
                MemExpr { base: Some(self), index: None, scale: 1, disp: rhs as i64 }
            }
        }
        impl Sub<$t> for Reg {
            type Output = MemExpr;
            fn sub(self, rhs: $t) -> MemExpr {
                MemExpr { base: Some(self), index: None, scale: 1, disp: (rhs as i64).wrapping_neg() }
            }
        }
        impl Add<$t> for MemExpr {
            type Output = MemExpr;
            fn add(mut self, rhs: $t) -> MemExpr {
                self.disp = self.disp.wrapping_add(rhs as i64);
                self
            }
        }
        impl Sub<$t> for MemExpr {
            type Output = MemExpr;
            fn sub(mut self, rhs: $t) -> MemExpr {
                self.disp = self.disp.wrapping_sub(rhs as i64);
                self
            }
        }
        impl Mul<$t> for Reg {
            type Output = IndexExpr;
            fn mul(self, rhs: $t) -> IndexExpr {
                IndexExpr { index: self, scale: scale_u8(rhs as u64) }
            }
        }
        impl From<$t> for Operand {
            fn from(v: $t) -> Operand {
                Operand::Imm(v as i64)
            }
        }
    )*};
}
int_mem_ops!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// One operand of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A register.
    Reg(Reg),
    /// A destination register with a write mask.
    Masked(Masked),
    /// A memory operand.
    Mem(Mem),
    /// An immediate (unsigned values are kept as their two's-complement bits).
    Imm(i64),
    /// A label (branch target).
    Label(Label),
    /// Embedded rounding or suppress-all-exceptions.
    Rounding(Rounding),
    /// One element of a vector register (AArch64 `v1.s[2]`).
    Lane(Lane),
    /// Consecutive vector registers (AArch64 `{v0.4s-v3.4s}`).
    List(RegList),
    /// The write mask of the instruction's memory destination (`[m]{k1}`): not an operand of
    /// its own but a decoration of the first one, kept after the others (see [`Mem::mask`]).
    MemMask(Reg),
    /// The segment override of the instruction's memory operand (x86 `fs:[0x28]`, for thread-local
    /// data): a decoration kept after the other operands, like [`Operand::MemMask`] (see
    /// [`Mem::segment`]).
    Segment(Reg),
    /// A 64-bit absolute address (x86 `mov al, byte ptr [0x1122334455667788]`, the `moffs` of
    /// `movabs`): an address that does not fit a displacement's 32 bits. Made by [`Mem::abs64`].
    Abs64(Abs64),
}

/// A 64-bit absolute address with the size of what it reads or writes (see [`Operand::Abs64`]).
/// (The address is kept in two halves, so that an operand stays 16 bytes.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Abs64 {
    addr: [u32; 2],
    size: u8,
}

impl Abs64 {
    /// `[addr]`, `size` bytes (0: the register says).
    ///
    /// ```
    /// use peach_core::ir::Abs64;
    /// let a = Abs64::new(0x1122_3344_5566_7788, 1);
    /// assert_eq!((a.addr(), a.size()), (0x1122_3344_5566_7788, 1));
    /// ```
    pub fn new(addr: u64, size: u8) -> Abs64 {
        Abs64 { addr: [addr as u32, (addr >> 32) as u32], size }
    }

    /// The address.
    pub fn addr(&self) -> u64 {
        self.addr[0] as u64 | (self.addr[1] as u64) << 32
    }

    /// The access size in bytes (0: from the other operand).
    pub fn size(&self) -> u8 {
        self.size
    }

    /// The same address, `size` bytes.
    pub fn sized(self, size: u8) -> Abs64 {
        Abs64 { size, ..self }
    }
}

impl From<Abs64> for Operand {
    fn from(a: Abs64) -> Operand {
        Operand::Abs64(a)
    }
}

/// `count` consecutive vector registers named by the first (wrapping after the last register),
/// for AArch64's `ld1`-`ld4`, `st1`-`st4`, `tbl` and `tbx`: physical ones, or the first of a
/// group of exactly `count` virtual ones.
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::{A64Reg, reg};
/// let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::aarch64_neon());
/// let p = f.param(0);
/// f.ins("ld1", (reg::V4.s4().list(2), [p]));
/// f.ret(None);
/// assert!(f.compile(Abi::Aapcs64)?.listing().contains("ld1 {v4.4s, v5.4s}, [x0]"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegList {
    /// The first register, seen through the arrangement of all of them (or, for a lane list,
    /// through the element view: `v0.s`).
    pub first: Reg,
    /// How many (1 to 4).
    pub count: u8,
    /// One element of each register (`{v0.s, v1.s}[3]`, the single-structure `ld1`-`ld4`,
    /// `st1`-`st4`), or `None` for whole registers.
    pub lane: Option<u8>,
}

impl RegList {
    /// Element `index` of each register of the list (`V0.s().list(2).lane(3)` is
    /// `{v0.s, v1.s}[3]`): what a single-structure load or store transfers.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::isa::aarch64::{A64Reg, reg};
    /// let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::aarch64_neon());
    /// let p = f.param(0);
    /// f.ins("ld2", (reg::V4.s().list(2).lane(3), [p]));
    /// f.ret(None);
    /// assert!(f.compile(Abi::Aapcs64)?.listing().contains("ld2 {v4.s, v5.s}[3], [x0]"));
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    pub fn lane(mut self, index: u8) -> RegList {
        self.lane = Some(index);
        self
    }
}

impl From<RegList> for Operand {
    fn from(l: RegList) -> Operand {
        Operand::List(l)
    }
}

/// One element of a vector register: the register, seen through a view that gives the element
/// size, and the element's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Lane {
    /// The register.
    pub reg: Reg,
    /// The element's index.
    pub index: u8,
}

impl From<Lane> for Operand {
    fn from(l: Lane) -> Operand {
        Operand::Lane(l)
    }
}

impl From<Reg> for Operand {
    fn from(r: Reg) -> Operand {
        Operand::Reg(r)
    }
}
impl From<Masked> for Operand {
    fn from(m: Masked) -> Operand {
        Operand::Masked(m)
    }
}
impl From<Mem> for Operand {
    fn from(m: Mem) -> Operand {
        Operand::Mem(m)
    }
}
impl From<[MemExpr; 1]> for Operand {
    fn from(m: [MemExpr; 1]) -> Operand {
        Operand::Mem(m[0].into())
    }
}
impl From<[Reg; 1]> for Operand {
    fn from(r: [Reg; 1]) -> Operand {
        Operand::Mem(Mem::base_disp(r[0], 0))
    }
}
impl From<Label> for Operand {
    fn from(l: Label) -> Operand {
        Operand::Label(l)
    }
}
impl From<Rounding> for Operand {
    fn from(r: Rounding) -> Operand {
        Operand::Rounding(r)
    }
}

/// One operand as written in an instruction: anything that converts into an [`Operand`], a
/// [`Constant`], which the function pools, or a [`MaskedMem`], which stands as two.
pub trait IntoOperand {
    /// Appends the operand to `out`; constants are appended to `consts` and named by their index.
    fn push_operand(self, out: &mut Vec<Operand>, consts: &mut Vec<Constant>);
}

impl<T: Into<Operand>> IntoOperand for T {
    fn push_operand(self, out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
        out.push(self.into());
    }
}

impl IntoOperand for Constant {
    fn push_operand(self, out: &mut Vec<Operand>, consts: &mut Vec<Constant>) {
        consts.push(self);
        let index = consts.len() as i32 - 1;
        out.push(Operand::Mem(Mem {
            base: Some(Reg::CONSTANTS),
            index: None,
            scale: 1,
            disp: index,
            size: self.len() as u8,
            broadcast: 0,
            update: Update::None,
        }));
    }
}

impl IntoOperand for MaskedMem {
    fn push_operand(self, out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
        out.extend([Operand::Mem(self.mem), Operand::MemMask(self.mask)]);
    }
}

impl IntoOperand for SegmentedMem {
    fn push_operand(self, out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
        out.extend([Operand::Mem(self.mem), Operand::Segment(self.segment)]);
    }
}

/// Anything that can be the operand list of an instruction: one operand, a tuple of up to six
/// operands, an array or a slice of [`Operand`], or `()` for none.
pub trait IntoOperands {
    /// Appends the operands to `out` (and constants to `consts`).
    fn push_into(self, out: &mut Vec<Operand>, consts: &mut Vec<Constant>);
}

macro_rules! single_operand {
    ($($t:ty),*) => {$(
        impl IntoOperands for $t {
            fn push_into(self, out: &mut Vec<Operand>, consts: &mut Vec<Constant>) {
                self.push_operand(out, consts);
            }
        }
    )*};
}
single_operand!(Reg, Masked, Mem, MaskedMem, SegmentedMem, [MemExpr; 1], [Reg; 1], Label, Rounding, Operand, Constant);
single_operand!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! tuple_operands {
    ($($name:ident)*) => {
        impl<$($name: IntoOperand),*> IntoOperands for ($($name,)*) {
            #[allow(non_snake_case)]
            fn push_into(self, _out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
                let ($($name,)*) = self;
                $($name.push_operand(_out, _consts);)*
            }
        }
    };
}
tuple_operands!();
tuple_operands!(A);
tuple_operands!(A B);
tuple_operands!(A B C);
tuple_operands!(A B C D);
tuple_operands!(A B C D E);
tuple_operands!(A B C D E F);

impl IntoOperands for &[Operand] {
    fn push_into(self, out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
        out.extend_from_slice(self);
    }
}
impl<const N: usize> IntoOperands for [Operand; N] {
    fn push_into(self, out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
        out.extend_from_slice(&self);
    }
}
impl IntoOperands for Vec<Operand> {
    fn push_into(self, out: &mut Vec<Operand>, _consts: &mut Vec<Constant>) {
        out.extend(self);
    }
}

#[cfg(test)]
mod tests {
    /// Instructions carry several operands: keep them small.
    #[test]
    fn operands_stay_small() {
        assert_eq!(size_of::<super::Operand>(), 16);
        assert_eq!(size_of::<super::Mem>(), 16);
        assert_eq!(size_of::<crate::ir::Inst>(), 20);
    }
}
