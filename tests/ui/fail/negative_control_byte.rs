use peach::prelude::*;

// A shuffle control is a byte from 0 to 255: -1 is refused, not read as 0xFF.
peach_fn! {
    #[target(x86_64::v3)]
    unsafe fn k(p: *const u32) {
        let x = XMM();
        VMOVDQU(x, [p]);
        VPSHUFD(x, x, -1);
        VMOVDQU([p], x);
    }
}

fn main() {}
