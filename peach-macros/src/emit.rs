//! Emission: the machine code for each calling convention goes into the text section with
//! `global_asm!`, under `#[cfg]` guards (the macro runs on the host and cannot know the target),
//! and a Rust function with the kernel's name, visibility, documentation and signature calls it.
//! The listing is a constant next to it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use peach_core::CodeObject;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::FnArg;

use crate::eval::Built;
use crate::kernel::Kernel;

fn bytes_directives(code: &CodeObject) -> Vec<String> {
    code.bytes()
        .chunks(32)
        .map(|chunk| format!(".byte {}", chunk.iter().map(|b| format!("0x{b:02x}")).collect::<Vec<_>>().join(",")))
        .collect()
}

/// The `global_asm!` that defines `symbol` for one object-file format.
fn asm_block(cfg: TokenStream, symbol: &str, code: &CodeObject, format: Format) -> TokenStream {
    let name = match format {
        Format::MachO => format!("_{symbol}"),
        _ => symbol.to_string(),
    };
    let visibility = match format {
        Format::Elf => format!(".hidden {name}"),
        Format::MachO => format!(".private_extern {name}"),
        Format::Coff => String::new(),
    };
    let mut lines = vec![".text".to_string(), ".p2align 6".to_string(), format!(".globl {name}")];
    if !visibility.is_empty() {
        lines.push(visibility);
    }
    lines.push(format!("{name}:"));
    lines.extend(bytes_directives(code));
    // In a module, so that the macro also works inside a function body.
    let module = quote::format_ident!(
        "{}_{}",
        symbol,
        match format {
            Format::Elf => "elf",
            Format::MachO => "macho",
            Format::Coff => "coff",
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

#[derive(Clone, Copy)]
enum Format {
    Elf,
    MachO,
    Coff,
}

pub(crate) fn emit(kernel: &Kernel, built: &Built) -> syn::Result<TokenStream> {
    let item = &kernel.item;
    let sig = &item.sig;
    let name = &sig.ident;
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
        Format::Elf,
    );
    let macho = asm_block(
        quote!(#[cfg(all(target_arch = "x86_64", target_vendor = "apple"))]),
        &sysv_sym,
        &built.sysv,
        Format::MachO,
    );
    let coff = asm_block(quote!(#[cfg(all(target_arch = "x86_64", windows))]), &win_sym, &built.win64, Format::Coff);

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
            #[cfg(not(target_arch = "x86_64"))]
            {
                ::core::compile_error!("peach_fn! kernels are x86-64 code until the AArch64 backend lands");
            }
        }

        #[doc = #listing_doc]
        #[allow(dead_code)]
        #vis const #listing_name: &str = #listing;

        #[doc = #code_doc]
        #[allow(dead_code)]
        #[cfg(not(windows))]
        #vis const #code_name: &[u8] = &[#(#sysv_bytes),*];

        #[doc = #code_doc]
        #[allow(dead_code)]
        #[cfg(windows)]
        #vis const #code_name: &[u8] = &[#(#win_bytes),*];
    })
}
