//! Generated code executes natively under both x86-64 calling conventions: System V through
//! `extern "sysv64"` and Microsoft x64 through `extern "win64"` function pointers, for 0 to 10
//! mixed integer, pointer and float parameters (stack-passed ones included) and both kinds of
//! result. Callee-saved registers hold canaries across a call and the stack pointer comes back.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;
use peach::regs_x86_64::*;

/// A kernel returning `sum((i + 1) * p_i)` over its parameters: as f64 over all of them, or as a
/// wrapping i64 over the integer ones. Each parameter has its own weight, so a parameter read
/// from the wrong place shows.
fn weighted_sum(abi: Abi, params: &[Type], ret: Type) -> CodeObject {
    let mut f = Function::new("weighted_sum", Signature::new(params, Some(ret)), Target::x86_64_baseline());
    let acc_i = f.gp64();
    let acc_f = f.xmm();
    f.ins("xor", (acc_i.r32(), acc_i.r32()));
    f.ins("xorpd", (acc_f, acc_f));
    for (i, ty) in params.iter().enumerate() {
        let p = f.param(i);
        let w = (i + 1) as i32;
        if ty.is_float() {
            let x = f.xmm();
            if *ty == Type::F32 {
                f.ins("cvtss2sd", (x, p));
            } else {
                f.ins("movapd", (x, p));
            }
            let g = f.gp64();
            let k = f.xmm();
            f.ins("mov", (g, w));
            f.ins("cvtsi2sd", (k, g));
            f.ins("mulsd", (x, k));
            f.ins("addsd", (acc_f, x));
        } else {
            let t = f.gp64();
            match ty {
                Type::I32 => f.ins("movsxd", (t, p.r32())),
                Type::U32 => f.ins("mov", (t.r32(), p.r32())),
                _ => f.ins("mov", (t, p)),
            }
            f.ins("imul", (t, t, w));
            f.ins("add", (acc_i, t));
            let x = f.xmm();
            f.ins("cvtsi2sd", (x, t));
            f.ins("addsd", (acc_f, x));
        }
    }
    if ret == Type::F64 {
        f.ret(acc_f);
    } else {
        f.ret(acc_i);
    }
    f.compile(abi).unwrap_or_else(|e| panic!("{e}"))
}

trait Value: Copy {
    const TY: Type;
    fn weighted(self, w: i64) -> (i64, f64);
}
macro_rules! int_value {
    ($($t:ty => $ty:ident),*) => {$(
        impl Value for $t {
            const TY: Type = Type::$ty;
            fn weighted(self, w: i64) -> (i64, f64) {
                let v = (self as i64).wrapping_mul(w);
                (v, v as f64)
            }
        }
    )*};
}
int_value!(i64 => I64, u64 => U64, i32 => I32, u32 => U32, usize => Usize);
impl Value for f64 {
    const TY: Type = Type::F64;
    fn weighted(self, w: i64) -> (i64, f64) {
        (0, self * w as f64)
    }
}
impl Value for f32 {
    const TY: Type = Type::F32;
    fn weighted(self, w: i64) -> (i64, f64) {
        (0, self as f64 * w as f64)
    }
}
impl Value for *const u8 {
    const TY: Type = Type::Ptr;
    fn weighted(self, w: i64) -> (i64, f64) {
        let v = (self as i64).wrapping_mul(w);
        (v, v as f64)
    }
}

macro_rules! case {
    ($name:ident: $($arg:ident : $t:ty = $v:expr),*) => {
        #[test]
        fn $name() {
            $(let $arg: $t = $v;)*
            let types = [$(<$t as Value>::TY),*];
            #[allow(unused_mut)]
            let (mut want_i, mut want_f) = (0i64, 0f64);
            let mut _w = 0i64;
            $(
                _w += 1;
                let (i, f) = Value::weighted($arg, _w);
                want_i = want_i.wrapping_add(i);
                want_f += f;
            )*
            for abi in [Abi::SysV, Abi::Win64] {
                let fcode = weighted_sum(abi, &types, Type::F64);
                let icode = weighted_sum(abi, &types, Type::I64);
                let (got_f, got_i) = unsafe {
                    match abi {
                        Abi::SysV => {
                            let kf = Kernel::<unsafe extern "sysv64" fn($($t),*) -> f64>::load(&fcode).unwrap();
                            let ki = Kernel::<unsafe extern "sysv64" fn($($t),*) -> i64>::load(&icode).unwrap();
                            (kf.call($($arg),*), ki.call($($arg),*))
                        }
                        _ => {
                            let kf = Kernel::<unsafe extern "win64" fn($($t),*) -> f64>::load(&fcode).unwrap();
                            let ki = Kernel::<unsafe extern "win64" fn($($t),*) -> i64>::load(&icode).unwrap();
                            (kf.call($($arg),*), ki.call($($arg),*))
                        }
                    }
                };
                assert_eq!(got_f, want_f, "{abi:?} f64 result\n{}", fcode.listing());
                assert_eq!(got_i, want_i, "{abi:?} i64 result\n{}", icode.listing());
            }
        }
    };
}

case!(no_params:);
case!(one_int: a: i64 = -7);
case!(one_float: a: f64 = 2.5);
case!(int_and_float: a: i64 = 3, b: f64 = -1.5);
case!(three_mixed: a: f32 = 0.75, b: u32 = 4_000_000_000, c: *const u8 = 0x1000 as *const u8);
case!(four_mixed: a: i32 = -5, b: f64 = 8.0, c: usize = 99, d: f32 = -0.5);
case!(five_mixed: a: f64 = 1.0, b: i64 = 2, c: f64 = 3.0, d: i64 = 4, e: f32 = 5.0);
case!(six_ints: a: i64 = 1, b: i64 = -2, c: i64 = 3, d: i64 = -4, e: i64 = 5, f: i64 = -6);
case!(seven_ints: a: i64 = 1, b: i64 = 2, c: i64 = 3, d: i64 = 4, e: i64 = 5, f: i64 = 6, g: i64 = 7);
case!(eight_mixed: a: i64 = 10, b: f64 = 0.5, c: i32 = -3, d: f32 = 1.25, e: u64 = 77, f: f64 = -8.0,
      g: *const u8 = 0x40 as *const u8, h: f32 = 3.5);
case!(nine_floats: a: f64 = 1.0, b: f64 = 2.0, c: f64 = 3.0, d: f64 = 4.0, e: f64 = 5.0, f: f64 = 6.0,
      g: f64 = 7.0, h: f64 = 8.0, i: f64 = 9.0);
case!(ten_ints: a: i64 = 1, b: i64 = 2, c: i64 = 3, d: i64 = 4, e: i64 = 5, f: i64 = 6, g: i64 = 7,
      h: i64 = 8, i: i64 = 9, j: i64 = 10);
case!(ten_mixed: a: i64 = -1, b: f64 = 2.5, c: *const u8 = 0x1234 as *const u8, d: f32 = -4.5, e: i32 = 5,
      f: f64 = 6.25, g: u64 = 7, h: f64 = -8.0, i: i64 = 9, j: f32 = 10.5);
case!(ten_floats_mixed_widths: a: f32 = 1.0, b: f64 = 2.0, c: f32 = 3.0, d: f64 = 4.0, e: f32 = 5.0,
      f: f64 = 6.0, g: f32 = 7.0, h: f64 = 8.0, i: f32 = 9.0, j: f64 = 10.0);

/// A kernel that keeps 14 general-purpose and 16 vector values live at once, so that it must
/// use (and save) every callee-saved register of either convention.
fn register_hog(abi: Abi) -> CodeObject {
    let mut f = Function::new("hog", Signature::new(&[Type::Ptr], Some(Type::I64)), Target::x86_64_v3());
    let p = f.param(0);
    let gp: Vec<Reg> = (0..14).map(|_| f.gp64()).collect();
    for (i, &r) in gp.iter().enumerate() {
        f.ins("mov", (r, [p + 8 * i]));
    }
    let vec: Vec<Reg> = (0..16).map(|_| f.ymm()).collect();
    for (i, &v) in vec.iter().enumerate() {
        f.ins("vbroadcastsd", (v, [p + 112 + 8 * i]));
    }
    for i in 1..16 {
        f.ins("vaddpd", (vec[0], vec[0], vec[i]));
    }
    for i in 1..14 {
        f.ins("add", (gp[0], gp[i]));
    }
    let t = f.gp64();
    f.ins("vcvttsd2si", (t, vec[0].xmm()));
    f.ins("add", (gp[0], t));
    f.ret(gp[0]);
    f.compile(abi).unwrap_or_else(|e| panic!("{e}"))
}

const CANARY: [u64; 8] = [
    0x1111_2222_3333_4444,
    0x5555_6666_7777_8888,
    0x9999_aaaa_bbbb_cccc,
    0xdddd_eeee_ffff_0001,
    0x0102_0304_0506_0708,
    0x1020_3040_5060_7080,
    0x0a0b_0c0d_0e0f_1011,
    0x2122_2324_2526_2728,
];

/// Calls `f(arg)` with canaries in every callee-saved register (rbx, rbp, r12-r15, rsi, rdi and
/// xmm6-15), then records rsp before and after the call, the registers after it and the result.
///
/// `out`: [rsp before, rsp after, rbx, rbp, r12, r13, r14, r15, rsi, rdi, result, xmm6..xmm15 low
/// halves].
unsafe fn call_with_canaries(f: usize, arg: *const i64, win64: bool, out: &mut [u64; 21]) {
    unsafe {
        std::arch::asm!(
            "push rbx", "push rbp", "push r12", "push r13", "push r14", "push r15",
            "push r10",
            "mov rax, rsp", "and rsp, -16", "push rax", "push rax",
            "sub rsp, 32",
            "mov [r10], rsp",
            "mov rbx, [r8]", "mov rbp, [r8 + 8]", "mov r12, [r8 + 16]", "mov r13, [r8 + 24]",
            "mov r14, [r8 + 32]", "mov r15, [r8 + 40]",
            "movq xmm6, [r8]", "movq xmm7, [r8 + 8]", "movq xmm8, [r8 + 16]", "movq xmm9, [r8 + 24]",
            "movq xmm10, [r8 + 32]", "movq xmm11, [r8 + 40]", "movq xmm12, [r8 + 48]", "movq xmm13, [r8 + 56]",
            "movq xmm14, [r8]", "movq xmm15, [r8 + 8]",
            "test r9, r9", "jz 3f", "mov rsi, [r8 + 48]", "mov rdi, [r8 + 56]", "mov rcx, rdx", "3:",
            "test r9, r9", "jnz 4f", "mov rdi, rdx", "4:",
            "call r11",
            "mov r10, rsp",
            "mov rcx, [rsp + 32]", "mov rcx, [rcx]",
            "mov [rcx + 8], r10",
            "mov [rcx + 16], rbx", "mov [rcx + 24], rbp", "mov [rcx + 32], r12", "mov [rcx + 40], r13",
            "mov [rcx + 48], r14", "mov [rcx + 56], r15", "mov [rcx + 64], rsi", "mov [rcx + 72], rdi",
            "mov [rcx + 80], rax",
            "movq [rcx + 88], xmm6", "movq [rcx + 96], xmm7", "movq [rcx + 104], xmm8", "movq [rcx + 112], xmm9",
            "movq [rcx + 120], xmm10", "movq [rcx + 128], xmm11", "movq [rcx + 136], xmm12",
            "movq [rcx + 144], xmm13", "movq [rcx + 152], xmm14", "movq [rcx + 160], xmm15",
            "add rsp, 32", "mov rsp, [rsp]",
            "pop r10",
            "pop r15", "pop r14", "pop r13", "pop r12", "pop rbp", "pop rbx",
            in("r11") f,
            in("rdx") arg,
            in("r10") out.as_mut_ptr(),
            in("r8") CANARY.as_ptr(),
            in("r9") win64 as u64,
            clobber_abi("sysv64", "win64"),
        );
    }
}

#[test]
fn callee_saved_registers_survive_and_stack_is_restored() {
    if !Target::native_x86_64().has("AVX2") {
        eprintln!("skipped: this CPU lacks AVX2");
        return;
    }
    let mut data: Vec<i64> = (1..=14).collect();
    data.extend((1..=16).map(|i| (i as f64).to_bits() as i64));
    let want: i64 = (1..=14).sum::<i64>() + (1..=16).sum::<i64>();
    for abi in [Abi::SysV, Abi::Win64] {
        let code = register_hog(abi);
        let k = unsafe { Kernel::<unsafe extern "C" fn()>::load(&code).unwrap() };
        let mut out = [0u64; 21];
        unsafe { call_with_canaries(k.get() as usize, data.as_ptr(), abi == Abi::Win64, &mut out) };
        let listing = code.listing();
        assert_eq!(out[0], out[1], "{abi:?}: rsp not restored\n{listing}");
        assert_eq!(out[10] as i64, want, "{abi:?}: wrong result\n{listing}");
        assert_eq!(&out[2..8], &CANARY[..6], "{abi:?}: rbx/rbp/r12-r15 clobbered\n{listing}");
        if abi == Abi::Win64 {
            assert_eq!(&out[8..10], &CANARY[6..8], "Win64: rsi/rdi clobbered\n{listing}");
            let xmm: Vec<u64> = (0..10).map(|i| CANARY[i % 8]).collect();
            assert_eq!(&out[11..21], &xmm[..], "Win64: xmm6-15 clobbered\n{listing}");
        }
    }
}

/// `load_argument` copies a parameter into a register of the user's choice (PeachPy's
/// `LOAD.ARGUMENT`), here a fixed one, under both conventions.
#[test]
fn load_argument_into_a_fixed_register() {
    for abi in [Abi::SysV, Abi::Win64] {
        let sig = Signature::new(&[Type::I64, Type::I64], Some(Type::I64));
        let mut f = Function::new("sub", sig, Target::x86_64_baseline());
        f.load_argument(R10, 1);
        let a = f.gp64();
        f.load_argument(a, 0);
        f.ins("sub", (a, R10));
        f.ret(a);
        let code = f.compile(abi).unwrap_or_else(|e| panic!("{e}"));
        let got = unsafe {
            match abi {
                Abi::SysV => Kernel::<unsafe extern "sysv64" fn(i64, i64) -> i64>::load(&code).unwrap().call(50, 8),
                _ => Kernel::<unsafe extern "win64" fn(i64, i64) -> i64>::load(&code).unwrap().call(50, 8),
            }
        };
        assert_eq!(got, 42, "{abi:?}\n{}", code.listing());
    }
}

/// Branches whose targets are out of a short jump's reach grow to near jumps, backward (a loop
/// with a long body) and forward (a jump over a long block).
#[test]
fn long_branches() {
    let sig = Signature::new(&[Type::U64], Some(Type::U64));
    let mut f = Function::new("long", sig, Target::x86_64_baseline());
    let n = f.param(0);
    let acc = f.gp64();
    f.ins("xor", (acc.r32(), acc.r32()));
    let (top, skip) = (f.label(), f.label());
    f.bind(top);
    for _ in 0..60 {
        f.ins("add", (acc, 1000)); // 7 bytes each
    }
    f.ins("sub", (n, 1));
    f.ins("jnz", top);
    f.ins("jmp", skip);
    for _ in 0..60 {
        f.ins("add", (acc, 1000));
    }
    f.bind(skip);
    f.ins("add", (acc, 1));
    f.ret(acc);
    let code = f.compile(Abi::SysV).unwrap();
    let listing = code.listing();
    assert!(listing.contains("0f85") && listing.contains("e9"), "near jne and jmp expected:\n{listing}");
    let k = unsafe { Kernel::<unsafe extern "sysv64" fn(u64) -> u64>::load(&code).unwrap() };
    assert_eq!(unsafe { k.call(3) }, 3 * 60 * 1000 + 1, "{listing}");
}
