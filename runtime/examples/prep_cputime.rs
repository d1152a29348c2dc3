//! Per-call CPU time (thread CPU clock, so other processes on a busy machine don't inflate it)
//! of preprocessing a 1920x1080 frame to 224x224, per format.
//! `cargo run --release -p moae-runtime --example prep_cputime`
#![allow(clippy::excessive_precision)] // CLIP constants as published

#[path = "../tests/support/mod.rs"]
mod support;

use moae_runtime::{preprocess_into, FaceBox, Frame, PixelFormat, Rotation};
use support::*;

fn thread_cpu_s() -> f64 {
    // SAFETY: clock_gettime writes a plain struct.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    }
}

fn main() {
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
    let nv = Frame::nv(PixelFormat::Nv21, &y, wu, &nv21, wu, w, h).unwrap();
    let frames: Vec<(&str, Frame<'_>, Option<FaceBox>)> = vec![
        ("nv21", nv, None),
        ("nv21_rot90", nv.with_rotation(Rotation::R90), None),
        (
            "nv21_face_600px",
            nv,
            Some(FaceBox::new(700.0, 300.0, 400.0, 400.0)),
        ),
        (
            "nv12",
            Frame::nv(PixelFormat::Nv12, &y, wu, &nv12, wu, w, h).unwrap(),
            None,
        ),
        (
            "i420",
            Frame::i420(&y, wu, &u, wu / 2, &v, wu / 2, w, h).unwrap(),
            None,
        ),
        (
            "rgba",
            Frame::packed(PixelFormat::Rgba, &rgba, w, h, 4 * wu).unwrap(),
            None,
        ),
        (
            "bgr",
            Frame::packed(PixelFormat::Bgr, &bgr, w, h, 3 * wu).unwrap(),
            None,
        ),
    ];
    let mean = [0.48145466, 0.4578275, 0.40821073];
    let std = [0.26862954, 0.26130258, 0.27577711];
    let mut out = vec![0f32; 3 * 224 * 224];
    for (name, f, face) in &frames {
        for _ in 0..20 {
            preprocess_into(f, *face, 1.5, 224, mean, std, &mut out).unwrap();
        }
        let n = 200;
        let mut best = f64::MAX;
        let mut total = 0.0;
        for _ in 0..n {
            let t = thread_cpu_s();
            preprocess_into(f, *face, 1.5, 224, mean, std, &mut out).unwrap();
            let d = thread_cpu_s() - t;
            best = best.min(d);
            total += d;
        }
        println!(
            "{name:<16} mean {:.3} ms  min {:.3} ms (thread CPU time)",
            total / n as f64 * 1e3,
            best * 1e3
        );
    }
}
