//! REDUCE_SUM, REDUCE_MAX and REDUCE_MIN for every element type and register width, on targets
//! from SSE2 to AVX-512, executed and compared with plain Rust.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sum,
    Max,
    Min,
}

fn kernel(target: &Target, elem: Elem, kind: Kind, bytes: usize, count: usize) -> Result<CodeObject, Error> {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr], None);
    let mut f = Function::new("reduce", sig, target.clone());
    let (src, dst) = (f.param(0), f.param(1));
    let avx = target.has_avx();
    let regs: Vec<Reg> = (0..count)
        .map(|_| match bytes {
            16 => f.xmm(),
            32 => f.ymm(),
            _ => f.zmm(),
        })
        .collect();
    let load = if avx { "vmovdqu" } else { "movdqu" };
    for (i, &r) in regs.iter().enumerate() {
        if bytes == 64 {
            f.ins("vmovdqu64", (r, [src + i * bytes]));
        } else {
            f.ins(load, (r, [src + i * bytes]));
        }
    }
    match kind {
        Kind::Sum => f.reduce_sum(&regs, elem),
        Kind::Max => f.reduce_max(&regs, elem),
        Kind::Min => f.reduce_min(&regs, elem),
    }
    let store = match (elem, avx) {
        (Elem::F32, false) => "movss",
        (Elem::F32, true) => "vmovss",
        (Elem::F64, false) => "movsd",
        (Elem::F64, true) => "vmovsd",
        (Elem::I32, false) => "movd",
        (Elem::I32, true) => "vmovd",
        (Elem::I64, false) => "movq",
        (Elem::I64, true) => "vmovq",
    };
    f.ins(store, ([dst], regs[0].xmm()));
    f.ret(None);
    f.compile(Abi::SysV)
}

fn run(code: &CodeObject, data: &[u8]) -> [u8; 8] {
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(*const u8, *mut u8)>::load(code).unwrap() };
    let mut out = [0u8; 8];
    unsafe { k.call(data.as_ptr(), out.as_mut_ptr()) };
    out
}

fn expected(elem: Elem, kind: Kind, data: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    macro_rules! fold {
        ($t:ty, $n:literal, $sum:expr) => {{
            let v: Vec<$t> = data.chunks($n).map(|c| <$t>::from_le_bytes(c.try_into().unwrap())).collect();
            let r: $t = match kind {
                Kind::Sum => v.iter().copied().fold(<$t>::default(), $sum),
                Kind::Max => v.iter().copied().fold(v[0], |a, b| if b > a { b } else { a }),
                Kind::Min => v.iter().copied().fold(v[0], |a, b| if b < a { b } else { a }),
            };
            out[..$n].copy_from_slice(&r.to_le_bytes());
        }};
    }
    match elem {
        Elem::F32 => fold!(f32, 4, |a, b| a + b),
        Elem::F64 => fold!(f64, 8, |a, b| a + b),
        Elem::I32 => fold!(i32, 4, |a: i32, b| a.wrapping_add(b)),
        Elem::I64 => fold!(i64, 8, |a: i64, b| a.wrapping_add(b)),
    }
    out
}

#[test]
fn reductions_for_every_type_width_and_target() {
    let host = Target::native_x86_64();
    let mut seed = 0x1234_5678u64;
    let mut checked = 0;
    for target in [Target::x86_64_baseline(), Target::x86_64_v2(), Target::x86_64_v3(), Target::x86_64_v4()] {
        if !target.extensions().is_subset(host.extensions()) {
            eprintln!("skipped {}: this CPU lacks some of its extensions", target.name());
            continue;
        }
        let widths: &[usize] = if target.has_avx512f() {
            &[16, 32, 64]
        } else if target.has_avx2() {
            &[16, 32]
        } else {
            &[16]
        };
        for &bytes in widths {
            for elem in [Elem::F32, Elem::F64, Elem::I32, Elem::I64] {
                for kind in [Kind::Sum, Kind::Max, Kind::Min] {
                    for count in [1, 3] {
                        let code = match kernel(&target, elem, kind, bytes, count) {
                            Ok(code) => code,
                            // 64-bit integer max/min needs SSE4.2's PCMPGTQ at least.
                            Err(e) if elem == Elem::I64 && kind != Kind::Sum && !target.has_sse4_2() => {
                                assert_eq!(e.kind(), ErrorKind::NotInTarget, "{e}");
                                continue;
                            }
                            Err(e) => panic!("{} {elem:?} {kind:?} {bytes} x{count}: {e}", target.name()),
                        };
                        let mut data = vec![0u8; bytes * count];
                        for chunk in data.chunks_mut(4) {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            let v = (seed % 2000) as i32 - 1000;
                            let bits = match elem {
                                Elem::F32 => (v as f32).to_bits(),
                                Elem::F64 => 0, // filled below
                                _ => seed as u32,
                            };
                            chunk.copy_from_slice(&bits.to_le_bytes());
                        }
                        if elem == Elem::F64 {
                            for (i, chunk) in data.chunks_mut(8).enumerate() {
                                chunk.copy_from_slice(&(((i * 37) % 101) as f64 - 50.0).to_le_bytes());
                            }
                        }
                        let got = run(&code, &data);
                        let want = expected(elem, kind, &data);
                        let n = if matches!(elem, Elem::F32 | Elem::I32) { 4 } else { 8 };
                        assert_eq!(
                            got[..n],
                            want[..n],
                            "{} {elem:?} {kind:?} {bytes} x{count}\n{}",
                            target.name(),
                            code.listing()
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    eprintln!("{checked} reductions checked");
}

#[test]
fn reduction_over_different_classes_is_an_error() {
    let mut f = Function::new("k", Signature::default(), Target::x86_64_v3());
    let (a, b) = (f.ymm(), f.gp64());
    f.reduce_sum(&[a, b], Elem::F32);
    f.ret(None);
    let e = f.compile(Abi::SysV).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidOperands);
    assert!(e.message().contains("same width"), "{e}");
    assert_eq!(e.location().unwrap().line(), line!() - 5);
}
