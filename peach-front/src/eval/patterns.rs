//! Patterns in a static body: `let`, `for` and parameter patterns (names, tuples, arrays,
//! references, type ascriptions) and `match` arms (also literals, ranges, `|` and `name @`).

use syn::Pat;
use syn::spanned::Spanned;

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
            Pat::Tuple(t) => {
                let items = match v {
                    Value::Tuple(items) | Value::Array(items) if items.len() == t.elems.len() => items,
                    other => {
                        return err(
                            t.span(),
                            format!("cannot destructure {} into {} names", other.kind(), t.elems.len()),
                        );
                    }
                };
                for (p, v) in t.elems.iter().zip(items) {
                    self.bind_pat(p, v)?;
                }
                Ok(())
            }
            Pat::Slice(s) => {
                let items = match v {
                    Value::Array(items) if items.len() == s.elems.len() => items,
                    other => {
                        return err(
                            s.span(),
                            format!("cannot destructure {} into {} names", other.kind(), s.elems.len()),
                        );
                    }
                };
                for (p, v) in s.elems.iter().zip(items) {
                    self.bind_pat(p, v)?;
                }
                Ok(())
            }
            other => err(other.span(), "this pattern is not supported in a static body: use JIT mode for full Rust"),
        }
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
            Pat::Tuple(t) => match v {
                Value::Tuple(items) if items.len() == t.elems.len() => self.all_match(t.elems.iter(), items)?,
                other => {
                    return err(
                        t.span(),
                        format!("a tuple pattern of {} does not match {}", t.elems.len(), other.kind()),
                    );
                }
            },
            Pat::Slice(s) => match v {
                Value::Array(items) if items.len() == s.elems.len() => self.all_match(s.elems.iter(), items)?,
                other => {
                    return err(
                        s.span(),
                        format!("an array pattern of {} does not match {}", s.elems.len(), other.kind()),
                    );
                }
            },
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
                let lo = match &r.start {
                    Some(e) => {
                        let lo = self.int(e)?;
                        self.types.unify_int(lo, *x, r.span())?;
                        lo.v
                    }
                    None => i128::MIN,
                };
                let hi = match &r.end {
                    Some(e) => {
                        let hi = self.int(e)?;
                        self.types.unify_int(hi, *x, r.span())?;
                        hi.v
                    }
                    None => i128::MAX,
                };
                let closed = matches!(r.limits, syn::RangeLimits::Closed(_));
                x.v >= lo && (x.v < hi || (closed && x.v == hi))
            }
            other => return err(other.span(), "this pattern is not supported in a static body"),
        })
    }

    fn all_match<'p>(&mut self, pats: impl Iterator<Item = &'p Pat>, items: &[Value]) -> Flow<bool> {
        for (p, item) in pats.zip(items) {
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
