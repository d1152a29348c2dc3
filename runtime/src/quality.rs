//! Frame and face quality: measured values, limits, and the flags that make a decision
//! "unsure" instead of live/attack.
//!
//! Measured per face on the face itself (the detector's or caller's box), in the upright,
//! un-mirrored frame: the box's size and how much of it lies outside the frame; on a fixed-size
//! grey square of the face ([`QUALITY_CROP_PX`]², so values do not depend on resolution) the
//! mean luma, the share of clipped pixels and the variance of the Laplacian (sharpness); from
//! the detector's keypoints the head's roll ([`roll_deg`]) and yaw ([`yaw_deg`]).

use crate::crop::{self, FaceBox};
use crate::error::{Error, Result};
use crate::face::{Keypoint, KEYPOINT_COUNT};
use crate::frame::Frame;
use crate::geometry::MIN_FACE_SIZE_PX;
use crate::resample::{self, Normalize};

/// Quality flags, a bit set (the same bits in C, Java and Swift).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct QualityFlags(pub u32);

impl QualityFlags {
    pub const NONE: QualityFlags = QualityFlags(0);
    /// Frame level: the detector found no face.
    pub const NO_FACE: QualityFlags = QualityFlags(1 << 0);
    /// Frame level (and set on every face): more than one face.
    pub const SEVERAL_FACES: QualityFlags = QualityFlags(1 << 1);
    pub const TOO_SMALL: QualityFlags = QualityFlags(1 << 2);
    pub const PARTLY_OUTSIDE: QualityFlags = QualityFlags(1 << 3);
    pub const TOO_DARK: QualityFlags = QualityFlags(1 << 4);
    pub const TOO_BRIGHT: QualityFlags = QualityFlags(1 << 5);
    pub const BLURRED: QualityFlags = QualityFlags(1 << 6);
    pub const HEAD_ROLL: QualityFlags = QualityFlags(1 << 7);
    pub const HEAD_YAW: QualityFlags = QualityFlags(1 << 8);

    /// Every flag with its stable name (JSON, logs, bindings).
    pub const ALL: [(QualityFlags, &'static str); 9] = [
        (QualityFlags::NO_FACE, "no_face"),
        (QualityFlags::SEVERAL_FACES, "several_faces"),
        (QualityFlags::TOO_SMALL, "too_small"),
        (QualityFlags::PARTLY_OUTSIDE, "partly_outside"),
        (QualityFlags::TOO_DARK, "too_dark"),
        (QualityFlags::TOO_BRIGHT, "too_bright"),
        (QualityFlags::BLURRED, "blurred"),
        (QualityFlags::HEAD_ROLL, "head_roll"),
        (QualityFlags::HEAD_YAW, "head_yaw"),
    ];

    pub fn contains(self, other: QualityFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The names of the set flags, in [`QualityFlags::ALL`]'s order.
    pub fn names(self) -> Vec<&'static str> {
        QualityFlags::ALL
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

impl std::ops::BitOr for QualityFlags {
    type Output = QualityFlags;
    fn bitor(self, rhs: QualityFlags) -> QualityFlags {
        QualityFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for QualityFlags {
    fn bitor_assign(&mut self, rhs: QualityFlags) {
        self.0 |= rhs.0;
    }
}

/// Limits of the quality checks; each documented default is what a selfie/kiosk camera at
/// arm's length passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualityOptions {
    /// Smallest face (longer box side, upright pixels) that is not TOO_SMALL; at least
    /// [`MIN_FACE_SIZE_PX`] (16; a smaller limit would let a detector's or a whole frame's
    /// face too small to judge be decided live).
    pub min_face_px: f32,
    /// Largest share of the face box outside the frame that is not PARTLY_OUTSIDE.
    pub max_outside_fraction: f32,
    /// Mean luma (0-255) of the face below which it is TOO_DARK.
    pub min_brightness: f32,
    /// Mean luma above which it is TOO_BRIGHT.
    pub max_brightness: f32,
    /// Share of saturated (>= 250) face pixels above which it is TOO_BRIGHT.
    pub max_overexposed_fraction: f32,
    /// Variance of the Laplacian of the face crop below which it is BLURRED.
    pub min_sharpness: f32,
    /// Largest in-plane head roll, degrees.
    pub max_roll_deg: f32,
    /// Largest head yaw (from the keypoints), degrees.
    pub max_yaw_deg: f32,
    /// Whether more than one face makes every face "unsure" (SEVERAL_FACES).
    pub allow_several_faces: bool,
}

/// The measured values for one face (a value that cannot be measured, such as yaw for a
/// caller's box without keypoints, is 0 and its check is skipped; a NaN, which only absurd
/// detector keypoints could produce, trips its flag).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct QualityValues {
    pub face_px: f32,
    pub outside_fraction: f32,
    pub brightness: f32,
    pub overexposed_fraction: f32,
    pub sharpness: f32,
    pub roll_deg: f32,
    pub yaw_deg: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quality {
    pub values: QualityValues,
    pub flags: QualityFlags,
}

impl Default for QualityOptions {
    /// Defaults measured, not guessed (runtime/tests/analyze.rs prints the values). The clean
    /// astronaut photo (BlazeFace box 95 px in 512x512) measures: brightness 165, overexposed
    /// 0.0002, sharpness 852, roll 5.4, yaw -3.3; pasted enlarged into webcam-like 640x480 and
    /// 1920x1080 (NV21) frames: the same within a few percent. Each default passes those with
    /// margin and is tripped by the test's altered frames.
    fn default() -> Self {
        QualityOptions {
            // Longer box side, upright px. Under 64 px the liveness crop (1.5x the box,
            // resampled to the model's 224) is upscaled 2.3x or more: the moiré, print and
            // screen texture anti-spoofing looks at is gone. 64 px is a face ~2.5 m from a
            // 720p webcam; the photo's face is 95 px, the shrunk test frame's 29 px.
            min_face_px: 64.0,
            // Share of the box outside the frame. BlazeFace's box has margins (forehead,
            // chin); a face cut by up to a fifth still shows eyes, nose and mouth (measured
            // 0.18 for the photo cut at the right eye); beyond it, cheek and
            // ear are gone (the test's cut frame: 0.37).
            max_outside_fraction: 0.2,
            // Mean BT.601 luma (0-255) of the face square. The clean photo is 165; at a
            // quarter of that (41) the face still detects and its texture is still there;
            // below 40 (the test's x0.2 frame: 32) sensor noise dominates on real cameras.
            min_brightness: 40.0,
            // Mean luma above which the face is washed out (the clean photo x 1.33; the
            // test's brightened frame: 232).
            max_brightness: 220.0,
            // Share of face pixels at luma >= 250 (OVEREXPOSED_LUMA): the clean photo 0.0002,
            // flash/sunlit faces clip in patches; above a quarter the skin texture is lost
            // (the brightened frame: 0.62).
            max_overexposed_fraction: 0.25,
            // Variance of the 4-neighbour Laplacian on the 64x64 grey face square. Clean
            // photo 852; a soft lens (Gaussian sigma ~1.4 px on the 95 px face) 104 and a
            // face at a quarter of the brightness 51, both pass; sigma ~2.4 px measures 25 and
            // trips. The measure scales with contrast squared, so very dark faces also read as
            // blurred, and sensor noise raises it (a noisy blurred face can pass).
            min_sharpness: 40.0,
            // In-plane roll, degrees. ICAO passport rules allow ~8; liveness models are
            // trained on handheld selfies that tilt more, and BlazeFace's eye keypoints read a
            // 40-degree tilt as 31-37 degrees: 25 separates them.
            max_roll_deg: 25.0,
            // Yaw, degrees (keypoint estimate, see yaw_deg). Beyond ~30 degrees one cheek is
            // foreshortened and one ear hidden: the crop no longer looks like the frontal
            // faces the model learnt. The clean photo: -3.3.
            max_yaw_deg: 30.0,
            // Several faces make every face unsure: a second face (a photo held up next to
            // the user) is a classic presentation attack set-up.
            allow_several_faces: false,
        }
    }
}

impl QualityOptions {
    /// Every value finite, `min_face_px >= MIN_FACE_SIZE_PX`, fractions in [0, 1], angles in
    /// [0, 180], brightness limits in [0, 255] and ordered (`min_brightness <= max_brightness`).
    pub fn validate(&self) -> Result<()> {
        if !(self.min_face_px.is_finite() && self.min_face_px >= MIN_FACE_SIZE_PX) {
            return Err(Error::InvalidArgument(format!(
                "quality option min_face_px is {}: use a finite value >= {MIN_FACE_SIZE_PX} (the \
                 smallest face box the SDK judges at all; a lower limit would let a face \
                 too small to judge be decided live)",
                self.min_face_px
            )));
        }
        let fields = [
            (
                "max_outside_fraction",
                self.max_outside_fraction,
                0.0,
                Some(1.0),
            ),
            ("min_brightness", self.min_brightness, 0.0, Some(255.0)),
            ("max_brightness", self.max_brightness, 0.0, Some(255.0)),
            (
                "max_overexposed_fraction",
                self.max_overexposed_fraction,
                0.0,
                Some(1.0),
            ),
            ("min_sharpness", self.min_sharpness, 0.0, None),
            ("max_roll_deg", self.max_roll_deg, 0.0, Some(180.0)),
            ("max_yaw_deg", self.max_yaw_deg, 0.0, Some(180.0)),
        ];
        for (name, v, lo, hi) in fields {
            if !(v.is_finite() && v >= lo && hi.is_none_or(|hi| v <= hi)) {
                let range = match hi {
                    Some(hi) => format!("in [{lo}, {hi}]"),
                    None => format!(">= {lo}"),
                };
                return Err(Error::InvalidArgument(format!(
                    "quality option {name} is {v}: use a finite value {range}"
                )));
            }
        }
        if self.min_brightness > self.max_brightness {
            return Err(Error::InvalidArgument(format!(
                "quality options: min_brightness {} is above max_brightness {}: the limits \
                 must be ordered",
                self.min_brightness, self.max_brightness
            )));
        }
        Ok(())
    }
}

/// Side of the grey face square the image measures (brightness, overexposure, sharpness) are
/// taken on: the face is resampled to this size first, so the values do not depend on the
/// frame's or the face's resolution.
pub const QUALITY_CROP_PX: usize = 64;

/// Luma at or above which a pixel counts as overexposed.
pub const OVEREXPOSED_LUMA: f32 = 250.0;

/// Head-depth ratio of the yaw estimate: distance of the nose tip in front of the vertical
/// axis through the ear tragions, over half the tragion-to-tragion breadth (~11 cm / ~7.3 cm
/// for adult heads, anthropometric averages).
pub const YAW_DEPTH_RATIO: f32 = 1.5;

/// In-plane roll, degrees: the angle of the line from the right eye (keypoint 0, image left)
/// to the left eye (keypoint 1), positive clockwise on screen (y grows downwards). 0 for an
/// upright face.
pub fn roll_deg(kp: &[Keypoint; KEYPOINT_COUNT]) -> f32 {
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
pub fn yaw_deg(kp: &[Keypoint; KEYPOINT_COUNT]) -> f32 {
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
fn outside_fraction(b: &FaceBox, uw: u32, uh: u32) -> f32 {
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
pub fn face_luma(frame: &Frame<'_>, b: &FaceBox) -> Result<Vec<f32>> {
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
pub fn laplacian_variance(luma: &[f32], n: usize) -> f32 {
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

/// `v < min`, and true for NaN: a value that could not be measured trips its flag.
fn under(v: f32, min: f32) -> bool {
    v.is_nan() || v < min
}

/// `v > max`, and true for NaN.
fn over(v: f32, max: f32) -> bool {
    v.is_nan() || v > max
}

/// The per-face flags of measured values (roll and yaw only with keypoints). A NaN value
/// trips its flag (`v.is_nan() || v < min`): a value that could not be measured never passes.
pub fn flags(v: &QualityValues, has_keypoints: bool, o: &QualityOptions) -> QualityFlags {
    let mut f = QualityFlags::NONE;
    let mut set = |cond: bool, flag| {
        if cond {
            f |= flag;
        }
    };
    set(under(v.face_px, o.min_face_px), QualityFlags::TOO_SMALL);
    set(
        over(v.outside_fraction, o.max_outside_fraction),
        QualityFlags::PARTLY_OUTSIDE,
    );
    set(
        under(v.brightness, o.min_brightness),
        QualityFlags::TOO_DARK,
    );
    set(
        over(v.brightness, o.max_brightness)
            || over(v.overexposed_fraction, o.max_overexposed_fraction),
        QualityFlags::TOO_BRIGHT,
    );
    set(under(v.sharpness, o.min_sharpness), QualityFlags::BLURRED);
    set(
        has_keypoints && over(v.roll_deg.abs(), o.max_roll_deg),
        QualityFlags::HEAD_ROLL,
    );
    set(
        has_keypoints && over(v.yaw_deg.abs(), o.max_yaw_deg),
        QualityFlags::HEAD_YAW,
    );
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{PixelFormat, Rotation};

    /// MediaPipe's keypoints on the astronaut photo (tests/fixtures/face/mediapipe_reference.json).
    const ASTRONAUT_KP: [(f32, f32); 6] = [
        (201.50, 104.90),
        (245.85, 109.10),
        (220.43, 127.26),
        (219.82, 148.61),
        (178.19, 115.72),
        (272.20, 123.87),
    ];

    fn kp(points: [(f32, f32); 6]) -> [Keypoint; 6] {
        points.map(|(x, y)| Keypoint { x, y })
    }

    fn rotate(points: [(f32, f32); 6], deg: f32) -> [(f32, f32); 6] {
        let (s, c) = deg.to_radians().sin_cos();
        let (cx, cy) = (225.0, 125.0);
        points.map(|(x, y)| {
            let (dx, dy) = (x - cx, y - cy);
            (cx + dx * c - dy * s, cy + dx * s + dy * c)
        })
    }

    #[test]
    fn roll_follows_the_eye_line() {
        let k = kp(ASTRONAUT_KP);
        let r0 = roll_deg(&k);
        assert!(r0.abs() < 8.0, "{r0}");
        for deg in [-40.0f32, -10.0, 25.0, 40.0, 120.0] {
            let r = roll_deg(&kp(rotate(ASTRONAUT_KP, deg)));
            let want = (r0 + deg + 180.0).rem_euclid(360.0) - 180.0;
            assert!((r - want).abs() < 1e-3, "{deg}: {r} vs {want}");
        }
        // Yaw does not change with roll (measured along the eye line).
        let y0 = yaw_deg(&k);
        let y40 = yaw_deg(&kp(rotate(ASTRONAUT_KP, 40.0)));
        assert!((y0 - y40).abs() < 1e-2, "{y0} vs {y40}");
    }

    #[test]
    fn huge_keypoints_give_nan_angles_that_trip_the_flags() {
        // Finite keypoints near f32::MAX (a broken detector that stays just inside f32): the
        // projections along a 45-degree eye line overflow, yaw is NaN, and NaN trips HEAD_YAW
        // instead of silently passing.
        let big = 3.0e38f32;
        let k = kp([
            (0.0, 0.0),
            (10.0, 10.0),
            (0.0, 5.0),
            (0.0, 9.0),
            (big, big),
            (big * 1.1, big * 1.1),
        ]);
        let yaw = yaw_deg(&k);
        assert!(yaw.is_nan(), "{yaw}");
        let v = QualityValues {
            face_px: 200.0,
            brightness: 120.0,
            sharpness: 500.0,
            roll_deg: 0.0,
            yaw_deg: yaw,
            ..Default::default()
        };
        assert!(flags(&v, true, &QualityOptions::default()).contains(QualityFlags::HEAD_YAW));
    }

    #[test]
    fn yaw_follows_a_turned_head() {
        // The astronaut faces the camera.
        assert!(yaw_deg(&kp(ASTRONAUT_KP)).abs() < 10.0);
        // Hand-made keypoints of a head turned by theta under the documented cylinder model:
        // ears at +-R cos(theta), nose at k R sin(theta), eyes in between.
        for theta in [-60.0f32, -30.0, 0.0, 20.0, 45.0] {
            let (s, c) = theta.to_radians().sin_cos();
            let r = 40.0;
            let p = [
                (200.0 - 0.5 * r * c + 0.6 * r * s, 100.0),
                (200.0 + 0.5 * r * c + 0.6 * r * s, 100.0),
                (200.0 + YAW_DEPTH_RATIO * r * s, 125.0),
                (200.0 + 1.2 * r * s, 145.0),
                (200.0 - r * c, 115.0),
                (200.0 + r * c, 115.0),
            ];
            let y = yaw_deg(&kp(p));
            assert!((y - theta).abs() < 0.01, "{theta}: {y}");
        }
    }

    #[test]
    fn flags_follow_the_limits() {
        let o = QualityOptions::default();
        let good = QualityValues {
            face_px: 200.0,
            outside_fraction: 0.0,
            brightness: 120.0,
            overexposed_fraction: 0.0,
            sharpness: 500.0,
            roll_deg: 3.0,
            yaw_deg: -4.0,
        };
        assert_eq!(flags(&good, true, &o), QualityFlags::NONE);
        let cases = [
            (
                QualityValues {
                    face_px: 50.0,
                    ..good
                },
                QualityFlags::TOO_SMALL,
            ),
            (
                QualityValues {
                    outside_fraction: 0.3,
                    ..good
                },
                QualityFlags::PARTLY_OUTSIDE,
            ),
            (
                QualityValues {
                    brightness: 20.0,
                    ..good
                },
                QualityFlags::TOO_DARK,
            ),
            (
                QualityValues {
                    brightness: 240.0,
                    ..good
                },
                QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    overexposed_fraction: 0.5,
                    ..good
                },
                QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    sharpness: 5.0,
                    ..good
                },
                QualityFlags::BLURRED,
            ),
            (
                QualityValues {
                    roll_deg: -40.0,
                    ..good
                },
                QualityFlags::HEAD_ROLL,
            ),
            (
                QualityValues {
                    yaw_deg: 50.0,
                    ..good
                },
                QualityFlags::HEAD_YAW,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(flags(&v, true, &o), want, "{v:?}");
        }
        // A value that could not be measured (NaN) trips its flag, never passes.
        let nan = f32::NAN;
        for (v, want) in [
            (
                QualityValues {
                    face_px: nan,
                    ..good
                },
                QualityFlags::TOO_SMALL,
            ),
            (
                QualityValues {
                    outside_fraction: nan,
                    ..good
                },
                QualityFlags::PARTLY_OUTSIDE,
            ),
            (
                QualityValues {
                    brightness: nan,
                    ..good
                },
                QualityFlags::TOO_DARK | QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    overexposed_fraction: nan,
                    ..good
                },
                QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    sharpness: nan,
                    ..good
                },
                QualityFlags::BLURRED,
            ),
            (
                QualityValues {
                    roll_deg: nan,
                    ..good
                },
                QualityFlags::HEAD_ROLL,
            ),
            (
                QualityValues {
                    yaw_deg: nan,
                    ..good
                },
                QualityFlags::HEAD_YAW,
            ),
        ] {
            assert_eq!(flags(&v, true, &o), want, "{v:?}");
        }
        // Without keypoints, roll and yaw are not judged.
        let v = QualityValues {
            roll_deg: 90.0,
            yaw_deg: 90.0,
            ..good
        };
        assert_eq!(flags(&v, false, &o), QualityFlags::NONE);
    }

    #[test]
    fn options_are_validated() {
        assert!(QualityOptions::default().validate().is_ok());
        let d = QualityOptions::default();
        for bad in [
            QualityOptions {
                min_face_px: f32::NAN,
                ..d
            },
            // Below the smallest face the SDK judges at all.
            QualityOptions {
                min_face_px: 0.0,
                ..d
            },
            QualityOptions {
                min_face_px: MIN_FACE_SIZE_PX - 0.5,
                ..d
            },
            QualityOptions {
                max_outside_fraction: 1.5,
                ..d
            },
            QualityOptions {
                min_brightness: -1.0,
                ..d
            },
            QualityOptions {
                max_brightness: f32::INFINITY,
                ..d
            },
            QualityOptions {
                min_brightness: 200.0,
                max_brightness: 100.0,
                ..d
            },
            QualityOptions {
                max_overexposed_fraction: -0.1,
                ..d
            },
            QualityOptions {
                min_sharpness: f32::NAN,
                ..d
            },
            QualityOptions {
                max_roll_deg: 200.0,
                ..d
            },
            QualityOptions {
                max_yaw_deg: -5.0,
                ..d
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(Error::InvalidArgument(_))),
                "{bad:?}"
            );
        }
        match (QualityOptions {
            min_face_px: 4.0,
            ..d
        })
        .validate()
        {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.contains("min_face_px") && m.contains(">= 16"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        // The minimum itself is accepted.
        assert!(QualityOptions {
            min_face_px: MIN_FACE_SIZE_PX,
            ..d
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn image_measures_do_not_depend_on_resolution_and_see_blur() {
        // A checkerboard face region at two resolutions: the same sampled square.
        let make = |w: usize, cell: usize| -> Vec<u8> {
            (0..w * w)
                .map(|i| {
                    if ((i % w) / cell + (i / w) / cell) % 2 == 0 {
                        200
                    } else {
                        40
                    }
                })
                .collect()
        };
        let small = make(128, 8);
        let big = make(256, 16);
        let o = QualityOptions::default();
        let fs = Frame::packed(PixelFormat::Gray, &small, 128, 128, 128).unwrap();
        let fb = Frame::packed(PixelFormat::Gray, &big, 256, 256, 256).unwrap();
        let qs = measure(&fs, &FaceBox::new(0.0, 0.0, 128.0, 128.0), None, &o).unwrap();
        let qb = measure(&fb, &FaceBox::new(0.0, 0.0, 256.0, 256.0), None, &o).unwrap();
        assert!((qs.values.brightness - 120.0).abs() < 0.5, "{qs:?}");
        assert!((qs.values.brightness - qb.values.brightness).abs() < 0.01);
        assert!((qs.values.sharpness - qb.values.sharpness).abs() < 1e-2 * qs.values.sharpness);
        assert!(qs.values.sharpness > 1000.0, "{qs:?}");
        // Flat grey: no detail at all.
        let flat = vec![128u8; 128 * 128];
        let ff = Frame::packed(PixelFormat::Gray, &flat, 128, 128, 128).unwrap();
        let q = measure(&ff, &FaceBox::new(0.0, 0.0, 128.0, 128.0), None, &o).unwrap();
        assert_eq!(q.values.sharpness, 0.0);
        assert!(q.flags.contains(QualityFlags::BLURRED));
        // Rotation and mirroring do not change the values of a symmetric measure.
        let r = measure(
            &fs.with_rotation(Rotation::R90).with_mirrored(true),
            &FaceBox::new(0.0, 0.0, 128.0, 128.0),
            None,
            &o,
        )
        .unwrap();
        assert!((r.values.sharpness - qs.values.sharpness).abs() < 1e-2 * qs.values.sharpness);
    }

    #[test]
    fn outside_share_of_the_box() {
        let b = FaceBox::new(-50.0, 0.0, 100.0, 100.0);
        assert!((outside_fraction(&b, 640, 480) - 0.5).abs() < 1e-6);
        let b = FaceBox::new(600.0, 440.0, 80.0, 80.0);
        assert!((outside_fraction(&b, 640, 480) - (1.0 - 40.0 * 40.0 / 6400.0)).abs() < 1e-6);
        assert_eq!(
            outside_fraction(&FaceBox::new(1.0, 1.0, 5.0, 5.0), 640, 480),
            0.0
        );
    }
}
