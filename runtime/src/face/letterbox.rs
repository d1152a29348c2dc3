//! The detector's input: the upright, un-mirrored frame letterboxed into an N x N square, as
//! MediaPipe's `ImageToTensorCalculator` (CPU, OpenCV) makes it for BlazeFace:
//! - the region is the whole upright frame, padded (centred) to a square of side
//!   `S = max(width, height)` (`keep_aspect_ratio`);
//! - output pixel `i` samples upright position `x0 + i * S / N` (OpenCV's `warpPerspective`
//!   maps the square's corners to the output's corners, pixel centres on integers), the
//!   position rounded to 1/32 pixel, bilinear on the 8-bit RGB image, result rounded to 8 bits,
//!   taps outside the frame are 0 (`BORDER_ZERO`);
//! - value `v` becomes `v * 2 / 255 - 1` (the tensor range [-1, 1]), NHWC.
//!
//! Only the N x N x 4 taps are read from the frame, each mapped from upright to buffer
//! coordinates (with [`crate::image::orient`]'s map) and
//! converted to RGB on the fly (YUV: BT.601 at the frame's range, chroma of the 2x2 block).

use crate::image::frame::{Frame, Layout};
use crate::image::orient::{Orient, PixelMap};
use crate::image::resample::YuvCoeffs;

/// How tensor coordinates map back to the upright frame: `x = u * side + x0` for a normalised
/// tensor coordinate `u` in [0, 1] (likewise y).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Letterbox {
    pub side: f32,
    pub x0: f32,
    pub y0: f32,
}

/// Per-pixel RGB access to a frame's buffer (in buffer coordinates, inside the frame).
pub(crate) struct RgbReader<'a> {
    frame: Frame<'a>,
    coeffs: YuvCoeffs,
}

impl<'a> RgbReader<'a> {
    pub(crate) fn new(frame: &Frame<'a>) -> Self {
        RgbReader {
            frame: *frame,
            coeffs: YuvCoeffs::new(frame.yuv_range, frame.yuv_matrix),
        }
    }

    /// The 8-bit RGB value of buffer pixel (x, y); YUV converted with its matrix and rounded.
    #[inline(always)]
    pub(crate) fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        match &self.frame.layout {
            Layout::Packed { plane, offsets, .. } => {
                let i = y * plane.stride + x * plane.pixel_stride;
                let p = &plane.data[i..];
                [p[offsets[0]], p[offsets[1]], p[offsets[2]]]
            }
            Layout::Yuv { y: yp, u, v, .. } => {
                let yy = yp.data[y * yp.stride + x] as f32;
                let (cx, cy) = (x / 2, y / 2);
                let uu = u.data[cy * u.stride + cx * u.pixel_stride] as f32;
                let vv = v.data[cy * v.stride + cx * v.pixel_stride] as f32;
                let c = self.coeffs.rgb(yy, uu, vv);
                // clamped to [0, 255] by `rgb`; round half up as a u8 image would hold it
                [(c[0] + 0.5) as u8, (c[1] + 0.5) as u8, (c[2] + 0.5) as u8]
            }
        }
    }
}

/// The letterbox geometry of an upright `w` x `h` frame.
pub(crate) fn geometry(upright_w: u32, upright_h: u32) -> Letterbox {
    let side = upright_w.max(upright_h) as f32;
    Letterbox {
        side,
        x0: (upright_w as f32 - side) / 2.0,
        y0: (upright_h as f32 - side) / 2.0,
    }
}

/// One axis' taps: integer position (floor, in 1/32 steps) and the fraction in 1/32.
fn axis_taps(n: usize, side: f64, origin: f64) -> Vec<(i64, i64)> {
    (0..n)
        .map(|i| {
            let pos = origin + i as f64 * side / n as f64;
            let q = (pos * 32.0).round() as i64;
            (q >> 5, q & 31)
        })
        .collect()
}

/// Fills `out` (N*N*3, NHWC, values in [-1, 1]) with the letterboxed upright frame.
pub(crate) fn letterbox(frame: &Frame<'_>, n: usize, out: &mut [f32]) -> Letterbox {
    debug_assert_eq!(out.len(), n * n * 3);
    let (uw, uh) = frame.upright_size();
    let lb = geometry(uw, uh);
    let xs = axis_taps(n, lb.side as f64, lb.x0 as f64);
    let ys = axis_taps(n, lb.side as f64, lb.y0 as f64);
    let map = PixelMap::upright_to_buffer(&Orient::of(frame));
    let reader = RgbReader::new(frame);
    let (uw, uh) = (uw as i64, uh as i64);
    let fetch = |u: i64, v: i64| -> [u32; 3] {
        if u < 0 || v < 0 || u >= uw || v >= uh {
            return [0; 3];
        }
        let (bx, by) = map.map(u, v);
        let p = reader.rgb(bx as usize, by as usize);
        [p[0] as u32, p[1] as u32, p[2] as u32]
    };
    const SCALE: f32 = 2.0 / 255.0;
    for (j, &(iy, fy)) in ys.iter().enumerate() {
        let row = &mut out[j * n * 3..(j + 1) * n * 3];
        let row_out = iy + 1 < 0 || iy >= uh;
        for (i, &(ix, fx)) in xs.iter().enumerate() {
            let px = &mut row[i * 3..i * 3 + 3];
            if row_out || ix + 1 < 0 || ix >= uw {
                px.fill(-1.0);
                continue;
            }
            let (w00, w10, w01, w11) = (
                ((32 - fx) * (32 - fy)) as u32,
                (fx * (32 - fy)) as u32,
                ((32 - fx) * fy) as u32,
                (fx * fy) as u32,
            );
            let p00 = fetch(ix, iy);
            let p10 = if w10 | w11 != 0 {
                fetch(ix + 1, iy)
            } else {
                [0; 3]
            };
            let p01 = if w01 | w11 != 0 {
                fetch(ix, iy + 1)
            } else {
                [0; 3]
            };
            let p11 = if w11 != 0 {
                fetch(ix + 1, iy + 1)
            } else {
                [0; 3]
            };
            for c in 0..3 {
                let v = (p00[c] * w00 + p10[c] * w10 + p01[c] * w01 + p11[c] * w11 + 512) >> 10;
                px[c] = v as f32 * SCALE - 1.0;
            }
        }
    }
    lb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::frame::{PixelFormat, Rotation};

    fn upright_to_buffer(f: &Frame<'_>) -> PixelMap {
        PixelMap::upright_to_buffer(&Orient::of(f))
    }

    /// A 3x2 RGB buffer with distinct pixels; every rotation/mirror maps upright pixels to the
    /// buffer pixels the contract says.
    #[test]
    fn upright_to_buffer_follows_exif_order() {
        let data: Vec<u8> = (0..18).collect();
        let f = Frame::packed(PixelFormat::Rgb, &data, 3, 2, 9).unwrap();
        // buffer:  a b c / d e f.
        // R90 (cw): upright 2x3 = d a / e b / f c
        let m = upright_to_buffer(&f.with_rotation(Rotation::R90));
        assert_eq!(m.map(0, 0), (0, 1));
        assert_eq!(m.map(1, 0), (0, 0));
        assert_eq!(m.map(0, 2), (2, 1));
        // R270: upright = c f / b e / a d
        let m = upright_to_buffer(&f.with_rotation(Rotation::R270));
        assert_eq!(m.map(0, 0), (2, 0));
        assert_eq!(m.map(1, 0), (2, 1));
        assert_eq!(m.map(0, 2), (0, 0));
        // R180: f e d / c b a
        let m = upright_to_buffer(&f.with_rotation(Rotation::R180));
        assert_eq!(m.map(0, 0), (2, 1));
        assert_eq!(m.map(2, 1), (0, 0));
        // mirrored only: c b a / f e d
        let m = upright_to_buffer(&f.with_mirrored(true));
        assert_eq!(m.map(0, 0), (2, 0));
        assert_eq!(m.map(0, 1), (2, 1));
        // mirrored + R90 (EXIF 7): flip -> c b a / f e d, then cw -> f c / e b / d a
        let m = upright_to_buffer(&f.with_mirrored(true).with_rotation(Rotation::R90));
        assert_eq!(m.map(0, 0), (2, 1));
        assert_eq!(m.map(1, 0), (2, 0));
        assert_eq!(m.map(0, 2), (0, 1));
    }

    #[test]
    fn letterbox_pads_with_minus_one_and_keeps_uniform_colour() {
        // 8 wide x 4 high, all (255, 0, 127): the tensor's middle rows hold the colour, the
        // top and bottom quarters the padding.
        let data: Vec<u8> = [255u8, 0, 127].repeat(32);
        let f = Frame::packed(PixelFormat::Rgb, &data, 8, 4, 24).unwrap();
        let mut out = vec![0f32; 8 * 8 * 3];
        let lb = letterbox(&f, 8, &mut out);
        assert_eq!(
            lb,
            Letterbox {
                side: 8.0,
                x0: 0.0,
                y0: -2.0
            }
        );
        let px = |i: usize, j: usize| &out[(j * 8 + i) * 3..(j * 8 + i) * 3 + 3];
        assert_eq!(px(3, 0), [-1.0, -1.0, -1.0]);
        assert_eq!(px(3, 7), [-1.0, -1.0, -1.0]);
        assert_eq!(px(0, 2), [1.0, -1.0, 127.0f32 * (2.0 / 255.0) - 1.0]);
        assert_eq!(px(6, 5), [1.0, -1.0, 127.0f32 * (2.0 / 255.0) - 1.0]);
    }

    #[test]
    fn yuv_reader_matches_bt601() {
        // 2x2 NV21, Y = 100, V = 200, U = 50
        let y = [100u8; 4];
        let vu = [200u8, 50];
        let f = Frame::nv(PixelFormat::Nv21, &y, 2, &vu, 2, 2, 2).unwrap();
        let r = RgbReader::new(&f);
        let c = YuvCoeffs::new(
            crate::image::frame::YuvRange::Full,
            crate::image::frame::YuvMatrix::Bt601,
        )
        .rgb(100.0, 50.0, 200.0);
        let want = [(c[0] + 0.5) as u8, (c[1] + 0.5) as u8, (c[2] + 0.5) as u8];
        assert_eq!(r.rgb(1, 1), want);
        assert!(want[0] > 150 && want[2] < 10);
    }
}
