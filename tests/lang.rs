//! One vocabulary, two modes: every builtin in each ISA's table (`peach_core::isa::lang`) is
//! used by a static kernel below and by its JIT twin, which must give the same bytes; a builtin
//! of another ISA is an error in both modes; the language reference in the `peach_fn!`
//! documentation is the one the tables write.

use peach::core::isa::lang;
use peach::core::target::Arch;
use peach::prelude::*;

/// The same body as a static kernel and a `#[jit]` one.
macro_rules! twins {
    ($static:ident #[$($s:tt)*], $jit:ident #[$($j:tt)*], ($($params:tt)*), $($kernel:tt)*) => {
        peach_fn! {
            #[$($s)*]
            pub unsafe fn $static($($params)*) -> u64 $($kernel)*
        }
        peach_fn! {
            #[$($j)*]
            #[jit]
            pub unsafe fn $jit($($params)*) -> u64 $($kernel)*
        }
    };
}

twins!(every_x86 #[variants(x86_64::avx512, fallback = x86_fallback)], every_x86_jit #[target(x86_64::avx512)], (p: *const f32, n: u64), {
    let (a, b, c) = (GP64(), GPR(), GP32());
    LOAD_ARGUMENT(a, n);
    MOV(b, a);
    MOV(c, 7);
    let (x, y, z, k) = (XMM(), YMM(), ZMM(), K());
    KMOVW(k, c);
    ASM("vmovups {}{}{z}, zmmword ptr [{} + 128]", z, k, p);
    ASM("lea {}, [{} + {}*2 + 5]", a, a, b);
    VMOVUPS(z.mask(k).zeroing(), [p]);
    VMOVUPS([p + 192].mask(k), z);
    ASM("vmovups zmmword ptr [{} + 256]{}, {}", p, k, z);
    let (g, gi) = (ZMM(), ZMM());
    VPXORD(g, g, g);
    VMOVDQU32(gi, [p + 320]);
    VGATHERDPS(g.mask(k), [p + gi * 4]);
    VMOVUPS(y, [p + 64]);
    VMOVUPS(x, [p + 96]);
    let [q0, q1, q2, q3] = ZMM_BLOCK();
    for q in [q0, q1, q2, q3] {
        VMOVUPS(q, [p + 64]);
        VADDPS(z, z, q);
    }
    let xs = XMM_BLOCK();
    VMOVUPS(xs[0], [p + 96]);
    VADDPS(x, x, xs[0]);
    ALIGN(16);
    let skip = Label::new();
    JMP(skip);
    LABEL(skip);
    let s = STREAM({
        ADD(a, 1);
        ADD(a, 2);
        ADD(a, 3);
    });
    ISSUE(s, 1);
    ISSUE_ALL(s);
    let (s1, s2) = (STREAM({ ADD(a, b); ADD(a, b); }), STREAM({ SUB(b, 1); SUB(b, 1); }));
    ISSUE_SKEWED([s1, s2], 1);
    REDUCE_SUM(y, f32);
    REDUCE_MAX(z, f32);
    REDUCE_MIN(x, f32);
    MOVD(c, x);
    ADD(a, c.r64());
    RETURN(a);
});

fn a64_fallback(_: *const f32, n: u64) -> u64 {
    n
}

fn x86_fallback(_: *const f32, n: u64) -> u64 {
    n
}

twins!(every_a64 #[variants(aarch64::neon, fallback = a64_fallback)], every_a64_jit #[target(aarch64::neon)], (p: *const f32, n: u64), {
    let (a, b, c, v) = (GP64(), GPR(), GP32(), VEC());
    LOAD_ARGUMENT(a, n);
    MOV_IMM(b, 0x1234_5678_9abc);
    MOV_IMM(c, 5);
    ASM("add {}, {}, {}, lsl #2", a, a, b);
    ASM("ldr {}, [{}, #16]", v.q(), p);
    LDR(v.q(), [p]);
    FADDP(v.s4(), v.s4(), v.s4());
    ALIGN(16);
    let skip = Label::new();
    B(skip);
    LABEL(skip);
    // (A label's page and its offset there: the code starts at a page boundary in both modes.)
    let t = GP64();
    ASM("adrp {}, {}", t, skip);
    ASM("ldr {}, [{}, :lo12:{}]", v.s(), t, skip);
    ADRP(t, skip);
    ASM("add {}, {}, :lo12:{}", t, t, skip);
    CMP(a, b);
    B_NE(skip);
    let s = STREAM({
        ADD(a, a, 1);
        ADD(a, a, 2);
    });
    ISSUE(s, 1);
    ISSUE_ALL(s);
    let (s1, s2) = (STREAM({ ADD(a, a, b); ADD(a, a, b); }), STREAM({ SUB(b, b, 1); SUB(b, b, 1); }));
    ISSUE_SKEWED([s1, s2], 1);
    FMOV(c, v.s());
    ADD(a, a, c.x());
    RETURN(a);
});

// Physical registers, conditions and prefetch operations by name: static mode's named values,
// JIT mode's per-architecture import.
twins!(phys_x86 #[variants(x86_64::baseline, fallback = x86_fallback)], phys_x86_jit #[target(x86_64::baseline)], (p: *const f32, n: u64), {
    let a = GP64();
    MOV(RCX, n);
    ADD(RCX, [p]);
    MOV(a, RCX);
    RETURN(a);
});

twins!(phys_a64 #[variants(aarch64::neon, fallback = a64_fallback)], phys_a64_jit #[target(aarch64::neon)], (p: *const f32, n: u64), {
    let a = GP64();
    PRFM(PLDL1KEEP, [p]);
    LDR(X9, [p]);
    ADD(X9, X9, n);
    CMP(X9, n);
    CSEL(a, X9, n, GT);
    RETURN(a);
});

/// The JIT build's bytes are the static build's for `abi` (where this host's JIT builds for
/// that convention).
fn same_bytes(jit: Result<Vec<CodeObject>, peach::Error>, codes: &[(&str, &[u8])], abi: &str, host_builds_it: bool) {
    let jit = jit.unwrap();
    let fixed = codes.iter().find(|(a, _)| *a == abi).unwrap().1;
    if host_builds_it {
        assert_eq!(jit[0].bytes(), fixed, "{}", jit[0].listing());
    }
}

const SYSV_HOST: bool = cfg!(all(target_arch = "x86_64", not(windows)));
const AAPCS_HOST: bool = !cfg!(target_vendor = "apple");

#[test]
fn physical_registers_are_named_alike() {
    same_bytes(phys_x86_jit_code(), PHYS_X86_X86_64_CODES, "SysV", SYSV_HOST);
    same_bytes(phys_a64_jit_code(), PHYS_A64_ARMV8_A_CODES, "Aapcs64", AAPCS_HOST);
}

#[test]
fn both_modes_give_the_same_bytes() {
    same_bytes(every_x86_jit_code(), EVERY_X86_X86_64_V4_CODES, "SysV", SYSV_HOST);
    same_bytes(every_a64_jit_code(), EVERY_A64_ARMV8_A_CODES, "Aapcs64", AAPCS_HOST);
}

/// The kernels above use every builtin of both tables (so a builtin added to a table without
/// a twin here fails this test).
#[test]
fn the_twins_use_every_builtin() {
    let source = include_str!("lang.rs");
    let x86 = &source[source.find("twins!(every_x86").unwrap()..source.find("fn a64_fallback").unwrap()];
    assert!(x86.len() > 100);
    let a64 = &source[source.find("twins!(every_a64").unwrap()..source.find("// Physical registers by name").unwrap()];
    for (arch, body) in [(Arch::X86_64, x86), (Arch::Aarch64, a64)] {
        for w in lang::builtins(arch) {
            assert!(body.contains(&format!("{}(", w.name)), "{:?} builtin {} is not used", arch, w.name);
        }
    }
}

peach_fn! {
    #[target(aarch64::neon)]
    #[jit]
    pub unsafe fn x86_builtins_on_arm(n: u64) -> u64 {
        let x = XMM();
        REDUCE_SUM(x, f32);
        RETURN(n);
    }
}

/// A builtin of the other ISA is an error in JIT mode, as in static mode (a compile error
/// there: `tests/ui/fail`), instead of a register of the wrong ISA.
#[test]
fn another_isas_builtin_is_an_error() {
    let e = x86_builtins_on_arm_code().unwrap_err();
    assert!(e.message().contains("Xmm registers do not exist on AArch64"), "{e}");
    assert!(e.message().contains("1 more error"), "{e}");
}

/// The language reference in the `peach_fn!` documentation is the tables' own
/// (`PEACH_BLESS=1 cargo test --test lang` rewrites it).
#[test]
fn the_reference_is_written_from_the_tables() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/peach-front/src/language.md");
    let want = lang::reference();
    if std::env::var_os("PEACH_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(have == want, "{path} is stale: run `PEACH_BLESS=1 cargo test --test lang`");
}
