//! Shared helpers for the cross-crate tests.

use moae_trainer::export::{self, GraphOptions, WeightFormat};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::prompts::PromptSet;
use moae_trainer::model::student::{Student, StudentConfig};
use moae_trainer::model::MoaeClip;
use std::sync::Mutex;
use tch::{nn, Device, Kind, Tensor};

/// tch's RNG is global: tests running in parallel would interleave their draws, so seeded
/// construction holds this lock to stay reproducible.
static RNG: Mutex<()> = Mutex::new(());

/// A model with random weights: HF-style init, then every all-zero tensor (biases, LayerNorm
/// shifts, MoAE's W_o, Soft MoE's expert fc2) gets random values too, so that a missing or
/// misplaced bias or expert path shows up in a parity test instead of multiplying by zero.
pub fn random_model(preset: &str, variant: Variant, seed: i64) -> (nn::VarStore, MoaeClip) {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed);
    let cfg = ModelConfig::preset(preset, variant).expect("known preset");
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MoaeClip::new(&vs.root(), &cfg);
    tch::no_grad(|| {
        // Name order: HashMap order would make the draws differ from run to run.
        let mut vars: Vec<_> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, mut v) in vars {
            if v.numel() > 0 && v.abs().max().double_value(&[]) == 0.0 {
                let r = Tensor::randn(v.size(), (Kind::Float, Device::Cpu)) * 0.1;
                v.copy_(&r);
            }
        }
    });
    (vs, model)
}

/// The class embeddings of the default (byte-level) prompts.
pub fn default_class_embeddings(model: &MoaeClip) -> Tensor {
    let prompts = PromptSet::default_byte_level(model.cfg.text.context_length as usize);
    export::class_embeddings(model, &prompts)
}

/// tch's logits [N, 2] for CLIP-normalised pixels [N, 3, S, S].
pub fn tch_logits(model: &MoaeClip, class_emb: &Tensor, pixels: &Tensor) -> Tensor {
    tch::no_grad(|| model.classifier_logits(&model.encode_image(pixels, false), class_emb))
}

/// An ONNX file of `model`, as `trainer export` writes it (uncalibrated threshold).
pub fn export_model(
    model: &MoaeClip,
    vs: &nn::VarStore,
    class_emb: &Tensor,
    format: WeightFormat,
    embedding: bool,
) -> Vec<u8> {
    let meta = export::model_meta(&model.cfg, format, None, "test");
    let opts = GraphOptions { format, embedding };
    export::export_bytes(model, vs, class_emb, &opts, &meta).expect("export")
}

/// Random CLIP-normalised-looking pixels [n, 3, S, S].
pub fn random_pixels(n: i64, size: i64, seed: i64) -> Tensor {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed);
    Tensor::randn([n, 3, size, size], (Kind::Float, Device::Cpu))
}

/// Row-major f32 values of a tensor.
pub fn values(t: &Tensor) -> Vec<f32> {
    export::quantize::values(t)
}

/// The workspace's root folder.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `file` (a binary or library of another workspace package: `moae`, `trainer`, `libmoae.so`)
/// in the calling test's target/<profile>, as `cargo build --workspace --all-targets` (the
/// test command's build step) left it. A test cannot name another package's binary through
/// CARGO_BIN_EXE_*, and running cargo inside a test rebuilds with other features: instead a
/// missing file, or one older than the sources it is built from, fails with what to run.
pub fn built_artifact(file: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(file);
    let build = "run `cargo build --workspace --all-targets` first";
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {build}", path.display()));
    // Only the crates the artifact is built from: cargo relinks it when one of them changes,
    // and leaves it alone (older) when an unrelated crate does.
    let shared: &[&str] = &["runtime/src", "onnx/src"];
    let own: &[&str] = match file {
        "moae" => &["runtime/cli/src", "lists/src", "metrics/src"],
        "trainer" => &["trainer/src", "lists/src", "metrics/src"],
        f if f.starts_with("libmoae") => &["ffi/src"],
        _ => &[],
    };
    let sources: Vec<&str> = shared.iter().chain(own).copied().collect();
    let newest = sources
        .iter()
        .map(|s| newest_rs(&workspace_root().join(s)))
        .max()
        .unwrap();
    assert!(
        modified >= newest,
        "{} is older than its sources: {build}",
        path.display()
    );
    path
}

/// The latest modification time of the `.rs` files under `dir`.
fn newest_rs(dir: &std::path::Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let m = if path.is_dir() {
            newest_rs(&path)
        } else if path.extension().is_some_and(|e| e == "rs") {
            entry.metadata().and_then(|m| m.modified()).unwrap()
        } else {
            continue;
        };
        newest = newest.max(m);
    }
    newest
}

/// A student with random weights and realistic, non-trivial BatchNorm statistics: running
/// statistics from a few training-mode passes over random pixels, random affine parameters
/// and biases (fresh BatchNorm is 1/0 with statistics 0/1, which would let a wrong folding
/// pass a parity test).
pub fn random_student(preset: &str, seed: i64) -> (nn::VarStore, Student) {
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed);
    let cfg = StudentConfig::preset(preset).expect("known student preset");
    let vs = nn::VarStore::new(Device::Cpu);
    let student = Student::new(&vs.root(), &cfg);
    tch::no_grad(|| {
        let mut vars: Vec<_> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, mut v) in vars {
            let opts = (Kind::Float, Device::Cpu);
            let r = if name.ends_with("bn.weight") {
                Tensor::rand(v.size(), opts) + 0.5
            } else if name.ends_with(".bias") {
                Tensor::randn(v.size(), opts) * 0.1
            } else {
                continue;
            };
            v.copy_(&r);
        }
        for _ in 0..8 {
            let px = Tensor::randn(
                [4, 3, cfg.image_size, cfg.image_size],
                (Kind::Float, Device::Cpu),
            );
            let _ = student.forward_t(&px, true);
        }
    });
    (vs, student)
}

/// An ONNX file of `student`, as `trainer export` writes it (uncalibrated threshold): fp32,
/// or static int8 with `trainer export`'s defaults (percentile ranges from 32 random
/// calibration images, the front in float, ±63 weights).
pub fn export_student(student: &Student, vs: &nn::VarStore, int8: bool) -> Vec<u8> {
    use moae_trainer::export::student_graph::{
        calibrate, export_student_bytes, student_meta, Int8Plan, RangeEstimator, StudentPrecision,
        DEFAULT_FLOAT_FRONT, DEFAULT_PERCENTILE,
    };
    let precision = if int8 {
        let size = student.cfg.image_size;
        let calib: Vec<_> = (0..4).map(|i| random_pixels(8, size, 900 + i)).collect();
        let estimator = RangeEstimator::Percentile(DEFAULT_PERCENTILE);
        StudentPrecision::Int8(Int8Plan {
            ranges: calibrate(student, &calib, estimator).expect("calibration"),
            float_front: DEFAULT_FLOAT_FRONT,
            reduce_range: true,
            float_layers: Default::default(),
        })
    } else {
        StudentPrecision::Fp32
    };
    let meta = student_meta(&student.cfg, &precision, None, "test");
    export_student_bytes(student, vs, &precision, &meta).expect("student export")
}
