//! x86-64 registers: the physical ones as `Reg` constants, virtual ones made by [`X86Builder`],
//! and the views that name part of a register ([`X86Reg`]).
//!
//! Units (what the allocator hands out): 0-15 general-purpose (`rax`..`r15`), 16-47 vector
//! (`zmm0`..`zmm31`), 48-55 masks (`k0`..`k7`).

use iced_x86::Register;

use super::forms::{add_reg, full_to_sized};
use crate::ir::{Function, Reg, RegClass};

/// General-purpose class.
pub const GP: RegClass = RegClass(0);
/// Vector class (xmm/ymm/zmm).
pub const VEC: RegClass = RegClass(1);
/// AVX-512 mask class (k).
pub const MASK: RegClass = RegClass(2);

/// General-purpose views.
pub(crate) const VIEW_8: u8 = 0;
pub(crate) const VIEW_16: u8 = 1;
pub(crate) const VIEW_32: u8 = 2;
pub(crate) const VIEW_64: u8 = 3;
/// Vector views.
pub(crate) const VIEW_XMM: u8 = 0;
pub(crate) const VIEW_YMM: u8 = 1;
pub(crate) const VIEW_ZMM: u8 = 2;

pub(crate) const GP_UNITS: u8 = 0;
pub(crate) const VEC_UNITS: u8 = 16;
pub(crate) const MASK_UNITS: u8 = 48;
pub(crate) const RSP_UNIT: u8 = 4;

/// The base of the incoming stack-argument area: a pseudo register resolved against the frame
/// when the code is emitted.
pub(crate) const ARG_AREA: Reg = Reg::phys(0xFFFF);

pub(crate) const fn phys(r: Register) -> Reg {
    Reg::phys(r as u16)
}

/// The iced register of a physical `Reg`.
pub(crate) fn iced(r: Reg) -> Option<Register> {
    r.phys_id().and_then(|id| Register::try_from(id as usize).ok())
}

/// The unit of a physical register.
pub(crate) fn unit_of(r: Register) -> Option<u8> {
    if r.is_gpr() {
        let n =
            if (Register::AH..=Register::BH).contains(&r) { r as u8 - Register::AH as u8 } else { r.number() as u8 };
        Some(GP_UNITS + n)
    } else if r.is_vector_register() {
        Some(VEC_UNITS + r.number() as u8)
    } else if r.is_k() {
        Some(MASK_UNITS + r.number() as u8)
    } else {
        None
    }
}

/// The physical register for `unit` seen through `view` of `class`.
pub(crate) fn unit_reg(unit: u8, class: RegClass, view: u8) -> Register {
    match class {
        GP => full_to_sized(add_reg(Register::RAX, (unit - GP_UNITS) as u32), 8 << view),
        VEC => {
            let base = match view {
                VIEW_XMM => Register::XMM0,
                VIEW_YMM => Register::YMM0,
                _ => Register::ZMM0,
            };
            add_reg(base, (unit - VEC_UNITS) as u32)
        }
        _ => add_reg(Register::K0, (unit - MASK_UNITS) as u32),
    }
}

macro_rules! phys_regs {
    ($($name:ident)*) => {
        /// Physical registers, usable anywhere a register operand is expected.
        #[allow(missing_docs)]
        pub mod reg {
            use super::*;
            $(pub const $name: Reg = phys(Register::$name);)*
        }
    };
}

phys_regs! {
    AL CL DL BL AH CH DH BH SPL BPL SIL DIL R8L R9L R10L R11L R12L R13L R14L R15L
    AX CX DX BX SP BP SI DI R8W R9W R10W R11W R12W R13W R14W R15W
    EAX ECX EDX EBX ESP EBP ESI EDI R8D R9D R10D R11D R12D R13D R14D R15D
    RAX RCX RDX RBX RSP RBP RSI RDI R8 R9 R10 R11 R12 R13 R14 R15
    XMM0 XMM1 XMM2 XMM3 XMM4 XMM5 XMM6 XMM7 XMM8 XMM9 XMM10 XMM11 XMM12 XMM13 XMM14 XMM15
    XMM16 XMM17 XMM18 XMM19 XMM20 XMM21 XMM22 XMM23 XMM24 XMM25 XMM26 XMM27 XMM28 XMM29 XMM30 XMM31
    YMM0 YMM1 YMM2 YMM3 YMM4 YMM5 YMM6 YMM7 YMM8 YMM9 YMM10 YMM11 YMM12 YMM13 YMM14 YMM15
    YMM16 YMM17 YMM18 YMM19 YMM20 YMM21 YMM22 YMM23 YMM24 YMM25 YMM26 YMM27 YMM28 YMM29 YMM30 YMM31
    ZMM0 ZMM1 ZMM2 ZMM3 ZMM4 ZMM5 ZMM6 ZMM7 ZMM8 ZMM9 ZMM10 ZMM11 ZMM12 ZMM13 ZMM14 ZMM15
    ZMM16 ZMM17 ZMM18 ZMM19 ZMM20 ZMM21 ZMM22 ZMM23 ZMM24 ZMM25 ZMM26 ZMM27 ZMM28 ZMM29 ZMM30 ZMM31
    K0 K1 K2 K3 K4 K5 K6 K7
    ES CS SS DS FS GS
    MM0 MM1 MM2 MM3 MM4 MM5 MM6 MM7
    ST0 ST1 ST2 ST3 ST4 ST5 ST6 ST7
    TMM0 TMM1 TMM2 TMM3 TMM4 TMM5 TMM6 TMM7
}

/// The physical register named `name` (case-insensitive: `rax`, `YMM3`, `k1`), if any.
///
/// ```
/// use peach_core::isa::x86_64::{reg, reg_by_name};
/// assert_eq!(reg_by_name("ymm3"), Some(reg::YMM3));
/// assert_eq!(reg_by_name("ymm99"), None);
/// assert_eq!(reg_by_name("r9b"), reg_by_name("R9L"));
/// ```
pub fn reg_by_name(name: &str) -> Option<Reg> {
    static BY_NAME: std::sync::OnceLock<std::collections::HashMap<String, Reg>> = std::sync::OnceLock::new();
    let map = BY_NAME.get_or_init(|| {
        let mut map: std::collections::HashMap<String, Reg> = Register::values()
            // (The banks peach does not allocate too: physical only.)
            .filter(|r| unit_of(*r).is_some() || super::forms::Bank::of(*r).is_some())
            .map(|r| (format!("{r:?}").to_ascii_lowercase(), phys(r)))
            .collect();
        // Assemblers spell the low bytes of r8-r15 `r8b`, iced `r8l`: both are accepted.
        for n in 8..16 {
            if let Some(r) = map.get(&format!("r{n}l")).copied() {
                map.insert(format!("r{n}b"), r);
            }
        }
        map
    });
    // Names are at most 5 characters: lower-case them on the stack.
    let mut buf = [0u8; 8];
    let lower = buf.get_mut(..name.len())?;
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    map.get(std::str::from_utf8(lower).ok()?).copied()
}

/// Creating x86-64 virtual registers in a [`Function`].
///
/// ```
/// use peach_core::prelude::*;
/// let mut f = Function::new("k", Signature::default(), Target::x86_64_v3());
/// let acc = f.ymm();
/// let count = f.gp64();
/// assert!(acc.is_virtual() && count.is_virtual());
/// ```
pub trait X86Builder {
    /// A fresh general-purpose virtual register, seen as 64 bits.
    fn gp64(&mut self) -> Reg;
    /// A fresh general-purpose virtual register, seen as 32 bits.
    fn gp32(&mut self) -> Reg;
    /// A fresh vector virtual register, seen as xmm.
    fn xmm(&mut self) -> Reg;
    /// A fresh vector virtual register, seen as ymm.
    fn ymm(&mut self) -> Reg;
    /// A fresh vector virtual register, seen as zmm.
    fn zmm(&mut self) -> Reg;
    /// A fresh AVX-512 mask virtual register.
    fn k(&mut self) -> Reg;
    /// Four fresh vector virtual registers seen as zmm, given consecutive registers from a
    /// multiple of 4 (zmm4-zmm7, ...): the block that `v4fmaddps` and `vp4dpwssd` read, named
    /// by the first.
    ///
    /// ```
    /// use peach_core::prelude::*;
    /// use peach_core::isa::x86_64::X86Builder;
    /// // Knights Mill: the one family with AVX512_4FMAPS.
    /// let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::x86_64("knm")?);
    /// let (p, acc, block) = (f.param(0), f.zmm(), f.zmm_block());
    /// f.ins("vpxord", (acc, acc, acc));
    /// for (i, &r) in block.iter().enumerate() {
    ///     f.ins("vmovups", (r, Mem::from([p]).at(64 * i as i32)));
    /// }
    /// f.ins("v4fmaddps", (acc, block[0], Mem::from([p]).at(256)));
    /// f.ins("vmovups", (Mem::from([p]), acc));
    /// f.ret(None);
    /// let listing = f.compile(Abi::SysV)?.listing();
    /// // zmm0 holds `acc`, so the block is zmm4-zmm7.
    /// assert!(listing.contains("v4fmaddps zmm0, zmm4, xmmword ptr [rdi+0x100]"), "{listing}");
    /// # Ok::<(), peach_core::Error>(())
    /// ```
    fn zmm_block(&mut self) -> [Reg; 4];
    /// The block of [`X86Builder::zmm_block`] seen as xmm, for `v4fmaddss`.
    fn xmm_block(&mut self) -> [Reg; 4];
    /// A fresh virtual register of `kind`, attributed to `loc` (for front ends that build on
    /// behalf of the user's source: errors name where the user made the register).
    fn vreg_of_at(&mut self, kind: X86VReg, loc: crate::Src) -> Reg;
}

/// The kinds of x86-64 virtual registers: what [`X86Builder`]'s constructors make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum X86VReg {
    /// General-purpose, seen as 64 bits.
    Gp64,
    /// General-purpose, seen as 32 bits.
    Gp32,
    /// Vector, seen as xmm.
    Xmm,
    /// Vector, seen as ymm.
    Ymm,
    /// Vector, seen as zmm.
    Zmm,
    /// AVX-512 mask.
    K,
}

impl X86Builder for Function {
    fn vreg_of_at(&mut self, kind: X86VReg, loc: crate::Src) -> Reg {
        let (class, view) = match kind {
            X86VReg::Gp64 => (GP, VIEW_64),
            X86VReg::Gp32 => (GP, VIEW_32),
            X86VReg::Xmm => (VEC, VIEW_XMM),
            X86VReg::Ymm => (VEC, VIEW_YMM),
            X86VReg::Zmm => (VEC, VIEW_ZMM),
            X86VReg::K => (MASK, 0),
        };
        self.new_vreg_at(class, view, loc)
    }
    #[track_caller]
    fn gp64(&mut self) -> Reg {
        self.new_vreg(GP, VIEW_64)
    }
    #[track_caller]
    fn gp32(&mut self) -> Reg {
        self.new_vreg(GP, VIEW_32)
    }
    #[track_caller]
    fn xmm(&mut self) -> Reg {
        self.new_vreg(VEC, VIEW_XMM)
    }
    #[track_caller]
    fn ymm(&mut self) -> Reg {
        self.new_vreg(VEC, VIEW_YMM)
    }
    #[track_caller]
    fn zmm(&mut self) -> Reg {
        self.new_vreg(VEC, VIEW_ZMM)
    }
    #[track_caller]
    fn k(&mut self) -> Reg {
        self.new_vreg(MASK, 0)
    }
    #[track_caller]
    fn zmm_block(&mut self) -> [Reg; 4] {
        block(self, VIEW_ZMM, std::panic::Location::caller().into())
    }
    #[track_caller]
    fn xmm_block(&mut self) -> [Reg; 4] {
        block(self, VIEW_XMM, std::panic::Location::caller().into())
    }
}

/// Four vector registers the allocator places at consecutive registers from a multiple of 4.
pub(crate) fn block(f: &mut Function, view: u8, loc: crate::Src) -> [Reg; 4] {
    let regs = f.new_vreg_group_at(VEC, view, 4, 4, loc);
    std::array::from_fn(|i| regs[i])
}

/// Views of x86-64 registers: the 8/16/32/64-bit parts of a general-purpose register and the
/// xmm/ymm/zmm parts of a vector register, for virtual and physical registers alike.
///
/// ```
/// use peach_core::isa::x86_64::{reg, X86Reg};
/// assert_eq!(reg::RAX.r32(), reg::EAX);
/// assert_eq!(reg::ZMM3.xmm(), reg::XMM3);
/// ```
pub trait X86Reg: Sized {
    /// The 8-bit view (`al`).
    fn r8(self) -> Self;
    /// The 16-bit view (`ax`).
    fn r16(self) -> Self;
    /// The 32-bit view (`eax`).
    fn r32(self) -> Self;
    /// The 64-bit view (`rax`).
    fn r64(self) -> Self;
    /// The xmm view.
    fn xmm(self) -> Self;
    /// The ymm view.
    fn ymm(self) -> Self;
    /// The zmm view.
    fn zmm(self) -> Self;
}

fn view(r: Reg, class: RegClass, v: u8) -> Reg {
    if r.is_virtual() {
        return if r.class() == class { r.with_view(v) } else { r };
    }
    match iced(r).and_then(unit_of) {
        Some(u) if (class == GP && u < VEC_UNITS) || (class == VEC && (VEC_UNITS..MASK_UNITS).contains(&u)) => {
            phys(unit_reg(u, class, v))
        }
        _ => r,
    }
}

impl X86Reg for Reg {
    fn r8(self) -> Reg {
        view(self, GP, VIEW_8)
    }
    fn r16(self) -> Reg {
        view(self, GP, VIEW_16)
    }
    fn r32(self) -> Reg {
        view(self, GP, VIEW_32)
    }
    fn r64(self) -> Reg {
        view(self, GP, VIEW_64)
    }
    fn xmm(self) -> Reg {
        view(self, VEC, VIEW_XMM)
    }
    fn ymm(self) -> Reg {
        view(self, VEC, VIEW_YMM)
    }
    fn zmm(self) -> Reg {
        view(self, VEC, VIEW_ZMM)
    }
}
