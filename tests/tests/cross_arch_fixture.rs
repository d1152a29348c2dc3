//! The x86-64 half of the cross-architecture parity check: exports the small preset (random
//! weights, MoAE) and the `student-s` student (random weights, with its attack-type head) as
//! fp32 and int8 ONNX, writes test frames and what x86-64's runtime gives them (attack scores,
//! the student's attack-type probabilities) into `$MOAE_CROSS_ARCH_DIR`, for
//! `runtime/tests/cross_arch_parity.rs` to compare on aarch64 (scripts/test-aarch64.sh runs
//! both). Further ONNX files (the demo's trained models) join from `$MOAE_CROSS_ARCH_EXTRA`, a
//! `:`-separated list of paths.

#[path = "../../runtime/tests/cross_arch/mod.rs"]
mod cross_arch;

use cross_arch::*;
use moae_tests::*;
use moae_trainer::export::WeightFormat;
use moae_trainer::model::config::Variant;
use std::path::PathBuf;

/// How much the random student's output layers are scaled (see below).
const HEAD_SCALE: f64 = 30.0;

#[test]
#[ignore = "writes the fixture for the aarch64 run; scripts/test.sh runs it"]
fn write_the_cross_arch_fixture() {
    let dir = PathBuf::from(
        std::env::var_os(DIR_VAR)
            .unwrap_or_else(|| panic!("set {DIR_VAR} to the folder to write the fixture into")),
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (vs, model) = random_model("small", Variant::Moae, 16);
    let class_emb = default_class_embeddings(&model);
    let frames = make_frames();
    write_frames(&dir, &frames);
    let mut rows = Vec::new();
    for (name, format) in [
        ("small-fp32.onnx", WeightFormat::Fp32),
        ("small-int8.onnx", WeightFormat::Int8),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, export_model(&model, &vs, &class_emb, format, false)).unwrap();
        for (f, s) in frames.iter().zip(score(&path, &frames)) {
            rows.push((name.to_string(), f.name.clone(), s));
        }
    }
    let (vs, student) = random_student("student-s", 16);
    // With random weights the student's outputs hardly move between frames (a spread of
    // ~1e-3, below what the bound would need to say anything): its heads scaled up, as
    // training makes them, spread them.
    tch::no_grad(|| {
        for (name, mut v) in vs.variables() {
            if name == "classifier.weight" || name == "attack_type.weight" {
                let scaled = &v * HEAD_SCALE;
                v.copy_(&scaled);
            }
        }
    });
    for (name, int8) in [
        ("student-s-fp32.onnx", false),
        ("student-s-int8.onnx", true),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, export_student(&student, &vs, int8)).unwrap();
        for (f, s) in frames.iter().zip(score(&path, &frames)) {
            assert!(
                s.attack_type.is_some(),
                "{name}: the student's attack-type output"
            );
            rows.push((name.to_string(), f.name.clone(), s));
        }
    }
    let extra = std::env::var("MOAE_CROSS_ARCH_EXTRA").unwrap_or_default();
    for src in extra.split(':').filter(|p| !p.is_empty()) {
        let src = PathBuf::from(src);
        let name = format!(
            "{EXTRA_PREFIX}{}",
            src.file_name().unwrap().to_string_lossy()
        );
        let path = dir.join(&name);
        std::fs::copy(&src, &path).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        for (f, s) in frames.iter().zip(score(&path, &frames)) {
            rows.push((name.clone(), f.name.clone(), s));
        }
    }
    write_scores(&dir, &rows);
    // What the aarch64 side reads back is what was written.
    assert_eq!(read_scores(&dir), rows);
    assert_eq!(read_frames(&dir).len(), frames.len());
}
