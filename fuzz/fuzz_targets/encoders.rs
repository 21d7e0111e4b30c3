//! The encoders on arbitrary instructions: a mnemonic and operands drawn from the input (any
//! registers, immediates, memory operands, labels) go through the x86-64 and AArch64 builders.
//! Nothing panics and nothing is an internal error; whatever is accepted and compiled decodes
//! back (x86-64) into as many valid instructions as the listing shows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peach_core::ir::{Function, Mem, Operand, Reg, Signature, Type};
use peach_core::isa::{aarch64, x86_64};
use peach_core::random::{Bytes, Entropy};
use peach_core::{Abi, Target};

const X86: &[&str] = &[
    "add",
    "sub",
    "mov",
    "lea",
    "imul",
    "shl",
    "sar",
    "movzx",
    "movsxd",
    "cmp",
    "test",
    "vaddps",
    "vfmadd231pd",
    "vpshufd",
    "vpermt2pd",
    "vcvtpd2ps",
    "vpcmpeqb",
    "kmovq",
    "vmovdqu8",
    "vgetmantpd",
    "vfixupimmpd",
    "vscalefpd",
    "vextractf128",
    "vzeroupper",
    "pxor",
    "movaps",
    "cvtsi2sd",
    "vfmulcph",
    "push",
    "ret",
    "jnz",
    "vgatherdps",
    "vpgatherqd",
    "vscatterdps",
    "vmovups",
    "movups",
    "addps",
    "mulsd",
    "shufps",
    "pshufd",
    "movd",
    "movq",
    "pextrd",
    "pinsrq",
    "roundsd",
    "popcnt",
    "movmskps",
    "xchg",
    "cmpxchg",
    "adcx",
    "crc32",
];
const A64: &[&str] = &[
    "add", "sub", "subs", "ldr", "str", "ldp", "stp", "mov", "movk", "bfi", "ubfx", "tbx", "tbl", "fmla", "fadd",
    "ld1", "st1", "dup", "ins", "umov", "sdot", "csel", "cbz", "b.ne", "orr", "eor", "lsl", "madd",
];

fn operand(e: &mut Bytes, f: &mut Function, regs: &[Reg]) -> Operand {
    match e.below(8) {
        0 | 1 => Operand::Reg(regs[e.below(regs.len())]),
        2 => Operand::Imm(match e.below(3) {
            0 => e.below(256) as i64,
            1 => e.next() as i32 as i64,
            _ => e.next() as i64,
        }),
        3 => {
            let base = regs[e.below(regs.len())];
            let mut m = Mem::base_disp(base, e.next() as i16 as i64);
            if e.below(4) == 0 {
                m = m.sized(1 << e.below(7));
            }
            // An index of any register, vector ones included (gathers and scatters).
            if e.below(3) == 0 {
                m.index = Some(regs[e.below(regs.len())]);
                m.scale = 1 << e.below(4);
            }
            match e.below(6) {
                0 => m.bcst(),
                1 => m.bcst_to(1 << e.below(6)),
                _ => m,
            }
            .into()
        }
        4 => Operand::Label(f.label()),
        5 => Operand::MemMask(regs[e.below(regs.len())]),
        6 => Operand::Segment(regs[e.below(regs.len())]),
        _ => Operand::Imm(e.below(64) as i64),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut e = Bytes(data);
    {
        use x86_64::{X86Builder, X86Reg, reg};
        let mut f = Function::new("x", Signature::new(&[Type::Ptr, Type::U32], Some(Type::U64)), Target::x86_64_v4());
        let (p, n) = (f.param(0), f.param(1));
        let (g, x, y, z, k) = (f.gp64(), f.xmm(), f.ymm(), f.zmm(), f.k());
        let regs = [p, n, g, g.r32(), g.r8(), x, y, z, k, reg::RAX, reg::XMM17, reg::K1, z.mask(k).reg, reg::FS];
        let m = X86[e.below(X86.len())];
        let ops: Vec<Operand> = (0..e.below(5)).map(|_| operand(&mut e, &mut f, &regs)).collect();
        f.ins(m, ops.as_slice());
        f.ins("mov", (g, 0));
        f.ret(g);
        match f.compile(Abi::SysV) {
            Ok(code) => {
                let mut d = iced_x86::Decoder::new(64, code.bytes(), iced_x86::DecoderOptions::NONE);
                // The pool of constants follows the code: decode only what the listing shows.
                let shown = code.listing().lines().filter(|l| l.starts_with("  ")).count();
                for _ in 0..shown {
                    let i = d.decode();
                    assert!(!i.is_invalid(), "{}", code.listing());
                }
            }
            // (With debug assertions, as cargo fuzz builds, the direct encoders' bytes are
            // compared with iced's: a difference is an internal error.)
            Err(e) => assert!(e.kind() != peach_core::ErrorKind::Internal, "{e}"),
        }
    }
    {
        use aarch64::{A64Builder, A64Reg};
        let mut f =
            Function::new("a", Signature::new(&[Type::Ptr, Type::U32], Some(Type::U64)), Target::aarch64_neon());
        let (p, n) = (f.param(0), f.param(1));
        let (g, v) = (f.x(), f.v());
        let regs = [p, n, g, g.w(), v.s4(), v.b16(), v.d(), v.s(), aarch64::reg::X9];
        let m = A64[e.below(A64.len())];
        let ops: Vec<Operand> = (0..e.below(5)).map(|_| operand(&mut e, &mut f, &regs)).collect();
        f.ins(m, ops.as_slice());
        f.ins("mov", (g, 0));
        f.ret(g);
        if let Err(e) = f.compile(Abi::Aapcs64) {
            assert!(e.kind() != peach_core::ErrorKind::Internal, "{e}");
        }
    }
});
