//! gdb's JIT interface (gdb's manual, "JIT Compilation Interface"): each kernel loaded is
//! described by an in-memory ELF object (its symbol, its DWARF lines and its call-frame
//! information at the address it runs at) linked into the list of `__jit_debug_descriptor`,
//! and gdb, which keeps a breakpoint in `__jit_debug_register_code`, reads it when that is
//! called; dropping the kernel unlinks it the same way.
//!
//! The descriptor and the function are weak definitions: where the process has another JIT
//! that defines them (LLVM's, say), both share its list, as the interface intends. The list is
//! changed under a lock of this crate's, which another JIT in the process does not take: do
//! not load peach kernels while it registers code of its own.

use std::sync::Mutex;

use peach_core::CodeObject;
use peach_core::emit::{DebugSections, LineTable};
use peach_core::target::Arch;

/// An entry of the list gdb reads (`struct jit_code_entry`).
#[repr(C)]
struct CodeEntry {
    next: *mut CodeEntry,
    prev: *mut CodeEntry,
    symfile_addr: *const u8,
    symfile_size: u64,
}

/// The list's head (`struct jit_descriptor`).
#[repr(C)]
struct Descriptor {
    version: u32,
    action_flag: u32,
    relevant_entry: *mut CodeEntry,
    first_entry: *mut CodeEntry,
}

const JIT_NOACTION: u32 = 0;
const JIT_REGISTER_FN: u32 = 1;
const JIT_UNREGISTER_FN: u32 = 2;

// The descriptor (version 1, no action, an empty list) and the function gdb breaks in.
std::arch::global_asm!(
    ".pushsection .data.__jit_debug_descriptor,\"aw\",%progbits",
    ".weak __jit_debug_descriptor",
    ".type __jit_debug_descriptor,%object",
    ".p2align 3",
    "__jit_debug_descriptor:",
    ".long 1, 0",
    ".quad 0, 0",
    ".size __jit_debug_descriptor, 24",
    ".popsection",
    ".pushsection .text.__jit_debug_register_code,\"ax\",%progbits",
    ".weak __jit_debug_register_code",
    ".type __jit_debug_register_code,%function",
    "__jit_debug_register_code:",
    "ret",
    ".size __jit_debug_register_code, .-__jit_debug_register_code",
    ".popsection",
);

unsafe extern "C" {
    static mut __jit_debug_descriptor: Descriptor;
    fn __jit_debug_register_code();
}

/// An object registered, by the kernel's address: its entry (from `Box::into_raw`, owned
/// here, reached by gdb and the list through raw pointers only) and its image.
struct Registered {
    address: usize,
    entry: *mut CodeEntry,
    _image: Box<[u8]>,
}

// SAFETY: the entry is reached only under `OBJECTS`' lock; the image is only read.
unsafe impl Send for Registered {}

static OBJECTS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// Registers `code`, loaded at `address`, with gdb.
pub(super) fn register(code: &CodeObject, address: usize) {
    let image = image(code, address as u64).into_boxed_slice();
    let Ok(mut objects) = OBJECTS.lock() else { return };
    let descriptor = &raw mut __jit_debug_descriptor;
    // SAFETY: the descriptor and the entries of its list are only changed under `OBJECTS`'
    // lock (see the module's note on other JITs); the new entry stays allocated until
    // `deregister` unlinks it, and the image it points to is kept with it.
    let entry = unsafe {
        let entry = Box::into_raw(Box::new(CodeEntry {
            next: (*descriptor).first_entry,
            prev: std::ptr::null_mut(),
            symfile_addr: image.as_ptr(),
            symfile_size: image.len() as u64,
        }));
        if !(*entry).next.is_null() {
            (*(*entry).next).prev = entry;
        }
        (*descriptor).first_entry = entry;
        (*descriptor).relevant_entry = entry;
        (*descriptor).action_flag = JIT_REGISTER_FN;
        __jit_debug_register_code();
        (*descriptor).action_flag = JIT_NOACTION;
        entry
    };
    objects.push(Registered { address, entry, _image: image });
}

/// Unregisters the kernel at `address`, if it was registered.
pub(super) fn deregister(address: usize) {
    let Ok(mut objects) = OBJECTS.lock() else { return };
    let Some(i) = objects.iter().position(|o| o.address == address) else { return };
    let gone = objects.swap_remove(i);
    let descriptor = &raw mut __jit_debug_descriptor;
    // SAFETY: as in `register`; the entry is in the list, linked by `register`, and its
    // neighbours are live entries of the list; it is freed once gdb has been told.
    unsafe {
        let entry = gone.entry;
        if (*entry).prev.is_null() {
            (*descriptor).first_entry = (*entry).next;
        } else {
            (*(*entry).prev).next = (*entry).next;
        }
        if !(*entry).next.is_null() {
            (*(*entry).next).prev = (*entry).prev;
        }
        (*descriptor).relevant_entry = entry;
        (*descriptor).action_flag = JIT_UNREGISTER_FN;
        __jit_debug_register_code();
        (*descriptor).action_flag = JIT_NOACTION;
        (*descriptor).relevant_entry = std::ptr::null_mut();
        drop(Box::from_raw(entry));
    }
}

// ELF constants (the System V ABI's).
const SHT_PROGBITS: u32 = 1;
const SHT_SYMTAB: u32 = 2;
const SHT_STRTAB: u32 = 3;
const SHT_NOBITS: u32 = 8;
const SHF_ALLOC: u64 = 2;
const SHF_EXECINSTR: u64 = 4;

/// A relocatable ELF object that describes `code` at `address`: a `.text` section that
/// occupies no space in the file at the code's address, the kernel's symbol, its call-frame
/// information and its DWARF lines (lines of Rust where the builder API was called).
pub(crate) fn image(code: &CodeObject, address: u64) -> Vec<u8> {
    let len = code.bytes().len() as u64;
    let mut debug = DebugSections::new(code.name(), len as u32, &LineTable::of_rust(code.source_lines()));
    debug.fill(address);
    let eh_frame = match (code.entry_frame(), code.frame_steps()) {
        (Some(entry), Some(steps)) => peach_core::emit::eh_frame(entry, address, len, steps),
        _ => Vec::new(),
    };
    let mut strtab = vec![0];
    strtab.extend(code.name().bytes().filter(|&b| b != 0));
    strtab.push(0);
    let mut symtab = vec![0; 24];
    symtab.extend_from_slice(&1u32.to_le_bytes()); // the name, at 1 in .strtab
    symtab.extend_from_slice(&[0x12, 0]); // global function, default visibility
    symtab.extend_from_slice(&1u16.to_le_bytes()); // in .text
    symtab.extend_from_slice(&0u64.to_le_bytes()); // at its start
    symtab.extend_from_slice(&len.to_le_bytes());
    // (name, type, flags, address, contents, link, info, entry size)
    type Section<'a> = (&'a str, u32, u64, u64, &'a [u8], u32, u32, u64);
    let sections: [Section; 8] = [
        (".text", SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, address, &[], 0, 0, 0),
        (".eh_frame", SHT_PROGBITS, 0, 0, &eh_frame, 0, 0, 0),
        (".debug_abbrev", SHT_PROGBITS, 0, 0, &debug.abbrev, 0, 0, 0),
        (".debug_info", SHT_PROGBITS, 0, 0, &debug.info, 0, 0, 0),
        (".debug_line", SHT_PROGBITS, 0, 0, &debug.line, 0, 0, 0),
        (".symtab", SHT_SYMTAB, 0, 0, &symtab, 7, 1, 24),
        (".strtab", SHT_STRTAB, 0, 0, &strtab, 0, 0, 0),
        (".shstrtab", SHT_STRTAB, 0, 0, &[], 0, 0, 0),
    ];
    let mut shstrtab = vec![0];
    let mut names = Vec::new();
    for s in &sections {
        names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(s.0.as_bytes());
        shstrtab.push(0);
    }
    // The header, each section's contents (8-byte aligned), then the section headers.
    let mut out = vec![0; 64];
    let mut placed = Vec::new();
    for s in &sections {
        let contents = if s.0 == ".shstrtab" { &shstrtab[..] } else { s.4 };
        out.resize(out.len().next_multiple_of(8), 0);
        placed.push((out.len() as u64, contents.len() as u64));
        if s.1 != SHT_NOBITS {
            out.extend_from_slice(contents);
        }
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let section_headers = out.len() as u64;
    out.extend_from_slice(&[0; 64]); // section 0
    for ((s, name), (offset, size)) in sections.iter().zip(&names).zip(&placed) {
        let size = if s.1 == SHT_NOBITS { len } else { *size };
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&s.1.to_le_bytes());
        for v in [s.2, s.3, *offset, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&s.5.to_le_bytes());
        out.extend_from_slice(&s.6.to_le_bytes());
        let align: u64 = if s.0 == ".text" { code.alignment() as u64 } else { 8 };
        out.extend_from_slice(&align.to_le_bytes());
        out.extend_from_slice(&s.7.to_le_bytes());
    }
    let machine: u16 = match code.target().arch() {
        Arch::Aarch64 => 183, // EM_AARCH64
        _ => 62,              // EM_X86_64
    };
    let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    header.extend_from_slice(&1u16.to_le_bytes()); // ET_REL
    header.extend_from_slice(&machine.to_le_bytes());
    header.extend_from_slice(&1u32.to_le_bytes()); // version
    for v in [0u64, 0, section_headers] {
        header.extend_from_slice(&v.to_le_bytes()); // entry, program headers, section headers
    }
    header.extend_from_slice(&0u32.to_le_bytes()); // flags
    for v in [64u16, 0, 0, 64, sections.len() as u16 + 1, sections.len() as u16] {
        header.extend_from_slice(&v.to_le_bytes()); // sizes, counts, .shstrtab's index
    }
    out[..64].copy_from_slice(&header);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use peach_core::prelude::*;

    /// readelf reads the image as written: sections, their addresses, the symbol, the lines.
    #[test]
    fn images_read_back_with_readelf() {
        let mut f = Function::new("imaged", Signature::default(), Target::x86_64_baseline());
        f.set_source_lines(true);
        let line = line!() + 1;
        f.asm("mov rbx, 3", ());
        f.ret(None);
        let code = f.compile(Abi::SysV).unwrap();
        let path = std::env::temp_dir().join(format!("peach-gdb-image-{}.o", std::process::id()));
        std::fs::write(&path, image(&code, 0x7f00_1234_5000)).unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("readelf").args(args).arg(&path).output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
        };
        let (Some(sections), Some(symbols), Some(lines)) =
            (run(&["-W", "-S"]), run(&["-W", "-s"]), run(&["--debug-dump=decodedline"]))
        else {
            eprintln!("skipped: readelf did not run");
            return;
        };
        let _ = std::fs::remove_file(&path);
        let text = sections.lines().find(|l| l.contains(" .text ")).unwrap_or_else(|| panic!("{sections}"));
        assert!(text.contains("NOBITS") && text.contains("00007f0012345000"), "{sections}");
        assert!(!sections.contains("Warning") && !symbols.contains("Warning"), "{sections}{symbols}");
        let size = code.bytes().len();
        let symbol = format!("0000000000000000 {size:5} FUNC    GLOBAL DEFAULT    1 imaged");
        assert!(symbols.contains(&symbol), "{symbols}");
        // The first row at the start, on the line of the `mov`.
        let row = |l: &str| l.split_whitespace().skip(1).take(2).map(str::to_string).collect::<Vec<_>>();
        assert!(lines.lines().any(|l| row(l) == [line.to_string(), "0x7f0012345000".into()]), "{lines}");
    }
}
