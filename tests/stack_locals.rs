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
                        (k.get())(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7])
                    }
                    _ => {
                        let k =
                            Kernel::<K<unsafe extern "win64" fn(u64, u64, u64, u64, u64, u64, u64, u64) -> u64>>::load(
                                &code,
                            )
                            .unwrap();
                        (k.get())(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7])
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
    assert_eq!(e.kind(), ErrorKind::InvalidOperands);
    assert!(e.message().contains("stack local of 1073741824 bytes"), "{e}");
    assert_eq!(e.location().unwrap().line(), line!() - 5);
}
