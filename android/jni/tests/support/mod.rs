//! Test fixtures for the host JVM test: a tiny libmoae-format ONNX model and synthetic frames.

use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{meta, Attr, Dim, GraphBuilder, ModelMeta};

/// Side of the tiny model's square input.
pub const INPUT_SIZE: u32 = 16;

/// A small but position-sensitive model in the exported format: logits = flatten(pixels) @ W
/// + b with fixed pseudo-random W, so rotation, crop and colour changes all move the score.
pub fn tiny_model(threshold: f32) -> Vec<u8> {
    let s = INPUT_SIZE as i64;
    let n = (3 * s * s) as usize;
    let mut g = GraphBuilder::new("moae_jni_test");
    let x = g.input(
        meta::INPUT_PIXELS,
        DataType::Float,
        &[Dim::batch(), 3.into(), s.into(), s.into()],
    );
    let mut seed = 0x2545_f491_u32;
    let w: Vec<f32> = (0..n * 2)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed % 2001) as f32 / 1000.0 - 1.0
        })
        .map(|v| v * 0.05)
        .collect();
    let wn = g.initializer_f32("w", &[n as i64, 2], &w);
    let bn = g.initializer_f32("b", &[2], &[0.1, -0.1]);
    let flat = g.op("Flatten", &[&x], vec![Attr::int("axis", 1)]);
    let mm = g.op("MatMul", &[&flat, &wn], vec![]);
    let logits = g.op("Add", &[&mm, &bn], vec![]);
    let probs = g.op("Softmax", &[&logits], vec![Attr::int("axis", 1)]);
    let idx = g.const_i64("attack_index", &[1]);
    let attack2d = g.op("Gather", &[&probs, &idx], vec![Attr::int("axis", 1)]);
    let shape = g.const_i64("attack_shape", &[-1]);
    let attack = g.op("Reshape", &[&attack2d, &shape], vec![]);
    g.output(&logits, meta::OUTPUT_LOGITS, DataType::Float, &[Dim::batch(), 2.into()]);
    g.output(&attack, meta::OUTPUT_ATTACK_SCORE, DataType::Float, &[Dim::batch()]);
    let m = ModelMeta {
        format_version: meta::FORMAT_VERSION,
        config_json: "{\"preset\":\"test\"}".into(),
        preset: "test".into(),
        variant: "linear".into(),
        input_size: INPUT_SIZE,
        mean: [0.481_454_66, 0.457_827_5, 0.408_210_73],
        std: [0.268_629_54, 0.261_302_6, 0.275_777_1],
        classes: meta::CLASSES.iter().map(|s| s.to_string()).collect(),
        threshold,
        threshold_calibrated: false,
        precision: "fp32".into(),
        checkpoint_sha256: "0".repeat(64),
        producer: "moae-jni tests".into(),
    };
    let model = g.finish(moae_onnx::OPSET, moae_onnx::IR_VERSION, "moae-jni-tests 0", Some(&m));
    moae_onnx::to_bytes(&model)
}

/// A deterministic, non-symmetric test pattern value for pixel (x, y), channel c.
pub fn pattern(x: u32, y: u32, c: u32, seed: u32) -> u8 {
    let v = x.wrapping_mul(7 + c) ^ y.wrapping_mul(13 + 3 * c) ^ seed.wrapping_mul(31);
    (v.wrapping_add(x * y / 3) % 251) as u8
}

/// RGBA rows of `stride` bytes (padding bytes are 0xEE, never read as pixels).
pub fn rgba(w: u32, h: u32, stride: usize, seed: u32) -> Vec<u8> {
    let mut out = vec![0xEE; stride * h as usize];
    for y in 0..h {
        for x in 0..w {
            let o = y as usize * stride + x as usize * 4;
            for c in 0..3 {
                out[o + c as usize] = pattern(x, y, c, seed);
            }
            out[o + 3] = 255;
        }
    }
    out
}

/// A Y plane of `y_stride` and an interleaved V,U plane of `uv_stride` (NV21 order).
pub fn yuv_planes(w: u32, h: u32, y_stride: usize, uv_stride: usize, seed: u32) -> (Vec<u8>, Vec<u8>) {
    let mut y = vec![0x10; y_stride * h as usize];
    for r in 0..h {
        for x in 0..w {
            y[r as usize * y_stride + x as usize] = pattern(x, r, 0, seed);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut vu = vec![0x80; uv_stride * ch as usize];
    for r in 0..ch {
        for x in 0..cw {
            let o = r as usize * uv_stride + 2 * x as usize;
            vu[o] = pattern(x, r, 1, seed).wrapping_add(64);
            vu[o + 1] = pattern(x, r, 2, seed).wrapping_sub(32);
        }
    }
    (y, vu)
}
