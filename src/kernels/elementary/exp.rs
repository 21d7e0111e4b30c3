//! `exp_f64`: the AVX-512, AVX2 and NEON variants.

use peach_macros::peach_fn;

use super::exp_f64_in_rust;

peach_fn! {
    /// `y[i] = exp(x[i])` for `n` doubles, `n` a positive multiple of 32; at most 1 ulp of error
    /// (tested against a double-double reference), C99 special cases. Variants: AVX-512,
    /// AVX2+FMA and NEON; elsewhere `f64::exp`.
    /// On AVX-512, outputs of 2^18 values and more (2^22 on Sapphire Rapids) that start on a
    /// 64-byte boundary are written with non-temporal stores, past the caches.
    ///
    /// ```
    /// let x: Vec<f64> = (0..32).map(|i| i as f64 - 16.0).collect();
    /// let mut y = vec![0.0; 32];
    /// // SAFETY: 32 readable and 32 writable doubles.
    /// unsafe { peach::kernels::elementary::exp_f64(x.as_ptr(), y.as_mut_ptr(), 32) };
    /// assert!((y[17] - 1f64.exp()).abs() <= f64::EPSILON * y[17]);
    /// ```
    ///
    /// # Safety
    ///
    /// `x` must point to `n` readable doubles and `y` to `n` writable ones.
    #[variants(x86_64::sapphirerapids, x86_64::avx512, x86_64::haswell, aarch64::neon, fallback = exp_f64_in_rust)]
    pub unsafe fn exp_f64(x: *const f64, y: *mut f64, n: usize) {
        // AVX2 and NEON: e^r on |r| <= ln2/2, degree 11 (highest first), by Chebyshev
        // economization of its Taylor series. Generated (and checked against this code) by
        // `cargo test --release --test elementary -- polynomials`.
        const YEPPP_COEFFS: [u64; 12] = [
            0x3E5AF790C3B5DB40, 0x3E928B488E528556, 0x3EC71DDE70171677, 0x3EFA019911E3909B,
            0x3F2A01A01B82FBED, 0x3F56C16C1883128B, 0x3F8111111110DAED, 0x3FA555555554EFCE,
            0x3FC5555555555562, 0x3FE0000000000011, 0x3FF0000000000000, 0x3FF0000000000000,
        ];
        if target.has_neon() {
            exp_yeppp_neon(x, y, n);
        } else if target.has_avx512f() {
            exp_table_zmm(x, y, n);
        } else {
            exp_yeppp_ymm(x, y, n);
        }

        /// NEON: the AVX2 variant's general path, two doubles a register, two registers at a time.
        /// The coefficients sit two to a register and are read by element.
        fn exp_yeppp_neon(x: Reg, y: Reg, n: Reg) {
            const SHIFTER: f64 = 6755399441055744.0; // 1.5 * 2^52
            const SHIFTER_BITS: u64 = 0x4338000000000000;
            let coeffs = YEPPP_COEFFS;
            let pairs = [VEC(); 6];
            for i in 0..6 {
                LDR(pairs[i].q(), Constant::u64x2([coeffs[2 * i], coeffs[2 * i + 1]]));
            }
            let (lo, hi, shifter, log2e, ln2_hi, ln2_lo, bias) = (VEC(), VEC(), VEC(), VEC(), VEC(), VEC(), VEC());
            LDR(lo.q(), Constant::f64x2_splat(-746.0));
            LDR(hi.q(), Constant::f64x2_splat(710.0));
            LDR(shifter.q(), Constant::f64x2_splat(SHIFTER));
            LDR(log2e.q(), Constant::f64x2_splat(1.4426950408889634));
            LDR(ln2_hi.q(), Constant::f64x2_splat(0.6931471805599453));
            LDR(ln2_lo.q(), Constant::f64x2_splat(2.3190468138462996e-17));
            LDR(bias.q(), Constant::u64x2_splat(SHIFTER_BITS - 2046));
            const G: usize = 2; // registers per iteration, interleaved stage by stage
            let top = Label::new();
            LABEL(top);
            let (r, k, nf) = ([VEC(); G], [VEC(); G], [VEC(); G]);
            for j in 0..G {
                LDR(r[j].q(), [x].post(16));
                FMAX(r[j].d2(), r[j].d2(), lo.d2()); // NaN stays NaN
                FMIN(r[j].d2(), r[j].d2(), hi.d2());
                MOV(k[j].b16(), shifter.b16());
                FMLA(k[j].d2(), r[j].d2(), log2e.d2()); // x log2(e) + shifter: n in the low bits
                FSUB(nf[j].d2(), k[j].d2(), shifter.d2());
                FMLS(r[j].d2(), nf[j].d2(), ln2_hi.d2());
                FMLS(r[j].d2(), nf[j].d2(), ln2_lo.d2());
            }
            let mut p = [VEC(); G];
            for j in 0..G {
                DUP(p[j].d2(), pairs[0].d().lane(0));
            }
            for i in 1..12 {
                for j in 0..G {
                    let next = VEC();
                    DUP(next.d2(), pairs[i / 2].d().lane((i % 2) as u8));
                    FMLA(next.d2(), p[j].d2(), r[j].d2());
                    p[j] = next;
                }
            }
            for j in 0..G {
                // 2^n in two halves, as biased exponents (as in the AVX2 variant): with
                // m = n + 2046, h = floor(m/2) and s2 = m - h.
                let (m, h, s2) = (VEC(), VEC(), VEC());
                SUB(m.d2(), k[j].d2(), bias.d2());
                USHR(h.d2(), m.d2(), 1);
                SUB(s2.d2(), m.d2(), h.d2());
                SHL(s2.d2(), s2.d2(), 52);
                SHL(h.d2(), h.d2(), 52);
                FMUL(p[j].d2(), p[j].d2(), h.d2());
                FMUL(p[j].d2(), p[j].d2(), s2.d2());
                STR(p[j].q(), [y].post(16));
            }
            SUBS(n, n, 2 * G);
            B_NE(top);
        }

        /// AVX-512: `x = (k + j/16) ln2 + r` with `|r| <= ln2/32`, so that
        /// `exp(x) = 2^k 2^(j/16) e^r`. One FMA with the 1.5 * 2^48 shifter rounds `x log2(e)`
        /// to sixteenths (`j` lands in the low four bits, `k + j/16` is the shifter's
        /// difference); the two-part ln2 keeps `r` exact to 2^-58. `2^(j/16)` comes from a
        /// sixteen-entry table, high and low parts, held in two zmm each and read with VPERMT2PD;
        /// `(e^r - 1)/r` is an economized polynomial of degree 5 (2^-56 in the result); VSCALEFPD applies
        /// `2^k` with overflow to +inf and gradual underflow. Clamping to [-746, 746] first
        /// (NaN passes: it is the second operand) makes every large input a plain overflow or
        /// underflow. 10 FMA-unit operations per 8 doubles; 4 vectors per iteration, each
        /// an instruction stream issued a few instructions behind the one before.
        fn exp_table_zmm(x: Reg, y: Reg, n: Reg) {
            const SHIFTER: f64 = 422212465065984.0; // 1.5 * 2^48: rounds to multiples of 1/16
            // 2^(j/16) rounded to double, and what that rounding left out. Generated (and
            // checked against this code) by `cargo test --release --test elementary -- tables`.
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
            fn half(t: [u64; 16], h: usize) -> Constant {
                let b = 8 * h;
                Constant::u64x8([t[b], t[b + 1], t[b + 2], t[b + 3], t[b + 4], t[b + 5], t[b + 6], t[b + 7]])
            }
            let (hi_a, hi_b, lo_a, lo_b) = (half(table_hi, 0), half(table_hi, 1), half(table_lo, 0), half(table_lo, 1));
            // (e^r - 1)/r on |r| <= ln2/32, degree 5 (highest first), by Chebyshev economization
            // of its Taylor series: 2^-50 relative, 2^-56 in the result. Generated (and checked
            // against this code) by `cargo test --release --test elementary -- polynomials`.
            let coeffs = [
                0x3F56C18208BAD91Au64, 0x3F811123E07A4262, 0x3FA55555554AC063,
                0x3FC555555547BA66, 0x3FE0000000000003, 0x3FF0000000000003,
            ];
            let (lo, hi, shifter) = (ZMM(), ZMM(), ZMM());
            VMOVAPD(lo, Constant::f64x8_splat(-746.0));
            VMOVAPD(hi, Constant::f64x8_splat(746.0));
            VMOVAPD(shifter, Constant::f64x8_splat(SHIFTER));
            let c = [ZMM(); 6];
            for i in 0..6 {
                VMOVAPD(c[i], Constant::u64x8_splat(coeffs[i]));
            }
            // On Sapphire Rapids the table's four halves stay in registers, the lookup of its low
            // parts overwrites the index (VPERMI2PD, its last use) and the index starts as a copy
            // of the shifter's register: 1.13 cpe at 2048 values (kernels bench) against 1.21-1.24
            // with the halves read from memory in each permutation and the shifter loaded. Other
            // cores keep the form they were measured with.
            let in_registers = target.is_sapphirerapids();
            let (ha, hb, la, lb) = (ZMM(), ZMM(), ZMM(), ZMM());
            if in_registers {
                VMOVAPD(ha, hi_a);
                VMOVAPD(hb, hi_b);
                VMOVAPD(la, lo_a);
                VMOVAPD(lb, lo_b);
            }
            const G: usize = 4; // vectors per iteration
            // Outputs too large to stay in the caches are written with non-temporal stores
            // (no read for ownership: 16 bytes of traffic per element instead of 24), when `y`
            // is aligned as they need. On Sapphire Rapids, plain stores keep up to 16-32 MiB of
            // output, and non-temporal ones over lines still in the caches run up to twice as
            // slow (measured): there they start at 2^22 values.
            let (cached, done) = (Label::new(), Label::new());
            CMP(n, if target.is_sapphirerapids() { 1 << 22 } else { 1 << 18 });
            JB(cached);
            TEST(y.r8(), 63);
            JNZ(cached);
            // The same loop twice: with non-temporal stores, then (at `cached`) with plain ones.
            for streaming in [true, false] {
                if streaming == false {
                    LABEL(cached);
                }
                let top = Label::new();
                ALIGN(32);
                LABEL(top);
                // Each vector's computation is a stream; the streams are issued skewed, SKEW
                // instructions apart, so that the vectors are at different stages at any time
                // (measured: 1.5 % faster than issuing stage by stage).
                const SKEW: usize = 3;
                let mut streams = [STREAM({}); G];
                for j in 0..G {
                    streams[j] = STREAM({
                        let (r, u, nk, p, th, tl) = (ZMM(), ZMM(), ZMM(), ZMM(), ZMM(), ZMM());
                        VMOVUPD(r, [x + 64 * j]);
                        VMAXPD(r, lo, r);
                        VMINPD(r, hi, r);
                        if in_registers { VMOVAPD(u, shifter); } else { VMOVAPD(u, Constant::f64x8_splat(SHIFTER)); }
                        VFMADD231PD(u, r, Constant::f64x8_splat(1.4426950408889634)); // log2(e)
                        VSUBPD(nk, u, shifter); // k + j/16
                        VFNMADD231PD(r, nk, Constant::f64x8_splat(0.6931471805599453)); // ln2, high part
                        VFNMADD231PD(r, nk, Constant::f64x8_splat(2.3190468138462996e-17)); // ln2, low part
                        VMOVAPD(p, c[1]);
                        VFMADD231PD(p, r, c[0]);
                        for i in 2..6 {
                            VFMADD213PD(p, r, c[i]); // ends with about 1 + r/2 + r^2/6 + ...
                        }
                        let tl = if in_registers {
                            VMOVAPD(th, ha);
                            VPERMT2PD(th, u, hb);
                            VPERMI2PD(u, la, lb); // u's last use
                            u
                        } else {
                            VMOVAPD(th, hi_a);
                            VPERMT2PD(th, u, hi_b);
                            VMOVAPD(tl, lo_a);
                            VPERMT2PD(tl, u, lo_b);
                            tl
                        };
                        VMULPD(r, r, th);
                        VFMADD213PD(p, r, tl); // 2^(j/16) (e^r - 1), plus the table's low part
                        VADDPD(p, p, th);
                        VSCALEFPD(p, p, nk);
                        if streaming { VMOVNTPD([y + 64 * j], p); } else { VMOVUPD([y + 64 * j], p); }
                    });
                }
                ISSUE_SKEWED(streams, SKEW);
                ADD(x, 64 * G);
                ADD(y, 64 * G);
                SUB(n, 8 * G);
                JNZ(top);
                if streaming {
                    SFENCE();
                    JMP(done);
                }
            }
            LABEL(done);
        }

        /// AVX2: the shifter split `x = n ln2 + r`, `|r| <= ln2/2`, and the Taylor series of `e^r`
        /// economized to degree 11. An iteration checks its 32 inputs first: when all are
        /// within ±704 (finite results, normal ones), `2^n` is added to the result's exponent
        /// bits; otherwise the iteration takes the general path, which clamps the inputs and
        /// applies `2^n` in two halves, so that overflow gives +inf, underflow rounds once into
        /// the subnormals and no step overflows on the way. Both give the same bits where both
        /// apply (the scaling is exact on normal results).
        fn exp_yeppp_ymm(x: Reg, y: Reg, n: Reg) {
            const SHIFTER: f64 = 6755399441055744.0; // 1.5 * 2^52
            const SHIFTER_BITS: u64 = 0x4338000000000000;
            let coeffs = YEPPP_COEFFS;
            // Eight vectors per iteration, each an instruction stream, issued a few instructions
            // apart (4 on the usual path, 6 on the general one: measured best on Zen 3, near the
            // closest that sixteen registers allow).
            const G: usize = 8;
            let shifter = YMM();
            VMOVAPD(shifter, Constant::f64x4_splat(SHIFTER));
            let (top, next, general, done) = (Label::new(), Label::new(), Label::new(), Label::new());
            ALIGN(32);
            LABEL(top);
            // |x| >= 704 or NaN, in any of the iteration's inputs.
            let (magnitude, limit, unusual) = (YMM(), YMM(), YMM());
            VMOVAPD(magnitude, Constant::u64x4_splat(0x7FFF_FFFF_FFFF_FFFF));
            VMOVAPD(limit, Constant::f64x4_splat(704.0));
            VANDPD(unusual, magnitude, [x]);
            VCMPPD(unusual, unusual, limit, 5); // not less than, or unordered
            for j in 1..G {
                let w = YMM();
                VANDPD(w, magnitude, [x + 32 * j]);
                VCMPPD(w, w, limit, 5);
                VORPD(unusual, unusual, w);
            }
            VPTEST(unusual, unusual);
            JNZ(general);
            let (lo, hi) = (YMM(), YMM()); // the general path's clamps
            for usual in [true, false] {
                if usual == false {
                    LABEL(general);
                    VMOVAPD(lo, Constant::f64x4_splat(-746.0));
                    VMOVAPD(hi, Constant::f64x4_splat(710.0));
                }
                let mut streams = [STREAM({}); G];
                for j in 0..G {
                    streams[j] = STREAM({
                        let (r, k, nf, p) = (YMM(), YMM(), YMM(), YMM());
                        VMOVUPD(r, [x + j * 32]);
                        if usual == false {
                            VMAXPD(r, lo, r); // NaN stays NaN: it is the second operand
                            VMINPD(r, hi, r);
                        }
                        VMOVAPD(k, shifter);
                        VFMADD231PD(k, r, Constant::f64x4_splat(1.4426950408889634)); // n in the low bits
                        VSUBPD(nf, k, shifter);
                        VFNMADD231PD(r, nf, Constant::f64x4_splat(0.6931471805599453)); // ln2, high part
                        VFNMADD231PD(r, nf, Constant::f64x4_splat(2.3190468138462996e-17)); // ln2, low part
                        VMOVAPD(p, Constant::u64x4_splat(coeffs[0]));
                        for i in 1..12 {
                            VFMADD213PD(p, r, Constant::u64x4_splat(coeffs[i]));
                        }
                        if usual {
                            // n in the exponent's place (the shifter's low 12 bits are zero).
                            VPSLLQ(k, k, 52);
                            VPADDQ(p, p, k);
                        } else {
                            // 2^n in two halves, as biased exponents: with m = n + 2046, h =
                            // floor(m/2) = floor(n/2) + 1023 and s2 = m - h = n - floor(n/2) +
                            // 1023.
                            let (m, h, s2) = (YMM(), YMM(), YMM());
                            VPSUBQ(m, k, Constant::u64x4_splat(SHIFTER_BITS - 2046));
                            VPSRLQ(h, m, 1);
                            VPSUBQ(s2, m, h);
                            VPSLLQ(s2, s2, 52);
                            VPSLLQ(h, h, 52);
                            VMULPD(p, p, h);
                            VMULPD(p, p, s2);
                        }
                        VMOVUPD([y + j * 32], p);
                    });
                }
                ISSUE_SKEWED(streams, if usual { 4 } else { 6 });
                if usual {
                    LABEL(next);
                    ADD(x, 256);
                    ADD(y, 256);
                    SUB(n, 32);
                    JNZ(top);
                    JMP(done);
                } else {
                    JMP(next);
                }
            }
            LABEL(done);
        }
    }
}
