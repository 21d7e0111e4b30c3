//! Emission: the machine code for each platform goes into the text section with `global_asm!`,
//! under `#[cfg]` guards (the macro runs on the host and cannot know the target), and a Rust
//! function with the kernel's name, visibility, documentation and signature calls it. The
//! listing and the code are constants next to it.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use peach_core::emit::{DebugSections, ObjectFormat};
use peach_core::target::Arch;
use peach_core::{Abi, CodeObject};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::FnArg;

use crate::eval::Built;
use crate::kernel::Kernel;

/// Where a build runs: the `cfg` that selects the platform, the calling convention compiled for
/// it (the platform's C convention, which Rust calls it with) and its object-file format.
struct Platform {
    cfg: TokenStream,
    abi: Abi,
    format: ObjectFormat,
}

/// `target_arch` of an architecture.
fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64",
        _ => "x86_64",
    }
}

fn platforms(arch: Arch) -> Vec<Platform> {
    let a = arch_name(arch);
    let elf = quote!(#[cfg(all(target_arch = #a, not(windows), not(target_vendor = "apple")))]);
    let macho = quote!(#[cfg(all(target_arch = #a, target_vendor = "apple"))]);
    let coff = quote!(#[cfg(all(target_arch = #a, windows))]);
    let p = |cfg, abi, format| Platform { cfg, abi, format };
    match arch {
        Arch::Aarch64 => vec![
            p(elf, Abi::Aapcs64, ObjectFormat::Elf),
            p(macho, Abi::AppleArm64, ObjectFormat::MachO),
            p(coff, Abi::Aapcs64, ObjectFormat::Coff),
        ],
        _ => vec![
            p(elf, Abi::SysV, ObjectFormat::Elf),
            p(macho, Abi::SysV, ObjectFormat::MachO),
            p(coff, Abi::Win64, ObjectFormat::Coff),
        ],
    }
}

/// The Rust name of a kernel's machine code (an `extern "C"` function), on every platform.
fn entry_name(name: &syn::Ident) -> syn::Ident {
    format_ident!("__peach_{}_entry", name)
}

/// The `global_asm!` that defines `symbol` for one object-file format, with the kernel's
/// source lines for debuggers where the format carries DWARF in the object (ELF: Mach-O keeps
/// it in the objects, for `dsymutil`, and COFF has CodeView).
fn asm_block(cfg: &TokenStream, symbol: &str, code: &CodeObject, format: ObjectFormat, built: &Built) -> TokenStream {
    let mut lines = code.asm_lines(symbol, format);
    if format == ObjectFormat::Elf {
        let table = built.line_table(code);
        lines.extend(DebugSections::new(code.name(), code.bytes().len() as u32, &table).directives(symbol));
    }
    // In a module, so that the macro also works inside a function body.
    let module = format_ident!(
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

/// Machine code as one byte-string literal: a token, where a slice of numbers is one per byte.
fn byte_string(bytes: &[u8]) -> proc_macro2::Literal {
    proc_macro2::Literal::byte_string(bytes)
}

fn arguments(sig: &syn::Signature) -> Vec<TokenStream> {
    sig.inputs
        .iter()
        .filter_map(|a| match a {
            FnArg::Typed(pt) => {
                let pat = &pt.pat;
                Some(quote!(#pat))
            }
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The extensions the code uses beyond what every CPU of its architecture has, by name.
fn beyond_baseline(built: &Built) -> Vec<&'static str> {
    let base = match built.arch {
        Arch::Aarch64 => peach_core::Target::aarch64_neon(),
        _ => peach_core::Target::x86_64_baseline(),
    };
    let code = &built.builds[0].1;
    let mut names: Vec<&'static str> = code
        .extensions()
        .iter()
        .filter(|e| !base.extensions().contains(*e))
        .map(|e| code.target().extension_name(e))
        .collect();
    names.sort_unstable();
    names
}

/// A key unique to this expansion: the kernel's hash, where it is written, and how many identical
/// kernels this compilation expanded before it (the same body in two modules, or a `macro_rules!`
/// that writes it twice, must not define one symbol twice).
fn expansion_key(mut hasher: DefaultHasher, name: proc_macro2::Span) -> u64 {
    static SEEN: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);
    for span in [name, proc_macro2::Span::call_site()] {
        let at = span.start();
        (span.file(), at.line, at.column).hash(&mut hasher);
    }
    let key = hasher.finish();
    let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let count = seen.get_or_insert_with(HashMap::new).entry(key).or_insert(0);
    *count += 1;
    key.wrapping_add(*count - 1)
}

/// The function `name` running `built` (and its listing and code constants). A `variant` exists
/// on its own architecture only; a plain kernel is a compile error elsewhere.
pub(crate) fn emit(kernel: &Kernel, name: &syn::Ident, built: &Built, variant: bool) -> syn::Result<TokenStream> {
    let item = &kernel.item;
    let sig = &item.sig;
    let (vis, attrs) = (&item.vis, &kernel.attrs);
    let mut hasher = DefaultHasher::new();
    name.to_string().hash(&mut hasher);
    for (_, code) in &built.builds {
        code.bytes().hash(&mut hasher);
    }
    quote!(#item).to_string().hash(&mut hasher);
    let hash = expansion_key(hasher, name.span());
    let symbol = |abi: Abi| format!("__peach_{name}_{hash:016x}_{}", format!("{abi:?}").to_lowercase());

    let (inputs, output, unsafety) = (&sig.inputs, &sig.output, &sig.unsafety);
    let args = arguments(sig);
    let mut asm = TokenStream::new();
    let mut calls = TokenStream::new();
    let code_name = format_ident!("{}_CODE", name.to_string().to_uppercase());
    let code_doc = format!("The machine code of [`{name}`] for this platform's calling convention.");
    let mut code_consts = TokenStream::new();
    let entry = entry_name(name);
    for p in platforms(built.arch) {
        let (cfg, code, sym) = (&p.cfg, built.code(p.abi)?, symbol(p.abi));
        asm.extend(asm_block(cfg, &sym, code, p.format, built));
        // The platform's C convention is the one the code was built for.
        asm.extend(quote! {
            #cfg
            unsafe extern "C" {
                #[link_name = #sym]
                fn #entry(#inputs) #output;
            }
        });
        calls.extend(quote! {
            #cfg
            {
                // SAFETY: the code was generated for exactly this signature and convention; the
                // caller upholds the kernel's own contract.
                return unsafe { #entry(#(#args),*) };
            }
        });
        let bytes = byte_string(code.bytes());
        code_consts.extend(quote! {
            #[doc = #code_doc]
            #[allow(dead_code)]
            #cfg
            #vis const #code_name: &[u8] = #bytes;
        });
    }
    let arch = arch_name(built.arch);
    // A safe kernel whose code needs more than its architecture's baseline checks the CPU (once,
    // then one atomic load per call) and panics with a message where it would raise SIGILL. A
    // variant is called only by its dispatcher, which checked; an `unsafe fn` leaves it to the
    // caller, whose contract includes the CPU.
    let check = if variant || unsafety.is_some() { Vec::new() } else { beyond_baseline(built) };
    let cpu_check = if check.is_empty() {
        TokenStream::new()
    } else {
        let name_str = name.to_string();
        quote! {
            static __PEACH_CPU: ::peach::__private::CpuCheck =
                ::peach::__private::CpuCheck::new(#name_str, &[#(#check),*]);
            __PEACH_CPU.require();
        }
    };
    let only_here = if variant { quote!(#[cfg(target_arch = #arch)]) } else { TokenStream::new() };
    let elsewhere = if variant {
        TokenStream::new()
    } else {
        let msg = format!("peach_fn! kernel `{name}` is {arch} code: build it for {arch}, or make it a fat binary");
        quote! {
            #[cfg(not(target_arch = #arch))]
            {
                ::core::compile_error!(#msg);
            }
        }
    };
    let listing_name = format_ident!("{}_LISTING", name.to_string().to_uppercase());
    let first = &built.builds[0];
    let listing = first.1.listing();
    let listing_doc = format!("The listing of [`{name}`] ({:?} build), as peach generated it.", first.0);
    let codes_name = format_ident!("{}_CODES", name.to_string().to_uppercase());
    let codes_doc = format!("The machine code of [`{name}`] for each calling convention, on any host.");
    let codes: Vec<TokenStream> = built
        .builds
        .iter()
        .map(|(abi, code)| {
            let (abi, bytes) = (format!("{abi:?}"), byte_string(code.bytes()));
            quote!((#abi, #bytes))
        })
        .collect();
    Ok(quote! {
        #asm

        #(#attrs)*
        #only_here
        #[allow(clippy::missing_safety_doc)]
        #vis #unsafety fn #name(#inputs) #output {
            #cpu_check
            #calls
            #elsewhere
        }

        #[doc = #listing_doc]
        #[allow(dead_code)]
        #vis const #listing_name: &str = #listing;

        #code_consts

        #[doc = #codes_doc]
        #[allow(dead_code)]
        #vis const #codes_name: &[(&str, &[u8])] = &[#(#codes),*];
    })
}

/// A fat binary: one function per variant (`NAME_TARGET`), and per architecture with variants a
/// dispatch state (`NAME_DISPATCH`); the function itself calls the best variant through one
/// atomic load, or the fallback on other architectures.
pub(crate) fn emit_variants(kernel: &Kernel, built: &[(String, Built)]) -> syn::Result<TokenStream> {
    let item = &kernel.item;
    let sig = &item.sig;
    let (name, vis, attrs) = (&sig.ident, &item.vis, &kernel.attrs);
    let (inputs, output, unsafety) = (&sig.inputs, &sig.output, &sig.unsafety);
    let types: Vec<&syn::Type> =
        inputs.iter().filter_map(|a| if let FnArg::Typed(pt) = a { Some(&*pt.ty) } else { None }).collect();
    let args = arguments(sig);
    let dispatch = format_ident!("{}_DISPATCH", name.to_string().to_uppercase());
    let resolve = format_ident!("__peach_{}_resolve", name);
    let fallback_entry = format_ident!("__peach_{}_fallback", name);
    let name_str = name.to_string();
    // What runs when no variant does: the user's fallback, or a message and an abort.
    let (fallback_body, fallback_elsewhere) = match kernel.variants.as_ref().and_then(|v| v.fallback.as_ref()) {
        Some(path) => (
            quote! {
                // SAFETY: the caller upholds the kernel's contract, which the fallback shares.
                unsafe { #path(#(#args),*) }
            },
            quote!(return #path(#(#args),*);),
        ),
        None => (
            quote! {
                ::std::eprintln!("peach: no variant of `{}` runs on this CPU, and it has no fallback", #name_str);
                ::std::process::abort()
            },
            quote!(::core::compile_error!("this fat binary has no variant for this architecture: give it a `fallback = path`");),
        ),
    };
    let dispatch_doc = format!("The dispatch state of [`{name}`]: its variants, best first, and the one in use.");

    let mut out = TokenStream::new();
    let mut arches: Vec<&'static str> = Vec::new();
    let mut bodies = TokenStream::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let mut variant_fns = Vec::new();
        let mut infos = Vec::new();
        for (target, b) in built.iter().filter(|(_, b)| b.arch == arch) {
            let suffix: String = target.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            let vname = format_ident!("{}_{}", name, suffix);
            out.extend(emit(kernel, &vname, b, true)?);
            let mut required: Vec<&str> = b.builds[0].1.extension_names();
            required.sort_unstable();
            infos.push(quote!(::peach::__private::Variant { name: #target, required: &[#(#required),*] }));
            variant_fns.push(entry_name(&vname));
        }
        if variant_fns.is_empty() {
            continue;
        }
        let a = arch_name(arch);
        arches.push(a);
        let indices: Vec<usize> = (0..variant_fns.len()).collect();
        out.extend(quote! {
            #[doc = #dispatch_doc]
            #[cfg(target_arch = #a)]
            #vis static #dispatch: ::peach::__private::Dispatch =
                ::peach::__private::Dispatch::new(&[#(#infos),*], #resolve as *mut ());

            #[cfg(target_arch = #a)]
            #[doc(hidden)]
            #[allow(unused_variables)]
            unsafe extern "C" fn #fallback_entry(#inputs) #output {
                #fallback_body
            }

            // Calls go straight to the chosen variant's machine code (or the fallback): one
            // indirect call, no Rust wrapper in between.
            #[cfg(target_arch = #a)]
            #[doc(hidden)]
            unsafe extern "C" fn #resolve(#inputs) #output {
                type F = unsafe extern "C" fn(#(#types),*) #output;
                let choice = #dispatch.choose();
                let f: F = match choice {
                    #(::core::option::Option::Some(#indices) => #variant_fns as F,)*
                    _ => #fallback_entry as F,
                };
                // SAFETY: `f` is one of this kernel's variants (which runs on this CPU: `choose`
                // checked it) or its fallback, all of type `F`, in the text section for good.
                unsafe { #dispatch.install(f as *mut (), choice) };
                // SAFETY: the chosen variant runs on this CPU; the caller upholds the kernel's contract.
                unsafe { f(#(#args),*) }
            }
        });
        bodies.extend(quote! {
            #[cfg(target_arch = #a)]
            {
                type F = unsafe extern "C" fn(#(#types),*) #output;
                // SAFETY: the dispatch pointer is always a function of type `F` (a variant's
                // code, the fallback's shim or the resolver).
                let f: F = unsafe { ::core::mem::transmute::<*mut (), F>(#dispatch.pointer()) };
                return unsafe { f(#(#args),*) };
            }
        });
    }
    out.extend(quote! {
        #(#attrs)*
        #[allow(clippy::missing_safety_doc)]
        #[inline]
        #vis #unsafety fn #name(#inputs) #output {
            #bodies
            #[cfg(not(any(#(target_arch = #arches),*)))]
            {
                #fallback_elsewhere
            }
        }
    });
    Ok(out)
}
