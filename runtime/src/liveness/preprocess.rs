//! The one image preprocessing of libmoae (spec §1: "the SDK's documented resize is the
//! contract"). Training (the final resample after its random crop), evaluation, `trainer export
//! --dev` calibration, `moae score`/`moae detect`, the C ABI and JNI all go through
//! [`crate::image::resample`], so a device scores an image exactly as evaluation did.
//!
//! - **Decoding**: [`crate::decode_image`] (JPEG/PNG, EXIF orientation applied, truncated
//!   files rejected).
//! - **Crop**: without a face box, the centred square of side `min(w, h)` of the upright image
//!   (CLIP's "resize shortest side, centre crop", in continuous coordinates); with a box, see
//!   [`crate::image::crop`].
//! - **Filter**: area average when downscaling, bilinear when upscaling (see
//!   [`crate::image::resample`]). Kept instead of CLIP's bicubic because it is what runs on the
//!   device: one fused pass over camera planes (NV21, I420, …) with rotation, where a bicubic
//!   kernel would cost more taps per pixel and, when downscaling a 1080p frame, alias unless
//!   widened.
//!   A model trained elsewhere with bicubic scores slightly differently; fine-tuning with this
//!   pipeline fixes it.
//! - **Normalisation**: `(rgb / 255 - mean) / std` per channel, mean/std from the model.

use crate::error::{Error, Result};
use crate::image::crop::{self, FaceBox, Square};
use crate::image::frame::{Frame, PixelFormat};
use crate::image::resample::{self, Normalize};

/// A square of the upright image, in pixels: it covers `[x, x + side) × [y, y + side)`.
pub type CropSquare = Square;

/// The model input (`3 × size × size`, CHW, normalised) for a square `sq` of the upright
/// `frame`, resampled with the SDK's filter. `sq` must lie inside the frame.
pub fn resample_square_into(
    frame: &Frame<'_>,
    sq: CropSquare,
    size: u32,
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut [f32],
) -> Result<()> {
    let s = size as usize;
    if size == 0 || out.len() != 3 * s * s {
        return Err(Error::InvalidArgument(format!(
            "output buffer has {} floats, need 3 x {size} x {size} with a positive size",
            out.len()
        )));
    }
    let (uw, uh) = frame.upright_size();
    let inside = [sq.x, sq.y, sq.side].iter().all(|v| v.is_finite())
        && sq.side > 0.0
        && sq.x >= 0.0
        && sq.y >= 0.0
        && sq.x + sq.side <= uw as f64
        && sq.y + sq.side <= uh as f64;
    if !inside {
        return Err(Error::InvalidArgument(format!(
            "crop square {sq:?} is not a non-empty square inside the upright {uw}x{uh} image"
        )));
    }
    resample_upright(frame, sq, s, &Normalize::new(mean, std), out);
    Ok(())
}

/// The evaluation input of a packed RGB8 image (`3 * width` bytes per row): its centred square,
/// resampled to `size` — what [`crate::Engine::detect`] computes for a whole image without a
/// face box.
pub fn rgb_image_input(
    rgb: &[u8],
    width: u32,
    height: u32,
    size: u32,
    mean: [f32; 3],
    std: [f32; 3],
) -> Result<Vec<f32>> {
    let frame = Frame::packed(PixelFormat::Rgb, rgb, width, height, 3 * width as usize)?;
    let mut out = vec![0.0f32; 3 * size as usize * size as usize];
    crate::preprocess_into(
        &frame,
        None,
        crate::DEFAULT_CROP_SCALE,
        size,
        mean,
        std,
        &mut out,
    )?;
    Ok(out)
}

/// Crop (see [`crate::image::crop`]) and resample (see [`crate::image::resample`]) `frame` into
/// `out` (`3 * size * size` floats, CHW, `(rgb / 255 - mean) / std`).
#[allow(clippy::too_many_arguments)]
pub fn preprocess_into(
    frame: &Frame<'_>,
    face: Option<FaceBox>,
    crop_scale: f32,
    size: u32,
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut [f32],
) -> Result<()> {
    preprocess_with(
        frame,
        face,
        crop_scale,
        size,
        &Normalize::new(mean, std),
        out,
    )
}

pub(crate) fn preprocess_with(
    frame: &Frame<'_>,
    face: Option<FaceBox>,
    crop_scale: f32,
    size: u32,
    norm: &Normalize,
    out: &mut [f32],
) -> Result<()> {
    let s = size as usize;
    if out.len() != 3 * s * s {
        return Err(Error::InvalidArgument(format!(
            "output buffer has {} floats, need 3 x {size} x {size}",
            out.len()
        )));
    }
    crop::check_crop_scale(crop_scale)?;
    let (uw, uh) = frame.upright_size();
    let sq = crop::upright_crop(uw, uh, face, crop_scale)?;
    resample_upright(frame, sq, s, norm, out);
    Ok(())
}

/// The `3 × s × s` model input of the upright square `sq` (already checked to lie in `frame`),
/// written into `out` (`3 * s * s` floats).
pub(crate) fn resample_upright(
    frame: &Frame<'_>,
    sq: Square,
    s: usize,
    norm: &Normalize,
    out: &mut [f32],
) {
    resample::resample_into(frame, crop::to_source(sq, frame), s, norm, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centre_square_equals_the_engine_path() {
        let (w, h) = (37u32, 23u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 11 % 251) as u8).collect();
        let (mean, std) = ([0.4, 0.5, 0.6], [0.2, 0.3, 0.25]);
        let a = rgb_image_input(&rgb, w, h, 16, mean, std).unwrap();
        let frame = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize).unwrap();
        let mut b = vec![0.0; a.len()];
        let sq = CropSquare {
            x: 7.0,
            y: 0.0,
            side: 23.0,
        };
        resample_square_into(&frame, sq, 16, mean, std, &mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn squares_outside_the_image_are_errors() {
        let rgb = vec![0u8; 10 * 8 * 3];
        let frame = Frame::packed(PixelFormat::Rgb, &rgb, 10, 8, 30).unwrap();
        let mut out = vec![0.0; 3 * 4 * 4];
        for (x, y, side) in [
            (0.0, 0.0, 9.0),
            (-1.0, 0.0, 4.0),
            (0.0, 0.0, 0.0),
            (f64::NAN, 0.0, 2.0),
        ] {
            let sq = CropSquare { x, y, side };
            let err = resample_square_into(&frame, sq, 4, [0.0; 3], [1.0; 3], &mut out);
            assert!(matches!(err, Err(Error::InvalidArgument(_))), "{sq:?}");
        }
    }
}
