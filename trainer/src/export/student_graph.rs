//! The student (spec §9) as an ONNX graph, op for op [`Student::forward_t`] in evaluation
//! mode, with BatchNorm folded into the convolutions ([`fold_bn`]).
//!
//! Only operators that ONNX Runtime's mobile build, CoreML and NNAPI run: `Conv`, `Relu`,
//! `HardSigmoid`, `Mul`, `Add`, `GlobalAveragePool`, `Flatten`, `Gemm`, `Softmax`, `Gather`,
//! `Identity`, and in int8 files `QuantizeLinear` / `DequantizeLinear`. Hard-swish is written
//! as `x · HardSigmoid(x)` (the `HardSwish` op is younger and less widely supported).
//!
//! Int8 ([`StudentPrecision::Int8`]) is static QDQ quantisation, the form ONNX Runtime's own
//! `quantize_static` writes and its graph optimiser turns into `QLinearConv`: every
//! convolution after the float front and the hidden linear layer read their input through
//! `QuantizeLinear → DequantizeLinear` (uint8, one scale per tensor, from calibration ranges),
//! their weights through `DequantizeLinear` of int8 values (±63 with
//! [`Int8Plan::reduce_range`]) with one scale per output channel, their bias as int32 at scale
//! `input scale · weight scale`, and their output goes through
//! `QuantizeLinear → DequantizeLinear` again. The two small output heads stay float.
//!
//! Activation ranges default to percentiles of the calibration values ([`RangeEstimator`]):
//! a min/max range is set by a handful of outliers and leaves the bulk a few steps, which
//! moves scores far more than the int8 weights do. [`Int8Plan::float_front`] keeps the stem
//! and the first blocks in float: at full resolution they carry the faint pixel-level spoof
//! cues, and 8-bit steps there change decisions most (docs/int8.md has the measurements).
//! [`Int8Plan::float_layers`] keeps chosen later layers in float as well: those that
//! [`layer_sensitivity`] finds moving the attack margin most on the calibration images.

use super::quantize::values;
use super::ExportError;
pub use crate::model::student::uint8_params;
use crate::model::student::{
    fold_bn, int32_bias, int8_weights, se_channels, Activation, FakeQuant, Student, StudentConfig,
};
use moae_onnx::meta::{ATTACK_TYPES, CLASSES, FORMAT_VERSION, INPUT_PIXELS, OUTPUT_ATTACK_TYPE};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::proto::ModelProto;
use moae_onnx::{Attr, Dim, GraphBuilder, ModelMeta, IR_VERSION, OPSET};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tch::{Device, Kind, Tensor};

/// The observed range `(min, max)` of each quantised activation, by point name
/// (`<layer>.in` / `<layer>.out`, e.g. `blocks.3.depthwise.in`; see [`Student::observe`]).
pub type ActivationRanges = BTreeMap<String, (f32, f32)>;

/// What a static int8 export is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Plan {
    /// The calibration range of every quantisation point ([`calibrate`]).
    pub ranges: ActivationRanges,
    /// Leading stages computed in float (stage 0 is the stem, stage `i + 1` block `i`): the
    /// full-resolution layers where a small-amplitude cue is lost first in 8 bits.
    pub float_front: usize,
    /// Weights in ±63 (7 bits) instead of ±127: x86 CPUs without VNNI (AVX2, AVX-512F/BW)
    /// multiply uint8 by int8 with `vpmaddubsw`, whose int16 sum of two products saturates
    /// above 32767 (255 · 127 · 2 does), so full-range weights give other scores there.
    pub reduce_range: bool,
    /// Layers after the float front that stay in float too (names from
    /// [`Student::int8_layers`]; chosen by [`layer_sensitivity`] on the calibration images).
    pub float_layers: BTreeSet<String>,
}

/// `trainer export --quantize int8`'s defaults, the file that ships (docs/int8.md): ranges at
/// the 99.99th percentile, the stem and the first five blocks in float, ±63 weights.
pub const DEFAULT_PERCENTILE: f64 = 99.99;
pub const DEFAULT_FLOAT_FRONT: usize = 6;

/// How a point's range is taken from its calibration activations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeEstimator {
    /// The smallest and largest value seen.
    MinMax,
    /// The `(100 − p)`-th and `p`-th percentiles (`p` in (50, 100]): a few outliers saturate
    /// so that the 256 steps resolve the bulk of the values finely.
    Percentile(f64),
}

/// How a student file computes.
#[derive(Debug, Clone, PartialEq)]
pub enum StudentPrecision {
    Fp32,
    /// Static QDQ int8.
    Int8(Int8Plan),
}

/// Bins of the calibration histograms: fine enough that a percentile lands within 1/4096 of
/// the min–max span.
const HISTOGRAM_BINS: i64 = 4096;

/// Runs the observer over every calibration batch (evaluation mode, no gradients).
fn observe_all(
    student: &Student,
    batches: &[Tensor],
    f: &mut dyn FnMut(&str, &Tensor),
) -> Result<(), ExportError> {
    tch::no_grad(|| {
        for x in batches {
            student
                .check_pixels(x)
                .map_err(|e| ExportError::Calibration(e.to_string()))?;
            student.observe(x, &mut *f);
        }
        Ok(())
    })
}

/// The range of every quantisation point over the calibration batches (pixels normalised as
/// the model expects), the model in evaluation mode: min/max in one pass, percentiles from a
/// histogram over that span in a second.
pub fn calibrate(
    student: &Student,
    batches: &[Tensor],
    estimator: RangeEstimator,
) -> Result<ActivationRanges, ExportError> {
    if batches.iter().map(|b| b.size()[0]).sum::<i64>() == 0 {
        return Err(ExportError::Calibration(
            "the calibration set is empty: int8 needs at least one image (give --calib LIST)"
                .into(),
        ));
    }
    let mut ranges = ActivationRanges::new();
    observe_all(student, batches, &mut |name: &str, t: &Tensor| {
        let (lo, hi) = (t.min().double_value(&[]), t.max().double_value(&[]));
        let e = ranges
            .entry(name.to_string())
            .or_insert((f32::INFINITY, f32::NEG_INFINITY));
        *e = (e.0.min(lo as f32), e.1.max(hi as f32));
    })?;
    if let Some((k, r)) = ranges
        .iter()
        .find(|(_, r)| !(r.0.is_finite() && r.1.is_finite()))
    {
        return Err(ExportError::Calibration(format!(
            "activation `{k}` has the non-finite range {r:?} on the calibration images"
        )));
    }
    let RangeEstimator::Percentile(p) = estimator else {
        return Ok(ranges);
    };
    if !(p > 50.0 && p <= 100.0) {
        return Err(ExportError::Options(format!(
            "the activation range percentile must be in (50, 100], got {p}"
        )));
    }
    let mut counts: BTreeMap<String, Tensor> = BTreeMap::new();
    observe_all(student, batches, &mut |name: &str, t: &Tensor| {
        let (lo, hi) = ranges[name];
        let h = histogram(t, lo, hi);
        let sum = match counts.remove(name) {
            Some(c) => c + h,
            None => h,
        };
        counts.insert(name.to_string(), sum);
    })?;
    for (name, c) in counts {
        let (lo, hi) = ranges[&name];
        let c = Vec::<i64>::try_from(&c).expect("int64 counts");
        ranges.insert(name, percentile_range(&c, lo, hi, p));
    }
    Ok(ranges)
}

/// Each int8 layer's name with its mean |attack-margin change|, most sensitive first
/// ([`layer_sensitivity`]).
pub type Sensitivity = Vec<(String, f64)>;

/// How far each int8 layer alone moves the attack-minus-live logit margin on the calibration
/// images: for every layer of [`Student::int8_layers`], the mean |margin change| when that
/// layer alone is computed in int8 (as [`FakeQuant`] simulates the export: the same ranges and
/// rounding) and everything else in float. Most sensitive first. The choice of
/// [`Int8Plan::float_layers`] is made from these numbers on the calibration list, never on
/// the images the export is judged on.
pub fn layer_sensitivity(
    student: &Student,
    batches: &[Tensor],
    ranges: &ActivationRanges,
    float_front: usize,
    weight_max: f64,
) -> Result<Sensitivity, ExportError> {
    let margin = |z: &Tensor| z.select(1, 1) - z.select(1, 0);
    let layers = student.int8_layers(float_front);
    let fp32: Vec<Tensor> = tch::no_grad(|| {
        batches
            .iter()
            .map(|x| margin(&student.forward_t(x, false).logits))
            .collect()
    });
    let images: i64 = batches.iter().map(|b| b.size()[0]).sum();
    let mut out = Vec::with_capacity(layers.len());
    for layer in &layers {
        let others = layers.iter().filter(|l| *l != layer).cloned().collect();
        let fq = FakeQuant::new(student, ranges.clone(), float_front, weight_max)
            .and_then(|f| f.with_float_layers(student, others))
            .map_err(ExportError::Calibration)?;
        let total: f64 = tch::no_grad(|| {
            batches
                .iter()
                .zip(&fp32)
                .map(|(x, m)| {
                    let mq = margin(&student.forward_fake_quant(x, &fq).logits);
                    (mq - m).abs().sum(Kind::Double).double_value(&[])
                })
                .sum()
        });
        out.push((layer.clone(), total / images.max(1) as f64));
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(out)
}

/// The `n` most sensitive layers of a [`layer_sensitivity`] list.
pub fn most_sensitive(
    sensitivity: &[(String, f64)],
    n: usize,
) -> Result<BTreeSet<String>, ExportError> {
    if n > sensitivity.len() {
        return Err(ExportError::Options(format!(
            "{n} float layers asked for; the export has {} int8 layers after its float front",
            sensitivity.len()
        )));
    }
    Ok(sensitivity[..n].iter().map(|(l, _)| l.clone()).collect())
}

/// [`Int8Plan::float_layers`] for `--float-sensitive n`, as the export and QAT choose them: the
/// `n` most sensitive layers on the calibration `batches`, with the whole [`layer_sensitivity`]
/// list (nothing is measured when `n` is 0).
pub fn sensitive_float_layers(
    student: &Student,
    batches: &[Tensor],
    ranges: &ActivationRanges,
    float_front: usize,
    weight_max: f64,
    n: usize,
) -> Result<(Sensitivity, BTreeSet<String>), ExportError> {
    if n == 0 {
        return Ok(Default::default());
    }
    let sensitivity = layer_sensitivity(student, batches, ranges, float_front, weight_max)?;
    let chosen = most_sensitive(&sensitivity, n)?;
    Ok((sensitivity, chosen))
}

/// Counts of `t`'s values in [`HISTOGRAM_BINS`] equal bins over `[lo, hi]`.
fn histogram(t: &Tensor, lo: f32, hi: f32) -> Tensor {
    let width = f64::from((hi - lo).max(f32::MIN_POSITIVE)) / HISTOGRAM_BINS as f64;
    ((t.detach().to_kind(Kind::Float).view([-1]) - f64::from(lo)) / width)
        .floor()
        .clamp(0.0, (HISTOGRAM_BINS - 1) as f64)
        .to_kind(Kind::Int64)
        .bincount(None::<Tensor>, HISTOGRAM_BINS)
}

/// The `(100 − p)`-th and `p`-th percentiles of values counted in `counts`, equal bins over
/// `[lo, hi]`: the edges of the bins where the tails of `(100 − p) %` of the values end, taken
/// outward, so that at least `p − (100 − p)` percent of the values lie inside.
pub fn percentile_range(counts: &[i64], lo: f32, hi: f32, p: f64) -> (f32, f32) {
    let total: i64 = counts.iter().sum();
    let tail = (total as f64 * (100.0 - p) / 100.0).floor() as i64;
    let width = (hi - lo) / counts.len() as f32;
    // The first bin whose values the lower tail cannot all hold.
    let mut seen = 0;
    let first = counts
        .iter()
        .position(|&c| {
            seen += c;
            seen > tail
        })
        .unwrap_or(0);
    seen = 0;
    let last = counts
        .iter()
        .rposition(|&c| {
            seen += c;
            seen > tail
        })
        .unwrap_or(counts.len() - 1);
    (
        lo + width * first as f32,
        (lo + width * (last + 1) as f32).min(hi),
    )
}

struct Builder<'a> {
    g: GraphBuilder,
    vars: &'a HashMap<String, Tensor>,
    cfg: &'a StudentConfig,
    ranges: Option<&'a ActivationRanges>,
    /// The stage being built stays in float ([`Int8Plan::float_front`]).
    float_stage: bool,
    /// Later layers that stay in float ([`Int8Plan::float_layers`]).
    float_layers: Option<&'a BTreeSet<String>>,
    /// The names of `float_layers` met after the float front (the others are no int8 layer).
    float_layers_met: BTreeSet<String>,
    /// The largest int8 weight magnitude ([`Int8Plan::reduce_range`]).
    weight_max: f64,
    /// Values that are DequantizeLinear outputs, with their scale: not quantised twice.
    dequantized: HashMap<String, f32>,
}

impl Builder<'_> {
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

    fn f32(&mut self, name: &str, t: &Tensor) -> String {
        self.g.initializer_f32(name, &t.size(), &values(t))
    }

    fn op(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<moae_onnx::proto::AttributeProto>,
    ) -> String {
        self.g.op(op, inputs, attrs)
    }

    fn act(&mut self, x: &str, a: Activation) -> String {
        match a {
            Activation::Relu => self.op("Relu", &[x], vec![]),
            Activation::Hswish => {
                let s = self.hsigmoid(x);
                self.op("Mul", &[x, &s], vec![])
            }
        }
    }

    /// max(0, min(1, x/6 + 1/2)), torch's `hardsigmoid`.
    fn hsigmoid(&mut self, x: &str) -> String {
        let attrs = vec![Attr::float("alpha", 1.0 / 6.0), Attr::float("beta", 0.5)];
        self.op("HardSigmoid", &[x], attrs)
    }

    /// `x` read through QuantizeLinear → DequantizeLinear with the calibration range of
    /// `point`; returns the value and its scale. A value that already is a DequantizeLinear
    /// output is returned as it is.
    fn qdq(
        &mut self,
        x: &str,
        point: &str,
        ranges: &ActivationRanges,
    ) -> Result<(String, f32), ExportError> {
        if let Some(&scale) = self.dequantized.get(x) {
            return Ok((x.to_string(), scale));
        }
        let &(lo, hi) = ranges.get(point).ok_or_else(|| {
            ExportError::Calibration(format!("no calibration range for activation `{point}`"))
        })?;
        let (scale, zp) = uint8_params(lo, hi);
        let s = self.g.scalar_f32(&format!("{point}.scale"), scale);
        let z = self
            .g
            .initializer_u8(&format!("{point}.zero_point"), &[], &[zp]);
        let q = self.op("QuantizeLinear", &[x, &s, &z], vec![]);
        let dq = self.g.op_named(
            "DequantizeLinear",
            &[&q, &s, &z],
            &format!("{point}.dq"),
            vec![],
        );
        self.dequantized.insert(dq.clone(), scale);
        Ok((dq, scale))
    }

    /// Convolution `prefix.conv` with `prefix.bn` folded in (`x` [N, cin, H, W]).
    fn conv_bn(
        &mut self,
        x: &str,
        prefix: &str,
        (cin, cout, kernel, stride, groups): (i64, i64, i64, i64, i64),
    ) -> Result<String, ExportError> {
        let w = self.get(
            &format!("{prefix}.conv.weight"),
            &[cout, cin / groups, kernel, kernel],
        )?;
        let bn = |s: &Self, n: &str| s.get(&format!("{prefix}.bn.{n}"), &[cout]);
        let (w, b) = fold_bn(
            &w,
            &bn(self, "weight")?,
            &bn(self, "bias")?,
            &bn(self, "running_mean")?,
            &bn(self, "running_var")?,
            self.cfg.bn_eps,
        );
        let attrs = vec![
            Attr::ints("kernel_shape", &[kernel, kernel]),
            Attr::ints("strides", &[stride, stride]),
            Attr::ints("pads", &[kernel / 2; 4]),
            Attr::int("group", groups),
        ];
        self.with_weights("Conv", x, prefix, &w, &b, attrs)
    }

    /// Per-output-channel symmetric int8 weights and the int32 bias at scale
    /// `x_scale · w_scale`, each read through DequantizeLinear (axis 0).
    fn quantized_weights(
        &mut self,
        prefix: &str,
        w: &Tensor,
        b: &Tensor,
        x_scale: f32,
    ) -> (String, String) {
        let cout = w.size()[0];
        let (q, w_scale) = int8_weights(w, self.weight_max);
        let q = q.to_kind(Kind::Int8);
        let qv = Vec::<i8>::try_from(&q.contiguous().view([-1])).expect("int8 values");
        let wi = self
            .g
            .initializer_i8(&format!("{prefix}.weight.int8"), &w.size(), &qv);
        let ws = self.f32(&format!("{prefix}.weight.scale"), &w_scale);
        let wz = self.g.initializer_i8(
            &format!("{prefix}.weight.zero_point"),
            &[cout],
            &vec![0; cout as usize],
        );
        let axis = vec![Attr::int("axis", 0)];
        let wd = self.op("DequantizeLinear", &[&wi, &ws, &wz], axis.clone());
        let (bq, b_scale) = int32_bias(b, &w_scale, x_scale);
        let bq: Vec<i32> = values(&bq)
            .iter()
            .map(|v| v.clamp(i32::MIN as f32, i32::MAX as f32) as i32)
            .collect();
        let bi = self
            .g
            .initializer_i32(&format!("{prefix}.bias.int32"), &[cout], &bq);
        let bs = self.f32(&format!("{prefix}.bias.scale"), &b_scale);
        let bz = self.g.initializer_i32(
            &format!("{prefix}.bias.zero_point"),
            &[cout],
            &vec![0; cout as usize],
        );
        let bd = self.op("DequantizeLinear", &[&bi, &bs, &bz], axis);
        (wd, bd)
    }

    /// A float 1×1 convolution with bias (squeeze-and-excitation).
    fn conv1x1(
        &mut self,
        x: &str,
        prefix: &str,
        cin: i64,
        cout: i64,
    ) -> Result<String, ExportError> {
        let w = self.get(&format!("{prefix}.weight"), &[cout, cin, 1, 1])?;
        let b = self.get(&format!("{prefix}.bias"), &[cout])?;
        let attrs = vec![Attr::ints("kernel_shape", &[1, 1])];
        self.with_weights("Conv", x, prefix, &w, &b, attrs)
    }

    /// `op(x, w, b)` (a convolution, or a `Gemm` with `transB`): in float, or in an int8 file
    /// with `x` and the output through Q→DQ at the ranges of `prefix.in` / `prefix.out` and
    /// per-output-channel int8 weights.
    fn with_weights(
        &mut self,
        op: &str,
        x: &str,
        prefix: &str,
        w: &Tensor,
        b: &Tensor,
        attrs: Vec<moae_onnx::proto::AttributeProto>,
    ) -> Result<String, ExportError> {
        let float_layer = self.float_layers.is_some_and(|f| f.contains(prefix));
        if float_layer && !self.float_stage {
            self.float_layers_met.insert(prefix.to_string());
        }
        let Some(ranges) = self.ranges.filter(|_| !self.float_stage && !float_layer) else {
            let (wn, bn) = (
                self.f32(&format!("{prefix}.weight"), w),
                self.f32(&format!("{prefix}.bias"), b),
            );
            return Ok(self.op(op, &[x, &wn, &bn], attrs));
        };
        let (xq, x_scale) = self.qdq(x, &format!("{prefix}.in"), ranges)?;
        let (wq, bq) = self.quantized_weights(prefix, w, b, x_scale);
        let y = self.op(op, &[&xq, &wq, &bq], attrs);
        Ok(self.qdq(&y, &format!("{prefix}.out"), ranges)?.0)
    }

    /// `x · hardsigmoid(restore(relu(reduce(GlobalAveragePool(x)))))`.
    fn se(&mut self, x: &str, prefix: &str, c: i64) -> Result<String, ExportError> {
        let sq = se_channels(c);
        let pooled = self.op("GlobalAveragePool", &[x], vec![]);
        let h = self.conv1x1(&pooled, &format!("{prefix}.reduce"), c, sq)?;
        let h = self.op("Relu", &[&h], vec![]);
        let h = self.conv1x1(&h, &format!("{prefix}.restore"), sq, c)?;
        let gate = self.hsigmoid(&h);
        Ok(self.op("Mul", &[x, &gate], vec![]))
    }

    fn block(&mut self, x: &str, i: usize) -> Result<String, ExportError> {
        let b = self.cfg.blocks[i].clone();
        let cin = self.cfg.block_input(i);
        let p = format!("blocks.{i}");
        let mut h = x.to_string();
        if b.expand != cin {
            h = self.conv_bn(&h, &format!("{p}.expand"), (cin, b.expand, 1, 1, 1))?;
            h = self.act(&h, b.act);
        }
        let dw = (b.expand, b.expand, b.kernel, b.stride, b.expand);
        h = self.conv_bn(&h, &format!("{p}.depthwise"), dw)?;
        h = self.act(&h, b.act);
        if b.se {
            h = self.se(&h, &format!("{p}.se"), b.expand)?;
        }
        let y = self.conv_bn(&h, &format!("{p}.project"), (b.expand, b.out, 1, 1, 1))?;
        if b.stride == 1 && cin == b.out {
            Ok(self.op("Add", &[&y, x], vec![]))
        } else {
            Ok(y)
        }
    }

    /// `Gemm(x, Wᵀ) + b` for a torch linear layer `prefix` [dout, din] (float).
    fn gemm(&mut self, x: &str, prefix: &str, din: i64, dout: i64) -> Result<String, ExportError> {
        let w = self.get(&format!("{prefix}.weight"), &[dout, din])?;
        let b = self.get(&format!("{prefix}.bias"), &[dout])?;
        let (wn, bn) = (
            self.f32(&format!("{prefix}.weight"), &w),
            self.f32(&format!("{prefix}.bias"), &b),
        );
        Ok(self.op("Gemm", &[x, &wn, &bn], vec![Attr::int("transB", 1)]))
    }

    /// The hidden layer: a `Gemm` quantised like the convolutions in an int8 file.
    fn hidden(&mut self, x: &str, din: i64, dout: i64) -> Result<String, ExportError> {
        let w = self.get("hidden.weight", &[dout, din])?;
        let b = self.get("hidden.bias", &[dout])?;
        self.with_weights("Gemm", x, "hidden", &w, &b, vec![Attr::int("transB", 1)])
    }
}

/// Builds the ONNX model of a student: `pixel_values` [N, 3, S, S] → `logits` [N, 2],
/// `attack_score` [N] and, when the config has the head, `attack_type` [N, 4] (softmax over
/// [`crate::model::student::ATTACK_TYPES`]).
pub fn build_student(
    cfg: &StudentConfig,
    vars: &HashMap<String, Tensor>,
    precision: &StudentPrecision,
    meta: &ModelMeta,
) -> Result<ModelProto, ExportError> {
    cfg.validate()
        .map_err(|e| ExportError::Options(e.to_string()))?;
    let mut g = GraphBuilder::new("moae_student");
    let batch = Dim::batch();
    let s = cfg.image_size;
    let pixels = g.input(
        INPUT_PIXELS,
        DataType::Float,
        &[batch.clone(), Dim::Fixed(3), Dim::Fixed(s), Dim::Fixed(s)],
    );
    let (ranges, float_front, reduce_range, float_layers) = match precision {
        StudentPrecision::Fp32 => (None, 0, false, None),
        StudentPrecision::Int8(plan) => (
            Some(&plan.ranges),
            plan.float_front,
            plan.reduce_range,
            Some(&plan.float_layers),
        ),
    };
    let stages = cfg.blocks.len() + 1;
    if float_front > stages {
        return Err(ExportError::Options(format!(
            "{float_front} float stages asked for; `{}` has {stages} (the stem and {} blocks)",
            cfg.preset,
            cfg.blocks.len()
        )));
    }
    let mut b = Builder {
        g,
        vars,
        cfg,
        ranges,
        float_stage: float_front > 0,
        float_layers,
        float_layers_met: BTreeSet::new(),
        weight_max: crate::model::student::weight_max(reduce_range),
        dequantized: HashMap::new(),
    };
    let x = b.conv_bn(&pixels, "stem", (3, cfg.stem, 3, 2, 1))?;
    let mut x = b.act(&x, Activation::Hswish);
    for i in 0..cfg.blocks.len() {
        b.float_stage = i + 1 < float_front;
        x = b.block(&x, i)?;
    }
    b.float_stage = false;
    let x = b.conv_bn(&x, "last", (cfg.features(), cfg.last_conv, 1, 1, 1))?;
    let x = b.act(&x, Activation::Hswish);
    let pooled = b.op("GlobalAveragePool", &[&x], vec![]);
    let flat = b.op("Flatten", &[&pooled], vec![Attr::int("axis", 1)]);
    let h = b.hidden(&flat, cfg.last_conv, cfg.hidden)?;
    let h = b.act(&h, Activation::Hswish);
    let logits = b.gemm(&h, "classifier", cfg.hidden, 2)?;
    let types = if cfg.attack_types > 0 {
        let t = b.gemm(&h, "attack_type", cfg.hidden, cfg.attack_types)?;
        Some(b.op("Softmax", &[&t], vec![Attr::int("axis", -1)]))
    } else {
        None
    };
    if let Some(f) = b.float_layers {
        let unknown: Vec<&str> = f
            .difference(&b.float_layers_met)
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(ExportError::Options(format!(
                "float layers {} are no int8 layer of `{}` with {float_front} float stages",
                unknown.join(", "),
                cfg.preset
            )));
        }
    }
    let mut g = b.g;
    g.classifier_outputs(&logits, &batch);
    if let Some(t) = types {
        let dims = [batch, Dim::Fixed(cfg.attack_types)];
        g.output(&t, OUTPUT_ATTACK_TYPE, DataType::Float, &dims);
    }
    let producer = format!("moae-trainer {}", env!("CARGO_PKG_VERSION"));
    Ok(g.finish(OPSET, IR_VERSION, &producer, Some(meta)))
}

/// The metadata of a student export: the student's own input size and normalisation, the
/// attack-type classes when it has the head.
pub fn student_meta(
    cfg: &StudentConfig,
    precision: &StudentPrecision,
    threshold: Option<f32>,
    checkpoint_sha256: &str,
) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: cfg.to_json(),
        preset: cfg.preset.clone(),
        variant: "student".into(),
        input_size: cfg.image_size as u32,
        mean: cfg.mean,
        std: cfg.std,
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        attack_types: if cfg.attack_types > 0 {
            ATTACK_TYPES.iter().map(|s| s.to_string()).collect()
        } else {
            Vec::new()
        },
        threshold: threshold.unwrap_or(0.5),
        threshold_calibrated: threshold.is_some(),
        precision: match precision {
            StudentPrecision::Fp32 => "fp32",
            StudentPrecision::Int8(_) => "int8",
        }
        .into(),
        checkpoint_sha256: checkpoint_sha256.into(),
        producer: format!("moae-trainer {}", env!("CARGO_PKG_VERSION")),
    }
}

/// The ONNX bytes of an in-memory student (the CLI and the tests).
pub fn export_student_bytes(
    student: &Student,
    vs: &tch::nn::VarStore,
    precision: &StudentPrecision,
    meta: &ModelMeta,
) -> Result<Vec<u8>, ExportError> {
    let vars = vs.variables();
    let proto = tch::no_grad(|| build_student(&student.cfg, &vars, precision, meta))?;
    Ok(moae_onnx::to_bytes(&proto))
}

#[cfg(test)]
mod tests {
    use super::percentile_range;

    #[test]
    fn percentile_range_takes_the_bin_edges_where_the_tails_end() {
        // 100 values in five bins of width 1 over [0, 5]: 5 | 0 | 90 | 0 | 5.
        let counts = [5, 0, 90, 0, 5];
        // 95 %: each tail may hold 5 values, so both outer bins are clipped.
        assert_eq!(percentile_range(&counts, 0.0, 5.0, 95.0), (2.0, 3.0));
        // 96 %: a tail of 4 cannot hold an outer bin, so nothing is clipped.
        assert_eq!(percentile_range(&counts, 0.0, 5.0, 96.0), (0.0, 5.0));
        assert_eq!(percentile_range(&counts, 0.0, 5.0, 100.0), (0.0, 5.0));
        // Asymmetric: a heavy upper tail alone is clipped.
        assert_eq!(
            percentile_range(&[0, 98, 1, 1], -2.0, 2.0, 98.0),
            (-1.0, 0.0)
        );
    }
}
