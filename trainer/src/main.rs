//! `trainer`: the MoAE-CR command line.
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use moae_trainer::config::{ModelConfig, Variant};
use moae_trainer::{checkpoint, hf_import, info, model::MoaeClip, prompts::PromptSet};
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
    /// Show a model's config, parameter counts per part and MACs per image.
    Info(InfoArgs),
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

fn import_clip(a: ImportClipArgs) -> Result<()> {
    let cfg = ModelConfig::preset(&a.preset, a.variant)?;
    let imported = hf_import::import_clip(&a.hf, &cfg, Device::Cpu)?;
    // TODO(coordinator): once `tokenizer.rs` (branch `data`) is merged, tokenize the prompts
    // with the model's own BPE files instead of the byte-level fallback:
    //   let tok = ClipTokenizer::from_files(&a.hf.join("vocab.json"), &a.hf.join("merges.txt"))?;
    //   PromptSet::default_with("clip-bpe", 77, |t| Ok::<_, Error>(tok.encode_padded(t, 77)))?
    let ctx = cfg.text.context_length as usize;
    let prompts = PromptSet::default_byte_level(ctx);
    eprintln!("note: prompts tokenized with the byte-level fallback (CLIP BPE not wired yet)");
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
        Command::Info(a) => show_info(a),
        Command::Export(a) => export_cmd::run(a),
    }
}
