//! The face stage (letterbox + BlazeFace front 128 + decoding + weighted NMS) on a 1920x1080
//! NV21 frame with the astronaut's face pasted in, 2 intra-op threads; prints its p50/p90 over
//! 300 runs besides criterion's estimate. Needs scripts/setup-face.sh's files.
//! `ORT_DYLIB_PATH=... cargo bench -p moae-runtime --bench face`

#[path = "../tests/face_support/mod.rs"]
mod face_support;

use criterion::{criterion_group, criterion_main, Criterion};
use face_support::*;
use moae_runtime::PixelFormat;
use std::hint::black_box;
use std::time::Instant;

fn bench(c: &mut Criterion) {
    let Some(dir) = face_dir() else { return };
    let photo = astronaut(&dir);
    let mut scene = Rgb::new(1920, 1080);
    photo
        .crop(110, 20, 230, 230)
        .resize_nearest(690, 690)
        .paste_into(&mut scene, 700, 200);
    let planes = convert(&scene, PixelFormat::Nv21);
    let frame = planes.frame();
    let det = front(&dir);
    assert_eq!(
        det.detect(&frame).unwrap().len(),
        1,
        "the pasted face is found"
    );
    for _ in 0..20 {
        det.detect(&frame).unwrap();
    }
    let mut t: Vec<f64> = (0..300)
        .map(|_| {
            let s = Instant::now();
            black_box(det.detect(black_box(&frame)).unwrap());
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    eprintln!(
        "face stage, 1920x1080 NV21, front 128, 2 threads: p50 {:.3} ms, p90 {:.3} ms, min {:.3} ms",
        t[150], t[270], t[0]
    );
    let mut g = c.benchmark_group("face");
    g.bench_function("detect_nv21_1080p_front128", |b| {
        b.iter(|| det.detect(black_box(&frame)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
