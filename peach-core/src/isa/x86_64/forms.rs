//! The x86-64 instruction forms, built once from iced-x86's tables (`Code::values()` and
//! `OpCodeInfo`), and the rules that pick a form for an instruction's operands.
//!
//! Every 64-bit-mode Legacy, VEX, EVEX and XOP form whose operands peach can express is kept.
//! The def/use role of each operand and the implicit registers come from iced's instruction info,
//! asked once per form with stand-in operands.

use std::collections::HashMap;
use std::sync::OnceLock;

use iced_x86::{
    Code, EncodingKind, Instruction, InstructionInfoFactory, MemoryOperand, Mnemonic, OpAccess,
    OpCodeOperandKind as OK, OpKind, Register,
};

use crate::target::{ExtSet, Extension};

/// How a form's operand may be filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A general-purpose register of this many bits, or memory if `mem`.
    Gp { bits: u16, mem: bool },
    /// A vector register of this many bits, or memory if `mem`.
    Vec { bits: u16, mem: bool },
    /// A mask register, or memory if `mem`.
    K { mem: bool },
    /// An even mask register and the next, both written (`vp2intersectd k2, zmm0, zmm1` sets k2
    /// and k3): physical registers.
    KPair,
    /// Four consecutive vector registers of this many bits named by the first, whose number is
    /// a multiple of 4 (`v4fmaddps zmm0, zmm4+3, [rax]` reads zmm4-zmm7): the first of a
    /// block from `zmm_block`/`xmm_block`, or physical.
    Block { bits: u16 },
    /// A register of a bank peach does not allocate (physical only), or memory if `mem`.
    Bank { bank: Bank, mem: bool },
    /// Memory only (the size comes from the form).
    Mem,
    /// Memory addressed with a vector index of this many bits (VSIB: gathers and scatters).
    Vsib { bits: u16 },
    /// Exactly this register (the short `AL`/`AX`/`EAX`/`RAX`, `CL` and `DX` forms).
    Fixed(Register),
    /// An immediate of this kind.
    Imm(ImmKind),
    /// A branch target.
    Branch,
    /// A 64-bit absolute address (`mov al, byte ptr [moffs]`, the size from the form).
    Moffs,
}

/// The register banks whose registers are named, never allocated: MMX (peach inserts no
/// `emms`), the x87 stack, segment, control and debug registers, AMX tiles and MPX bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bank {
    Mmx,
    St,
    Seg,
    Cr,
    Dr,
    Tmm,
    Bnd,
}

impl Bank {
    /// The bank of a register, if it is in one.
    pub(crate) fn of(r: Register) -> Option<Bank> {
        Some(if r.is_mm() {
            Bank::Mmx
        } else if r.is_st() {
            Bank::St
        } else if r.is_segment_register() {
            Bank::Seg
        } else if r.is_cr() {
            Bank::Cr
        } else if r.is_dr() {
            Bank::Dr
        } else if r.is_tmm() {
            Bank::Tmm
        } else if r.is_bnd() {
            Bank::Bnd
        } else {
            return None;
        })
    }

    /// Its first register, and how many a sample may pick from after it.
    pub(crate) fn sample(self) -> (Register, u32) {
        match self {
            Bank::Mmx => (Register::MM0, 8),
            Bank::St => (Register::ST1, 7),
            Bank::Seg => (Register::ES, 6),
            Bank::Cr => (Register::CR0, 5),
            Bank::Dr => (Register::DR0, 8),
            Bank::Tmm => (Register::TMM0, 8),
            Bank::Bnd => (Register::BND0, 4),
        }
    }

    /// How assembly names it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Bank::Mmx => "mm",
            Bank::St => "st(i)",
            Bank::Seg => "sreg",
            Bank::Cr => "cr",
            Bank::Dr => "dr",
            Bank::Tmm => "tmm",
            Bank::Bnd => "bnd",
        }
    }
}

/// The immediate kinds of x86 forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ImmKind {
    /// 8 bits of control, 0 to 255 (shift counts, shuffle controls, predicates): a negative
    /// value is refused, not reinterpreted.
    U8,
    /// The 8-bit operand of an 8-bit operation (`add al, -1`): -128 to 255.
    I8,
    /// 8 bits sign-extended to the operation size (in bits).
    S8(u16),
    /// 16 bits.
    I16,
    /// 32 bits (for a 32-bit operation).
    I32,
    /// 32 bits sign-extended to 64.
    S32,
    /// 64 bits.
    I64,
    /// The constant 1 (`SHL r, 1`).
    One,
    /// 4 bits, 0 to 15, sharing a byte with a register (`VPERMIL2PS`'s selector after its
    /// fourth register).
    U4,
}

impl ImmKind {
    pub(crate) fn fits(self, v: i64) -> bool {
        match self {
            ImmKind::U8 => (0..=255).contains(&v),
            ImmKind::I8 => (-128..=255).contains(&v),
            ImmKind::S8(bits) => {
                // A value written as unsigned (0xFFFF for a 16-bit operation) is its bits.
                let sign_extended = match bits {
                    16 if (0..=0xFFFF).contains(&v) => v as u16 as i16 as i64,
                    32 if (0..=0xFFFF_FFFF).contains(&v) => v as u32 as i32 as i64,
                    _ => v,
                };
                (-128..=127).contains(&sign_extended)
            }
            ImmKind::I16 => (-32768..=65535).contains(&v),
            ImmKind::I32 => (-(1 << 31)..=0xFFFF_FFFF).contains(&v),
            ImmKind::S32 => (-(1 << 31)..(1 << 31)).contains(&v),
            ImmKind::I64 => true,
            ImmKind::One => v == 1,
            ImmKind::U4 => (0..=15).contains(&v),
        }
    }

    /// The iced operand kind for this immediate.
    pub(crate) fn op_kind(self) -> OpKind {
        match self {
            ImmKind::U8 | ImmKind::I8 | ImmKind::One | ImmKind::U4 => OpKind::Immediate8,
            ImmKind::S8(16) => OpKind::Immediate8to16,
            ImmKind::S8(32) => OpKind::Immediate8to32,
            ImmKind::S8(_) => OpKind::Immediate8to64,
            ImmKind::I16 => OpKind::Immediate16,
            ImmKind::I32 => OpKind::Immediate32,
            ImmKind::S32 => OpKind::Immediate32to64,
            ImmKind::I64 => OpKind::Immediate64,
        }
    }

    /// The values it takes, for messages.
    pub(crate) fn range(self) -> &'static str {
        match self {
            ImmKind::U8 => "0 to 255",
            ImmKind::I8 => "-128 to 255",
            ImmKind::S8(_) => "-128 to 127 (sign-extended)",
            ImmKind::I16 => "-32768 to 65535",
            ImmKind::I32 => "-2^31 to 2^32-1",
            ImmKind::S32 => "-2^31 to 2^31-1 (sign-extended)",
            ImmKind::I64 => "any 64-bit value",
            ImmKind::One => "1",
            ImmKind::U4 => "0 to 15",
        }
    }

    /// Bytes the immediate takes in the encoding.
    pub(crate) fn bytes(self) -> u8 {
        match self {
            ImmKind::U8 | ImmKind::I8 | ImmKind::S8(_) => 1,
            ImmKind::One | ImmKind::U4 => 0,
            ImmKind::I16 => 2,
            ImmKind::I32 | ImmKind::S32 => 4,
            ImmKind::I64 => 8,
        }
    }
}

/// The def/use role of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not accessed (memory address computation only, or a zero idiom's source).
    None,
    /// Read.
    Use,
    /// Written, old value dead.
    Def,
    /// Read and written (or conditionally written).
    UseDef,
}

fn role(a: OpAccess) -> Role {
    match a {
        OpAccess::Read | OpAccess::CondRead => Role::Use,
        OpAccess::Write => Role::Def,
        OpAccess::ReadWrite | OpAccess::ReadCondWrite | OpAccess::CondWrite => Role::UseDef,
        _ => Role::None,
    }
}

/// Everything peach needs to know about one iced `Code`.
#[derive(Clone, Debug)]
pub(crate) struct Form {
    pub code: Code,
    pub slots: Vec<Slot>,
    pub roles: Vec<Role>,
    /// The roles when the register-or-memory operand is memory (`MOVSD xmm, m64` zeroes the upper
    /// lanes, `MOVSD xmm, xmm` keeps them), if they differ.
    pub mem_roles: Option<Vec<Role>>,
    /// The roles when all register operands are the same register (`XOR r, r` reads nothing).
    pub idiom_roles: Option<Vec<Role>>,
    /// Registers read or written that are not operands (`MUL` uses RAX and RDX).
    pub implicit: Vec<(Register, Role)>,
    pub encoding: EncodingKind,
    /// Memory access size in bytes (0: none or unsized).
    pub mem_size: u16,
    /// Element size in bytes when broadcasting (0: no broadcast).
    pub bcst_size: u16,
    pub can_mask: bool,
    pub can_zero: bool,
    pub can_round: bool,
    pub can_sae: bool,
    pub needs_mask: bool,
    pub features: ExtSet,
    /// Writes a ymm/zmm register, leaving the upper state dirty (needs `vzeroupper` before a return).
    pub dirties_upper: bool,
    /// The EVEX form with the same operand kinds, for a VEX form (lets xmm16-31 be used).
    pub evex_twin: Option<Code>,
    /// This form and the others of the same mnemonic and encoding family that could take the
    /// same operands, in iced's order (`MOV r64, r/m64` and `MOV r/m64, r64`; `ADD r/m64, imm32`
    /// and `ADD RAX, imm32`); empty when there are none.
    pub alternatives: Vec<Code>,
    /// How to encode it without iced, for VEX forms with plain operands.
    pub vex: Option<super::vex::VexPlan>,
    /// How to encode it without iced, for VEX forms with a register in the immediate.
    pub is4: Option<super::vex::Is4Plan>,
    /// How to encode it without iced, for EVEX forms with plain operands.
    pub evex: Option<super::evex::EvexPlan>,
    /// How to encode it without iced, for legacy integer and SSE forms with plain operands.
    pub legacy: Option<super::legacy::LegacyPlan>,
    /// With a memory operand, this form is the only one of its alternatives that can take it
    /// (`VMOVUPS ymm, m256` versus the store form): the choice needs no allocated registers.
    pub mem_decides: bool,
    /// With registers in every operand, the alternative encoded whatever the registers, where
    /// there is one (legacy forms: `MOVAPS xmm, xmm` is always `0F 28`; see
    /// [`super::legacy::register_choice`]).
    pub register_choice: Option<Code>,
    /// With registers and an immediate, the alternative encoded for each class of values,
    /// whatever the registers but a few (see [`super::legacy::imm_choice`]).
    pub imm_choice: Option<super::legacy::ImmChoice>,
    /// With registers in every operand, whether the final choice may be made by encoding each
    /// alternative directly (VEX and EVEX copies: `vmovapd ymm8, ymm1` as `C5 7D 28 C1` or
    /// `C4 C1 7D 29 C8`, by which is shorter; see [`direct_alternatives`]).
    pub direct_alternatives: bool,
    /// Where the operands go in iced's instruction (string instructions hide some).
    pub places: Places,
    /// The implicit registers with a `rep` prefix (string instructions count in RCX).
    pub rep_implicit: Vec<(Register, Role)>,
    /// The checks an instruction of this form needs beyond its operands' shapes (bits of
    /// [`checks`]), 0 for most.
    pub checks: u16,
    /// How the allocator reads its operands, where nothing about them needs a case of its own.
    pub alloc_plan: Option<AllocPlan>,
}

/// What the register allocator needs of a form whose operands are plain (VEX, EVEX or legacy;
/// general registers of 32 or 64 bits, vector and mask registers, memory, immediates; no implicit
/// register, required mask, zero idiom, roles that change with memory, or destination that
/// must differ from the sources): each operand's role and kind of register, so that the common
/// instruction is read in one short pass (see `X86_64::visit`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AllocPlan {
    ops: [(Role, PlanKind); 4],
    len: u8,
}

/// The units a plain operand's register takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlanKind {
    /// A general-purpose register.
    Gp,
    /// A vector register.
    Vec,
    /// A vector register of a legacy (SSE) form, which keeps the upper lanes of a wider value
    /// it writes.
    LegacyVec,
    /// A mask register.
    K,
    /// No register (memory-only or immediate slot).
    None,
}

impl AllocPlan {
    /// The plan of a form with these properties, where it has one.
    fn of(encoding: EncodingKind, slots: &[Slot], roles: &[Role], simple: bool) -> Option<AllocPlan> {
        let legacy = encoding == EncodingKind::Legacy;
        if !simple || !(legacy || matches!(encoding, EncodingKind::VEX | EncodingKind::EVEX)) || slots.len() > 4 {
            return None;
        }
        let mut plan = AllocPlan { ops: [(Role::None, PlanKind::None); 4], len: slots.len() as u8 };
        for (i, (slot, role)) in slots.iter().zip(roles).enumerate() {
            let kind = match slot {
                Slot::Gp { bits: 32 | 64, .. } => PlanKind::Gp,
                Slot::Vec { bits: 128, .. } if legacy => PlanKind::LegacyVec,
                Slot::Vec { .. } if !legacy => PlanKind::Vec,
                Slot::K { .. } => PlanKind::K,
                Slot::Mem | Slot::Imm(_) => PlanKind::None,
                _ => return None,
            };
            plan.ops[i] = (*role, kind);
        }
        Some(plan)
    }

    /// Each operand's role and kind, in order.
    pub(crate) fn ops(&self) -> &[(Role, PlanKind)] {
        &self.ops[..self.len as usize]
    }
}

/// The checks an instruction needs beyond its operands' shapes, found when the table is built
/// so that the common instruction tests one word.
pub(crate) mod checks {
    /// A gather or scatter: its destination, index and mask differ.
    pub const VSIB: u16 = 1;
    /// It writes a pair of mask registers, named by the first.
    pub const MASK_PAIR: u16 = 1 << 1;
    /// 3DNow!: addresses in rax-rdi.
    pub const THREE_D_NOW: u16 = 1 << 2;
    /// It reads a block of four vector registers.
    pub const BLOCK: u16 = 1 << 3;
    /// MPX: no RIP-relative address.
    pub const MPX: u16 = 1 << 4;
    /// BNDLDX/BNDSTX: the index is an unscaled pointer.
    pub const MIB: u16 = 1 << 5;
    /// A 32-bit register holds an address (`movdir64b eax, [ecx]`).
    pub const ADDRESS_REG32: u16 = 1 << 6;
    /// A 64-bit register holds an address (`movdir64b rax, [rcx]`).
    pub const ADDRESS_REG64: u16 = 1 << 7;
    /// Its destination differs from its sources (`vfmulcph`).
    pub const DISTINCT: u16 = 1 << 8;
}

/// See [`Forms::spelled`].
const SPELLINGS: [(&str, &[Code]); 7] = [
    ("pushf", &[Code::Pushfq]),
    ("popf", &[Code::Popfq]),
    ("pushfw", &[Code::Pushfw]),
    ("popfw", &[Code::Popfw]),
    ("iretw", &[Code::Iretw]),
    ("retfw", &[Code::Retfw, Code::Retfw_imm16]),
    ("retfq", &[Code::Retfq, Code::Retfq_imm16]),
];

/// An operand the text does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// A string instruction's memory operand (`OpKind::MemorySegRSI`, `MemoryESRDI`, ...).
    Memory(OpKind),
    /// XLATB's `[rbx + al]`.
    Xlat,
    /// A fixed register.
    Reg(Register),
}

/// Where a form's operands go in iced's instruction: the slots in order, except that a string
/// instruction's text names fewer operands than the instruction has (`STOSB` is
/// `stos byte ptr [rdi], al`; `MASKMOVDQU xmm, xmm` stores to `[rdi]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Places {
    /// The operands the text does not name, by iced operand index (empty for most forms).
    pub hidden: Vec<(u8, Hidden)>,
    /// The iced operand index of each slot when some are hidden (empty: slot `i` is operand `i`).
    pub slot_ops: Vec<u8>,
}

impl Places {
    /// The iced operand index of slot `i`.
    #[inline]
    pub(crate) fn op_index(&self, i: usize) -> u32 {
        self.slot_ops.get(i).map_or(i as u32, |&k| k as u32)
    }

    /// Fills the hidden operands of `ins`.
    pub(crate) fn set_hidden(&self, ins: &mut Instruction) {
        for &(k, h) in &self.hidden {
            let k = k as u32;
            match h {
                Hidden::Memory(kind) => ins.set_op_kind(k, kind),
                Hidden::Xlat => {
                    ins.set_op_kind(k, OpKind::Memory);
                    ins.set_memory_base(Register::RBX);
                    ins.set_memory_index(Register::AL);
                    ins.set_memory_index_scale(1);
                }
                Hidden::Reg(r) => {
                    ins.set_op_kind(k, OpKind::Register);
                    ins.set_op_register(k, r);
                }
            }
        }
    }
}

/// How a string instruction's operand is hidden, for the iced operand kinds that make a form one.
fn hidden(k: OK) -> Option<Hidden> {
    Some(match k {
        OK::seg_rSI => Hidden::Memory(OpKind::MemorySegRSI),
        OK::es_rDI => Hidden::Memory(OpKind::MemoryESRDI),
        OK::seg_rDI => Hidden::Memory(OpKind::MemorySegRDI),
        OK::seg_rBX_al => Hidden::Xlat,
        _ => return None,
    })
}

impl Form {
    /// Whether it is a string instruction (`[rsi]`/`[rdi]` the text does not name).
    pub(crate) fn is_string(&self) -> bool {
        self.places.hidden.iter().any(|(_, h)| matches!(h, Hidden::Memory(_)))
    }

    /// Whether the form accesses memory through an operand, written or implicit (what a segment
    /// override applies to).
    pub(crate) fn has_memory(&self) -> bool {
        self.slots.iter().any(Slot::takes_mem)
            || self.places.hidden.iter().any(|(_, h)| matches!(h, Hidden::Memory(_) | Hidden::Xlat))
    }
}

impl Slot {
    /// Whether memory can stand here.
    pub(crate) fn takes_mem(&self) -> bool {
        matches!(
            self,
            Slot::Mem
                | Slot::Moffs
                | Slot::Vsib { .. }
                | Slot::Gp { mem: true, .. }
                | Slot::Vec { mem: true, .. }
                | Slot::K { mem: true }
                | Slot::Bank { mem: true, .. }
        )
    }
}

/// All forms, indexed by `Code`, plus the forms of each mnemonic and the mnemonic names.
pub(crate) struct Forms {
    by_code: Vec<Option<Form>>,
    by_mnemonic: Vec<Vec<Code>>,
    names: HashMap<String, Mnemonic>,
    /// The names by length, each with the set of its bytes, for "did you mean".
    spellings: Vec<(u128, String)>,
    /// The names of Knights Corner's instructions (the Xeon Phi coprocessor's own 64-bit ISA,
    /// whose encodings collide with x86-64's), sorted, to say so in an error.
    knights_corner: Vec<String>,
}

/// The extensions an instruction of `code` needs (a form's `features`).
pub(crate) fn extensions_of(code: Code) -> ExtSet {
    let mut features = ExtSet::EMPTY;
    for f in code.cpuid_features() {
        features.insert(Extension(*f as u16));
    }
    features
}

/// The set of bytes (below 128) of `s`.
fn byte_set(s: &[u8]) -> u128 {
    s.iter().fold(0, |set, &b| set | 1 << (b & 127))
}

/// Whether `form`'s final choice for registers in every operand can be made by encoding each
/// alternative with the direct encoders and keeping the shortest (ties: the first, as
/// `encode::choose_final` does): a VEX or EVEX form whose slots are all plain registers (or
/// registers or memory), whose alternatives are of its encoding, with a plan, its extensions
/// and slots of the same kinds of register, so that every one of them takes the operands.
fn direct_alternatives(form: &Form, by_code: &[Option<Form>]) -> bool {
    let register = |s: &Slot| match *s {
        Slot::Gp { bits, .. } => Some((0, bits)),
        Slot::Vec { bits, .. } => Some((1, bits)),
        Slot::K { .. } => Some((2, 0)),
        _ => None,
    };
    let planned = |f: &Form| match f.encoding {
        EncodingKind::VEX => f.vex.is_some(),
        EncodingKind::EVEX => f.evex.is_some(),
        _ => false,
    };
    let kinds: Option<Vec<_>> = form.slots.iter().map(register).collect();
    let Some(kinds) = kinds else { return false };
    !form.alternatives.is_empty()
        && planned(form)
        && form.alternatives.iter().all(|c| {
            by_code.get(*c as usize).and_then(Option::as_ref).is_some_and(|alt| {
                alt.encoding == form.encoding
                    && planned(alt)
                    && !alt.needs_mask
                    && alt.features == form.features
                    && alt.slots.iter().map(register).collect::<Option<Vec<_>>>().as_ref() == Some(&kinds)
            })
        })
}

impl Forms {
    /// The shared table, built on first use.
    pub(crate) fn get() -> &'static Forms {
        static FORMS: OnceLock<Forms> = OnceLock::new();
        FORMS.get_or_init(build)
    }

    pub(crate) fn form(&self, code: Code) -> Option<&Form> {
        self.by_code.get(code as usize).and_then(|f| f.as_ref())
    }

    pub(crate) fn codes(&self, m: Mnemonic) -> &[Code] {
        self.by_mnemonic.get(m as usize).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// The forms of a spelling assemblers use where iced's name means another form in 64-bit
    /// mode (`pushf` is `pushfq` there, `pushfw` the 16-bit form; `retfq` is `retf` with REX.W),
    /// given lowercase.
    pub(crate) fn spelled(lowercase_name: &str) -> Option<&'static [Code]> {
        SPELLINGS.iter().find(|(name, _)| *name == lowercase_name).map(|(_, codes)| *codes)
    }

    /// The mnemonic named `lowercase_name`, accepting the usual condition-code aliases
    /// (`jz` for `je`, `cmovnz` for `cmovne`, `setc` for `setb`, `cmpaexadd` for `cmpnbxadd`,
    /// ...), `sal` for `shl`, `xlat` for `xlatb` and `fwait` for `wait`.
    pub(crate) fn mnemonic(&self, lowercase_name: &str) -> Option<Mnemonic> {
        if let Some(m) = self.names.get(lowercase_name) {
            return Some(*m);
        }
        match lowercase_name {
            "sal" => return self.names.get("shl").copied(),
            "xlat" => return self.names.get("xlatb").copied(),
            "fwait" => return self.names.get("wait").copied(),
            _ => {}
        }
        // CMPccXADD: iced names it by `nb`, `z`, `nle`, ...; assemblers also print `ae`, `e`, `g`.
        if let Some(cc) = lowercase_name.strip_prefix("cmp").and_then(|r| r.strip_suffix("xadd")) {
            const XADD_CC: [(&str, &str); 14] = [
                ("ae", "nb"),
                ("nc", "nb"),
                ("a", "nbe"),
                ("e", "z"),
                ("ne", "nz"),
                ("ge", "nl"),
                ("g", "nle"),
                ("c", "b"),
                ("nae", "b"),
                ("na", "be"),
                ("pe", "p"),
                ("po", "np"),
                ("nge", "l"),
                ("ng", "le"),
            ];
            if let Some((_, canon)) = XADD_CC.iter().find(|(a, _)| *a == cc) {
                return self.names.get(&format!("cmp{canon}xadd")).copied();
            }
        }
        const CC: [(&str, &str); 14] = [
            ("z", "e"),
            ("nz", "ne"),
            ("c", "b"),
            ("nae", "b"),
            ("nc", "ae"),
            ("nb", "ae"),
            ("na", "be"),
            ("nbe", "a"),
            ("nge", "l"),
            ("nl", "ge"),
            ("ng", "le"),
            ("nle", "g"),
            ("pe", "p"),
            ("po", "np"),
        ];
        for prefix in ["j", "cmov", "set"] {
            if let Some(cc) = lowercase_name.strip_prefix(prefix)
                && let Some((_, canon)) = CC.iter().find(|(a, _)| *a == cc)
            {
                return self.names.get(&format!("{prefix}{canon}")).copied();
            }
        }
        None
    }

    /// Whether `lowercase_name` is a Knights Corner instruction that x86-64 does not have.
    pub(crate) fn is_knights_corner(&self, lowercase_name: &str) -> bool {
        self.knights_corner.binary_search_by(|k| k.as_str().cmp(lowercase_name)).is_ok()
    }

    /// The known mnemonic names closest to `name`, for "did you mean".
    pub(crate) fn suggest(&self, name: &str) -> Option<&str> {
        // Within two edits, the lengths differ by two at most (the names are sorted by length),
        // and the letters that one name has and the other lacks number two at most (first as
        // sets, then counted): cheap tests that leave few names for the exact distance, so that
        // an unknown name costs microseconds.
        let name = name.as_bytes();
        let mut counts = [0u8; 128];
        for &b in name {
            counts[(b & 127) as usize] = counts[(b & 127) as usize].saturating_add(1);
        }
        let have = byte_set(name);
        let from = self.spellings.partition_point(|(_, k)| k.len() + 2 < name.len());
        let to = self.spellings.partition_point(|(_, k)| k.len() <= name.len() + 2);
        self.spellings[from..to.max(from)]
            .iter()
            .filter(|(set, _)| (set & !have).count_ones() <= 2 && (have & !set).count_ones() <= 2)
            .map(|(_, k)| k)
            .filter(|k| {
                let mut c = counts;
                let mut shared = 0;
                for &b in k.as_bytes() {
                    let n = &mut c[(b & 127) as usize];
                    if *n > 0 {
                        *n -= 1;
                        shared += 1;
                    }
                }
                (k.len() - shared).max(name.len() - shared) <= 2
            })
            .map(|k| (edit_distance(k.as_bytes(), name), k))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, k)| k.as_str())
    }

    /// Every form, in `Code` order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Form> {
        self.by_code.iter().flatten()
    }
}

/// Levenshtein distance between byte strings, or 3 where it is more than 2 (the rows stop there)
/// or `b` has over 31 bytes.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    if b.len() > 31 {
        return 3;
    }
    // One row of the table, updated in place (`diagonal` keeps the cell it overwrote).
    let mut row = [0u16; 32];
    for (j, cell) in row.iter_mut().enumerate() {
        *cell = j as u16;
    }
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i as u16 + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + u16::from(ca != cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
        if row[..=b.len()].iter().all(|&d| d > 2) {
            return 3;
        }
    }
    usize::from(row[b.len()]).min(3)
}

pub(super) fn slot(k: OK) -> Option<Slot> {
    use Slot::{Branch, Fixed, Gp, Imm, Mem, Vec};
    Some(match k {
        OK::r8_or_mem => Gp { bits: 8, mem: true },
        OK::r16_or_mem => Gp { bits: 16, mem: true },
        OK::r32_or_mem => Gp { bits: 32, mem: true },
        OK::r64_or_mem => Gp { bits: 64, mem: true },
        OK::r8_reg | OK::r8_opcode => Gp { bits: 8, mem: false },
        OK::r16_reg | OK::r16_rm | OK::r16_opcode => Gp { bits: 16, mem: false },
        OK::r32_reg | OK::r32_rm | OK::r32_opcode | OK::r32_vvvv => Gp { bits: 32, mem: false },
        OK::r64_reg | OK::r64_rm | OK::r64_opcode | OK::r64_vvvv => Gp { bits: 64, mem: false },
        // A register holding an address (`movdir64b rax, [rcx]` stores to es:[rax]): read like
        // any operand (the source address has its size: `check_address_register`).
        OK::r64_reg_mem => Gp { bits: 64, mem: false },
        OK::r32_reg_mem => Gp { bits: 32, mem: false },
        OK::xmm_or_mem => Vec { bits: 128, mem: true },
        OK::ymm_or_mem => Vec { bits: 256, mem: true },
        OK::zmm_or_mem => Vec { bits: 512, mem: true },
        OK::xmm_reg | OK::xmm_rm | OK::xmm_vvvv | OK::xmm_is4 | OK::xmm_is5 => Vec { bits: 128, mem: false },
        OK::ymm_reg | OK::ymm_rm | OK::ymm_vvvv | OK::ymm_is4 | OK::ymm_is5 => Vec { bits: 256, mem: false },
        OK::zmm_reg | OK::zmm_rm | OK::zmm_vvvv => Vec { bits: 512, mem: false },
        OK::k_or_mem => Slot::K { mem: true },
        OK::mm_or_mem => Slot::Bank { bank: Bank::Mmx, mem: true },
        OK::mm_reg | OK::mm_rm => Slot::Bank { bank: Bank::Mmx, mem: false },
        OK::seg_reg => Slot::Bank { bank: Bank::Seg, mem: false },
        OK::es => Fixed(Register::ES),
        OK::cs => Fixed(Register::CS),
        OK::ss => Fixed(Register::SS),
        OK::ds => Fixed(Register::DS),
        OK::fs => Fixed(Register::FS),
        OK::gs => Fixed(Register::GS),
        OK::cr_reg => Slot::Bank { bank: Bank::Cr, mem: false },
        OK::dr_reg => Slot::Bank { bank: Bank::Dr, mem: false },
        OK::tmm_reg | OK::tmm_rm | OK::tmm_vvvv => Slot::Bank { bank: Bank::Tmm, mem: false },
        OK::sibmem => Mem,
        // MPX: bounds registers, and addresses without RIP (`check_mpx_address`).
        OK::bnd_reg => Slot::Bank { bank: Bank::Bnd, mem: false },
        OK::bnd_or_mem_mpx => Slot::Bank { bank: Bank::Bnd, mem: true },
        OK::r64_or_mem_mpx => Gp { bits: 64, mem: true },
        OK::mem_mpx | OK::mem_mib => Mem,
        OK::mem_offs => Slot::Moffs,
        OK::st0 => Fixed(Register::ST0),
        OK::sti_opcode => Slot::Bank { bank: Bank::St, mem: false },
        OK::k_reg | OK::k_rm | OK::k_vvvv => Slot::K { mem: false },
        OK::kp1_reg => Slot::KPair,
        OK::zmmp3_vvvv => Slot::Block { bits: 512 },
        OK::xmmp3_vvvv => Slot::Block { bits: 128 },
        OK::mem => Mem,
        OK::mem_vsib32x | OK::mem_vsib64x => Slot::Vsib { bits: 128 },
        OK::mem_vsib32y | OK::mem_vsib64y => Slot::Vsib { bits: 256 },
        OK::mem_vsib32z | OK::mem_vsib64z => Slot::Vsib { bits: 512 },
        OK::al => Fixed(Register::AL),
        OK::cl => Fixed(Register::CL),
        OK::ax => Fixed(Register::AX),
        OK::dx => Fixed(Register::DX),
        OK::eax => Fixed(Register::EAX),
        OK::rax => Fixed(Register::RAX),
        OK::imm8 => Imm(ImmKind::U8),
        OK::imm8_const_1 => Imm(ImmKind::One),
        OK::imm8sex16 => Imm(ImmKind::S8(16)),
        OK::imm8sex32 => Imm(ImmKind::S8(32)),
        OK::imm8sex64 => Imm(ImmKind::S8(64)),
        OK::imm16 => Imm(ImmKind::I16),
        OK::imm32 => Imm(ImmKind::I32),
        OK::imm32sex64 => Imm(ImmKind::S32),
        OK::imm64 => Imm(ImmKind::I64),
        OK::imm4_m2z => Imm(ImmKind::U4),
        // (XBEGIN's fallback address: a label, like a branch's.)
        OK::br64_1 | OK::br64_4 | OK::xbegin_4 => Branch,
        _ => return None,
    })
}

/// Stand-in operands used to ask iced for a form's operand roles: registers no form uses
/// implicitly, so that anything else iced reports is implicit.
fn stand_in(s: Slot, i: usize, same: bool) -> (OpKind, Option<Register>) {
    let n = if same { 0 } else { i };
    let gp64 = [Register::R13, Register::R14, Register::R15, Register::R12, Register::R11, Register::R10];
    let pick = |base: Register| -> Register {
        let full = gp64[n % gp64.len()];
        match base {
            Register::AL => full_to_sized(full, 8),
            Register::AX => full_to_sized(full, 16),
            Register::EAX => full_to_sized(full, 32),
            _ => full,
        }
    };
    match s {
        Slot::Gp { bits, .. } => {
            let base = match bits {
                8 => Register::AL,
                16 => Register::AX,
                32 => Register::EAX,
                _ => Register::RAX,
            };
            (OpKind::Register, Some(pick(base)))
        }
        Slot::Vec { bits, .. } => {
            let base = match bits {
                128 => Register::XMM1,
                256 => Register::YMM1,
                _ => Register::ZMM1,
            };
            (OpKind::Register, Some(add_reg(base, n as u32)))
        }
        Slot::K { .. } => (OpKind::Register, Some(add_reg(Register::K1, n as u32))),
        Slot::KPair => (OpKind::Register, Some(add_reg(Register::K2, 2 * (n as u32 % 3)))),
        Slot::Block { bits } => (OpKind::Register, Some(block_stand_in(bits, n))),
        Slot::Bank { bank, .. } => {
            let (first, count) = bank.sample();
            (OpKind::Register, Some(add_reg(first, (1 + n as u32) % count)))
        }
        Slot::Fixed(r) => (OpKind::Register, Some(r)),
        Slot::Mem | Slot::Moffs | Slot::Vsib { .. } => (OpKind::Memory, None),
        Slot::Imm(k) => (k.op_kind(), None),
        Slot::Branch => (OpKind::NearBranch64, None),
    }
}

/// The stand-in first register of a block of four (zmm4, zmm8, ...), never zmm0-3.
fn block_stand_in(bits: u16, n: usize) -> Register {
    let first = if bits == 512 { Register::ZMM0 } else { Register::XMM0 };
    add_reg(first, 4 * (1 + n as u32 % 7))
}

/// The register `n` places after `r` in iced's numbering (`XMM1` + 2 = `XMM3`).
pub(crate) fn add_reg(r: Register, n: u32) -> Register {
    Register::try_from(r as usize + n as usize).unwrap_or(r)
}

/// The sized view of a full 64-bit register (`RAX` -> `EAX` for 32).
pub(crate) fn full_to_sized(full: Register, bits: u16) -> Register {
    let n = full.number() as u32;
    match bits {
        8 => match n {
            0..=3 => add_reg(Register::AL, n),
            _ => add_reg(Register::SPL, n - 4),
        },
        16 => add_reg(Register::AX, n),
        32 => add_reg(Register::EAX, n),
        _ => add_reg(Register::RAX, n),
    }
}

/// An instruction of `code` whose operands are still to be set (`Instruction::with` insists on
/// zero-operand codes in debug builds).
pub(crate) fn blank(code: Code) -> Instruction {
    let mut ins = Instruction::default();
    ins.set_code(code);
    ins
}

/// The vector index of a VSIB stand-in memory operand (a register no stand-in operand uses),
/// `None` for other memory slots.
fn vsib_stand_in(s: Slot) -> Register {
    match s {
        Slot::Vsib { bits: 128 } => Register::XMM15,
        Slot::Vsib { bits: 256 } => Register::YMM15,
        Slot::Vsib { .. } => Register::ZMM15,
        _ => Register::None,
    }
}

/// A stand-in instance of a form for iced's instruction info: `same` names one register in
/// every register slot, `mem` puts memory in the register-or-memory slots; the hidden operands
/// at their places, `rep` with the prefix.
struct Probe<'a> {
    slots: &'a [Slot],
    places: &'a Places,
}

impl Probe<'_> {
    fn instance(&self, code: Code, same: bool, mem: bool, rep: bool) -> Option<Instruction> {
        let mut ins = blank(code);
        self.places.set_hidden(&mut ins);
        ins.set_has_rep_prefix(rep);
        for (i, s) in self.slots.iter().enumerate() {
            let k = self.places.op_index(i);
            let rm = s.takes_mem() && !matches!(s, Slot::Mem | Slot::Moffs | Slot::Vsib { .. });
            let (kind, reg) = if mem && rm { (OpKind::Memory, None) } else { stand_in(*s, i, same) };
            ins.set_op_kind(k, kind);
            match kind {
                OpKind::Register => ins.set_op_register(k, reg?),
                OpKind::Memory => {
                    // R9: no instruction uses it implicitly (RBX would hide CMPXCHG16B's and
                    // XLATB's).
                    let m = MemoryOperand::with_base(Register::R9);
                    ins.set_memory_base(m.base);
                    ins.set_memory_index(vsib_stand_in(*s));
                    ins.set_memory_index_scale(1);
                }
                OpKind::NearBranch64 => ins.set_near_branch64(0),
                OpKind::Immediate8
                    if (0..k).any(|j| matches!(ins.op_kind(j), OpKind::Immediate8 | OpKind::Immediate16)) =>
                {
                    ins.set_op_kind(k, OpKind::Immediate8_2nd);
                    ins.set_immediate8_2nd(1);
                }
                _ => ins.try_set_immediate_i64(k, 1).ok()?,
            }
        }
        Some(ins)
    }
}

/// An instance of `form` with stand-in registers (and memory in its register-or-memory slot,
/// with `mem`), for questions about its encoding.
pub(super) fn instance_of(form: &Form, mem: bool) -> Option<Instruction> {
    Probe { slots: &form.slots, places: &form.places }.instance(form.code, false, mem, false)
}

fn probe(code: Code, slots: &[Slot], same: bool, mem: bool) -> Option<Instruction> {
    Probe { slots, places: &Places::default() }.instance(code, same, mem, false)
}

fn build() -> Forms {
    let mut by_code: Vec<Option<Form>> = Vec::new();
    let mut by_mnemonic: Vec<Vec<Code>> = vec![Vec::new(); Mnemonic::values().count()];
    let mut names = HashMap::new();
    let mut factory = InstructionInfoFactory::new();
    let mut knights_corner = Vec::new();
    for code in Code::values() {
        if code.op_code().encoding() == EncodingKind::MVEX
            || code.cpuid_features().contains(&iced_x86::CpuidFeature::KNC)
        {
            knights_corner.push(format!("{:?}", code.mnemonic()).to_ascii_lowercase());
        }
        // `SAL` is `SHL` (/4); iced's /6 twin is an undocumented encoding assemblers never emit.
        if code.mnemonic() == Mnemonic::Sal {
            by_code.push(None);
            continue;
        }
        by_code.push(make_form(code, &mut factory));
        if by_code.last().is_some_and(|f| f.is_some()) {
            let m = code.mnemonic();
            by_mnemonic[m as usize].push(code);
            names.insert(format!("{m:?}").to_ascii_lowercase(), m);
        }
    }
    drop_aliases(&mut by_code, &mut by_mnemonic);
    for codes in &by_mnemonic {
        for &c in codes {
            let twin = codes.iter().copied().find(|t| {
                let (f, g) = (by_code[c as usize].as_ref(), by_code[*t as usize].as_ref());
                matches!((f, g), (Some(f), Some(g)) if f.encoding == EncodingKind::VEX
                    && g.encoding == EncodingKind::EVEX && f.slots == g.slots)
            });
            let alternatives: Vec<Code> = codes
                .iter()
                .copied()
                .filter(|t| {
                    *t == c
                        || matches!((by_code[c as usize].as_ref(), by_code[*t as usize].as_ref()),
                        (Some(f), Some(g)) if interchangeable(f, g))
                })
                .collect();
            let mem_decides = by_code[c as usize].as_ref().is_some_and(|f| {
                alternatives.iter().filter(|t| **t != c).all(|t| {
                    by_code[*t as usize]
                        .as_ref()
                        .is_none_or(|g| !f.slots.iter().zip(&g.slots).any(|(a, b)| a.takes_mem() && b.takes_mem()))
                })
            });
            if let Some(f) = by_code[c as usize].as_mut() {
                f.evex_twin = twin;
                f.alternatives = if alternatives.len() > 1 { alternatives } else { Vec::new() };
                f.mem_decides = mem_decides;
            }
        }
    }
    for c in 0..by_code.len() {
        let choice = by_code[c].as_ref().and_then(|f| super::legacy::register_choice(f, &by_code));
        let imm_choice = by_code[c].as_ref().and_then(|f| super::legacy::imm_choice(f, &by_code));
        let direct = by_code[c].as_ref().is_some_and(|f| direct_alternatives(f, &by_code));
        if let Some(f) = by_code[c].as_mut() {
            f.register_choice = choice;
            f.imm_choice = imm_choice;
            f.direct_alternatives = direct;
        }
    }
    let mut spellings: Vec<(u128, String)> = names.keys().map(|k| (byte_set(k.as_bytes()), k.clone())).collect();
    spellings.sort_by(|a, b| (a.1.len(), &a.1).cmp(&(b.1.len(), &b.1)));
    knights_corner.retain(|k| !names.contains_key(k));
    knights_corner.sort();
    knights_corner.dedup();
    Forms { by_code, by_mnemonic, names, spellings, knights_corner }
}

/// Removes forms that assemblers never pick for the text they print as: 16-bit operand-size
/// variants of instructions without register or memory operands (`RET imm16` with a 66 prefix,
/// `PUSH imm16`), and W1/REX.W twins whose 64-bit register operand only names the low bits
/// (`PINSRW xmm, r64m16`, `VPEXTRW r64, xmm`).
fn drop_aliases(by_code: &mut [Option<Form>], by_mnemonic: &mut [Vec<Code>]) {
    let mut dead = Vec::new();
    for codes in by_mnemonic.iter() {
        for &c in codes {
            let Some(f) = by_code[c as usize].as_ref() else { continue };
            let op = c.op_code();
            let no_reg_or_mem = f.slots.iter().all(|s| matches!(s, Slot::Imm(_) | Slot::Branch));
            let sixteen = f.encoding == EncodingKind::Legacy
                && op.operand_size() == 16
                && no_reg_or_mem
                && codes.iter().any(|t| *t != c && t.op_code().operand_size() != 16);
            let w_string = op.op_code_string();
            let w1 = w_string.contains(".W1") || w_string.contains("o64");
            // 16-bit indirect branches and the o16 FPU environment forms: assemblers print them
            // as their default-size twins.
            let branch16 = f.encoding == EncodingKind::Legacy
                && op.operand_size() == 16
                && (!matches!(
                    c.flow_control(),
                    iced_x86::FlowControl::Next | iced_x86::FlowControl::Exception | iced_x86::FlowControl::Interrupt
                ) || codes.iter().any(|t| {
                    *t != c
                        && t.op_code().operand_size() != 16
                        && by_code[*t as usize].as_ref().is_some_and(|g| g.slots == f.slots)
                }));
            let pushf16 = matches!(c, Code::Pushfw | Code::Popfw);
            let twin = w1
                && prints_as_32_bit(c, &f.slots)
                && codes.iter().any(|t| {
                    let Some(g) = by_code[*t as usize].as_ref() else { return false };
                    *t != c
                        && g.encoding == f.encoding
                        && g.mem_size == f.mem_size
                        && g.slots.len() == f.slots.len()
                        && f.slots.iter().zip(&g.slots).any(|p| matches!(p, (Slot::Gp { bits: 64, .. }, Slot::Gp { bits: 32, .. })))
                        && f.slots.iter().zip(&g.slots).all(|(a, b)| {
                            a == b || matches!((a, b), (Slot::Gp { bits: 64, mem: x }, Slot::Gp { bits: 32, mem: y }) if x == y)
                        })
                });
            if sixteen || twin || branch16 || pushf16 {
                dead.push(c);
            }
        }
    }
    for c in dead {
        // (Reached by their own spellings only: see `Forms::spelled`.)
        if !SPELLINGS.iter().any(|(_, codes)| codes.contains(&c)) {
            by_code[c as usize] = None;
        }
        if let Some(list) = by_mnemonic.get_mut(c.mnemonic() as usize) {
            list.retain(|x| *x != c);
        }
    }
}

/// Whether iced prints the form's 64-bit register operands with their 32-bit names, its way of
/// saying that W (REX.W) is ignored there (`VPEXTRW r64, xmm` is shown as `vpextrw eax, ...`).
fn prints_as_32_bit(code: Code, slots: &[Slot]) -> bool {
    use iced_x86::Formatter as _;
    let Some(ins) = probe(code, slots, false, false) else { return false };
    let mut text = String::new();
    iced_x86::IntelFormatter::new().format(&ins, &mut text);
    (0..slots.len() as u32).filter(|&i| ins.op_kind(i) == OpKind::Register).any(|i| {
        let r = ins.op_register(i);
        r.is_gpr64() && !text.contains(&format!("{r:?}").to_ascii_lowercase())
    })
}

/// Whether some operands could fit both forms (same family, compatible slots).
fn interchangeable(f: &Form, g: &Form) -> bool {
    let evex = |x: &Form| x.encoding == EncodingKind::EVEX;
    if evex(f) != evex(g) || f.slots.len() != g.slots.len() {
        return false;
    }
    f.slots.iter().zip(&g.slots).all(|(a, b)| match (a, b) {
        (Slot::Gp { bits: x, .. }, Slot::Gp { bits: y, .. }) if x == y => true,
        (Slot::Gp { mem: true, .. }, Slot::Gp { mem: true, .. }) => f.mem_size == g.mem_size,
        (Slot::Vec { bits: x, .. }, Slot::Vec { bits: y, .. }) => x == y,
        (Slot::Fixed(r), Slot::Gp { bits, .. }) | (Slot::Gp { bits, .. }, Slot::Fixed(r)) => {
            r.size() as u16 * 8 == *bits
        }
        (Slot::Fixed(r), Slot::Fixed(q)) => r == q,
        (Slot::K { .. }, Slot::K { .. }) | (Slot::Imm(_), Slot::Imm(_)) | (Slot::Branch, Slot::Branch) => true,
        (Slot::KPair, Slot::KPair) => true,
        (Slot::Block { bits: x }, Slot::Block { bits: y }) => x == y,
        (Slot::Bank { bank: a, .. }, Slot::Bank { bank: b, .. }) => a == b,
        (Slot::Mem, Slot::Mem) | (Slot::Moffs, Slot::Moffs) => true,
        (Slot::Vsib { bits: x }, Slot::Vsib { bits: y }) => x == y,
        (Slot::Gp { mem: true, .. } | Slot::K { mem: true }, Slot::Vec { mem: true, .. })
        | (Slot::Vec { mem: true, .. }, Slot::Gp { mem: true, .. } | Slot::K { mem: true }) => true,
        (Slot::Mem, Slot::Gp { mem: true, .. } | Slot::Vec { mem: true, .. } | Slot::K { mem: true })
        | (Slot::Gp { mem: true, .. } | Slot::Vec { mem: true, .. } | Slot::K { mem: true }, Slot::Mem) => true,
        _ => false,
    })
}

pub(super) fn make_form(code: Code, factory: &mut InstructionInfoFactory) -> Option<Form> {
    let op = code.op_code();
    let encoding = op.encoding();
    // Knights Corner's VEX-encoded instructions collide with real encodings in 64-bit mode.
    let knc = code.cpuid_features().contains(&iced_x86::CpuidFeature::KNC);
    if !op.is_instruction() || !op.mode64() || knc || encoding == EncodingKind::MVEX {
        return None;
    }
    // A string instruction's text names none of its memory operands nor its fixed registers
    // (`STOSB`), only its other registers (`MASKMOVDQU xmm, xmm`).
    let string = op.op_kinds().iter().any(|k| hidden(*k).is_some());
    let mut places = Places::default();
    let mut slots = Vec::new();
    for (i, k) in op.op_kinds().iter().enumerate() {
        let fixed = match slot(*k) {
            Some(Slot::Fixed(r)) => Some(r),
            _ => None,
        };
        match (hidden(*k), fixed) {
            (Some(h), _) => places.hidden.push((i as u8, h)),
            (None, Some(r)) if string => places.hidden.push((i as u8, Hidden::Reg(r))),
            // `fxch st(3)`: an x87 form whose text leaves `st(0)` implicit.
            (None, Some(Register::ST0)) if !op.instruction_string().contains("ST(0)") => {
                places.hidden.push((i as u8, Hidden::Reg(Register::ST0)))
            }
            _ => {
                slots.push(slot(*k)?);
                places.slot_ops.push(i as u8);
            }
        }
    }
    if places.hidden.is_empty() {
        places.slot_ops.clear();
    }
    // The imm8 of an 8-bit ALU operation is its operand, which may be negative; every other
    // imm8 is a control byte.
    let alu8 = matches!(
        code.mnemonic(),
        Mnemonic::Add
            | Mnemonic::Or
            | Mnemonic::Adc
            | Mnemonic::Sbb
            | Mnemonic::And
            | Mnemonic::Sub
            | Mnemonic::Xor
            | Mnemonic::Cmp
            | Mnemonic::Test
            | Mnemonic::Mov
    ) && slots.iter().any(|s| matches!(s, Slot::Gp { bits: 8, .. } | Slot::Fixed(Register::AL)));
    if alu8 {
        for s in &mut slots {
            if *s == Slot::Imm(ImmKind::U8) {
                *s = Slot::Imm(ImmKind::I8);
            }
        }
    }
    let probe = Probe { slots: &slots, places: &places };
    let ins = probe.instance(code, false, false, false)?;
    let info = factory.info(&ins);
    let roles_of = |info: &iced_x86::InstructionInfo| -> Vec<Role> {
        (0..slots.len()).map(|i| role(info.op_access(places.op_index(i)))).collect()
    };
    let roles = roles_of(info);
    let mut explicit: Vec<Register> = (0..slots.len())
        .map(|i| places.op_index(i))
        .filter(|&k| ins.op_kind(k) == OpKind::Register)
        .map(|k| ins.op_register(k).full_register())
        .collect();
    // The rest of a block is named by its first register.
    for (i, s) in slots.iter().enumerate() {
        if let Slot::Block { .. } = s {
            let first = ins.op_register(places.op_index(i)).full_register();
            explicit.extend((1..4).map(|k| add_reg(first, k)));
        }
    }
    let implicit_of = |info: &iced_x86::InstructionInfo| -> Vec<(Register, Role)> {
        let mut implicit = Vec::new();
        for u in info.used_registers() {
            let full = u.register().full_register();
            let is_mem_base = full == Register::R9 && slots.iter().any(|s| s.takes_mem());
            let is_vsib_index =
                slots.iter().any(|s| vsib_stand_in(*s).full_register() == full && full != Register::None);
            if explicit.contains(&full)
                || is_mem_base
                || is_vsib_index
                || full == Register::RSP
                || full == Register::RIP
            {
                continue;
            }
            if !(full.is_gpr() || full.is_vector_register() || full.is_k()) {
                continue;
            }
            // One entry per register, the widest access (iced lists RSI read as an address and
            // written as it advances).
            match implicit.iter_mut().find(|(r, _)| *r == full) {
                Some((_, r)) => *r = merge(*r, role(u.access())),
                None => implicit.push((full, role(u.access()))),
            }
        }
        implicit
    };
    let mut implicit = implicit_of(info);
    let rep_implicit = match (string, probe.instance(code, false, false, true)) {
        (true, Some(rep)) => implicit_of(factory.info(&rep)),
        _ => Vec::new(),
    };
    // iced reports the zeroing instructions as reading and writing every register they touch; to
    // the allocator, VZEROALL clobbers zmm0-15, and VZEROUPPER keeps the values live across it in
    // zmm0-15 (it zeroes their upper halves, deterministically: nothing can hide in zmm16-31).
    match code {
        Code::VEX_Vzeroall => implicit = (0..16).map(|i| (Register::ZMM0 + i, Role::Def)).collect(),
        Code::VEX_Vzeroupper => implicit = (16..32).map(|i| (Register::ZMM0 + i, Role::Def)).collect(),
        _ => {}
    }
    // A call runs code that may write every register its caller must save, in either convention
    // (System V's set, which holds Microsoft x64's): to the allocator the call writes them all,
    // so that no value stays in one across it.
    if matches!(code.flow_control(), iced_x86::FlowControl::Call | iced_x86::FlowControl::IndirectCall) {
        use Register::*;
        let gp = [RAX, RCX, RDX, RSI, RDI, R8, R9, R10, R11];
        implicit.retain(|(r, _)| !gp.contains(r));
        implicit.extend(gp.map(|r| (r, Role::Def)));
        implicit.extend((0..32).map(|i| (ZMM0 + i, Role::Def)));
        implicit.extend((0..8).map(|i| (K0 + i, Role::Def)));
    }
    let mem_roles = probe.instance(code, false, true, false).and_then(|m| {
        let r = roles_of(factory.info(&m));
        (r != roles).then_some(r)
    });
    let idiom_roles = probe
        .instance(code, true, false, false)
        .and_then(|same| {
            let r = roles_of(factory.info(&same));
            (r != roles).then_some(r)
        })
        .or_else(|| {
            // Comparisons of a register with itself (all ones for `PCMPEQD`, zero for `PCMPGTD`,
            // all ones for `KXNOR`) read nothing, though iced says they do: the standard way to
            // set every bit.
            use Mnemonic::*;
            let idiom = matches!(
                code.mnemonic(),
                Pcmpeqb
                    | Pcmpeqw
                    | Pcmpeqd
                    | Pcmpeqq
                    | Pcmpgtb
                    | Pcmpgtw
                    | Pcmpgtd
                    | Pcmpgtq
                    | Vpcmpeqb
                    | Vpcmpeqw
                    | Vpcmpeqd
                    | Vpcmpeqq
                    | Vpcmpgtb
                    | Vpcmpgtw
                    | Vpcmpgtd
                    | Vpcmpgtq
                    | Kxnorb
                    | Kxnorw
                    | Kxnord
                    | Kxnorq
            );
            let registers = slots.iter().all(|s| matches!(s, Slot::Vec { .. } | Slot::K { .. }));
            (idiom && registers).then(|| {
                roles
                    .iter()
                    .map(|r| match r {
                        Role::Use => Role::None,
                        Role::UseDef => Role::Def,
                        other => *other,
                    })
                    .collect()
            })
        });
    let features = extensions_of(code);
    let mem_size = op.memory_size().size() as u16;
    let dirties_upper = matches!(encoding, EncodingKind::VEX | EncodingKind::EVEX | EncodingKind::XOP)
        && slots
            .iter()
            .zip(&roles)
            .any(|(s, r)| matches!(s, Slot::Vec { bits: 256 | 512, .. }) && matches!(r, Role::Def | Role::UseDef));
    let kinds = op.op_kinds();
    let checks = [
        (slots.iter().any(|s| matches!(s, Slot::Vsib { .. })), checks::VSIB),
        (slots.first() == Some(&Slot::KPair), checks::MASK_PAIR),
        (encoding == EncodingKind::D3NOW, checks::THREE_D_NOW),
        (slots.iter().any(|s| matches!(s, Slot::Block { .. })), checks::BLOCK),
        (kinds.iter().any(|k| matches!(k, OK::mem_mpx | OK::mem_mib)), checks::MPX),
        (kinds.contains(&OK::mem_mib), checks::MIB),
        (kinds.contains(&OK::r32_reg_mem), checks::ADDRESS_REG32),
        (kinds.contains(&OK::r64_reg_mem), checks::ADDRESS_REG64),
        (super::distinct_destination(code.mnemonic()), checks::DISTINCT),
    ]
    .iter()
    .fold(0, |all, &(on, bit)| if on { all | bit } else { all });
    // (A legacy scalar result's merge into its destination is not counted as a read: see
    // `visit_form`.)
    let simple = implicit.is_empty()
        && rep_implicit.is_empty()
        && mem_roles.is_none()
        && idiom_roles.is_none()
        && !op.require_op_mask_register()
        && checks & checks::DISTINCT == 0
        && !(encoding == EncodingKind::Legacy && super::scalar_result(code.mnemonic()));
    let alloc_plan = AllocPlan::of(encoding, &slots, &roles, simple);
    Some(Form {
        code,
        slots,
        roles,
        mem_roles,
        idiom_roles,
        implicit,
        encoding,
        mem_size,
        bcst_size: if op.can_broadcast() { op.broadcast_memory_size().size() as u16 } else { 0 },
        can_mask: op.can_use_op_mask_register(),
        can_zero: op.can_use_zeroing_masking(),
        can_round: op.can_use_rounding_control() && !op.ignores_rounding_control(),
        can_sae: op.can_suppress_all_exceptions(),
        needs_mask: op.require_op_mask_register(),
        features,
        dirties_upper,
        evex_twin: None,
        alternatives: Vec::new(),
        register_choice: None,
        imm_choice: None,
        direct_alternatives: false,
        vex: super::vex::VexPlan::new(op),
        is4: super::vex::Is4Plan::new(op),
        evex: super::evex::EvexPlan::new(op),
        legacy: super::legacy::LegacyPlan::new(op),
        mem_decides: false,
        places,
        rep_implicit,
        checks,
        alloc_plan,
    })
}

/// Both accesses of a register listed twice.
fn merge(a: Role, b: Role) -> Role {
    match (a, b) {
        (Role::None, x) | (x, Role::None) => x,
        (x, y) if x == y => x,
        _ => Role::UseDef,
    }
}

#[cfg(test)]
mod tests {
    /// The bounded one-row distance is the textbook one (capped at 3) on random short strings,
    /// and the suggestion is the nearest known name found by walking all of them.
    #[test]
    fn suggestions_are_the_nearest_names() {
        fn textbook(a: &[u8], b: &[u8]) -> usize {
            let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
            for (i, row) in d.iter_mut().enumerate() {
                row[0] = i;
            }
            for (j, cell) in d[0].iter_mut().enumerate() {
                *cell = j;
            }
            for i in 1..=a.len() {
                for j in 1..=b.len() {
                    d[i][j] =
                        (d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1])).min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
                }
            }
            d[a.len()][b.len()]
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..20_000 {
            let mut word = |len: u64| (0..next(len)).map(|_| b"abcd"[next(4) as usize]).collect::<Vec<u8>>();
            let (a, b) = (word(9), word(9));
            assert_eq!(super::edit_distance(&a, &b), textbook(&a, &b).min(3), "{a:?} {b:?}");
        }
        let forms = super::Forms::get();
        for typo in ["vfmad231ps", "vadps", "movzxx", "pxorr", "vpbroadcastdd", "cmovzz", "lzcn", "qqqqqq"] {
            let walked = forms
                .names
                .keys()
                .map(|k| (textbook(k.as_bytes(), typo.as_bytes()), k.as_str()))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, k)| k);
            assert_eq!(forms.suggest(typo), walked, "{typo}");
        }
    }
}
