//! Java frame arguments (`ai.moae.MoaeFrame`: format code, sizes, rotation, mirroring, YUV
//! range, strides, planes) -> a runtime `Frame`, through the conversion the C ABI uses too
//! (`moae_runtime::abi::frame`); and caller boxes (`ai.moae.BoxInput`) -> `BoxInput`.

use crate::status::{BridgeError, Status};
use moae_runtime::abi::{self, RawFrame};
use moae_runtime::{BoxInput, BoxSpace, BoxUnits, FaceBox, Frame, YuvRange};

/// Number of ints in `MoaeFrame.nativeInts()`:
/// `[format, width, height, rotation, mirrored, yuvRange, stride0, stride1, stride2,
/// pixelStride]`.
pub const FRAME_INTS: usize = 10;

/// Floats per caller box in `BoxInput.pack`: `[x, y, width, height, space, units]`.
pub const BOX_FLOATS: usize = 6;

/// The planes of one frame as the Java side passed them (byte[] elements or direct buffers).
pub struct Planes<'a> {
    pub data: [Option<&'a [u8]>; 3],
}

/// The frame description of `MoaeFrame.nativeInts()`.
#[derive(Clone, Copy, Debug)]
pub struct FrameArgs {
    pub format: i32,
    pub width: i32,
    pub height: i32,
    pub rotation: i32,
    pub mirrored: bool,
    pub yuv_range: YuvRange,
    /// Row strides in bytes; 0 = tightly packed.
    pub strides: [i32; 3],
    /// Chroma pixel stride of `YUV_420_888` (1 or 2); ignored for other formats.
    pub pixel_stride: i32,
}

impl FrameArgs {
    pub fn from_ints(v: &[i32]) -> Result<FrameArgs, BridgeError> {
        let v: &[i32; FRAME_INTS] = v.try_into().map_err(|_| {
            BridgeError::invalid(
                Status::InvalidArgument,
                format!(
                    "frame description has {} ints, expected {FRAME_INTS} (a libmoae_jni / \
                     Java API version mismatch: ship both from one AAR)",
                    v.len()
                ),
            )
        })?;
        let flag = |name: &str, x: i32| match x {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(BridgeError::invalid(
                Status::InvalidArgument,
                format!("{name} is {x}: use 0 or 1"),
            )),
        };
        Ok(FrameArgs {
            format: v[0],
            width: v[1],
            height: v[2],
            rotation: v[3],
            mirrored: flag("mirrored", v[4])?,
            yuv_range: if flag("yuvRange", v[5])? {
                YuvRange::Limited
            } else {
                YuvRange::Full
            },
            strides: [v[6], v[7], v[8]],
            pixel_stride: v[9],
        })
    }
}

pub fn build<'a>(args: &FrameArgs, planes: &Planes<'a>) -> Result<Frame<'a>, BridgeError> {
    let raw = RawFrame {
        format: args.format,
        width: args.width.into(),
        height: args.height.into(),
        planes: planes.data,
        strides: args.strides.map(i64::from),
        pixel_stride: args.pixel_stride.into(),
        rotation: args.rotation,
    };
    Ok(abi::frame(&raw)?
        .with_mirrored(args.mirrored)
        .with_yuv_range(args.yuv_range))
}

/// `null` = no box; else `[x, y, width, height]` in upright frame pixels.
pub fn face_box(values: Option<[f32; 4]>) -> Vec<FaceBox> {
    values
        .map(|[x, y, width, height]| FaceBox {
            x,
            y,
            width,
            height,
        })
        .into_iter()
        .collect()
}

/// `BoxInput.SPACE_*` / `UNITS_*` codes (the C ABI's `MOAE_BOX_UPRIGHT 0, MOAE_BOX_RAW 1`,
/// `MOAE_UNITS_PIXELS 0, MOAE_UNITS_NORMALIZED 1`).
fn space(code: f32) -> Result<BoxSpace, BridgeError> {
    match code as i32 {
        0 if code == 0.0 => Ok(BoxSpace::Upright),
        1 if code == 1.0 => Ok(BoxSpace::Raw),
        _ => Err(BridgeError::invalid(
            Status::InvalidArgument,
            format!("box space is {code}: use 0 (upright) or 1 (raw)"),
        )),
    }
}

fn units(code: f32) -> Result<BoxUnits, BridgeError> {
    match code as i32 {
        0 if code == 0.0 => Ok(BoxUnits::Pixels),
        1 if code == 1.0 => Ok(BoxUnits::Normalized),
        _ => Err(BridgeError::invalid(
            Status::InvalidArgument,
            format!("box units is {code}: use 0 (pixels) or 1 (normalized)"),
        )),
    }
}

/// Caller boxes packed `BOX_FLOATS` floats each (`null` or empty = none: the detector).
pub fn box_inputs(values: &[f32]) -> Result<Vec<BoxInput>, BridgeError> {
    if values.len() % BOX_FLOATS != 0 {
        return Err(BridgeError::invalid(
            Status::InvalidArgument,
            format!(
                "packed boxes have {} floats, not a multiple of {BOX_FLOATS}",
                values.len()
            ),
        ));
    }
    if values.len() / BOX_FLOATS > abi::MAX_BOXES {
        return Err(BridgeError::invalid(
            Status::InvalidArgument,
            format!(
                "{} boxes in one call: at most {}",
                values.len() / BOX_FLOATS,
                abi::MAX_BOXES
            ),
        ));
    }
    values
        .chunks_exact(BOX_FLOATS)
        .map(|b| {
            Ok(BoxInput {
                rect: FaceBox {
                    x: b[0],
                    y: b[1],
                    width: b[2],
                    height: b[3],
                },
                space: space(b[4])?,
                units: units(b[5])?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ints_are_checked() {
        let ok = [0, 4, 4, 90, 1, 1, 0, 0, 0, 0];
        let a = FrameArgs::from_ints(&ok).unwrap();
        assert!(a.mirrored);
        assert_eq!(a.yuv_range, YuvRange::Limited);
        assert_eq!(a.rotation, 90);
        assert!(FrameArgs::from_ints(&ok[..9]).is_err());
        let mut bad = ok;
        bad[4] = 2;
        assert!(FrameArgs::from_ints(&bad).is_err());
        let px = [0u8; 48];
        let f = build(
            &a,
            &Planes {
                data: [Some(&px), None, None],
            },
        )
        .unwrap();
        assert!(f.mirrored());
    }

    #[test]
    fn boxes_unpack_with_space_and_units() {
        let b = box_inputs(&[1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 5.0, 6.0, 7.0, 8.0, 0.0, 0.0]).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].space, BoxSpace::Raw);
        assert_eq!(b[0].units, BoxUnits::Normalized);
        assert_eq!(b[1].space, BoxSpace::Upright);
        assert_eq!(b[1].rect.width, 7.0);
        assert!(box_inputs(&[0.0; 5]).is_err());
        assert!(box_inputs(&[0.0, 0.0, 1.0, 1.0, 2.0, 0.0]).is_err());
        assert!(box_inputs(&[0.0, 0.0, 1.0, 1.0, 0.0, 0.5]).is_err());
        assert!(box_inputs(&[]).unwrap().is_empty());
    }
}
