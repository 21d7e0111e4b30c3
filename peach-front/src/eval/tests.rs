//! Static mode is Rust: thousands of random constant expressions (suffixes, casts between every
//! number type, shifts, division, bit operations, float arithmetic, methods, associated
//! constants) are evaluated by the interpreter and by rustc, as `const` items (where overflow is
//! a compile error), and compared value for value. rustc is the independent oracle: the test
//! writes a Rust program, compiles it (again and again, removing the constants rustc rejects),
//! runs it and reads the values back.

use std::fmt::Write as _;
use std::process::Command;

use peach_core::Target;
use peach_core::ir::{Function, Signature};

use super::num::{BEYOND, FloatTy, SUFFIX_HINT, Ty};
use super::{Ctl, Eval, Value};

/// `const C: ty = expr;` evaluated by the interpreter: the value as the Rust program below prints
/// it (integers in decimal, floats as their bits), or the error.
fn eval_const(ty: &str, expr: &str) -> Result<String, String> {
    let e: syn::Expr = syn::parse_str(expr).map_err(|e| format!("parse: {e}"))?;
    let t: syn::Type = syn::parse_str(ty).map_err(|e| format!("parse: {e}"))?;
    let mut ev = Eval::new(Function::new("t", Signature::new(&[], None), Target::x86_64_baseline()));
    let span = proc_macro2::Span::call_site();
    let v = ev.expr(&e).and_then(|v| ev.coerce(v, &t, span));
    let v = match v {
        Ok(v) => v,
        Err(Ctl::Error(e)) => return Err(e.to_string()),
        Err(_) => return Err("control flow".into()),
    };
    ev.types.settle_all().map_err(|e| e.to_string())?;
    match v {
        Value::Int(i) => Ok(i.v.to_string()),
        Value::Float(f) => match f.ty {
            Ty::Known(FloatTy::F32) => Ok((f.s).to_bits().to_string()),
            _ => Ok(f.d.to_bits().to_string()),
        },
        _ => Err("not a number".into()),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const INTS: [&str; 12] = ["i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize"];
const FLOATS: [&str; 2] = ["f32", "f64"];
const INT_VALUES: [&str; 24] = [
    "0",
    "1",
    "2",
    "3",
    "7",
    "8",
    "31",
    "32",
    "63",
    "100",
    "127",
    "128",
    "255",
    "256",
    "1000",
    "32767",
    "65535",
    "65536",
    "0x7fff_ffff",
    "2147483648",
    "0xffff_ffff",
    "4294967296",
    "9223372036854775807",
    "0xffff_ffff_ffff_ffff",
];
const FLOAT_VALUES: [&str; 14] = [
    "0.0",
    "0.1",
    "0.5",
    "1.5",
    "3.0",
    "2.5e-300",
    "1e10",
    "1e38",
    "1e39",
    "3.4028235e38",
    "1e-45",
    "16777217.0",
    "0.3",
    "7.0",
];

/// A random expression of integer kind (its type from `theme`, mostly) or float kind.
fn expr(r: &mut Rng, depth: u32, float: bool, theme: &str) -> String {
    let suffix = |r: &mut Rng, all: &[&str]| match r.below(20) {
        0..=9 => String::new(),
        10..=16 => theme.to_string(),
        _ => r.pick(all).to_string(),
    };
    if depth == 0 || r.below(4) == 0 {
        return if float {
            match r.below(12) {
                0 => format!("{}::{}", theme, r.pick(&["MAX", "MIN", "EPSILON", "MIN_POSITIVE"])),
                1 => format!("std::{theme}::consts::{}", r.pick(&["PI", "E", "LN_2", "SQRT_2"])),
                2 => format!("-{}{}", r.pick(&FLOAT_VALUES), suffix(r, &FLOATS)),
                _ => format!("{}{}", r.pick(&FLOAT_VALUES), suffix(r, &FLOATS)),
            }
        } else {
            match r.below(12) {
                0 => format!("{}::{}", theme, r.pick(&["MAX", "MIN", "BITS"])),
                1 => format!("-{}{}", r.pick(&INT_VALUES), suffix(r, &INTS)),
                _ => format!("{}{}", r.pick(&INT_VALUES), suffix(r, &INTS)),
            }
        };
    }
    let d = depth - 1;
    if float {
        let a = expr(r, d, true, theme);
        return match r.below(10) {
            0 => format!("-{a}"),
            1 => {
                let t = r.pick(&INTS);
                format!("({} as {theme})", expr(r, d, false, t))
            }
            2 => {
                let t = r.pick(&FLOATS);
                format!("({} as {theme})", expr(r, d, true, t))
            }
            3 => format!("({a}).{}()", r.pick(&["abs", "sqrt", "floor", "ceil", "trunc", "round"])),
            6 => format!("({a}).powi({})", r.below(9) as i32 - 4),
            7 => format!("({a}).mul_add({}, {})", expr(r, d, true, theme), expr(r, d, true, theme)),
            4 => format!("({a}).{}({})", r.pick(&["min", "max"]), expr(r, d, true, theme)),
            5 => format!("{theme}::from_bits({})", expr(r, d, false, if theme == "f32" { "u32" } else { "u64" })),
            _ => format!("({a} {} {})", r.pick(&["+", "-", "*", "/", "%"]), expr(r, d, true, theme)),
        };
    }
    if r.below(10) == 0 {
        // Names share their type with every use, in later statements too.
        let (a, b) = (expr(r, d, false, theme), expr(r, d, false, theme));
        let op = r.pick(&["+", "-", "*", "&", "<<", "/"]);
        return match r.below(3) {
            0 => format!("{{ let v = {a}; let w = (v {op} {b}); (w - v) }}"),
            1 => format!("{{ let v = {a}; let w: {} = {b}; (v {op} w) }}", r.pick(&INTS)),
            _ => format!("{{ let v = {a}; (v).pow(2) }}"),
        };
    }
    let a = expr(r, d, false, theme);
    match r.below(16) {
        0 => format!("-{a}"),
        1 => format!("!{a}"),
        2 | 3 => {
            let float = r.below(3) == 0;
            let t = if float { r.pick(&FLOATS) } else { r.pick(&INTS) };
            format!("({} as {theme})", expr(r, d, float, t))
        }
        4 => format!("({a} {} {}{})", r.pick(&["<<", ">>"]), r.below(70), suffix(r, &INTS)),
        5 => format!("({a}).pow({})", r.below(12)),
        6 => format!("({a}).{}({})", r.pick(&["min", "max", "wrapping_add", "wrapping_mul"]), expr(r, d, false, theme)),
        7 => format!("({a}).{}()", r.pick(&["count_ones", "leading_zeros", "trailing_zeros", "abs"])),
        8 => {
            let t = r.pick(&FLOATS);
            format!("({}).to_bits()", expr(r, d, true, t))
        }
        _ => {
            let op = r.pick(&["+", "-", "*", "/", "%", "&", "|", "^"]);
            format!("({a} {op} {})", expr(r, d, false, theme))
        }
    }
}

/// Runs rustc on `consts` (a type and an expression each, evaluated as `let c: T = e;` with
/// overflow checks, as JIT mode runs them): the value of each one rustc accepts, `None` for those
/// it rejects at compile time or that panic.
fn rustc_values(dir: &std::path::Path, consts: &[(String, String)]) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; consts.len()];
    let mut live: Vec<usize> = (0..consts.len()).collect();
    for _round in 0..8 {
        // One function per constant, on line HEADER + 1 + its place; main calls each, catching
        // the panics of overflow checks.
        const HEADER: usize = 1;
        let mut src = String::from("#![allow(unused_parens, dead_code, unused_imports)]\n");
        for &i in &live {
            let (ty, e) = &consts[i];
            let print = if FLOATS.contains(&ty.as_str()) { "c.to_bits()" } else { "c" };
            writeln!(src, "fn c{i}() {{ let c: {ty} = {e}; println!(\"{i} {{}}\", {print}); }}").unwrap();
        }
        src.push_str("fn main() {\n    std::panic::set_hook(Box::new(|_| {}));\n");
        for &i in &live {
            writeln!(src, "    if std::panic::catch_unwind(c{i}).is_err() {{ println!(\"{i} panic\"); }}").unwrap();
        }
        src.push_str("}\n");
        let file = dir.join("consts.rs");
        std::fs::write(&file, &src).unwrap();
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        let o = Command::new(rustc)
            .current_dir(dir)
            .args(["--edition", "2024", "--error-format=json", "-C", "overflow-checks=on", "-o"])
            .arg(dir.join("consts"))
            .arg("consts.rs")
            .output()
            .expect("rustc runs");
        if o.status.success() {
            let run = Command::new(dir.join("consts")).output().expect("the program runs");
            for line in String::from_utf8_lossy(&run.stdout).lines() {
                let (i, v) = line.split_once(' ').unwrap();
                out[i.parse::<usize>().unwrap()] = (v != "panic").then(|| v.to_string());
            }
            return out;
        }
        // Every error's primary lines name constants rustc rejects.
        let mut bad = std::collections::BTreeSet::new();
        let stderr = String::from_utf8_lossy(&o.stderr);
        for diag in stderr.lines().filter(|l| l.starts_with("{\"$message_type\":\"diagnostic\"")) {
            if !diag.contains("\"level\":\"error\"") {
                continue;
            }
            // Spans in this file only: notes point into the standard library too.
            for span in diag.split("{\"file_name\":\"").skip(1) {
                let field = |name: &str| span.find(name).map(|at| &span[at + name.len()..]);
                let (Some(line), Some(primary)) = (field("\"line_start\":"), field("\"is_primary\":")) else {
                    continue;
                };
                let n: usize = line[..line.find(',').unwrap()].parse().unwrap();
                if span.starts_with("consts.rs\"")
                    && primary.starts_with("true")
                    && n > HEADER
                    && n <= HEADER + live.len()
                {
                    bad.insert(n - HEADER - 1);
                }
            }
        }
        assert!(!bad.is_empty(), "rustc failed without naming a constant:\n{stderr}");
        live = live.into_iter().enumerate().filter(|(k, _)| !bad.contains(k)).map(|(_, i)| i).collect();
    }
    panic!("rustc kept rejecting constants after 8 rounds");
}

#[test]
fn static_arithmetic_is_rusts() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let count = 4000;
    let mut consts = Vec::with_capacity(count);
    for _ in 0..count {
        let float = r.below(3) == 0;
        let theme = if float { r.pick(&FLOATS) } else { r.pick(&INTS) };
        let all: &[&str] = if r.below(2) == 0 { &FLOATS } else { &INTS };
        let ty = if r.below(8) == 0 { r.pick(all) } else { theme };
        let depth = 1 + r.below(4) as u32;
        consts.push((ty.to_string(), expr(&mut r, depth, float, theme)));
    }
    let dir = std::env::temp_dir().join(format!("peach-static-arith-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let expected = rustc_values(&dir, &consts);
    let _ = std::fs::remove_dir_all(&dir);
    let (mut agree, mut both_reject, mut stricter) = (0, 0, Vec::new());
    let mut wrong = Vec::new();
    for (i, ((ty, e), want)) in consts.iter().zip(&expected).enumerate() {
        let got = eval_const(ty, e);
        match (want, &got) {
            (Some(w), Ok(g)) if w == g => agree += 1,
            (None, Err(_)) => both_reject += 1,
            (Some(_), Err(msg)) if msg.contains(SUFFIX_HINT) || msg.contains(BEYOND) => {
                stricter.push(format!("const C: {ty} = {e}; // {msg}"))
            }
            _ => wrong.push(format!("#{i} const C: {ty} = {e};\n    rustc: {want:?}\n    static: {got:?}")),
        }
    }
    println!(
        "{count} constant expressions: {agree} equal values, {both_reject} rejected by both, {} refused by static mode with a request for a suffix, {} different",
        stricter.len(),
        wrong.len()
    );
    for s in stricter.iter().take(5) {
        println!("  refused: {s}");
    }
    assert!(wrong.is_empty(), "static mode differs from rustc:\n{}", wrong.join("\n"));
    // Most expressions must be accepted by both, or the comparison proves little.
    assert!(agree > count / 3, "only {agree} of {count} expressions were accepted by both");
    assert!(stricter.len() < count / 20, "static mode asks for a suffix too often: {}", stricter.len());
}

/// The interpreter on random token soup: a few thousand random bodies built from the DSL's
/// vocabulary (balanced, so that many parse) are evaluated and compiled; whatever they are,
/// nothing panics (errors are values). The cargo-fuzz targets in `fuzz/` cover the builder and
/// the encoders the same way.
#[test]
fn random_bodies_never_panic() {
    const WORDS: &[&str] = &[
        "let",
        "x",
        "y",
        "r",
        "v",
        "=",
        ";",
        "+",
        "-",
        "*",
        "/",
        "%",
        "<<",
        ">>",
        "&",
        "|",
        "^",
        "!",
        "as",
        "u8",
        "i32",
        "u64",
        "f32",
        "f64",
        "usize",
        "0",
        "1",
        "255",
        "-1",
        "1.5",
        "2u8",
        "7i64",
        "0x100",
        "1e40",
        ",",
        ".",
        "xmm",
        "r32",
        "len",
        "pow",
        "sqrt",
        "to_bits",
        "GP64()",
        "XMM()",
        "YMM()",
        "K()",
        "ADD",
        "MOV",
        "VADDPS",
        "VPSHUFD",
        "RETURN",
        "LABEL",
        "JNZ",
        "Label::new()",
        "Constant::f64",
        "Constant::u8x16_splat",
        "u32::MAX",
        "f64::EPSILON",
        "std::f64::consts::PI",
        "for",
        "in",
        "0..3",
        "if",
        "else",
        "match",
        "=>",
        "_",
        "true",
        "false",
        "==",
        "<",
        "fn",
        "f",
        "target.has_avx2()",
        "STREAM",
        "ISSUE_ALL",
        "RAX",
        "XMM17",
    ];
    let mut r = Rng(0x0bad_5eed_1234_5678);
    let (mut parsed, mut built) = (0, 0);
    for _ in 0..12000 {
        // Statements of random shape around random expressions, with a random token spliced in
        // now and then: most parse, and the rest of the vocabulary meets every construct.
        fn soup(r: &mut Rng, depth: u32) -> String {
            const ATOMS: &[&str] = &[
                "x",
                "y",
                "0",
                "1",
                "255",
                "2u8",
                "7i64",
                "0x100",
                "1.5",
                "1e40",
                "u32::MAX",
                "f64::EPSILON",
                "GP64()",
                "XMM()",
                "YMM()",
                "K()",
                "RAX",
                "XMM17",
                "Label::new()",
                "true",
                "target.has_avx2()",
                "std::f64::consts::PI",
                "x.xmm()",
                "x.r32()",
                "[x + 8]",
                "[x]",
                "(1u64 << 63)",
                "-1",
            ];
            const OPS: &[&str] = &["+", "-", "*", "/", "%", "<<", ">>", "&", "|", "^", "==", "<"];
            let mut t = if depth == 0 || r.below(3) == 0 {
                r.pick(ATOMS).to_string()
            } else {
                match r.below(5) {
                    0 => format!("({} {} {})", soup(r, depth - 1), r.pick(OPS), soup(r, depth - 1)),
                    1 => {
                        format!("({} as {})", soup(r, depth - 1), r.pick(&["u8", "i32", "u64", "f32", "f64", "usize"]))
                    }
                    2 => format!("({}).{}()", soup(r, depth - 1), r.pick(&["sqrt", "to_bits", "len", "xmm", "abs"])),
                    3 => format!("[{}, {}]", soup(r, depth - 1), soup(r, depth - 1)),
                    _ => format!("Constant::{}({})", r.pick(&["f64", "u8x16_splat", "f32x8"]), soup(r, depth - 1)),
                }
            };
            if r.below(10) == 0 {
                t.push(' ');
                t.push_str(r.pick(WORDS));
            }
            t
        }
        let mut text = String::new();
        for _ in 0..1 + r.below(6) {
            let (a, b) = (soup(&mut r, 3), soup(&mut r, 3));
            let piece = match r.below(6) {
                0 => format!("let {} = {a};", r.pick(&["x", "y", "r", "v"])),
                1 => format!("{}({a}, {b});", r.pick(&["ADD", "MOV", "VADDPS", "VPSHUFD", "RETURN", "f"])),
                2 => format!("for i in 0..{} {{ {a}; }}", r.below(4)),
                3 => format!("if {a} {{ {b}; }} else {{ {a}; }}"),
                4 => format!("{a} {b};"),
                _ => format!("{a};"),
            };
            text.push_str(&piece);
            text.push(' ');
        }
        let Ok(block) = syn::parse_str::<syn::Block>(&format!("{{ {text} }}")) else { continue };
        parsed += 1;
        let outcome = std::panic::catch_unwind(|| {
            let mut ev = Eval::new(Function::new("soup", Signature::new(&[], None), Target::x86_64_v3()));
            let ok = ev.block_stmts(&block.stmts).is_ok() && ev.types.settle_all().is_ok();
            ev.f.ret_at(None, peach_core::Src::Token(0));
            ok && ev.f.compile(peach_core::Abi::SysV).is_ok()
        });
        match outcome {
            Ok(ok) => built += ok as usize,
            Err(_) => panic!("the interpreter panicked on: {text}"),
        }
    }
    println!("{parsed} random bodies parsed, {built} built; none panicked");
    assert!(parsed > 1500, "too few random bodies parse: {parsed}");
}

/// Bodies that never end, or that would take the compiler down, fail quickly with an error at
/// their place: runaway loops (the step limit), a huge skew, deep recursion of custom
/// instructions, ranges at the ends of `i128`.
#[test]
fn pathological_bodies_fail_fast() {
    let cases = [
        "loop {}",
        "let r = GP64(); loop { ADD(r, 1); }",
        "let mut i = 0; while true { i += 1; }",
        "let a = STREAM({ let r = GP64(); MOV(r, 1); }); let b = STREAM({ let r = GP64(); MOV(r, 2); }); ISSUE_SKEWED([a, b], 1u64 << 40);",
        "fn f(n: u32) { f(n + 1); } f(0);",
        "for i in 0..=i128::MAX {}",
        "for i in i128::MIN..i128::MIN {}",
        "let x = -(i128::MIN);",
    ];
    for body in cases {
        let text = format!("{{ {body} }}");
        let start = std::time::Instant::now();
        // A thread with the stack rustc gives proc macros (8 MiB), to see recursion fail cleanly.
        let outcome = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || {
                let block: syn::Block = syn::parse_str(&text).unwrap();
                let mut ev = Eval::new(Function::new("p", Signature::new(&[], None), Target::x86_64_v3()));
                match ev.block_stmts(&block.stmts) {
                    Err(Ctl::Error(e)) => Err(e.to_string()),
                    _ => Ok(()),
                }
            })
            .unwrap()
            .join();
        let took = start.elapsed();
        let outcome = outcome.unwrap_or_else(|_| panic!("the interpreter panicked on `{body}`"));
        // An empty range and a skew that just issues the streams one after the other are fine.
        let valid = body.contains("i128::MIN..i128::MIN") || body.contains("ISSUE_SKEWED");
        assert!(outcome.is_err() != valid, "`{body}`: {outcome:?}");
        // (A guard against hanging, not a speed figure: recording the 200,000 instructions of
        // the limit takes 3-5 s in an unoptimized test build on a Zen 4 core.)
        assert!(took < std::time::Duration::from_secs(15), "`{body}` took {took:?}");
        println!("{took:>10.2?}  {body}: {}", outcome.err().unwrap_or_default());
    }
}
