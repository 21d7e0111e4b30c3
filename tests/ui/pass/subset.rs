use peach::prelude::*;

peach_fn! {
    /// Everything the static subset offers, in one kernel.
    #[target(x86_64::v3)]
    pub unsafe fn subset(p: *mut u64, n: u64) -> u64 {
        const STEPS: usize = 3;
        fn double(r: Reg) {
            ADD(r, r);
        }
        let (a, b) = (GP64(), GP64());
        let [c, d] = [GP64(); 2];
        MOV(a, 1);
        MOV(b, n);
        MOV(c, [p]);
        MOV(d, [p + 8]);
        let n2 = GP64();
        LOAD_ARGUMENT(n2, n);
        SUB(a, n2);
        ADD(a, n2);
        for i in 0..STEPS {
            if i % 2 == 0 {
                double(a);
            } else {
                ADD(a, i as u64);
            }
        }
        let mut left = 2;
        while left > 0 {
            left -= 1;
            if left == 5 {
                break;
            }
            ADD(a, b);
        }
        let top = Label::new();
        LABEL(top);
        SUB(b, 1);
        JNZ(top);
        ADD(a, c.r64());
        ADD(a, d);
        let masks = match STEPS {
            0..=2 => 1,
            _ => 2,
        };
        ADD(a, masks);
        MOV([p], a);
        let v = YMM();
        VMOVDQU(v, [p]);
        VPADDQ(v, v, Constant::u64x4_splat(1));
        VMOVDQU([p], v);
        RETURN(a);
    }
}

fn main() {
    let mut data = [10u64, 20, 0, 0];
    let r = unsafe { subset(data.as_mut_ptr(), 5) };
    // a = ((1 * 2 + 1) * 2) + 2 * n + p[0] + p[1] + 2
    assert_eq!(r, 6 + 2 * 5 + 10 + 20 + 2);
    assert_eq!(data, [r + 1, 21, 1, 1]);
}
