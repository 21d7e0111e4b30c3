use peach::prelude::*;

// rustc cannot call a method on a number whose type is not known yet: nor can static mode.
peach_fn! {
    fn k() -> f64 {
        let x = XMM();
        MOVSD(x, Constant::f64(2.0.sqrt()));
        RETURN(x);
    }
}

fn main() {}
