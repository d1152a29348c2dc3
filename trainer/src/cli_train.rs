//! The `train`, `eval`, `protocol` and `ablate` subcommands (issue: training and evaluation).

use crate::checkpoint::{self, CheckpointMeta};
use crate::config::{ModelConfig, Variant};
use crate::data::augment::AugmentLevel;
use crate::data::lists::{self, Sample, Split};
use crate::evaluate::score_batches;
use crate::losses::{CeForm, LossConfig};
use crate::metrics::{self, Report, Scored};
use crate::model::MoaeClip;
use crate::optim::{AdamConfig, LrSchedule};
use crate::prompts::PromptSet;
use crate::train::{self, eval_batches, RunOptions, TrainConfig, TrainData, TrainSummary};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{nn, Device};

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
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Skip unreadable images (they are counted and reported) instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
}

impl DataArgs {
    /// The samples of `split`: the explicit list if given, else the protocol's; `None` when
    /// neither names one (e.g. no dev list).
    pub fn split(&self, split: Split) -> Result<Option<Vec<Sample>>> {
        if !self.root.is_dir() {
            bail!(
                "data root {} does not exist or is not a directory (give --root DIR)",
                self.root.display()
            );
        }
        let explicit = match split {
            Split::Train => &self.train_list,
            Split::Dev => &self.dev_list,
            Split::Test => &self.test_list,
        };
        if let Some(list) = explicit {
            return Ok(Some(lists::read_list(&self.root, list)?));
        }
        match &self.protocol {
            Some(p) => match lists::find_list(&self.root, p, split) {
                Ok(_) => Ok(Some(lists::read_protocol(&self.root, p, split)?)),
                Err(e) if split == Split::Dev => {
                    eprintln!("note: no dev list ({e}); thresholds come from the test set");
                    Ok(None)
                }
                Err(e) => Err(e.into()),
            },
            None => Ok(None),
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// Start from this checkpoint (e.g. from `trainer import-clip`).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Or start from random weights of this preset (tiny, small, vit-b16).
    #[arg(long, conflicts_with = "init", default_value = "small")]
    pub preset: String,
    /// Expert variant [default: moae; with --init: the checkpoint's]. With --init and another
    /// variant, the checkpoint's CLIP weights are kept and the expert modules start fresh.
    #[arg(long, value_enum)]
    pub variant: Option<Variant>,
}

#[derive(clap::Args, Debug, Clone)]
pub struct HyperArgs {
    #[arg(long, default_value_t = 300)]
    pub steps: u64,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate of the pretrained weights [default: 1e-6 with --init (spec §5), 5e-4 for
    /// a model trained from random weights].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning rate of the new expert modules [default: 1e-4 with --init, else as --lr].
    #[arg(long)]
    pub lr_new: Option<f64>,
    /// Learning rate of the text tower [default: as --lr with --init; 0 (frozen) for a model
    /// trained from random weights: its two class embeddings are then a fixed random basis
    /// that the image tower learns to align with — trained, the text tower would collapse them
    /// onto one before the image tower learns anything (see `optim::AdamConfig`), and frozen it
    /// costs no backward pass and no optimiser state].
    #[arg(long)]
    pub lr_text: Option<f64>,
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f64,
    /// Evaluate on dev (and checkpoint) every N steps.
    #[arg(long, default_value_t = 50)]
    pub eval_every: u64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 1.0)]
    pub lambda_dm: f64,
    #[arg(long, default_value_t = 1.0)]
    pub lambda_cdm: f64,
    /// Training augmentation: `spec` (§5: random resized crop 50–100 %, flip, jitter), `light`
    /// (crops of 85–100 %, little resampling), `none` (flip only).
    #[arg(long, value_enum, default_value = "spec")]
    pub augment: AugmentLevel,
    /// Learning-rate schedule [default: constant with --init (the paper's fine-tuning); cosine
    /// with a 5 % warm-up for a model trained from random weights]. With cosine, a resumed run
    /// that was given more --steps decays over the new total.
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrSchedule>,
    /// Ramp λ_dm and λ_cdm linearly from 0 over this fraction of --steps [default: 0 with
    /// --init; 0.5 for a model trained from random weights, whose features have no class
    /// structure for DM/CDM to sharpen yet: at full weight from step 0 training stalls at chance].
    #[arg(long, value_parser = fraction)]
    pub reg_warmup: Option<f64>,
    #[arg(long, value_enum, default_value = "classifier")]
    pub ce: CeForm,
    /// Run on the CPU even when CUDA is available.
    #[arg(long)]
    pub cpu: bool,
    /// No mixed precision on CUDA.
    #[arg(long)]
    pub no_amp: bool,
    /// libtorch CPU threads [default: the cores left after the image-decoding workers, at
    /// least 1]. libtorch's OpenMP threads spin while they wait; oversubscribed cores made
    /// training ~10× slower on a loaded 2-core machine.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A number in [0, 1] (clap value parser).
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}` is not a fraction between 0 and 1")),
    }
}

/// libtorch CPU threads: `threads`, else the cores left after `workers` decoding threads (at
/// least 1) — libtorch's OpenMP threads spin while they wait and collapse when oversubscribed.
pub fn set_torch_threads(threads: Option<usize>, workers: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = threads.unwrap_or(cores.saturating_sub(workers)).max(1);
    tch::set_num_threads(n as i32);
}

impl HyperArgs {
    /// Sets libtorch's CPU thread count for this process (see `--threads`).
    pub fn apply_threads(&self, workers: usize) {
        set_torch_threads(self.threads, workers);
    }

    pub fn device(&self) -> Device {
        if self.cpu {
            Device::Cpu
        } else {
            Device::cuda_if_available()
        }
    }

    pub fn train_config(&self, pretrained: bool) -> TrainConfig {
        let lr = self.lr.unwrap_or(if pretrained { 1e-6 } else { 5e-4 });
        let lr_new = self.lr_new.unwrap_or(if pretrained { 1e-4 } else { lr });
        let lr_text = self.lr_text.or(if pretrained { None } else { Some(0.0) });
        TrainConfig {
            steps: self.steps,
            batch_size: self.batch_size,
            eval_every: self.eval_every,
            seed: self.seed,
            adam: AdamConfig {
                lr,
                lr_new,
                lr_text,
                weight_decay: self.weight_decay,
                ..AdamConfig::default()
            },
            augment: self.augment,
            schedule: self.lr_schedule.unwrap_or(if pretrained {
                LrSchedule::Constant
            } else {
                LrSchedule::Cosine
            }),
            loss: LossConfig {
                ce_form: self.ce,
                lambda_dm: self.lambda_dm,
                lambda_cdm: self.lambda_cdm,
                reg_warmup: self
                    .reg_warmup
                    .unwrap_or(if pretrained { 0.0 } else { 0.5 }),
                ..LossConfig::default()
            },
            amp: !self.no_amp,
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
}

/// A model to train: from a checkpoint, or fresh from a preset (seeded).
pub fn initial_model(
    m: &ModelArgs,
    device: Device,
    seed: u64,
) -> Result<(nn::VarStore, MoaeClip, CheckpointMeta, bool)> {
    match &m.init {
        Some(path) => {
            let l = checkpoint::load(path, device)
                .with_context(|| format!("loading the initial checkpoint {}", path.display()))?;
            let l = match m.variant {
                Some(v) if v != l.config.experts.variant => with_variant(path, l, v, seed)?,
                _ => l,
            };
            let mut meta = l.meta;
            meta.step = None;
            meta.extra.clear();
            if meta.prompts.is_none() {
                meta.prompts = Some(PromptSet::default_byte_level(
                    l.config.text.context_length as usize,
                ));
            }
            Ok((l.vs, l.model, meta, true))
        }
        None => {
            let cfg = ModelConfig::preset(&m.preset, m.variant.unwrap_or(Variant::Moae))?;
            tch::manual_seed(seed as i64);
            let vs = nn::VarStore::new(device);
            let model = MoaeClip::new(&vs.root(), &cfg);
            let meta = CheckpointMeta {
                prompts: Some(PromptSet::default_byte_level(
                    cfg.text.context_length as usize,
                )),
                ..Default::default()
            };
            Ok((vs, model, meta, false))
        }
    }
}

/// The checkpoint's CLIP weights under another expert variant: every non-expert tensor is
/// copied, the expert modules (if any) are fresh, seeded (the ablation rows start alike).
fn with_variant(
    path: &Path,
    l: checkpoint::Loaded,
    variant: Variant,
    seed: u64,
) -> Result<checkpoint::Loaded> {
    let mut config = l.config.clone();
    config.experts.variant = variant;
    tch::manual_seed(seed as i64);
    let vs = nn::VarStore::new(l.vs.device());
    let model = MoaeClip::new(&vs.root(), &config);
    let clip: Vec<(String, tch::Tensor)> =
        l.vs.variables()
            .into_iter()
            .filter(|(n, _)| !crate::experts::is_expert_param(n))
            .collect();
    checkpoint::copy_into(path, &vs, &clip, crate::experts::is_expert_param)?;
    Ok(checkpoint::Loaded {
        config,
        vs,
        model,
        meta: l.meta,
    })
}

pub fn run_train(a: &TrainArgs) -> Result<TrainSummary> {
    a.hyper.apply_threads(a.data.workers);
    let device = a.hyper.device();
    let (mut vs, model, meta, pretrained) = initial_model(&a.model, device, a.hyper.seed)?;
    let cfg = a.hyper.train_config(pretrained);
    let data = TrainData {
        train: a
            .data
            .split(Split::Train)?
            .context("no training list: give --protocol or --train-list")?,
        dev: a.data.split(Split::Dev)?,
        workers: a.data.workers,
        skip_bad: a.data.skip_bad,
    };
    eprintln!(
        "training {} / {} on {:?}: {} train images, {} dev images, {} steps of {}",
        model.cfg.preset,
        model.cfg.experts.variant.name(),
        device,
        data.train.len(),
        data.dev.as_ref().map_or(0, Vec::len),
        cfg.steps,
        cfg.batch_size
    );
    let run = RunOptions {
        out_dir: a.out.clone(),
        device,
        resume: a.resume,
        progress: !a.quiet,
        stop_after: None,
    };
    let s = train::train(&mut vs, &model, &meta, &cfg, &data, &run)?;
    if s.skipped_images > 0 {
        eprintln!(
            "skipped {} unreadable training images (--skip-bad)",
            s.skipped_images
        );
    }
    Ok(s)
}

#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// The checkpoint to evaluate.
    pub ckpt: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Where the report (report.json, scores, roc.png, det.png) goes.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    #[arg(long)]
    pub cpu: bool,
    /// libtorch CPU threads [default: as `train`].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Scores of one split with a loaded model.
pub fn score_split(
    l: &checkpoint::Loaded,
    samples: &[Sample],
    batch_size: usize,
    data: &DataArgs,
    device: Device,
) -> Result<Vec<Scored>> {
    let prompts =
        l.meta.prompts.clone().unwrap_or_else(|| {
            PromptSet::default_byte_level(l.config.text.context_length as usize)
        });
    let size = l.config.vision.image_size;
    let batches = eval_batches(
        samples,
        size as u32,
        batch_size,
        data.workers,
        data.skip_bad,
    )?;
    score_batches(&l.model, &prompts.ids_tensor(device), batches, size, device)
}

pub fn write_scores(path: &Path, scored: &[Scored]) -> Result<()> {
    let mut s = String::new();
    for x in scored {
        s.push_str(&format!(
            "{:.8} {} {}\n",
            x.score,
            u8::from(x.attack),
            x.attack_type
        ));
    }
    std::fs::write(path, s).with_context(|| format!("writing {}", path.display()))
}

/// Dev threshold → test metrics, plus files in `out` when given.
pub fn run_eval(a: &EvalArgs) -> Result<Report> {
    set_torch_threads(a.threads, a.data.workers);
    let device = if a.cpu {
        Device::Cpu
    } else {
        Device::cuda_if_available()
    };
    let l = checkpoint::load(&a.ckpt, device)
        .with_context(|| format!("loading {}", a.ckpt.display()))?;
    let test = a
        .data
        .split(Split::Test)?
        .context("no test list: give --protocol or --test-list")?;
    let dev = a.data.split(Split::Dev)?;
    let dev_scores = dev
        .as_ref()
        .map(|d| score_split(&l, d, a.batch_size, &a.data, device))
        .transpose()?;
    let test_scores = score_split(&l, &test, a.batch_size, &a.data, device)?;
    let report = metrics::evaluate(dev_scores.as_deref(), &test_scores)?;
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        if let Some(d) = &dev_scores {
            write_scores(&out.join("scores-dev.txt"), d)?;
        }
        write_scores(&out.join("scores-test.txt"), &test_scores)?;
        std::fs::write(
            out.join("report.json"),
            serde_json::to_string_pretty(&report)?,
        )
        .context("writing report.json")?;
        crate::plot::write_roc(&out.join("roc.png"), &test_scores, 640, 480)?;
        crate::plot::write_det(&out.join("det.png"), &test_scores, 640, 480)?;
    }
    Ok(report)
}

/// One row of the paper's Table 1 / Table 4 shape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub acer: Option<f64>,
    pub acc: Option<f64>,
    pub auc: Option<f64>,
    pub eer: Option<f64>,
}

impl Row {
    pub fn of(name: &str, r: &Report) -> Self {
        Row {
            name: name.to_string(),
            acer: r.test.acer,
            acc: r.test.acc,
            auc: r.auc,
            eer: r.eer,
        }
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:.2}", 100.0 * v))
}

/// A table in percent; rows whose name contains "±" are pre-formatted.
pub fn format_rows(title: &str, rows: &[Row], extra: &[(String, [String; 4])]) -> String {
    let mut s = format!(
        "{title}\n{:<24} {:>14} {:>14} {:>14} {:>14}\n",
        "", "ACER(%)", "ACC(%)", "AUC(%)", "EER(%)"
    );
    for r in rows {
        s.push_str(&format!(
            "{:<24} {:>14} {:>14} {:>14} {:>14}\n",
            r.name,
            pct(r.acer),
            pct(r.acc),
            pct(r.auc),
            pct(r.eer)
        ));
    }
    for (name, cells) in extra {
        s.push_str(&format!(
            "{:<24} {:>14} {:>14} {:>14} {:>14}\n",
            name, cells[0], cells[1], cells[2], cells[3]
        ));
    }
    s
}

/// mean ± population std (spec §7) of one metric over rows, in percent.
pub fn mean_std_cell(rows: &[&Row], f: impl Fn(&Row) -> Option<f64>) -> String {
    let v: Vec<f64> = rows.iter().filter_map(|r| f(r)).collect();
    if v.len() != rows.len() {
        return "n/a".into();
    }
    match metrics::mean_std(&v) {
        Some((m, s)) => format!("{:.2}±{:.2}", 100.0 * m, 100.0 * s),
        None => "n/a".into(),
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ProtocolArgs {
    #[arg(long)]
    pub root: PathBuf,
    /// Comma-separated protocols.
    #[arg(long, default_value = "p1,p2.1,p2.2", value_delimiter = ',')]
    pub protocols: Vec<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Runs go to OUT/<protocol>/.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    #[arg(long)]
    pub quiet: bool,
}

fn train_and_eval(
    root: &Path,
    protocol: &str,
    model: &ModelArgs,
    hyper: &HyperArgs,
    out: &Path,
    workers: usize,
    quiet: bool,
) -> Result<Report> {
    let data = DataArgs {
        root: root.to_path_buf(),
        protocol: Some(protocol.to_string()),
        train_list: None,
        dev_list: None,
        test_list: None,
        workers,
        skip_bad: false,
    };
    let t = TrainArgs {
        data: data.clone(),
        model: model.clone(),
        hyper: hyper.clone(),
        out: out.to_path_buf(),
        resume: false,
        quiet,
    };
    let s = run_train(&t)?;
    run_eval(&EvalArgs {
        ckpt: s.best,
        data,
        out: Some(out.join("eval")),
        batch_size: 64,
        cpu: hyper.cpu,
        threads: hyper.threads,
        json: false,
    })
}

/// Trains and evaluates each protocol; the table is shaped like the paper's Table 1
/// (P2 = mean ± std over P2.1 and P2.2).
pub fn run_protocol(a: &ProtocolArgs) -> Result<String> {
    let mut rows = Vec::new();
    for p in &a.protocols {
        let r = train_and_eval(
            &a.root,
            p,
            &a.model,
            &a.hyper,
            &a.out.join(p),
            a.workers,
            a.quiet,
        )
        .with_context(|| format!("protocol {p}"))?;
        rows.push(Row::of(p, &r));
    }
    let p2: Vec<&Row> = rows.iter().filter(|r| r.name.starts_with("p2.")).collect();
    let mut extra = Vec::new();
    if p2.len() >= 2 {
        extra.push((
            "P2 (mean±std)".to_string(),
            [
                mean_std_cell(&p2, |r| r.acer),
                mean_std_cell(&p2, |r| r.acc),
                mean_std_cell(&p2, |r| r.auc),
                mean_std_cell(&p2, |r| r.eer),
            ],
        ));
    }
    let table = format_rows("Protocols (test set, dev-EER threshold)", &rows, &extra);
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(
        a.out.join("protocols.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    std::fs::write(a.out.join("protocols.txt"), &table)?;
    Ok(table)
}

#[derive(clap::Args, Debug, Clone)]
pub struct AblateArgs {
    #[arg(long)]
    pub root: PathBuf,
    #[arg(long, default_value = "p1")]
    pub protocol: String,
    /// Start every row from this checkpoint's CLIP weights (expert modules are fresh).
    #[arg(long, conflicts_with = "preset")]
    pub init: Option<PathBuf>,
    #[arg(long, default_value = "small")]
    pub preset: String,
    #[command(flatten)]
    pub hyper: HyperArgs,
    /// Runs go to OUT/<row>/.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    #[arg(long)]
    pub quiet: bool,
}

/// The six rows of the paper's Table 4, each trained with the same data, seed and budget.
pub fn ablation_rows() -> [(&'static str, Variant, f64, f64); 6] {
    [
        ("clip", Variant::Clip, 0.0, 0.0),
        ("softmoe", Variant::SoftMoe, 0.0, 0.0),
        ("moae", Variant::Moae, 0.0, 0.0),
        ("moae+DM", Variant::Moae, 1.0, 0.0),
        ("moae+CDM", Variant::Moae, 0.0, 1.0),
        ("moae+DM+CDM", Variant::Moae, 1.0, 1.0),
    ]
}

pub fn run_ablate(a: &AblateArgs) -> Result<String> {
    let mut rows = Vec::new();
    for (name, variant, dm, cdm) in ablation_rows() {
        // With --init every row starts from the same CLIP weights, its expert modules fresh.
        let model = ModelArgs {
            init: a.init.clone(),
            preset: a.preset.clone(),
            variant: Some(variant),
        };
        let mut hyper = a.hyper.clone();
        hyper.lambda_dm = dm;
        hyper.lambda_cdm = cdm;
        let slug = name.replace('+', "_");
        let r = train_and_eval(
            &a.root,
            &a.protocol,
            &model,
            &hyper,
            &a.out.join(&slug),
            a.workers,
            a.quiet,
        )
        .with_context(|| format!("ablation row {name}"))?;
        rows.push(Row::of(name, &r));
    }
    let table = format_rows(
        &format!("Ablation ({}, test set, dev-EER threshold)", a.protocol),
        &rows,
        &[],
    );
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(
        a.out.join("ablation.json"),
        serde_json::to_string_pretty(&rows)?,
    )?;
    std::fs::write(a.out.join("ablation.txt"), &table)?;
    Ok(table)
}
