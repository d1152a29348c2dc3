//! Test support: tiny ONNX models with known outputs (built with moae-onnx's graph builder),
//! and synthetic images. Independent of the trainer (no libtorch).
#![allow(dead_code, clippy::excessive_precision)] // CLIP constants as published

use moae_onnx::meta::{self, ModelMeta, CLASSES, FORMAT_VERSION};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{to_bytes, Attr, Dim, GraphBuilder, IR_VERSION, OPSET};

pub fn test_meta(size: u32, threshold: f32) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: "{}".into(),
        preset: "test-linear".into(),
        variant: "test".into(),
        input_size: size,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.26862954, 0.26130258, 0.27577711],
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        attack_types: Vec::new(),
        threshold,
        threshold_calibrated: true,
        precision: "fp32".into(),
        checkpoint_sha256: String::new(),
        producer: "moae-runtime tests".into(),
    }
}

/// The test model's weights: logits = mean_c(x) @ W + B, mean over H, W of each channel.
pub const W: [[f32; 2]; 3] = [[0.5, -1.0], [-0.25, 0.75], [1.0, 0.5]];
pub const B: [f32; 2] = [0.1, -0.2];

/// Options for [`linear_model`].
pub struct ModelSpec {
    pub size: u32,
    pub threshold: f32,
    /// None: a dynamic batch dimension.
    pub fixed_batch: Option<i64>,
    /// Write the libmoae metadata (false: a "foreign" ONNX).
    pub with_meta: bool,
    pub input_name: &'static str,
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            size: 32,
            threshold: 0.5,
            fixed_batch: None,
            with_meta: true,
            input_name: meta::INPUT_PIXELS,
        }
    }
}

/// A valid ONNX model: pixel_values [N,3,S,S] -> ReduceMean(H,W) -> MatMul W -> Add B
/// -> logits [N,2]; Softmax -> Gather(1) -> attack_score [N].
pub fn linear_model(spec: &ModelSpec) -> Vec<u8> {
    let s = spec.size as i64;
    let n = match spec.fixed_batch {
        Some(b) => Dim::Fixed(b),
        None => Dim::batch(),
    };
    let mut g = GraphBuilder::new("moae-test");
    let x = g.input(
        spec.input_name,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let wflat: Vec<f32> = W.iter().flatten().copied().collect();
    let w = g.initializer_f32("W", &[3, 2], &wflat);
    let b = g.initializer_f32("B", &[2], &B);
    let m = g.op(
        "ReduceMean",
        &[&x],
        vec![Attr::ints("axes", &[2, 3]), Attr::int("keepdims", 0)],
    );
    let mw = g.op("MatMul", &[&m, &w], vec![]);
    let logits = g.op("Add", &[&mw, &b], vec![]);
    g.classifier_outputs(&logits, &n);
    let meta = spec.with_meta.then(|| test_meta(spec.size, spec.threshold));
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-runtime-tests", meta.as_ref()))
}

/// A model that sees where each pixel is (logits = flatten(x) W + B with deterministic
/// weights, no average over H and W): a rotation, flip or crop shift changes its score, which
/// [`linear_model`] cannot show.
pub fn spatial_model(size: u32) -> Vec<u8> {
    let s = size as i64;
    let features = 3 * s * s;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let w: Vec<f32> = (0..features * 2)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
        })
        .collect();
    let n = Dim::batch();
    let mut g = GraphBuilder::new("moae-test-spatial");
    let x = g.input(
        meta::INPUT_PIXELS,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let w = g.initializer_f32("W", &[features, 2], &w);
    let b = g.initializer_f32("B", &[2], &B);
    let flat = g.op("Flatten", &[&x], vec![Attr::int("axis", 1)]);
    let mw = g.op("MatMul", &[&flat, &w], vec![]);
    let logits = g.op("Add", &[&mw, &b], vec![]);
    g.classifier_outputs(&logits, &n);
    let m = test_meta(size, 0.5);
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-runtime-tests", Some(&m)))
}

/// Expected (logits, attack score) of [`linear_model`] for one preprocessed CHW input.
pub fn expected_scores(chw: &[f32]) -> ([f32; 2], f32) {
    let n = chw.len() / 3;
    let mut mean = [0f64; 3];
    for c in 0..3 {
        mean[c] = chw[c * n..(c + 1) * n]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>()
            / n as f64;
    }
    let mut l = [B[0] as f64, B[1] as f64];
    for c in 0..3 {
        for k in 0..2 {
            l[k] += mean[c] * W[c][k] as f64;
        }
    }
    let attack = 1.0 / (1.0 + (l[0] - l[1]).exp());
    ([l[0] as f32, l[1] as f32], attack as f32)
}

/// A deterministic RGB test image: smooth gradients plus a checker and a disc, so that
/// resampling, rotation and colour errors all show.
pub fn test_rgb(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32;
            let checker = if ((x / 7) + (y / 5)) % 2 == 0 {
                30.0
            } else {
                0.0
            };
            let dx = fx - 0.6;
            let dy = fy - 0.4;
            let disc = if dx * dx + dy * dy < 0.03 { 60.0 } else { 0.0 };
            let r = 40.0 + 150.0 * fx + checker;
            let g = 30.0 + 120.0 * fy + disc;
            let b = 200.0 - 120.0 * fx * fy + checker * 0.5;
            v.push(r.clamp(0.0, 255.0) as u8);
            v.push(g.clamp(0.0, 255.0) as u8);
            v.push(b.clamp(0.0, 255.0) as u8);
        }
    }
    v
}

/// BT.601 full-range RGB -> (Y plane, U plane, V plane) with 2x2-averaged chroma.
pub fn rgb_to_yuv420(rgb: &[u8], w: u32, h: u32) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (w, h) = (w as usize, h as usize);
    let px = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        (rgb[i] as f32, rgb[i + 1] as f32, rgb[i + 2] as f32)
    };
    let mut yp = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            yp[y * w + x] = (0.299 * r + 0.587 * g + 0.114 * b)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
    let (cw, ch) = (w / 2, h / 2);
    let mut u = vec![0u8; cw * ch];
    let mut v = vec![0u8; cw * ch];
    for y in 0..ch {
        for x in 0..cw {
            let (mut su, mut sv) = (0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (r, g, b) = px(2 * x + dx, 2 * y + dy);
                su += -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0;
                sv += 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0;
            }
            u[y * cw + x] = (su / 4.0f32).round().clamp(0.0, 255.0) as u8;
            v[y * cw + x] = (sv / 4.0f32).round().clamp(0.0, 255.0) as u8;
        }
    }
    (yp, u, v)
}

/// Interleaves two chroma planes: NV12 = (U, V), NV21 = (V, U).
pub fn interleave(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).flat_map(|(&x, &y)| [x, y]).collect()
}

/// Copies `rows` rows of `row_bytes` into a buffer with `stride` bytes per row.
pub fn pad_rows(data: &[u8], row_bytes: usize, rows: usize, stride: usize) -> Vec<u8> {
    let mut out = vec![0xAAu8; stride * rows];
    for r in 0..rows {
        out[r * stride..r * stride + row_bytes]
            .copy_from_slice(&data[r * row_bytes..(r + 1) * row_bytes]);
    }
    out
}

/// Rotates a packed image (bpp bytes per pixel) counter-clockwise by `deg`, so that the
/// runtime's clockwise `Rotation` of `deg` makes it upright again. Returns (data, w, h).
pub fn rotate_ccw(data: &[u8], w: u32, h: u32, bpp: usize, deg: i32) -> (Vec<u8>, u32, u32) {
    let (w, h) = (w as usize, h as usize);
    let (nw, nh) = if deg % 180 == 0 { (w, h) } else { (h, w) };
    let mut out = vec![0u8; data.len()];
    for y in 0..h {
        for x in 0..w {
            // upright (x, y) -> stored (sx, sy)
            let (sx, sy) = match deg {
                0 => (x, y),
                // stored rotated CW by 90 gives upright: stored (sx, sy) -> upright (nh-1-sy, sx)
                90 => (y, nh - 1 - x),
                180 => (w - 1 - x, h - 1 - y),
                270 => (nw - 1 - y, x),
                _ => panic!("test rotation {deg}"),
            };
            let src = (y * w + x) * bpp;
            let dst = (sy * nw + sx) * bpp;
            out[dst..dst + bpp].copy_from_slice(&data[src..src + bpp]);
        }
    }
    (out, nw as u32, nh as u32)
}

pub fn ort_path() -> std::path::PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(Into::into)
        .expect("set ORT_DYLIB_PATH to libonnxruntime for the runtime tests")
}
