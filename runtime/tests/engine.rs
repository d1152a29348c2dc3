//! The engine on ONNX Runtime with tiny hand-built models whose scores are known analytically.
//! Needs libonnxruntime: ORT_DYLIB_PATH (scripts/test.sh sets it).

mod support;

use moae_runtime::{
    Engine, EngineOptions, Error, ExecutionProvider, FaceBox, Frame, PixelFormat, ProviderPolicy,
    Rotation,
};
use std::sync::Arc;
use support::*;

/// These tests score synthetic whole images (pre-cropped "faces"): whole_frame is set.
fn opts() -> EngineOptions {
    EngineOptions {
        ort_library_path: Some(ort_path()),
        intra_op_threads: 1,
        whole_frame: true,
        ..EngineOptions::default()
    }
}

#[test]
fn without_whole_frame_no_box_is_an_error_never_a_centre_score() {
    let o = EngineOptions {
        whole_frame: false,
        ..opts()
    };
    let e = engine(&ModelSpec::default(), &o);
    let (w, h) = (64, 48);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    for r in [e.detect(&f, &[]), e.detect_batch(&[(f, None)])] {
        match r {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("whole_frame"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    // A box still works, and a box under the minimum face size is refused.
    assert!(e
        .detect(&f, &[FaceBox::new(10.0, 10.0, 20.0, 20.0)])
        .is_ok());
    let tiny = e.detect(&f, &[FaceBox::new(10.0, 10.0, 0.5, 0.5)]);
    assert!(
        matches!(tiny, Err(Error::InvalidFaceBox(ref m)) if m.contains("at least 16")),
        "{tiny:?}"
    );
}

fn engine(spec: &ModelSpec, o: &EngineOptions) -> Engine {
    Engine::from_bytes(&linear_model(spec), o).unwrap()
}

fn assert_scores(pixels: &[f32], s: &moae_runtime::Scores) {
    let (logits, attack) = expected_scores(pixels);
    assert!(
        (s.logits[0] - logits[0]).abs() < 1e-4,
        "{:?} vs {logits:?}",
        s.logits
    );
    assert!(
        (s.logits[1] - logits[1]).abs() < 1e-4,
        "{:?} vs {logits:?}",
        s.logits
    );
    assert!((s.attack_score - attack).abs() < 1e-5);
    assert!((s.attack_score + s.live_score - 1.0).abs() < 1e-5);
}

#[test]
fn loads_and_reports_metadata() {
    let e = engine(&ModelSpec::default(), &opts());
    let i = e.info();
    assert_eq!(i.input_size, 32);
    assert_eq!(i.provider, ExecutionProvider::Cpu);
    assert_eq!(i.fallback_reason, None);
    assert_eq!(i.threshold, 0.5);
    assert!(i.threshold_calibrated);
    assert_eq!(i.meta.preset, "test-linear");
    assert_eq!(i.fixed_batch, None);
    assert_eq!(i.model_sha256.len(), 64);
    assert!(i.ort_library.exists());
}

#[test]
fn scores_match_the_model_analytically() {
    let e = engine(&ModelSpec::default(), &opts());
    let (w, h) = (96, 64);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    let pixels = e.preprocess(&f, None).unwrap();
    let s = e.run_tensor(&pixels, 1).unwrap();
    assert_scores(&pixels, &s[0]);
    let d = e.detect(&f, &[]).unwrap();
    assert_eq!(d.len(), 1);
    assert!((d[0].attack_score - s[0].attack_score).abs() < 1e-6);
    assert_eq!(d[0].is_attack, d[0].attack_score >= 0.5);
    assert_eq!(d[0].provider, ExecutionProvider::Cpu);
}

#[test]
fn ort_telemetry_is_switched_off() {
    // Microsoft's ORT builds start a telemetry uploader thread at environment creation unless
    // this is set (no network at run time). Fails if a host exported another value.
    let _e = engine(&ModelSpec::default(), &opts());
    assert_eq!(std::env::var("ORT_DISABLE_TELEMETRY").as_deref(), Ok("1"));
}

#[test]
fn spinning_on_and_off_both_score_right() {
    // ORT rejects a session config it cannot parse, so this also checks the spinning entries.
    let (w, h) = (96, 64);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    for allow_spinning in [false, true] {
        let o = EngineOptions {
            intra_op_threads: 2,
            allow_spinning,
            ..opts()
        };
        let e = engine(&ModelSpec::default(), &o);
        let pixels = e.preprocess(&f, None).unwrap();
        let s = e.run_tensor(&pixels, 1).unwrap();
        assert_scores(&pixels, &s[0]);
    }
}

#[test]
fn batch_and_faces_match_single_runs() {
    let e = engine(&ModelSpec::default(), &opts());
    let (w, h) = (120, 90);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    let faces = [
        FaceBox::new(5.0, 5.0, 30.0, 30.0),
        FaceBox::new(60.0, 40.0, 40.0, 30.0),
        FaceBox::new(100.0, 70.0, 40.0, 40.0), // partly outside: clipped
    ];
    let many = e.detect(&f, &faces).unwrap();
    assert_eq!(many.len(), 3);
    for (b, d) in faces.iter().zip(&many) {
        let px = e.preprocess(&f, Some(*b)).unwrap();
        let single = e.run_tensor(&px, 1).unwrap()[0];
        assert_scores(&px, &single);
        assert!((d.attack_score - single.attack_score).abs() < 1e-6);
    }
    // Distinct crops give distinct scores (the test can fail if faces were ignored).
    assert!((many[0].attack_score - many[1].attack_score).abs() > 1e-4);
    let batch = e.detect_batch(&[(f, Some(faces[1]))]).unwrap();
    assert!((batch[0].attack_score - many[1].attack_score).abs() < 1e-6);
}

/// Frames stored rotated, in one batch with the upright one, score as the upright frame — on a
/// model that sees pixel positions (the averaging test model could not tell a wrong rotation),
/// and the wrong rotations are shown to score differently.
#[test]
fn batch_rotations_match_the_upright_frame() {
    let e = Engine::from_bytes(&spatial_model(32), &opts()).unwrap();
    let (w, h) = (120, 90);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    let face = FaceBox::new(50.0, 20.0, 40.0, 50.0);
    for (deg, rot) in [
        (90, Rotation::R90),
        (180, Rotation::R180),
        (270, Rotation::R270),
    ] {
        let (px, rw, rh) = rotate_ccw(&rgb, w, h, 3, deg);
        let stored = Frame::packed(PixelFormat::Rgb, &px, rw, rh, 3 * rw as usize).unwrap();
        let batch = e
            .detect_batch(&[
                (f, None),
                (stored.with_rotation(rot), None),
                (f, Some(face)),
                (stored.with_rotation(rot), Some(face)),
            ])
            .unwrap();
        assert!(
            (batch[0].attack_score - batch[1].attack_score).abs() < 1e-5,
            "{deg}: whole frame {} vs {}",
            batch[0].attack_score,
            batch[1].attack_score
        );
        assert!(
            (batch[2].attack_score - batch[3].attack_score).abs() < 1e-5,
            "{deg}: face {} vs {}",
            batch[2].attack_score,
            batch[3].attack_score
        );
        // Every other rotation of the stored frame gives another score: the check can fail.
        for wrong in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
            if wrong == rot {
                continue;
            }
            let d = e.detect(&stored.with_rotation(wrong), &[]).unwrap()[0];
            assert!(
                (d.attack_score - batch[0].attack_score).abs() > 1e-4,
                "{deg} stored, {wrong:?} applied: same score as upright"
            );
        }
    }
}

#[test]
fn threshold_override_changes_the_decision() {
    let (w, h) = (64, 64);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    let e = engine(&ModelSpec::default(), &opts());
    let score = e.detect(&f, &[]).unwrap()[0].attack_score;
    for thr in [score - 0.01, score + 0.01] {
        let o = EngineOptions {
            threshold: Some(thr),
            ..opts()
        };
        let d = engine(&ModelSpec::default(), &o).detect(&f, &[]).unwrap()[0];
        assert_eq!(d.threshold, thr);
        assert_eq!(d.is_attack, score >= thr);
    }
}

#[test]
fn fixed_batch_model_is_run_in_chunks() {
    let spec = ModelSpec {
        fixed_batch: Some(1),
        ..ModelSpec::default()
    };
    let e = engine(&spec, &opts());
    assert_eq!(e.info().fixed_batch, Some(1));
    let (w, h) = (80, 60);
    let rgb = test_rgb(w, h);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    let faces = [
        FaceBox::new(0.0, 0.0, 30.0, 30.0),
        FaceBox::new(40.0, 20.0, 30.0, 30.0),
    ];
    let d = e.detect(&f, &faces).unwrap();
    for (b, d) in faces.iter().zip(&d) {
        let px = e.preprocess(&f, Some(*b)).unwrap();
        assert!((d.attack_score - expected_scores(&px).1).abs() < 1e-5);
    }
}

/// 8 threads x 50 detections on one engine give exactly the sequential scores.
fn threads_match_sequential(max_sessions: usize) {
    let o = EngineOptions {
        max_sessions,
        ..opts()
    };
    let e = Arc::new(engine(&ModelSpec::default(), &o));
    let (w, h) = (64, 48);
    let rgb = Arc::new(test_rgb(w, h));
    let face = |i: usize| FaceBox::new((i % 30) as f32, (i % 17) as f32, 20.0, 24.0);
    let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
    let seq: Vec<f32> = (0..50)
        .map(|i| e.detect(&f, &[face(i)]).unwrap()[0].attack_score)
        .collect();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (e, rgb) = (e.clone(), rgb.clone());
            std::thread::spawn(move || {
                let f = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
                (0..50)
                    .map(|k| {
                        let i = (k + 7 * t) % 50;
                        (i, e.detect(&f, &[face(i)]).unwrap()[0].attack_score)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for (i, s) in h.join().unwrap() {
            assert_eq!(s, seq[i], "detection {i}");
        }
    }
}

#[test]
fn eight_threads_share_one_engine_one_session() {
    threads_match_sequential(1);
}

#[test]
fn eight_threads_share_one_engine_session_pool() {
    threads_match_sequential(4);
}

#[test]
fn corrupt_and_foreign_models_are_model_errors() {
    let good = linear_model(&ModelSpec::default());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"this is not an onnx file at all".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        (
            "foreign (no metadata)",
            linear_model(&ModelSpec {
                with_meta: false,
                ..ModelSpec::default()
            }),
        ),
        (
            "wrong input name",
            linear_model(&ModelSpec {
                input_name: "images",
                ..ModelSpec::default()
            }),
        ),
    ];
    for (what, bytes) in cases {
        match Engine::from_bytes(&bytes, &opts()) {
            Err(Error::Model(msg)) => assert!(!msg.is_empty(), "{what}"),
            Err(e) => panic!("{what}: wrong error {e}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
}

#[test]
fn sha256_pin_is_checked() {
    use sha2::{Digest, Sha256};
    let bytes = linear_model(&ModelSpec::default());
    let good: [u8; 32] = Sha256::digest(&bytes).into();
    let o = EngineOptions {
        model_sha256: Some(good),
        ..opts()
    };
    assert!(Engine::from_bytes(&bytes, &o).is_ok());
    let mut bad = good;
    bad[0] ^= 1;
    let o = EngineOptions {
        model_sha256: Some(bad),
        ..opts()
    };
    assert!(matches!(
        Engine::from_bytes(&bytes, &o),
        Err(Error::ModelHash { .. })
    ));
}

#[test]
fn from_path_loads_and_missing_file_is_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.onnx");
    std::fs::write(&p, linear_model(&ModelSpec::default())).unwrap();
    let o = EngineOptions {
        max_sessions: 2,
        ..opts()
    };
    assert_eq!(Engine::from_path(&p, &o).unwrap().info().input_size, 32);
    assert!(matches!(
        Engine::from_path(dir.path().join("nope.onnx"), &o),
        Err(Error::Io { .. })
    ));
}

#[test]
fn unavailable_provider_falls_back_or_errors_per_policy() {
    // The CPU-only libonnxruntime of the test machine has no CUDA/TensorRT/CoreML; on a
    // machine that has one, this test only checks consistency.
    let bytes = linear_model(&ModelSpec::default());
    for p in [
        ExecutionProvider::Cuda,
        ExecutionProvider::TensorRt,
        ExecutionProvider::CoreMl,
    ] {
        let fallback = EngineOptions {
            providers: vec![p, ExecutionProvider::Cpu],
            ..opts()
        };
        let e = Engine::from_bytes(&bytes, &fallback).unwrap();
        let require = EngineOptions {
            policy: ProviderPolicy::Require,
            ..fallback.clone()
        };
        let r = Engine::from_bytes(&bytes, &require);
        if e.info().provider == p {
            assert!(r.is_ok());
        } else {
            assert_eq!(e.info().provider, ExecutionProvider::Cpu);
            let why = e.info().fallback_reason.clone().unwrap();
            assert!(why.contains(p.name()), "{why}");
            match r {
                Err(Error::ProviderUnavailable { provider, reason }) => {
                    assert_eq!(provider, p.name());
                    assert!(!reason.is_empty());
                }
                other => panic!("{p}: expected ProviderUnavailable, got {:?}", other.err()),
            }
        }
    }
}

#[test]
fn bad_run_tensor_arguments_are_errors() {
    let e = engine(&ModelSpec::default(), &opts());
    assert!(matches!(
        e.run_tensor(&[0.0; 10], 1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        e.run_tensor(&[], 0),
        Err(Error::InvalidArgument(_))
    ));
    let bad = EngineOptions {
        crop_scale: 0.0,
        ..opts()
    };
    assert!(matches!(
        Engine::from_bytes(&linear_model(&ModelSpec::default()), &bad),
        Err(Error::InvalidArgument(_))
    ));
}
