//! PeachPy's toolbox: targets and their queries, the two-operand AVX shorthand.

use peach::prelude::*;

#[test]
fn microarchitecture_table() {
    for name in Target::x86_64_names() {
        let t = Target::x86_64(name).unwrap();
        assert!(t.has_sse2(), "{name} has SSE2");
        assert_eq!(t.name(), name);
    }
    let t = |n| Target::x86_64(n).unwrap();
    assert!(t("nehalem").has_sse4_2() && !t("nehalem").has_avx());
    assert!(t("sandybridge").has_avx() && !t("sandybridge").has_avx2() && !t("sandybridge").has_fma3());
    assert!(t("haswell").has_avx2() && t("haswell").has_fma3() && !t("haswell").has_avx512f());
    assert!(t("bulldozer").has_fma4() && t("bulldozer").has_xop() && !t("bulldozer").has_fma3());
    assert!(t("piledriver").has_fma4() && t("piledriver").has_fma3());
    assert!(t("skylake-x").has_avx512f() && t("skylake-x").has_avx512vl() && !t("skylake-x").has_avx512vnni());
    assert!(t("icelake").has_avx512vnni() && t("icelake").has_gfni());
    assert!(t("sapphirerapids").has_avx512fp16() && t("sapphirerapids").has_avx_vnni());
    assert!(t("zen1").has_avx2() && t("zen1").has_sse4a() && !t("zen1").has_avx512f());
    assert!(t("zen4").has_avx512f() && t("zen4").has_avx512bf16() && !t("zen4").has_avx_vnni());
    assert!(t("zen5").has_avx_vnni() && t("zen5").has_avx512f());
    assert!(Target::x86_64("native").unwrap().has_sse2());
    let e = Target::x86_64("pentium4").unwrap_err();
    assert!(e.to_string().contains("unknown x86-64 target `pentium4`") && e.to_string().contains("zen5"), "{e}");
}

#[test]
fn instruction_not_in_target_names_it_the_extension_and_the_target() {
    let mut f = Function::new("k", Signature::default(), Target::x86_64("sandybridge").unwrap());
    let v = f.ymm();
    f.ins("vxorps", (v, v, v));
    f.ins("vfmadd231ps", (v, v, v));
    f.ret(None);
    let e = f.compile(Abi::SysV).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotInTarget);
    assert!(e.message().starts_with("VFMADD231PS (VFMADD231PS ymm1, ymm2, ymm3/m256) needs FMA"), "{e}");
    assert!(e.message().contains("target `sandybridge`"), "{e}");
}

#[test]
fn code_records_the_extensions_it_uses() {
    let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::x86_64("zen4").unwrap());
    let p = f.param(0);
    let (a, b) = (f.zmm(), f.ymm());
    f.ins("vmovups", (a, [p]));
    f.ins("vmovups", (b, [p + 64]));
    f.ins("vfmadd231ps", (b, b, b));
    f.ins("vmovups", ([p], a));
    f.ins("vmovups", ([p], b));
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap();
    let used = code.extension_names();
    for e in ["AVX", "AVX512F", "FMA"] {
        assert!(used.contains(&e), "{used:?}");
    }
    assert!(!used.contains(&"AVX2") && !used.contains(&"AVX512BW"), "{used:?}");
}

#[test]
fn two_operand_avx_shorthand() {
    let build = |short: bool| {
        let mut f = Function::new("k", Signature::new(&[Type::Ptr], None), Target::x86_64_v3());
        let p = f.param(0);
        let (a, b) = (f.ymm(), f.ymm());
        f.ins("vmovupd", (a, [p]));
        f.ins("vmovupd", (b, [p + 32]));
        if short {
            f.ins("vaddpd", (a, b));
            f.ins("vmulpd", (a, [p + 64]));
        } else {
            f.ins("vaddpd", (a, a, b));
            f.ins("vmulpd", (a, a, [p + 64]));
        }
        f.ins("vmovupd", ([p], a));
        f.ret(None);
        f.compile(Abi::SysV).unwrap()
    };
    assert_eq!(build(true).bytes(), build(false).bytes());
    assert!(build(true).listing().contains("vaddpd ymm0, ymm0, ymm1"), "{}", build(true).listing());
}
