//! Java frame arguments (format code, planes, strides) -> a runtime `Frame`, through the
//! conversion the C ABI uses too (`moae_runtime::abi::frame`).

use crate::status::BridgeError;
use moae_runtime::abi::{self, RawFrame};
use moae_runtime::{FaceBox, Frame};

/// The planes of one frame as the Java side passed them (byte[] elements or direct buffers).
pub struct Planes<'a> {
    pub data: [Option<&'a [u8]>; 3],
    /// Row strides in bytes; 0 = tightly packed.
    pub strides: [i32; 3],
    /// Chroma pixel stride of `YUV_420_888` (1 or 2); ignored for other formats.
    pub pixel_stride: i32,
}

pub struct FrameArgs {
    pub format: i32,
    pub width: i32,
    pub height: i32,
    pub rotation: i32,
}

pub fn build<'a>(args: &FrameArgs, planes: &Planes<'a>) -> Result<Frame<'a>, BridgeError> {
    let raw = RawFrame {
        format: args.format,
        width: args.width.into(),
        height: args.height.into(),
        planes: planes.data,
        strides: planes.strides.map(i64::from),
        pixel_stride: planes.pixel_stride.into(),
        rotation: args.rotation,
    };
    Ok(abi::frame(&raw)?)
}

/// `null` = the whole frame; else `[x, y, width, height]` in upright frame coordinates.
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
