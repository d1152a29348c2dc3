//! Image decoding, CLIP preprocessing and training augmentation (spec §1, §5).
//! Output is CHW f32, normalised with CLIP's mean/std, ready to become a tensor.
//!
//! Decoding, crop geometry, the resize filter and the normalisation are the runtime's
//! ([`moae_runtime::decode_image`], [`moae_runtime::rgb_image_input`],
//! [`moae_runtime::resample_square_into`]; the filter and why it is the contract are documented
//! there): the trainer scores an image exactly as the SDK on a device does.

use std::path::Path;

use image::RgbImage;
use moae_runtime::{CropSquare, Frame, PixelFormat};
use rand::Rng;

// The constants as published by OpenAI (spec §1), even where f32 cannot hold every digit.
#[allow(clippy::excessive_precision)]
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
#[allow(clippy::excessive_precision)]
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// Decodes an image file (JPEG or PNG; the format is sniffed from the content) to upright RGB8
/// with the runtime's decoder (EXIF orientation applied, truncated files rejected).
pub fn decode(path: &Path) -> Result<RgbImage, moae_runtime::Error> {
    let (rgb, w, h) = moae_runtime::decode_image(path)?;
    RgbImage::from_raw(w, h, rgb).ok_or_else(|| {
        moae_runtime::Error::Image(format!("{}: {w}x{h} pixels do not fit", path.display()))
    })
}

/// Training augmentation parameters (spec §5: random resized crop, h-flip, mild colour jitter).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AugmentConfig {
    /// Fraction of the image area kept by the random crop (torchvision's `scale`). Narrower than
    /// torchvision's (0.08, 1): small crops would cut away the face and the attack cues.
    /// Crops are squares: the SDK never distorts the aspect ratio (its crops are squares of
    /// the frame), so training does not either.
    pub scale: (f32, f32),
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
    /// Crops of 85–100 % of the area, flip, ±5 % jitter: little resampling, so
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
                flip_p: 0.5,
                brightness: 0.05,
                contrast: 0.05,
                saturation: 0.05,
            },
            AugmentLevel::None => AugmentConfig {
                scale: (1.0, 1.0),
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
            flip_p: 0.5,
            brightness: 0.1,
            contrast: 0.1,
            saturation: 0.1,
        }
    }
}

/// Per-channel normalisation `(rgb/255 − mean)/std`: the model's `vision.mean`/`vision.std`,
/// the same numbers the exporter writes into the ONNX metadata that the SDK normalises with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Normalization {
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Default for Normalization {
    fn default() -> Self {
        Self {
            mean: CLIP_MEAN,
            std: CLIP_STD,
        }
    }
}

/// Evaluation preprocessing: the centred square of side min(w, h) resampled to `size`×`size`
/// with the SDK's filter (CLIP's "resize shortest side, centre crop"), normalised.
pub fn eval_transform(
    img: &RgbImage,
    size: u32,
    norm: &Normalization,
) -> Result<Vec<f32>, moae_runtime::Error> {
    let (w, h) = img.dimensions();
    moae_runtime::rgb_image_input(img.as_raw(), w, h, size, norm.mean, norm.std)
}

/// Training transform: random square crop resampled to `size` with the SDK's filter,
/// horizontal flip, colour jitter, normalise.
pub fn train_transform<R: Rng>(
    img: &RgbImage,
    size: u32,
    cfg: &AugmentConfig,
    norm: &Normalization,
    rng: &mut R,
) -> Result<Vec<f32>, moae_runtime::Error> {
    let (w, h) = img.dimensions();
    let frame = Frame::packed(PixelFormat::Rgb, img.as_raw(), w, h, 3 * w as usize)?;
    let s = size as usize;
    // Values in [0, 1] (mean 0, std 1 on rgb / 255): the jitter works there.
    let mut chw = vec![0f32; 3 * s * s];
    let sq = random_square(w, h, cfg, rng);
    moae_runtime::resample_square_into(&frame, sq, size, [0.0; 3], [1.0; 3], &mut chw)?;
    if rng.gen::<f32>() < cfg.flip_p {
        for row in chw.chunks_exact_mut(s) {
            row.reverse();
        }
    }
    colour_jitter(&mut chw, s * s, cfg, rng);
    for (c, plane) in chw.chunks_exact_mut(s * s).enumerate() {
        for v in plane {
            *v = (*v - norm.mean[c]) / norm.std[c];
        }
    }
    Ok(chw)
}

/// A random square of `scale` × the image area (torchvision's `RandomResizedCrop` at aspect 1):
/// 10 tries; else the centred square the evaluation uses.
fn random_square<R: Rng>(w: u32, h: u32, cfg: &AugmentConfig, rng: &mut R) -> CropSquare {
    let area = w as f32 * h as f32;
    for _ in 0..10 {
        let side = (area * rng.gen_range(cfg.scale.0..=cfg.scale.1))
            .sqrt()
            .round() as u32;
        if side > 0 && side <= w && side <= h {
            return CropSquare {
                x: rng.gen_range(0..=w - side) as f64,
                y: rng.gen_range(0..=h - side) as f64,
                side: side as f64,
            };
        }
    }
    // Centred in continuous coordinates (a half-pixel offset for odd margins), as evaluation.
    let side = w.min(h);
    CropSquare {
        x: (w - side) as f64 / 2.0,
        y: (h - side) as f64 / 2.0,
        side: side as f64,
    }
}

/// Brightness, contrast, saturation (fixed order), each by a factor in [1 − x, 1 + x], on
/// [0, 1] values in CHW order (`plane` pixels per channel).
fn colour_jitter<R: Rng>(chw: &mut [f32], plane: usize, cfg: &AugmentConfig, rng: &mut R) {
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
    if (b, c, s) == (1.0, 1.0, 1.0) {
        return;
    }
    for v in chw.iter_mut() {
        *v = (*v * b).clamp(0.0, 1.0);
    }
    let (r, rest) = chw.split_at_mut(plane);
    let (g, bl) = rest.split_at_mut(plane);
    let grey =
        |i: usize, r: &[f32], g: &[f32], bl: &[f32]| 0.299 * r[i] + 0.587 * g[i] + 0.114 * bl[i];
    let mean = (0..plane).map(|i| grey(i, r, g, bl)).sum::<f32>() / plane.max(1) as f32;
    for i in 0..plane {
        for ch in [&mut *r, &mut *g, &mut *bl] {
            ch[i] = ((ch[i] - mean) * c + mean).clamp(0.0, 1.0);
        }
        let gr = grey(i, r, g, bl);
        for ch in [&mut *r, &mut *g, &mut *bl] {
            ch[i] = ((ch[i] - gr) * s + gr).clamp(0.0, 1.0);
        }
    }
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
        let t = eval_transform(&img, 10, &Normalization::default()).unwrap();
        assert_eq!(t.len(), 3 * 10 * 10);
        let at =
            |c: usize, y: usize, x: usize| t[c * 100 + y * 10 + x] * CLIP_STD[c] + CLIP_MEAN[c];
        assert!(at(0, 5, 1).abs() < 0.02, "{}", at(0, 5, 1));
        assert!((at(2, 5, 8) - 1.0).abs() < 0.02);

        // The model's own normalisation (what export writes into the ONNX metadata) is the one
        // applied, in evaluation and in training alike.
        let norm = Normalization {
            mean: [0.5, 0.25, 0.0],
            std: [0.5, 2.0, 1.0],
        };
        let own = eval_transform(&img, 10, &norm).unwrap();
        let mut cfg = AugmentLevel::None.config();
        cfg.flip_p = 0.0;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let trained = train_transform(&img, 10, &cfg, &norm, &mut rng).unwrap();
        for (c, m, s) in [(0, 0.5, 0.5), (1, 0.25, 2.0), (2, 0.0, 1.0)] {
            let want = |v: f32| (v - m) / s;
            assert!(
                (own[c * 100 + 5 * 10 + 8] - want(1.0)).abs() < 0.02,
                "channel {c}"
            );
            assert!(
                (own[c * 100 + 5 * 10 + 1] - want(0.0)).abs() < 0.02,
                "channel {c}"
            );
        }
        let max = own
            .iter()
            .zip(&trained)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            max < 1e-5,
            "train vs eval with the same normalisation: {max}"
        );
    }

    #[test]
    fn train_transform_is_seeded_and_varies() {
        let img = RgbImage::from_fn(48, 40, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 6) as u8, 90])
        });
        let cfg = AugmentConfig::default();
        let with_seed = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            train_transform(&img, 16, &cfg, &Normalization::default(), &mut rng).unwrap()
        };
        let (a, b, c) = (with_seed(1), with_seed(1), with_seed(2));
        assert_eq!(a.len(), 3 * 16 * 16);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|v| v.is_finite()));
    }

    /// Without crop, flip or jitter, training sees exactly the evaluation (= SDK) input.
    #[test]
    fn train_transform_without_augmentation_is_the_eval_transform() {
        let img = RgbImage::from_fn(50, 31, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 7) as u8, ((x * y) % 256) as u8])
        });
        let mut cfg = AugmentLevel::None.config();
        cfg.flip_p = 0.0;
        let t = train_transform(
            &img,
            24,
            &cfg,
            &Normalization::default(),
            &mut ChaCha8Rng::seed_from_u64(3),
        )
        .unwrap();
        let e = eval_transform(&img, 24, &Normalization::default()).unwrap();
        let max = t
            .iter()
            .zip(&e)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(max < 1e-5, "max difference {max}");
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
