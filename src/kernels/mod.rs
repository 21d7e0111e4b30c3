//! Ready-made kernels. They are small, real and tested, and they double as examples of how peach
//! code reads: [`streaming`] (dot product, VECTOR_SUM, a software-pipelined add), [`elementary`]
//! (exp and ln) and [`gemm`] (SGEMM) are `peach_fn!` fat binaries or builder code; [`neon`] holds
//! AArch64 kernels; the two below are the quickstart's builder-API kernels.

mod caches;
pub mod elementary;
pub mod gemm;
pub mod neon;
pub mod streaming;

pub use streaming::add_i32;

use peach_core::prelude::*;

/// The seed paper's VECTOR_SUM: `f64 vector_sum(const f64* array, usize n)`, the sum of `n`
/// doubles (`n` a positive multiple of 16) with four AVX accumulators and a tree reduction.
///
/// ```
/// # use peach::prelude::*;
/// let code = peach::kernels::vector_sum(Abi::SysV)?;
/// assert!(code.listing().contains("vaddpd"));
/// # Ok::<(), peach::Error>(())
/// ```
pub fn vector_sum(abi: Abi) -> Result<CodeObject, Error> {
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
    f.compile(abi)
}

/// An AVX2+FMA dot product: `f32 dot(const f32* x, const f32* y, usize n)`, `n` a positive
/// multiple of 16, with two accumulators.
///
/// ```
/// # use peach::prelude::*;
/// let code = peach::kernels::dot_f32(Abi::Win64)?;
/// assert!(code.extension_names().contains(&"FMA"));
/// # Ok::<(), peach::Error>(())
/// ```
pub fn dot_f32(abi: Abi) -> Result<CodeObject, Error> {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], Some(Type::F32));
    let mut f = Function::new("dot_f32", sig, Target::x86_64_v3());
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
    f.compile(abi)
}
