//! A missing or wrong libonnxruntime is an `Error::OrtLibrary`, never a panic; a failed
//! attempt is not cached. Own test binary: nothing else loads ONNX Runtime first.

mod support;

use moae_runtime::{Engine, EngineOptions, Error};
use support::*;

fn load_with(lib: std::path::PathBuf) -> Result<Engine, Error> {
    let o = EngineOptions {
        ort_library_path: Some(lib),
        ..EngineOptions::default()
    };
    Engine::from_bytes(&linear_model(&ModelSpec::default()), &o)
}

#[test]
fn missing_then_not_a_library_then_the_real_one() {
    let dir = tempfile::tempdir().unwrap();
    match load_with(dir.path().join("libonnxruntime.so")) {
        Err(Error::OrtLibrary { reason, .. }) => {
            assert!(reason.contains("no such file"), "{reason}")
        }
        other => panic!("missing library: {:?}", other.err()),
    }
    let fake = dir.path().join("libfake.so");
    std::fs::write(&fake, b"\x7fELF but not really a shared object").unwrap();
    match load_with(fake) {
        Err(e @ Error::OrtLibrary { .. }) => assert!(e.to_string().contains("ORT_DYLIB_PATH")),
        other => panic!("not a library: {:?}", other.err()),
    }
    // A real shared object that is not ONNX Runtime.
    let libc_path = std::path::PathBuf::from("libc.so.6");
    match load_with(libc_path) {
        Err(Error::OrtLibrary { reason, .. }) => {
            assert!(reason.contains("OrtGetApiBase"), "{reason}")
        }
        other => panic!("libc: {:?}", other.err()),
    }
    let e = load_with(ort_path()).expect("the real library still loads after failures");
    assert_eq!(e.info().input_size, 32);
    // Once loaded, a different library in the same process is refused, not silently ignored.
    let other = dir.path().join("other.so");
    std::fs::write(&other, b"x").unwrap();
    assert!(matches!(load_with(other), Err(Error::OrtLibrary { .. })));
}
