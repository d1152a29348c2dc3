//! The fuzz bodies under `cargo test` (stable toolchain, no libFuzzer): each target's seeds and
//! a fixed number of generated inputs (the same ones on every run), and the inputs that once
//! failed, so the targets build, their properties hold, and a finding stays fixed. The
//! long runs (libFuzzer, ASan) are fuzz/README.md's.

const INPUTS: usize = 300;

fn run(target: &str) {
    let body = moae_ffi_fuzz::body(target).unwrap();
    for seed in moae_ffi_fuzz::seeds(target) {
        body(&seed);
    }
    // Inputs that once failed (fuzz/tests/regressions/TARGET/), kept so they stay fixed.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions")
        .join(target);
    if let Ok(files) = std::fs::read_dir(&dir) {
        for f in files {
            body(&std::fs::read(f.unwrap().path()).unwrap());
        }
    }
    let mut inputs = moae_ffi_fuzz::Generator::new(target);
    for _ in 0..INPUTS {
        body(&inputs.next_input());
    }
}

#[test]
fn detect() {
    run("detect");
}

#[test]
fn analyze() {
    run("analyze");
}

#[test]
fn decode_image() {
    run("decode_image");
}

#[test]
fn create_model() {
    run("create_model");
}

#[test]
fn unknown_target_is_none() {
    assert!(moae_ffi_fuzz::body("nope").is_none());
}
