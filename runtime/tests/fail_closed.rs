//! Issue 14, "fail closed", at the runtime's API: no decision from a non-finite number, every
//! resource bounded before ONNX Runtime is touched, many boxes run in bounded chunks with the
//! results of single runs.

mod models;
mod support;

use moae_onnx::meta::ModelMeta;
use moae_runtime::{
    Engine, EngineOptions, Error, FaceBox, Frame, PixelFormat, BOX_CHUNK, MAX_CROP_SCALE,
    MAX_INTRA_OP_THREADS, MAX_SESSIONS,
};
use models::{model, nan_model};
use support::*;

/// Synthetic whole images as the "faces": whole_frame is set.
fn opts() -> EngineOptions {
    EngineOptions {
        intra_op_threads: 1,
        whole_frame: true,
        ..EngineOptions::default()
    }
}

fn gray(w: u32, h: u32) -> Vec<u8> {
    (0..w * h).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_nan_score_is_an_inference_error_never_live() {
    let e = Engine::from_bytes(&nan_model(&test_meta(32, 0.5)), &opts())
        .expect("the model itself is well-formed");
    let px = gray(40, 30);
    let frame = Frame::packed(PixelFormat::Gray, &px, 40, 30, 40).unwrap();
    match e.detect(&frame, &[]) {
        Err(Error::Inference(m)) => assert!(m.contains("non-finite"), "{m}"),
        other => panic!("a NaN score must not become a decision: {other:?}"),
    }
    let pixels = vec![0.0f32; e.input_len()];
    assert!(matches!(e.run_tensor(&pixels, 1), Err(Error::Inference(_))));
}

#[test]
fn non_finite_or_out_of_range_metadata_is_a_model_error_at_load() {
    type Edit = fn(&mut ModelMeta);
    let cases: [(&str, Edit); 4] = [
        ("nan mean", |m| m.mean[1] = f32::NAN),
        ("infinite mean", |m| m.mean[0] = f32::INFINITY),
        ("huge mean", |m| m.mean[2] = 1e9),
        ("denormal std", |m| m.std[0] = 1e-30),
    ];
    for (what, edit) in cases {
        let mut meta = test_meta(32, 0.5);
        edit(&mut meta);
        match Engine::from_bytes(&model(B, &meta), &opts()) {
            Err(Error::Model(m)) => assert!(m.contains("metadata"), "{what}: {m}"),
            Err(other) => panic!("{what}: expected a model error, got {other}"),
            Ok(_) => panic!("{what}: loaded"),
        }
    }
}

#[test]
fn limits_are_checked_before_onnx_runtime_is_loaded() {
    // A library path that cannot load: the option error must come first.
    let base = EngineOptions {
        ort_library_path: Some("/nonexistent/libonnxruntime.so".into()),
        ..EngineOptions::default()
    };
    let bad = [
        EngineOptions {
            intra_op_threads: 100_000,
            ..base.clone()
        },
        EngineOptions {
            intra_op_threads: MAX_INTRA_OP_THREADS + 1,
            ..base.clone()
        },
        EngineOptions {
            max_sessions: MAX_SESSIONS + 1,
            ..base.clone()
        },
        EngineOptions {
            crop_scale: 1e30,
            ..base.clone()
        },
        EngineOptions {
            crop_scale: MAX_CROP_SCALE * 1.01,
            ..base.clone()
        },
        EngineOptions {
            threshold: Some(f32::NAN),
            ..base.clone()
        },
    ];
    let bytes = linear_model(&ModelSpec::default());
    for o in bad {
        match Engine::from_bytes(&bytes, &o) {
            Err(Error::InvalidArgument(_)) => {}
            other => panic!("{o:?}: expected InvalidArgument, got {:?}", other.err()),
        }
    }
    // At the limits, loading proceeds (here to the ORT library error).
    let edge = EngineOptions {
        intra_op_threads: MAX_INTRA_OP_THREADS,
        max_sessions: MAX_SESSIONS,
        crop_scale: MAX_CROP_SCALE,
        ..base
    };
    assert!(matches!(
        Engine::from_bytes(&bytes, &edge),
        Err(Error::OrtLibrary { .. })
    ));
}

#[test]
fn many_boxes_run_in_chunks_with_the_results_of_single_runs() {
    let e = Engine::from_bytes(&spatial_model(24), &opts()).unwrap();
    let (w, h) = (120u32, 90u32);
    let px = gray(w, h);
    let frame = Frame::packed(PixelFormat::Gray, &px, w, h, w as usize).unwrap();
    let n = 2 * BOX_CHUNK + 5;
    let boxes: Vec<FaceBox> = (0..n)
        .map(|i| FaceBox::new((i * 2) as f32, (i % 40) as f32, 20.0 + i as f32 % 7.0, 24.0))
        .collect();
    let all = e.detect(&frame, &boxes).unwrap();
    assert_eq!(all.len(), n);
    let mut distinct: Vec<f32> = all.iter().map(|d| d.attack_score).collect();
    for (b, d) in boxes.iter().zip(&all) {
        let one = e.detect(&frame, std::slice::from_ref(b)).unwrap()[0];
        assert!(
            (one.attack_score - d.attack_score).abs() <= 1e-6,
            "{b:?}: chunked {} vs single {}",
            d.attack_score,
            one.attack_score
        );
        assert_eq!(one.is_attack, d.is_attack);
    }
    distinct.sort_by(f32::total_cmp);
    distinct.dedup();
    assert!(distinct.len() > n / 2, "the boxes should score differently");
    // A bad box anywhere fails the whole call, before any inference.
    let mut bad = boxes.clone();
    bad[n - 1] = FaceBox::new(0.0, 0.0, f32::MAX, f32::MAX);
    assert!(matches!(
        e.detect(&frame, &bad),
        Err(Error::InvalidFaceBox(_))
    ));
}
