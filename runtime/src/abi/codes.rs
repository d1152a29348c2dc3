//! The integer codes of pixel formats, rotations, providers and CoreML units.

use super::status::{AbiError, AbiResult, Status};
use crate::image::crop::FaceBox;
use crate::image::frame::{PixelFormat, Rotation};
use crate::image::geometry::{BoxInput, BoxSpace, BoxUnits};
use crate::ort::provider::{CoreMlUnits, ExecutionProvider};
use crate::pipeline::{Decision, FaceSource};

/// Android's `YUV_420_888` (U and V as separate planes with a pixel stride): a JNI-only code
/// (`ai.moae.PixelFormat`), since the C `moae_image` has no pixel-stride field.
pub const PIXEL_YUV_420_888: i32 = 8;

/// C `moae_pixel_format` / Java `ai.moae.PixelFormat.code` / Swift `PixelFormat` (0..=7).
pub fn pixel_format(code: i32) -> AbiResult<PixelFormat> {
    PixelFormat::ALL
        .into_iter()
        .find(|&f| pixel_format_code(f) == code)
        .ok_or_else(|| {
            AbiError::new(
                Status::UnknownFormat,
                format!(
                    "pixel format {code} is unknown: use a moae_pixel_format value (0..=7; \
                     Java also {PIXEL_YUV_420_888} = YUV_420_888)"
                ),
            )
        })
}

pub fn pixel_format_code(f: PixelFormat) -> i32 {
    match f {
        PixelFormat::Rgb => 0,
        PixelFormat::Bgr => 1,
        PixelFormat::Rgba => 2,
        PixelFormat::Bgra => 3,
        PixelFormat::Gray => 4,
        PixelFormat::Nv21 => 5,
        PixelFormat::Nv12 => 6,
        PixelFormat::I420 => 7,
    }
}

/// Clockwise degrees that make the frame upright: exactly 0, 90, 180 or 270.
pub fn rotation(degrees: i32) -> AbiResult<Rotation> {
    Ok(Rotation::try_from(degrees)?)
}

const PROVIDERS: [ExecutionProvider; 4] = [
    ExecutionProvider::Cpu,
    ExecutionProvider::Cuda,
    ExecutionProvider::TensorRt,
    ExecutionProvider::CoreMl,
];

/// C `moae_provider` / Java `ai.moae.Provider` / Swift `Provider`.
pub fn provider(code: i32) -> AbiResult<ExecutionProvider> {
    usize::try_from(code)
        .ok()
        .and_then(|i| PROVIDERS.get(i).copied())
        .ok_or_else(|| {
            AbiError::invalid(format!(
                "provider {code} is unknown: use 0 (cpu), 1 (cuda), 2 (tensorrt) or 3 (coreml)"
            ))
        })
}

pub fn provider_code(p: ExecutionProvider) -> i32 {
    PROVIDERS.iter().position(|&q| q == p).unwrap_or(0) as i32
}

/// C `moae_coreml_units`.
pub fn coreml_units(code: i32) -> AbiResult<CoreMlUnits> {
    Ok(match code {
        0 => CoreMlUnits::All,
        1 => CoreMlUnits::CpuOnly,
        2 => CoreMlUnits::CpuAndGpu,
        3 => CoreMlUnits::CpuAndNeuralEngine,
        v => {
            return Err(AbiError::invalid(format!(
                "coreml_compute_units is {v}: use a moae_coreml_units value (0..=3)"
            )))
        }
    })
}

/// A 0/1 boolean (C `int32_t`, Java `boolean` passed as 0/1): any other value is rejected, so
/// garbage in an uninitialised field is an error, not "true".
pub fn flag(name: &str, v: i32) -> AbiResult<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(AbiError::invalid(format!("{name} is {v}: use 0 or 1"))),
    }
}

/// C `MOAE_BOX_UPRIGHT` 0 / `MOAE_BOX_RAW` 1.
pub const BOX_UPRIGHT: i32 = 0;
pub const BOX_RAW: i32 = 1;
/// C `MOAE_UNITS_PIXELS` 0 / `MOAE_UNITS_NORMALIZED` 1.
pub const UNITS_PIXELS: i32 = 0;
pub const UNITS_NORMALIZED: i32 = 1;

pub fn box_space(code: i32) -> AbiResult<BoxSpace> {
    match code {
        BOX_UPRIGHT => Ok(BoxSpace::Upright),
        BOX_RAW => Ok(BoxSpace::Raw),
        v => Err(AbiError::invalid(format!(
            "box space is {v}: use 0 (MOAE_BOX_UPRIGHT, the rotated, un-mirrored frame) or 1 \
             (MOAE_BOX_RAW, the buffer as passed)"
        ))),
    }
}

pub fn box_units(code: i32) -> AbiResult<BoxUnits> {
    match code {
        UNITS_PIXELS => Ok(BoxUnits::Pixels),
        UNITS_NORMALIZED => Ok(BoxUnits::Normalized),
        v => Err(AbiError::invalid(format!(
            "box units are {v}: use 0 (MOAE_UNITS_PIXELS) or 1 (MOAE_UNITS_NORMALIZED, 0..1 of \
             the image's width and height)"
        ))),
    }
}

/// A C `moae_box_input` / Java box: the rectangle and the codes of its space and units. The
/// rectangle's own checks (finite, positive, minimum size) run in `Engine::analyze`
/// ([`BoxInput::to_upright_pixels`]), the same for every binding.
pub fn box_input(rect: FaceBox, space: i32, units: i32) -> AbiResult<BoxInput> {
    Ok(BoxInput {
        rect,
        space: box_space(space)?,
        units: box_units(units)?,
    })
}

/// C `moae_decision`: live 0, attack 1, unsure 2.
pub fn decision_code(d: Decision) -> i32 {
    d.code()
}

/// C `moae_face_source`: detector 0, caller 1, whole frame 2.
pub fn face_source_code(s: FaceSource) -> i32 {
    s.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_bad_ones_are_named() {
        for f in PixelFormat::ALL {
            assert_eq!(pixel_format(pixel_format_code(f)), Ok(f));
        }
        assert_eq!(pixel_format(8).unwrap_err().status, Status::UnknownFormat);
        for (i, p) in PROVIDERS.iter().enumerate() {
            assert_eq!(provider_code(*p), i as i32);
            assert_eq!(provider(i as i32), Ok(*p));
        }
        assert_eq!(provider(4).unwrap_err().status, Status::InvalidArgument);
        for d in [-90, 45, 360, 450, i32::MIN] {
            assert_eq!(
                rotation(d).unwrap_err().status,
                Status::InvalidArgument,
                "{d}"
            );
        }
        assert_eq!(rotation(270), Ok(Rotation::R270));
        assert!(coreml_units(4).is_err());
        assert_eq!(box_space(BOX_UPRIGHT), Ok(BoxSpace::Upright));
        assert_eq!(box_space(BOX_RAW), Ok(BoxSpace::Raw));
        assert_eq!(box_units(UNITS_PIXELS), Ok(BoxUnits::Pixels));
        assert_eq!(box_units(UNITS_NORMALIZED), Ok(BoxUnits::Normalized));
        for bad in [-1, 2, i32::MAX] {
            assert_eq!(box_space(bad).unwrap_err().status, Status::InvalidArgument);
            assert_eq!(box_units(bad).unwrap_err().status, Status::InvalidArgument);
            assert!(flag("mirrored", bad).is_err());
        }
        assert_eq!(flag("x", 1), Ok(true));
        let b = box_input(FaceBox::new(1.0, 2.0, 3.0, 4.0), 1, 1).unwrap();
        assert_eq!((b.space, b.units), (BoxSpace::Raw, BoxUnits::Normalized));
        assert_eq!(
            [Decision::Live, Decision::Attack, Decision::Unsure].map(decision_code),
            [0, 1, 2]
        );
        assert_eq!(
            [
                FaceSource::Detector,
                FaceSource::Caller,
                FaceSource::WholeFrame
            ]
            .map(face_source_code),
            [0, 1, 2]
        );
    }
}
