//! One generator, four kernels: the seed paper's VECTOR_OP, `c[i] = a[i] op b[i]` for add and
//! subtract on 32- and 64-bit integers, chosen by Rust arguments at generation time. All four
//! run and are checked against plain Rust.
//!
//! Run with `cargo run --example generalized_kernel`.

use peach::prelude::*;

#[derive(Clone, Copy, Debug)]
enum IntOp {
    Add,
    Sub,
}

/// `void vector_op(const T* a, const T* b, T* c, usize n)`, `n` a multiple of 16 / size_of::<T>()
/// times 2 (two 32-byte vectors per iteration).
fn vector_op(op: IntOp, bits: u32) -> Result<CodeObject, Error> {
    let mnemonic = match (op, bits) {
        (IntOp::Add, 32) => "vpaddd",
        (IntOp::Add, _) => "vpaddq",
        (IntOp::Sub, 32) => "vpsubd",
        (IntOp::Sub, _) => "vpsubq",
    };
    let per_vector = 256 / bits as usize;
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr, Type::Usize], None);
    let mut f = Function::new(format!("vector_{op:?}_{bits}").to_lowercase(), sig, Target::x86_64_v3());
    let (a, b, c, n) = (f.param(0), f.param(1), f.param(2), f.param(3));
    f.loop_block(|f, l| {
        for i in 0..2 {
            let x = f.ymm();
            f.ins("vmovdqu", (x, [a + 32 * i]));
            f.ins(mnemonic, (x, x, [b + 32 * i]));
            f.ins("vmovdqu", ([c + 32 * i], x));
        }
        for p in [a, b, c] {
            f.ins("add", (p, 64));
        }
        f.ins("sub", (n, 2 * per_vector));
        f.ins("jnz", l.begin);
    });
    f.ret(None);
    f.compile(Abi::host())
}

/// Runs a kernel on `a` and `b` and compares with `op` applied lane by lane in Rust.
#[cfg(target_arch = "x86_64")]
fn check<T: Copy + Default + PartialEq + std::fmt::Debug>(
    k: &Kernel<unsafe extern "C" fn(*const u8, *const u8, *mut u8, usize)>,
    a: &[T],
    b: &[T],
    op: fn(T, T) -> T,
) {
    let mut c = vec![T::default(); a.len()];
    unsafe { k.call(a.as_ptr().cast(), b.as_ptr().cast(), c.as_mut_ptr().cast(), a.len()) };
    let want: Vec<T> = a.iter().zip(b).map(|(x, y)| op(*x, *y)).collect();
    assert_eq!(c, want);
}

pub fn main() {
    for op in [IntOp::Add, IntOp::Sub] {
        for bits in [32, 64] {
            let code = vector_op(op, bits).unwrap_or_else(|e| panic!("{e}"));
            println!("{}", code.listing());
            if !Target::native_x86_64().has_avx2() {
                println!("(this CPU lacks AVX2: not run)");
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            {
                let n = 64;
                type K = unsafe extern "C" fn(*const u8, *const u8, *mut u8, usize);
                let k = unsafe { Kernel::<K>::load(&code).unwrap() };
                if bits == 32 {
                    let a: Vec<i32> = (0..n).map(|i| i * 1_000_003 - 7).collect();
                    let b: Vec<i32> = (0..n).map(|i| i32::MAX - i * 3).collect();
                    let f = match op {
                        IntOp::Add => i32::wrapping_add,
                        IntOp::Sub => i32::wrapping_sub,
                    };
                    check(&k, &a, &b, f);
                } else {
                    let a: Vec<i64> = (0..n as i64).map(|i| i * 1_000_000_007 - 7).collect();
                    let b: Vec<i64> = (0..n as i64).map(|i| i64::MIN + i * 3).collect();
                    let f = match op {
                        IntOp::Add => i64::wrapping_add,
                        IntOp::Sub => i64::wrapping_sub,
                    };
                    check(&k, &a, &b, f);
                }
                println!("vector_{op:?}_{bits}: checked against Rust\n");
            }
        }
    }
}
