//! The preprocessing an engine applies, also usable without an engine or ONNX Runtime.

use crate::crop::{self, FaceBox};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::resample::{self, Normalize};

/// Crop (see [`crate::crop`]) and resample (see [`crate::resample`]) `frame` into `out`
/// (`3 * size * size` floats, CHW, `(rgb / 255 - mean) / std`).
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
    let src = crop::to_source(sq, frame);
    resample::resample_into(frame, src, s, norm, out);
    Ok(())
}
