//! The `trainer` command line: clap types and their translation into the library's typed
//! configs (`moae_trainer::runs`, `export`, …). Nothing here computes; every number is bounded
//! here (a clear usage error) and again by the library (a named error).

pub mod export;
pub mod tools;
pub mod train;

use clap::{Parser, Subcommand, ValueEnum};
use moae_trainer::data::augment::AugmentLevel;
use moae_trainer::model::config::Variant;
use moae_trainer::train::losses::CeForm;
use moae_trainer::train::optim::LrSchedule;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "MoAE-CR face anti-spoofing: model, training, export"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Build a checkpoint from Hugging Face CLIP weights (DIR/model.safetensors); the expert
    /// modules are new (MoAE starts as exactly the pretrained CLIP).
    ImportClip(tools::ImportClipArgs),
    /// Write a checkpoint with fresh random weights of a preset (training from scratch, tests,
    /// benchmarks of the full-size graph without downloading anything).
    Init(tools::InitArgs),
    /// Show a model's config, parameter counts per part and MACs per image.
    Info(tools::InfoArgs),
    /// Train (Adam, CE + DM + CDM), evaluating on dev and checkpointing `latest`/`best`.
    Train(train::TrainArgs),
    /// Train a student with a teacher (spec §9): CE + α·T²·KL over the live/attack logits, the
    /// teacher's from its own preprocessing (input size, normalisation) of each training image,
    /// computed once per image before training; the student's crop/flip/jitter are views of
    /// that image. Spoof-cued images (--spoof-cues) are new images: the teacher scores each
    /// per sample. Otherwise as `train` (dev-EER `best`, `--resume`).
    Distill(train::DistillArgs),
    /// Evaluate a checkpoint: dev EER threshold -> test APCER/BPCER/ACER/ACC, AUC, EER,
    /// per-type APCER; table, JSON report and ROC/DET curves.
    Eval(train::EvalArgs),
    /// Train and evaluate each protocol; a table shaped like the paper's Table 1.
    Protocol(train::ProtocolArgs),
    /// The six rows of the paper's Table 4 on the same data and budget.
    Ablate(train::AblateArgs),
    /// Time the model's eager forward (libtorch through tch) — the PyTorch-eager row of
    /// scripts/bench_compare.py.
    BenchTorch(tools::BenchTorchArgs),
    /// Write a small deterministic synthetic data set in UniAttackData layout (not real data).
    Synth(tools::SynthArgs),
    /// Spec §7 metrics from score files (`score label [type]` per line).
    Metrics(tools::MetricsArgs),
    /// Export a checkpoint to the ONNX file the SDK serves (and optionally a Triton entry).
    Export(export::ExportArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::ImportClip(a) => tools::import_clip(a),
        Command::Init(a) => tools::init(a),
        Command::Info(a) => tools::show_info(a),
        Command::Train(a) => train::train(a),
        Command::Distill(a) => train::distill(a),
        Command::Eval(a) => train::eval(a),
        Command::Protocol(a) => train::protocol(a),
        Command::Ablate(a) => train::ablate(a),
        Command::BenchTorch(a) => tools::bench_torch(a),
        Command::Synth(a) => tools::synth(a),
        Command::Metrics(a) => tools::metrics(a),
        Command::Export(a) => export::run(a),
    }
}

/// A whole number in `lo..=hi` (clap value parsers below are built from it).
fn whole<T: TryFrom<u64>>(s: &str, lo: u64, hi: u64) -> Result<T, String> {
    let v: u64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if !(lo..=hi).contains(&v) {
        return Err(format!("{v} is outside {lo}..={hi}"));
    }
    T::try_from(v).map_err(|_| format!("{v} is too large"))
}

/// A finite number in `[lo, hi]`.
fn real(s: &str, lo: f64, hi: f64) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a number in [{lo}, {hi}]")),
    }
}

pub(crate) fn steps(s: &str) -> Result<u64, String> {
    whole(s, 1, moae_trainer::train::MAX_STEPS)
}
pub(crate) fn eval_every(s: &str) -> Result<u64, String> {
    whole(s, 0, moae_trainer::train::MAX_STEPS)
}
pub(crate) fn batch(s: &str) -> Result<usize, String> {
    whole(s, 1, moae_trainer::train::MAX_BATCH as u64)
}
pub(crate) fn eval_batch(s: &str) -> Result<usize, String> {
    whole(s, 1, moae_trainer::runs::MAX_EVAL_BATCH as u64)
}
pub(crate) fn threads(s: &str) -> Result<usize, String> {
    whole(s, 1, moae_trainer::compute::MAX_THREADS as u64)
}
pub(crate) fn workers(s: &str) -> Result<usize, String> {
    whole(s, 1, moae_trainer::compute::MAX_WORKERS as u64)
}
/// Learning rates, weight decay and loss weights.
pub(crate) fn rate(s: &str) -> Result<f64, String> {
    real(s, 0.0, 10.0)
}
pub(crate) fn fraction(s: &str) -> Result<f64, String> {
    real(s, 0.0, 1.0)
}
/// A distillation temperature.
pub(crate) fn temperature(s: &str) -> Result<f64, String> {
    real(s, 0.05, 100.0)
}

/// Which expert module sits parallel to the MLP of the selected vision blocks (spec §2).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VariantArg {
    /// No expert module: plain CLIP.
    Clip,
    /// Soft MoE (vmoe SoftRouter) baseline.
    Softmoe,
    /// Mixture-of-Attack-Experts.
    Moae,
}

impl From<VariantArg> for Variant {
    fn from(v: VariantArg) -> Self {
        match v {
            VariantArg::Clip => Variant::Clip,
            VariantArg::Softmoe => Variant::SoftMoe,
            VariantArg::Moae => Variant::Moae,
        }
    }
}

/// Which form of the classification loss.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CeArg {
    /// Cross-entropy over the two class logits (zero-shot classifier form; default, spec §4).
    Classifier,
    /// The paper's symmetric image–text Eq. 1 over the batch's N pairs.
    Symmetric,
}

impl From<CeArg> for CeForm {
    fn from(c: CeArg) -> Self {
        match c {
            CeArg::Classifier => CeForm::Classifier,
            CeArg::Symmetric => CeForm::Symmetric,
        }
    }
}

/// How the learning rates change over a run.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScheduleArg {
    /// The configured rates throughout (the paper's fine-tuning).
    Constant,
    /// Linear warm-up over the first 5 % of the steps, then a cosine decay to 0.
    Cosine,
}

impl From<ScheduleArg> for LrSchedule {
    fn from(s: ScheduleArg) -> Self {
        match s {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Cosine => LrSchedule::Cosine,
        }
    }
}

/// Training augmentation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AugmentArg {
    /// Spec §5: crops of 50–100 % of the area, flip, ±10 % jitter.
    Spec,
    /// Crops of 85–100 %, flip, ±5 % jitter: little resampling.
    Light,
    /// Flip only.
    None,
}

impl From<AugmentArg> for AugmentLevel {
    fn from(a: AugmentArg) -> Self {
        match a {
            AugmentArg::Spec => AugmentLevel::Spec,
            AugmentArg::Light => AugmentLevel::Light,
            AugmentArg::None => AugmentLevel::None,
        }
    }
}
