//! The system rows: barriers, hints, exception generation, and moves to and from system
//! registers. Their operands are options and names in fixed fields.

use super::{Field, Kind, Table};
use Field::{Reg, Unsigned};

pub(super) fn rows(t: &mut Table) {
    // Barriers: the option in CRm (bits 8-11). `isb` alone is `isb sy`; `ssbb` and `pssbb` are
    // `dsb` with options 0 and 4.
    let crm = [Unsigned(8, 4, 1)];
    t.row("dmb", &[Kind::Barrier], &crm, 0xd503_30bf);
    t.row("dsb", &[Kind::Barrier], &crm, 0xd503_309f);
    t.row("isb", &[], &[], 0xd503_3fdf);
    t.row("isb", &[Kind::Imm], &crm, 0xd503_30df);
    t.row("ssbb", &[], &[], 0xd503_309f);
    t.row("pssbb", &[], &[], 0xd503_349f);
    t.row("clrex", &[], &[], 0xd503_3f5f);
    t.row("clrex", &[Kind::Imm], &crm, 0xd503_305f);
    // Hints: `hint #n` for any of them, and their names.
    t.row("hint", &[Kind::Imm], &[Unsigned(5, 7, 1)], 0xd503_201f);
    for (name, word) in [
        ("yield", 0xd503_203f),
        ("wfe", 0xd503_205f),
        ("wfi", 0xd503_207f),
        ("sev", 0xd503_209f),
        ("sevl", 0xd503_20bf),
        ("csdb", 0xd503_229f),
        ("bti", 0xd503_241f),
    ] {
        t.row(name, &[], &[], word);
    }
    t.row("bti", &[Kind::Target], &[Unsigned(6, 2, 1)], 0xd503_241f);
    // Exceptions: a 16-bit immediate the handler can read (`udf`'s is in the low bits).
    for (name, base) in [("svc", 0xd400_0001), ("brk", 0xd420_0000), ("hlt", 0xd440_0000)] {
        t.row(name, &[Kind::Imm], &[Unsigned(5, 16, 1)], base);
    }
    t.row("udf", &[Kind::Imm], &[Unsigned(0, 16, 1)], 0x0000_0000);
    // Cache maintenance (`sys` with `op1:CRn:CRm:op2` at bits 5-18): the operation names which.
    t.row("dc", &[Kind::Cache(true), Kind::X], &[Unsigned(5, 14, 1), Reg(0)], 0xd508_0000);
    t.row("ic", &[Kind::Cache(false), Kind::X], &[Unsigned(5, 14, 1), Reg(0)], 0xd508_0000);
    // System registers: `o0:op1:CRn:CRm:op2` at bits 5-19.
    t.row("mrs", &[Kind::X, Kind::SysReg], &[Reg(0), Unsigned(5, 15, 1)], 0xd530_0000);
    t.row("msr", &[Kind::SysReg, Kind::X], &[Unsigned(5, 15, 1), Reg(0)], 0xd510_0000);
}
