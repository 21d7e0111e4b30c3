//! One generator, code per ISA: the seed paper's Listing 5 dot product uses FMA4, FMA3 or plain
//! AVX depending on what the target has. It is built for Bulldozer (FMA4), Haswell (FMA3) and
//! Sandy Bridge (AVX); the builds this CPU can run are run and checked against plain Rust, and the
//! FMA4 build (no current CPU runs it) has its encoding checked against llvm-mc.
//!
//! Run with `cargo run --example isa_specific`.

use peach::prelude::*;

/// `f32 dot(const f32* x, const f32* y, usize n)`, `n` a positive multiple of 16.
fn dot(target: Target) -> Result<CodeObject, Error> {
    let sig = Signature::new(&[Type::Ptr, Type::Ptr, Type::Usize], Some(Type::F32));
    let mut f = Function::new("dot", sig, target.clone());
    let (x, y, n) = (f.param(0), f.param(1), f.param(2));
    let acc = [f.ymm(), f.ymm()];
    for a in acc {
        f.ins("vxorps", (a, a, a));
    }
    f.loop_block(|f, l| {
        for (i, &a) in acc.iter().enumerate() {
            let t = f.ymm();
            f.ins("vmovups", (t, [x + 32 * i]));
            if target.has_fma4() {
                f.ins("vfmaddps", (a, t, [y + 32 * i], a));
            } else if target.has_fma3() {
                f.ins("vfmadd231ps", (a, t, [y + 32 * i]));
            } else {
                f.ins("vmulps", (t, t, [y + 32 * i]));
                f.ins("vaddps", (a, a, t));
            }
        }
        f.ins("add", (x, 64));
        f.ins("add", (y, 64));
        f.ins("sub", (n, 16));
        f.ins("jnz", l.begin);
    });
    f.ins("vaddps", (acc[0], acc[0], acc[1]));
    f.reduce_sum(&acc[..1], Elem::F32);
    f.ret(acc[0]);
    f.compile(Abi::host())
}

/// Assembles the listing's Intel text with llvm-mc and compares the bytes, instruction by
/// instruction. `None` when llvm-mc is not installed.
fn agrees_with_llvm_mc(code: &CodeObject) -> Option<bool> {
    let mut text = String::from(".intel_syntax noprefix\n");
    let lines = code.lines();
    for (k, l) in lines.iter().enumerate() {
        let asm = if l.intel.starts_with('j') { "nop".to_string() } else { l.intel.clone() };
        text.push_str(&format!("L{k}:\n{asm}\n"));
    }
    let path = std::env::temp_dir().join(format!("peach-isa-specific-{}.s", std::process::id()));
    std::fs::write(&path, text).ok()?;
    let out =
        std::process::Command::new("llvm-mc").args(["-triple=x86_64", "-show-encoding"]).arg(&path).output().ok()?;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut theirs: Vec<Vec<u8>> = vec![Vec::new(); lines.len()];
    let mut current = 0;
    for l in stdout.lines() {
        if let Some(k) = l.strip_prefix('L').and_then(|r| r.strip_suffix(':')).and_then(|n| n.parse().ok()) {
            current = k;
        } else if let Some(enc) = l.split("encoding: [").nth(1) {
            let bytes = enc
                .trim_end_matches(']')
                .split(',')
                .filter_map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).ok());
            theirs[current].extend(bytes);
        }
    }
    Some(
        lines
            .iter()
            .zip(&theirs)
            .all(|(l, t)| l.intel.starts_with('j') || &code.bytes()[l.offset..l.offset + l.len] == t.as_slice()),
    )
}

pub fn main() {
    let host = Target::native_x86_64();
    for name in ["bulldozer", "haswell", "sandybridge"] {
        let target = Target::x86_64(name).unwrap();
        let code = dot(target.clone()).unwrap_or_else(|e| panic!("{e}"));
        println!("{name}: uses {:?}", code.extension_names());
        println!("{}", code.listing());
        if name == "bulldozer" {
            assert!(code.extension_names().contains(&"FMA4"));
            match agrees_with_llvm_mc(&code) {
                Some(ok) => {
                    assert!(ok, "the FMA4 build's encoding differs from llvm-mc's");
                    println!("bulldozer: encoding checked against llvm-mc\n");
                }
                None => println!("bulldozer: llvm-mc not found, encoding not checked\n"),
            }
        }
        if !code.extensions().is_subset(host.extensions()) {
            println!("{name}: this CPU lacks some of its extensions, not run\n");
            continue;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let x: Vec<f32> = (0..256).map(|i| (i % 7) as f32 - 3.0).collect();
            let y: Vec<f32> = (0..256).map(|i| (i % 5) as f32 * 0.5).collect();
            let want: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
            type Dot = unsafe extern "C" fn(*const f32, *const f32, usize) -> f32;
            let k = unsafe { Kernel::<Dot>::load(&code).unwrap() };
            let got = unsafe { k.call(x.as_ptr(), y.as_ptr(), x.len()) };
            assert_eq!(got, want, "{name}");
            println!("{name}: dot = {got}, Rust says {want}\n");
        }
    }
}
