//! temporary
#![forbid(unsafe_code)]
fn main() {
    let scratch = std::path::PathBuf::from("target/test-all");
    std::fs::create_dir_all(&scratch).unwrap();
    println!("{:?}", tests::deploy_manifests::check(&scratch));
}
