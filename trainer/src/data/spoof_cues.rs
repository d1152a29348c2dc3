//! Spoof-cue augmentation (spec §9): extra physical-attack samples made from live images.
//!
//! The idea is MTFace's (He et al., CVPR 2024 face anti-spoofing challenge): a live face that
//! carries the traces of a reproduction is an attack, so turning some live training images into
//! such faces teaches the model the traces even where the training list has no physical attack
//! (protocol 2.1). Each cue is a small parametric model of one reproduction channel:
//! - [`Cue::Moire`]: a display's pixel grid beating against the camera's sampling grid (the
//!   product of two slightly detuned gratings; the visible part is their difference frequency),
//!   with an optional per-channel phase for the RGB sub-pixels;
//! - [`Cue::Halftone`]: a printer's dot screen (one rotated screen per ink) over the print's
//!   colour gamut (less saturation, a colour cast, black and white levels of paper and ink);
//! - [`Cue::Screen`]: display gamma, a white-point tint, a raised black level and the horizontal
//!   flicker bands a rolling shutter records from a PWM-dimmed backlight;
//! - [`Cue::SelfFusion`]: the face blended with a shifted, rescaled, recoloured copy of itself
//!   inside a soft ellipse (the seam of a paste);
//! - [`Cue::Jpeg`]: recompression at a low quality (8×8 block edges, ringing).
//!
//! Lengths are fractions of the image side with pixel floors, so a cue looks alike at any
//! resolution and survives the resize to the model input. Every parameter comes from the
//! caller's RNG ([`draw`]): the same seed gives the same image. Work is on `[0, 1]` floats and
//! every cue maps `[0, 1]` into `[0, 1]` (no clipping of highlights).

use std::f32::consts::PI;

use image::RgbImage;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One reproduction trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cue {
    Moire,
    Halftone,
    Screen,
    SelfFusion,
    Jpeg,
}

impl Cue {
    pub const ALL: [Cue; 5] = [
        Cue::Moire,
        Cue::Halftone,
        Cue::Screen,
        Cue::SelfFusion,
        Cue::Jpeg,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cue::Moire => "moire",
            Cue::Halftone => "halftone",
            Cue::Screen => "screen",
            Cue::SelfFusion => "self-fusion",
            Cue::Jpeg => "jpeg",
        }
    }

    /// The attack-type name a cued sample gets in batches and score files.
    pub fn attack_type(self) -> String {
        format!("spoof-cue-{}", self.name())
    }
}

/// Probability of MTFace's recipe (each of its physical and digital simulations: 10 % of the
/// live training images).
pub const MTFACE_P: f32 = 0.1;

/// Which live training images become cued attacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoofCueConfig {
    /// Probability that a live training image becomes a cued physical attack (label 1).
    /// 0 turns the augmentation off (the paper's recipe, and the default).
    pub p: f32,
    /// The cues a cued image draws from, uniformly.
    pub cues: Vec<Cue>,
}

impl Default for SpoofCueConfig {
    fn default() -> Self {
        SpoofCueConfig {
            p: 0.0,
            cues: Cue::ALL.to_vec(),
        }
    }
}

impl SpoofCueConfig {
    pub fn enabled(&self) -> bool {
        self.p > 0.0 && !self.cues.is_empty()
    }

    /// `p` is a probability and an enabled config names at least one cue.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.p.is_finite() && (0.0..=1.0).contains(&self.p)) {
            return Err(format!(
                "the spoof-cue probability must be in [0, 1], is {}",
                self.p
            ));
        }
        if self.p > 0.0 && self.cues.is_empty() {
            return Err("spoof cues are on (probability > 0) but no cue is named".into());
        }
        Ok(())
    }

    /// Whether this sample becomes an attack, and with which cue: one draw decides, a second
    /// picks the cue.
    pub fn pick<R: Rng>(&self, rng: &mut R) -> Option<Cue> {
        if !self.enabled() || rng.gen::<f32>() >= self.p {
            return None;
        }
        Some(self.cues[rng.gen_range(0..self.cues.len())])
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moire {
    /// Period of the display grid in pixels.
    pub period: f32,
    /// Direction of the display grid (radians).
    pub angle: f32,
    /// Rotation (radians) and relative scale of the camera grid against the display's: the
    /// beat is `k1 − k2`, low frequency when both are small.
    pub detune_angle: f32,
    pub detune_scale: f32,
    /// Darkening at the pattern's minima, in (0, 1).
    pub amplitude: f32,
    pub phase: [f32; 2],
    /// Phase step (radians) of the display grid from one colour channel to the next.
    pub subpixel: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Halftone {
    /// Dot-screen cell in pixels.
    pub cell: f32,
    /// Screen angle of the first ink (radians); the next inks at +30° each.
    pub angle: f32,
    /// Share of the screened tone in the result (1 = pure dots).
    pub strength: f32,
    /// Width of the dot edge in tone units (small = hard dots).
    pub softness: f32,
    /// Paper-and-ink range: the output lies in `[black, white]`.
    pub black: f32,
    pub white: f32,
    /// Saturation kept by the print gamut, and a per-channel colour cast (≤ 1).
    pub saturation: f32,
    pub cast: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Screen {
    /// Display gamma applied to the `[0, 1]` values.
    pub gamma: f32,
    /// The display's black level.
    pub black: f32,
    /// White point as per-channel gains (≤ 1).
    pub tint: [f32; 3],
    /// Flicker bands: period in rows, phase, depth (share of light lost at a band's centre).
    pub band_period: f32,
    pub band_phase: f32,
    pub band_depth: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfFusion {
    /// The pasted copy: scale about the image centre and shift (fractions of width, height).
    pub scale: f32,
    pub shift: [f32; 2],
    /// Opacity of the paste at the ellipse's centre.
    pub alpha: f32,
    /// Ellipse radii as fractions of width and height, and the feathered rim as a fraction of
    /// the radius.
    pub radius: [f32; 2],
    pub feather: f32,
    /// Colour mismatch of the pasted copy (per-channel gains).
    pub gain: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jpeg {
    /// JPEG quality, 1–100.
    pub quality: u8,
}

/// One cue with all its parameters: [`apply`] is a pure function of the image and these.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CueParams {
    Moire(Moire),
    Halftone(Halftone),
    Screen(Screen),
    SelfFusion(SelfFusion),
    Jpeg(Jpeg),
}

impl CueParams {
    pub fn cue(&self) -> Cue {
        match self {
            CueParams::Moire(_) => Cue::Moire,
            CueParams::Halftone(_) => Cue::Halftone,
            CueParams::Screen(_) => Cue::Screen,
            CueParams::SelfFusion(_) => Cue::SelfFusion,
            CueParams::Jpeg(_) => Cue::Jpeg,
        }
    }
}

/// The parameters of `cue` for a `w`×`h` image, drawn from `rng`.
pub fn draw<R: Rng>(cue: Cue, w: u32, h: u32, rng: &mut R) -> CueParams {
    let side = w.min(h).max(1) as f32;
    let mut u = |lo: f32, hi: f32| rng.gen_range(lo..hi);
    match cue {
        Cue::Moire => {
            // A fine carrier (a few pixels, as a display's pixel grid at a face's distance); the
            // beat, period / detune ≈ 10–30 carriers, is the visible moiré.
            let period = (side / u(40.0, 80.0)).max(2.5);
            let angle = u(0.0, PI);
            let detune_angle =
                u(2.0, 10.0).to_radians() * if u(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
            let detune_scale = u(-0.05, 0.05);
            let amplitude = u(0.2, 0.45);
            let phase = [u(0.0, 2.0 * PI), u(0.0, 2.0 * PI)];
            let subpixel = if u(0.0, 1.0) < 0.5 { u(0.2, 0.6) } else { 0.0 };
            CueParams::Moire(Moire {
                period,
                angle,
                detune_angle,
                detune_scale,
                amplitude,
                phase,
                subpixel,
            })
        }
        Cue::Halftone => CueParams::Halftone(Halftone {
            cell: (side / u(40.0, 90.0)).max(2.5),
            angle: u(0.0, PI / 2.0),
            strength: u(0.3, 0.7),
            softness: u(0.1, 0.3),
            black: u(0.04, 0.12),
            white: u(0.82, 0.95),
            saturation: u(0.6, 0.9),
            cast: [u(0.92, 1.0), u(0.92, 1.0), u(0.92, 1.0)],
        }),
        Cue::Screen => {
            let gamma = if u(0.0, 1.0) < 0.5 {
                u(0.6, 0.85)
            } else {
                u(1.2, 1.6)
            };
            CueParams::Screen(Screen {
                gamma,
                black: u(0.02, 0.08),
                tint: [u(0.88, 0.98), u(0.94, 1.0), 1.0],
                band_period: (h as f32 / u(2.5, 8.0)).max(4.0),
                band_phase: u(0.0, 2.0 * PI),
                band_depth: u(0.1, 0.3),
            })
        }
        Cue::SelfFusion => CueParams::SelfFusion(SelfFusion {
            scale: u(0.9, 1.1),
            shift: [u(-0.06, 0.06), u(-0.06, 0.06)],
            alpha: u(0.5, 0.9),
            radius: [u(0.28, 0.38), u(0.34, 0.45)],
            feather: u(0.1, 0.3),
            gain: [u(0.88, 1.12), u(0.88, 1.12), u(0.88, 1.12)],
        }),
        Cue::Jpeg => CueParams::Jpeg(Jpeg {
            quality: rng.gen_range(8..=35),
        }),
    }
}

/// `img` with the cue of `params` (same size).
pub fn apply(img: &RgbImage, params: &CueParams) -> Result<RgbImage, image::ImageError> {
    if img.width() == 0 || img.height() == 0 {
        return Ok(img.clone());
    }
    let mut f = Float::of(img);
    match params {
        CueParams::Moire(p) => moire(&mut f, p),
        CueParams::Halftone(p) => halftone(&mut f, p),
        CueParams::Screen(p) => screen(&mut f, p),
        CueParams::SelfFusion(p) => self_fusion(&mut f, p),
        CueParams::Jpeg(p) => return jpeg(img, p),
    }
    Ok(f.to_rgb8())
}

/// Draws the parameters of `cue` for `img` and applies them.
pub fn apply_random<R: Rng>(
    img: &RgbImage,
    cue: Cue,
    rng: &mut R,
) -> Result<RgbImage, image::ImageError> {
    apply(img, &draw(cue, img.width(), img.height(), rng))
}

/// An RGB image as interleaved `[0, 1]` floats.
struct Float {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl Float {
    fn of(img: &RgbImage) -> Self {
        Float {
            w: img.width() as usize,
            h: img.height() as usize,
            px: img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect(),
        }
    }

    fn to_rgb8(&self) -> RgbImage {
        let raw = self
            .px
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        RgbImage::from_raw(self.w as u32, self.h as u32, raw).expect("same size as the input")
    }

    /// Calls `f(x, y, [r, g, b])` for every pixel, in place.
    fn each(&mut self, mut f: impl FnMut(usize, usize, &mut [f32])) {
        let w = self.w;
        for (i, p) in self.px.chunks_exact_mut(3).enumerate() {
            f(i % w, i / w, p);
        }
    }

    /// Bilinear sample of channel `c` at continuous pixel-centre coordinates, edges clamped.
    fn sample(&self, x: f32, y: f32, c: usize) -> f32 {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |xx: usize, yy: usize| self.px[(yy * self.w + xx) * 3 + c];
        let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
        let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

fn luma(p: &[f32]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

fn moire(f: &mut Float, p: &Moire) {
    let k1 = [p.angle.cos() / p.period, p.angle.sin() / p.period];
    let b = p.angle + p.detune_angle;
    let r = (1.0 + p.detune_scale) / p.period;
    let k2 = [b.cos() * r, b.sin() * r];
    let a = p.amplitude.clamp(0.0, 1.0);
    f.each(|x, y, px| {
        let (x, y) = (x as f32, y as f32);
        let t1 = 2.0 * PI * (k1[0] * x + k1[1] * y) + p.phase[0];
        let t2 = (2.0 * PI * (k2[0] * x + k2[1] * y) + p.phase[1]).cos();
        for (c, v) in px.iter_mut().enumerate() {
            let m = (t1 + c as f32 * p.subpixel).cos() * t2;
            // m ∈ [−1, 1] → a factor in [1 − a, 1]: darkening only, nothing clips.
            *v *= 1.0 - a * (1.0 - m) / 2.0;
        }
    });
}

fn halftone(f: &mut Float, p: &Halftone) {
    let (lo, hi) = (p.black.clamp(0.0, 1.0), p.white.clamp(0.0, 1.0));
    let soft = p.softness.max(1e-3);
    let screens: Vec<(f32, f32)> = (0..3)
        .map(|c| {
            let a = p.angle + c as f32 * PI / 6.0;
            (a.cos(), a.sin())
        })
        .collect();
    let w = 2.0 * PI / p.cell.max(1e-3);
    f.each(|x, y, px| {
        let (x, y) = (x as f32, y as f32);
        let l = luma(px);
        for (c, v) in px.iter_mut().enumerate() {
            let tone = ((l + p.saturation * (*v - l)) * p.cast[c].min(1.0)).clamp(0.0, 1.0);
            let (cs, sn) = screens[c];
            let (u, vv) = (x * cs + y * sn, -x * sn + y * cs);
            // The dot profile in [0, 1]; paper shows where the tone exceeds it.
            let d = ((w * u).cos() * (w * vv).cos() + 1.0) / 2.0;
            let paper = ((tone - d) / soft + 0.5).clamp(0.0, 1.0);
            let mixed = (1.0 - p.strength) * tone + p.strength * paper;
            *v = lo + (hi - lo) * mixed;
        }
    });
}

fn screen(f: &mut Float, p: &Screen) {
    let black = p.black.clamp(0.0, 1.0);
    let depth = p.band_depth.clamp(0.0, 1.0);
    let period = p.band_period.max(1e-3);
    f.each(|_, y, px| {
        let band = 1.0 - depth * (1.0 - (2.0 * PI * y as f32 / period + p.band_phase).cos()) / 2.0;
        for (c, v) in px.iter_mut().enumerate() {
            let lit = p.tint[c].clamp(0.0, 1.0) * v.max(0.0).powf(p.gamma) * band;
            *v = black + (1.0 - black) * lit;
        }
    });
}

/// The soft elliptical mask of a self-fusion at pixel `(x, y)`: 1 inside, 0 outside the
/// ellipse, a linear rim of `feather` × radius inside its edge.
pub fn fusion_mask(p: &SelfFusion, w: u32, h: u32, x: u32, y: u32) -> f32 {
    let (w, h) = (w as f32, h as f32);
    let dx = (x as f32 + 0.5 - w / 2.0) / (p.radius[0] * w).max(1e-3);
    let dy = (y as f32 + 0.5 - h / 2.0) / (p.radius[1] * h).max(1e-3);
    let r = (dx * dx + dy * dy).sqrt();
    ((1.0 - r) / p.feather.max(1e-3)).clamp(0.0, 1.0)
}

fn self_fusion(f: &mut Float, p: &SelfFusion) {
    let src = Float {
        w: f.w,
        h: f.h,
        px: f.px.clone(),
    };
    let (w, h) = (f.w as f32, f.h as f32);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let scale = p.scale.max(1e-3);
    let alpha = p.alpha.clamp(0.0, 1.0);
    let (wu, hu) = (f.w as u32, f.h as u32);
    f.each(|x, y, px| {
        let m = alpha * fusion_mask(p, wu, hu, x as u32, y as u32);
        if m == 0.0 {
            return;
        }
        let sx = (x as f32 + 0.5 - cx) / scale + cx - p.shift[0] * w - 0.5;
        let sy = (y as f32 + 0.5 - cy) / scale + cy - p.shift[1] * h - 0.5;
        for (c, v) in px.iter_mut().enumerate() {
            let pasted = (src.sample(sx, sy, c) * p.gain[c]).clamp(0.0, 1.0);
            *v = (1.0 - m) * *v + m * pasted;
        }
    });
}

fn jpeg(img: &RgbImage, p: &Jpeg) -> Result<RgbImage, image::ImageError> {
    let mut bytes = Vec::new();
    let enc =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, p.quality.clamp(1, 100));
    img.write_with_encoder(enc)?;
    Ok(image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A face-sized test image with texture: gradients, a disc and seeded noise.
    fn textured(w: u32, h: u32) -> RgbImage {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        RgbImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let disc = ((fx - 0.5).powi(2) + (fy - 0.45).powi(2)) < 0.08;
            let n: f32 = rng.gen_range(-20.0..20.0);
            let base = [
                60.0 + 150.0 * fx,
                40.0 + 120.0 * fy,
                if disc { 200.0 } else { 90.0 },
            ];
            image::Rgb(base.map(|v| (v + n).clamp(0.0, 255.0) as u8))
        })
    }

    fn flat(w: u32, h: u32, v: u8) -> RgbImage {
        RgbImage::from_pixel(w, h, image::Rgb([v, v, v]))
    }

    fn channel(img: &RgbImage, c: usize) -> Vec<f32> {
        img.pixels().map(|p| f32::from(p[c]) / 255.0).collect()
    }

    /// |DFT| of a 1-D signal at integer frequency k (cycles over the signal's length).
    fn dft_1d(s: &[f32], k: usize) -> f32 {
        let n = s.len() as f32;
        let mean = s.iter().sum::<f32>() / n;
        let (mut re, mut im) = (0.0f32, 0.0f32);
        for (i, &v) in s.iter().enumerate() {
            let t = 2.0 * PI * k as f32 * i as f32 / n;
            re += (v - mean) * t.cos();
            im -= (v - mean) * t.sin();
        }
        (re * re + im * im).sqrt()
    }

    /// The frequency (cycles over the length) with the largest |DFT| among 1..=max_k.
    fn peak_1d(s: &[f32], max_k: usize) -> usize {
        (1..=max_k)
            .max_by(|&a, &b| dft_1d(s, a).total_cmp(&dft_1d(s, b)))
            .unwrap()
    }

    /// The 2-D frequency (kx, ky), cycles per image, with the largest |DFT| over |kx|, |ky| ≤
    /// `max_k` (DC excluded; kx ≥ 0, the spectrum of a real image being symmetric).
    fn peak_2d(img: &[f32], w: usize, h: usize, max_k: i32) -> (i32, i32) {
        let mean = img.iter().sum::<f32>() / img.len() as f32;
        let mut best = ((0, 0), -1.0f32);
        for kx in 0..=max_k {
            for ky in -max_k..=max_k {
                if (kx, ky) == (0, 0) || (kx == 0 && ky < 0) {
                    continue;
                }
                let (mut re, mut im) = (0.0f32, 0.0f32);
                for y in 0..h {
                    for x in 0..w {
                        let t = 2.0
                            * PI
                            * (kx as f32 * x as f32 / w as f32 + ky as f32 * y as f32 / h as f32);
                        let v = img[y * w + x] - mean;
                        re += v * t.cos();
                        im -= v * t.sin();
                    }
                }
                let mag = re * re + im * im;
                if mag > best.1 {
                    best = ((kx, ky), mag);
                }
            }
        }
        best.0
    }

    fn imageops_crop(im: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
        image::imageops::crop_imm(im, x, y, w, h).to_image()
    }

    fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f32 {
        let n = a.as_raw().len() as f32;
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&x, &y)| (f32::from(x) - f32::from(y)).abs())
            .sum::<f32>()
            / n
    }

    #[test]
    fn each_cue_is_deterministic_per_seed() {
        let img = textured(70, 90);
        for cue in Cue::ALL {
            let run = |seed| apply_random(&img, cue, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            let (a, b, c) = (run(5), run(5), run(6));
            assert_eq!(a, b, "{}: same seed, same image", cue.name());
            assert_ne!(a, c, "{}: another seed, another image", cue.name());
        }
    }

    /// Every cue, drawn with its default ranges over several seeds, changes the face (the
    /// central half, where self-fusion's ellipse lies) by a visible amount, and no two cues
    /// give the same image.
    #[test]
    fn every_cue_visibly_changes_the_image_and_differs_from_the_others() {
        let img = textured(96, 96);
        let centre = |im: &RgbImage| imageops_crop(im, 24, 24, 48, 48);
        for seed in 0..8 {
            let outs: Vec<RgbImage> = Cue::ALL
                .iter()
                .map(|&cue| apply_random(&img, cue, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap())
                .collect();
            for (cue, out) in Cue::ALL.iter().zip(&outs) {
                let d = mean_abs_diff(&centre(&img), &centre(out));
                assert!(
                    d > 4.0,
                    "{} seed {seed}: mean |Δ| {d:.2} of 255",
                    cue.name()
                );
            }
            for i in 0..outs.len() {
                for j in i + 1..outs.len() {
                    let d = mean_abs_diff(&outs[i], &outs[j]);
                    assert!(
                        d > 2.0,
                        "{} vs {}: {d:.2}",
                        Cue::ALL[i].name(),
                        Cue::ALL[j].name()
                    );
                }
            }
        }
    }

    /// The moiré's visible part is the beat of the two gratings: on a flat image, the
    /// low-frequency spectrum peaks at k1 − k2 (cycles per image).
    #[test]
    fn moire_spectrum_peaks_at_the_beat_frequency() {
        let n = 128usize;
        let p = Moire {
            period: 8.0,
            angle: 0.3,
            detune_angle: 6f32.to_radians(),
            detune_scale: 0.04,
            amplitude: 0.4,
            phase: [0.0, 1.0],
            subpixel: 0.0,
        };
        let out = apply(&flat(n as u32, n as u32, 200), &CueParams::Moire(p)).unwrap();
        let k1 = [p.angle.cos() / p.period, p.angle.sin() / p.period];
        let b = p.angle + p.detune_angle;
        let r = (1.0 + p.detune_scale) / p.period;
        let beat = [
            (k1[0] - b.cos() * r) * n as f32,
            (k1[1] - b.sin() * r) * n as f32,
        ];
        // The peak's sign convention: kx ≥ 0.
        let beat = if beat[0] < 0.0 {
            [-beat[0], -beat[1]]
        } else {
            beat
        };
        let (kx, ky) = peak_2d(&channel(&out, 0), n, n, 6);
        assert!(
            (kx as f32 - beat[0]).abs() <= 1.0 && (ky as f32 - beat[1]).abs() <= 1.0,
            "peak ({kx}, {ky}), beat ({:.2}, {:.2})",
            beat[0],
            beat[1]
        );
        // Darkening only: nothing brighter than the input, nothing below (1 − amplitude).
        let v = channel(&out, 0);
        let (lo, hi) = v
            .iter()
            .fold((1f32, 0f32), |(l, h), &x| (l.min(x), h.max(x)));
        assert!(
            hi <= 200.5 / 255.0 && lo >= 200.0 / 255.0 * 0.6 - 1.0 / 255.0,
            "{lo} {hi}"
        );
    }

    /// Halftone dots repeat with the cell along the screen's axis; the output lies in the
    /// paper-and-ink range whatever the input.
    #[test]
    fn halftone_repeats_with_the_cell_and_keeps_the_print_range() {
        let p = Halftone {
            cell: 8.0,
            angle: 0.0,
            strength: 1.0,
            softness: 0.1,
            black: 0.1,
            white: 0.9,
            saturation: 0.8,
            cast: [1.0, 0.95, 0.97],
        };
        let out = apply(&flat(128, 32, 128), &CueParams::Halftone(p)).unwrap();
        // Channel 0's screen is at angle 0: along row 0 the dots repeat every 8 px = 16 cycles.
        let row: Vec<f32> = (0..128)
            .map(|x| f32::from(out.get_pixel(x, 0)[0]))
            .collect();
        assert_eq!(peak_1d(&row, 40), 16);
        for v in [0u8, 255] {
            let out = apply(&flat(40, 40, v), &CueParams::Halftone(p)).unwrap();
            assert!(
                out.as_raw().iter().all(|&x| (25..=230).contains(&x)),
                "input {v}"
            );
        }
        let out = apply(&textured(50, 50), &CueParams::Halftone(p)).unwrap();
        assert!(out.as_raw().iter().all(|&x| (25..=230).contains(&x)));
    }

    /// Flicker bands: the row means repeat with the band period; the gamma bends mid-grey.
    #[test]
    fn screen_bands_have_the_drawn_period_and_gamma_bends_the_tone() {
        let p = Screen {
            gamma: 1.5,
            black: 0.0,
            tint: [1.0, 1.0, 1.0],
            band_period: 16.0,
            band_phase: 0.4,
            band_depth: 0.3,
        };
        let (w, h) = (24u32, 128u32);
        let out = apply(&flat(w, h, 180), &CueParams::Screen(p)).unwrap();
        let rows: Vec<f32> = (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| f32::from(out.get_pixel(x, y)[1]))
                    .sum::<f32>()
            })
            .collect();
        assert_eq!(peak_1d(&rows, 40), 8, "128 rows / 16-row bands");
        let no_bands = Screen {
            band_depth: 0.0,
            ..p
        };
        let grey = apply(&flat(4, 4, 128), &CueParams::Screen(no_bands)).unwrap();
        let want = (128.0f32 / 255.0).powf(1.5) * 255.0;
        assert!((f32::from(grey.get_pixel(1, 1)[0]) - want).abs() <= 1.0);
    }

    /// Self-fusion changes the inside of the ellipse only.
    #[test]
    fn self_fusion_is_confined_to_its_ellipse() {
        let p = SelfFusion {
            scale: 1.08,
            shift: [0.05, -0.04],
            alpha: 0.8,
            radius: [0.3, 0.38],
            feather: 0.2,
            gain: [1.1, 0.9, 1.0],
        };
        let (w, h) = (80u32, 100u32);
        let img = textured(w, h);
        let out = apply(&img, &CueParams::SelfFusion(p)).unwrap();
        let (mut inside, mut n_inside) = (0.0f32, 0usize);
        for y in 0..h {
            for x in 0..w {
                let m = fusion_mask(&p, w, h, x, y);
                let (a, b) = (img.get_pixel(x, y), out.get_pixel(x, y));
                if m == 0.0 {
                    assert_eq!(a, b, "({x}, {y}) lies outside the ellipse");
                } else if m == 1.0 {
                    inside += (0..3)
                        .map(|c| (f32::from(a[c]) - f32::from(b[c])).abs())
                        .sum::<f32>();
                    n_inside += 3;
                }
            }
        }
        assert!(n_inside > 1000);
        assert!(
            inside / n_inside as f32 > 8.0,
            "{}",
            inside / n_inside as f32
        );
    }

    /// JPEG at low quality puts edges on the 8×8 block grid of a smooth image.
    #[test]
    fn jpeg_makes_block_edges() {
        let img = RgbImage::from_fn(96, 96, |x, y| {
            let v = ((x as f32 * 0.9 + y as f32 * 0.6) * 1.1) as u8;
            image::Rgb([v, 255 - v, (v / 2) + 60])
        });
        // Mean |horizontal step| across block boundaries over the mean elsewhere.
        let blockiness = |im: &RgbImage| {
            let (mut on, mut off, mut n_on, mut n_off) = (0.0f32, 0.0f32, 0, 0);
            for y in 0..im.height() {
                for x in 0..im.width() - 1 {
                    let d = (0..3)
                        .map(|c| {
                            (f32::from(im.get_pixel(x + 1, y)[c])
                                - f32::from(im.get_pixel(x, y)[c]))
                            .abs()
                        })
                        .sum::<f32>();
                    if x % 8 == 7 {
                        on += d;
                        n_on += 1;
                    } else {
                        off += d;
                        n_off += 1;
                    }
                }
            }
            (on / n_on as f32) / (off / n_off as f32).max(1e-6)
        };
        let out = apply(&img, &CueParams::Jpeg(Jpeg { quality: 8 })).unwrap();
        let (before, after) = (blockiness(&img), blockiness(&out));
        assert!(before < 1.3, "{before}");
        assert!(after > 1.5 * before, "before {before:.2} after {after:.2}");
    }

    /// Any size works, the size is kept, and the values stay in range without saturating: a
    /// mid-grey image is not pushed to 0 or 255.
    #[test]
    fn any_size_and_values_in_range() {
        for (w, h) in [(1, 1), (2, 3), (17, 5), (5, 17), (301, 203)] {
            for cue in Cue::ALL {
                for seed in 0..3 {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    let out = apply_random(&flat(w, h, 128), cue, &mut rng).unwrap();
                    assert_eq!(out.dimensions(), (w, h), "{}", cue.name());
                    let saturated = out.as_raw().iter().filter(|&&v| v == 0 || v == 255).count();
                    assert_eq!(saturated, 0, "{} {w}x{h} seed {seed}", cue.name());
                }
            }
        }
        let empty = RgbImage::new(0, 0);
        for cue in Cue::ALL {
            let out = apply_random(&empty, cue, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
            assert_eq!(out.dimensions(), (0, 0));
        }
    }

    #[test]
    fn config_picks_with_its_probability_and_validates() {
        let cfg = SpoofCueConfig {
            p: 0.25,
            cues: vec![Cue::Moire, Cue::Jpeg],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let picks: Vec<Option<Cue>> = (0..4000).map(|_| cfg.pick(&mut rng)).collect();
        let on = picks.iter().flatten().count() as f32 / 4000.0;
        assert!((on - 0.25).abs() < 0.03, "{on}");
        assert!(picks.iter().flatten().all(|c| cfg.cues.contains(c)));
        assert!(picks.contains(&Some(Cue::Moire)) && picks.contains(&Some(Cue::Jpeg)));
        let off = SpoofCueConfig::default();
        assert!(!off.enabled());
        assert!((0..100).all(|_| off.pick(&mut rng).is_none()));
        assert!(SpoofCueConfig {
            p: 1.5,
            ..off.clone()
        }
        .validate()
        .is_err());
        assert!(SpoofCueConfig {
            p: f32::NAN,
            ..off.clone()
        }
        .validate()
        .is_err());
        assert!(SpoofCueConfig {
            p: 0.1,
            cues: vec![]
        }
        .validate()
        .is_err());
        assert!(SpoofCueConfig { p: 0.1, ..off }.validate().is_ok());
    }
}
