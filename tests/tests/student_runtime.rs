//! A student's attack-type output through the runtime (spec §9). Its own test binary: the
//! runtime loads ONNX Runtime itself, once per process, so it cannot share a process with
//! tests that create their own ORT environment.

use moae_onnx::meta::ATTACK_TYPES;
use moae_tests::*;
use moae_trainer::export::student_graph::{export_student_bytes, student_meta, StudentPrecision};
use tch::Kind;

/// The runtime reads the student's attack-type output: `Engine::run_tensor` reports the
/// probabilities tch computes (within 1e-4), a distribution, beside the binary score.
#[test]
fn the_engine_reports_the_students_attack_type_probabilities() {
    let (vs, student) = random_student("student-s", 14);
    let meta = student_meta(&student.cfg, &StudentPrecision::Fp32, None, "test");
    let bytes = export_student_bytes(&student, &vs, &StudentPrecision::Fp32, &meta).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("student-s.onnx");
    std::fs::write(&path, &bytes).unwrap();
    let opts = moae_runtime::EngineOptions {
        whole_frame: true,
        ..Default::default()
    };
    let engine = moae_runtime::Engine::from_path(&path, &opts).expect("engine");
    assert_eq!(engine.info().meta.attack_types, ATTACK_TYPES);
    let px = random_pixels(3, student.cfg.image_size, 500);
    let (logits, probs) = tch::no_grad(|| {
        let o = student.forward_t(&px, false);
        (o.logits, o.type_logits.unwrap().softmax(-1, Kind::Float))
    });
    let scores = engine.run_tensor(&values(&px), 3).unwrap();
    let want = values(&probs);
    let want_attack = values(&logits.softmax(-1, Kind::Float).select(1, 1));
    for (i, s) in scores.iter().enumerate() {
        let got = s.attack_type.expect("the student has an attack-type head");
        assert!((got.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{got:?}");
        let d = got
            .iter()
            .zip(&want[4 * i..4 * i + 4])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(d <= 1e-4, "input {i}: attack types differ by {d}");
        assert!((s.attack_score - want_attack[i]).abs() <= 1e-4);
    }
}
