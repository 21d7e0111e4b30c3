//! Calling conventions under qemu: parameters in registers and on the stack (AAPCS64 and Apple
//! arm64), results, callee-saved registers under pressure, stack locals.

use super::*;

#[test]
fn integer_parameters_from_0_to_10() {
    for n in 0..=10 {
        let sig = Signature::new(&vec![Type::I64; n], Some(Type::I64));
        let mut f = Function::new(format!("sum{n}"), sig, Target::aarch64_neon());
        let acc = f.x();
        f.ins("movz", (acc, 1000));
        for i in 0..n {
            let p = f.param(i);
            f.ins("add", (acc, acc, p));
        }
        f.ret(acc);
        let code = f.compile(Abi::Aapcs64).unwrap();
        let v = values(n);
        let args: Vec<Arg> = v
            .iter()
            .enumerate()
            .map(|(i, x)| if i < 8 { Arg::X(i, *x as u64) } else { Arg::K(i - 8, *x as u64) })
            .collect();
        let Some(out) = run(&code, &[], &args) else { return };
        assert_eq!(out.x0 as i64, 1000 + v.iter().sum::<i64>(), "{n} parameters:\n{}", code.listing());
    }
}

#[test]
fn float_parameters_on_registers_and_stack() {
    let sig = Signature::new(&[Type::F64; 10], Some(Type::F64));
    let mut f = Function::new("fsum10", sig, Target::aarch64_neon());
    let acc = f.param(0);
    for i in 1..10 {
        let p = f.param(i);
        f.ins("fadd", (acc.d(), acc.d(), p.d()));
    }
    f.ret(acc);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let v: Vec<f64> = (0..10).map(|i| 1.5 * i as f64 - 0.25).collect();
    let args: Vec<Arg> =
        v.iter().enumerate().map(|(i, x)| if i < 8 { Arg::D(i, *x) } else { Arg::K(i - 8, x.to_bits()) }).collect();
    let Some(out) = run(&code, &[], &args) else { return };
    let want = v.iter().skip(1).fold(v[0], |a, b| a + b);
    assert_eq!(f64::from_bits(out.d0), want);
}

#[test]
fn mixed_parameters_and_a_float_result() {
    // f64 mix(i64 a, f64 x, i64 b, f64 y, ...): sum of the floats plus the sum of the integers.
    let types: Vec<Type> = (0..10).map(|i| if i % 2 == 0 { Type::I64 } else { Type::F64 }).collect();
    let mut f = Function::new("mix", Signature::new(&types, Some(Type::F64)), Target::aarch64_neon());
    let (ints, floats) = (f.x(), f.v());
    f.ins("movz", (ints, 0));
    f.ins("fmov", (floats.d(), ints));
    for (i, ty) in types.iter().enumerate() {
        let p = f.param(i);
        match ty {
            Type::I64 => f.ins("add", (ints, ints, p)),
            _ => f.ins("fadd", (floats.d(), floats.d(), p.d())),
        }
    }
    let converted = f.v();
    f.ins("scvtf", (converted.d(), ints));
    f.ins("fadd", (floats.d(), floats.d(), converted.d()));
    f.ret(floats);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let args: Vec<Arg> = (0..10)
        .map(|i| if i % 2 == 0 { Arg::X(i / 2, (i as u64 + 1) * 3) } else { Arg::D(i / 2, i as f64 * 0.5) })
        .collect();
    let Some(out) = run(&code, &[], &args) else { return };
    let want = (1..10).step_by(2).map(|i| i as f64 * 0.5).sum::<f64>()
        + (0..10).step_by(2).map(|i| (i + 1) * 3).sum::<i64>() as f64;
    assert_eq!(f64::from_bits(out.d0), want);
}

/// Ten `i32` parameters: under AAPCS64 the last two take a stack slot of 8 bytes each, under
/// Apple arm64 they are packed 4 bytes apart.
#[test]
fn stack_parameters_aapcs64_and_apple() {
    for abi in [Abi::Aapcs64, Abi::AppleArm64] {
        let sig = Signature::new(&[Type::I32; 10], Some(Type::I32));
        let mut f = Function::new("isum", sig, Target::aarch64_neon());
        let acc = f.param(0);
        for i in 1..10 {
            let p = f.param(i);
            f.ins("add", (acc.w(), acc.w(), p.w()));
        }
        f.ret(acc);
        let code = f.compile(abi).unwrap();
        let v: Vec<u32> = (0..10).map(|i| 100 + i * 7).collect();
        let mut args: Vec<Arg> = (0..8).map(|i| Arg::X(i, v[i] as u64)).collect();
        match abi {
            Abi::Aapcs64 => args.extend([Arg::K(0, v[8] as u64), Arg::K(1, v[9] as u64)]),
            _ => args.push(Arg::K(0, v[8] as u64 | (v[9] as u64) << 32)),
        }
        let Some(out) = run(&code, &[], &args) else { return };
        assert_eq!(out.x0 as u32, v.iter().sum::<u32>(), "{abi:?}");
    }
}

/// More live values than caller-saved registers: the prologue must save x19-x28 and d8-d15, and
/// the loader checks they come back.
#[test]
fn callee_saved_registers_survive_pressure() {
    let sig = Signature::new(&[Type::I64], Some(Type::I64));
    let mut f = Function::new("pressure", sig, Target::aarch64_neon());
    let seed = f.param(0);
    let gp: Vec<Reg> = (0..26).map(|_| f.x()).collect();
    for (i, &r) in gp.iter().enumerate() {
        f.ins("add", (r, seed, i as i64 + 1));
    }
    let vs: Vec<Reg> = (0..30).map(|_| f.v()).collect();
    for (i, &v) in vs.iter().enumerate() {
        f.ins("scvtf", (v.d(), gp[i % gp.len()]));
    }
    let (acc, facc) = (f.x(), f.v());
    f.ins("movz", (acc, 0));
    f.ins("fmov", (facc.d(), acc));
    for &r in &gp {
        f.ins("add", (acc, acc, r));
    }
    for &v in &vs {
        f.ins("fadd", (facc.d(), facc.d(), v.d()));
    }
    let as_int = f.x();
    f.ins("fcvtzs", (as_int, facc.d()));
    f.ins("add", (acc, acc, as_int));
    f.ret(acc);
    let code = f.compile(Abi::Aapcs64).unwrap();
    assert!(code.listing().contains("stp x19, x20, [sp, #-16]!"), "{}", code.listing());
    assert!(code.listing().contains("d8"), "{}", code.listing());
    let seed = 1000;
    let Some(out) = run(&code, &[], &[Arg::X(0, seed)]) else { return };
    let gp_sum: i64 = (0..26).map(|i| seed as i64 + i + 1).sum();
    let v_sum: i64 = (0..30).map(|i| seed as i64 + (i % 26) + 1).sum();
    assert_eq!(out.x0 as i64, gp_sum + v_sum);
}

#[test]
fn single_precision_parameter_and_result() {
    // f32 poly(f32 x) { x * x + x }
    let sig = Signature::new(&[Type::F32], Some(Type::F32));
    let mut f = Function::new("poly", sig, Target::aarch64_neon());
    let x = f.param(0);
    let y = f.v();
    f.ins("fmadd", (y.s(), x.s(), x.s(), x.s()));
    f.ret(y);
    let code = f.compile(Abi::Aapcs64).unwrap();
    let Some(out) = run(&code, &[], &[Arg::S(0, 1.5)]) else { return };
    assert_eq!(f32::from_bits(out.d0 as u32), 1.5 * 1.5 + 1.5);
}

/// Stack-passed parameters of four types together with callee-saved pushes: they are found
/// above the saved registers, in each ABI's layout (8-byte slots for AAPCS64, natural size and
/// alignment for Apple arm64).
#[test]
fn stack_parameters_under_register_pressure() {
    // Eight i64 and eight f64 in registers, then five on the stack.
    let mut types = vec![Type::I64; 8];
    types.extend([Type::F64; 8]);
    types.extend([Type::I32, Type::F32, Type::I32, Type::I64, Type::F64]);
    let stack_values: [i64; 5] = [-7, 11, 300, 1 << 40, -9];
    for abi in [Abi::Aapcs64, Abi::AppleArm64] {
        let sig = Signature::new(&types, Some(Type::I64));
        let mut f = Function::new("many", sig, Target::aarch64_neon());
        let acc = f.x();
        f.ins("movz", (acc, 0));
        // Pressure: 12 values live across the parameter reads (with the 11 integer parameters)
        // force x19-x28 into use.
        let live: Vec<Reg> = (0..12).map(|_| f.x()).collect();
        for (i, &r) in live.iter().enumerate() {
            f.ins("movz", (r, i as i64));
        }
        for (i, ty) in types.iter().enumerate() {
            let p = f.param(i);
            let c = f.x();
            match ty {
                Type::I64 => f.ins("mov", (c, p)),
                Type::I32 => f.ins("sxtw", (c, p.w())),
                Type::F64 => f.ins("fcvtzs", (c, p.d())),
                _ => f.ins("fcvtzs", (c, p.s())),
            }
            f.ins("add", (acc, acc, c));
        }
        for &r in &live {
            f.ins("add", (acc, acc, r));
        }
        f.ret(acc);
        let code = f.compile(abi).unwrap();
        assert!(code.listing().contains("stp x19, x20"), "{}", code.listing());
        // The stack area as each ABI lays it out.
        let mut area = [0u8; 64];
        let mut at = 0usize;
        for (ty, v) in types[16..].iter().zip(stack_values) {
            let size = ty.size() as usize;
            at = if abi == Abi::AppleArm64 { at.next_multiple_of(size) } else { at.next_multiple_of(8) };
            let bytes = match ty {
                Type::F32 => (v as f32).to_le_bytes().to_vec(),
                Type::F64 => (v as f64).to_le_bytes().to_vec(),
                _ => v.to_le_bytes()[..size].to_vec(),
            };
            area[at..at + size].copy_from_slice(&bytes);
            at += size;
        }
        let mut args: Vec<Arg> = (0..8).map(|i| Arg::X(i, 100 + i as u64)).collect();
        args.extend((0..8).map(|i| Arg::D(i, i as f64 * 2.0)));
        args.extend(area.chunks(8).enumerate().map(|(i, w)| Arg::K(i, u64::from_le_bytes(w.try_into().unwrap()))));
        let Some(out) = run(&code, &[], &args) else { return };
        let want: i64 = (0..8).map(|i| 100 + i).sum::<i64>()
            + (0..8).map(|i| i * 2).sum::<i64>()
            + stack_values.iter().sum::<i64>()
            + (0..12).sum::<i64>();
        assert_eq!(out.x0 as i64, want, "{abi:?}\n{}", code.listing());
    }
}

/// A kernel for another architecture can be built anywhere but not loaded: an error, not a
/// crash.
#[test]
fn foreign_code_is_not_loaded() {
    let code = peach::kernels::neon::dot_f32(Abi::Aapcs64).unwrap();
    // SAFETY: the load is refused before anything could run.
    let err = unsafe { Kernel::<unsafe extern "C" fn()>::load(&code) };
    if cfg!(target_arch = "x86_64") {
        assert!(err.is_err_and(|e| e.to_string().contains("Aarch64 code")));
    }
}

/// Stack locals: values spilled by hand to a local and read back, with stack-passed parameters
/// and callee-saved pushes in the same frame.
#[test]
fn stack_locals() {
    let mut types = vec![Type::I64; 8];
    types.extend([Type::I64, Type::I64]);
    let sig = Signature::new(&types, Some(Type::I64));
    let mut f = Function::new("locals", sig, Target::aarch64_neon());
    let slot = f.stack_local(48, 16);
    let acc = f.x();
    f.ins("movz", (acc, 0));
    for i in 0..6 {
        let p = f.param(i);
        f.ins("str", (p, slot.at(8 * i as i32)));
    }
    let live: Vec<Reg> = (0..14).map(|_| f.x()).collect();
    for (i, &r) in live.iter().enumerate() {
        f.ins("movz", (r, 1 + i as i64));
    }
    for i in 0..6 {
        let t = f.x();
        f.ins("ldr", (t, slot.at(8 * i)));
        f.ins("add", (acc, acc, t));
    }
    for i in 6..10 {
        let p = f.param(i);
        f.ins("add", (acc, acc, p));
    }
    for &r in &live {
        f.ins("add", (acc, acc, r));
    }
    f.ret(acc);
    let code = f.compile(Abi::Aapcs64).unwrap();
    assert!(code.listing().contains("sub sp, sp, #48"), "{}", code.listing());
    let v: Vec<u64> = (0..10).map(|i| 1000 * (i + 1)).collect();
    let mut args: Vec<Arg> = (0..8).map(|i| Arg::X(i, v[i])).collect();
    args.extend([Arg::K(0, v[8]), Arg::K(1, v[9])]);
    let Some(out) = run(&code, &[], &args) else { return };
    assert_eq!(out.x0, v.iter().sum::<u64>() + (1..=14).sum::<u64>(), "{}", code.listing());
}

/// The directives `peach_fn!` puts in `global_asm!` for AArch64 assemble into ELF (linked with a C
/// caller by aarch64-linux-gnu-gcc and run under qemu), Mach-O (the Apple build) and COFF objects
/// (llvm-mc's writers: those cannot be linked here).
#[test]
fn static_code_links_for_every_object_format() {
    use peach::core::emit::ObjectFormat;
    if loader().is_none() {
        return;
    }
    let build = |abi| {
        let sig = Signature::new(&[Type::I64, Type::I64], Some(Type::I64));
        let mut f = Function::new("madd", sig, Target::aarch64_neon());
        let (a, b) = (f.param(0), f.param(1));
        f.ins("madd", (a, a, b, b));
        f.ret(a);
        f.compile(abi).unwrap()
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("a64-objects-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (format, triple, abi) in [
        (ObjectFormat::Elf, "aarch64-unknown-linux-gnu", Abi::Aapcs64),
        (ObjectFormat::MachO, "arm64-apple-macos", Abi::AppleArm64),
        (ObjectFormat::Coff, "aarch64-pc-windows-msvc", Abi::Aapcs64),
    ] {
        let code = build(abi);
        let src = dir.join("k.s");
        std::fs::write(&src, code.asm_lines("peach_madd", format).join("\n") + "\n").unwrap();
        let obj = dir.join("k.o");
        let out = Command::new("llvm-mc")
            .args([&format!("-triple={triple}"), "-filetype=obj", "-o"])
            .arg(&obj)
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "{format:?}: {}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&obj).unwrap();
        assert!(bytes.windows(code.bytes().len()).any(|w| w == code.bytes()), "{format:?}: the code is in the object");
    }
    // ELF: link with a C caller, run under qemu. `peach_madd` is hidden, as peach_fn! makes it,
    // so the caller lives in the same link.
    let code = build(Abi::Aapcs64);
    let asm = dir.join("madd.s");
    std::fs::write(&asm, code.asm_lines("peach_madd", ObjectFormat::Elf).join("\n") + "\n").unwrap();
    let main = dir.join("main.c");
    std::fs::write(
        &main,
        "#include <stdio.h>\nlong peach_madd(long, long);\nint main(void) { printf(\"%ld\\n\", peach_madd(6, 7)); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("madd");
    let status =
        Command::new("aarch64-linux-gnu-gcc").args(["-static", "-o"]).arg(&exe).arg(&main).arg(&asm).status().unwrap();
    assert!(status.success(), "the program links");
    let out = Command::new("qemu-aarch64").arg(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), (6 * 7 + 7).to_string());
    let _ = std::fs::remove_dir_all(&dir);
}
