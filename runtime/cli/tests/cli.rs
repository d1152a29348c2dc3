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
    let f = &v[0]["faces"][0];
    let a = f["attack_score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&a));
    assert!((f["live_score"].as_f64().unwrap() + a - 1.0).abs() < 1e-5);
    assert_eq!(f["source"], "caller");
    assert_eq!(f["box"]["width"], 30.0);
    assert!(f["keypoints"].is_null() && f["detector_score"].is_null());
    let flags = f["quality"]["flags"].as_array().unwrap();
    let by_score = if a >= f["threshold"].as_f64().unwrap() {
        "attack"
    } else {
        "live"
    };
    let want = if flags.is_empty() { by_score } else { "unsure" };
    assert_eq!(f["decision"], want, "{v}");
    for k in ["face_px", "brightness", "sharpness", "roll_deg", "yaw_deg"] {
        assert!(f["quality"][k].as_f64().unwrap().is_finite(), "{k}: {v}");
    }
    assert!(v[0]["frame_flags"].as_array().unwrap().is_empty(), "{v}");

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
    // --e2e: frame -> centre crop -> model (the whole frame is the face).
    let out = moae()
        .arg("bench")
        .arg(&model)
        .args(["--iters", "2", "--warmup", "0", "--e2e", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "e2e_nv21_1080p");
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
            .args(["--whole-frame", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v[0]["faces"][0]["source"], "whole_frame");
        let want = v[0]["faces"][0]["attack_score"].as_f64().unwrap();
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
        .args(["--box", "500,500,20,20"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid face box"));
}

/// Without --box and --whole-frame, `detect` needs a face detector: none given (and no
/// $MOAE_FACE_DETECTOR) or a missing file is a clear error that says what to do.
#[test]
fn detect_without_box_needs_a_detector() {
    let (dir, model, img) = fixture();
    let out = moae()
        .env_remove("MOAE_FACE_DETECTOR")
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for want in ["--detector", "MOAE_FACE_DETECTOR", "--box", "--whole-frame"] {
        assert!(err.contains(want), "{want}: {err}");
    }
    let missing = dir.path().join("nope.onnx");
    let out = moae()
        .env("MOAE_FACE_DETECTOR", &missing)
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("nope.onnx") && err.contains("does not exist"),
        "{err}"
    );
    // Bad geometry arguments are refused by the parser.
    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .args(["--whole-frame", "--rotation", "45"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("0, 90, 180 or 270"));
}

/// `moae detect --json` with the real face detector (face branch's set-up): the astronaut
/// photo has one detector face with six keypoints, a detector score and quality values.
#[test]
fn detect_json_with_the_face_detector() {
    let dir = std::env::var_os("MOAE_FACE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/face")
        });
    let det = dir.join("face_detection_front_128x128.onnx");
    let photo = dir.join("astronaut.png");
    if !det.exists() || !photo.exists() {
        let msg = format!("{} is missing (scripts/setup-face.sh)", det.display());
        assert!(std::env::var_os("CI").is_none(), "CI is set and {msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let (_tmp, model, _) = fixture();
    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(&photo)
        .arg("--detector")
        .arg(&det)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let faces = v[0]["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{v}");
    let f = &faces[0];
    assert_eq!(f["source"], "detector");
    assert_eq!(f["keypoints"].as_array().unwrap().len(), 6, "{v}");
    assert!(f["detector_score"].as_f64().unwrap() >= 0.5, "{v}");
    assert!(["live", "attack", "unsure"].contains(&f["decision"].as_str().unwrap()));
}

/// `moae calibrate`: the threshold rejects at most the target share of the live frames, the
/// JSON holds the model's SHA-256 and the bound, `detect --calibration` uses the threshold and
/// refuses a calibration made for another model; too few frames for the target is refused
/// with the count needed.
#[test]
fn calibrate_writes_a_threshold_that_detect_accepts() {
    let (dir, model, _) = fixture();
    let d = dir.path();
    let mut live = String::new();
    let mut attack = String::new();
    for i in 0..20u32 {
        let (w, h) = (48 + i, 40 + (i * 7) % 13);
        let px: Vec<u8> = test_rgb(w, h)
            .iter()
            .enumerate()
            .map(|(k, v)| v.wrapping_add((k as u32 * i) as u8))
            .collect();
        let name = format!("f{i}.png");
        image::RgbImage::from_raw(w, h, px)
            .unwrap()
            .save(d.join(&name))
            .unwrap();
        if i < 10 {
            live += &format!(
                "{name} 0
"
            );
        } else {
            attack += &format!(
                "{name}
"
            );
        }
    }
    std::fs::write(
        d.join("live.txt"),
        format!(
            "# live frames
{live}"
        ),
    )
    .unwrap();
    std::fs::write(d.join("attack.txt"), &attack).unwrap();
    let calib = d.join("calib.json");
    // 1 % of 10 frames: refused before any scoring, with the count needed.
    let out = moae()
        .arg("calibrate")
        .arg(&model)
        .arg("--live")
        .arg(d.join("live.txt"))
        .args(["--target-bpcer", "0.01", "--whole-frame"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("at least 100 live frames"),
        "{err}"
    );
    let out = moae()
        .arg("calibrate")
        .arg(&model)
        .arg("--live")
        .arg(d.join("live.txt"))
        .arg("--attack")
        .arg(d.join("attack.txt"))
        .args(["--target-bpcer", "0.2", "--whole-frame", "--out"])
        .arg(&calib)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("95 %") && text.contains("APCER"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&calib).unwrap()).unwrap();
    let t: f32 = v["threshold"].to_string().parse().unwrap();
    // The printed threshold is the same f32 (shortest round-trip form, not rounded to 6
    // places): copied into --threshold, it decides exactly as the file does.
    let printed: f32 = text
        .lines()
        .find_map(|l| l.strip_prefix("threshold"))
        .unwrap_or_else(|| panic!("no threshold line:\n{text}"))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(printed.to_bits(), t.to_bits(), "{text}");
    assert_eq!(v["face_source"], "whole_frame");
    assert!(v["detector_sha256"].is_null(), "{v}");
    assert_eq!(v["crop_scale"], 1.5);
    assert_eq!(v["live_frames"], 10);
    assert!(v["live_rejected"].as_u64().unwrap() <= 2, "{v}");
    assert!(v["bpcer_upper_95"].as_f64().unwrap() > v["bpcer"].as_f64().unwrap());
    assert!(v["apcer"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["model_sha256"].as_str().unwrap().len(), 64);
    // The live scores, from detect: exactly `live_rejected` are >= the threshold.
    let mut scores = Vec::new();
    for l in live.lines() {
        let p = d.join(l.split_whitespace().next().unwrap());
        let out = moae()
            .arg("detect")
            .arg(&model)
            .arg(&p)
            .args(["--whole-frame", "--json", "--calibration"])
            .arg(&calib)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r[0]["faces"][0]["threshold"].as_f64().unwrap() as f32, t);
        scores.push(r[0]["faces"][0]["attack_score"].as_f64().unwrap() as f32);
    }
    let rejected = scores.iter().filter(|&&s| s >= t).count() as u64;
    assert_eq!(
        rejected,
        v["live_rejected"].as_u64().unwrap(),
        "{scores:?} at {t}"
    );
    // A calibration for another model is refused.
    let mut other = v.clone();
    other["model_sha256"] = serde_json::json!("ab".repeat(32));
    let wrong = d.join("other.json");
    std::fs::write(&wrong, other.to_string()).unwrap();
    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(d.join("f0.png"))
        .args(["--whole-frame", "--calibration"])
        .arg(&wrong)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("SHA-256"), "{err}");
    // Another crop scale or face source than the file's is refused, with the fix.
    let detect = |extra: &[&str]| {
        let out = moae()
            .arg("detect")
            .arg(&model)
            .arg(d.join("f0.png"))
            .args(extra)
            .arg("--calibration")
            .arg(&calib)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{extra:?} was accepted");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = detect(&["--whole-frame", "--crop-scale", "1.25"]);
    assert!(
        err.contains("crop scale 1.5") && err.contains("--crop-scale 1.5"),
        "{err}"
    );
    let err = detect(&["--box", "5,5,30,30"]);
    assert!(
        err.contains("whole images (--whole-frame)") && err.contains("(--box)"),
        "{err}"
    );
}

/// Writes a calibration file for `model` (its real SHA-256), `fields` over the defaults.
fn calibration_file(
    dir: &std::path::Path,
    model: &std::path::Path,
    fields: serde_json::Value,
) -> std::path::PathBuf {
    let out = moae().args(["info", "--json"]).arg(model).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut v = serde_json::json!({
        "threshold": 0.5,
        "model_sha256": info["model_sha256"],
        "crop_scale": 1.5,
        "face_source": "whole_frame",
    });
    for (k, x) in fields.as_object().unwrap() {
        v[k] = x.clone();
    }
    let p = dir.join(format!("calib-{}.json", file_tag(&v)));
    std::fs::write(&p, v.to_string()).unwrap();
    p
}

fn file_tag(v: &serde_json::Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

/// Finding 5 of the 0.2 review: a calibration holds only for the faces it was measured on.
/// `detect --calibration` refuses another crop scale, another face source and another face
/// detector (by SHA-256), each with a message that says what to do; a file without these
/// fields (an older calibrate) is refused, and a matching file is accepted.
#[test]
fn detect_refuses_a_calibration_for_other_faces() {
    let (dir, model, img) = fixture();
    let d = dir.path();
    let run = |calib: &std::path::Path, extra: &[&std::ffi::OsStr]| {
        let out = moae()
            .arg("detect")
            .arg(&model)
            .arg(&img)
            .args(extra)
            .arg("--calibration")
            .arg(calib)
            .env_remove("MOAE_FACE_DETECTOR")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let whole = std::ffi::OsStr::new("--whole-frame");
    // The matching file is accepted.
    let ok = calibration_file(d, &model, serde_json::json!({}));
    let (success, err) = run(&ok, &[whole]);
    assert!(success, "{err}");
    // Crop scale.
    let c = calibration_file(d, &model, serde_json::json!({"crop_scale": 2.0}));
    let (success, err) = run(&c, &[whole]);
    assert!(
        !success && err.contains("crop scale 2") && err.contains("--crop-scale 2"),
        "{err}"
    );
    // Missing fields: an older file is refused, not trusted.
    for missing in ["crop_scale", "face_source"] {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&ok).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove(missing);
        let p = d.join(format!("no-{missing}.json"));
        std::fs::write(&p, v.to_string()).unwrap();
        let (success, err) = run(&p, &[whole]);
        assert!(
            !success && err.contains(missing) && err.contains("moae calibrate"),
            "{err}"
        );
    }
    // Face source: a detector calibration used on whole frames, and the reverse.
    let det = d.join("det.onnx");
    std::fs::write(&det, b"a face detector's bytes").unwrap();
    let det_sha = "9c4d2e4ba0a4c0b6f16e1f5de6f8c3b7e38c1e2a07cf1c8c7c0a2c1a6e7f3b21";
    let by_detector = calibration_file(
        d,
        &model,
        serde_json::json!({"face_source": "detector", "detector_sha256": det_sha}),
    );
    let (success, err) = run(&by_detector, &[whole]);
    assert!(
        !success
            && err.contains("faces from the face detector")
            && err.contains("whole images (--whole-frame)"),
        "{err}"
    );
    let (success, err) = run(&ok, &[std::ffi::OsStr::new("--detector"), det.as_os_str()]);
    assert!(
        !success
            && err.contains("whole images (--whole-frame)")
            && err.contains("faces from the face detector"),
        "{err}"
    );
    // Another detector (the file's bytes hash to something else) is refused by SHA-256.
    let (success, err) = run(
        &by_detector,
        &[std::ffi::OsStr::new("--detector"), det.as_os_str()],
    );
    assert!(
        !success
            && err.contains(det_sha)
            && err.contains("face detector")
            && err.contains(&det.display().to_string()),
        "{err}"
    );
    // The same detector passes the calibration checks (and then fails to load: it is not
    // an ONNX file, which is not a calibration matter).
    use sha2::Digest;
    let real: String = sha2::Sha256::digest(std::fs::read(&det).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let same = calibration_file(
        d,
        &model,
        serde_json::json!({"face_source": "detector", "detector_sha256": real}),
    );
    let (success, err) = run(
        &same,
        &[std::ffi::OsStr::new("--detector"), det.as_os_str()],
    );
    assert!(!success && !err.contains("was calibrated"), "{err}");
    // A detector calibration without the detector's SHA-256 is refused.
    let no_sha = calibration_file(d, &model, serde_json::json!({"face_source": "detector"}));
    let (success, err) = run(
        &no_sha,
        &[std::ffi::OsStr::new("--detector"), det.as_os_str()],
    );
    assert!(!success && err.contains("detector_sha256"), "{err}");
}

/// A calibration for another model is refused before anything is scored (no analyze needed).
#[test]
fn detect_refuses_a_calibration_for_another_model() {
    let (dir, model, img) = fixture();
    let wrong = dir.path().join("c.json");
    std::fs::write(
        &wrong,
        serde_json::json!({
            "threshold": 0.3,
            "model_sha256": "cd".repeat(32),
            "crop_scale": 1.5,
            "face_source": "whole_frame",
        })
        .to_string(),
    )
    .unwrap();
    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .args(["--whole-frame", "--calibration"])
        .arg(&wrong)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("SHA-256") && err.contains("moae calibrate"),
        "{err}"
    );
    let out = moae()
        .arg("detect")
        .arg(&model)
        .arg(&img)
        .args(["--whole-frame", "--threshold", "0.2", "--calibration"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "--threshold and --calibration conflict"
    );
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

/// `moae detect` reads the image file as the raw buffer: with --rotation 90 --mirrored and a
/// box in the raw buffer's coordinates (pixels or normalised), the face is the same as the
/// upright image's with its upright box: same returned box, same score.
#[test]
fn detect_geometry_flags_give_the_upright_face() {
    let (dir, model, img) = fixture();
    let (uw, uh) = (80u32, 60u32);
    let up = test_rgb(uw, uh);
    // raw such that rotate_cw(flip_lr(raw), 90) == up: raw is uh x uw.
    let (rw, rh) = (uh, uw);
    let mut raw = vec![0u8; (rw * rh * 3) as usize];
    for y in 0..rh {
        for x in 0..rw {
            let fx = rw - 1 - x;
            let (ux, uy) = (rh - 1 - y, fx);
            let s = ((uy * uw + ux) * 3) as usize;
            let d = ((y * rw + x) * 3) as usize;
            raw[d..d + 3].copy_from_slice(&up[s..s + 3]);
        }
    }
    let raw_png = dir.path().join("raw.png");
    image::RgbImage::from_raw(rw, rh, raw)
        .unwrap()
        .save(&raw_png)
        .unwrap();
    // The upright box (x, y, w, h) = (10, 8, 40, 36) in raw coordinates: for the corner
    // (u, v) of the upright frame, the flipped buffer has (v, rh - u), then x -> rw - x.
    let (bx, by, bw, bh) = (10.0f32, 8.0f32, 40.0f32, 36.0f32);
    let corners = [(bx, by), (bx + bw, by + bh)];
    let pts: Vec<(f32, f32)> = corners
        .iter()
        .map(|&(u, v)| (rw as f32 - v, rh as f32 - u))
        .collect();
    let (x0, x1) = (pts[0].0.min(pts[1].0), pts[0].0.max(pts[1].0));
    let (y0, y1) = (pts[0].1.min(pts[1].1), pts[0].1.max(pts[1].1));
    let run = |args: &[&str], file: &std::path::Path| {
        let out = moae()
            .arg("detect")
            .arg(&model)
            .arg(file)
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["faces"][0].clone()
    };
    let reference = run(&["--box", &format!("{bx},{by},{bw},{bh}")], &img);
    let a0 = reference["attack_score"].as_f64().unwrap();
    let raw_px = format!("{x0},{y0},{},{}", x1 - x0, y1 - y0);
    let raw_norm = format!(
        "{},{},{},{}",
        x0 / rw as f32,
        y0 / rh as f32,
        (x1 - x0) / rw as f32,
        (y1 - y0) / rh as f32
    );
    let geometry = ["--box-space", "raw", "--rotation", "90", "--mirrored"];
    for (what, b, norm) in [
        ("raw pixels", &raw_px, false),
        ("raw normalised", &raw_norm, true),
    ] {
        let mut args: Vec<&str> = vec!["--box", b];
        args.extend(geometry);
        if norm {
            args.push("--normalized");
        }
        let f = run(&args, &raw_png);
        let a = f["attack_score"].as_f64().unwrap();
        assert!((a - a0).abs() < 1e-5, "{what}: {a} vs upright {a0}");
        for (k, want) in [("x", bx), ("y", by), ("width", bw), ("height", bh)] {
            let got = f["box"][k].as_f64().unwrap() as f32;
            assert!((got - want).abs() < 1e-3, "{what}: box {k} {got} vs {want}");
        }
    }
    // The whole raw file with --rotation/--mirrored is the upright image as well.
    let whole_up = run(&["--whole-frame"], &img);
    let whole_raw = run(
        &["--whole-frame", "--rotation", "90", "--mirrored"],
        &raw_png,
    );
    assert!(
        (whole_up["attack_score"].as_f64().unwrap() - whole_raw["attack_score"].as_f64().unwrap())
            .abs()
            < 1e-5
    );
}
