//! The `.eh_frame` of each kernel registered with the platform unwinder, by address.

use std::sync::Mutex;

use peach_core::CodeObject;

/// Boxes, so that each `.eh_frame` stays where the unwinder was told it is.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu", not(miri))), allow(dead_code))]
static FRAMES: Mutex<Vec<(usize, Box<[u64]>)>> = Mutex::new(Vec::new());

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
pub(super) fn register(code: &CodeObject, address: usize) {
    let (Some(entry), Some(steps)) = (code.entry_frame(), code.frame_steps()) else { return };
    let bytes = peach_core::emit::eh_frame(entry, address as u64, code.bytes().len() as u64, steps);
    // Words, so that the unwinder reads its lengths aligned.
    let mut words = vec![0u64; bytes.len().div_ceil(8)].into_boxed_slice();
    for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *w = u64::from_ne_bytes(b);
    }
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

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
pub(super) fn register(_code: &CodeObject, _address: usize) {}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(miri))))]
pub(super) fn deregister(_address: usize) {}

#[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
unsafe extern "C" {
    /// libgcc: adds the `.eh_frame` at `begin` to those the unwinder searches.
    fn __register_frame(begin: *const u8);
    /// libgcc: removes it again.
    fn __deregister_frame(begin: *const u8);
}
