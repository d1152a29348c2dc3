//! The student (spec §9): a convolutional network of the MobileNetV3 / MiniFASNet kind that an
//! app ships — inverted-residual blocks (1×1 expansion, depthwise k×k, optional squeeze-and-
//! excitation, 1×1 projection, each convolution followed by BatchNorm), ReLU or hard-swish,
//! global average pooling, a hidden linear layer and two heads: the live/attack logits and
//! the attack-type logits over the four fine-grained labels of spec §6.
//!
//! A preset is data ([`StudentConfig`], serialised into checkpoints and ONNX files like the
//! CLIP [`crate::model::config::ModelConfig`]); every layer below is built from it. Variable
//! names (VarStore paths): `stem.{conv,bn}`, `blocks.{i}.{expand,depthwise,project}.{conv,bn}`,
//! `blocks.{i}.se.{reduce,restore}`, `last.{conv,bn}`, `hidden`, `classifier`, `attack_type`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use tch::nn::{self, Module, ModuleT};
use tch::{Kind, Tensor};

/// Names of the student presets [`StudentConfig::preset`] knows.
pub const PRESETS: [&str; 2] = ["student-s", "student-m"];

/// The attack-type head's classes, in logit order (spec §6's fine-grained labels 0..=3).
pub use moae_onnx::meta::ATTACK_TYPES;

/// Marks a config as a student's in JSON (`"family": "student"`), so a checkpoint or ONNX
/// config says which kind of model it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Student,
}

/// The non-linearity of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Relu,
    /// `x · hardsigmoid(x)` = `x · min(max(x/6 + 1/2, 0), 1)`.
    Hswish,
}

/// One inverted-residual block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockConfig {
    /// Depthwise kernel side (odd).
    pub kernel: i64,
    /// Hidden (expanded) channels; equal to the input channels = no expansion convolution.
    pub expand: i64,
    /// Output channels.
    pub out: i64,
    /// Depthwise stride, 1 or 2. A block with stride 1 and `out` = its input adds the input.
    pub stride: i64,
    /// Squeeze-and-excitation after the depthwise convolution.
    pub se: bool,
    pub act: Activation,
}

/// A whole student. Serialised as JSON into every checkpoint and ONNX file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentConfig {
    pub family: Family,
    /// Preset this config started from (informational; the fields below are authoritative).
    pub preset: String,
    /// Square input side in pixels.
    pub image_size: i64,
    /// RGB normalisation the network expects (applied to pixels in [0, 1]).
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Channels of the 3×3 stride-2 stem convolution (hard-swish).
    pub stem: i64,
    pub blocks: Vec<BlockConfig>,
    /// Channels of the last 1×1 convolution before pooling (hard-swish).
    pub last_conv: i64,
    /// Width of the hidden linear layer after pooling (hard-swish).
    pub hidden: i64,
    /// Classes of the attack-type head: 4 ([`ATTACK_TYPES`]) or 0 for no head.
    pub attack_types: i64,
    pub bn_eps: f64,
}

/// A student config that cannot describe a model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StudentConfigError {
    #[error("unknown student preset `{0}` (known: student-s, student-m)")]
    UnknownPreset(String),
    #[error("invalid student config: {0}")]
    Invalid(String),
    #[error("student config JSON is malformed: {0}")]
    Json(String),
}

/// The student's own normalisation: pixels in [0, 1] to [-1, 1].
pub const STUDENT_MEAN: [f32; 3] = [0.5, 0.5, 0.5];
pub const STUDENT_STD: [f32; 3] = [0.5, 0.5, 0.5];

/// Most channels of any layer, most blocks: far above any mobile network, low enough that a
/// damaged config is a named error before libtorch tries to allocate it.
const MAX_CHANNELS: i64 = 4096;
const MAX_BLOCKS: usize = 64;

/// A block's config from its table row (the presets' notation).
pub fn block(
    kernel: i64,
    expand: i64,
    out: i64,
    stride: i64,
    se: bool,
    act: Activation,
) -> BlockConfig {
    BlockConfig {
        kernel,
        expand,
        out,
        stride,
        se,
        act,
    }
}

impl StudentConfig {
    /// A named preset.
    pub fn preset(name: &str) -> Result<Self, StudentConfigError> {
        use Activation::{Hswish as HS, Relu as RE};
        let (image_size, stem, blocks, last_conv, hidden) = match name {
            // MobileNetV3-Small's block table with a narrower top (288-channel last conv, 128
            // hidden): ≈ 0.03 GMACs and < 1 M parameters at 112 px, the UniAttackData
            // adversarial images' own size.
            "student-s" => (
                112,
                16,
                vec![
                    block(3, 16, 16, 2, true, RE),
                    block(3, 72, 24, 2, false, RE),
                    block(3, 88, 24, 1, false, RE),
                    block(5, 96, 40, 2, true, HS),
                    block(5, 240, 40, 1, true, HS),
                    block(5, 240, 40, 1, true, HS),
                    block(5, 120, 48, 1, true, HS),
                    block(5, 144, 48, 1, true, HS),
                    block(5, 288, 96, 2, true, HS),
                    block(5, 384, 96, 1, true, HS),
                ],
                288,
                128,
            ),
            // MobileNetV3-Large's block table with a narrower top (640-channel last conv, 256
            // hidden) at 128 px: ≈ 0.1 GMACs, ≈ 2.5 M parameters (≤ 3 MB in int8).
            "student-m" => (
                128,
                16,
                vec![
                    block(3, 16, 16, 1, false, RE),
                    block(3, 64, 24, 2, false, RE),
                    block(3, 72, 24, 1, false, RE),
                    block(5, 72, 40, 2, true, RE),
                    block(5, 120, 40, 1, true, RE),
                    block(5, 120, 40, 1, true, RE),
                    block(3, 240, 80, 2, false, HS),
                    block(3, 200, 80, 1, false, HS),
                    block(3, 184, 80, 1, false, HS),
                    block(3, 184, 80, 1, false, HS),
                    block(3, 480, 112, 1, true, HS),
                    block(3, 672, 112, 1, true, HS),
                    block(5, 672, 160, 2, true, HS),
                    block(5, 640, 160, 1, true, HS),
                ],
                640,
                256,
            ),
            other => return Err(StudentConfigError::UnknownPreset(other.to_string())),
        };
        Ok(StudentConfig {
            family: Family::Student,
            preset: name.into(),
            image_size,
            mean: STUDENT_MEAN,
            std: STUDENT_STD,
            stem,
            blocks,
            last_conv,
            hidden,
            attack_types: ATTACK_TYPES.len() as i64,
            bn_eps: 1e-3,
        })
    }

    /// Input channels of block `i`.
    pub fn block_input(&self, i: usize) -> i64 {
        if i == 0 {
            self.stem
        } else {
            self.blocks[i - 1].out
        }
    }

    /// Channels after the last block.
    pub fn features(&self) -> i64 {
        self.blocks.last().map_or(self.stem, |b| b.out)
    }

    /// Checks the invariants the network relies on; every problem is listed.
    pub fn validate(&self) -> Result<(), StudentConfigError> {
        let mut bad = Vec::new();
        if !(16..=1024).contains(&self.image_size) {
            bad.push(format!(
                "image_size must be in 16..=1024, is {}",
                self.image_size
            ));
        }
        let widths = [
            ("stem", self.stem),
            ("last_conv", self.last_conv),
            ("hidden", self.hidden),
        ];
        for (name, c) in widths {
            if !(1..=MAX_CHANNELS).contains(&c) {
                bad.push(format!("{name} must be in 1..={MAX_CHANNELS}, is {c}"));
            }
        }
        if self.blocks.is_empty() || self.blocks.len() > MAX_BLOCKS {
            bad.push(format!(
                "blocks must number 1..={MAX_BLOCKS}, are {}",
                self.blocks.len()
            ));
        }
        for (i, b) in self.blocks.iter().enumerate() {
            for (name, c) in [("expand", b.expand), ("out", b.out)] {
                if !(1..=MAX_CHANNELS).contains(&c) {
                    bad.push(format!(
                        "blocks[{i}].{name} must be in 1..={MAX_CHANNELS}, is {c}"
                    ));
                }
            }
            if !(1..=7).contains(&b.kernel) || b.kernel % 2 == 0 {
                bad.push(format!(
                    "blocks[{i}].kernel must be 1, 3, 5 or 7, is {}",
                    b.kernel
                ));
            }
            if !(1..=2).contains(&b.stride) {
                bad.push(format!(
                    "blocks[{i}].stride must be 1 or 2, is {}",
                    b.stride
                ));
            }
        }
        if self.attack_types != 0 && self.attack_types != ATTACK_TYPES.len() as i64 {
            bad.push(format!(
                "attack_types must be 0 (no head) or {}, is {}",
                ATTACK_TYPES.len(),
                self.attack_types
            ));
        }
        for (name, vals) in [("mean", self.mean), ("std", self.std)] {
            let std = name == "std";
            if !vals.iter().all(|&x| x.is_finite() && (!std || x > 0.0)) {
                let pos = if std { " and positive" } else { "" };
                bad.push(format!("{name} must be finite{pos}, is {vals:?}"));
            }
        }
        if !(self.bn_eps > 0.0 && self.bn_eps <= 0.1) {
            bad.push(format!("bn_eps must be in (0, 0.1], is {}", self.bn_eps));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(StudentConfigError::Invalid(bad.join("; ")))
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("StudentConfig serialises")
    }

    /// Parses and validates.
    pub fn from_json(s: &str) -> Result<Self, StudentConfigError> {
        let cfg: StudentConfig =
            serde_json::from_str(s).map_err(|e| StudentConfigError::Json(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Whether a config JSON describes a student (`"family": "student"`) rather than a CLIP model.
pub fn is_student_json(s: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .and_then(|v| v.get("family").cloned())
        .is_some_and(|f| f == "student")
}

/// Squeeze channels of an SE module over `c` channels: c/4 rounded to a multiple of 8
/// (MobileNetV3's `_make_divisible`), at least 8.
pub fn se_channels(c: i64) -> i64 {
    let q = c / 4;
    let r = ((q + 4) / 8 * 8).max(8);
    if (r as f64) < 0.9 * q as f64 {
        r + 8
    } else {
        r
    }
}

/// Output side of a same-padded convolution (padding k/2) with `stride`.
pub fn conv_out(side: i64, kernel: i64, stride: i64) -> i64 {
    (side + 2 * (kernel / 2) - kernel) / stride + 1
}

/// Convolution + BatchNorm (the convolution has no bias: BatchNorm's shift replaces it).
#[derive(Debug)]
pub struct ConvBn {
    /// The VarStore path (`stem`, `blocks.3.depthwise`, …), also the observation point name.
    pub name: String,
    pub conv: nn::Conv2D,
    pub bn: nn::BatchNorm,
    pub stride: i64,
    pub groups: i64,
    pub eps: f64,
}

/// Sees the quantisation points of a forward pass: `<conv>.in` (a convolution's input) and
/// `<conv>.out` (its output after BatchNorm), see [`Student::observe`].
pub type Observer<'a> = dyn FnMut(&str, &Tensor) + 'a;

impl ConvBn {
    fn new(
        p: nn::Path,
        cin: i64,
        cout: i64,
        kernel: i64,
        stride: i64,
        groups: i64,
        eps: f64,
    ) -> Self {
        let name = p.components().collect::<Vec<_>>().join(".");
        let conv = nn::conv2d(
            &p / "conv",
            cin,
            cout,
            kernel,
            nn::ConvConfig {
                stride,
                padding: kernel / 2,
                groups,
                bias: false,
                ..Default::default()
            },
        );
        let bn = nn::batch_norm2d(
            &p / "bn",
            cout,
            nn::BatchNormConfig {
                eps,
                ..Default::default()
            },
        );
        ConvBn {
            name,
            conv,
            bn,
            stride,
            groups,
            eps,
        }
    }

    /// With `fq`, the int8 export's convolution: BatchNorm folded at its running statistics,
    /// input, weights, bias and output fake-quantised.
    fn forward_t(
        &self,
        x: &Tensor,
        train: bool,
        obs: &mut Observer,
        fq: Option<&FakeQuant>,
    ) -> Tensor {
        let Some(fq) = fq else {
            obs(&format!("{}.in", self.name), x);
            let y = self.bn.forward_t(&self.conv.forward(x), train);
            obs(&format!("{}.out", self.name), &y);
            return y;
        };
        let bn = &self.bn;
        let (w, b) = fold_bn_differentiable(
            &self.conv.ws,
            bn.ws.as_ref().expect("BatchNorm is affine"),
            bn.bs.as_ref().expect("BatchNorm is affine"),
            &bn.running_mean,
            &bn.running_var,
            self.eps,
        );
        let pad = self.conv.ws.size()[2] / 2;
        let (s, g) = (self.stride, self.groups);
        fq.layer(&self.name, x, &w, &b, |x, w, b| {
            x.conv2d(w, Some(b), [s, s], [pad, pad], [1, 1], g)
        })
    }
}

/// The arithmetic of a static int8 export (`trainer export --quantize int8`) simulated in
/// float, with straight-through gradients: quantisation-aware training. Every layer after
/// the float front reads its input and writes its output through uint8 quantisation at the
/// calibrated range of the point (`<layer>.in`, `<layer>.out`; asymmetric, one scale per
/// tensor), its weights through symmetric ±`weight_max` per output channel and its bias
/// through int32 at scale `input scale · weight scale`, exactly as the exporter rounds them.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeQuant {
    /// The calibration range `(min, max)` of every quantisation point.
    pub ranges: BTreeMap<String, (f32, f32)>,
    /// Leading stages left in float (stage 0 is the stem, stage `i + 1` block `i`).
    pub float_front: usize,
    /// The largest int8 weight magnitude (63 or 127).
    pub weight_max: f64,
    /// Layers after the float front that stay in float too ([`FakeQuant::with_float_layers`]).
    pub float_layers: BTreeSet<String>,
}

/// Asymmetric uint8 parameters `(scale, zero point)` of a range (widened to include 0, so
/// that zero padding is exact).
pub fn uint8_params(lo: f32, hi: f32) -> (f32, u8) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let zp = (-lo / scale).round().clamp(0.0, 255.0) as u8;
    (scale, zp)
}

/// `[-1, 1, 1, …]`: a per-output-channel vector broadcast over `w`'s other axes.
fn per_row_shape(w: &Tensor) -> Vec<i64> {
    let mut shape = vec![1i64; w.dim()];
    shape[0] = -1;
    shape
}

/// The largest int8 weight magnitude: ±63 with `reduce_range` (no saturation of AVX2's
/// `vpmaddubsw` pairs, ONNX Runtime's `reduce_range` choice), else ±127.
pub fn weight_max(reduce_range: bool) -> f64 {
    if reduce_range {
        63.0
    } else {
        127.0
    }
}

/// Symmetric per-output-channel quantisation of float32 weights `[out, ...]` to
/// ±`weight_max`: the integer values (as float) and the scales `[out]`. An all-zero channel
/// gets scale 1.
pub fn int8_weights(w: &Tensor, weight_max: f64) -> (Tensor, Tensor) {
    let rest: Vec<i64> = (1..w.dim() as i64).collect();
    let absmax = w.abs().amax(rest.as_slice(), false);
    let w_scale = (&absmax / weight_max).where_self(&absmax.gt(0.0), &absmax.ones_like());
    let q = (w / w_scale.view(per_row_shape(w).as_slice()))
        .round()
        .clamp(-weight_max, weight_max);
    (q, w_scale)
}

/// A bias rounded to whole multiples of `x_scale · w_scale` (int32 in the file): the integer
/// values (as float) and the scales.
pub fn int32_bias(b: &Tensor, w_scale: &Tensor, x_scale: f32) -> (Tensor, Tensor) {
    let b_scale = w_scale * f64::from(x_scale);
    ((b / &b_scale).round(), b_scale)
}

/// `x` rounded to `q` in value with the gradient of the identity (straight-through).
fn straight_through(x: &Tensor, q: Tensor) -> Tensor {
    x + (q - x.detach())
}

impl FakeQuant {
    /// Checks that `ranges` has every point `student` quantises with `float_front` and that
    /// each is finite; the stage count bounds `float_front`.
    pub fn new(
        student: &Student,
        ranges: BTreeMap<String, (f32, f32)>,
        float_front: usize,
        weight_max: f64,
    ) -> Result<Self, String> {
        let stages = student.cfg.blocks.len() + 1;
        if float_front > stages {
            return Err(format!(
                "{float_front} float stages asked for; `{}` has {stages} (the stem and {} blocks)",
                student.cfg.preset,
                student.cfg.blocks.len()
            ));
        }
        let fq = FakeQuant {
            ranges,
            float_front,
            weight_max,
            float_layers: BTreeSet::new(),
        };
        let mut missing = Vec::new();
        let px = Tensor::zeros(
            [1, 3, student.cfg.image_size, student.cfg.image_size],
            (Kind::Float, student.stem.conv.ws.device()),
        );
        tch::no_grad(|| {
            student.observe(&px, &mut |name, _| match fq.ranges.get(name) {
                Some(r) if r.0.is_finite() && r.1.is_finite() => {}
                _ => missing.push(name.to_string()),
            })
        });
        if missing.is_empty() {
            Ok(fq)
        } else {
            Err(format!(
                "no finite calibration range for {}",
                missing.join(", ")
            ))
        }
    }

    /// The same simulation with `layers` (names from [`Student::int8_layers`] at this
    /// float front) computed in float: no rounding of their input, weights or output.
    pub fn with_float_layers(
        mut self,
        student: &Student,
        layers: BTreeSet<String>,
    ) -> Result<Self, String> {
        let int8 = student.int8_layers(self.float_front);
        let unknown: Vec<&str> = layers
            .iter()
            .filter(|l| !int8.contains(l))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "{} {} not an int8 layer of `{}` with {} float stages (int8 layers: {})",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                student.cfg.preset,
                self.float_front,
                int8.join(", ")
            ));
        }
        self.float_layers = layers;
        Ok(self)
    }

    /// Whether stage `s` is computed in int8.
    fn quantises(&self, stage: usize) -> bool {
        stage >= self.float_front
    }

    /// `x` through QuantizeLinear → DequantizeLinear at the range of `point`; returns the
    /// scale too. Gradients pass inside the range and stop outside it.
    fn activation(&self, x: &Tensor, point: &str) -> (Tensor, f32) {
        let (lo, hi) = self.ranges[point];
        let (scale, zp) = uint8_params(lo, hi);
        let y = x.fake_quantize_per_tensor_affine(f64::from(scale), i64::from(zp), 0, 255);
        (y, scale)
    }

    /// Weights `[out, ...]` rounded symmetrically per output channel and the bias rounded to
    /// int32 at `x_scale · weight scale`, as [`crate::export::student_graph`] writes them.
    fn weights(&self, w: &Tensor, b: &Tensor, x_scale: f32) -> (Tensor, Tensor) {
        let (q, w_scale) = int8_weights(&w.detach(), self.weight_max);
        let (bq, b_scale) = int32_bias(&b.detach(), &w_scale, x_scale);
        let q = q * w_scale.view(per_row_shape(w).as_slice());
        (straight_through(w, q), straight_through(b, bq * b_scale))
    }

    /// `op(x, w, b)` of layer `name` in int8: input and output through Q→DQ, weights and
    /// bias rounded.
    fn layer(
        &self,
        name: &str,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        op: impl Fn(&Tensor, &Tensor, &Tensor) -> Tensor,
    ) -> Tensor {
        if self.float_layers.contains(name) {
            return op(x, w, b);
        }
        let (x, x_scale) = self.activation(x, &format!("{name}.in"));
        let (w, b) = self.weights(w, b, x_scale);
        self.activation(&op(&x, &w, &b), &format!("{name}.out")).0
    }
}

fn act(x: Tensor, a: Activation) -> Tensor {
    match a {
        Activation::Relu => x.relu(),
        Activation::Hswish => x.hardswish(),
    }
}

/// Squeeze-and-excitation: `x · hardsigmoid(restore(relu(reduce(mean_hw(x)))))`.
#[derive(Debug)]
pub struct Se {
    /// The VarStore path, e.g. `blocks.3.se`.
    pub name: String,
    pub reduce: nn::Conv2D,
    pub restore: nn::Conv2D,
}

/// A layer with a weight and a bias (SE's 1×1 convolutions, the hidden linear layer).
trait Weighted: Module {
    fn weight_bias(&self) -> (&Tensor, &Tensor);
    /// The layer's operation with the given weight and bias.
    fn apply(&self, x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor;
}

impl Weighted for nn::Conv2D {
    fn weight_bias(&self) -> (&Tensor, &Tensor) {
        (
            &self.ws,
            self.bs.as_ref().expect("SE convolutions have a bias"),
        )
    }
    fn apply(&self, x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
        x.conv2d(w, Some(b), [1, 1], [0, 0], [1, 1], 1)
    }
}

impl Weighted for nn::Linear {
    fn weight_bias(&self) -> (&Tensor, &Tensor) {
        (
            &self.ws,
            self.bs.as_ref().expect("linear layers have a bias"),
        )
    }
    fn apply(&self, x: &Tensor, w: &Tensor, b: &Tensor) -> Tensor {
        x.linear(w, Some(b))
    }
}

/// `layer.forward(x)` with `x` shown to `obs` as `<name>.in` and the result as `<name>.out`;
/// with `fq`, in int8 ([`FakeQuant`]).
fn observed(
    name: &str,
    layer: &impl Weighted,
    x: &Tensor,
    obs: &mut Observer,
    fq: Option<&FakeQuant>,
) -> Tensor {
    if let Some(fq) = fq {
        let (w, b) = layer.weight_bias();
        return fq.layer(name, x, w, b, |x, w, b| layer.apply(x, w, b));
    }
    obs(&format!("{name}.in"), x);
    let y = layer.forward(x);
    obs(&format!("{name}.out"), &y);
    y
}

impl Se {
    fn new(p: nn::Path, c: i64) -> Self {
        let sq = se_channels(c);
        Se {
            name: p.components().collect::<Vec<_>>().join("."),
            reduce: nn::conv2d(&p / "reduce", c, sq, 1, Default::default()),
            restore: nn::conv2d(&p / "restore", sq, c, 1, Default::default()),
        }
    }

    fn forward(&self, x: &Tensor, obs: &mut Observer, fq: Option<&FakeQuant>) -> Tensor {
        let s = x.mean_dim([2i64, 3].as_slice(), true, Kind::Float);
        let reduce = format!("{}.reduce", self.name);
        let s = observed(&reduce, &self.reduce, &s, obs, fq).relu();
        let restore = format!("{}.restore", self.name);
        let s = observed(&restore, &self.restore, &s, obs, fq);
        x * s.hardsigmoid()
    }
}

/// One inverted-residual block.
#[derive(Debug)]
pub struct Block {
    pub cfg: BlockConfig,
    pub cin: i64,
    pub expand: Option<ConvBn>,
    pub depthwise: ConvBn,
    pub se: Option<Se>,
    pub project: ConvBn,
}

impl Block {
    fn new(p: nn::Path, cin: i64, b: &BlockConfig, eps: f64) -> Self {
        Block {
            cfg: b.clone(),
            cin,
            expand: (b.expand != cin)
                .then(|| ConvBn::new(&p / "expand", cin, b.expand, 1, 1, 1, eps)),
            depthwise: ConvBn::new(
                &p / "depthwise",
                b.expand,
                b.expand,
                b.kernel,
                b.stride,
                b.expand,
                eps,
            ),
            se: b.se.then(|| Se::new(&p / "se", b.expand)),
            project: ConvBn::new(&p / "project", b.expand, b.out, 1, 1, 1, eps),
        }
    }

    /// Whether the block adds its input to its output.
    pub fn residual(&self) -> bool {
        self.cfg.stride == 1 && self.cin == self.cfg.out
    }

    fn forward_t(
        &self,
        x: &Tensor,
        train: bool,
        obs: &mut Observer,
        fq: Option<&FakeQuant>,
    ) -> Tensor {
        let a = self.cfg.act;
        let h = match &self.expand {
            Some(e) => act(e.forward_t(x, train, obs, fq), a),
            None => x.shallow_clone(),
        };
        let h = act(self.depthwise.forward_t(&h, train, obs, fq), a);
        let h = match &self.se {
            Some(se) => se.forward(&h, obs, fq),
            None => h,
        };
        let y = self.project.forward_t(&h, train, obs, fq);
        if self.residual() {
            y + x
        } else {
            y
        }
    }
}

/// The two heads' logits of a batch.
#[derive(Debug)]
pub struct StudentOutput {
    /// `[N, 2]` live/attack logits.
    pub logits: Tensor,
    /// `[N, 4]` attack-type logits ([`ATTACK_TYPES`] order), when the model has the head.
    pub type_logits: Option<Tensor>,
}

/// The student network; its tensors live in the VarStore behind the path given to
/// [`Student::new`].
#[derive(Debug)]
pub struct Student {
    pub cfg: StudentConfig,
    pub stem: ConvBn,
    pub blocks: Vec<Block>,
    pub last: ConvBn,
    pub hidden: nn::Linear,
    pub classifier: nn::Linear,
    pub attack_type: Option<nn::Linear>,
}

impl Student {
    /// Builds the network with fresh weights (Kaiming-uniform convolutions, BatchNorm 1/0,
    /// PyTorch-default linear layers). The config must be valid ([`StudentConfig::validate`]).
    pub fn new(p: &nn::Path, cfg: &StudentConfig) -> Self {
        let eps = cfg.bn_eps;
        let blocks = cfg
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| Block::new(p / "blocks" / i, cfg.block_input(i), b, eps))
            .collect();
        Student {
            cfg: cfg.clone(),
            stem: ConvBn::new(p / "stem", 3, cfg.stem, 3, 2, 1, eps),
            blocks,
            last: ConvBn::new(p / "last", cfg.features(), cfg.last_conv, 1, 1, 1, eps),
            hidden: nn::linear(p / "hidden", cfg.last_conv, cfg.hidden, Default::default()),
            classifier: nn::linear(p / "classifier", cfg.hidden, 2, Default::default()),
            attack_type: (cfg.attack_types > 0).then(|| {
                nn::linear(
                    p / "attack_type",
                    cfg.hidden,
                    cfg.attack_types,
                    Default::default(),
                )
            }),
        }
    }

    /// The pooled hidden features `[N, hidden]` of pixels `[N, 3, S, S]` (normalised with the
    /// config's mean and std). `train` selects batch statistics (and updates the running ones).
    pub fn features(&self, pixels: &Tensor, train: bool) -> Tensor {
        self.features_observed(pixels, train, &mut |_, _| {})
    }

    fn features_observed(&self, pixels: &Tensor, train: bool, obs: &mut Observer) -> Tensor {
        self.features_with(pixels, train, obs, None)
    }

    /// The features, with the layers that `fq` quantises in int8 when it is given.
    fn features_with(
        &self,
        pixels: &Tensor,
        train: bool,
        obs: &mut Observer,
        fq: Option<&FakeQuant>,
    ) -> Tensor {
        let at = |stage: usize| fq.filter(|f| f.quantises(stage));
        let mut x = self.stem.forward_t(pixels, train, obs, at(0)).hardswish();
        for (i, b) in self.blocks.iter().enumerate() {
            x = b.forward_t(&x, train, obs, at(i + 1));
        }
        let x = self.last.forward_t(&x, train, obs, fq).hardswish();
        let pooled = x.mean_dim([2i64, 3].as_slice(), false, Kind::Float);
        observed("hidden", &self.hidden, &pooled, obs, fq).hardswish()
    }

    fn heads(&self, h: &Tensor) -> StudentOutput {
        StudentOutput {
            logits: self.classifier.forward(h),
            type_logits: self.attack_type.as_ref().map(|l| l.forward(h)),
        }
    }

    /// Both heads' logits.
    pub fn forward_t(&self, pixels: &Tensor, train: bool) -> StudentOutput {
        self.heads(&self.features(pixels, train))
    }

    /// Both heads' logits as the int8 export computes them ([`FakeQuant`]; quantisation-aware
    /// training): BatchNorm at its running statistics everywhere (frozen, so that the folded
    /// weight is the one that is rounded), straight-through gradients.
    pub fn forward_fake_quant(&self, pixels: &Tensor, fq: &FakeQuant) -> StudentOutput {
        self.heads(&self.features_with(pixels, false, &mut |_, _| {}, Some(fq)))
    }

    /// An evaluation-mode forward pass that shows `obs` every convolution's input and output
    /// (the activations an int8 export quantises; calibration).
    pub fn observe(&self, pixels: &Tensor, obs: &mut Observer) {
        let _ = self.features_observed(pixels, false, obs);
    }

    /// The layers an int8 export with `float_front` float stages computes in int8, in
    /// forward order (`blocks.6.expand`, `blocks.6.se.reduce`, …, `last`, `hidden`): each
    /// quantisation point `<layer>.in` of [`Student::observe`] after the float front.
    pub fn int8_layers(&self, float_front: usize) -> Vec<String> {
        let stage = |name: &str| -> Option<usize> {
            if name.starts_with("stem.") {
                return Some(0);
            }
            let i = name.strip_prefix("blocks.")?.split('.').next()?;
            i.parse::<usize>().ok().map(|i| i + 1)
        };
        let mut layers = Vec::new();
        let px = Tensor::zeros(
            [1, 3, self.cfg.image_size, self.cfg.image_size],
            (Kind::Float, self.stem.conv.ws.device()),
        );
        tch::no_grad(|| {
            self.observe(&px, &mut |point, _| {
                if let Some(layer) = point.strip_suffix(".in") {
                    if stage(point).is_none_or(|s| s >= float_front) {
                        layers.push(layer.to_string());
                    }
                }
            })
        });
        layers
    }

    /// Checks that `pixels` is a float [N, 3, S, S] batch with S = `image_size`.
    pub fn check_pixels(&self, pixels: &Tensor) -> Result<(), crate::model::InputError> {
        let s = self.cfg.image_size;
        let size = pixels.size();
        let ok = size.len() == 4 && size[1] == 3 && size[2] == s && size[3] == s && size[0] > 0;
        if !ok || !pixels.is_floating_point() {
            return Err(crate::model::InputError(format!(
                "images must be float [N, 3, {s}, {s}] (preset `{}`), got {:?} {size:?}",
                self.cfg.preset,
                pixels.kind()
            )));
        }
        Ok(())
    }
}

/// Multiply-accumulates of one image, per part (one MAC = one multiply + add; biases,
/// BatchNorm (folded at export), activations, pooling and additions not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StudentMacs {
    pub stem: i64,
    /// Expansion, depthwise, SE and projection convolutions of all blocks.
    pub blocks: i64,
    pub last_conv: i64,
    /// Hidden layer and both heads.
    pub head: i64,
    pub total: i64,
}

/// MACs per image for `cfg` (see [`StudentMacs`]).
pub fn student_macs(cfg: &StudentConfig) -> StudentMacs {
    let mut side = conv_out(cfg.image_size, 3, 2);
    let mut m = StudentMacs {
        stem: side * side * cfg.stem * 3 * 9,
        ..Default::default()
    };
    for (i, b) in cfg.blocks.iter().enumerate() {
        let cin = cfg.block_input(i);
        if b.expand != cin {
            m.blocks += side * side * cin * b.expand;
        }
        side = conv_out(side, b.kernel, b.stride);
        m.blocks += side * side * b.expand * b.kernel * b.kernel;
        if b.se {
            m.blocks += 2 * b.expand * se_channels(b.expand);
        }
        m.blocks += side * side * b.expand * b.out;
    }
    m.last_conv = side * side * cfg.features() * cfg.last_conv;
    m.head = cfg.last_conv * cfg.hidden + cfg.hidden * (2 + cfg.attack_types);
    m.total = m.stem + m.blocks + m.last_conv + m.head;
    m
}

/// A convolution with BatchNorm folded in: `bn(conv(x)) = conv'(x) + b'` with
/// `conv' = conv · γ/√(var+ε)` per output channel and `b' = β − mean · γ/√(var+ε)`. Computed in
/// float64 and returned as float32 (weight `[out, in/groups, k, k]`, bias `[out]`).
pub fn fold_bn(
    conv_weight: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
) -> (Tensor, Tensor) {
    let d = |t: &Tensor| t.detach().to_device(tch::Device::Cpu);
    fold_bn_differentiable(&d(conv_weight), &d(gamma), &d(beta), &d(mean), &d(var), eps)
}

/// [`fold_bn`] on the tensors' own device with gradients to the convolution weight, γ and β
/// (the same float64 arithmetic, so that the values are the exporter's to the bit).
pub fn fold_bn_differentiable(
    conv_weight: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
) -> (Tensor, Tensor) {
    let d = |t: &Tensor| t.to_kind(Kind::Double);
    let scale = d(gamma) / (d(var) + eps).sqrt();
    let w = d(conv_weight) * scale.view([-1, 1, 1, 1]);
    let b = d(beta) - d(mean) * &scale;
    (w.to_kind(Kind::Float), b.to_kind(Kind::Float))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn presets_validate_round_trip_and_meet_their_budgets() {
        // (preset, max GMACs, max parameters) of spec §9.
        for (name, gmacs, params) in [("student-s", 0.1, 1_000_000), ("student-m", 0.6, 5_000_000)]
        {
            let cfg = StudentConfig::preset(name).unwrap();
            cfg.validate().unwrap();
            assert_eq!(StudentConfig::from_json(&cfg.to_json()).unwrap(), cfg);
            assert!(is_student_json(&cfg.to_json()));
            let macs = student_macs(&cfg).total as f64 / 1e9;
            assert!(macs <= gmacs, "{name}: {macs} GMACs");
            let vs = nn::VarStore::new(Device::Cpu);
            let _ = Student::new(&vs.root(), &cfg);
            let n: i64 = vs
                .trainable_variables()
                .iter()
                .map(|t| t.numel() as i64)
                .sum();
            eprintln!("{name}: {macs:.4} GMACs, {n} parameters");
            assert!(n <= params, "{name}: {n} parameters");
        }
        assert!(matches!(
            StudentConfig::preset("student-xl"),
            Err(StudentConfigError::UnknownPreset(_))
        ));
    }

    #[test]
    fn bad_configs_list_every_problem() {
        let mut cfg = StudentConfig::preset("student-s").unwrap();
        cfg.blocks[2].kernel = 4;
        cfg.blocks[3].stride = 3;
        cfg.attack_types = 3;
        cfg.std[1] = 0.0;
        let err = cfg.validate().unwrap_err().to_string();
        for want in [
            "blocks[2].kernel",
            "blocks[3].stride",
            "attack_types",
            "std",
        ] {
            assert!(err.contains(want), "{want}: {err}");
        }
        assert!(StudentConfig::from_json(&cfg.to_json()).is_err());
        let clip = r#"{"preset":"tiny","vision":{}}"#;
        assert!(!is_student_json(clip));
    }

    #[test]
    fn macs_count_matches_a_hand_count_of_a_one_block_net() {
        let cfg = StudentConfig {
            family: Family::Student,
            preset: "hand".into(),
            image_size: 32,
            mean: STUDENT_MEAN,
            std: STUDENT_STD,
            stem: 8,
            blocks: vec![block(3, 16, 12, 2, true, Activation::Relu)],
            last_conv: 20,
            hidden: 10,
            attack_types: 4,
            bn_eps: 1e-3,
        };
        // stem 16×16×8×3×9; expand 16²·8·16; depthwise 8²·16·9; SE 2·16·8; project 8²·16·12;
        // last 8²·12·20; head 20·10 + 10·(2+4).
        let m = student_macs(&cfg);
        assert_eq!(m.stem, 16 * 16 * 8 * 27);
        assert_eq!(
            m.blocks,
            256 * 8 * 16 + 64 * 16 * 9 + 2 * 16 * 8 + 64 * 16 * 12
        );
        assert_eq!(m.last_conv, 64 * 12 * 20);
        assert_eq!(m.head, 200 + 60);
        let vs = nn::VarStore::new(Device::Cpu);
        let s = Student::new(&vs.root(), &cfg);
        let out = s.forward_t(
            &Tensor::zeros([2, 3, 32, 32], (Kind::Float, Device::Cpu)),
            false,
        );
        assert_eq!(out.logits.size(), [2, 2]);
        assert_eq!(out.type_logits.unwrap().size(), [2, 4]);
    }

    #[test]
    fn folded_batchnorm_equals_conv_then_batchnorm() {
        tch::manual_seed(3);
        let opts = (Kind::Double, Device::Cpu);
        let w = Tensor::randn([6, 1, 3, 3], opts);
        let (gamma, beta) = (Tensor::randn([6], opts), Tensor::randn([6], opts));
        let mean = Tensor::randn([6], opts);
        let var = Tensor::rand([6], opts) + 0.1;
        let x = Tensor::randn([2, 6, 9, 9], opts);
        let conv = |w: &Tensor, b: Option<&Tensor>| x.conv2d(w, b, [2, 2], [1, 1], [1, 1], 6);
        let want = conv(&w, None).batch_norm(
            Some(&gamma),
            Some(&beta),
            Some(&mean),
            Some(&var),
            false,
            0.1,
            1e-3,
            false,
        );
        let (fw, fb) = fold_bn(&w, &gamma, &beta, &mean, &var, 1e-3);
        let got = conv(&fw.to_kind(Kind::Double), Some(&fb.to_kind(Kind::Double)));
        let diff = (got - &want).abs().max().double_value(&[]);
        let mag = want.abs().max().double_value(&[]);
        // float32 rounding of the folded weights only: relative 1e-6 of the output's size.
        assert!(diff <= 1e-6 * mag.max(1.0), "{diff} vs {mag}");
    }
}
