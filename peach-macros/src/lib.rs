//! The `peach_fn!` procedural macro: an assembly kernel written inline in Rust, evaluated,
//! register-allocated and assembled at compile time. Every mistake is a compile error at the
//! token responsible.
//!
//! The macro runs in three steps: `kernel` reads the function (signature and attributes),
//! `eval` interprets its body with peach-core's builder, and `emit` writes the machine code
//! into the text section with `global_asm!`, plus the Rust function that calls it. In JIT mode
//! (`jit`) the body becomes Rust code that builds the kernel when called. Use it through
//! the `peach` crate, whose documentation describes the language.

mod emit;
mod eval;
mod jit;
mod kernel;

use proc_macro::TokenStream;

/// Writes an assembly kernel inline in Rust; the `peach` crate's documentation shows how.
///
#[doc = include_str!("language.md")]
#[proc_macro]
pub fn peach_fn(input: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(input as syn::ItemFn);
    match expand(item) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(item: syn::ItemFn) -> syn::Result<proc_macro2::TokenStream> {
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
