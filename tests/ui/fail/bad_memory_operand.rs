use peach::prelude::*;

peach_fn! {
    fn k(p: *const u64, i: u64) -> u64 {
        let t = GP64();
        MOV(t, [p + i * 3]);
        RETURN(t);
    }
}

fn main() {}
