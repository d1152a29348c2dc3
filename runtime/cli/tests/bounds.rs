//! Issue 14 at the `moae` CLI: every number bounded with a clear error (no panic, abort or
//! overflow), and no verdict printed from a non-finite score.

#[path = "../../tests/models/mod.rs"]
mod models;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Command, Output};
use support::*;

fn moae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moae"))
        .args(args)
        .env("ORT_DYLIB_PATH", ort_path())
        .output()
        .expect("run moae")
}

fn ort_path() -> String {
    std::env::var("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH (set by .cargo/config.toml)")
}

/// Fails unless `moae` exited with a usage or runtime error naming `needle`, without a panic
/// or a signal.
fn assert_named_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "exit {:?}, stderr: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
}

#[test]
fn absurd_bench_numbers_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    std::fs::write(&model, linear_model(&ModelSpec::default())).unwrap();
    let m = model.to_str().unwrap();
    for (flag, value, needle) in [
        ("--batch", "1000000", "out of range"),
        ("--batch", "4611686018427387904", "out of range"),
        ("--batch", "0", "out of range"),
        ("--iters", "18446744073709551615", "out of range"),
        ("--iters", "18446744073709551616", "not a whole number"),
        ("--warmup", "99999999", "out of range"),
        ("--threads", "100000", "out of range"),
        ("--threads", "65", "out of range"),
        ("--threads=-1", "", "not a whole number"),
    ] {
        let args: Vec<&str> = ["bench", m, flag, value]
            .into_iter()
            .filter(|a| !a.is_empty())
            .collect();
        assert_named_error(&moae(&args), needle);
    }
    for (flag, value) in [
        ("--batch", "1,100000"),
        ("--iters", "0"),
        ("--threads", "600"),
    ] {
        let out = moae(&["bench-matrix", m, flag, value]);
        assert_named_error(&out, "out of range");
    }
    // At the limits the numbers are accepted (a tiny run).
    let out = moae(&[
        "bench",
        m,
        "--threads",
        "64",
        "--iters",
        "1",
        "--warmup",
        "0",
    ]);
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn no_verdict_from_a_non_finite_score() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("nan.onnx");
    std::fs::write(&model, models::nan_model(&test_meta(32, 0.5))).unwrap();
    let img = dir.path().join("face.png");
    image::RgbImage::from_raw(40, 30, test_rgb(40, 30))
        .unwrap()
        .save(&img)
        .unwrap();
    let (m, i) = (model.to_str().unwrap(), img.to_str().unwrap());
    for args in [
        vec!["detect", m, i, "--whole-frame"],
        vec!["detect", m, i, "--whole-frame", "--json"],
    ] {
        let out = moae(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_named_error(&out, "non-finite");
        assert!(
            !stdout.contains("live") && !stdout.contains("attack") && !stdout.contains("NaN"),
            "a verdict was printed: {stdout}"
        );
    }
    let good = dir.path().join("good.onnx");
    std::fs::write(&good, linear_model(&ModelSpec::default())).unwrap();
    let g = good.to_str().unwrap();
    for (flag, value) in [
        ("--threshold", "NaN"),
        ("--threshold", "inf"),
        ("--crop-scale", "NaN"),
        ("--crop-scale", "1e30"),
    ] {
        let out = moae(&["detect", g, i, "--whole-frame", flag, value]);
        assert_named_error(&out, "invalid argument");
    }
}
