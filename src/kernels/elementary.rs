//! Elementary functions over arrays, Yeppp! style: `y[i] = exp(x[i])` and `y[i] = ln(x[i])` in
//! f64.
//!
//! exp reduces with a shifter constant (which leaves the integer part in the low bits) and a
//! two-part ln2, then evaluates a short polynomial: on AVX-512 after a sixteen-entry table of
//! `2^(j/16)` read with permutes and finished by VSCALEFPD, on AVX2 a longer one with `2^n`
//! rebuilt from the exponent bits. Each variant's `fn` below says how.

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
        if target.has_avx512f() {
            exp_table_zmm(x, y, n);
        } else {
            exp_taylor_ymm(x, y, n);
        }

        /// AVX-512: `x = (k + j/16) ln2 + r` with `|r| <= ln2/32`, so that
        /// `exp(x) = 2^k 2^(j/16) e^r`. One FMA with the 1.5 * 2^48 shifter rounds `x log2(e)`
        /// to sixteenths (`j` lands in the low four bits, `k + j/16` is the shifter's
        /// difference); the two-part ln2 keeps `r` exact to 2^-58. `2^(j/16)` comes from a
        /// sixteen-entry table, high and low parts, held in two zmm each and read with VPERMT2PD;
        /// `e^r - 1` is a degree-7 Taylor polynomial (truncation 2^-59); VSCALEFPD applies
        /// `2^k` with overflow to +inf and gradual underflow. Clamping to [-746, 746] first
        /// (NaN passes: it is the second operand) makes every large input a plain overflow or
        /// underflow. 11 FMA-unit operations per 8 doubles, 4 vectors in flight per iteration.
        fn exp_table_zmm(x: Reg, y: Reg, n: Reg) {
            const SHIFTER: f64 = 422212465065984.0; // 1.5 * 2^48: rounds to multiples of 1/16
            // 2^(j/16) rounded to double, and what that rounding left out. Generated (and
            // checked against this code) by `cargo test --release --test elementary tables`.
            let table_hi = [
                0x3FF0000000000000u64, 0x3FF0B5586CF9890F, 0x3FF172B83C7D517B, 0x3FF2387A6E756238,
                0x3FF306FE0A31B715, 0x3FF3DEA64C123422, 0x3FF4BFDAD5362A27, 0x3FF5AB07DD485429,
                0x3FF6A09E667F3BCD, 0x3FF7A11473EB0187, 0x3FF8ACE5422AA0DB, 0x3FF9C49182A3F090,
                0x3FFAE89F995AD3AD, 0x3FFC199BDD85529C, 0x3FFD5818DCFBA487, 0x3FFEA4AFA2A490DA,
            ];
            let table_lo = [
                0x0000000000000000u64, 0x3C98A62E4ADC610B, 0xBC819041B9D78A75, 0x3C99B07EB6C70574,
                0x3C86F46AD23182E6, 0x3C8ADA0911F09EC0, 0x3C7D4397AFEC42E8, 0x3C96324C054647AE,
                0xBC9BDD3413B26455, 0xBC841577EE04992A, 0x3C96E9F156864B28, 0x3C7C7C46B071F2C0,
                0x3C97A1CD345DCC84, 0x3C811065895048E8, 0x3C82ED02D75B370D, 0xBC9E9C23179C2890,
            ];
            let hi_a = Constant::u64x8([table_hi[0], table_hi[1], table_hi[2], table_hi[3],
                                         table_hi[4], table_hi[5], table_hi[6], table_hi[7]]);
            let hi_b = Constant::u64x8([table_hi[8], table_hi[9], table_hi[10], table_hi[11],
                                         table_hi[12], table_hi[13], table_hi[14], table_hi[15]]);
            let lo_a = Constant::u64x8([table_lo[0], table_lo[1], table_lo[2], table_lo[3],
                                         table_lo[4], table_lo[5], table_lo[6], table_lo[7]]);
            let lo_b = Constant::u64x8([table_lo[8], table_lo[9], table_lo[10], table_lo[11],
                                         table_lo[12], table_lo[13], table_lo[14], table_lo[15]]);
            // 1/k! for k = 7 down to 2.
            let mut coeffs = [0.0; 6];
            let mut f = 1.0;
            let mut k = 1.0;
            let mut i = 0;
            while i < 7 {
                f = f / k;
                if i >= 1 { coeffs[6 - i] = f; }
                k += 1.0;
                i += 1;
            }
            let (lo, hi, shifter, one) = (ZMM(), ZMM(), ZMM(), ZMM());
            VMOVAPD(lo, Constant::f64x8_splat(-746.0));
            VMOVAPD(hi, Constant::f64x8_splat(746.0));
            VMOVAPD(shifter, Constant::f64x8_splat(SHIFTER));
            VMOVAPD(one, Constant::f64x8_splat(1.0));
            let c = [ZMM(); 6];
            for i in 0..6 {
                VMOVAPD(c[i], Constant::f64x8_splat(coeffs[i]));
            }
            const G: usize = 4; // vectors per iteration, interleaved stage by stage
            let top = Label::new();
            ALIGN(32);
            LABEL(top);
            let (r, u, nk, p, th, tl) = ([ZMM(); G], [ZMM(); G], [ZMM(); G], [ZMM(); G], [ZMM(); G], [ZMM(); G]);
            for j in 0..G {
                VMOVUPD(r[j], [x + 64 * j]);
                VMAXPD(r[j], lo, r[j]);
                VMINPD(r[j], hi, r[j]);
            }
            for j in 0..G {
                VMOVAPD(u[j], Constant::f64x8_splat(SHIFTER));
                VFMADD231PD(u[j], r[j], Constant::f64x8_splat(1.4426950408889634)); // log2(e)
            }
            for j in 0..G {
                VSUBPD(nk[j], u[j], shifter); // k + j/16
            }
            for j in 0..G {
                VFNMADD231PD(r[j], nk[j], Constant::f64x8_splat(0.6931471805599453)); // ln2, high part
            }
            for j in 0..G {
                VFNMADD231PD(r[j], nk[j], Constant::f64x8_splat(2.3190468138462996e-17)); // ln2, low part
            }
            for j in 0..G {
                VMOVAPD(p[j], c[1]);
                VFMADD231PD(p[j], r[j], c[0]);
            }
            for i in 2..6 {
                for j in 0..G {
                    VFMADD213PD(p[j], r[j], c[i]);
                }
            }
            for j in 0..G {
                VFMADD213PD(p[j], r[j], one); // 1 + r/2 + r^2/6 + ...
            }
            for j in 0..G {
                VMOVAPD(th[j], hi_a);
                VPERMT2PD(th[j], u[j], hi_b);
                VMOVAPD(tl[j], lo_a);
                VPERMT2PD(tl[j], u[j], lo_b);
            }
            for j in 0..G {
                VMULPD(r[j], r[j], th[j]);
                VFMADD213PD(p[j], r[j], tl[j]); // 2^(j/16) (e^r - 1), plus the table's low part
                VADDPD(p[j], p[j], th[j]);
                VSCALEFPD(p[j], p[j], nk[j]);
                VMOVUPD([y + 64 * j], p[j]);
            }
            ADD(x, 64 * G);
            ADD(y, 64 * G);
            SUB(n, 8 * G);
            JNZ(top);
        }

        /// AVX2: the shifter split `x = n ln2 + r`, `|r| <= ln2/2`, a degree-13 Taylor
        /// polynomial (truncation below 0.02 ulp), and `2^n` applied in two halves so that
        /// overflow gives +inf, underflow rounds once into the subnormals and no step overflows
        /// on the way.
        fn exp_taylor_ymm(x: Reg, y: Reg, n: Reg) {
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
            let (lo, hi) = (YMM(), YMM());
            VMOVAPD(lo, Constant::f64x4_splat(-746.0));
            VMOVAPD(hi, Constant::f64x4_splat(710.0));
            // Several vectors at once, stage by stage, so that their dependency chains overlap.
            const G: usize = 2;
            let top = Label::new();
            ALIGN(32);
            LABEL(top);
            let mut done = 0;
            while done < 256 {
                let (t, k, r, p) = ([YMM(); G], [YMM(); G], [YMM(); G], [YMM(); G]);
                for j in 0..G {
                    VMOVUPD(t[j], [x + done + j * 32]);
                    VMAXPD(t[j], lo, t[j]); // NaN stays NaN: it is the second operand
                    VMINPD(t[j], hi, t[j]);
                }
                for j in 0..G {
                    VMOVAPD(k[j], Constant::f64x4_splat(SHIFTER));
                    VFMADD231PD(k[j], t[j], Constant::f64x4_splat(1.4426950408889634)); // n in the low bits
                }
                for j in 0..G {
                    let nf = YMM();
                    VSUBPD(nf, k[j], Constant::f64x4_splat(SHIFTER));
                    VMOVAPD(r[j], t[j]);
                    VFNMADD231PD(r[j], nf, Constant::f64x4_splat(0.6931471805599453)); // ln2, high part
                    VFNMADD231PD(r[j], nf, Constant::f64x4_splat(2.3190468138462996e-17)); // ln2, low part
                }
                for j in 0..G {
                    VMOVAPD(p[j], Constant::f64x4_splat(coeffs[0]));
                }
                for i in 1..14 {
                    for j in 0..G {
                        VFMADD213PD(p[j], r[j], Constant::f64x4_splat(coeffs[i]));
                    }
                }
                for j in 0..G {
                    // 2^n in two halves: nb = n + 2048, h = floor(n/2) + 1024.
                    let nb = YMM();
                    VPSUBQ(nb, k[j], Constant::u64x4_splat(SHIFTER_BITS - 2048));
                    let h = YMM();
                    VPSRLQ(h, nb, 1);
                    let s2 = YMM();
                    VPSUBQ(s2, nb, h);
                    VPSUBQ(s2, s2, Constant::u64x4_splat(1));
                    VPSLLQ(s2, s2, 52);
                    VPSUBQ(h, h, Constant::u64x4_splat(1));
                    VPSLLQ(h, h, 52);
                    VMULPD(p[j], p[j], h);
                    VMULPD(p[j], p[j], s2);
                    VMOVUPD([y + done + j * 32], p[j]);
                }
                done += G * 32;
            }
            ADD(x, 256);
            ADD(y, 256);
            SUB(n, 32);
            JNZ(top);
        }
    }
}

peach_fn! {
    /// `y[i] = ln(x[i])` for `n` doubles, `n` a positive multiple of 32; at most 1 ulp of
    /// error (tested against a double-double reference), correct for subnormal inputs, and the
    /// C99 special cases: ln(±0) = -inf, ln(x < 0) = NaN, ln(+inf) = +inf, ln(NaN) = NaN.
    ///
    /// # Safety
    ///
    /// `x` must point to `n` readable doubles and `y` to `n` writable ones.
    #[variants(x86_64::avx512, x86_64::haswell, fallback = ln_f64_in_rust)]
    pub unsafe fn ln_f64(x: *const f64, y: *mut f64, n: usize) {
        if target.has_avx512f() {
            ln_table_zmm(x, y, n);
        } else {
            ln_fdlibm_ymm(x, y, n);
        }

        /// AVX-512: `x = m 2^e` with `m` in [0.75, 1.5) from VGETMANTPD and VGETEXPPD (which
        /// read subnormals too). The top four mantissa bits of `m + 1/32` pick one of sixteen
        /// centres `c`, so that `r = m/c - 1` (one FMA with a tabled `1/c`) has `|r| <= 1/32`
        /// and `c = 1` around 1, where no table term can cancel the result. Then
        /// `ln x = e ln2 + ln c + ln(1 + r)`: `e ln2_hi + ln(c)_hi` is exact (both on a 2^-32
        /// grid), adding `r` to it loses an error that Fast2Sum recovers, and that error, the low
        /// parts and `ln(1 + r) - r` (a degree-11 Taylor polynomial, truncation 2^-58) are
        /// added last, so that the result is rounded about once. The tables are read with VPERMT2PD; one VFIXUPIMMPD maps ±0 to
        /// -inf, negative inputs and -inf to NaN, +inf to itself and keeps NaN. 14 FMA-unit
        /// operations per 8 doubles, 4 vectors in flight per iteration.
        fn ln_table_zmm(x: Reg, y: Reg, n: Reg) {
            // 1/c rounded; ln(1/c) rounded to a multiple of 2^-32, and the rest. Generated (and
            // checked against this code) by `cargo test --release --test elementary tables`.
            let inv_c = [
                0x3FF0000000000000u64, 0x3FEE1E1E1E1E1E1E, 0x3FEC71C71C71C71C, 0x3FEAF286BCA1AF28,
                0x3FE999999999999A, 0x3FE8618618618618, 0x3FE745D1745D1746, 0x3FE642C8590B2164,
                0x3FE5555555555555, 0x3FF4E5E0A72F0539, 0x3FF4141414141414, 0x3FF3521CFB2B78C1,
                0x3FF29E4129E4129E, 0x3FF1F7047DC11F70, 0x3FF15B1E5F75270D, 0x3FF0C9714FBCDA3B,
            ];
            let ln_c_hi = [
                0x0000000000000000u64, 0x3FAF0A30C0000000, 0x3FBE27076E000000, 0x3FC5FF3070800000,
                0x3FCC8FF7C7800000, 0x3FD1675CABC00000, 0x3FD4618BC2000000, 0x3FD739D7F6C00000,
                0x3FD9F323ECC00000, 0xBFD1178E82400000, 0xBFCD1037F2800000, 0xBFC823C165800000,
                0xBFC365FCB0000000, 0xBFBDA72764000000, 0xBFB4D3115D000000, 0xBFA894AA14000000,
            ];
            let ln_c_lo = [
                0x0000000000000000u64, 0x3DA162A8617CC971, 0x3DC57974F4F54400, 0x3DD3C9EAE439F105,
                0x3DCA9A1FAC25D81F, 0xBDD459F0FC63382B, 0x3DDC5EC1FD0B7B38, 0xBDB0BFE38C76CEB0,
                0xBD79ECC3525CA264, 0x3DD81B8591CC74BE, 0x3DCAA18527E75B6F, 0x3DD72E1FD24659CE,
                0xBDC590146FA8234B, 0x3DDEEE586BFE058F, 0xBDC03F560ED3E859, 0xBDD3F66956A2FA5E,
            ];
            fn half(t: [u64; 16], h: usize) -> Constant {
                let b = 8 * h;
                Constant::u64x8([t[b], t[b + 1], t[b + 2], t[b + 3], t[b + 4], t[b + 5], t[b + 6], t[b + 7]])
            }
            // (-1)^(k+1)/k for k = 11 down to 2.
            let mut coeffs = [0.0; 10];
            let mut i = 0;
            let mut k = 11.0;
            while i < 10 {
                coeffs[i] = if i % 2 == 0 { 1.0 / k } else { -1.0 / k };
                k -= 1.0;
                i += 1;
            }
            let (one, offset, ln2_hi, ln2_lo) = (ZMM(), ZMM(), ZMM(), ZMM());
            VMOVAPD(one, Constant::f64x8_splat(1.0));
            VMOVAPD(offset, Constant::f64x8_splat(0.03125));
            VMOVAPD(ln2_hi, Constant::f64x8_splat(6.93147180369123816490e-01)); // 32 significant bits
            VMOVAPD(ln2_lo, Constant::f64x8_splat(1.90821492927058770002e-10));
            let c = [ZMM(); 5]; // the first five in registers, the rest from memory
            for i in 0..5 {
                VMOVAPD(c[i], Constant::f64x8_splat(coeffs[i]));
            }
            // VFIXUPIMMPD responses per input class (a nibble each, QNaN first): QNaN -> x,
            // SNaN -> quiet x, ±0 -> -inf, 1 -> keep, -inf -> NaN, +inf -> +inf, negative -> NaN,
            // positive -> keep.
            let classes = Constant::u64x8_splat(0x03530421);
            const G: usize = 4; // vectors per iteration, interleaved stage by stage
            let top = Label::new();
            ALIGN(32);
            LABEL(top);
            let (m, e, r, h, l, p) = ([ZMM(); G], [ZMM(); G], [ZMM(); G], [ZMM(); G], [ZMM(); G], [ZMM(); G]);
            for j in 0..G {
                let v = ZMM();
                VMOVUPD(v, [x + 64 * j]);
                VGETMANTPD(m[j], v, 0b1011); // [0.75, 1.5)
                VGETEXPPD(e[j], v);
                let em = ZMM();
                VGETEXPPD(em, m[j]); // -1 when m < 1: then the exponent is one more
                VSUBPD(e[j], e[j], em);
            }
            for j in 0..G {
                let index = ZMM();
                VADDPD(index, m[j], offset);
                VPSRLQ(index, index, 48);
                VMOVAPD(r[j], half(inv_c, 0));
                VPERMT2PD(r[j], index, half(inv_c, 1));
                VMOVAPD(h[j], half(ln_c_hi, 0));
                VPERMT2PD(h[j], index, half(ln_c_hi, 1));
                VMOVAPD(l[j], half(ln_c_lo, 0));
                VPERMT2PD(l[j], index, half(ln_c_lo, 1));
            }
            for j in 0..G {
                // r = m/c - 1 = (m (1/c) - 1) + (the product's rounding error), both exact: near
                // 1 the result is about as large as r, so r may not be rounded.
                let product = ZMM();
                VMULPD(product, m[j], r[j]);
                VFMSUB213PD(r[j], m[j], product);
                VFMADD231PD(l[j], e[j], ln2_lo);
                VADDPD(l[j], l[j], r[j]);
                VSUBPD(r[j], product, one);
                VFMADD231PD(h[j], e[j], ln2_hi); // exact
            }
            for j in 0..G {
                VMOVAPD(p[j], c[1]);
                VFMADD231PD(p[j], r[j], c[0]);
            }
            for i in 2..10 {
                for j in 0..G {
                    if i < 5 { VFMADD213PD(p[j], r[j], c[i]); } else { VFMADD213PD(p[j], r[j], Constant::f64x8_splat(coeffs[i])); }
                }
            }
            for j in 0..G {
                // w = high parts + r, and what its rounding lost (exact: |h| >= |r| or h = 0).
                let w = ZMM();
                VADDPD(w, h[j], r[j]);
                VSUBPD(h[j], h[j], w);
                VADDPD(h[j], h[j], r[j]);
                VADDPD(l[j], l[j], h[j]);
                VMULPD(r[j], r[j], r[j]);
                VFMADD213PD(p[j], r[j], l[j]); // ln(1 + r) - r, and every low part
                VADDPD(p[j], p[j], w);
                let v = ZMM();
                VMOVUPD(v, [x + 64 * j]); // loaded again: registers are the scarcer resource here
                VFIXUPIMMPD(p[j], v, classes, 0);
                VMOVUPD([y + 64 * j], p[j]);
            }
            ADD(x, 64 * G);
            ADD(y, 64 * G);
            SUB(n, 8 * G);
            JNZ(top);
        }

        /// AVX2: `x = m 2^e` with `m` in [0.75, 1.5) from the exponent bits (subnormals scaled
        /// by 2^52 first), then fdlibm's formulation
        /// `ln(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2)))` with `s = f / (2 + f)` and a degree-12
        /// series `R`, and `e ln2` in two parts; special cases by blends.
        fn ln_fdlibm_ymm(x: Reg, y: Reg, n: Reg) {
            // 2/(2k+1) for k = 12 down to 1.
            let mut coeffs = [0.0; 12];
            let mut k = 12;
            let mut denominator = 25.0;
            while k > 0 {
                coeffs[12 - k] = 2.0 / denominator;
                denominator -= 2.0;
                k -= 1;
            }
            let top = Label::new();
            ALIGN(32);
            LABEL(top);
            let mut done = 0;
            while done < 256 {
                let v = YMM();
                VMOVUPD(v, [x + done]);
                let (m, e) = (YMM(), YMM());
                // Subnormals: scale by 2^52 first.
                let small = YMM();
                VCMPPD(small, v, Constant::f64x4_splat(2.2250738585072014e-308), 1); // v < MIN_POSITIVE
                let scaled = YMM();
                VMULPD(scaled, v, Constant::f64x4_splat(4503599627370496.0));
                let xs = YMM();
                VBLENDVPD(xs, v, scaled, small);
                // m = mantissa with a biased exponent of 0 (in [1, 2)), e = exponent.
                VPSRLQ(e, xs, 52);
                VPAND(m, xs, Constant::u64x4_splat(0x000F_FFFF_FFFF_FFFF));
                VPOR(m, m, Constant::u64x4_splat(0x3FF0_0000_0000_0000));
                // As doubles: (bits | 2^52 as a double) - 2^52, then unbias and undo the scaling.
                VPOR(e, e, Constant::u64x4_splat(0x4330_0000_0000_0000));
                VSUBPD(e, e, Constant::f64x4_splat(4503599627370496.0 + 1023.0));
                let adjust = YMM();
                VANDPD(adjust, small, Constant::f64x4_splat(52.0));
                VSUBPD(e, e, adjust);
                // [1, 2) to [0.75, 1.5): halve m and add one to e where m >= 1.5.
                let big = YMM();
                VCMPPD(big, m, Constant::f64x4_splat(1.5), 13); // m >= 1.5
                let half = YMM();
                VMULPD(half, m, Constant::f64x4_splat(0.5));
                VBLENDVPD(m, m, half, big);
                let one = YMM();
                VANDPD(one, big, Constant::f64x4_splat(1.0));
                VADDPD(e, e, one);
                let f = YMM();
                VSUBPD(f, m, Constant::f64x4_splat(1.0));
                let s = YMM();
                VADDPD(s, f, Constant::f64x4_splat(2.0));
                VDIVPD(s, f, s);
                let z = YMM();
                VMULPD(z, s, s);
                let r = YMM();
                VMOVAPD(r, Constant::f64x4_splat(coeffs[0]));
                for i in 1..12 {
                    VFMADD213PD(r, z, Constant::f64x4_splat(coeffs[i]));
                }
                VMULPD(r, r, z); // R(z) = sum 2 z^k / (2k + 1)
                let hfsq = YMM();
                VMULPD(hfsq, f, f);
                VMULPD(hfsq, hfsq, Constant::f64x4_splat(0.5));
                let t = YMM();
                VADDPD(t, hfsq, r);
                let elo = YMM();
                VMULPD(elo, e, Constant::f64x4_splat(1.90821492927058770002e-10)); // ln2, low part
                VFMADD231PD(elo, s, t); // s (hfsq + R) + e ln2_lo
                VSUBPD(hfsq, hfsq, elo);
                VSUBPD(hfsq, hfsq, f);
                let res = YMM();
                VMULPD(res, e, Constant::f64x4_splat(6.93147180369123816490e-01)); // ln2, high part (exact products)
                VSUBPD(res, res, hfsq);
                // Special cases: ±0 -> -inf, +inf -> +inf, x < 0 -> NaN, NaN -> NaN.
                let fix = YMM();
                VCMPPD(fix, v, Constant::f64x4_splat(0.0), 0);
                VBLENDVPD(res, res, Constant::u64x4_splat(0xFFF0_0000_0000_0000), fix);
                VCMPPD(fix, v, Constant::f64x4_splat(1.0 / 0.0), 0);
                VBLENDVPD(res, res, v, fix); // +inf
                VCMPPD(fix, v, Constant::f64x4_splat(0.0), 1); // x < 0
                VBLENDVPD(res, res, Constant::u64x4_splat(0x7FF8_0000_0000_0000), fix);
                VCMPPD(fix, v, v, 3); // NaN
                VBLENDVPD(res, res, v, fix);
                VMOVUPD([y + done], res);
                done += 32;
            }
            ADD(x, 256);
            ADD(y, 256);
            SUB(n, 32);
            JNZ(top);
        }
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
