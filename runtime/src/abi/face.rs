//! One analysed face as the flat numbers C (`moae_face`) and Java (`FaceResult`) carry, so both
//! bindings fill their structs from the same rules.

use super::codes::{decision_code, face_source_code};
use crate::face::KEYPOINT_COUNT;
use crate::pipeline::FaceResult;

/// The fields of C `moae_face`, in its order. Values that do not exist for a face's source are
/// fixed, not garbage: no keypoints -> `keypoints` all 0 and `has_keypoints` 0; no detector ->
/// `detector_score` -1 (a detector's score is in [0, 1]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawFace {
    /// x, y, width, height in upright, un-mirrored frame pixels.
    pub face_box: [f32; 4],
    /// x0, y0, x1, y1, ... in MediaPipe's order (right eye, left eye, nose tip, mouth centre,
    /// right ear tragion, left ear tragion), upright pixels.
    pub keypoints: [f32; 2 * KEYPOINT_COUNT],
    pub has_keypoints: i32,
    /// C `moae_face_source`.
    pub source: i32,
    pub detector_score: f32,
    pub attack_score: f32,
    pub live_score: f32,
    pub threshold: f32,
    /// C `moae_decision`.
    pub decision: i32,
    /// `QualityFlags` bits (C `MOAE_QUALITY_*`).
    pub quality_flags: u32,
    /// face_px, outside_fraction, brightness, overexposed_fraction, sharpness, roll_deg,
    /// yaw_deg (C `moae_quality`'s order).
    pub quality: [f32; 7],
    /// Wall time of the whole analyze call, milliseconds.
    pub latency_ms: f32,
    /// 1 when the model has an attack-type head, else 0 (then `attack_type_probs` is all 0).
    pub has_attack_type: i32,
    /// Live, physical, adversarial, digital (`moae_onnx::meta::ATTACK_TYPES`), summing to 1.
    pub attack_type_probs: [f32; 4],
}

impl From<&FaceResult> for RawFace {
    fn from(f: &FaceResult) -> RawFace {
        let b = f.face_box;
        let mut keypoints = [0.0f32; 2 * KEYPOINT_COUNT];
        if let Some(k) = &f.keypoints {
            for (i, p) in k.iter().enumerate() {
                keypoints[2 * i] = p.x;
                keypoints[2 * i + 1] = p.y;
            }
        }
        let v = f.quality.values;
        let (has_attack_type, attack_type_probs) = raw_attack_type(f.detection.attack_type);
        RawFace {
            face_box: [b.x, b.y, b.width, b.height],
            keypoints,
            has_keypoints: f.keypoints.is_some() as i32,
            source: face_source_code(f.source),
            detector_score: f.detector_score.unwrap_or(-1.0),
            attack_score: f.detection.attack_score,
            live_score: f.detection.live_score,
            threshold: f.detection.threshold,
            decision: decision_code(f.decision),
            quality_flags: f.quality.flags.bits(),
            quality: [
                v.face_px,
                v.outside_fraction,
                v.brightness,
                v.overexposed_fraction,
                v.sharpness,
                v.roll_deg,
                v.yaw_deg,
            ],
            latency_ms: f.detection.latency.as_secs_f32() * 1000.0,
            has_attack_type,
            attack_type_probs,
        }
    }
}

/// An attack-type answer as C and Java carry it: `(1, probabilities)` from a model with the
/// head, `(0, zeros)` without one (the flag says "not available"; the zeros are no answer).
pub fn raw_attack_type(t: Option<[f32; 4]>) -> (i32, [f32; 4]) {
    (t.is_some() as i32, t.unwrap_or([0.0; 4]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::Keypoint;
    use crate::ort::provider::ExecutionProvider;
    use crate::pipeline::{Decision, Detection, FaceSource};
    use crate::quality::{Quality, QualityFlags, QualityValues};
    use crate::FaceBox;
    use std::time::Duration;

    #[test]
    fn a_face_flattens_with_fixed_values_for_what_it_lacks() {
        let mut f = FaceResult {
            source: FaceSource::Caller,
            face_box: FaceBox::new(1.0, 2.0, 30.0, 40.0),
            keypoints: None,
            detector_score: None,
            detection: Detection {
                attack_score: 0.7,
                live_score: 0.3,
                is_attack: true,
                threshold: 0.5,
                provider: ExecutionProvider::Cpu,
                latency: Duration::from_micros(2500),
                attack_type: None,
            },
            quality: Quality {
                values: QualityValues {
                    face_px: 40.0,
                    sharpness: 99.0,
                    ..Default::default()
                },
                flags: QualityFlags::TOO_SMALL | QualityFlags::SEVERAL_FACES,
            },
            decision: Decision::Unsure,
        };
        let r = RawFace::from(&f);
        assert_eq!(r.face_box, [1.0, 2.0, 30.0, 40.0]);
        assert_eq!((r.has_keypoints, r.keypoints), (0, [0.0; 12]));
        assert_eq!((r.source, r.detector_score, r.decision), (1, -1.0, 2));
        assert_eq!(r.quality_flags, (1 << 2) | (1 << 1));
        assert_eq!((r.quality[0], r.quality[4]), (40.0, 99.0));
        assert!((r.latency_ms - 2.5).abs() < 1e-4);
        assert_eq!((r.has_attack_type, r.attack_type_probs), (0, [0.0; 4]));
        f.detection.attack_type = Some([0.1, 0.6, 0.2, 0.1]);
        let r = RawFace::from(&f);
        assert_eq!(
            (r.has_attack_type, r.attack_type_probs),
            (1, [0.1, 0.6, 0.2, 0.1])
        );
        f.detection.attack_type = None;
        f.source = FaceSource::Detector;
        f.detector_score = Some(0.9);
        f.keypoints = Some(std::array::from_fn(|i| Keypoint {
            x: i as f32,
            y: 10.0 + i as f32,
        }));
        let r = RawFace::from(&f);
        assert_eq!((r.source, r.detector_score, r.has_keypoints), (0, 0.9, 1));
        assert_eq!(&r.keypoints[..4], &[0.0, 10.0, 1.0, 11.0]);
    }
}
