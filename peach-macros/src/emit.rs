//! Emission: the machine code for each calling convention goes into the text section with
//! `global_asm!`, under `#[cfg]` guards (the macro runs on the host and cannot know the target),
//! and a Rust function with the kernel's name, visibility, documentation and signature calls it.
//! The listing is a constant next to it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use peach_core::CodeObject;
use peach_core::emit::ObjectFormat;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::FnArg;

use crate::eval::Built;
use crate::kernel::Kernel;

/// The `global_asm!` that defines `symbol` for one object-file format.
fn asm_block(cfg: TokenStream, symbol: &str, code: &CodeObject, format: ObjectFormat) -> TokenStream {
    let lines = code.asm_lines(symbol, format);
    // In a module, so that the macro also works inside a function body.
    let module = quote::format_ident!(
        "{}_{}",
        symbol,
        match format {
            ObjectFormat::Elf => "elf",
            ObjectFormat::MachO => "macho",
            ObjectFormat::Coff => "coff",
        }
    );
    quote! {
        #cfg
        #[doc(hidden)]
        mod #module {
            ::peach::__private::global_asm!(#(#lines),*);
        }
    }
}

/// The function `name` running `built` (and its listing and code constants). With `x86_only`
/// the items exist on x86-64 only (a fat binary's variants); otherwise other architectures get a
/// compile error.
pub(crate) fn emit(kernel: &Kernel, name: &syn::Ident, built: &Built, x86_only: bool) -> syn::Result<TokenStream> {
    let item = &kernel.item;
    let sig = &item.sig;
    let vis = &item.vis;
    let attrs = &kernel.attrs;
    let mut hasher = DefaultHasher::new();
    name.to_string().hash(&mut hasher);
    built.sysv.bytes().hash(&mut hasher);
    built.win64.bytes().hash(&mut hasher);
    quote!(#item).to_string().hash(&mut hasher);
    let hash = hasher.finish();
    let sysv_sym = format!("__peach_{name}_{hash:016x}_sysv");
    let win_sym = format!("__peach_{name}_{hash:016x}_win64");
    let sysv_ident = format_ident!("{}", sysv_sym);
    let win_ident = format_ident!("{}", win_sym);

    let elf = asm_block(
        quote!(#[cfg(all(target_arch = "x86_64", not(windows), not(target_vendor = "apple")))]),
        &sysv_sym,
        &built.sysv,
        ObjectFormat::Elf,
    );
    let macho = asm_block(
        quote!(#[cfg(all(target_arch = "x86_64", target_vendor = "apple"))]),
        &sysv_sym,
        &built.sysv,
        ObjectFormat::MachO,
    );
    let coff =
        asm_block(quote!(#[cfg(all(target_arch = "x86_64", windows))]), &win_sym, &built.win64, ObjectFormat::Coff);

    let inputs = &sig.inputs;
    let output = &sig.output;
    let unsafety = &sig.unsafety;
    let args: Vec<TokenStream> = inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(pt) => {
                let pat = &pt.pat;
                Some(quote!(#pat))
            }
            FnArg::Receiver(_) => None,
        })
        .collect();
    let only_x86 = if x86_only { quote!(#[cfg(target_arch = "x86_64")]) } else { TokenStream::new() };
    let elsewhere = if x86_only {
        TokenStream::new()
    } else {
        quote! {
            #[cfg(not(target_arch = "x86_64"))]
            {
                ::core::compile_error!("peach_fn! kernels are x86-64 code until the AArch64 backend lands");
            }
        }
    };
    let listing_name = format_ident!("{}_LISTING", name.to_string().to_uppercase());
    let listing = built.sysv.listing();
    let listing_doc = format!("The listing of [`{name}`] (System V build), as peach generated it.");
    let code_name = format_ident!("{}_CODE", name.to_string().to_uppercase());
    let code_doc = format!("The machine code of [`{name}`] for this platform's calling convention.");
    let sysv_bytes = built.sysv.bytes();
    let win_bytes = built.win64.bytes();
    Ok(quote! {
        #elf
        #macho
        #coff

        #(#attrs)*
        #only_x86
        #[allow(clippy::missing_safety_doc)]
        #vis #unsafety fn #name(#inputs) #output {
            #[cfg(all(target_arch = "x86_64", not(windows)))]
            {
                unsafe extern "sysv64" {
                    fn #sysv_ident(#inputs) #output;
                }
                // SAFETY: the code was generated for exactly this signature and convention; the
                // caller upholds the kernel's own contract.
                return unsafe { #sysv_ident(#(#args),*) };
            }
            #[cfg(all(target_arch = "x86_64", windows))]
            {
                unsafe extern "win64" {
                    fn #win_ident(#inputs) #output;
                }
                // SAFETY: as above.
                return unsafe { #win_ident(#(#args),*) };
            }
            #elsewhere
        }

        #[doc = #listing_doc]
        #[allow(dead_code)]
        #only_x86
        #vis const #listing_name: &str = #listing;

        #[doc = #code_doc]
        #[allow(dead_code)]
        #[cfg(not(windows))]
        #only_x86
        #vis const #code_name: &[u8] = &[#(#sysv_bytes),*];

        #[doc = #code_doc]
        #[allow(dead_code)]
        #[cfg(windows)]
        #only_x86
        #vis const #code_name: &[u8] = &[#(#win_bytes),*];
    })
}

/// A fat binary: one function per variant (`NAME_TARGET`), a dispatch state (`NAME_DISPATCH`)
/// and the function itself, which calls the best variant through one atomic load.
pub(crate) fn emit_variants(kernel: &Kernel, built: &[(String, Built)]) -> syn::Result<TokenStream> {
    let item = &kernel.item;
    let sig = &item.sig;
    let (name, vis, attrs) = (&sig.ident, &item.vis, &kernel.attrs);
    let mut out = TokenStream::new();
    let mut variant_fns = Vec::new();
    let mut infos = Vec::new();
    for (target, b) in built {
        let vname = format_ident!("{}_{}", name, target.replace('-', "_"));
        out.extend(emit(kernel, &vname, b, true)?);
        let mut required: Vec<&str> = b.sysv.extension_names();
        required.sort_unstable();
        infos.push(quote!(::peach::runtime::dispatch::Variant { name: #target, required: &[#(#required),*] }));
        variant_fns.push(vname);
    }
    let inputs = &sig.inputs;
    let output = &sig.output;
    let unsafety = &sig.unsafety;
    let types: Vec<&syn::Type> =
        inputs.iter().filter_map(|a| if let FnArg::Typed(pt) = a { Some(&*pt.ty) } else { None }).collect();
    let args: Vec<TokenStream> = inputs
        .iter()
        .filter_map(|a| {
            if let FnArg::Typed(pt) = a {
                let p = &pt.pat;
                Some(quote!(#p))
            } else {
                None
            }
        })
        .collect();
    let dispatch = format_ident!("{}_DISPATCH", name.to_string().to_uppercase());
    let resolve = format_ident!("__peach_{}_resolve", name);
    let none = format_ident!("__peach_{}_no_variant", name);
    let name_str = name.to_string();
    let indices: Vec<usize> = (0..variant_fns.len()).collect();
    let (fallback_fn, fallback_elsewhere) = match kernel.variants.as_ref().and_then(|v| v.fallback.as_ref()) {
        Some(path) => (quote!(#path), quote!(return #path(#(#args),*);)),
        None => (
            quote!(#none),
            quote!(::core::compile_error!("this fat binary has no variant for this architecture: give it a `fallback = path`");),
        ),
    };
    let dispatch_doc = format!("The dispatch state of [`{name}`]: its variants, best first, and the one in use.");
    out.extend(quote! {
        #[doc = #dispatch_doc]
        #[cfg(target_arch = "x86_64")]
        #vis static #dispatch: ::peach::runtime::dispatch::Dispatch =
            ::peach::runtime::dispatch::Dispatch::new(&[#(#infos),*], #resolve as *mut ());

        #[cfg(target_arch = "x86_64")]
        #[doc(hidden)]
        #[allow(unused_variables)]
        unsafe fn #none(#inputs) #output {
            ::std::eprintln!("peach: no variant of `{}` runs on this CPU, and it has no fallback", #name_str);
            ::std::process::abort()
        }

        #[cfg(target_arch = "x86_64")]
        #[doc(hidden)]
        unsafe fn #resolve(#inputs) #output {
            type F = unsafe fn(#(#types),*) #output;
            let choice = #dispatch.choose();
            let f: F = match choice {
                #(::core::option::Option::Some(#indices) => #variant_fns as F,)*
                _ => #fallback_fn as F,
            };
            #dispatch.install(f as *mut (), choice);
            // SAFETY: the chosen variant runs on this CPU; the caller upholds the kernel's contract.
            unsafe { f(#(#args),*) }
        }

        #(#attrs)*
        #[allow(clippy::missing_safety_doc)]
        #[inline]
        #vis #unsafety fn #name(#inputs) #output {
            #[cfg(target_arch = "x86_64")]
            {
                type F = unsafe fn(#(#types),*) #output;
                // SAFETY: the dispatch pointer is always a function of type `F` (a variant, the
                // fallback or the resolver).
                let f: F = unsafe { ::core::mem::transmute::<*mut (), F>(#dispatch.pointer()) };
                return unsafe { f(#(#args),*) };
            }
            #[cfg(not(target_arch = "x86_64"))]
            {
                #fallback_elsewhere
            }
        }
    });
    Ok(out)
}
