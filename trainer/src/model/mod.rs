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
use crate::model::config::ModelConfig;
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
