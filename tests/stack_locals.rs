//! Stack locals for deliberate spills, including over-aligned ones that make the frame realign
//! itself with rbp; stack-passed parameters still arrive.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

/// `u64 f(a0..a7: u64) `: spills a vector through an `align`-aligned local with an aligned move
/// (which faults if the slot is misaligned), and adds the two stack-passed parameters.
fn kernel(abi: Abi, align: u32, target: Target) -> CodeObject {
    let params = [Type::U64; 8];
    let mut f = Function::new("locals", Signature::new(&params, Some(Type::U64)), target.clone());
    let a: Vec<Reg> = (0..8).map(|i| f.param(i)).collect();
    let slot = f.stack_local(align, align);
    let small = f.stack_local(8, 8);
    let (v, mov) = match align {
        16 => (f.xmm(), "movaps"),
        32 => (f.ymm(), "vmovaps"),
        _ => (f.zmm(), "vmovaps"),
    };
    if align == 16 {
        f.ins("pxor", (v, v));
    } else {
        f.ins("vpxor", (v.ymm(), v.ymm(), v.ymm()));
    }
    f.ins(mov, (slot, v)); // aligned store: faults unless the slot is aligned
    f.ins(mov, (v, slot));
    let acc = f.gp64();
    f.ins("mov", (acc, a[0]));
    for r in &a[1..] {
        f.ins("add", (acc, *r));
    }
    f.ins("mov", (small, acc));
    f.ins("mov", (acc, small.at(0)));
    let t = f.gp64();
    if align == 16 {
        f.ins("movq", (t, v.xmm()));
    } else {
        f.ins("vmovq", (t, v.xmm()));
    }
    f.ins("add", (acc, t));
    f.ret(acc);
    f.compile(abi).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn aligned_locals_and_stack_parameters() {
    let host = Target::native_x86_64();
    for (align, target) in [(16, Target::x86_64_baseline()), (32, Target::x86_64_v3()), (64, Target::x86_64_v4())] {
        if !target.extensions().is_subset(host.extensions()) {
            eprintln!("skipped {align}-byte locals: this CPU lacks {}", target.name());
            continue;
        }
        for abi in [Abi::SysV, Abi::Win64] {
            let code = kernel(abi, align, target.clone());
            let listing = code.listing();
            if align > 16 {
                assert!(listing.contains("and rsp, 0xffffffffffff") && listing.contains("push rbp"), "{listing}");
            }
            let args = [1u64, 2, 3, 4, 5, 6, 1000, 20000];
            let want: u64 = args.iter().sum();
            type K<A> = A;
            let got = unsafe {
                match abi {
                    Abi::SysV => {
                        let k = Kernel::<K<unsafe extern "sysv64" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> u64>>::load(&code).unwrap();
                        k.call(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7])
                    }
                    _ => {
                        let k =
                            Kernel::<K<unsafe extern "win64" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> u64>>::load(
                                &code,
                            )
                            .unwrap();
                        k.call(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7])
                    }
                }
            };
            assert_eq!(got, want, "{abi:?} align {align}\n{listing}");
        }
    }
}

#[test]
fn stack_local_too_large_is_an_error() {
    let mut f = Function::new("k", Signature::default(), Target::x86_64_baseline());
    let _ = f.stack_local(1 << 30, 16);
    f.ret(None);
    let e = f.compile(Abi::SysV).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(e.message().contains("stack local of 1073741824 bytes"), "{e}");
    assert_eq!(e.location().unwrap().line(), line!() - 5);
}

/// `u64 f(v: u64)` with a local of `bytes` bytes and a 16-byte one: stores `v` at both ends of
/// the big one and in the small one, and returns `2 * v` read back from them.
fn big_frame(abi: Abi, bytes: u32) -> Result<CodeObject, Error> {
    let mut f = Function::new("big", Signature::new(&[Type::U64], Some(Type::U64)), Target::x86_64_baseline());
    let v = f.param(0);
    let big = f.stack_local(bytes, 16);
    let last = f.stack_local(16, 16);
    f.ins("mov", (big, v));
    f.ins("mov", (big.at(bytes as i32 - 8), v));
    f.ins("mov", (last, v));
    let r = f.gp64();
    f.ins("mov", (r, last));
    f.ins("add", (r, big.at(bytes as i32 - 8)));
    f.ret(r);
    f.compile(abi)
}

/// Frames of a page or more are reserved and touched a page at a time; they run. On Win64,
/// whose unwind data describes prologues of up to 255 bytes, locals under 48 KiB always fit.
#[test]
fn large_frames_are_probed_page_by_page() {
    for (bytes, probes) in [(4000, 0), (5000, 1), (64 << 10, 16), ((1 << 20) - 16, 256)] {
        let code = big_frame(Abi::SysV, bytes).unwrap();
        let listing = code.listing();
        let touched = listing.matches("or qword ptr [rsp], 0").count();
        assert_eq!(touched, probes, "{bytes} bytes:\n{listing}");
        let k = unsafe { Kernel::<extern "sysv64" fn(u64) -> u64>::load(&code) }.unwrap();
        assert_eq!(k.call(21), 42, "{bytes} bytes");
        match big_frame(Abi::Win64, bytes) {
            Ok(code) => {
                let k = unsafe { Kernel::<extern "win64" fn(u64) -> u64>::load(&code) }.unwrap();
                assert_eq!(k.call(20), 40, "{bytes} bytes, Win64");
            }
            Err(e) => assert!(bytes >= 48 << 10 && e.kind() == ErrorKind::Limit, "{bytes} bytes: {e}"),
        }
    }
}

/// The reproducer: 2 GiB of locals used to emit `sub rsp, 0xffffffff80000018` (rsp moving up);
/// locals past 1 MiB in total are an error at the local that crosses the limit.
#[test]
fn frames_past_the_limit_are_errors() {
    let mut f = Function::new("huge", Signature::new(&[], None), Target::x86_64_baseline());
    for _ in 0..2048 {
        let _ = f.stack_local(1 << 20, 16);
    }
    let line = line!() - 2;
    f.ret(None);
    let e = f.compile(Abi::SysV).expect_err("2 GiB of locals");
    assert!(e.message().contains("more than 1048576 bytes"), "{e}");
    assert_eq!(e.location().unwrap().line(), line);
}
