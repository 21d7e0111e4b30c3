//! The kernel's outside: name, visibility, documentation, signature and target.

use darling::FromMeta;
use darling::ast::NestedMeta;
use peach_core::Target;
use peach_core::ir::Type;
use syn::spanned::Spanned;
use syn::{Attribute, Error, FnArg, ItemFn, Pat, ReturnType};

/// A `peach_fn!` function, read but not evaluated.
pub struct Kernel {
    /// The function as written.
    pub item: ItemFn,
    /// Attributes passed through to the Rust function (docs, `#[inline]`, ...).
    pub attrs: Vec<Attribute>,
    /// The parameters: name and calling-convention type.
    pub params: Vec<(syn::Ident, Type)>,
    /// The return type.
    pub ret: Option<Type>,
    /// The target (`#[target(...)]`; x86-64 baseline without one).
    pub target: Target,
    /// The target's name, for the JIT builder.
    pub target_name: String,
    /// JIT mode: the generation-time parameters.
    pub jit: Option<Vec<syn::PatType>>,
    /// A fat binary: the targets, best first, and the fallback function.
    pub variants: Option<Variants>,
}

/// `#[variants(x86_64::avx512, x86_64::haswell, aarch64::neon, fallback = path)]`.
pub struct Variants {
    /// The targets, best first, with their names.
    pub targets: Vec<(Target, String)>,
    /// The function called where no variant runs.
    pub fallback: Option<syn::Path>,
}

impl Kernel {
    /// Reads the signature and the attributes; errors at the tokens responsible.
    pub fn parse(mut item: ItemFn) -> syn::Result<Kernel> {
        let mut target = Target::x86_64_baseline();
        let mut target_name = "x86-64".to_string();
        let mut jit = None;
        let mut variants = None;
        let mut attrs = Vec::new();
        let mut errors: Option<Error> = None;
        let mut push = |e: Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        // peach's attributes, each at most once; the others go to the Rust function.
        let mut seen: Vec<&'static str> = Vec::new();
        for attr in std::mem::take(&mut item.attrs) {
            let Some(name) = ["target", "variants", "jit"].into_iter().find(|n| attr.path().is_ident(n)) else {
                attrs.push(attr);
                continue;
            };
            if seen.contains(&name) {
                push(Error::new(attr.span(), format!("a kernel has one `#[{name}]`")));
                continue;
            }
            if (name == "target" && seen.contains(&"variants")) || (name == "variants" && seen.contains(&"target")) {
                push(Error::new(attr.span(), "a kernel has `#[target]` or `#[variants]`, not both"));
                continue;
            }
            seen.push(name);
            match name {
                "target" => match TargetAttr::from_meta(&attr.meta) {
                    Ok(t) => (target, target_name) = (t.target, t.name),
                    Err(e) => push(e.into()),
                },
                "variants" => match Variants::from_meta(&attr.meta) {
                    Ok(v) => variants = Some(v),
                    Err(e) => push(e.into()),
                },
                // `#[jit(n: usize, ...)]`: typed parameters, which are not attribute syntax.
                _ => match &attr.meta {
                    syn::Meta::Path(_) => jit = Some(Vec::new()),
                    _ => match attr
                        .parse_args_with(syn::punctuated::Punctuated::<syn::PatType, syn::Token![,]>::parse_terminated)
                    {
                        Ok(params) => jit = Some(params.into_iter().collect()),
                        Err(e) => push(e),
                    },
                },
            }
        }
        let sig = &item.sig;
        if let Some(g) = sig.generics.params.first() {
            push(Error::new(g.span(), "a peach_fn! kernel cannot be generic"));
        }
        if sig.asyncness.is_some() || sig.variadic.is_some() {
            push(Error::new(sig.span(), "a peach_fn! kernel is a plain function"));
        }
        let mut params = Vec::new();
        for arg in &sig.inputs {
            match arg {
                FnArg::Typed(pt) => {
                    let name = match &*pt.pat {
                        Pat::Ident(p) => Some(p.ident.clone()),
                        other => {
                            push(Error::new(other.span(), "a parameter must be a plain name"));
                            None
                        }
                    };
                    if matches!(&*pt.ty, syn::Type::Ptr(_)) && sig.unsafety.is_none() {
                        push(Error::new(
                            pt.ty.span(),
                            "a kernel that takes a raw pointer is an `unsafe fn`: only its caller can promise that the pointer is valid for what the kernel does with it",
                        ));
                    }
                    match param_type(&pt.ty) {
                        Some(ty) => params.extend(name.map(|n| (n, ty))),
                        None => push(Error::new(
                            pt.ty.span(),
                            "unsupported parameter type: kernels take integers (i8 to u64, isize, usize), f32, f64 and raw pointers",
                        )),
                    }
                }
                FnArg::Receiver(r) => push(Error::new(r.span(), "a peach_fn! kernel cannot take self")),
            }
        }
        let ret = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => {
                let t = param_type(ty);
                if t.is_none() {
                    push(Error::new(
                        ty.span(),
                        "unsupported return type: kernels return integers, f32, f64, raw pointers or nothing",
                    ));
                }
                t
            }
        };
        if let Some(e) = errors {
            return Err(e);
        }
        if let (Some(_), Some(v)) = (&jit, &variants)
            && let Some(f) = &v.fallback
        {
            return Err(Error::new(
                f.span(),
                "a JIT fat binary has no fallback: it returns an error when no variant runs here",
            ));
        }
        Ok(Kernel { item, attrs, params, ret, target, target_name, jit, variants })
    }
}

impl FromMeta for Variants {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Variants> {
        let mut errors = darling::Error::accumulator();
        let mut out = Variants { targets: Vec::new(), fallback: None };
        for item in items {
            match item {
                NestedMeta::Meta(syn::Meta::Path(p)) => {
                    if let Some((target, name)) = errors.handle(target_of(p).map_err(darling::Error::from)) {
                        if out.targets.iter().any(|(_, n)| *n == name) {
                            errors.push(darling::Error::custom(format!("`{name}` is named twice")).with_span(p));
                        }
                        out.targets.push((target, name));
                    }
                }
                NestedMeta::Meta(syn::Meta::NameValue(nv)) if nv.path.is_ident("fallback") => match &nv.value {
                    _ if out.fallback.is_some() => {
                        errors.push(darling::Error::duplicate_field("fallback").with_span(nv))
                    }
                    syn::Expr::Path(p) => out.fallback = Some(p.path.clone()),
                    other => errors.push(darling::Error::custom("`fallback = path::to::function`").with_span(other)),
                },
                other => errors.push(
                    darling::Error::custom("expected a target such as `x86_64::haswell`, or `fallback = path`")
                        .with_span(other),
                ),
            }
        }
        if out.targets.is_empty() {
            errors.push(darling::Error::custom("#[variants] needs at least one target"));
        }
        errors.finish_with(out)
    }
}

/// `#[target(x86_64::haswell)]`, `#[target(x86_64::v3)]`, `#[target(x86_64::skylake_x)]`,
/// `#[target(aarch64::neon)]`, `#[target(aarch64::dotprod)]`, `#[target(aarch64::neoverse_n1)]`.
struct TargetAttr {
    target: Target,
    name: String,
}

impl FromMeta for TargetAttr {
    fn from_list(items: &[NestedMeta]) -> darling::Result<TargetAttr> {
        match items {
            [NestedMeta::Meta(syn::Meta::Path(p))] => {
                let (target, name) = target_of(p)?;
                Ok(TargetAttr { target, name })
            }
            _ => Err(darling::Error::custom("`#[target(arch::name)]` takes one target, such as `x86_64::haswell`")),
        }
    }
}

fn target_of(path: &syn::Path) -> syn::Result<(Target, String)> {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let name = match segments.as_slice() {
        [arch, name] if arch == "x86_64" => name.clone(),
        [arch, name] if arch == "aarch64" => {
            let name = match name.as_str() {
                "neon" | "baseline" | "armv8" => "armv8-a".to_string(),
                "dotprod" => "armv8.2-a+dotprod".to_string(),
                other => other.replace('_', "-"),
            };
            let t = Target::aarch64(&name).map_err(|e| Error::new(path.span(), e.message()))?;
            return Ok((t, name));
        }
        _ => {
            return Err(Error::new(
                path.span(),
                "expected a target such as `x86_64::haswell`, `x86_64::v3` or `aarch64::neon`",
            ));
        }
    };
    let name = match name.as_str() {
        "baseline" | "sse2" => "x86-64".to_string(),
        "avx2" => "x86-64-v3".to_string(),
        "avx512" => "x86-64-v4".to_string(),
        "v2" | "v3" | "v4" => format!("x86-64-{name}"),
        other => other.replace('_', "-"),
    };
    let t = Target::x86_64(&name).map_err(|e| Error::new(path.span(), e.message()))?;
    Ok((t, name))
}

/// The calling-convention type of a Rust type, if kernels support it.
fn param_type(ty: &syn::Type) -> Option<Type> {
    match ty {
        syn::Type::Group(g) => param_type(&g.elem),
        syn::Type::Paren(p) => param_type(&p.elem),
        syn::Type::Ptr(_) => Some(Type::Ptr),
        syn::Type::Path(p) if p.qself.is_none() => {
            let name = p.path.get_ident()?.to_string();
            Some(match name.as_str() {
                "i8" => Type::I8,
                "i16" => Type::I16,
                "i32" => Type::I32,
                "i64" => Type::I64,
                "isize" => Type::Isize,
                "u8" => Type::U8,
                "u16" => Type::U16,
                "u32" => Type::U32,
                "u64" => Type::U64,
                "usize" => Type::Usize,
                "f32" => Type::F32,
                "f64" => Type::F64,
                _ => return None,
            })
        }
        _ => None,
    }
}
