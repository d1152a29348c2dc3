//! The training loop: Adam with two learning-rate groups (spec §5), CE + λ·DM + λ·CDM,
//! periodic dev evaluation, atomic `latest`/`best` checkpoints, exact `--resume`, a progress
//! bar and a JSONL log.
//!
//! Files in the output directory:
//! - `latest.safetensors` — model + config + prompts + step + [`TrainState`] (which names the
//!   optimiser file that belongs to it), `optim-<step>.safetensors` — Adam moments. The
//!   optimiser file is written first and the model file last, each atomically, so a run
//!   interrupted at any point leaves a consistent `latest` pair behind.
//! - `best.safetensors` — the model with the lowest dev EER so far.
//! - `train.jsonl` — one JSON object per logged step and per evaluation.

pub mod distill;
pub mod losses;
pub mod optim;
pub mod qat;
pub mod student_loss;

pub use crate::record::{BestRecord, QatConfig, TrainConfig, TrainState, MAX_BATCH, MAX_STEPS};

use crate::data::augment::Normalization;
use crate::data::lists::Sample;
use crate::data::loader::{Batch, Loader, LoaderConfig, LoaderState, TeacherView};
use crate::data::tensors::batch_tensors;
use crate::eval::evaluate::{score_net_batches, EvalSummary};
use crate::model::checkpoint::{self, CheckpointMeta};
use crate::model::prompts::{class_embeddings, PromptSet};
use crate::model::student::{FakeQuant, Student};
use crate::model::{InputSpec, NetRef};
use crate::train::distill::{Distiller, Teacher};
use crate::train::losses::{total_loss, LossConfig};
use crate::train::optim::{Adam, Group};
use crate::train::student_loss::{lists_are_typed, student_loss};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// How a run is driven (not part of its result).
pub struct RunOptions {
    pub out_dir: PathBuf,
    pub device: Device,
    pub resume: bool,
    pub progress: bool,
    /// Stop (after checkpointing) once this many steps are done — for interrupted-run tests.
    pub stop_after: Option<u64>,
}

/// Where the training batches and the dev evaluation come from.
pub struct TrainData {
    pub train: Vec<Sample>,
    pub dev: Option<Vec<Sample>>,
    /// Decoding threads and prefetch depth (do not change results).
    pub workers: usize,
    /// Skip unreadable images (counted in the summary) instead of failing.
    pub skip_bad: bool,
}

/// Evaluation batches (fixed order, eval preprocessing at the model's input size and
/// normalisation) over `samples`.
pub fn eval_batches(
    samples: &[Sample],
    input: impl Into<InputSpec>,
    batch_size: usize,
    workers: usize,
    skip_bad: bool,
) -> Result<impl Iterator<Item = Result<Batch>>> {
    let input = input.into();
    let mut cfg = LoaderConfig::eval(input.size as u32, batch_size);
    cfg.norm = normalization(input);
    cfg.workers = workers.max(1);
    cfg.skip_bad = skip_bad;
    let mut loader = Loader::new(samples.to_vec(), cfg)?;
    Ok(std::iter::from_fn(move || {
        loader.next_batch().map_err(anyhow::Error::from).transpose()
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    pub steps: u64,
    pub final_loss: Option<f64>,
    pub best_step: Option<u64>,
    pub best_dev: Option<EvalSummary>,
    /// Training images skipped as unreadable (with `skip_bad`).
    pub skipped_images: usize,
    pub latest: PathBuf,
    pub best: PathBuf,
}

pub const LATEST: &str = "latest.safetensors";
pub const BEST: &str = "best.safetensors";
pub const LOG: &str = "train.jsonl";

struct Log(std::fs::File);

impl Log {
    fn open(path: &Path) -> Result<Self> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening log {}", path.display()))?;
        Ok(Log(f))
    }
    fn write(&mut self, v: serde_json::Value) -> Result<()> {
        writeln!(self.0, "{v}").context("writing the training log")
    }
}

/// What the loss needs besides the batch, per model family.
enum Heads {
    /// The class prompts' token ids, and their embeddings when the text tower is frozen (the
    /// same at every step).
    Clip {
        prompts: PromptSet,
        ids: Tensor,
        frozen_class_emb: Option<Tensor>,
    },
    /// Whether the attack-type head is trained (fine-grained training labels).
    Student { typed: bool },
}

/// A run in progress: the model, its optimiser and data, and where it stands.
struct Session<'a> {
    vs: &'a tch::nn::VarStore,
    model: NetRef<'a>,
    heads: Heads,
    cfg: &'a TrainConfig,
    data: &'a TrainData,
    run: &'a RunOptions,
    opt: Adam,
    loader: Loader,
    log: Log,
    amp: bool,
    /// The teacher and its cached logits of a distilling run.
    distill: Option<Distiller<'a>>,
    /// The simulated int8 export of a quantisation-aware run.
    qat: Option<Qat<'a>>,
    start: u64,
    best: Option<BestRecord>,
    final_loss: Option<f64>,
    images: usize,
    t0: Instant,
    bar: indicatif::ProgressBar,
}

/// Trains `model` (whose tensors live in `vs`) for `cfg.steps` steps.
///
/// On `resume`, the model, optimiser state and step are read from `out_dir/latest.safetensors`
/// and training continues with the batches the uninterrupted run would have used.
pub fn train<'m>(
    vs: &mut tch::nn::VarStore,
    model: impl Into<NetRef<'m>>,
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    data: &TrainData,
    run: &RunOptions,
) -> Result<TrainSummary> {
    train_inner(vs, model.into(), meta, cfg, data, run, None, None)
}

/// [`train`] with the loss of spec §9: CE + α·T²·KL from `teacher`, which `cfg.distill` names
/// (by SHA-256). The teacher scores every training image before anything is written.
pub fn train_distilled<'m>(
    vs: &mut tch::nn::VarStore,
    model: impl Into<NetRef<'m>>,
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    data: &TrainData,
    run: &RunOptions,
    teacher: &Teacher,
) -> Result<TrainSummary> {
    train_inner(vs, model.into(), meta, cfg, data, run, Some(teacher), None)
}

/// [`train`] (or [`train_distilled`] with a teacher) of a student as its int8 export computes
/// ([`qat`]): `cfg.qat` names the export, `calib` are its calibration images
/// ([`qat::calibration_batches`]).
#[allow(clippy::too_many_arguments)]
pub fn train_quantization_aware<'m>(
    vs: &mut tch::nn::VarStore,
    model: impl Into<NetRef<'m>>,
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    data: &TrainData,
    run: &RunOptions,
    teacher: Option<&Teacher>,
    calib: &[Tensor],
) -> Result<TrainSummary> {
    train_inner(vs, model.into(), meta, cfg, data, run, teacher, Some(calib))
}

/// What a quantisation-aware run keeps: its settings, calibration images and the current
/// simulated export.
struct Qat<'a> {
    cfg: &'a QatConfig,
    calib: &'a [Tensor],
    fq: FakeQuant,
}

impl<'a> Qat<'a> {
    /// Checks the pairing of settings and images, and that the model is a student.
    fn check(cfg: &TrainConfig, model: NetRef, calib: Option<&[Tensor]>) -> Result<()> {
        match (&cfg.qat, calib) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                bail!("the training settings are quantisation-aware but no calibration images were given")
            }
            (None, Some(_)) => {
                bail!("calibration images were given but the training settings are not quantisation-aware (no `qat`)")
            }
            (Some(_), Some(c)) if c.iter().map(|t| t.size()[0]).sum::<i64>() == 0 => {
                bail!("QAT: the calibration set is empty: give --calib a list with at least one image")
            }
            _ => {}
        }
        if let NetRef::Clip(_) = model {
            bail!(
                "quantisation-aware training is for a student (`{}` is of the CLIP family, whose \
                 int8 export quantises dynamically): give --init a student checkpoint",
                model.preset()
            );
        }
        Ok(())
    }

    /// Calibrates the simulated export on the student's current weights.
    fn new(student: &Student, cfg: &'a QatConfig, calib: &'a [Tensor]) -> Result<Self> {
        let fq = qat::fake_quant(student, calib, cfg)?;
        Ok(Qat { cfg, calib, fq })
    }

    fn recalibrate(&mut self, student: &Student) -> Result<()> {
        self.fq = qat::fake_quant(student, self.calib, self.cfg)?;
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn train_inner(
    vs: &mut tch::nn::VarStore,
    model: NetRef,
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    data: &TrainData,
    run: &RunOptions,
    teacher: Option<&Teacher>,
    calib: Option<&[Tensor]>,
) -> Result<TrainSummary> {
    cfg.validate()?;
    Qat::check(cfg, model, calib)?;
    // Of the initial checkpoint's meta only the prompts carry over (step and state are new).
    let prompts = match model {
        NetRef::Clip(_) => Some(meta.prompts.clone().context(
            "the initial checkpoint has no prompts (re-create it with `trainer init` or `import-clip`)",
        )?),
        NetRef::Student(_) => None,
    };
    let mut opt = optimiser(vs, model, cfg)?;
    let distill = match (teacher, &cfg.distill) {
        (Some(t), Some(d)) => Some(Distiller::prepare(
            t,
            d,
            &data.train,
            cfg.batch_size,
            data.workers,
            data.skip_bad,
        )?),
        (None, None) => None,
        (Some(t), None) => bail!(
            "a teacher ({}) was given but the training settings do not distil (no `distill`)",
            t.path().display()
        ),
        (None, Some(_)) => bail!("the training settings distil from a teacher, but none was given"),
    };
    let mut loader = train_loader(model, cfg, data, distill.as_ref().map(Distiller::view))?;
    std::fs::create_dir_all(&run.out_dir)
        .with_context(|| format!("creating output directory {}", run.out_dir.display()))?;
    let (start, best) = if run.resume {
        resume(vs, model, cfg, run, &mut opt, &mut loader)?
    } else {
        (0, None)
    };
    let mut s = Session::new(vs, model, prompts, cfg, data, run, opt, loader)?;
    if let Some(d) = &distill {
        s.log.write(d.log_entry())?;
    }
    s.distill = distill;
    if let (Some(q), Some(c), NetRef::Student(st)) = (&cfg.qat, calib, model) {
        s.qat = Some(Qat::new(st, q, c)?);
    }
    (s.start, s.best) = (start, best);
    let end = run.stop_after.map_or(cfg.steps, |x| x.min(cfg.steps));
    s.bar.set_position(s.start);
    for step in s.start..end {
        s.step(step)?;
        let done = step + 1;
        let eval_now = eval_due(cfg, done);
        if eval_now {
            s.evaluate(done)?;
        }
        if eval_now || done == end {
            s.save_latest(done)?;
            s.recalibrate(done)?;
        }
    }
    s.finish(end)
}

/// The normalisation the exporter writes into the model (so the SDK uses the same numbers).
fn normalization(input: InputSpec) -> Normalization {
    Normalization {
        mean: input.mean,
        std: input.std,
    }
}

/// Whether the dev set is scored (and `latest` saved) after `done` steps.
fn eval_due(cfg: &TrainConfig, done: u64) -> bool {
    cfg.eval_every > 0 && (done % cfg.eval_every == 0 || done == cfg.steps)
}

/// Adam over the groups whose learning rate is not 0 (the others are frozen).
fn optimiser(vs: &tch::nn::VarStore, model: NetRef, cfg: &TrainConfig) -> Result<Adam> {
    crate::train::optim::freeze_zero_lr_groups(
        vs,
        &cfg.adam,
        crate::model::experts::is_expert_param,
    );
    let opt = Adam::new(vs, cfg.adam, crate::model::experts::is_expert_param);
    if opt.is_empty() {
        bail!(
            "nothing to train: every parameter group of this {} model has learning rate 0 \
             (lr {}, lr_new {}, lr_text {:?}); give --lr, --lr-new or --lr-text a positive value",
            model.preset(),
            cfg.adam.lr,
            cfg.adam.lr_new,
            cfg.adam.lr_text
        );
    }
    Ok(opt)
}

/// Restores weights, optimiser and data position from `out_dir/latest`; returns the step it
/// stands at and the best dev record so far.
fn resume(
    vs: &mut tch::nn::VarStore,
    model: NetRef,
    cfg: &TrainConfig,
    run: &RunOptions,
    opt: &mut Adam,
    loader: &mut Loader,
) -> Result<(u64, Option<BestRecord>)> {
    let latest = run.out_dir.join(LATEST);
    let loaded = checkpoint::load_net(&latest, run.device)
        .with_context(|| format!("--resume: loading {}", latest.display()))?;
    let state = loaded
        .meta
        .train
        .as_ref()
        .context("--resume: the latest checkpoint has no training state")?;
    // The step budget may grow on resume (continuing a finished run); nothing else may change.
    let stored = &state.config;
    if (TrainConfig {
        steps: cfg.steps,
        ..stored.clone()
    }) != *cfg
    {
        bail!(
            "--resume: the training settings differ from the interrupted run's \
             (stored {stored:?}); resume with the same settings or start a new output directory"
        );
    }
    if loaded.net.config_json() != model.config_json() {
        bail!("--resume: the model config differs from the interrupted run's");
    }
    tch::no_grad(|| vs.copy(&loaded.vs)).context("--resume: copying weights")?;
    let optim_name = state
        .optim
        .as_ref()
        .context("--resume: the latest checkpoint names no optimiser state")?;
    opt.load(&run.out_dir.join(optim_name), run.device)
        .context("--resume: loading optimiser state")?;
    let start = loaded.meta.step.unwrap_or(0);
    if opt.steps_taken() as u64 != start {
        bail!(
            "--resume: optimiser state is at step {}, the model at step {start}",
            opt.steps_taken()
        );
    }
    let position = state
        .loader
        .context("--resume: the latest checkpoint has no data-loader position")?;
    loader.restore(position)?;
    Ok((start, state.best.clone()))
}

/// The training batches: seeded order and augmentation; spoof-cued images also in the
/// teacher's preprocessing when there is a teacher.
fn train_loader(
    model: NetRef,
    cfg: &TrainConfig,
    data: &TrainData,
    teacher_view: Option<TeacherView>,
) -> Result<Loader> {
    let input = model.input();
    let mut lcfg = LoaderConfig::train(input.size as u32, cfg.batch_size, cfg.seed);
    lcfg.workers = data.workers.max(1);
    lcfg.augment = cfg.augment.config();
    lcfg.spoof_cues = cfg.spoof_cues.clone();
    lcfg.teacher_view = teacher_view.filter(|_| cfg.spoof_cues.enabled());
    lcfg.norm = normalization(input);
    lcfg.skip_bad = data.skip_bad;
    Ok(Loader::new(data.train.clone(), lcfg)?)
}

fn progress_bar(run: &RunOptions, steps: u64) -> indicatif::ProgressBar {
    let bar = if run.progress {
        indicatif::ProgressBar::new(steps)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

impl<'a> Session<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        vs: &'a tch::nn::VarStore,
        model: NetRef<'a>,
        prompts: Option<PromptSet>,
        cfg: &'a TrainConfig,
        data: &'a TrainData,
        run: &'a RunOptions,
        opt: Adam,
        loader: Loader,
    ) -> Result<Self> {
        let log = Log::open(&run.out_dir.join(LOG))?;
        let amp = cfg.amp && run.device.is_cuda();
        let heads = match (model, prompts) {
            (NetRef::Clip(clip), Some(prompts)) => {
                let ids = prompts.ids_tensor(run.device);
                // A frozen text tower (learning rate 0, so no gradients:
                // `freeze_zero_lr_groups`) gives the same class embeddings at every step: one
                // forward pass instead of one per step.
                let frozen_class_emb = (cfg.adam.base_lr(Group::Text) == 0.0)
                    .then(|| tch::autocast(amp, || tch::no_grad(|| class_embeddings(clip, &ids))));
                Heads::Clip {
                    prompts,
                    ids,
                    frozen_class_emb,
                }
            }
            (NetRef::Clip(_), None) => bail!("a CLIP model trains with class prompts"),
            (NetRef::Student(_), _) => Heads::Student {
                typed: lists_are_typed(data.train.iter().map(|s| s.fine)),
            },
        };
        Ok(Session {
            vs,
            model,
            heads,
            cfg,
            data,
            run,
            opt,
            loader,
            log,
            amp,
            distill: None,
            qat: None,
            start: 0,
            best: None,
            final_loss: None,
            images: 0,
            t0: Instant::now(),
            bar: progress_bar(run, cfg.steps),
        })
    }

    fn latest(&self) -> PathBuf {
        self.run.out_dir.join(LATEST)
    }

    /// One optimiser step on the next batch; logs the loss terms.
    fn step(&mut self, step: u64) -> Result<()> {
        let image_size = self.model.input().size;
        let batch = self
            .loader
            .next_batch()
            .with_context(|| format!("loading the batch of step {}", step + 1))?
            .context("the training data ran out")?;
        let (x, y) = batch_tensors(&batch, image_size, self.run.device)?;
        let (student, typed) = match (self.model, &self.heads) {
            (NetRef::Student(s), Heads::Student { typed }) => (s, *typed),
            _ => return self.clip_step(step, &batch, &x, &y),
        };
        let types = typed.then(|| {
            let t: Vec<i64> = batch.types.iter().map(|&t| i64::from(t)).collect();
            Tensor::from_slice(&t).to_device(self.run.device)
        });
        let (out, agreement) = match &self.qat {
            Some(q) => {
                let out = student.forward_fake_quant(&x, &q.fq);
                let beta = q.cfg.agreement;
                let term = (beta > 0.0).then(|| {
                    let fp32 = student.forward_t(&x, false);
                    (qat::agreement_term(&out.logits, &fp32.logits), beta)
                });
                (out, term)
            }
            None => (student.forward_t(&x, true), None),
        };
        let mut terms = student_loss(&out, &y, types.as_ref());
        let kd = self.kd_term(&batch, &out.logits)?;
        for (t, weight) in kd.iter().chain(&agreement) {
            terms.total = &terms.total + t * *weight;
        }
        let kd = kd.map(|(t, _)| t.double_value(&[]));
        let agreement = agreement.map(|(t, _)| t.double_value(&[]));
        let total = self.optimise(step, &terms.total)?;
        self.images += batch.labels.len();
        let lr_scale = self.cfg.schedule.factor(step, self.cfg.steps);
        let elapsed = self.t0.elapsed().as_secs_f64();
        let ips = self.images as f64 / elapsed.max(1e-9);
        let ce = terms.ce.double_value(&[]);
        let type_ce = terms.type_ce.as_ref().map(|t| t.double_value(&[]));
        let kd_msg = kd.map_or(String::new(), |k| format!(" kd {k:.4}"));
        self.bar.set_position(step + 1);
        self.bar.set_message(format!(
            "loss {total:.4} (ce {ce:.4}{kd_msg}) {ips:.1} img/s"
        ));
        let mut line = serde_json::json!({
            "step": step + 1, "loss": total, "ce": ce, "type_ce": type_ce, "lr_scale": lr_scale,
            "images_per_s": ips, "elapsed_s": elapsed,
        });
        if let Some(k) = kd {
            line["kd"] = k.into();
        }
        if let Some(a) = agreement {
            line["qat_agreement"] = a.into();
        }
        self.log.write(line)
    }

    /// The distillation term of a batch and its weight α, when the run distils: student
    /// logits [N, 2] in batch order.
    fn kd_term(&self, batch: &Batch, logits: &Tensor) -> Result<Option<(Tensor, f64)>> {
        self.distill
            .as_ref()
            .map(|d| Ok((d.kd(batch, logits)?, d.alpha())))
            .transpose()
    }

    /// Backward pass and optimiser step on `loss` (a finite scalar, else an error); returns it.
    fn optimise(&mut self, step: u64, loss: &Tensor) -> Result<f64> {
        let total = loss.double_value(&[]);
        if !total.is_finite() {
            bail!(
                "the loss became {total} at step {}: lower the learning rate",
                step + 1
            );
        }
        self.opt.zero_grad();
        loss.backward();
        let lr_scale = self.cfg.schedule.factor(step, self.cfg.steps);
        self.opt.set_lr_scale(lr_scale);
        self.opt.step();
        self.final_loss = Some(total);
        Ok(total)
    }

    /// The CLIP family's step: CE + λ·DM + λ·CDM (spec §3–4).
    fn clip_step(&mut self, step: u64, batch: &Batch, x: &Tensor, y: &Tensor) -> Result<()> {
        let (
            NetRef::Clip(model),
            Heads::Clip {
                ids,
                frozen_class_emb,
                ..
            },
        ) = (self.model, &self.heads)
        else {
            bail!("internal: a student reached the CLIP training step");
        };
        let loss_cfg = self.cfg.loss.at_step(step, self.cfg.steps);
        let (mut terms, kd) = tch::autocast(self.amp, || -> Result<_> {
            let class_emb = match frozen_class_emb {
                Some(fixed) => fixed.shallow_clone(),
                None => class_embeddings(model, ids),
            };
            let img = model.encode_image(x, true).to_kind(Kind::Float);
            let class_emb = class_emb.to_kind(Kind::Float);
            let terms = total_loss(&img, &class_emb, model.logit_scale(), y, &loss_cfg);
            let kd = match &self.distill {
                Some(_) => self.kd_term(batch, &model.classifier_logits(&img, &class_emb))?,
                None => None,
            };
            Ok((terms, kd))
        })?;
        if let Some((k, alpha)) = &kd {
            terms.total = &terms.total + k * *alpha;
        }
        let kd = kd.map(|(t, _)| t.double_value(&[]));
        self.optimise(step, &terms.total)?;
        self.images += batch.labels.len();
        let lr_scale = self.cfg.schedule.factor(step, self.cfg.steps);
        self.log_step(step + 1, &terms, kd, &loss_cfg, lr_scale)?;
        let done = step + 1;
        let eval_now = eval_due(self.cfg, done);
        if let Some(r) = crate::eval::router_stats::record(done, eval_now, model, x) {
            self.log.write(r)?;
        }
        Ok(())
    }

    fn log_step(
        &mut self,
        done: u64,
        terms: &crate::train::losses::TotalLoss,
        kd: Option<f64>,
        loss_cfg: &LossConfig,
        lr_scale: f64,
    ) -> Result<()> {
        let elapsed = self.t0.elapsed().as_secs_f64();
        let ips = self.images as f64 / elapsed.max(1e-9);
        let v = |t: &Tensor| t.double_value(&[]);
        let (total, ce, dm, cdm) = (v(&terms.total), v(&terms.ce), v(&terms.dm), v(&terms.cdm));
        self.bar.set_position(done);
        let kd_msg = kd.map_or(String::new(), |k| format!(" kd {k:.4}"));
        self.bar.set_message(format!(
            "loss {total:.4} (ce {ce:.4} dm {dm:.4} cdm {cdm:.4}{kd_msg}) {ips:.1} img/s"
        ));
        let mut line = serde_json::json!({
            "step": done, "loss": total, "ce": ce, "dm": dm, "cdm": cdm,
            "cdm_att": v(&terms.cdm_att), "cdm_rep": v(&terms.cdm_rep),
            "lambda_dm": loss_cfg.lambda_dm, "lambda_cdm": loss_cfg.lambda_cdm, "lr_scale": lr_scale,
            "images_per_s": ips, "elapsed_s": elapsed,
        });
        if let Some(k) = kd {
            line["kd"] = k.into();
        }
        self.log.write(line)
    }

    /// Scores the dev set (if any); a new best is saved as `best`.
    fn evaluate(&mut self, done: u64) -> Result<()> {
        let Some(dev) = &self.data.dev else {
            return Ok(());
        };
        let batches = eval_batches(
            dev,
            self.model.input(),
            self.cfg.batch_size,
            self.data.workers,
            self.data.skip_bad,
        )?;
        let scored = match &self.heads {
            Heads::Clip { ids, .. } => {
                score_net_batches(self.model, ids, batches, self.run.device)?
            }
            Heads::Student { .. } => {
                let none = Tensor::zeros([0], (Kind::Int64, self.run.device));
                score_net_batches(self.model, &none, batches, self.run.device)?
            }
        };
        crate::eval::metrics::check_finite(&scored, "dev")
            .with_context(|| format!("evaluating after step {done}"))?;
        let s = EvalSummary::of(&scored);
        self.log
            .write(serde_json::json!({ "step": done, "dev": s }))?;
        self.bar
            .println(format!("step {done}: dev {}", s.one_line()));
        if self.best.as_ref().is_none_or(|b| s.better_than(&b.dev)) {
            self.best = Some(BestRecord { step: done, dev: s });
            let best = self.run.out_dir.join(BEST);
            self.save(&best, done, None, None)?;
        }
        Ok(())
    }

    /// A quantisation-aware run takes the activation ranges again from the weights just
    /// saved (a run resumed from them starts with the same ranges).
    fn recalibrate(&mut self, done: u64) -> Result<()> {
        let (Some(q), NetRef::Student(st)) = (&mut self.qat, self.model) else {
            return Ok(());
        };
        q.recalibrate(st)
            .with_context(|| format!("after step {done}"))?;
        let ranges = q.fq.ranges.len();
        self.log
            .write(serde_json::json!({ "step": done, "qat_recalibrated": ranges }))
    }

    /// Writes the optimiser file, then `latest` naming it (each atomically).
    fn save_latest(&mut self, done: u64) -> Result<()> {
        let optim_name = format!("optim-{done}.safetensors");
        self.opt.save(&self.run.out_dir.join(&optim_name))?;
        let position = self.loader.state();
        self.save(
            &self.latest(),
            done,
            Some(optim_name.clone()),
            Some(position),
        )?;
        remove_stale_optim(&self.run.out_dir, &optim_name);
        Ok(())
    }

    fn save(
        &self,
        path: &Path,
        step: u64,
        optim: Option<String>,
        loader: Option<LoaderState>,
    ) -> Result<()> {
        let prompts = match &self.heads {
            Heads::Clip { prompts, .. } => Some(prompts.clone()),
            Heads::Student { .. } => None,
        };
        let meta = CheckpointMeta {
            prompts,
            step: Some(step),
            train: Some(TrainState {
                config: self.cfg.clone(),
                optim,
                loader,
                best: self.best.clone(),
            }),
        };
        checkpoint::save_config_json(path, &self.model.config_json(), self.vs, &meta)
            .with_context(|| format!("saving checkpoint {}", path.display()))
    }

    fn finish(self, end: u64) -> Result<TrainSummary> {
        self.bar.finish_and_clear();
        let (latest, best) = (self.latest(), self.run.out_dir.join(BEST));
        if !best.exists() && latest.exists() {
            // No dev set: the best model is the last one.
            let bytes =
                std::fs::read(&latest).with_context(|| format!("reading {}", latest.display()))?;
            checkpoint::write_atomic(&best, &bytes)?;
        }
        if !latest.exists() {
            bail!(
                "no checkpoint was written to {} (no step was run)",
                self.run.out_dir.display()
            );
        }
        Ok(TrainSummary {
            steps: end,
            final_loss: self.final_loss,
            best_step: self.best.as_ref().map(|b| b.step),
            best_dev: self.best.map(|b| b.dev),
            skipped_images: self.loader.skipped().1,
            latest,
            best,
        })
    }
}

/// Optimiser files of earlier steps are no longer referenced once `latest` names a newer one.
fn remove_stale_optim(dir: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("optim-") && name.ends_with(".safetensors") && name != keep {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
