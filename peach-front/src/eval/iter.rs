//! Iterator adapters a static body can use on arrays and ranges: `iter`, `into_iter`, `copied`,
//! `cloned`, `enumerate`, `rev`, `zip`, `step_by`, `skip` and `take`, so that
//! `for (i, &r) in acc.iter().enumerate()` reads as it does in Rust. Values are copies (a
//! reference to a register is the register), so each adapter makes the sequence it stands for, in
//! Rust's order; a range becomes one only when adapted, a step per element.

use proc_macro2::Span;

use super::num::{Int, IntTy};
use super::{Eval, Flow, Value, err};

/// The adapters, for messages.
pub(crate) const ADAPTERS: &str = "iter, into_iter, copied, cloned, enumerate, rev, zip, step_by, skip, take";

/// Whether `name` is one of the adapters.
pub(crate) fn is_adapter(name: &str) -> bool {
    ADAPTERS.split(", ").any(|a| a == name)
}

impl Eval {
    /// `recv.name(args)` for an array or a range `recv` and an adapter `name`.
    pub(crate) fn adapt(&mut self, recv: Value, name: &str, args: &[Value], span: Span) -> Flow<Value> {
        // References are the values they point at: these change nothing.
        if args.is_empty() && matches!(name, "iter" | "into_iter" | "copied" | "cloned") {
            return Ok(recv);
        }
        let items = self.items(recv, span)?;
        let count = |ev: &mut Eval, v: &Value| match v {
            Value::Int(i) => Ok(ev.types.coerce_int(*i, IntTy::Usize, span)? as usize),
            other => err(span, format!("`{name}` takes a `usize`, not {}", other.kind())),
        };
        let adapted = match (name, args) {
            ("enumerate", []) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Value::Tuple(vec![Value::Int(Int::known(i as i128, IntTy::Usize)), v]))
                .collect(),
            ("rev", []) => items.into_iter().rev().collect(),
            ("zip", [other]) => {
                let other = self.items(other.clone(), span)?;
                items.into_iter().zip(other).map(|(a, b)| Value::Tuple(vec![a, b])).collect()
            }
            ("step_by", [n]) => match count(self, n)? {
                // Rust panics there, at run time of the generator: here, at compile time.
                0 => return err(span, "`step_by(0)`: the step must be positive (Rust panics)"),
                n => items.into_iter().step_by(n).collect(),
            },
            ("skip", [n]) => items.into_iter().skip(count(self, n)?).collect(),
            ("take", [n]) => items.into_iter().take(count(self, n)?).collect(),
            _ => return err(span, format!("`{name}` takes other arguments here (the adapters: {ADAPTERS})")),
        };
        Ok(Value::Array(adapted))
    }

    /// The elements of an array, a range or what an adapter made.
    fn items(&mut self, v: Value, span: Span) -> Flow<Vec<Value>> {
        match v {
            Value::Array(items) => Ok(items),
            Value::Range(a, b, closed) => {
                let end = if closed { b.v.saturating_add(1) } else { b.v };
                let mut out = Vec::new();
                for v in a.v..end {
                    self.step_at(span)?;
                    out.push(Value::Int(Int { v, ty: a.ty }));
                }
                Ok(out)
            }
            other => err(span, format!("cannot iterate over {}", other.kind())),
        }
    }
}
