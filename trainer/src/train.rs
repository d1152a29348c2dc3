//! The training loop: Adam with two learning-rate groups (spec §5), CE + λ·DM + λ·CDM,
//! periodic dev evaluation, atomic `latest`/`best` checkpoints, exact `--resume`, a progress
//! bar and a JSONL log.
//!
//! Files in the output directory:
//! - `latest.safetensors` — model + config + prompts + step (meta `extra.optim` names the
//!   optimiser file that belongs to it), `optim-<step>.safetensors` — Adam moments. The
//!   optimiser file is written first and the model file last, each atomically, so a run
//!   interrupted at any point leaves a consistent `latest` pair behind.
//! - `best.safetensors` — the model with the lowest dev EER so far.
//! - `train.jsonl` — one JSON object per logged step and per evaluation.

use crate::checkpoint::{self, CheckpointMeta};
use crate::data::augment::AugmentLevel;
use crate::data::lists::Sample;
use crate::data::loader::{Batch, Loader, LoaderConfig, LoaderState};
use crate::evaluate::{score_batches, EvalSummary};
use crate::losses::{total_loss, LossConfig};
use crate::model::MoaeClip;
use crate::optim::{Adam, AdamConfig, Group, LrSchedule};
use crate::prompts::class_embeddings;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Everything that determines a run's result (stored in every checkpoint it writes, so that
/// `--resume` continues exactly the same run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub steps: u64,
    pub batch_size: usize,
    pub eval_every: u64,
    pub seed: u64,
    pub adam: AdamConfig,
    /// Learning-rate schedule over `steps` (absent in checkpoints of older runs: constant).
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Training augmentation (absent in checkpoints of older runs: spec §5's).
    #[serde(default)]
    pub augment: AugmentLevel,
    pub loss: LossConfig,
    /// Mixed precision (autocast) when the device is CUDA; ignored on CPU.
    pub amp: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 300,
            batch_size: 32,
            eval_every: 50,
            seed: 0,
            adam: AdamConfig::default(),
            schedule: LrSchedule::default(),
            augment: AugmentLevel::default(),
            loss: LossConfig::default(),
            amp: true,
        }
    }
}

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

/// Evaluation batches (fixed order, eval preprocessing) over `samples`.
pub fn eval_batches(
    samples: &[Sample],
    size: u32,
    batch_size: usize,
    workers: usize,
    skip_bad: bool,
) -> Result<impl Iterator<Item = Result<Batch>>> {
    let mut cfg = LoaderConfig::eval(size, batch_size);
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
const EXTRA_TRAIN: &str = "train_config";
const EXTRA_OPTIM: &str = "optim";
const EXTRA_BEST: &str = "best";
const EXTRA_LOADER: &str = "loader";

fn device_kind(d: Device) -> bool {
    d.is_cuda()
}

/// The pixels and labels of a batch as tensors on `device`.
pub fn batch_tensors(b: &Batch, image_size: i64, device: Device) -> Result<(Tensor, Tensor)> {
    let n = b.labels.len() as i64;
    let want = (n * 3 * image_size * image_size) as usize;
    if b.pixels.len() != want {
        bail!(
            "batch has {} pixel values, expected {} for {n} images of 3×{image_size}×{image_size}",
            b.pixels.len(),
            want
        );
    }
    let x = Tensor::from_slice(&b.pixels)
        .view([n, 3, image_size, image_size])
        .to_device(device);
    let y = Tensor::from_slice(&b.labels).to_device(device);
    Ok((x, y))
}

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

/// Trains `model` (whose tensors live in `vs`) for `cfg.steps` steps.
///
/// On `resume`, the model, optimiser state and step are read from `out_dir/latest.safetensors`
/// and training continues with the batches the uninterrupted run would have used.
pub fn train(
    vs: &mut tch::nn::VarStore,
    model: &MoaeClip,
    meta: &CheckpointMeta,
    cfg: &TrainConfig,
    data: &TrainData,
    run: &RunOptions,
) -> Result<TrainSummary> {
    let prompts = meta.prompts.clone().context(
        "the initial checkpoint has no prompts (re-create it with `trainer init` or `import-clip`)",
    )?;
    std::fs::create_dir_all(&run.out_dir)
        .with_context(|| format!("creating output directory {}", run.out_dir.display()))?;
    let latest = run.out_dir.join(LATEST);
    let best = run.out_dir.join(BEST);
    crate::optim::freeze_zero_lr_groups(vs, &cfg.adam, crate::experts::is_expert_param);
    let mut opt = Adam::new(vs, cfg.adam, crate::experts::is_expert_param);
    if opt.is_empty() {
        bail!(
            "nothing to train: every parameter group of this {} model has learning rate 0 \
             (lr {}, lr_new {}, lr_text {:?}); give --lr, --lr-new or --lr-text a positive value",
            model.cfg.preset,
            cfg.adam.lr,
            cfg.adam.lr_new,
            cfg.adam.lr_text
        );
    }
    let mut start = 0u64;
    let mut best_dev: Option<(u64, EvalSummary)> = None;
    let image_size = model.cfg.vision.image_size;
    let mut lcfg = LoaderConfig::train(image_size as u32, cfg.batch_size, cfg.seed);
    lcfg.workers = data.workers.max(1);
    lcfg.augment = cfg.augment.config();
    lcfg.skip_bad = data.skip_bad;
    let mut loader = Loader::new(data.train.clone(), lcfg)?;

    if run.resume {
        let loaded = checkpoint::load(&latest, run.device)
            .with_context(|| format!("--resume: loading {}", latest.display()))?;
        let stored: TrainConfig = loaded
            .meta
            .extra
            .get(EXTRA_TRAIN)
            .map(|s| serde_json::from_str(s))
            .transpose()?
            .context("--resume: the latest checkpoint has no training config")?;
        // The step budget may grow on resume (continuing a finished run); nothing else may change.
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
        if loaded.config != model.cfg {
            bail!("--resume: the model config differs from the interrupted run's");
        }
        tch::no_grad(|| vs.copy(&loaded.vs)).context("--resume: copying weights")?;
        let optim_name = loaded
            .meta
            .extra
            .get(EXTRA_OPTIM)
            .context("--resume: the latest checkpoint names no optimiser state")?;
        opt.load(&run.out_dir.join(optim_name), run.device)
            .context("--resume: loading optimiser state")?;
        start = loaded.meta.step.unwrap_or(0);
        if opt.steps_taken() as u64 != start {
            bail!(
                "--resume: optimiser state is at step {}, the model at step {start}",
                opt.steps_taken()
            );
        }
        if let Some(b) = loaded.meta.extra.get(EXTRA_BEST) {
            best_dev = serde_json::from_str(b).ok();
        }
        let state: LoaderState = loaded
            .meta
            .extra
            .get(EXTRA_LOADER)
            .map(|s| serde_json::from_str(s))
            .transpose()?
            .context("--resume: the latest checkpoint has no data-loader position")?;
        loader.restore(state)?;
    }

    let mut log = Log::open(&run.out_dir.join(LOG))?;
    let ids = prompts.ids_tensor(run.device);
    let end = run.stop_after.map_or(cfg.steps, |s| s.min(cfg.steps));
    let amp = cfg.amp && device_kind(run.device);
    // A frozen text tower (learning rate 0, so no gradients: `freeze_zero_lr_groups`) gives the
    // same class embeddings at every step: one forward pass instead of one per step.
    let frozen_class_emb = (cfg.adam.base_lr(Group::Text) == 0.0)
        .then(|| tch::autocast(amp, || tch::no_grad(|| class_embeddings(model, &ids))));
    let bar = if run.progress {
        indicatif::ProgressBar::new(cfg.steps)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_position(start);

    let mut final_loss = None;
    let t0 = Instant::now();
    let mut images = 0usize;
    for step in start..end {
        let batch = loader
            .next_batch()
            .with_context(|| format!("loading the batch of step {}", step + 1))?
            .context("the training data ran out")?;
        let (x, y) = batch_tensors(&batch, image_size, run.device)?;
        let loss_cfg = cfg.loss.at_step(step, cfg.steps);
        let terms = tch::autocast(amp, || {
            let class_emb = match &frozen_class_emb {
                Some(fixed) => fixed.shallow_clone(),
                None => class_embeddings(model, &ids),
            };
            let img = model.encode_image(&x, true);
            total_loss(
                &img.to_kind(Kind::Float),
                &class_emb.to_kind(Kind::Float),
                model.logit_scale(),
                &y,
                &loss_cfg,
            )
        });
        let total = terms.total.double_value(&[]);
        if !total.is_finite() {
            bail!(
                "the loss became {total} at step {}: lower the learning rate",
                step + 1
            );
        }
        opt.zero_grad();
        terms.total.backward();
        let lr_scale = cfg.schedule.factor(step, cfg.steps);
        opt.set_lr_scale(lr_scale);
        opt.step();
        images += batch.labels.len();
        final_loss = Some(total);
        let done = step + 1;
        let ips = images as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        let (ce, dm, cdm) = (
            terms.ce.double_value(&[]),
            terms.dm.double_value(&[]),
            terms.cdm.double_value(&[]),
        );
        bar.set_position(done);
        bar.set_message(format!(
            "loss {total:.4} (ce {ce:.4} dm {dm:.4} cdm {cdm:.4}) {ips:.1} img/s"
        ));
        log.write(serde_json::json!({
            "step": done, "loss": total, "ce": ce, "dm": dm, "cdm": cdm,
            "cdm_att": terms.cdm_att.double_value(&[]), "cdm_rep": terms.cdm_rep.double_value(&[]),
            "lambda_dm": loss_cfg.lambda_dm, "lambda_cdm": loss_cfg.lambda_cdm, "lr_scale": lr_scale,
            "images_per_s": ips, "elapsed_s": t0.elapsed().as_secs_f64(),
        }))?;

        let eval_now = cfg.eval_every > 0 && (done % cfg.eval_every == 0 || done == cfg.steps);
        if let Some(r) = crate::router_stats::record(done, eval_now, model, &x) {
            log.write(r)?;
        }
        if eval_now {
            if let Some(dev) = &data.dev {
                let batches = eval_batches(
                    dev,
                    image_size as u32,
                    cfg.batch_size,
                    data.workers,
                    data.skip_bad,
                )?;
                let scored = score_batches(model, &ids, batches, image_size, run.device)?;
                let s = EvalSummary::of(&scored);
                log.write(serde_json::json!({ "step": done, "dev": s }))?;
                bar.println(format!("step {done}: dev {}", s.one_line()));
                if best_dev.as_ref().is_none_or(|(_, b)| s.better_than(b)) {
                    best_dev = Some((done, s));
                    let saved = Saved {
                        step: done,
                        optim: None,
                        loader: None,
                        best: &best_dev,
                    };
                    save_model(&best, vs, model, meta, &prompts, cfg, &saved)?;
                }
            }
        }
        let checkpoint_now = eval_now || done == end;
        if checkpoint_now {
            let optim_name = format!("optim-{done}.safetensors");
            opt.save(&run.out_dir.join(&optim_name))?;
            let state = loader.state();
            let saved = Saved {
                step: done,
                optim: Some(&optim_name),
                loader: Some(&state),
                best: &best_dev,
            };
            save_model(&latest, vs, model, meta, &prompts, cfg, &saved)?;
            remove_stale_optim(&run.out_dir, &optim_name);
        }
    }
    bar.finish_and_clear();
    if !best.exists() && latest.exists() {
        // No dev set: the best model is the last one.
        std::fs::copy(&latest, &best).with_context(|| format!("writing {}", best.display()))?;
    }
    Ok(TrainSummary {
        steps: end,
        final_loss,
        best_step: best_dev.as_ref().map(|(s, _)| *s),
        best_dev: best_dev.map(|(_, s)| s),
        skipped_images: loader.skipped().1,
        latest,
        best,
    })
}

/// The training state a checkpoint records besides the weights.
struct Saved<'a> {
    step: u64,
    /// The optimiser file that belongs to this checkpoint (`latest` only).
    optim: Option<&'a str>,
    /// Where the data loader stands (`latest` only).
    loader: Option<&'a LoaderState>,
    best: &'a Option<(u64, EvalSummary)>,
}

fn save_model(
    path: &Path,
    vs: &tch::nn::VarStore,
    model: &MoaeClip,
    meta: &CheckpointMeta,
    prompts: &crate::prompts::PromptSet,
    cfg: &TrainConfig,
    saved: &Saved,
) -> Result<()> {
    let mut m = meta.clone();
    m.prompts = Some(prompts.clone());
    m.step = Some(saved.step);
    m.extra
        .insert(EXTRA_TRAIN.into(), serde_json::to_string(cfg)?);
    m.extra.remove(EXTRA_OPTIM);
    m.extra.remove(EXTRA_LOADER);
    if let Some(o) = saved.optim {
        m.extra.insert(EXTRA_OPTIM.into(), o.to_string());
    }
    if let Some(l) = saved.loader {
        m.extra
            .insert(EXTRA_LOADER.into(), serde_json::to_string(l)?);
    }
    if let Some(b) = saved.best {
        m.extra.insert(EXTRA_BEST.into(), serde_json::to_string(b)?);
    }
    checkpoint::save(path, &model.cfg, vs, &m)
        .with_context(|| format!("saving checkpoint {}", path.display()))
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
