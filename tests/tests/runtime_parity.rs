//! Issue 5: a model exported by the trainer gives, through the runtime (`moae_runtime::Engine`),
//! the scores tch gives on the same preprocessed input (≤ 1e-4), one frame at a time and as
//! one batch. Its own test binary: the runtime initialises ONNX Runtime itself.

use moae_runtime::{Engine, EngineOptions, Frame, PixelFormat};
use moae_tests::*;
use moae_trainer::config::Variant;
use moae_trainer::export::WeightFormat;
use tch::{Kind, Tensor};

/// A deterministic RGB test frame with structure at several scales.
fn frame_rgb(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let r = (x * 7 + y * 3 + seed * 31) % 256;
            let g = ((x ^ y) * 5 + seed * 17) % 256;
            let b = ((x / 4 + y / 4) * 29 + seed) % 256;
            v.extend_from_slice(&[r as u8, g as u8, b as u8]);
        }
    }
    v
}

#[test]
fn runtime_scores_equal_tch_scores() {
    let (vs, model) = random_model("tiny", Variant::Moae, 21);
    let class_emb = default_class_embeddings(&model);
    let bytes = export_model(&model, &vs, &class_emb, WeightFormat::Fp32, false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-moae.onnx");
    std::fs::write(&path, &bytes).unwrap();
    let engine = Engine::from_path(&path, &EngineOptions::default()).expect("engine");
    let s = engine.info().input_size as i64;

    let images: Vec<(u32, u32, Vec<u8>)> = [(97u32, 61u32), (64, 64), (50, 120)]
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| (w, h, frame_rgb(w, h, i as u32)))
        .collect();
    let frames: Vec<Frame> = images
        .iter()
        .map(|(w, h, px)| Frame::packed(PixelFormat::Rgb, px, *w, *h, *w as usize * 3).unwrap())
        .collect();

    // The runtime's preprocessed input, fed to tch.
    let mut flat = Vec::new();
    for f in &frames {
        flat.extend(engine.preprocess(f, None).unwrap());
    }
    let n = frames.len() as i64;
    let px = Tensor::from_slice(&flat).view([n, 3, s, s]);
    let want = values(
        &tch_logits(&model, &class_emb, &px)
            .softmax(-1, Kind::Float)
            .select(1, 1),
    );

    // One frame at a time through detect, and all at once through run_tensor / detect_batch.
    for (i, f) in frames.iter().enumerate() {
        let d = engine.detect(f, &[]).unwrap();
        assert_eq!(d.len(), 1);
        assert!(
            (d[0].attack_score - want[i]).abs() <= 1e-4,
            "frame {i}: {} vs {}",
            d[0].attack_score,
            want[i]
        );
        assert!((d[0].attack_score + d[0].live_score - 1.0).abs() <= 1e-5);
    }
    let batch = engine.run_tensor(&flat, frames.len()).unwrap();
    let items: Vec<_> = frames.iter().map(|f| (*f, None)).collect();
    let detections = engine.detect_batch(&items).unwrap();
    for i in 0..frames.len() {
        assert!((batch[i].attack_score - want[i]).abs() <= 1e-4, "batch {i}");
        assert!(
            (detections[i].attack_score - want[i]).abs() <= 1e-4,
            "detect_batch {i}"
        );
    }
    // The scores differ between frames: the comparison is not between constants.
    assert!((want[0] - want[1]).abs() > 1e-4 || (want[1] - want[2]).abs() > 1e-4);
}
