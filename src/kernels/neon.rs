//! AArch64 NEON kernels, written with the builder API. They compile on any host; the tests run
//! them under qemu-aarch64.

use peach_core::isa::aarch64::{A64Builder, A64Reg};
use peach_core::prelude::*;

/// A NEON dot product: `f32 dot(const f32* x, const f32* y, usize n)`, `n` a positive multiple
/// of 16, with four accumulators of four lanes and a pairwise reduction.
///
/// ```
/// # use peach::prelude::*;
/// let code = peach::kernels::neon::dot_f32(Abi::Aapcs64)?;
/// assert!(code.listing().contains("fmla v"));
/// # Ok::<(), peach::Error>(())
/// ```
pub fn dot_f32(abi: Abi) -> Result<CodeObject, Error> {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], Some(Type::F32));
    let mut f = Function::new("dot_f32_neon", sig, Target::aarch64_neon());
    let (x, y, n) = (f.param(0), f.param(1), f.param(2));
    let acc: Vec<Reg> = (0..4).map(|_| f.v()).collect();
    for &r in &acc {
        f.ins("eor", (r.b16(), r.b16(), r.b16()));
    }
    let next = f.label();
    f.bind(next);
    for (k, &r) in acc.iter().enumerate() {
        let (a, b) = (f.v(), f.v());
        f.ins("ldr", (a.q(), [x + 16 * k]));
        f.ins("ldr", (b.q(), [y + 16 * k]));
        f.ins("fmla", (r.s4(), a.s4(), b.s4()));
    }
    f.ins("add", (x, x, 64));
    f.ins("add", (y, y, 64));
    f.ins("subs", (n, n, 16));
    f.ins("b.ne", next);
    f.ins("fadd", (acc[0].s4(), acc[0].s4(), acc[1].s4()));
    f.ins("fadd", (acc[2].s4(), acc[2].s4(), acc[3].s4()));
    f.ins("fadd", (acc[0].s4(), acc[0].s4(), acc[2].s4()));
    f.ins("faddp", (acc[0].s4(), acc[0].s4(), acc[0].s4()));
    f.ins("faddp", (acc[0].s(), acc[0].s2()));
    f.ret(acc[0]);
    f.compile(abi)
}
