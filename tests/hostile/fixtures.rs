//! Hostile-input fixtures, generated at test time into a directory (nothing big is committed):
//! tiny ONNX models built with moae-onnx's graph builder (valid, NaN-producing, bad metadata,
//! foreign, cut off), and image files (valid PNG/JPEG, truncated, bombs, impostors).
//! Shared by `ffi/tests/hostile.rs` (the C program) and `tests/tests/hostile_cli.rs` (the CLI
//! script) through `#[path]`; file names are the contract with tests/hostile/{hostile.c,cli.sh}.
#![allow(dead_code)]

use moae_onnx::meta::{ModelMeta, CLASSES, FORMAT_VERSION, INPUT_PIXELS};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{to_bytes, Attr, Dim, GraphBuilder, IR_VERSION, OPSET};
use std::path::Path;

/// Side of the small models' square input.
pub const SIZE: u32 = 16;
/// Side of the model used for the many-boxes memory case: big enough that one batch of 4096
/// crops (4096 x 3 x 96 x 96 floats = 453 MB) dwarfs the process's base RSS.
pub const BIG_SIZE: u32 = 96;
/// Width and height of the test images.
pub const IMG_W: u32 = 64;
pub const IMG_H: u32 = 48;

pub fn meta(size: u32) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: "{\"preset\":\"hostile\"}".into(),
        preset: "hostile".into(),
        variant: "linear".into(),
        input_size: size,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.268_629_5, 0.261_302_6, 0.275_777_1],
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        attack_types: Vec::new(),
        threshold: 0.5,
        threshold_calibrated: true,
        precision: "fp32".into(),
        checkpoint_sha256: "00".repeat(32),
        producer: "moae hostile tests".into(),
    }
}

/// Deterministic weights (xorshift), so that every pixel and channel moves the score.
fn weights(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
        })
        .collect()
}

/// A linear classifier over every pixel (not an average: crops, rotations and channel order
/// all change the score). `bias` lets a test inject NaN or infinity into the logits.
pub fn linear(size: u32, bias: [f32; 2], m: &ModelMeta) -> Vec<u8> {
    let s = size as i64;
    let features = 3 * s * s;
    let n = Dim::batch();
    let mut g = GraphBuilder::new("moae_hostile");
    let x = g.input(
        INPUT_PIXELS,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let w = g.initializer_f32("W", &[features, 2], &weights(features as usize * 2, 11));
    let b = g.initializer_f32("B", &[2], &bias);
    let flat = g.op("Flatten", &[&x], vec![Attr::int("axis", 1)]);
    let mm = g.op("MatMul", &[&flat, &w], vec![]);
    let logits = g.op("Add", &[&mm, &b], vec![]);
    g.classifier_outputs(&logits, &n);
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-hostile", Some(m)))
}

/// A graph without `attack_score` (logits only).
fn logits_only(size: u32) -> Vec<u8> {
    let s = size as i64;
    let n = Dim::batch();
    let mut g = GraphBuilder::new("moae_hostile_logits_only");
    let x = g.input(
        INPUT_PIXELS,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let m = g.op(
        "ReduceMean",
        &[&x],
        vec![Attr::ints("axes", &[2, 3]), Attr::int("keepdims", 0)],
    );
    let w = g.initializer_f32("W", &[3, 2], &weights(6, 3));
    let logits = g.op("MatMul", &[&m, &w], vec![]);
    g.output(&logits, "logits", DataType::Float, &[n, 2.into()]);
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-hostile", Some(&meta(size))))
}

fn with(f: impl FnOnce(&mut ModelMeta)) -> ModelMeta {
    let mut m = meta(SIZE);
    f(&mut m);
    m
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap_or_else(|e| panic!("writing {name}: {e}"));
}

/// Every model file the hostile programs read.
pub fn write_models(dir: &Path) {
    let ok = [0.1, -0.1];
    let good = linear(SIZE, ok, &meta(SIZE));
    write(dir, "good.onnx", &good);
    write(dir, "big.onnx", &linear(BIG_SIZE, ok, &meta(BIG_SIZE)));
    write(
        dir,
        "nan_score.onnx",
        &linear(SIZE, [f32::NAN, 0.0], &meta(SIZE)),
    );
    write(
        dir,
        "inf_logit.onnx",
        &linear(SIZE, [f32::INFINITY, 0.0], &meta(SIZE)),
    );
    let bad_meta: [(&str, ModelMeta); 10] = [
        ("nan_mean.onnx", with(|m| m.mean[1] = f32::NAN)),
        ("inf_mean.onnx", with(|m| m.mean[0] = f32::INFINITY)),
        ("nan_std.onnx", with(|m| m.std[2] = f32::NAN)),
        ("zero_std.onnx", with(|m| m.std[0] = 0.0)),
        ("nan_threshold.onnx", with(|m| m.threshold = f32::NAN)),
        ("big_threshold.onnx", with(|m| m.threshold = 2.0)),
        ("zero_input.onnx", with(|m| m.input_size = 0)),
        ("size_mismatch.onnx", with(|m| m.input_size = 32)),
        (
            "bad_classes.onnx",
            with(|m| m.classes = vec!["cat".into(), "dog".into()]),
        ),
        (
            "future_format.onnx",
            with(|m| m.format_version = FORMAT_VERSION + 100),
        ),
    ];
    for (name, m) in bad_meta {
        write(dir, name, &linear(SIZE, ok, &m));
    }
    // A valid ONNX graph without libmoae's metadata.
    let foreign = {
        let mut g = GraphBuilder::new("foreign");
        let s = SIZE as i64;
        let x = g.input(
            INPUT_PIXELS,
            DataType::Float,
            &[Dim::batch(), 3.into(), s.into(), s.into()],
        );
        let y = g.op("Relu", &[&x], vec![]);
        g.output(
            &y,
            "y",
            DataType::Float,
            &[Dim::batch(), 3.into(), s.into(), s.into()],
        );
        to_bytes(&g.finish(OPSET, IR_VERSION, "foreign", None))
    };
    write(dir, "foreign.onnx", &foreign);
    write(dir, "logits_only.onnx", &logits_only(SIZE));
    write(dir, "truncated.onnx", &good[..good.len() / 2]);
    write(dir, "empty.onnx", b"");
    write(dir, "garbage.onnx", &[0xFFu8; 4096]);
    let mut flipped = good.clone();
    let at = flipped.len() - 200; // inside the weights: still parses, different bytes
    flipped[at] ^= 0x40;
    write(dir, "flipped.onnx", &flipped);
    std::fs::create_dir_all(dir.join("dir.onnx")).unwrap();
}

/// A W x H packed RGB test image: gradients, a checker and noise.
pub fn rgb(w: u32, h: u32) -> Vec<u8> {
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let checker = if ((x / 5) + (y / 3)) % 2 == 0 {
                40.0
            } else {
                0.0
            };
            let noise = (s >> 58) as f32;
            v.push((30.0 + 3.0 * x as f32 + checker + noise).min(255.0) as u8);
            v.push((20.0 + 4.0 * y as f32 + noise).min(255.0) as u8);
            v.push((220.0 - 2.0 * (x + y) as f32 + checker).clamp(0.0, 255.0) as u8);
        }
    }
    v
}

/// CRC-32 (IEEE), for rewriting a PNG chunk.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A PNG whose IHDR claims `w` x `h` (the data stays tiny): a decompression bomb's header.
fn png_claiming(png: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = png.to_vec();
    // 8-byte signature, then IHDR: length(4) type(4) width(4) height(4) ... crc(4).
    out[16..20].copy_from_slice(&w.to_be_bytes());
    out[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

/// A JPEG whose SOF0 claims `w` x `h`.
fn jpeg_claiming(jpg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut out = jpg.to_vec();
    let sof = out
        .windows(2)
        .position(|p| p == [0xFF, 0xC0])
        .expect("baseline JPEG has SOF0");
    // FF C0, length(2), precision(1), height(2), width(2)
    out[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    out
}

fn encode(img: image::DynamicImage, fmt: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, fmt).unwrap();
    out.into_inner()
}

/// Every image file the hostile programs read, plus `face.rgb` (the raw pixels of good.*).
pub fn write_images(dir: &Path) {
    use image::{DynamicImage, ImageFormat, RgbImage};
    let px = rgb(IMG_W, IMG_H);
    write(dir, "face.rgb", &px);
    let img = RgbImage::from_raw(IMG_W, IMG_H, px).unwrap();
    let png = encode(DynamicImage::ImageRgb8(img.clone()), ImageFormat::Png);
    let jpg = encode(DynamicImage::ImageRgb8(img.clone()), ImageFormat::Jpeg);
    write(dir, "good.png", &png);
    write(dir, "good.jpg", &jpg);
    write(dir, "png_named.jpg", &png);
    let dynimg = DynamicImage::ImageRgb8(img);
    write(
        dir,
        "gray.png",
        &encode(
            DynamicImage::ImageLuma8(dynimg.to_luma8()),
            ImageFormat::Png,
        ),
    );
    write(
        dir,
        "rgba.png",
        &encode(
            DynamicImage::ImageRgba8(dynimg.to_rgba8()),
            ImageFormat::Png,
        ),
    );
    write(
        dir,
        "rgb16.png",
        &encode(
            DynamicImage::ImageRgb16(dynimg.to_rgb16()),
            ImageFormat::Png,
        ),
    );
    write(
        dir,
        "gray.jpg",
        &encode(
            DynamicImage::ImageLuma8(dynimg.to_luma8()),
            ImageFormat::Jpeg,
        ),
    );
    write(
        dir,
        "one_pixel.png",
        &encode(
            DynamicImage::ImageRgb8(RgbImage::new(1, 1)),
            ImageFormat::Png,
        ),
    );
    write(dir, "trunc_half.png", &png[..png.len() / 2]);
    write(dir, "trunc_header.png", &png[..20]);
    write(dir, "trunc_half.jpg", &jpg[..jpg.len() / 2]);
    write(dir, "trunc_noeoi.jpg", &jpg[..jpg.len() - 2]);
    write(dir, "trunc_header.jpg", &jpg[..10]);
    write(dir, "bomb.png", &png_claiming(&png, 100_000, 100_000));
    write(dir, "bomb_wide.png", &png_claiming(&png, 0x7FFF_FFFF, 1));
    write(dir, "bomb.jpg", &jpeg_claiming(&jpg, 65_500, 65_500));
    write(dir, "zero_dim.png", &png_claiming(&png, 0, IMG_H));
    write(dir, "empty.png", b"");
    write(dir, "text.png", b"this is not an image\n");
    write(dir, "gif.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    write(
        dir,
        "bmp.jpg",
        b"BM\x1e\x00\x00\x00\x00\x00\x00\x00\x1a\x00\x00\x00",
    );
    std::fs::create_dir_all(dir.join("dir.png")).unwrap();
}

/// Both sets, into `dir`.
pub fn write_all(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    write_models(dir);
    write_images(dir);
}
