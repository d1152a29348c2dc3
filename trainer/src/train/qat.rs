//! Quantisation-aware fine-tuning of a student: the forward pass of each step computes as the
//! static int8 export will ([`FakeQuant`]: the same float front, weight rounding and
//! activation ranges), gradients pass straight through the rounding, BatchNorm stays at its
//! running statistics so that the folded weight the exporter rounds is the one trained.
//!
//! The activation ranges come from the exporter's own calibration
//! ([`student_graph::calibrate`]) on the same list that `trainer export --calib` is given.
//! They are taken again from the current weights at the start and after every checkpoint, so
//! that the ranges the last steps trained against are (up to the last interval's drift) the
//! ones the export of the final checkpoint calibrates, and a resumed run recalibrates from the
//! weights it resumes at exactly as the uninterrupted run did.

use crate::data::lists::{read_list, Sample};
use crate::data::tensors::batch_tensors;
use crate::export::student_graph::{self, RangeEstimator};
use crate::model::student::{weight_max, FakeQuant, Student};
use crate::model::{InputSpec, NetRef};
use crate::record::QatConfig;
use crate::train::eval_batches;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{Device, Tensor};

/// Calibration images per batch.
const CALIB_BATCH: usize = 32;

/// The calibration images as pixel batches in evaluation preprocessing (the runtime's
/// resampling at the model's input size and normalisation): what `trainer export --calib`
/// computes its ranges on.
pub fn calibration_batches(
    samples: &[Sample],
    input: impl Into<InputSpec>,
    workers: usize,
    device: Device,
) -> Result<Vec<Tensor>> {
    let input = input.into();
    let mut out = Vec::new();
    for b in eval_batches(samples, input, CALIB_BATCH, workers, false)? {
        let b = b.context("loading calibration images")?;
        out.push(batch_tensors(&b, input.size, device)?.0);
    }
    Ok(out)
}

/// The `--calib` list's samples, read for `trainer export --calib` and for `--qat` alike: the
/// percentile checked, the list read relative to `root`, an empty list refused.
pub fn calibration_samples(root: &Path, list: &Path, percentile: f64) -> Result<Vec<Sample>> {
    if !(percentile > 50.0 && percentile <= 100.0) {
        bail!("--calib-percentile {percentile}: give a percentile in (50, 100], e.g. 99.99 (100: min/max)");
    }
    let samples = read_list(root, list).with_context(|| format!("--calib {}", list.display()))?;
    if samples.is_empty() {
        bail!("--calib {}: the list has no images", list.display());
    }
    Ok(samples)
}

/// The range estimator of a percentile (100: min/max), as the exporter chooses it.
pub fn estimator(percentile: f64) -> RangeEstimator {
    if percentile == 100.0 {
        RangeEstimator::MinMax
    } else {
        RangeEstimator::Percentile(percentile)
    }
}

/// The int8 export of `student`'s current weights that `cfg` describes, simulated: ranges
/// (and the `float_sensitive` float layers) calibrated on `batches` by the exporter's code.
pub fn fake_quant(student: &Student, batches: &[Tensor], cfg: &QatConfig) -> Result<FakeQuant> {
    let ranges = student_graph::calibrate(student, batches, estimator(cfg.calib_percentile))
        .context("QAT: calibrating the activation ranges")?;
    let wmax = weight_max(cfg.reduce_range);
    let (_, float_layers) = student_graph::sensitive_float_layers(
        student,
        batches,
        &ranges,
        cfg.float_front,
        wmax,
        cfg.float_sensitive,
    )
    .context("QAT: --float-sensitive")?;
    FakeQuant::new(student, ranges, cfg.float_front, wmax)
        .and_then(|f| f.with_float_layers(student, float_layers))
        .map_err(|e| anyhow::anyhow!("QAT: {e}"))
}

/// `mean((m_int8 − m_fp32)²)` over the batch, `m` the attack-minus-live logit margin of the
/// fake-quantised and the float forward pass of the same weights (the attack score is
/// `sigmoid(m)`, so equal margins are equal decisions at any threshold). Gradients reach the
/// weights through both passes: QAT alone makes the int8 model accurate, this term makes it
/// decide as the fp32 export of the same checkpoint does.
pub fn agreement_term(int8_logits: &Tensor, fp32_logits: &Tensor) -> Tensor {
    let margin = |z: &Tensor| z.select(1, 1) - z.select(1, 0);
    (margin(int8_logits) - margin(fp32_logits))
        .square()
        .mean(tch::Kind::Float)
}

/// A quantisation-aware run's request: the `trainer export --quantize int8` options it
/// simulates and the calibration list (relative to the data root).
#[derive(Debug, Clone, PartialEq)]
pub struct QatRun {
    pub calib: PathBuf,
    pub calib_percentile: f64,
    pub float_front: usize,
    pub reduce_range: bool,
    /// Most sensitive int8 layers kept in float (`trainer export --float-sensitive`).
    pub float_sensitive: usize,
    /// Weight of [`agreement_term`] (0: plain QAT).
    pub agreement: f64,
}

/// Checks a quantisation-aware run's request against its initial model (a trained student
/// checkpoint) and loads the calibration images: every problem is an error before anything
/// is written.
pub fn prepare(
    q: &QatRun,
    init_checkpoint: Option<&Path>,
    model: NetRef,
    root: &Path,
    workers: usize,
    device: Device,
) -> Result<(QatConfig, Vec<Tensor>)> {
    let Some(init) = init_checkpoint else {
        bail!("--qat fine-tunes a trained student: give --init CKPT (e.g. <run>/best.safetensors)");
    };
    let NetRef::Student(student) = model else {
        bail!(
            "--qat is for a student; {} holds a `{}` model of the CLIP family (its int8 export \
             quantises dynamically and needs no QAT)",
            init.display(),
            model.preset()
        );
    };
    let stages = student.cfg.blocks.len() + 1;
    if q.float_front > stages {
        bail!(
            "--float-front {}: `{}` has {stages} stages (the stem and {} blocks)",
            q.float_front,
            student.cfg.preset,
            student.cfg.blocks.len()
        );
    }
    let int8 = student.int8_layers(q.float_front).len();
    if q.float_sensitive > int8 {
        bail!(
            "--float-sensitive {}: `{}` has {int8} int8 layers after --float-front {}",
            q.float_sensitive,
            student.cfg.preset,
            q.float_front
        );
    }
    let samples = calibration_samples(root, &q.calib, q.calib_percentile)?;
    let batches = calibration_batches(&samples, model.input(), workers, device)
        .with_context(|| format!("--calib {}", q.calib.display()))?;
    let cfg = QatConfig {
        calib_percentile: q.calib_percentile,
        float_front: q.float_front,
        reduce_range: q.reduce_range,
        float_sensitive: q.float_sensitive,
        agreement: q.agreement,
        calib_list: q.calib.display().to_string(),
        calib_images: samples.len(),
    };
    Ok((cfg, batches))
}
