//! The "not set" conventions and limits of numeric options, the same in C, Java and Swift.

use super::codes::flag;
use super::status::{AbiError, AbiResult};
pub use crate::pipeline::{MAX_INTRA_OP_THREADS, MAX_SESSIONS};
use crate::quality::QualityOptions;

/// Most entries in a provider preference list.
pub const MAX_PROVIDERS: usize = 16;
/// Most face boxes in one detection call (they are run in bounded chunks, see `Engine`).
pub const MAX_BOXES: usize = 4096;

/// A count option (threads, sessions): 0 = the default, negative is an error. The upper bound
/// is checked by `EngineOptions` validation, for the Rust API and the CLI too.
pub fn count(name: &str, v: i64) -> AbiResult<usize> {
    usize::try_from(v).map_err(|_| AbiError::invalid(format!("{name} is {v} (< 0)")))
}

/// A decision-threshold option: a negative value = the model's threshold; [0, 1] = override;
/// NaN, infinities and values above 1 are rejected (a NaN must never silently mean "unset").
pub fn threshold(v: f32) -> AbiResult<Option<f32>> {
    if !v.is_finite() || v > 1.0 {
        return Err(AbiError::invalid(format!(
            "threshold is {v}: use a value in [0, 1], or a negative value for the model's"
        )));
    }
    Ok((v >= 0.0).then_some(v))
}

/// A crop-scale option: <= 0 = the runtime's default; NaN and infinities are rejected.
pub fn crop_scale(v: f32) -> AbiResult<Option<f32>> {
    if !v.is_finite() {
        return Err(AbiError::invalid(format!(
            "crop_scale is {v}: use a finite value, or <= 0 for the default"
        )));
    }
    Ok((v > 0.0).then_some(v))
}

/// C `moae_quality_options` / Java `QualityOptions`: one float per [`QualityOptions`] field
/// (same names) and `allow_several_faces` as 0/1. `moae_options_init` fills it from
/// `RawQualityOptions::default()` (the runtime's documented defaults); values are taken as
/// given and checked by [`quality_options`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct RawQualityOptions {
    pub min_face_px: f32,
    pub max_outside_fraction: f32,
    pub min_brightness: f32,
    pub max_brightness: f32,
    pub max_overexposed_fraction: f32,
    pub min_sharpness: f32,
    pub max_roll_deg: f32,
    pub max_yaw_deg: f32,
    pub allow_several_faces: i32,
}

impl From<QualityOptions> for RawQualityOptions {
    fn from(q: QualityOptions) -> Self {
        RawQualityOptions {
            min_face_px: q.min_face_px,
            max_outside_fraction: q.max_outside_fraction,
            min_brightness: q.min_brightness,
            max_brightness: q.max_brightness,
            max_overexposed_fraction: q.max_overexposed_fraction,
            min_sharpness: q.min_sharpness,
            max_roll_deg: q.max_roll_deg,
            max_yaw_deg: q.max_yaw_deg,
            allow_several_faces: q.allow_several_faces as i32,
        }
    }
}

impl Default for RawQualityOptions {
    fn default() -> Self {
        QualityOptions::default().into()
    }
}

/// The raw quality options -> [`QualityOptions`], validated ([`QualityOptions::validate`]:
/// finite, in range, ordered; `allow_several_faces` 0 or 1).
pub fn quality_options(raw: &RawQualityOptions) -> AbiResult<QualityOptions> {
    let q = QualityOptions {
        min_face_px: raw.min_face_px,
        max_outside_fraction: raw.max_outside_fraction,
        min_brightness: raw.min_brightness,
        max_brightness: raw.max_brightness,
        max_overexposed_fraction: raw.max_overexposed_fraction,
        min_sharpness: raw.min_sharpness,
        max_roll_deg: raw.max_roll_deg,
        max_yaw_deg: raw.max_yaw_deg,
        allow_several_faces: flag("quality.allow_several_faces", raw.allow_several_faces)?,
    };
    // The bare rule ("quality option ... is ..."), without the Error's "invalid argument: "
    // prefix: bindings put their own field path in front of it.
    q.validate().map_err(|e| match e {
        crate::Error::InvalidArgument(m) => AbiError::invalid(m),
        other => AbiError::from(other),
    })?;
    Ok(q)
}

/// The detector's minimum score: negative = the default (MediaPipe's 0.5); [0, 1] = that
/// score; NaN, infinities and values above 1 are rejected.
pub fn detector_min_score(v: f32) -> AbiResult<Option<f32>> {
    if !v.is_finite() || v > 1.0 {
        return Err(AbiError::invalid(format!(
            "detector_min_score is {v}: use a value in [0, 1], or a negative value for the \
             default"
        )));
    }
    Ok((v >= 0.0).then_some(v))
}

/// `whole_frame`: 0 or 1.
pub fn whole_frame(v: i32) -> AbiResult<bool> {
    flag("whole_frame", v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_set_is_negative_never_nan() {
        assert_eq!(threshold(-1.0), Ok(None));
        assert_eq!(threshold(0.25), Ok(Some(0.25)));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.5] {
            assert!(threshold(bad).is_err(), "{bad}");
        }
        assert_eq!(crop_scale(0.0), Ok(None));
        assert_eq!(crop_scale(2.0), Ok(Some(2.0)));
        assert!(crop_scale(f32::NAN).is_err());
        assert_eq!(count("threads", 3), Ok(3));
        assert!(count("threads", -1).is_err());
        assert_eq!(detector_min_score(-1.0), Ok(None));
        assert_eq!(detector_min_score(0.7), Ok(Some(0.7)));
        assert!(detector_min_score(f32::NAN).is_err());
        assert!(detector_min_score(1.1).is_err());
        assert_eq!(whole_frame(1), Ok(true));
        assert!(whole_frame(7).is_err());
    }

    #[test]
    fn quality_options_round_trip_and_are_validated() {
        let raw = RawQualityOptions::default();
        assert_eq!(quality_options(&raw), Ok(QualityOptions::default()));
        let several = RawQualityOptions {
            allow_several_faces: 1,
            ..raw
        };
        assert!(quality_options(&several).unwrap().allow_several_faces);
        for bad in [
            RawQualityOptions {
                allow_several_faces: 2,
                ..raw
            },
            RawQualityOptions {
                min_sharpness: f32::NAN,
                ..raw
            },
            RawQualityOptions {
                min_brightness: 250.0,
                max_brightness: 10.0,
                ..raw
            },
            RawQualityOptions {
                max_outside_fraction: -0.5,
                ..raw
            },
        ] {
            let e = quality_options(&bad).unwrap_err();
            assert_eq!(e.status, super::super::Status::InvalidArgument, "{bad:?}");
        }
    }
}
