//! `trainer info`: the config, parameter counts per part (from the built VarStore) and the
//! multiply-accumulates of one image's vision forward pass.

use crate::model::config::{ModelConfig, Variant};
use crate::model::experts::is_expert_param;
use crate::model::student::{student_macs, StudentConfig, StudentMacs};
use serde::Serialize;
use tch::nn;

/// Parameter counts per part of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ParamCounts {
    /// `vision_model.*` without the expert modules.
    pub vision: i64,
    /// `text_model.*`.
    pub text: i64,
    pub visual_projection: i64,
    pub text_projection: i64,
    pub logit_scale: i64,
    /// The expert modules (`…layers.{i}.moae.*` / `.softmoe.*`).
    pub experts: i64,
    /// Anything else (0 for models built by this crate).
    pub other: i64,
    pub total: i64,
}

/// Counts the parameters of `vs` by name.
pub fn param_counts(vs: &nn::VarStore) -> ParamCounts {
    let mut c = ParamCounts::default();
    for (name, t) in vs.variables() {
        let n = t.numel() as i64;
        let slot = if is_expert_param(&name) {
            &mut c.experts
        } else if name.starts_with("vision_model.") {
            &mut c.vision
        } else if name.starts_with("text_model.") {
            &mut c.text
        } else if name.starts_with("visual_projection.") {
            &mut c.visual_projection
        } else if name.starts_with("text_projection.") {
            &mut c.text_projection
        } else if name == "logit_scale" {
            &mut c.logit_scale
        } else {
            &mut c.other
        };
        *slot += n;
        c.total += n;
    }
    c
}

/// Multiply-accumulates of one image through the vision tower and `visual_projection`.
///
/// Counted: every matrix product and the patch convolution (one MAC = one multiply + add),
/// including attention's q·kᵀ and weights·v, and for the expert modules the slot-query
/// projection Φ·W_q (batch-independent, but computed each forward), router logits, dispatch,
/// experts, combine and W_o. Not counted: layer norms, softmax, activations, additions, biases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Macs {
    pub patch_embedding: i64,
    /// Self-attention (projections + q·kᵀ + attention·v) of all blocks.
    pub attention: i64,
    pub mlp: i64,
    pub experts: i64,
    pub projection: i64,
    pub total: i64,
}

/// MACs per image for `cfg` (see [`Macs`]).
pub fn vision_macs(cfg: &ModelConfig) -> Macs {
    let v = &cfg.vision;
    let d = v.width;
    let t = v.tokens();
    let g2 = v.grid() * v.grid();
    let mut m = Macs {
        patch_embedding: g2 * d * 3 * v.patch_size * v.patch_size,
        attention: v.layers * (4 * t * d * d + 2 * t * t * d),
        mlp: v.layers * 2 * t * d * v.mlp_dim,
        projection: d * cfg.projection_dim,
        ..Default::default()
    };
    let e = &cfg.experts;
    let ms = e.num_experts * cfg.slots_per_expert();
    let per_block = match e.variant {
        Variant::Clip => 0,
        Variant::Moae => {
            let dh = d / e.heads;
            // Φ·W_q; h·W_k, h·W_v; logits; dispatch; experts on H·m·s slots; combine; W_o.
            ms * d * d
                + 2 * t * d * d
                + ms * t * d
                + ms * t * d
                + e.heads * ms * 2 * dh * e.ratio * dh
                + t * ms * d
                + t * d * d
        }
        // logits; dispatch; experts on m·s slots; combine.
        Variant::SoftMoe => t * ms * d + ms * t * d + ms * 2 * d * e.ratio * d + t * ms * d,
    };
    let blocks = (0..v.layers).filter(|&i| cfg.has_experts(i)).count() as i64;
    m.experts = blocks * per_block;
    m.total = m.patch_embedding + m.attention + m.mlp + m.experts + m.projection;
    m
}

/// Everything `trainer info` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub config: ModelConfig,
    pub params: ParamCounts,
    pub macs_per_image: Macs,
}

impl Info {
    pub fn new(cfg: &ModelConfig, vs: &nn::VarStore) -> Self {
        Info {
            config: cfg.clone(),
            params: param_counts(vs),
            macs_per_image: vision_macs(cfg),
        }
    }

    /// Human-readable report.
    pub fn render(&self) -> String {
        let c = &self.config;
        let p = &self.params;
        let m = &self.macs_per_image;
        let e = &c.experts;
        let mut s = String::new();
        s.push_str(&format!("preset {}  variant {}\n", c.preset, e.variant));
        s.push_str(&format!(
            "vision: {} px, patch {}, width {}, {} layers, {} heads, mlp {} ({} tokens)\n",
            c.vision.image_size,
            c.vision.patch_size,
            c.vision.width,
            c.vision.layers,
            c.vision.heads,
            c.vision.mlp_dim,
            c.vision.tokens()
        ));
        s.push_str(&format!(
            "text: vocab {}, context {}, width {}, {} layers, {} heads, mlp {}\n",
            c.text.vocab_size,
            c.text.context_length,
            c.text.width,
            c.text.layers,
            c.text.heads,
            c.text.mlp_dim
        ));
        s.push_str(&format!("projection {}\n", c.projection_dim));
        if e.variant != Variant::Clip {
            let layers = match &e.layers {
                None => "all".to_string(),
                Some(ls) => format!("{ls:?}"),
            };
            s.push_str(&format!(
                "experts: m={} s={} H={} r={} layers {}\n",
                e.num_experts,
                c.slots_per_expert(),
                e.heads,
                e.ratio,
                layers
            ));
        }
        s.push_str("\nparameters\n");
        let rows = [
            ("vision tower", p.vision),
            ("text tower", p.text),
            ("visual_projection", p.visual_projection),
            ("text_projection", p.text_projection),
            ("logit_scale", p.logit_scale),
            ("experts", p.experts),
            ("other", p.other),
        ];
        for (name, n) in rows {
            if n > 0 || name != "other" {
                s.push_str(&format!("  {name:<18} {:>15}\n", group_digits(n)));
            }
        }
        s.push_str(&format!(
            "  {:<18} {:>15}\n",
            "total",
            group_digits(p.total)
        ));
        s.push_str("\nMACs per image (vision forward + projection; matmuls and convolutions)\n");
        let rows = [
            ("patch embedding", m.patch_embedding),
            ("attention", m.attention),
            ("mlp", m.mlp),
            ("experts", m.experts),
            ("projection", m.projection),
        ];
        for (name, n) in rows {
            s.push_str(&format!("  {name:<18} {:>15}\n", group_digits(n)));
        }
        s.push_str(&format!(
            "  {:<18} {:>15}  ({:.2} GMACs)\n",
            "total",
            group_digits(m.total),
            m.total as f64 / 1e9
        ));
        s
    }
}

/// `149620737` → `149,620,737`.
pub fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// What `trainer info` prints for a student (spec §9).
#[derive(Debug, Clone, Serialize)]
pub struct StudentInfo {
    pub config: StudentConfig,
    /// Trainable parameters (BatchNorm's running statistics not counted).
    pub params: i64,
    pub macs_per_image: StudentMacs,
}

impl StudentInfo {
    pub fn new(cfg: &StudentConfig, vs: &nn::VarStore) -> Self {
        StudentInfo {
            config: cfg.clone(),
            params: vs
                .variables()
                .values()
                .filter(|t| t.requires_grad())
                .map(|t| t.numel() as i64)
                .sum(),
            macs_per_image: student_macs(cfg),
        }
    }

    /// Human-readable report.
    pub fn render(&self) -> String {
        let c = &self.config;
        let m = &self.macs_per_image;
        let mut s = format!(
            "preset {}  student ({} blocks, stem {}, last conv {}, hidden {}, attack-type \
             classes {})\ninput {} px, mean {:?}, std {:?}\n\nparameters {:>15}\n",
            c.preset,
            c.blocks.len(),
            c.stem,
            c.last_conv,
            c.hidden,
            c.attack_types,
            c.image_size,
            c.mean,
            c.std,
            group_digits(self.params)
        );
        s.push_str("\nMACs per image (convolutions and linear layers)\n");
        for (name, n) in [
            ("stem", m.stem),
            ("blocks", m.blocks),
            ("last conv", m.last_conv),
            ("heads", m.head),
        ] {
            s.push_str(&format!("  {name:<18} {:>15}\n", group_digits(n)));
        }
        s.push_str(&format!(
            "  {:<18} {:>15}  ({:.3} GMACs)\n",
            "total",
            group_digits(m.total),
            m.total as f64 / 1e9
        ));
        s
    }
}
