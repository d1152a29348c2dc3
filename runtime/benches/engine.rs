//! Inference and end-to-end latency on a tiny model (224x224 input, ReduceMean + linear), so
//! the numbers show the runtime's own overhead, not a network's compute.
//! `ORT_DYLIB_PATH=... cargo bench -p moae-runtime --bench engine`

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use moae_runtime::{Engine, EngineOptions, Frame, PixelFormat};
use std::hint::black_box;
use support::*;

fn bench(c: &mut Criterion) {
    let model = linear_model(&ModelSpec {
        size: 224,
        ..ModelSpec::default()
    });
    let opts = EngineOptions {
        ort_library_path: Some(ort_path()),
        intra_op_threads: 2,
        // The end-to-end case scores the whole frame (no face detector here; see pipeline.rs).
        whole_frame: true,
        ..EngineOptions::default()
    };
    let e = Engine::from_bytes(&model, &opts).unwrap();
    let (w, h) = (1920u32, 1080u32);
    let wu = w as usize;
    let rgb = test_rgb(w, h);
    let (y, u, v) = rgb_to_yuv420(&rgb, w, h);
    let nv21 = interleave(&v, &u);
    let frame = Frame::nv(PixelFormat::Nv21, &y, wu, &nv21, wu, w, h).unwrap();
    let pixels = e.preprocess(&frame, None).unwrap();
    let batch4: Vec<f32> = pixels
        .iter()
        .cycle()
        .take(4 * pixels.len())
        .copied()
        .collect();
    let mut g = c.benchmark_group("tiny_model_224");
    g.bench_function("inference_batch1", |b| {
        b.iter(|| e.run_tensor(black_box(&pixels), 1).unwrap())
    });
    g.bench_function("inference_batch4", |b| {
        b.iter(|| e.run_tensor(black_box(&batch4), 4).unwrap())
    });
    g.bench_function("end_to_end_nv21_1080p", |b| {
        b.iter(|| e.detect(black_box(&frame), &[]).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
