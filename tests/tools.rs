//! Kernels that unwinders and profilers understand. A kernel saves a callee-saved register (so
//! its frame is not the caller's) and calls back into Rust; the callback captures a backtrace,
//! which must walk through the kernel's frame, by its call-frame information, to the Rust
//! function that called it (without it the walk stops at the kernel): static kernels by their
//! `.cfi` directives, JIT kernels by the `.eh_frame` registered when they load. And perf's map
//! file names each JIT kernel loaded.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use peach::prelude::*;

#[path = "common/backtrace.rs"]
mod backtrace;
use backtrace::{callback_address, the_rust_caller_of_a_jit_kernel, walked};

peach_fn! {
    /// Calls `f` (an `extern "C" fn() -> u64`) with rbx in use across the call; returns its
    /// result plus 7.
    #[target(x86_64::baseline)]
    pub unsafe fn call_through(f: usize) -> u64 {
        ASM("mov rbx, 7");
        ASM("call {}", f);
        ASM("add rax, rbx");
        RETURN(RAX);
    }
}

#[inline(never)]
fn the_rust_caller() -> u64 {
    // (`black_box`: the call is not a tail call, so this function keeps its frame.)
    // SAFETY: `callback` is an `extern "C" fn() -> u64`, which the kernel calls with the stack
    // aligned as the C convention wants (rbx pushed: rsp is 16-byte aligned at the call).
    std::hint::black_box(unsafe { call_through(callback_address()) })
}

#[test]
fn a_backtrace_walks_through_a_static_kernel() {
    assert_eq!(the_rust_caller(), 42);
    walked("the_rust_caller", "a_backtrace_walks_through");
}

peach_fn! {
    /// The same, built at run time.
    #[target(x86_64::baseline)]
    #[jit]
    pub unsafe fn call_through_jit(f: usize) -> u64 {
        ASM("mov rbx, 7");
        ASM("call {}", f);
        ASM("add rax, rbx");
        RETURN(RAX);
    }
}

/// The same through a JIT kernel, whose unwind information is registered with the unwinder
/// when it is loaded (`Tool::Unwind`) and withdrawn when it is dropped.
#[test]
fn a_backtrace_walks_through_a_jit_kernel() {
    peach::runtime::tools::enable(peach::runtime::tools::Tool::Unwind);
    let k = call_through_jit().unwrap();
    assert_eq!(the_rust_caller_of_a_jit_kernel(&k), 42);
    walked("the_rust_caller_of_a_jit_kernel", "a_backtrace_walks_through_a_jit");
    drop(k);
}

/// Through a JIT kernel whose frame is realigned with rbp (a 64-byte aligned stack local) and
/// saves two callee-saved registers; then many kernels loaded and dropped with their unwind
/// information registered and withdrawn, and the walk still right.
#[test]
fn a_backtrace_walks_through_a_realigned_jit_frame() {
    use peach::core::ir::{Signature, Type};
    use peach::core::regs_x86_64::RAX;
    peach::runtime::tools::enable(peach::runtime::tools::Tool::Unwind);
    let build = || {
        let mut f =
            Function::new("realigned", Signature::new(&[Type::Usize], Some(Type::U64)), Target::x86_64_baseline());
        let p = f.param(0);
        let slot = f.stack_local(64, 64);
        f.ins("mov", (slot, p));
        f.asm("mov rbx, 7", ());
        f.asm("mov r12, 8", ());
        f.asm("call {}", p);
        f.asm("add rax, rbx", ());
        f.asm("add rax, r12", ());
        f.ret(RAX);
        f.compile(Abi::SysV).unwrap()
    };
    let code = build();
    assert!(code.listing().contains("and rsp"), "{}", code.listing());
    for _ in 0..1000 {
        // SAFETY: loaded and dropped, never called.
        drop(unsafe { Kernel::<unsafe extern "C" fn(usize) -> u64>::load(&code) }.unwrap());
    }
    // SAFETY: the code's signature, in the host's C convention (System V).
    let k = unsafe { Kernel::<unsafe extern "C" fn(usize) -> u64>::load(&code) }.unwrap();
    assert_eq!(the_rust_caller_of_a_jit_kernel(&k), 50);
    walked("the_rust_caller_of_a_jit_kernel", "a_backtrace_walks_through_a_realigned");
}

/// With `Tool::PerfMap` on, each kernel loaded adds `address size name` (hexadecimal) to
/// `/tmp/perf-<pid>.map`.
#[test]
fn perf_map_names_each_kernel() {
    use peach::core::ir::Signature;
    peach::runtime::tools::enable(peach::runtime::tools::Tool::PerfMap);
    let mut f = Function::new("mapped_for_perf", Signature::default(), Target::x86_64_baseline());
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap();
    // SAFETY: loaded, never called.
    let k = unsafe { Kernel::<unsafe extern "C" fn()>::load(&code) }.unwrap();
    let map = std::fs::read_to_string(format!("/tmp/perf-{}.map", std::process::id())).unwrap();
    let want = format!("{:x} {:x} mapped_for_perf", k.memory().as_ptr() as usize, code.bytes().len());
    assert!(map.lines().any(|l| l == want), "`{want}` is not in\n{map}");
}

/// With `Tool::JitDump` on, each kernel loaded appends a code-load record to the jitdump file,
/// read back here field by field: the header, then a record with the kernel's address, size,
/// name and machine code.
#[test]
fn jitdump_records_each_kernel() {
    use peach::core::ir::Signature;
    use peach::runtime::tools::jitdump;
    peach::runtime::tools::enable(peach::runtime::tools::Tool::JitDump);
    let mut f = Function::new("dumped_for_perf", Signature::default(), Target::x86_64_baseline());
    let first = line!() + 1;
    f.asm("mov rbx, 3", ());
    f.asm("mov r12, 4", ());
    f.ret(None);
    let code = f.compile(Abi::SysV).unwrap();
    // SAFETY: loaded, never called.
    let k = unsafe { Kernel::<unsafe extern "C" fn()>::load(&code) }.unwrap();
    let file = std::fs::read(jitdump::path()).unwrap();
    let u32_at = |at: usize| u32::from_le_bytes(file[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(file[at..at + 8].try_into().unwrap());
    assert_eq!((u32_at(0), u32_at(4), u32_at(8), u32_at(12)), (jitdump::MAGIC, 1, 40, 62));
    assert_eq!(u32_at(20), std::process::id());
    let (mut at, mut found, mut lines) = (40, false, None);
    let address = k.memory().as_ptr() as u64;
    // (Other tests may be appending a record as this one reads: only whole ones are read.)
    while at + 16 <= file.len() && at + u32_at(at + 4) as usize <= file.len() {
        let (id, size) = (u32_at(at), u32_at(at + 4) as usize);
        if id == jitdump::JIT_CODE_DEBUG_INFO && u64_at(at + 16) == address {
            // Entries: address, line, discriminator, file name.
            let mut entries = Vec::new();
            let mut e = at + 32;
            for _ in 0..u64_at(at + 24) {
                let name_end = e + 16 + file[e + 16..].iter().position(|b| *b == 0).unwrap();
                let name = String::from_utf8_lossy(&file[e + 16..name_end]).into_owned();
                entries.push((u64_at(e) - address, u32_at(e + 8), u32_at(e + 12), name));
                e = name_end + 1;
            }
            assert_eq!(e, at + size, "entries fill the record");
            lines = Some(entries);
        }
        if id == jitdump::JIT_CODE_LOAD && u64_at(at + 32) == address {
            // Its lines came first: rbx and r12 are saved and rbx set (the first line's:
            // 1 + 2 + 7 bytes), then r12 set (the second line's), then the registers restored
            // and the return (the return's).
            let file_name = file!().to_string();
            let expected = [(0, first, 0, file_name.clone()), (10, first + 1, 0, file_name.clone())];
            let lines = lines.take().expect("a debug-info record before the code-load record");
            assert_eq!(lines[..2], expected, "{}", code.listing());
            assert_eq!(lines[2].1, first + 2);
            let name_at = at + 56;
            let end = name_at + file[name_at..].iter().position(|b| *b == 0).unwrap();
            assert_eq!(&file[name_at..end], b"dumped_for_perf");
            assert_eq!(u64_at(at + 40), code.bytes().len() as u64);
            assert_eq!(&file[end + 1..at + size], code.bytes());
            assert_eq!(u32_at(at + 16), std::process::id());
            found = true;
        }
        at += size;
    }
    assert!(found, "no record of the kernel");
}

/// `perf record -k mono`, then `perf inject --jit`, then `perf report`: the samples of a JIT
/// kernel that spins are attributed to it by name, through its jitdump record. The test runs
/// itself under perf as a child (`PEACH_PERF_CHILD`); skipped where perf is absent or may not
/// record.
#[test]
fn perf_attributes_samples_to_a_jit_kernel() {
    use peach::core::ir::{Signature, Type};
    use std::process::Command;
    if std::env::var_os("PEACH_PERF_CHILD").is_some() {
        peach::runtime::tools::enable(peach::runtime::tools::Tool::JitDump);
        let mut f =
            Function::new("spins_for_perf", Signature::new(&[Type::U64], Some(Type::U64)), Target::x86_64_baseline());
        let n = f.param(0);
        let top = f.label();
        f.bind(top);
        f.ins("sub", (n, 1));
        f.ins("jne", top);
        f.ret(n);
        let code = f.compile(Abi::SysV).unwrap();
        // SAFETY: the code's signature; it only counts down.
        let k = unsafe { Kernel::<unsafe extern "C" fn(u64) -> u64>::load(&code) }.unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { k.call(1_000_000_000) }, 0);
        return;
    }
    let dir = std::env::temp_dir().join(format!("peach-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (raw, injected) = (dir.join("raw.data"), dir.join("jit.data"));
    let exe = std::env::current_exe().unwrap();
    let recorded = Command::new("perf")
        .args(["record", "-q", "-k", "mono", "-o"])
        .arg(&raw)
        .arg("--")
        .arg(&exe)
        .args(["--exact", "perf_attributes_samples_to_a_jit_kernel", "--test-threads=1"])
        .env("PEACH_PERF_CHILD", "1")
        .env("JITDUMPDIR", &dir)
        .output();
    if !recorded.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: perf is not installed or may not record here");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let inject =
        Command::new("perf").args(["inject", "--jit", "-i"]).arg(&raw).arg("-o").arg(&injected).output().unwrap();
    assert!(inject.status.success(), "perf inject: {}", String::from_utf8_lossy(&inject.stderr));
    let report = Command::new("perf").args(["report", "--stdio", "-i"]).arg(&injected).output().unwrap();
    let text = String::from_utf8_lossy(&report.stdout).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    // The kernel's share: most samples, under its name.
    let line =
        text.lines().find(|l| l.contains("spins_for_perf")).unwrap_or_else(|| panic!("no samples named:\n{text}"));
    let share: f64 = line.split_whitespace().next().and_then(|p| p.trim_end_matches('%').parse().ok()).unwrap_or(0.0);
    assert!(share > 50.0, "{line}");
}
