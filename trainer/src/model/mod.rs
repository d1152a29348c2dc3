//! The MoAE-CR model: HF-named CLIP towers, the expert modules and the projections (spec §1–2, §4).
//!
//! Typical use (a training step; see `train::losses` and `prompts`):
//!
//! ```no_run
//! use moae_trainer::model::{config::*, prompts::*, MoaeClip};
//! use moae_trainer::train::losses::*;
//! use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};
//!
//! let cfg = ModelConfig::preset("small", Variant::Moae).unwrap();
//! let vs = nn::VarStore::new(Device::Cpu);
//! let model = MoaeClip::new(&vs.root(), &cfg);
//! let prompt_ids = PromptSet::default_byte_level(77).ids_tensor(Device::Cpu); // [12, 77]
//! let mut opt = nn::Adam::default().build(&vs, 1e-6).unwrap();
//! opt.set_lr_group(1, 1e-4); // group 1 = the expert modules (spec §5)
//! let pixels = Tensor::zeros([4, 3, 64, 64], (Kind::Float, Device::Cpu)); // CLIP-normalised
//! let labels = Tensor::from_slice(&[0i64, 1, 0, 1]);
//! model.check_pixels(&pixels).unwrap();
//! let img = model.encode_image(&pixels, true); // [4, proj], not normalised
//! let cls = class_embeddings(&model, &prompt_ids); // [2, proj], unit rows
//! let loss = total_loss(&img, &cls, model.logit_scale(), &labels, &LossConfig::default());
//! opt.backward_step(&loss.total);
//! ```

pub mod checkpoint;
pub mod clip;
pub mod config;
pub mod experts;
pub mod hf_import;
pub mod info;
pub mod primitives;
pub mod prompts;
pub mod student;
pub mod tokenizer;

use crate::model::clip::{TextTower, VisionTower};
use crate::model::config::{ConfigError, ModelConfig, Variant, PRESETS};
use crate::model::student::{Student, StudentConfig};
use tch::nn::{self, Module};
use tch::Tensor;

/// CLIP + expert modules. All parameters live in the `VarStore` behind the `nn::Path` given to
/// [`MoaeClip::new`], named as in HF `CLIPModel` (`vision_model.*`, `text_model.*`,
/// `visual_projection.weight`, `text_projection.weight`, `logit_scale`), expert modules under
/// `vision_model.encoder.layers.{i}.{moae|softmoe}.*` in optimiser group 1 (all others group 0).
#[derive(Debug)]
pub struct MoaeClip {
    pub cfg: ModelConfig,
    pub vision: VisionTower,
    pub text: TextTower,
    /// `visual_projection.weight` [proj, vision width], no bias.
    pub visual_projection: nn::Linear,
    /// `text_projection.weight` [proj, text width], no bias.
    pub text_projection: nn::Linear,
    /// `logit_scale` [], a log (used as exp()).
    pub logit_scale: Tensor,
}

impl MoaeClip {
    /// Builds the model with fresh (HF-style) initialisation. `p` should be a VarStore root so
    /// that names equal HF names. The config must be valid ([`ModelConfig::validate`]).
    pub fn new(p: &nn::Path, cfg: &ModelConfig) -> Self {
        let dv = cfg.vision.width;
        let dt = cfg.text.width;
        let proj = cfg.projection_dim;
        MoaeClip {
            cfg: cfg.clone(),
            vision: VisionTower::new(p / "vision_model", cfg),
            text: TextTower::new(p / "text_model", cfg),
            visual_projection: crate::model::primitives::linear(
                p / "visual_projection",
                dv,
                proj,
                (dv as f64).powf(-0.5),
                false,
            ),
            text_projection: crate::model::primitives::linear(
                p / "text_projection",
                dt,
                proj,
                (dt as f64).powf(-0.5),
                false,
            ),
            logit_scale: p.var("logit_scale", &[], nn::Init::Const(cfg.logit_scale_init)),
        }
    }

    /// Projected image features, **not** normalised: pixels [N, 3, S, S] (CLIP-normalised)
    /// → [N, proj]. `train` is accepted for API stability; CLIP has no dropout, so it does
    /// not change the math.
    pub fn encode_image(&self, pixels: &Tensor, train: bool) -> Tensor {
        let _ = train;
        self.visual_projection.forward(&self.vision.forward(pixels))
    }

    /// Projected text features, not normalised: ids [B, t] int64 → [B, proj].
    pub fn encode_text(&self, ids: &Tensor) -> Tensor {
        self.text_projection.forward(&self.text.forward(ids))
    }

    /// Checks that `pixels` is a float [N, 3, S, S] batch with S = `vision.image_size`
    /// (the forward functions assume it and would panic inside libtorch otherwise).
    pub fn check_pixels(&self, pixels: &Tensor) -> Result<(), InputError> {
        let s = self.cfg.vision.image_size;
        let size = pixels.size();
        let ok = size.len() == 4 && size[1] == 3 && size[2] == s && size[3] == s && size[0] > 0;
        if !ok {
            return Err(InputError(format!(
                "images must be [N, 3, {s}, {s}] (preset `{}`), got {size:?}",
                self.cfg.preset
            )));
        }
        if !pixels.is_floating_point() {
            return Err(InputError(format!(
                "images must be float, got {:?}",
                pixels.kind()
            )));
        }
        Ok(())
    }

    /// Checks that `ids` is an int64 [B, t] batch with 0 < t ≤ context and ids < vocab.
    pub fn check_ids(&self, ids: &Tensor) -> Result<(), InputError> {
        let t = &self.cfg.text;
        let size = ids.size();
        if size.len() != 2 || size[0] == 0 || size[1] == 0 || size[1] > t.context_length {
            return Err(InputError(format!(
                "token ids must be [B, t] with 0 < t <= {}, got {size:?}",
                t.context_length
            )));
        }
        if ids.kind() != tch::Kind::Int64 {
            return Err(InputError(format!(
                "token ids must be int64, got {:?}",
                ids.kind()
            )));
        }
        let (lo, hi) = (ids.min().int64_value(&[]), ids.max().int64_value(&[]));
        if lo < 0 || hi >= t.vocab_size {
            return Err(InputError(format!(
                "token ids must lie in 0..{}, got {lo}..={hi}",
                t.vocab_size
            )));
        }
        Ok(())
    }

    /// The `logit_scale` parameter (a log).
    pub fn logit_scale(&self) -> &Tensor {
        &self.logit_scale
    }

    /// Zero-shot classifier logits [N, C] = exp(logit_scale) · norm(img) · norm(class_emb)ᵀ,
    /// `img` [N, proj] (raw image features), `class_emb` [C, proj].
    pub fn classifier_logits(&self, img: &Tensor, class_emb: &Tensor) -> Tensor {
        classifier_logits(img, class_emb, &self.logit_scale)
    }
}

/// An input batch the model cannot take.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct InputError(pub String);

/// Row-wise l2 normalisation over the last axis (like `F.normalize`, eps 1e-12).
pub fn l2norm(x: &Tensor) -> Tensor {
    x / x
        .norm_scalaropt_dim(2, [-1i64].as_slice(), true)
        .clamp_min(1e-12)
}

/// `exp(logit_scale) · norm(img) · norm(class_emb)ᵀ` → [N, C].
pub fn classifier_logits(img: &Tensor, class_emb: &Tensor, logit_scale: &Tensor) -> Tensor {
    l2norm(img).matmul(&l2norm(class_emb).transpose(0, 1)) * logit_scale.exp()
}

/// The config of a model of either family, as a checkpoint or ONNX file stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum NetConfig {
    Clip(ModelConfig),
    Student(StudentConfig),
}

impl NetConfig {
    /// A preset by name: `student-s` / `student-m` are students, the others CLIP presets with
    /// `variant`.
    pub fn preset(name: &str, variant: Variant) -> Result<Self, String> {
        if student::PRESETS.contains(&name) {
            return StudentConfig::preset(name)
                .map(NetConfig::Student)
                .map_err(|e| e.to_string());
        }
        ModelConfig::preset(name, variant)
            .map(NetConfig::Clip)
            .map_err(|e| match e {
                ConfigError::UnknownPreset(p) => format!(
                    "unknown preset `{p}` (known: {}, {})",
                    PRESETS.join(", "),
                    student::PRESETS.join(", ")
                ),
                e => e.to_string(),
            })
    }

    /// Parses and validates either family (`"family": "student"` marks a student).
    pub fn from_json(s: &str) -> Result<Self, String> {
        if student::is_student_json(s) {
            StudentConfig::from_json(s)
                .map(NetConfig::Student)
                .map_err(|e| e.to_string())
        } else {
            ModelConfig::from_json(s)
                .map(NetConfig::Clip)
                .map_err(|e| e.to_string())
        }
    }

    /// Builds the model with fresh weights under `p` (a VarStore root).
    pub fn build(&self, p: &nn::Path) -> Net {
        match self {
            NetConfig::Clip(c) => Net::Clip(MoaeClip::new(p, c)),
            NetConfig::Student(c) => Net::Student(Student::new(p, c)),
        }
    }
}

/// A model of either family: the paper's CLIP / MoAE-CR (the teacher) or a student (spec §9).
#[derive(Debug)]
pub enum Net {
    Clip(MoaeClip),
    Student(Student),
}

/// The input a model takes: `[N, 3, size, size]` RGB in [0, 1], normalised with mean and std.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputSpec {
    pub size: i64,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// A borrowed model of either family (what training and scoring take; `&MoaeClip` and `&Net`
/// convert into it).
#[derive(Debug, Clone, Copy)]
pub enum NetRef<'a> {
    Clip(&'a MoaeClip),
    Student(&'a Student),
}

impl<'a> From<&'a MoaeClip> for NetRef<'a> {
    fn from(m: &'a MoaeClip) -> Self {
        NetRef::Clip(m)
    }
}

impl<'a> From<&'a Net> for NetRef<'a> {
    fn from(n: &'a Net) -> Self {
        match n {
            Net::Clip(m) => NetRef::Clip(m),
            Net::Student(s) => NetRef::Student(s),
        }
    }
}

impl<'a> NetRef<'a> {
    pub fn config_json(self) -> String {
        match self {
            NetRef::Clip(m) => m.cfg.to_json(),
            NetRef::Student(s) => s.cfg.to_json(),
        }
    }

    pub fn preset(self) -> &'a str {
        match self {
            NetRef::Clip(m) => &m.cfg.preset,
            NetRef::Student(s) => &s.cfg.preset,
        }
    }

    /// `clip`, `softmoe`, `moae` or `student`.
    pub fn kind(self) -> &'static str {
        match self {
            NetRef::Clip(m) => m.cfg.experts.variant.name(),
            NetRef::Student(_) => "student",
        }
    }

    pub fn input(self) -> InputSpec {
        match self {
            NetRef::Clip(m) => InputSpec::from(&m.cfg.vision),
            NetRef::Student(s) => InputSpec {
                size: s.cfg.image_size,
                mean: s.cfg.mean,
                std: s.cfg.std,
            },
        }
    }
}

impl From<&config::VisionConfig> for InputSpec {
    fn from(v: &config::VisionConfig) -> Self {
        InputSpec {
            size: v.image_size,
            mean: v.mean,
            std: v.std,
        }
    }
}

impl Net {
    pub fn as_ref(&self) -> NetRef<'_> {
        NetRef::from(self)
    }

    pub fn config(&self) -> NetConfig {
        match self {
            Net::Clip(m) => NetConfig::Clip(m.cfg.clone()),
            Net::Student(s) => NetConfig::Student(s.cfg.clone()),
        }
    }

    pub fn config_json(&self) -> String {
        self.as_ref().config_json()
    }

    pub fn preset(&self) -> &str {
        self.as_ref().preset()
    }

    /// `clip`, `softmoe`, `moae` or `student`.
    pub fn kind(&self) -> &'static str {
        self.as_ref().kind()
    }

    pub fn input(&self) -> InputSpec {
        self.as_ref().input()
    }
}
