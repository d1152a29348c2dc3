//! The `trainer export` command line (the work is in `moae_trainer::export`).

use anyhow::{bail, Context, Result};
use moae_trainer::data::lists::{Sample, Split};
use moae_trainer::eval::metrics;
use moae_trainer::export::{
    self, student_graph, ExportOptions, GraphOptions, Source, Threshold, WeightFormat,
};
use moae_trainer::model::Net;
use moae_trainer::runs::{score_split, DataSource};
use moae_trainer::train::qat;
use std::path::PathBuf;
use tch::Device;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Output ONNX file.
    #[arg(long)]
    onnx: PathBuf,
    /// The checkpoint (.safetensors) to export.
    ckpt: PathBuf,
    /// Dev list (`path label [type]`) whose EER threshold becomes the model's threshold
    /// (images scored through the checkpoint in fp32, evaluation preprocessing).
    #[arg(long, conflicts_with = "dev_scores", requires = "root")]
    dev: Option<PathBuf>,
    /// Data set root that the --dev list's paths are relative to.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Dev scores (`score label [type]`, as `trainer eval` writes them) for the threshold.
    #[arg(long)]
    dev_scores: Option<PathBuf>,
    /// Weight storage precision (fp16: half the file, fp32 compute on CPU).
    #[arg(long, value_enum, default_value = "fp32")]
    precision: Precision,
    /// Store weights in int8: dynamic activation quantisation for the CLIP family; static
    /// QDQ for a student (needs --calib).
    #[arg(long, value_enum)]
    quantize: Option<Quantize>,
    /// A student's int8 calibration images (a list, `path label [type]`, relative to --root):
    /// activation ranges through the runtime's preprocessing at the student's input size.
    #[arg(long, requires = "root")]
    calib: Option<PathBuf>,
    /// Each int8 activation range spans the (100 − P)-th to the P-th percentile of its
    /// calibration values; 100 is the plain min/max. Lower clips more outliers to resolve the
    /// bulk more finely.
    #[arg(long, default_value_t = student_graph::DEFAULT_PERCENTILE, requires = "calib")]
    calib_percentile: f64,
    /// Leading stages of an int8 student kept in float: 0 quantises everything, 1 keeps the
    /// stem, 1 + N the stem and the first N blocks (the full-resolution layers where 8-bit
    /// noise reads as a spoof cue; they run as float convolutions). docs/int8.md has the
    /// agreement with fp32 for each choice.
    #[arg(long, default_value_t = student_graph::DEFAULT_FLOAT_FRONT, requires = "calib")]
    float_front: usize,
    /// Int8 weights in ±127 rather than ±63. The default ±63 gives the same scores on every
    /// x86 CPU; ±127 saturates int16 sums on CPUs without VNNI (AVX2, AVX-512F/BW).
    #[arg(long, requires = "calib")]
    full_range_weights: bool,
    /// Keep the N int8 layers after the float front that move the attack logit margin most on
    /// the --calib images in float as well (each layer's sensitivity: the mean |margin change|
    /// with that layer alone in int8; printed). Chosen on the calibration list only; each
    /// float layer costs its weights' size ×4 and its MACs in float. docs/int8.md measures it.
    #[arg(long, default_value_t = 0, requires = "calib")]
    float_sensitive: usize,
    /// Also output the image embedding [N, proj].
    #[arg(long)]
    embedding: bool,
    /// Also write a Triton Inference Server model repository entry into this directory.
    #[arg(long)]
    triton: Option<PathBuf>,
    /// Triton model name (default: the ONNX file's stem).
    #[arg(long, requires = "triton")]
    triton_name: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Precision {
    Fp32,
    Fp16,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Quantize {
    /// Standard ONNX (MatMulInteger): every provider.
    Int8,
    /// ONNX Runtime's MatMulNBits (8-bit blocks): ORT CPU/CUDA only.
    #[value(name = "int8-nbits")]
    Int8Nbits,
}

fn weight_format(a: &ExportArgs) -> Result<WeightFormat> {
    Ok(match (a.precision, a.quantize) {
        (Precision::Fp32, None) => WeightFormat::Fp32,
        (Precision::Fp16, None) => WeightFormat::Fp16,
        (Precision::Fp32, Some(Quantize::Int8)) => WeightFormat::Int8,
        (Precision::Fp32, Some(Quantize::Int8Nbits)) => WeightFormat::Int8Nbits,
        (Precision::Fp16, Some(_)) => {
            bail!("--precision fp16 and --quantize int8 exclude each other: choose one")
        }
    })
}

/// The `--dev` list's samples (read and checked before the checkpoint is).
fn dev_list(a: &ExportArgs) -> Result<Option<(DataSource, Vec<Sample>)>> {
    let Some(list) = &a.dev else {
        return Ok(None);
    };
    let data = DataSource {
        root: a.root.clone().unwrap_or_default(),
        protocol: None,
        train_list: None,
        dev_list: Some(list.clone()),
        test_list: None,
        workers: 2,
        skip_bad: false,
    };
    let samples = data
        .split(Split::Dev)?
        .context("--dev: the list is empty")?;
    Ok(Some((data, samples)))
}

/// The `--calib` list's samples (read and checked before the checkpoint is; an empty list is
/// an error).
fn calib_list(a: &ExportArgs) -> Result<Option<Vec<Sample>>> {
    let Some(list) = &a.calib else {
        return Ok(None);
    };
    if a.quantize != Some(Quantize::Int8) {
        bail!("--calib calibrates a student's int8 export: give --quantize int8 too");
    }
    let root = a.root.clone().unwrap_or_default();
    qat::calibration_samples(&root, list, a.calib_percentile).map(Some)
}

/// Activation ranges of a student over the calibration images (evaluation preprocessing:
/// the runtime's resampling at the student's size and normalisation).
fn calibrate(src: &Source, samples: &[Sample], a: &ExportArgs) -> Result<student_graph::Int8Plan> {
    let Net::Student(student) = &src.loaded.net else {
        bail!("--calib is for a student's static int8; this checkpoint is of the CLIP family");
    };
    let tensors = qat::calibration_batches(samples, src.loaded.net.input(), 2, Device::Cpu)
        .context("--calib")?;
    let estimator = qat::estimator(a.calib_percentile);
    note_qat_settings(src, a);
    let ranges = student_graph::calibrate(student, &tensors, estimator)?;
    eprintln!(
        "calibrated {} activations on {} images ({estimator:?} ranges); {} leading stages in float",
        ranges.len(),
        samples.len(),
        a.float_front
    );
    let (sensitivity, float_layers) = student_graph::sensitive_float_layers(
        student,
        &tensors,
        &ranges,
        a.float_front,
        moae_trainer::model::student::weight_max(!a.full_range_weights),
        a.float_sensitive,
    )
    .context("--float-sensitive")?;
    if !sensitivity.is_empty() {
        eprintln!("int8 layer sensitivity on the calibration images (mean |attack margin change|, that layer alone in int8):");
        for (i, (layer, s)) in sensitivity.iter().enumerate() {
            let kept = if i < a.float_sensitive { "  float" } else { "" };
            eprintln!("  {layer:<24} {s:.5}{kept}");
        }
    }
    Ok(student_graph::Int8Plan {
        ranges,
        float_front: a.float_front,
        reduce_range: !a.full_range_weights,
        float_layers,
    })
}

/// A quantisation-aware checkpoint was tuned for one int8 export: another is allowed, but
/// said.
fn note_qat_settings(src: &Source, a: &ExportArgs) {
    let Some(q) = src
        .loaded
        .meta
        .train
        .as_ref()
        .and_then(|t| t.config.qat.as_ref())
    else {
        return;
    };
    let ours = (
        a.calib_percentile,
        a.float_front,
        !a.full_range_weights,
        a.float_sensitive,
    );
    if ours
        != (
            q.calib_percentile,
            q.float_front,
            q.reduce_range,
            q.float_sensitive,
        )
    {
        eprintln!(
            "note: this checkpoint was quantisation-aware tuned for --calib-percentile {} \
             --float-front {} --float-sensitive {}{}; this export differs, so its int8 decisions \
             may not match fp32 as the tuning intended",
            q.calib_percentile,
            q.float_front,
            q.float_sensitive,
            if q.reduce_range {
                ""
            } else {
                " --full-range-weights"
            }
        );
    }
}

pub fn run(a: ExportArgs) -> Result<()> {
    let mut opts = ExportOptions {
        graph: GraphOptions {
            format: weight_format(&a)?,
            embedding: a.embedding,
        },
        threshold: Threshold::Default,
        triton: a.triton.clone(),
        triton_name: a.triton_name.clone(),
        calibration: None,
    };
    // Every argument is checked before the checkpoint is read, scored or anything written.
    if let Some(path) = &a.dev_scores {
        let scores = metrics::read_score_file(path).with_context(|| "reading --dev-scores")?;
        opts.threshold = Threshold::DevScores(scores);
    }
    export::check_outputs(&a.onnx, &opts)?;
    let dev = dev_list(&a)?;
    let calib = calib_list(&a)?;
    // Read once: scored for --dev and exported from the same bytes.
    let src = Source::read(&a.ckpt).with_context(|| format!("exporting {}", a.ckpt.display()))?;
    if let Some(samples) = &calib {
        opts.calibration = Some(calibrate(&src, samples, &a)?);
    }
    if let Some((data, samples)) = &dev {
        let scores =
            score_split(&src.loaded, samples, 64, data, Device::Cpu).with_context(|| {
                let list = data.dev_list.as_deref().map(|p| p.display().to_string());
                format!("--dev {}: scoring the dev images", list.unwrap_or_default())
            })?;
        opts.threshold = Threshold::DevScores(scores);
    }
    let r = export::export_source(&src, &a.onnx, &opts)
        .with_context(|| format!("exporting {}", a.ckpt.display()))?;
    print_report(&r, opts.graph.format);
    Ok(())
}

fn print_report(r: &export::ExportReport, format: WeightFormat) {
    for n in &r.notes {
        eprintln!("note: {n}");
    }
    let m = &r.meta;
    println!(
        "wrote {} ({:.1} MB, {} nodes, {} {}/{}, {} px) in {:.1} s",
        r.out.display(),
        r.bytes as f64 / 1e6,
        r.nodes,
        m.precision,
        m.preset,
        m.variant,
        m.input_size,
        r.seconds
    );
    println!(
        "threshold {} ({})",
        m.threshold,
        if m.threshold_calibrated {
            "dev EER"
        } else {
            "default, not calibrated"
        }
    );
    if let Some(d) = &r.triton_dir {
        println!("Triton model repository entry: {}", d.display());
    }
    if format != WeightFormat::Fp32 {
        println!(
            "the deviation of {} from fp32 is measured by the test suite \
             (tests/tests/export_parity.rs) with ONNX Runtime",
            m.precision
        );
    }
}
