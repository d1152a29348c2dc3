//! `moae`: inspect, run and benchmark libmoae models.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use moae_runtime::{
    decode_image, Detection, Engine, EngineOptions, ExecutionProvider, FaceBox, Frame, PixelFormat,
    ProviderPolicy, MAX_INTRA_OP_THREADS,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod bench_matrix;

#[derive(Parser)]
#[command(
    name = "moae",
    version,
    about = "libmoae face anti-spoofing: model info, detection, benchmarks"
)]
struct Cli {
    /// libonnxruntime to load (else ORT_DYLIB_PATH, else beside the binary, else the system's)
    #[arg(long, global = true)]
    ort: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args)]
struct EngineArgs {
    /// Execution providers in preference order, e.g. `cuda,cpu`
    #[arg(long, value_delimiter = ',', default_value = "cpu")]
    ep: Vec<ExecutionProvider>,
    /// Fail instead of falling back when the first provider is unavailable
    #[arg(long)]
    require: bool,
    /// ORT intra-op threads (0 = ORT default; at most 64)
    #[arg(long, default_value_t = 0, value_parser = in_range(0, MAX_INTRA_OP_THREADS))]
    threads: usize,
    /// TensorRT engine cache directory
    #[arg(long)]
    trt_cache: Option<PathBuf>,
    /// TensorRT fp16
    #[arg(long)]
    trt_fp16: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show a model's metadata and how it would run
    Info {
        model: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        #[arg(long)]
        json: bool,
    },
    /// Classify images (whole image, or the given face box) as live or attack
    Detect {
        model: PathBuf,
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Face box x,y,w,h in image pixels
        #[arg(long = "box", value_name = "X,Y,W,H")]
        face: Option<FaceBox>,
        /// Decision threshold on the attack score (default: the model's)
        #[arg(long)]
        threshold: Option<f32>,
        /// Face box enlargement
        #[arg(long, default_value_t = moae_runtime::DEFAULT_CROP_SCALE)]
        crop_scale: f32,
        #[command(flatten)]
        engine: EngineArgs,
        #[arg(long)]
        json: bool,
    },
    /// Score every image of a list (`path label [type]` per line, paths relative to --root)
    /// through the runtime and write `score label [type]` lines: the format `trainer metrics`
    /// reads, so an exported model (fp32, int8, …) is judged exactly as the trainer's own scores
    Score {
        model: PathBuf,
        /// The list file
        #[arg(long)]
        list: PathBuf,
        /// Directory the list's paths are relative to [default: the list's directory]
        #[arg(long)]
        root: Option<PathBuf>,
        /// Output score file
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Measure load time, latency percentiles, throughput and peak memory
    Bench {
        model: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// Inputs per run (1..=256)
        #[arg(long, default_value_t = 1, value_parser = in_range(1, MAX_BATCH))]
        batch: usize,
        /// Timed runs (1..=1000000)
        #[arg(long, default_value_t = 50, value_parser = in_range(1, MAX_ITERS))]
        iters: usize,
        /// Untimed runs first (0..=10000)
        #[arg(long, default_value_t = 5, value_parser = in_range(0, MAX_WARMUP))]
        warmup: usize,
        /// Time the whole pipeline from a synthetic 1920x1080 NV21 frame, not just inference
        #[arg(long)]
        e2e: bool,
        #[arg(long)]
        json: bool,
    },
    /// The device latency benchmark: `bench` for every provider x model x batch size, each in
    /// its own child process (so peak RSS is per configuration); unavailable providers are
    /// listed as skipped with the reason. Prints a table; `--json FILE` also writes JSON.
    BenchMatrix {
        /// Model files (e.g. fp32, fp16, int8 exports); precision is read from their metadata
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// Providers to try, in order
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "cpu,cuda,tensorrt,coreml"
        )]
        ep: Vec<ExecutionProvider>,
        /// Batch sizes (each 1..=256)
        #[arg(long, value_delimiter = ',', default_value = "1,8", value_parser = in_range(1, MAX_BATCH))]
        batch: Vec<usize>,
        /// Timed runs per configuration (1..=1000000)
        #[arg(long, default_value_t = 30, value_parser = in_range(1, MAX_ITERS))]
        iters: usize,
        /// Untimed runs before timing (first-run allocation, TensorRT/CoreML compilation)
        #[arg(long, default_value_t = 3, value_parser = in_range(0, MAX_WARMUP))]
        warmup: usize,
        /// ORT intra-op threads (0 = ORT default; at most 64)
        #[arg(long, default_value_t = 0, value_parser = in_range(0, MAX_INTRA_OP_THREADS))]
        threads: usize,
        /// Time the whole pipeline from a synthetic 1920x1080 NV21 frame, not just inference
        #[arg(long)]
        e2e: bool,
        /// TensorRT engine cache directory
        #[arg(long)]
        trt_cache: Option<PathBuf>,
        /// TensorRT fp16
        #[arg(long)]
        trt_fp16: bool,
        /// Also write the report as JSON to this file (`-` for stdout)
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

/// Bounds of the benchmark's numbers: every one is checked when parsed, so an absurd value is
/// a clear error and never an allocation failure or an overflow.
const MAX_BATCH: usize = 256;
const MAX_ITERS: usize = 1_000_000;
const MAX_WARMUP: usize = 10_000;
/// Most floats of one benchmark input tensor (1 GiB), whatever the model's input size.
const MAX_BENCH_FLOATS: usize = 1 << 28;

/// A clap parser for a whole number in `lo..=hi`.
fn in_range(lo: usize, hi: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |s: &str| {
        let v: usize = s
            .trim()
            .parse()
            .map_err(|e| format!("`{s}` is not a whole number: {e}"))?;
        if v < lo || v > hi {
            return Err(format!("{v} is out of range: use {lo}..={hi}"));
        }
        Ok(v)
    }
}

fn options(ort: &Option<PathBuf>, a: &EngineArgs) -> EngineOptions {
    EngineOptions {
        providers: a.ep.clone(),
        policy: if a.require {
            ProviderPolicy::Require
        } else {
            ProviderPolicy::Fallback
        },
        intra_op_threads: a.threads,
        ort_library_path: ort.clone(),
        tensorrt_cache_dir: a.trt_cache.clone(),
        tensorrt_fp16: a.trt_fp16,
        ..EngineOptions::default()
    }
}

fn load(model: &PathBuf, opts: &EngineOptions) -> Result<Engine> {
    Engine::from_path(model, opts).with_context(|| format!("loading {}", model.display()))
}

fn info_json(e: &Engine) -> serde_json::Value {
    let i = e.info();
    json!({
        "provider": i.provider.to_string(),
        "fallback_reason": i.fallback_reason,
        "input_size": i.input_size,
        "threshold": i.threshold,
        "threshold_calibrated": i.threshold_calibrated,
        "model_sha256": i.model_sha256,
        "meta": i.meta,
        "ort_library": i.ort_library,
        "ort_version": i.ort_version,
        "fixed_batch": i.fixed_batch,
        "load_ms": i.load_time.as_secs_f64() * 1e3,
    })
}

/// Peak resident set size in bytes: VmHWM, else getrusage.
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

/// Decodes an image file and detects on it (the whole image, or the first of `faces`).
fn detect_file(e: &Engine, img: &Path, faces: &[FaceBox]) -> Result<Detection> {
    let (rgb, w, h) = decode_image(img).with_context(|| format!("reading {}", img.display()))?;
    let frame = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize)?;
    let d = e
        .detect(&frame, faces)
        .with_context(|| format!("detecting on {}", img.display()))?;
    Ok(d[0])
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            // A distinct code lets `bench-matrix` (and scripts) tell "provider unavailable here"
            // apart from a real failure.
            let unavailable = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<moae_runtime::Error>(),
                    Some(moae_runtime::Error::ProviderUnavailable { .. })
                )
            });
            if unavailable {
                ExitCode::from(bench_matrix::EXIT_PROVIDER_UNAVAILABLE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match &cli.cmd {
        Cmd::Info {
            model,
            engine,
            json,
        } => {
            let e = load(model, &options(&cli.ort, engine))?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&info_json(&e))?);
            } else {
                let i = e.info();
                let m = &i.meta;
                println!("model        {}", model.display());
                println!("sha256       {}", i.model_sha256);
                println!("preset       {} / {}", m.preset, m.variant);
                println!("input        [N, 3, {0}, {0}]", i.input_size);
                println!("mean / std   {:?} / {:?}", m.mean, m.std);
                println!(
                    "threshold    {} ({})",
                    i.threshold,
                    if i.threshold_calibrated {
                        "calibrated"
                    } else {
                        "default"
                    }
                );
                println!("precision    {}", m.precision);
                println!("producer     {}", m.producer);
                println!("provider     {}", i.provider);
                if let Some(r) = &i.fallback_reason {
                    println!("fallback     {r}");
                }
                println!(
                    "onnxruntime  {} ({})",
                    i.ort_version,
                    i.ort_library.display()
                );
                println!("load         {:.1} ms", i.load_time.as_secs_f64() * 1e3);
            }
        }
        Cmd::Detect {
            model,
            images,
            face,
            threshold,
            crop_scale,
            engine,
            json,
        } => {
            let opts = EngineOptions {
                threshold: *threshold,
                crop_scale: *crop_scale,
                ..options(&cli.ort, engine)
            };
            let e = load(model, &opts)?;
            let mut rows = Vec::new();
            for img in images {
                let faces: Vec<FaceBox> = face.iter().copied().collect();
                let d = detect_file(&e, img, &faces)?;
                if *json {
                    rows.push(json!({
                        "image": img,
                        "attack_score": d.attack_score,
                        "live_score": d.live_score,
                        "is_attack": d.is_attack,
                        "threshold": d.threshold,
                        "provider": d.provider.to_string(),
                        "latency_ms": d.latency.as_secs_f64() * 1e3,
                    }));
                } else {
                    println!(
                        "{}\t{}\tattack_score={:.4}\tthreshold={:.4}\t{:.2} ms",
                        img.display(),
                        if d.is_attack { "ATTACK" } else { "live" },
                        d.attack_score,
                        d.threshold,
                        d.latency.as_secs_f64() * 1e3
                    );
                }
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            }
        }
        Cmd::Score {
            model,
            list,
            root,
            out,
            engine,
        } => {
            let e = load(model, &options(&cli.ort, engine))?;
            // Directory of the list, "." for a bare file name.
            let root = root.clone().unwrap_or_else(|| match list.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            });
            // The trainer's own list parser: both accept and reject the same lists, and the
            // `score label type` lines below are what `trainer metrics` reads.
            let samples = moae_lists::read_list(&root, list)?;
            let mut lines = String::new();
            let n = samples.len();
            for s in &samples {
                let at = || format!("{} line {}", list.display(), s.line);
                let d = detect_file(&e, &s.path, &[]).with_context(at)?;
                if !d.attack_score.is_finite() {
                    bail!(
                        "{}: the model gave a non-finite score {}",
                        at(),
                        d.attack_score
                    );
                }
                // The type column only where the list named one (else the label implies it).
                lines += &format!("{:.8} {}", d.attack_score, s.fine);
                if s.attack_type != moae_lists::type_name(s.fine) {
                    lines += &format!(" {}", s.attack_type);
                }
                lines.push('\n');
            }
            write_whole(out, &lines)?;
            eprintln!(
                "scored {n} images from {} into {}",
                list.display(),
                out.display()
            );
        }
        Cmd::Bench {
            model,
            engine,
            batch,
            iters,
            warmup,
            e2e,
            json,
        } => {
            let e = load(model, &options(&cli.ort, engine))?;
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
            // Deterministic pseudo-random input (a fixed LCG), no I/O.
            let mut x = 0x2545_f491u32;
            let mut next = move || {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                x
            };
            let pixels: Vec<f32> = (0..floats)
                .map(|_| (next() >> 8) as f32 / (1u32 << 24) as f32 * 4.0 - 2.0)
                .collect();
            let (w, h) = (1920u32, 1080u32);
            let yuv: Vec<u8> = (0..(w * h * 3 / 2) as usize)
                .map(|_| (next() >> 24) as u8)
                .collect();
            let (y, uv) = yuv.split_at((w * h) as usize);
            let frame = Frame::nv(PixelFormat::Nv21, y, w as usize, uv, w as usize, w, h)?;
            let items: Vec<_> = (0..*batch).map(|_| (frame, None)).collect();
            let once = || -> Result<()> {
                if *e2e {
                    e.detect_batch(&items)?;
                } else {
                    e.run_tensor(&pixels, *batch)?;
                }
                Ok(())
            };
            for _ in 0..*warmup {
                once()?;
            }
            let mut times = Vec::with_capacity(*iters);
            let t_all = Instant::now();
            for _ in 0..*iters {
                let t = Instant::now();
                once()?;
                times.push(t.elapsed());
            }
            let total = t_all.elapsed().as_secs_f64();
            times.sort();
            let mean = times.iter().map(|d| d.as_secs_f64()).sum::<f64>() / times.len() as f64;
            let report = json!({
                "model": model,
                "provider": e.info().provider.to_string(),
                "fallback_reason": e.info().fallback_reason,
                "precision": e.info().meta.precision,
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
        }
        Cmd::BenchMatrix {
            models,
            ep,
            batch,
            iters,
            warmup,
            threads,
            e2e,
            trt_cache,
            trt_fp16,
            json,
        } => {
            let args = bench_matrix::MatrixArgs {
                ort: cli.ort.as_deref(),
                models,
                providers: ep,
                batches: batch,
                iters: *iters,
                warmup: *warmup,
                threads: *threads,
                e2e: *e2e,
                trt_cache: trt_cache.as_deref(),
                trt_fp16: *trt_fp16,
            };
            let m = bench_matrix::run(&args)?;
            let report = serde_json::to_string_pretty(&bench_matrix::to_json(&m, &args))?;
            match json.as_deref() {
                Some(p) if p == std::path::Path::new("-") => println!("{report}"),
                Some(p) => {
                    print!("{}", bench_matrix::table(&m));
                    std::fs::write(p, report + "\n")
                        .with_context(|| format!("writing the JSON report to {}", p.display()))?;
                }
                None => print!("{}", bench_matrix::table(&m)),
            }
            if !m.errors.is_empty() {
                bail!(
                    "{} configuration(s) failed (see FAILED above)",
                    m.errors.len()
                );
            }
        }
    }
    Ok(())
}

/// Writes `text` beside `path` and renames it into place: a failure or a kill never leaves a
/// half-written score file at `path`.
fn write_whole(path: &std::path::Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let res = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", path.display()))
}
