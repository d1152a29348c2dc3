//! `moae bench-matrix` end to end on CPU: one row per (provider, model, batch), sane numbers,
//! unavailable providers listed as skipped with a reason. No timing thresholds.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::Command;
use support::*;

fn moae() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moae"))
}

#[test]
fn matrix_reports_every_configuration_and_skips_unavailable_providers() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.onnx");
    let b = dir.path().join("b.onnx");
    std::fs::write(&a, linear_model(&ModelSpec::default())).unwrap();
    // A fixed-batch export too: batch 8 must still give one row (the engine pads/chunks).
    let fixed = ModelSpec {
        fixed_batch: Some(1),
        ..ModelSpec::default()
    };
    std::fs::write(&b, linear_model(&fixed)).unwrap();
    let report = dir.path().join("report.json");

    // `coreml` is never built into the Linux CPU onnxruntime these tests load, so it must show
    // up as skipped; cuda/tensorrt are skipped or measured depending on the library.
    let out = moae()
        .env("ORT_DYLIB_PATH", ort_path())
        .arg("bench-matrix")
        .arg(&a)
        .arg(&b)
        .args(["--ep", "cpu,coreml", "--batch", "1,8"])
        .args(["--iters", "4", "--warmup", "1", "--threads", "1", "--json"])
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("p99_ms"), "{table}");
    assert!(table.contains("skipped  coreml"), "{table}");

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2 * 2, "cpu x 2 models x 2 batches: {v:#}");
    let mut seen = Vec::new();
    for r in rows {
        assert_eq!(r["provider"], "cpu");
        assert_eq!(r["precision"], "fp32");
        let (p50, p90, p99) = (
            r["p50_ms"].as_f64().unwrap(),
            r["p90_ms"].as_f64().unwrap(),
            r["p99_ms"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p90 && p90 <= p99, "{r:#}");
        assert!(r["load_ms"].as_f64().unwrap() > 0.0, "{r:#}");
        assert!(r["throughput_per_s"].as_f64().unwrap() > 0.0, "{r:#}");
        assert!(r["peak_rss_mb"].as_f64().unwrap() > 0.0, "{r:#}");
        assert!(r["model_mb"].as_f64().unwrap() > 0.0, "{r:#}");
        assert_eq!(r["iters"], 4);
        assert_eq!(r["input_size"], ModelSpec::default().size, "{r:#}");
        assert_eq!(r["attack_type"], false, "no attack-type head: {r:#}");
        seen.push((
            r["model"].as_str().unwrap().to_string(),
            r["batch"].as_u64().unwrap(),
        ));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "each (model, batch) exactly once: {seen:?}");
    assert!(seen.iter().any(|(m, b)| m.ends_with("b.onnx") && *b == 8));

    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{v:#}");
    assert_eq!(skipped[0]["provider"], "coreml");
    let why = skipped[0]["reason"].as_str().unwrap();
    assert!(
        why.contains("coreml"),
        "the reason names the provider: {why}"
    );
    assert!(v["errors"].as_array().unwrap().is_empty(), "{v:#}");
}

#[test]
fn matrix_fails_clearly_on_a_missing_model() {
    let out = moae()
        .env("ORT_DYLIB_PATH", ort_path())
        .args(["bench-matrix", "/nonexistent/m.onnx", "--ep", "cpu"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/m.onnx"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn required_unavailable_provider_exits_with_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.onnx");
    std::fs::write(&m, linear_model(&ModelSpec::default())).unwrap();
    let out = moae()
        .env("ORT_DYLIB_PATH", ort_path())
        .arg("bench")
        .arg(&m)
        .args(["--ep", "coreml", "--require", "--iters", "1"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is unavailable"));
}

#[test]
fn a_failing_model_is_reported_and_the_others_still_measured() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.onnx");
    let foreign = dir.path().join("foreign.onnx");
    std::fs::write(&good, linear_model(&ModelSpec::default())).unwrap();
    let no_meta = ModelSpec {
        with_meta: false,
        ..ModelSpec::default()
    };
    std::fs::write(&foreign, linear_model(&no_meta)).unwrap();
    let report = dir.path().join("r.json");
    let out = moae()
        .env("ORT_DYLIB_PATH", ort_path())
        .env("RUST_BACKTRACE", "1")
        .arg("bench-matrix")
        .arg(&foreign)
        .arg(&good)
        .args([
            "--ep", "cpu", "--batch", "1", "--iters", "2", "--warmup", "0", "--json",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a failed configuration fails the run"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAILED"), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 1, "{v:#}");
    assert!(v["results"][0]["model"]
        .as_str()
        .unwrap()
        .ends_with("good.onnx"));
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    let msg = errors[0]["error"].as_str().unwrap();
    assert!(msg.contains("foreign.onnx"), "{msg}");
    assert!(!msg.contains("backtrace"), "one line, no backtrace: {msg}");
}
