//! Issue 5: a model exported by the trainer gives, through the runtime (`moae_runtime::Engine`),
//! the scores tch gives (≤ 1e-4), one frame at a time and as one batch. tch's input is computed
//! here, independently of the runtime, from the documented preprocessing (centre square of the
//! frame, area-average downscale, `(v / 255 - mean) / std` with the checkpoint's mean/std), so a
//! preprocessing fault in the runtime shows as well as a graph fault. Its own test binary: the
//! runtime initialises ONNX Runtime itself.

use moae_runtime::{Engine, EngineOptions, Frame, PixelFormat};
use moae_tests::*;
use moae_trainer::export::WeightFormat;
use moae_trainer::model::config::Variant;
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

/// Area-average weights of output pixel `k` over source pixels, the resample rule documented in
/// runtime/src/image/resample/mod.rs for downscaling: output `k` is the mean of the source over
/// `[a + k t, a + (k + 1) t)`, each source pixel weighted by its overlap.
fn area_taps(a: f64, t: f64, k: usize) -> Vec<(usize, f64)> {
    let (lo, hi) = (a + k as f64 * t, a + (k + 1) as f64 * t);
    (lo.floor() as usize..hi.ceil() as usize)
        .map(|p| (p, ((p + 1) as f64).min(hi) - (p as f64).max(lo)))
        .filter(|&(_, w)| w > 0.0)
        .map(|(p, w)| (p, w / t))
        .collect()
}

/// The model input of one packed RGB frame by the documented rule, written out plainly:
/// the centred square of side min(w, h), area-averaged down to `s` x `s`, normalised; CHW.
fn reference_input(
    rgb: &[u8],
    w: u32,
    h: u32,
    s: usize,
    mean: [f32; 3],
    std: [f32; 3],
) -> Vec<f32> {
    let side = w.min(h) as f64;
    assert!(side >= s as f64, "the reference covers downscaling only");
    let (x0, y0) = ((w as f64 - side) / 2.0, (h as f64 - side) / 2.0);
    let t = side / s as f64;
    let mut out = vec![0f32; 3 * s * s];
    for oy in 0..s {
        let ty = area_taps(y0, t, oy);
        for ox in 0..s {
            let tx = area_taps(x0, t, ox);
            for c in 0..3 {
                let mut v = 0f64;
                for &(sy, wy) in &ty {
                    for &(sx, wx) in &tx {
                        v += wy * wx * rgb[(sy * w as usize + sx) * 3 + c] as f64;
                    }
                }
                out[c * s * s + oy * s + ox] =
                    ((v / 255.0 - mean[c] as f64) / std[c] as f64) as f32;
            }
        }
    }
    out
}

#[test]
fn runtime_scores_equal_tch_scores() {
    let (vs, model) = random_model("tiny", Variant::Moae, 21);
    let class_emb = default_class_embeddings(&model);
    let bytes = export_model(&model, &vs, &class_emb, WeightFormat::Fp32, false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny-moae.onnx");
    std::fs::write(&path, &bytes).unwrap();
    // The frames are the model's whole input (pre-cropped): whole_frame.
    let opts = EngineOptions {
        whole_frame: true,
        ..Default::default()
    };
    let engine = Engine::from_path(&path, &opts).expect("engine");
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

    // tch's input by the documented rule, computed here; the runtime's own must equal it.
    let (mean, std) = (model.cfg.vision.mean, model.cfg.vision.std);
    let mut flat = Vec::new();
    for (i, ((w, h, rgb), f)) in images.iter().zip(&frames).enumerate() {
        let reference = reference_input(rgb, *w, *h, s as usize, mean, std);
        let runtime = engine.preprocess(f, None).unwrap();
        let d = reference
            .iter()
            .zip(&runtime)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            d <= 1e-4,
            "frame {i}: runtime preprocessing differs from the reference by {d}"
        );
        flat.extend(reference);
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
