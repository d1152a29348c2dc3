//! Train, evaluation, protocol and ablation runs over typed configs: what the `train`, `eval`,
//! `protocol` and `ablate` subcommands call (their command lines live in the binary's `cli`).

use crate::atomic_file::write_atomic;
use crate::compute::{device, set_torch_threads};
use crate::data::augment::AugmentLevel;
use crate::data::lists::{self, Sample, Split};
use crate::data::spoof_cues::{Cue, SpoofCueConfig};
use crate::eval::evaluate::{score_net_batches_typed, ScoredTypes};
use crate::eval::metrics::{self, Report, Scored, ThresholdSource};
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::config::{ModelConfig, Variant};
use crate::model::prompts::PromptSet;
use crate::model::student::{self, Student, StudentConfig};
use crate::model::{MoaeClip, Net};
use crate::train::distill::Teacher;
use crate::train::losses::{CeForm, LossConfig};
use crate::train::optim::{AdamConfig, LrSchedule};
use crate::train::qat::{self, QatRun};
use crate::train::{self, eval_batches, RunOptions, TrainConfig, TrainData, TrainSummary};
use anyhow::{bail, Context, Result};
use moae_metrics::bootstrap::Settings;
use moae_metrics::report::{EvalReport, FileId, Provenance};
use std::path::{Path, PathBuf};
use tch::{nn, Device};

/// Which lists to read: a UniAttackData root + protocol, or explicit list files.
#[derive(Debug, Clone)]
pub struct DataSource {
    /// Data set root (list paths are relative to it).
    pub root: PathBuf,
    /// UniAttackData protocol: p1, p2.1, p2.2 (lists `UniAttackData@<p>_image_<split>.txt`).
    pub protocol: Option<String>,
    /// List files (`path label [type]` per line) instead of the protocol's.
    pub train_list: Option<PathBuf>,
    pub dev_list: Option<PathBuf>,
    pub test_list: Option<PathBuf>,
    /// Image-decoding threads.
    pub workers: usize,
    /// Skip unreadable images (counted and reported) instead of stopping.
    pub skip_bad: bool,
}

impl DataSource {
    /// The lists of `protocol` under `root`.
    pub fn protocol(root: &Path, protocol: &str, workers: usize) -> Self {
        DataSource {
            root: root.to_path_buf(),
            protocol: Some(protocol.to_string()),
            train_list: None,
            dev_list: None,
            test_list: None,
            workers,
            skip_bad: false,
        }
    }
}

impl DataSource {
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

/// Where a run's weights start.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// From a checkpoint (e.g. written by `trainer import-clip`): fine-tuning.
    Checkpoint(PathBuf),
    /// From random weights of a preset (tiny, small, vit-b16, student-s, student-m), seeded by the run's seed.
    Scratch { preset: String },
}

/// The model a run trains.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChoice {
    pub init: Init,
    /// Expert variant [default: moae; from a checkpoint: the checkpoint's]. From a checkpoint
    /// with another variant, its CLIP weights are kept and the expert modules start fresh.
    pub variant: Option<Variant>,
}

impl ModelChoice {
    pub fn pretrained(&self) -> bool {
        matches!(self.init, Init::Checkpoint(_))
    }
}

/// Training hyper-parameters as given; `None` fields take defaults that depend on whether the
/// model starts pretrained (see [`Hyper::train_config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Hyper {
    pub steps: u64,
    pub batch_size: usize,
    /// Learning rate of the pretrained weights [1e-6 pretrained (spec §5), else 5e-4].
    pub lr: Option<f64>,
    /// Learning rate of the new expert modules [1e-4 pretrained, else as `lr`].
    pub lr_new: Option<f64>,
    /// Learning rate of the text tower [as `lr` pretrained; 0 (frozen) from scratch].
    pub lr_text: Option<f64>,
    pub weight_decay: f64,
    /// Evaluate on dev (and checkpoint) every N steps (0: at the end only).
    pub eval_every: u64,
    pub seed: u64,
    pub lambda_dm: f64,
    pub lambda_cdm: f64,
    pub augment: AugmentLevel,
    /// Probability that a live training image becomes a spoof-cued attack (0: off).
    pub spoof_cues: f32,
    /// The cues it draws from.
    pub cues: Vec<Cue>,
    /// [constant pretrained, cosine from scratch]
    pub lr_schedule: Option<LrSchedule>,
    /// Fraction of the steps over which λ_dm, λ_cdm ramp up [0 pretrained, 0.5 from scratch].
    pub reg_warmup: Option<f64>,
    pub ce: CeForm,
    /// Run on the CPU even when CUDA is available.
    pub cpu: bool,
    /// No mixed precision on CUDA.
    pub no_amp: bool,
    /// libtorch CPU threads [the cores left after the decoding workers, at least 1].
    pub threads: Option<usize>,
}

impl Default for Hyper {
    fn default() -> Self {
        let t = TrainConfig::default();
        Hyper {
            steps: t.steps,
            batch_size: t.batch_size,
            lr: None,
            lr_new: None,
            lr_text: None,
            weight_decay: t.adam.weight_decay,
            eval_every: t.eval_every,
            seed: t.seed,
            lambda_dm: t.loss.lambda_dm,
            lambda_cdm: t.loss.lambda_cdm,
            augment: AugmentLevel::default(),
            spoof_cues: 0.0,
            cues: Cue::ALL.to_vec(),
            lr_schedule: None,
            reg_warmup: None,
            ce: t.loss.ce_form,
            cpu: false,
            no_amp: false,
            threads: None,
        }
    }
}

impl Hyper {
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
            spoof_cues: SpoofCueConfig {
                p: self.spoof_cues,
                cues: self.cues.clone(),
            },
            distill: None,
            qat: None,
        }
    }
}

/// The teacher of a distilling run (spec §9).
#[derive(Debug, Clone, PartialEq)]
pub struct DistillRun {
    /// The teacher checkpoint.
    pub teacher: PathBuf,
    /// α and T of `CE + α·T²·KL(teacher ‖ student)`.
    pub alpha: f64,
    pub temperature: f64,
}

/// One training run.
#[derive(Debug, Clone)]
pub struct TrainRun {
    pub data: DataSource,
    pub model: ModelChoice,
    pub hyper: Hyper,
    /// Output directory (checkpoints `latest`/`best`, `train.jsonl`).
    pub out: PathBuf,
    /// Continue the interrupted run in `out` exactly where it stopped.
    pub resume: bool,
    pub progress: bool,
    /// Distil from a teacher.
    pub distill: Option<DistillRun>,
    /// Fine-tune a student checkpoint as its int8 export computes.
    pub qat: Option<QatRun>,
}

/// A CLIP-family model to train: from a checkpoint, or fresh from a preset (seeded).
pub fn initial_model(
    m: &ModelChoice,
    device: Device,
    seed: u64,
) -> Result<(nn::VarStore, MoaeClip, CheckpointMeta, bool)> {
    match initial_net(m, device, seed)? {
        (vs, Net::Clip(model), meta, pretrained) => Ok((vs, model, meta, pretrained)),
        (_, Net::Student(s), _, _) => bail!(
            "{} is a student; this needs a CLIP/MoAE-CR model",
            s.cfg.preset
        ),
    }
}

/// A model of either family to train: a student preset or checkpoint (spec §9), else as
/// [`initial_model`].
pub fn initial_net(
    m: &ModelChoice,
    device: Device,
    seed: u64,
) -> Result<(nn::VarStore, Net, CheckpointMeta, bool)> {
    let student_preset =
        matches!(&m.init, Init::Scratch { preset } if student::PRESETS.contains(&preset.as_str()));
    if student_preset || m.init.is_student_checkpoint() {
        if m.variant.is_some() {
            bail!("--variant applies to the CLIP family, not to a student");
        }
        return initial_student(&m.init, device, seed);
    }
    match &m.init {
        Init::Checkpoint(path) => {
            let l = checkpoint::load(path, device)
                .with_context(|| format!("loading the initial checkpoint {}", path.display()))?;
            let l = match m.variant {
                Some(v) if v != l.config.experts.variant => with_variant(path, l, v, seed)?,
                _ => l,
            };
            let mut meta = l.meta;
            meta.step = None;
            meta.train = None;
            meta.prompts = Some(meta.prompts_or_default(&l.config));
            Ok((l.vs, Net::Clip(l.model), meta, true))
        }
        Init::Scratch { preset } => {
            let cfg = ModelConfig::preset(preset, m.variant.unwrap_or(Variant::Moae))?;
            tch::manual_seed(seed as i64);
            let vs = nn::VarStore::new(device);
            let model = MoaeClip::new(&vs.root(), &cfg);
            let meta = CheckpointMeta {
                prompts: Some(PromptSet::default_byte_level(
                    cfg.text.context_length as usize,
                )),
                ..Default::default()
            };
            Ok((vs, Net::Clip(model), meta, false))
        }
    }
}

/// A student from its preset (seeded random weights) or a student checkpoint (its weights;
/// training state dropped). Students train from their own random weights, so `pretrained`
/// (the defaults of [`Hyper::train_config`]) is false either way.
fn initial_student(
    init: &Init,
    device: Device,
    seed: u64,
) -> Result<(nn::VarStore, Net, CheckpointMeta, bool)> {
    match init {
        Init::Checkpoint(path) => {
            let l = checkpoint::load_net(path, device)
                .with_context(|| format!("loading the initial checkpoint {}", path.display()))?;
            Ok((l.vs, l.net, CheckpointMeta::default(), false))
        }
        Init::Scratch { preset } => {
            let cfg = StudentConfig::preset(preset)?;
            tch::manual_seed(seed as i64);
            let vs = nn::VarStore::new(device);
            let net = Net::Student(Student::new(&vs.root(), &cfg));
            Ok((vs, net, CheckpointMeta::default(), false))
        }
    }
}

impl Init {
    /// Whether this starts from a checkpoint that holds a student (read from its header).
    fn is_student_checkpoint(&self) -> bool {
        match self {
            Init::Checkpoint(path) => {
                checkpoint::peek_config_json(path).is_some_and(|c| student::is_student_json(&c))
            }
            Init::Scratch { .. } => false,
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
            .filter(|(n, _)| !crate::model::experts::is_expert_param(n))
            .collect();
    checkpoint::copy_into(path, &vs, &clip, crate::model::experts::is_expert_param)?;
    Ok(checkpoint::Loaded {
        config,
        vs,
        model,
        meta: l.meta,
    })
}

pub fn run_train(a: &TrainRun) -> Result<TrainSummary> {
    set_torch_threads(a.hyper.threads, a.data.workers)?;
    let device = device(a.hyper.cpu);
    // The teacher first: a missing or unusable one stops the run before anything is written.
    let teacher = a
        .distill
        .as_ref()
        .map(|d| Teacher::load(&d.teacher, device))
        .transpose()?;
    let (mut vs, model, meta, pretrained) = initial_net(&a.model, device, a.hyper.seed)?;
    let mut cfg = a.hyper.train_config(pretrained);
    if let (Some(d), Some(t)) = (&a.distill, &teacher) {
        cfg.distill = Some(t.config(d.alpha, d.temperature));
    }
    let calib = match &a.qat {
        Some(q) => {
            let init = match &a.model.init {
                Init::Checkpoint(p) => Some(p.as_path()),
                Init::Scratch { .. } => None,
            };
            let (q, batches) = qat::prepare(
                q,
                init,
                model.as_ref(),
                &a.data.root,
                a.data.workers,
                device,
            )?;
            cfg.qat = Some(q);
            Some(batches)
        }
        None => None,
    };
    cfg.validate()?;
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
        model.preset(),
        model.kind(),
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
        progress: a.progress,
        stop_after: None,
    };
    if let Some(t) = &teacher {
        eprintln!(
            "distilling from {} ({}, {} px): the teacher scores the {} training images once",
            t.path().display(),
            t.preset(),
            t.image_size(),
            data.train.len()
        );
    }
    let s = match (&teacher, &calib) {
        (t, Some(c)) => train::train_quantization_aware(
            &mut vs,
            &model,
            &meta,
            &cfg,
            &data,
            &run,
            t.as_ref(),
            c,
        )?,
        (Some(t), None) => train::train_distilled(&mut vs, &model, &meta, &cfg, &data, &run, t)?,
        (None, None) => train::train(&mut vs, &model, &meta, &cfg, &data, &run)?,
    };
    if s.skipped_images > 0 {
        eprintln!(
            "skipped {} unreadable training images (--skip-bad)",
            s.skipped_images
        );
    }
    Ok(s)
}

/// One evaluation: dev EER threshold → test metrics.
#[derive(Debug, Clone)]
pub struct EvalRun {
    /// The checkpoint to evaluate.
    pub ckpt: PathBuf,
    pub data: DataSource,
    /// Where the report (report.json, scores, roc.png, det.png) goes.
    pub out: Option<PathBuf>,
    pub batch_size: usize,
    pub cpu: bool,
    /// libtorch CPU threads [default: as training].
    pub threads: Option<usize>,
}

/// Most images per evaluation batch.
pub const MAX_EVAL_BATCH: usize = 4096;

/// Scores of one split with a loaded model of either family.
pub fn score_split(
    l: &checkpoint::NetLoaded,
    samples: &[Sample],
    batch_size: usize,
    data: &DataSource,
    device: Device,
) -> Result<Vec<Scored>> {
    Ok(score_split_typed(l, samples, batch_size, data, device)?.scored)
}

/// [`score_split`] with the attack-type head's predictions where the model has one.
pub fn score_split_typed(
    l: &checkpoint::NetLoaded,
    samples: &[Sample],
    batch_size: usize,
    data: &DataSource,
    device: Device,
) -> Result<ScoredTypes> {
    let net = l.net.as_ref();
    let batches = eval_batches(
        samples,
        net.input(),
        batch_size,
        data.workers,
        data.skip_bad,
    )?;
    let ids = match &l.net {
        Net::Clip(m) => l.meta.prompts_or_default(&m.cfg).ids_tensor(device),
        Net::Student(_) => tch::Tensor::zeros([0], (tch::Kind::Int64, device)),
    };
    score_net_batches_typed(net, &ids, batches, device)
}

pub fn write_scores(path: &Path, scored: &[Scored]) -> Result<()> {
    let text = metrics::score_file_text(scored, Some(8));
    Ok(write_atomic(path, text.as_bytes())?)
}

/// Every figure of `test` (spec §7) at the dev set's EER threshold, or the test set's own when
/// there is no dev set.
pub fn eval_report(
    dev: Option<&[Scored]>,
    test: &[Scored],
    mut provenance: Provenance,
) -> Result<EvalReport> {
    let literature = metrics::evaluate(dev, test)?;
    provenance.threshold_origin = match literature.threshold_source {
        ThresholdSource::Dev => "the dev set's equal-error point, fixed before the test".into(),
        ThresholdSource::Test => "the test set's own equal-error point (no dev set given: \
                                  optimistic, not a threshold fixed before the test)"
            .into(),
        ThresholdSource::Fixed => "given".into(),
    };
    let threshold = literature.test.threshold;
    Ok(EvalReport::new(
        test,
        threshold,
        literature.threshold_source,
        provenance,
        Settings::default(),
    )?)
}

/// report.json, report.html, roc.png and det.png in `out`, each written whole.
pub fn write_eval_report(out: &Path, report: &EvalReport, test: &[Scored]) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    moae_metrics::files::write_report(out, report, test, |p, b| {
        write_atomic(p, b).map_err(|e| e.source)
    })?;
    for (name, png) in [
        ("roc.png", crate::eval::plot::roc_png(test, 640, 480)),
        ("det.png", crate::eval::plot::det_png(test, 640, 480)),
    ] {
        write_atomic(&out.join(name), &png?)?;
    }
    Ok(())
}

/// Who wrote a report.
pub fn provenance(
    producer: &str,
    model: Option<&Path>,
    list: Option<&Path>,
    dev: Option<&Path>,
) -> Result<Provenance> {
    let id = |p: Option<&Path>| {
        p.map(|p| FileId::of(p).with_context(|| format!("reading {}", p.display())))
            .transpose()
    };
    Ok(Provenance {
        producer: format!("{producer} {}", env!("CARGO_PKG_VERSION")),
        sdk_version: env!("CARGO_PKG_VERSION").into(),
        model: id(model)?,
        list: id(list)?,
        threshold_list: id(dev)?,
        threshold_origin: String::new(),
    })
}

/// Dev threshold → test metrics, plus files in `out` when given.
pub fn run_eval(a: &EvalRun) -> Result<EvalReport> {
    if !(1..=MAX_EVAL_BATCH).contains(&a.batch_size) {
        bail!(
            "the evaluation batch size must be in 1..={MAX_EVAL_BATCH}, is {}",
            a.batch_size
        );
    }
    set_torch_threads(a.threads, a.data.workers)?;
    let device = device(a.cpu);
    let l = checkpoint::load_net(&a.ckpt, device)
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
    let typed = score_split_typed(&l, &test, a.batch_size, &a.data, device)?;
    let test_scores = &typed.scored;
    let prov = provenance(
        "trainer eval",
        Some(&a.ckpt),
        test.first().map(|s| &*s.list),
        dev.as_ref().and_then(|d| d.first()).map(|s| &*s.list),
    )?;
    let mut report = eval_report(dev_scores.as_deref(), test_scores, prov)?;
    report.attack_type_confusion = Some(typed.type_matrix()?);
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        if let Some(d) = &dev_scores {
            write_scores(&out.join("scores-dev.txt"), d)?;
        }
        write_scores(&out.join("scores-test.txt"), test_scores)?;
        write_eval_report(out, &report, test_scores)?;
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

/// Train and evaluate each protocol.
#[derive(Debug, Clone)]
pub struct ProtocolRun {
    pub root: PathBuf,
    pub protocols: Vec<String>,
    pub model: ModelChoice,
    pub hyper: Hyper,
    /// Runs go to OUT/<protocol>/.
    pub out: PathBuf,
    pub workers: usize,
    pub progress: bool,
}

/// Trains on `data`'s train list into `out`, then evaluates its best checkpoint into `out/eval`.
fn train_and_eval(
    data: DataSource,
    model: &ModelChoice,
    hyper: &Hyper,
    out: &Path,
    progress: bool,
) -> Result<EvalReport> {
    let run = TrainRun {
        data: data.clone(),
        model: model.clone(),
        hyper: hyper.clone(),
        out: out.to_path_buf(),
        resume: false,
        progress,
        distill: None,
        qat: None,
    };
    let s = run_train(&run)?;
    run_eval(&EvalRun {
        ckpt: s.best,
        data,
        out: Some(out.join("eval")),
        batch_size: 64,
        cpu: hyper.cpu,
        threads: hyper.threads,
    })
}

/// Trains and evaluates each protocol; the table is shaped like the paper's Table 1
/// (P2 = mean ± std over P2.1 and P2.2).
pub fn run_protocol(a: &ProtocolRun) -> Result<String> {
    let mut rows = Vec::new();
    for p in &a.protocols {
        let data = DataSource::protocol(&a.root, p, a.workers);
        let r = train_and_eval(data, &a.model, &a.hyper, &a.out.join(p), a.progress)
            .with_context(|| format!("protocol {p}"))?;
        rows.push(Row::of(p, &r.literature));
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
    write_atomic(
        &a.out.join("protocols.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    write_atomic(&a.out.join("protocols.txt"), table.as_bytes())?;
    Ok(table)
}

/// The paper's Table 4 ablation: six rows on the same data, seed and budget.
#[derive(Debug, Clone)]
pub struct AblationRun {
    pub root: PathBuf,
    pub protocol: String,
    /// Every row starts from this (from a checkpoint: its CLIP weights, expert modules fresh).
    pub init: Init,
    pub hyper: Hyper,
    /// Runs go to OUT/<row>/.
    pub out: PathBuf,
    pub workers: usize,
    pub progress: bool,
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

pub fn run_ablate(a: &AblationRun) -> Result<String> {
    let mut rows = Vec::new();
    for (name, variant, dm, cdm) in ablation_rows() {
        // From a checkpoint every row starts from the same CLIP weights, its expert modules fresh.
        let model = ModelChoice {
            init: a.init.clone(),
            variant: Some(variant),
        };
        let mut hyper = a.hyper.clone();
        hyper.lambda_dm = dm;
        hyper.lambda_cdm = cdm;
        let slug = name.replace('+', "_");
        let data = DataSource::protocol(&a.root, &a.protocol, a.workers);
        let r = train_and_eval(data, &model, &hyper, &a.out.join(&slug), a.progress)
            .with_context(|| format!("ablation row {name}"))?;
        rows.push(Row::of(name, &r.literature));
    }
    let table = format_rows(
        &format!("Ablation ({}, test set, dev-EER threshold)", a.protocol),
        &rows,
        &[],
    );
    std::fs::create_dir_all(&a.out)?;
    write_atomic(
        &a.out.join("ablation.json"),
        serde_json::to_string_pretty(&rows)?.as_bytes(),
    )?;
    write_atomic(&a.out.join("ablation.txt"), table.as_bytes())?;
    Ok(table)
}
