//! The whole pipeline on a 1920x1080 NV21 frame (the astronaut's face enlarged to ~290 px):
//! face detection (BlazeFace front 128), quality and liveness, `Engine::analyze`, plus its
//! stages alone. Models: `MOAE_BENCH_MODELS=name=path,name=path` (e.g. the small preset and
//! vit-b16 fp32/int8 from `trainer init` + `trainer export`); without it, the tiny linear
//! test model at 224 px (the runtime's own cost). The photo and detector come from
//! scripts/setup-face.sh (`$MOAE_FACE_DIR`, else `<repo>/.venv/face`).
//! `ORT_DYLIB_PATH=... MOAE_BENCH_MODELS=... cargo bench -p moae-runtime --bench pipeline`

#[path = "../tests/face_support/mod.rs"]
mod face_support;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use face_support::{astronaut, convert, face_dir, scene_1080p};
use moae_runtime::{
    quality, BoxInput, DetectorModel, DetectorOptions, Engine, EngineOptions, FaceDetector,
    PixelFormat, QualityOptions,
};
use std::hint::black_box;
use std::time::Duration;
use support::*;

fn bench(c: &mut Criterion) {
    let Some(dir) = face_dir() else { return };
    let detector_path = dir.join("face_detection_front_128x128.onnx");
    let opts = EngineOptions {
        ort_library_path: Some(ort_path()),
        intra_op_threads: 2,
        face_detector: Some(DetectorModel::Path(detector_path.clone())),
        ..EngineOptions::default()
    };
    let img = scene_1080p(&astronaut(&dir));
    let planes = convert(&img, PixelFormat::Nv21);
    let frame = planes.frame();

    let det = FaceDetector::new(
        &DetectorModel::Path(detector_path),
        &DetectorOptions::default(),
        &opts.session_settings(),
    )
    .unwrap();
    let faces = det.detect(&frame).unwrap();
    assert_eq!(faces.len(), 1, "the benchmark frame has one face");
    let face = faces[0];
    let mut g = c.benchmark_group("pipeline_1080p_nv21");
    g.bench_function("face_detector", |b| {
        b.iter(|| det.detect(black_box(&frame)).unwrap())
    });
    let q = QualityOptions::default();
    g.bench_function("quality", |b| {
        b.iter(|| quality::measure(black_box(&frame), &face.face_box, Some(&face.keypoints), &q))
    });
    g.finish();

    let models: Vec<(String, Vec<u8>)> = match std::env::var("MOAE_BENCH_MODELS") {
        Ok(list) => list
            .split(',')
            .map(|kv| {
                let (name, path) = kv
                    .split_once('=')
                    .expect("MOAE_BENCH_MODELS: name=path,...");
                let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
                (name.to_string(), bytes)
            })
            .collect(),
        Err(_) => vec![(
            "tiny-linear-224".into(),
            linear_model(&ModelSpec {
                size: 224,
                ..ModelSpec::default()
            }),
        )],
    };
    for (name, bytes) in models {
        let e = Engine::from_bytes(&bytes, &opts).unwrap();
        drop(bytes);
        let big = e.info().meta.input_size >= 224 && name.contains("vit");
        let mut g = c.benchmark_group(format!("pipeline_1080p_nv21/{name}"));
        if big {
            // ~1 s per run: ten single runs, not criterion's growing sample counts.
            g.sample_size(10)
                .sampling_mode(SamplingMode::Flat)
                .measurement_time(Duration::from_secs(10));
        } else {
            g.sample_size(20).measurement_time(Duration::from_secs(5));
        }
        let boxed = [BoxInput::upright_pixels(face.face_box)];
        g.bench_function("liveness_only", |b| {
            b.iter(|| e.detect(black_box(&frame), &[face.face_box]).unwrap())
        });
        g.bench_function("analyze_caller_box", |b| {
            b.iter(|| e.analyze(black_box(&frame), &boxed).unwrap())
        });
        g.bench_function("analyze_detector", |b| {
            b.iter(|| {
                let a = e.analyze(black_box(&frame), &[]).unwrap();
                assert_eq!(a.faces.len(), 1);
                a
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
