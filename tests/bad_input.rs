//! Bad input gives an `Error` that carries the caller's source location; nothing panics.

use peach::prelude::*;
use peach::regs_x86_64::*;

fn function(target: Target) -> Function {
    Function::new("bad", Signature::new(&[Type::Ptr], Some(Type::I64)), target)
}

/// Compiles `f` and returns the error, checking that it points into this file.
fn error_of(f: Function) -> Error {
    let e = f.compile(Abi::SysV).expect_err("the function must not compile");
    let loc = e.location().expect("the error has a location");
    assert!(loc.file().ends_with("bad_input.rs"), "{e} points at {}", loc.file());
    e
}

#[test]
fn unknown_mnemonic_suggests_a_fix() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    f.ins("vaddpz", (p, p));
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::UnknownMnemonic);
    assert!(e.message().contains("did you mean `VADDPD`") || e.message().contains("did you mean `VADDPS`"), "{e}");
    assert_eq!(e.location().unwrap().line(), line!() - 5);
}

#[test]
fn wrong_operand_kinds_list_the_forms() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let v = f.ymm();
    f.ins("vaddpd", (v, p, 3));
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::InvalidOperands);
    assert!(e.message().contains("no form of VADDPD takes (ymm, r64, imm 3)"), "{e}");
    assert!(e.message().contains("VADDPD ymm1, ymm2, ymm3/m256"), "{e}");
}

#[test]
fn wrong_number_of_operands() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    f.ins("add", p);
    f.ret(p);
    assert_eq!(error_of(f).kind(), ErrorKind::InvalidOperands);
}

#[test]
fn undefined_label() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let l = f.label();
    f.ins("jnz", l);
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::Label);
    assert!(e.message().contains("never bound"), "{e}");
}

#[test]
fn label_bound_twice() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let l = f.label();
    f.bind(l);
    f.bind(l);
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::Label);
    assert!(e.message().contains("bound twice"), "{e}");
}

#[test]
fn immediate_out_of_range() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    f.ins("add", (p, 1i64 << 40));
    f.ret(p);
    assert_eq!(error_of(f).kind(), ErrorKind::ImmediateOutOfRange);
}

#[test]
fn bad_scale() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let t = f.gp64();
    f.ins("mov", (t, [p + t * 3]));
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::InvalidMemory);
    assert!(e.message().contains("scale 3"), "{e}");
}

#[test]
fn two_index_registers() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let (a, b) = (f.gp64(), f.gp64());
    f.ins("mov", (a, 0));
    f.ins("mov", (b, 0));
    f.ins("mov", (a, [p + a * 2 + b * 4]));
    f.ret(a);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::InvalidMemory);
    assert!(e.message().contains("one index register"), "{e}");
}

#[test]
fn displacement_too_large() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    f.ins("mov", (p, [p + (1i64 << 33)]));
    f.ret(p);
    assert_eq!(error_of(f).kind(), ErrorKind::InvalidMemory);
}

#[test]
fn ambiguous_memory_size() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    f.ins("add", ([p], 1));
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::InvalidMemory);
    assert!(e.message().contains("ambiguous"), "{e}");
}

#[test]
fn instruction_not_in_target() {
    let mut f = function(Target::x86_64_v2());
    let p = f.param(0);
    let v = f.ymm();
    f.ins("vxorps", (v, v, v));
    f.ins("vfmadd231ps", (v, v, v));
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::NotInTarget);
    assert!(e.message().contains("needs AVX") && e.message().contains("x86-64-v2"), "{e}");
}

#[test]
fn value_read_before_written() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let t = f.gp64();
    let line = line!() + 1;
    f.ins("add", (p, t));
    f.ret(p);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::UndefinedValue);
    assert!(e.to_string().contains(&format!("bad_input.rs:{line}")), "{e}");
    // The same in a loop, where liveness flows between blocks, and when the value is written
    // only after the loop.
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let t = f.gp64();
    let top = f.label();
    f.bind(top);
    f.ins("add", (p, t));
    f.ins("sub", (p, 1));
    f.ins("jnz", top);
    f.ins("mov", (t, 0));
    f.ret(p);
    assert_eq!(error_of(f).kind(), ErrorKind::UndefinedValue);
}

#[test]
fn missing_return() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    f.ins("add", (p, 1));
    let e = f.compile(Abi::SysV).expect_err("no return");
    assert_eq!(e.kind(), ErrorKind::ControlFlow);
}

#[test]
fn parameter_out_of_range() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(7);
    f.ret(p);
    assert_eq!(error_of(f).kind(), ErrorKind::Signature);
}

#[test]
fn too_many_live_vector_values() {
    let mut f = Function::new("pressure", Signature::new(&[Type::Ptr], None), Target::x86_64_v3());
    let p = f.param(0);
    let v: Vec<Reg> = (0..17).map(|_| f.ymm()).collect();
    for (i, &r) in v.iter().enumerate() {
        f.ins("vmovups", (r, [p + 32 * i]));
    }
    for &r in &v[1..] {
        f.ins("vaddps", (v[0], v[0], r));
    }
    f.ins("vmovups", ([p], v[0]));
    f.ret(None);
    let e = error_of(f);
    assert_eq!(e.kind(), ErrorKind::OutOfRegisters);
    let msg = e.message();
    assert!(msg.contains("out of vector registers: 17 values are live here and the target has 16"), "{e}");
    // The 17 values were made by one line: they are grouped by place.
    assert!(msg.contains("  - 17 values created at tests/bad_input.rs:"), "{e}");
    // The busiest instruction is the first add, where all 17 loaded values are live.
    assert_eq!(e.location().unwrap().line(), line!() - 14);
}

/// Random mnemonics and operand lists: every outcome is a value, never a panic.
#[test]
fn random_input_never_panics() {
    let names =
        ["add", "vaddps", "mov", "shl", "vfmadd231pd", "lea", "jmp", "nop", "kmovw", "vpermq", "xyzzy", "", "imul"];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..2000 {
        let mut f = Function::new("r", Signature::new(&[Type::Ptr], None), Target::x86_64_v4());
        let p = f.param(0);
        let pool = [
            Operand::Reg(p),
            Operand::Reg(f.ymm()),
            Operand::Reg(f.zmm()),
            Operand::Reg(f.k()),
            Operand::Reg(RAX),
            Operand::Reg(XMM31),
            Operand::Imm(next() as i64 >> (next() % 64)),
            Operand::Mem(Mem::from([p + 64])),
            Operand::Label(f.label()),
            Operand::Rounding(Rounding::NearestSae),
        ];
        let n = (next() % 5) as usize;
        let ops: Vec<Operand> = (0..n).map(|_| pool[(next() % pool.len() as u64) as usize]).collect();
        f.ins(names[(next() % names.len() as u64) as usize], ops);
        f.ret(None);
        let _ = f.compile(Abi::SysV);
        let _ = f.compile(Abi::Win64);
    }
}

/// A result returned in the wrong register class is the user's error at the `ret`, on both
/// architectures (x86-64 used to fail inside the ABI lowering, AArch64 to return x0 for `f32`).
#[test]
fn return_class_mismatch() {
    let cases = [
        (Target::x86_64_v3(), Type::F64, false),
        (Target::x86_64_v3(), Type::I64, true),
        (Target::aarch64_neon(), Type::F32, false),
        (Target::aarch64_neon(), Type::U64, true),
    ];
    for (target, ret, vector) in cases {
        let aarch64 = target.arch() == peach::core::target::Arch::Aarch64;
        let mut f = Function::new("bad", Signature::new(&[Type::Ptr], Some(ret)), target);
        let v = match (vector, aarch64) {
            (true, false) => f.xmm(),
            (true, true) => f.v().d(),
            (false, _) => f.param(0),
        };
        f.ret(v);
        let line = line!() - 1;
        let abi = if aarch64 { Abi::Aapcs64 } else { Abi::SysV };
        let e = f.compile(abi).expect_err("the function must not compile");
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
        assert!(e.message().contains("`RETURN` of a"), "{e}");
        let loc = e.location().expect("the error has a location");
        assert!(loc.file().ends_with("bad_input.rs"), "{e} points at {}", loc.file());
        assert_eq!(loc.line(), line, "{e}");
    }
}

/// Ending a stream that was never begun is an error at the call, not an empty stream made up.
#[test]
fn end_stream_without_begin() {
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let _ = f.end_stream();
    let line = line!() - 1;
    f.ret(p);
    let e = error_of(f);
    assert!(e.message().contains("without `begin_stream`"), "{e}");
    assert_eq!(e.location().unwrap().line(), line);
}

/// An AArch64 extend is not a shift and a shift is not an extend: `subs w18, w27, w29, uxtw`
/// used to assemble as `lsl #16`. Where no form takes the operand, it is an error; where one
/// does, the listing shows exactly what was written.
#[test]
fn aarch64_extends_and_shifts_are_different_operands() {
    use peach::core::isa::aarch64::{Extend, Shift};
    let build = |ops: &dyn Fn(&mut Function) -> (&'static str, Vec<Operand>)| {
        let mut f =
            Function::new("e", Signature::new(&[Type::U64, Type::U64], Some(Type::U64)), Target::aarch64_neon());
        let (m, o) = ops(&mut f);
        f.ins(m, o.as_slice());
        let r = f.param(0);
        f.ret(r);
        f.compile(Abi::Aapcs64)
    };
    let wrong = [
        build(&|f| {
            let (a, b) = (f.param(0), f.param(1));
            // (A 32-bit operation extends a W register.)
            ("subs", vec![a.w().into(), a.w().into(), b.into(), Extend::Uxtw.into()])
        }),
        build(&|f| {
            let (a, b) = (f.param(0), f.param(1));
            ("add", vec![a.into(), a.into(), b.into(), Extend::Uxtw.into()])
        }),
        build(&|f| {
            let (a, b) = (f.param(0), f.param(1));
            ("add", vec![a.into(), a.into(), b.w().into(), Shift::Lsl(2).into()])
        }),
        build(&|f| {
            let (a, b) = (f.param(0), f.param(1));
            ("add", vec![a.into(), a.into(), b.into(), Shift::Ror(2).into()])
        }),
        // A negative plain shift amount used to be clamped to `lsl #0`.
        build(&|f| {
            let (a, b) = (f.param(0), f.param(1));
            ("add", vec![a.into(), a.into(), b.into(), (-3).into()])
        }),
    ];
    for r in wrong {
        let e = r.expect_err("no form takes these operands");
        assert!(matches!(e.kind(), ErrorKind::InvalidOperands | ErrorKind::ImmediateOutOfRange), "{e}");
    }
    let ok = build(&|f| {
        let (a, b) = (f.param(0), f.param(1));
        ("add", vec![a.into(), a.into(), b.w().into(), Extend::Uxtw.by(2)])
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok.listing().contains("add x0, x0, w1, uxtw #2"), "{}", ok.listing());
    let ok = build(&|f| {
        let (a, b) = (f.param(0), f.param(1));
        ("orr", vec![a.into(), a.into(), b.into(), Shift::Ror(9).into()])
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok.listing().contains("orr x0, x0, x1, ror #9"), "{}", ok.listing());
}

/// Immediates: the message names the value and what the forms take; a negative control byte is
/// refused (it used to become 0xFF), while an 8-bit operation's operand may be negative.
#[test]
fn immediates_are_exact() {
    let one = |m: &str, ops: &[Operand]| {
        let mut f = function(Target::x86_64_v3());
        let p = f.param(0);
        f.ins(m, ops);
        f.ret(p);
        f.compile(Abi::SysV)
    };
    use peach::core::isa::x86_64::reg::*;
    let e = one("vpshufd", &[XMM1.into(), XMM2.into(), (-1).into()]).expect_err("a negative control byte");
    assert_eq!(e.kind(), ErrorKind::ImmediateOutOfRange, "{e}");
    assert!(e.message().contains("-1") && e.message().contains("0 to 255"), "{e}");
    let e = one("add", &[RAX.into(), (1i64 << 40).into()]).expect_err("too wide");
    assert!(e.message().contains("1099511627776") && e.message().contains("-2^31 to 2^31-1"), "{e}");
    assert!(one("add", &[AL.into(), (-1).into()]).is_ok());
    assert!(one("mov", &[CL.into(), (-128).into()]).is_ok());
    // A register only AVX-512 has, on a target without it.
    let e = one("vmovups", &[YMM17.into(), XMM0.ymm().into()]).expect_err("ymm17 on AVX2");
    assert!(e.message().contains("registers 16-31 need AVX-512"), "{e}");
}

/// No quadratic cliffs on bad input: a long unknown mnemonic and many unbound labels cost little
/// (they took 0.9 s and 160 s).
#[test]
fn bad_input_stays_cheap() {
    let start = std::time::Instant::now();
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    let long = "v".repeat(20_000);
    f.ins(long.as_str(), (p, p));
    f.ret(p);
    assert_eq!(error_of(f).kind(), ErrorKind::UnknownMnemonic);
    let mut f = function(Target::x86_64_v3());
    let p = f.param(0);
    for _ in 0..100_000 {
        let l = f.label();
        f.ins("add", (p, 1));
        let _ = l;
    }
    let used = f.label();
    f.ins("jnz", used);
    f.ret(p);
    let e = error_of(f);
    assert!(e.message().contains("never bound"), "{e}");
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
}
