//! Whether a trained checkpoint's expert router routes (spec §2), on the images of a list:
//! per block, the mean dispatch entropy relative to uniform, the router's weight norms, and
//! how far the image embedding moves when that block's expert module (or every one) is left
//! out (‖e_with − e_without‖ / ‖e_with‖, mean over images).
//!
//! `cargo run -p moae-trainer --example router_report -- CHECKPOINT LIST ROOT [MAX_IMAGES]`
use anyhow::{bail, Context, Result};
use moae_trainer::data::tensors::batch_tensors;
use moae_trainer::eval::router_stats::{embedding_without, forward_with_stats, relative_move};
use moae_trainer::train::eval_batches;
use moae_trainer::{data::lists::read_list, model::checkpoint};
use std::path::PathBuf;
use tch::{Device, Kind};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        bail!("usage: router_report CHECKPOINT LIST ROOT [MAX_IMAGES]");
    }
    let (ckpt, list, root) = (
        PathBuf::from(&args[0]),
        PathBuf::from(&args[1]),
        PathBuf::from(&args[2]),
    );
    let max: usize = match args.get(3) {
        Some(s) => s.parse().with_context(|| format!("MAX_IMAGES `{s}`"))?,
        None => usize::MAX,
    };
    let loaded = checkpoint::load(&ckpt, Device::Cpu)?;
    let model = &loaded.model;
    let size = model.cfg.vision.image_size;
    let mut samples = read_list(&root, &list)?;
    samples.truncate(max);
    let layers: Vec<usize> = (0..model.vision.layers.len())
        .filter(|&i| model.vision.layers[i].experts.is_some())
        .collect();
    if layers.is_empty() {
        bail!(
            "{}: the model has no expert modules (variant clip)",
            ckpt.display()
        );
    }
    // Sums over images: entropy per layer, move without one layer, move without all.
    let mut entropy = vec![0.0; layers.len()];
    let mut move_one = vec![0.0; layers.len()];
    let mut move_all = 0.0;
    let mut n_images = 0usize;
    let mut last_stats = Vec::new();
    for batch in eval_batches(&samples, &model.cfg.vision, 32, 1, false)? {
        let (x, _) = batch_tensors(&batch?, size, Device::Cpu)?;
        let n = x.size()[0] as usize;
        let (with, stats) = forward_with_stats(model, &x);
        for (k, s) in stats.iter().enumerate() {
            entropy[k] += s.dispatch_entropy_rel * n as f64;
        }
        let moved = |off: &dyn Fn(usize) -> bool| {
            relative_move(&with, &embedding_without(model, &x, off))
                .sum(Kind::Double)
                .double_value(&[])
        };
        for (k, &l) in layers.iter().enumerate() {
            move_one[k] += moved(&|i| i == l);
        }
        move_all += moved(&|_| true);
        n_images += n;
        last_stats = stats;
    }
    if n_images == 0 {
        bail!("{}: no images", list.display());
    }
    let nf = n_images as f64;
    println!(
        "{} on {n_images} images of {}",
        ckpt.display(),
        list.display()
    );
    println!("layer module   entropy/uniform  move-without-layer  |Phi|     |Wq|     |Wk|     |Wo|     scale");
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    for (k, s) in last_stats.iter().enumerate() {
        println!(
            "{:>5} {:<8} {:>15.4} {:>18.2}% {:>8.3} {:>8} {:>8} {:>8} {:>8}",
            s.layer,
            s.module,
            entropy[k] / nf,
            100.0 * move_one[k] / nf,
            s.norm_slots,
            opt(s.norm_q),
            opt(s.norm_k),
            opt(s.norm_o),
            opt(s.scale)
        );
    }
    println!(
        "embedding move without every expert module: {:.2}% (mean over images)",
        100.0 * move_all / nf
    );
    Ok(())
}
