//! `trainer`: the MoAE-CR command line.
use anyhow::{bail, Context, Result};
use clap::Args;
use clap::{Parser, Subcommand};
use moae_trainer::config::{ModelConfig, Variant};
use moae_trainer::{bench, checkpoint, cli_train, hf_import, info, metrics, plot, synth};
use moae_trainer::{model::MoaeClip, prompts::PromptSet};
use std::path::PathBuf;
use tch::{nn, Device};

mod export_cmd;

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "MoAE-CR face anti-spoofing: model, training, export"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a checkpoint from Hugging Face CLIP weights (DIR/model.safetensors); the expert
    /// modules are new (MoAE starts as exactly the pretrained CLIP).
    ImportClip(ImportClipArgs),
    /// Write a checkpoint with fresh random weights of a preset (training from scratch, tests,
    /// benchmarks of the full-size graph without downloading anything).
    Init(InitArgs),
    /// Show a model's config, parameter counts per part and MACs per image.
    Info(InfoArgs),
    /// Train (Adam, CE + DM + CDM), evaluating on dev and checkpointing `latest`/`best`.
    Train(cli_train::TrainArgs),
    /// Evaluate a checkpoint: dev EER threshold -> test APCER/BPCER/ACER/ACC, AUC, EER,
    /// per-type APCER; table, JSON report and ROC/DET curves.
    Eval(cli_train::EvalArgs),
    /// Train and evaluate each protocol; a table shaped like the paper's Table 1.
    Protocol(cli_train::ProtocolArgs),
    /// The six rows of the paper's Table 4 on the same data and budget.
    Ablate(cli_train::AblateArgs),
    /// Time the model's eager forward (libtorch through tch) — the PyTorch-eager row of
    /// scripts/bench_compare.py.
    BenchTorch(bench::BenchTorchArgs),
    /// Write a small deterministic synthetic data set in UniAttackData layout (not real data).
    Synth(SynthArgs),
    /// Spec §7 metrics from score files (`score label [type]` per line).
    Metrics(MetricsArgs),
    /// Export a checkpoint to the ONNX file the SDK serves (and optionally a Triton entry).
    Export(export_cmd::ExportArgs),
}

#[derive(clap::Args)]
struct ImportClipArgs {
    /// Hugging Face model directory (model.safetensors, vocab.json, merges.txt).
    #[arg(long)]
    hf: PathBuf,
    #[arg(long, default_value = "vit-b16")]
    preset: String,
    #[arg(long, value_enum, default_value = "moae")]
    variant: Variant,
    /// Output checkpoint (.safetensors).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct InfoArgs {
    /// A checkpoint; or give --preset (and --variant) instead.
    ckpt: Option<PathBuf>,
    #[arg(long, conflicts_with = "ckpt")]
    preset: Option<String>,
    #[arg(long, value_enum, default_value = "moae")]
    variant: Variant,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct InitArgs {
    #[arg(long, default_value = "small")]
    preset: String,
    #[arg(long, value_enum, default_value = "moae")]
    variant: Variant,
    #[arg(long, default_value_t = 0)]
    seed: i64,
    /// Output checkpoint (.safetensors).
    #[arg(long)]
    out: PathBuf,
}

fn init(a: InitArgs) -> Result<()> {
    let cfg = ModelConfig::preset(&a.preset, a.variant)?;
    tch::manual_seed(a.seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = MoaeClip::new(&vs.root(), &cfg);
    let meta = checkpoint::CheckpointMeta {
        prompts: Some(PromptSet::default_byte_level(
            cfg.text.context_length as usize,
        )),
        ..Default::default()
    };
    checkpoint::save(&a.out, &cfg, &vs, &meta)?;
    println!(
        "wrote {} ({} / {}, random weights, seed {})",
        a.out.display(),
        cfg.preset,
        a.variant.name(),
        a.seed
    );
    Ok(())
}

fn import_clip(a: ImportClipArgs) -> Result<()> {
    let cfg = ModelConfig::preset(&a.preset, a.variant)?;
    let imported = hf_import::import_clip(&a.hf, &cfg, Device::Cpu)?;
    // The prompts are tokenized once, with the checkpoint's own BPE files, and stored in the
    // checkpoint: training and export never need the tokenizer files again.
    let ctx = cfg.text.context_length as usize;
    let (vocab, merges) = (a.hf.join("vocab.json"), a.hf.join("merges.txt"));
    let prompts = if vocab.is_file() && merges.is_file() {
        let tok = moae_trainer::tokenizer::ClipTokenizer::from_files(&vocab, &merges)?;
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

fn show_info(a: InfoArgs) -> Result<()> {
    let report = match (&a.ckpt, &a.preset) {
        (Some(path), _) => {
            let l = checkpoint::load(path, Device::Cpu)
                .with_context(|| format!("loading {}", path.display()))?;
            info::Info::new(&l.config, &l.vs)
        }
        (None, Some(preset)) => {
            let cfg = ModelConfig::preset(preset, a.variant)?;
            let vs = nn::VarStore::new(Device::Cpu);
            let _model = MoaeClip::new(&vs.root(), &cfg);
            info::Info::new(&cfg, &vs)
        }
        (None, None) => bail!("give a checkpoint path or --preset P (and --variant V)"),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::ImportClip(a) => import_clip(a),
        Command::Init(a) => init(a),
        Command::Info(a) => show_info(a),
        Command::Train(a) => {
            let s = cli_train::run_train(&a)?;
            println!(
                "trained {} steps; final loss {}; best dev {} (step {}); checkpoints {} and {}",
                s.steps,
                s.final_loss.map_or("n/a".into(), |l| format!("{l:.4}")),
                s.best_dev.as_ref().map_or("n/a".into(), |d| d.one_line()),
                s.best_step.map_or("n/a".into(), |x| x.to_string()),
                s.latest.display(),
                s.best.display()
            );
            Ok(())
        }
        Command::Eval(a) => {
            let r = cli_train::run_eval(&a)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", metrics::format_report(&r));
                if let Some(out) = &a.out {
                    println!("report, scores and ROC/DET curves in {}", out.display());
                }
            }
            Ok(())
        }
        Command::Protocol(a) => {
            print!("{}", cli_train::run_protocol(&a)?);
            Ok(())
        }
        Command::Ablate(a) => {
            print!("{}", cli_train::run_ablate(&a)?);
            Ok(())
        }
        Command::BenchTorch(a) => bench::run_bench_torch(&a),
        Command::Synth(a) => run_synth(a),
        Command::Metrics(a) => run_metrics(a),
        Command::Export(a) => export_cmd::run(a),
    }
}

#[derive(Args)]
struct SynthArgs {
    /// Output folder (created; existing files are overwritten).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Image side in pixels.
    #[arg(long, default_value_t = synth::SynthConfig::default().size)]
    size: u32,
    /// Images per family (live, print, replay, adversarial, digital) per split.
    #[arg(long, default_value_t = synth::SynthConfig::default().count)]
    count: usize,
}

fn run_synth(a: SynthArgs) -> anyhow::Result<()> {
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

#[derive(Args)]
struct MetricsArgs {
    /// Test scores: `score label [type]` per line, score = P(attack).
    #[arg(long)]
    scores: PathBuf,
    /// Dev scores: the threshold is their EER point (without it: the test set's own EER point).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the ROC curve of the test scores as PNG here.
    #[arg(long)]
    roc: Option<PathBuf>,
    /// Write the DET curve of the test scores as PNG here.
    #[arg(long)]
    det: Option<PathBuf>,
}

fn run_metrics(a: MetricsArgs) -> anyhow::Result<()> {
    let test = metrics::read_score_file(&a.scores)?;
    let dev = a.dev.as_deref().map(metrics::read_score_file).transpose()?;
    let report = metrics::evaluate(dev.as_deref(), &test)?;
    print!("{}", metrics::format_report(&report));
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &a.roc {
        plot::write_roc(path, &test, 640, 480)?;
    }
    if let Some(path) = &a.det {
        plot::write_det(path, &test, 640, 480)?;
    }
    Ok(())
}
