//! Link the kernel binary as a bare-metal image with our linker script.
//!
//! These arguments apply to the kernel binary only (`-bins`), never to build scripts or
//! host crates; the codegen flags live in the Makefile's `kernel` target.
#![forbid(unsafe_code)]
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    for arg in [
        format!("-T{dir}/linker.ld"),
        "-nostartfiles".into(),
        "-nostdlib".into(),
        "-static".into(),
        "-no-pie".into(),
        "-Wl,--build-id=none".into(),
        "-Wl,-z,max-page-size=4096".into(),
        "-Wl,--gc-sections".into(),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
