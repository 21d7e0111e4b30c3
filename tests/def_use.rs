//! The def/use roles of special instruction classes, executed: what an instruction reads and
//! writes decides what the allocator may share, so a wrong role is silently wrong code.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

fn runs(target: &Target) -> bool {
    target.extensions().is_subset(Target::native_x86_64().extensions())
}

/// An explicit VZEROUPPER: values live across it keep their low 128 bits (and sit in
/// xmm0-15, whose upper halves it zeroes); it used to fail with a bogus out-of-registers error.
#[test]
fn vzeroupper_keeps_low_halves() {
    for target in [Target::x86_64_v3(), Target::x86_64_v4()] {
        if !runs(&target) {
            eprintln!("skipped {}: this CPU lacks it", target.name());
            continue;
        }
        let mut f = Function::new("vz", Signature::new(&[Type::Ptr], Some(Type::F64)), target.clone());
        let p = f.param(0);
        let y = f.ymm();
        f.ins("vmovupd", (y, [p]));
        f.ins("vaddpd", (y, y, y));
        f.ins("vzeroupper", ());
        f.ins("vextractf128", (y.xmm(), y, 1)); // the upper half, zeroed
        f.ins("vaddsd", (y.xmm(), y.xmm(), [p])); // 0 + p[0]
        f.ret(y.xmm());
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
        let k = unsafe { Kernel::<extern "sysv64" fn(*const f64) -> f64>::load(&code) }.unwrap();
        let data = [1.5f64, 2.0, 3.0, 4.0];
        assert_eq!(k.call(data.as_ptr()), 1.5, "{}\n{}", target.name(), code.listing());
    }
}

/// VZEROALL clobbers every vector register it names: a value live across it is an error on AVX2
/// (nowhere to keep it) and lives in zmm16-31 on AVX-512, intact.
#[test]
fn vzeroall_clobbers_the_low_sixteen() {
    let build = |target: Target| {
        let mut f = Function::new("va", Signature::new(&[Type::Ptr], Some(Type::F64)), target);
        let p = f.param(0);
        let x = f.xmm();
        f.ins("vmovsd", (x, [p]));
        f.ins("vzeroall", ());
        f.ret(x);
        f.compile(Abi::SysV)
    };
    let e = build(Target::x86_64_v3()).expect_err("no register survives VZEROALL on AVX2");
    assert_eq!(e.kind(), ErrorKind::OutOfRegisters, "{e}");
    let v4 = Target::x86_64_v4();
    if runs(&v4) {
        let code = build(v4).unwrap_or_else(|e| panic!("{e}"));
        let k = unsafe { Kernel::<extern "sysv64" fn(*const f64) -> f64>::load(&code) }.unwrap();
        assert_eq!(k.call([7.25f64].as_ptr()), 7.25, "{}", code.listing());
    }
}

/// A compare into a mask register under a write mask zeroes the masked-off bits: the
/// destination is written, not read (it used to be "read before written").
#[test]
fn masked_compares_write_their_mask() {
    let target = Target::x86_64_v4();
    let mut f = Function::new("kc", Signature::new(&[Type::Ptr, Type::Ptr], Some(Type::U64)), target.clone());
    let (a, b) = (f.param(0), f.param(1));
    let (z, km, k) = (f.zmm(), f.k(), f.k());
    f.ins("vmovdqu8", (z, [a]));
    f.ins("kmovq", (km, [b + 64]));
    f.ins("vpcmpeqb", (k.mask(km), z, [b]));
    let r = f.gp64();
    f.ins("kmovq", (r, k));
    f.ret(r);
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    if !runs(&target) {
        eprintln!("skipped running: this CPU lacks AVX-512");
        return;
    }
    let k = unsafe { Kernel::<extern "sysv64" fn(*const u8, *const u8) -> u64>::load(&code) }.unwrap();
    let x: Vec<u8> = (0..64).collect();
    let mut y: Vec<u8> = (0..64).map(|i| if i % 3 == 0 { i } else { 255 }).collect();
    let mask = 0x0f0f_0f0f_0f0f_0f0fu64;
    y.extend_from_slice(&mask.to_le_bytes());
    let want = (0..64).filter(|i| i % 3 == 0).fold(0u64, |m, i| m | 1 << i) & mask;
    assert_eq!(k.call(x.as_ptr(), y.as_ptr()), want, "{}", code.listing());
}

/// A write mask on a vector destination merges (the old value is read), with zeroing it does
/// not: the merged lanes keep the destination's value.
#[test]
fn masked_vector_writes_merge_or_zero() {
    let target = Target::x86_64_v4();
    if !runs(&target) {
        eprintln!("skipped: this CPU lacks AVX-512");
        return;
    }
    for zeroing in [false, true] {
        let mut f = Function::new("mv", Signature::new(&[Type::Ptr], None), target.clone());
        let p = f.param(0);
        let (d, s, k) = (f.zmm(), f.zmm(), f.k());
        f.ins("vmovdqu32", (d, [p]));
        f.ins("vmovdqu32", (s, [p + 64]));
        f.ins("kmovw", (k, [p + 128]));
        let dst = if zeroing { d.mask(k).zeroing() } else { d.mask(k) };
        f.ins("vpaddd", (dst, s, s));
        f.ins("vmovdqu32", ([p], d));
        f.ret(None);
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
        let kern = unsafe { Kernel::<extern "sysv64" fn(*mut u32)>::load(&code) }.unwrap();
        let mut buf: Vec<u32> = (0..32).collect();
        buf.push(0b1010_1010_1010_1010);
        buf.push(0);
        kern.call(buf.as_mut_ptr());
        for i in 0..16u32 {
            let want = if (0b1010_1010_1010_1010 >> i) & 1 == 1 {
                2 * (16 + i)
            } else if zeroing {
                0
            } else {
                i
            };
            assert_eq!(buf[i as usize], want, "lane {i}, zeroing {zeroing}");
        }
    }
}

/// The AVX512-FP16 complex multiplies raise #UD when the destination is a source: the allocator
/// keeps them apart (even when the sources die there, which would normally free their register
/// for the result), and writing the same register explicitly is an error.
#[test]
fn complex_multiplies_keep_destination_and_sources_apart() {
    let target = Target::named("sapphirerapids").unwrap();
    for m in ["vfmulcph", "vfcmulcph", "vfmulcsh", "vfcmaddcph"] {
        let mut f = Function::new("c", Signature::new(&[Type::Ptr], None), target.clone());
        let p = f.param(0);
        let (a, b, d) = (f.zmm(), f.zmm(), f.zmm());
        f.ins("vmovups", (a, [p]));
        f.ins("vmovups", (b, [p + 64]));
        if m == "vfcmaddcph" {
            f.ins("vmovups", (d, [p + 128]));
        }
        let (d, a, b) = if m.ends_with("sh") { (d.xmm(), a.xmm(), b.xmm()) } else { (d, a, b) };
        f.ins(m, (d, a, b));
        f.ins("vmovups", ([p], d.zmm()));
        f.ret(None);
        let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{m}: {e}"));
        let listing = code.listing();
        let line = listing.lines().find(|l| l.contains(m)).unwrap_or_else(|| panic!("{listing}"));
        let regs: Vec<&str> = line.split(m).nth(1).unwrap().split(',').map(str::trim).collect();
        assert!(regs[1..].iter().all(|r| *r != regs[0]), "{m}: {line}");
        // The same register as destination and source: refused, in every spelling.
        let mut f = Function::new("c", Signature::new(&[Type::Ptr], None), target.clone());
        let (x, p) = (f.zmm(), f.param(0));
        f.ins("vmovups", (x, [p]));
        let wide = !m.ends_with("sh");
        let x = if wide { x } else { x.xmm() };
        f.ins(m, (x, x));
        f.ret(None);
        let e = f.compile(Abi::SysV).expect_err(m);
        assert!(e.message().contains("must differ from its sources"), "{m}: {e}");
    }
}

/// A register compared with itself sets every bit without reading it (`vpcmpeqd y, y, y`), but
/// compared with memory it is read: `vpxor y, y, [m]` and `vpcmpeqd y, y, [m]` are not idioms.
#[test]
fn same_register_idioms_read_nothing_unless_memory_is_a_source() {
    let target = Target::x86_64_v3();
    let mut f = Function::new("idioms", Signature::new(&[Type::Ptr], Some(Type::F64)), target.clone());
    let p = f.param(0);
    let (ones, y) = (f.ymm(), f.ymm());
    f.ins("vpcmpeqd", (ones, ones, ones)); // all ones, nothing read
    f.ins("vmovupd", (y, [p]));
    f.ins("vpxor", (y, y, [p + 32])); // y ^ p[4..8]: reads y
    f.ins("vpand", (y, y, ones));
    f.ret(y.xmm());
    let code = f.compile(Abi::SysV).unwrap_or_else(|e| panic!("{e}"));
    if !runs(&target) {
        eprintln!("skipped: this CPU lacks AVX2");
        return;
    }
    let k = unsafe { Kernel::<extern "sysv64" fn(*const f64) -> f64>::load(&code) }.unwrap();
    let data = [1.5f64, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0];
    assert_eq!(k.call(data.as_ptr()), 1.5, "{}", code.listing());

    // With a memory source, the register is read: reading it unwritten is an error.
    let mut g = Function::new("unset", Signature::new(&[Type::Ptr], Some(Type::F64)), target);
    let p = g.param(0);
    let y = g.ymm();
    g.ins("vpxor", (y, y, [p]));
    g.ret(y.xmm());
    let e = g.compile(Abi::SysV).expect_err("y is read before it is written");
    assert_eq!(e.kind(), ErrorKind::UndefinedValue, "{e}");
}
