//! The cross-architecture fixture shared by its writer (`tests/tests/cross_arch_fixture.rs`,
//! x86-64: exports the models, needs libtorch) and its reader (`cross_arch_parity.rs`, run
//! for aarch64 under qemu): ONNX models, camera frames as raw bytes, and the attack scores
//! x86-64 gave, in plain files under one folder:
//! - `frames.tsv`: `name format width height stride rotation box` per frame, its bytes in
//!   `name.bin` (packed: one plane; NV12/NV21: Y then UV, both `stride`; I420: Y, then U and
//!   V with stride `stride / 2`); `box` is `x,y,w,h` or `-`.
//! - `scores.tsv`: `model frame score types`, models being `model.onnx` files beside it;
//!   `types` is the attack-type probabilities `live,physical,adversarial,digital` of a model
//!   with that head (a student), `-` for one without.
#![allow(dead_code)]

use moae_runtime::{Engine, EngineOptions, FaceBox, Frame, PixelFormat, Rotation};
use std::path::Path;

/// The environment variable naming the fixture folder.
pub const DIR_VAR: &str = "MOAE_CROSS_ARCH_DIR";

/// File-name prefix of a model joining the fixture from outside (the demo's trained ones):
/// its outputs need not vary over the synthetic frames.
pub const EXTRA_PREFIX: &str = "extra-";

pub struct FrameSpec {
    pub name: String,
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub stride: usize,
    pub rotation: Rotation,
    pub face: Option<FaceBox>,
    pub bytes: Vec<u8>,
}

impl FrameSpec {
    pub fn frame(&self) -> Frame<'_> {
        let (w, h, st) = (self.width, self.height, self.stride);
        let y_len = st * h as usize;
        let b = &self.bytes;
        let frame = match self.format {
            PixelFormat::Nv12 | PixelFormat::Nv21 => {
                Frame::nv(self.format, &b[..y_len], st, &b[y_len..], st, w, h)
            }
            PixelFormat::I420 => {
                let c_len = st / 2 * h as usize / 2;
                let (u, v) = b[y_len..].split_at(c_len);
                Frame::i420(&b[..y_len], st, u, st / 2, v, st / 2, w, h)
            }
            f => Frame::packed(f, b, w, h, st),
        };
        let frame = frame.unwrap_or_else(|e| panic!("fixture frame {}: {e}", self.name));
        frame.with_rotation(self.rotation)
    }

    fn line(&self) -> String {
        let face = match self.face {
            Some(f) => format!("{},{},{},{}", f.x, f.y, f.width, f.height),
            None => "-".into(),
        };
        let (n, fmt, w, h) = (&self.name, self.format, self.width, self.height);
        let (st, rot) = (self.stride, self.rotation.degrees());
        format!("{n}\t{fmt}\t{w}\t{h}\t{st}\t{rot}\t{face}\n")
    }
}

/// Deterministic camera-like frames: every pixel format's family (packed RGB-like, NV21,
/// I420), padded strides, all four rotations, with and without a face box.
pub fn make_frames() -> Vec<FrameSpec> {
    let specs = [
        ("rgb", PixelFormat::Rgb, 160, 120, 0, 0, None),
        (
            "bgra-r180",
            PixelFormat::Bgra,
            150,
            110,
            24,
            180,
            Some([30.0, 20.0, 60.0, 70.0]),
        ),
        (
            "nv21-r90",
            PixelFormat::Nv21,
            176,
            144,
            16,
            90,
            Some([40.0, 50.0, 70.0, 80.0]),
        ),
        ("nv12", PixelFormat::Nv12, 128, 96, 0, 0, None),
        ("i420-r270", PixelFormat::I420, 144, 112, 16, 270, None),
        (
            "gray",
            PixelFormat::Gray,
            100,
            90,
            4,
            0,
            Some([10.0, 10.0, 50.0, 50.0]),
        ),
    ];
    specs
        .iter()
        .enumerate()
        .map(|(i, &(name, format, w, h, pad, rot, face))| {
            let (wu, hu) = (w as usize, h as usize);
            let stride = wu * format.packed_bytes_per_pixel().unwrap_or(1) + pad;
            let len = match format.packed_bytes_per_pixel() {
                Some(_) => stride * hu,
                None => stride * hu * 3 / 2,
            };
            let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let bytes = (0..len)
                .map(|k| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let (col, row) = ((k % stride) as f32, (k / stride) as f32);
                    let smooth = 128.0 + 100.0 * ((col * 0.11 + row * 0.07 + i as f32).sin());
                    (smooth + (x >> 59) as f32 - 16.0).clamp(0.0, 255.0) as u8
                })
                .collect();
            FrameSpec {
                name: name.into(),
                format,
                width: w,
                height: h,
                stride,
                rotation: Rotation::try_from(rot).unwrap(),
                face: face.map(|[x, y, w, h]| FaceBox::new(x, y, w, h)),
                bytes,
            }
        })
        .collect()
}

pub fn write_frames(dir: &Path, frames: &[FrameSpec]) {
    let mut tsv = String::new();
    for f in frames {
        std::fs::write(dir.join(format!("{}.bin", f.name)), &f.bytes).unwrap();
        tsv.push_str(&f.line());
    }
    std::fs::write(dir.join("frames.tsv"), tsv).unwrap();
}

pub fn read_frames(dir: &Path) -> Vec<FrameSpec> {
    let path = dir.join("frames.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (written by the x86-64 fixture test)",
            path.display()
        )
    });
    text.lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 7, "{}: bad line `{l}`", path.display());
            let face = (c[6] != "-").then(|| {
                let v: Vec<f32> = c[6].split(',').map(|v| v.parse().unwrap()).collect();
                FaceBox::new(v[0], v[1], v[2], v[3])
            });
            FrameSpec {
                name: c[0].into(),
                format: c[1].parse().unwrap(),
                width: c[2].parse().unwrap(),
                height: c[3].parse().unwrap(),
                stride: c[4].parse().unwrap(),
                rotation: Rotation::try_from(c[5].parse::<i32>().unwrap()).unwrap(),
                face,
                bytes: std::fs::read(dir.join(format!("{}.bin", c[0]))).unwrap(),
            }
        })
        .collect()
}

/// What a model gave one frame: the attack score and, for a model with the head, the
/// attack-type probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameScore {
    pub attack_score: f32,
    pub attack_type: Option<[f32; 4]>,
}

/// What every frame gets through `model` (one ORT thread: the same reduction order on every
/// run).
pub fn score(model: &Path, frames: &[FrameSpec]) -> Vec<FrameScore> {
    // Frames without a box are scored whole (the recorded scores are centre squares).
    let opts = EngineOptions {
        intra_op_threads: 1,
        whole_frame: true,
        ..Default::default()
    };
    let engine =
        Engine::from_path(model, &opts).unwrap_or_else(|e| panic!("{}: {e}", model.display()));
    frames
        .iter()
        .map(|f| {
            let faces: Vec<FaceBox> = f.face.into_iter().collect();
            let d = engine.detect(&f.frame(), &faces).unwrap()[0];
            FrameScore {
                attack_score: d.attack_score,
                attack_type: d.attack_type,
            }
        })
        .collect()
}

/// `(model, frame, what it gave)` rows.
pub fn write_scores(dir: &Path, rows: &[(String, String, FrameScore)]) {
    let tsv: String = rows
        .iter()
        .map(|(m, f, s)| {
            let types = match s.attack_type {
                Some(t) => t.map(|p| format!("{p:e}")).join(","),
                None => "-".into(),
            };
            format!("{m}\t{f}\t{:e}\t{types}\n", s.attack_score)
        })
        .collect();
    std::fs::write(dir.join("scores.tsv"), tsv).unwrap();
}

pub fn read_scores(dir: &Path) -> Vec<(String, String, FrameScore)> {
    let path = dir.join("scores.tsv");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 4, "{}: bad line `{l}`", path.display());
            let attack_type = (c[3] != "-").then(|| {
                let p: Vec<f32> = c[3].split(',').map(|v| v.parse().unwrap()).collect();
                p.try_into()
                    .unwrap_or_else(|p| panic!("{}: 4 probabilities, got {p:?}", path.display()))
            });
            let s = FrameScore {
                attack_score: c[2].parse().unwrap(),
                attack_type,
            };
            (c[0].into(), c[1].into(), s)
        })
        .collect()
}
