//! `trainer train`, `eval`, `protocol`, `ablate`: flags → `moae_trainer::runs` configs.

use super::{AugmentArg, CeArg, ScheduleArg, VariantArg};
use anyhow::Result;
use moae_trainer::data::spoof_cues::Cue;
use moae_trainer::eval::metrics;
use moae_trainer::export::student_graph;
use moae_trainer::runs::{self, DataSource, DistillRun, Hyper, Init, ModelChoice};
use moae_trainer::train::distill::{DEFAULT_ALPHA, DEFAULT_TEMPERATURE};
use moae_trainer::train::qat::QatRun;
use std::path::PathBuf;

/// Which lists to read: a UniAttackData root + protocol, or explicit list files.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Data set root (list paths are relative to it).
    #[arg(long)]
    pub root: PathBuf,
    /// UniAttackData protocol: p1, p2.1, p2.2 (lists `UniAttackData@<p>_image_<split>.txt`).
    #[arg(long, required_unless_present_any = ["train_list", "test_list"])]
    pub protocol: Option<String>,
    /// A list file (`path label [type]` per line) instead of the protocol's train list.
    #[arg(long)]
    pub train_list: Option<PathBuf>,
    #[arg(long)]
    pub dev_list: Option<PathBuf>,
    #[arg(long)]
    pub test_list: Option<PathBuf>,
    /// Image-decoding threads.
    #[arg(long, default_value_t = 2, value_parser = super::workers)]
    pub workers: usize,
    /// Skip unreadable images (they are counted and reported) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
}

impl From<DataArgs> for DataSource {
    fn from(a: DataArgs) -> Self {
        DataSource {
            root: a.root,
            protocol: a.protocol,
            train_list: a.train_list,
            dev_list: a.dev_list,
            test_list: a.test_list,
            workers: a.workers,
            skip_bad: a.skip_bad,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Start from this checkpoint (e.g. from `trainer import-clip`).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Or start from random weights of this preset: tiny, small, vit-b16 (CLIP), student-s, student-m (spec §9).
    #[arg(
        long,
        visible_alias = "arch",
        conflicts_with = "init",
        default_value = "small"
    )]
    pub preset: String,
    /// Expert variant [default: moae; with --init: the checkpoint's]. With --init and another
    /// variant, the checkpoint's CLIP weights are kept and the expert modules start fresh.
    #[arg(long, value_enum)]
    pub variant: Option<VariantArg>,
}

fn init_of(init: Option<PathBuf>, preset: String) -> Init {
    match init {
        Some(path) => Init::Checkpoint(path),
        None => Init::Scratch { preset },
    }
}

impl From<ModelArgs> for ModelChoice {
    fn from(a: ModelArgs) -> Self {
        ModelChoice {
            init: init_of(a.init, a.preset),
            variant: a.variant.map(Into::into),
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct HyperArgs {
    #[arg(long, default_value_t = 300, value_parser = super::steps)]
    pub steps: u64,
    #[arg(long, default_value_t = 32, value_parser = super::batch)]
    pub batch_size: usize,
    /// Learning rate of the pretrained weights [default: 1e-6 with --init (spec §5), 5e-4 for
    /// a model trained from random weights].
    #[arg(long, value_parser = super::rate)]
    pub lr: Option<f64>,
    /// Learning rate of the new expert modules [default: 1e-4 with --init, else as --lr].
    #[arg(long, value_parser = super::rate)]
    pub lr_new: Option<f64>,
    /// Learning rate of the text tower [default: as --lr with --init; 0 (frozen) for a model
    /// trained from random weights: its two class embeddings are then a fixed random basis
    /// that the image tower learns to align with — trained, the text tower would collapse them
    /// onto one before the image tower learns anything (see `optim::AdamConfig`), and frozen it
    /// costs no backward pass and no optimiser state].
    #[arg(long, value_parser = super::rate)]
    pub lr_text: Option<f64>,
    #[arg(long, default_value_t = 5e-4, value_parser = super::rate)]
    pub weight_decay: f64,
    /// Evaluate on dev (and checkpoint) every N steps.
    #[arg(long, default_value_t = 50, value_parser = super::eval_every)]
    pub eval_every: u64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 1.0, value_parser = super::rate)]
    pub lambda_dm: f64,
    #[arg(long, default_value_t = 1.0, value_parser = super::rate)]
    pub lambda_cdm: f64,
    /// Training augmentation: `spec` (§5: random resized crop 50–100 %, flip, jitter), `light`
    /// (crops of 85–100 %, little resampling), `none` (flip only).
    #[arg(long, value_enum, default_value = "spec")]
    pub augment: AugmentArg,
    /// Spoof-cue augmentation (spec §9): the probability that a live training image becomes a
    /// synthetic physical attack (label 1) with one of --cues [default: 0, off: the paper's
    /// recipe; MTFace, which the idea is from, used 0.1].
    #[arg(long, default_value_t = 0.0, value_parser = super::fraction)]
    pub spoof_cues: f64,
    /// The cues a spoof-cued image draws from, comma-separated [default: all five].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub cues: Vec<CueArg>,
    /// Learning-rate schedule [default: constant with --init (the paper's fine-tuning); cosine
    /// with a 5 % warm-up for a model trained from random weights]. With cosine, a resumed run
    /// that was given more --steps decays over the new total.
    #[arg(long, value_enum)]
    pub lr_schedule: Option<ScheduleArg>,
    /// Ramp λ_dm and λ_cdm linearly from 0 over this fraction of --steps [default: 0 with
    /// --init; 0.5 for a model trained from random weights, whose features have no class
    /// structure for DM/CDM to sharpen yet: at full weight from step 0 training stalls at chance].
    #[arg(long, value_parser = super::fraction)]
    pub reg_warmup: Option<f64>,
    #[arg(long, value_enum, default_value = "classifier")]
    pub ce: CeArg,
    /// Run on the CPU even when CUDA is available.
    #[arg(long)]
    pub cpu: bool,
    /// No mixed precision on CUDA.
    #[arg(long)]
    pub no_amp: bool,
    /// libtorch CPU threads [default: the cores left after the image-decoding workers, at
    /// least 1]. libtorch's OpenMP threads spin while they wait; oversubscribed cores made
    /// training ~10× slower on a loaded 2-core machine.
    #[arg(long, value_parser = super::threads)]
    pub threads: Option<usize>,
}

impl From<HyperArgs> for Hyper {
    fn from(a: HyperArgs) -> Self {
        Hyper {
            steps: a.steps,
            batch_size: a.batch_size,
            lr: a.lr,
            lr_new: a.lr_new,
            lr_text: a.lr_text,
            weight_decay: a.weight_decay,
            eval_every: a.eval_every,
            seed: a.seed,
            lambda_dm: a.lambda_dm,
            lambda_cdm: a.lambda_cdm,
            augment: a.augment.into(),
            spoof_cues: a.spoof_cues as f32,
            cues: if a.cues.is_empty() {
                Cue::ALL.to_vec()
            } else {
                a.cues.into_iter().map(Into::into).collect()
            },
            lr_schedule: a.lr_schedule.map(Into::into),
            reg_warmup: a.reg_warmup,
            ce: a.ce.into(),
            cpu: a.cpu,
            no_amp: a.no_amp,
            threads: a.threads,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Output directory (checkpoints `latest`/`best`, `train.jsonl`).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the interrupted run in --out exactly where it stopped.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub qat: QatArgs,
}

/// Quantisation-aware fine-tuning (a student's int8 export, docs/int8.md).
#[derive(clap::Args, Debug, Clone)]
pub struct QatArgs {
    /// Fine-tune the student checkpoint --init as `trainer export --quantize int8` with the
    /// same --calib, --calib-percentile, --float-front and --full-range-weights will compute
    /// it: fake-quantised weights and activations, straight-through gradients, BatchNorm
    /// frozen at its running statistics. The ranges are calibrated again after every
    /// checkpoint. Export the result with the same options.
    #[arg(long, requires_all = ["init", "calib"])]
    pub qat: bool,
    /// The calibration images (a list, `path label [type]`, relative to --root).
    #[arg(long, requires = "qat")]
    pub calib: Option<PathBuf>,
    /// As `trainer export --calib-percentile`.
    #[arg(long, default_value_t = student_graph::DEFAULT_PERCENTILE, requires = "qat")]
    pub calib_percentile: f64,
    /// As `trainer export --float-front`.
    #[arg(long, default_value_t = student_graph::DEFAULT_FLOAT_FRONT, requires = "qat")]
    pub float_front: usize,
    /// As `trainer export --full-range-weights`.
    #[arg(long, requires = "qat")]
    pub full_range_weights: bool,
    /// As `trainer export --float-sensitive`: the layers are chosen again at every
    /// calibration, from the current weights.
    #[arg(long, default_value_t = 0, requires = "qat")]
    pub float_sensitive: usize,
    /// β: adds β·mean((m_int8 − m_fp32)²), m the attack-minus-live logit margin of the
    /// fake-quantised and the float pass of the same weights, so that the int8 export decides
    /// as the fp32 one. 0 is plain QAT, which makes the int8 model accurate but not equal to
    /// the fp32 model (docs/int8.md measures both). Costs a second forward pass per step.
    #[arg(long, default_value_t = 1.0, value_parser = super::rate, requires = "qat")]
    pub qat_agreement: f64,
}

impl QatArgs {
    fn run(&self) -> Option<QatRun> {
        let calib = self.calib.clone().filter(|_| self.qat)?;
        Some(QatRun {
            calib,
            calib_percentile: self.calib_percentile,
            float_front: self.float_front,
            reduce_range: !self.full_range_weights,
            float_sensitive: self.float_sensitive,
            agreement: self.qat_agreement,
        })
    }
}

/// A spoof cue (spec §9).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CueArg {
    /// A display's pixel grid beating against the camera's.
    Moire,
    /// A printer's dot screen and the print's colour gamut.
    Halftone,
    /// Display gamma, white point, black level and flicker bands.
    Screen,
    /// The face blended with a shifted, rescaled, recoloured copy of itself.
    SelfFusion,
    /// Low-quality JPEG recompression.
    Jpeg,
}

impl From<CueArg> for Cue {
    fn from(c: CueArg) -> Self {
        match c {
            CueArg::Moire => Cue::Moire,
            CueArg::Halftone => Cue::Halftone,
            CueArg::Screen => Cue::Screen,
            CueArg::SelfFusion => Cue::SelfFusion,
            CueArg::Jpeg => Cue::Jpeg,
        }
    }
}

/// The teacher of `trainer distill`.
#[derive(clap::Args, Debug, Clone)]
pub struct TeacherArgs {
    /// The teacher checkpoint (e.g. <run>/best.safetensors of `trainer train`): its logits on
    /// each training image, through its own input size and normalisation, are the soft target.
    #[arg(long)]
    pub teacher: PathBuf,
    /// α, the weight of the distillation term: L = CE + α·T²·KL(teacher ‖ student).
    #[arg(long, default_value_t = DEFAULT_ALPHA, value_parser = super::rate)]
    pub alpha: f64,
    /// T, the softmax temperature of the distillation term.
    #[arg(long, default_value_t = DEFAULT_TEMPERATURE, value_parser = super::temperature)]
    pub temperature: f64,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DistillArgs {
    #[command(flatten)]
    pub teacher: TeacherArgs,
    #[command(flatten)]
    pub train: TrainArgs,
}

pub fn train(a: TrainArgs) -> Result<()> {
    run_train(a, None)
}

pub fn distill(a: DistillArgs) -> Result<()> {
    let t = a.teacher;
    run_train(
        a.train,
        Some(DistillRun {
            teacher: t.teacher,
            alpha: t.alpha,
            temperature: t.temperature,
        }),
    )
}

fn run_train(a: TrainArgs, distill: Option<DistillRun>) -> Result<()> {
    let qat = a.qat.run();
    let s = runs::run_train(&runs::TrainRun {
        data: a.data.into(),
        model: a.model.into(),
        hyper: a.hyper.into(),
        out: a.out,
        resume: a.resume,
        progress: !a.quiet,
        distill,
        qat,
    })?;
    println!(
        "trained {} steps; final loss {}; best dev {} (step {}); checkpoints {} and {}",
        s.steps,
        s.final_loss.map_or("n/a".into(), |l| format!("{l:.4}")),
        s.best_dev.as_ref().map_or("n/a".into(), |d| d.one_line()),
        s.best_step.map_or("n/a".into(), |x| x.to_string()),
        s.latest.display(),
        s.best.display()
    );
    Ok(())
}

#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// The checkpoint to evaluate.
    pub ckpt: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Where the report (report.json, report.html, scores, roc.png, det.png) goes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 64, value_parser = super::eval_batch)]
    pub batch_size: usize,
    #[arg(long)]
    pub cpu: bool,
    /// libtorch CPU threads [default: as `train`].
    #[arg(long, value_parser = super::threads)]
    pub threads: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn eval(a: EvalArgs) -> Result<()> {
    let r = runs::run_eval(&runs::EvalRun {
        ckpt: a.ckpt,
        data: a.data.into(),
        out: a.out.clone(),
        batch_size: a.batch_size,
        cpu: a.cpu,
        threads: a.threads,
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{}", metrics::format_report(&r.literature));
        print!("{}", moae_metrics::iso::format_figures(&r.iso));
        if let Some(m) = &r.attack_type_confusion {
            print!("{}", m.format());
        }
        if let Some(out) = &a.out {
            println!(
                "report (report.json, report.html), scores and ROC/DET curves in {}",
                out.display()
            );
        }
    }
    Ok(())
}

/// What `protocol` and `ablate` share: the data root and where the runs go.
#[derive(clap::Args, Debug, Clone)]
pub struct TableArgs {
    #[arg(long)]
    pub root: PathBuf,
    /// Runs go to OUT/<protocol or row>/, the table to OUT.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2, value_parser = super::workers)]
    pub workers: usize,
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ProtocolArgs {
    /// Comma-separated protocols.
    #[arg(long, default_value = "p1,p2.1,p2.2", value_delimiter = ',')]
    pub protocols: Vec<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub hyper: HyperArgs,
    #[command(flatten)]
    pub table: TableArgs,
}

pub fn protocol(a: ProtocolArgs) -> Result<()> {
    let t = a.table;
    let table = runs::run_protocol(&runs::ProtocolRun {
        root: t.root,
        protocols: a.protocols,
        model: a.model.into(),
        hyper: a.hyper.into(),
        out: t.out,
        workers: t.workers,
        progress: !t.quiet,
    })?;
    print!("{table}");
    Ok(())
}

#[derive(clap::Args, Debug, Clone)]
pub struct AblateArgs {
    #[arg(long, default_value = "p1")]
    pub protocol: String,
    /// Start every row from this checkpoint's CLIP weights (expert modules are fresh).
    #[arg(long, conflicts_with = "preset")]
    pub init: Option<PathBuf>,
    #[arg(long, default_value = "small")]
    pub preset: String,
    #[command(flatten)]
    pub hyper: HyperArgs,
    #[command(flatten)]
    pub table: TableArgs,
}

pub fn ablate(a: AblateArgs) -> Result<()> {
    let t = a.table;
    let table = runs::run_ablate(&runs::AblationRun {
        root: t.root,
        protocol: a.protocol,
        init: init_of(a.init, a.preset),
        hyper: a.hyper.into(),
        out: t.out,
        workers: t.workers,
        progress: !t.quiet,
    })?;
    print!("{table}");
    Ok(())
}
