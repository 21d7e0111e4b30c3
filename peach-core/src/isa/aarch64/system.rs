//! Operands of the system instructions, which are names: barrier options (`dmb ish`), the
//! branch-target kinds of `bti`, and system registers (`mrs x0, tpidr_el0`). Like conditions
//! and prefetch operations they are tagged values ([`named`]), so that a name never stands
//! where a number is taken.

use super::pseudo::{NameKind, named};
use crate::ir::Operand;

/// A barrier option of `dmb` and `dsb` (the shareability domain and the accesses ordered).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::Barrier;
/// let mut f = Function::new("fence", Signature::default(), Target::aarch64_neon());
/// f.ins("dmb", (Barrier::ISH,));
/// f.asm("dsb sy", ());
/// f.ret(None);
/// let listing = f.compile(Abi::Aapcs64)?.listing();
/// assert!(listing.contains("dmb ish") && listing.contains("dsb sy"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Barrier(pub u8);

/// The options by number; the others are written as numbers (`dmb #4`).
const BARRIERS: [&str; 16] =
    ["", "oshld", "oshst", "osh", "", "nshld", "nshst", "nsh", "", "ishld", "ishst", "ish", "", "ld", "st", "sy"];

impl Barrier {
    /// Inner shareable, all accesses.
    pub const ISH: Barrier = Barrier(11);
    /// Inner shareable, stores.
    pub const ISHST: Barrier = Barrier(10);
    /// Inner shareable, loads.
    pub const ISHLD: Barrier = Barrier(9);
    /// Full system, all accesses.
    pub const SY: Barrier = Barrier(15);

    /// An option by its assembly name (`ish`, `oshld`, `sy`, ...).
    pub fn by_name(name: &str) -> Option<Barrier> {
        let name = name.to_ascii_lowercase();
        BARRIERS.iter().position(|b| !b.is_empty() && *b == name).map(|i| Barrier(i as u8))
    }

    /// The assembly name, if the option has one.
    pub(crate) fn name(option: u8) -> Option<&'static str> {
        BARRIERS.get(option as usize).copied().filter(|n| !n.is_empty())
    }
}

impl From<Barrier> for Operand {
    fn from(b: Barrier) -> Operand {
        named(NameKind::Barrier, b.0 as u16)
    }
}

/// What a `bti` landing pad accepts: calls (`c`), jumps (`j`) or both (`jc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BranchTarget {
    /// Indirect calls (`blr`).
    C = 1,
    /// Indirect jumps (`br`).
    J = 2,
    /// Both.
    Jc = 3,
}

const TARGETS: [&str; 4] = ["", "c", "j", "jc"];

impl BranchTarget {
    /// A kind by its assembly name (`c`, `j`, `jc`).
    pub fn by_name(name: &str) -> Option<BranchTarget> {
        match name.to_ascii_lowercase().as_str() {
            "c" => Some(BranchTarget::C),
            "j" => Some(BranchTarget::J),
            "jc" => Some(BranchTarget::Jc),
            _ => None,
        }
    }

    pub(crate) fn name(kind: u8) -> &'static str {
        TARGETS.get(kind as usize).copied().unwrap_or("")
    }
}

impl From<BranchTarget> for Operand {
    fn from(t: BranchTarget) -> Operand {
        named(NameKind::Target, t as u16)
    }
}

/// A cache maintenance operation of `dc` and `ic` that user code may run: `dc zva` (zero a
/// block), `dc civac`/`cvac`/`cvau`/`cvap` (clean, invalidate), `ic ivau` (what JIT code
/// needs after writing instructions).
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::CacheOp;
/// let mut f = Function::new("zero", Signature::new(&[Type::Ptr], None), Target::aarch64_neon());
/// let p = f.param(0);
/// f.ins("dc", (CacheOp::ZVA, p));
/// f.ret(None);
/// assert!(f.compile(Abi::Aapcs64)?.listing().contains("dc zva, x0"));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheOp(pub u16);

/// `(name, mnemonic, op1, CRn, CRm, op2)`.
const CACHE_OPS: &[(&str, &str, u16, u16, u16, u16)] = &[
    ("zva", "dc", 3, 7, 4, 1),
    ("cvac", "dc", 3, 7, 10, 1),
    ("cvau", "dc", 3, 7, 11, 1),
    ("cvap", "dc", 3, 7, 12, 1),
    ("civac", "dc", 3, 7, 14, 1),
    ("ivau", "ic", 3, 7, 5, 1),
];

impl CacheOp {
    /// Zero a block of memory (its size is in `dczid_el0`).
    pub const ZVA: CacheOp = CacheOp(3 << 11 | 7 << 7 | 4 << 3 | 1);
    /// Clean and invalidate by address to the point of coherency.
    pub const CIVAC: CacheOp = CacheOp(3 << 11 | 7 << 7 | 14 << 3 | 1);
    /// Invalidate instructions by address to the point of unification.
    pub const IVAU: CacheOp = CacheOp(3 << 11 | 7 << 7 | 5 << 3 | 1);

    /// An operation by its assembly name (`zva`, `civac`, `ivau`, ...).
    pub fn by_name(name: &str) -> Option<CacheOp> {
        let lower = name.to_ascii_lowercase();
        CACHE_OPS
            .iter()
            .find(|c| c.0 == lower)
            .map(|&(_, _, op1, crn, crm, op2)| CacheOp(op1 << 11 | crn << 7 | crm << 3 | op2))
    }

    /// The assembly name and the mnemonic (`dc` or `ic`) of an operation.
    pub(crate) fn name(bits: u16) -> Option<(&'static str, &'static str)> {
        let fields = (bits >> 11 & 7, bits >> 7 & 15, bits >> 3 & 15, bits & 7);
        CACHE_OPS.iter().find(|c| (c.2, c.3, c.4, c.5) == fields).map(|c| (c.0, c.1))
    }
}

#[cfg(test)]
impl CacheOp {
    /// Every named operation with its mnemonic, for the tests.
    pub(crate) fn names() -> impl Iterator<Item = (&'static str, &'static str)> {
        CACHE_OPS.iter().map(|c| (c.0, c.1))
    }
}

impl From<CacheOp> for Operand {
    fn from(c: CacheOp) -> Operand {
        named(NameKind::Cache, c.0)
    }
}

/// A system register of `mrs` and `msr`, as its encoding `op0:op1:CRn:CRm:op2` (`op0` 2 or 3).
/// The registers user code reads have names (`tpidr_el0`, `fpcr`, `cntvct_el0`, ...); any
/// other is written `s3_3_c13_c0_2`.
///
/// ```
/// use peach_core::prelude::*;
/// use peach_core::isa::aarch64::SysReg;
/// let mut f = Function::new("tls", Signature::new(&[], Some(Type::U64)), Target::aarch64_neon());
/// let t = f.x();
/// f.ins("mrs", (t, SysReg::TPIDR_EL0));
/// f.ret(t);
/// assert!(f.compile(Abi::Aapcs64)?.listing().contains("mrs x0, tpidr_el0"));
/// assert_eq!(SysReg::by_name("S3_3_C13_C0_2"), Some(SysReg::TPIDR_EL0));
/// # Ok::<(), peach_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SysReg(pub u16);

/// `(name, op0, op1, CRn, CRm, op2)`.
const SYSREGS: &[(&str, u16, u16, u16, u16, u16)] = &[
    ("nzcv", 3, 3, 4, 2, 0),
    ("daif", 3, 3, 4, 2, 1),
    ("currentel", 3, 0, 4, 2, 2),
    ("fpcr", 3, 3, 4, 4, 0),
    ("fpsr", 3, 3, 4, 4, 1),
    ("tpidr_el0", 3, 3, 13, 0, 2),
    ("tpidrro_el0", 3, 3, 13, 0, 3),
    ("cntfrq_el0", 3, 3, 14, 0, 0),
    ("cntpct_el0", 3, 3, 14, 0, 1),
    ("cntvct_el0", 3, 3, 14, 0, 2),
    ("ctr_el0", 3, 3, 0, 0, 1),
    ("dczid_el0", 3, 3, 0, 0, 7),
    ("midr_el1", 3, 0, 0, 0, 0),
    ("mpidr_el1", 3, 0, 0, 0, 5),
    ("revidr_el1", 3, 0, 0, 0, 6),
    ("id_aa64pfr0_el1", 3, 0, 0, 4, 0),
    ("id_aa64pfr1_el1", 3, 0, 0, 4, 1),
    ("id_aa64isar0_el1", 3, 0, 0, 6, 0),
    ("id_aa64isar1_el1", 3, 0, 0, 6, 1),
    ("id_aa64mmfr0_el1", 3, 0, 0, 7, 0),
];

/// The 15 bits `o0:op1:CRn:CRm:op2` of an encoding (`op0` is 2 + `o0`).
const fn bits(op0: u16, op1: u16, crn: u16, crm: u16, op2: u16) -> u16 {
    (op0 - 2) << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
}

impl SysReg {
    /// The thread pointer of user code.
    pub const TPIDR_EL0: SysReg = SysReg(bits(3, 3, 13, 0, 2));
    /// The floating-point control register (rounding mode, flush-to-zero).
    pub const FPCR: SysReg = SysReg(bits(3, 3, 4, 4, 0));
    /// The floating-point status register (cumulative exception flags).
    pub const FPSR: SysReg = SysReg(bits(3, 3, 4, 4, 1));
    /// The condition flags.
    pub const NZCV: SysReg = SysReg(bits(3, 3, 4, 2, 0));
    /// The virtual counter (a clock for timing).
    pub const CNTVCT_EL0: SysReg = SysReg(bits(3, 3, 14, 0, 2));

    /// A register by name, or by its encoding written `s3_3_c13_c0_2` (any case).
    pub fn by_name(name: &str) -> Option<SysReg> {
        let lower = name.to_ascii_lowercase();
        if let Some(&(_, op0, op1, crn, crm, op2)) = SYSREGS.iter().find(|r| r.0 == lower) {
            return Some(SysReg(bits(op0, op1, crn, crm, op2)));
        }
        let mut parts = lower.strip_prefix('s')?.split('_');
        let mut field = |prefix: &str, max: u16| -> Option<u16> {
            let p = parts.next()?;
            let digits = p.strip_prefix(prefix)?;
            let v: u16 = digits.parse().ok().filter(|_| !digits.starts_with('+'))?;
            (v <= max).then_some(v)
        };
        let (op0, op1, crn, crm, op2) = (field("", 3)?, field("", 7)?, field("c", 15)?, field("c", 15)?, field("", 7)?);
        (parts.next().is_none() && op0 >= 2).then(|| SysReg(bits(op0, op1, crn, crm, op2)))
    }

    /// The assembly name: the register's, or its encoding.
    pub(crate) fn name(bits: u16) -> String {
        let fields = (2 + (bits >> 14), bits >> 11 & 7, bits >> 7 & 15, bits >> 3 & 15, bits & 7);
        match SYSREGS.iter().find(|r| (r.1, r.2, r.3, r.4, r.5) == fields) {
            Some(r) => r.0.to_string(),
            None => format!("s{}_{}_c{}_c{}_{}", fields.0, fields.1, fields.2, fields.3, fields.4),
        }
    }

    /// Every named register, for the tests.
    #[cfg(test)]
    pub(crate) fn names() -> impl Iterator<Item = &'static str> {
        SYSREGS.iter().map(|r| r.0)
    }
}

impl From<SysReg> for Operand {
    fn from(r: SysReg) -> Operand {
        named(NameKind::SysReg, r.0)
    }
}
