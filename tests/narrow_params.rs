//! Narrow integer parameters keep their width: the calling conventions leave the bits above an
//! `i8` ... `u32` argument unspecified, so reading one as a wider register before widening it is
//! an error that names the widening instruction, and widened parameters work with any value.

use peach::prelude::*;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use peach::prelude::*;

    peach_fn! {
        /// `p[i]` for a signed 32-bit index: widened with MOVSXD, so `i = -1` reads `p[-1]`.
        #[target(x86_64::baseline)]
        unsafe fn get(p: *const i64, i: i32) -> i64 {
            let j = GP64();
            MOVSXD(j, i);
            let r = GP64();
            MOV(r, [p + j * 8]);
            RETURN(r);
        }
    }

    peach_fn! {
        /// `n as f64` for a `u32`: `MOV(n, n)` zero-extends it in place, then the 64-bit conversion
        /// is exact for every `u32`.
        #[target(x86_64::haswell)]
        fn to_f64(n: u32) -> f64 {
            MOV(n, n);
            let t = XMM();
            VXORPD(t, t, t);
            VCVTSI2SD(t, t, n.r64());
            RETURN(t);
        }
    }

    #[test]
    fn widened_parameters_work_with_any_value() {
        let data = [10i64, 20, 30, 40];
        let mid = unsafe { data.as_ptr().add(2) };
        assert_eq!(unsafe { get(mid, -1) }, 20);
        assert_eq!(unsafe { get(mid, 1) }, 40);
        for n in [0u32, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX] {
            assert_eq!(to_f64(n), n as f64);
        }
    }
}

/// Each narrow type read as a 64-bit register before a widening write: a Signature error at the
/// instruction, naming the widening instruction of that type.
#[test]
fn reading_a_narrow_parameter_wider_is_an_error() {
    for (ty, hint) in [(Type::I32, "MOVSXD"), (Type::U32, "MOV(x, x)"), (Type::I16, "MOVSX"), (Type::U8, "MOVZX")] {
        let mut f = Function::new("wide", Signature::new(&[Type::Ptr, ty], Some(Type::I64)), Target::x86_64_v3());
        let (p, i) = (f.param(0), f.param(1));
        let r = f.gp64();
        f.ins("mov", (r, [p + i.r64() * 8]));
        let line = line!() - 1;
        f.ret(r);
        let e = f.compile(Abi::SysV).expect_err("a narrow parameter read as 64 bits");
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
        assert!(e.message().contains("parameter 1") && e.message().contains(hint), "{e}");
        assert_eq!(e.location().unwrap().line(), line, "{e}");
    }
    // Returned as a wider result, or copied whole by LOAD_ARGUMENT: the same error.
    let mut f = Function::new("ret", Signature::new(&[Type::U32], Some(Type::U64)), Target::x86_64_v3());
    let n = f.param(0);
    f.ret(n.r64());
    assert!(f.compile(Abi::SysV).expect_err("returned wider").message().contains("64-bit result"));
    let mut f = Function::new("load", Signature::new(&[Type::I32], Some(Type::I64)), Target::x86_64_v3());
    let r = f.gp64();
    f.load_argument(r, 0);
    f.ret(r);
    assert!(f.compile(Abi::Win64).expect_err("copied whole").message().contains("MOVSXD"));
}

/// On AArch64 a narrow parameter is a `w` register; reading its `x` view needs SXTW/UXTW first,
/// and 8/16-bit ones are read only by the extensions (UXTB, SXTH, ...).
#[test]
fn aarch64_narrow_parameters() {
    let build = |ty: Type, body: &dyn Fn(&mut Function, Reg, Reg) -> Reg| {
        let mut f = Function::new("a", Signature::new(&[Type::U64, ty], Some(Type::U64)), Target::aarch64_neon());
        let (a, n) = (f.param(0), f.param(1));
        let r = body(&mut f, a, n);
        f.ret(r);
        f.compile(Abi::Aapcs64)
    };
    let e = build(Type::I32, &|f, a, n| {
        f.ins("add", (a, a, n.x()));
        a
    })
    .expect_err("w read as x");
    assert!(e.message().contains("SXTW"), "{e}");
    build(Type::I32, &|f, a, n| {
        f.ins("sxtw", (n.x(), n));
        f.ins("add", (a, a, n.x()));
        a
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let e = build(Type::U8, &|f, a, n| {
        f.ins("add", (a.w(), a.w(), n));
        a
    })
    .expect_err("u8 read as w");
    assert!(e.message().contains("UXTB"), "{e}");
    build(Type::U8, &|f, a, n| {
        f.ins("uxtb", (n, n));
        f.ins("add", (a, a, n.x()));
        a
    })
    .unwrap_or_else(|e| panic!("{e}"));
}
