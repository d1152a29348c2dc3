//! `trainer bench-torch`: the eager-mode latency of the image path (libtorch through tch, the
//! same kernels PyTorch eager runs), for the comparison in `scripts/bench_compare.py`.

use crate::eval::evaluate::attack_scores;
use crate::model::checkpoint;
use crate::model::prompts::class_embeddings;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// One benchmark: `iters` timed forwards of a batch of `batch` random images after `warmup`.
#[derive(Debug, Clone)]
pub struct BenchTorch {
    pub ckpt: PathBuf,
    pub threads: usize,
    pub iters: usize,
    pub warmup: usize,
    pub batch: i64,
    /// Print one JSON object instead of a line.
    pub json: bool,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let k = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

pub fn run_bench_torch(a: &BenchTorch) -> Result<()> {
    if a.iters == 0 || !(1..=1024).contains(&a.batch) {
        anyhow::bail!(
            "bench needs iters ≥ 1 and batch in 1..=1024 (got iters {}, batch {})",
            a.iters,
            a.batch
        );
    }
    crate::compute::set_torch_threads(Some(a.threads), 1)?;
    let t0 = Instant::now();
    let l = checkpoint::load(&a.ckpt, Device::Cpu)
        .with_context(|| format!("loading {}", a.ckpt.display()))?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let prompts = l.meta.prompts_or_default(&l.config);
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
