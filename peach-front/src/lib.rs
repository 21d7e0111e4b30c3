//! peach's front end: the language of `peach_fn!` bodies as an ordinary library, so that it can
//! be unit-tested, fuzzed and used by tools; the `peach-macros` crate is a thin entry to it.
//!
//! [`expand`] runs in three steps: `kernel` reads the function (signature and attributes),
//! `eval` interprets its body with peach-core's builder, and `emit` writes the machine code
//! into the text section with `global_asm!`, plus the Rust function that calls it. In JIT mode
//! (`jit`) the body becomes Rust code that builds the kernel when called. The vocabulary both
//! modes read (builtins, named values, views) is `peach_core::isa::lang`.
//!
//! ```
//! let item: syn::ItemFn = syn::parse_quote! {
//!     #[target(x86_64::baseline)]
//!     fn answer() -> u64 {
//!         let x = GP64();
//!         MOV(x, 42);
//!         RETURN(x);
//!     }
//! };
//! let tokens = peach_front::expand(item)?;
//! assert!(tokens.to_string().contains("global_asm"));
//! # Ok::<(), syn::Error>(())
//! ```

#![warn(missing_docs)]

mod emit;
pub mod eval;
mod jit;
pub mod kernel;

/// The language reference (Markdown), as `peach_core::isa::lang::reference` writes it.
pub const LANGUAGE: &str = include_str!("language.md");

/// Expands one `peach_fn!` item: the kernel's functions and constants, or the compile errors
/// of its body, each at the token responsible.
pub fn expand(item: syn::ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let kernel = kernel::Kernel::parse(item)?;
    if kernel.jit.is_some() {
        return jit::emit(&kernel);
    }
    if let Some(variants) = &kernel.variants {
        let mut built = Vec::new();
        let mut errors: Option<syn::Error> = None;
        for (target, name) in &variants.targets {
            match eval::build(&kernel, target) {
                Ok(b) => built.push((name.clone(), b)),
                Err(e) => match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                },
            }
        }
        if let Some(e) = errors {
            return Err(e);
        }
        return emit::emit_variants(&kernel, &built);
    }
    let built = eval::build(&kernel, &kernel.target)?;
    emit::emit(&kernel, &kernel.item.sig.ident, &built, false)
}

#[cfg(test)]
mod tests {
    /// Every path the expansion names in peach goes through `peach::__private`.
    #[test]
    fn expansions_reach_peach_only_through_private() {
        let items: [syn::ItemFn; 3] = [
            syn::parse_quote! {
                #[target(x86_64::haswell)]
                pub fn k(x: u64) -> u64 { let v = YMM(); VXORPS(v, v, v); RETURN(x); }
            },
            syn::parse_quote! {
                #[variants(x86_64::haswell, aarch64::neon, fallback = f)]
                pub unsafe fn k(x: u64) -> u64 { RETURN(x); }
            },
            syn::parse_quote! {
                #[target(x86_64::avx512)]
                #[jit(n: usize)]
                pub fn k(x: u64) -> u64 {
                    let v = [ZMM(); 2];
                    let s = STREAM({ VADDPS(v[0], v[0], v[1]); });
                    ISSUE_ALL(s);
                    REDUCE_SUM(v[0], f32);
                    RETURN(x);
                }
            },
        ];
        for item in items {
            let text = super::expand(item).unwrap().to_string();
            let mut rest = text.as_str();
            while let Some(at) = rest.find(":: peach ::") {
                rest = &rest[at + ":: peach ::".len()..];
                assert!(rest.trim_start().starts_with("__private"), "{}", &rest[..rest.len().min(80)]);
            }
        }
    }
}
