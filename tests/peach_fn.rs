//! `peach_fn!`: kernels checked and assembled at compile time, linked into the binary's text
//! section and called like Rust functions.
#![cfg(target_arch = "x86_64")]

use peach::prelude::*;

peach_fn! {
    /// Sum of `n` doubles (`n` a positive multiple of 16): the seed paper's VECTOR_SUM.
    #[target(x86_64::haswell)]
    pub unsafe fn vector_sum(array: *const f64, n: usize) -> f64 {
        const UNROLL: usize = 4;
        let acc = [YMM(); UNROLL]; // four virtual registers
        for r in acc {
            VXORPD(r, r, r);
        }
        let next = Label::new();
        LABEL(next);
        for i in 0..UNROLL {
            VADDPD(acc[i], acc[i], [array + i * 32]);
        }
        ADD(array, UNROLL * 32);
        SUB(n, UNROLL * 4);
        JNZ(next);
        REDUCE_SUM(acc, f64);
        RETURN(acc[0].xmm());
    }
}

peach_fn! {
    /// A dot product that picks FMA when the target has it, with a custom instruction.
    #[target(x86_64::v3)]
    unsafe fn dot(x: *const f32, y: *const f32, n: usize) -> f32 {
        fn multiply_add(acc: Reg, a: Reg, b: Mem) {
            if target.has_fma3() {
                VFMADD231PS(acc, a, b);
            } else {
                let t = YMM();
                VMULPS(t, a, b);
                VADDPS(acc, acc, t);
            }
        }
        let acc = [YMM(); 2];
        for a in acc {
            VXORPS(a, a, a);
        }
        let top = Label::new();
        ALIGN(16);
        LABEL(top);
        for i in 0..2 {
            let t = YMM();
            VMOVUPS(t, [x + 32 * i]);
            multiply_add(acc[i], t, [y + 32 * i]);
        }
        ADD(x, 64);
        ADD(y, 64);
        SUB(n, 16);
        JNZ(top);
        VADDPS(acc[0], acc[1]); // the two-operand shorthand
        REDUCE_SUM(acc[0], f32);
        RETURN(acc[0].xmm());
    }
}

peach_fn! {
    /// Integer code with loops and branches evaluated at expansion time: sum of the squares
    /// of 1..=k for each k in 1..=4, unrolled into straight-line code.
    fn squares() -> u64 {
        let total = GP64();
        XOR(total.r32(), total.r32());
        let mut k = 1;
        while k <= 4 {
            for i in 1..=k {
                let sq = match i {
                    1 => 1,
                    2 | 3 => i * i,
                    _ => i * i * 1,
                };
                ADD(total, sq);
            }
            k += 1;
        }
        RETURN(total);
    }
}

#[test]
fn static_kernels_run() {
    let host = Target::native_x86_64();
    assert_eq!(squares(), 1 + (1 + 4) + (1 + 4 + 9) + (1 + 4 + 9 + 16));
    if !(host.has_avx2() && host.has_fma3()) {
        eprintln!("skipped: this CPU lacks AVX2+FMA");
        return;
    }
    let data: Vec<f64> = (0..1024).map(|i| i as f64 * 0.5 - 77.0).collect();
    let got = unsafe { vector_sum(data.as_ptr(), data.len()) };
    assert_eq!(got, data.iter().sum::<f64>());
    let x: Vec<f32> = (0..512).map(|i| (i % 9) as f32 - 4.0).collect();
    let y: Vec<f32> = (0..512).map(|i| (i % 5) as f32 * 0.25).collect();
    let got = unsafe { dot(x.as_ptr(), y.as_ptr(), x.len()) };
    assert_eq!(got, x.iter().zip(&y).map(|(a, b)| a * b).sum::<f32>());
}

#[test]
fn listings_are_constants() {
    assert!(VECTOR_SUM_LISTING.contains("vaddpd ymm"), "{VECTOR_SUM_LISTING}");
    assert!(DOT_LISTING.contains("vfmadd231ps"), "{DOT_LISTING}");
    assert!(SQUARES_LISTING.contains("ret"), "{SQUARES_LISTING}");
}
