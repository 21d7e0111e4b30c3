//! Intel-syntax assembly text: one instruction as llvm-mc and GNU as (`.intel_syntax noprefix`)
//! accept it and iced's Intel formatter prints it, with `{}` placeholders bound to the builder's
//! operands, like an `asm!` template.
//!
//! ```text
//! line     := mnemonic [operand {, operand}]
//! operand  := register {decorator} | memory {decorator} | immediate | placeholder {decorator}
//!           | {rn-sae} | {rd-sae} | {ru-sae} | {rz-sae} | {sae}
//! memory   := [size ptr] [segment:] [ term {(+|-) term} ] | [size ptr] placeholder
//! term     := register [* scale] | scale * register | number | placeholder [* scale]
//! decorator:= {k1}..{k7} | placeholder (a mask register) | {z} | {1to2}..{1to32}
//! ```
//!
//! A vector register as the index makes a gather's or scatter's address (`[rax + ymm1*4]`); a
//! mask after a memory destination masks the store (`vmovups [rdi]{k1}, zmm0`, never `{z}`).
//! Numbers are decimal, `0x` hexadecimal or `h`-suffixed hexadecimal (`0FFh`). `lock`, `rep`,
//! `repe`/`repz` and `repne`/`repnz` may precede the mnemonic; string instructions are written
//! bare (`rep movsb`, `repne scasb`). A segment may precede an address (`fs:[0x28]`,
//! `qword ptr gs:[rax]`). Other prefixes and RIP-relative addresses are refused with an error
//! at their column, never dropped.

use super::regs::reg_by_name;
use crate::error::Result;
use crate::ir::{Mem, Operand, Reg, Rounding};
use crate::isa::TextInst;
use crate::isa::text::{Cursor, Fail, OperandList, Spanned, Tok, finish};

/// Bytes named by a size keyword.
fn size_keyword(word: &str) -> Option<u16> {
    Some(match word.to_ascii_lowercase().as_str() {
        "byte" => 1,
        "word" => 2,
        "dword" => 4,
        "fword" => 6,
        "qword" | "mmword" => 8,
        "tbyte" | "tword" => 10,
        "xmmword" | "oword" => 16,
        "ymmword" => 32,
        "zmmword" => 64,
        _ => return None,
    })
}

const PREFIXES: [&str; 12] =
    ["lock", "rep", "repe", "repz", "repne", "repnz", "data16", "data32", "addr32", "notrack", "xacquire", "xrelease"];
const SEGMENTS: [&str; 6] = ["cs", "ds", "es", "fs", "gs", "ss"];
/// The prefixes a line may start with.
const SUPPORTED_PREFIXES: [&str; 8] = ["lock", "rep", "repe", "repz", "repne", "repnz", "data16", "addr32"];

struct Parser<'l, 'a> {
    c: Cursor<'l, 'a>,
}

impl<'l, 'a> OperandList<'l, 'a> for Parser<'l, 'a> {
    fn cursor(&mut self) -> &mut Cursor<'l, 'a> {
        &mut self.c
    }
    fn next_operand(&mut self, ops: &mut Vec<Operand>) -> std::result::Result<(), Fail> {
        self.operand(ops)
    }
}

impl<'l> Parser<'l, '_> {
    fn line(mut self) -> std::result::Result<TextInst, Fail> {
        let mut first = self.c.bump();
        // `lock`, `rep`, `repe`/`repz`, `repne`/`repnz`, `data16`, `addr32` and the
        // `{vex}`/`{evex}` pseudo-prefixes stay in the mnemonic, for the ISA to check.
        let mut prefixes = String::new();
        let mut pseudo = String::new();
        if let Tok::Brace(b) = first.0
            && (b.eq_ignore_ascii_case("vex") || b.eq_ignore_ascii_case("evex"))
        {
            pseudo = format!("{{{}}} ", b.to_ascii_lowercase());
            first = self.c.bump();
        }
        while let Tok::Word(w) = first.0
            && SUPPORTED_PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(w))
        {
            prefixes.push_str(w);
            prefixes.push(' ');
            first = self.c.bump();
            if !matches!(first.0, Tok::Word(_)) {
                return Cursor::fail(format!("expected an instruction after `{}`", prefixes.trim_end()), first);
            }
        }
        let mnemonic = match first.0 {
            Tok::Word(w) if PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(w)) => {
                return Cursor::fail(format!("the `{w}` prefix is not supported"), first);
            }
            // iced's `ret far` and `call far fword ptr [...]`: the far return is `retf`; a far
            // call or jump is told by its operand (`fword`: m16:32, `tbyte`: m16:64).
            Tok::Word(w) if matches!(self.c.peek().0, Tok::Word(f) if f.eq_ignore_ascii_case("far")) => {
                self.c.bump();
                match w.to_ascii_lowercase().as_str() {
                    "ret" => format!("{prefixes}{pseudo}retf"),
                    "call" | "jmp" => format!("{prefixes}{pseudo}{w}"),
                    _ => return Cursor::fail(format!("`far` goes with `call`, `jmp` and `ret`, not `{w}`"), first),
                }
            }
            Tok::Word(w) => format!("{prefixes}{pseudo}{w}"),
            Tok::End => return Cursor::fail("an empty line: write one instruction", first),
            _ => return Cursor::fail("expected an instruction name", first),
        };
        let (ops, ops_at) = self.operand_list()?;
        Ok(TextInst { mnemonic, ops, mnemonic_at: (first.1, first.2), ops_at })
    }

    /// An operand, appended to `ops`; a memory operand's segment (`fs:[...]`) and write mask
    /// (`[m]{k1}`) follow it as operands of their own.
    fn operand(&mut self, ops: &mut Vec<Operand>) -> std::result::Result<(), Fail> {
        let t = self.c.peek();
        let mut segment = None;
        let op = match t.0 {
            Tok::Brace(b) if Cursor::is_placeholder(b) => {
                self.c.bump();
                let arg = self.c.arg(b, t)?;
                self.block(arg)?
            }
            Tok::Brace(b) => {
                self.c.bump();
                return match rounding(b) {
                    Some(r) => {
                        ops.push(Operand::Rounding(r));
                        Ok(())
                    }
                    None => Cursor::fail(format!("`{{{b}}}` is not an operand (a rounding mode is `{{rn-sae}}`)"), t),
                };
            }
            Tok::Word(w) if size_keyword(w).is_some() => {
                self.c.bump();
                let size = size_keyword(w).unwrap_or(0);
                let ptr = self.c.bump();
                if !matches!(ptr.0, Tok::Word(p) if p.eq_ignore_ascii_case("ptr")) {
                    return Cursor::fail(format!("expected `ptr` after `{w}`"), ptr);
                }
                segment = self.segment()?;
                match self.memory()? {
                    Operand::Mem(m) => Operand::Mem(m.sized(size)),
                    Operand::Abs64(a) => Operand::Abs64(a.sized(size as u8)),
                    other => other,
                }
            }
            Tok::Word(w)
                if SEGMENTS.iter().any(|s| s.eq_ignore_ascii_case(w)) && self.c.peek2().0 == Tok::Punct(':') =>
            {
                segment = self.segment()?;
                self.memory()?
            }
            Tok::Punct('[') => self.memory()?,
            // The x87 stack: `st` is `st(0)`; `st(i)`.
            Tok::Word(w) if w.eq_ignore_ascii_case("st") => {
                self.c.bump();
                let mut n = 0;
                if self.c.peek().0 == Tok::Punct('(') {
                    self.c.bump();
                    let i = self.c.bump();
                    let close = self.c.bump();
                    match (i.0, close.0) {
                        (Tok::Number(k), Tok::Punct(')')) if k < 8 => n = k as u32,
                        _ => return Cursor::fail("an x87 register is `st(0)` to `st(7)`", i),
                    }
                }
                Operand::Reg(crate::isa::x86_64::regs::phys(crate::isa::x86_64::forms::add_reg(
                    iced_x86::Register::ST0,
                    n,
                )))
            }
            Tok::Word(w) => {
                self.c.bump();
                let r = Operand::Reg(self.register(w, t)?);
                self.block(r)?
            }
            Tok::Number(_) | Tok::Punct('-') | Tok::Punct('+') => Operand::Imm(self.immediate()?),
            _ => return Cursor::fail("expected an operand", t),
        };
        let (op, mem_mask) = self.decorators(op)?;
        ops.push(op);
        ops.extend(segment.map(Operand::Segment));
        ops.extend(mem_mask);
        Ok(())
    }

    /// A block of four registers written out (`zmm4+3`), if `+3` follows a register.
    fn block(&mut self, op: Operand) -> std::result::Result<Operand, Fail> {
        let Operand::Reg(first) = op else { return Ok(op) };
        if self.c.peek().0 != Tok::Punct('+') {
            return Ok(op);
        }
        self.c.bump();
        let n = self.c.bump();
        match n.0 {
            Tok::Number(3) => Ok(Operand::List(crate::ir::RegList { first, count: 4, lane: None })),
            _ => Cursor::fail("a block of registers is written `zmm4+3`", n),
        }
    }

    /// `fs:` (any segment register) before an address, if there.
    fn segment(&mut self) -> std::result::Result<Option<Reg>, Fail> {
        let (t, colon) = (self.c.peek(), self.c.peek2());
        match t.0 {
            Tok::Word(w) if colon.0 == Tok::Punct(':') => {
                use super::regs::reg;
                let segment = match w.to_ascii_lowercase().as_str() {
                    "es" => reg::ES,
                    "cs" => reg::CS,
                    "ss" => reg::SS,
                    "ds" => reg::DS,
                    "fs" => reg::FS,
                    "gs" => reg::GS,
                    _ => return Cursor::fail(format!("`{w}` is not a segment register"), t),
                };
                self.c.bump();
                self.c.bump();
                Ok(Some(segment))
            }
            _ => Ok(None),
        }
    }

    fn register(&self, name: &str, t: Spanned) -> std::result::Result<Reg, Fail> {
        if name.eq_ignore_ascii_case("rip") || name.eq_ignore_ascii_case("eip") {
            return Cursor::fail(
                "RIP-relative addresses are not supported (a constant operand is placed in the pool)",
                t,
            );
        }
        reg_by_name(name).ok_or_else(|| (format!("`{name}` is not an x86-64 register"), t.1, t.2))
    }

    /// A signed number: `-8`, `+0x10`, `0FFFFFFFFh` (kept as its 64 bits).
    fn immediate(&mut self) -> std::result::Result<i64, Fail> {
        let t = self.c.bump();
        let (negative, t) = match t.0 {
            Tok::Punct('-') => (true, self.c.bump()),
            Tok::Punct('+') => (false, self.c.bump()),
            _ => (false, t),
        };
        match t.0 {
            Tok::Number(n) if negative => Ok((n as i64).wrapping_neg()),
            Tok::Number(n) => Ok(n as i64),
            _ => Cursor::fail("expected a number", t),
        }
    }

    /// `[...]`, or a placeholder that is a memory operand.
    /// A memory operand, or a 64-bit absolute address (`[0x1122334455667788]`: a number alone
    /// that a 32-bit displacement cannot hold, for `movabs`).
    fn memory(&mut self) -> std::result::Result<Operand, Fail> {
        let open = self.c.bump();
        match open.0 {
            Tok::Punct('[') => {}
            Tok::Brace(b) if Cursor::is_placeholder(b) => {
                return match self.c.arg(b, open)? {
                    op @ (Operand::Mem(_) | Operand::Abs64(_)) => Ok(op),
                    other => Cursor::fail(format!("this placeholder stands for {other:?}, not a memory operand"), open),
                };
            }
            _ => return Cursor::fail("expected `[`", open),
        }
        if let (Tok::Number(n), Tok::Punct(']')) = (self.c.peek().0, self.c.peek2().0)
            && i32::try_from(n as i64).is_err()
        {
            self.c.bump();
            self.c.bump();
            return Ok(Operand::Abs64(crate::ir::Abs64::new(n, 0)));
        }
        let (mut base, mut index): (Option<Reg>, Option<(Reg, u8)>) = (None, None);
        let mut disp: i64 = 0;
        let mut sign = 1i64;
        let mut first = true;
        loop {
            let t = self.c.bump();
            // A term: register, register*scale, scale*register, number, placeholder.
            let (reg, scale, value) = match t.0 {
                Tok::Word(w) => (Some((self.register(w, t)?, t)), None, None),
                Tok::Brace(b) if Cursor::is_placeholder(b) => match self.c.arg(b, t)? {
                    Operand::Reg(r) => (Some((r, t)), None, None),
                    Operand::Imm(v) => (None, None, Some(v)),
                    other => {
                        return Cursor::fail(
                            format!("this placeholder stands for {other:?}: an address takes registers and numbers"),
                            t,
                        );
                    }
                },
                Tok::Number(n) if self.c.peek().0 == Tok::Punct('*') => {
                    self.c.bump();
                    let r = self.c.bump();
                    let reg = match r.0 {
                        Tok::Word(w) => self.register(w, r)?,
                        Tok::Brace(b) if Cursor::is_placeholder(b) => match self.c.arg(b, r)? {
                            Operand::Reg(reg) => reg,
                            _ => return Cursor::fail("expected an index register", r),
                        },
                        _ => return Cursor::fail("expected an index register", r),
                    };
                    (Some((reg, r)), Some((n, t)), None)
                }
                Tok::Number(n) => (None, None, Some(n as i64)),
                Tok::Punct(']') if first => return Cursor::fail("an empty address", t),
                _ => return Cursor::fail("expected a register or a number", t),
            };
            let scale = match (reg, scale, self.c.peek().0) {
                (Some(_), None, Tok::Punct('*')) => {
                    self.c.bump();
                    let s = self.c.bump();
                    match s.0 {
                        Tok::Number(n) => Some((n, s)),
                        _ => return Cursor::fail("expected a scale (1, 2, 4 or 8)", s),
                    }
                }
                _ => scale,
            };
            if let Some(v) = value {
                disp = disp
                    .checked_add(sign * v)
                    .filter(|d| i32::try_from(*d).is_ok())
                    .ok_or_else(|| ("the displacement does not fit in 32 bits".to_string(), t.1, t.2))?;
            }
            if let Some((r, rt)) = reg {
                if sign < 0 {
                    return Cursor::fail("a register cannot be subtracted", rt);
                }
                let s = match scale {
                    Some((n, st)) if ![1, 2, 4, 8].contains(&n) => {
                        return Cursor::fail(format!("the scale is 1, 2, 4 or 8, not {n}"), st);
                    }
                    Some((n, _)) => n as u8,
                    None => 1,
                };
                if scale.is_none() && base.is_none() {
                    base = Some(r);
                } else if index.is_none() {
                    index = Some((r, s));
                } else if s == 1 && base.is_none() {
                    base = Some(r);
                } else {
                    return Cursor::fail("an address has at most a base and an index register", rt);
                }
            }
            first = false;
            let sep = self.c.bump();
            sign = match sep.0 {
                Tok::Punct('+') => 1,
                Tok::Punct('-') => -1,
                Tok::Punct(']') => break,
                _ => return Cursor::fail("expected `+`, `-` or `]`", sep),
            };
        }
        let mut m = Mem::base_disp(Reg::phys(0), disp);
        m.base = base;
        if let Some((r, s)) = index {
            m.index = Some(r);
            m.scale = s;
        }
        Ok(Operand::Mem(m))
    }

    /// `{k1}`, `{z}`, `{1to16}` after an operand; a placeholder right after one (`{}{}`) is its
    /// write mask. A memory operand's mask comes back apart, as [`Operand::MemMask`].
    fn decorators(&mut self, mut op: Operand) -> std::result::Result<(Operand, Option<Operand>), Fail> {
        let mut mem_mask = None;
        while let (Tok::Brace(b), ..) = self.c.peek() {
            let t = self.c.peek();
            if rounding(b).is_some() {
                break;
            }
            self.c.bump();
            if Cursor::is_placeholder(b) {
                op = match (op, self.c.arg(b, t)?) {
                    (Operand::Reg(r), Operand::Reg(k)) => Operand::Masked(r.mask(k)),
                    (Operand::Mem(m), Operand::Reg(k)) if mem_mask.is_none() => {
                        mem_mask = Some(Operand::MemMask(k));
                        Operand::Mem(m)
                    }
                    (_, other) => return Cursor::fail(format!("a write mask is a mask register, not {other:?}"), t),
                };
                continue;
            }
            let lower = b.to_ascii_lowercase();
            op = match (op, lower.as_str()) {
                (Operand::Reg(r), k) if k.starts_with('k') => match reg_by_name(k) {
                    Some(mask) if k != "k0" => Operand::Masked(r.mask(mask)),
                    _ => return Cursor::fail(format!("`{{{b}}}` is not a write mask (k1 to k7)"), t),
                },
                (Operand::Masked(m), "z") => Operand::Masked(m.zeroing()),
                (Operand::Reg(_), "z") => return Cursor::fail("`{z}` needs a write mask before it", t),
                (Operand::Mem(m), k) if k.starts_with('k') && mem_mask.is_none() => match reg_by_name(k) {
                    Some(mask) if k != "k0" => {
                        mem_mask = Some(Operand::MemMask(mask));
                        Operand::Mem(m)
                    }
                    _ => return Cursor::fail(format!("`{{{b}}}` is not a write mask (k1 to k7)"), t),
                },
                (Operand::Mem(_), "z") => {
                    return Cursor::fail("`{z}` does not apply to a memory destination (stores merge)", t);
                }
                (Operand::Mem(m), to) if to.starts_with("1to") => match to[3..].parse::<u8>() {
                    Ok(n) if [2, 4, 8, 16, 32].contains(&n) => Operand::Mem(m.bcst_to(n)),
                    _ => return Cursor::fail(format!("`{{{b}}}` is not a broadcast (1to2 to 1to32)"), t),
                },
                _ => return Cursor::fail(format!("`{{{b}}}` does not apply to this operand"), t),
            };
        }
        Ok((op, mem_mask))
    }
}

fn rounding(b: &str) -> Option<Rounding> {
    Some(match b.to_ascii_lowercase().as_str() {
        "rn-sae" => Rounding::NearestSae,
        "rd-sae" => Rounding::DownSae,
        "ru-sae" => Rounding::UpSae,
        "rz-sae" => Rounding::ZeroSae,
        "sae" => Rounding::Sae,
        _ => return None,
    })
}

/// Parses `line` with `args` for its placeholders.
pub(crate) fn parse(line: &str, args: &[Operand]) -> Result<TextInst> {
    finish(line, Cursor::new(line, args).and_then(|c| Parser { c }.line()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::x86_64::reg;

    fn ops(line: &str, args: &[Operand]) -> Vec<Operand> {
        parse(line, args).unwrap_or_else(|e| panic!("{line}: {e}")).ops
    }

    #[test]
    fn operands_of_every_kind() {
        assert_eq!(ops("add rax, 0FFh", &[]), [Operand::Reg(reg::RAX), Operand::Imm(255)]);
        assert_eq!(ops("mov ecx,-8", &[]), [Operand::Reg(reg::ECX), Operand::Imm(-8)]);
        let m = ops("vaddps zmm1{k2}{z}, zmm3, dword ptr [r12+rcx*4-0x40]{1to16}", &[]);
        assert_eq!(m[0], Operand::Masked(reg::ZMM1.mask(reg::K2).zeroing()));
        let Operand::Mem(mem) = m[2] else { panic!("{m:?}") };
        assert_eq!(
            (mem.base, mem.index, mem.scale, mem.disp, mem.size, mem.broadcast),
            (Some(reg::R12), Some(reg::RCX), 4, -0x40, 4, 16)
        );
        assert_eq!(ops("vaddpd zmm0, zmm1, zmm2, {rz-sae}", &[])[3], Operand::Rounding(Rounding::ZeroSae));
        let Operand::Mem(mem) = ops("lea rax, [8*rsi]", &[])[1] else { panic!() };
        assert_eq!((mem.base, mem.index, mem.scale), (None, Some(reg::RSI), 8));
    }

    #[test]
    fn placeholders_bind_in_order_or_by_number() {
        let (a, b) = (Operand::Reg(reg::RDX), Operand::Reg(reg::R9));
        let m = ops("mov {}, qword ptr [{} + {1}*8 + 16]", &[a, b]);
        assert_eq!(m[0], a);
        let Operand::Mem(mem) = m[1] else { panic!() };
        assert_eq!((mem.base, mem.index, mem.scale, mem.disp, mem.size), (Some(reg::R9), Some(reg::R9), 8, 16, 8));
        assert_eq!(ops("add {}, {}", &[a, Operand::Imm(3)]), [a, Operand::Imm(3)]);
    }

    #[test]
    fn errors_point_at_their_column() {
        for (line, args, want) in [
            ("vaddps xmm33, xmm1, xmm2", &[][..], "`xmm33` is not an x86-64 register"),
            ("mov rax, [rcx*3]", &[], "the scale is 1, 2, 4 or 8, not 3"),
            ("mov rax, [rcx + rdx + rsi]", &[], "at most a base and an index"),
            ("mov rax, [rcx", &[], "expected `+`, `-` or `]`"),
            ("data32 mov ax, 1", &[], "the `data32` prefix is not supported"),
            ("rep", &[], "expected an instruction after `rep`"),
            ("vmovaps zmmword ptr [rax]{k1}{z}, zmm0", &[], "`{z}` does not apply to a memory destination"),
            ("vmovaps zmmword ptr [rax]{k0}, zmm0", &[], "is not a write mask (k1 to k7)"),
            ("add {}, 1", &[], "placeholder 0 has no operand"),
            ("add rax, 1", &[Operand::Imm(1)], "operand 0 of the 1 given is not used"),
            ("vaddps zmm0{z}, zmm1, zmm2", &[], "needs a write mask"),
            ("mov rax, dword [rcx]", &[], "expected `ptr` after `dword`"),
            ("mov rax, [rip + 8]", &[], "RIP-relative"),
            ("add rax, 1 $", &[], "unexpected `$`"),
            ("", &[], "an empty line"),
        ] {
            let e = parse(line, args).expect_err(line);
            assert_eq!(e.kind(), crate::ErrorKind::Syntax);
            assert!(e.message().contains(want), "{line}: {e}");
            assert!(e.message().contains('^'), "{line}: no caret in {e}");
        }
        let e = parse("vaddps xmm33, xmm1, xmm2", &[]).unwrap_err();
        assert!(e.message().contains("\n  vaddps xmm33, xmm1, xmm2\n         ^^^^^"), "{e}");
    }

    #[test]
    fn random_text_never_panics() {
        let alphabet: Vec<char> = "abcdkxyz0123456789[]{}+-*,: hptrqwod.".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..(state % 24) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                line.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&line, &[Operand::Reg(reg::RAX)]);
        }
    }
}
