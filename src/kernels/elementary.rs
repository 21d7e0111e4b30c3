//! Elementary functions over arrays, Yeppp! style: `y[i] = exp(x[i])` in f64.
//!
//! exp: clamp `x` to [-746, 710] (keeping NaN), split `x = n ln2 + r` with the 1.5 * 2^52 shifter
//! (which also leaves `n` in the low bits), two-constant Cody-Waite reduction so that
//! `|r| <= ln2 / 2`, a degree-13 Taylor polynomial by Horner's rule with FMA (truncation below
//! 0.02 ulp), then `2^n` applied in two halves so that overflow gives +inf, underflow rounds once
//! into the subnormals, and no step overflows on the way. NaN propagates; exp(+inf) = +inf,
//! exp(-inf) = 0.

use peach_macros::peach_fn;

peach_fn! {
    /// `y[i] = exp(x[i])` for `n` doubles, `n` a positive multiple of 32; at most 1 ulp of error
    /// (tested against a double-double reference), C99 special cases.
    ///
    /// # Safety
    ///
    /// `x` must point to `n` readable doubles and `y` to `n` writable ones.
    #[variants(x86_64::avx512, x86_64::haswell)]
    pub unsafe fn exp_f64(x: *const f64, y: *mut f64, n: usize) {
        fn vreg() -> Reg {
            if target.has_avx512f() { ZMM() } else { YMM() }
        }
        fn splat(v: f64) -> Constant {
            if target.has_avx512f() { Constant::f64x8_splat(v) } else { Constant::f64x4_splat(v) }
        }
        fn splat_u(v: u64) -> Constant {
            if target.has_avx512f() { Constant::u64x8_splat(v) } else { Constant::u64x4_splat(v) }
        }
        let zmm = target.has_avx512f();
        let width = if zmm { 64 } else { 32 };
        const SHIFTER: f64 = 6755399441055744.0; // 1.5 * 2^52
        const SHIFTER_BITS: u64 = 0x4338000000000000;
        // 1/k! for k = 0..=13, highest first.
        let mut coeffs = [1.0; 14];
        let mut f = 1.0;
        let mut kf = 1.0;
        for k in 1..14 {
            f = f / kf;
            kf += 1.0;
            coeffs[13 - k] = f;
        }
        let (lo, hi) = (vreg(), vreg());
        VMOVAPD(lo, splat(-746.0));
        VMOVAPD(hi, splat(710.0));
        // Several vectors at once, stage by stage, so that their dependency chains overlap.
        let group = if zmm { 4 } else { 2 };
        let top = Label::new();
        ALIGN(32);
        LABEL(top);
        let mut done = 0;
        while done < 256 {
            let t = [vreg(); 4];
            let k = [vreg(); 4];
            let r = [vreg(); 4];
            let p = [vreg(); 4];
            for j in 0..group {
                VMOVUPD(t[j], [x + done + j * width]);
                VMAXPD(t[j], lo, t[j]); // NaN stays NaN: it is the second operand
                VMINPD(t[j], hi, t[j]);
            }
            for j in 0..group {
                VMOVAPD(k[j], splat(SHIFTER));
                VFMADD231PD(k[j], t[j], splat(1.4426950408889634)); // x log2(e) + shifter: n in the low bits
            }
            for j in 0..group {
                let nf = vreg();
                VSUBPD(nf, k[j], splat(SHIFTER));
                VMOVAPD(r[j], t[j]);
                VFNMADD231PD(r[j], nf, splat(0.6931471805599453)); // ln2, high part
                VFNMADD231PD(r[j], nf, splat(2.3190468138462996e-17)); // ln2, low part
            }
            for j in 0..group {
                VMOVAPD(p[j], splat(coeffs[0]));
            }
            for i in 1..14 {
                for j in 0..group {
                    VFMADD213PD(p[j], r[j], splat(coeffs[i]));
                }
            }
            for j in 0..group {
                // 2^n in two halves: nb = n + 2048, h = floor(n/2) + 1024.
                let nb = vreg();
                VPSUBQ(nb, k[j], splat_u(SHIFTER_BITS - 2048));
                let h = vreg();
                VPSRLQ(h, nb, 1);
                let s2 = vreg();
                VPSUBQ(s2, nb, h);
                VPSUBQ(s2, s2, splat_u(1));
                VPSLLQ(s2, s2, 52);
                VPSUBQ(h, h, splat_u(1));
                VPSLLQ(h, h, 52);
                VMULPD(p[j], p[j], h);
                VMULPD(p[j], p[j], s2);
                VMOVUPD([y + done + j * width], p[j]);
            }
            done += group * width;
        }
        ADD(x, 256);
        ADD(y, 256);
        SUB(n, 32);
        JNZ(top);
    }
}
