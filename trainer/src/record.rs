//! The plain data a checkpoint records about the training run that wrote it: its settings
//! (optimiser, schedule, losses, augmentation) and where it stands (optimiser file, data
//! position, best dev evaluation). A leaf below `model`, so that checkpoints read it typed;
//! the code that uses each type lives with training and evaluation.

use crate::data::augment::AugmentLevel;
use crate::data::loader::LoaderState;
use crate::data::spoof_cues::SpoofCueConfig;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The optimiser's settings: a learning rate per parameter group, weight decay, moments (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate of group 0 (pretrained CLIP weights).
    pub lr: f64,
    /// Learning rate of group 1 (new expert modules; spec §5).
    pub lr_new: f64,
    /// Learning rate of the text tower (`text_model.*`, `text_projection.*`); `None` = `lr`.
    /// A model trained from random weights needs it far below `lr`: otherwise the text tower
    /// learns first to make both class embeddings identical (CE = ln 2, which is optimal while
    /// the image features carry no class information yet), and from then on CE sends no
    /// gradient to the image tower at all — training stalls at chance. `Some(0.0)` freezes it
    /// (as 0 does for any group: see [`crate::train::optim::freeze_zero_lr_groups`]).
    #[serde(default)]
    pub lr_text: Option<f64>,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

/// How the learning rates change over a run: a factor of the configured rates per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The configured rates throughout (the paper's fine-tuning).
    #[default]
    Constant,
    /// Linear warm-up over the first 5 % of the steps, then a cosine decay to 0 at the last
    /// step: what a ViT trained from random weights needs to settle in a few hundred steps.
    Cosine,
}

/// Which form of the classification loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CeForm {
    /// Cross-entropy over the two class logits (zero-shot classifier form; default, spec §4).
    Classifier,
    /// The paper's symmetric image–text Eq. 1 over the batch's N pairs (ill-posed when many
    /// images share a prompt; offered as an option).
    Symmetric,
}

/// Loss weights and hyper-parameters (Eq. 14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    pub ce_form: CeForm,
    pub lambda_dm: f64,
    pub lambda_cdm: f64,
    /// DM margin t (spec §3).
    pub dm_margin: f64,
    /// λ_dm and λ_cdm ramp linearly from 0 to their values over this fraction of the run's
    /// steps (0: no ramp). A model trained from random weights has no class structure yet for DM/CDM to
    /// sharpen: at full weight from step 0 the CDM attraction (a constant-size pull of every
    /// feature to its batch class centre) drowns the CE signal and training stalls at chance.
    #[serde(default)]
    pub reg_warmup: f64,
}

/// What a dev evaluation during training reports, and how two are compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    pub n: usize,
    /// The set's own equal-error rate.
    pub eer: Option<f64>,
    pub auc: Option<f64>,
    /// ACER at the set's own EER threshold.
    pub acer: Option<f64>,
    pub threshold: Option<f64>,
}

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
    /// Spoof-cue augmentation of live images (spec §9; absent in older checkpoints: off).
    #[serde(default)]
    pub spoof_cues: SpoofCueConfig,
    /// Distillation from a teacher (spec §9), which `train::train_distilled` is given.
    #[serde(default)]
    pub distill: Option<DistillConfig>,
    /// Quantisation-aware fine-tuning of a student (`train::qat`); a checkpoint that has it
    /// was tuned for the int8 export these settings describe.
    #[serde(default)]
    pub qat: Option<QatConfig>,
}

/// The int8 export a quantisation-aware run simulates (the `trainer export --quantize int8`
/// options of the same names) and its calibration set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QatConfig {
    /// Activation ranges: the (100 − p)-th to p-th percentile of the calibration values.
    pub calib_percentile: f64,
    /// Leading stages (stem, blocks) left in float.
    pub float_front: usize,
    /// ±63 weights (else ±127).
    pub reduce_range: bool,
    /// Weight of the term that pulls the fake-quantised attack logit margin to the float
    /// one of the same weights (`train::qat::agreement_term`; 0: plain QAT).
    #[serde(default)]
    pub agreement: f64,
    /// Int8 layers after the float front kept in float too: the most sensitive ones on the
    /// calibration images, chosen again at every calibration (`--float-sensitive`).
    #[serde(default)]
    pub float_sensitive: usize,
    /// The calibration list's path as given, and its number of images (for the record).
    pub calib_list: String,
    pub calib_images: usize,
}

/// The distillation settings of a run (stored in its checkpoints: a resumed run must use the
/// same teacher, identified by its file's SHA-256).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillConfig {
    pub alpha: f64,
    pub temperature: f64,
    /// SHA-256 of the teacher checkpoint file (hex).
    pub teacher_sha256: String,
    /// The teacher's preset and input side, for the record.
    pub teacher_preset: String,
    pub teacher_image_size: i64,
}

impl DistillConfig {
    pub fn validate(&self) -> Result<()> {
        let mut bad = Vec::new();
        if !(self.alpha.is_finite() && (0.0..=100.0).contains(&self.alpha)) {
            bad.push(format!("alpha must be in [0, 100], is {}", self.alpha));
        }
        if !(self.temperature.is_finite() && (0.05..=100.0).contains(&self.temperature)) {
            bad.push(format!(
                "the temperature must be in [0.05, 100], is {}",
                self.temperature
            ));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            bail!("invalid distillation settings: {}", bad.join("; "))
        }
    }
}

/// Most steps a run may ask for (a budget, not a limit of the loop: far beyond any real run).
pub const MAX_STEPS: u64 = 1_000_000_000;
/// Most images per training batch.
pub const MAX_BATCH: usize = 4096;

impl TrainConfig {
    /// Every number in range, as a named error (the library's guard; the CLI bounds its flags
    /// too).
    pub fn validate(&self) -> Result<()> {
        let mut bad = Vec::new();
        if !(1..=MAX_STEPS).contains(&self.steps) {
            bad.push(format!(
                "steps must be in 1..={MAX_STEPS}, is {}",
                self.steps
            ));
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            bad.push(format!(
                "batch size must be in 1..={MAX_BATCH}, is {}",
                self.batch_size
            ));
        }
        let a = &self.adam;
        let rates = [
            ("lr", Some(a.lr)),
            ("lr_new", Some(a.lr_new)),
            ("lr_text", a.lr_text),
            ("weight_decay", Some(a.weight_decay)),
            ("lambda_dm", Some(self.loss.lambda_dm)),
            ("lambda_cdm", Some(self.loss.lambda_cdm)),
        ];
        for (name, v) in rates {
            if let Some(v) = v.filter(|v| !(v.is_finite() && (0.0..=10.0).contains(v))) {
                bad.push(format!("{name} must be a number in [0, 10], is {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.loss.reg_warmup) {
            bad.push(format!(
                "reg_warmup must be a fraction in [0, 1], is {}",
                self.loss.reg_warmup
            ));
        }
        if let Err(e) = self.spoof_cues.validate() {
            bad.push(e);
        }
        if let Some(Err(e)) = self.distill.as_ref().map(DistillConfig::validate) {
            bad.push(format!("{e:#}"));
        }
        if let Some(q) = &self.qat {
            let p = q.calib_percentile;
            if !(p > 50.0 && p <= 100.0) {
                bad.push(format!(
                    "the QAT calibration percentile must be in (50, 100], is {p}"
                ));
            }
            if !(q.agreement.is_finite() && (0.0..=100.0).contains(&q.agreement)) {
                bad.push(format!(
                    "the QAT agreement weight must be in [0, 100], is {}",
                    q.agreement
                ));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            bail!("invalid training settings: {}", bad.join("; "))
        }
    }
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
            spoof_cues: SpoofCueConfig::default(),
            distill: None,
            qat: None,
        }
    }
}

/// The best dev evaluation so far and the step it was made at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRecord {
    pub step: u64,
    pub dev: EvalSummary,
}

/// The training state a checkpoint records besides the weights (its `meta.train`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The settings of the run that wrote it (a resumed run must use the same).
    pub config: TrainConfig,
    /// The optimiser file that belongs to this checkpoint (`latest` only).
    pub optim: Option<String>,
    /// Where the data loader stands (`latest` only).
    pub loader: Option<LoaderState>,
    pub best: Option<BestRecord>,
}
