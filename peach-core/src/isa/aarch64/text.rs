//! A64 assembly text: one instruction as llvm-mc and GNU as accept and print it, with `{}`
//! placeholders bound to the builder's operands.
//!
//! ```text
//! line     := mnemonic [operand {, operand}]          (mnemonic: `add`, `ld1`, `b.ne`)
//! operand  := register | v<n>.<arrangement> | v<n>.<size>[index] | #number | #float
//!           | { list } | memory | shift #n | extend [#n] | condition | prefetch | placeholder
//! memory   := [base] | [base, #offset] | [base, #offset]! | [base], #offset | [base], xm
//!           | [base, xindex {, lsl|sxtx #n}] | [base, windex, uxtw|sxtw [#n]]
//! list     := v<n>.<arr> {, v<n>.<arr>} | v<n>.<arr> - v<m>.<arr>, then [index] for a lane list
//! ```
//!
//! A list is an [`Operand::List`] of consecutive registers. An index extension other than the
//! one its width implies (`uxtw`, `sxtx`) follows the memory operand as an `Extend`. What
//! peach's table lacks (an explicit `#0` shift of a byte access's index) is refused at its
//! column.

use super::pseudo::{Cond, Extend, PageOffset, Prefetch, Shift};
use super::regs::{A64Reg, reg_by_name};
use super::system::{Barrier, BranchTarget, CacheOp, SysReg};
use crate::error::Result;
use crate::ir::{Lane, Mem, Operand, Reg, RegList};
use crate::isa::TextInst;
use crate::isa::text::{Cursor, Fail, OperandList, Spanned, Tok, finish};

type Res<T> = std::result::Result<T, Fail>;

/// `v3.4s` (or `v3.s` for an element's size): the register seen that way.
fn vector(word: &str) -> Option<Reg> {
    let (reg, arr) = word.split_once('.')?;
    let n: u8 = reg.strip_prefix(['v', 'V'])?.parse().ok().filter(|n| *n < 32)?;
    let v = reg_by_name(&format!("v{n}"))?;
    Some(match arr.to_ascii_lowercase().as_str() {
        "8b" => v.b8(),
        "16b" => v.b16(),
        "4h" => v.h4(),
        "8h" => v.h8(),
        "2s" => v.s2(),
        "4s" => v.s4(),
        "1d" => v.d1(),
        "2d" => v.d2(),
        "4b" => v.b4(),
        "2h" => v.h2(),
        "1q" => v.q1(),
        "b" => v.b(),
        "h" => v.h(),
        "s" => v.s(),
        "d" => v.d(),
        "q" => v.q(),
        _ => return None,
    })
}

fn register(word: &str) -> Option<Reg> {
    if word.contains('.') { vector(word) } else { reg_by_name(word) }
}

fn extend(word: &str) -> Option<Extend> {
    Some(match word.to_ascii_lowercase().as_str() {
        "uxtb" => Extend::Uxtb,
        "uxth" => Extend::Uxth,
        "uxtw" => Extend::Uxtw,
        "uxtx" => Extend::Uxtx,
        "sxtx" => Extend::Sxtx,
        "sxtb" => Extend::Sxtb,
        "sxth" => Extend::Sxth,
        "sxtw" => Extend::Sxtw,
        _ => return None,
    })
}

fn shift(word: &str, n: u8) -> Option<Shift> {
    Some(match word.to_ascii_lowercase().as_str() {
        "lsl" => Shift::Lsl(n),
        "lsr" => Shift::Lsr(n),
        "asr" => Shift::Asr(n),
        "ror" => Shift::Ror(n),
        _ => return None,
    })
}

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
    fn line(mut self) -> Res<TextInst> {
        let first = self.c.bump();
        let mnemonic = match first.0 {
            Tok::Word(w) => w.to_ascii_lowercase(),
            Tok::End => return Cursor::fail("an empty line: write one instruction", first),
            _ => return Cursor::fail("expected an instruction name", first),
        };
        let (ops, ops_at) = self.operand_list()?;
        Ok(TextInst { mnemonic, ops, mnemonic_at: (first.1, first.2), ops_at })
    }

    /// `#n`, `#-n`, `#1.5`, or the same without `#`.
    fn number(&mut self) -> Res<Operand> {
        if self.c.peek().0 == Tok::Punct('#') {
            self.c.bump();
        }
        let t = self.c.bump();
        let (negative, t) = match t.0 {
            Tok::Punct('-') => (true, self.c.bump()),
            Tok::Punct('+') => (false, self.c.bump()),
            _ => (false, t),
        };
        match t.0 {
            Tok::Number(n) if negative => Ok(Operand::Imm((n as i64).wrapping_neg())),
            Tok::Number(n) => Ok(Operand::Imm(n as i64)),
            Tok::Float(f) => Ok(Operand::Imm((if negative { -f } else { f }).to_bits() as i64)),
            _ => Cursor::fail("expected a number", t),
        }
    }

    /// A small number after `#` (a shift or extend amount).
    fn amount(&mut self) -> Res<u8> {
        let t = self.c.peek();
        match self.number()? {
            Operand::Imm(v) if (0..64).contains(&v) => Ok(v as u8),
            _ => Cursor::fail("expected an amount from 0 to 63", t),
        }
    }

    fn operand(&mut self, ops: &mut Vec<Operand>) -> Res<()> {
        let t = self.c.peek();
        let op = match t.0 {
            Tok::Brace(b) if Cursor::is_placeholder(b) => {
                self.c.bump();
                self.c.arg(b, t)?
            }
            Tok::Brace(b) => {
                self.c.bump();
                let mut list = self.list(b, t)?;
                if self.c.peek().0 == Tok::Punct('[') {
                    // One element of each register: `{v0.s, v1.s}[3]`.
                    list = list.lane(self.index()?);
                }
                Operand::List(list)
            }
            Tok::Punct('#') | Tok::Number(_) | Tok::Float(_) | Tok::Punct('-') => self.number()?,
            Tok::Punct('[') => return self.memory(ops),
            Tok::Punct(':') => self.page_offset()?,
            Tok::Word(w) => {
                self.c.bump();
                let lower = w.to_ascii_lowercase();
                if let Some(r) = register(w) {
                    if self.c.peek().0 == Tok::Punct('[') {
                        // An element: `v1.s[2]`.
                        Operand::Lane(Lane { reg: r, index: self.index()? })
                    } else {
                        Operand::Reg(r)
                    }
                } else if lower == "msl" {
                    Operand::from(Shift::Msl(self.amount()?))
                } else if shift(&lower, 0).is_some() {
                    let n = self.amount()?;
                    Operand::from(shift(&lower, n).unwrap_or(Shift::Lsl(n)))
                } else if let Some(e) = extend(&lower) {
                    let n = if self.c.peek().0 == Tok::Punct('#') { self.amount()? } else { 0 };
                    e.by(n)
                } else if let Some(c) = Cond::by_name(&lower) {
                    Operand::from(c)
                } else if let Some(p) = Prefetch::by_name(&lower) {
                    Operand::from(p)
                } else if let Some(b) = Barrier::by_name(&lower) {
                    Operand::from(b)
                } else if let Some(k) = BranchTarget::by_name(&lower) {
                    Operand::from(k)
                } else if let Some(r) = SysReg::by_name(&lower) {
                    Operand::from(r)
                } else if let Some(c) = CacheOp::by_name(&lower) {
                    Operand::from(c)
                } else {
                    return Cursor::fail(format!("`{w}` is not an AArch64 register or operand"), t);
                }
            }
            _ => return Cursor::fail("expected an operand", t),
        };
        ops.push(op);
        Ok(())
    }

    /// `:lo12:{}`: the low 12 bits of a label's address (a placeholder for the label).
    fn page_offset(&mut self) -> Res<Operand> {
        let start = self.c.bump(); // `:`
        let (word, colon) = (self.c.bump(), self.c.bump());
        let t = self.c.bump();
        let lo12 = matches!(word.0, Tok::Word(w) if w.eq_ignore_ascii_case("lo12"));
        if !lo12 || colon.0 != Tok::Punct(':') {
            return Cursor::fail("expected `:lo12:` (the low 12 bits of a label's address)", start);
        }
        match t.0 {
            Tok::Brace(b) if Cursor::is_placeholder(b) => match self.c.arg(b, t)? {
                Operand::Label(l) => Ok(PageOffset(l).into()),
                _ => Cursor::fail("`:lo12:` takes a label", t),
            },
            _ => Cursor::fail("expected a placeholder for a label", t),
        }
    }

    /// `[index]` after an element or a list.
    fn index(&mut self) -> Res<u8> {
        self.c.bump(); // `[`
        let i = self.c.bump();
        let Tok::Number(index) = i.0 else { return Cursor::fail("expected an element index", i) };
        let close = self.c.bump();
        if close.0 != Tok::Punct(']') {
            return Cursor::fail("expected `]`", close);
        }
        Ok(u8::try_from(index).unwrap_or(u8::MAX))
    }

    /// `{v0.4s, v1.4s}` / `{v0.4s-v3.4s}`, checked consecutive and alike.
    fn list(&mut self, inner: &str, t: Spanned<'l>) -> Res<RegList> {
        let names: Vec<&str> = if let Some((a, b)) = inner.split_once('-') {
            let (first, last) = (vector(a.trim()), vector(b.trim()));
            let (Some(first), Some(last)) = (first, last) else {
                return Cursor::fail(format!("`{{{inner}}}` is not a register list"), t);
            };
            let parts = |r: Reg| super::regs::parts(r).map_or((0, 0), |(_, v, n)| (v, n));
            let ((vf, nf), (vl, nl)) = (parts(first), parts(last));
            if vf != vl || (nl + 32 - nf) % 32 > 3 {
                return Cursor::fail("a list holds one to four consecutive registers of one arrangement", t);
            }
            return Ok(first.list((nl + 32 - nf) % 32 + 1));
        } else {
            inner.split(',').map(str::trim).collect()
        };
        let regs: Option<Vec<Reg>> = names.iter().map(|n| vector(n)).collect();
        let Some(regs) = regs.filter(|r| !r.is_empty() && r.len() <= 4) else {
            return Cursor::fail(format!("`{{{inner}}}` is not a list of one to four vector registers"), t);
        };
        let n = |r: Reg| super::regs::parts(r).map_or((0, 0), |(_, v, n)| (v, n));
        let (view, first) = n(regs[0]);
        for (k, r) in regs.iter().enumerate() {
            if n(*r) != (view, (first + k as u8) % 32) {
                return Cursor::fail("a list holds consecutive registers of one arrangement", t);
            }
        }
        Ok(regs[0].list(regs.len() as u8))
    }

    /// `[...]`, with `!` or `, #post` after it.
    fn memory(&mut self, ops: &mut Vec<Operand>) -> Res<()> {
        self.c.bump(); // `[`
        let t = self.c.bump();
        let base = match t.0 {
            Tok::Word(w) => register(w).ok_or_else(|| (format!("`{w}` is not a base register"), t.1, t.2))?,
            Tok::Brace(b) if Cursor::is_placeholder(b) => match self.c.arg(b, t)? {
                Operand::Reg(r) => r,
                _ => return Cursor::fail("a base is a register", t),
            },
            _ => return Cursor::fail("expected a base register", t),
        };
        let mut m = Mem::base_disp(base, 0);
        let mut extend = None;
        if self.c.peek().0 == Tok::Punct(',') && self.c.peek2().0 == Tok::Punct(':') {
            // `[x0, :lo12:{}]`: the offset of a label in its page, after the memory operand.
            self.c.bump();
            let offset = self.page_offset()?;
            let close = self.c.bump();
            if close.0 != Tok::Punct(']') {
                return Cursor::fail("expected `]`", close);
            }
            ops.extend([Operand::Mem(m), offset]);
            return Ok(());
        }
        if self.c.peek().0 == Tok::Punct(',') {
            self.c.bump();
            let t = self.c.peek();
            let index = match t.0 {
                Tok::Word(w) => register(w),
                Tok::Brace(b) if Cursor::is_placeholder(b) => {
                    self.c.bump();
                    match self.c.arg(b, t)? {
                        Operand::Reg(r) => {
                            m.index = Some(r);
                            m.scale = 1;
                            None
                        }
                        Operand::Imm(v) => {
                            m.disp = i32::try_from(v).map_err(|_| ("the offset does not fit".to_string(), t.1, t.2))?;
                            None
                        }
                        _ => return Cursor::fail("an address takes registers and numbers", t),
                    }
                }
                _ => {
                    let Operand::Imm(v) = self.number()? else { return Cursor::fail("expected an offset", t) };
                    m.disp = i32::try_from(v).map_err(|_| ("the offset does not fit".to_string(), t.1, t.2))?;
                    None
                }
            };
            if let Some(r) = index {
                self.c.bump();
                m.index = Some(r);
                m.scale = 1;
            }
            if let Some(index) = m.index
                && self.c.peek().0 == Tok::Punct(',')
            {
                self.c.bump();
                let k = self.c.bump();
                let Tok::Word(w) = k.0 else { return Cursor::fail("expected `lsl`, `uxtw`, `sxtw` or `sxtx`", k) };
                let lower = w.to_ascii_lowercase();
                let wide = super::regs::class_view(index).is_some_and(|(_, v)| v != super::regs::VIEW_W);
                match (lower.as_str(), wide) {
                    ("lsl" | "sxtx", true) | ("uxtw" | "sxtw", false) => {}
                    ("lsl" | "sxtx" | "uxtw" | "sxtw", _) => {
                        let want = if wide { "`lsl` or `sxtx`" } else { "`uxtw` or `sxtw`" };
                        return Cursor::fail(format!("a {}-bit index takes {want}", if wide { 64 } else { 32 }), k);
                    }
                    _ => {
                        return Cursor::fail(
                            format!("`{w}` is not an index extension (`lsl`, `uxtw`, `sxtw`, `sxtx`)"),
                            k,
                        );
                    }
                }
                // Extensions other than the one the index's width implies follow the operand.
                extend = match lower.as_str() {
                    "uxtw" => Some(Extend::Uxtw),
                    "sxtx" => Some(Extend::Sxtx),
                    _ => None,
                };
                let explicit = self.c.peek().0 == Tok::Punct('#');
                let n = if explicit { self.amount()? } else { 0 };
                if n > 4 {
                    return Cursor::fail("the index is shifted by 1 to 4", k);
                }
                // Byte accesses encode `lsl #0` apart from no shift (the S bit).
                m.scale = if explicit && n == 0 { Mem::ZERO_SHIFT } else { 1 << n };
            }
        }
        let close = self.c.bump();
        if close.0 != Tok::Punct(']') {
            return Cursor::fail("expected `]`", close);
        }
        match self.c.peek().0 {
            Tok::Punct('!') => {
                self.c.bump();
                m = m.pre();
            }
            // `[x0], #16`: the post-increment.
            Tok::Punct(',') if matches!(self.c.peek2().0, Tok::Punct('#')) && m.disp == 0 && m.index.is_none() => {
                self.c.bump();
                let t = self.c.peek();
                let Operand::Imm(v) = self.number()? else { return Cursor::fail("expected an increment", t) };
                m = m.post(i32::try_from(v).map_err(|_| ("the increment does not fit".to_string(), t.1, t.2))?);
            }
            // `[x0], x2`: a post-increment by a register (structure loads and stores), or a
            // placeholder for a register or a number.
            Tok::Punct(',') if m.disp == 0 && m.index.is_none() => {
                let t = self.c.peek2();
                let step = match t.0 {
                    Tok::Word(w) => register(w).map(Operand::Reg),
                    Tok::Brace(b) if Cursor::is_placeholder(b) => Some(self.c.arg(b, t)?),
                    _ => None,
                };
                match step {
                    Some(Operand::Reg(r)) => m = m.post_reg(r),
                    Some(Operand::Imm(v)) => {
                        m = m.post(i32::try_from(v).map_err(|_| ("the increment does not fit".to_string(), t.1, t.2))?)
                    }
                    Some(_) => return Cursor::fail("a post-increment is a number or a register", t),
                    None => {}
                }
                if step.is_some() {
                    self.c.bump();
                    self.c.bump();
                }
            }
            _ => {}
        }
        ops.push(Operand::Mem(m));
        if let Some(e) = extend {
            ops.push(e.into());
        }
        Ok(())
    }
}

/// Parses `line` with `args` for its placeholders.
pub(crate) fn parse(line: &str, args: &[Operand]) -> Result<TextInst> {
    finish(line, Cursor::new(line, args).and_then(|c| Parser { c }.line()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::aarch64::reg;

    fn ops(line: &str) -> Vec<Operand> {
        parse(line, &[]).unwrap_or_else(|e| panic!("{line}: {e}")).ops
    }

    #[test]
    fn operands_of_every_kind() {
        assert_eq!(
            ops("add x0, x1, #16"),
            [reg::X0, reg::X1].map(Operand::Reg).into_iter().chain([Operand::Imm(16)]).collect::<Vec<_>>()
        );
        assert_eq!(ops("fmla v0.4s, v1.4s, v2.s[3]")[2], Operand::Lane(Lane { reg: reg::V2.s(), index: 3 }));
        assert_eq!(ops("add x0, x1, x2, lsr #3")[3], Operand::from(Shift::Lsr(3)));
        assert_eq!(ops("add x0, x1, w2, sxtw #2")[3], Extend::Sxtw.by(2));
        assert_eq!(ops("csel x0, x1, x2, ne")[3], Operand::from(Cond::Ne));
        assert_eq!(ops("fmov d0, #-1.25")[1], Operand::Imm((-1.25f64).to_bits() as i64));
        let Operand::Mem(m) = ops("ldr q0, [x1, #-32]!")[1] else { panic!() };
        assert_eq!((m.base, m.disp, m.update), (Some(reg::X1), -32, crate::ir::Update::Pre));
        let Operand::Mem(m) = ops("ld1 {v4.16b}, [x2], #16")[1] else { panic!() };
        assert_eq!((m.disp, m.update), (16, crate::ir::Update::Post));
        let Operand::Mem(m) = ops("ldr x0, [x1, x2, lsl #3]")[1] else { panic!() };
        assert_eq!((m.index, m.scale), (Some(reg::X2), 8));
        assert_eq!(ops("ld4 {v4.4s-v7.4s}, [x0]")[0], Operand::List(reg::V4.s4().list(4)));
        assert_eq!(ops("ld2 {v30.2d, v31.2d}, [sp]")[0], Operand::List(reg::V30.d2().list(2)));
    }

    #[test]
    fn errors_point_at_their_column() {
        for (line, want) in [
            ("add x0, x1, x32", "`x32` is not an AArch64 register"),
            ("ld2 {v0.4s, v2.4s}, [x0]", "consecutive registers"),
            ("ldr x0, [x1, x2, uxtx #3]", "not an index extension"),
            ("ldr x0, [x1, w2, lsl #3]", "a 32-bit index takes `uxtw` or `sxtw`"),
            ("ldr x0, [x1", "expected `]`"),
            ("ld1 {v0.4s, v2.4s}, [x0]", "consecutive registers"),
            ("add x0, x0, :hi12:{}", "expected `:lo12:`"),
            ("add x0, x0, :lo12:#5", "placeholder for a label"),
            ("ldr x0, [x1, :lo12:{}", "expected `]`"),
        ] {
            let label = [Operand::Label(crate::ir::Label(0))];
            let e = parse(line, &label).expect_err(line);
            assert!(e.message().contains(want) && e.message().contains('^'), "{line}: {e}");
        }
        let e = parse("add x0, x0, :lo12:{}", &[Operand::Imm(3)]).expect_err("a number");
        assert!(e.message().contains("takes a label"), "{e}");
    }

    #[test]
    fn page_offsets_name_their_label() {
        let l = crate::ir::Label(7);
        let args = [Operand::Label(l)];
        let parsed = |line: &str| parse(line, &args).unwrap_or_else(|e| panic!("{line}: {e}")).ops;
        assert_eq!(parsed("add x0, x1, :lo12:{}")[2], Operand::from(PageOffset(l)));
        assert_eq!(
            parsed("ldr q0, [x1, :LO12:{}]"),
            [Operand::Reg(reg::V0.q()), Mem::base_disp(reg::X1, 0).into(), PageOffset(l).into()]
        );
        assert_eq!(parsed("adrp x3, {}")[1], Operand::Label(l));
    }
}
