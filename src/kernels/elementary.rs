//! Elementary functions over arrays, Yeppp! style: `y[i] = exp(x[i])` and `y[i] = ln(x[i])` in
//! f64.
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
    #[variants(x86_64::avx512, x86_64::haswell, fallback = exp_f64_in_rust)]
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
        // With 32 registers the polynomial's coefficients live in registers, not in memory
        // operands: loads are the scarcer resource.
        let cr = [vreg(); 14];
        if zmm {
            for i in 0..14 {
                VMOVAPD(cr[i], splat(coeffs[i]));
            }
        }
        // Several vectors at once, stage by stage, so that their dependency chains overlap.
        let group = if zmm { 3 } else { 2 };
        let top = Label::new();
        ALIGN(32);
        LABEL(top);
        let mut done = 0;
        while done < 256 {
            let left = (256 - done) / width;
            let g = if left < group { left } else { group };
            let t = [vreg(); 4];
            let k = [vreg(); 4];
            let r = [vreg(); 4];
            let p = [vreg(); 4];
            for j in 0..g {
                VMOVUPD(t[j], [x + done + j * width]);
                VMAXPD(t[j], lo, t[j]); // NaN stays NaN: it is the second operand
                VMINPD(t[j], hi, t[j]);
            }
            for j in 0..g {
                VMOVAPD(k[j], splat(SHIFTER));
                VFMADD231PD(k[j], t[j], splat(1.4426950408889634)); // x log2(e) + shifter: n in the low bits
            }
            for j in 0..g {
                let nf = vreg();
                VSUBPD(nf, k[j], splat(SHIFTER));
                VMOVAPD(r[j], t[j]);
                VFNMADD231PD(r[j], nf, splat(0.6931471805599453)); // ln2, high part
                VFNMADD231PD(r[j], nf, splat(2.3190468138462996e-17)); // ln2, low part
            }
            for j in 0..g {
                if zmm { VMOVAPD(p[j], cr[0]); } else { VMOVAPD(p[j], splat(coeffs[0])); }
            }
            for i in 1..14 {
                for j in 0..g {
                    if zmm { VFMADD213PD(p[j], r[j], cr[i]); } else { VFMADD213PD(p[j], r[j], splat(coeffs[i])); }
                }
            }
            for j in 0..g {
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
            done += g * width;
        }
        ADD(x, 256);
        ADD(y, 256);
        SUB(n, 32);
        JNZ(top);
    }
}

peach_fn! {
    /// `y[i] = ln(x[i])` for `n` doubles, `n` a positive multiple of 32; at most 1.5 ulp of
    /// error (tested against a double-double reference), correct for subnormal inputs, and the
    /// C99 special cases: ln(±0) = -inf, ln(x < 0) = NaN, ln(+inf) = +inf, ln(NaN) = NaN.
    ///
    /// `x = m 2^e` with `m` in [0.75, 1.5) (AVX-512: VGETMANTPD/VGETEXPPD, which also read
    /// subnormals; AVX2: exponent bits, subnormals pre-scaled by 2^52), then fdlibm's formulation
    /// `ln(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2)))` with `s = f / (2 + f)` and a degree-12
    /// series `R`, and `e ln2` in two parts.
    ///
    /// # Safety
    ///
    /// `x` must point to `n` readable doubles and `y` to `n` writable ones.
    #[variants(x86_64::avx512, x86_64::haswell, fallback = ln_f64_in_rust)]
    pub unsafe fn ln_f64(x: *const f64, y: *mut f64, n: usize) {
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
        // 2/(2k+1) for k = 12 down to 1.
        let mut coeffs = [0.0; 12];
        let mut k = 12;
        let mut denominator = 25.0;
        while k > 0 {
            coeffs[12 - k] = 2.0 / denominator;
            denominator -= 2.0;
            k -= 1;
        }
        let cr = [vreg(); 12];
        if zmm {
            for i in 0..12 {
                VMOVAPD(cr[i], splat(coeffs[i]));
            }
        }
        let top = Label::new();
        ALIGN(32);
        LABEL(top);
        let mut done = 0;
        while done < 256 {
            let v = vreg();
            VMOVUPD(v, [x + done]);
            let (m, e) = (vreg(), vreg());
            if zmm {
                VGETMANTPD(m, v, 0b1011); // [0.75, 1.5), NaN for negative inputs
                VGETEXPPD(e, v);
                let em = vreg();
                VGETEXPPD(em, m); // -1 when m < 1: then the exponent is one more
                VSUBPD(e, e, em);
            } else {
                // Subnormals: scale by 2^52 first.
                let small = vreg();
                VCMPPD(small, v, splat(2.2250738585072014e-308), 1); // v < MIN_POSITIVE
                let scaled = vreg();
                VMULPD(scaled, v, splat(4503599627370496.0));
                let xs = vreg();
                VBLENDVPD(xs, v, scaled, small);
                // m = mantissa with a biased exponent of 0 (in [1, 2)), e = exponent.
                VPSRLQ(e, xs, 52);
                VPAND(m, xs, splat_u(0x000F_FFFF_FFFF_FFFF));
                VPOR(m, m, splat_u(0x3FF0_0000_0000_0000));
                // As doubles: (bits | 2^52 as a double) - 2^52, then unbias and undo the scaling.
                VPOR(e, e, splat_u(0x4330_0000_0000_0000));
                VSUBPD(e, e, splat(4503599627370496.0 + 1023.0));
                let adjust = vreg();
                VANDPD(adjust, small, splat(52.0));
                VSUBPD(e, e, adjust);
                // [1, 2) to [0.75, 1.5): halve m and add one to e where m >= 1.5.
                let big = vreg();
                VCMPPD(big, m, splat(1.5), 13); // m >= 1.5
                let half = vreg();
                VMULPD(half, m, splat(0.5));
                VBLENDVPD(m, m, half, big);
                let one = vreg();
                VANDPD(one, big, splat(1.0));
                VADDPD(e, e, one);
            }
            let f = vreg();
            VSUBPD(f, m, splat(1.0));
            let s = vreg();
            VADDPD(s, f, splat(2.0));
            VDIVPD(s, f, s);
            let z = vreg();
            VMULPD(z, s, s);
            let r = vreg();
            if zmm { VMOVAPD(r, cr[0]); } else { VMOVAPD(r, splat(coeffs[0])); }
            for i in 1..12 {
                if zmm { VFMADD213PD(r, z, cr[i]); } else { VFMADD213PD(r, z, splat(coeffs[i])); }
            }
            VMULPD(r, r, z); // R(z) = sum 2 z^k / (2k + 1)
            let hfsq = vreg();
            VMULPD(hfsq, f, f);
            VMULPD(hfsq, hfsq, splat(0.5));
            let t = vreg();
            VADDPD(t, hfsq, r);
            let elo = vreg();
            VMULPD(elo, e, splat(1.90821492927058770002e-10)); // ln2, low part
            VFMADD231PD(elo, s, t); // s (hfsq + R) + e ln2_lo
            VSUBPD(hfsq, hfsq, elo);
            VSUBPD(hfsq, hfsq, f);
            let res = vreg();
            VMULPD(res, e, splat(6.93147180369123816490e-01)); // ln2, high part (exact products)
            VSUBPD(res, res, hfsq);
            // Special cases: ±0 -> -inf; and on AVX2, x < 0 or NaN -> NaN, +inf -> +inf.
            if zmm {
                let k0 = K();
                VCMPPD(k0, v, splat(0.0), 0); // == 0, either sign
                VMOVAPD(res.mask(k0), splat(-1.0 / 0.0));
            } else {
                let fix = vreg();
                VCMPPD(fix, v, splat(0.0), 0);
                VBLENDVPD(res, res, splat_u(0xFFF0_0000_0000_0000), fix);
                VCMPPD(fix, v, splat(1.0 / 0.0), 0);
                VBLENDVPD(res, res, v, fix); // +inf
                VCMPPD(fix, v, splat(0.0), 1); // x < 0
                VBLENDVPD(res, res, splat_u(0x7FF8_0000_0000_0000), fix);
                VCMPPD(fix, v, v, 3); // NaN
                VBLENDVPD(res, res, v, fix);
            }
            VMOVUPD([y + done], res);
            done += width;
        }
        ADD(x, 256);
        ADD(y, 256);
        SUB(n, 32);
        JNZ(top);
    }
}

/// [`exp_f64`] where no variant runs: `f64::exp`, element by element.
///
/// # Safety
///
/// As for [`exp_f64`].
pub unsafe fn exp_f64_in_rust(x: *const f64, y: *mut f64, n: usize) {
    for i in 0..n {
        // SAFETY: the caller passes `n` readable doubles at `x` and `n` writable ones at `y`.
        unsafe { *y.add(i) = (*x.add(i)).exp() };
    }
}

/// [`ln_f64`] where no variant runs: `f64::ln`, element by element.
///
/// # Safety
///
/// As for [`ln_f64`].
pub unsafe fn ln_f64_in_rust(x: *const f64, y: *mut f64, n: usize) {
    for i in 0..n {
        // SAFETY: as above.
        unsafe { *y.add(i) = (*x.add(i)).ln() };
    }
}
