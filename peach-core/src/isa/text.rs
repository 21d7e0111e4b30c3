//! What every ISA's assembly-text front end shares: the tokens of a line, a cursor over them that
//! binds `{}` / `{n}` placeholders to the builder's operands, and errors that show the line with a
//! caret under the column. The grammars are the ISAs' (`isa/<arch>/text.rs`).

use crate::error::{Error, ErrorKind, Result};
use crate::ir::Operand;

/// One token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Tok<'a> {
    /// A name: letters, digits, `_` and `.` (`vaddps`, `v0.4s`, `b.ne`, `r12`).
    Word(&'a str),
    /// An unsigned integer: decimal, `0x` hexadecimal or `h`-suffixed hexadecimal.
    Number(u64),
    /// A number with a fraction or an exponent (`1.0`, `-0.125` is `-` then `0.125`, `2.5e-1`).
    Float(f64),
    /// One of `[ ] + - * , : # !`.
    Punct(char),
    /// The text between `{` and `}`, trimmed.
    Brace(&'a str),
    /// The end of the line.
    End,
}

/// A token and its byte range in the line.
pub(crate) type Spanned<'a> = (Tok<'a>, usize, usize);

/// A parse error: message and byte range.
pub(crate) type Fail = (String, usize, usize);

fn lex(line: &str) -> std::result::Result<Vec<Spanned<'_>>, Fail> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'{' {
            let Some(close) = line[i..].find('}') else {
                return Err(("`{` without a closing `}`".into(), i, line.len()));
            };
            out.push((Tok::Brace(line[i + 1..i + close].trim()), start, i + close + 1));
            i += close + 1;
        } else if c.is_ascii_digit() {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'.'
                    || (matches!(bytes[i], b'+' | b'-')
                        && matches!(bytes[i - 1], b'e' | b'E')
                        && !line[start..i].starts_with("0x")))
            {
                i += 1;
            }
            let text = &line[start..i];
            let tok = match number(text) {
                Some(n) => Tok::Number(n),
                None => match text.parse::<f64>() {
                    Ok(f) if text.contains(['.', 'e', 'E']) && f.is_finite() => Tok::Float(f),
                    _ => return Err((format!("`{text}` is not a number"), start, i)),
                },
            };
            out.push((tok, start, i));
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'.' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
                i += 1;
            }
            out.push((Tok::Word(&line[start..i]), start, i));
        } else if b"[]+-*,:#!()".contains(&c) {
            out.push((Tok::Punct(c as char), start, i + 1));
            i += 1;
        } else {
            let ch = line[i..].chars().next().unwrap_or('?');
            return Err((format!("unexpected `{ch}`"), i, i + ch.len_utf8()));
        }
    }
    out.push((Tok::End, line.len(), line.len()));
    Ok(out)
}

/// `123`, `0x7f`, `0FFh`.
pub(crate) fn number(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(hex) = text.strip_suffix('h').or_else(|| text.strip_suffix('H')) {
        u64::from_str_radix(hex, 16).ok()
    } else {
        text.parse().ok()
    }
}

/// The tokens of a line, read front to back, and the operands its placeholders stand for.
pub(crate) struct Cursor<'l, 'a> {
    pub line: &'l str,
    toks: Vec<Spanned<'l>>,
    at: usize,
    args: &'a [Operand],
    next_arg: usize,
    used: Vec<bool>,
}

impl<'l, 'a> Cursor<'l, 'a> {
    pub fn new(line: &'l str, args: &'a [Operand]) -> std::result::Result<Self, Fail> {
        Ok(Cursor { line, toks: lex(line)?, at: 0, args, next_arg: 0, used: vec![false; args.len()] })
    }

    pub fn peek(&self) -> Spanned<'l> {
        self.toks[self.at.min(self.toks.len() - 1)]
    }

    /// The token after the next one.
    pub fn peek2(&self) -> Spanned<'l> {
        self.toks[(self.at + 1).min(self.toks.len() - 1)]
    }

    pub fn bump(&mut self) -> Spanned<'l> {
        let t = self.peek();
        self.at += 1;
        t
    }

    pub fn fail<T>(msg: impl Into<String>, (_, s, e): Spanned) -> std::result::Result<T, Fail> {
        Err((msg.into(), s, e))
    }

    /// Whether `inner` (the text of a brace) is a placeholder: `{}` or `{n}`.
    pub fn is_placeholder(inner: &str) -> bool {
        inner.is_empty() || inner.bytes().all(|b| b.is_ascii_digit())
    }

    /// The operand a placeholder (`{}` or `{n}`) stands for.
    pub fn arg(&mut self, inner: &str, t: Spanned) -> std::result::Result<Operand, Fail> {
        let index = if inner.is_empty() {
            let i = self.next_arg;
            self.next_arg += 1;
            i
        } else {
            inner.parse::<usize>().map_err(|_| (format!("`{{{inner}}}` is not a placeholder"), t.1, t.2))?
        };
        match self.args.get(index) {
            Some(op) => {
                self.used[index] = true;
                Ok(*op)
            }
            None => Self::fail(format!("placeholder {index} has no operand: {} given", self.args.len()), t),
        }
    }

    /// An error if an operand was given that no placeholder uses.
    pub fn all_used(&self) -> std::result::Result<(), Fail> {
        match self.used.iter().position(|u| !u) {
            Some(unused) => Err((
                format!("operand {unused} of the {} given is not used by any placeholder", self.args.len()),
                0,
                self.line.len(),
            )),
            None => Ok(()),
        }
    }
}

/// An ISA's line parser: how it reads one operand; the list around them is shared.
pub(crate) trait OperandList<'l, 'a> {
    /// The parser's cursor.
    fn cursor(&mut self) -> &mut Cursor<'l, 'a>;

    /// Reads one operand (and any decorations standing after it) into `ops`.
    fn next_operand(&mut self, ops: &mut Vec<Operand>) -> std::result::Result<(), Fail>;

    /// The comma-separated operands up to the end of the line and the columns they span; every
    /// operand given for a placeholder must have been used.
    fn operand_list(&mut self) -> std::result::Result<(Vec<Operand>, (usize, usize)), Fail> {
        let mut ops = Vec::new();
        let start = self.cursor().peek().1;
        if self.cursor().peek().0 != Tok::End {
            loop {
                self.next_operand(&mut ops)?;
                let t = self.cursor().bump();
                match t.0 {
                    Tok::Punct(',') => {}
                    Tok::End => break,
                    _ => return Cursor::fail("expected `,` or the end of the line", t),
                }
            }
        }
        let c = self.cursor();
        c.all_used()?;
        Ok((ops, (start, c.line.len())))
    }
}

/// A parse error as an [`Error`] showing the line.
pub(crate) fn syntax_error(line: &str, (msg, s, e): Fail) -> Error {
    Error::new(ErrorKind::Syntax, crate::error::in_line(&msg, line, s, e))
}

/// The result of a grammar, its errors shown in the line.
pub(crate) fn finish<T>(line: &str, result: std::result::Result<T, Fail>) -> Result<T> {
    result.map_err(|f| syntax_error(line, f))
}

/// A fresh directory for one run of an external assembler in a test (tests run in parallel
/// threads of one process, so the process id alone is not enough).
#[cfg(test)]
pub(crate) fn scratch_dir(prefix: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()))
}

/// A row of an unwind table: the offset it starts at, the CFA rule (`rsp+16`), and the rule
/// of each register its caller's value is saved for (`c-16`, `exp`), as readelf names them.
#[cfg(test)]
pub(crate) type CfiRow = (u64, String, std::collections::BTreeMap<String, String>);

/// The unwind table of `code`'s call-frame directives, as an unwinder will follow it: its
/// `asm_lines` for ELF assembled by GNU `assembler` after `prelude`, read back by `readelf
/// --debug-dump=frames-interp`. readelf's return-address column (`ra`) is named `ra` here
/// where it is a register of its own (AArch64's x30), and left out where it is not (x86-64's,
/// always at the CFA). `None` when the tools do not run.
#[cfg(test)]
pub(crate) fn cfi_table(
    assembler: &str,
    prelude: &str,
    ra: Option<&str>,
    code: &crate::CodeObject,
) -> Option<Vec<CfiRow>> {
    use std::process::Command;
    let dir = scratch_dir("peach-cfi");
    std::fs::create_dir_all(&dir).ok()?;
    let (src, obj) = (dir.join("k.s"), dir.join("k.o"));
    let lines = code.asm_lines("k", crate::emit::ObjectFormat::Elf);
    std::fs::write(&src, format!("{prelude}\n{}\n", lines.join("\n"))).ok()?;
    let assembled = Command::new(assembler).arg(&src).arg("-o").arg(&obj).status().ok()?;
    assert!(assembled.success(), "{assembler} refused the directives of {}", code.name());
    let out = Command::new("readelf").arg("--debug-dump=frames-interp").arg(&obj).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // The function's table follows its FDE header (the CIE's comes first).
    let fde = text.split("FDE").nth(1)?;
    let mut rows = fde.lines().skip_while(|l| !l.trim_start().starts_with("LOC"));
    let header: Vec<String> = rows.next()?.split_whitespace().map(str::to_string).collect();
    let mut table = Vec::new();
    for l in rows.take_while(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = l.split_whitespace().collect();
        let at = u64::from_str_radix(cells.first()?, 16).ok()?;
        let saved = header[2..]
            .iter()
            .zip(cells.get(2..)?)
            .filter(|(h, c)| (h.as_str() != "ra" || ra.is_some()) && **c != "u")
            .map(|(h, c)| (if h.as_str() == "ra" { ra.unwrap_or("ra").to_string() } else { h.clone() }, c.to_string()))
            .collect();
        table.push((at, cells.get(1)?.to_string(), saved));
    }
    Some(table)
}

/// llvm-mc's encoding of each line (`None` where it refuses one), assembled in one batch with
/// `args` after a `prelude` line. Each line follows a label of its own, so that the output maps
/// back to the input whatever llvm-mc refuses or splits. `None` when llvm-mc does not run.
#[cfg(test)]
pub(crate) fn llvm_mc_lines(prelude: &str, args: &[&str], lines: &[String]) -> Option<Vec<Option<Vec<u8>>>> {
    let dir = scratch_dir("peach-llvm-mc");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("in.s");
    let mut text = format!("{prelude}\n");
    for (k, l) in lines.iter().enumerate() {
        text.push_str(&format!("L{k}:\n{l}\n"));
    }
    std::fs::write(&path, text).ok()?;
    let out = std::process::Command::new("llvm-mc").args(args).arg("-show-encoding").arg(&path).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    let mut result: Vec<Option<Vec<u8>>> = vec![None; lines.len()];
    let mut current = None;
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(k) = l.strip_prefix('L').and_then(|r| r.strip_suffix(':')).and_then(|n| n.parse::<usize>().ok()) {
            current = Some(k);
        } else if let (Some(k), Some(enc)) = (current, l.split("encoding: [").nth(1)) {
            let bytes = enc
                .trim_end_matches(']')
                .split(',')
                .filter_map(|b| u8::from_str_radix(b.trim().trim_start_matches("0x"), 16).ok());
            if let Some(slot) = result.get_mut(k) {
                slot.get_or_insert_with(Vec::new).extend(bytes);
            }
        }
    }
    Some(result)
}

/// GNU as's encoding of each line (`None` where it refuses one), assembled in one batch by
/// `assembler` (`as`, `aarch64-linux-gnu-as`) after a `prelude` line: lines it refuses are
/// dropped and the rest assembled again; each line follows a label of its own, whose address
/// (from `nm`) marks its bytes in the section (from `objcopy`). `None` when the tools do not run.
#[cfg(test)]
pub(crate) fn gnu_as_lines(assembler: &str, prelude: &str, lines: &[String]) -> Option<Vec<Option<Vec<u8>>>> {
    use std::process::Command;
    let tool = |name: &str| assembler.strip_suffix("as").map_or(name.to_string(), |p| format!("{p}{name}"));
    let dir = scratch_dir("peach-gnu-as");
    std::fs::create_dir_all(&dir).ok()?;
    let (src, obj, bin) = (dir.join("in.s"), dir.join("in.o"), dir.join("in.bin"));
    let mut kept: Vec<bool> = vec![true; lines.len()];
    let mut assembled = false;
    for _ in 0..3 {
        let mut text = format!("{prelude}\n");
        for (k, l) in lines.iter().enumerate().filter(|(k, _)| kept[*k]) {
            text.push_str(&format!("L{k}:\n{l}\n"));
        }
        text.push_str("Lend:\n");
        std::fs::write(&src, &text).ok()?;
        let out = Command::new(assembler).arg("-o").arg(&obj).arg(&src).output().ok()?;
        if out.status.success() {
            assembled = true;
            break;
        }
        // `in.s:LINE: Error: ...`: the source line of the instruction, 2k + 3 for line k.
        let source_lines: Vec<&str> = text.lines().collect();
        for e in String::from_utf8_lossy(&out.stderr).lines() {
            let Some(n) = e.split(':').nth(1).and_then(|n| n.trim().parse::<usize>().ok()) else { continue };
            let label = source_lines.get(n.wrapping_sub(2)).and_then(|l| l.strip_prefix('L')?.strip_suffix(':'));
            if let Some(k) = label.and_then(|k| k.parse::<usize>().ok()) {
                kept[k] = false;
            }
        }
    }
    let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
    let section = ["-O", "binary", "--only-section=.text"];
    if !assembled || !ok(Command::new(tool("objcopy")).args(section).arg(&obj).arg(&bin)) {
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    let bytes = std::fs::read(&bin).ok()?;
    let symbols = Command::new(tool("nm")).arg("-n").arg(&obj).output().ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    // `0000000000000010 t L3`, in address order.
    let mut at: Vec<(usize, Option<usize>)> = Vec::new();
    for l in String::from_utf8_lossy(&symbols.stdout).lines() {
        let parts: Vec<&str> = l.split_whitespace().collect();
        if let [addr, _, name] = parts[..]
            && let (Ok(addr), Some(label)) = (usize::from_str_radix(addr, 16), name.strip_prefix('L'))
        {
            at.push((addr, label.parse().ok()));
        }
    }
    let mut result = vec![None; lines.len()];
    for w in at.windows(2) {
        if let ((start, Some(k)), (end, _)) = (w[0], w[1])
            && kept.get(k) == Some(&true)
        {
            result[k] = bytes.get(start..end).map(<[u8]>::to_vec);
        }
    }
    Some(result)
}
