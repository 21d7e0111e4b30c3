//! Evaluation of a static kernel body at expansion time: a small interpreter for the documented
//! Rust subset (literals and arithmetic, `let`, `const`, arrays and tuples, ranges,
//! `for`/`while`/`loop`/`break`/`continue`, iterator adapters (`iter.rs`), `if`/`match` and
//! patterns (`patterns.rs`), nested `fn` items as custom instructions (lexically scoped, as in
//! Rust), register views, target queries) that drives peach-core's builder. Every
//! instruction is tagged with its token, so that errors from any later pass land on it.

mod builtins;
mod iter;
mod methods;
mod num;
mod numbers;
mod patterns;
#[cfg(test)]
mod tests;
mod value;

use std::collections::HashMap;
use std::rc::Rc;

use peach_core::emit::{Call, LineTable};
use peach_core::ir::{Function, Signature};
use peach_core::target::Arch;
use peach_core::{Abi, CodeObject, Src};
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{BinOp, Error, Expr, Stmt};

use num::{Int, IntTy, Ty};
pub(crate) use value::{Addr, Value};

use crate::kernel::Kernel;

/// Evaluation steps allowed before a body counts as a runaway loop: the library's largest
/// kernels take under 5,000, and a runaway loop reaches the limit in well under a second.
const STEP_LIMIT: u64 = 1_000_000;

/// How deep custom instructions may nest (each level takes native stack in the compiler).
pub(crate) const DEPTH_LIMIT: u32 = 64;

/// Instructions a static body may emit: far beyond any kernel, and reached in about a second
/// by a loop that never ends (JIT mode builds larger functions).
pub(crate) const INSTRUCTION_LIMIT: usize = 200_000;

/// The kernel, compiled for each calling convention of its architecture: x86-64 System V and
/// Microsoft x64, or AAPCS64 and Apple arm64.
pub struct Built {
    /// The architecture.
    pub arch: Arch,
    /// The code for each calling convention.
    pub builds: Vec<(Abi, CodeObject)>,
    /// The file, line and column (from 1) of each source tag ([`Src::Token`]) of the code:
    /// where the instruction was written.
    pub places: Vec<(String, u32, u32)>,
    /// The innermost custom-instruction call each tag's instruction was written in (an index
    /// into `calls`), if any.
    pub tag_calls: Vec<Option<u32>>,
    /// The custom-instruction calls, each with the call it is in.
    pub calls: Vec<(Call, Option<u32>)>,
}

impl Built {
    /// The build for `abi`.
    pub fn code(&self, abi: Abi) -> syn::Result<&CodeObject> {
        self.builds.iter().find(|(a, _)| *a == abi).map(|(_, c)| c).ok_or_else(|| {
            Error::new(Span::call_site(), format!("internal error: the kernel was not built for {abi:?}"))
        })
    }

    /// The source lines of `code` (one of the builds), for debuggers, with the custom
    /// instructions inlined in it; relative file names are relative to the directory the
    /// compiler runs in.
    pub fn line_table(&self, code: &CodeObject) -> LineTable {
        let rows = code.source_lines();
        let mut table = LineTable::new(rows, |src| match src {
            Src::Token(n) => self.places.get(n as usize).cloned(),
            Src::Rust(_) => None,
        });
        // The calls each tag's code is in, outermost first.
        let chain = |src: Src| {
            let mut ids = Vec::new();
            let mut call = match src {
                Src::Token(n) => self.tag_calls.get(n as usize).copied().flatten(),
                Src::Rust(_) => None,
            };
            while let Some(id) = call.filter(|_| ids.len() < DEPTH_LIMIT as usize) {
                ids.push(id);
                call = self.calls.get(id as usize).and_then(|c| c.1);
            }
            ids.reverse();
            ids
        };
        let calls: Vec<Call> = self.calls.iter().map(|c| c.0.clone()).collect();
        table.inline(rows, code.bytes().len() as u32, chain, &calls);
        if table.files.iter().any(|f| std::path::Path::new(f).is_relative()) {
            table.directory = std::env::current_dir().ok().map(|d| d.to_string_lossy().into_owned());
        }
        table
    }
}

/// Why evaluation left an expression early.
pub(crate) enum Ctl {
    Break,
    Continue,
    Return(Value),
    Error(Error),
}

impl From<Error> for Ctl {
    fn from(e: Error) -> Ctl {
        Ctl::Error(e)
    }
}

pub(crate) type Flow<T> = Result<T, Ctl>;

pub(crate) fn err<T>(span: Span, msg: impl std::fmt::Display) -> Flow<T> {
    Err(Ctl::Error(Error::new(span, msg)))
}

/// Past the step limit.
fn runaway(span: Span) -> Flow<()> {
    err(span, format!("evaluation took more than {STEP_LIMIT} steps: is this a runaway loop?"))
}

/// The interpreter's state: the function being built, variables, and the span of every token
/// that emitted something.
pub(crate) struct Eval {
    pub f: Function,
    /// The instruction streams `STREAM` made; `Value::Stream` is an index here.
    pub streams: Vec<peach_core::ir::InstructionStream>,
    scopes: Vec<HashMap<String, Value>>,
    /// The names of the items (`const`s and `fn`s) of each scope: all a custom instruction sees
    /// of the scopes around it.
    items: Vec<Vec<String>>,
    spans: Vec<Span>,
    /// The innermost custom-instruction call each tag was written in.
    tag_calls: Vec<Option<u32>>,
    tags: HashMap<[usize; 6], u32>,
    /// The custom-instruction calls evaluated (each with the call it is in): one per call site
    /// and enclosing call.
    calls: Vec<(Call, Option<u32>)>,
    call_ids: HashMap<(Option<u32>, usize, usize), u32>,
    /// The innermost custom-instruction call being evaluated.
    call: Option<u32>,
    steps: u64,
    /// How deep custom instructions are nested now.
    depth: u32,
    /// The types of the body's numbers.
    pub types: num::Types,
}

/// Evaluates the kernel's body for `target` and compiles it for each calling convention of the
/// architecture; errors at the tokens responsible.
pub fn build(kernel: &Kernel, target: &peach_core::Target) -> syn::Result<Built> {
    let types: Vec<_> = kernel.params.iter().map(|p| p.1).collect();
    let sig = Signature::new(&types, kernel.ret);
    let f = Function::new(kernel.item.sig.ident.to_string(), sig, target.clone());
    let mut ev = Eval::new(f);
    // Static kernels carry their lines (compile time is the user's build's, not a JIT's).
    ev.f.set_source_lines(true);
    let fn_src = ev.tag(kernel.item.sig.ident.span());
    ev.f.set_location(fn_src);
    for (i, (name, _)) in kernel.params.iter().enumerate() {
        let reg = ev.f.param(i);
        ev.define(name.to_string(), Value::Reg(reg), name.span());
    }
    let body = &kernel.item.block;
    let result = ev.block_stmts(&body.stmts);
    let mut errors: Vec<Error> = Vec::new();
    match result {
        Ok(_) | Err(Ctl::Return(_)) => {}
        Err(Ctl::Error(e)) => errors.push(e),
        Err(Ctl::Break | Ctl::Continue) => {
            errors.push(Error::new(body.span(), "`break` or `continue` outside of a loop"))
        }
    }
    if errors.is_empty()
        && let Err(e) = ev.types.settle_all()
    {
        errors.push(e);
    }
    if kernel.ret.is_none() && !ev.ends_with_return() {
        ev.f.ret_at(None, fn_src);
    }
    for e in ev.f.errors().to_vec() {
        errors.push(ev.to_syn(&e));
    }
    if !errors.is_empty() {
        return Err(combine(errors));
    }
    let arch = target.arch();
    let abis: &[Abi] = match arch {
        Arch::Aarch64 => &[Abi::Aapcs64, Abi::AppleArm64],
        _ => &[Abi::SysV, Abi::Win64],
    };
    let mut builds = Vec::with_capacity(abis.len());
    for &abi in abis {
        builds.push((abi, ev.f.compile(abi).map_err(|e| ev.to_syn(&e))?));
    }
    let places = ev.places();
    Ok(Built { arch, builds, places, tag_calls: ev.tag_calls, calls: ev.calls })
}

fn combine(errors: Vec<Error>) -> Error {
    let mut iter = errors.into_iter();
    let mut first = iter.next().unwrap_or_else(|| Error::new(Span::call_site(), "unknown error"));
    for e in iter {
        first.combine(e);
    }
    first
}

impl Eval {
    fn new(f: Function) -> Eval {
        Eval {
            f,
            streams: Vec::new(),
            scopes: vec![HashMap::new()],
            items: vec![Vec::new()],
            spans: Vec::new(),
            tag_calls: Vec::new(),
            tags: HashMap::new(),
            calls: Vec::new(),
            call_ids: HashMap::new(),
            call: None,
            steps: 0,
            depth: 0,
            types: num::Types::default(),
        }
    }

    /// A source tag for the token at `span`.
    pub(crate) fn tag(&mut self, span: Span) -> Src {
        // One tag per place (and call), so that messages can group what one token made.
        let (a, b) = (span.start(), span.end());
        let call = self.call.map_or(0, |c| c as usize + 1);
        let key = [a.line, a.column, b.line, b.column, call, 0];
        if let Some(&n) = self.tags.get(&key) {
            return Src::Token(n);
        }
        self.spans.push(span);
        self.tag_calls.push(self.call);
        let n = self.spans.len() as u32 - 1;
        self.tags.insert(key, n);
        Src::Token(n)
    }

    /// Evaluates `f` as custom instruction `name`, called at `span`: debuggers see its code
    /// inlined there.
    pub(crate) fn in_call<T>(&mut self, span: Span, name: &str, f: impl FnOnce(&mut Eval) -> T) -> T {
        let outer = self.call;
        let at = span.start();
        let next = self.calls.len() as u32;
        let id = *self.call_ids.entry((outer, at.line, at.column)).or_insert(next);
        if id == next {
            let call =
                Call { name: name.to_string(), file: span.file(), line: at.line as u32, column: at.column as u32 + 1 };
            self.calls.push((call, outer));
        }
        self.call = Some(id);
        let result = f(self);
        self.call = outer;
        result
    }

    /// File, line and column of each tag (see [`Built::places`]).
    fn places(&self) -> Vec<(String, u32, u32)> {
        self.spans
            .iter()
            .map(|s| {
                let at = s.start();
                (s.file(), at.line as u32, at.column as u32 + 1)
            })
            .collect()
    }

    /// A peach-core error as a compile error at its token, with token numbers in the message
    /// replaced by lines and columns.
    fn to_syn(&self, e: &peach_core::Error) -> Error {
        let span = match e.src() {
            Some(Src::Token(n)) => self.spans.get(n as usize).copied().unwrap_or_else(Span::call_site),
            _ => Span::call_site(),
        };
        let mut msg = e.message().to_string();
        for (n, s) in self.spans.iter().enumerate().rev() {
            let needle = format!("token #{n}");
            if msg.contains(&needle) {
                let at = s.start();
                msg = msg.replace(&needle, &format!("line {}, column {}", at.line, at.column + 1));
            }
        }
        Error::new(span, msg)
    }

    fn ends_with_return(&self) -> bool {
        self.f.insts().last().is_some_and(|i| i.op == peach_core::ir::Op::Ret)
    }

    /// Counts one step of evaluation; past the limit, an error at `at` (whose span is only
    /// worked out then: it costs more than the step).
    pub(crate) fn step(&mut self, at: &impl Spanned) -> Flow<()> {
        self.steps += 1;
        if self.steps > STEP_LIMIT {
            return runaway(at.span());
        }
        Ok(())
    }

    /// [`Eval::step`] with the span at hand.
    pub(crate) fn step_at(&mut self, span: Span) -> Flow<()> {
        self.steps += 1;
        if self.steps > STEP_LIMIT {
            return runaway(span);
        }
        Ok(())
    }

    /// Names an item (a `const` or a `fn`) of the innermost scope.
    fn define_item(&mut self, name: String, v: Value, span: Span) {
        if let Some(names) = self.items.last_mut() {
            names.push(name.clone());
        }
        self.define(name, v, span);
    }

    /// Names a value. A named number shares its type with every use of the name, as in Rust.
    pub(crate) fn define(&mut self, name: String, v: Value, span: Span) {
        let v = self.share(v, span);
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name, v);
        }
    }

    fn share(&mut self, v: Value, span: Span) -> Value {
        match v {
            Value::Int(i) => Value::Int(self.types.share_int(i, span)),
            Value::Float(f) => Value::Float(self.types.share_float(f, span)),
            Value::Array(items) => Value::Array(items.into_iter().map(|x| self.share(x, span)).collect()),
            Value::Tuple(items) => Value::Tuple(items.into_iter().map(|x| self.share(x, span)).collect()),
            other => other,
        }
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    pub(crate) fn scopes_lookup(&self, name: &str) -> Option<Value> {
        self.lookup(name).cloned()
    }

    fn assign(&mut self, name: &str, v: Value, span: Span) -> Flow<()> {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(slot) = scope.get_mut(name) {
                *slot = v;
                return Ok(());
            }
        }
        err(span, format!("`{name}` is not defined"))
    }

    pub(crate) fn scoped<T>(&mut self, run: impl FnOnce(&mut Self) -> Flow<T>) -> Flow<T> {
        self.scopes.push(HashMap::new());
        self.items.push(Vec::new());
        let r = run(self);
        self.scopes.pop();
        self.items.pop();
        r
    }

    /// Runs `run` where only the items of the scopes up to `depth` are seen (a custom
    /// instruction's body: Rust's nested `fn`s see the items around them, not the caller's
    /// variables), then restores the scopes.
    pub(crate) fn in_items_of<T>(
        &mut self,
        depth: usize,
        span: Span,
        run: impl FnOnce(&mut Self) -> Flow<T>,
    ) -> Flow<T> {
        if depth >= self.scopes.len() {
            return err(span, "a custom instruction is called here outside the block that defines it");
        }
        let seen: Vec<HashMap<String, Value>> = self.scopes[..=depth]
            .iter()
            .zip(&self.items)
            .map(|(scope, names)| names.iter().filter_map(|n| Some((n.clone(), scope.get(n)?.clone()))).collect())
            .collect();
        let names = self.items[..=depth].to_vec();
        let scopes = std::mem::replace(&mut self.scopes, seen);
        let items = std::mem::replace(&mut self.items, names);
        let r = run(self);
        self.scopes = scopes;
        self.items = items;
        r
    }

    pub(crate) fn block_stmts(&mut self, stmts: &[Stmt]) -> Flow<Value> {
        self.scoped(|ev| {
            // Items first, so that custom instructions can be used before their definition.
            for s in stmts {
                if let Stmt::Item(item) = s {
                    ev.item(item)?;
                }
            }
            let mut last = Value::Unit;
            for (i, s) in stmts.iter().enumerate() {
                last = Value::Unit;
                match s {
                    Stmt::Local(local) => {
                        let init = local
                            .init
                            .as_ref()
                            .ok_or_else(|| Ctl::Error(Error::new(local.span(), "a `let` in a kernel needs a value")))?;
                        if init.diverge.is_some() {
                            return err(
                                local.span(),
                                "`let ... else` is not supported in a static body: use JIT mode for full Rust",
                            );
                        }
                        let v = ev.expr(&init.expr)?;
                        ev.bind_pat(&local.pat, v)?;
                    }
                    Stmt::Item(_) => {}
                    Stmt::Expr(e, semi) => {
                        let v = ev.expr(e)?;
                        if semi.is_none() && i + 1 == stmts.len() {
                            last = v;
                        }
                    }
                    Stmt::Macro(m) => {
                        return err(m.span(), "macros are not supported in a static body: use JIT mode for full Rust");
                    }
                }
            }
            Ok(last)
        })
    }

    fn item(&mut self, item: &syn::Item) -> Flow<()> {
        match item {
            syn::Item::Const(c) => {
                let v = self.expr(&c.expr)?;
                let v = self.coerce(v, &c.ty, c.expr.span())?;
                self.define_item(c.ident.to_string(), v, c.ident.span());
                Ok(())
            }
            syn::Item::Fn(f) => {
                let depth = self.scopes.len() - 1;
                self.define_item(f.sig.ident.to_string(), Value::Func(Rc::new(f.clone()), depth), f.sig.ident.span());
                Ok(())
            }
            other => err(
                other.span(),
                "only `const` and `fn` items are supported in a static body: use JIT mode for full Rust",
            ),
        }
    }

    pub(crate) fn expr(&mut self, e: &Expr) -> Flow<Value> {
        self.step(e)?;
        match e {
            Expr::Lit(l) => self.lit(&l.lit, false),
            Expr::Path(p) => self.path(p),
            Expr::Paren(p) => self.expr(&p.expr),
            Expr::Group(g) => self.expr(&g.expr),
            Expr::Block(b) => self.block_stmts(&b.block.stmts),
            Expr::Unary(u) => self.unary(u, None),
            // A shared reference is the value it points at (values are copies); a mutable one
            // would let a body change what Rust would change and this interpreter would not.
            Expr::Reference(r) if r.mutability.is_none() => self.expr(&r.expr),
            Expr::Binary(b) => self.binary(b),
            Expr::Assign(a) => {
                let v = self.expr(&a.right)?;
                self.assign_to(&a.left, v)?;
                Ok(Value::Unit)
            }
            Expr::Array(a) => {
                let items = a.elems.iter().map(|x| self.expr(x)).collect::<Flow<Vec<_>>>()?;
                // `[address]` is a memory operand; other arrays are arrays, of one element type.
                let items = self.same_type(items, a.span())?;
                match items.as_slice() {
                    [Value::Addr(addr)] => builtins::mem_of(*addr, a.span()).map(Value::Mem),
                    [Value::Reg(r)] if !r.is_virtual() || self.is_gp(*r) => {
                        builtins::mem_of(Addr { base: Some(*r), index: None, disp: 0 }, a.span()).map(Value::Mem)
                    }
                    _ => Ok(Value::Array(items)),
                }
            }
            Expr::Repeat(r) => {
                let n = self.count(&r.len)?;
                // Each element is evaluated anew: `[YMM(); 4]` is four registers.
                let items = (0..n).map(|_| self.expr(&r.expr)).collect::<Flow<Vec<_>>>()?;
                Ok(Value::Array(items))
            }
            Expr::Tuple(t) => Ok(Value::Tuple(t.elems.iter().map(|x| self.expr(x)).collect::<Flow<Vec<_>>>()?)),
            Expr::Index(i) => {
                let base = self.expr(&i.expr)?;
                let at = self.usize(&i.index)?;
                match base {
                    Value::Array(items) | Value::Tuple(items) => {
                        usize::try_from(at).ok().and_then(|k| items.get(k).cloned()).ok_or_else(|| {
                            Ctl::Error(Error::new(
                                i.index.span(),
                                format!("index {at} is out of bounds (length {})", items.len()),
                            ))
                        })
                    }
                    other => err(i.expr.span(), format!("cannot index {}", other.kind())),
                }
            }
            Expr::Field(f) => {
                let base = self.expr(&f.base)?;
                match (&f.member, base) {
                    (syn::Member::Unnamed(n), Value::Tuple(items)) => items
                        .get(n.index as usize)
                        .cloned()
                        .ok_or_else(|| Ctl::Error(Error::new(f.member.span(), "no such field"))),
                    (_, other) => err(f.span(), format!("no field on {}", other.kind())),
                }
            }
            Expr::Range(r) => {
                let start = match &r.start {
                    Some(s) => self.int(s)?,
                    None => Int { v: 0, ty: Ty::Lit },
                };
                let end = match &r.end {
                    Some(e) => self.int(e)?,
                    None => return err(r.span(), "an open range cannot be iterated"),
                };
                let ty = self.types.unify_int(start, end, r.limits.span())?;
                let closed = matches!(r.limits, syn::RangeLimits::Closed(_));
                Ok(Value::Range(Int { ty, ..start }, Int { ty, ..end }, closed))
            }
            Expr::If(i) => {
                if self.bool(&i.cond)? {
                    self.block_stmts(&i.then_branch.stmts)
                } else if let Some((_, e)) = &i.else_branch {
                    self.expr(e)
                } else {
                    Ok(Value::Unit)
                }
            }
            Expr::ForLoop(fl) => {
                let items: Box<dyn Iterator<Item = Value>> = match self.expr(&fl.expr)? {
                    Value::Range(a, b, closed) => {
                        let ty = a.ty;
                        let values: Box<dyn Iterator<Item = i128>> =
                            if closed { Box::new(a.v..=b.v) } else { Box::new(a.v..b.v) };
                        Box::new(values.map(move |v| Value::Int(Int { v, ty })))
                    }
                    Value::Array(items) => Box::new(items.into_iter()),
                    other => return err(fl.expr.span(), format!("cannot iterate over {}", other.kind())),
                };
                for item in items {
                    self.step(fl)?;
                    let r = self.scoped(|ev| {
                        ev.bind_pat(&fl.pat, item)?;
                        ev.block_stmts(&fl.body.stmts)
                    });
                    match r {
                        Err(Ctl::Break) => break,
                        Err(Ctl::Continue) | Ok(_) => continue,
                        Err(other) => return Err(other),
                    }
                }
                Ok(Value::Unit)
            }
            Expr::While(w) => {
                while self.bool(&w.cond)? {
                    match self.block_stmts(&w.body.stmts) {
                        Err(Ctl::Break) => break,
                        Err(Ctl::Continue) | Ok(_) => continue,
                        Err(other) => return Err(other),
                    }
                }
                Ok(Value::Unit)
            }
            Expr::Loop(l) => loop {
                match self.block_stmts(&l.body.stmts) {
                    Err(Ctl::Break) => return Ok(Value::Unit),
                    Err(Ctl::Continue) | Ok(_) => self.step(l)?,
                    Err(other) => return Err(other),
                }
            },
            Expr::Break(b) if b.expr.is_none() && b.label.is_none() => Err(Ctl::Break),
            Expr::Continue(c) if c.label.is_none() => Err(Ctl::Continue),
            Expr::Return(r) => {
                let v = match &r.expr {
                    Some(e) => self.expr(e)?,
                    None => Value::Unit,
                };
                Err(Ctl::Return(v))
            }
            Expr::Match(m) => self.matching(m),
            Expr::Call(c) => self.call(c),
            Expr::MethodCall(m) => self.method(m),
            Expr::Cast(c) => self.cast(c),
            other => err(
                other.span(),
                "this expression is not supported in a static body: use JIT mode (#[jit]) for full Rust",
            ),
        }
    }

    fn is_gp(&self, r: peach_core::ir::Reg) -> bool {
        r.class() == peach_core::isa::x86_64::GP
    }

    fn assign_to(&mut self, place: &Expr, v: Value) -> Flow<()> {
        match place {
            Expr::Path(p) if let Some(id) = p.path.get_ident() => self.assign(&id.to_string(), v, id.span()),
            Expr::Index(i) => {
                let Expr::Path(p) = &*i.expr else {
                    return err(place.span(), "only a variable's element can be assigned");
                };
                let name = p.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                let at = self.usize(&i.index)?;
                let mut array = match self.lookup(&name) {
                    Some(Value::Array(items)) => items.clone(),
                    _ => return err(place.span(), format!("`{name}` is not an array")),
                };
                let slot = usize::try_from(at).ok().and_then(|k| array.get_mut(k));
                match slot {
                    Some(s) => *s = v,
                    None => return err(i.index.span(), "index out of bounds"),
                }
                self.assign(&name, Value::Array(array), place.span())
            }
            other => err(other.span(), "only variables can be assigned in a static body"),
        }
    }

    fn binary(&mut self, b: &syn::ExprBinary) -> Flow<Value> {
        use BinOp::*;
        if let And(_) | Or(_) = b.op {
            let l = self.bool(&b.left)?;
            return match (b.op, l) {
                (And(_), false) => Ok(Value::Bool(false)),
                (Or(_), true) => Ok(Value::Bool(true)),
                _ => Ok(Value::Bool(self.bool(&b.right)?)),
            };
        }
        let compound = match b.op {
            AddAssign(_) => Some(Add(Default::default())),
            SubAssign(_) => Some(Sub(Default::default())),
            MulAssign(_) => Some(Mul(Default::default())),
            DivAssign(_) => Some(Div(Default::default())),
            RemAssign(_) => Some(Rem(Default::default())),
            ShlAssign(_) => Some(Shl(Default::default())),
            ShrAssign(_) => Some(Shr(Default::default())),
            BitAndAssign(_) => Some(BitAnd(Default::default())),
            BitOrAssign(_) => Some(BitOr(Default::default())),
            BitXorAssign(_) => Some(BitXor(Default::default())),
            _ => None,
        };
        let l = self.expr(&b.left)?;
        let r = self.expr(&b.right)?;
        let op = compound.unwrap_or(b.op);
        let v = self.arith(op, l, r, b.op.span())?;
        if compound.is_some() {
            self.assign_to(&b.left, v)?;
            return Ok(Value::Unit);
        }
        Ok(v)
    }

    pub(crate) fn int(&mut self, e: &Expr) -> Flow<Int> {
        match self.expr(e)? {
            Value::Int(i) => Ok(i),
            other => err(e.span(), format!("expected an integer, found {}", other.kind())),
        }
    }

    /// An index: a `usize`, as Rust requires.
    fn usize(&mut self, e: &Expr) -> Flow<i128> {
        let i = self.int(e)?;
        Ok(self.types.coerce_int(i, IntTy::Usize, e.span())?)
    }

    /// A count that JIT mode converts with `as usize` (a repeat length): any integer type, but
    /// not negative.
    pub(crate) fn count(&mut self, e: &Expr) -> Flow<usize> {
        let i = self.int(e)?;
        usize::try_from(i.v).or_else(|_| err(e.span(), format!("{} is not a count", i.v)))
    }

    fn bool(&mut self, e: &Expr) -> Flow<bool> {
        match self.expr(e)? {
            Value::Bool(b) => Ok(b),
            other => err(e.span(), format!("expected a bool, found {}", other.kind())),
        }
    }

    fn path(&mut self, p: &syn::ExprPath) -> Flow<Value> {
        if let Some(id) = p.path.get_ident() {
            let name = id.to_string();
            if let Some(v) = self.lookup(&name) {
                return Ok(v.clone());
            }
            if let Some(v) = builtins::named_value(&name, self.f.target().arch()) {
                return Ok(v);
            }
            if self.depth > 0 {
                return err(
                    id.span(),
                    format!(
                        "`{name}` is not defined here: a custom instruction (a nested `fn`) sees its parameters and the `const`s and `fn`s around it, not the variables of its caller, as in Rust (pass `{name}` as a parameter)"
                    ),
                );
            }
            return err(
                id.span(),
                format!(
                    "`{name}` is not defined in this kernel: a static body sees only its own names, not items outside `peach_fn!` (define the constant inside the body, or use JIT mode (#[jit]))"
                ),
            );
        }
        let segments: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments == ["u128", "MAX"] {
            return Err(Ctl::Error(num::u128_limit(p.span())));
        }
        match methods::assoc_const(&segments) {
            Some(v) => Ok(v),
            None => err(
                p.span(),
                format!(
                    "`{}` is not known to a static body (it knows `f64::MAX`-style constants of the number types and `std::f64::consts`): use JIT mode (#[jit]) for full Rust",
                    segments.join("::")
                ),
            ),
        }
    }
}
