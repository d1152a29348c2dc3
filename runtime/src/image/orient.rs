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

#[cfg(test)]
mod tests;
