//! The `trainer export` command line (the work is in `moae_trainer::export`).

use anyhow::{bail, Context, Result};
use moae_trainer::data::lists::{Sample, Split};
use moae_trainer::eval::metrics;
use moae_trainer::export::{self, ExportOptions, GraphOptions, Source, Threshold, WeightFormat};
use moae_trainer::runs::{score_split, DataSource};
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
    /// Store matrix weights in int8 (dynamic activation quantisation).
    #[arg(long, value_enum)]
    quantize: Option<Quantize>,
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

pub fn run(a: ExportArgs) -> Result<()> {
    let mut opts = ExportOptions {
        graph: GraphOptions {
            format: weight_format(&a)?,
            embedding: a.embedding,
        },
        threshold: Threshold::Default,
        triton: a.triton.clone(),
        triton_name: a.triton_name.clone(),
    };
    // Every argument is checked before the checkpoint is read, scored or anything written.
    if let Some(path) = &a.dev_scores {
        let scores = metrics::read_score_file(path).with_context(|| "reading --dev-scores")?;
        opts.threshold = Threshold::DevScores(scores);
    }
    export::check_outputs(&a.onnx, &opts)?;
    let dev = dev_list(&a)?;
    // Read once: scored for --dev and exported from the same bytes.
    let src = Source::read(&a.ckpt).with_context(|| format!("exporting {}", a.ckpt.display()))?;
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
