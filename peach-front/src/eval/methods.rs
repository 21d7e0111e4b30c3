//! The standard library a static body can use: methods of the number types
//! (`x.sqrt()`, `n.pow(2)`, `x.to_bits()`), `f64::from_bits`, and associated constants
//! (`u32::MAX`, `f64::EPSILON`, `std::f64::consts::PI`). Each is computed in its type, as the
//! same call in Rust computes it; a method on a number whose type is not known yet is refused, as
//! rustc refuses it ("ambiguous numeric type").

use proc_macro2::Span;

use super::num::{Float, FloatTy, Int, IntTy, SUFFIX_HINT, Ty};
use super::{Eval, Flow, Value, err};

const INT_METHODS: &str = "min, max, pow, abs, count_ones, leading_zeros, trailing_zeros, is_power_of_two, \
                           wrapping_add, wrapping_sub, wrapping_mul";
const FLOAT_METHODS: &str = "sqrt, abs, powi, mul_add, to_bits, min, max, floor, ceil, trunc, round";

impl Eval {
    /// `recv.name(args)` for a number `recv`.
    pub(crate) fn number_method(&mut self, recv: Value, name: &str, args: &[Value], span: Span) -> Flow<Value> {
        match recv {
            Value::Int(i) => {
                let Some(t) = self.types.int_ty(i.ty) else {
                    return ambiguous(span, name, "{integer}");
                };
                self.int_method(i.v, t, name, args, span)
            }
            Value::Float(f) => {
                let Some(t) = self.types.float_ty(f.ty) else {
                    return ambiguous(span, name, "{float}");
                };
                self.float_method(f.value(t), t, name, args, span)
            }
            other => err(span, format!("{} has no method `{name}`", other.kind())),
        }
    }

    fn int_arg(&mut self, args: &[Value], t: IntTy, span: Span) -> Flow<i128> {
        match args {
            [Value::Int(a)] => Ok(self.types.coerce_int(*a, t, span)?),
            _ => err(span, format!("this method takes one `{}`", t.name())),
        }
    }

    fn int_method(&mut self, v: i128, t: IntTy, name: &str, args: &[Value], span: Span) -> Flow<Value> {
        let int = |v: i128| Value::Int(Int::known(v, t));
        let u32_of = |v: u32| Value::Int(Int::known(v as i128, IntTy::U32));
        // The value's bits as the unsigned type of its width.
        let bits = if t.bits() < 128 { (v & ((1i128 << t.bits()) - 1)) as u128 } else { v as u128 };
        let checked = |r: Option<i128>| match r.filter(|r| t.fits(*r)) {
            Some(r) => Ok(int(r)),
            None => err(span, format!("this `{name}` overflows `{}`: rustc rejects it", t.name())),
        };
        match (name, args.is_empty()) {
            ("min" | "max" | "wrapping_add" | "wrapping_sub" | "wrapping_mul", false) => {
                let a = self.int_arg(args, t, span)?;
                let wrapped = |r: i128| t.wrap(r).map(int).ok_or_else(|| num_limit(span));
                match name {
                    "min" => Ok(int(v.min(a))),
                    "max" => Ok(int(v.max(a))),
                    "wrapping_add" => Ok(wrapped(v.wrapping_add(a))?),
                    "wrapping_sub" => Ok(wrapped(v.wrapping_sub(a))?),
                    _ => Ok(wrapped(v.wrapping_mul(a))?),
                }
            }
            ("pow", false) => {
                let e = self.int_arg(args, IntTy::U32, span)? as u32;
                checked(v.checked_pow(e))
            }
            ("abs", true) if t.signed() => checked(v.checked_abs()),
            ("count_ones", true) => Ok(u32_of(bits.count_ones())),
            ("leading_zeros", true) => Ok(u32_of(bits.leading_zeros() - (128 - t.bits()))),
            ("trailing_zeros", true) => Ok(u32_of(bits.trailing_zeros().min(t.bits()))),
            ("is_power_of_two", true) if !t.signed() => Ok(Value::Bool(bits.is_power_of_two())),
            _ => err(
                span,
                format!(
                    "`{}` has no method `{name}` with these arguments in a static body (it has {INT_METHODS}): use JIT mode (#[jit]) for the rest",
                    t.name()
                ),
            ),
        }
    }

    fn float_arg(&mut self, a: &Value, t: FloatTy, span: Span) -> Flow<f64> {
        match a {
            Value::Float(f) => Ok(self.types.coerce_float(*f, t, span)?),
            other => err(span, format!("mismatched types: expected `{}`, found {}", t.name(), other.kind())),
        }
    }

    fn float_method(&mut self, x: f64, t: FloatTy, name: &str, args: &[Value], span: Span) -> Flow<Value> {
        // Each computation in the value's own type: an `f32` operation rounds in `f32`.
        let un = |f64op: fn(f64) -> f64, f32op: fn(f32) -> f32| match t {
            FloatTy::F64 => f64op(x),
            FloatTy::F32 => f32op(x as f32) as f64,
        };
        let r = match (name, args) {
            ("sqrt", []) => un(f64::sqrt, f32::sqrt),
            ("abs", []) => un(f64::abs, f32::abs),
            ("floor", []) => un(f64::floor, f32::floor),
            ("ceil", []) => un(f64::ceil, f32::ceil),
            ("trunc", []) => un(f64::trunc, f32::trunc),
            ("round", []) => un(f64::round, f32::round),
            ("to_bits", []) => {
                return Ok(Value::Int(match t {
                    FloatTy::F64 => Int::known(x.to_bits() as i128, IntTy::U64),
                    FloatTy::F32 => Int::known((x as f32).to_bits() as i128, IntTy::U32),
                }));
            }
            ("min" | "max", [a]) => {
                let a = self.float_arg(a, t, span)?;
                match (name, t) {
                    ("min", FloatTy::F64) => x.min(a),
                    ("min", FloatTy::F32) => (x as f32).min(a as f32) as f64,
                    (_, FloatTy::F64) => x.max(a),
                    _ => (x as f32).max(a as f32) as f64,
                }
            }
            ("powi", [Value::Int(n)]) => {
                let n = self.types.coerce_int(*n, IntTy::I32, span)? as i32;
                match t {
                    FloatTy::F64 => x.powi(n),
                    FloatTy::F32 => (x as f32).powi(n) as f64,
                }
            }
            ("mul_add", [a, b]) => {
                let (a, b) = (self.float_arg(a, t, span)?, self.float_arg(b, t, span)?);
                match t {
                    FloatTy::F64 => x.mul_add(a, b),
                    FloatTy::F32 => (x as f32).mul_add(a as f32, b as f32) as f64,
                }
            }
            _ => {
                return err(
                    span,
                    format!(
                        "`{}` has no method `{name}` with these arguments in a static body (it has {FLOAT_METHODS}): use JIT mode (#[jit]) for the rest",
                        t.name()
                    ),
                );
            }
        };
        // Only `abs` is a bit operation; every other NaN result has unspecified bits.
        let r = if name == "abs" { r } else { super::num::no_nan(r, span)? };
        Ok(Value::Float(Float::known(r, t)))
    }

    /// `f64::from_bits(u64)`, `f32::from_bits(u32)`.
    pub(crate) fn float_from_bits(&mut self, ty: &str, args: &[(Value, Span)], span: Span) -> Flow<Value> {
        let [(Value::Int(i), s)] = args else {
            return err(span, format!("`{ty}::from_bits` takes one unsigned integer"));
        };
        Ok(Value::Float(if ty == "f32" {
            let v = self.types.coerce_int(*i, IntTy::U32, *s)? as u32;
            Float::known(f32::from_bits(v) as f64, FloatTy::F32)
        } else {
            let v = self.types.coerce_int(*i, IntTy::U64, *s)? as u64;
            Float::known(f64::from_bits(v), FloatTy::F64)
        }))
    }
}

fn ambiguous(span: Span, name: &str, ty: &str) -> Flow<Value> {
    err(
        span,
        format!("can't call method `{name}` on ambiguous numeric type `{ty}` (rustc refuses it too): {SUFFIX_HINT}"),
    )
}

fn num_limit(span: Span) -> super::Ctl {
    super::Ctl::Error(super::num::u128_limit(span))
}

/// `u32::MAX`, `f64::EPSILON`, `std::f64::consts::PI`.
pub(crate) fn assoc_const(path: &[String]) -> Option<Value> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let (ty, name) = match path.as_slice() {
        ["std" | "core", ty @ ("f32" | "f64"), "consts", name] => {
            return float_const(ty, name, true);
        }
        [ty, name] => (*ty, *name),
        _ => return None,
    };
    if let Some(t) = IntTy::by_name(ty) {
        let v = match name {
            "MAX" if t == IntTy::U128 => return None,
            "MAX" => t.max(),
            "MIN" => t.min(),
            "BITS" => return Some(Value::Int(Int::known(t.bits() as i128, IntTy::U32))),
            _ => return None,
        };
        return Some(Value::Int(Int { v, ty: Ty::Known(t) }));
    }
    float_const(ty, name, false)
}

fn float_const(ty: &str, name: &str, math: bool) -> Option<Value> {
    use std::f32::consts as c32;
    use std::f64::consts as c64;
    // Each constant as the standard library defines it, per type.
    macro_rules! pick {
        ($($n:ident),*) => {
            match (ty, name) {
                $(("f64", stringify!($n)) => c64::$n, ("f32", stringify!($n)) => c32::$n as f64,)*
                _ => return None,
            }
        };
    }
    macro_rules! assoc {
        ($($n:ident),*) => {
            match (ty, name) {
                $(("f64", stringify!($n)) => f64::$n, ("f32", stringify!($n)) => f32::$n as f64,)*
                _ => return None,
            }
        };
    }
    let x = if math {
        pick!(
            PI,
            TAU,
            E,
            SQRT_2,
            LN_2,
            LN_10,
            LOG2_E,
            LOG10_E,
            LOG2_10,
            LOG10_2,
            FRAC_PI_2,
            FRAC_PI_3,
            FRAC_PI_4,
            FRAC_PI_6,
            FRAC_PI_8,
            FRAC_1_PI,
            FRAC_2_PI,
            FRAC_2_SQRT_PI,
            FRAC_1_SQRT_2
        )
    } else {
        assoc!(MAX, MIN, MIN_POSITIVE, EPSILON, INFINITY, NEG_INFINITY, NAN)
    };
    let t = FloatTy::by_name(ty)?;
    Some(Value::Float(Float::known(x, t)))
}
