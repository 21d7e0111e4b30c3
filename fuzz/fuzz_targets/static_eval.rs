//! The static interpreter on arbitrary kernel bodies: whatever the text, `peach_fn!`'s
//! evaluation and compilation return a value or an error, never a panic, and finish promptly
//! (the step limit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use peach_front::{eval, kernel};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // syn's parser recurses once per nesting level and overflows the stack on a few hundred
    // (`<<<<...` as qualified paths); in a real build rustc has parsed the body first.
    if text.bytes().filter(|b| b"<([{".contains(b)).count() > 100 {
        return;
    }
    let src = format!("#[target(x86_64::v4)] unsafe fn k(p: *const u64, n: u32, x: f64) -> u64 {{ {text} }}");
    let Ok(item) = syn::parse_str::<syn::ItemFn>(&src) else { return };
    let Ok(k) = kernel::Kernel::parse(item) else { return };
    let _ = eval::build(&k, &k.target);
});
