//! Image decoding, CLIP preprocessing and training augmentation (spec §1, §5).
//! Output is CHW f32, normalised with CLIP's mean/std, ready to become a tensor.

use std::path::Path;

use image::imageops::{self, FilterType};
use image::{ImageReader, RgbImage};
use rand::Rng;

// The constants as published by OpenAI (spec §1), even where f32 cannot hold every digit.
#[allow(clippy::excessive_precision)]
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
#[allow(clippy::excessive_precision)]
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// Decodes an image file (JPEG or PNG; the format is sniffed from the content) to RGB8.
pub fn decode(path: &Path) -> Result<RgbImage, image::ImageError> {
    Ok(ImageReader::open(path)?
        .with_guessed_format()?
        .decode()?
        .to_rgb8())
}

/// Training augmentation parameters (spec §5: random resized crop, h-flip, mild colour jitter).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AugmentConfig {
    /// Fraction of the image area kept by the random crop (torchvision's `scale`). Narrower than
    /// torchvision's (0.08, 1): small crops would cut away the face and the attack cues.
    pub scale: (f32, f32),
    /// Crop aspect-ratio range (torchvision's `ratio`).
    pub ratio: (f32, f32),
    pub flip_p: f32,
    /// Jitter strengths: factors drawn from [1 − x, 1 + x].
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
}

/// Named augmentation strengths (`trainer train --augment`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AugmentLevel {
    /// Spec §5 as [`AugmentConfig::default`]: crops of 50–100 % of the area, flip, ±10 % jitter.
    #[default]
    Spec,
    /// Crops of 85–100 % at near-square aspect, flip, ±5 % jitter: little resampling, so
    /// few-pixel textures (the synthetic set's cues) look at training as they do at test.
    Light,
    /// Flip only: the evaluation transform otherwise.
    None,
}

impl AugmentLevel {
    pub fn config(self) -> AugmentConfig {
        match self {
            AugmentLevel::Spec => AugmentConfig::default(),
            AugmentLevel::Light => AugmentConfig {
                scale: (0.85, 1.0),
                ratio: (0.95, 1.05),
                flip_p: 0.5,
                brightness: 0.05,
                contrast: 0.05,
                saturation: 0.05,
            },
            AugmentLevel::None => AugmentConfig {
                scale: (1.0, 1.0),
                ratio: (1.0, 1.0),
                flip_p: 0.5,
                brightness: 0.0,
                contrast: 0.0,
                saturation: 0.0,
            },
        }
    }
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            scale: (0.5, 1.0),
            ratio: (3.0 / 4.0, 4.0 / 3.0),
            flip_p: 0.5,
            brightness: 0.1,
            contrast: 0.1,
            saturation: 0.1,
        }
    }
}

/// Evaluation preprocessing (OpenAI CLIP / HF `CLIPImageProcessor`): resize the shortest side to
/// `size` (bicubic ≈ Catmull-Rom; the long side is `floor(size · long / short)` as HF computes it),
/// centre crop `size`×`size`, normalise.
pub fn eval_transform(img: &RgbImage, size: u32) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let (nw, nh) = if w <= h {
        (
            size,
            ((size as u64 * h as u64) / w.max(1) as u64).max(size as u64) as u32,
        )
    } else {
        (
            ((size as u64 * w as u64) / h.max(1) as u64).max(size as u64) as u32,
            size,
        )
    };
    let resized = if (nw, nh) == (w, h) {
        img.clone()
    } else {
        imageops::resize(img, nw, nh, FilterType::CatmullRom)
    };
    let (left, top) = ((nw - size) / 2, (nh - size) / 2);
    let crop = imageops::crop_imm(&resized, left, top, size, size).to_image();
    normalise_chw(&to_unit_hwc(&crop), size, size)
}

/// Training transform: random resized crop to `size`, horizontal flip, colour jitter, normalise.
pub fn train_transform<R: Rng>(
    img: &RgbImage,
    size: u32,
    cfg: &AugmentConfig,
    rng: &mut R,
) -> Vec<f32> {
    let (x, y, cw, ch) = random_crop_box(img.width(), img.height(), cfg, rng);
    let crop = imageops::crop_imm(img, x, y, cw, ch).to_image();
    let mut out = if (cw, ch) == (size, size) {
        crop // no resampling when the crop already has the input size
    } else {
        imageops::resize(&crop, size, size, FilterType::CatmullRom)
    };
    if rng.gen::<f32>() < cfg.flip_p {
        imageops::flip_horizontal_in_place(&mut out);
    }
    let mut hwc = to_unit_hwc(&out);
    colour_jitter(&mut hwc, cfg, rng);
    normalise_chw(&hwc, size, size)
}

/// torchvision's `RandomResizedCrop.get_params`: 10 tries at a random area/aspect; else the
/// whole image. Returns (x, y, w, h).
fn random_crop_box<R: Rng>(
    w: u32,
    h: u32,
    cfg: &AugmentConfig,
    rng: &mut R,
) -> (u32, u32, u32, u32) {
    let area = (w * h) as f32;
    let (lr0, lr1) = (cfg.ratio.0.ln(), cfg.ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.gen_range(cfg.scale.0..=cfg.scale.1);
        let aspect = rng.gen_range(lr0..=lr1).exp();
        let cw = (target * aspect).sqrt().round() as u32;
        let ch = (target / aspect).sqrt().round() as u32;
        if cw > 0 && ch > 0 && cw <= w && ch <= h {
            return (rng.gen_range(0..=w - cw), rng.gen_range(0..=h - ch), cw, ch);
        }
    }
    (0, 0, w, h)
}

/// Brightness, contrast, saturation (fixed order), each by a factor in [1 − x, 1 + x], on [0,1].
fn colour_jitter<R: Rng>(hwc: &mut [f32], cfg: &AugmentConfig, rng: &mut R) {
    let mut factor = |x: f32| {
        if x > 0.0 {
            rng.gen_range(1.0 - x..=1.0 + x)
        } else {
            1.0
        }
    };
    let (b, c, s) = (
        factor(cfg.brightness),
        factor(cfg.contrast),
        factor(cfg.saturation),
    );
    let grey = |p: &[f32]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    for v in hwc.iter_mut() {
        *v = (*v * b).clamp(0.0, 1.0);
    }
    let n = (hwc.len() / 3).max(1) as f32;
    let mean = hwc.chunks_exact(3).map(grey).sum::<f32>() / n;
    for px in hwc.chunks_exact_mut(3) {
        for v in px.iter_mut() {
            *v = ((*v - mean) * c + mean).clamp(0.0, 1.0);
        }
        let g = grey(px);
        for v in px.iter_mut() {
            *v = ((*v - g) * s + g).clamp(0.0, 1.0);
        }
    }
}

fn to_unit_hwc(img: &RgbImage) -> Vec<f32> {
    img.as_raw().iter().map(|&v| v as f32 / 255.0).collect()
}

fn normalise_chw(hwc: &[f32], w: u32, h: u32) -> Vec<f32> {
    let plane = (w * h) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (i, px) in hwc.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (px[c] - CLIP_MEAN[c]) / CLIP_STD[c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn eval_resizes_shortest_side_and_centre_crops() {
        // 40×20 image: left half black, right half white. Shortest side 20 → 10: 20×10, the crop
        // is the middle 10×10 (x 5..15): its left half black, right half white.
        let img = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let t = eval_transform(&img, 10);
        assert_eq!(t.len(), 3 * 10 * 10);
        let at =
            |c: usize, y: usize, x: usize| t[c * 100 + y * 10 + x] * CLIP_STD[c] + CLIP_MEAN[c];
        assert!(at(0, 5, 1).abs() < 0.02, "{}", at(0, 5, 1));
        assert!((at(2, 5, 8) - 1.0).abs() < 0.02);
    }

    #[test]
    fn train_transform_is_seeded_and_varies() {
        let img = RgbImage::from_fn(48, 40, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, 90])
        });
        let cfg = AugmentConfig::default();
        let a = train_transform(&img, 16, &cfg, &mut ChaCha8Rng::seed_from_u64(1));
        let b = train_transform(&img, 16, &cfg, &mut ChaCha8Rng::seed_from_u64(1));
        let c = train_transform(&img, 16, &cfg, &mut ChaCha8Rng::seed_from_u64(2));
        assert_eq!(a.len(), 3 * 16 * 16);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn decode_reports_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.jpg");
        std::fs::write(&p, b"not an image at all").unwrap();
        assert!(decode(&p).is_err());
        let good = dir.path().join("ok.png");
        RgbImage::new(3, 2).save(&good).unwrap();
        assert_eq!(decode(&good).unwrap().dimensions(), (3, 2));
    }
}
