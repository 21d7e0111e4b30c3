use peach::prelude::*;

// `vcvtpd2ps xmm, [m]{1to2}` and `{1to4}` both exist: the count must be written.
peach_fn! {
    #[target(x86_64::v4)]
    unsafe fn k(p: *const f64) {
        let x = XMM();
        VCVTPD2PS(x, [p].sized(8).bcst());
        VMOVUPS([p], x);
    }
}

fn main() {}
