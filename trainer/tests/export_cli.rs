//! `trainer export` end to end through the binary: flags, outputs, and clear failures.

use moae_onnx::{model_meta, read_model};
use moae_trainer::model::checkpoint::{self, CheckpointMeta};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::MoaeClip;
use std::path::Path;
use std::process::Command;
use tch::{nn, Device};

fn tiny_checkpoint(dir: &Path) -> std::path::PathBuf {
    let cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = MoaeClip::new(&vs.root(), &cfg);
    let path = dir.join("tiny.safetensors");
    checkpoint::save(&path, &cfg, &vs, &CheckpointMeta::default()).unwrap();
    path
}

fn trainer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("running trainer")
}

#[test]
fn export_writes_onnx_and_triton_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tiny_checkpoint(tmp.path());
    let out = tmp.path().join("tiny-fp16.onnx");
    let repo = tmp.path().join("repo");
    let o = trainer(&[
        "export",
        "--onnx",
        out.to_str().unwrap(),
        ckpt.to_str().unwrap(),
        "--precision",
        "fp16",
        "--embedding",
        "--triton",
        repo.to_str().unwrap(),
        "--triton-name",
        "moae_tiny",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    // No prompts in this checkpoint: the export says which prompts define the classes.
    assert!(stderr.contains("default prompts"), "{stderr}");
    assert!(stdout.contains("not calibrated"), "{stdout}");
    let model = read_model(&std::fs::read(&out).unwrap()).unwrap();
    let meta = model_meta(&model).unwrap();
    assert_eq!(meta.precision, "fp16");
    let outputs: Vec<_> = model
        .graph
        .unwrap()
        .output
        .iter()
        .map(|o| o.name().to_string())
        .collect();
    assert_eq!(outputs, ["logits", "attack_score", "embedding"]);
    assert!(repo.join("moae_tiny/1/model.onnx").is_file());
    assert!(repo.join("moae_tiny/config.pbtxt").is_file());
}

#[test]
fn export_failures_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a checkpoint").unwrap();
    let out = tmp.path().join("m.onnx");
    let (out_s, junk_s) = (out.to_str().unwrap(), junk.to_str().unwrap());
    let cases: [(&[&str], &str); 3] = [
        (
            &["export", "--onnx", out_s, junk_s],
            "not a valid checkpoint",
        ),
        (
            &[
                "export",
                "--onnx",
                out_s,
                junk_s,
                "--precision",
                "fp16",
                "--quantize",
                "int8",
            ],
            "exclude each other",
        ),
        (
            &["export", "--onnx", out_s, "/nonexistent/x.safetensors"],
            "/nonexistent/x.safetensors",
        ),
    ];
    for (args, want) in cases {
        let o = trainer(args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert!(!out.exists());
}
