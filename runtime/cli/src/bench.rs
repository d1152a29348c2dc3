//! `moae bench`: load time, latency percentiles, throughput and peak memory of one model.

use crate::args::BenchArgs;
use crate::engine::load;
use anyhow::{Context, Result};
use moae_runtime::{EngineOptions, Frame, PixelFormat};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Most floats of one benchmark input tensor (1 GiB), whatever the model's input size.
const MAX_BENCH_FLOATS: usize = 1 << 28;

/// Deterministic pseudo-random inputs (a fixed LCG), no I/O: `floats` model-input values and
/// one 1920 x 1080 NV21 frame.
fn synthetic_inputs(floats: usize) -> (Vec<f32>, Vec<u8>) {
    let mut x = 0x2545_f491u32;
    let mut next = move || {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        x
    };
    let pixels: Vec<f32> = (0..floats)
        .map(|_| (next() >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0)
        .collect();
    let yuv: Vec<u8> = (0..1920 * 1080 * 3 / 2)
        .map(|_| (next() >> 24) as u8)
        .collect();
    (pixels, yuv)
}

/// Times `iters` runs (inference only, or the whole pipeline with `--e2e`).
pub fn run(ort: &Option<PathBuf>, a: &BenchArgs) -> Result<()> {
    let BenchArgs {
        model,
        engine,
        batch,
        iters,
        warmup,
        e2e,
        json,
    } = a;
    // --e2e times the frame -> centre-square crop -> model path (no face detector):
    // the whole frame is the face.
    let opts = EngineOptions {
        whole_frame: true,
        ..engine.options(ort)
    };
    let e = load(model, &opts)?;
    let n = e.input_len();
    let floats = n
        .checked_mul(*batch)
        .filter(|&f| f <= MAX_BENCH_FLOATS)
        .with_context(|| {
            format!(
                "--batch {batch} x {n} floats per input is more than the benchmark's \
                 {MAX_BENCH_FLOATS}-float limit: use a smaller --batch"
            )
        })?;
    let (pixels, yuv) = synthetic_inputs(floats);
    let (w, h) = (1920u32, 1080u32);
    let (y, uv) = yuv.split_at((w * h) as usize);
    let frame = Frame::nv(PixelFormat::Nv21, y, w as usize, uv, w as usize, w, h)?;
    let items: Vec<_> = (0..*batch).map(|_| (frame, None)).collect();
    // Whether the run produced the attack-type probabilities (a student's second output),
    // read from what the engine returned rather than from the metadata.
    let once = || -> Result<bool> {
        Ok(if *e2e {
            e.detect_batch(&items)?
                .iter()
                .all(|d| d.attack_type.is_some())
        } else {
            e.run_tensor(&pixels, *batch)?
                .iter()
                .all(|s| s.attack_type.is_some())
        })
    };
    let (mut times, total, attack_type) = time_runs(*warmup, *iters, once)?;
    times.sort();
    let mean = times.iter().map(|d| d.as_secs_f64()).sum::<f64>() / times.len() as f64;
    let report = json!({
        "model": model,
        "provider": e.info().provider.to_string(),
        "fallback_reason": e.info().fallback_reason,
        "precision": e.info().meta.precision,
        "preset": e.info().meta.preset,
        "input_size": e.info().meta.input_size,
        "attack_type": attack_type,
        "ort_version": e.info().ort_version,
        "mode": if *e2e { "e2e_nv21_1080p" } else { "inference" },
        "batch": batch,
        "iters": iters,
        "threads": engine.threads,
        "load_ms": e.info().load_time.as_secs_f64() * 1e3,
        "mean_ms": mean * 1e3,
        "p50_ms": percentile(&times, 50.0),
        "p90_ms": percentile(&times, 90.0),
        "p99_ms": percentile(&times, 99.0),
        "throughput_per_s": (*batch * *iters) as f64 / total,
        "peak_rss_mb": peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0)),
    });
    if *json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (k, v) in report.as_object().into_iter().flatten() {
            println!("{k:<18}{v}");
        }
    }
    Ok(())
}

/// Peak resident set size in bytes: VmHWM, else getrusage.
/// Runs `once` `warmup` times untimed, then `iters` times timed: the timed runs' durations,
/// their total in seconds, and whether every run produced the attack-type probabilities.
fn time_runs(
    warmup: usize,
    iters: usize,
    once: impl Fn() -> Result<bool>,
) -> Result<(Vec<Duration>, f64, bool)> {
    let mut attack_type = true;
    for _ in 0..warmup {
        attack_type &= once()?;
    }
    let mut times = Vec::with_capacity(iters);
    let t_all = Instant::now();
    for _ in 0..iters {
        let t = Instant::now();
        attack_type &= once()?;
        times.push(t.elapsed());
    }
    let total = t_all.elapsed().as_secs_f64();
    Ok((times, total, attack_type))
}

fn peak_rss_bytes() -> Option<u64> {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        for line in s.lines() {
            if let Some(v) = line.strip_prefix("VmHWM:") {
                let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().ok()?;
                return Some(kb * 1024);
            }
        }
    }
    // SAFETY: getrusage fills a plain struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) == 0 {
            let scale = if cfg!(target_os = "macos") { 1 } else { 1024 };
            return Some(ru.ru_maxrss as u64 * scale);
        }
    }
    None
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}
