//! Kernels that debuggers understand: gdb, in batch mode on this test binary, stops at a
//! breakpoint on a line of a kernel's body, says which line an address is on, and shows the
//! kernel and its Rust caller in a backtrace. Static kernels carry their lines as DWARF in the
//! binary; JIT kernels are registered with gdb's JIT interface when they load.
//!
//! Each check runs one of the `#[ignore]`d targets below under gdb (they also pass on their
//! own). On AArch64 (under qemu in CI) the binary runs again under `qemu-aarch64 -g`, and
//! `gdb-multiarch` attaches to qemu's gdb stub. Without gdb (or gdb-multiarch and qemu), or where
//! it may not trace, the checks say so and pass: CI installs them.
#![cfg(all(any(target_arch = "x86_64", target_arch = "aarch64"), target_os = "linux"))]

use std::process::Command;

use peach::prelude::*;

#[cfg(target_arch = "x86_64")]
peach_fn! {
    /// `x + 5y`, one instruction per line, and a custom instruction.
    #[target(x86_64::baseline)]
    pub fn add_twice(x: u64, y: u64) -> u64 {
        fn add_thrice(r: Reg, y: Reg) {
            ADD(r, y); // gdb x86_64: inner
            ADD(r, y);
            ADD(r, y);
        }
        let r = GP64();
        MOV(r, x);
        ADD(r, y); // gdb x86_64: static
        ADD(r, y);
        add_thrice(r, y); // gdb x86_64: custom
        RETURN(r);
    }
}

#[cfg(target_arch = "aarch64")]
peach_fn! {
    /// `x + 5y`, one instruction per line, and a custom instruction.
    #[target(aarch64::neon)]
    pub fn add_twice(x: u64, y: u64) -> u64 {
        fn add_thrice(r: Reg, y: Reg) {
            ADD(r, r, y); // gdb aarch64: inner
            ADD(r, r, y);
            ADD(r, r, y);
        }
        let r = GP64();
        MOV(r, x);
        ADD(r, r, y); // gdb aarch64: static
        ADD(r, r, y);
        add_thrice(r, y); // gdb aarch64: custom
        RETURN(r);
    }
}

/// The architecture, as the markers of lines name it.
const ARCH: &str = if cfg!(target_arch = "x86_64") { "x86_64" } else { "aarch64" };
/// The bytes of one `ADD` above.
const ADD_BYTES: u64 = if cfg!(target_arch = "x86_64") { 3 } else { 4 };

#[test]
#[ignore = "run under gdb by `static_kernel_lines`"]
fn gdb_target_static() {
    assert_eq!(add_twice(std::hint::black_box(1), 2), 11);
}

/// `x + 2y`, built at run time with the builder API, registered with gdb.
#[test]
#[ignore = "run under gdb by `jit_kernel_lines`"]
fn gdb_target_jit() {
    use peach::core::ir::{Signature, Type};
    peach::runtime::tools::enable(peach::runtime::tools::Tool::Gdb);
    let sig = Signature::new(&[Type::U64, Type::U64], Some(Type::U64));
    // A callee-saved register is in use and a stack local is below it: the kernel saves the
    // register and moves the stack pointer (gdb unwinds by the kernel's call-frame information).
    #[cfg(target_arch = "x86_64")]
    let code = {
        let mut f = Function::new("jit_add_twice", sig, Target::x86_64_baseline());
        let (x, y) = (f.param(0), f.param(1));
        f.asm("xor ebx, ebx", ()); // gdb x86_64: first
        let local = f.stack_local(8, 8);
        f.ins("mov", (local, y));
        f.ins("add", (x, y)); // gdb x86_64: jit
        f.ins("add", (x, y));
        f.ret(x);
        f.compile(Abi::SysV).unwrap()
    };
    #[cfg(target_arch = "aarch64")]
    let code = {
        let mut f = Function::new("jit_add_twice", sig, Target::aarch64_neon());
        let (x, y) = (f.param(0), f.param(1));
        f.asm("mov x19, #0", ()); // gdb aarch64: first
        let local = f.stack_local(8, 8);
        f.ins("str", (y, local));
        f.ins("add", (x, x, y)); // gdb aarch64: jit
        f.ins("add", (x, x, y));
        f.ret(x);
        f.compile(Abi::host()).unwrap()
    };
    // SAFETY: the code's signature; it only adds.
    let k = unsafe { Kernel::<unsafe extern "C" fn(u64, u64) -> u64>::load(&code) }.unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { k.call(std::hint::black_box(1), 2) }, 5);
    drop(k);
    jit_dropped();
}

/// Where gdb looks again once the JIT kernel is dropped.
#[inline(never)]
fn jit_dropped() {
    std::hint::black_box(());
}

/// The line of this file that holds `marker`.
fn line_of(marker: &str) -> usize {
    let source = include_str!("debugger.rs");
    let at = source.lines().position(|l| l.contains(marker) && !l.contains("line_of("));
    at.unwrap_or_else(|| panic!("`{marker}` is not in debugger.rs")) + 1
}

/// gdb's output for running test `target` of this binary with `commands` (`run` starts it),
/// or `None` where gdb is missing or may not trace (said on stderr).
#[cfg(target_arch = "x86_64")]
fn gdb(target: &str, commands: &[String]) -> Option<String> {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new("gdb");
    cmd.args(["-nx", "-batch", "-ex", "set debuginfod enabled off"]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.arg("--args").arg(exe).args([target, "--exact", "--include-ignored", "--test-threads=1"]);
    finish(cmd.output(), "gdb")
}

/// The same on AArch64: the binary under `qemu-aarch64 -g <port>` (with the cross sysroot),
/// gdb-multiarch attached to qemu's stub (`run` continues from the first instruction).
#[cfg(target_arch = "aarch64")]
fn gdb(target: &str, commands: &[String]) -> Option<String> {
    let exe = std::env::current_exe().expect("the test binary's path");
    let sysroot = "/usr/aarch64-linux-gnu";
    // A port nothing listens on (released just before qemu takes it).
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let mut qemu = Command::new("qemu-aarch64");
    qemu.args(["-cpu", "max", "-L", sysroot, "-g", &port.to_string()]);
    qemu.arg(&exe).args([target, "--exact", "--include-ignored", "--test-threads=1"]);
    let mut qemu = match qemu.stdout(std::process::Stdio::null()).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("skipped: qemu-aarch64 cannot be run ({e}); CI installs it");
            return None;
        }
    };
    let mut cmd = Command::new("gdb-multiarch");
    cmd.args(["-nx", "-batch", "-ex", "set debuginfod enabled off", "-ex", &format!("set sysroot {sysroot}")]);
    cmd.args(["-ex", "set tcp connect-timeout 30", "-ex"]).arg(format!("file {}", exe.display()));
    cmd.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    for c in commands {
        cmd.args(["-ex", if c == "run" { "continue" } else { c }]);
    }
    let out = finish(cmd.output(), "gdb-multiarch");
    let _ = qemu.kill();
    let _ = qemu.wait();
    out
}

/// The text of gdb's `output`, or `None` (said on stderr) where `gdb` could not run or trace.
fn finish(output: std::io::Result<std::process::Output>, gdb: &str) -> Option<String> {
    let out = match output {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: {gdb} cannot be run ({e}); CI installs it");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if text.contains("ptrace: Operation not permitted") || text.contains("Couldn't get registers") {
        eprintln!("skipped: {gdb} may not trace here:\n{text}");
        return None;
    }
    Some(text)
}

#[test]
fn static_kernel_lines() {
    let line = line_of(&format!("// gdb {ARCH}: static"));
    let commands = [
        format!("break tests/debugger.rs:{line}"),
        "run".into(),
        "info line *$pc".into(),
        "x/i $pc".into(),
        "bt".into(),
        format!("list {0},{0}", line - 1),
        "stepi".into(),
        "info line *$pc".into(),
        "kill".into(),
    ];
    let Some(out) = gdb("gdb_target_static", &commands) else { return };
    println!("{out}");
    assert!(out.contains(&format!("Breakpoint 1, add_twice () at tests/debugger.rs:{line}")), "{out}");
    assert!(out.contains(&format!("Line {line} of \"tests/debugger.rs\" starts at address")), "{out}");
    // The instruction there is the line's `add`, and the caller is the Rust function that
    // called the kernel.
    assert!(out.lines().any(|l| l.starts_with("=> ") && l.contains("add")), "{out}");
    let trace: Vec<&str> =
        out.lines().skip_while(|l| !l.starts_with("#0")).take_while(|l| l.starts_with('#')).collect();
    assert!(trace[0].contains("add_twice ()"), "{out}");
    // (Names are qualified, `debugger::add_twice`, where the test is built with full debugging
    // information, and not with line tables alone.)
    let caller = trace.iter().skip(1).position(|l| l.contains("add_twice (")).map(|i| i + 1);
    let test = trace.iter().position(|l| l.contains("gdb_target_static ("));
    assert!(caller == Some(1) && test > caller, "the backtrace does not reach the caller:\n{out}");
    // `list` shows the kernel's source (the line before); one `stepi` reaches the next line.
    assert!(out.lines().any(|l| l.starts_with(&format!("{}\t", line - 1)) && l.contains("MOV(r, x);")), "{out}");
    assert!(out.contains(&format!("Line {} of \"tests/debugger.rs\" starts at address", line + 1)), "{out}");
}

/// A custom instruction's code is inlined at its call: a breakpoint on the call's line stops at
/// its first instruction, in an inlined frame on the custom instruction's own line whose caller
/// is the kernel on the call's line; each `stepi` goes to the next line of the custom
/// instruction, and after its three `add`s the kernel's frame is on top again.
#[test]
fn custom_instructions_are_inlined_at_their_call() {
    let (call, inner) = (line_of(&format!("// gdb {ARCH}: custom")), line_of(&format!("// gdb {ARCH}: inner")));
    let mut commands = vec![format!("break tests/debugger.rs:{call}"), "run".into()];
    for _ in 0..3 {
        commands.extend(["bt 2".to_string(), "x/i $pc".into(), "stepi".into()]);
    }
    commands.extend(["bt 1".to_string(), "x/i $pc".into(), "kill".into()]);
    let Some(out) = gdb("gdb_target_static", &commands) else { return };
    println!("{out}");
    let frames: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    let offsets: Vec<u64> = out
        .lines()
        .filter(|l| l.starts_with("=> "))
        .map(|l| {
            let at = l.split("<add_twice+").nth(1).and_then(|s| s.split('>').next());
            at.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{out}"))
        })
        .collect();
    assert_eq!(frames.len(), 7, "{out}");
    for k in 0..3 {
        let here = format!("add_thrice () at tests/debugger.rs:{}", inner + k);
        assert!(frames[2 * k].starts_with("#0") && frames[2 * k].contains(&here), "{out}");
        let caller = format!("add_twice () at tests/debugger.rs:{call}");
        assert!(frames[2 * k + 1].starts_with("#1") && frames[2 * k + 1].contains(&caller), "{out}");
    }
    assert!(
        frames[6].starts_with("#0") && frames[6].contains(&format!("add_twice () at tests/debugger.rs:{}", call + 1)),
        "{out}"
    );
    let steps: Vec<u64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(steps, [ADD_BYTES; 3], "{out}");
}

/// A breakpoint on a JIT kernel's line (the line of Rust that built it) stops first in that
/// Rust, then, once the kernel is loaded and registered, in the kernel; after the kernel is
/// dropped gdb no longer knows its address.
#[test]
fn jit_kernel_lines() {
    let line = line_of(&format!("// gdb {ARCH}: jit"));
    let commands = [
        "set breakpoint pending on".to_string(),
        format!("break tests/debugger.rs:{line}"),
        "break debugger::jit_dropped".into(),
        "run".into(),
        "continue".into(),
        "info line *$pc".into(),
        "x/i $pc".into(),
        "bt".into(),
        "set $kernel = $pc".into(),
        "continue".into(),
        "info symbol $kernel".into(),
        "kill".into(),
    ];
    let Some(out) = gdb("gdb_target_jit", &commands) else { return };
    println!("{out}");
    assert!(out.contains(&format!("jit_add_twice () at tests/debugger.rs:{line}")), "{out}");
    assert!(out.contains(&format!("Line {line} of \"tests/debugger.rs\" starts at address")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("=> ") && l.contains("<jit_add_twice+") && l.contains("add")), "{out}");
    let trace: Vec<&str> =
        out.lines().skip_while(|l| !l.starts_with("#0")).take_while(|l| l.starts_with('#')).collect();
    assert!(trace[0].contains("jit_add_twice"), "{out}");
    // Every frame up to the test's is known (unwound, not guessed).
    let test = trace.iter().position(|l| l.contains("gdb_target_jit ("));
    let known = test.is_some_and(|t| trace[..t].iter().all(|l| !l.contains("?? (")));
    assert!(known, "the backtrace does not reach the caller:\n{out}");
    assert!(out.contains("debugger::jit_dropped"), "{out}");
    assert!(out.contains("No symbol matches $kernel."), "the kernel is still registered after its drop:\n{out}");
}

/// A breakpoint on a kernel's first line stops after the prologue (which saves the callee-saved
/// register and moves the stack pointer), at the line's own instruction.
#[test]
fn the_first_line_starts_after_the_prologue() {
    let line = line_of(&format!("// gdb {ARCH}: first"));
    let commands = [
        "set breakpoint pending on".to_string(),
        format!("break tests/debugger.rs:{line}"),
        "run".into(),
        "continue".into(),
        "x/i $pc".into(),
        "kill".into(),
    ];
    let Some(out) = gdb("gdb_target_jit", &commands) else { return };
    println!("{out}");
    assert!(out.contains(&format!("jit_add_twice () at tests/debugger.rs:{line}")), "{out}");
    let at = out.lines().find(|l| l.starts_with("=> ")).unwrap_or_else(|| panic!("{out}"));
    let own = if cfg!(target_arch = "x86_64") { "xor" } else { "x19, #0x0" };
    assert!(at.contains(own) && !at.contains("<jit_add_twice+0>"), "{out}");
}
