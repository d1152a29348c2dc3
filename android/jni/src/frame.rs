//! Java frame arguments (`ai.moae.MoaeFrame`: format code, sizes, rotation, mirroring, YUV
//! range and matrix, strides, planes) -> a runtime `Frame`, through the conversion the C ABI uses too
//! (`moae_runtime::abi::frame`); and caller boxes (`ai.moae.BoxInput`) -> `BoxInput`.

use crate::status::{BridgeError, Status};
use moae_runtime::abi::{self, RawFrame};
use moae_runtime::{BoxInput, FaceBox, Frame};
#[cfg(test)]
use moae_runtime::{BoxSpace, BoxUnits};

/// Number of ints in `MoaeFrame.nativeInts()`:
/// `[format, width, height, rotation, mirrored, yuvRange, stride0, stride1, stride2,
/// pixelStride, yuvMatrix]`.
pub const FRAME_INTS: usize = 11;

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
    /// 0/1, checked by `abi::frame` (the C ABI's rule and message).
    pub mirrored: i32,
    /// 0 full, 1 limited; checked by `abi::frame` (the C ABI's rule and message).
    pub yuv_range: i32,
    /// Row strides in bytes; 0 = tightly packed.
    pub strides: [i32; 3],
    /// Chroma pixel stride of `YUV_420_888` (1 or 2); ignored for other formats.
    pub pixel_stride: i32,
    /// 0 BT.601, 1 BT.709; checked by `abi::frame` (the C ABI's rule and message).
    pub yuv_matrix: i32,
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
        Ok(FrameArgs {
            format: v[0],
            width: v[1],
            height: v[2],
            rotation: v[3],
            mirrored: v[4],
            yuv_range: v[5],
            strides: [v[6], v[7], v[8]],
            pixel_stride: v[9],
            yuv_matrix: v[10],
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
        mirrored: args.mirrored,
        yuv_range: args.yuv_range,
        yuv_matrix: args.yuv_matrix,
    };
    Ok(abi::frame(&raw)?)
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

/// A space/units code Java packed as a float: exactly an integer, else the abi's own error.
fn code(v: f32) -> i32 {
    if v.fract() == 0.0 && v.abs() <= 1e6 {
        v as i32
    } else {
        -1 // not a code: rejected by abi::box_space / box_units with their message
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
        .enumerate()
        .map(|(i, b)| {
            let rect = FaceBox {
                x: b[0],
                y: b[1],
                width: b[2],
                height: b[3],
            };
            // "boxes[i]: ..." as the C ABI says it.
            abi::box_input(rect, code(b[4]), code(b[5]))
                .map_err(|e| BridgeError::Status(e.status, format!("boxes[{i}]: {}", e.detail)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ints_are_checked() {
        let ok = [0, 4, 4, 90, 1, 1, 0, 0, 0, 0, 1];
        let a = FrameArgs::from_ints(&ok).unwrap();
        assert_eq!(a.mirrored, 1);
        assert_eq!(a.yuv_range, abi::YUV_LIMITED);
        assert_eq!(a.yuv_matrix, abi::YUV_BT709);
        assert_eq!(a.rotation, 90);
        assert!(FrameArgs::from_ints(&ok[..10]).is_err());
        let px = [0u8; 48];
        // yuv_range 2 is the abi's error (the C ABI's rule and message).
        let bad_range = FrameArgs { yuv_range: 2, ..a };
        assert!(build(
            &bad_range,
            &Planes {
                data: [Some(&px), None, None],
            },
        )
        .is_err());
        let f = build(
            &a,
            &Planes {
                data: [Some(&px), None, None],
            },
        )
        .unwrap();
        assert!(f.mirrored());
        // mirrored 2 is the abi's error (the C ABI's message).
        let two = FrameArgs { mirrored: 2, ..a };
        assert!(build(
            &two,
            &Planes {
                data: [Some(&px), None, None],
            },
        )
        .is_err());
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
