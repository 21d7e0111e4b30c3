//! Register allocation on random programs.
//!
//! Every compile in a debug build runs the independent allocation checker, so a wrong allocation
//! surfaces as an internal error. Random straight-line integer programs (with fixed-register
//! instructions: `MUL` through rax/rdx, shifts by `cl`) are also executed and compared with an
//! interpreter; random programs with loops and branches are compiled for both conventions.

use peach::prelude::*;

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
}

/// A random straight-line program over 64-bit values and the result the interpreter expects.
fn random_program(rng: &mut Rng, args: [u64; 4], target: Target) -> (Function, u64) {
    let sig = Signature::new(&[Type::U64, Type::U64, Type::U64, Type::U64], Some(Type::U64));
    let mut f = Function::new("random", sig, target);
    let mut regs: Vec<Reg> = (0..4).map(|i| f.param(i)).collect();
    let mut vals: Vec<u64> = args.to_vec();
    let steps = 10 + rng.below(60);
    let cap = 10 + rng.below(8);
    for _ in 0..steps {
        let a = rng.below(regs.len());
        let b = rng.below(regs.len());
        let (ra, rb, va, vb) = (regs[a], regs[b], vals[a], vals[b]);
        match rng.below(12) {
            0 if regs.len() < cap => {
                let t = f.gp64();
                let imm = rng.next() as i32 as i64;
                f.ins("mov", (t, imm));
                regs.push(t);
                vals.push(imm as u64);
            }
            1 if regs.len() < cap => {
                let t = f.gp64();
                f.ins("mov", (t, rb));
                regs.push(t);
                vals.push(vb);
            }
            2 => {
                f.ins("add", (ra, rb));
                vals[a] = va.wrapping_add(vb);
            }
            3 => {
                f.ins("sub", (ra, rb));
                vals[a] = va.wrapping_sub(vals[b]);
            }
            4 => {
                f.ins("xor", (ra, rb));
                vals[a] = va ^ vals[b];
            }
            5 => {
                f.ins("imul", (ra, rb));
                vals[a] = va.wrapping_mul(vals[b]);
            }
            6 => {
                let s = rng.below(64) as i32;
                f.ins("shl", (ra, s));
                vals[a] = va << s;
            }
            7 => {
                // 32-bit operations zero-extend.
                f.ins("add", (ra.r32(), rb.r32()));
                vals[a] = (va as u32).wrapping_add(vals[b] as u32) as u64;
            }
            8 if regs.len() < cap => {
                // High half of the product, through the fixed rax/rdx of MUL.
                let t = f.gp64();
                f.ins("mov", (RAX, ra));
                f.ins("mul", rb);
                f.ins("mov", (t, RDX));
                regs.push(t);
                vals.push(((va as u128 * vb as u128) >> 64) as u64);
            }
            9 => {
                // Shift by a count in cl.
                f.ins("mov", (RCX, rb));
                f.ins("shr", (ra, CL));
                vals[a] = va >> (vb & 63);
            }
            10 if regs.len() < cap => {
                let t = f.gp64();
                let d = rng.next() as i16 as i64;
                f.ins("lea", (t, [ra + rb * 4 + d]));
                regs.push(t);
                vals.push(va.wrapping_add(vb.wrapping_mul(4)).wrapping_add(d as u64));
            }
            _ => {
                f.ins("not", ra);
                vals[a] = !va;
            }
        }
    }
    // Combine a random subset into the result, keeping those values live to the end.
    let acc = f.gp64();
    f.ins("mov", (acc, 0));
    let mut want = 0u64;
    for i in 0..regs.len() {
        if rng.below(3) != 0 {
            f.ins("add", (acc, regs[i]));
            want = want.wrapping_add(vals[i]);
        }
    }
    f.ret(acc);
    (f, want)
}

#[test]
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut, unused_variables))] // compiled, not run, elsewhere
fn random_straight_line_programs_match_the_interpreter() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ran, mut out_of_registers) = (0, 0);
    for _ in 0..300 {
        let args = [rng.next(), rng.next(), rng.next() >> 3, rng.next()];
        let (f, want) = random_program(&mut rng, args, Target::x86_64_baseline());
        let code = match f.compile(Abi::SysV) {
            Ok(code) => code,
            Err(e) if e.kind() == ErrorKind::OutOfRegisters => {
                out_of_registers += 1;
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        if let Err(e) = f.compile(Abi::Win64) {
            assert_eq!(e.kind(), ErrorKind::OutOfRegisters, "{e}");
        }
        #[cfg(target_arch = "x86_64")]
        {
            let k = unsafe { Kernel::<unsafe extern "sysv64" fn(u64, u64, u64, u64) -> u64>::load(&code).unwrap() };
            let got = unsafe { (k.get())(args[0], args[1], args[2], args[3]) };
            assert_eq!(got, want, "{}", code.listing());
            ran += 1;
        }
        let _ = code;
    }
    eprintln!("{ran} programs ran and matched; {out_of_registers} needed more registers than exist");
    assert!(ran >= 200, "too few programs ran: {ran}");
}

/// Random programs with loops and branches over vector and general-purpose values: allocation
/// succeeds and the checker agrees, or it fails with an out-of-registers error.
#[test]
fn random_programs_with_control_flow_allocate_or_fail_cleanly() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut ok = 0;
    for _ in 0..300 {
        let sig = Signature::new(&[Type::Ptr, Type::Usize], None);
        let mut f =
            Function::new("cfg", sig, if rng.below(2) == 0 { Target::x86_64_v3() } else { Target::x86_64_v4() });
        let (p, n) = (f.param(0), f.param(1));
        let mut vecs: Vec<Reg> = Vec::new();
        let labels: Vec<Label> = (0..3).map(|_| f.label()).collect();
        let mut bound = [false; 3];
        for _ in 0..(5 + rng.below(40)) {
            match rng.below(8) {
                0 | 1 if vecs.len() < 40 => {
                    let v = if rng.below(2) == 0 { f.ymm() } else { f.zmm().ymm() };
                    f.ins("vmovups", (v, [p + 32 * rng.below(8)]));
                    vecs.push(v);
                }
                2 if !vecs.is_empty() => {
                    let (a, b) = (vecs[rng.below(vecs.len())], vecs[rng.below(vecs.len())]);
                    f.ins("vaddps", (a, a, b));
                }
                3 => {
                    let l = rng.below(3);
                    if !bound[l] {
                        f.bind(labels[l]);
                        bound[l] = true;
                    }
                }
                4 => {
                    f.ins("sub", (n, 1));
                    f.ins("jnz", labels[rng.below(3)]);
                }
                5 if !vecs.is_empty() => {
                    let v = vecs[rng.below(vecs.len())];
                    f.ins("vmovups", ([p + 32 * rng.below(8)], v));
                }
                _ => f.ins("add", (p, 32)),
            }
        }
        for (l, b) in labels.iter().zip(bound) {
            if !b {
                f.bind(*l);
            }
        }
        for &v in &vecs {
            f.ins("vmovups", ([p], v));
        }
        f.ret(None);
        for abi in [Abi::SysV, Abi::Win64] {
            match f.compile(abi) {
                Ok(_) => ok += 1,
                // Random jumps can skip a value's definition: a user error, reported as such.
                Err(e) if matches!(e.kind(), ErrorKind::OutOfRegisters | ErrorKind::UndefinedValue) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!(ok >= 200, "only {ok} programs allocated");
}
