//! Streaming kernels at the machine's limit: an f32 dot product, the seed paper's f64
//! VECTOR_SUM with its unroll factor and prefetch distance chosen at run time, and a
//! software-pipelined int32 vector add. Each is a fat binary (AVX-512 and AVX2+FMA variants,
//! SSE2 where it costs nothing, NEON on AArch64), checked against plain Rust
//! in the tests, and measured against rustc's code in `cargo bench --bench kernels`.

use peach_macros::peach_fn;

peach_fn! {
    /// `sum(x[i] * y[i])` over `n` floats, `n` a positive multiple of 64: four independent FMA
    /// accumulators (the FMA latency is 4 cycles and two loads feed each FMA).
    ///
    /// ```
    /// let x = vec![0.5f32; 64];
    /// let y = vec![4.0f32; 64];
    /// // SAFETY: 64 floats at each pointer.
    /// assert_eq!(unsafe { peach::kernels::streaming::dot_f32(x.as_ptr(), y.as_ptr(), 64) }, 128.0);
    /// ```
    ///
    /// # Safety
    ///
    /// `x` and `y` must point to `n` readable floats each.
    #[variants(x86_64::avx512, x86_64::haswell, x86_64::baseline, aarch64::neon, fallback = dot_f32_in_rust)]
    pub unsafe fn dot_f32(x: *const f32, y: *const f32, n: usize) -> f32 {
        if target.has_neon() {
            // Four accumulators of four lanes, 64 floats per iteration with post-indexed loads.
            let acc = [VEC(); 4];
            for a in acc {
                EOR(a.b16(), a.b16(), a.b16());
            }
            let top = Label::new();
            LABEL(top);
            for _ in 0..4 {
                for a in acc {
                    let (t, u) = (VEC(), VEC());
                    LDR(t.q(), [x].post(16));
                    LDR(u.q(), [y].post(16));
                    FMLA(a.s4(), t.s4(), u.s4());
                }
            }
            SUBS(n, n, 64);
            B_NE(top);
            FADD(acc[0].s4(), acc[0].s4(), acc[1].s4());
            FADD(acc[2].s4(), acc[2].s4(), acc[3].s4());
            FADD(acc[0].s4(), acc[0].s4(), acc[2].s4());
            FADDP(acc[0].s4(), acc[0].s4(), acc[0].s4());
            FADDP(acc[0].s(), acc[0].s2());
            RETURN(acc[0]);
        } else {
            let (zmm, ymm) = (target.has_avx512f(), target.has_fma3());
            let width = if zmm { 64 } else if ymm { 32 } else { 16 };
            let acc = if zmm { [ZMM(); 4] } else if ymm { [YMM(); 4] } else { [XMM(); 4] };
            for a in acc {
                if ymm { VXORPS(a, a, a); } else { XORPS(a, a); }
            }
            let top = Label::new();
            ALIGN(32);
            LABEL(top);
            let mut offset = 0;
            while offset < 256 {
                for a in acc {
                    if ymm {
                        let t = if zmm { ZMM() } else { YMM() };
                        VMOVUPS(t, [x + offset]);
                        VFMADD231PS(a, t, [y + offset]);
                    } else {
                        let t = XMM();
                        MOVUPS(t, [x + offset]);
                        MULPS(t, [y + offset]);
                        ADDPS(a, t);
                    }
                    offset += width;
                }
            }
            ADD(x, 256);
            ADD(y, 256);
            SUB(n, 64);
            JNZ(top);
            REDUCE_SUM(acc, f32);
            RETURN(acc[0].xmm());
        }
    }
}

/// [`dot_f32`] where no variant runs: plain Rust.
///
/// # Safety
///
/// As for [`dot_f32`].
pub unsafe fn dot_f32_in_rust(x: *const f32, y: *const f32, n: usize) -> f32 {
    // SAFETY: the caller passes `n` readable floats at each.
    let (x, y) = unsafe { (std::slice::from_raw_parts(x, n), std::slice::from_raw_parts(y, n)) };
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

peach_fn! {
    /// The seed paper's VECTOR_SUM: the sum of `n` doubles, `n` a positive multiple of
    /// `8 * unroll`, with `unroll` independent accumulators and, when `prefetch` is not zero, a
    /// software prefetch that many bytes ahead of each load (on NEON, of each 64-byte line).
    /// Built at run time for the best variant the CPU runs: AVX-512, AVX2 or NEON (an error on
    /// an x86-64 CPU with neither AVX-512 nor AVX2, or where the parameters do not encode, as a
    /// NEON prefetch past 32 KiB).
    ///
    /// ```
    /// # if cfg!(target_arch = "x86_64") && !peach::Target::native_x86_64().has_avx2() { return Ok(()); }
    /// let sum = peach::kernels::streaming::sum_f64(4, 0)?;
    /// let v: Vec<f64> = (0..64).map(f64::from).collect();
    /// // SAFETY: 64 doubles, a multiple of 8 * 4.
    /// assert_eq!(unsafe { sum.call(v.as_ptr(), v.len()) }, 2016.0);
    /// # Ok::<(), peach::Error>(())
    /// ```
    #[variants(x86_64::avx512, x86_64::haswell, aarch64::neon)]
    #[jit(unroll: usize, prefetch: usize)]
    pub unsafe fn sum_f64(array: *const f64, n: usize) -> f64 {
        let (neon, zmm) = (target.has_neon(), target.has_avx512f());
        let lanes = if neon { 2 } else if zmm { 8 } else { 4 };
        let acc: Vec<Reg> = (0..unroll).map(|_| if neon { VEC() } else if zmm { ZMM() } else { YMM() }).collect();
        for &a in &acc {
            if neon { EOR(a.b16(), a.b16(), a.b16()); } else { VXORPD(a, a, a); }
        }
        let top = Label::new();
        ALIGN(32);
        LABEL(top);
        // 8 unroll doubles a round: each accumulator takes as many vectors as make 8 doubles.
        let mut done = 0;
        while done < 8 * unroll {
            for &a in &acc {
                if done < 8 * unroll {
                    if prefetch != 0 && !neon {
                        PREFETCHT0([array + done * 8 + prefetch]);
                    }
                    // On NEON once per 64-byte line, every four vectors.
                    if prefetch != 0 && neon && done % 8 == 0 {
                        PRFM(PLDL1KEEP, [array + done * 8 + prefetch]);
                    }
                    if neon {
                        let x = VEC();
                        LDR(x.q(), [array + done * 8]);
                        FADD(a.d2(), a.d2(), x.d2());
                    } else {
                        VADDPD(a, a, [array + done * 8]);
                    }
                    done += lanes;
                }
            }
        }
        if neon {
            ADD(array, array, 64 * unroll);
            SUBS(n, n, 8 * unroll);
            B_NE(top);
            for &a in &acc[1..] {
                FADD(acc[0].d2(), acc[0].d2(), a.d2());
            }
            FADDP(acc[0].d(), acc[0].d2());
            RETURN(acc[0]);
        } else {
            ADD(array, 64 * unroll);
            SUB(n, 8 * unroll);
            JNZ(top);
            REDUCE_SUM(acc, f64);
            RETURN(acc[0].xmm());
        }
    }
}

peach_fn! {
    /// `c[i] = a[i] + b[i]` for `n` i32, `n` a positive multiple of 128, software-pipelined with
    /// instruction streams (the seed paper's Listing 7): each column's load, add and store are
    /// recorded into three streams and issued skewed, so that the loads run ahead of the adds
    /// and the adds ahead of the stores. zmm on AVX-512, ymm on AVX2, a plain NEON loop on
    /// AArch64; elsewhere plain Rust. On x86-64, outputs of 2^18 values and more (2^22 on
    /// Sapphire Rapids) that start on a vector boundary are written with non-temporal stores,
    /// past the caches.
    ///
    /// ```
    /// let a: Vec<i32> = (0..128).collect();
    /// let b = vec![i32::MAX; 128];
    /// let mut c = vec![0; 128];
    /// // SAFETY: 128 values at each pointer.
    /// unsafe { peach::kernels::add_i32(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), 128) };
    /// assert_eq!(c[1], i32::MIN);
    /// ```
    ///
    /// # Safety
    ///
    /// `a` and `b` must point to `n` readable i32 each and `c` to `n` writable ones.
    #[variants(x86_64::sapphirerapids, x86_64::avx512, x86_64::haswell, aarch64::neon, fallback = add_i32_in_rust)]
    pub unsafe fn add_i32(a: *const i32, b: *const i32, c: *mut i32, n: usize) {
        if target.has_neon() {
            add_neon(a, b, c, n);
        } else {
            add_x86(a, b, c, n);
        }

        // NEON: 32 values a round in register pairs (post-indexed LDP and STP), plain stores at
        // every size; the cores reorder the round themselves.
        fn add_neon(a: Reg, b: Reg, c: Reg, n: Reg) {
            let top = Label::new();
            LABEL(top);
            let (x, y) = ([VEC(); 8], [VEC(); 8]);
            for i in 0..4 {
                LDP(x[2 * i].q(), x[2 * i + 1].q(), [a].post(32));
                LDP(y[2 * i].q(), y[2 * i + 1].q(), [b].post(32));
            }
            for i in 0..8 {
                ADD(x[i].s4(), x[i].s4(), y[i].s4());
            }
            for i in 0..4 {
                STP(x[2 * i].q(), x[2 * i + 1].q(), [c].post(32));
            }
            SUBS(n, n, 32);
            B_NE(top);
        }

        // x86-64: zmm or ymm, non-temporal stores for large aligned outputs.
        fn add_x86(a: Reg, b: Reg, c: Reg, n: Reg) {
            const COLUMNS: usize = 8; // one pipeline of eight: measured faster than two of four
            let zmm = target.has_avx512f();
            let width = if zmm { 64 } else { 32 };
            let per_iteration = COLUMNS * width; // bytes of each array
            // Outputs too large to stay in the caches are written with non-temporal stores (no
            // read for ownership), when `c` is aligned as they need. On Sapphire Rapids, plain
            // stores keep up to 16 MiB of output, and non-temporal ones over lines still in the
            // caches run up to 2.3 times as slow (measured): there they start at 2^22 values.
            let (cached, done) = (Label::new(), Label::new());
            CMP(n, if target.is_sapphirerapids() { 1 << 22 } else { 1 << 18 });
            JB(cached);
            TEST(c.r8(), width - 1);
            JNZ(cached);
            // The same loop twice: with non-temporal stores, then (at `cached`) with plain ones.
            for streaming in [true, false] {
                if streaming == false {
                    LABEL(cached);
                }
                let top = Label::new();
                ALIGN(32);
                LABEL(top);
                let x = if zmm { [ZMM(); COLUMNS] } else { [YMM(); COLUMNS] };
                let loads = STREAM({
                    for i in 0..COLUMNS {
                        if zmm { VMOVDQU32(x[i], [a + i * width]); } else { VMOVDQU(x[i], [a + i * width]); }
                    }
                });
                let adds = STREAM({
                    for i in 0..COLUMNS {
                        VPADDD(x[i], x[i], [b + i * width]);
                    }
                });
                let stores = STREAM({
                    for i in 0..COLUMNS {
                        if streaming {
                            VMOVNTDQ([c + i * width], x[i]);
                        } else if zmm {
                            VMOVDQU32([c + i * width], x[i]);
                        } else {
                            VMOVDQU([c + i * width], x[i]);
                        }
                    }
                });
                // Stage k of column i issues at step i + k.
                ISSUE_SKEWED([loads, adds, stores], 1);
                ADD(a, per_iteration);
                ADD(b, per_iteration);
                ADD(c, per_iteration);
                SUB(n, per_iteration / 4);
                JNZ(top);
                if streaming {
                    SFENCE();
                    JMP(done);
                }
            }
            LABEL(done);
        }
    }
}

/// [`add_i32`] where no variant runs: plain Rust.
///
/// # Safety
///
/// As for [`add_i32`].
pub unsafe fn add_i32_in_rust(a: *const i32, b: *const i32, c: *mut i32, n: usize) {
    for i in 0..n {
        // SAFETY: the caller passes `n` values at each pointer.
        unsafe { *c.add(i) = (*a.add(i)).wrapping_add(*b.add(i)) };
    }
}
