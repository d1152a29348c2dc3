//! `trainer import-clip`, `init`, `info`, `bench-torch`, `synth`, `metrics`.

use super::VariantArg;
use anyhow::{bail, Context, Result};
use moae_trainer::data::synth;
use moae_trainer::eval::{bench, metrics, plot};
use moae_trainer::model::config::ModelConfig;
use moae_trainer::model::{checkpoint, hf_import, info, prompts::PromptSet, Net, NetConfig};
use moae_trainer::runs;
use std::path::PathBuf;
use tch::{nn, Device};

#[derive(clap::Args)]
pub struct ImportClipArgs {
    /// Hugging Face model directory (model.safetensors, vocab.json, merges.txt).
    #[arg(long)]
    hf: PathBuf,
    #[arg(long, default_value = "vit-b16")]
    preset: String,
    #[arg(long, value_enum, default_value = "moae")]
    variant: VariantArg,
    /// Output checkpoint (.safetensors).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct InfoArgs {
    /// A checkpoint; or give --preset (and --variant) instead.
    ckpt: Option<PathBuf>,
    #[arg(long, conflicts_with = "ckpt")]
    preset: Option<String>,
    #[arg(long, value_enum, default_value = "moae")]
    variant: VariantArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct InitArgs {
    #[arg(long, default_value = "small")]
    preset: String,
    #[arg(long, value_enum, default_value = "moae")]
    variant: VariantArg,
    #[arg(long, default_value_t = 0)]
    seed: i64,
    /// Output checkpoint (.safetensors).
    #[arg(long)]
    out: PathBuf,
}

pub fn init(a: InitArgs) -> Result<()> {
    let cfg = NetConfig::preset(&a.preset, a.variant.into()).map_err(anyhow::Error::msg)?;
    moae_trainer::atomic_file::check_writable(&a.out)?;
    tch::manual_seed(a.seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = cfg.build(&vs.root());
    let prompts = match &net {
        Net::Clip(m) => Some(PromptSet::default_byte_level(
            m.cfg.text.context_length as usize,
        )),
        Net::Student(_) => None,
    };
    let meta = checkpoint::CheckpointMeta {
        prompts,
        ..Default::default()
    };
    checkpoint::save_net(&a.out, &net, &vs, &meta)?;
    println!(
        "wrote {} ({} / {}, random weights, seed {})",
        a.out.display(),
        net.preset(),
        net.kind(),
        a.seed
    );
    Ok(())
}

pub fn import_clip(a: ImportClipArgs) -> Result<()> {
    let cfg = ModelConfig::preset(&a.preset, a.variant.into())?;
    moae_trainer::atomic_file::check_writable(&a.out)?;
    let imported = hf_import::import_clip(&a.hf, &cfg, Device::Cpu)?;
    // The prompts are tokenized once, with the checkpoint's own BPE files, and stored in the
    // checkpoint: training and export never need the tokenizer files again.
    let ctx = cfg.text.context_length as usize;
    let (vocab, merges) = (a.hf.join("vocab.json"), a.hf.join("merges.txt"));
    let prompts = if vocab.is_file() && merges.is_file() {
        let tok = moae_trainer::model::tokenizer::ClipTokenizer::from_files(&vocab, &merges)?;
        PromptSet::default_with("clip-bpe", ctx, |t| {
            Ok::<_, std::convert::Infallible>(tok.encode_padded(t, ctx))
        })?
    } else {
        eprintln!(
            "warning: {} has no vocab.json + merges.txt; prompts use the byte-level fallback \
             tokenizer, which the pretrained text tower was not trained on",
            a.hf.display()
        );
        PromptSet::default_byte_level(ctx)
    };
    hf_import::write_checkpoint(&a.out, &cfg, &imported, prompts)?;
    let r = &imported.report;
    println!(
        "loaded {} tensors from {}",
        r.loaded,
        a.hf.join(hf_import::HF_WEIGHTS).display()
    );
    if !r.ignored_buffers.is_empty() {
        println!(
            "ignored {} buffers: {}",
            r.ignored_buffers.len(),
            r.ignored_buffers.join(", ")
        );
    }
    println!("new parameters ({}):", r.new_params.len());
    for n in &r.new_params {
        println!("  {n}");
    }
    println!("wrote {}", a.out.display());
    Ok(())
}

pub fn show_info(a: InfoArgs) -> Result<()> {
    let (vs, net) = match (&a.ckpt, &a.preset) {
        (Some(path), _) => {
            let l = checkpoint::load_net(path, Device::Cpu)
                .with_context(|| format!("loading {}", path.display()))?;
            (l.vs, l.net)
        }
        (None, Some(preset)) => {
            let cfg = NetConfig::preset(preset, a.variant.into()).map_err(anyhow::Error::msg)?;
            let vs = nn::VarStore::new(Device::Cpu);
            let net = cfg.build(&vs.root());
            (vs, net)
        }
        (None, None) => bail!("give a checkpoint path or --preset P (and --variant V)"),
    };
    let (json, text) = match &net {
        Net::Clip(m) => {
            let r = info::Info::new(&m.cfg, &vs);
            (serde_json::to_string_pretty(&r)?, r.render())
        }
        Net::Student(s) => {
            let r = info::StudentInfo::new(&s.cfg, &vs);
            (serde_json::to_string_pretty(&r)?, r.render())
        }
    };
    if a.json {
        println!("{json}");
    } else {
        print!("{text}");
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BenchTorchArgs {
    ckpt: PathBuf,
    #[arg(long, default_value_t = 2, value_parser = super::threads)]
    threads: usize,
    #[arg(long, default_value_t = 50, value_parser = |s: &str| super::whole::<usize>(s, 1, 1_000_000))]
    iters: usize,
    #[arg(long, default_value_t = 5, value_parser = |s: &str| super::whole::<usize>(s, 0, 100_000))]
    warmup: usize,
    #[arg(long, default_value_t = 1, value_parser = |s: &str| super::whole::<i64>(s, 1, 1024))]
    batch: i64,
    #[arg(long)]
    json: bool,
}

pub fn bench_torch(a: BenchTorchArgs) -> Result<()> {
    bench::run_bench_torch(&bench::BenchTorch {
        ckpt: a.ckpt,
        threads: a.threads,
        iters: a.iters,
        warmup: a.warmup,
        batch: a.batch,
        json: a.json,
    })
}

#[derive(clap::Args)]
pub struct SynthArgs {
    /// Output folder (created; existing files are overwritten).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Image side in pixels (32..=1024).
    #[arg(long, default_value_t = synth::SynthConfig::default().size)]
    size: u32,
    /// Images per family (live, print, replay, adversarial, digital) per split.
    #[arg(long, default_value_t = synth::SynthConfig::default().count,
          value_parser = |s: &str| super::whole::<usize>(s, 1, 100_000))]
    count: usize,
}

pub fn synth(a: SynthArgs) -> Result<()> {
    let cfg = synth::SynthConfig {
        seed: a.seed,
        size: a.size,
        count: a.count,
    };
    let summary = synth::generate(&a.out, &cfg)?;
    println!(
        "wrote {} synthetic images to {}",
        summary.images,
        a.out.display()
    );
    for (name, n) in &summary.lists {
        println!("  {name}: {n} lines");
    }
    println!("Synthetic data: not evidence about real attacks (see README.txt there).");
    Ok(())
}

#[derive(clap::Args)]
pub struct MetricsArgs {
    /// Test scores: `score label [type]` per line, score = P(attack).
    #[arg(long)]
    scores: PathBuf,
    /// Dev scores: the threshold is their EER point (without it: the test set's own EER point).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write report.json and report.html (every figure with interval and count, DET curves per
    /// species, histograms) into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the ROC curve of the test scores as PNG here.
    #[arg(long)]
    roc: Option<PathBuf>,
    /// Write the DET curve of the test scores as PNG here.
    #[arg(long)]
    det: Option<PathBuf>,
}

pub fn metrics(a: MetricsArgs) -> Result<()> {
    let test = metrics::read_score_file(&a.scores)?;
    let dev = a.dev.as_deref().map(metrics::read_score_file).transpose()?;
    let prov = runs::provenance("trainer metrics", None, Some(&a.scores), a.dev.as_deref())?;
    let report = runs::eval_report(dev.as_deref(), &test, prov)?;
    print!("{}", metrics::format_report(&report.literature));
    print!("{}", moae_metrics::iso::format_figures(&report.iso));
    let write = moae_trainer::atomic_file::write_atomic;
    if let Some(path) = &a.json {
        write(path, report.json().as_bytes())?;
    }
    if let Some(out) = &a.out {
        runs::write_eval_report(out, &report, &test)?;
        println!("report.json and report.html in {}", out.display());
    }
    if let Some(path) = &a.roc {
        write(path, &plot::roc_png(&test, 640, 480)?)?;
    }
    if let Some(path) = &a.det {
        write(path, &plot::det_png(&test, 640, 480)?)?;
    }
    Ok(())
}
