//! A frame as a foreign caller describes it (format code, sizes, planes, strides, rotation)
//! -> a validated [`Frame`] borrowing the caller's planes. The C ABI (`moae_image`) and JNI
//! (`NativeBridge.detect*`) both come through here.

use super::codes::{flag, pixel_format, rotation, PIXEL_YUV_420_888};
use super::status::{AbiError, AbiResult, Status};
use crate::image::frame::{Frame, PixelFormat, YuvMatrix, YuvRange};

/// The caller's description; integers are as wide as any binding's so that a negative Java
/// `int` and a huge C `size_t` are both seen (and rejected) here.
#[derive(Clone, Copy, Debug)]
pub struct RawFrame<'a> {
    pub format: i32,
    pub width: i64,
    pub height: i64,
    /// `None` = not given (C: NULL). For NV12/NV21 and I420, missing chroma planes mean the
    /// whole frame is one buffer in plane 0 (Android Camera1's `byte[]`), chroma after luma.
    pub planes: [Option<&'a [u8]>; 3],
    /// Row strides in bytes; 0 = tightly packed.
    pub strides: [i64; 3],
    /// Chroma pixel stride of `YUV_420_888` (1 or 2); ignored by the other formats.
    pub pixel_stride: i64,
    /// Clockwise degrees: 0, 90, 180 or 270.
    pub rotation: i32,
    /// 1: the buffer is a left-right mirror image of the scene (a front camera's mirrored
    /// preview; flipped before the rotation, as EXIF); 0: not mirrored; other values are
    /// rejected. A v1-sized C `moae_image` without the field means 0.
    pub mirrored: i32,
    /// YUV quantisation range: 0 full (JFIF, Android cameras, iOS 420f), 1 limited (video
    /// range, iOS 420v); other values are rejected. Ignored by RGB/gray formats.
    pub yuv_range: i32,
    /// YCbCr matrix: 0 BT.601 (Android cameras, JPEG, SD), 1 BT.709 (HD video, iOS HD
    /// capture); other values are rejected. Ignored by RGB/gray formats. A C `moae_image`
    /// too small to hold the field means 0.
    pub yuv_matrix: i32,
}

/// `RawFrame.yuv_matrix` codes (C: `moae_yuv_matrix`).
pub const YUV_BT601: i32 = 0;
pub const YUV_BT709: i32 = 1;

fn yuv_matrix(v: i32) -> AbiResult<YuvMatrix> {
    match v {
        YUV_BT601 => Ok(YuvMatrix::Bt601),
        YUV_BT709 => Ok(YuvMatrix::Bt709),
        _ => Err(AbiError::invalid(format!(
            "yuv_matrix is {v}: use 0 (BT.601) or 1 (BT.709)"
        ))),
    }
}

/// `RawFrame.yuv_range` codes (C: `moae_yuv_range`).
pub const YUV_FULL: i32 = 0;
pub const YUV_LIMITED: i32 = 1;

fn yuv_range(v: i32) -> AbiResult<YuvRange> {
    match v {
        YUV_FULL => Ok(YuvRange::Full),
        YUV_LIMITED => Ok(YuvRange::Limited),
        _ => Err(AbiError::invalid(format!(
            "yuv_range is {v}: use 0 (full range) or 1 (limited / video range)"
        ))),
    }
}

/// How many planes `format` reads (0 for an unknown format): a C caller's other plane
/// pointers are never touched.
pub fn planes_used(format: i32) -> usize {
    match format {
        0..=4 => 1,
        5 | 6 => 2,
        7 | PIXEL_YUV_420_888 => 3,
        _ => 0,
    }
}

fn frame_error(detail: String) -> AbiError {
    AbiError::new(Status::InvalidFrame, detail)
}

fn dim(name: &str, v: i64) -> AbiResult<u32> {
    u32::try_from(v).map_err(|_| frame_error(format!("{name} is {v}: use 1..={}", u32::MAX)))
}

fn stride(raw: &RawFrame<'_>, i: usize, packed: usize) -> AbiResult<usize> {
    match raw.strides[i] {
        0 => Ok(packed),
        v => usize::try_from(v).map_err(|_| {
            frame_error(format!(
                "strides[{i}] is {v} (< 0): pass the row stride in bytes, or 0 for packed rows"
            ))
        }),
    }
}

fn plane<'a>(raw: &RawFrame<'a>, i: usize) -> AbiResult<&'a [u8]> {
    raw.planes[i].ok_or_else(|| AbiError::null(&format!("planes[{i}]")))
}

/// Splits one buffer into its luma plane (`at` bytes) and the rest.
fn split(buf: &[u8], at: Option<usize>) -> AbiResult<(&[u8], &[u8])> {
    match at {
        Some(at) if buf.len() >= at => Ok(buf.split_at(at)),
        _ => Err(frame_error(format!(
            "planes[0] has {} bytes and no separate chroma plane was given, but its luma plane \
             alone needs {}",
            buf.len(),
            at.map_or("more than usize::MAX".into(), |a| a.to_string())
        ))),
    }
}

/// Checks everything and builds the frame. Order (the same for every binding): format,
/// rotation, mirrored, sizes, planes, then the frame's own size/stride checks.
pub fn frame<'a>(raw: &RawFrame<'a>) -> AbiResult<Frame<'a>> {
    let format = if raw.format == PIXEL_YUV_420_888 {
        None
    } else {
        Some(pixel_format(raw.format)?)
    };
    let rot = rotation(raw.rotation)?;
    let mirrored = flag("mirrored", raw.mirrored)?;
    let range = yuv_range(raw.yuv_range)?;
    let matrix = yuv_matrix(raw.yuv_matrix)?;
    let (w, h) = (dim("width", raw.width)?, dim("height", raw.height)?);
    let (wu, hu) = (w as usize, h as usize);
    let half = wu.div_ceil(2);
    let frame = match format {
        None => {
            let pixel_stride = usize::try_from(raw.pixel_stride).map_err(|_| {
                frame_error(format!("uv pixel stride is {} (< 0)", raw.pixel_stride))
            })?;
            let y_stride = stride(raw, 0, wu)?;
            let uv_stride = stride(raw, 1, half)?;
            Frame::yuv420_888(
                plane(raw, 0)?,
                y_stride,
                plane(raw, 1)?,
                plane(raw, 2)?,
                uv_stride,
                pixel_stride,
                w,
                h,
            )?
        }
        Some(f @ (PixelFormat::Nv12 | PixelFormat::Nv21)) => {
            let y_stride = stride(raw, 0, wu)?;
            let (y, uv) = match raw.planes[1] {
                Some(uv) => (plane(raw, 0)?, uv),
                None => split(plane(raw, 0)?, y_stride.checked_mul(hu))?,
            };
            let uv_stride = stride(raw, 1, 2 * half)?;
            Frame::nv(f, y, y_stride, uv, uv_stride, w, h)?
        }
        Some(PixelFormat::I420) => {
            let y_stride = stride(raw, 0, wu)?;
            let u_stride = stride(raw, 1, half)?;
            let v_stride = stride(raw, 2, half)?;
            let (y, u, v) = match (raw.planes[1], raw.planes[2]) {
                (Some(u), Some(v)) => (plane(raw, 0)?, u, v),
                (None, None) => {
                    let (y, rest) = split(plane(raw, 0)?, y_stride.checked_mul(hu))?;
                    let u_len = u_stride.saturating_mul(hu.div_ceil(2)).min(rest.len());
                    let (u, v) = rest.split_at(u_len);
                    (y, u, v)
                }
                (None, Some(_)) => return Err(AbiError::null("planes[1]")),
                (Some(_), None) => return Err(AbiError::null("planes[2]")),
            };
            Frame::i420(y, y_stride, u, u_stride, v, v_stride, w, h)?
        }
        Some(f) => {
            let bpp = f.packed_bytes_per_pixel().unwrap_or(1);
            let row = wu.saturating_mul(bpp);
            Frame::packed(f, plane(raw, 0)?, w, h, stride(raw, 0, row)?)?
        }
    };
    Ok(frame
        .with_rotation(rot)
        .with_mirrored(mirrored)
        .with_yuv_range(range)
        .with_yuv_matrix(matrix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(format: i32, w: i64, h: i64, planes: [Option<&'a [u8]>; 3]) -> RawFrame<'a> {
        RawFrame {
            format,
            width: w,
            height: h,
            planes,
            strides: [0; 3],
            pixel_stride: 1,
            rotation: 0,
            mirrored: 0,
            yuv_range: 0,
            yuv_matrix: 0,
        }
    }

    #[test]
    fn one_buffer_nv21_equals_two_planes() {
        let buf: Vec<u8> = (0..24).map(|i| i as u8).collect();
        let one = frame(&raw(5, 4, 4, [Some(&buf), None, None])).unwrap();
        let two = frame(&raw(5, 4, 4, [Some(&buf[..16]), Some(&buf[16..]), None])).unwrap();
        assert_eq!(one.upright_size(), two.upright_size());
        let short = frame(&raw(5, 4, 4, [Some(&buf[..10]), None, None])).unwrap_err();
        assert_eq!(short.status, Status::InvalidFrame);
    }

    #[test]
    fn bad_descriptions_are_named() {
        let px = [0u8; 48];
        let ok = raw(0, 4, 4, [Some(&px), None, None]);
        assert!(frame(&ok).is_ok());
        let m = frame(&RawFrame {
            mirrored: 1,
            rotation: 90,
            ..ok
        })
        .unwrap();
        assert!(m.mirrored() && m.rotation() == crate::Rotation::R90);
        assert!(!frame(&ok).unwrap().mirrored());
        let hd = frame(&RawFrame {
            yuv_matrix: YUV_BT709,
            ..ok
        })
        .unwrap();
        assert_eq!(hd.yuv_matrix(), YuvMatrix::Bt709);
        assert_eq!(frame(&ok).unwrap().yuv_matrix(), YuvMatrix::Bt601);
        let lim = frame(&RawFrame {
            yuv_range: YUV_LIMITED,
            ..ok
        })
        .unwrap();
        assert_eq!(lim.yuv_range(), YuvRange::Limited);
        assert_eq!(frame(&ok).unwrap().yuv_range(), YuvRange::Full);
        let cases: [(RawFrame<'_>, Status); 10] = [
            (RawFrame { yuv_range: 2, ..ok }, Status::InvalidArgument),
            (
                RawFrame {
                    yuv_matrix: 2,
                    ..ok
                },
                Status::InvalidArgument,
            ),
            (
                RawFrame {
                    yuv_matrix: -1,
                    ..ok
                },
                Status::InvalidArgument,
            ),
            (RawFrame { mirrored: 2, ..ok }, Status::InvalidArgument),
            (RawFrame { mirrored: -1, ..ok }, Status::InvalidArgument),
            (RawFrame { format: 99, ..ok }, Status::UnknownFormat),
            (
                RawFrame {
                    rotation: -90,
                    ..ok
                },
                Status::InvalidArgument,
            ),
            (RawFrame { width: -1, ..ok }, Status::InvalidFrame),
            (
                RawFrame {
                    planes: [None; 3],
                    ..ok
                },
                Status::NullArgument,
            ),
            (
                RawFrame {
                    strides: [-3, 0, 0],
                    ..ok
                },
                Status::InvalidFrame,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(frame(&r).unwrap_err().status, want, "{r:?}");
        }
    }
}
