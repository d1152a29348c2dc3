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
