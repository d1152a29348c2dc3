//! The measured values of one face: size, share outside the frame, brightness, overexposure,
//! sharpness, head roll and yaw.

use super::{flags, Quality, QualityOptions, QualityValues};
use crate::error::Result;
use crate::face::{Keypoint, KEYPOINT_COUNT};
use crate::image::crop::{self, FaceBox};
use crate::image::frame::Frame;
use crate::image::resample::{self, Normalize};

/// Side of the grey face square the image measures (brightness, overexposure, sharpness) are
/// taken on: the face is resampled to this size first, so the values do not depend on the
/// frame's or the face's resolution.
pub(super) const QUALITY_CROP_PX: usize = 64;

/// Luma at or above which a pixel counts as overexposed.
pub(super) const OVEREXPOSED_LUMA: f32 = 250.0;

/// Head-depth ratio of the yaw estimate: distance of the nose tip in front of the vertical
/// axis through the ear tragions, over half the tragion-to-tragion breadth (~11 cm / ~7.3 cm
/// for adult heads, anthropometric averages).
pub const YAW_DEPTH_RATIO: f32 = 1.5;

/// In-plane roll, degrees: the angle of the line from the right eye (keypoint 0, image left)
/// to the left eye (keypoint 1), positive clockwise on screen (y grows downwards). 0 for an
/// upright face.
pub(super) fn roll_deg(kp: &[Keypoint; KEYPOINT_COUNT]) -> f32 {
    let (r, l) = (kp[0], kp[1]);
    (l.y - r.y).atan2(l.x - r.x).to_degrees()
}

/// Yaw (turn left/right), degrees, positive when the nose moves towards the image's right.
///
/// Seen from above, the head is a cylinder turning about its vertical axis: the ear tragions
/// (keypoints 4, 5) sit on the axis' sides at `±R`, the nose tip (keypoint 2) `k R` in front
/// of it (`k` = [`YAW_DEPTH_RATIO`]). Turned by `θ`, the ears project `2 R cos θ` apart and the
/// nose `k R sin θ` from their midpoint, so `tan θ = 2 d / (k D)` with `d` the nose's offset
/// from the ears' midpoint and `D` the ear distance, both measured along the eye line (so the
/// estimate ignores roll). Ears that cross (a near-profile face) give ±90.
pub(super) fn yaw_deg(kp: &[Keypoint; KEYPOINT_COUNT]) -> f32 {
    let roll = roll_deg(kp).to_radians();
    let (c, s) = (roll.cos(), roll.sin());
    let along = |p: Keypoint| p.x * c + p.y * s;
    let (er, el, nose) = (along(kp[4]), along(kp[5]), along(kp[2]));
    let d = nose - (er + el) / 2.0;
    let ear = el - er;
    if ear <= f32::EPSILON {
        return if d >= 0.0 { 90.0 } else { -90.0 };
    }
    (2.0 * d / (YAW_DEPTH_RATIO * ear)).atan().to_degrees()
}

/// Share of `b`'s area outside the upright `uw` x `uh` frame.
pub(super) fn outside_fraction(b: &FaceBox, uw: u32, uh: u32) -> f32 {
    let (x0, y0) = (b.x.max(0.0), b.y.max(0.0));
    let (x1, y1) = (
        (b.x + b.width).min(uw as f32),
        (b.y + b.height).min(uh as f32),
    );
    let inside = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    (1.0 - inside / (b.width * b.height)).clamp(0.0, 1.0)
}

/// The grey face square: the square of side `min(width, height)` centred on the box (the face
/// without the box's background margins), clipped into the frame as the liveness crop is,
/// resampled with the SDK's filter to [`QUALITY_CROP_PX`]² and converted to BT.601 luma.
/// Rotation and mirroring are applied as for the liveness crop.
pub(super) fn face_luma(frame: &Frame<'_>, b: &FaceBox) -> Result<Vec<f32>> {
    let (uw, uh) = frame.upright_size();
    let sq = face_square(uw, uh, b)?;
    let n = QUALITY_CROP_PX;
    let mut rgb = vec![0.0f32; 3 * n * n];
    let identity = Normalize {
        scale: [1.0; 3],
        bias: [0.0; 3],
    };
    resample::resample_into(frame, crop::to_source(sq, frame), n, &identity, &mut rgb);
    let (r, rest) = rgb.split_at(n * n);
    let (g, bl) = rest.split_at(n * n);
    Ok(r.iter()
        .zip(g)
        .zip(bl)
        .map(|((r, g), b)| 0.299 * r + 0.587 * g + 0.114 * b)
        .collect())
}

/// The square [`face_luma`] samples, in the upright `uw` x `uh` frame; an error
/// ([`Error::InvalidFaceBox`]) when it leaves no part of the frame.
pub(crate) fn face_square(uw: u32, uh: u32, b: &FaceBox) -> Result<crop::Square> {
    let side = b.width.min(b.height);
    let inner = FaceBox::new(
        b.x + (b.width - side) / 2.0,
        b.y + (b.height - side) / 2.0,
        side,
        side,
    );
    crop::upright_crop(uw, uh, Some(inner), 1.0)
}

/// Variance of the 4-neighbour Laplacian over the interior of an `n` x `n` grey image.
pub(super) fn laplacian_variance(luma: &[f32], n: usize) -> f32 {
    let mut sum = 0.0f64;
    let mut sum2 = 0.0f64;
    let mut count = 0.0f64;
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            let i = y * n + x;
            let l = luma[i - 1] + luma[i + 1] + luma[i - n] + luma[i + n] - 4.0 * luma[i];
            sum += l as f64;
            sum2 += (l as f64) * (l as f64);
            count += 1.0;
        }
    }
    let mean = sum / count;
    (sum2 / count - mean * mean).max(0.0) as f32
}

/// Measures one face (box in upright pixels; keypoints from the detector, if any) and sets its
/// flags against `opts`. SEVERAL_FACES / NO_FACE are frame-level: [`crate::Engine::analyze`]
/// sets them.
pub fn measure(
    frame: &Frame<'_>,
    face_box: &FaceBox,
    keypoints: Option<&[Keypoint; KEYPOINT_COUNT]>,
    opts: &QualityOptions,
) -> Result<Quality> {
    let (uw, uh) = frame.upright_size();
    let luma = face_luma(frame, face_box)?;
    let n = luma.len() as f32;
    let brightness = luma.iter().sum::<f32>() / n;
    let over = luma.iter().filter(|&&v| v >= OVEREXPOSED_LUMA).count() as f32 / n;
    let (roll, yaw) = keypoints.map_or((0.0, 0.0), |k| (roll_deg(k), yaw_deg(k)));
    let values = QualityValues {
        face_px: face_box.width.max(face_box.height),
        outside_fraction: outside_fraction(face_box, uw, uh),
        brightness,
        overexposed_fraction: over,
        sharpness: laplacian_variance(&luma, QUALITY_CROP_PX),
        roll_deg: roll,
        yaw_deg: yaw,
    };
    Ok(Quality {
        values,
        flags: flags(&values, keypoints.is_some(), opts),
    })
}
