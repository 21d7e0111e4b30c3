//! Software pipelining with instruction streams: the seed paper's Listing 7, an int32 vector add
//! `c[i] = a[i] + b[i]`. Each of the loop's four columns is load, add, store; the three stages are
//! recorded into streams and issued skewed, so that loads run ahead of the adds and the adds ahead
//! of the stores. The result is checked against plain Rust and the listing printed.
//!
//! Run with `cargo run --example pipelining`.

use peach::prelude::*;

/// `void add_i32(const i32* a, const i32* b, i32* c, usize n)`, `n` a positive multiple of 32.
fn add_i32() -> Result<CodeObject, Error> {
    const COLUMNS: usize = 4;
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Ptr, Type::Usize], None);
    let mut f = Function::new("add_i32", sig, Target::x86_64_v3());
    let (a, b, c, n) = (f.param(0), f.param(1), f.param(2), f.param(3));
    f.align(32);
    f.loop_block(|f, l| {
        let x: Vec<Reg> = (0..COLUMNS).map(|_| f.ymm()).collect();
        let mut loads = f.stream(|f| {
            for (i, &r) in x.iter().enumerate() {
                f.ins("vmovdqu", (r, [a + 32 * i]));
            }
        });
        let mut adds = f.stream(|f| {
            for (i, &r) in x.iter().enumerate() {
                f.ins("vpaddd", (r, r, [b + 32 * i]));
            }
        });
        let mut stores = f.stream(|f| {
            for (i, &r) in x.iter().enumerate() {
                f.ins("vmovdqu", ([c + 32 * i], r));
            }
        });
        // Skew: stage k of column i issues at step i + k.
        for step in 0..COLUMNS + 2 {
            if step < COLUMNS {
                f.issue(&mut loads, 1);
            }
            if (1..=COLUMNS).contains(&step) {
                f.issue(&mut adds, 1);
            }
            if step >= 2 {
                f.issue(&mut stores, 1);
            }
        }
        for p in [a, b, c] {
            f.ins("add", (p, 32 * COLUMNS));
        }
        f.ins("sub", (n, 8 * COLUMNS));
        f.ins("jnz", l.begin);
    });
    f.ret(None);
    f.compile(Abi::host())
}

pub fn main() {
    let code = add_i32().unwrap_or_else(|e| panic!("{e}"));
    println!("{}", code.listing());
    if !Target::native_x86_64().has_avx2() {
        println!("this CPU lacks AVX2: not run");
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let n = 1024;
        let a: Vec<i32> = (0..n).map(|i| i * 7 - 3000).collect();
        let b: Vec<i32> = (0..n).map(|i| i32::MAX - i).collect();
        let mut c = vec![0i32; n as usize];
        type Add = unsafe extern "C" fn(*const i32, *const i32, *mut i32, usize);
        let k = unsafe { Kernel::<Add>::load(&code).unwrap() };
        unsafe { (k.get())(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), n as usize) };
        let want: Vec<i32> = a.iter().zip(&b).map(|(x, y)| x.wrapping_add(*y)).collect();
        assert_eq!(c, want);
        println!("add_i32 of {n} elements: checked against Rust");
    }
}
