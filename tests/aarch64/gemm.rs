//! `sgemm_block`'s NEON variant under qemu, call by call, against the model that rounds as its
//! fused multiply-adds do (tests/common/sgemm_block.rs), on every shape the x86 variants are
//! checked on; its last two arguments (B's rows and their distance) come on the stack.

use super::*;
use crate::sgemm_block::{BFrom, Block, bits, shapes, values};

#[test]
fn neon_sgemm_block_matches_a_fused_model() {
    use peach::kernels::gemm::{SGEMM_BLOCK_ARMV8_A_CODES as CODES, SGEMM_BLOCK_ARMV8_A_LISTING as LISTING};
    let (_, bytes) = CODES.iter().find(|(abi, _)| *abi == "Aapcs64").expect("an AAPCS64 build");
    for (k, rows, accumulate, from) in shapes() {
        let what = format!("k {k}, {rows} rows, accumulate {accumulate}, B from {from:?}");
        let block = Block::new(16, k, rows, accumulate, from);
        let (c, panel) = block.model();
        // A, B's rows, the panel and C, one after another in the data buffer.
        let mut data = Vec::new();
        let mut at = [0; 4];
        for (i, part) in [&block.a, &block.b_rows, &block.panel, &block.c].into_iter().enumerate() {
            at[i] = data.len();
            data.extend(f32_bytes(part));
        }
        let mut args = vec![
            Arg::Ptr(0, at[0]),
            Arg::X(1, 4 * block.lda as u64),
            // (With no panel, a null pointer: the panel's bytes must stay as they were.)
            if from.in_place() { Arg::X(2, 0) } else { Arg::Ptr(2, at[2]) },
            Arg::Ptr(3, at[3]),
            Arg::X(4, k as u64),
            Arg::X(5, 4 * block.ldc as u64),
            Arg::X(6, rows as u64),
            Arg::X(7, accumulate as u64),
        ];
        if from != BFrom::Panel {
            args.extend([Arg::KPtr(0, at[1]), Arg::K(1, 4 * block.ldb as u64)]);
        } else {
            args.extend([Arg::K(0, 0), Arg::K(1, 0)]);
        }
        let Some(out) = run_bytes(bytes, LISTING, &data, &args) else { return };
        let floats = |at: usize, len: usize| -> Vec<f32> {
            out.data[at..at + 4 * len].chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
        };
        assert_eq!(bits(&floats(at[3], c.len())), bits(&c), "{what}: C");
        assert_eq!(bits(&floats(at[2], panel.len())), bits(&panel), "{what}: the panel");
    }
}

/// `sgemm_kernel`'s NEON variant (6 rows by 16 columns, packed panels, C added to) under qemu,
/// bit for bit against one fused multiply-add per step of k, then the add to C.
#[test]
fn neon_sgemm_kernel_matches_a_fused_model() {
    use peach::kernels::gemm::{SGEMM_KERNEL_ARMV8_A_CODES as CODES, SGEMM_KERNEL_ARMV8_A_LISTING as LISTING};
    let (_, bytes) = CODES.iter().find(|(abi, _)| *abi == "Aapcs64").expect("an AAPCS64 build");
    for k in [1, 2, 5, 16] {
        let (nr, ldc) = (16, 21);
        let (a, b) = (values(6 * k, 4), values(nr * k, 5));
        let c = values(5 * ldc + nr, 6);
        let mut want = c.clone();
        for i in 0..6 {
            for j in 0..nr {
                let sum = (0..k).fold(0.0f32, |acc, p| a[p * 6 + i].mul_add(b[p * nr + j], acc));
                want[i * ldc + j] += sum;
            }
        }
        let mut data = f32_bytes(&a);
        data.extend(f32_bytes(&b));
        let at_c = data.len();
        data.extend(f32_bytes(&c));
        let args = [
            Arg::Ptr(0, 0),
            Arg::Ptr(1, 4 * a.len()),
            Arg::Ptr(2, at_c),
            Arg::X(3, k as u64),
            Arg::X(4, 4 * ldc as u64),
        ];
        let Some(out) = run_bytes(bytes, LISTING, &data, &args) else { return };
        let got: Vec<f32> =
            out.data[at_c..at_c + 4 * c.len()].chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(bits(&got), bits(&want), "k {k}");
    }
}
