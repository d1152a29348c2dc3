//! Results as flat `float[]`s for the Java side (one JNI array instead of many objects):
//! `ai.moae.DetectionResult.fromNative` and `ai.moae.FrameAnalysis.fromNative` read these
//! layouts; `tests/jvm_host.rs` checks both ends on real calls.

use moae_runtime::abi;
use moae_runtime::face::KEYPOINT_COUNT;
use moae_runtime::Detection;
use moae_runtime::{Decision, FaceResult, FaceSource, FrameAnalysis};

/// Floats in a detection result:
/// `[attack, live, isAttack, threshold, provider, latencyMs]`.
pub const RESULT_LEN: usize = 6;

/// Floats before the faces of an analysis: `[FACE_LEN, frameFlags, faceCount]`.
pub const ANALYSIS_HEADER: usize = 3;

/// Floats per face of an analysis:
/// `0 source, 1..5 box x y w h, 5 hasKeypoints, 6..18 keypoints (x, y) x 6,
/// 18 detectorScore (NaN = none), 19..25 detection (as RESULT_LEN), 25 decision,
/// 26 qualityFlags, 27..34 quality values (face_px, outside_fraction, brightness,
/// overexposed_fraction, sharpness, roll_deg, yaw_deg)`.
pub const FACE_LEN: usize = 34;

/// Java `FaceResult.Source` / C `moae_face_source`: detector 0, caller 1, whole frame 2
/// (`abi`'s codes).
pub fn source_code(s: FaceSource) -> i32 {
    abi::face_source_code(s)
}

/// Java `Decision` / C `moae_decision` (`abi`'s codes).
pub fn decision_code(d: Decision) -> i32 {
    abi::decision_code(d)
}

pub fn detection(d: &Detection) -> [f32; RESULT_LEN] {
    [
        d.attack_score,
        d.live_score,
        if d.is_attack { 1.0 } else { 0.0 },
        d.threshold,
        abi::provider_code(d.provider) as f32,
        d.latency.as_secs_f32() * 1000.0,
    ]
}

fn face(f: &FaceResult, out: &mut Vec<f32>) {
    let start = out.len();
    out.push(source_code(f.source) as f32);
    let b = f.face_box;
    out.extend([b.x, b.y, b.width, b.height]);
    out.push(if f.keypoints.is_some() { 1.0 } else { 0.0 });
    let kps = f.keypoints.unwrap_or_default();
    debug_assert_eq!(kps.len(), KEYPOINT_COUNT);
    for k in kps {
        out.extend([k.x, k.y]);
    }
    out.push(f.detector_score.unwrap_or(f32::NAN));
    out.extend(detection(&f.detection));
    out.push(decision_code(f.decision) as f32);
    // Flags are bits 0..=8: exact in an f32 (integers up to 2^24 are).
    out.push(f.quality.flags.0 as f32);
    let q = f.quality.values;
    out.extend([
        q.face_px,
        q.outside_fraction,
        q.brightness,
        q.overexposed_fraction,
        q.sharpness,
        q.roll_deg,
        q.yaw_deg,
    ]);
    debug_assert_eq!(out.len() - start, FACE_LEN);
}

pub fn analysis(a: &FrameAnalysis) -> Vec<f32> {
    let mut out = Vec::with_capacity(ANALYSIS_HEADER + FACE_LEN * a.faces.len());
    out.extend([FACE_LEN as f32, a.flags.0 as f32, a.faces.len() as f32]);
    for f in &a.faces {
        face(f, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use moae_runtime::face::Keypoint;
    use moae_runtime::{ExecutionProvider, FaceBox, Quality, QualityFlags, QualityValues};
    use std::time::Duration;

    #[test]
    fn analysis_layout() {
        let det = Detection {
            attack_score: 0.75,
            live_score: 0.25,
            is_attack: true,
            threshold: 0.5,
            provider: ExecutionProvider::Cpu,
            latency: Duration::from_millis(3),
        };
        let mut kps = [Keypoint::default(); KEYPOINT_COUNT];
        kps[5] = Keypoint { x: 11.0, y: 12.0 };
        let f = FaceResult {
            source: FaceSource::Detector,
            face_box: FaceBox {
                x: 1.0,
                y: 2.0,
                width: 30.0,
                height: 40.0,
            },
            keypoints: Some(kps),
            detector_score: Some(0.9),
            detection: det,
            quality: Quality {
                values: QualityValues {
                    yaw_deg: 7.0,
                    ..Default::default()
                },
                flags: QualityFlags::BLURRED | QualityFlags::SEVERAL_FACES,
            },
            decision: Decision::Unsure,
        };
        let a = FrameAnalysis {
            faces: vec![f, f],
            flags: QualityFlags::SEVERAL_FACES,
        };
        let v = analysis(&a);
        assert_eq!(v.len(), ANALYSIS_HEADER + 2 * FACE_LEN);
        assert_eq!(&v[..3], &[FACE_LEN as f32, 2.0, 2.0]);
        let face = &v[ANALYSIS_HEADER + FACE_LEN..];
        assert_eq!(face[0], 0.0);
        assert_eq!(&face[1..5], &[1.0, 2.0, 30.0, 40.0]);
        assert_eq!(face[5], 1.0);
        assert_eq!(&face[16..18], &[11.0, 12.0]);
        assert_eq!(face[18], 0.9);
        assert_eq!(face[19], 0.75);
        assert_eq!(face[21], 1.0);
        assert_eq!(face[25], 2.0);
        assert_eq!(face[26], (2 + 64) as f32);
        assert_eq!(face[33], 7.0);
        let empty = analysis(&FrameAnalysis {
            faces: vec![],
            flags: QualityFlags::NO_FACE,
        });
        assert_eq!(empty, vec![FACE_LEN as f32, 1.0, 0.0]);
    }
}
