//! The `trainer` command line.
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use moae_trainer::{metrics, plot, synth};

#[derive(Parser)]
#[command(
    name = "trainer",
    version,
    about = "MoAE-CR: training, evaluation and export"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a small deterministic synthetic data set in UniAttackData layout (not real data).
    Synth(SynthArgs),
    /// Spec §7 metrics from score files (`score label [type]` per line).
    Metrics(MetricsArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Synth(a) => run_synth(a),
        Command::Metrics(a) => run_metrics(a),
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
