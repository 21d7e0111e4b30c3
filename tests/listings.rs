//! Snapshots of the quickstart kernels' listings under both conventions: any change in the code
//! peach generates for them shows up in review (`cargo insta review` to accept one).

#[test]
fn quickstart_listings() {
    for abi in [peach::Abi::SysV, peach::Abi::Win64] {
        let sum = peach::kernels::vector_sum(abi).unwrap();
        let dot = peach::kernels::dot_f32(abi).unwrap();
        insta::assert_snapshot!(format!("vector_sum_{abi:?}"), sum.listing());
        insta::assert_snapshot!(format!("vector_sum_gas_{abi:?}"), sum.listing_gas());
        insta::assert_snapshot!(format!("dot_f32_{abi:?}"), dot.listing());
    }
}
