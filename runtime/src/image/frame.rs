//! Camera/image frames as borrowed planes, validated once at construction so that the hot
//! path can index without checks failing.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    Rgb,
    Bgr,
    Rgba,
    Bgra,
    Gray,
    /// Y plane + interleaved V,U plane (Android camera default), 4:2:0.
    Nv21,
    /// Y plane + interleaved U,V plane, 4:2:0.
    Nv12,
    /// Y, U, V planes, 4:2:0.
    I420,
}

impl PixelFormat {
    /// Bytes per pixel of the packed formats; `None` for the planar YUV ones.
    pub fn packed_bytes_per_pixel(self) -> Option<usize> {
        match self {
            PixelFormat::Rgb | PixelFormat::Bgr => Some(3),
            PixelFormat::Rgba | PixelFormat::Bgra => Some(4),
            PixelFormat::Gray => Some(1),
            PixelFormat::Nv21 | PixelFormat::Nv12 | PixelFormat::I420 => None,
        }
    }

    pub const ALL: [PixelFormat; 8] = [
        PixelFormat::Rgb,
        PixelFormat::Bgr,
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Gray,
        PixelFormat::Nv21,
        PixelFormat::Nv12,
        PixelFormat::I420,
    ];

    fn name(self) -> &'static str {
        match self {
            PixelFormat::Rgb => "rgb",
            PixelFormat::Bgr => "bgr",
            PixelFormat::Rgba => "rgba",
            PixelFormat::Bgra => "bgra",
            PixelFormat::Gray => "gray",
            PixelFormat::Nv21 => "nv21",
            PixelFormat::Nv12 => "nv12",
            PixelFormat::I420 => "i420",
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PixelFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let l = s.trim().to_ascii_lowercase();
        PixelFormat::ALL
            .into_iter()
            .find(|f| f.name() == l)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown pixel format `{s}`")))
    }
}

/// The clockwise rotation that makes the frame upright (Android `ImageInfo.rotationDegrees`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Rotation {
    pub fn degrees(self) -> i32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }

    /// Whether the upright frame has width and height swapped.
    pub fn swaps_axes(self) -> bool {
        matches!(self, Rotation::R90 | Rotation::R270)
    }
}

impl TryFrom<i32> for Rotation {
    type Error = Error;
    /// Exactly 0, 90, 180 or 270: a -90 or 450 is a caller bug, rejected the same way by the
    /// C ABI and JNI (see `crate::abi`), not a rotation to normalise.
    fn try_from(deg: i32) -> Result<Self> {
        Ok(match deg {
            0 => Rotation::R0,
            90 => Rotation::R90,
            180 => Rotation::R180,
            270 => Rotation::R270,
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "rotation is {deg} degrees: use 0, 90, 180 or 270 (clockwise)"
                )))
            }
        })
    }
}

/// YUV quantisation range. Android camera NV21/YUV_420_888 and JPEG are full range (JFIF);
/// most video decoders output limited (studio) range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum YuvRange {
    #[default]
    Full,
    Limited,
}

/// The YCbCr -> RGB matrix of a YUV frame: ITU-R BT.601 (Android camera frames, JPEG, SD
/// video) or BT.709 (HD video; iOS HD capture tags its buffers with it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum YuvMatrix {
    #[default]
    Bt601,
    Bt709,
}

/// One plane: `rows` rows of `row_bytes` meaningful bytes, `stride` bytes apart.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    /// Bytes between horizontally adjacent samples of one channel.
    pub pixel_stride: usize,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Layout<'a> {
    /// Interleaved channels; `offsets` of R,G,B within a pixel (all 0 for gray).
    Packed {
        plane: Plane<'a>,
        offsets: [usize; 3],
        channels: usize,
    },
    /// 4:2:0 YUV; chroma planes at half resolution.
    Yuv {
        y: Plane<'a>,
        u: Plane<'a>,
        v: Plane<'a>,
        /// The chroma values interleaved in one plane (NV12/NV21): offsets of U and V.
        interleaved: Option<(Plane<'a>, usize, usize)>,
    },
}

/// A borrowed frame: pixel planes, size, rotation. Construct with [`Frame::packed`],
/// [`Frame::nv`], [`Frame::i420`] or [`Frame::yuv420_888`]; all check sizes and strides.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub(crate) format: PixelFormat,
    pub(crate) layout: Layout<'a>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rotation: Rotation,
    /// The buffer is a horizontal mirror image (a front camera's preview). Applied before the
    /// rotation, as EXIF orientations 2/4/5/7 are: see [`Frame::with_mirrored`].
    pub(crate) mirrored: bool,
    pub(crate) yuv_range: YuvRange,
    pub(crate) yuv_matrix: YuvMatrix,
}

fn check_size(width: u32, height: u32, subsampled: bool) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidFrame(format!(
            "zero size {width}x{height}: width and height must be positive"
        )));
    }
    if subsampled && (width % 2 != 0 || height % 2 != 0) {
        return Err(Error::InvalidFrame(format!(
            "4:2:0 YUV frames need even width and height, got {width}x{height}; \
             crop one row/column off before passing the frame"
        )));
    }
    Ok(())
}

/// Checks one plane: `stride >= row_bytes` and the buffer holds `rows` rows (the last row
/// may lack its padding, as Android image planes do) and not more than `rows * stride` bytes.
fn check_plane(
    what: &str,
    data: &[u8],
    stride: usize,
    row_bytes: usize,
    rows: usize,
) -> Result<()> {
    if stride < row_bytes {
        return Err(Error::InvalidFrame(format!(
            "{what} stride {stride} is less than its row size of {row_bytes} bytes"
        )));
    }
    let min = (rows - 1)
        .checked_mul(stride)
        .and_then(|b| b.checked_add(row_bytes))
        .ok_or_else(|| Error::InvalidFrame(format!("{what} size overflows")))?;
    let max = rows.saturating_mul(stride);
    if data.len() < min || data.len() > max {
        return Err(Error::InvalidFrame(format!(
            "{what} buffer has {} bytes; {rows} rows of {row_bytes} bytes with stride {stride} \
             need {}",
            data.len(),
            if min == max {
                format!("exactly {min}")
            } else {
                format!("{min}..={max}")
            }
        )));
    }
    Ok(())
}

impl<'a> Frame<'a> {
    /// A frame as the constructors check it: upright as passed (no rotation, not mirrored),
    /// full-range BT.601 until the `with_*` setters say otherwise.
    fn as_passed(format: PixelFormat, layout: Layout<'a>, width: u32, height: u32) -> Self {
        Frame {
            format,
            layout,
            width,
            height,
            rotation: Rotation::R0,
            mirrored: false,
            yuv_range: YuvRange::Full,
            yuv_matrix: YuvMatrix::Bt601,
        }
    }

    /// RGB/BGR/RGBA/BGRA/GRAY: one plane, `stride` bytes per row (>= width * bytes per pixel).
    pub fn packed(
        format: PixelFormat,
        data: &'a [u8],
        width: u32,
        height: u32,
        stride: usize,
    ) -> Result<Self> {
        let bpp = format.packed_bytes_per_pixel().ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{format} is a planar YUV format: use Frame::nv or Frame::i420"
            ))
        })?;
        check_size(width, height, false)?;
        check_plane("pixel", data, stride, width as usize * bpp, height as usize)?;
        let (offsets, channels) = match format {
            PixelFormat::Rgb | PixelFormat::Rgba => ([0, 1, 2], 3),
            PixelFormat::Bgr | PixelFormat::Bgra => ([2, 1, 0], 3),
            _ => ([0, 0, 0], 1),
        };
        Ok(Frame::as_passed(
            format,
            Layout::Packed {
                plane: Plane {
                    data,
                    stride,
                    pixel_stride: bpp,
                },
                offsets,
                channels,
            },
            width,
            height,
        ))
    }

    /// NV12/NV21: Y plane + interleaved chroma plane (`uv_stride >= width`).
    pub fn nv(
        format: PixelFormat,
        y: &'a [u8],
        y_stride: usize,
        uv: &'a [u8],
        uv_stride: usize,
        width: u32,
        height: u32,
    ) -> Result<Self> {
        let (u_off, v_off) = match format {
            PixelFormat::Nv12 => (0, 1),
            PixelFormat::Nv21 => (1, 0),
            other => {
                return Err(Error::InvalidArgument(format!(
                    "Frame::nv takes NV12 or NV21, not {other}"
                )))
            }
        };
        check_size(width, height, true)?;
        let (w, h) = (width as usize, height as usize);
        check_plane("Y plane", y, y_stride, w, h)?;
        check_plane("UV plane", uv, uv_stride, w, h / 2)?;
        let y = Plane {
            data: y,
            stride: y_stride,
            pixel_stride: 1,
        };
        let inter = Plane {
            data: uv,
            stride: uv_stride,
            pixel_stride: 2,
        };
        let sub = |off: usize| Plane {
            data: &uv[off..],
            stride: uv_stride,
            pixel_stride: 2,
        };
        Ok(Frame::as_passed(
            format,
            Layout::Yuv {
                y,
                u: sub(u_off),
                v: sub(v_off),
                interleaved: Some((inter, u_off, v_off)),
            },
            width,
            height,
        ))
    }

    /// I420: three planes; chroma planes are (width/2)x(height/2).
    #[allow(clippy::too_many_arguments)]
    pub fn i420(
        y: &'a [u8],
        y_stride: usize,
        u: &'a [u8],
        u_stride: usize,
        v: &'a [u8],
        v_stride: usize,
        width: u32,
        height: u32,
    ) -> Result<Self> {
        check_size(width, height, true)?;
        let (w, h) = (width as usize, height as usize);
        check_plane("Y plane", y, y_stride, w, h)?;
        check_plane("U plane", u, u_stride, w / 2, h / 2)?;
        check_plane("V plane", v, v_stride, w / 2, h / 2)?;
        let p = |data, stride| Plane {
            data,
            stride,
            pixel_stride: 1,
        };
        Ok(Frame::as_passed(
            PixelFormat::I420,
            Layout::Yuv {
                y: p(y, y_stride),
                u: p(u, u_stride),
                v: p(v, v_stride),
                interleaved: None,
            },
            width,
            height,
        ))
    }

    /// Android `YUV_420_888` (CameraX `ImageProxy` planes): chroma pixel stride 1 (I420-like)
    /// or 2 (NV12/NV21-like, the U and V buffers overlapping). `format()` reports I420 for
    /// pixel stride 1, and NV12/NV21 for 2 depending on which buffer starts first.
    #[allow(clippy::too_many_arguments)]
    pub fn yuv420_888(
        y: &'a [u8],
        y_stride: usize,
        u: &'a [u8],
        v: &'a [u8],
        uv_row_stride: usize,
        uv_pixel_stride: usize,
        width: u32,
        height: u32,
    ) -> Result<Self> {
        if uv_pixel_stride != 1 && uv_pixel_stride != 2 {
            return Err(Error::InvalidFrame(format!(
                "YUV_420_888 chroma pixel stride must be 1 or 2, got {uv_pixel_stride}"
            )));
        }
        check_size(width, height, true)?;
        let (w, h) = (width as usize, height as usize);
        check_plane("Y plane", y, y_stride, w, h)?;
        let row_bytes = (w / 2 - 1) * uv_pixel_stride + 1;
        check_plane("U plane", u, uv_row_stride, row_bytes, h / 2)?;
        check_plane("V plane", v, uv_row_stride, row_bytes, h / 2)?;
        let format = match uv_pixel_stride {
            1 => PixelFormat::I420,
            _ if (v.as_ptr() as usize) < (u.as_ptr() as usize) => PixelFormat::Nv21,
            _ => PixelFormat::Nv12,
        };
        let p = |data, stride, ps| Plane {
            data,
            stride,
            pixel_stride: ps,
        };
        Ok(Frame::as_passed(
            format,
            Layout::Yuv {
                y: p(y, y_stride, 1),
                u: p(u, uv_row_stride, uv_pixel_stride),
                v: p(v, uv_row_stride, uv_pixel_stride),
                interleaved: None,
            },
            width,
            height,
        ))
    }

    /// Sets the clockwise rotation that makes the frame upright.
    pub fn with_rotation(mut self, r: Rotation) -> Self {
        self.rotation = r;
        self
    }

    /// Marks the buffer as a horizontal mirror image of the scene (front cameras whose frames
    /// the app mirrored). The upright, un-mirrored frame is: flip the buffer left-right, then
    /// rotate it clockwise by the rotation (EXIF's order: `mirrored` + R90 is orientation 7).
    /// Face boxes and results are always in that upright, un-mirrored frame.
    pub fn with_mirrored(mut self, mirrored: bool) -> Self {
        self.mirrored = mirrored;
        self
    }

    /// Sets the YUV range (default full range, as Android cameras deliver); ignored for RGB.
    pub fn with_yuv_range(mut self, range: YuvRange) -> Self {
        self.yuv_range = range;
        self
    }

    /// Sets the YCbCr matrix (default BT.601); ignored for RGB.
    pub fn with_yuv_matrix(mut self, matrix: YuvMatrix) -> Self {
        self.yuv_matrix = matrix;
        self
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }
    pub fn mirrored(&self) -> bool {
        self.mirrored
    }
    pub fn yuv_range(&self) -> YuvRange {
        self.yuv_range
    }
    pub fn yuv_matrix(&self) -> YuvMatrix {
        self.yuv_matrix
    }

    /// Size after rotation to upright: the coordinate system of face boxes.
    pub fn upright_size(&self) -> (u32, u32) {
        if self.rotation.swaps_axes() {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}
