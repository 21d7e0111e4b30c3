use peach::prelude::*;

peach_fn! {
    #[target(x86_64::haswell)]
    #[target(x86_64::skylake_x)]
    fn twice() {}
}

peach_fn! {
    #[target(x86_64::haswell)]
    #[variants(x86_64::avx512, x86_64::haswell)]
    fn both() {}
}

peach_fn! {
    #[variants(x86_64::avx512, x86_64::avx512, "haswell", fallback = 3)]
    fn bad_variants() {}
}

peach_fn! {
    #[target(x86_64::pentium4)]
    fn unknown_target() {}
}

fn main() {}
