//! Patterns in a static body: `let`, `for` and parameter patterns (names, tuples, arrays,
//! references, type ascriptions) and `match` arms (also literals, ranges, `|` and `name @`).

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Pat, Token};

use super::{Eval, Flow, Value, err};

impl Eval {
    /// Names the parts of `v` an irrefutable pattern (`let`, `for`, a parameter) binds.
    pub(crate) fn bind_pat(&mut self, pat: &Pat, v: Value) -> Flow<()> {
        match pat {
            Pat::Ident(p) => {
                if let Some((_, sub)) = &p.subpat {
                    return err(sub.span(), "`@` patterns are not supported in a static body");
                }
                self.define(p.ident.to_string(), v, p.ident.span());
                Ok(())
            }
            Pat::Wild(_) => Ok(()),
            Pat::Reference(r) if r.mutability.is_none() => self.bind_pat(&r.pat, v),
            Pat::Type(t) => {
                let v = self.coerce(v, &t.ty, t.span())?;
                self.bind_pat(&t.pat, v)
            }
            Pat::Tuple(t) => self.bind_parts(&t.elems, v, true, t.span()),
            Pat::Slice(s) => self.bind_parts(&s.elems, v, false, s.span()),
            other => err(other.span(), "this pattern is not supported in a static body: use JIT mode for full Rust"),
        }
    }

    /// Binds a tuple pattern's (`tuple`) or an array pattern's parts to a value's.
    fn bind_parts(&mut self, pats: &Punctuated<Pat, Token![,]>, v: Value, tuple: bool, span: Span) -> Flow<()> {
        let items = match v {
            Value::Tuple(items) if tuple && items.len() == pats.len() => items,
            Value::Array(items) if items.len() == pats.len() => items,
            other => return err(span, format!("cannot destructure {} into {} names", other.kind(), pats.len())),
        };
        for (p, v) in pats.iter().zip(items) {
            self.bind_pat(p, v)?;
        }
        Ok(())
    }

    pub(super) fn matching(&mut self, m: &syn::ExprMatch) -> Flow<Value> {
        let v = self.expr(&m.expr)?;
        for arm in &m.arms {
            if arm.guard.is_some() {
                return err(arm.span(), "match guards are not supported in a static body");
            }
            if self.pat_matches(&arm.pat, &v)? {
                return self.scoped(|ev| {
                    ev.bind_matched(&arm.pat, v.clone())?;
                    ev.expr(&arm.body)
                });
            }
        }
        err(m.span(), "no arm of this match applies")
    }

    /// Whether `v` matches `pat` (names match anything; `name @ sub` what `sub` matches).
    fn pat_matches(&mut self, pat: &Pat, v: &Value) -> Flow<bool> {
        Ok(match pat {
            Pat::Wild(_) => true,
            Pat::Ident(p) => match &p.subpat {
                Some((_, sub)) => self.pat_matches(sub, v)?,
                None => true,
            },
            Pat::Paren(p) => self.pat_matches(&p.pat, v)?,
            Pat::Reference(r) if r.mutability.is_none() => self.pat_matches(&r.pat, v)?,
            Pat::Tuple(t) => self.parts_match(&t.elems, v, true, t.span())?,
            Pat::Slice(s) => self.parts_match(&s.elems, v, false, s.span())?,
            Pat::Lit(l) => {
                let lv = self.lit(&l.lit, false)?;
                self.equal(&lv, v, l.span())?
            }
            Pat::Or(o) => {
                for c in &o.cases {
                    if self.pat_matches(c, v)? {
                        return Ok(true);
                    }
                }
                false
            }
            Pat::Range(r) => {
                let Value::Int(x) = v else {
                    return err(r.span(), format!("a range pattern does not match {}", v.kind()));
                };
                let mut bound = |e: &Option<Box<syn::Expr>>, open: i128| -> Flow<i128> {
                    let Some(e) = e else { return Ok(open) };
                    let b = self.int(e)?;
                    self.types.unify_int(b, *x, r.span())?;
                    Ok(b.v)
                };
                let (lo, hi) = (bound(&r.start, i128::MIN)?, bound(&r.end, i128::MAX)?);
                let closed = matches!(r.limits, syn::RangeLimits::Closed(_));
                x.v >= lo && (x.v < hi || (closed && x.v == hi))
            }
            other => return err(other.span(), "this pattern is not supported in a static body"),
        })
    }

    /// Whether a tuple pattern's (`tuple`) or an array pattern's parts all match a value's.
    fn parts_match(&mut self, pats: &Punctuated<Pat, Token![,]>, v: &Value, tuple: bool, span: Span) -> Flow<bool> {
        let items = match v {
            Value::Tuple(items) if tuple && items.len() == pats.len() => items,
            Value::Array(items) if !tuple && items.len() == pats.len() => items,
            other => {
                let kind = if tuple { "a tuple" } else { "an array" };
                return err(span, format!("{kind} pattern of {} does not match {}", pats.len(), other.kind()));
            }
        };
        for (p, item) in pats.iter().zip(items) {
            if !self.pat_matches(p, item)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Names the parts of `v` that `pat`, which matches it, binds.
    fn bind_matched(&mut self, pat: &Pat, v: Value) -> Flow<()> {
        match (pat, v) {
            (Pat::Ident(p), v) => {
                if let Some((_, sub)) = &p.subpat {
                    self.bind_matched(sub, v.clone())?;
                }
                self.define(p.ident.to_string(), v, p.ident.span());
            }
            (Pat::Paren(p), v) => self.bind_matched(&p.pat, v)?,
            (Pat::Reference(r), v) => self.bind_matched(&r.pat, v)?,
            (Pat::Tuple(t), Value::Tuple(items)) => {
                for (p, item) in t.elems.iter().zip(items) {
                    self.bind_matched(p, item)?;
                }
            }
            (Pat::Slice(s), Value::Array(items)) => {
                for (p, item) in s.elems.iter().zip(items) {
                    self.bind_matched(p, item)?;
                }
            }
            // Rust binds the same names in every alternative: the first that matches.
            (Pat::Or(o), v) => {
                for c in &o.cases {
                    if self.pat_matches(c, &v)? {
                        return self.bind_matched(c, v);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
