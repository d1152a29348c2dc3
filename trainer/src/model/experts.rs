//! Expert modules placed parallel to the MLP of the selected vision blocks (spec §2).
//!
//! Parameter names (under `vision_model.encoder.layers.{i}.`):
//!
//! | variant | names | shapes |
//! | --- | --- | --- |
//! | `moae` | `moae.slots` | Φ [m·s, d] |
//! | | `moae.{q,k,v,out}_proj.weight` | [d, d], no bias |
//! | | `moae.experts.{e}.fc1.{weight,bias}` | [r·dh, dh], [r·dh] |
//! | | `moae.experts.{e}.fc2.{weight,bias}` | [dh, r·dh], [dh] |
//! | `softmoe` | `softmoe.slots` | Φ [m·s, d] |
//! | | `softmoe.scale` | [] (scalar, init 1) |
//! | | `softmoe.experts.{e}.fc{1,2}.{weight,bias}` | [r·d, d], [d, r·d] |
//!
//! The math is split into small functions with the shapes written down, so that the ONNX
//! exporter can mirror it op for op. n = batch, p = tokens, d = width, m = experts,
//! s = slots per expert, H = heads, dh = d / H, r = expert ratio.

use crate::model::config::{ModelConfig, Variant};
use crate::model::primitives::{linear, merge_heads, quick_gelu, split_heads};
use tch::nn::{self, Module};
use tch::Tensor;

/// One expert: fc1 → QuickGELU → fc2 on the last axis.
#[derive(Debug)]
pub struct Expert {
    pub fc1: nn::Linear,
    pub fc2: nn::Linear,
}

impl Expert {
    fn new(p: nn::Path, din: i64, hidden: i64, zero_out: bool) -> Self {
        let fc2 = if zero_out {
            linear(&p / "fc2", hidden, din, 0.0, true)
        } else {
            linear(&p / "fc2", hidden, din, (hidden as f64).powf(-0.5), true)
        };
        Expert {
            fc1: linear(&p / "fc1", din, hidden, (din as f64).powf(-0.5), true),
            fc2,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.fc2.forward(&quick_gelu(&self.fc1.forward(x)))
    }
}

/// Applies expert e to slots `[e·s, (e+1)·s)` along `axis` (slot i goes to expert floor(i/s)).
/// Shape is unchanged.
pub fn apply_experts(experts: &[Expert], slots: &Tensor, axis: i64, s: i64) -> Tensor {
    let outs: Vec<Tensor> = experts
        .iter()
        .enumerate()
        .map(|(e, f)| f.forward(&slots.narrow(axis, e as i64 * s, s)))
        .collect();
    Tensor::cat(&outs, axis)
}

/// Standard deviation of the MoAE slot queries Φ at initialisation (see [`Moae::new`]).
pub const SLOT_INIT_STD: f64 = 1.0;

/// Mixture-of-Attack-Experts: Soft-MoE dispatch/combine written as multi-head attention
/// with learned slot queries (spec §2). `out_proj` (W_o) is zero-initialised, so an
/// untrained module adds exactly zero.
#[derive(Debug)]
pub struct Moae {
    /// Φ [m·s, d].
    pub slots: Tensor,
    pub q_proj: nn::Linear,
    pub k_proj: nn::Linear,
    pub v_proj: nn::Linear,
    pub out_proj: nn::Linear,
    pub experts: Vec<Expert>,
    pub heads: i64,
    pub slots_per_expert: i64,
}

impl Moae {
    pub fn new(p: nn::Path, cfg: &ModelConfig) -> Self {
        let d = cfg.vision.width;
        let e = &cfg.experts;
        let s = cfg.slots_per_expert();
        let dh = d / e.heads;
        let std = (d as f64).powf(-0.5);
        Moae {
            // Φ ~ N(0, 1), not N(0, d^-½) like the projections (spec §2: the router must be able
            // to route): then q = Φ W_qᵀ has unit-variance entries like k = h W_kᵀ (h is
            // LayerNorm output), and L = q·k/√dh starts with std ≈ 1 instead of ≈ d^-½ (0.09
            // at d = 128, dispatch uniform to 0.999). Scaling Φ rather than normalising q and k
            // keeps L linear in h, so the exporter's constant router fold stays exact; the
            // decoupled decay of §5 keeps that scale from being decayed away.
            slots: p.randn("slots", &[e.num_experts * s, d], 0.0, SLOT_INIT_STD),
            q_proj: linear(&p / "q_proj", d, d, std, false),
            k_proj: linear(&p / "k_proj", d, d, std, false),
            v_proj: linear(&p / "v_proj", d, d, std, false),
            out_proj: linear(&p / "out_proj", d, d, 0.0, false),
            experts: (0..e.num_experts)
                .map(|i| Expert::new(&p / "experts" / i, dh, e.ratio * dh, false))
                .collect(),
            heads: e.heads,
            slots_per_expert: s,
        }
    }

    /// Router logits L [n, H, m·s, p] = q_h k_hᵀ / sqrt(dh), with q = Φ W_q, k = h W_k.
    pub fn logits(&self, h: &Tensor) -> Tensor {
        let d = self.slots.size()[1];
        let dh = d / self.heads;
        // q: [m·s, d] → [1, m·s, d] → [1, H, m·s, dh], broadcast over the batch.
        let q = split_heads(&self.q_proj.forward(&self.slots).unsqueeze(0), self.heads);
        let k = split_heads(&self.k_proj.forward(h), self.heads); // [n, H, p, dh]
        q.matmul(&k.transpose(-2, -1)) * (dh as f64).powf(-0.5)
    }

    /// `h` [n, p, d] (the block's ln2 output) → [n, p, d].
    pub fn forward(&self, h: &Tensor) -> Tensor {
        let logits = self.logits(h); // [n, H, m·s, p]
        let v = split_heads(&self.v_proj.forward(h), self.heads); // [n, H, p, dh]
        let dispatch = logits.softmax(-1, logits.kind()); // over tokens p
        let slots = dispatch.matmul(&v); // [n, H, m·s, dh]
        let y = apply_experts(&self.experts, &slots, 2, self.slots_per_expert); // [n, H, m·s, dh]
        let combine = logits.transpose(-2, -1).softmax(-1, logits.kind()); // [n, H, p, m·s]
        let out = combine.matmul(&y); // [n, H, p, dh]
        self.out_proj.forward(&merge_heads(&out)) // [n, p, d]
    }
}

/// vmoe's `normalize`: x · rsqrt(Σ x² + 1e-6) over `axis`.
pub fn l2_normalize(x: &Tensor, axis: i64) -> Tensor {
    x * (x.square().sum_dim_intlist(axis, true, x.kind()) + 1e-6).rsqrt()
}

/// Soft MoE baseline (google-research vmoe `SoftRouter` + MLP experts, spec §2).
///
/// Not in the spec, written down here: the experts use QuickGELU like the rest of CLIP, and
/// each expert's fc2 is zero-initialised so that, like MoAE with W_o = 0, the untrained module
/// leaves the pretrained CLIP unchanged (a fair ablation start).
#[derive(Debug)]
pub struct SoftMoe {
    /// Φ [m·s, d].
    pub slots: Tensor,
    /// Learned scalar multiplying the normalised slot vectors, init 1.
    pub scale: Tensor,
    pub experts: Vec<Expert>,
    pub slots_per_expert: i64,
}

impl SoftMoe {
    pub fn new(p: nn::Path, cfg: &ModelConfig) -> Self {
        let d = cfg.vision.width;
        let e = &cfg.experts;
        let s = cfg.slots_per_expert();
        SoftMoe {
            slots: p.randn("slots", &[e.num_experts * s, d], 0.0, (d as f64).powf(-0.5)),
            scale: p.ones("scale", &[]),
            experts: (0..e.num_experts)
                .map(|i| Expert::new(&p / "experts" / i, d, e.ratio * d, true))
                .collect(),
            slots_per_expert: s,
        }
    }

    /// Router logits [n, p, m·s] = norm(h) · (scale · norm(Φ))ᵀ.
    pub fn logits(&self, h: &Tensor) -> Tensor {
        let phi = l2_normalize(&self.slots, -1) * &self.scale;
        l2_normalize(h, -1).matmul(&phi.transpose(0, 1))
    }

    /// `h` [n, p, d] → [n, p, d].
    pub fn forward(&self, h: &Tensor) -> Tensor {
        let logits = self.logits(h); // [n, p, m·s]
        let dispatch = logits.softmax(1, logits.kind()); // over tokens p
        let combine = logits.softmax(-1, logits.kind()); // over all m·s slots
        let slots = dispatch.transpose(1, 2).matmul(h); // [n, m·s, d]
        let y = apply_experts(&self.experts, &slots, 1, self.slots_per_expert); // [n, m·s, d]
        combine.matmul(&y) // [n, p, d]
    }
}

/// The expert module of one block.
#[derive(Debug)]
pub enum ExpertModule {
    Moae(Moae),
    SoftMoe(SoftMoe),
}

impl ExpertModule {
    /// `p` is the block path (`…encoder.layers.{i}`); the module goes under
    /// [`Variant::module_name`]. `None` for `clip`.
    pub fn new(p: nn::Path, cfg: &ModelConfig) -> Option<Self> {
        let name = cfg.experts.variant.module_name()?;
        // Group 1 lets the optimiser give new modules their own learning rate (spec §5).
        let p = (&p / name).set_group(1);
        Some(match cfg.experts.variant {
            Variant::Moae => ExpertModule::Moae(Moae::new(p, cfg)),
            Variant::SoftMoe => ExpertModule::SoftMoe(SoftMoe::new(p, cfg)),
            Variant::Clip => unreachable!("module_name is None for clip"),
        })
    }

    /// `h` [n, p, d] → [n, p, d].
    pub fn forward(&self, h: &Tensor) -> Tensor {
        match self {
            ExpertModule::Moae(m) => m.forward(h),
            ExpertModule::SoftMoe(s) => s.forward(h),
        }
    }
}

/// Whether a VarStore name belongs to an expert module.
pub fn is_expert_param(name: &str) -> bool {
    name.contains(".moae.") || name.contains(".softmoe.")
}
