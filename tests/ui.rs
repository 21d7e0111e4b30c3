//! Compile-time behaviour of `peach_fn!`: every error class is a compile error at the right
//! token (`tests/ui/fail/*.rs` with their committed `.stderr`), and the supported subset
//! compiles and runs (`tests/ui/pass/*.rs`). Regenerate the expected output with
//! `TRYBUILD=overwrite cargo test --test ui`.
//!
//! Also static mode against JIT mode, generatively: random kernel bodies (loops, `if`/`match`,
//! custom instructions, constants, streams, arithmetic) are written to a program that builds
//! each body in both modes and checks that the bytes are identical and that both run to the
//! same result (`PEACH_RANDOM_KERNELS=n` sets how many; the seed is printed).
//!
//! On x86-64 hosts only: the expected diagnostics and the random kernels are x86 code.
#![cfg(target_arch = "x86_64")]

use std::fmt::Write as _;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
    let count = std::env::var("PEACH_RANDOM_KERNELS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("static_equals_jit.rs");
    std::fs::write(&path, random_kernels(0x5eed_cafe, count)).unwrap();
    t.pass(&path);
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// An `i64` expression of at most `depth` operators over small literals and the names in
/// `vars` (each an `i64`), whose value stays far inside an `i32`: every operand is below 64 in
/// magnitude, products have two factors.
fn int_expr(r: &mut Rng, depth: u32, vars: &[&str]) -> String {
    if depth == 0 || r.below(3) == 0 {
        return match r.below(4) {
            0 if !vars.is_empty() => vars[r.below(vars.len() as u64) as usize].to_string(),
            1 => format!("{}i64", r.below(64)),
            2 => format!("-{}i64", r.below(64)),
            _ => format!("{}", r.below(64)),
        };
    }
    let a = int_expr(r, depth - 1, vars);
    match r.below(7) {
        0 => format!("({a} + {})", int_expr(r, depth - 1, vars)),
        1 => format!("({a} - {})", int_expr(r, depth - 1, vars)),
        2 => format!("(({a}) % 64 * {})", r.below(64)),
        3 => format!("({a} / {})", 1 + r.below(9)),
        4 => format!("({a} % {})", 1 + r.below(9)),
        5 => format!("(({a}) & {})", r.below(256)),
        _ => format!("(({a}) >> {})", r.below(6)),
    }
}

/// A statement that changes `acc` (a 64-bit register) depending on the names in `vars`.
fn stmt(r: &mut Rng, depth: u32, vars: &mut Vec<String>, out: &mut String, indent: usize) {
    let pad = " ".repeat(indent);
    let names: Vec<&str> = vars.iter().map(String::as_str).collect();
    let e = int_expr(r, 2, &names);
    match if depth == 0 { r.below(4) } else { r.below(12) } {
        0 => writeln!(out, "{pad}ADD(acc, {e});").unwrap(),
        1 => writeln!(out, "{pad}SUB(acc, {e});").unwrap(),
        2 => writeln!(out, "{pad}XOR(acc, {e});").unwrap(),
        3 if r.below(2) == 0 => writeln!(out, "{pad}bump(acc, {e});").unwrap(),
        3 => {
            let base = r.below(50);
            writeln!(out, "{pad}{{\n{pad}    const BASE: i64 = {base};\n{pad}    bump(acc, {e});\n{pad}    ADD(acc, BASE);\n{pad}}}")
                .unwrap()
        }
        4 => {
            let n = r.below(4);
            let v = format!("i{}", vars.len());
            writeln!(out, "{pad}for {v} in 0..{n}i64 {{").unwrap();
            vars.push(v);
            block(r, depth - 1, vars, out, indent + 4);
            vars.pop();
            writeln!(out, "{pad}}}").unwrap();
        }
        5 => {
            writeln!(out, "{pad}if {e} > {} {{", int_expr(r, 1, &names)).unwrap();
            block(r, depth - 1, vars, out, indent + 4);
            writeln!(out, "{pad}}} else {{").unwrap();
            block(r, depth - 1, vars, out, indent + 4);
            writeln!(out, "{pad}}}").unwrap();
        }
        6 => {
            writeln!(out, "{pad}match ({e}) % 3 {{").unwrap();
            writeln!(out, "{pad}    0 => {{").unwrap();
            block(r, depth - 1, vars, out, indent + 8);
            // Sometimes with the value bound (`m @ (1 | 2)`).
            let m = format!("m{}", vars.len());
            let bound = r.below(2) == 0;
            let arm = if bound { format!("{m} @ (1 | 2)") } else { "1 | 2".into() };
            writeln!(out, "{pad}    }}\n{pad}    {arm} => {{").unwrap();
            if bound {
                writeln!(out, "{pad}        ADD(acc, {m} * 7);").unwrap();
                vars.push(m);
            }
            block(r, depth - 1, vars, out, indent + 8);
            if bound {
                vars.pop();
            }
            writeln!(out, "{pad}    }}\n{pad}    _ => {{}}\n{pad}}}").unwrap();
        }
        7 => {
            let v = format!("v{}", vars.len());
            writeln!(out, "{pad}let {v}: i64 = {e};").unwrap();
            vars.push(v);
            stmt(r, depth - 1, vars, out, indent);
        }
        8 => {
            let (a, b) = (r.below(1000), r.below(8) + 1);
            writeln!(out, "{pad}let c = XMM();").unwrap();
            writeln!(out, "{pad}MOVSD(c, Constant::f64(({a} as f64) / ({b} as f64) + 0.25));").unwrap();
            writeln!(out, "{pad}let t = GP64();\n{pad}CVTTSD2SI(t, c);\n{pad}ADD(acc, t);").unwrap();
        }
        9 => {
            // A loop over an array (of two or more: `[x]` is a memory operand) or a range,
            // through iterator adapters.
            let n = vars.len();
            let mut source = if r.below(2) == 0 {
                let items: Vec<String> = (0..2 + r.below(3)).map(|_| int_expr(r, 1, &names)).collect();
                writeln!(out, "{pad}let arr{n}: [i64; {}] = [{}];", items.len(), items.join(", ")).unwrap();
                format!("arr{n}.iter()")
            } else {
                format!("({}..{}i64)", r.below(3), r.below(6))
            };
            // (`rev` first: after the others Rust wants an exact size, which `Range<i64>` lacks.)
            if r.below(2) == 0 {
                source.push_str(".rev()");
            }
            for _ in 0..r.below(3) {
                match r.below(3) {
                    0 => write!(source, ".skip({})", r.below(3)).unwrap(),
                    1 => write!(source, ".take({})", r.below(4)).unwrap(),
                    _ => write!(source, ".step_by({})", 1 + r.below(3)).unwrap(),
                }
            }
            let by_ref = if source.starts_with("arr") { "&" } else { "" };
            let v = format!("v{n}");
            if r.below(2) == 0 {
                writeln!(out, "{pad}for (j{n}, {by_ref}{v}) in {source}.enumerate() {{").unwrap();
                writeln!(out, "{pad}    let i{n} = j{n} as i64;").unwrap();
                vars.push(format!("i{n}"));
            } else {
                writeln!(out, "{pad}for {by_ref}{v} in {source} {{").unwrap();
            }
            vars.push(v);
            block(r, depth - 1, vars, out, indent + 4);
            vars.truncate(n);
            writeln!(out, "{pad}}}").unwrap();
        }
        10 => {
            // `while`, `loop`, `continue` and `break`.
            let w = format!("w{}", vars.len());
            let (limit, skip, stop) = (r.below(5), r.below(4), r.below(6));
            writeln!(out, "{pad}let mut {w} = 0i64;").unwrap();
            let head = if r.below(2) == 0 { format!("while {w} < {limit}") } else { "loop".to_string() };
            writeln!(out, "{pad}{head} {{\n{pad}    {w} += 1;").unwrap();
            writeln!(out, "{pad}    if {w} == {skip} {{\n{pad}        continue;\n{pad}    }}").unwrap();
            vars.push(w.clone());
            block(r, depth - 1, vars, out, indent + 4);
            vars.pop();
            writeln!(out, "{pad}    if {w} >= {stop} {{\n{pad}        break;\n{pad}    }}\n{pad}}}").unwrap();
        }
        _ => {
            writeln!(out, "{pad}let s = STREAM({{").unwrap();
            for _ in 0..1 + r.below(3) {
                stmt(r, 0, vars, out, indent + 4);
            }
            writeln!(out, "{pad}}});\n{pad}ISSUE(s, 1);\n{pad}ADD(acc, 1);\n{pad}ISSUE_ALL(s);").unwrap();
        }
    }
}

/// A statement in a block of its own: its names end with the block.
fn block(r: &mut Rng, depth: u32, vars: &mut Vec<String>, out: &mut String, indent: usize) {
    let scope = vars.len();
    stmt(r, depth, vars, out, indent);
    vars.truncate(scope);
}

/// A program with `count` random kernels, each in static and JIT mode, that checks both give
/// the same bytes and the same result.
fn random_kernels(seed: u64, count: usize) -> String {
    let mut r = Rng(seed);
    let mut src = format!(
        "// Generated by tests/ui.rs (seed {seed:#x}): static mode against JIT mode.\n\
         #![allow(unused_parens, unused_variables)]\nuse peach::prelude::*;\n\n"
    );
    let mut checks = String::new();
    for k in 0..count {
        let mut body = String::new();
        // `bump` sees the body's `BASE`, also where a block that calls it has its own.
        writeln!(body, "        const BASE: i64 = {};", r.below(50)).unwrap();
        writeln!(body, "        fn bump(r: Reg, n: i64) {{ ADD(r, n + BASE); }}").unwrap();
        writeln!(body, "        let acc = GP64();\n        MOV(acc, x);").unwrap();
        let mut vars = Vec::new();
        for _ in 0..1 + r.below(4) {
            stmt(&mut r, 2, &mut vars, &mut body, 8);
        }
        writeln!(body, "        RETURN(acc);").unwrap();
        for (name, jit) in [(format!("k{k}_static"), ""), (format!("k{k}_jit"), "#[jit] ")] {
            writeln!(src, "peach_fn! {{\n    #[target(x86_64::baseline)] {jit}\n    fn {name}(x: u64) -> u64 {{\n{body}    }}\n}}\n")
                .unwrap();
        }
        writeln!(
            checks,
            "    let j = k{k}_jit().unwrap();\n    assert_eq!(K{k}_STATIC_CODE, j.bytes(), \"kernel {k}\");\n    \
             assert_eq!(k{k}_static(1000), j.call(1000), \"kernel {k}\");"
        )
        .unwrap();
    }
    write!(src, "fn main() {{\n{checks}}}\n").unwrap();
    src
}
