//! `trainer bench-torch`: the eager-mode latency of the image path (libtorch through tch, the
//! same kernels PyTorch eager runs), for the comparison in `scripts/bench_compare.py`.

use crate::checkpoint;
use crate::evaluate::attack_scores;
use crate::prompts::{class_embeddings, PromptSet};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

#[derive(clap::Args, Debug)]
pub struct BenchTorchArgs {
    pub ckpt: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub threads: i32,
    #[arg(long, default_value_t = 50)]
    pub iters: usize,
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    #[arg(long, default_value_t = 1)]
    pub batch: i64,
    #[arg(long)]
    pub json: bool,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let k = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

pub fn run_bench_torch(a: &BenchTorchArgs) -> Result<()> {
    tch::set_num_threads(a.threads);
    let t0 = Instant::now();
    let l = checkpoint::load(&a.ckpt, Device::Cpu)
        .with_context(|| format!("loading {}", a.ckpt.display()))?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let prompts =
        l.meta.prompts.clone().unwrap_or_else(|| {
            PromptSet::default_byte_level(l.config.text.context_length as usize)
        });
    let s = l.config.vision.image_size;
    let x = Tensor::randn([a.batch, 3, s, s], (Kind::Float, Device::Cpu));
    let mut lat = Vec::with_capacity(a.iters);
    tch::no_grad(|| {
        // The class embeddings are constant at inference (the ONNX file folds them in).
        let class_emb = class_embeddings(&l.model, &prompts.ids_tensor(Device::Cpu));
        for i in 0..a.warmup + a.iters {
            let t = Instant::now();
            let _ = attack_scores(&l.model, &class_emb, &x).double_value(&[0]);
            if i >= a.warmup {
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    });
    lat.sort_by(f64::total_cmp);
    let (p50, p90, p99) = (
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
    );
    if a.json {
        println!(
            "{}",
            serde_json::json!({"load_ms": load_ms, "p50_ms": p50, "p90_ms": p90, "p99_ms": p99,
                "batch": a.batch, "threads": a.threads, "iters": a.iters})
        );
    } else {
        println!(
            "tch eager: load {load_ms:.1} ms, p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms"
        );
    }
    Ok(())
}
