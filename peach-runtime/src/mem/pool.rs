//! The executable-memory pool (Linux).
//!
//! Kernels share chunks of [`CHUNK`] bytes. A chunk is one memory object (`memfd_create`) mapped
//! twice: read-write, where loading copies code in, and read-execute, where it runs. No mapping is
//! ever writable and executable, and no protection changes while other kernels run from a chunk.
//! Batched `mprotect` was the other choice; it would have to make a page writable again to add a
//! kernel, stopping every kernel already running there.
//!
//! Slots are handed out in order and an address never receives code twice: a kernel's bytes are
//! written before anything can run them and never change after, so no thread ever executes memory
//! that is being rewritten (on AArch64, the caches are cleaned and invalidated for the new code
//! after the copy). Dropping a kernel releases its slot; a chunk is unmapped when its last kernel
//! is gone and new code goes to a newer chunk. Memory held is bounded by the chunks with live
//! kernels plus the one being filled. Code larger than a quarter of a chunk gets a chunk of its
//! own, sized to it.
//!
//! Most loads take a lock, bump an offset and copy: no system call. A new chunk costs five
//! (`memfd_create`, `ftruncate`, two `mmap`, `close`), about every few hundred small kernels.
//!
//! A forked child shares the chunks' memory with its parent (they are shared mappings): it never
//! writes into a chunk it inherited. Its writable views are not inherited at all
//! (`MADV_DONTFORK`), and the first load after a fork starts a chunk of the child's own (a fork
//! handler counts forks). The parent carries on filling its chunk, at offsets the child never
//! runs.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};

/// The size of a shared chunk.
const CHUNK: usize = 64 << 10;

/// One memory object, mapped read-write and read-execute.
struct Chunk {
    rw: NonNull<u8>,
    rx: NonNull<u8>,
    len: usize,
}

// SAFETY: the mappings belong to the chunk and are unmapped once, on drop. Writes go only to
// slots handed out by the pool's lock to one loader each, before any kernel in them exists.
unsafe impl Send for Chunk {}
// SAFETY: as above; shared access only reads or executes.
unsafe impl Sync for Chunk {}

impl Chunk {
    /// Maps a chunk of `len` bytes (a multiple of the page size), or `None` if the system
    /// refuses.
    fn map(len: usize) -> Option<Chunk> {
        // SAFETY: system calls with valid arguments; every result is checked, and the file
        // descriptor is closed when `fd` drops (the mappings keep the object alive).
        unsafe {
            let raw = libc::memfd_create(c"peach-code".as_ptr(), libc::MFD_CLOEXEC);
            if raw < 0 {
                return None;
            }
            let fd = OwnedFd::from_raw_fd(raw);
            if libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) != 0 {
                return None;
            }
            let map = |prot| {
                let p = libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), 0);
                if p == libc::MAP_FAILED { None } else { NonNull::new(p.cast::<u8>()) }
            };
            let rw = map(libc::PROT_READ | libc::PROT_WRITE)?;
            let Some(rx) = map(libc::PROT_READ | libc::PROT_EXEC) else {
                libc::munmap(rw.as_ptr().cast(), len);
                return None;
            };
            // A forked child gets no writable view of the parent's code (best effort: the fork
            // count below is what keeps a child from writing).
            libc::madvise(rw.as_ptr().cast(), len, libc::MADV_DONTFORK);
            super::MAPPED.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
            Some(Chunk { rw, rx, len })
        }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: both mappings are this chunk's, of `len` bytes; no slot of it is alive (each
        // holds the chunk).
        unsafe {
            libc::munmap(self.rw.as_ptr().cast(), self.len);
            libc::munmap(self.rx.as_ptr().cast(), self.len);
        }
        super::MAPPED.fetch_sub(self.len, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A kernel's place in the pool: `len` bytes at offset `at` of a chunk, which lives as long as
/// the slot.
pub(crate) struct Slot {
    chunk: Arc<Chunk>,
    at: usize,
    len: usize,
}

impl Slot {
    /// The code's read-execute address.
    pub fn as_ptr(&self) -> *const u8 {
        // SAFETY: `at` is inside the chunk's mapping (checked when the slot was handed out).
        unsafe { self.chunk.rx.as_ptr().add(self.at) }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// The chunk being filled, and how much of it is used.
struct Pool {
    current: Option<Arc<Chunk>>,
    used: usize,
    /// The system refused a chunk once: every later load maps its own memory.
    refused: bool,
    /// [`FORKS`] when `current` was made.
    forks: u64,
}

static POOL: Mutex<Pool> = Mutex::new(Pool { current: None, used: 0, refused: false, forks: 0 });

/// How many forks this process descends from (counted in the child).
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn forked_child() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// Copies `bytes` into the pool at an address aligned to `align` (a power of two up to 4096),
/// or `None` if the system gives no pooled memory (the caller then maps memory of its own).
pub(crate) fn load(bytes: &[u8], align: usize) -> Option<Slot> {
    let len = bytes.len();
    let (chunk, at) = if len > CHUNK / 4 {
        // A chunk of its own, page-aligned at offset 0.
        (Arc::new(Chunk::map(len.next_multiple_of(4096))?), 0)
    } else {
        static HANDLER: Once = Once::new();
        // SAFETY: the handler only increments an atomic, which is async-signal-safe.
        HANDLER.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(forked_child));
        });
        // Nothing below panics while the lock is held; a poisoned lock still has valid state.
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.refused {
            return None;
        }
        let forks = FORKS.load(Ordering::Relaxed);
        if pool.forks != forks {
            // The chunk is the parent's too: leave it to the parent.
            pool.current = None;
            pool.forks = forks;
        }
        let at = pool.used.next_multiple_of(align);
        let chunk = match &pool.current {
            Some(c) if at + len <= c.len => c.clone(),
            _ => {
                let Some(fresh) = Chunk::map(CHUNK) else {
                    pool.refused = true;
                    return None;
                };
                // The old chunk is unmapped when its last kernel drops.
                pool.current = Some(Arc::new(fresh));
                pool.used = 0;
                pool.current.clone()?
            }
        };
        let at = pool.used.next_multiple_of(align);
        pool.used = at + len.max(1);
        (chunk, at)
    };
    debug_assert!(at + len <= chunk.len);
    // SAFETY: `[at, at + len)` is inside the chunk (checked above) and was handed out to this
    // load alone under the lock; nothing runs it until this function returns.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), chunk.rw.as_ptr().add(at), len) };
    let slot = Slot { chunk, at, len };
    // No-ops on x86-64. On AArch64: clean the data cache through the writable view and
    // invalidate the instruction cache for the executable one, then synchronize this thread.
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: both ranges are the slot's, inside mappings readable for its lifetime.
        let (written, code) = unsafe {
            (
                std::slice::from_raw_parts(slot.chunk.rw.as_ptr().add(at), len),
                std::slice::from_raw_parts(slot.as_ptr(), len),
            )
        };
        dynasmrt::cache_control::synchronize_icache(written);
        dynasmrt::cache_control::synchronize_icache(code);
        dynasmrt::cache_control::prepare_for_execution(code);
    }
    Some(slot)
}
