//! Wrong input is an error with the caller's location, never a panic.

use super::*;
use peach::core::isa::aarch64::PageOffset;

/// Wrong input is an error with the caller's location, never a panic.
#[test]
fn bad_input_is_reported_where_it_was_written() {
    type Case = (&'static str, Box<dyn Fn(&mut Function)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "wrong arrangement",
            Box::new(|f| {
                let (a, b) = (f.v(), f.v());
                f.ins("fadd", (a.s4(), b.d2(), a.s4()));
            }),
            "no form of `fadd` takes (v.4s, v.2d, v.4s)",
        ),
        (
            "immediate out of range",
            Box::new(|f| {
                let a = f.x();
                f.ins("add", (a, a, 4096));
            }),
            "4096",
        ),
        (
            "misaligned offset",
            Box::new(|f| {
                let (a, p) = (f.x(), f.x());
                f.ins("ldr", (a, [p + 12]));
            }),
            "steps of 8; nearest encodable: 8 or 16",
        ),
        (
            "shift out of range",
            Box::new(|f| {
                let a = f.v();
                f.ins("shl", (a.s4(), a.s4(), 32));
            }),
            "from 0 to 31",
        ),
        (
            "sp where it is not allowed",
            Box::new(|f| {
                let a = f.x();
                f.ins("mul", (a, a, peach::core::isa::aarch64::reg::SP));
            }),
            "no form of `mul`",
        ),
        ("unknown mnemonic", Box::new(|f| f.ins("frobnicate", ())), "unknown AArch64 instruction"),
        (
            "lane out of range",
            Box::new(|f| {
                let a = f.v();
                f.ins("fmla", (a.s4(), a.s4(), a.s().lane(4)));
            }),
            "lane index 4 is out of range for 32-bit elements (0 to 3)",
        ),
        (
            "FP immediate not encodable",
            Box::new(|f| {
                let a = f.v();
                f.ins("fmov", (a.d(), peach::core::isa::aarch64::FpImm(1.3)));
            }),
            "1.3 is not an FMOV immediate",
        ),
        (
            "virtual registers in a list of four",
            Box::new(|f| {
                let (a, p) = (f.v(), f.x());
                f.ins("ld4", (a.s4(), [p]));
            }),
            "a group from `v_group` or physical",
        ),
        (
            "element size does not match",
            Box::new(|f| {
                let a = f.v();
                f.ins("fmla", (a.s4(), a.s4(), a.d().lane(1)));
            }),
            "no form of `fmla` takes (v.4s, v.4s, v.d[i])",
        ),
        (
            "page offset not a multiple of the access size",
            Box::new(|f| {
                let (a, p, l) = (f.x(), f.x(), f.label());
                f.ins("adrp", (p, l));
                f.ins("ldr", (a, [p], PageOffset(l)));
                f.ins("nop", ());
                f.bind(l);
                f.ret(None);
            }),
            "the label is 12 bytes into its page, not a multiple of the access size 8",
        ),
        (
            "a page by number",
            Box::new(|f| f.asm("adrp x0, #4096", ())),
            "no form of `adrp` takes (x, #imm); its forms are: adrp x, label",
        ),
        (
            "a page offset where none is taken",
            Box::new(|f| {
                let (a, l) = (f.x(), f.label());
                f.ins("sub", (a, a, PageOffset(l)));
            }),
            "no form of `sub` takes (x, x, :lo12:label)",
        ),
        (
            "extension missing",
            Box::new(|f| {
                let a = f.v();
                f.ins("sdot", (a.s4(), a.b16(), a.b16()));
            }),
            "DOTPROD",
        ),
    ];
    for (what, write, expected) in cases {
        let mut f = Function::new("bad", Signature::default(), Target::aarch64_neon());
        write(&mut f);
        let err = f.compile(Abi::Aapcs64).expect_err(what);
        assert!(err.to_string().contains(expected), "{what}: {err}");
        eprintln!("{what}: {err}");
        assert!(err.location().is_some(), "{what}: {err} has no location");
    }
}

/// A write-back base that is also the register transferred is unpredictable: an error.
#[test]
fn writeback_into_the_transferred_register_is_an_error() {
    let mut f = Function::new("bad", Signature::new(&[Type::Ptr], None), Target::aarch64_neon());
    let p = f.param(0);
    f.ins("ldr", (p, Mem::from([p]).post(8)));
    f.ret(None);
    let err = f.compile(Abi::Aapcs64).unwrap_err();
    assert!(err.to_string().contains("unpredictable"), "{err}");
    let mut f = Function::new("x86", Signature::new(&[Type::Ptr], None), Target::x86_64_v3());
    let (p, v) = (f.param(0), f.ymm());
    f.ins("vmovups", (v, Mem::from([p]).post(32)));
    assert!(f.compile(Abi::SysV).unwrap_err().to_string().contains("post-indexed"));
}
