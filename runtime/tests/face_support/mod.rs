//! Shared by the face_* tests: where the detector files are, the astronaut photo, image
//! operations the MediaPipe fixture script also does, and frame builders for every format,
//! rotation and mirroring.
#![allow(dead_code)]

use moae_runtime::{
    DetectorModel, DetectorOptions, EngineOptions, FaceBox, FaceDetector, Frame, PixelFormat,
    Rotation,
};
use std::path::PathBuf;

/// `$MOAE_FACE_DIR`, else `<repo>/.venv/face` (scripts/setup-face.sh); `None` (after printing
/// SKIPPED) when its files are missing; under `CI` a missing file fails the test.
pub fn face_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MOAE_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(".venv")
                .join("face")
        });
    for f in [
        "face_detection_front_128x128.onnx",
        "face_detection_back_256x256.onnx",
        "astronaut.png",
    ] {
        if !dir.join(f).is_file() {
            let msg = format!(
                "{} is missing (run scripts/setup-face.sh, or set MOAE_FACE_DIR)",
                dir.join(f).display()
            );
            assert!(std::env::var_os("CI").is_none(), "CI is set and {msg}");
            eprintln!("SKIPPED: {msg}");
            return None;
        }
    }
    Some(dir)
}

pub fn engine_opts() -> EngineOptions {
    EngineOptions {
        intra_op_threads: 2,
        ..Default::default()
    }
}

pub fn detector(dir: &std::path::Path, file: &str) -> FaceDetector {
    FaceDetector::new(
        &DetectorModel::Path(dir.join(file)),
        &DetectorOptions::default(),
        &engine_opts().session_settings(),
    )
    .expect("detector loads")
}

pub fn front(dir: &std::path::Path) -> FaceDetector {
    detector(dir, "face_detection_front_128x128.onnx")
}

/// An RGB image, rows top to bottom.
#[derive(Clone, Debug, PartialEq)]
pub struct Rgb {
    pub w: usize,
    pub h: usize,
    pub data: Vec<u8>,
}

impl Rgb {
    pub fn new(w: usize, h: usize) -> Rgb {
        Rgb {
            w,
            h,
            data: vec![0; w * h * 3],
        }
    }
    pub fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
    pub fn set(&mut self, x: usize, y: usize, p: [u8; 3]) {
        let i = (y * self.w + x) * 3;
        self.data[i..i + 3].copy_from_slice(&p);
    }
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Rgb {
        let mut o = Rgb::new(w, h);
        for r in 0..h {
            let s = ((y + r) * self.w + x) * 3;
            o.data[r * w * 3..(r + 1) * w * 3].copy_from_slice(&self.data[s..s + w * 3]);
        }
        o
    }
    pub fn pad(&self, left: usize, top: usize, right: usize, bottom: usize) -> Rgb {
        let mut o = Rgb::new(self.w + left + right, self.h + top + bottom);
        self.paste_into(&mut o, left, top);
        o
    }
    pub fn paste_into(&self, dst: &mut Rgb, x: usize, y: usize) {
        for r in 0..self.h {
            let d = ((y + r) * dst.w + x) * 3;
            dst.data[d..d + self.w * 3]
                .copy_from_slice(&self.data[r * self.w * 3..(r + 1) * self.w * 3]);
        }
    }
    pub fn flip_lr(&self) -> Rgb {
        let mut o = Rgb::new(self.w, self.h);
        for y in 0..self.h {
            for x in 0..self.w {
                o.set(self.w - 1 - x, y, self.px(x, y));
            }
        }
        o
    }
    /// Nearest 2x downscale: the top-left pixel of every 2x2 block (numpy `img[::2, ::2]`).
    pub fn downscale2(&self) -> Rgb {
        let (w, h) = (self.w.div_ceil(2), self.h.div_ceil(2));
        let mut o = Rgb::new(w, h);
        for y in 0..h {
            for x in 0..w {
                o.set(x, y, self.px(2 * x, 2 * y));
            }
        }
        o
    }
    /// Nearest-neighbour resize to `w` x `h` (pixel centres).
    pub fn resize_nearest(&self, w: usize, h: usize) -> Rgb {
        let mut o = Rgb::new(w, h);
        for y in 0..h {
            let sy = ((y * 2 + 1) * self.h / (2 * h)).min(self.h - 1);
            for x in 0..w {
                let sx = ((x * 2 + 1) * self.w / (2 * w)).min(self.w - 1);
                o.set(x, y, self.px(sx, sy));
            }
        }
        o
    }
    /// Rotated clockwise by 90 degrees (size h x w).
    pub fn rotate_cw(&self) -> Rgb {
        let mut o = Rgb::new(self.h, self.w);
        for y in 0..self.h {
            for x in 0..self.w {
                o.set(self.h - 1 - y, x, self.px(x, y));
            }
        }
        o
    }
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(&self.data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

pub fn astronaut(dir: &std::path::Path) -> Rgb {
    let img = image::open(dir.join("astronaut.png"))
        .expect("astronaut.png decodes")
        .to_rgb8();
    Rgb {
        w: img.width() as usize,
        h: img.height() as usize,
        data: img.into_raw(),
    }
}

/// A webcam-like frame: a smooth, textured backdrop with the photo pasted at (x, y).
pub fn scene(w: usize, h: usize, faces: &[(&Rgb, usize, usize)]) -> Rgb {
    let mut o = Rgb::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let n = ((x * 7 + y * 13) % 17) as u8;
            o.set(
                x,
                y,
                [70 + (x * 60 / w) as u8 + n, 80 + n, 90 + (y * 50 / h) as u8],
            );
        }
    }
    for (img, x, y) in faces {
        img.paste_into(&mut o, *x, *y);
    }
    o
}

/// The benchmarks' 1920x1080 scene: the astronaut's face enlarged to ~290 px in it.
pub fn scene_1080p(photo: &Rgb) -> Rgb {
    let face = photo.crop(96, 0, 320, 320).resize_nearest(960, 960);
    scene(1920, 1080, &[(&face, 480, 60)])
}

/// The buffer a camera would hand over for the upright image `up` with this rotation and
/// mirroring: `up = rotate_cw(flip_lr_if_mirrored(buffer), rotation)`.
pub fn to_buffer(up: &Rgb, rotation: Rotation, mirrored: bool) -> Rgb {
    // rotate counter-clockwise by `rotation` = clockwise by 360 - rotation
    let turns = (4 - rotation.degrees() / 90) % 4;
    let mut b = up.clone();
    for _ in 0..turns {
        b = b.rotate_cw();
    }
    if mirrored {
        b = b.flip_lr();
    }
    b
}

/// Planes of one frame in some pixel format (owned; `frame()` borrows them).
pub struct Planes {
    pub format: PixelFormat,
    pub w: u32,
    pub h: u32,
    pub a: Vec<u8>,
    pub a_stride: usize,
    pub b: Vec<u8>,
    pub b_stride: usize,
    pub c: Vec<u8>,
    pub c_stride: usize,
}

/// Full-range BT.601 (JFIF), rounded.
fn yuv(p: [u8; 3]) -> [f32; 3] {
    let [r, g, b] = p.map(|v| v as f32);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let u = -0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0;
    let v = 0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0;
    [y, u, v]
}

fn q(v: f32) -> u8 {
    v.round().clamp(0.0, 255.0) as u8
}

/// Converts `img` (the buffer, even size for YUV) to `format`, rows padded to a stride larger
/// than the row (as camera buffers are).
pub fn convert(img: &Rgb, format: PixelFormat) -> Planes {
    let (w, h) = (img.w, img.h);
    let pad = 24;
    let mut p = Planes {
        format,
        w: w as u32,
        h: h as u32,
        a: vec![],
        a_stride: 0,
        b: vec![],
        b_stride: 0,
        c: vec![],
        c_stride: 0,
    };
    match format {
        PixelFormat::Rgb | PixelFormat::Bgr | PixelFormat::Rgba | PixelFormat::Bgra => {
            let bpp = format.packed_bytes_per_pixel().unwrap();
            let stride = w * bpp + pad;
            let mut a = vec![0u8; stride * h];
            for y in 0..h {
                for x in 0..w {
                    let [r, g, b] = img.px(x, y);
                    let o = y * stride + x * bpp;
                    let px: &[u8] = match format {
                        PixelFormat::Rgb => &[r, g, b],
                        PixelFormat::Bgr => &[b, g, r],
                        PixelFormat::Rgba => &[r, g, b, 255],
                        _ => &[b, g, r, 255],
                    };
                    a[o..o + bpp].copy_from_slice(px);
                }
            }
            p.a = a;
            p.a_stride = stride;
        }
        PixelFormat::Nv21 | PixelFormat::Nv12 | PixelFormat::I420 => {
            assert!(w % 2 == 0 && h % 2 == 0);
            let ys = w + pad;
            let mut yp = vec![0u8; ys * h];
            for y in 0..h {
                for x in 0..w {
                    yp[y * ys + x] = q(yuv(img.px(x, y))[0]);
                }
            }
            // chroma: the mean of each 2x2 block's U and V
            let (cw, ch) = (w / 2, h / 2);
            let mut us = vec![0u8; cw * ch];
            let mut vs = vec![0u8; cw * ch];
            for cy in 0..ch {
                for cx in 0..cw {
                    let mut s = [0f32; 3];
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let t = yuv(img.px(2 * cx + dx, 2 * cy + dy));
                        s[1] += t[1];
                        s[2] += t[2];
                    }
                    us[cy * cw + cx] = q(s[1] / 4.0);
                    vs[cy * cw + cx] = q(s[2] / 4.0);
                }
            }
            p.a = yp;
            p.a_stride = ys;
            if format == PixelFormat::I420 {
                let cs = cw + pad / 2;
                let mut u = vec![0u8; cs * ch];
                let mut v = vec![0u8; cs * ch];
                for y in 0..ch {
                    u[y * cs..y * cs + cw].copy_from_slice(&us[y * cw..(y + 1) * cw]);
                    v[y * cs..y * cs + cw].copy_from_slice(&vs[y * cw..(y + 1) * cw]);
                }
                p.b = u;
                p.b_stride = cs;
                p.c = v;
                p.c_stride = cs;
            } else {
                let cs = w + pad;
                let mut uv = vec![0u8; cs * ch];
                for y in 0..ch {
                    for x in 0..cw {
                        let (u, v) = (us[y * cw + x], vs[y * cw + x]);
                        let (first, second) = if format == PixelFormat::Nv12 {
                            (u, v)
                        } else {
                            (v, u)
                        };
                        uv[y * cs + 2 * x] = first;
                        uv[y * cs + 2 * x + 1] = second;
                    }
                }
                p.b = uv;
                p.b_stride = cs;
            }
        }
        PixelFormat::Gray => unimplemented!("not used by the face tests"),
    }
    p
}

impl Planes {
    pub fn frame(&self) -> Frame<'_> {
        match self.format {
            PixelFormat::Nv21 | PixelFormat::Nv12 => Frame::nv(
                self.format,
                &self.a,
                self.a_stride,
                &self.b,
                self.b_stride,
                self.w,
                self.h,
            ),
            PixelFormat::I420 => Frame::i420(
                &self.a,
                self.a_stride,
                &self.b,
                self.b_stride,
                &self.c,
                self.c_stride,
                self.w,
                self.h,
            ),
            f => Frame::packed(f, &self.a, self.w, self.h, self.a_stride),
        }
        .expect("test frame is valid")
    }
}

pub fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
    let w = (a.x + a.width).min(b.x + b.width) - a.x.max(b.x);
    let h = (a.y + a.height).min(b.y + b.height) - a.y.max(b.y);
    let inter = if w > 0.0 && h > 0.0 { w * h } else { 0.0 };
    inter / (a.width * a.height + b.width * b.height - inter)
}
