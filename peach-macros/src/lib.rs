//! The `peach_fn!` procedural macro: an assembly kernel written inline in Rust, evaluated,
//! register-allocated and assembled at compile time. Every mistake is a compile error at the
//! token responsible. The work is peach-front's; this crate is its entry point.

use proc_macro::TokenStream;

/// Writes an assembly kernel inline in Rust; the `peach` crate's documentation shows how.
///
#[doc = include_str!("../../peach-front/src/language.md")]
#[proc_macro]
pub fn peach_fn(input: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(input as syn::ItemFn);
    match peach_front::expand(item) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
