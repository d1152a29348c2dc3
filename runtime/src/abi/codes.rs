//! The integer codes of pixel formats, rotations, providers and CoreML units.

use super::status::{AbiError, AbiResult, Status};
use crate::frame::{PixelFormat, Rotation};
use crate::provider::{CoreMlUnits, ExecutionProvider};

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
    }
}
