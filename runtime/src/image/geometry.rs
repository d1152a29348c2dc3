//! Camera geometry, stated once: which coordinates a caller's face box is in, and its
//! conversion to the upright, un-mirrored frame pixels every result uses.
//!
//! The upright, un-mirrored frame is `rotate_cw(flip_lr_if_mirrored(buffer), rotation)`
//! (EXIF's order: (rotation, mirrored) = (0,F) 1, (0,T) 2, (180,F) 3, (180,T) 4, (270,T) 5,
//! (90,F) 6, (90,T) 7, (270,F) 8). Boxes, keypoints and results are always in it, in pixels.

use crate::error::{Error, Result};
use crate::image::crop::FaceBox;
use crate::image::frame::Frame;
use crate::image::orient::{Orient, Rect};

/// Smallest accepted caller's face box: **both** its width and its height, in upright pixels,
/// must be at least this. A smaller box is [`Error::InvalidFaceBox`], never scored: 16 px is
/// below any face a liveness model can judge, it catches a normalised 0..1 rect passed as
/// pixels, and a sliver (16 x 0.001) is refused here with this rule rather than failing later
/// inside the quality measures. (Quality's `min_face_px`, at least this, flags faces that are
/// valid but too small to trust.)
pub const MIN_FACE_SIZE_PX: f32 = 16.0;

/// Which image the box's coordinates refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum BoxSpace {
    /// The upright, un-mirrored frame (after the frame's mirroring and rotation).
    #[default]
    Upright,
    /// The buffer as passed (before mirroring and rotation), e.g. MediaPipe on iOS.
    Raw,
}

/// The box's units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum BoxUnits {
    #[default]
    Pixels,
    /// 0..1 of the width/height of the image named by the space (Vision-style, top-left
    /// origin).
    Normalized,
}

/// A caller's face box and how to read it.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct BoxInput {
    pub rect: FaceBox,
    pub space: BoxSpace,
    pub units: BoxUnits,
}

impl BoxSpace {
    pub fn name(self) -> &'static str {
        match self {
            BoxSpace::Upright => "upright",
            BoxSpace::Raw => "raw",
        }
    }
}

impl BoxUnits {
    pub fn name(self) -> &'static str {
        match self {
            BoxUnits::Pixels => "pixels",
            BoxUnits::Normalized => "normalized",
        }
    }
}

/// Checks a box in upright pixels: finite, positive sides, width and height each at least
/// [`MIN_FACE_SIZE_PX`]. `read_as` says how the caller's box was read (for the message).
pub(crate) fn check_upright_box(b: &FaceBox, read_as: &str) -> Result<()> {
    if !(b.width >= MIN_FACE_SIZE_PX && b.height >= MIN_FACE_SIZE_PX) {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?} ({read_as}) is {:.3}x{:.3} upright pixels: a face box's width and height \
             must each be at least {MIN_FACE_SIZE_PX} upright pixels (a smaller face cannot be \
             judged; if the box is normalised 0..1, say so with BoxUnits::Normalized)",
            b.width, b.height
        )));
    }
    if !(b.x + b.width).is_finite() || !(b.y + b.height).is_finite() {
        return Err(Error::InvalidFaceBox(format!(
            "{b:?} ({read_as}) overflows f32: pass a box in frame pixels"
        )));
    }
    Ok(())
}

impl BoxInput {
    /// A box in upright pixels (what [`FaceBox`] always meant).
    pub fn upright_pixels(rect: FaceBox) -> BoxInput {
        BoxInput {
            rect,
            space: BoxSpace::Upright,
            units: BoxUnits::Pixels,
        }
    }

    /// How the box is read, for messages: e.g. "raw buffer, normalized".
    pub fn describe(&self) -> String {
        let space = match self.space {
            BoxSpace::Upright => "upright (rotated, un-mirrored) frame",
            BoxSpace::Raw => "raw buffer (before mirroring and rotation)",
        };
        format!("read in the {space}, {}", self.units.name())
    }

    /// The box in upright, un-mirrored frame pixels.
    ///
    /// - `Normalized` boxes are scaled by the width and height of the image their space names
    ///   (the raw buffer's `width() x height()`, or the upright frame's
    ///   [`Frame::upright_size`]); values are not clamped (a box may stick out of the frame).
    /// - `Raw` boxes are mapped as the pixels are: upright = rotate_cw(flip_lr_if_mirrored(
    ///   buffer), rotation); a mirrored buffer's box `x` becomes `width - x - w` first.
    ///
    /// Errors ([`Error::InvalidFaceBox`], naming the space and units the box was read in):
    /// a non-finite value; a side that is not positive; a box whose width or height, in
    /// upright pixels, is below [`MIN_FACE_SIZE_PX`] (the rule: `min(width, height) >= 16`
    /// after conversion; a face smaller than that cannot be judged, and a 0..1 box passed as
    /// pixels is caught here). Whether the box overlaps the frame is checked when it is cropped.
    pub fn to_upright_pixels(&self, frame: &Frame<'_>) -> Result<FaceBox> {
        let r = self.rect;
        let read_as = self.describe();
        if [r.x, r.y, r.width, r.height].iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidFaceBox(format!(
                "{r:?} ({read_as}) has a non-finite value"
            )));
        }
        if r.width <= 0.0 || r.height <= 0.0 {
            return Err(Error::InvalidFaceBox(format!(
                "{r:?} ({read_as}): width and height must be positive"
            )));
        }
        let (iw, ih) = match self.space {
            BoxSpace::Upright => frame.upright_size(),
            BoxSpace::Raw => (frame.width(), frame.height()),
        };
        // f64 so that normalised boxes of large frames keep their precision.
        let (mut x, mut y, mut w, mut h) =
            (r.x as f64, r.y as f64, r.width as f64, r.height as f64);
        if self.units == BoxUnits::Normalized {
            let (fw, fh) = (iw as f64, ih as f64);
            (x, y, w, h) = (x * fw, y * fh, w * fw, h * fh);
        }
        if self.space == BoxSpace::Raw {
            Rect { x, y, w, h } = Orient::of(frame).to_upright(Rect::new(x, y, w, h));
        }
        let b = FaceBox::new(x as f32, y as f32, w as f32, h as f32);
        check_upright_box(&b, &read_as)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::frame::{PixelFormat, Rotation};

    fn boxes_of(frame: &Frame<'_>, up: FaceBox) -> Vec<BoxInput> {
        // The same face as the caller would see it in every space/unit.
        let (uw, uh) = frame.upright_size();
        let (bw, bh) = (frame.width() as f32, frame.height() as f32);
        // Upright -> raw: undo the rotation, then the mirror.
        let (x, y, w, h) = (up.x, up.y, up.width, up.height);
        let (mut rx, ry, rw, rh) = match frame.rotation() {
            Rotation::R0 => (x, y, w, h),
            Rotation::R90 => (y, bh - x - w, h, w),
            Rotation::R180 => (bw - x - w, bh - y - h, w, h),
            Rotation::R270 => (bw - y - h, x, h, w),
        };
        if frame.mirrored() {
            rx = bw - rx - rw;
        }
        let raw = FaceBox::new(rx, ry, rw, rh);
        let norm = |b: FaceBox, iw: f32, ih: f32| {
            FaceBox::new(b.x / iw, b.y / ih, b.width / iw, b.height / ih)
        };
        vec![
            BoxInput::upright_pixels(up),
            BoxInput {
                rect: norm(up, uw as f32, uh as f32),
                space: BoxSpace::Upright,
                units: BoxUnits::Normalized,
            },
            BoxInput {
                rect: raw,
                space: BoxSpace::Raw,
                units: BoxUnits::Pixels,
            },
            BoxInput {
                rect: norm(raw, bw, bh),
                space: BoxSpace::Raw,
                units: BoxUnits::Normalized,
            },
        ]
    }

    #[test]
    fn every_space_and_unit_gives_the_same_upright_box() {
        let px = vec![0u8; 64 * 48];
        let base = Frame::packed(PixelFormat::Gray, &px, 64, 48, 64).unwrap();
        for rot in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
            for m in [false, true] {
                let f = base.with_rotation(rot).with_mirrored(m);
                let up = FaceBox::new(5.0, 7.0, 20.0, 24.0);
                for b in boxes_of(&f, up) {
                    let got = b.to_upright_pixels(&f).unwrap();
                    for (g, w) in [
                        (got.x, up.x),
                        (got.y, up.y),
                        (got.width, up.width),
                        (got.height, up.height),
                    ] {
                        assert!((g - w).abs() < 1e-4, "{rot:?} {m} {b:?}: {got:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn raw_boxes_follow_the_pixels() {
        // A 4x2 buffer with R90: the raw pixel (0, 0) (top-left) is upright (1, 0) in the 2x4
        // upright frame; mirrored, raw (0, 0) is the scene's (3, 0) -> upright (1, 3).
        let px = vec![0u8; 8];
        let f = Frame::packed(PixelFormat::Gray, &px, 4, 2, 4).unwrap();
        let raw = |x, y| BoxInput {
            rect: FaceBox::new(x, y, 1.0, 1.0),
            space: BoxSpace::Raw,
            units: BoxUnits::Pixels,
        };
        // (bypass the minimum size: check the mapping itself)
        let map = |f: &Frame<'_>, b: BoxInput| match b.to_upright_pixels(f) {
            Err(Error::InvalidFaceBox(m)) => m,
            other => panic!("{other:?}"),
        };
        let m = map(&f.with_rotation(Rotation::R90), raw(0.0, 0.0));
        assert!(m.contains("x: 1.0, y: 0.0"), "{m}");
        let m = map(
            &f.with_rotation(Rotation::R90).with_mirrored(true),
            raw(0.0, 0.0),
        );
        assert!(m.contains("x: 1.0, y: 3.0"), "{m}");
    }

    #[test]
    fn bad_and_tiny_boxes_are_errors_that_name_the_space() {
        let px = vec![0u8; 640 * 480];
        let f = Frame::packed(PixelFormat::Gray, &px, 640, 480, 640).unwrap();
        let cases = [
            (
                FaceBox::new(f32::NAN, 0.0, 50.0, 50.0),
                BoxSpace::Raw,
                BoxUnits::Pixels,
                "non-finite",
            ),
            (
                FaceBox::new(0.0, 0.0, f32::INFINITY, 50.0),
                BoxSpace::Upright,
                BoxUnits::Pixels,
                "non-finite",
            ),
            (
                FaceBox::new(0.0, 0.0, 0.0, 50.0),
                BoxSpace::Upright,
                BoxUnits::Normalized,
                "positive",
            ),
            (
                FaceBox::new(0.0, 0.0, 50.0, -1.0),
                BoxSpace::Raw,
                BoxUnits::Normalized,
                "positive",
            ),
            // A Vision-style 0..1 rect passed as pixels.
            (
                FaceBox::new(0.3, 0.3, 0.2, 0.25),
                BoxSpace::Upright,
                BoxUnits::Pixels,
                "at least 16",
            ),
            (
                FaceBox::new(10.0, 10.0, 15.9, 15.9),
                BoxSpace::Raw,
                BoxUnits::Pixels,
                "at least 16",
            ),
            // 0.02 of 640 = 12.8 px.
            (
                FaceBox::new(0.5, 0.5, 0.02, 0.02),
                BoxSpace::Upright,
                BoxUnits::Normalized,
                "at least 16",
            ),
            // Both sides count: a 16 x 0.001 sliver and a 16 x 8 box are refused.
            (
                FaceBox::new(10.0, 10.0, 16.0, 0.001),
                BoxSpace::Upright,
                BoxUnits::Pixels,
                "width and height must each be at least 16",
            ),
            (
                FaceBox::new(10.0, 10.0, 16.0, 8.0),
                BoxSpace::Upright,
                BoxUnits::Pixels,
                "at least 16",
            ),
            // A tall 8 x 40 box, in raw pixels.
            (
                FaceBox::new(10.0, 10.0, 8.0, 40.0),
                BoxSpace::Raw,
                BoxUnits::Pixels,
                "at least 16",
            ),
        ];
        for (rect, space, units, want) in cases {
            let b = BoxInput { rect, space, units };
            match b.to_upright_pixels(&f) {
                Err(Error::InvalidFaceBox(m)) => {
                    assert!(m.contains(want), "{b:?}: {m}");
                    assert!(m.contains(space.name()) && m.contains(units.name()), "{m}");
                }
                other => panic!("{b:?}: {other:?}"),
            }
        }
        // 16 on both sides is enough; 0.025 of 640 = 16 px, 1/30 of 480 = 16 px.
        for b in [
            BoxInput::upright_pixels(FaceBox::new(10.0, 10.0, 16.0, 16.0)),
            BoxInput::upright_pixels(FaceBox::new(10.0, 10.0, 16.0, 300.0)),
            BoxInput {
                rect: FaceBox::new(0.5, 0.5, 0.025, 1.0 / 30.0),
                space: BoxSpace::Upright,
                units: BoxUnits::Normalized,
            },
        ] {
            assert!(b.to_upright_pixels(&f).is_ok(), "{b:?}");
        }
    }
}
