//! Numbers as rustc computes them. A static body must mean what the same body means as Rust (JIT
//! mode), so every number has a Rust type: from its suffix, from a `let`/`const`/parameter type,
//! from the operand it meets, or, for an unsuffixed literal nothing constrains, Rust's default
//! (`i32`, `f64`). Until its type is known an integer is a type variable that remembers every
//! value computed with it; when the type becomes known (or defaults at the end of the body) each
//! of those values must fit, which is exactly when rustc's arithmetic does not overflow. The few
//! operations whose result depends on a type not known yet are refused with a request for a
//! suffix rather than guessed, so anything accepted is computed as rustc computes it.
//!
//! Integers are held in an `i128`; `u128` values past `i128::MAX` are refused. Floats keep both
//! their `f64` and their `f32` result until their type is known, so that `f32` arithmetic is
//! rounded in `f32` as Rust does.

use proc_macro2::Span;
use syn::Error;

/// Rust's integer types (`isize`/`usize` are 64-bit: both targets are).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntTy {
    I8,
    I16,
    I32,
    I64,
    I128,
    Isize,
    U8,
    U16,
    U32,
    U64,
    U128,
    Usize,
}

const INT_NAMES: [(IntTy, &str); 12] = [
    (IntTy::I8, "i8"),
    (IntTy::I16, "i16"),
    (IntTy::I32, "i32"),
    (IntTy::I64, "i64"),
    (IntTy::I128, "i128"),
    (IntTy::Isize, "isize"),
    (IntTy::U8, "u8"),
    (IntTy::U16, "u16"),
    (IntTy::U32, "u32"),
    (IntTy::U64, "u64"),
    (IntTy::U128, "u128"),
    (IntTy::Usize, "usize"),
];

impl IntTy {
    pub(crate) fn by_name(name: &str) -> Option<IntTy> {
        INT_NAMES.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }

    pub(crate) fn name(self) -> &'static str {
        INT_NAMES.iter().find(|(t, _)| *t == self).map_or("?", |(_, n)| n)
    }

    pub(crate) fn bits(self) -> u32 {
        use IntTy::*;
        match self {
            I8 | U8 => 8,
            I16 | U16 => 16,
            I32 | U32 => 32,
            I64 | U64 | Isize | Usize => 64,
            I128 | U128 => 128,
        }
    }

    pub(crate) fn signed(self) -> bool {
        use IntTy::*;
        matches!(self, I8 | I16 | I32 | I64 | I128 | Isize)
    }

    pub(crate) fn min(self) -> i128 {
        if self.signed() { i128::MIN >> (128 - self.bits()) } else { 0 }
    }

    /// The largest value (for `u128`, the largest static mode holds).
    pub(crate) fn max(self) -> i128 {
        match (self.signed(), self.bits()) {
            (true, b) => i128::MAX >> (128 - b),
            (false, 128) => i128::MAX,
            (false, b) => (1i128 << b) - 1,
        }
    }

    pub(crate) fn fits(self, v: i128) -> bool {
        (self.min()..=self.max()).contains(&v)
    }

    /// `v as Self`: the low bits, sign-extended for signed types (`None` for a `u128` past
    /// `i128::MAX`).
    pub(crate) fn wrap(self, v: i128) -> Option<i128> {
        let b = self.bits();
        if b == 128 {
            return (self.signed() || v >= 0).then_some(v);
        }
        let low = v & ((1i128 << b) - 1);
        Some(if self.signed() && low >> (b - 1) == 1 { low - (1i128 << b) } else { low })
    }
}

/// Rust's float types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatTy {
    F32,
    F64,
}

impl FloatTy {
    pub(crate) fn by_name(name: &str) -> Option<FloatTy> {
        match name {
            "f32" => Some(FloatTy::F32),
            "f64" => Some(FloatTy::F64),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            FloatTy::F32 => "f32",
            FloatTy::F64 => "f64",
        }
    }
}

/// A number's type: known, a literal no other value shares yet, or an inference variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty<T> {
    Known(T),
    /// A fresh unsuffixed literal: its own value is all that constrains it.
    Lit,
    Var(u32),
}

/// An integer of the interpreted Rust.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Int {
    pub v: i128,
    pub ty: Ty<IntTy>,
}

impl Int {
    pub(crate) fn known(v: i128, t: IntTy) -> Int {
        Int { v, ty: Ty::Known(t) }
    }
}

/// A float of the interpreted Rust: its value as an `f64` and as an `f32`, each computed in its
/// own type, until the type is known.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Float {
    pub d: f64,
    pub s: f32,
    pub ty: Ty<FloatTy>,
}

impl Float {
    pub(crate) fn known(x: f64, t: FloatTy) -> Float {
        match t {
            FloatTy::F32 => Float { d: x as f32 as f64, s: x as f32, ty: Ty::Known(t) },
            FloatTy::F64 => Float { d: x, s: x as f32, ty: Ty::Known(t) },
        }
    }

    /// The value in type `t`.
    pub(crate) fn value(&self, t: FloatTy) -> f64 {
        match t {
            FloatTy::F32 => self.s as f64,
            FloatTy::F64 => self.d,
        }
    }
}

/// What the refusals of things Rust allows but static mode cannot compute say: tests recognise
/// them by this phrase.
pub(crate) const BEYOND: &str = "beyond static mode";

/// A NaN made by arithmetic or a float-to-float cast has bits Rust leaves unspecified (RFC 3514):
/// refused, so that no constant depends on the machine that expands the macro.
pub(crate) fn no_nan(x: f64, span: Span) -> Result<f64, Error> {
    if x.is_nan() {
        return Err(Error::new(
            span,
            format!(
                "this makes a NaN, whose bits Rust leaves unspecified: {BEYOND} (write `f64::NAN` or `f64::from_bits(...)` for an exact NaN)"
            ),
        ));
    }
    Ok(x)
}

/// The requests for a suffix: the cases where rustc would find a type static mode cannot know
/// yet. Tests recognise them by this phrase.
pub(crate) const SUFFIX_HINT: &str = "give the literal a type suffix";

/// What an inference variable has learnt.
#[derive(Clone, Debug)]
struct Var {
    parent: u32,
    float: bool,
    bound: Option<Bound>,
    /// Every value computed with it lies in `lo..=hi` (integers).
    lo: i128,
    hi: i128,
    /// The largest left operand of a shift is shifted by `shift` bits (checked against the width).
    shift: u32,
    /// Negated (`-x`): only signed types.
    negated: bool,
    /// `!x` was computed before the type was known: its value is right for signed types only.
    notted: bool,
    /// A `<<` was computed before the type was known: exact unless it lost bits.
    shifted: bool,
    /// An `f32` literal out of range (`1e40`).
    f32_overflow: bool,
    span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Int(IntTy),
    Float(FloatTy),
}

/// Operations on a value of unknown type whose meaning depends on the type.
#[derive(Clone, Copy)]
pub(crate) enum Dep {
    Neg,
    Not,
    Shl,
}

/// The inference variables of one body.
#[derive(Default)]
pub(crate) struct Types {
    vars: Vec<Var>,
}

fn overflow(span: Span, v: i128, t: IntTy) -> Error {
    Error::new(span, format!("this arithmetic overflows `{}` (the result would be {v}): rustc rejects it", t.name()))
}

fn mismatch(span: Span, a: &str, b: &str) -> Error {
    Error::new(span, format!("mismatched types: `{a}` and `{b}` (Rust converts numbers only with `as`)"))
}

impl Types {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.vars[x as usize].parent != x {
            let p = self.vars[x as usize].parent;
            self.vars[x as usize].parent = self.vars[p as usize].parent;
            x = p;
        }
        x
    }

    fn var(&mut self, x: u32) -> &mut Var {
        let r = self.find(x);
        &mut self.vars[r as usize]
    }

    fn new_var(&mut self, float: bool, v: i128, span: Span) -> u32 {
        let id = self.vars.len() as u32;
        self.vars.push(Var {
            parent: id,
            float,
            bound: None,
            lo: v,
            hi: v,
            shift: 0,
            negated: false,
            notted: false,
            shifted: false,
            f32_overflow: false,
            span,
        });
        id
    }

    /// The type of `t` if it is known.
    pub(crate) fn int_ty(&mut self, t: Ty<IntTy>) -> Option<IntTy> {
        match t {
            Ty::Known(t) => Some(t),
            Ty::Lit => None,
            Ty::Var(x) => match self.var(x).bound {
                Some(Bound::Int(t)) => Some(t),
                _ => None,
            },
        }
    }

    pub(crate) fn float_ty(&mut self, t: Ty<FloatTy>) -> Option<FloatTy> {
        match t {
            Ty::Known(t) => Some(t),
            Ty::Lit => None,
            Ty::Var(x) => match self.var(x).bound {
                Some(Bound::Float(t)) => Some(t),
                _ => None,
            },
        }
    }

    /// A name for this value's type that survives being copied (`let`, arrays): a literal
    /// becomes a variable.
    pub(crate) fn share_int(&mut self, i: Int, span: Span) -> Int {
        match i.ty {
            Ty::Lit => Int { v: i.v, ty: Ty::Var(self.new_var(false, i.v, span)) },
            _ => i,
        }
    }

    pub(crate) fn share_float(&mut self, f: Float, span: Span) -> Float {
        match f.ty {
            Ty::Lit => {
                let x = self.new_var(true, 0, span);
                self.vars[x as usize].f32_overflow = f.s.is_infinite() && f.d.is_finite();
                Float { ty: Ty::Var(x), ..f }
            }
            _ => f,
        }
    }

    /// Checks what variable `x` learnt against type `t`, which `span` gives it (`None`: Rust's
    /// default at the end of the body).
    fn check(&mut self, x: u32, t: Bound, span: Option<Span>) -> Result<(), Error> {
        let v = self.var(x).clone();
        let at = span.unwrap_or(v.span);
        let t = match t {
            Bound::Int(t) => t,
            Bound::Float(_) if !v.float => return Err(mismatch(at, bound_name(t), "{integer}")),
            Bound::Float(FloatTy::F32) if v.f32_overflow => {
                return Err(Error::new(v.span, "this literal is out of range for `f32`: rustc rejects it"));
            }
            Bound::Float(_) => return Ok(()),
        };
        if v.float {
            return Err(mismatch(at, t.name(), "{float}"));
        }
        let is = match span {
            Some(s) => format!("this integer is `{}` (as line {} requires)", t.name(), s.start().line),
            None => format!("this integer is `{}`, Rust's default for a literal nothing else gives a type", t.name()),
        };
        let fail = |what: String| Err(Error::new(v.span, format!("{is}, {what}")));
        if v.negated && !t.signed() {
            return fail("which cannot be negated: rustc rejects `-`".into());
        }
        if v.notted && !t.signed() {
            return fail(format!("and `!` was applied to it before its type was known: {SUFFIX_HINT}"));
        }
        if v.shift >= t.bits() {
            return fail(format!("and it is shifted by {} bits: rustc rejects the overflow", v.shift));
        }
        for bad in [v.lo, v.hi] {
            if !t.fits(bad) && v.shifted {
                return fail(format!(
                    "and a shift made {bad} of it before its type was known, which Rust would wrap: {SUFFIX_HINT}"
                ));
            }
            if !t.fits(bad) {
                return fail(format!("and a value computed with it, {bad}, does not fit: rustc rejects the overflow"));
            }
        }
        Ok(())
    }

    fn bind(&mut self, x: u32, t: Bound, span: Span) -> Result<(), Error> {
        match self.var(x).bound {
            Some(b) if b == t => Ok(()),
            Some(b) => Err(mismatch(span, bound_name(b), bound_name(t))),
            None => {
                self.check(x, t, Some(span))?;
                self.var(x).bound = Some(t);
                Ok(())
            }
        }
    }

    fn union(&mut self, a: u32, b: u32, span: Span) -> Result<u32, Error> {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return Ok(a);
        }
        let vb = self.vars[b as usize].clone();
        let va = &mut self.vars[a as usize];
        if va.float != vb.float {
            return Err(mismatch(span, "{integer}", "{float}"));
        }
        va.lo = va.lo.min(vb.lo);
        va.hi = va.hi.max(vb.hi);
        va.shift = va.shift.max(vb.shift);
        va.negated |= vb.negated;
        va.notted |= vb.notted;
        va.shifted |= vb.shifted;
        va.f32_overflow |= vb.f32_overflow;
        let bound = va.bound;
        self.vars[b as usize].parent = a;
        match (bound, vb.bound) {
            (Some(x), Some(y)) if x != y => return Err(mismatch(span, bound_name(x), bound_name(y))),
            (None, Some(t)) => {
                self.check(a, t, Some(span))?;
                self.vars[a as usize].bound = Some(t);
            }
            (Some(t), None) => self.check(a, t, Some(span))?,
            _ => {}
        }
        Ok(a)
    }

    /// Makes two integers one type (the operands of `+`, `==`, the ends of a range, ...).
    pub(crate) fn unify_int(&mut self, a: Int, b: Int, span: Span) -> Result<Ty<IntTy>, Error> {
        Ok(match (a.ty, b.ty) {
            (Ty::Known(x), Ty::Known(y)) if x == y => a.ty,
            (Ty::Known(x), Ty::Known(y)) => return Err(mismatch(span, x.name(), y.name())),
            (Ty::Known(t), Ty::Lit) | (Ty::Lit, Ty::Known(t)) => {
                let v = if matches!(a.ty, Ty::Lit) { a.v } else { b.v };
                if !t.fits(v) {
                    return Err(Error::new(span, format!("the literal {v} does not fit in `{}`", t.name())));
                }
                Ty::Known(t)
            }
            (Ty::Known(t), Ty::Var(x)) | (Ty::Var(x), Ty::Known(t)) => {
                self.bind(x, Bound::Int(t), span)?;
                Ty::Known(t)
            }
            (Ty::Lit, Ty::Lit) => {
                let x = self.new_var(false, a.v, span);
                self.hold(Ty::Var(x), b.v, span)?;
                Ty::Var(x)
            }
            (Ty::Lit, Ty::Var(x)) | (Ty::Var(x), Ty::Lit) => {
                let v = if matches!(a.ty, Ty::Lit) { a.v } else { b.v };
                self.hold(Ty::Var(x), v, span)?;
                Ty::Var(x)
            }
            (Ty::Var(x), Ty::Var(y)) => Ty::Var(self.union(x, y, span)?),
        })
    }

    pub(crate) fn unify_float(&mut self, a: Float, b: Float, span: Span) -> Result<Ty<FloatTy>, Error> {
        let a = self.share_float(a, span);
        let b = self.share_float(b, span);
        Ok(match (a.ty, b.ty) {
            (Ty::Known(x), Ty::Known(y)) if x == y => a.ty,
            (Ty::Known(x), Ty::Known(y)) => return Err(mismatch(span, x.name(), y.name())),
            (Ty::Known(t), Ty::Var(x)) | (Ty::Var(x), Ty::Known(t)) => {
                self.bind(x, Bound::Float(t), span)?;
                Ty::Known(t)
            }
            (Ty::Var(x), Ty::Var(y)) => Ty::Var(self.union(x, y, span)?),
            _ => return Err(Error::new(span, "internal error: an unshared float literal")),
        })
    }

    /// Gives integer `i` type `t` (a `let` type, a parameter, an index): its values must fit.
    pub(crate) fn coerce_int(&mut self, i: Int, t: IntTy, span: Span) -> Result<i128, Error> {
        self.unify_int(i, Int::known(0, t), span)?;
        Ok(i.v)
    }

    pub(crate) fn coerce_float(&mut self, f: Float, t: FloatTy, span: Span) -> Result<f64, Error> {
        self.unify_float(f, Float::known(0.0, t), span)?;
        Ok(f.value(t))
    }

    /// Records that an integer of type `t` took value `v`: an overflow if `t` is known and `v`
    /// does not fit, else a value the variable must hold once its type is known.
    pub(crate) fn hold(&mut self, t: Ty<IntTy>, v: i128, span: Span) -> Result<(), Error> {
        match t {
            Ty::Known(t) if !t.fits(v) => Err(overflow(span, v, t)),
            Ty::Known(_) | Ty::Lit => Ok(()),
            Ty::Var(x) => {
                let var = self.var(x);
                var.lo = var.lo.min(v);
                var.hi = var.hi.max(v);
                match var.bound {
                    Some(Bound::Int(t)) if !t.fits(v) => Err(overflow(span, v, t)),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Fixes a float's type now, to Rust's default `f64` if it has none yet: for an operation
    /// whose result would depend on it.
    pub(crate) fn settle_float(&mut self, f: Float, span: Span) -> Result<FloatTy, Error> {
        let f = self.share_float(f, span);
        if let Some(t) = self.float_ty(f.ty) {
            return Ok(t);
        }
        if let Ty::Var(x) = f.ty {
            self.bind(x, Bound::Float(FloatTy::F64), span)?;
        }
        Ok(FloatTy::F64)
    }

    /// Fixes an integer's type now (Rust's default `i32` if it has none yet).
    pub(crate) fn settle_int(&mut self, i: Int, span: Span) -> Result<IntTy, Error> {
        let i = self.share_int(i, span);
        if let Some(t) = self.int_ty(i.ty) {
            return Ok(t);
        }
        if let Ty::Var(x) = i.ty {
            self.bind(x, Bound::Int(IntTy::I32), span)?;
        }
        Ok(IntTy::I32)
    }

    /// Notes how far a value of type `t` is shifted (checked against the width once known).
    pub(crate) fn note_shift(&mut self, t: Ty<IntTy>, by: u32, span: Span) -> Result<(), Error> {
        match t {
            Ty::Known(t) if by >= t.bits() => {
                Err(Error::new(span, format!("a shift by {by} bits overflows `{}`: rustc rejects it", t.name())))
            }
            Ty::Known(_) | Ty::Lit => Ok(()),
            Ty::Var(x) => {
                let var = self.var(x);
                var.shift = var.shift.max(by);
                match var.bound {
                    Some(b) => {
                        let r = self.find(x);
                        self.check(r, b, Some(span))
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Marks a variable as holding a result of `-x`, `!x` or `x << n`, whose validity or value
    /// depends on the type.
    pub(crate) fn note_dependent(&mut self, t: Ty<IntTy>, dep: Dep, span: Span) -> Result<(), Error> {
        if let Ty::Var(x) = t {
            let var = self.var(x);
            match dep {
                Dep::Neg => var.negated = true,
                Dep::Not => var.notted = true,
                Dep::Shl => var.shifted = true,
            }
            if let Some(b) = var.bound {
                let r = self.find(x);
                return self.check(r, b, Some(span));
            }
        }
        Ok(())
    }

    /// At the end of the body: every variable without a type takes Rust's default.
    pub(crate) fn settle_all(&mut self) -> Result<(), Error> {
        for x in 0..self.vars.len() as u32 {
            if self.find(x) != x || self.vars[x as usize].bound.is_some() {
                continue;
            }
            let t = if self.vars[x as usize].float { Bound::Float(FloatTy::F64) } else { Bound::Int(IntTy::I32) };
            self.check(x, t, None)?;
            self.vars[x as usize].bound = Some(t);
        }
        Ok(())
    }
}

fn bound_name(b: Bound) -> &'static str {
    match b {
        Bound::Int(t) => t.name(),
        Bound::Float(t) => t.name(),
    }
}

/// Integer arithmetic (`+ - * / % << >> & | ^`), as rustc evaluates a `const`.
pub(crate) fn int_arith(ts: &mut Types, op: &syn::BinOp, a: Int, b: Int, span: Span) -> Result<Int, Error> {
    use syn::BinOp::*;
    if let Shl(_) | Shr(_) = op {
        return shift(ts, matches!(op, Shl(_)), a, b, span);
    }
    let ty = ts.unify_int(a, b, span)?;
    let (x, y) = (a.v, b.v);
    let zero = || Error::new(span, "division by zero: rustc rejects it");
    let v = match op {
        Add(_) => x.checked_add(y),
        Sub(_) => x.checked_sub(y),
        Mul(_) => x.checked_mul(y),
        Div(_) | Rem(_) if y == 0 => return Err(zero()),
        Div(_) => x.checked_div(y),
        Rem(_) => {
            // `MIN % -1` overflows as `MIN / -1` does: hold the quotient too.
            let q = x.checked_div(y).ok_or_else(|| Error::new(span, "this remainder overflows: rustc rejects it"))?;
            ts.hold(ty, q, span)?;
            x.checked_rem(y)
        }
        BitAnd(_) => Some(x & y),
        BitOr(_) => Some(x | y),
        BitXor(_) => Some(x ^ y),
        _ => return Err(Error::new(span, "this operator does not apply to integers")),
    };
    let v = v.ok_or_else(|| Error::new(span, "this arithmetic overflows 128 bits: rustc rejects it"))?;
    ts.hold(ty, v, span)?;
    Ok(Int { v, ty })
}

fn shift(ts: &mut Types, left: bool, a: Int, b: Int, span: Span) -> Result<Int, Error> {
    // The amount has a type of its own (Rust's default `i32` if nothing else gives one).
    let a = ts.share_int(a, span);
    ts.settle_int(b, span)?;
    let by = u32::try_from(b.v)
        .ok()
        .filter(|&n| n < 128)
        .ok_or_else(|| Error::new(span, format!("a shift by {} bits overflows: rustc rejects it", b.v)))?;
    ts.note_shift(a.ty, by, span)?;
    if !left {
        // An arithmetic shift for signed values, and unsigned ones are not negative: one rule.
        return Ok(Int { v: a.v >> by, ty: a.ty });
    }
    match ts.int_ty(a.ty) {
        // Bits shifted out are lost, silently, as in Rust.
        Some(t) => {
            let v = t.wrap(a.v.wrapping_shl(by)).ok_or_else(|| u128_limit(span))?;
            Ok(Int { v, ty: a.ty })
        }
        None => {
            // Exact while no bit is lost; whether one is depends on the type, checked once known.
            let v = a.v.checked_mul(1i128 << by).filter(|_| by < 127).ok_or_else(|| {
                Error::new(
                    span,
                    format!("this shift loses bits of a literal whose type is not known yet: {SUFFIX_HINT}"),
                )
            })?;
            ts.note_dependent(a.ty, Dep::Shl, span)?;
            ts.hold(a.ty, v, span)?;
            Ok(Int { v, ty: a.ty })
        }
    }
}

pub(crate) fn u128_limit(span: Span) -> Error {
    Error::new(span, format!("a `u128` above {} is {BEYOND}: use JIT mode (#[jit])", i128::MAX))
}

/// `==`, `<`, ... on integers.
pub(crate) fn int_cmp(ts: &mut Types, op: &syn::BinOp, a: Int, b: Int, span: Span) -> Result<bool, Error> {
    use syn::BinOp::*;
    ts.unify_int(a, b, span)?;
    let (x, y) = (a.v, b.v);
    Ok(match op {
        Eq(_) => x == y,
        Ne(_) => x != y,
        Lt(_) => x < y,
        Le(_) => x <= y,
        Gt(_) => x > y,
        Ge(_) => x >= y,
        _ => return Err(Error::new(span, "not a comparison")),
    })
}

/// `-x`.
pub(crate) fn int_neg(ts: &mut Types, a: Int, span: Span) -> Result<Int, Error> {
    let a = ts.share_int(a, span);
    if let Some(t) = ts.int_ty(a.ty)
        && !t.signed()
    {
        return Err(Error::new(span, format!("`{}` cannot be negated: rustc rejects `-`", t.name())));
    }
    ts.note_dependent(a.ty, Dep::Neg, span)?;
    let v = a.v.checked_neg().ok_or_else(|| Error::new(span, "this negation overflows: rustc rejects it"))?;
    ts.hold(a.ty, v, span)?;
    Ok(Int { v, ty: a.ty })
}

/// `!x`.
pub(crate) fn int_not(ts: &mut Types, a: Int, span: Span) -> Result<Int, Error> {
    let a = ts.share_int(a, span);
    match ts.int_ty(a.ty) {
        Some(t) if !t.signed() => {
            let v = t.max().checked_sub(a.v).filter(|_| t.bits() < 128).ok_or_else(|| u128_limit(span))?;
            Ok(Int { v, ty: a.ty })
        }
        Some(_) => Ok(Int { v: !a.v, ty: a.ty }),
        None => {
            // Signed and unsigned types disagree: refused for unsigned ones once known.
            ts.note_dependent(a.ty, Dep::Not, span)?;
            ts.hold(a.ty, !a.v, span)?;
            Ok(Int { v: !a.v, ty: a.ty })
        }
    }
}

/// Float arithmetic, each type rounded in itself.
pub(crate) fn float_arith(ts: &mut Types, op: &syn::BinOp, a: Float, b: Float, span: Span) -> Result<Float, Error> {
    use syn::BinOp::*;
    let ty = ts.unify_float(a, b, span)?;
    let (d, s) = match op {
        Add(_) => (a.d + b.d, a.s + b.s),
        Sub(_) => (a.d - b.d, a.s - b.s),
        Mul(_) => (a.d * b.d, a.s * b.s),
        Div(_) => (a.d / b.d, a.s / b.s),
        Rem(_) => (a.d % b.d, a.s % b.s),
        _ => return Err(Error::new(span, "this operator does not apply to floats")),
    };
    let f = fix(ts, Float { d, s, ty });
    no_nan(f.d, span)?;
    no_nan(f.s as f64, span)?;
    Ok(f)
}

/// Keeps a known type's two values consistent.
fn fix(ts: &mut Types, f: Float) -> Float {
    match ts.float_ty(f.ty) {
        Some(FloatTy::F32) => Float { d: f.s as f64, ..f },
        Some(FloatTy::F64) => Float { s: f.d as f32, ..f },
        None => f,
    }
}

/// `==`, `<`, ... on floats: if the `f32` and `f64` answers differ, the type becomes `f64`
/// (Rust's default), as it would with nothing else constraining it.
pub(crate) fn float_cmp(ts: &mut Types, op: &syn::BinOp, a: Float, b: Float, span: Span) -> Result<bool, Error> {
    use syn::BinOp::*;
    let ty = ts.unify_float(a, b, span)?;
    let cmp = |x: f64, y: f64| match op {
        Eq(_) => x == y,
        Ne(_) => x != y,
        Lt(_) => x < y,
        Le(_) => x <= y,
        Gt(_) => x > y,
        _ => x >= y,
    };
    let (in64, in32) = (cmp(a.d, b.d), cmp(a.s as f64, b.s as f64));
    if in64 == in32 {
        return Ok(in64);
    }
    let t = ts.settle_float(Float { ty, ..a }, span)?;
    Ok(if t == FloatTy::F32 { in32 } else { in64 })
}

/// `x as T` for a numeric `T`, with Rust's truncation, saturation and rounding rules.
pub(crate) fn cast_int(ts: &mut Types, a: Int, to: Target, span: Span) -> Result<Num, Error> {
    // The result depends only on the value (which fits the source type, whatever it becomes).
    let a = ts.share_int(a, span);
    Ok(match to {
        Target::Int(t) => Num::Int(Int::known(t.wrap(a.v).ok_or_else(|| u128_limit(span))?, t)),
        Target::Float(FloatTy::F64) => Num::Float(Float::known(a.v as f64, FloatTy::F64)),
        Target::Float(FloatTy::F32) => {
            let s = a.v as f32;
            Num::Float(Float { d: s as f64, s, ty: Ty::Known(FloatTy::F32) })
        }
    })
}

pub(crate) fn cast_float(ts: &mut Types, a: Float, to: Target, span: Span) -> Result<Num, Error> {
    let from = ts.settle_float(a, span)?;
    let x = a.value(from);
    Ok(match to {
        Target::Float(t) if t == from => Num::Float(Float::known(x, t)),
        Target::Float(FloatTy::F64) => Num::Float(Float::known(no_nan(x, span)?, FloatTy::F64)),
        Target::Float(FloatTy::F32) => Num::Float(Float::known(no_nan(x, span)? as f32 as f64, FloatTy::F32)),
        Target::Int(t) => {
            use IntTy::*;
            // Rust's float-to-int casts saturate and send NaN to 0: the host's `as` is that rule.
            let v = match t {
                I8 => x as i8 as i128,
                I16 => x as i16 as i128,
                I32 => x as i32 as i128,
                I64 | Isize => x as i64 as i128,
                I128 => x as i128,
                U8 => x as u8 as i128,
                U16 => x as u16 as i128,
                U32 => x as u32 as i128,
                U64 | Usize => x as u64 as i128,
                U128 => i128::try_from(x as u128).map_err(|_| u128_limit(span))?,
            };
            Num::Int(Int::known(v, t))
        }
    })
}

/// A numeric type named in a cast or an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Int(IntTy),
    Float(FloatTy),
}

impl Target {
    pub(crate) fn by_name(name: &str) -> Option<Target> {
        IntTy::by_name(name).map(Target::Int).or_else(|| FloatTy::by_name(name).map(Target::Float))
    }
}

/// A cast's result.
pub(crate) enum Num {
    Int(Int),
    Float(Float),
}

/// An unsuffixed or suffixed literal.
pub(crate) fn literal(ts: &mut Types, lit: &syn::Lit, negate: bool) -> Result<Num, Error> {
    let span = lit.span();
    match lit {
        syn::Lit::Int(i) => {
            let digits = i.base10_digits();
            if let Some(t) = FloatTy::by_name(i.suffix()) {
                // `1f64` is a float literal.
                let text = if negate { format!("-{digits}") } else { digits.to_string() };
                return float_literal(&text, Some(t), span);
            }
            let v: i128 = digits.parse().map_err(|_| u128_limit(span))?;
            let v = if negate { -v } else { v };
            let ty = match i.suffix() {
                "" if negate => {
                    // `-0` is refused for unsigned types like any `-x`.
                    let x = ts.share_int(Int { v, ty: Ty::Lit }, span);
                    ts.note_dependent(x.ty, Dep::Neg, span)?;
                    x.ty
                }
                "" => Ty::Lit,
                s => {
                    let t = IntTy::by_name(s).ok_or_else(|| Error::new(span, format!("unknown suffix `{s}`")))?;
                    if !t.fits(v) {
                        return Err(Error::new(span, format!("the literal {v} is out of range for `{s}`")));
                    }
                    if negate && !t.signed() {
                        return Err(Error::new(span, format!("`{s}` cannot be negated: rustc rejects `-`")));
                    }
                    Ty::Known(t)
                }
            };
            Ok(Num::Int(Int { v, ty }))
        }
        syn::Lit::Float(f) => {
            let text = if negate { format!("-{}", f.base10_digits()) } else { f.base10_digits().to_string() };
            let t = match f.suffix() {
                "" => None,
                s => Some(FloatTy::by_name(s).ok_or_else(|| Error::new(span, format!("unknown suffix `{s}`")))?),
            };
            float_literal(&text, t, span)
        }
        _ => Err(Error::new(span, "not a number")),
    }
}

fn float_literal(text: &str, t: Option<FloatTy>, span: Span) -> Result<Num, Error> {
    // Each type parses the decimal text itself: an `f32` literal is not a rounded `f64`.
    let d: f64 = text.parse().map_err(|e| Error::new(span, format!("{e}")))?;
    let s: f32 = text.parse().map_err(|e| Error::new(span, format!("{e}")))?;
    match t {
        Some(FloatTy::F32) if s.is_infinite() => Err(Error::new(span, "this literal is out of range for `f32`")),
        Some(FloatTy::F64) if d.is_infinite() => Err(Error::new(span, "this literal is out of range for `f64`")),
        Some(t) => Ok(Num::Float(Float { d: if t == FloatTy::F32 { s as f64 } else { d }, s, ty: Ty::Known(t) })),
        None if d.is_infinite() => Err(Error::new(span, "this literal is out of range for `f64`")),
        None => Ok(Num::Float(Float { d, s, ty: Ty::Lit })),
    }
}
