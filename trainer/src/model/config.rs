//! Model configuration: plain data, serialised as JSON into every checkpoint (spec §1).
//!
//! A preset is a function returning one of these structs; nothing about the architecture is
//! hard-coded elsewhere. [`ModelConfig::validate`] checks the invariants the model relies on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// OpenAI CLIP image normalisation (spec §1), applied to RGB in [0, 1]; OpenAI's digits, kept
/// verbatim.
#[allow(clippy::excessive_precision)]
pub const CLIP_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
#[allow(clippy::excessive_precision)]
pub const CLIP_STD: [f32; 3] = [0.268_629_54, 0.261_302_58, 0.275_777_11];

/// CLIP's `<|startoftext|>` and `<|endoftext|>` ids in the 49408-entry vocabulary.
pub const SOT_TOKEN: i64 = 49406;
pub const EOT_TOKEN: i64 = 49407;

/// Names of the presets [`ModelConfig::preset`] knows.
pub const PRESETS: [&str; 3] = ["vit-b16", "small", "tiny"];

/// Which expert module sits parallel to the MLP of the selected vision blocks (spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// No expert module: plain CLIP.
    Clip,
    /// Soft MoE (vmoe SoftRouter) baseline.
    #[serde(rename = "softmoe")]
    SoftMoe,
    /// Mixture-of-Attack-Experts.
    Moae,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Clip => "clip",
            Variant::SoftMoe => "softmoe",
            Variant::Moae => "moae",
        }
    }

    /// VarStore sub-path of the expert module inside a block (`…layers.{i}.<this>.…`),
    /// `None` for `clip`.
    pub fn module_name(self) -> Option<&'static str> {
        match self {
            Variant::Clip => None,
            Variant::SoftMoe => Some("softmoe"),
            Variant::Moae => Some("moae"),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The vision tower (HF `CLIPVisionConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisionConfig {
    /// Square input side in pixels.
    pub image_size: i64,
    pub patch_size: i64,
    /// Token width d (HF `hidden_size`).
    pub width: i64,
    pub layers: i64,
    pub heads: i64,
    /// MLP hidden width (HF `intermediate_size`).
    pub mlp_dim: i64,
    /// RGB normalisation the tower expects (applied to pixels in [0, 1]).
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl VisionConfig {
    /// Patches per side.
    pub fn grid(&self) -> i64 {
        self.image_size / self.patch_size
    }

    /// Tokens per image: the class token plus one per patch.
    pub fn tokens(&self) -> i64 {
        1 + self.grid() * self.grid()
    }
}

/// The text tower (HF `CLIPTextConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    pub vocab_size: i64,
    /// Context length (HF `max_position_embeddings`), 77 for CLIP.
    pub context_length: i64,
    pub width: i64,
    pub layers: i64,
    pub heads: i64,
    pub mlp_dim: i64,
}

/// The expert module (spec §2). Ignored apart from `variant` when `variant` is `clip`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertConfig {
    pub variant: Variant,
    /// m, number of experts.
    pub num_experts: i64,
    /// s, slots per expert; `None` = ceil(tokens / m).
    pub slots_per_expert: Option<i64>,
    /// H, MoAE attention heads (unused by `softmoe`).
    pub heads: i64,
    /// r, expert hidden width = r · (expert input width).
    pub ratio: i64,
    /// Vision blocks that get an expert module; `None` = all.
    pub layers: Option<Vec<i64>>,
}

impl ExpertConfig {
    /// The paper's defaults for `variant`: m = 4, H = 2, r = 4, s = ceil(tokens/m), all layers.
    pub fn paper(variant: Variant) -> Self {
        ExpertConfig {
            variant,
            num_experts: 4,
            slots_per_expert: None,
            heads: 2,
            ratio: 4,
            layers: None,
        }
    }
}

/// The whole model. Serialised as JSON into every checkpoint and ONNX file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Preset this config started from (informational; the fields below are authoritative).
    pub preset: String,
    pub vision: VisionConfig,
    pub text: TextConfig,
    pub projection_dim: i64,
    pub experts: ExpertConfig,
    /// Initial value of `logit_scale` (a log; used as exp()).
    pub logit_scale_init: f64,
    pub layer_norm_eps: f64,
}

/// Upper bounds of the size fields: far above every real CLIP (ViT-bigG has 48 layers, width
/// 1664), low enough that a damaged or hostile config is a named error before libtorch tries
/// to allocate it (`vision.layers = 100000` used to abort in tch).
fn limit(field: &str) -> i64 {
    match field {
        "vision.image_size" => 4096,
        "vision.patch_size" => 512,
        "vision.layers" | "text.layers" => 128,
        "vision.heads" | "text.heads" | "experts.heads" => 256,
        "vision.width" | "text.width" | "projection_dim" => 16384,
        "vision.mlp_dim" | "text.mlp_dim" => 65536,
        "text.vocab_size" => 1 << 20,
        "text.context_length" => 4096,
        "experts.num_experts" | "experts.ratio" => 64,
        "experts.slots_per_expert" => MAX_TOKENS,
        _ => i64::MAX,
    }
}

/// At most this many (approximate) parameters: 4·10⁹ (16 GB in fp32).
pub const MAX_PARAMS: i64 = 4_000_000_000;
/// At most this many vision tokens per image (the attention matrix is tokens²).
pub const MAX_TOKENS: i64 = 16_384;

/// A config that cannot describe a model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("unknown preset `{0}` (known: vit-b16, small, tiny)")]
    UnknownPreset(String),
    #[error("invalid model config: {0}")]
    Invalid(String),
    #[error("model config JSON is malformed: {0}")]
    Json(String),
}

impl ModelConfig {
    /// A named preset with the given expert variant (the paper's expert defaults).
    pub fn preset(name: &str, variant: Variant) -> Result<Self, ConfigError> {
        let experts = ExpertConfig::paper(variant);
        let cfg = match name {
            // HF openai/clip-vit-base-patch16, exactly.
            "vit-b16" => ModelConfig {
                preset: name.into(),
                vision: VisionConfig {
                    image_size: 224,
                    patch_size: 16,
                    width: 768,
                    layers: 12,
                    heads: 12,
                    mlp_dim: 3072,
                    mean: CLIP_MEAN,
                    std: CLIP_STD,
                },
                text: TextConfig {
                    vocab_size: 49408,
                    context_length: 77,
                    width: 512,
                    layers: 12,
                    heads: 8,
                    mlp_dim: 2048,
                },
                projection_dim: 512,
                experts,
                logit_scale_init: (1.0f64 / 0.07).ln(),
                layer_norm_eps: 1e-5,
            },
            // CPU training in minutes. The full CLIP vocabulary is kept so that the real
            // tokenizer (or its byte-level fallback, see `prompts`) works unchanged.
            "small" => ModelConfig {
                preset: name.into(),
                vision: VisionConfig {
                    // 8-px patches (65 tokens): a ViT from random weights learns the synthetic
                    // set's few-pixel attack textures several times faster than with 16-px
                    // patches (17 tokens), for ~0.4 s a step at batch 32 on two CPU cores.
                    image_size: 64,
                    patch_size: 8,
                    width: 128,
                    layers: 4,
                    heads: 4,
                    mlp_dim: 512,
                    mean: CLIP_MEAN,
                    std: CLIP_STD,
                },
                text: TextConfig {
                    vocab_size: 49408,
                    context_length: 77,
                    width: 128,
                    layers: 2,
                    heads: 4,
                    mlp_dim: 512,
                },
                projection_dim: 128,
                experts,
                logit_scale_init: (1.0f64 / 0.07).ln(),
                layer_norm_eps: 1e-5,
            },
            // Unit tests: a forward pass in milliseconds.
            "tiny" => ModelConfig {
                preset: name.into(),
                vision: VisionConfig {
                    image_size: 32,
                    patch_size: 8,
                    width: 32,
                    layers: 2,
                    heads: 2,
                    mlp_dim: 64,
                    mean: CLIP_MEAN,
                    std: CLIP_STD,
                },
                text: TextConfig {
                    vocab_size: 49408,
                    context_length: 77,
                    width: 32,
                    layers: 1,
                    heads: 2,
                    mlp_dim: 64,
                },
                projection_dim: 32,
                experts,
                logit_scale_init: (1.0f64 / 0.07).ln(),
                layer_norm_eps: 1e-5,
            },
            other => return Err(ConfigError::UnknownPreset(other.to_string())),
        };
        Ok(cfg)
    }

    /// s, slots per expert, resolved (ceil(tokens/m) when not set).
    pub fn slots_per_expert(&self) -> i64 {
        let m = self.experts.num_experts.max(1);
        self.experts
            .slots_per_expert
            .unwrap_or_else(|| (self.vision.tokens() + m - 1) / m)
    }

    /// Whether vision block `layer` carries an expert module.
    pub fn has_experts(&self, layer: i64) -> bool {
        self.experts.variant != Variant::Clip
            && self
                .experts
                .layers
                .as_ref()
                .is_none_or(|ls| ls.contains(&layer))
    }

    /// The parameter count, roughly (transformer blocks, embeddings, experts), to refuse a
    /// config too large to allocate before libtorch tries. Call only with sizes in range.
    pub fn approx_params(&self) -> i64 {
        let (v, t, e) = (&self.vision, &self.text, &self.experts);
        let block = |w: i64, mlp: i64| 4 * w * w + 2 * w * mlp;
        let expert = if e.variant == Variant::Clip {
            0
        } else {
            e.num_experts * 2 * e.ratio * v.width * v.width
        };
        v.layers * (block(v.width, v.mlp_dim) + expert)
            + t.layers * block(t.width, t.mlp_dim)
            + 3 * v.patch_size * v.patch_size * v.width
            + (t.vocab_size + t.context_length) * t.width
            + v.tokens() * v.width
            + self.projection_dim * (v.width + t.width)
    }

    /// Checks the invariants the model relies on; every problem is listed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut bad = self.size_problems();
        if bad.is_empty() {
            // Only meaningful (and overflow-free) once every size is in range.
            bad.extend(self.budget_problems());
        }
        bad.extend(self.shape_problems());
        bad.extend(self.expert_problems());
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(bad.join("; ")))
        }
    }

    /// Every size field within `1..=limit`.
    fn size_problems(&self) -> Vec<String> {
        let (v, t, e) = (&self.vision, &self.text, &self.experts);
        let mut sizes = vec![
            ("vision.image_size", Some(v.image_size)),
            ("vision.patch_size", Some(v.patch_size)),
            ("vision.width", Some(v.width)),
            ("vision.layers", Some(v.layers)),
            ("vision.heads", Some(v.heads)),
            ("vision.mlp_dim", Some(v.mlp_dim)),
            ("text.vocab_size", Some(t.vocab_size)),
            ("text.context_length", Some(t.context_length)),
            ("text.width", Some(t.width)),
            ("text.layers", Some(t.layers)),
            ("text.heads", Some(t.heads)),
            ("text.mlp_dim", Some(t.mlp_dim)),
            ("projection_dim", Some(self.projection_dim)),
        ];
        if e.variant != Variant::Clip {
            sizes.extend([
                ("experts.num_experts", Some(e.num_experts)),
                ("experts.slots_per_expert", e.slots_per_expert),
                ("experts.ratio", Some(e.ratio)),
            ]);
        }
        sizes
            .into_iter()
            .filter_map(|(name, val)| {
                let (x, max) = (val?, limit(name));
                (x <= 0 || x > max).then(|| format!("{name} must be in 1..={max}, is {x}"))
            })
            .collect()
    }

    /// The whole model within [`MAX_PARAMS`] and [`MAX_TOKENS`] (sizes already in range).
    fn budget_problems(&self) -> Vec<String> {
        let mut bad = Vec::new();
        let params = self.approx_params();
        if params > MAX_PARAMS {
            bad.push(format!(
                "the config describes ~{:.1e} parameters, above the limit of {MAX_PARAMS:.0e}",
                params as f64
            ));
        }
        if self.vision.tokens() > MAX_TOKENS {
            bad.push(format!(
                "vision tokens (1 + (image_size/patch_size)²) = {}, above {MAX_TOKENS}",
                self.vision.tokens()
            ));
        }
        bad
    }

    /// Divisibility, normalisation and the float fields.
    fn shape_problems(&self) -> Vec<String> {
        let (v, t) = (&self.vision, &self.text);
        let mut bad = Vec::new();
        if v.patch_size > 0 && v.image_size % v.patch_size != 0 {
            bad.push(format!(
                "vision.image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            ));
        }
        for (tower, width, heads) in [("vision", v.width, v.heads), ("text", t.width, t.heads)] {
            if heads > 0 && width % heads != 0 {
                bad.push(format!(
                    "{tower}.width {width} not divisible by heads {heads}"
                ));
            }
        }
        for (name, vals) in [("vision.mean", v.mean), ("vision.std", v.std)] {
            let std = name == "vision.std";
            if !vals.iter().all(|&x| x.is_finite() && (!std || x > 0.0)) {
                let pos = if std { " and positive" } else { "" };
                bad.push(format!("{name} must be finite{pos}, is {vals:?}"));
            }
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps <= 0.1) {
            bad.push(format!(
                "layer_norm_eps must be in (0, 0.1], is {}",
                self.layer_norm_eps
            ));
        }
        if !self.logit_scale_init.is_finite() || self.logit_scale_init.abs() > 100.0 {
            bad.push(format!(
                "logit_scale_init must be finite and within ±100 (a log), is {}",
                self.logit_scale_init
            ));
        }
        bad
    }

    /// The expert module's heads and layer list.
    fn expert_problems(&self) -> Vec<String> {
        let (v, e) = (&self.vision, &self.experts);
        let mut bad = Vec::new();
        if e.variant == Variant::Clip {
            return bad;
        }
        if e.variant == Variant::Moae
            && (e.heads <= 0 || e.heads > limit("experts.heads") || v.width % e.heads != 0)
        {
            bad.push(format!(
                "experts.heads {} must be positive and divide vision.width {}",
                e.heads, v.width
            ));
        }
        for &l in e.layers.iter().flatten() {
            if l < 0 || l >= v.layers {
                bad.push(format!(
                    "experts.layers contains {l}, outside 0..{}",
                    v.layers
                ));
            }
        }
        bad
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("ModelConfig serialises")
    }

    /// Parses and validates.
    pub fn from_json(s: &str) -> Result<Self, ConfigError> {
        let cfg: ModelConfig =
            serde_json::from_str(s).map_err(|e| ConfigError::Json(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_round_trip_json() {
        for name in PRESETS {
            for variant in [Variant::Clip, Variant::SoftMoe, Variant::Moae] {
                let cfg = ModelConfig::preset(name, variant).unwrap();
                cfg.validate().unwrap();
                assert_eq!(ModelConfig::from_json(&cfg.to_json()).unwrap(), cfg);
            }
        }
        assert!(matches!(
            ModelConfig::preset("vit-h14", Variant::Clip),
            Err(ConfigError::UnknownPreset(_))
        ));
    }

    #[test]
    fn variant_names_are_lowercase_in_json() {
        assert_eq!(
            serde_json::to_string(&Variant::SoftMoe).unwrap(),
            "\"softmoe\""
        );
        assert_eq!(serde_json::to_string(&Variant::Moae).unwrap(), "\"moae\"");
        let v: Variant = serde_json::from_str("\"clip\"").unwrap();
        assert_eq!(v, Variant::Clip);
    }

    #[test]
    fn slots_default_to_ceil_tokens_over_experts() {
        let cfg = ModelConfig::preset("vit-b16", Variant::Moae).unwrap();
        assert_eq!(cfg.vision.tokens(), 197);
        assert_eq!(cfg.slots_per_expert(), 50);
    }

    #[test]
    fn invalid_configs_list_every_problem() {
        let mut cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
        cfg.vision.patch_size = 7;
        cfg.experts.heads = 3;
        cfg.experts.layers = Some(vec![5]);
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("patch_size"), "{err}");
        assert!(err.contains("experts.heads"), "{err}");
        assert!(err.contains("contains 5"), "{err}");
    }

    #[test]
    fn absurd_sizes_and_non_finite_numbers_are_named() {
        let base = ModelConfig::preset("tiny", Variant::Moae).unwrap();
        type Edit = fn(&mut ModelConfig);
        let cases: [(&str, Edit); 7] = [
            ("vision.layers must be in 1..=128", |c| {
                c.vision.layers = 100_000
            }),
            ("vision.mean must be finite", |c| {
                c.vision.mean[1] = f32::NAN
            }),
            ("vision.std must be finite and positive", |c| {
                c.vision.std[0] = 0.0
            }),
            ("layer_norm_eps", |c| c.layer_norm_eps = f64::INFINITY),
            ("logit_scale_init", |c| c.logit_scale_init = f64::NAN),
            ("experts.num_experts must be in 1..=64", |c| {
                c.experts.num_experts = 1 << 40
            }),
            ("parameters, above the limit", |c| {
                c.vision.layers = 128;
                c.vision.width = 16384;
                c.vision.heads = 128;
            }),
        ];
        for (want, edit) in cases {
            let mut c = base.clone();
            edit(&mut c);
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
            // The same from JSON, as a checkpoint is read.
            assert!(ModelConfig::from_json(&c.to_json()).is_err(), "{want}");
        }
    }
}
