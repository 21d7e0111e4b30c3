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
    assert_eq!(e.kind(), ErrorKind::UnknownTarget);
    assert!(e.to_string().contains("unknown x86-64 target `pentium4`") && e.to_string().contains("zen5"), "{e}");
    let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    f.ret(None);
    let e = f.compile(Abi::Aapcs64).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownTarget, "{e}");
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

#[test]
fn constants_are_pooled_and_read_rip_relative() {
    let sig = Signature::new(&[Type::Ptr], Some(Type::F64));
    let mut f = Function::new("consts", sig, Target::x86_64_v3());
    let p = f.param(0);
    let v = f.ymm();
    f.ins("vmovupd", (v, [p]));
    f.ins("vmulpd", (v, v, Constant::f64x4_splat(0.5)));
    f.ins("vaddpd", (v, v, Constant::f64x4([1.0, 2.0, 3.0, 4.0])));
    // Same bits as f64x4_splat(0.5), another type: shares its slot.
    f.ins("vpaddq", (v, v, Constant::u64x4_splat(0.5f64.to_bits())));
    f.ins("vpsubq", (v, v, Constant::u64x4_splat(0.5f64.to_bits())));
    f.ins("vmovupd", ([p], v));
    let s = f.xmm();
    f.ins("vmovsd", (s, [p + 8]));
    f.ins("vaddsd", (s, s, Constant::f64(0.25))); // a scalar slot among vector ones
    f.ins("vaddps", (s, s, Constant::f32x4_splat(0.0)));
    f.ret(s);
    let code = f.compile(Abi::SysV).unwrap();
    let lines = code.lines();
    let pool: Vec<_> = lines.iter().filter(|l| l.intel.starts_with(".byte")).collect();
    assert_eq!(pool.iter().map(|l| l.len).collect::<Vec<_>>(), [32, 32, 16, 8], "{}", code.listing());
    for l in &pool {
        assert_eq!(l.offset % l.len, 0, "slot aligned to its size:\n{}", code.listing());
    }
    if !Target::native_x86_64().has_avx2() {
        return;
    }
    let mut x = [10.0f64, 20.0, 30.0, 40.0];
    let k = unsafe { Kernel::<unsafe extern "C" fn(*mut f64) -> f64>::load(&code).unwrap() };
    let got = unsafe { k.call(x.as_mut_ptr()) };
    assert_eq!(x, [6.0, 12.0, 18.0, 24.0]);
    assert_eq!(got, 12.25);
}

#[test]
fn a_constant_of_the_wrong_size_is_an_error() {
    let mut f = Function::new("k", Signature::default(), Target::x86_64_v3());
    let v = f.ymm();
    f.ins("vxorps", (v, v, v));
    f.ins("vaddps", (v, v, Constant::f32x4_splat(1.0)));
    f.ret(None);
    let e = f.compile(Abi::SysV).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOperands);
    assert!(e.message().contains("constant of 16 bytes"), "{e}");
    assert_eq!(e.location().unwrap().line(), line!() - 5);
}

#[test]
fn align_pads_with_real_nops() {
    for to in [4u32, 16, 32, 64] {
        let sig = Signature::new(&[Type::U64], Some(Type::U64));
        let mut f = Function::new("aligned", sig, Target::x86_64_baseline());
        let n = f.param(0);
        let acc = f.gp64();
        f.ins("mov", (acc, 1));
        f.align(to);
        f.loop_block(|f, l| {
            f.ins("add", (acc, acc));
            f.ins("sub", (n, 1));
            f.ins("jnz", l.begin);
        });
        f.ret(acc);
        let code = f.compile(Abi::SysV).unwrap();
        let lines = code.lines();
        let top = lines.iter().find(|l| l.labels.contains(&0)).expect("the loop label is listed");
        assert_eq!(top.offset % to as usize, 0, "{}", code.listing());
        // Everything before the loop decodes as instructions: the padding is no-ops.
        let mut d = iced_x86::Decoder::new(64, &code.bytes()[..top.offset], iced_x86::DecoderOptions::NONE);
        let mut insts = Vec::new();
        while d.can_decode() {
            insts.push(d.decode());
        }
        assert!(insts.iter().all(|i| !i.is_invalid()), "{}", code.listing());
        assert!(insts.iter().skip(1).all(|i| i.mnemonic() == iced_x86::Mnemonic::Nop), "{}", code.listing());
        #[cfg(target_arch = "x86_64")]
        {
            let k = unsafe { Kernel::<unsafe extern "sysv64" fn(u64) -> u64>::load(&code).unwrap() };
            assert_eq!(unsafe { k.call(10) }, 1024);
        }
    }
    let mut f = Function::new("bad", Signature::default(), Target::x86_64_baseline());
    f.align(24);
    f.ret(None);
    assert_eq!(f.compile(Abi::SysV).unwrap_err().kind(), ErrorKind::InvalidOperands);
}

#[test]
fn streams_interleave_in_issue_order() {
    let sig = Signature::new(&[Type::Ptr], None);
    let mut f = Function::new("streams", sig, Target::x86_64_v3());
    let p = f.param(0);
    let (a, b) = (f.ymm(), f.ymm());
    let mut first = f.stream(|f| {
        f.ins("vmovups", (a, [p]));
        f.ins("vaddps", (a, a, a));
        f.ins("vmovups", ([p], a));
    });
    let mut second = f.stream(|f| {
        f.ins("vmovups", (b, [p + 32]));
        f.ins("vmulps", (b, b, b));
        // Streams nest: this one is recorded into `second`.
        let mut inner = f.stream(|f| f.ins("vmovups", ([p + 32], b)));
        f.issue_all(&mut inner);
    });
    assert_eq!((first.len(), second.len()), (3, 3));
    while !first.is_empty() || !second.is_empty() {
        if !first.is_empty() {
            f.issue(&mut first, 1);
        }
        if !second.is_empty() {
            f.issue(&mut second, 1);
        }
    }
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap();
    let order: Vec<String> = code.lines().iter().map(|l| l.intel.split(' ').next().unwrap().to_string()).collect();
    assert_eq!(order, ["vmovups", "vmovups", "vaddps", "vmulps", "vmovups", "vmovups", "vzeroupper", "ret"]);
    if Target::native_x86_64().has_avx2() {
        let mut x = [1.5f32; 16];
        let k = unsafe { Kernel::<unsafe extern "C" fn(*mut f32)>::load(&code).unwrap() };
        unsafe { k.call(x.as_mut_ptr()) };
        assert_eq!(&x[..8], &[3.0; 8]);
        assert_eq!(&x[8..], &[2.25; 8]);
    }
}

#[test]
fn issuing_more_than_a_stream_holds_is_an_error() {
    let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    let mut s = f.stream(|f| f.ins("nop", ()));
    f.issue(&mut s, 2);
    f.ret(None);
    let e = f.compile(Abi::SysV).unwrap_err();
    assert!(e.message().contains("cannot issue 2 instructions from a stream that holds 1"), "{e}");
    assert_eq!(e.location().unwrap().line(), line!() - 4);
}
