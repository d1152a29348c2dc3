//! Java frame arguments (format code, planes, strides) -> a runtime `Frame`.

use crate::status::{BridgeError, Status};
use moae_runtime::{FaceBox, Frame, PixelFormat, Rotation};

/// `ai.moae.PixelFormat.code`: the C ABI's `moae_pixel_format` values, plus one JNI-only code
/// for Android's `YUV_420_888` planes (U and V as separate buffers with a pixel stride).
pub const YUV_420_888: i32 = 8;

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

fn dim(v: i32, what: &str) -> Result<u32, BridgeError> {
    u32::try_from(v).map_err(|_| {
        BridgeError::invalid(Status::InvalidFrame, format!("{what} = {v} is negative"))
    })
}

fn stride(v: i32, default: usize, what: &str) -> Result<usize, BridgeError> {
    match v {
        0 => Ok(default),
        v if v < 0 => Err(BridgeError::invalid(
            Status::InvalidFrame,
            format!("{what} = {v} is negative: pass the row stride in bytes, or 0 for packed rows"),
        )),
        v => Ok(v as usize),
    }
}

fn plane<'a>(p: Option<&'a [u8]>, name: &str) -> Result<&'a [u8], BridgeError> {
    p.ok_or_else(|| BridgeError::null(name))
}

/// Splits a contiguous buffer at `at`, or reports that it is too short for its first plane.
fn split<'b>(buf: &'b [u8], at: usize, what: &str) -> Result<(&'b [u8], &'b [u8]), BridgeError> {
    if buf.len() < at {
        return Err(BridgeError::invalid(
            Status::InvalidFrame,
            format!(
                "{what}: buffer has {} bytes, its Y plane alone needs {at}",
                buf.len()
            ),
        ));
    }
    Ok(buf.split_at(at))
}

pub fn build<'a>(args: &FrameArgs, planes: &Planes<'a>) -> Result<Frame<'a>, BridgeError> {
    let (w, h) = (dim(args.width, "width")?, dim(args.height, "height")?);
    let (wu, hu) = (w as usize, h as usize);
    let [p0, p1, p2] = planes.data;
    let [s0, s1, s2] = planes.strides;
    let packed = |format: PixelFormat, bpp: usize| -> Result<Frame<'a>, BridgeError> {
        let data = plane(p0, "pixels")?;
        Ok(Frame::packed(
            format,
            data,
            w,
            h,
            stride(s0, wu * bpp, "rowStride")?,
        )?)
    };
    let frame = match args.format {
        0 => packed(PixelFormat::Rgb, 3)?,
        1 => packed(PixelFormat::Bgr, 3)?,
        2 => packed(PixelFormat::Rgba, 4)?,
        3 => packed(PixelFormat::Bgra, 4)?,
        4 => packed(PixelFormat::Gray, 1)?,
        5 | 6 => {
            let format = if args.format == 5 {
                PixelFormat::Nv21
            } else {
                PixelFormat::Nv12
            };
            let y_stride = stride(s0, wu, "yRowStride")?;
            let (y, uv) = match p1 {
                Some(uv) => (plane(p0, "y plane")?, uv),
                // One camera buffer (Camera1 NV21 byte[]): the chroma plane follows the Y plane.
                None => split(plane(p0, "frame")?, y_stride * hu, "NV frame")?,
            };
            let uv_stride = stride(s1, y_stride, "uvRowStride")?;
            Frame::nv(format, y, y_stride, uv, uv_stride, w, h)?
        }
        7 => {
            let y_stride = stride(s0, wu, "yRowStride")?;
            let u_stride = stride(s1, wu.div_ceil(2), "uRowStride")?;
            let v_stride = stride(s2, u_stride, "vRowStride")?;
            let (y, u, v) = match (p1, p2) {
                (Some(u), Some(v)) => (plane(p0, "y plane")?, u, v),
                _ => {
                    let (y, rest) = split(plane(p0, "frame")?, y_stride * hu, "I420 frame")?;
                    let u_len = (u_stride * hu.div_ceil(2)).min(rest.len());
                    let (u, v) = rest.split_at(u_len);
                    (y, u, v)
                }
            };
            Frame::i420(y, y_stride, u, u_stride, v, v_stride, w, h)?
        }
        YUV_420_888 => {
            let y = plane(p0, "y plane (planes[0])")?;
            let u = plane(p1, "u plane (planes[1])")?;
            let v = plane(p2, "v plane (planes[2])")?;
            let y_stride = stride(s0, wu, "yRowStride")?;
            let uv_row_stride = stride(s1, wu.div_ceil(2), "uvRowStride")?;
            let pixel_stride = usize::try_from(planes.pixel_stride).map_err(|_| {
                BridgeError::invalid(
                    Status::InvalidFrame,
                    format!("uvPixelStride = {} is negative", planes.pixel_stride),
                )
            })?;
            Frame::yuv420_888(y, y_stride, u, v, uv_row_stride, pixel_stride, w, h)?
        }
        other => {
            return Err(BridgeError::invalid(
                Status::UnknownFormat,
                format!("pixel format code {other} is unknown: use ai.moae.PixelFormat"),
            ))
        }
    };
    Ok(frame.with_rotation(Rotation::try_from(args.rotation)?))
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
