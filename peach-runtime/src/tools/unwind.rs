//! Each kernel's unwind information registered with the platform unwinder, by address: its
//! `.eh_frame` with libgcc's unwinder (Linux with glibc), its `RUNTIME_FUNCTION` and
//! `UNWIND_INFO` with `RtlAddFunctionTable` (Windows x64).

use std::sync::Mutex;

use peach_core::CodeObject;

/// Boxes of words (the unwinders read their fields aligned), so that each registration stays
/// where the unwinder was told it is.
#[cfg_attr(
    any(miri, not(any(all(target_os = "linux", target_env = "gnu"), all(windows, target_arch = "x86_64")))),
    allow(dead_code)
)]
static FRAMES: Mutex<Vec<(usize, Box<[u64]>)>> = Mutex::new(Vec::new());

/// `bytes` at the start of `words`.
#[cfg_attr(
    any(miri, not(any(all(target_os = "linux", target_env = "gnu"), all(windows, target_arch = "x86_64")))),
    allow(dead_code)
)]
fn fill(words: &mut [u64], bytes: &[u8]) {
    for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *w = u64::from_ne_bytes(b);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
pub(super) fn register(code: &CodeObject, address: usize) {
    let (Some(entry), Some(steps)) = (code.entry_frame(), code.frame_steps()) else { return };
    let bytes = peach_core::emit::eh_frame(entry, address as u64, code.bytes().len() as u64, steps);
    let mut words = vec![0u64; bytes.len().div_ceil(8)].into_boxed_slice();
    fill(&mut words, &bytes);
    let Ok(mut frames) = FRAMES.lock() else { return };
    // SAFETY: `words` holds a complete `.eh_frame` (a CIE, an FDE and the zero terminator)
    // describing code that stays mapped until `deregister` withdraws it; the box is kept,
    // unmoved, in `FRAMES` until then.
    unsafe { __register_frame(words.as_ptr().cast()) };
    frames.push((address, words));
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
pub(super) fn deregister(address: usize) {
    let Ok(mut frames) = FRAMES.lock() else { return };
    if let Some(i) = frames.iter().position(|(a, _)| *a == address) {
        let (_, words) = frames.swap_remove(i);
        // SAFETY: `words` was registered by `register` with this very pointer.
        unsafe { __deregister_frame(words.as_ptr().cast()) };
    }
}

/// Windows x64: a `RUNTIME_FUNCTION` (the code's start and end and its `UNWIND_INFO`, as
/// 32-bit offsets from a base address) followed by the `UNWIND_INFO`, in one box; not
/// registered where the box and the code are too far apart for 32-bit offsets.
#[cfg(all(windows, target_arch = "x86_64", not(miri)))]
pub(super) fn register(code: &CodeObject, address: usize) {
    let Some(info) = code.win64_unwind().and_then(peach_core::emit::win64_unwind_info) else { return };
    let mut words = vec![0u64; 2 + info.len().div_ceil(8)].into_boxed_slice();
    let table = words.as_ptr() as usize;
    let base = address.min(table);
    let offset = |at: usize| u32::try_from(at - base).ok();
    let (Some(begin), Some(end), Some(unwind)) =
        (offset(address), offset(address + code.bytes().len()), offset(table + 16))
    else {
        return;
    };
    let mut bytes = Vec::with_capacity(16 + info.len());
    for v in [begin, end, unwind, 0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&info);
    fill(&mut words, &bytes);
    let Ok(mut frames) = FRAMES.lock() else { return };
    // SAFETY: `words` starts with one RUNTIME_FUNCTION whose offsets from `base` reach the code
    // (mapped until `deregister` withdraws it) and the UNWIND_INFO after it; the box is kept,
    // unmoved, in `FRAMES` until then.
    if unsafe { RtlAddFunctionTable(words.as_ptr().cast(), 1, base as u64) } != 0 {
        frames.push((address, words));
    }
}

#[cfg(all(windows, target_arch = "x86_64", not(miri)))]
pub(super) fn deregister(address: usize) {
    let Ok(mut frames) = FRAMES.lock() else { return };
    if let Some(i) = frames.iter().position(|(a, _)| *a == address) {
        let (_, words) = frames.swap_remove(i);
        // SAFETY: `words` was registered by `register` with this very pointer.
        unsafe { RtlDeleteFunctionTable(words.as_ptr().cast()) };
    }
}

#[cfg(all(windows, target_arch = "x86_64", not(miri)))]
#[link(name = "kernel32")]
unsafe extern "system" {
    /// Adds `count` RUNTIME_FUNCTIONs at `table`, their offsets from `base`, to those the
    /// unwinder searches; nonzero on success.
    fn RtlAddFunctionTable(table: *const u8, count: u32, base: u64) -> u8;
    /// Removes them again.
    fn RtlDeleteFunctionTable(table: *const u8) -> u8;
}

#[cfg(not(all(any(all(target_os = "linux", target_env = "gnu"), all(windows, target_arch = "x86_64")), not(miri))))]
pub(super) fn register(_code: &CodeObject, _address: usize) {}

#[cfg(not(all(any(all(target_os = "linux", target_env = "gnu"), all(windows, target_arch = "x86_64")), not(miri))))]
pub(super) fn deregister(_address: usize) {}

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
unsafe extern "C" {
    /// libgcc: adds the `.eh_frame` at `begin` to those the unwinder searches.
    fn __register_frame(begin: *const u8);
    /// libgcc: removes it again.
    fn __deregister_frame(begin: *const u8);
}
