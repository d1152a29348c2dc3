//! Frame in, decision out: detection (or the caller's boxes), quality, liveness, decision.

use super::{Detection, Engine};
use crate::error::{Error, Result};
use crate::face::Keypoint;
use crate::image::crop::{FaceBox, Square};
use crate::image::frame::Frame;
use crate::image::geometry::BoxInput;
use crate::quality::{self, Quality, QualityFlags};
use std::time::Instant;

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

impl Decision {
    /// The rule: any quality flag -> `Unsure` (the score is still computed and returned);
    /// else `Attack` when `attack_score >= threshold`, `Live` below it.
    pub fn of(detection: &Detection, flags: QualityFlags) -> Decision {
        if !flags.is_empty() {
            Decision::Unsure
        } else if detection.attack_score >= detection.threshold {
            Decision::Attack
        } else {
            Decision::Live
        }
    }
}

impl FaceSource {
    /// The stable code in C/Java/Swift: detector 0, caller 1, whole frame 2.
    pub fn code(self) -> i32 {
        match self {
            FaceSource::Detector => 0,
            FaceSource::Caller => 1,
            FaceSource::WholeFrame => 2,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            FaceSource::Detector => "detector",
            FaceSource::Caller => "caller",
            FaceSource::WholeFrame => "whole_frame",
        }
    }
}

/// One face to judge, before liveness and quality.
struct Candidate {
    source: FaceSource,
    face_box: FaceBox,
    keypoints: Option<[Keypoint; crate::face::KEYPOINT_COUNT]>,
    detector_score: Option<f32>,
}

/// A face and its liveness crop, computed once and used for the scoring.
struct FacePlan {
    face: Candidate,
    crop: Square,
}

impl Engine {
    /// Frame in, decisions out.
    ///
    /// Faces: `boxes` non-empty -> the caller's boxes, in order (each read as its
    /// [`BoxInput`] says, converted to upright pixels; a bad or tiny box is
    /// [`Error::InvalidFaceBox`]); `boxes` empty -> the engine's face detector, best face
    /// first; without a detector, the `whole_frame` option (the centre square is the face, for
    /// pre-cropped images); with neither, [`Error::InvalidArgument`].
    ///
    /// A detector's face whose box misses the frame, or leaves no usable crop, is skipped (not
    /// scored, not an error for the other faces); a detector whose outputs are not finite in
    /// frame pixels is [`Error::Inference`].
    ///
    /// No face found (or every face skipped): `faces` empty and the frame flag NO_FACE (not an
    /// error, and no score). More than one face (from any source): SEVERAL_FACES on the frame
    /// and on every face, unless `QualityOptions::allow_several_faces`; the detector's faces
    /// are counted as found, before `DetectorOptions::max_faces` keeps the best ones and before
    /// skipped faces are dropped, so neither limit hides a second face.
    ///
    /// Face detection is serialised per engine (one detector session behind a mutex; see
    /// [`crate::face`]).
    ///
    /// Per face: the liveness crop is the box scaled by the engine's crop scale (exactly as
    /// for [`Engine::detect`]); all faces run through the model in chunks of
    /// [`BOX_CHUNK`](crate::BOX_CHUNK); quality is measured (see [`crate::quality`]); the
    /// decision follows [`Decision::of`]. Each face's `detection.latency` is the whole call's
    /// wall time (detection + quality + liveness).
    pub fn analyze(&self, frame: &Frame<'_>, boxes: &[BoxInput]) -> Result<FrameAnalysis> {
        let t0 = Instant::now();
        // Faces found, before the detector's max_faces and the skipped faces.
        let (plans, found) = self.plan_faces(frame, boxes)?;
        if plans.is_empty() {
            return Ok(FrameAnalysis {
                faces: Vec::new(),
                flags: QualityFlags::NO_FACE,
            });
        }
        let found = found.max(plans.len());
        let several = found > 1 && !self.quality.allow_several_faces;
        let frame_flags = if several {
            QualityFlags::SEVERAL_FACES
        } else {
            QualityFlags::NONE
        };
        // Caller boxes were checked (minimum size) above; a detector's face below the minimum
        // is still judged (and flagged TOO_SMALL by quality), never an error.
        let crops: Vec<(Frame<'_>, Square)> = plans.iter().map(|p| (*frame, p.crop)).collect();
        let detections = self.score_crops(&crops, t0)?;
        let mut faces = Vec::with_capacity(plans.len());
        for (FacePlan { face: c, .. }, d) in plans.iter().zip(detections) {
            let mut quality =
                quality::measure(frame, &c.face_box, c.keypoints.as_ref(), &self.quality)?;
            quality.flags |= frame_flags;
            faces.push(FaceResult {
                source: c.source,
                face_box: c.face_box,
                keypoints: c.keypoints,
                detector_score: c.detector_score,
                decision: Decision::of(&d, quality.flags),
                detection: d,
                quality,
            });
        }
        let latency = t0.elapsed();
        for f in &mut faces {
            f.detection.latency = latency;
        }
        Ok(FrameAnalysis {
            faces,
            flags: frame_flags,
        })
    }

    /// The faces to judge, each with its liveness crop, and how many faces were found (before
    /// the detector's max_faces and the skipped faces).
    fn plan_faces(&self, frame: &Frame<'_>, boxes: &[BoxInput]) -> Result<(Vec<FacePlan>, usize)> {
        if !boxes.is_empty() {
            let plans = self.plan_caller_boxes(frame, boxes)?;
            Ok((plans, 0))
        } else if let Some(det) = &self.detector {
            let (faces, found) = det.detect_counted(frame)?;
            let (uw, uh) = frame.upright_size();
            let plans = faces
                .into_iter()
                // A face whose liveness crop or quality square leaves no part of the frame
                // cannot be judged: skip it (it still counts as a face found).
                .filter_map(|f| {
                    let crop = self.liveness_crop(frame, Some(f.face_box)).ok()?;
                    quality::face_square(uw, uh, &f.face_box).ok()?;
                    let face = Candidate {
                        source: FaceSource::Detector,
                        face_box: f.face_box,
                        keypoints: Some(f.keypoints),
                        detector_score: Some(f.score),
                    };
                    Some(FacePlan { face, crop })
                })
                .collect();
            Ok((plans, found))
        } else if self.whole_frame {
            let sq = self.liveness_crop(frame, None)?;
            let face = Candidate {
                source: FaceSource::WholeFrame,
                face_box: FaceBox::new(sq.x as f32, sq.y as f32, sq.side as f32, sq.side as f32),
                keypoints: None,
                detector_score: None,
            };
            Ok((vec![FacePlan { face, crop: sq }], 0))
        } else {
            Err(Error::InvalidArgument(
                "analyze without face boxes needs a face detector: set \
                 EngineOptions::face_detector (the BlazeFace ONNX file), pass the face boxes, \
                 or set the whole_frame option for pre-cropped images"
                    .into(),
            ))
        }
    }

    /// The caller's boxes in upright pixels, each with its liveness crop. Every box is read
    /// before any crop is planned: a box that cannot be read is reported first, whatever its
    /// place in the list.
    fn plan_caller_boxes(&self, frame: &Frame<'_>, boxes: &[BoxInput]) -> Result<Vec<FacePlan>> {
        let faces: Vec<Candidate> = boxes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let face_box = b.to_upright_pixels(frame).map_err(|e| match e {
                    Error::InvalidFaceBox(m) => {
                        Error::InvalidFaceBox(format!("box {} of {}: {m}", i + 1, boxes.len()))
                    }
                    e => e,
                })?;
                Ok(Candidate {
                    source: FaceSource::Caller,
                    face_box,
                    keypoints: None,
                    detector_score: None,
                })
            })
            .collect::<Result<_>>()?;
        faces
            .into_iter()
            .map(|face| {
                let crop = self.liveness_crop(frame, Some(face.face_box))?;
                Ok(FacePlan { face, crop })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ort::provider::ExecutionProvider;
    use std::time::Duration;

    fn det(attack_score: f32) -> Detection {
        Detection {
            attack_score,
            live_score: 1.0 - attack_score,
            is_attack: attack_score >= 0.4,
            threshold: 0.4,
            provider: ExecutionProvider::Cpu,
            latency: Duration::ZERO,
            attack_type: None,
        }
    }

    #[test]
    fn the_decision_rule() {
        assert_eq!(Decision::of(&det(0.39), QualityFlags::NONE), Decision::Live);
        // At the threshold: attack (the same rule as Detection::is_attack).
        assert_eq!(
            Decision::of(&det(0.4), QualityFlags::NONE),
            Decision::Attack
        );
        assert_eq!(
            Decision::of(&det(0.9), QualityFlags::NONE),
            Decision::Attack
        );
        // Any quality flag: unsure, whatever the score.
        for (flag, _) in QualityFlags::ALL {
            assert_eq!(Decision::of(&det(0.9), flag), Decision::Unsure);
            assert_eq!(Decision::of(&det(0.1), flag), Decision::Unsure);
        }
        assert_eq!(
            [Decision::Live, Decision::Attack, Decision::Unsure].map(Decision::code),
            [0, 1, 2]
        );
    }
}
