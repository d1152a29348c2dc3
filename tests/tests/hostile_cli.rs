//! The hostile-input suite over the `moae` and `trainer` CLIs (tests/hostile/cli.sh): the
//! fixtures of tests/hostile/fixtures.rs plus tiny checkpoints (one valid, others with a
//! config edited outside the tensor checksum, cut off, or flipped), fp16/int8 exports and a
//! synthetic data set are generated here; the script runs every case; the run must have no
//! signal, no panic, no verdict from a non-finite number and every case as named.

#[path = "../hostile/fixtures.rs"]
mod fixtures;
#[path = "../hostile/verdict.rs"]
mod verdict;

use moae_trainer::model::checkpoint::{self, CheckpointMeta};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::MoaeClip;
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{nn, Device};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `moae` and `trainer` as the test command's build step left them (`built_artifact`).
fn binaries() -> (PathBuf, PathBuf) {
    (
        moae_tests::built_artifact("moae"),
        moae_tests::built_artifact("trainer"),
    )
}

/// A safetensors file with its `config` metadata edited by `edit` (the tensors and their
/// `content_sha256` unchanged): what defect 4 loaded silently.
fn with_config(src: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let n = u64::from_le_bytes(src[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&src[8..8 + n]).unwrap();
    let meta = header["__metadata__"].as_object_mut().unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(meta["config"].as_str().unwrap()).unwrap();
    edit(&mut cfg);
    meta.insert("config".into(), cfg.to_string().into());
    let mut h = serde_json::to_vec(&header).unwrap();
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&src[8 + n..]);
    out
}

fn checkpoints(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = MoaeClip::new(&vs.root(), &cfg);
    let good = dir.join("good.safetensors");
    checkpoint::save(&good, &cfg, &vs, &CheckpointMeta::default()).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let write = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).unwrap();
    write(
        "heads_halved.safetensors",
        &with_config(&bytes, |c| c["vision"]["heads"] = 1.into()),
    );
    write(
        "layer_norm_eps.safetensors",
        &with_config(&bytes, |c| c["layer_norm_eps"] = 0.01.into()),
    );
    write(
        "mean.safetensors",
        &with_config(&bytes, |c| c["vision"]["mean"][0] = 0.9.into()),
    );
    write(
        "layers_100000.safetensors",
        &with_config(&bytes, |c| c["vision"]["layers"] = 100_000.into()),
    );
    write("truncated.safetensors", &bytes[..bytes.len() / 2]);
    write("empty.safetensors", b"");
    write("garbage.safetensors", &[0x7Bu8; 1000]);
    let mut flipped = bytes.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x10;
    write("tensor_flipped.safetensors", &flipped);
    good
}

fn ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_hostile_cli_case_gets_its_named_error() {
    let (moae, trainer) = binaries();
    let tmp = tempfile::tempdir().unwrap();
    let fix = tmp.path().join("fixtures");
    fixtures::write_all(&fix);
    let good = checkpoints(&fix.join("ckpt"));
    // fp16 and int8 files of a real (tiny) exported model, for info/detect/score/bench-matrix.
    for (name, flags) in [
        ("fp16.onnx", &["--precision", "fp16"]),
        ("int8.onnx", &["--quantize", "int8"]),
    ] {
        ok(
            Command::new(&trainer)
                .arg("export")
                .arg("--onnx")
                .arg(fix.join(name))
                .arg(&good)
                .args(flags),
            name,
        );
    }
    ok(
        Command::new(&trainer)
            .args(["synth", "--count", "4", "--size", "32", "--out"])
            .arg(fix.join("synth")),
        "trainer synth",
    );
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let out = Command::new("bash")
        .arg(root().join("tests/hostile/cli.sh"))
        .args([&moae, &trainer, &fix, &work])
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    verdict::judge("cli.sh", &out, &root(), 150);
}
