//! The MoAE-CR image classifier as an ONNX graph, op for op the tch forward of
//! `model::MoaeClip` (`encode_image` + `classifier_logits`), with weights read from the
//! VarStore by their Hugging Face names. Standard ONNX ops only (opset 17), so the CPU, CUDA,
//! TensorRT and CoreML providers all run it.
//!
//! Exact rewrites (same math, fewer ops), each mirrored by the parity tests:
//! - attention: q/k/v are one `MatMul` with a [d, 3d] weight; the scale dh^-0.5 is folded into
//!   the q columns;
//! - MoAE: the slot queries q = Φ W_qᵀ do not depend on the input, so the router logits
//!   L_h = q_h k_hᵀ / sqrt(dh) = (h · W_k,hᵀ q_hᵀ / sqrt(dh))ᵀ become one `MatMul` of the tokens
//!   with a constant [d, H·m·s] (folded in float64);
//! - Soft MoE: norm(Φ) · scale is a constant;
//! - experts: the m experts run as one batched `MatMul` over the [m, s] slot groups
//!   (slot i goes to expert floor(i/s), spec §2);
//! - classifier: exp(logit_scale) · norm(class_emb)ᵀ is a constant [proj, 2].

use super::quantize::{Emitter, WeightFormat};
use super::ExportError;
use crate::model::config::{ModelConfig, Variant};
use moae_onnx::meta::{INPUT_PIXELS, OUTPUT_EMBEDDING};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::proto::ModelProto;
use moae_onnx::{Attr, Dim, GraphBuilder, ModelMeta, IR_VERSION, OPSET};
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

/// What the graph contains besides the weights.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    pub format: WeightFormat,
    /// Also output `embedding` [N, proj] (projected, before l2-normalisation).
    pub embedding: bool,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            format: WeightFormat::Fp32,
            embedding: false,
        }
    }
}

/// Named weights with shape checks (a config that does not match its weights fails here with
/// the parameter's name rather than somewhere inside ONNX Runtime).
struct Weights {
    vars: HashMap<String, Tensor>,
}

impl Weights {
    fn get(&self, name: &str, shape: &[i64]) -> Result<Tensor, ExportError> {
        let t = self
            .vars
            .get(name)
            .ok_or_else(|| ExportError::MissingWeight(name.to_string()))?;
        if t.size() != shape {
            return Err(ExportError::WeightShape {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: t.size(),
            });
        }
        Ok(t.detach().to_device(Device::Cpu).to_kind(Kind::Float))
    }
}

struct Builder<'a> {
    e: Emitter,
    w: &'a Weights,
    cfg: &'a ModelConfig,
}

impl Builder<'_> {
    fn op(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<moae_onnx::proto::AttributeProto>,
    ) -> String {
        self.e.g.op(op, inputs, attrs)
    }

    fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let s = self.e.ints("shape", shape);
        self.op("Reshape", &[x, &s], vec![])
    }

    fn transpose(&mut self, x: &str, perm: &[i64]) -> String {
        self.op("Transpose", &[x], vec![Attr::ints("perm", perm)])
    }

    fn softmax(&mut self, x: &str, axis: i64) -> String {
        self.op("Softmax", &[x], vec![Attr::int("axis", axis)])
    }

    fn layer_norm(&mut self, x: &str, prefix: &str, d: i64) -> Result<String, ExportError> {
        let gamma = self.w.get(&format!("{prefix}.weight"), &[d])?;
        let beta = self.w.get(&format!("{prefix}.bias"), &[d])?;
        let g = self.e.f32(&format!("{prefix}.weight"), &gamma);
        let b = self.e.f32(&format!("{prefix}.bias"), &beta);
        let eps = self.cfg.layer_norm_eps as f32;
        Ok(self.op(
            "LayerNormalization",
            &[x, &g, &b],
            vec![Attr::int("axis", -1), Attr::float("epsilon", eps)],
        ))
    }

    fn linear(
        &mut self,
        x: &str,
        prefix: &str,
        din: i64,
        dout: i64,
        bias: bool,
    ) -> Result<String, ExportError> {
        let w = self.w.get(&format!("{prefix}.weight"), &[dout, din])?;
        let b = if bias {
            Some(self.w.get(&format!("{prefix}.bias"), &[dout])?)
        } else {
            None
        };
        Ok(self.e.linear(x, prefix, &w, b.as_ref()))
    }

    /// `x * sigmoid(1.702 x)`.
    fn quick_gelu(&mut self, x: &str) -> String {
        let k = self.e.scalar("quick_gelu_k", 1.702);
        let kx = self.op("Mul", &[x, &k], vec![]);
        let s = self.op("Sigmoid", &[&kx], vec![]);
        self.op("Mul", &[x, &s], vec![])
    }

    /// Patch, class and position embeddings, then `pre_layrnorm`: pixels → [N, t, d].
    fn embed(&mut self, pixels: &str) -> Result<String, ExportError> {
        let v = &self.cfg.vision;
        let (d, p, t) = (v.width, v.patch_size, v.tokens());
        let pre = "vision_model.embeddings";
        let conv_w = self
            .w
            .get(&format!("{pre}.patch_embedding.weight"), &[d, 3, p, p])?;
        let cls = self.w.get(&format!("{pre}.class_embedding"), &[d])?;
        let pos = self
            .w
            .get(&format!("{pre}.position_embedding.weight"), &[t, d])?;

        let wc = self
            .e
            .weight(&format!("{pre}.patch_embedding.weight"), &conv_w);
        let conv = self.op(
            "Conv",
            &[pixels, &wc],
            vec![
                Attr::ints("kernel_shape", &[p, p]),
                Attr::ints("strides", &[p, p]),
            ],
        );
        let flat = self.reshape(&conv, &[0, d, -1]); // [N, d, g²]
        let patches = self.transpose(&flat, &[0, 2, 1]); // [N, g², d]
                                                         // cat([cls, patches]) + pos == cat([cls + pos0, patches + pos[1:]]), the same sums.
        let pos_rest = self
            .e
            .weight("position_embedding.patches", &pos.narrow(0, 1, t - 1));
        let patches = self.op("Add", &[&patches, &pos_rest], vec![]);
        let cls0 = self.e.f32(
            "class_embedding.with_position",
            &(cls + pos.get(0)).view([1, 1, d]),
        );
        let n = self.op(
            "Shape",
            &[pixels],
            vec![Attr::int("start", 0), Attr::int("end", 1)],
        );
        let rest = self.e.ints("cls_shape", &[1, d]);
        let shape = self.op("Concat", &[&n, &rest], vec![Attr::int("axis", 0)]);
        let cls_n = self.op("Expand", &[&cls0, &shape], vec![]);
        let x = self.op("Concat", &[&cls_n, &patches], vec![Attr::int("axis", 1)]);
        self.layer_norm(&x, "vision_model.pre_layrnorm", d)
    }

    /// HF `CLIPAttention` on `x` [N, t, d] (no mask in the vision tower).
    fn attention(&mut self, x: &str, prefix: &str) -> Result<String, ExportError> {
        let v = &self.cfg.vision;
        let (d, heads) = (v.width, v.heads);
        let dh = d / heads;
        let scale = (dh as f64).powf(-0.5);
        let get = |s: &Self, n: &str, shape: &[i64]| s.w.get(&format!("{prefix}.{n}"), shape);
        let wq = get(self, "q_proj.weight", &[d, d])?;
        let wk = get(self, "k_proj.weight", &[d, d])?;
        let wv = get(self, "v_proj.weight", &[d, d])?;
        let bq = get(self, "q_proj.bias", &[d])?;
        let bk = get(self, "k_proj.bias", &[d])?;
        let bv = get(self, "v_proj.bias", &[d])?;
        let w_qkv = Tensor::cat(&[wq * scale, wk, wv], 0); // [3d, d]
        let b_qkv = Tensor::cat(&[bq * scale, bk, bv], 0);
        let qkv = self
            .e
            .linear(x, &format!("{prefix}.qkv_proj"), &w_qkv, Some(&b_qkv));
        let qkv = self.reshape(&qkv, &[0, 0, 3, heads, dh]);
        let qkv = self.transpose(&qkv, &[2, 0, 3, 1, 4]); // [3, N, H, t, dh]
        let mut parts = Vec::new();
        for i in 0..3 {
            let idx = self.e.index("qkv_index", i);
            parts.push(self.op("Gather", &[&qkv, &idx], vec![Attr::int("axis", 0)]));
        }
        let kt = self.transpose(&parts[1], &[0, 1, 3, 2]); // [N, H, dh, t]
        let scores = self.op("MatMul", &[&parts[0], &kt], vec![]); // [N, H, t, t]
        let probs = self.softmax(&scores, -1);
        let out = self.op("MatMul", &[&probs, &parts[2]], vec![]); // [N, H, t, dh]
        let out = self.transpose(&out, &[0, 2, 1, 3]);
        let out = self.reshape(&out, &[0, 0, d]);
        self.linear(&out, &format!("{prefix}.out_proj"), d, d, true)
    }

    /// `x` [N, t, d] → `mlp(x)` with HF `CLIPMLP`.
    fn mlp(&mut self, x: &str, prefix: &str) -> Result<String, ExportError> {
        let (d, hidden) = (self.cfg.vision.width, self.cfg.vision.mlp_dim);
        let h = self.linear(x, &format!("{prefix}.fc1"), d, hidden, true)?;
        let h = self.quick_gelu(&h);
        self.linear(&h, &format!("{prefix}.fc2"), hidden, d, true)
    }

    /// The m experts `din → hidden → din` applied to slot groups: `slots` [.., m, s, din]
    /// (broadcast batch dims) → same shape. One batched `MatMul` per layer, [m, din, hidden].
    fn experts(
        &mut self,
        slots: &str,
        prefix: &str,
        din: i64,
        hidden: i64,
    ) -> Result<String, ExportError> {
        let m = self.cfg.experts.num_experts;
        let mut w1 = Vec::new();
        let mut b1 = Vec::new();
        let mut w2 = Vec::new();
        let mut b2 = Vec::new();
        for e in 0..m {
            let p = format!("{prefix}.experts.{e}");
            w1.push(
                self.w
                    .get(&format!("{p}.fc1.weight"), &[hidden, din])?
                    .transpose(0, 1),
            );
            b1.push(
                self.w
                    .get(&format!("{p}.fc1.bias"), &[hidden])?
                    .view([1, hidden]),
            );
            w2.push(
                self.w
                    .get(&format!("{p}.fc2.weight"), &[din, hidden])?
                    .transpose(0, 1),
            );
            b2.push(self.w.get(&format!("{p}.fc2.bias"), &[din])?.view([1, din]));
        }
        let (w1, b1) = (Tensor::stack(&w1, 0), Tensor::stack(&b1, 0)); // [m,din,hid], [m,1,hid]
        let (w2, b2) = (Tensor::stack(&w2, 0), Tensor::stack(&b2, 0));
        let h = self
            .e
            .matmul(slots, &format!("{prefix}.experts.fc1.weight"), &w1, true);
        let b1 = self.e.f32(&format!("{prefix}.experts.fc1.bias"), &b1);
        let h = self.op("Add", &[&h, &b1], vec![]);
        let h = self.quick_gelu(&h);
        let y = self
            .e
            .matmul(&h, &format!("{prefix}.experts.fc2.weight"), &w2, true);
        let b2 = self.e.f32(&format!("{prefix}.experts.fc2.bias"), &b2);
        Ok(self.op("Add", &[&y, &b2], vec![]))
    }

    /// MoAE (spec §2) on `h` [N, p, d] → [N, p, d]; mirrors `experts::Moae::forward`.
    fn moae(&mut self, h: &str, prefix: &str) -> Result<String, ExportError> {
        let d = self.cfg.vision.width;
        let ex = &self.cfg.experts;
        let (m, heads, ratio) = (ex.num_experts, ex.heads, ex.ratio);
        let s = self.cfg.slots_per_expert();
        let ms = m * s;
        let dh = d / heads;
        let phi = self.w.get(&format!("{prefix}.slots"), &[ms, d])?;
        let wq = self.w.get(&format!("{prefix}.q_proj.weight"), &[d, d])?;
        let wk = self.w.get(&format!("{prefix}.k_proj.weight"), &[d, d])?;
        // A = [W_k,hᵀ q_hᵀ / sqrt(dh)]_h : [d, H·m·s], column h·m·s + i (float64 fold).
        let q = phi
            .to_kind(Kind::Double)
            .matmul(&wq.to_kind(Kind::Double).transpose(0, 1)); // [ms, d]
        let wk = wk.to_kind(Kind::Double);
        let cols: Vec<Tensor> = (0..heads)
            .map(|hh| {
                let q_h = q.narrow(1, hh * dh, dh); // [ms, dh]
                let wk_h = wk.narrow(0, hh * dh, dh); // [dh, d]
                wk_h.transpose(0, 1).matmul(&q_h.transpose(0, 1)) * (dh as f64).powf(-0.5)
            })
            .collect();
        let a = Tensor::cat(&cols, 1).to_kind(Kind::Float);
        let lt = self.e.matmul(h, &format!("{prefix}.router"), &a, false); // [N, p, H·ms]
        let lt = self.reshape(&lt, &[0, 0, heads, ms]);
        let lc = self.transpose(&lt, &[0, 2, 1, 3]); // [N, H, p, ms] = Lᵀ
        let l = self.transpose(&lt, &[0, 2, 3, 1]); // [N, H, ms, p] = L
        let dispatch = self.softmax(&l, -1); // over tokens
        let combine = self.softmax(&lc, -1); // over slots
        let v = self.linear(h, &format!("{prefix}.v_proj"), d, d, false)?;
        let v = self.reshape(&v, &[0, 0, heads, dh]);
        let v = self.transpose(&v, &[0, 2, 1, 3]); // [N, H, p, dh]
        let slots = self.op("MatMul", &[&dispatch, &v], vec![]); // [N, H, ms, dh]
        let slots = self.reshape(&slots, &[0, 0, m, s, dh]);
        let y = self.experts(&slots, prefix, dh, ratio * dh)?;
        let y = self.reshape(&y, &[0, 0, ms, dh]);
        let out = self.op("MatMul", &[&combine, &y], vec![]); // [N, H, p, dh]
        let out = self.transpose(&out, &[0, 2, 1, 3]);
        let out = self.reshape(&out, &[0, 0, d]);
        self.linear(&out, &format!("{prefix}.out_proj"), d, d, false)
    }

    /// `x · rsqrt(Σ x² + 1e-6)` over the last axis (vmoe's normalize).
    fn l2_normalize_eps(&mut self, x: &str) -> String {
        let sq = self.op("Mul", &[x, x], vec![]);
        let axes = self.e.ints("axes", &[-1]);
        let sum = self.op("ReduceSum", &[&sq, &axes], vec![Attr::int("keepdims", 1)]);
        let eps = self.e.scalar("eps", 1e-6);
        let sum = self.op("Add", &[&sum, &eps], vec![]);
        let norm = self.op("Sqrt", &[&sum], vec![]);
        self.op("Div", &[x, &norm], vec![])
    }

    /// Soft MoE on `h` [N, p, d] → [N, p, d]; mirrors `experts::SoftMoe::forward`.
    fn softmoe(&mut self, h: &str, prefix: &str) -> Result<String, ExportError> {
        let d = self.cfg.vision.width;
        let ex = &self.cfg.experts;
        let (m, ratio) = (ex.num_experts, ex.ratio);
        let s = self.cfg.slots_per_expert();
        let ms = m * s;
        let phi = self.w.get(&format!("{prefix}.slots"), &[ms, d])?;
        let scale = self.w.get(&format!("{prefix}.scale"), &[])?;
        let phi_n = crate::model::experts::l2_normalize(&phi, -1) * scale; // [ms, d]
        let hn = self.l2_normalize_eps(h);
        let logits = self.e.matmul(
            &hn,
            &format!("{prefix}.router"),
            &phi_n.transpose(0, 1),
            false,
        ); // [N,p,ms]
        let dispatch = self.softmax(&logits, 1); // over tokens
        let combine = self.softmax(&logits, -1); // over all slots
        let dt = self.transpose(&dispatch, &[0, 2, 1]);
        let slots = self.op("MatMul", &[&dt, h], vec![]); // [N, ms, d]
        let slots = self.reshape(&slots, &[0, m, s, d]);
        let y = self.experts(&slots, prefix, d, ratio * d)?;
        let y = self.reshape(&y, &[0, ms, d]);
        Ok(self.op("MatMul", &[&combine, &y], vec![]))
    }

    /// One pre-LN block: `x + attn(ln1 x)`, then `+ mlp(h) + experts(h)` with `h = ln2 x`.
    fn block(&mut self, x: &str, i: i64) -> Result<String, ExportError> {
        let d = self.cfg.vision.width;
        let p = format!("vision_model.encoder.layers.{i}");
        let h1 = self.layer_norm(x, &format!("{p}.layer_norm1"), d)?;
        let a = self.attention(&h1, &format!("{p}.self_attn"))?;
        let x = self.op("Add", &[x, &a], vec![]);
        let h = self.layer_norm(&x, &format!("{p}.layer_norm2"), d)?;
        let mlp = self.mlp(&h, &format!("{p}.mlp"))?;
        let y = self.op("Add", &[&x, &mlp], vec![]);
        if !self.cfg.has_experts(i) {
            return Ok(y);
        }
        let e = match self.cfg.experts.variant {
            Variant::Moae => self.moae(&h, &format!("{p}.moae"))?,
            Variant::SoftMoe => self.softmoe(&h, &format!("{p}.softmoe"))?,
            Variant::Clip => return Ok(y),
        };
        Ok(self.op("Add", &[&y, &e], vec![]))
    }
}

/// Builds the ONNX model: `pixel_values` [N, 3, S, S] → `logits` [N, 2], `attack_score` [N]
/// (and `embedding` [N, proj] when asked). `class_emb` [2, proj] is the class text embedding
/// (row 0 live, row 1 attack; normalised or not: it is l2-normalised here as in tch).
pub fn build_model(
    cfg: &ModelConfig,
    vars: HashMap<String, Tensor>,
    class_emb: &Tensor,
    opts: &GraphOptions,
    meta: &ModelMeta,
) -> Result<ModelProto, ExportError> {
    cfg.validate().map_err(ExportError::Config)?;
    let weights = Weights { vars };
    let v = &cfg.vision;
    let (d, proj, size) = (v.width, cfg.projection_dim, v.image_size);
    if class_emb.size() != [2, proj] {
        return Err(ExportError::WeightShape {
            name: "class embeddings".into(),
            expected: vec![2, proj],
            found: class_emb.size(),
        });
    }
    let mut g = GraphBuilder::new("moae_cr");
    let batch = Dim::batch();
    let pixels = g.input(
        INPUT_PIXELS,
        DataType::Float,
        &[
            batch.clone(),
            Dim::Fixed(3),
            Dim::Fixed(size),
            Dim::Fixed(size),
        ],
    );
    let mut b = Builder {
        e: Emitter::new(g, opts.format),
        w: &weights,
        cfg,
    };
    let mut x = b.embed(&pixels)?;
    for i in 0..v.layers {
        x = b.block(&x, i)?;
    }
    let idx = b.e.index("cls_index", 0);
    let cls = b.op("Gather", &[&x, &idx], vec![Attr::int("axis", 1)]); // [N, d]
    let pooled = b.layer_norm(&cls, "vision_model.post_layernorm", d)?;
    let wp = weights.get("visual_projection.weight", &[proj, d])?;
    let emb = b.e.matmul(
        &pooled,
        "visual_projection.weight",
        &wp.transpose(0, 1),
        false,
    );

    // logits = norm(emb) · (exp(logit_scale) · norm(class_emb))ᵀ, norm = x / max(‖x‖, 1e-12).
    let scale = weights.get("logit_scale", &[])?;
    let c = class_emb
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float);
    let cn = crate::model::l2norm(&c) * scale.exp();
    let norm = b.op(
        "ReduceL2",
        &[&emb],
        vec![Attr::ints("axes", &[-1]), Attr::int("keepdims", 1)],
    );
    let floor = b.e.scalar("norm_floor", 1e-12);
    let norm = b.op("Max", &[&norm, &floor], vec![]);
    let emb_n = b.op("Div", &[&emb, &norm], vec![]);
    let cls_w =
        b.e.f32("class_embeddings.scaled", &cn.transpose(0, 1).contiguous());
    let logits = b.op("MatMul", &[&emb_n, &cls_w], vec![]);

    let mut g = b.e.g;
    g.classifier_outputs(&logits, &batch);
    if opts.embedding {
        g.output(
            &emb,
            OUTPUT_EMBEDDING,
            DataType::Float,
            &[batch, Dim::Fixed(proj)],
        );
    }
    let producer = format!("moae-trainer {}", env!("CARGO_PKG_VERSION"));
    Ok(g.finish(OPSET, IR_VERSION, &producer, Some(meta)))
}
