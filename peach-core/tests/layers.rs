//! peach-core's modules depend one way: a module names only modules of its own layer or below.
//!
//! | layer | modules | what |
//! | --- | --- | --- |
//! | 0 | `error`, `fx` | errors, hashing |
//! | 1 | `target` | architectures and extension sets |
//! | 2 | `ir` | operands, instructions, the recorded function, the lowered body |
//! | 3 | `abi` | calling conventions, frames |
//! | 4 | `emit` | code objects |
//! | 5 | `isa` | the backends: forms, selection, encoding; the per-ISA builder vocabulary |
//! | 6 | `pass` | the pipeline |
//! | 7 | `builder`, `random` | checked recording and compiling; random programs |
//!
//! The test reads every source file and fails on a `crate::` path that reaches up.

use std::path::Path;

/// The layer of a top-level module (or of a name the crate root re-exports).
fn layer(name: &str) -> Option<usize> {
    Some(match name {
        "error" | "fx" | "Src" | "Error" | "ErrorKind" | "Result" => 0,
        "target" | "Target" => 1,
        "ir" | "Function" => 2,
        "abi" | "Abi" => 3,
        "emit" | "CodeObject" => 4,
        "isa" => 5,
        "pass" => 6,
        "builder" | "random" | "prelude" => 7,
        _ => return None,
    })
}

/// The `crate::` paths in `source`, comments left out: the first segment of each, with the
/// heads of a `crate::{a, b::c}` group.
fn crate_paths(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    names.push(item.trim().split("::").next().unwrap_or("").to_string());
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                names.push(name);
            }
        }
    }
    names
}

fn visit(dir: &Path, module: Option<&str>, found: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let top = module.map_or(stem.clone(), str::to_string);
        if path.is_dir() {
            visit(&path, Some(&top), found);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || (module.is_none() && stem == "lib") {
            continue;
        }
        // Unit tests may reach anything.
        if stem == "tests" {
            continue;
        }
        let Some(own) = layer(&top) else {
            found.push(format!("{}: module `{top}` has no layer in tests/layers.rs", path.display()));
            continue;
        };
        let source = std::fs::read_to_string(&path).unwrap();
        for name in crate_paths(&source) {
            match layer(&name) {
                Some(l) if l > own => {
                    found.push(format!("{}: `{top}` (layer {own}) names `crate::{name}` (layer {l})", path.display()))
                }
                Some(_) => {}
                None => found.push(format!("{}: `crate::{name}` has no layer in tests/layers.rs", path.display())),
            }
        }
    }
}

#[test]
fn modules_depend_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    visit(&src, None, &mut found);
    assert!(found.is_empty(), "dependencies that reach up:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_paths_and_groups() {
    let names = crate_paths("use crate::pass::Body; // crate::isa\nuse crate::{ir::Reg, target};\n");
    assert_eq!(names, ["pass", "ir", "target"]);
}
