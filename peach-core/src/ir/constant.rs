//! Constants written where they are used: `f.ins("vmulpd", (x, x, Constant::f64x4_splat(0.5)))`.
//!
//! A constant is its bytes; the code object pools them: constants with the same bytes share one
//! slot whatever their element type, each slot is aligned to its size, and instructions reach them
//! RIP-relative (or PC-relative).

/// A constant of 1 to 64 bytes (a power of two), used as a memory operand.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Constant {
    bytes: [u8; 64],
    len: u8,
}

impl std::fmt::Debug for Constant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Constant({:02x?})", self.bytes())
    }
}

impl Constant {
    /// A constant from its bytes (little-endian lanes); `None` unless the length is a power of two
    /// from 1 to 64.
    ///
    /// ```
    /// use peach_core::ir::Constant;
    /// assert_eq!(Constant::from_bytes(&[1, 2, 3, 4]).unwrap().len(), 4);
    /// assert!(Constant::from_bytes(&[1, 2, 3]).is_none());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Option<Constant> {
        if !bytes.len().is_power_of_two() || bytes.len() > 64 {
            return None;
        }
        let mut c = Constant { bytes: [0; 64], len: bytes.len() as u8 };
        c.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(c)
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Size in bytes (also its alignment).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the constant is empty (never: constants have 1 to 64 bytes).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn lanes<const N: usize, const W: usize>(values: [[u8; W]; N]) -> Constant {
        let mut c = Constant { bytes: [0; 64], len: (N * W) as u8 };
        for (i, v) in values.iter().enumerate() {
            c.bytes[i * W..(i + 1) * W].copy_from_slice(v);
        }
        c
    }
}

macro_rules! constants {
    ($($ty:ident: $($lanes:ident $splat:ident $n:literal),*;)*) => {
        impl Constant {
            /// The names of the constructors below, for front ends that spell them as text
            /// (`peach_fn!`'s static mode).
            ///
            /// ```
            /// use peach_core::ir::Constant;
            /// assert!(Constant::CONSTRUCTORS.contains(&"f64x4_splat"));
            /// assert!(!Constant::CONSTRUCTORS.contains(&"u32x2"));
            /// ```
            pub const CONSTRUCTORS: &[&str] = &[$(stringify!($ty), $(stringify!($lanes), stringify!($splat)),*),*];
            $(
                #[doc = concat!("A scalar `", stringify!($ty), "` constant.")]
                pub fn $ty(v: $ty) -> Constant {
                    Constant::lanes([v.to_le_bytes()])
                }
                $(
                    #[doc = concat!("A vector of ", stringify!($n), " `", stringify!($ty), "` lanes, lane 0 first.")]
                    pub fn $lanes(v: [$ty; $n]) -> Constant {
                        Constant::lanes(v.map(|x| x.to_le_bytes()))
                    }
                    #[doc = concat!("A vector of ", stringify!($n), " `", stringify!($ty), "` lanes, all equal.")]
                    pub fn $splat(v: $ty) -> Constant {
                        Constant::lanes([v.to_le_bytes(); $n])
                    }
                )*
            )*
        }
    };
}

constants! {
    f32: f32x4 f32x4_splat 4, f32x8 f32x8_splat 8, f32x16 f32x16_splat 16;
    f64: f64x2 f64x2_splat 2, f64x4 f64x4_splat 4, f64x8 f64x8_splat 8;
    i8: i8x16 i8x16_splat 16, i8x32 i8x32_splat 32, i8x64 i8x64_splat 64;
    u8: u8x16 u8x16_splat 16, u8x32 u8x32_splat 32, u8x64 u8x64_splat 64;
    i16: i16x8 i16x8_splat 8, i16x16 i16x16_splat 16, i16x32 i16x32_splat 32;
    u16: u16x8 u16x8_splat 8, u16x16 u16x16_splat 16, u16x32 u16x32_splat 32;
    i32: i32x4 i32x4_splat 4, i32x8 i32x8_splat 8, i32x16 i32x16_splat 16;
    u32: u32x4 u32x4_splat 4, u32x8 u32x8_splat 8, u32x16 u32x16_splat 16;
    i64: i64x2 i64x2_splat 2, i64x4 i64x4_splat 4, i64x8 i64x8_splat 8;
    u64: u64x2 u64x2_splat 2, u64x4 u64x4_splat 4, u64x8 u64x8_splat 8;
}
