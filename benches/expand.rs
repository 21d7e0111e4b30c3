//! What a static kernel adds to a crate's build time: a crate holding one `peach_fn!` kernel of
//! 1,000 written instructions is built with cargo against this workspace, and so is the same
//! crate with an empty kernel; the difference (the minimum of several builds of each) is the
//! cost of checking, assembling and emitting those instructions.
//!
//! Prints `bench expand_1k <milliseconds> ms`. Run with `cargo bench --bench expand`; the first
//! run also builds peach and its dependencies for the probe crate, in `target/expand-probe`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A kernel of `n` instructions on eight ymm registers, each line written out.
fn kernel(n: usize) -> String {
    let mut body = String::new();
    let ops = ["VADDPS", "VMULPS", "VFMADD231PS", "VXORPS"];
    for i in 0..n {
        let (d, a, b) = (i % 8, (i + 3) % 8, (i + 5) % 8);
        body.push_str(&format!("        {}(v[{d}], v[{a}], v[{b}]);\n", ops[i % ops.len()]));
    }
    format!(
        "use peach::prelude::*;\n\
         peach_fn! {{\n\
         \x20   #[target(x86_64::haswell)]\n\
         \x20   pub unsafe fn probe(out: *mut f32) {{\n\
         \x20       let v = [YMM(); 8];\n\
         \x20       for r in v {{ VXORPS(r, r, r); }}\n\
         {body}\
         \x20       for i in 1..8 {{ VADDPS(v[0], v[0], v[i]); }}\n\
         \x20       VMOVUPS([out], v[0]);\n\
         \x20       RETURN();\n\
         \x20   }}\n\
         }}\n"
    )
}

/// Builds the probe crate with `source` as its library; the wall time of the build.
fn build(dir: &Path, target: &Path, source: &str) -> f64 {
    std::fs::write(dir.join("src/lib.rs"), source).unwrap();
    let t = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--lib"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the probe crate does not build");
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped: the probe kernel is x86-64 code");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/expand-probe");
    let dir = target.join("crate");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"expand-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
         [dependencies]\npeach = {{ path = {:?} }}\n\n[workspace]\n",
        root.display().to_string()
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    let empty = kernel(0);
    let full = kernel(1000);
    build(&dir, &target, &empty); // dependencies, once
    let (mut base, mut with) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        base = base.min(build(&dir, &target, &empty));
        with = with.min(build(&dir, &target, &full));
    }
    println!("bench expand_empty_build {base:.0} ms");
    println!("bench expand_1k {:.0} ms", with - base);
}
