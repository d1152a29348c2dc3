//! `moae bench-matrix`: the device latency benchmark over providers x models x batch sizes.
//!
//! Every configuration runs in its own child process (this same binary's `bench --json`), so
//! each one's peak RSS (VmHWM / ru_maxrss) is its own and not the high-water mark of earlier
//! configurations, and a crashing provider cannot take the whole report down.
//!
//! Any model the runtime serves runs as it is (the teacher, a student): the input size and
//! normalisation come from its metadata; a student's second output, the attack-type
//! probabilities, is computed in every run and reported (`input_size`, `attack_type`).

use crate::args::BenchMatrixArgs;
use anyhow::{bail, Context, Result};
use moae_runtime::ExecutionProvider;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit code of `moae` when the requested (required) execution provider cannot be used;
/// the matrix reads it as "skip this provider".
pub const EXIT_PROVIDER_UNAVAILABLE: u8 = 3;

/// What the matrix runs.
pub struct MatrixArgs<'a> {
    pub ort: Option<&'a Path>,
    pub models: &'a [PathBuf],
    pub providers: &'a [ExecutionProvider],
    pub batches: &'a [usize],
    pub iters: usize,
    pub warmup: usize,
    pub threads: usize,
    pub e2e: bool,
    pub trt_cache: Option<&'a Path>,
    pub trt_fp16: bool,
}

/// The whole report: measured rows, skipped providers, failed configurations.
pub struct Matrix {
    pub rows: Vec<Value>,
    pub skipped: Vec<Value>,
    pub errors: Vec<Value>,
}

fn child_args(a: &MatrixArgs<'_>, p: ExecutionProvider, model: &Path, batch: usize) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("moae"));
    let mut c = Command::new(exe);
    // One-line errors in the report, not backtraces.
    c.env("RUST_BACKTRACE", "0").env("RUST_LIB_BACKTRACE", "0");
    if let Some(o) = a.ort {
        c.arg("--ort").arg(o);
    }
    c.arg("bench").arg(model);
    c.args(["--ep", p.name(), "--require", "--json"]);
    c.args(["--batch", &batch.to_string()]);
    c.args(["--iters", &a.iters.to_string()]);
    c.args(["--warmup", &a.warmup.to_string()]);
    c.args(["--threads", &a.threads.to_string()]);
    if a.e2e {
        c.arg("--e2e");
    }
    if let Some(d) = a.trt_cache {
        c.arg("--trt-cache").arg(d);
    }
    if a.trt_fp16 {
        c.arg("--trt-fp16");
    }
    c
}

/// A child's error in one line: the provider error if present, else the `Error:` chain
/// (anyhow's `Caused by:` lines joined; any backtrace dropped).
fn reason(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Stack backtrace"))
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .collect();
    if let Some(l) = lines.iter().find(|l| l.contains("is unavailable")) {
        return l.to_string();
    }
    let from = lines
        .iter()
        .rposition(|l| l.starts_with("Error: "))
        .unwrap_or(0);
    let msg = lines[from..].join(": ");
    if msg.is_empty() {
        "no message (the child `moae bench` crashed?)".into()
    } else {
        msg
    }
}

/// Runs every configuration, each in a child process; progress goes to stderr.
pub fn run(a: &MatrixArgs<'_>) -> Result<Matrix> {
    if a.models.is_empty() || a.providers.is_empty() || a.batches.is_empty() {
        bail!("give at least one model, one provider (--ep) and one batch size (--batch)");
    }
    if a.iters == 0 || a.batches.contains(&0) {
        bail!("--iters and every --batch must be positive");
    }
    for m in a.models {
        if !m.is_file() {
            bail!(
                "model file `{}` does not exist or is not a file",
                m.display()
            );
        }
    }
    let mut out = Matrix {
        rows: Vec::new(),
        skipped: Vec::new(),
        errors: Vec::new(),
    };
    'providers: for &p in a.providers {
        for model in a.models {
            for &batch in a.batches {
                eprintln!("bench-matrix: {p} {} batch {batch} ...", model.display());
                let o = child_args(a, p, model, batch)
                    .output()
                    .context("starting a child `moae bench` (std::env::current_exe)")?;
                let stderr = String::from_utf8_lossy(&o.stderr);
                if o.status.code() == Some(EXIT_PROVIDER_UNAVAILABLE as i32) {
                    // Unavailable for the first model means unavailable here: skip the rest.
                    out.skipped
                        .push(json!({ "provider": p.name(), "reason": reason(&stderr) }));
                    continue 'providers;
                }
                if !o.status.success() {
                    out.errors.push(json!({
                        "provider": p.name(),
                        "model": model,
                        "batch": batch,
                        "error": reason(&stderr),
                    }));
                    continue;
                }
                let mut v: Value = serde_json::from_slice(&o.stdout)
                    .context("parsing the JSON of a child `moae bench`")?;
                if let Some(obj) = v.as_object_mut() {
                    let size = std::fs::metadata(model).map(|m| m.len()).unwrap_or(0);
                    obj.insert("model_mb".into(), json!(size as f64 / (1024.0 * 1024.0)));
                }
                out.rows.push(v);
            }
        }
    }
    Ok(out)
}

fn num(v: &Value, k: &str) -> String {
    match v[k].as_f64() {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
        None => "-".into(),
    }
}

/// The human-readable table.
pub fn table(m: &Matrix) -> String {
    let mut s = format!(
        "{:<9} {:<28} {:<5} {:>5} {:>5} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8}\n",
        "provider",
        "model",
        "prec",
        "in_px",
        "types",
        "batch",
        "load_ms",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "items/s",
        "rss_MB",
        "file_MB"
    );
    for r in &m.rows {
        let model = Path::new(r["model"].as_str().unwrap_or("?"))
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        s += &format!(
            "{:<9} {:<28} {:<5} {:>5} {:>5} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9} {:>8}\n",
            r["provider"].as_str().unwrap_or("?"),
            model,
            r["precision"].as_str().unwrap_or("?"),
            r["input_size"],
            // The attack-type output (a student's second head): produced or not.
            match r["attack_type"].as_bool() {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            },
            r["batch"],
            num(r, "load_ms"),
            num(r, "mean_ms"),
            num(r, "p50_ms"),
            num(r, "p90_ms"),
            num(r, "p99_ms"),
            num(r, "throughput_per_s"),
            num(r, "peak_rss_mb"),
            num(r, "model_mb"),
        );
    }
    for k in &m.skipped {
        s += &format!(
            "skipped  {}: {}\n",
            k["provider"].as_str().unwrap_or("?"),
            k["reason"].as_str().unwrap_or("")
        );
    }
    for e in &m.errors {
        s += &format!(
            "FAILED   {} {} batch {}: {}\n",
            e["provider"].as_str().unwrap_or("?"),
            e["model"].as_str().unwrap_or("?"),
            e["batch"],
            e["error"].as_str().unwrap_or("")
        );
    }
    s
}

/// The JSON report, with what is needed to tell machines and runs apart.
pub fn to_json(m: &Matrix, a: &MatrixArgs<'_>) -> Value {
    json!({
        "host": {
            "os": std::env::consts::OS,
            "arch": std::env::consts::ARCH,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        },
        "iters": a.iters,
        "warmup": a.warmup,
        "threads": a.threads,
        "mode": if a.e2e { "e2e_nv21_1080p" } else { "inference" },
        "results": m.rows,
        "skipped": m.skipped,
        "errors": m.errors,
    })
}

/// `moae bench-matrix`: runs the matrix, prints the table and writes the JSON report.
pub fn command(ort: &Option<PathBuf>, a: &BenchMatrixArgs) -> Result<()> {
    let BenchMatrixArgs {
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
    } = a;
    let args = MatrixArgs {
        ort: ort.as_deref(),
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
    let m = run(&args)?;
    let report = serde_json::to_string_pretty(&to_json(&m, &args))?;
    match json.as_deref() {
        Some(p) if p == std::path::Path::new("-") => println!("{report}"),
        Some(p) => {
            print!("{}", table(&m));
            std::fs::write(p, report + "\n")
                .with_context(|| format!("writing the JSON report to {}", p.display()))?;
        }
        None => print!("{}", table(&m)),
    }
    if !m.errors.is_empty() {
        bail!(
            "{} configuration(s) failed (see FAILED above)",
            m.errors.len()
        );
    }
    Ok(())
}
