use peach::prelude::*;

peach_fn! {
    #[jit]
    fn answer() -> u64 {
        let r = GP64();
        MOV(r, 42);
        RETURN(r);
    }
}

// The bare pointer would outlive the kernel's memory: taking it is `unsafe`. `call` borrows
// the kernel instead.
fn main() {
    let f = {
        let k = answer().unwrap();
        k.get()
    };
    f();
}
