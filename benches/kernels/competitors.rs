//! The competitors: the naive loop, rustc's auto-vectorisation for the same ISA
//! (`#[target_feature]`), the same algorithm as peach's in `std::arch` intrinsics, and the
//! library functions (OpenBLAS's SGEMM where the machine has the library).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use peach::kernels::elementary::{exp_f64, ln_f64};
use peach::kernels::streaming::{add_i32, dot_f32};

// ---- peach, behind the same slice signatures as the others ----

pub fn dot_peach(x: &[f32], y: &[f32]) -> f32 {
    // SAFETY: both slices hold x.len() floats, a multiple of 64 in the benchmark.
    unsafe { dot_f32(x.as_ptr(), y.as_ptr(), x.len()) }
}

pub fn add_peach(a: &[i32], b: &[i32], c: &mut [i32]) {
    // SAFETY: the slices hold c.len() values, a multiple of 128 in the benchmark.
    unsafe { add_i32(a.as_ptr(), b.as_ptr(), c.as_mut_ptr(), c.len()) }
}

pub fn exp_peach(x: &[f64], y: &mut [f64]) {
    // SAFETY: the slices hold x.len() values, a multiple of 32 in the benchmark.
    unsafe { exp_f64(x.as_ptr(), y.as_mut_ptr(), x.len()) }
}

pub fn ln_peach(x: &[f64], y: &mut [f64]) {
    // SAFETY: as for exp_peach.
    unsafe { ln_f64(x.as_ptr(), y.as_mut_ptr(), x.len()) }
}

#[cfg(target_arch = "x86_64")]
/// peach's AVX2+FMA variant, for the record (the AVX-512 machine runs it too).
pub fn exp_peach_avx2(x: &[f64], y: &mut [f64]) {
    // SAFETY: as for exp_peach; this CPU has AVX2 and FMA.
    unsafe { peach::kernels::elementary::exp_f64_haswell(x.as_ptr(), y.as_mut_ptr(), x.len()) }
}

#[cfg(target_arch = "x86_64")]
/// peach's AVX2+FMA variant of ln.
pub fn ln_peach_avx2(x: &[f64], y: &mut [f64]) {
    // SAFETY: as for exp_peach_avx2.
    unsafe { peach::kernels::elementary::ln_f64_haswell(x.as_ptr(), y.as_mut_ptr(), x.len()) }
}

// ---- competitors: f32 dot ----

pub fn dot_naive(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// rustc's auto-vectorisation of one body: on x86-64 for AVX-512 (`$wide`) and for AVX2
/// (`$narrow`), on AArch64 for NEON (`$wide`: NEON is the target's baseline).
macro_rules! autovec {
    ($(#[$doc:meta])* $wide:ident, $narrow:ident, ($($arg:ident: $ty:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        pub fn $wide($($arg: $ty),*) $(-> $ret)? $body

        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        pub fn $narrow($($arg: $ty),*) $(-> $ret)? $body

        $(#[$doc])*
        #[cfg(target_arch = "aarch64")]
        pub fn $wide($($arg: $ty),*) $(-> $ret)? $body
    };
}

autovec!(dot_autovec, dot_autovec_avx2, (x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    for (a, b) in x.chunks_exact(16).zip(y.chunks_exact(16)) {
        for i in 0..16 {
            acc[i] += a[i] * b[i];
        }
    }
    acc.iter().sum()
});

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub fn dot_intrinsics(x: &[f32], y: &[f32]) -> f32 {
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut i = 0;
        while i + 64 <= x.len() {
            for (k, a) in acc.iter_mut().enumerate() {
                let xv = _mm512_loadu_ps(x.as_ptr().add(i + 16 * k));
                let yv = _mm512_loadu_ps(y.as_ptr().add(i + 16 * k));
                *a = _mm512_fmadd_ps(xv, yv, *a);
            }
            i += 64;
        }
        let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
        _mm512_reduce_add_ps(s)
    }
}

// ---- competitors: f64 sum ----

pub fn sum_naive(x: &[f64]) -> f64 {
    x.iter().sum()
}

autovec!(sum_autovec, sum_autovec_avx2, (x: &[f64]) -> f64 {
    let mut acc = [0f64; 32];
    for c in x.chunks_exact(32) {
        for i in 0..32 {
            acc[i] += c[i];
        }
    }
    acc.iter().sum()
});

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub fn sum_intrinsics(x: &[f64]) -> f64 {
    unsafe {
        let mut acc = [_mm512_setzero_pd(); 4];
        let mut i = 0;
        while i + 32 <= x.len() {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm512_add_pd(*a, _mm512_loadu_pd(x.as_ptr().add(i + 8 * k)));
            }
            i += 32;
        }
        _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])))
    }
}

// ---- competitors: i32 add ----

pub fn add_naive(a: &[i32], b: &[i32], c: &mut [i32]) {
    for i in 0..c.len() {
        c[i] = a[i].wrapping_add(b[i]);
    }
}

autovec!(add_autovec, add_autovec_avx2, (a: &[i32], b: &[i32], c: &mut [i32]) {
    for ((x, y), z) in a.iter().zip(b).zip(c.iter_mut()) {
        *z = x.wrapping_add(*y);
    }
});

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub fn add_intrinsics(a: &[i32], b: &[i32], c: &mut [i32]) {
    unsafe {
        let mut i = 0;
        while i + 64 <= c.len() {
            for k in 0..4 {
                let x = _mm512_loadu_si512(a.as_ptr().add(i + 16 * k).cast());
                let y = _mm512_loadu_si512(b.as_ptr().add(i + 16 * k).cast());
                _mm512_storeu_si512(c.as_mut_ptr().add(i + 16 * k).cast(), _mm512_add_epi32(x, y));
            }
            i += 64;
        }
    }
}

// ---- competitors: f64 exp ----

/// A sixteen-entry table of doubles (as bits) in two zmm, for VPERMT2PD.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn halves(t: &[u64; 16]) -> [__m512d; 2] {
    // SAFETY: each half holds 8 doubles.
    unsafe { [_mm512_loadu_pd(t.as_ptr().cast()), _mm512_loadu_pd(t[8..].as_ptr().cast())] }
}

pub fn exp_std(x: &[f64], y: &mut [f64]) {
    for (a, b) in x.iter().zip(y.iter_mut()) {
        *b = a.exp();
    }
}

pub fn exp_libm(x: &[f64], y: &mut [f64]) {
    for (a, b) in x.iter().zip(y.iter_mut()) {
        *b = libm::exp(*a);
    }
}

/// The same algorithm as peach's `exp_f64` AVX-512 variant, in intrinsics: the 1/16 shifter,
/// a two-part ln2, a degree-7 polynomial, the 16-entry table of 2^(j/16) read with
/// permutes and VSCALEFPD.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub fn exp_intrinsics(x: &[f64], y: &mut [f64]) {
    const HI: [u64; 16] = [
        0x3FF0000000000000,
        0x3FF0B5586CF9890F,
        0x3FF172B83C7D517B,
        0x3FF2387A6E756238,
        0x3FF306FE0A31B715,
        0x3FF3DEA64C123422,
        0x3FF4BFDAD5362A27,
        0x3FF5AB07DD485429,
        0x3FF6A09E667F3BCD,
        0x3FF7A11473EB0187,
        0x3FF8ACE5422AA0DB,
        0x3FF9C49182A3F090,
        0x3FFAE89F995AD3AD,
        0x3FFC199BDD85529C,
        0x3FFD5818DCFBA487,
        0x3FFEA4AFA2A490DA,
    ];
    const LO: [u64; 16] = [
        0x0000000000000000,
        0x3C98A62E4ADC610B,
        0xBC819041B9D78A75,
        0x3C99B07EB6C70574,
        0x3C86F46AD23182E6,
        0x3C8ADA0911F09EC0,
        0x3C7D4397AFEC42E8,
        0x3C96324C054647AE,
        0xBC9BDD3413B26455,
        0xBC841577EE04992A,
        0x3C96E9F156864B28,
        0x3C7C7C46B071F2C0,
        0x3C97A1CD345DCC84,
        0x3C811065895048E8,
        0x3C82ED02D75B370D,
        0xBC9E9C23179C2890,
    ];
    unsafe {
        let ([hi_a, hi_b], [lo_a, lo_b]) = (halves(&HI), halves(&LO));
        let shifter = _mm512_set1_pd(422212465065984.0);
        const COEFFS: [u64; 6] = [
            0x3F56C18208BAD91A,
            0x3F811123E07A4262,
            0x3FA55555554AC063,
            0x3FC555555547BA66,
            0x3FE0000000000003,
            0x3FF0000000000003,
        ];
        let coeffs = COEFFS.map(f64::from_bits);
        for i in (0..x.len()).step_by(8) {
            let mut t = _mm512_loadu_pd(x.as_ptr().add(i));
            t = _mm512_max_pd(_mm512_set1_pd(-746.0), t);
            t = _mm512_min_pd(_mm512_set1_pd(746.0), t);
            let u = _mm512_fmadd_pd(t, _mm512_set1_pd(std::f64::consts::LOG2_E), shifter);
            let nk = _mm512_sub_pd(u, shifter);
            let mut r = _mm512_fnmadd_pd(nk, _mm512_set1_pd(std::f64::consts::LN_2), t);
            r = _mm512_fnmadd_pd(nk, _mm512_set1_pd(2.3190468138462996e-17), r);
            let mut p = _mm512_set1_pd(coeffs[0]);
            for c in &coeffs[1..] {
                p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(*c));
            }
            let idx = _mm512_castpd_si512(u);
            let th = _mm512_permutex2var_pd(hi_a, idx, hi_b);
            let tl = _mm512_permutex2var_pd(lo_a, idx, lo_b);
            p = _mm512_add_pd(_mm512_fmadd_pd(p, _mm512_mul_pd(r, th), tl), th);
            _mm512_storeu_pd(y.as_mut_ptr().add(i), _mm512_scalef_pd(p, nk));
        }
    }
}

// ---- competitors: f64 ln ----

pub fn ln_std(x: &[f64], y: &mut [f64]) {
    for (a, b) in x.iter().zip(y.iter_mut()) {
        *b = a.ln();
    }
}

pub fn ln_libm(x: &[f64], y: &mut [f64]) {
    for (a, b) in x.iter().zip(y.iter_mut()) {
        *b = libm::log(*a);
    }
}

/// The same algorithm as peach's `ln_f64` AVX-512 variant, in intrinsics: VGETMANTPD and
/// VGETEXPPD, sixteen-entry tables of 1/c and ln c read with permutes, an exact
/// `r = m/c - 1`, Fast2Sum, a degree-11 polynomial and VFIXUPIMMPD for the special cases.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub fn ln_intrinsics(x: &[f64], y: &mut [f64]) {
    const INV_C: [u64; 16] = [
        0x3FF0000000000000,
        0x3FEE1E1E1E1E1E1E,
        0x3FEC71C71C71C71C,
        0x3FEAF286BCA1AF28,
        0x3FE999999999999A,
        0x3FE8618618618618,
        0x3FE745D1745D1746,
        0x3FE642C8590B2164,
        0x3FE5555555555555,
        0x3FF4E5E0A72F0539,
        0x3FF4141414141414,
        0x3FF3521CFB2B78C1,
        0x3FF29E4129E4129E,
        0x3FF1F7047DC11F70,
        0x3FF15B1E5F75270D,
        0x3FF0C9714FBCDA3B,
    ];
    const LN_C_HI: [u64; 16] = [
        0x0000000000000000,
        0x3FAF0A30C0000000,
        0x3FBE27076E000000,
        0x3FC5FF3070800000,
        0x3FCC8FF7C7800000,
        0x3FD1675CABC00000,
        0x3FD4618BC2000000,
        0x3FD739D7F6C00000,
        0x3FD9F323ECC00000,
        0xBFD1178E82400000,
        0xBFCD1037F2800000,
        0xBFC823C165800000,
        0xBFC365FCB0000000,
        0xBFBDA72764000000,
        0xBFB4D3115D000000,
        0xBFA894AA14000000,
    ];
    const LN_C_LO: [u64; 16] = [
        0x0000000000000000,
        0x3DA162A8617CC971,
        0x3DC57974F4F54400,
        0x3DD3C9EAE439F105,
        0x3DCA9A1FAC25D81F,
        0xBDD459F0FC63382B,
        0x3DDC5EC1FD0B7B38,
        0xBDB0BFE38C76CEB0,
        0xBD79ECC3525CA264,
        0x3DD81B8591CC74BE,
        0x3DCAA18527E75B6F,
        0x3DD72E1FD24659CE,
        0xBDC590146FA8234B,
        0x3DDEEE586BFE058F,
        0xBDC03F560ED3E859,
        0xBDD3F66956A2FA5E,
    ];
    unsafe {
        let ([ic_a, ic_b], [hi_a, hi_b], [lo_a, lo_b]) = (halves(&INV_C), halves(&LN_C_HI), halves(&LN_C_LO));
        const COEFFS: [u64; 8] = [
            0x3FBC7EED610CC9EF,
            0xBFC0066D8939E8B5,
            0x3FC24923558DBEF5,
            0xBFC55554534BD097,
            0x3FC9999999AFAB9E,
            0xBFD000000006790B,
            0x3FD5555555555520,
            0xBFDFFFFFFFFFFFF3,
        ];
        let coeffs = COEFFS.map(f64::from_bits);
        let one = _mm512_set1_pd(1.0);
        let classes = _mm512_set1_epi64(0x03530421);
        for i in (0..x.len()).step_by(8) {
            let v = _mm512_loadu_pd(x.as_ptr().add(i));
            let m = _mm512_getmant_pd::<_MM_MANT_NORM_P75_1P5, _MM_MANT_SIGN_NAN>(v);
            let e = _mm512_sub_pd(_mm512_getexp_pd(v), _mm512_getexp_pd(m));
            let index = _mm512_srli_epi64::<48>(_mm512_castpd_si512(_mm512_add_pd(m, _mm512_set1_pd(0.03125))));
            let ic = _mm512_permutex2var_pd(ic_a, index, ic_b);
            let product = _mm512_mul_pd(m, ic);
            let error = _mm512_fmsub_pd(ic, m, product);
            let mut l = _mm512_fmadd_pd(
                e,
                _mm512_set1_pd(f64::from_bits(0x3DEA39EF35793C76)),
                _mm512_permutex2var_pd(lo_a, index, lo_b),
            );
            l = _mm512_add_pd(l, error);
            let r = _mm512_sub_pd(product, one);
            let h = _mm512_fmadd_pd(
                e,
                _mm512_set1_pd(f64::from_bits(0x3FE62E42FEE00000)),
                _mm512_permutex2var_pd(hi_a, index, hi_b),
            );
            let mut p = _mm512_fmadd_pd(_mm512_set1_pd(coeffs[0]), r, _mm512_set1_pd(coeffs[1]));
            for c in &coeffs[2..] {
                p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(*c));
            }
            let w = _mm512_add_pd(h, r);
            l = _mm512_add_pd(l, _mm512_add_pd(_mm512_sub_pd(h, w), r));
            p = _mm512_add_pd(_mm512_fmadd_pd(p, _mm512_mul_pd(r, r), l), w);
            p = _mm512_fixupimm_pd::<0>(p, v, classes);
            _mm512_storeu_pd(y.as_mut_ptr().add(i), p);
        }
    }
}

// ---- competitors: SGEMM ----

/// `c = a b` for row-major `a` (m x k), `b` (k x n) and `c` (m x n), by `matrixmultiply`.
pub fn sgemm_matrixmultiply((m, n, k): (usize, usize, usize), a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let (lda, ldb) = (k as isize, n as isize);
    // SAFETY: the three slices hold their matrices (checked above), rows k, n and n apart.
    unsafe { matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), lda, 1, b.as_ptr(), ldb, 1, 0.0, c.as_mut_ptr(), ldb, 1) }
}

/// `c = a b` for row-major `a` (m x k), `b` (k x n) and `c` (m x n), by the `gemm` crate
/// (faer's) on one thread: dst = 0 dst + 1 a b.
pub fn sgemm_gemm((m, n, k): (usize, usize, usize), a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    let (lda, ldb) = (k as isize, n as isize);
    // SAFETY: as above.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            ldb,
            false,
            a.as_ptr(),
            1,
            lda,
            b.as_ptr(),
            1,
            ldb,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

// ---- competitors: SGEMM from OpenBLAS, where the machine has it ----

/// OpenBLAS's `cblas_sgemm` on one thread, loaded at run time where the library is installed
/// (Debian's `libopenblas0`, for instance), so that the benchmark builds and runs without it.
pub struct OpenBlas {
    sgemm: CblasSgemm,
}

/// `cblas_sgemm(layout, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)`.
type CblasSgemm =
    unsafe extern "C" fn(i32, i32, i32, i32, i32, i32, f32, *const f32, i32, *const f32, i32, f32, *mut f32, i32);

impl OpenBlas {
    /// The library, set to one thread, or `None` where it is not installed.
    #[cfg(not(unix))]
    pub fn load() -> Option<OpenBlas> {
        None
    }

    /// The library, set to one thread, or `None` where it is not installed.
    #[cfg(unix)]
    pub fn load() -> Option<OpenBlas> {
        use std::ffi::{c_char, c_int, c_void};
        unsafe extern "C" {
            fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
            fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
        }
        const RTLD_NOW: c_int = 2;
        for file in [c"libopenblas.so.0", c"libopenblas.so", c"libopenblas.dylib"] {
            // SAFETY: a NUL-terminated name; the library stays loaded for the process's life
            // (the handle is never closed), so the functions found in it stay valid.
            let handle = unsafe { dlopen(file.as_ptr(), RTLD_NOW) };
            if handle.is_null() {
                continue;
            }
            // SAFETY: as above, with a NUL-terminated symbol name.
            let (sgemm, threads) = unsafe {
                (dlsym(handle, c"cblas_sgemm".as_ptr()), dlsym(handle, c"openblas_set_num_threads".as_ptr()))
            };
            if sgemm.is_null() || threads.is_null() {
                return None;
            }
            // SAFETY: OpenBLAS's documented signatures for these two symbols.
            let (sgemm, threads) = unsafe {
                (
                    std::mem::transmute::<*mut c_void, CblasSgemm>(sgemm),
                    std::mem::transmute::<*mut c_void, unsafe extern "C" fn(c_int)>(threads),
                )
            };
            // SAFETY: takes any positive count.
            unsafe { threads(1) };
            return Some(OpenBlas { sgemm });
        }
        None
    }

    /// `c = a b` for row-major `a` (m x k), `b` (k x n) and `c` (m x n).
    pub fn sgemm(&self, (m, n, k): (usize, usize, usize), a: &[f32], b: &[f32], c: &mut [f32]) {
        const ROW_MAJOR: i32 = 101;
        const NO_TRANS: i32 = 111;
        assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
        let side = |x: usize| i32::try_from(x).expect("a size OpenBLAS takes");
        // SAFETY: the three slices hold their matrices (checked above), rows k, n and n apart.
        unsafe {
            (self.sgemm)(
                ROW_MAJOR,
                NO_TRANS,
                NO_TRANS,
                side(m),
                side(n),
                side(k),
                1.0,
                a.as_ptr(),
                side(k),
                b.as_ptr(),
                side(n),
                0.0,
                c.as_mut_ptr(),
                side(n),
            )
        }
    }
}
