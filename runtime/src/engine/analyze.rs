//! Frame in, decision out: detection (or the caller's boxes), quality, liveness, decision.
//!
//! SKELETON (session 5 integration base): the types are the contract; the `pipeline` branch
//! implements `Engine::analyze`.

use super::{Detection, Engine};
use crate::error::{Error, Result};
use crate::face::Keypoint;
use crate::frame::Frame;
use crate::geometry::BoxInput;
use crate::quality::{Quality, QualityFlags};
use crate::FaceBox;

/// The verdict on one face.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Live,
    Attack,
    /// A quality check failed: the liveness score is computed and returned, but not trusted.
    Unsure,
}

impl Decision {
    /// The stable code in C/Java/Swift: live 0, attack 1, unsure 2.
    pub fn code(self) -> i32 {
        match self {
            Decision::Live => 0,
            Decision::Attack => 1,
            Decision::Unsure => 2,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Decision::Live => "live",
            Decision::Attack => "attack",
            Decision::Unsure => "unsure",
        }
    }
}

/// Where a face's box came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaceSource {
    Detector,
    Caller,
    /// The engine's `whole_frame` option: the image is the face (pre-cropped data sets).
    WholeFrame,
}

/// Everything about one face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceResult {
    pub source: FaceSource,
    /// Upright, un-mirrored frame pixels.
    pub face_box: FaceBox,
    /// From the detector; `None` for caller boxes and whole frames.
    pub keypoints: Option<[Keypoint; crate::face::KEYPOINT_COUNT]>,
    /// The detector's confidence; `None` for caller boxes and whole frames.
    pub detector_score: Option<f32>,
    pub detection: Detection,
    pub quality: Quality,
    pub decision: Decision,
}

/// Everything about one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameAnalysis {
    pub faces: Vec<FaceResult>,
    /// Frame-level flags: NO_FACE, SEVERAL_FACES.
    pub flags: QualityFlags,
}

impl Engine {
    /// `boxes` empty: the face detector finds the faces (an engine without one fails, unless
    /// it has `whole_frame`); else the caller's boxes, in order.
    pub fn analyze(&self, _frame: &Frame<'_>, _boxes: &[BoxInput]) -> Result<FrameAnalysis> {
        Err(Error::InvalidArgument(
            "analyze is not built yet (skeleton)".into(),
        ))
    }
}
