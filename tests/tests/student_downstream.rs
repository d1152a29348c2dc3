//! A student served by what serves the teacher (spec §9): `moae bench-matrix` runs its fp32
//! and int8 files at its own input size and reports its attack-type output, and the Triton
//! entry declares `attack_type` exactly when the model has the head.

use moae_onnx::meta::OUTPUT_ATTACK_TYPE;
use moae_tests::*;
use moae_trainer::export::{self, ExportOptions, GraphOptions, Threshold};
use moae_trainer::model::checkpoint::{self, CheckpointMeta};
use moae_trainer::model::student::{Student, StudentConfig};
use std::path::Path;
use std::process::Command;
use tch::{nn, Device};

/// `moae bench-matrix` on `models` (CPU, 1 thread, few iterations); the JSON report.
fn bench_matrix(models: &[&Path], extra: &[&str], report: &Path) -> serde_json::Value {
    let out = Command::new(built_artifact("moae"))
        .arg("bench-matrix")
        .args(models)
        .args([
            "--ep", "cpu", "--batch", "1,3", "--iters", "3", "--warmup", "1",
        ])
        .args(["--threads", "1"])
        .args(extra)
        .arg("--json")
        .arg(report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table names what ran: the student's input size and its attack-type output.
    assert!(
        stdout.contains("in_px") && stdout.contains("types"),
        "{stdout}"
    );
    serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap()
}

#[test]
fn bench_matrix_runs_a_student_fp32_and_int8_with_its_attack_type_output() {
    let (vs, student) = random_student("student-s", 31);
    let dir = tempfile::tempdir().unwrap();
    let fp32 = dir.path().join("student-s.onnx");
    let int8 = dir.path().join("student-s-int8.onnx");
    std::fs::write(&fp32, export_student(&student, &vs, false)).unwrap();
    std::fs::write(&int8, export_student(&student, &vs, true)).unwrap();
    let size = student.cfg.image_size;
    assert_ne!(size, 224, "a student's own input size, not the teacher's");

    for (mode, extra) in [("inference", &[][..]), ("e2e_nv21_1080p", &["--e2e"][..])] {
        let v = bench_matrix(&[&fp32, &int8], extra, &dir.path().join("r.json"));
        assert_eq!(v["mode"], mode);
        assert!(v["errors"].as_array().unwrap().is_empty(), "{v:#}");
        let rows = v["results"].as_array().unwrap();
        assert_eq!(rows.len(), 2 * 2, "2 models x 2 batches: {v:#}");
        for r in rows {
            let int8_row = r["model"].as_str().unwrap().ends_with("int8.onnx");
            assert_eq!(
                r["precision"],
                if int8_row { "int8" } else { "fp32" },
                "{r:#}"
            );
            assert_eq!(r["preset"], "student-s", "{r:#}");
            assert_eq!(r["input_size"], size, "{r:#}");
            assert_eq!(r["attack_type"], true, "{r:#}");
            let p50 = r["p50_ms"].as_f64().unwrap();
            assert!(p50 > 0.0 && p50 <= r["p99_ms"].as_f64().unwrap(), "{r:#}");
        }
    }
}

/// A student-s checkpoint (random weights) with `attack_types` outputs in its head (0: none).
fn student_checkpoint(dir: &Path, attack_types: i64) -> std::path::PathBuf {
    let mut cfg = StudentConfig::preset("student-s").unwrap();
    cfg.attack_types = attack_types;
    let vs = nn::VarStore::new(Device::Cpu);
    let _student = Student::new(&vs.root(), &cfg);
    let path = dir.join(format!("student-{attack_types}.safetensors"));
    checkpoint::save_config_json(&path, &cfg.to_json(), &vs, &CheckpointMeta::default()).unwrap();
    path
}

/// The `output [ ... ]` list of a `config.pbtxt`.
fn output_list(pbtxt: &str) -> &str {
    let start = pbtxt.find("output [").expect("an output list");
    let end = start + pbtxt[start..].find("\n]").expect("its end");
    &pbtxt[start..end]
}

#[test]
fn triton_entry_declares_attack_type_exactly_when_the_student_has_the_head() {
    let dir = tempfile::tempdir().unwrap();
    for (attack_types, want) in [(4, true), (0, false)] {
        let ckpt = student_checkpoint(dir.path(), attack_types);
        let out = dir.path().join(format!("s{attack_types}.onnx"));
        let opts = ExportOptions {
            graph: GraphOptions::default(),
            threshold: Threshold::Default,
            triton: Some(dir.path().join("repo")),
            triton_name: None,
            calibration: None,
        };
        let r = export::export_checkpoint(&ckpt, &out, &opts).unwrap();
        let model = moae_onnx::read_model(&std::fs::read(&out).unwrap()).unwrap();
        let has_output = model
            .graph
            .unwrap()
            .output
            .iter()
            .any(|o| o.name.as_deref() == Some(OUTPUT_ATTACK_TYPE));
        assert_eq!(has_output, want, "the ONNX file's outputs");
        let pbtxt = std::fs::read_to_string(r.triton_dir.unwrap().join("config.pbtxt")).unwrap();
        let outputs = output_list(&pbtxt);
        assert!(outputs.contains("name: \"attack_score\""), "{pbtxt}");
        assert_eq!(
            outputs.contains("name: \"attack_type\""),
            want,
            "head {attack_types}: {pbtxt}"
        );
        if want {
            let at = outputs.find("name: \"attack_type\"").unwrap();
            let entry = &outputs[at..at + outputs[at..].find('}').unwrap()];
            assert!(entry.contains("dims: [ 4 ]"), "{entry}");
        }
        assert!(pbtxt.contains("dims: [ 3, 112, 112 ]"), "{pbtxt}");
    }
}
