//! THE map between a stored buffer and the upright, un-mirrored frame, in one function pair.
//!
//! The upright frame is `rotate_cw(flip_lr_if_mirrored(buffer), rotation)` (EXIF's order: the
//! flip comes before the rotation). [`Orient::to_upright`] maps a rectangle of the buffer to
//! the upright frame and [`Orient::to_buffer`] maps it back; a point is a rectangle of size
//! zero and an integer pixel `(u, v)` the rectangle `(u, v, 1, 1)`. Crop squares, caller
//! boxes, the detector's letterbox taps and the resampler's row scatter all use this pair, so
//! the rotation and mirroring rule is written once.

use crate::image::frame::{Frame, Rotation};

/// An axis-aligned rectangle in continuous pixel coordinates: `[x, x + w) x [y, y + h)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub(crate) fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    /// The integer pixel `(u, v)`, i.e. the unit square it covers.
    pub(crate) fn pixel(u: i64, v: i64) -> Rect {
        Rect::new(u as f64, v as f64, 1.0, 1.0)
    }
}

/// How a `width` x `height` buffer is turned upright.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Orient {
    pub rotation: Rotation,
    pub mirrored: bool,
    /// Buffer size, pixels.
    pub width: f64,
    pub height: f64,
}

/// `[a, a + len)` reflected inside `[0, extent)`. Written `extent - a - len` (not
/// `extent - (a + len)`) so that boxes map with the same rounding everywhere.
fn reflect(a: f64, len: f64, extent: f64) -> f64 {
    extent - a - len
}

impl Orient {
    pub(crate) fn new(rotation: Rotation, mirrored: bool, width: u32, height: u32) -> Orient {
        Orient {
            rotation,
            mirrored,
            width: width as f64,
            height: height as f64,
        }
    }

    /// The orientation of `frame`'s buffer.
    pub(crate) fn of(frame: &Frame<'_>) -> Orient {
        Orient::new(frame.rotation, frame.mirrored, frame.width, frame.height)
    }

    /// Buffer rectangle -> upright rectangle.
    pub(crate) fn to_upright(self, r: Rect) -> Rect {
        let (bw, bh) = (self.width, self.height);
        let x = if self.mirrored {
            reflect(r.x, r.w, bw)
        } else {
            r.x
        };
        match self.rotation {
            Rotation::R0 => Rect::new(x, r.y, r.w, r.h),
            // upright (ux, uy) = (H - by, bx)
            Rotation::R90 => Rect::new(reflect(r.y, r.h, bh), x, r.h, r.w),
            Rotation::R180 => Rect::new(reflect(x, r.w, bw), reflect(r.y, r.h, bh), r.w, r.h),
            // upright (ux, uy) = (by, W - bx)
            Rotation::R270 => Rect::new(r.y, reflect(x, r.w, bw), r.h, r.w),
        }
    }

    /// Upright rectangle -> buffer rectangle (the inverse of [`Orient::to_upright`]).
    pub(crate) fn to_buffer(self, u: Rect) -> Rect {
        let (bw, bh) = (self.width, self.height);
        let r = match self.rotation {
            Rotation::R0 => u,
            Rotation::R90 => Rect::new(u.y, reflect(u.x, u.w, bh), u.h, u.w),
            Rotation::R180 => Rect::new(reflect(u.x, u.w, bw), reflect(u.y, u.h, bh), u.w, u.h),
            Rotation::R270 => Rect::new(reflect(u.y, u.h, bw), u.x, u.h, u.w),
        };
        if self.mirrored {
            Rect {
                x: reflect(r.x, r.w, bw),
                ..r
            }
        } else {
            r
        }
    }
}

/// An integer pixel map derived from one side of the pair: pixel `(u, v)` goes to
/// `(ax*u + bx*v + cx, ay*u + by*v + cy)`. The map is affine, so three pixels fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PixelMap {
    ax: i64,
    bx: i64,
    cx: i64,
    ay: i64,
    by: i64,
    cy: i64,
}

impl PixelMap {
    fn from_fn(f: impl Fn(Rect) -> Rect) -> PixelMap {
        let at = |u, v| {
            let r = f(Rect::pixel(u, v));
            (r.x as i64, r.y as i64)
        };
        let ((x0, y0), (x1, y1), (x2, y2)) = (at(0, 0), at(1, 0), at(0, 1));
        PixelMap {
            ax: x1 - x0,
            bx: x2 - x0,
            cx: x0,
            ay: y1 - y0,
            by: y2 - y0,
            cy: y0,
        }
    }

    /// Upright pixels -> buffer pixels of `o`.
    pub(crate) fn upright_to_buffer(o: &Orient) -> PixelMap {
        PixelMap::from_fn(|r| o.to_buffer(r))
    }

    /// Buffer pixels -> upright pixels of `o`.
    pub(crate) fn buffer_to_upright(o: &Orient) -> PixelMap {
        PixelMap::from_fn(|r| o.to_upright(r))
    }

    #[inline(always)]
    pub(crate) fn map(&self, u: i64, v: i64) -> (i64, i64) {
        (
            self.ax * u + self.bx * v + self.cx,
            self.ay * u + self.by * v + self.cy,
        )
    }
}

// The map against a physically rotated image, and every user of the map against it: 8
// orientations x random sizes x random points and boxes (seeded, so reproducible).
#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::letterbox::letterbox;
    use crate::image::crop::{to_source, Square};
    use crate::image::frame::PixelFormat;
    use crate::image::resample::{resample_into, Normalize};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const ORIENTATIONS: [(Rotation, bool); 8] = [
        (Rotation::R0, false),
        (Rotation::R0, true),
        (Rotation::R90, false),
        (Rotation::R90, true),
        (Rotation::R180, false),
        (Rotation::R180, true),
        (Rotation::R270, false),
        (Rotation::R270, true),
    ];

    /// `rotate_cw(flip_lr_if_mirrored(buffer), rotation)` done on an image of buffer coordinates,
    /// pixel by pixel: element `[v][u]` of the result is the buffer pixel upright `(u, v)` shows.
    fn physically_upright(
        w: usize,
        h: usize,
        rot: Rotation,
        mirrored: bool,
    ) -> Vec<Vec<(i64, i64)>> {
        let mut img: Vec<Vec<(i64, i64)>> = (0..h)
            .map(|y| (0..w).map(|x| (x as i64, y as i64)).collect())
            .collect();
        if mirrored {
            img.iter_mut().for_each(|row| row.reverse());
        }
        let turns = match rot {
            Rotation::R0 => 0,
            Rotation::R90 => 1,
            Rotation::R180 => 2,
            Rotation::R270 => 3,
        };
        for _ in 0..turns {
            // Clockwise: new[y'][x'] = old[rows - 1 - x'][y'].
            let (rows, cols) = (img.len(), img[0].len());
            img = (0..cols)
                .map(|y2| (0..rows).map(|x2| img[rows - 1 - x2][y2]).collect())
                .collect();
        }
        img
    }

    fn random_rect(rng: &mut ChaCha8Rng, w: f64, h: f64, point: bool) -> Rect {
        let x = rng.gen_range(-0.5 * w..1.5 * w);
        let y = rng.gen_range(-0.5 * h..1.5 * h);
        if point {
            return Rect::new(x, y, 0.0, 0.0);
        }
        Rect::new(x, y, rng.gen_range(0.0..w), rng.gen_range(0.0..h))
    }

    fn close(a: Rect, b: Rect, tol: f64) -> bool {
        [(a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h)]
            .iter()
            .all(|(p, q)| (p - q).abs() <= tol)
    }

    #[test]
    fn buffer_to_upright_to_buffer_is_the_identity() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        for (rot, mirrored) in ORIENTATIONS {
            for _ in 0..50 {
                let (w, h) = (rng.gen_range(1..4000u32), rng.gen_range(1..4000u32));
                let o = Orient::new(rot, mirrored, w, h);
                let (uw, uh) = match rot {
                    Rotation::R0 | Rotation::R180 => (w, h),
                    _ => (h, w),
                };
                for point in [true, false] {
                    for _ in 0..20 {
                        let r = random_rect(&mut rng, w as f64, h as f64, point);
                        let back = o.to_buffer(o.to_upright(r));
                        assert!(close(back, r, 1e-9), "{o:?} {r:?} -> {back:?}");
                        let u = random_rect(&mut rng, uw as f64, uh as f64, point);
                        let again = o.to_upright(o.to_buffer(u));
                        assert!(close(again, u, 1e-9), "{o:?} {u:?} -> {again:?}");
                    }
                }
                // Integer boxes map exactly, and the whole buffer is the whole upright frame.
                let x = rng.gen_range(0..w) as f64;
                let r = Rect::new(x, 0.0, w as f64 - x, 1.0);
                assert_eq!(o.to_buffer(o.to_upright(r)), r);
                let all = Rect::new(0.0, 0.0, w as f64, h as f64);
                assert_eq!(o.to_upright(all), Rect::new(0.0, 0.0, uw as f64, uh as f64));
            }
        }
    }

    #[test]
    fn the_map_is_the_physical_rotation_of_the_mirrored_buffer() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (rot, mirrored) in ORIENTATIONS {
            for _ in 0..10 {
                let (w, h) = (rng.gen_range(1..12usize), rng.gen_range(1..12usize));
                let o = Orient::new(rot, mirrored, w as u32, h as u32);
                let img = physically_upright(w, h, rot, mirrored);
                let to_buf = PixelMap::upright_to_buffer(&o);
                let to_up = PixelMap::buffer_to_upright(&o);
                for (v, row) in img.iter().enumerate() {
                    for (u, &want) in row.iter().enumerate() {
                        let (u, v) = (u as i64, v as i64);
                        assert_eq!(to_buf.map(u, v), want, "{o:?} upright ({u}, {v})");
                        assert_eq!(to_up.map(want.0, want.1), (u, v), "{o:?}");
                        // The pixel's unit square maps to the unit square of its partner.
                        let r = o.to_upright(Rect::pixel(want.0, want.1));
                        assert_eq!(r, Rect::pixel(u, v), "{o:?}");
                    }
                }
                // A box maps to the box spanned by the images of its pixels.
                let (x0, y0) = (rng.gen_range(0..w), rng.gen_range(0..h));
                let (bw, bh) = (rng.gen_range(1..=w - x0), rng.gen_range(1..=h - y0));
                let corners = [
                    (x0, y0),
                    (x0 + bw - 1, y0),
                    (x0, y0 + bh - 1),
                    (x0 + bw - 1, y0 + bh - 1),
                ]
                .map(|(x, y)| to_up.map(x as i64, y as i64));
                let min_x = corners.iter().map(|c| c.0).min().unwrap() as f64;
                let max_x = corners.iter().map(|c| c.0).max().unwrap() as f64;
                let min_y = corners.iter().map(|c| c.1).min().unwrap() as f64;
                let max_y = corners.iter().map(|c| c.1).max().unwrap() as f64;
                let got = o.to_upright(Rect::new(x0 as f64, y0 as f64, bw as f64, bh as f64));
                let want = Rect::new(min_x, min_y, max_x - min_x + 1.0, max_y - min_y + 1.0);
                assert_eq!(got, want, "{o:?}");
            }
        }
    }

    /// An RGB buffer whose pixel `(x, y)` holds `(x, y, (3x + 5y) % 256)` (sizes below 256).
    fn coordinate_image(w: usize, h: usize) -> Vec<u8> {
        let mut px = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                px.extend([x as u8, y as u8, ((3 * x + 5 * y) % 256) as u8]);
            }
        }
        px
    }

    fn expected_pixel(buf: &[u8], w: usize, (bx, by): (i64, i64)) -> [u8; 3] {
        let i = (by as usize * w + bx as usize) * 3;
        [buf[i], buf[i + 1], buf[i + 2]]
    }

    #[test]
    fn crop_and_resample_agree_with_the_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let identity = Normalize {
            scale: [1.0; 3],
            bias: [0.0; 3],
        };
        for (rot, mirrored) in ORIENTATIONS {
            for _ in 0..12 {
                let (w, h) = (rng.gen_range(2..60usize), rng.gen_range(2..60usize));
                let buf = coordinate_image(w, h);
                let frame = Frame::packed(PixelFormat::Rgb, &buf, w as u32, h as u32, 3 * w)
                    .unwrap()
                    .with_rotation(rot)
                    .with_mirrored(mirrored);
                let o = Orient::of(&frame);
                let (uw, uh) = frame.upright_size();
                // An integer square of the upright frame, resampled at one output per pixel, so
                // every output is exactly one buffer pixel.
                let side = rng.gen_range(1..=uw.min(uh)) as usize;
                let (sx, sy) = (
                    rng.gen_range(0..=uw as usize - side),
                    rng.gen_range(0..=uh as usize - side),
                );
                let sq = Square {
                    x: sx as f64,
                    y: sy as f64,
                    side: side as f64,
                };
                let src = to_source(sq, &frame);
                assert_eq!(Square::of_rect(o.to_buffer(sq.rect())), src);
                let mut out = vec![0.0f32; 3 * side * side];
                resample_into(&frame, src, side, &identity, &mut out);
                let to_buf = PixelMap::upright_to_buffer(&o);
                for j in 0..side {
                    for i in 0..side {
                        let b = to_buf.map((sx + i) as i64, (sy + j) as i64);
                        let want = expected_pixel(&buf, w, b);
                        let got = [0, 1, 2].map(|c| out[c * side * side + j * side + i]);
                        assert_eq!(got, want.map(f32::from), "{rot:?} {mirrored} ({i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn letterbox_agrees_with_the_map() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (rot, mirrored) in ORIENTATIONS {
            for _ in 0..12 {
                // Sides of equal parity: the padding is a whole number of pixels, and with one
                // tensor pixel per frame pixel every tap is exactly one frame pixel.
                let w = rng.gen_range(2..48usize);
                let h = 2 * rng.gen_range(1..24usize) + w % 2;
                let buf = coordinate_image(w, h);
                let frame = Frame::packed(PixelFormat::Rgb, &buf, w as u32, h as u32, 3 * w)
                    .unwrap()
                    .with_rotation(rot)
                    .with_mirrored(mirrored);
                let (uw, uh) = frame.upright_size();
                let n = uw.max(uh) as usize;
                let mut out = vec![0.0f32; n * n * 3];
                let lb = letterbox(&frame, n, &mut out);
                let to_buf = PixelMap::upright_to_buffer(&Orient::of(&frame));
                for j in 0..n {
                    for i in 0..n {
                        let (u, v) = (i as i64 + lb.x0 as i64, j as i64 + lb.y0 as i64);
                        let got = &out[(j * n + i) * 3..(j * n + i) * 3 + 3];
                        if u < 0 || v < 0 || u >= uw as i64 || v >= uh as i64 {
                            assert_eq!(got, [-1.0; 3], "padding at ({i}, {j})");
                            continue;
                        }
                        let want = expected_pixel(&buf, w, to_buf.map(u, v));
                        let got = got.iter().map(|&t| ((t + 1.0) * 255.0 / 2.0).round() as u8);
                        assert!(got.eq(want), "{rot:?} {mirrored} ({i}, {j}): want {want:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn raw_caller_boxes_agree_with_the_map() {
        use crate::image::crop::FaceBox;
        use crate::image::geometry::{BoxInput, BoxSpace, BoxUnits};
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let px = vec![0u8; 300 * 200];
        for (rot, mirrored) in ORIENTATIONS {
            let frame = Frame::packed(PixelFormat::Gray, &px, 300, 200, 300)
                .unwrap()
                .with_rotation(rot)
                .with_mirrored(mirrored);
            let o = Orient::of(&frame);
            for _ in 0..50 {
                let r = Rect::new(
                    rng.gen_range(0..250) as f64,
                    rng.gen_range(0..150) as f64,
                    rng.gen_range(16..50) as f64,
                    rng.gen_range(16..50) as f64,
                );
                let b = BoxInput {
                    rect: FaceBox::new(r.x as f32, r.y as f32, r.w as f32, r.h as f32),
                    space: BoxSpace::Raw,
                    units: BoxUnits::Pixels,
                };
                let got = b.to_upright_pixels(&frame).unwrap();
                let want = o.to_upright(r);
                let got = Rect::new(
                    got.x as f64,
                    got.y as f64,
                    got.width as f64,
                    got.height as f64,
                );
                assert_eq!(got, want, "{rot:?} {mirrored}");
            }
        }
    }
}
