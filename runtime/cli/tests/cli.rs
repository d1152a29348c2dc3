//! The `moae` binary end to end, and decode_image.

#[path = "../../tests/support/mod.rs"]
mod support;

use moae_runtime::{decode_image, Error};
use std::process::Command;
use support::*;

fn moae() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moae"))
}

fn fixture() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    std::fs::write(&model, linear_model(&ModelSpec::default())).unwrap();
    let img = dir.path().join("face.png");
    let (w, h) = (80, 60);
    image::RgbImage::from_raw(w, h, test_rgb(w, h))
        .unwrap()
        .save(&img)
        .unwrap();
    (dir, model, img)
}

#[test]
fn info_detect_and_bench_run() {
    let (_dir, model, img) = fixture();
    let out = moae()
        .args(["info", "--json"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["input_size"], 32);
    assert_eq!(v["provider"], "cpu");

    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .args(["--box", "10,10,30,30", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = v[0]["attack_score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&a));
    assert_eq!(v[0]["is_attack"], a >= 0.5);

    let out = moae()
        .arg("bench")
        .arg(&model)
        .args(["--iters", "5", "--batch", "2", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_mb"].as_f64().unwrap() > 0.0);
}

/// `moae score` writes one `score label [type]` line per list entry, equal to `detect`'s score
/// for that image, and a bad list line or a missing image names the list line.
#[test]
fn score_writes_the_metrics_format_and_names_bad_lines() {
    let (dir, model, img) = fixture();
    let other = dir.path().join("sub/other.png");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    let (w, h) = (50, 70);
    let px: Vec<u8> = test_rgb(w, h).iter().map(|v| 255 - v).collect();
    image::RgbImage::from_raw(w, h, px)
        .unwrap()
        .save(&other)
        .unwrap();
    let list = dir.path().join("list.txt");
    std::fs::write(&list, "face.png 0\n\nsub/other.png 1 3\n").unwrap();
    let scores = dir.path().join("scores.txt");
    let score = || {
        moae()
            .arg("score")
            .arg(&model)
            .arg("--list")
            .arg(&list)
            .arg("--out")
            .arg(&scores)
            .output()
            .unwrap()
    };
    let out = score();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&scores).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(&rows[0][1..], ["0"]);
    assert_eq!(&rows[1][1..], ["1", "3"]);
    for (row, path) in rows.iter().zip([&img, &other]) {
        let out = moae()
            .arg("detect")
            .arg(&model)
            .arg(path)
            .arg("--json")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let want = v[0]["attack_score"].as_f64().unwrap();
        let got: f64 = row[0].parse().unwrap();
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
    assert_ne!(rows[0][0], rows[1][0], "different images, different scores");

    for (bad, what) in [
        ("face.png\n", "line 1"),
        ("face.png 0\nnope.png 1\n", "line 2"),
    ] {
        std::fs::write(&list, bad).unwrap();
        let out = score();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(what), "{err}");
    }
}

#[test]
fn missing_onnxruntime_is_a_clear_error_not_a_panic() {
    let (_dir, model, _) = fixture();
    let out = moae()
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .arg("info")
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not load ONNX Runtime"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn box_outside_the_image_is_reported() {
    let (_dir, model, img) = fixture();
    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .args(["--box", "500,500,10,10"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid face box"));
}

#[test]
fn decode_image_reads_png_and_rejects_garbage() {
    let (_dir, _, img) = fixture();
    let (rgb, w, h) = decode_image(&img).unwrap();
    assert_eq!((w, h), (80, 60));
    assert_eq!(rgb, test_rgb(80, 60));
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(decode_image(&bytes).unwrap().1, 80);
    assert!(matches!(
        decode_image(&b"not an image"[..]),
        Err(Error::Image(_))
    ));
    assert!(matches!(
        decode_image("/nonexistent.png"),
        Err(Error::Io { .. })
    ));
}
