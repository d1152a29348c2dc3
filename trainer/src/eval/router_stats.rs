//! Router statistics of the expert modules (spec §2: "report dispatch entropy relative to
//! uniform per layer while training"): whether the router routes, and whether the experts
//! move the image embedding at all.
//!
//! - dispatch entropy relative to uniform: the entropy of each dispatch distribution (one per
//!   image, head and slot, over the p tokens) divided by ln p, averaged; 1 = uniform (the
//!   router routes nothing), lower = slots attend to some tokens more than others;
//! - Frobenius norms of the router's weights (MoAE: Φ, W_q, W_k, W_o; Soft MoE: Φ and its
//!   scalar scale), which show a router being decayed away;
//! - the relative L2 change of the image embedding with vs without the expert modules.

use crate::model::experts::ExpertModule;
use crate::model::MoaeClip;
use serde::Serialize;
use tch::nn::Module;
use tch::{Kind, Tensor};

/// Router statistics are logged every this many steps (and at every evaluation): one extra
/// forward of the current batch without gradients, a small fraction of a training step.
pub const LOG_EVERY: u64 = 50;

/// One block's router statistics.
#[derive(Debug, Clone, Serialize)]
pub struct LayerStats {
    pub layer: usize,
    /// `moae` or `softmoe`.
    pub module: &'static str,
    /// Mean dispatch entropy over images, heads and slots, divided by ln(tokens).
    pub dispatch_entropy_rel: f64,
    /// ‖Φ‖_F.
    pub norm_slots: f64,
    /// ‖W_q‖_F, ‖W_k‖_F, ‖W_o‖_F (MoAE only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_q: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_k: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_o: Option<f64>,
    /// The learned scale (Soft MoE only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
}

/// Mean entropy of the distributions along `axis` of `probs`, divided by ln(size of `axis`).
pub fn relative_entropy(probs: &Tensor, axis: i64) -> f64 {
    let n = probs.size()[axis.rem_euclid(probs.dim() as i64) as usize];
    if n < 2 {
        return 1.0;
    }
    let p = probs.to_kind(Kind::Double);
    // 0·ln 0 = 0: clamp only inside the log.
    let h = -(&p * p.clamp_min(1e-300).log()).sum_dim_intlist(axis, false, Kind::Double);
    h.mean(Kind::Double).double_value(&[]) / (n as f64).ln()
}

/// Dispatch distributions of one expert module for its input `h` [n, p, d], with the token
/// axis: MoAE [n, H, m·s, p] (axis -1), Soft MoE [n, p, m·s] (axis 1).
pub fn dispatch(module: &ExpertModule, h: &Tensor) -> (Tensor, i64) {
    match module {
        ExpertModule::Moae(m) => (m.logits(h).softmax(-1, Kind::Float), -1),
        ExpertModule::SoftMoe(s) => (s.logits(h).softmax(1, Kind::Float), 1),
    }
}

fn fro(t: &Tensor) -> f64 {
    t.to_kind(Kind::Double).norm().double_value(&[])
}

fn weight_stats(layer: usize, module: &ExpertModule, entropy: f64) -> LayerStats {
    match module {
        ExpertModule::Moae(m) => LayerStats {
            layer,
            module: "moae",
            dispatch_entropy_rel: entropy,
            norm_slots: fro(&m.slots),
            norm_q: Some(fro(&m.q_proj.ws)),
            norm_k: Some(fro(&m.k_proj.ws)),
            norm_o: Some(fro(&m.out_proj.ws)),
            scale: None,
        },
        ExpertModule::SoftMoe(s) => LayerStats {
            layer,
            module: "softmoe",
            dispatch_entropy_rel: entropy,
            norm_slots: fro(&s.slots),
            norm_q: None,
            norm_k: None,
            norm_o: None,
            scale: Some(s.scale.double_value(&[])),
        },
    }
}

/// The projected image embedding [n, proj] of `pixels`, with the expert module of block i
/// applied only where `enabled(i)`; `on_h(i, h)` sees each block's ln2 output. The same math
/// as [`MoaeClip::encode_image`] (a test holds them equal), written out here so that the
/// experts can be switched off per block.
pub fn encode_image_with(
    model: &MoaeClip,
    pixels: &Tensor,
    enabled: impl Fn(usize) -> bool,
    mut on_h: impl FnMut(usize, &ExpertModule, &Tensor),
) -> Tensor {
    let v = &model.vision;
    let mut x = v.embed(pixels);
    for (i, layer) in v.layers.iter().enumerate() {
        let x1 = &x
            + layer
                .self_attn
                .forward(&layer.layer_norm1.forward(&x), false);
        let h = layer.layer_norm2.forward(&x1);
        let y = &x1 + layer.mlp.forward(&h);
        x = match layer.experts.as_ref() {
            Some(e) => {
                on_h(i, e, &h);
                if enabled(i) {
                    y + e.forward(&h)
                } else {
                    y
                }
            }
            None => y,
        };
    }
    let pooled = v.post_layernorm.forward(&x.select(1, 0));
    model.visual_projection.forward(&pooled)
}

/// Per-block router statistics on one batch (no gradients); empty for `clip`.
pub fn layer_stats(model: &MoaeClip, pixels: &Tensor) -> Vec<LayerStats> {
    forward_with_stats(model, pixels).1
}

/// The image embedding [n, proj] with every expert module on, and the per-block router
/// statistics of the same forward (no gradients).
pub fn forward_with_stats(model: &MoaeClip, pixels: &Tensor) -> (Tensor, Vec<LayerStats>) {
    tch::no_grad(|| {
        let mut out = Vec::new();
        let emb = encode_image_with(
            model,
            pixels,
            |_| true,
            |i, e, h| {
                let (d, axis) = dispatch(e, h);
                out.push(weight_stats(i, e, relative_entropy(&d, axis)));
            },
        );
        (emb, out)
    })
}

/// The image embedding [n, proj] without the expert modules of the blocks in `off`.
pub fn embedding_without(model: &MoaeClip, pixels: &Tensor, off: impl Fn(usize) -> bool) -> Tensor {
    tch::no_grad(|| encode_image_with(model, pixels, |i| !off(i), |_, _, _| {}))
}

/// ‖with − without‖ / ‖with‖ per row [n] (float64).
pub fn relative_move(with: &Tensor, without: &Tensor) -> Tensor {
    let (with, without) = (with.to_kind(Kind::Double), without.to_kind(Kind::Double));
    let norm = |t: &Tensor| t.norm_scalaropt_dim(2, [-1i64].as_slice(), false);
    norm(&(&with - &without)) / norm(&with).clamp_min(1e-12)
}

/// The training log's record for `step` (JSONL, see `train.rs`): the router statistics of
/// the current batch at every evaluation, at the first step and every [`LOG_EVERY`] steps;
/// `None` at other steps and for models without expert modules.
pub fn record(
    step: u64,
    eval_now: bool,
    model: &MoaeClip,
    pixels: &Tensor,
) -> Option<serde_json::Value> {
    if !(eval_now || step == 1 || step % LOG_EVERY == 0) {
        return None;
    }
    let stats = layer_stats(model, &pixels.to_kind(Kind::Float));
    if stats.is_empty() {
        return None;
    }
    Some(serde_json::json!({ "step": step, "router": stats }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::{ModelConfig, Variant};
    use tch::{nn, Device};

    fn model(preset: &str, variant: Variant) -> (nn::VarStore, MoaeClip) {
        let cfg = ModelConfig::preset(preset, variant).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let m = MoaeClip::new(&vs.root(), &cfg);
        (vs, m)
    }

    #[test]
    fn relative_entropy_is_one_for_uniform_and_zero_for_one_hot() {
        let uniform = Tensor::ones([2, 3, 8], (Kind::Float, Device::Cpu)) / 8.0;
        assert!((relative_entropy(&uniform, -1) - 1.0).abs() < 1e-9);
        let one_hot = Tensor::zeros([2, 8, 3], (Kind::Float, Device::Cpu)).index_fill(
            1,
            &Tensor::from_slice(&[5i64]),
            1.0,
        );
        assert!(relative_entropy(&one_hot, 1).abs() < 1e-9);
    }

    /// Spec §2: at initialisation the MoAE router's dispatch is clearly not uniform on
    /// LayerNorm-scale random tokens (small preset: d = 128, 65 tokens, H = 2), while the
    /// previous init (Φ ~ N(0, d^-½)) gave uniform dispatch to 0.999 — the test can fail.
    #[test]
    fn moae_router_routes_at_init() {
        tch::manual_seed(0);
        let (_vs, m) = model("small", Variant::Moae);
        let e = m.vision.layers[0].experts.as_ref().unwrap();
        let ExpertModule::Moae(moae) = e else {
            panic!("not a MoAE")
        };
        let p = m.cfg.vision.tokens();
        let h = Tensor::randn([8, p, m.cfg.vision.width], (Kind::Float, Device::Cpu));
        let ent = tch::no_grad(|| {
            let (d, axis) = dispatch(e, &h);
            relative_entropy(&d, axis)
        });
        eprintln!("MoAE dispatch entropy at init, relative to uniform: {ent:.4}");
        assert!(ent < 0.95, "{ent}");
        let old = tch::no_grad(|| {
            let mut phi = moae.slots.shallow_clone();
            let d = m.cfg.vision.width as f64;
            let _ = phi.g_mul_scalar_(d.powf(-0.5) / crate::model::experts::SLOT_INIT_STD);
            let (d, axis) = dispatch(e, &h);
            relative_entropy(&d, axis)
        });
        eprintln!("with the previous init (Φ ~ N(0, d^-1/2)): {old:.4}");
        assert!(old > 0.99, "{old}");
    }

    #[test]
    fn switchable_forward_equals_the_model_and_the_move_needs_w_o() {
        tch::manual_seed(1);
        let (vs, m) = model("tiny", Variant::Moae);
        let s = m.cfg.vision.image_size;
        let x = Tensor::randn([3, 3, s, s], (Kind::Float, Device::Cpu));
        let moved = |m: &MoaeClip| {
            let with = tch::no_grad(|| m.encode_image(&x, false));
            relative_move(&with, &embedding_without(m, &x, |_| true))
                .max()
                .double_value(&[])
        };
        // W_o = 0: the experts add exactly nothing.
        assert_eq!(moved(&m), 0.0);
        tch::no_grad(|| {
            for (name, mut t) in vs.variables() {
                if name.ends_with("moae.out_proj.weight") {
                    let _ = t.normal_(0.0, 0.1);
                }
            }
        });
        let same = tch::no_grad(|| encode_image_with(&m, &x, |_| true, |_, _, _| {}));
        assert!(same.equal(&tch::no_grad(|| m.encode_image(&x, false))));
        assert!(moved(&m) > 1e-4);
        let (emb, stats) = forward_with_stats(&m, &x);
        assert!(emb.equal(&same));
        assert_eq!(stats.len(), m.vision.layers.len());
        assert!(stats
            .iter()
            .all(|l| l.norm_o.unwrap() > 0.0 && l.module == "moae"));
        assert!(record(7, false, &m, &x).is_none());
        let r = record(50, false, &m, &x).unwrap();
        assert_eq!(r["router"].as_array().unwrap().len(), stats.len());
    }

    #[test]
    fn softmoe_stats_and_clip_has_none() {
        let (_vs, soft) = model("tiny", Variant::SoftMoe);
        let s = soft.cfg.vision.image_size;
        let x = Tensor::randn([2, 3, s, s], (Kind::Float, Device::Cpu));
        let stats = layer_stats(&soft, &x);
        assert!(!stats.is_empty());
        assert!(stats
            .iter()
            .all(|l| l.scale == Some(1.0) && l.dispatch_entropy_rel <= 1.0 + 1e-9));
        let (_vs, clip) = model("tiny", Variant::Clip);
        assert!(record(1, true, &clip, &x).is_none());
    }
}
