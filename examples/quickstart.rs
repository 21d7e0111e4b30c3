//! peach in one page: two kernels written with virtual registers (see `src/kernels.rs`),
//! compiled for this machine's calling convention, listed, loaded, run and checked against
//! plain Rust.
//!
//! Run with `cargo run --release --example quickstart`.

use peach::prelude::*;

pub fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let sum_code = peach::kernels::vector_sum(Abi::host())?;
    let dot_code = peach::kernels::dot_f32(Abi::host())?;
    println!("{}", sum_code.listing());
    println!("{}", dot_code.listing());
    println!(
        "ISA extensions used: vector_sum {:?}, dot_f32 {:?}\n",
        sum_code.extension_names(),
        dot_code.extension_names()
    );

    let host = Target::native_x86_64();
    if !(cfg!(target_arch = "x86_64") && host.has("AVX2") && host.has("FMA")) {
        println!("this machine cannot run AVX2+FMA code: the kernels were built and listed, not run");
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    {
        let data: Vec<f64> = (0..4096).map(|i| (i as f64) * 0.25 - 100.0).collect();
        // SAFETY: the signature and ABI match the kernel, and this CPU has AVX2 and FMA.
        let sum = unsafe { Kernel::<unsafe extern "C" fn(*const f64, usize) -> f64>::load(&sum_code)? };
        let got = unsafe { (sum.get())(data.as_ptr(), data.len()) };
        let want: f64 = data.iter().sum();
        println!("vector_sum of {} doubles: peach {got}, Rust {want}", data.len());
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "vector_sum disagrees with Rust");

        let x: Vec<f32> = (0..4096).map(|i| ((i % 17) as f32) * 0.5 - 3.0).collect();
        let y: Vec<f32> = (0..4096).map(|i| ((i % 13) as f32) * 0.25 - 1.0).collect();
        // SAFETY: as above.
        let dot = unsafe { Kernel::<unsafe extern "C" fn(*const f32, *const f32, usize) -> f32>::load(&dot_code)? };
        let got = unsafe { (dot.get())(x.as_ptr(), y.as_ptr(), x.len()) };
        let want = x.iter().zip(&y).map(|(a, b)| (*a as f64) * (*b as f64)).sum::<f64>() as f32;
        println!("dot_f32 of {} floats: peach {got}, Rust {want}", x.len());
        assert!((got - want).abs() <= 1e-4 * want.abs().max(1.0), "dot_f32 disagrees with Rust");
        println!("\nboth kernels agree with plain Rust");
    }
    Ok(())
}
