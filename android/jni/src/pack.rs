//! Results as flat `float[]`s for the Java side (one JNI array instead of many objects):
//! `ai.moae.DetectionResult.fromNative` and `ai.moae.FrameAnalysis.fromNative` read these
//! layouts; `tests/jvm_host.rs` checks both ends on real calls.
//!
//! A face is flattened by [`abi::RawFace`], the same conversion that fills C's `moae_face`, so
//! every value (the fixed ones too: no detector score is -1, no keypoints are 0 with
//! `has_keypoints` 0) is the same in C, Swift and Java. `tests/abi_parity.rs` compares a
//! C `moae_face` with the JNI record on the same frame.

use moae_runtime::abi::{self, RawFace};
use moae_runtime::face::KEYPOINT_COUNT;
use moae_runtime::Detection;
use moae_runtime::{Decision, FaceResult, FaceSource, FrameAnalysis};

/// Floats in a detection result: `[attack, live, isAttack, threshold, provider, latencyMs,
/// hasAttackType (1 or 0), then the attack-type probabilities (live, physical, adversarial,
/// digital; all 0 without a head)]` (C `moae_result`'s fields, in its order).
pub const RESULT_LEN: usize = 11;

/// Floats before the faces of an analysis: `[LAYOUT, frameFlags, faceCount]`.
pub const ANALYSIS_HEADER: usize = 3;

/// The first float of an analysis: names this face layout, so Java classes from another build
/// fail with a clear message instead of misreading fields. (The previous layout wrote its
/// record length, 34, here; this one's id is not a plausible record length.)
pub const ANALYSIS_LAYOUT: f32 = 3.0;

/// Floats per face of an analysis: C `moae_face`'s fields in its order ([`RawFace`]), then what
/// Java's per-face `DetectionResult` has and `moae_face` does not:
/// `0..4 box x y w h, 4..16 keypoints (x, y) x 6, 16 hasKeypoints, 17 source,
/// 18 detectorScore (-1 = none, as C), 19 attack, 20 live, 21 threshold, 22 decision,
/// 23 qualityFlags, 24..31 quality values (face_px, outside_fraction, brightness,
/// overexposed_fraction, sharpness, roll_deg, yaw_deg), 31 latencyMs, 32 isAttack,
/// 33 provider, 34 hasAttackType (1 or 0), 35..39 attack-type probabilities (live, physical,
/// adversarial, digital; all 0 without a head)`.
pub const FACE_LEN: usize = 39;

/// Index of the detector score in a face record.
pub const FACE_DETECTOR_SCORE: usize = 18;

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
    let (has_type, [p0, p1, p2, p3]) = abi::raw_attack_type(d.attack_type);
    [
        d.attack_score,
        d.live_score,
        if d.is_attack { 1.0 } else { 0.0 },
        d.threshold,
        abi::provider_code(d.provider) as f32,
        d.latency.as_secs_f32() * 1000.0,
        has_type as f32,
        p0,
        p1,
        p2,
        p3,
    ]
}

/// One face record: [`RawFace`]'s fields in `moae_face`'s order, then isAttack and provider.
pub fn face(f: &FaceResult) -> [f32; FACE_LEN] {
    let r = RawFace::from(f);
    let mut out = [0f32; FACE_LEN];
    let mut at = 0;
    let mut put = |values: &[f32]| {
        out[at..at + values.len()].copy_from_slice(values);
        at += values.len();
    };
    put(&r.face_box);
    debug_assert_eq!(r.keypoints.len(), 2 * KEYPOINT_COUNT);
    put(&r.keypoints);
    // Codes and flags are small integers (flags are bits 0..=8): exact in an f32.
    put(&[
        r.has_keypoints as f32,
        r.source as f32,
        r.detector_score,
        r.attack_score,
        r.live_score,
        r.threshold,
        r.decision as f32,
        r.quality_flags as f32,
    ]);
    put(&r.quality);
    put(&[
        r.latency_ms,
        if f.detection.is_attack { 1.0 } else { 0.0 },
        abi::provider_code(f.detection.provider) as f32,
        r.has_attack_type as f32,
    ]);
    put(&r.attack_type_probs);
    debug_assert_eq!(at, FACE_LEN);
    out
}

pub fn analysis(a: &FrameAnalysis) -> Vec<f32> {
    let mut out = Vec::with_capacity(ANALYSIS_HEADER + FACE_LEN * a.faces.len());
    out.extend([ANALYSIS_LAYOUT, a.flags.bits() as f32, a.faces.len() as f32]);
    for f in &a.faces {
        out.extend(face(f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use moae_runtime::face::Keypoint;
    use moae_runtime::{ExecutionProvider, FaceBox, Quality, QualityFlags, QualityValues};
    use std::time::Duration;

    fn detector_face() -> FaceResult {
        let mut kps = [Keypoint::default(); KEYPOINT_COUNT];
        kps[5] = Keypoint { x: 11.0, y: 12.0 };
        FaceResult {
            source: FaceSource::Detector,
            face_box: FaceBox {
                x: 1.0,
                y: 2.0,
                width: 30.0,
                height: 40.0,
            },
            keypoints: Some(kps),
            detector_score: Some(0.9),
            detection: Detection {
                attack_score: 0.75,
                live_score: 0.25,
                is_attack: true,
                threshold: 0.5,
                provider: ExecutionProvider::Cuda,
                latency: Duration::from_millis(3),
                attack_type: None,
            },
            quality: Quality {
                values: QualityValues {
                    face_px: 40.0,
                    yaw_deg: 7.0,
                    ..Default::default()
                },
                flags: QualityFlags::BLURRED | QualityFlags::SEVERAL_FACES,
            },
            decision: Decision::Unsure,
        }
    }

    #[test]
    fn a_face_record_is_raw_face_in_moae_face_order_then_the_java_extras() {
        let f = detector_face();
        let v = face(&f);
        let r = RawFace::from(&f);
        assert_eq!(&v[..4], &r.face_box);
        assert_eq!(&v[4..16], &r.keypoints);
        assert_eq!(&v[14..16], &[11.0, 12.0]);
        assert_eq!(
            &v[16..24],
            &[1.0, 0.0, 0.9, 0.75, 0.25, 0.5, 2.0, (2 + 64) as f32]
        );
        assert_eq!(v[FACE_DETECTOR_SCORE], 0.9);
        assert_eq!(&v[24..31], &r.quality);
        assert_eq!((v[24], v[30]), (40.0, 7.0));
        assert!((v[31] - 3.0).abs() < 1e-4, "latency {}", v[31]);
        // isAttack, then the provider's code (cuda = 1); no attack-type head: flag 0, zeros.
        assert_eq!(&v[32..], &[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let mut typed = f;
        typed.detection.attack_type = Some([0.125, 0.5, 0.25, 0.125]);
        assert_eq!(&face(&typed)[34..], &[1.0, 0.125, 0.5, 0.25, 0.125]);
    }

    #[test]
    fn a_detection_record_ends_with_the_attack_type_flag_and_probabilities() {
        let mut d = detector_face().detection;
        let v = detection(&d);
        assert_eq!(&v[..5], &[0.75, 0.25, 1.0, 0.5, 1.0]);
        assert!((v[5] - 3.0).abs() < 1e-4, "latency {}", v[5]);
        assert_eq!(&v[6..], &[0.0; 5], "no head: flag 0, zeros");
        d.attack_type = Some([0.125, 0.5, 0.25, 0.125]);
        assert_eq!(&detection(&d)[6..], &[1.0, 0.125, 0.5, 0.25, 0.125]);
    }

    #[test]
    fn no_detector_score_is_c_s_minus_one_and_no_keypoints_are_zero() {
        let mut f = detector_face();
        f.source = FaceSource::Caller;
        f.detector_score = None;
        f.keypoints = None;
        f.detection.is_attack = false;
        let v = face(&f);
        assert_eq!(v[FACE_DETECTOR_SCORE], -1.0);
        assert_eq!(v[FACE_DETECTOR_SCORE], RawFace::from(&f).detector_score);
        assert_eq!(&v[4..17], &[0.0; 13], "keypoints and has_keypoints");
        assert_eq!(v[17], 1.0, "source caller");
        assert_eq!(v[32], 0.0, "isAttack");
    }

    #[test]
    fn analysis_layout() {
        let f = detector_face();
        let a = FrameAnalysis {
            faces: vec![f, f],
            flags: QualityFlags::SEVERAL_FACES,
        };
        let v = analysis(&a);
        assert_eq!(v.len(), ANALYSIS_HEADER + 2 * FACE_LEN);
        assert_eq!(&v[..3], &[ANALYSIS_LAYOUT, 2.0, 2.0]);
        assert_eq!(&v[ANALYSIS_HEADER + FACE_LEN..], &face(&f));
        let empty = analysis(&FrameAnalysis {
            faces: vec![],
            flags: QualityFlags::NO_FACE,
        });
        assert_eq!(empty, vec![ANALYSIS_LAYOUT, 1.0, 0.0]);
    }
}
