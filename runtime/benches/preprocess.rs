//! Preprocessing of a 1920x1080 frame to the 224x224 model input, per pixel format.
//! `cargo bench -p moae-runtime --bench preprocess` (no ONNX Runtime needed).

#![allow(clippy::excessive_precision)] // CLIP constants as published

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use moae_runtime::{preprocess_into, FaceBox, Frame, PixelFormat, Rotation};
use std::hint::black_box;
use support::*;

const MEAN: [f32; 3] = [0.48145466, 0.4578275, 0.40821073];
const STD: [f32; 3] = [0.26862954, 0.26130258, 0.27577711];

fn bench(c: &mut Criterion) {
    let (w, h) = (1920u32, 1080u32);
    let wu = w as usize;
    let rgb = test_rgb(w, h);
    let bgr: Vec<u8> = rgb.chunks(3).flat_map(|p| [p[2], p[1], p[0]]).collect();
    let rgba: Vec<u8> = rgb
        .chunks(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let (y, u, v) = rgb_to_yuv420(&rgb, w, h);
    let nv21 = interleave(&v, &u);
    let nv12 = interleave(&u, &v);
    let frames: Vec<(&str, Frame<'_>)> = vec![
        (
            "nv21",
            Frame::nv(PixelFormat::Nv21, &y, wu, &nv21, wu, w, h).unwrap(),
        ),
        (
            "nv21_rot90",
            Frame::nv(PixelFormat::Nv21, &y, wu, &nv21, wu, w, h)
                .unwrap()
                .with_rotation(Rotation::R90),
        ),
        (
            "nv12",
            Frame::nv(PixelFormat::Nv12, &y, wu, &nv12, wu, w, h).unwrap(),
        ),
        (
            "i420",
            Frame::i420(&y, wu, &u, wu / 2, &v, wu / 2, w, h).unwrap(),
        ),
        (
            "rgba",
            Frame::packed(PixelFormat::Rgba, &rgba, w, h, 4 * wu).unwrap(),
        ),
        (
            "bgr",
            Frame::packed(PixelFormat::Bgr, &bgr, w, h, 3 * wu).unwrap(),
        ),
    ];
    let mut out = vec![0f32; 3 * 224 * 224];
    let mut g = c.benchmark_group("preprocess_1080p_to_224");
    for (name, f) in &frames {
        g.bench_function(*name, |b| {
            b.iter(|| preprocess_into(black_box(f), None, 1.5, 224, MEAN, STD, &mut out).unwrap())
        });
    }
    // A typical face: 400x400 box -> 600x600 crop.
    let face = Some(FaceBox::new(700.0, 300.0, 400.0, 400.0));
    g.bench_function("nv21_face_box", |b| {
        b.iter(|| {
            preprocess_into(black_box(&frames[0].1), face, 1.5, 224, MEAN, STD, &mut out).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
