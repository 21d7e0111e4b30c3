//! peach in one page: two kernels written with virtual registers, compiled for this machine,
//! loaded, run and checked against plain Rust.
//!
//! Run with `cargo run --release --example quickstart`.

use peach::prelude::*;

/// The seed paper's VECTOR_SUM: sum of `n` doubles (`n` a multiple of 16) with four AVX
/// accumulators, then a horizontal reduction.
fn vector_sum() -> Result<CodeObject, Error> {
    const UNROLL: usize = 4;
    let sig = Signature::new(&[Type::Ptr, Type::Usize], Some(Type::F64));
    let mut f = Function::new("vector_sum", sig, Target::x86_64_v3());
    let (array, n) = (f.param(0), f.param(1));
    let acc: Vec<Reg> = (0..UNROLL).map(|_| f.ymm()).collect();
    for &r in &acc {
        f.ins("vxorpd", (r, r, r));
    }
    let next = f.label();
    f.bind(next);
    for (i, &r) in acc.iter().enumerate() {
        f.ins("vaddpd", (r, r, [array + i * 32]));
    }
    f.ins("add", (array, UNROLL * 32));
    f.ins("sub", (n, UNROLL * 4));
    f.ins("jnz", next);
    // Tree reduction into lane 0 of acc[0].
    f.ins("vaddpd", (acc[0], acc[0], acc[1]));
    f.ins("vaddpd", (acc[2], acc[2], acc[3]));
    f.ins("vaddpd", (acc[0], acc[0], acc[2]));
    let hi = f.xmm();
    f.ins("vextractf128", (hi, acc[0], 1));
    f.ins("vaddpd", (acc[0].xmm(), acc[0].xmm(), hi));
    f.ins("vhaddpd", (acc[0].xmm(), acc[0].xmm(), acc[0].xmm()));
    f.ret(acc[0]);
    f.compile(Abi::host())
}

/// An AVX2+FMA f32 dot product of `n` floats (`n` a multiple of 16), two accumulators.
fn dot() -> Result<CodeObject, Error> {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], Some(Type::F32));
    let mut f = Function::new("dot", sig, Target::x86_64_v3());
    let (x, y, n) = (f.param(0), f.param(1), f.param(2));
    let acc = [f.ymm(), f.ymm()];
    for r in acc {
        f.ins("vxorps", (r, r, r));
    }
    let next = f.label();
    f.bind(next);
    for (i, &r) in acc.iter().enumerate() {
        let t = f.ymm();
        f.ins("vmovups", (t, [x + i * 32]));
        f.ins("vfmadd231ps", (r, t, [y + i * 32]));
    }
    f.ins("add", (x, 64));
    f.ins("add", (y, 64));
    f.ins("sub", (n, 16));
    f.ins("jnz", next);
    f.ins("vaddps", (acc[0], acc[0], acc[1]));
    let hi = f.xmm();
    f.ins("vextractf128", (hi, acc[0], 1));
    let s = acc[0].xmm();
    f.ins("vaddps", (s, s, hi));
    f.ins("vhaddps", (s, s, s));
    f.ins("vhaddps", (s, s, s));
    f.ret(acc[0]);
    f.compile(Abi::host())
}

fn main() -> Result<(), Error> {
    let host = Target::native_x86_64();
    if !(host.has("AVX2") && host.has("FMA")) {
        println!("this CPU lacks AVX2+FMA: the kernels are built and listed, but not run");
    }
    let sum_code = vector_sum()?;
    let dot_code = dot()?;
    println!("{}", sum_code.listing());
    println!("{}", dot_code.listing());
    println!(
        "ISA extensions used: vector_sum {:?}, dot {:?}\n",
        sum_code.extension_names(),
        dot_code.extension_names()
    );

    #[cfg(target_arch = "x86_64")]
    if host.has("AVX2") && host.has("FMA") {
        let data: Vec<f64> = (0..4096).map(|i| (i as f64) * 0.25 - 100.0).collect();
        let sum = unsafe { Kernel::<unsafe extern "C" fn(*const f64, usize) -> f64>::load(&sum_code)? };
        let got = unsafe { (sum.get())(data.as_ptr(), data.len()) };
        let want: f64 = data.iter().sum();
        println!("vector_sum: peach {got}, Rust {want}");
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "vector_sum disagrees with Rust");

        let x: Vec<f32> = (0..4096).map(|i| ((i % 17) as f32) * 0.5).collect();
        let y: Vec<f32> = (0..4096).map(|i| ((i % 13) as f32) - 6.0).collect();
        let dot = unsafe { Kernel::<unsafe extern "C" fn(*const f32, *const f32, usize) -> f32>::load(&dot_code)? };
        let got = unsafe { (dot.get())(x.as_ptr(), y.as_ptr(), x.len()) };
        let want: f32 = x.iter().zip(&y).map(|(a, b)| (*a as f64) * (*b as f64)).sum::<f64>() as f32;
        println!("dot: peach {got}, Rust {want}");
        assert!((got - want).abs() <= 1e-3 * want.abs().max(1.0), "dot disagrees with Rust");
        println!("\nboth kernels agree with plain Rust");
    }
    Ok(())
}
