//! Which square of the upright frame becomes the model input.
//!
//! - No face box: the centred square of side min(width, height) of the upright frame — what
//!   CLIP's "resize shortest side, centre crop" sees.
//! - A face box (upright coordinates): a square of side `max(w, h) * crop_scale` centred on
//!   the box centre (default crop_scale [`DEFAULT_CROP_SCALE`]: face plus some context, as
//!   FAS crops usually are). Where that square sticks out of the frame it is **clipped**: we
//!   intersect it with the frame and take, inside the intersection, the largest square, placed
//!   as close to the box centre as the intersection allows. The crop thus never samples
//!   outside the frame and never distorts the aspect ratio; near a frame edge it shrinks
//!   (less context) and its centre may move inward.
//! - A box that does not overlap the frame at all, or whose scaled square does not, is
//!   `Error::InvalidFaceBox`.

use crate::error::{Error, Result};
use crate::image::frame::Frame;
use crate::image::orient::{Orient, Rect};

/// Default enlargement of the face box around its centre.
pub const DEFAULT_CROP_SCALE: f32 = 1.5;

/// Largest accepted enlargement: beyond it the crop is the clipped frame whatever the box,
/// so a larger value is a caller bug (e.g. a pixel size passed as a scale), not a choice.
pub const MAX_CROP_SCALE: f32 = 10.0;

/// The one check of a crop scale (options and per-call overrides alike): finite, in
/// (0, [`MAX_CROP_SCALE`]].
pub(crate) fn check_crop_scale(crop_scale: f32) -> Result<()> {
    if !(crop_scale.is_finite() && crop_scale > 0.0) || crop_scale > MAX_CROP_SCALE {
        return Err(Error::InvalidArgument(format!(
            "crop_scale is {crop_scale}: use a number in (0, {MAX_CROP_SCALE}]"
        )));
    }
    Ok(())
}

/// A face box in UPRIGHT (rotated) frame coordinates, pixels.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl FaceBox {
    pub fn new(x: f32, y: f32, width: f32, height: f32) -> Self {
        FaceBox {
            x,
            y,
            width,
            height,
        }
    }
}

impl std::str::FromStr for FaceBox {
    type Err = Error;
    /// `x,y,w,h`
    fn from_str(s: &str) -> Result<Self> {
        let v: Vec<f32> = s
            .split(',')
            .map(|p| p.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::InvalidFaceBox(format!("`{s}` is not x,y,w,h: {e}")))?;
        match v[..] {
            [x, y, w, h] => Ok(FaceBox::new(x, y, w, h)),
            _ => Err(Error::InvalidFaceBox(format!(
                "`{s}` is not x,y,w,h (four comma-separated numbers)"
            ))),
        }
    }
}

/// A square in continuous pixel coordinates: covers `[x, x + side) × [y, y + side)` (public
/// as [`crate::CropSquare`], the square [`crate::resample_square_into`] takes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Square {
    pub x: f64,
    pub y: f64,
    pub side: f64,
}

/// The crop square in upright coordinates of a `uw` x `uh` upright frame.
pub(crate) fn upright_crop(
    uw: u32,
    uh: u32,
    face: Option<FaceBox>,
    crop_scale: f32,
) -> Result<Square> {
    let (w, h) = (uw as f64, uh as f64);
    let Some(b) = face else {
        let side = w.min(h);
        return Ok(Square {
            x: (w - side) / 2.0,
            y: (h - side) / 2.0,
            side,
        });
    };
    let vals = [b.x, b.y, b.width, b.height];
    if vals.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?} has a non-finite value"
        )));
    }
    if b.width <= 0.0 || b.height <= 0.0 {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?}: width and height must be positive"
        )));
    }
    // Callers do box math in f32: a box whose edges or scaled side overflow f32 (e.g.
    // FLT_MAX sides) has no meaningful crop, so it is rejected rather than clipped.
    let scaled = b.width.max(b.height) * crop_scale;
    if !((b.x + b.width).is_finite() && (b.y + b.height).is_finite() && scaled.is_finite()) {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?} scaled by {crop_scale} overflows f32: pass a box in frame pixels"
        )));
    }
    let (bx, by, bw, bh) = (b.x as f64, b.y as f64, b.width as f64, b.height as f64);
    if bx >= w || by >= h || bx + bw <= 0.0 || by + bh <= 0.0 {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?} lies wholly outside the upright {uw}x{uh} frame (boxes are in upright, \
             i.e. rotated, coordinates)"
        )));
    }
    let (cx, cy) = (bx + bw / 2.0, by + bh / 2.0);
    let side = bw.max(bh) * crop_scale as f64;
    let (x0, y0) = ((cx - side / 2.0).max(0.0), (cy - side / 2.0).max(0.0));
    let (x1, y1) = ((cx + side / 2.0).min(w), (cy + side / 2.0).min(h));
    let s = (x1 - x0).min(y1 - y0);
    if s <= 1e-3 {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?} scaled by {crop_scale} leaves no part of the {uw}x{uh} frame"
        )));
    }
    // Within the intersection, the square nearest to the box centre.
    let place = |c: f64, lo: f64, hi: f64| (c - s / 2.0).clamp(lo, hi - s);
    Ok(Square {
        x: place(cx, x0, x1),
        y: place(cy, y0, y1),
        side: s,
    })
}

/// Maps a square of the upright, un-mirrored frame to the stored buffer of `frame` (see
/// [`crate::image::orient`]; a square stays a square).
pub(crate) fn to_source(sq: Square, frame: &Frame<'_>) -> Square {
    Square::of_rect(Orient::of(frame).to_buffer(sq.rect()))
}

impl Square {
    pub(crate) fn rect(self) -> Rect {
        Rect::new(self.x, self.y, self.side, self.side)
    }

    /// The square `r` is (its width; rotation and mirroring keep a square square).
    pub(crate) fn of_rect(r: Rect) -> Square {
        debug_assert_eq!(r.w, r.h);
        Square {
            x: r.x,
            y: r.y,
            side: r.w,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_box_is_centre_square() {
        let s = upright_crop(1920, 1080, None, 1.5).unwrap();
        assert_eq!((s.x, s.y, s.side), (420.0, 0.0, 1080.0));
    }

    #[test]
    fn box_is_scaled_around_centre() {
        let s = upright_crop(1000, 1000, Some(FaceBox::new(400., 400., 100., 200.)), 1.5).unwrap();
        assert_eq!((s.x, s.y, s.side), (300.0, 350.0, 300.0));
    }

    #[test]
    fn box_at_edge_is_clipped_to_a_square_inside() {
        // square would be [-50,250) x [100,400): intersection [0,250) x [100,400) -> side 250,
        // placed nearest the centre y=250 -> [125,375)
        let s = upright_crop(1000, 1000, Some(FaceBox::new(0., 150., 200., 200.)), 1.5).unwrap();
        assert_eq!((s.x, s.y, s.side), (0.0, 125.0, 250.0));
        assert!(s.x >= 0.0 && s.y >= 0.0 && s.x + s.side <= 1000.0 && s.y + s.side <= 1000.0);
    }

    #[test]
    fn bad_boxes_are_errors() {
        for b in [
            FaceBox::new(1000., 0., 10., 10.),
            FaceBox::new(-20., 0., 10., 10.),
            FaceBox::new(0., 0., 0., 10.),
            FaceBox::new(f32::NAN, 0., 10., 10.),
        ] {
            assert!(matches!(
                upright_crop(1000, 500, Some(b), 1.5),
                Err(Error::InvalidFaceBox(_))
            ));
        }
    }

    #[test]
    fn source_mapping_round_trips_corners() {
        use crate::image::frame::Rotation;
        // A 1x1 square at upright (0,0) of a 4x3 source.
        let sq = Square {
            x: 0.0,
            y: 0.0,
            side: 1.0,
        };
        let unrotate = |rot| Square::of_rect(Orient::new(rot, false, 4, 3).to_buffer(sq.rect()));
        // R90: upright top-left is source bottom-left.
        let s = unrotate(Rotation::R90);
        assert_eq!((s.x, s.y), (0.0, 2.0));
        let s = unrotate(Rotation::R180);
        assert_eq!((s.x, s.y), (3.0, 2.0));
        let s = unrotate(Rotation::R270);
        assert_eq!((s.x, s.y), (3.0, 0.0));
    }
}
