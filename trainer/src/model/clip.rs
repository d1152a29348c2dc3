//! CLIP vision and text towers with Hugging Face `CLIPModel` parameter names and math (spec §1).
//!
//! Every `nn::Path` sub-name below is the HF name, so the VarStore's variable names are exactly
//! those of `model.safetensors` (e.g. `vision_model.encoder.layers.3.self_attn.q_proj.weight`).
//! Shapes in comments: n = batch, t = tokens, d = width, H = heads, dh = d / H.

use crate::model::config::{ModelConfig, TextConfig, VisionConfig};
use crate::model::experts::ExpertModule;
use crate::model::primitives::{linear, merge_heads, quick_gelu, split_heads};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

fn layer_norm(p: nn::Path, d: i64, eps: f64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![d],
        nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
    )
}

/// HF `CLIPAttention`: q/k/v/out projections with bias, q scaled by dh^-0.5.
#[derive(Debug)]
pub struct Attention {
    pub q_proj: nn::Linear,
    pub k_proj: nn::Linear,
    pub v_proj: nn::Linear,
    pub out_proj: nn::Linear,
    pub heads: i64,
}

impl Attention {
    fn new(p: nn::Path, d: i64, heads: i64, layers: i64) -> Self {
        // HF CLIPPreTrainedModel._init_weights (factor 1).
        let in_std = (d as f64).powf(-0.5) * ((2 * layers) as f64).powf(-0.5);
        let out_std = (d as f64).powf(-0.5);
        Attention {
            q_proj: linear(&p / "q_proj", d, d, in_std, true),
            k_proj: linear(&p / "k_proj", d, d, in_std, true),
            v_proj: linear(&p / "v_proj", d, d, in_std, true),
            out_proj: linear(&p / "out_proj", d, d, out_std, true),
            heads,
        }
    }

    /// `x` [n, t, d] → [n, t, d]. `causal`: token i attends to tokens ≤ i only (the text tower;
    /// the same as adding [`TextTower::causal_mask`] to the scores).
    pub fn forward(&self, x: &Tensor, causal: bool) -> Tensor {
        let d = x.size()[2];
        let scale = ((d / self.heads) as f64).powf(-0.5);
        let q = split_heads(&self.q_proj.forward(x), self.heads);
        let k = split_heads(&self.k_proj.forward(x), self.heads);
        let v = split_heads(&self.v_proj.forward(x), self.heads);
        // Fused kernel on CPU/CUDA; the math of softmax(q kᵀ · scale + mask) v.
        let out = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            None::<&Tensor>,
            0.0,
            causal,
            scale,
            false,
        );
        self.out_proj.forward(&merge_heads(&out))
    }
}

/// HF `CLIPMLP`: fc1 → QuickGELU → fc2.
#[derive(Debug)]
pub struct Mlp {
    pub fc1: nn::Linear,
    pub fc2: nn::Linear,
}

impl Mlp {
    fn new(p: nn::Path, d: i64, hidden: i64, layers: i64) -> Self {
        let in_std = (d as f64).powf(-0.5) * ((2 * layers) as f64).powf(-0.5);
        let fc_std = ((2 * d) as f64).powf(-0.5);
        Mlp {
            fc1: linear(&p / "fc1", d, hidden, fc_std, true),
            fc2: linear(&p / "fc2", hidden, d, in_std, true),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.fc2.forward(&quick_gelu(&self.fc1.forward(x)))
    }
}

/// One pre-LN block; the expert module (if any) sits parallel to the MLP (spec §2):
/// `x = x + attn(ln1(x)); h = ln2(x); x = x + mlp(h) + experts(h)`.
#[derive(Debug)]
pub struct EncoderLayer {
    pub self_attn: Attention,
    pub layer_norm1: nn::LayerNorm,
    pub mlp: Mlp,
    pub layer_norm2: nn::LayerNorm,
    pub experts: Option<ExpertModule>,
}

impl EncoderLayer {
    /// `x` [n, t, d] → [n, t, d].
    pub fn forward(&self, x: &Tensor, causal: bool) -> Tensor {
        let x = x + self.self_attn.forward(&self.layer_norm1.forward(x), causal);
        let h = self.layer_norm2.forward(&x);
        let y = x + self.mlp.forward(&h);
        match &self.experts {
            Some(e) => y + e.forward(&h),
            None => y,
        }
    }
}

fn encoder_layers(
    p: nn::Path,
    d: i64,
    heads: i64,
    mlp: i64,
    layers: i64,
    eps: f64,
    mut experts: impl FnMut(i64, nn::Path) -> Option<ExpertModule>,
) -> Vec<EncoderLayer> {
    (0..layers)
        .map(|i| {
            let lp = &p / "layers" / i;
            EncoderLayer {
                self_attn: Attention::new(&lp / "self_attn", d, heads, layers),
                layer_norm1: layer_norm(&lp / "layer_norm1", d, eps),
                mlp: Mlp::new(&lp / "mlp", d, mlp, layers),
                layer_norm2: layer_norm(&lp / "layer_norm2", d, eps),
                experts: experts(i, lp),
            }
        })
        .collect()
}

/// HF `CLIPVisionTransformer` (`vision_model.*`), with optional expert modules.
#[derive(Debug)]
pub struct VisionTower {
    pub cfg: VisionConfig,
    /// `embeddings.patch_embedding.weight` [d, 3, P, P], no bias.
    pub patch_embedding: nn::Conv2D,
    /// `embeddings.class_embedding` [d].
    pub class_embedding: Tensor,
    /// `embeddings.position_embedding.weight` [tokens, d].
    pub position_embedding: Tensor,
    /// `pre_layrnorm` (HF's spelling).
    pub pre_layrnorm: nn::LayerNorm,
    pub layers: Vec<EncoderLayer>,
    pub post_layernorm: nn::LayerNorm,
}

impl VisionTower {
    /// `p` is the `vision_model` path.
    pub fn new(p: nn::Path, cfg: &ModelConfig) -> Self {
        let v = &cfg.vision;
        let d = v.width;
        let eps = cfg.layer_norm_eps;
        let emb = &p / "embeddings";
        let patch_embedding = nn::conv2d(
            &emb / "patch_embedding",
            3,
            d,
            v.patch_size,
            nn::ConvConfig {
                stride: v.patch_size,
                bias: false,
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
                ..Default::default()
            },
        );
        let class_embedding = emb.randn("class_embedding", &[d], 0.0, (d as f64).powf(-0.5));
        let position_embedding =
            (&emb / "position_embedding").randn("weight", &[v.tokens(), d], 0.0, 0.02);
        let enc = &p / "encoder";
        let layers = encoder_layers(enc, d, v.heads, v.mlp_dim, v.layers, eps, |i, lp| {
            if cfg.has_experts(i) {
                ExpertModule::new(lp, cfg)
            } else {
                None
            }
        });
        VisionTower {
            cfg: v.clone(),
            patch_embedding,
            class_embedding,
            position_embedding,
            pre_layrnorm: layer_norm(&p / "pre_layrnorm", d, eps),
            layers,
            post_layernorm: layer_norm(&p / "post_layernorm", d, eps),
        }
    }

    /// Patch + class + position embeddings, then `pre_layrnorm`: pixels [n, 3, S, S] → [n, t, d].
    pub fn embed(&self, pixels: &Tensor) -> Tensor {
        let n = pixels.size()[0];
        let d = self.cfg.width;
        let patches = self
            .patch_embedding
            .forward(pixels)
            .flatten(2, 3)
            .transpose(1, 2);
        let cls = self
            .class_embedding
            .view([1, 1, d])
            .expand([n, 1, d], false);
        let x = Tensor::cat(&[cls, patches], 1) + &self.position_embedding;
        self.pre_layrnorm.forward(&x)
    }

    /// All tokens after the last block (before `post_layernorm`): [n, t, d].
    pub fn forward_tokens(&self, pixels: &Tensor) -> Tensor {
        let mut x = self.embed(pixels);
        for layer in &self.layers {
            x = layer.forward(&x, false);
        }
        x
    }

    /// Pooled output: `post_layernorm` of the class token only, [n, d].
    pub fn forward(&self, pixels: &Tensor) -> Tensor {
        let x = self.forward_tokens(pixels);
        self.post_layernorm.forward(&x.select(1, 0))
    }
}

/// HF `CLIPTextTransformer` (`text_model.*`): causal mask, EOT pooling, `final_layer_norm`.
#[derive(Debug)]
pub struct TextTower {
    pub cfg: TextConfig,
    /// `embeddings.token_embedding.weight` [vocab, d].
    pub token_embedding: Tensor,
    /// `embeddings.position_embedding.weight` [context, d].
    pub position_embedding: Tensor,
    pub layers: Vec<EncoderLayer>,
    pub final_layer_norm: nn::LayerNorm,
}

impl TextTower {
    /// `p` is the `text_model` path.
    pub fn new(p: nn::Path, cfg: &ModelConfig) -> Self {
        let t = &cfg.text;
        let emb = &p / "embeddings";
        let token_embedding =
            (&emb / "token_embedding").randn("weight", &[t.vocab_size, t.width], 0.0, 0.02);
        let position_embedding =
            (&emb / "position_embedding").randn("weight", &[t.context_length, t.width], 0.0, 0.01);
        let enc = &p / "encoder";
        let eps = cfg.layer_norm_eps;
        let layers = encoder_layers(enc, t.width, t.heads, t.mlp_dim, t.layers, eps, |_, _| None);
        TextTower {
            cfg: t.clone(),
            token_embedding,
            position_embedding,
            layers,
            final_layer_norm: layer_norm(&p / "final_layer_norm", t.width, eps),
        }
    }

    /// Additive causal mask [t, t]: 0 on and below the diagonal, -inf above.
    pub fn causal_mask(t: i64, device: tch::Device) -> Tensor {
        Tensor::full([t, t], f64::NEG_INFINITY, (Kind::Float, device)).triu(1)
    }

    /// `ids` [B, t] int64 (t ≤ context) → pooled [B, d]: the hidden state at the first
    /// position of the largest id (the EOT token, as HF's `argmax(input_ids)`), then
    /// `final_layer_norm` (per-token, so pooling first is the same math).
    ///
    /// With the causal mask, tokens after the last EOT of the batch cannot reach any pooled
    /// position, so they are cut off before the blocks: CLIP prompts are ~10 tokens of 77, which
    /// makes the text tower several times cheaper with the same result.
    pub fn forward(&self, ids: &Tensor) -> Tensor {
        let (b, _) = ids.size2().expect("text ids: [B, t]");
        let d = self.cfg.width;
        let eot = ids.argmax(-1, false); // [B]
        let used = eot.max().int64_value(&[]) + 1;
        let ids = ids.narrow(1, 0, used);
        let x = Tensor::embedding(&self.token_embedding, &ids, -1, false, false)
            + self.position_embedding.narrow(0, 0, used);
        let mut x = x;
        for layer in &self.layers {
            x = layer.forward(&x, true);
        }
        let index = eot.view([b, 1, 1]).expand([b, 1, d], false);
        self.final_layer_norm
            .forward(&x.gather(1, &index, false).squeeze_dim(1))
    }
}
