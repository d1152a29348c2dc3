//! Camera geometry, stated once: which coordinates a caller's face box is in, and its
//! conversion to the upright, un-mirrored frame pixels every result uses.
//!
//! SKELETON (session 5 integration base): the `pipeline` branch implements the conversion and
//! the minimum face size.

use crate::crop::FaceBox;
use crate::error::{Error, Result};
use crate::frame::Frame;

/// Smallest accepted face box side (upright pixels); a smaller box is an error, never scored.
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

impl BoxInput {
    /// A box in upright pixels (what [`FaceBox`] always meant).
    pub fn upright_pixels(rect: FaceBox) -> BoxInput {
        BoxInput {
            rect,
            space: BoxSpace::Upright,
            units: BoxUnits::Pixels,
        }
    }

    /// The box in upright, un-mirrored frame pixels; errors for non-finite values and boxes
    /// smaller than [`MIN_FACE_SIZE_PX`].
    pub fn to_upright_pixels(&self, _frame: &Frame<'_>) -> Result<FaceBox> {
        Err(Error::InvalidFaceBox(
            "box conversion is not built yet (skeleton)".into(),
        ))
    }
}
