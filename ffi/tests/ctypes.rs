//! libmoae from Python's ctypes (tests/python/ctypes_options.py): the function-style way for
//! callers without C macros (struct sizes from `moae_struct_size`, defaults from the `_sized`
//! initialisers) gets the 0.2 fields, and a 0.2 field (`mirrored`) set that way takes effect;
//! `moae_detect_sized` with the library's `moae_result` size, the legacy `moae_detect` 24 bytes.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

/// target/<profile>/deps/libmoae.so, built by cargo for this package's integration tests.
fn libmoae() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let lib = deps.join("libmoae.so");
    assert!(
        lib.is_file(),
        "{} missing: build it with `cargo build -p moae-ffi`",
        lib.display()
    );
    lib
}

#[test]
fn python_ctypes_gets_the_02_options_and_image_through_the_sized_functions() {
    if support::tool_missing("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    std::fs::write(&model, support::tiny_model()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/ctypes_options.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(libmoae())
        .arg(&model)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ok"),
        "ctypes test failed:\n{stdout}\n{stderr}"
    );
}
