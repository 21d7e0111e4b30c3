use peach::prelude::*;

// `i` is a `usize` (it indexes an array), and a lane index is a `u8`: rustc rejects the mix.
peach_fn! {
    #[target(aarch64::neon)]
    fn k() {
        let v = [VEC(); 2];
        for i in 0..2 {
            DUP(v[i].s4(), v[i].s().lane(i));
        }
    }
}

fn main() {}
