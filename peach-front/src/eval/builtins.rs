//! What calls, methods and names mean in a kernel body: instructions (any upper-case name that
//! is not defined), register constructors and views, labels, constants, target queries, the
//! pseudo-instructions and the user's own `fn`s (custom instructions).

use std::rc::Rc;

use peach_core::ir::{Constant, Mem, Operand, Reg};
use peach_core::isa::aarch64::A64Reg;
use peach_core::isa::lang::{self, Builtin, Named};
use peach_core::target::Arch;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{BinOp, Expr};

use super::num::{self, FloatTy, Int, IntTy, Ty};
use super::{Addr, Ctl, Eval, Flow, Value, err};

/// A name that means something without being defined: `target`, and the ISA's named values
/// (physical registers, conditions, element types, rounding modes: `isa::lang`).
pub(crate) fn named_value(name: &str, arch: Arch) -> Option<Value> {
    if name == "target" {
        return Some(Value::Target);
    }
    Some(match lang::named(arch, name)? {
        Named::Reg(r) => Value::Reg(r),
        Named::Imm(v) => Value::Int(Int::known(v as i128, IntTy::I64)),
        Named::Elem(e) => Value::Elem(e),
        Named::Rounding(r) => Value::Rounding(r),
    })
}

/// `[address]` as a memory operand.
pub(crate) fn mem_of(a: Addr, span: Span) -> Flow<Mem> {
    let disp =
        i32::try_from(a.disp).or_else(|_| err(span, format!("displacement {} does not fit in 32 bits", a.disp)))?;
    let (index, scale) = match a.index {
        Some((r, s)) => (Some(r), s),
        None => (None, 1),
    };
    Ok(Mem { base: a.base, index, scale, disp, size: 0, broadcast: 0, update: Default::default() })
}

fn addr_of(v: &Value) -> Option<Addr> {
    match v {
        Value::Reg(r) => Some(Addr { base: Some(*r), index: None, disp: 0 }),
        Value::Addr(a) => Some(*a),
        _ => None,
    }
}

fn add_addr(a: Addr, b: Addr, span: Span) -> Flow<Addr> {
    let mut out = Addr { base: a.base, index: a.index, disp: a.disp + b.disp };
    for (reg, scale) in b.base.map(|r| (r, 1)).into_iter().chain(b.index) {
        if out.base.is_none() && scale == 1 {
            out.base = Some(reg);
        } else if out.index.is_none() {
            out.index = Some((reg, scale));
        } else {
            return err(span, "a memory operand can have one base and one index register");
        }
    }
    Ok(out)
}

fn is_comparison(op: &BinOp) -> bool {
    use BinOp::*;
    matches!(op, Eq(_) | Ne(_) | Lt(_) | Le(_) | Gt(_) | Ge(_))
}

/// An integer in address arithmetic, which JIT mode converts with `as i64` from the types up to
/// 64 bits.
fn addr_int(ts: &mut num::Types, i: Int, span: Span) -> Flow<i128> {
    match ts.int_ty(i.ty) {
        Some(t @ (IntTy::I128 | IntTy::U128)) => {
            err(span, format!("an `{}` cannot be part of an address (Rust has no such `+` for registers)", t.name()))
        }
        _ => Ok(i.v),
    }
}

impl Eval {
    /// Arithmetic on numbers and address expressions.
    pub(crate) fn arith(&mut self, op: BinOp, l: Value, r: Value, span: Span) -> Flow<Value> {
        let ts = &mut self.types;
        match (l, r) {
            (Value::Int(a), Value::Int(b)) if is_comparison(&op) => Ok(Value::Bool(num::int_cmp(ts, &op, a, b, span)?)),
            (Value::Int(a), Value::Int(b)) => Ok(Value::Int(num::int_arith(ts, &op, a, b, span)?)),
            (Value::Float(a), Value::Float(b)) if is_comparison(&op) => {
                Ok(Value::Bool(num::float_cmp(ts, &op, a, b, span)?))
            }
            (Value::Float(a), Value::Float(b)) => Ok(Value::Float(num::float_arith(ts, &op, a, b, span)?)),
            (l, r) => address_arith(ts, op, l, r, span),
        }
    }
}

/// Arithmetic on bools and address expressions.
fn address_arith(ts: &mut num::Types, op: BinOp, l: Value, r: Value, span: Span) -> Flow<Value> {
    use BinOp::*;
    match (l, r) {
        (Value::Bool(a), Value::Bool(b)) => Ok(match op {
            Eq(_) => Value::Bool(a == b),
            Ne(_) => Value::Bool(a != b),
            BitAnd(_) => Value::Bool(a & b),
            BitOr(_) => Value::Bool(a | b),
            BitXor(_) => Value::Bool(a ^ b),
            _ => return err(span, "this operator does not apply to bools"),
        }),
        // Address arithmetic: `base + index * 4 + 16`.
        (Value::Reg(r), Value::Int(s)) if matches!(op, Mul(_)) => {
            let s = addr_int(ts, s, span)?;
            let scale = u8::try_from(s).ok().filter(|s| matches!(s, 1 | 2 | 4 | 8));
            let scale = scale.ok_or_else(|| {
                Ctl::Error(syn::Error::new(span, format!("index scale {s} is not encodable: use 1, 2, 4 or 8")))
            })?;
            Ok(Value::Addr(Addr { base: None, index: Some((r, scale)), disp: 0 }))
        }
        (l, Value::Int(d)) if addr_of(&l).is_some() && matches!(op, Add(_) | Sub(_)) => {
            let d = addr_int(ts, d, span)?;
            let mut a = addr_of(&l).unwrap_or(Addr { base: None, index: None, disp: 0 });
            a.disp += if matches!(op, Sub(_)) { -d } else { d };
            Ok(Value::Addr(a))
        }
        (l, r) if addr_of(&l).is_some() && addr_of(&r).is_some() && matches!(op, Add(_)) => {
            let (a, b) = (
                addr_of(&l).unwrap_or(Addr { base: None, index: None, disp: 0 }),
                addr_of(&r).unwrap_or(Addr { base: None, index: None, disp: 0 }),
            );
            add_addr(a, b, span).map(Value::Addr)
        }
        (l, r) => err(span, format!("cannot combine {} and {} with this operator", l.kind(), r.kind())),
    }
}

impl Eval {
    pub(crate) fn call(&mut self, c: &syn::ExprCall) -> Flow<Value> {
        let Expr::Path(p) = &*c.func else {
            return err(c.func.span(), "only named functions can be called in a static body");
        };
        let segments: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
        let span = c.func.span();
        match segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["Label", "new"] => return Ok(Value::Label(self.f.label())),
            ["Constant", ctor] => {
                let args = self.args(c)?;
                return self.constant(ctor, &args, span).map(Value::Constant);
            }
            [ty @ ("f32" | "f64"), "from_bits"] => {
                let args = self.args(c)?;
                return self.float_from_bits(ty, &args, span);
            }
            ["STREAM"] => {
                // The argument is evaluated while recording: what it emits goes into the stream.
                let [body] = c.args.iter().collect::<Vec<_>>()[..] else {
                    return err(c.span(), "`STREAM({ ... })` records the instructions of one block");
                };
                self.f.begin_stream();
                let done = self.expr(body);
                let stream = self.f.end_stream();
                done?;
                self.streams.push(stream);
                return Ok(Value::Stream(self.streams.len() - 1));
            }
            ["ASM"]
                if self.lookup_fn("ASM").is_none()
                    && lang::builtin(self.f.target().arch(), "ASM").is_some_and(|w| w.builtin == Builtin::Asm) =>
            {
                let Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. })) = c.args.first() else {
                    return err(
                        c.span(),
                        "`ASM(\"text\", operands...)` takes the instruction as a string literal first",
                    );
                };
                let args = c.args.iter().skip(1).map(|a| Ok((self.expr(a)?, a.span()))).collect::<Flow<Vec<_>>>()?;
                let ops = self.operands(args)?;
                self.within_limit(span)?;
                let src = self.tag(text.span());
                self.f.asm_at(&text.value(), ops.as_slice(), src);
                return Ok(Value::Unit);
            }
            [name] => {
                let name = name.to_string();
                if let Some(Value::Func(f, depth)) = self.lookup_fn(&name) {
                    let args = self.args(c)?;
                    return self.custom(&f, depth, args, span);
                }
                // Another ISA's builtin is an error before its arguments mean anything.
                if let Some(msg) = lang::elsewhere(self.f.target().arch(), &name) {
                    return err(span, msg);
                }
                let args = self.args(c)?;
                return self.builtin(&name, args, c, span);
            }
            _ => {}
        }
        err(span, "unknown function: a static body calls instructions (upper case), its own `fn`s and the builtins")
    }

    fn lookup_fn(&self, name: &str) -> Option<Value> {
        self.scopes_lookup(name).filter(|v| matches!(v, Value::Func(..)))
    }

    fn args(&mut self, c: &syn::ExprCall) -> Flow<Vec<(Value, Span)>> {
        c.args.iter().map(|a| Ok((self.expr(a)?, a.span()))).collect()
    }

    /// A user's `fn`, defined in the scope at `depth`: its parameters bound to the arguments, its
    /// body evaluated where it sees them and the items around its definition.
    fn custom(&mut self, f: &Rc<syn::ItemFn>, depth: usize, args: Vec<(Value, Span)>, span: Span) -> Flow<Value> {
        if f.sig.inputs.len() != args.len() {
            return err(span, format!("`{}` takes {} arguments, not {}", f.sig.ident, f.sig.inputs.len(), args.len()));
        }
        if self.depth >= super::DEPTH_LIMIT {
            return err(
                span,
                format!("custom instructions nest more than {} deep: is this a runaway recursion?", super::DEPTH_LIMIT),
            );
        }
        self.depth += 1;
        let result = self.in_call(span, &f.sig.ident.to_string(), |ev| {
            ev.in_items_of(depth, span, |ev| {
                ev.scoped(|ev| {
                    for (input, (v, s)) in f.sig.inputs.iter().zip(args) {
                        match input {
                            // The parameter's declared type, as Rust gives it to the argument.
                            syn::FnArg::Typed(pt) => {
                                let v = ev.coerce(v, &pt.ty, s)?;
                                ev.bind_pat(&pt.pat, v)?
                            }
                            syn::FnArg::Receiver(r) => return err(r.span(), "custom instructions take no self"),
                        }
                    }
                    let v = match ev.block_stmts(&f.block.stmts) {
                        Err(Ctl::Return(v)) => v,
                        other => other?,
                    };
                    match &f.sig.output {
                        syn::ReturnType::Type(_, ty) => ev.coerce(v, ty, span),
                        syn::ReturnType::Default => Ok(v),
                    }
                })
            })
        });
        self.depth -= 1;
        result
    }

    /// An error once the body has emitted too many instructions for static mode.
    fn within_limit(&self, span: Span) -> Flow<()> {
        if self.f.insts().len() >= super::INSTRUCTION_LIMIT {
            return err(
                span,
                format!(
                    "the body emitted more than {} instructions: is this a runaway loop? (JIT mode builds larger functions)",
                    super::INSTRUCTION_LIMIT
                ),
            );
        }
        Ok(())
    }

    fn builtin(&mut self, name: &str, args: Vec<(Value, Span)>, c: &syn::ExprCall, span: Span) -> Flow<Value> {
        self.within_limit(span)?;
        let src = self.tag(span);
        let none = |_: &mut Self, v: Value| {
            if args.is_empty() { Ok(v) } else { err(c.span(), format!("`{name}()` takes no arguments")) }
        };
        let arch = self.f.target().arch();
        // (Another ISA's builtin was refused in `call`, before its arguments.)
        match lang::builtin(arch, name).map(|w| w.builtin) {
            Some(Builtin::Vreg(kind)) => {
                let r = self.f.vreg_at(kind, src);
                return none(self, Value::Reg(r));
            }
            Some(Builtin::Block(kind)) => {
                let regs = self.f.block_at(kind, src);
                return none(self, Value::Array(regs.iter().map(|&r| Value::Reg(r)).collect()));
            }
            Some(Builtin::MovImm) => {
                return match args.as_slice() {
                    [(Value::Reg(r), _), (Value::Int(v), s)] => {
                        let v = self.types.coerce_int(*v, IntTy::U64, *s)? as u64;
                        self.f.mov_imm_builtin_at(*r, v, src);
                        Ok(Value::Unit)
                    }
                    _ => err(c.span(), "`MOV_IMM(register, constant)`"),
                };
            }
            Some(Builtin::IssueSkewed) => {
                let (items, skew) = match args.as_slice() {
                    [(Value::Array(items), _), (Value::Int(skew), s)] => {
                        (items.clone(), usize::try_from(skew.v).or_else(|_| err(*s, "a number of steps"))?)
                    }
                    _ => {
                        return err(
                            c.span(),
                            "`ISSUE_SKEWED([streams], skew)`, with streams made by `STREAM({ ... })`",
                        );
                    }
                };
                let mut ids = Vec::with_capacity(items.len());
                for item in &items {
                    match item {
                        Value::Stream(i) if !ids.contains(i) => ids.push(*i),
                        _ => return err(c.span(), "`ISSUE_SKEWED` takes an array of distinct streams"),
                    }
                }
                let mut streams: Vec<_> = ids.iter().map(|&i| std::mem::take(&mut self.streams[i])).collect();
                self.f.issue_skewed_at(&mut streams, skew, src);
                for (&i, stream) in ids.iter().zip(streams) {
                    self.streams[i] = stream;
                }
                return Ok(Value::Unit);
            }
            Some(Builtin::Issue | Builtin::IssueAll) => {
                return match (name, args.as_slice()) {
                    ("ISSUE", [(Value::Stream(i), _), (Value::Int(n), s)]) => {
                        let n = usize::try_from(n.v).or_else(|_| err(*s, "a count of instructions"))?;
                        self.f.issue_at(&mut self.streams[*i], n, src);
                        Ok(Value::Unit)
                    }
                    ("ISSUE_ALL", [(Value::Stream(i), _)]) => {
                        self.f.issue_all_at(&mut self.streams[*i], src);
                        Ok(Value::Unit)
                    }
                    _ => err(
                        c.span(),
                        "`ISSUE(stream, n)` or `ISSUE_ALL(stream)`, with a stream made by `STREAM({ ... })`",
                    ),
                };
            }
            Some(Builtin::Bind) => {
                return match args.as_slice() {
                    [(Value::Label(l), _)] => {
                        self.f.bind_at(*l, src);
                        Ok(Value::Unit)
                    }
                    _ => err(c.span(), "`LABEL(l)` binds a label made by `Label::new()`"),
                };
            }
            Some(Builtin::Return) => {
                return match args.as_slice() {
                    [] => {
                        self.f.ret_at(None, src);
                        Ok(Value::Unit)
                    }
                    [(Value::Reg(r), _)] => {
                        self.f.ret_at(*r, src);
                        Ok(Value::Unit)
                    }
                    [(other, s)] => err(*s, format!("`RETURN` takes a register, not {}", other.kind())),
                    _ => err(c.span(), "`RETURN` takes at most one register"),
                };
            }
            Some(Builtin::Align) => {
                return match args.as_slice() {
                    [(Value::Int(n), s)] => {
                        let n = self.types.coerce_int(*n, IntTy::U32, *s)? as u32;
                        self.f.align_at(n, src);
                        Ok(Value::Unit)
                    }
                    _ => err(c.span(), "`ALIGN(n)` takes a number of bytes"),
                };
            }
            Some(Builtin::LoadArgument) => {
                return match args.as_slice() {
                    [(Value::Reg(dst), _), (Value::Reg(param), s)] => {
                        let index = self.f.params().iter().position(|p| p.reg == *param);
                        let index =
                            index.ok_or_else(|| Ctl::Error(syn::Error::new(*s, "not a parameter of this kernel")))?;
                        self.f.load_argument_at(*dst, index, src);
                        Ok(Value::Unit)
                    }
                    _ => err(c.span(), "`LOAD_ARGUMENT(register, parameter)`"),
                };
            }
            Some(Builtin::Reduce(reduction)) => {
                let (regs, elem) = match args.as_slice() {
                    [(Value::Array(items), s), (Value::Elem(e), _)] => {
                        let regs: Option<Vec<Reg>> =
                            items.iter().map(|v| if let Value::Reg(r) = v { Some(*r) } else { None }).collect();
                        (
                            regs.ok_or_else(|| {
                                Ctl::Error(syn::Error::new(*s, "a reduction takes an array of registers"))
                            })?,
                            *e,
                        )
                    }
                    [(Value::Reg(r), _), (Value::Elem(e), _)] => (vec![*r], *e),
                    _ => return err(c.span(), format!("`{name}(registers, f32 | f64 | i32 | i64)`")),
                };
                self.f.reduce_at(reduction, &regs, elem, src);
                return Ok(Value::Unit);
            }
            // Evaluated with its argument, in `call`.
            Some(Builtin::Stream) => return err(span, "`STREAM({ ... })` records the instructions of one block"),
            Some(Builtin::Asm) => return err(span, "`ASM(\"text\", operands...)` takes a string literal first"),
            None => {}
        }
        let Some(mnemonic) = lang::mnemonic(arch, name) else {
            return err(
                span,
                format!("`{name}` is not defined: instructions are written in upper case, like `VADDPD`"),
            );
        };
        let ops = self.operands(args)?;
        self.f.ins_at(&mnemonic, ops, src);
        Ok(Value::Unit)
    }

    /// Values as instruction operands.
    fn operands(&mut self, args: Vec<(Value, Span)>) -> Flow<Vec<Operand>> {
        let mut ops: Vec<Operand> = Vec::with_capacity(args.len());
        for (v, s) in args {
            match v {
                Value::Constant(k) => ops.push(Operand::Mem(self.f.constant(k))),
                Value::Int(i) => ops.push(Operand::Imm(self.imm(i, s)?)),
                Value::Addr(_) => {
                    return err(s, "an address must be in brackets to be a memory operand: `[base + offset]`");
                }
                other => {
                    if !other.push_operands(&mut ops) {
                        return err(s, format!("{} is not an operand", other.kind()));
                    }
                }
            }
        }
        Ok(ops)
    }

    pub(crate) fn method(&mut self, m: &syn::ExprMethodCall) -> Flow<Value> {
        let recv = self.expr(&m.receiver)?;
        let name = m.method.to_string();
        let args: Vec<Value> = m.args.iter().map(|a| self.expr(a)).collect::<Flow<_>>()?;
        let span = m.method.span();
        match (recv, name.as_str(), args.as_slice()) {
            (recv @ (Value::Int(_) | Value::Float(_)), _, _) => self.number_method(recv, &name, &args, span),
            (Value::Stream(i), "len", []) => Ok(Value::Int(Int::known(self.streams[i].len() as i128, IntTy::Usize))),
            (Value::Reg(r), "mask", [Value::Reg(k)]) => Ok(Value::Masked(r.mask(*k))),
            (Value::Reg(r), "lane", [Value::Int(i)]) => {
                let i = self.types.coerce_int(*i, IntTy::U8, span)? as u8;
                Ok(Value::Lane(r.lane(i)))
            }
            (Value::Reg(r), view, []) if lang::view(self.f.target().arch(), view).is_some() => {
                let apply = lang::view(self.f.target().arch(), view).map(|v| v.apply);
                Ok(Value::Reg(apply.map_or(r, |apply| apply(r))))
            }
            (Value::Reg(_), view, []) if !matches!(view, "len") => {
                let arch = self.f.target().arch();
                let known: Vec<&str> = lang::views(arch).iter().map(|v| v.name).collect();
                err(
                    span,
                    format!(
                        "{} registers have no view `{view}`; they have {}",
                        lang::arch_name(arch),
                        known.join(", ")
                    ),
                )
            }
            (Value::Masked(mk), "zeroing", []) => Ok(Value::Masked(mk.zeroing())),
            (Value::Mem(mem), "mask", [Value::Reg(k)]) => Ok(Value::MaskedMem(mem.mask(*k))),
            (Value::Mem(mem), "bcst", []) => Ok(Value::Mem(mem.bcst())),
            (Value::Mem(mem), "bcst_to", [Value::Int(n)]) => {
                let n = self.types.coerce_int(*n, IntTy::U8, span)? as u8;
                Ok(Value::Mem(mem.bcst_to(n)))
            }
            (Value::Mem(mem), "pre", []) => Ok(Value::Mem(mem.pre())),
            (Value::Mem(mem), "post", [Value::Int(n)]) => {
                let n = self.types.coerce_int(*n, IntTy::I32, span)? as i32;
                Ok(Value::Mem(mem.post(n)))
            }
            (Value::Mem(mem), "sized", [Value::Int(n)]) => {
                let n = self.types.coerce_int(*n, IntTy::U16, span)? as u16;
                Ok(Value::Mem(mem.sized(n)))
            }
            (Value::Array(items), "len", []) => Ok(Value::Int(Int::known(items.len() as i128, IntTy::Usize))),
            (Value::Target, rate @ ("fma_per_cycle" | "loads_per_cycle" | "stores_per_cycle"), [Value::Int(bits)]) => {
                let bits = self.types.coerce_int(*bits, IntTy::U32, span)? as u32;
                let t = self.f.target();
                let x = match rate {
                    "fma_per_cycle" => t.fma_per_cycle(bits),
                    "loads_per_cycle" => t.loads_per_cycle(bits),
                    _ => t.stores_per_cycle(bits),
                };
                Ok(Value::Float(num::Float::known(x, num::FloatTy::F64)))
            }
            (Value::Target, query, []) => match self.f.target().query(query) {
                Some(b) => Ok(Value::Bool(b)),
                None => {
                    err(span, format!("`target.{query}()` is not a target query (try `has_avx2`, `has_fma3`, ...)"))
                }
            },
            (recv @ (Value::Array(_) | Value::Range(..)), name, _) if super::iter::is_adapter(name) => {
                self.adapt(recv, name, &args, span)
            }
            (recv @ (Value::Array(_) | Value::Range(..)), name, _) => {
                let len = if matches!(recv, Value::Array(_)) { "len, " } else { "" };
                let adapters = super::iter::ADAPTERS;
                err(
                    span,
                    format!(
                        "{} has no method `{name}` in a static body (it has {len}{adapters}): use JIT mode (#[jit]) for the rest",
                        recv.kind()
                    ),
                )
            }
            (recv, name, _) => err(span, format!("{} has no method `{name}` with these arguments", recv.kind())),
        }
    }
}

impl Eval {
    /// An integer instruction operand. JIT mode converts it with `Into<Operand>`, which the
    /// types up to 64 bits have: an unsuffixed literal nothing else constrains is an `i32`.
    fn imm(&mut self, i: Int, span: Span) -> Flow<i64> {
        match i.ty {
            Ty::Lit if !IntTy::I32.fits(i.v) => {
                return err(
                    span,
                    format!(
                        "the literal {} does not fit in `i32`, the type Rust gives an operand literal without a suffix: {} (like `i64`)",
                        i.v,
                        num::SUFFIX_HINT
                    ),
                );
            }
            Ty::Lit => {}
            _ => {
                if let Some(t @ (IntTy::I128 | IntTy::U128)) = self.types.int_ty(i.ty) {
                    return err(span, format!("an `{}` cannot be an operand: use a type of 64 bits or less", t.name()));
                }
            }
        }
        // Unsigned values keep their bits, as `u64 as i64` does.
        Ok(i.v as i64)
    }

    /// `Constant::f64x4_splat(0.5)`, `Constant::u32x8([...])`, `Constant::f32(1.0)`: the
    /// constructors of [`Constant`], with their element types.
    fn constant(&mut self, ctor: &str, args: &[(Value, Span)], span: Span) -> Flow<Constant> {
        if !Constant::CONSTRUCTORS.contains(&ctor) {
            return err(span, format!("`Constant::{ctor}` does not exist (try `f64x4_splat`, `u32x8`, `f32`)"));
        }
        let (base, splat) = match ctor.strip_suffix("_splat") {
            Some(b) => (b, true),
            None => (ctor, false),
        };
        let (ty, lanes) = match base.split_once('x') {
            Some((ty, n)) => (ty, n.parse::<usize>().or_else(|_| err(span, format!("unknown constant `{ctor}`")))?),
            None => (base, 1),
        };
        let values: Vec<(Value, Span)> = match (args, splat || lanes == 1) {
            ([(v, s)], true) => vec![(v.clone(), *s); lanes],
            ([(Value::Array(items), s)], false) if items.len() == lanes => {
                items.iter().map(|v| (v.clone(), *s)).collect()
            }
            _ => {
                let want =
                    if splat || lanes == 1 { "one value".to_string() } else { format!("an array of {lanes} values") };
                return err(span, format!("`Constant::{ctor}` takes {want}"));
            }
        };
        let mut bytes = Vec::with_capacity(64);
        for (v, s) in values {
            match (v, FloatTy::by_name(ty), IntTy::by_name(ty)) {
                (Value::Float(x), Some(t), _) => {
                    let x = self.types.coerce_float(x, t, s)?;
                    match t {
                        FloatTy::F32 => bytes.extend((x as f32).to_le_bytes()),
                        FloatTy::F64 => bytes.extend(x.to_le_bytes()),
                    }
                }
                (Value::Int(i), None, Some(t)) => {
                    let v = self.types.coerce_int(i, t, s)?;
                    bytes.extend(&v.to_le_bytes()[..t.bits() as usize / 8]);
                }
                (other, _, _) => {
                    return err(s, format!("mismatched types: a `{ty}` lane cannot be {}", other.kind()));
                }
            }
        }
        Constant::from_bytes(&bytes)
            .ok_or_else(|| Ctl::Error(syn::Error::new(span, "internal error: a constant of a size Constant refuses")))
    }
}
