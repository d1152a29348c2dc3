//! The Rust types in `src/generated/onnx.rs` are generated from the vendored
//! `proto/onnx.proto` and committed (no build.rs: builds stay fast and need no `protoc`).
//! This test regenerates them with the pure-Rust `protox` compiler and fails when the committed
//! file is stale. To refresh it after changing the proto or the prost version:
//!
//!     MOAE_REGENERATE=1 cargo test -p moae-onnx --test generated_is_current

use std::path::Path;

fn generate(out_dir: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fds = protox::compile(["onnx.proto"], [root.join("proto")])
        .expect("onnx.proto must compile with protox");
    prost_build::Config::new()
        .out_dir(out_dir)
        .compile_fds(fds)
        .expect("prost-build code generation");
    std::fs::read_to_string(out_dir.join("onnx.rs")).expect("prost-build writes onnx.rs")
}

#[test]
fn committed_onnx_rs_matches_the_vendored_proto() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = generate(tmp.path());
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/generated/onnx.rs");
    if std::env::var_os("MOAE_REGENERATE").is_some() {
        std::fs::write(&committed_path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale or missing: regenerate it with \
         `MOAE_REGENERATE=1 cargo test -p moae-onnx --test generated_is_current` and commit it",
        committed_path.display()
    );
}
