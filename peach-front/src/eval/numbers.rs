//! How the evaluator types its numbers: literals, unary operators, casts, annotations, arrays
//! and patterns, over the rules of `num`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Lit, UnOp};

use super::num::{self, Float, Int, Num, Ty};
use super::{Eval, Flow, Value, err};

impl Eval {
    pub(crate) fn lit(&mut self, l: &Lit, negate: bool) -> Flow<Value> {
        match l {
            Lit::Bool(b) => Ok(Value::Bool(b.value)),
            Lit::Int(_) | Lit::Float(_) => Ok(value(num::literal(&mut self.types, l, negate)?)),
            other => err(other.span(), "only integer, float and bool literals are supported in a static body"),
        }
    }

    /// `-x` and `!x`. With `hint` (the operand of a cast), an unsuffixed literal inside takes the
    /// cast's type, as rustc's expected type gives it.
    pub(crate) fn unary(&mut self, u: &syn::ExprUnary, hint: Option<num::Target>) -> Flow<Value> {
        let span = u.op.span();
        // `-128i8` is a negative literal, not the negation of an out-of-range one.
        if let (UnOp::Neg(_), Expr::Lit(l)) = (&u.op, peel(&u.expr)) {
            let v = self.lit(&l.lit, true)?;
            return self.hinted(v, &l.lit, hint, span);
        }
        let v = match hint {
            Some(to) => self.cast_operand(&u.expr, to)?,
            None => self.expr(&u.expr)?,
        };
        match (&u.op, v) {
            (UnOp::Neg(_), Value::Int(i)) => Ok(Value::Int(num::int_neg(&mut self.types, i, span)?)),
            (UnOp::Neg(_), Value::Float(x)) => Ok(Value::Float(Float { d: -x.d, s: -x.s, ty: x.ty })),
            (UnOp::Not(_), Value::Bool(b)) => Ok(Value::Bool(!b)),
            // A reference is its value (see `Expr::Reference`).
            (UnOp::Deref(_), v) => Ok(v),
            (UnOp::Not(_), Value::Int(i)) => Ok(Value::Int(num::int_not(&mut self.types, i, span)?)),
            (_, v) => err(span, format!("this operator does not apply to {}", v.kind())),
        }
    }

    /// An unsuffixed literal given the type a cast expects, when it is of the same kind.
    fn hinted(&mut self, v: Value, lit: &Lit, hint: Option<num::Target>, span: Span) -> Flow<Value> {
        let unsuffixed = match lit {
            Lit::Int(i) => i.suffix().is_empty(),
            Lit::Float(f) => f.suffix().is_empty(),
            _ => false,
        };
        Ok(match (v, hint) {
            (Value::Int(i), Some(num::Target::Int(t))) if unsuffixed => {
                self.types.coerce_int(i, t, span)?;
                Value::Int(Int { ty: Ty::Known(t), ..i })
            }
            (Value::Float(f), Some(num::Target::Float(t))) if unsuffixed => {
                let x = self.types.coerce_float(f, t, span)?;
                Value::Float(Float::known(x, t))
            }
            (v, _) => v,
        })
    }

    /// The operand of a cast to `to`.
    fn cast_operand(&mut self, e: &Expr, to: num::Target) -> Flow<Value> {
        match e {
            Expr::Paren(p) => self.cast_operand(&p.expr, to),
            Expr::Group(g) => self.cast_operand(&g.expr, to),
            Expr::Lit(l) => {
                let v = self.lit(&l.lit, false)?;
                self.hinted(v, &l.lit, Some(to), l.span())
            }
            Expr::Unary(u) => self.unary(u, Some(to)),
            other => self.expr(other),
        }
    }

    /// `x as T`.
    pub(crate) fn cast(&mut self, c: &syn::ExprCast) -> Flow<Value> {
        let name = match &*c.ty {
            syn::Type::Path(p) if p.qself.is_none() => p.path.get_ident().map(|i| i.to_string()),
            _ => None,
        };
        let Some(to) = name.as_deref().and_then(num::Target::by_name) else {
            return err(c.ty.span(), "a static body casts only to the number types (`i8` ... `usize`, `f32`, `f64`)");
        };
        let v = self.cast_operand(&c.expr, to)?;
        let span = c.span();
        let n = match v {
            Value::Int(i) => num::cast_int(&mut self.types, i, to, span)?,
            Value::Float(f) => num::cast_float(&mut self.types, f, to, span)?,
            Value::Bool(b) => match to {
                num::Target::Int(t) => Num::Int(Int::known(b as i128, t)),
                num::Target::Float(_) => return err(span, "a `bool` cannot be cast to a float: rustc rejects it"),
            },
            other => return err(span, format!("cannot cast {}", other.kind())),
        };
        Ok(value(n))
    }

    /// Array elements share one type.
    pub(crate) fn same_type(&mut self, items: Vec<Value>, span: Span) -> Flow<Vec<Value>> {
        let mut items = items;
        for k in 1..items.len() {
            match (items[0].clone(), items[k].clone()) {
                (Value::Int(a), Value::Int(b)) => {
                    let (a, b) = (self.types.share_int(a, span), self.types.share_int(b, span));
                    let ty = self.types.unify_int(a, b, span)?;
                    items[0] = Value::Int(Int { ty, ..a });
                    items[k] = Value::Int(Int { ty, ..b });
                }
                (Value::Float(a), Value::Float(b)) => {
                    let ty = self.types.unify_float(a, b, span)?;
                    items[0] = Value::Float(Float { ty, ..a });
                    items[k] = Value::Float(Float { ty, ..b });
                }
                (Value::Int(_) | Value::Float(_), _) | (_, Value::Int(_) | Value::Float(_)) => {
                    return err(span, "mismatched types: the elements of an array have one type");
                }
                _ => {}
            }
        }
        Ok(items)
    }

    /// `==` between a pattern's literal and a value.
    pub(crate) fn equal(&mut self, a: &Value, b: &Value, span: Span) -> Flow<bool> {
        let eq = BinOp::Eq(Default::default());
        Ok(match (a, b) {
            (Value::Int(x), Value::Int(y)) => num::int_cmp(&mut self.types, &eq, *x, *y, span)?,
            (Value::Float(x), Value::Float(y)) => num::float_cmp(&mut self.types, &eq, *x, *y, span)?,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            _ => return err(span, format!("mismatched types: {} and {}", a.kind(), b.kind())),
        })
    }

    /// Gives a value the type a `let`, `const` or parameter declares, where that type is a number
    /// or an array of numbers; other types are Rust's to check in JIT mode.
    pub(crate) fn coerce(&mut self, v: Value, ty: &syn::Type, span: Span) -> Flow<Value> {
        let mismatch =
            |v: &Value| err(span, format!("mismatched types: {} where `{}` is declared", v.kind(), quote_ty(ty)));
        match (ty, v) {
            (syn::Type::Paren(p), v) => self.coerce(v, &p.elem, span),
            (syn::Type::Group(g), v) => self.coerce(v, &g.elem, span),
            (syn::Type::Array(a), Value::Array(items)) => {
                let items = items.into_iter().map(|x| self.coerce(x, &a.elem, span)).collect::<Flow<Vec<_>>>()?;
                Ok(Value::Array(items))
            }
            (syn::Type::Tuple(t), Value::Tuple(items)) if t.elems.len() == items.len() => {
                let items =
                    t.elems.iter().zip(items).map(|(ty, x)| self.coerce(x, ty, span)).collect::<Flow<Vec<_>>>()?;
                Ok(Value::Tuple(items))
            }
            (syn::Type::Path(p), v) if p.qself.is_none() => {
                let Some(target) = p.path.get_ident().and_then(|i| num::Target::by_name(&i.to_string())) else {
                    return match v {
                        Value::Bool(_) if p.path.is_ident("bool") => Ok(v),
                        Value::Int(_) | Value::Float(_) | Value::Bool(_) => mismatch(&v),
                        v => Ok(v),
                    };
                };
                match (target, v) {
                    (num::Target::Int(t), Value::Int(i)) => {
                        self.types.coerce_int(i, t, span)?;
                        Ok(Value::Int(Int { v: i.v, ty: Ty::Known(t) }))
                    }
                    (num::Target::Float(t), Value::Float(f)) => {
                        let x = self.types.coerce_float(f, t, span)?;
                        Ok(Value::Float(Float::known(x, t)))
                    }
                    (_, v) => mismatch(&v),
                }
            }
            (_, v @ (Value::Int(_) | Value::Float(_))) => mismatch(&v),
            (_, v) => Ok(v),
        }
    }
}

fn value(n: Num) -> Value {
    match n {
        Num::Int(i) => Value::Int(i),
        Num::Float(f) => Value::Float(f),
    }
}

/// The expression inside parentheses and invisible groups.
pub(crate) fn peel(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => peel(&p.expr),
        Expr::Group(g) => peel(&g.expr),
        other => other,
    }
}

fn quote_ty(ty: &syn::Type) -> String {
    quote::quote!(#ty).to_string()
}
