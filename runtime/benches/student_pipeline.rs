//! Frame in, decision out with a student (spec §9): `Engine::analyze` with the face detector
//! on a 1920x1080 NV21 frame (the astronaut's face enlarged to ~290 px), fp32 and int8, 2
//! intra-op threads; target p50 <= 6 ms on two cores. Prints each path's p50/p90 over 300
//! runs and the stages that make it up (face detector, crop/resample + model, model alone),
//! then criterion's estimates.
//!
//! The students come from `$MOAE_STUDENT_DIR`: `student.onnx` and `student-int8.onnx`, as
//! scripts/demo.sh writes them into demo-out/ (copy them; any student export will do). The
//! photo and detector come from scripts/setup-face.sh (`$MOAE_FACE_DIR`, else
//! `<repo>/.venv/face`).
//! `ORT_DYLIB_PATH=... MOAE_STUDENT_DIR=... cargo bench -p moae-runtime --bench student_pipeline`

#[path = "../tests/face_support/mod.rs"]
mod face_support;
#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use face_support::{astronaut, convert, face_dir, scene_1080p};
use moae_runtime::{
    BoxInput, DetectorModel, DetectorOptions, Engine, EngineOptions, FaceDetector, PixelFormat,
};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::ort_path;

const STUDENT_DIR_VAR: &str = "MOAE_STUDENT_DIR";
const FILES: [(&str, &str); 2] = [("fp32", "student.onnx"), ("int8", "student-int8.onnx")];
const RUNS: usize = 300;

/// The student files, or `None` after saying why the benchmark is skipped.
fn student_files() -> Option<Vec<(&'static str, PathBuf)>> {
    let Some(dir) = std::env::var_os(STUDENT_DIR_VAR).map(PathBuf::from) else {
        eprintln!(
            "SKIPPED student_pipeline: set {STUDENT_DIR_VAR} to a folder holding student.onnx \
             and student-int8.onnx (scripts/demo.sh writes them into demo-out/)"
        );
        return None;
    };
    let files: Vec<_> = FILES.iter().map(|&(p, f)| (p, dir.join(f))).collect();
    let missing: Vec<String> = files
        .iter()
        .filter(|(_, f)| !f.is_file())
        .map(|(_, f)| f.display().to_string())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "SKIPPED student_pipeline: {} missing in {STUDENT_DIR_VAR}={} (scripts/demo.sh \
             writes student.onnx and student-int8.onnx)",
            missing.join(", "),
            dir.display()
        );
        return None;
    }
    Some(files)
}

/// p50 and p90 in ms of `RUNS` calls, after 20 untimed ones.
fn percentiles(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..20 {
        f();
    }
    let mut t: Vec<f64> = (0..RUNS)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    (t[RUNS / 2], t[RUNS * 9 / 10])
}

fn bench(c: &mut Criterion) {
    let Some(files) = student_files() else { return };
    let Some(dir) = face_dir() else { return };
    let detector = DetectorModel::Path(dir.join("face_detection_front_128x128.onnx"));
    let opts = EngineOptions {
        ort_library_path: Some(ort_path()),
        intra_op_threads: 2,
        face_detector: Some(detector.clone()),
        ..EngineOptions::default()
    };
    let img = scene_1080p(&astronaut(&dir));
    let planes = convert(&img, PixelFormat::Nv21);
    let frame = planes.frame();
    let det = FaceDetector::new(
        &detector,
        &DetectorOptions::default(),
        &opts.session_settings(),
    )
    .unwrap();
    let (p50, p90) = percentiles(|| {
        black_box(det.detect(black_box(&frame)).unwrap());
    });
    eprintln!("face detector alone (front 128), 2 threads: p50 {p50:.3} ms, p90 {p90:.3} ms");
    for (precision, path) in files {
        let e = Engine::from_path(&path, &opts).unwrap_or_else(|err| panic!("{err}"));
        let meta = &e.info().meta;
        assert!(
            meta.precision == precision,
            "{}: precision {} in its metadata, {precision} expected",
            path.display(),
            meta.precision
        );
        let name = format!("{} {precision} ({} px)", meta.preset, meta.input_size);
        let first = e.analyze(&frame, &[]).unwrap();
        assert_eq!(first.faces.len(), 1, "the benchmark frame has one face");
        let face = &first.faces[0];
        assert!(
            face.detection.attack_type.is_some(),
            "{name}: a student reports its attack-type probabilities"
        );
        let boxed = [BoxInput::upright_pixels(face.face_box)];
        let pixels = vec![0.25f32; e.input_len()];

        let whole = percentiles(|| {
            black_box(e.analyze(black_box(&frame), &[]).unwrap());
        });
        let caller_box = percentiles(|| {
            black_box(e.analyze(black_box(&frame), &boxed).unwrap());
        });
        let liveness = percentiles(|| {
            black_box(e.detect(black_box(&frame), &[face.face_box]).unwrap());
        });
        let model = percentiles(|| {
            black_box(e.run_tensor(black_box(&pixels), 1).unwrap());
        });
        eprintln!("{name}, 1920x1080 NV21, 2 threads, p50 / p90 ms over {RUNS} runs:");
        for (what, (p50, p90)) in [
            ("analyze, detector finds the face", whole),
            ("analyze with a caller box (no detector)", caller_box),
            ("crop/resample + model (detect)", liveness),
            ("model alone (run_tensor)", model),
        ] {
            eprintln!("  {what:<42} {p50:>7.3} / {p90:.3}");
        }

        let mut g = c.benchmark_group(format!("student_1080p_nv21/{precision}"));
        g.sample_size(30).measurement_time(Duration::from_secs(5));
        g.bench_function("analyze_detector", |b| {
            b.iter(|| e.analyze(black_box(&frame), &[]).unwrap())
        });
        g.bench_function("analyze_caller_box", |b| {
            b.iter(|| e.analyze(black_box(&frame), &boxed).unwrap())
        });
        g.bench_function("model_only", |b| {
            b.iter(|| e.run_tensor(black_box(&pixels), 1).unwrap())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
