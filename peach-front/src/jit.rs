//! JIT mode: `#[jit(name: Type, ...)]` turns the body into a Rust function of those
//! generation-time parameters that builds the kernel at run time, with full Rust available.
//! Instructions and the DSL's builtins become calls to `peach::__private`, which drives the
//! thread's active function; everything else is the user's Rust, untouched.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, FnArg, Ident};

use peach_core::isa::lang::{self, Builtin};
use peach_core::target::Arch;

use crate::kernel::Kernel;

/// The builder call of builtin `name` (see `peach_core::isa::lang`); `None` leaves the call as
/// the user wrote it (a wrong number of arguments then fails to compile).
fn builtin_call(builtin: Builtin, args: &[&Expr], span: Span) -> Option<TokenStream> {
    let path = quote!(::peach::__private);
    Some(match (builtin, args) {
        (Builtin::Vreg(kind), []) => {
            let kind = Ident::new(&format!("{kind:?}"), span);
            quote_spanned!(span=> ::peach::__private::vreg(#path::VregKind::#kind))
        }
        (Builtin::Block(kind), []) => {
            let kind = Ident::new(&format!("{kind:?}"), span);
            quote_spanned!(span=> ::peach::__private::block(#path::VregKind::#kind))
        }
        (Builtin::Bind, _) => quote_spanned!(span=> ::peach::__private::bind(#(#args),*)),
        (Builtin::Return, _) => quote_spanned!(span=> ::peach::__private::ret(#(#args),*)),
        (Builtin::Align, _) => quote_spanned!(span=> ::peach::__private::align(#(#args),*)),
        (Builtin::LoadArgument, _) => quote_spanned!(span=> ::peach::__private::load_argument(#(#args),*)),
        (Builtin::Stream, [body]) => quote_spanned!(span=> ::peach::__private::stream(|| { #body; })),
        (Builtin::Issue, [s, n]) => quote_spanned!(span=> ::peach::__private::issue(&#s, (#n) as usize)),
        (Builtin::IssueAll, [s]) => quote_spanned!(span=> ::peach::__private::issue_all(&#s)),
        (Builtin::IssueSkewed, [streams, skew]) => {
            quote_spanned!(span=> ::peach::__private::issue_skewed(&#streams, (#skew) as usize))
        }
        (Builtin::Reduce(r), [regs, el]) => {
            let r = Ident::new(&format!("{r:?}"), span);
            let el = elem(el).unwrap_or_else(|| quote!(#el));
            quote_spanned!(span=> ::peach::__private::reduce(#path::Reduction::#r, ::peach::__private::as_regs(&#regs), #el))
        }
        (Builtin::MovImm, [dst, value]) => quote_spanned!(span=> ::peach::__private::mov_imm(#dst, (#value) as u64)),
        (Builtin::Asm, [text, operands @ ..]) => {
            quote_spanned!(span=> ::peach::__private::asm(#text, (#(#operands,)*)))
        }
        _ => return None,
    })
}

fn type_tokens(t: peach_core::ir::Type) -> TokenStream {
    let name = Ident::new(&format!("{t:?}"), Span::call_site());
    quote!(::peach::__private::Type::#name)
}

/// Rewrites DSL calls into builder calls.
struct Rewrite {
    /// Names of the body's own `fn`s (custom instructions), which stay calls.
    local_fns: Vec<String>,
}

fn elem(e: &Expr) -> Option<TokenStream> {
    let Expr::Path(p) = e else { return None };
    let name = p.path.get_ident()?.to_string();
    let variant = match name.as_str() {
        "f32" => "F32",
        "f64" => "F64",
        "i32" => "I32",
        "i64" => "I64",
        _ => return None,
    };
    let v = Ident::new(variant, e.span());
    Some(quote!(::peach::__private::Elem::#v))
}

impl VisitMut for Rewrite {
    fn visit_item_fn_mut(&mut self, f: &mut syn::ItemFn) {
        self.local_fns.push(f.sig.ident.to_string());
        visit_mut::visit_item_fn_mut(self, f);
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        // Custom instructions may be called before their definition.
        for s in &b.stmts {
            if let syn::Stmt::Item(syn::Item::Fn(f)) = s {
                self.local_fns.push(f.sig.ident.to_string());
            }
        }
        visit_mut::visit_block_mut(self, b);
    }

    fn visit_expr_mut(&mut self, e: &mut Expr) {
        visit_mut::visit_expr_mut(self, e);
        let span = e.span();
        let new: Option<TokenStream> = match &*e {
            Expr::Call(c) => {
                let args: Vec<&Expr> = c.args.iter().collect();
                let path = match &*c.func {
                    Expr::Path(p) => p.path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                    ["Label", "new"] => Some(quote_spanned!(span=> ::peach::__private::label())),
                    [name] if self.local_fns.iter().any(|f| f == name) => None,
                    [name] => match lang::builtin_anywhere(name) {
                        Some((builtin, _)) => builtin_call(builtin, &args, span),
                        // Spelled as an instruction; the ISA's spelling (`B_NE` is `b.ne`) is
                        // worked out when the target is known.
                        None if lang::mnemonic(Arch::X86_64, name).is_some() => {
                            Some(quote_spanned!(span=> ::peach::__private::ins(#name, (#(#args,)*))))
                        }
                        None => None,
                    },
                    _ => None,
                }
            }
            Expr::Repeat(r) => {
                let (item, len) = (&r.expr, &r.len);
                Some(quote_spanned!(span=> ::peach::__private::repeat((#len) as usize, || #item)))
            }
            Expr::Array(a) if a.elems.len() == 1 => {
                let inner = &a.elems[0];
                Some(quote_spanned!(span=> ::peach::__private::bracket(#inner)))
            }
            Expr::Path(p) if p.path.is_ident("target") => Some(quote_spanned!(span=> ::peach::__private::target())),
            Expr::ForLoop(fl) => {
                // Iterating over a variable copies it, as iterating over a Copy array would.
                if let Expr::Path(_) = &*fl.expr {
                    let mut fl = fl.clone();
                    let it = &fl.expr;
                    *fl.expr = syn::parse_quote_spanned!(span=> ::core::clone::Clone::clone(&#it));
                    Some(quote!(#fl))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(tokens) = new
            && let Ok(parsed) = syn::parse2::<Expr>(tokens)
        {
            *e = parsed;
        }
    }
}

pub(crate) fn emit(kernel: &Kernel) -> syn::Result<TokenStream> {
    let item = &kernel.item;
    let sig = &item.sig;
    let (name, vis, attrs) = (&sig.ident, &item.vis, &kernel.attrs);
    let gen_params = kernel.jit.clone().unwrap_or_default();
    let param_types: Vec<&syn::Type> =
        sig.inputs.iter().filter_map(|a| if let FnArg::Typed(pt) = a { Some(&*pt.ty) } else { None }).collect();
    let output = &sig.output;
    let unsafety = &sig.unsafety;
    let types: Vec<TokenStream> = kernel.params.iter().map(|p| type_tokens(p.1)).collect();
    let ret = match kernel.ret {
        Some(t) => {
            let t = type_tokens(t);
            quote!(::core::option::Option::Some(#t))
        }
        None => quote!(::core::option::Option::None),
    };
    let bind_params: Vec<TokenStream> = kernel
        .params
        .iter()
        .enumerate()
        .map(|(i, (p, _))| quote!(let #p: ::peach::__private::Reg = __peach_params[#i];))
        .collect();
    let mut body = item.block.clone();
    Rewrite { local_fns: Vec::new() }.visit_block_mut(&mut body);
    let stmts = &body.stmts;
    let targets: Vec<String> = match &kernel.variants {
        Some(v) => v.targets.iter().map(|t| t.1.clone()).collect(),
        None => vec![kernel.target_name.clone()],
    };
    // The physical registers of the kernel's architecture (of both, they would clash: `SP`;
    // AArch64's conditions and prefetch operations then, which clash with nothing of x86-64's).
    let arches: Vec<Arch> = match &kernel.variants {
        Some(v) => v.targets.iter().map(|t| t.0.arch()).collect(),
        None => vec![kernel.target.arch()],
    };
    let regs = match arches.first() {
        Some(Arch::Aarch64) if arches.iter().all(|a| *a == Arch::Aarch64) => quote!(
            use ::peach::__private::regs_aarch64::*;
        ),
        Some(Arch::X86_64) if arches.iter().all(|a| *a == Arch::X86_64) => quote!(
            use ::peach::__private::regs_x86_64::*;
        ),
        _ => quote!(
            use ::peach::__private::names_aarch64::*;
        ),
    };
    let name_str = name.to_string();
    let code_name = quote::format_ident!("{}_code", name);
    let code_doc = format!("The machine code of [`{name}`] for each of its targets, built without loading it.");
    Ok(quote! {
        #[doc = #code_doc]
        #[allow(clippy::all, dead_code)]
        #vis fn #code_name(#(#gen_params),*) -> ::core::result::Result<::std::vec::Vec<::peach::__private::CodeObject>, ::peach::__private::Error> {
            #[allow(unused_imports)]
            use ::peach::__private::prelude::*;
            #[allow(unused_imports)]
            #regs
            ::peach::__private::build_all(#name_str, &[#(#types),*], #ret, &[#(#targets),*], &|__peach_params: &[::peach::__private::Reg]| {
                #(#bind_params)*
                #(#stmts)*
            })
        }

        #(#attrs)*
        // The body is kernel code in the DSL's idiom (indexed loops over registers, `[x; n]` of
        // registers), not idiomatic Rust: Clippy's advice does not apply to it.
        #[allow(clippy::all)]
        #vis fn #name(#(#gen_params),*) -> ::core::result::Result<::peach::__private::Kernel<#unsafety extern "C" fn(#(#param_types),*) #output>, ::peach::__private::Error> {
            #[allow(unused_imports)]
            use ::peach::__private::prelude::*;
            #[allow(unused_imports)]
            #regs
            // SAFETY: the kernel's type is made from its own signature, in the host's C convention.
            unsafe {
                ::peach::__private::jit(#name_str, &[#(#types),*], #ret, &[#(#targets),*], &|__peach_params: &[::peach::__private::Reg]| {
                    #(#bind_params)*
                    #(#stmts)*
                })
            }
        }
    })
}
