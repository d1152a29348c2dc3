//! The JNI face record, field by field: every index `ai.moae.FaceResult` and `FrameAnalysis`
//! read from the flat `float[]` holds, in a record written by `pack::face` (the one Rust
//! definition, `abi::RawFace` in `moae_face`'s order), the value of the field Java reads there.
//! A face whose every field has a distinct value makes a swapped or shifted index fail.

use moae_jni::pack;
use moae_runtime::abi;
use moae_runtime::face::{Keypoint, KEYPOINT_COUNT};
use moae_runtime::{
    Decision, Detection, ExecutionProvider, FaceBox, FaceResult, FaceSource, Quality, QualityFlags,
    QualityValues,
};
use std::path::Path;
use std::time::Duration;

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every number `N` of `prefix N suffix` in `text`, in order (`v[at]` is index 0).
fn indices(text: &str, prefix: &str) -> Vec<usize> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            let rest = &text[i + prefix.len()..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            digits.parse().unwrap_or(0)
        })
        .collect()
}

/// The one index in `text` of the Java expression that starts with `before`.
fn index_after(text: &str, before: &str) -> usize {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("FaceResult.java no longer has `{before}`"));
    let rest = &text[at + before.len()..];
    let rest = rest.trim_start_matches("v[at").trim_start_matches("at");
    if rest.starts_with(']') || rest.starts_with(',') {
        return 0;
    }
    let rest = rest.trim_start_matches(" + ");
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no index after `{before}`"))
}

fn distinct_face() -> FaceResult {
    let mut kps = [Keypoint::default(); KEYPOINT_COUNT];
    for (i, k) in kps.iter_mut().enumerate() {
        *k = Keypoint {
            x: 100.0 + 2.0 * i as f32,
            y: 101.0 + 2.0 * i as f32,
        };
    }
    FaceResult {
        source: FaceSource::Detector,
        face_box: FaceBox::new(1.0, 2.0, 30.0, 40.0),
        keypoints: Some(kps),
        detector_score: Some(0.875),
        detection: Detection {
            attack_score: 0.625,
            live_score: 0.375,
            is_attack: true,
            threshold: 0.5,
            provider: ExecutionProvider::Cuda,
            latency: Duration::from_millis(7),
            attack_type: Some([0.4375, 0.28125, 0.1875, 0.09375]),
        },
        quality: Quality {
            values: QualityValues {
                face_px: 40.5,
                outside_fraction: 0.125,
                brightness: 130.5,
                overexposed_fraction: 0.0625,
                sharpness: 210.5,
                roll_deg: 3.5,
                yaw_deg: -4.5,
            },
            flags: QualityFlags::BLURRED | QualityFlags::HEAD_YAW,
        },
        decision: Decision::Unsure,
    }
}

#[test]
fn java_reads_every_face_field_where_rust_writes_it() {
    let java = read("android/moae/src/main/java/ai/moae/FaceResult.java");
    let f = distinct_face();
    let rec = pack::face(&f);
    let at = |i: usize| rec[i];
    // The box: `new FaceBox(v[at], v[at + 1], v[at + 2], v[at + 3])`.
    let b = index_after(&java, "new FaceBox(");
    assert_eq!(
        [at(b), at(b + 1), at(b + 2), at(b + 3)],
        [1.0, 2.0, 30.0, 40.0]
    );
    let has = index_after(&java, "if (v[at + ");
    assert_eq!(at(has), 1.0, "hasKeypoints at {has}");
    let kp = index_after(&java, "System.arraycopy(v, ");
    assert_eq!(at(kp), 100.0, "keypoints start at {kp}");
    assert_eq!(at(kp + 11), 101.0 + 10.0, "keypoints end at {}", kp + 11);
    let source = index_after(&java, "Source.fromCode((int) ");
    assert_eq!(at(source), abi::face_source_code(f.source) as f32);
    let score = index_after(&java, "float score = ");
    assert_eq!(at(score), 0.875, "detectorScore at {score}");
    // DetectionResult's layout is pack::detection's: attack, live, isAttack, threshold,
    // provider, latencyMs, hasAttackType, the four attack-type probabilities.
    let det_start = java
        .find("DetectionResult.fromNative(new float[] {")
        .expect("FaceResult.java builds its DetectionResult from the record");
    let det_text = &java[det_start..det_start + java[det_start..].find("})").unwrap()];
    let det = indices(det_text, "v[at + ");
    let want = pack::detection(&f.detection);
    assert_eq!(det.len(), want.len(), "{det_text}");
    for (k, (&i, w)) in det.iter().zip(want).enumerate() {
        assert_eq!(at(i), w, "DetectionResult value {k} read at {i}");
    }
    let decision = index_after(&java, "Decision.fromCode((int) ");
    assert_eq!(at(decision), abi::decision_code(f.decision) as f32);
    let flags = index_after(&java, "QualityFlag.fromBits((int) ");
    assert_eq!(at(flags), f.quality.flags.bits() as f32);
    let q = index_after(&java, "new QualityValues(v, ");
    let v = f.quality.values;
    assert_eq!(
        &rec[q..q + 7],
        &[
            v.face_px,
            v.outside_fraction,
            v.brightness,
            v.overexposed_fraction,
            v.sharpness,
            v.roll_deg,
            v.yaw_deg
        ]
    );
}

/// `DetectionResult.java` reads a `pack::detection` record: its length, the scalar fields at
/// `r[0]`..`r[5]` in pack's order and `readAttackType(r, N)` at the flag.
#[test]
fn java_reads_every_detection_field_where_rust_writes_it() {
    let java = read("android/moae/src/main/java/ai/moae/DetectionResult.java");
    let d = distinct_face().detection;
    let rec = pack::detection(&d);
    let len = index_after(&java, "static final int LEN = ");
    assert_eq!(len, pack::RESULT_LEN);
    let ctor = &java[java.find("private DetectionResult(float[] r)").unwrap()..];
    let field = |name: &str| index_after(ctor, &format!("{name} = r["));
    let fields = [
        ("attackScore", 0.625),
        ("liveScore", 0.375),
        ("threshold", 0.5),
        ("latencyMs", rec[5]),
    ];
    for (name, want) in fields {
        assert_eq!(rec[field(name)], want, "{name}");
    }
    assert_eq!(rec[index_after(ctor, "isAttack = r[")], 1.0, "isAttack");
    let provider = index_after(ctor, "Provider.fromCode((int) r[");
    assert_eq!(rec[provider], abi::provider_code(d.provider) as f32);
    let t = index_after(ctor, "readAttackType(r, ");
    assert_eq!(rec[t], 1.0, "hasAttackType at {t}");
    assert_eq!(&rec[t + 1..t + 5], &[0.4375, 0.28125, 0.1875, 0.09375]);
}

#[test]
fn java_record_constants_are_the_rust_ones() {
    let java = read("android/moae/src/main/java/ai/moae/FrameAnalysis.java");
    let int_const = |name: &str| -> f32 {
        let at = java
            .find(&format!("static final int {name} = "))
            .unwrap_or_else(|| panic!("FrameAnalysis.java has no {name}"));
        let rest = &java[at..];
        let value = &rest[rest.find("= ").unwrap() + 2..rest.find(';').unwrap()];
        value.trim().parse().unwrap()
    };
    assert_eq!(int_const("FACE_LEN"), pack::FACE_LEN as f32);
    assert_eq!(int_const("LAYOUT"), pack::ANALYSIS_LAYOUT);
    assert_eq!(int_const("HEADER"), pack::ANALYSIS_HEADER as f32);
}
