//! `moae`: inspect, run and benchmark libmoae models.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use moae_runtime::{
    decode_image, BoxInput, BoxSpace, BoxUnits, Detection, DetectorModel, Engine, EngineOptions,
    ExecutionProvider, FaceBox, FaceResult, FaceSource, Frame, FrameAnalysis, PixelFormat,
    ProviderPolicy, Rotation, MAX_INTRA_OP_THREADS,
};
use serde_json::json;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod bench_matrix;
mod calib;

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
    /// Frame in, decision out: find the faces (face detector), check their quality, and decide
    /// live / attack / unsure for each. Without --box and --whole-frame it needs a face
    /// detector: --detector, else $MOAE_FACE_DETECTOR.
    Detect {
        model: PathBuf,
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// The face detector (BlazeFace ONNX, e.g. .venv/face/face_detection_front_128x128.onnx)
        #[arg(long)]
        detector: Option<PathBuf>,
        /// A face box x,y,w,h instead of the detector (repeat for several faces)
        #[arg(long = "box", value_name = "X,Y,W,H")]
        boxes: Vec<FaceBox>,
        /// The image --box coordinates refer to: the upright frame, or the raw file as given
        #[arg(long, value_enum, default_value = "upright")]
        box_space: SpaceArg,
        /// --box values are 0..1 of the image's width/height (Vision-style)
        #[arg(long)]
        normalized: bool,
        /// Clockwise rotation that makes the image upright (0, 90, 180, 270)
        #[arg(long, default_value_t = 0, value_parser = rotation_arg)]
        rotation: i32,
        /// The image is a left-right mirror image (front camera); applied before the rotation
        #[arg(long)]
        mirrored: bool,
        /// The whole image is the face (pre-cropped images): no detector
        #[arg(long, conflicts_with = "boxes")]
        whole_frame: bool,
        /// Decision threshold on the attack score (default: the model's)
        #[arg(long, conflicts_with = "calibration")]
        threshold: Option<f32>,
        /// The threshold from `moae calibrate --out FILE` (refused for another model)
        #[arg(long, value_name = "FILE")]
        calibration: Option<PathBuf>,
        /// Face box enlargement
        #[arg(long, default_value_t = moae_runtime::DEFAULT_CROP_SCALE)]
        crop_scale: f32,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print everything as JSON: per face box, keypoints, detector score, scores,
        /// threshold, decision, quality values and flags; the frame's flags
        #[arg(long)]
        json: bool,
    },
    /// Fit the decision threshold to a camera: the threshold at which at most --target-bpcer
    /// of the given live frames are rejected, a 95 % confidence bound on the BPCER from the
    /// count, and the APCER at it when attack frames are given. Lists: one image path per line
    /// (relative to the list's directory; anything after the path is ignored; # comments).
    Calibrate {
        model: PathBuf,
        /// Live frames of this camera
        #[arg(long, value_name = "LIST")]
        live: PathBuf,
        /// Attack frames (prints, screens, masks) of this camera
        #[arg(long, value_name = "LIST")]
        attack: Option<PathBuf>,
        /// Largest share of live frames to reject, e.g. 0.01
        #[arg(long)]
        target_bpcer: f64,
        /// The face detector (else $MOAE_FACE_DETECTOR); the frames' first face is scored
        #[arg(long, conflicts_with = "whole_frame")]
        detector: Option<PathBuf>,
        /// Each image is the face (pre-cropped frames)
        #[arg(long)]
        whole_frame: bool,
        /// Face box enlargement
        #[arg(long, default_value_t = moae_runtime::DEFAULT_CROP_SCALE)]
        crop_scale: f32,
        /// Write the calibration as JSON (for `moae detect --calibration`)
        #[arg(long, value_name = "FILE.json")]
        out: Option<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SpaceArg {
    Upright,
    Raw,
}

fn rotation_arg(s: &str) -> Result<i32, String> {
    let v: i32 = s
        .trim()
        .parse()
        .map_err(|e| format!("`{s}` is not a whole number: {e}"))?;
    Rotation::try_from(v)
        .map(|_| v)
        .map_err(|_| format!("rotation {v}: use 0, 90, 180 or 270 (clockwise)"))
}

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

/// The detector to use: the argument, else $MOAE_FACE_DETECTOR, else a clear error saying how
/// to get one.
fn need_detector(detector: &Option<PathBuf>) -> Result<DetectorModel> {
    let detector = detector
        .clone()
        .or_else(|| std::env::var_os("MOAE_FACE_DETECTOR").map(PathBuf::from));
    match &detector {
        Some(p) if !p.as_os_str().is_empty() => {
            if !p.is_file() {
                bail!(
                    "the face detector {} does not exist: run scripts/setup.sh (it places \
                     face_detection_front_128x128.onnx in .venv/face/), or pass --box / \
                     --whole-frame",
                    p.display()
                );
            }
            Ok(DetectorModel::Path(p.clone()))
        }
        _ => bail!(
            "no face box and no face detector: pass --detector PATH (or set \
             MOAE_FACE_DETECTOR; scripts/setup.sh places .venv/face/\
             face_detection_front_128x128.onnx), give --box X,Y,W,H, or --whole-frame for an \
             image that is already the face"
        ),
    }
}

/// What a calibration file (`moae calibrate --out`) says the threshold was measured on: a
/// threshold holds only for the same model, the same liveness crop and the same faces.
struct CalibrationFile {
    threshold: f32,
    model_sha256: String,
    crop_scale: f32,
    /// `"detector"` or `"whole_frame"`.
    face_source: String,
    /// The face detector's SHA-256 when `face_source` is `"detector"`.
    detector_sha256: Option<String>,
}

/// A JSON number read as the f32 it was written from (serde_json writes an f32 in its
/// shortest round-trip form; going through f64 could round twice).
fn json_f32(v: &serde_json::Value) -> Option<f32> {
    v.as_number()?.to_string().parse().ok()
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The calibration file `moae calibrate --out` writes.
fn read_calibration(path: &Path) -> Result<CalibrationFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the calibration {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let redo = "make it again with this version's `moae calibrate --out`";
    let threshold = json_f32(&v["threshold"])
        .filter(|t| (0.0..=1.0).contains(t))
        .with_context(|| format!("{}: no threshold in [0, 1]", path.display()))?;
    let model_sha256 = v["model_sha256"]
        .as_str()
        .filter(|s| is_sha256(s))
        .with_context(|| format!("{}: no model_sha256 (64 hex digits)", path.display()))?
        .to_string();
    let crop_scale = json_f32(&v["crop_scale"])
        .filter(|c| c.is_finite() && *c > 0.0)
        .with_context(|| {
            format!(
                "{}: no crop_scale: the file does not say which liveness crop its threshold                  was measured on; {redo}",
                path.display()
            )
        })?;
    let face_source = v["face_source"]
        .as_str()
        .filter(|s| ["detector", "whole_frame"].contains(s))
        .with_context(|| {
            format!(
                "{}: no face_source (\"detector\" or \"whole_frame\"); {redo}",
                path.display()
            )
        })?
        .to_string();
    let detector_sha256 = if face_source == "detector" {
        Some(
            v["detector_sha256"]
                .as_str()
                .filter(|s| is_sha256(s))
                .with_context(|| {
                    format!(
                        "{}: face_source is \"detector\" but there is no detector_sha256 \
                         (64 hex digits); {redo}",
                        path.display()
                    )
                })?
                .to_string(),
        )
    } else {
        None
    };
    Ok(CalibrationFile {
        threshold,
        model_sha256,
        crop_scale,
        face_source,
        detector_sha256,
    })
}

/// The SHA-256 (hex) of the face detector the run uses.
fn detector_sha256(d: &DetectorModel) -> Result<String> {
    let bytes: std::borrow::Cow<'_, [u8]> = match d {
        DetectorModel::Path(p) => std::fs::read(p)
            .with_context(|| format!("reading the face detector {}", p.display()))?
            .into(),
        DetectorModel::Bytes(b) => b.as_ref().into(),
    };
    Ok(sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Refuses a calibration measured on other faces than this run's: another crop scale, face
/// source or face detector gives other scores, so the threshold would not mean its BPCER.
fn check_calibration(
    c: &CalibrationFile,
    path: &Path,
    crop_scale: f32,
    source: &str,
    detector: Option<&DetectorModel>,
) -> Result<()> {
    let file = path.display();
    if c.crop_scale != crop_scale {
        bail!(
            "{file} was calibrated with crop scale {}, but this run uses {crop_scale}: the \
             threshold holds only for the crop it was measured on; pass --crop-scale {} or \
             calibrate again (moae calibrate --crop-scale {crop_scale})",
            c.crop_scale,
            c.crop_scale
        );
    }
    if c.face_source != source {
        let how = |s: &str| match s {
            "detector" => "faces from the face detector (--detector)",
            "whole_frame" => "whole images (--whole-frame)",
            _ => "the given face boxes (--box)",
        };
        bail!(
            "{file} was calibrated on {}, but this run scores {}: the threshold holds only \
             for the faces it was measured on; run with the same face source or calibrate \
             again with this one",
            how(&c.face_source),
            how(source)
        );
    }
    if let (Some(want), Some(d)) = (&c.detector_sha256, detector) {
        let have = detector_sha256(d)?;
        if *want != have {
            let name = match d {
                DetectorModel::Path(p) => p.display().to_string(),
                DetectorModel::Bytes(_) => "this run's face detector".to_string(),
            };
            bail!(
                "{file} was calibrated with the face detector of SHA-256 {want}, but {name} \
                 has {have}: another detector finds other face boxes, so the threshold does \
                 not hold; use that detector or calibrate again with this one"
            );
        }
    }
    Ok(())
}

fn quality_json(f: &FaceResult) -> serde_json::Value {
    let q = &f.quality.values;
    json!({
        "face_px": q.face_px,
        "outside_fraction": q.outside_fraction,
        "brightness": q.brightness,
        "overexposed_fraction": q.overexposed_fraction,
        "sharpness": q.sharpness,
        "roll_deg": q.roll_deg,
        "yaw_deg": q.yaw_deg,
        "flags": f.quality.flags.names(),
    })
}

fn source_name(s: FaceSource) -> &'static str {
    match s {
        FaceSource::Detector => "detector",
        FaceSource::Caller => "caller",
        FaceSource::WholeFrame => "whole_frame",
    }
}

fn face_json(f: &FaceResult) -> serde_json::Value {
    let b = f.face_box;
    json!({
        "source": source_name(f.source),
        "box": {"x": b.x, "y": b.y, "width": b.width, "height": b.height},
        "keypoints": f.keypoints.map(|k| k.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>()),
        "detector_score": f.detector_score,
        "attack_score": f.detection.attack_score,
        "live_score": f.detection.live_score,
        "threshold": f.detection.threshold,
        "decision": f.decision.name(),
        "quality": quality_json(f),
        "latency_ms": f.detection.latency.as_secs_f64() * 1e3,
    })
}

fn analysis_json(img: &Path, a: &FrameAnalysis) -> serde_json::Value {
    json!({
        "image": img,
        "frame_flags": a.flags.names(),
        "faces": a.faces.iter().map(face_json).collect::<Vec<_>>(),
    })
}

/// Decodes an image file (the raw buffer) and analyses it as the frame
/// rotate_cw(flip_if_mirrored(file), rotation).
fn analyze_file(
    e: &Engine,
    img: &Path,
    boxes: &[BoxInput],
    rotation: i32,
    mirrored: bool,
) -> Result<FrameAnalysis> {
    let (rgb, w, h) = decode_image(img).with_context(|| format!("reading {}", img.display()))?;
    let frame = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize)?
        .with_rotation(Rotation::try_from(rotation)?)
        .with_mirrored(mirrored);
    e.analyze(&frame, boxes)
        .with_context(|| format!("analysing {}", img.display()))
}

/// The image paths of a calibration list: the first field of each line, relative to the
/// list's directory; blank lines and # comments skipped.
fn read_paths(list: &Path) -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?;
    let dir = match list.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let paths: Vec<PathBuf> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(l.split_whitespace().next().unwrap_or(l)))
        .collect();
    if paths.is_empty() {
        bail!("{} lists no image", list.display());
    }
    Ok(paths)
}

/// Scores the first face of each listed frame; frames without a face are counted apart.
struct Scored {
    scores: Vec<f32>,
    no_face: Vec<PathBuf>,
    unsure: usize,
}

fn score_list(e: &Engine, list: &Path) -> Result<Scored> {
    let mut out = Scored {
        scores: Vec::new(),
        no_face: Vec::new(),
        unsure: 0,
    };
    for p in read_paths(list)? {
        let a =
            analyze_file(e, &p, &[], 0, false).with_context(|| format!("{}", list.display()))?;
        match a.faces.first() {
            None => out.no_face.push(p),
            Some(f) => {
                if !f.quality.flags.is_empty() {
                    out.unsure += 1;
                }
                out.scores.push(f.detection.attack_score);
            }
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    // A closed stdout (`moae detect --json ... | head`) ends the process quietly, as for other
    // Unix tools, instead of a panic in println!.
    // SAFETY: setting a signal disposition to the default before any thread starts.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
            detector,
            boxes,
            box_space,
            normalized,
            rotation,
            mirrored,
            whole_frame,
            threshold,
            calibration,
            crop_scale,
            engine,
            json,
        } => {
            let calib = calibration.as_deref().map(read_calibration).transpose()?;
            let face_detector = if boxes.is_empty() && !whole_frame {
                Some(need_detector(detector)?)
            } else {
                None
            };
            if let (Some(c), Some(path)) = (&calib, calibration) {
                let source = if !boxes.is_empty() {
                    "caller"
                } else if *whole_frame {
                    "whole_frame"
                } else {
                    "detector"
                };
                check_calibration(c, path, *crop_scale, source, face_detector.as_ref())?;
            }
            let opts = EngineOptions {
                threshold: calib.as_ref().map(|c| c.threshold).or(*threshold),
                crop_scale: *crop_scale,
                face_detector,
                whole_frame: *whole_frame,
                ..options(&cli.ort, engine)
            };
            let e = load(model, &opts)?;
            if let (
                Some(CalibrationFile {
                    model_sha256: sha, ..
                }),
                Some(path),
            ) = (&calib, calibration)
            {
                if *sha != e.info().model_sha256 {
                    bail!(
                        "{} was made for the model with SHA-256 {sha}, but {} has {}: \
                         calibrate this model (moae calibrate) or use its own calibration",
                        path.display(),
                        model.display(),
                        e.info().model_sha256
                    );
                }
            }
            let inputs: Vec<BoxInput> = boxes
                .iter()
                .map(|&rect| BoxInput {
                    rect,
                    space: match box_space {
                        SpaceArg::Upright => BoxSpace::Upright,
                        SpaceArg::Raw => BoxSpace::Raw,
                    },
                    units: if *normalized {
                        BoxUnits::Normalized
                    } else {
                        BoxUnits::Pixels
                    },
                })
                .collect();
            let mut rows = Vec::new();
            for img in images {
                let a = analyze_file(&e, img, &inputs, *rotation, *mirrored)?;
                if *json {
                    rows.push(analysis_json(img, &a));
                    continue;
                }
                if a.faces.is_empty() {
                    println!(
                        "{}\tno face\tframe flags: {}",
                        img.display(),
                        a.flags.names().join(",")
                    );
                }
                for (i, f) in a.faces.iter().enumerate() {
                    let b = f.face_box;
                    let flags = f.quality.flags.names();
                    println!(
                        "{}\tface {i}\t{}\tattack_score={:.4}\tthreshold={:.4}\tby_score={}\tbox={:.1},{:.1},{:.1},{:.1}\t{}{}\tquality={}\t{:.2} ms",
                        img.display(),
                        f.decision.name(),
                        f.detection.attack_score,
                        f.detection.threshold,
                        if f.detection.is_attack { "attack" } else { "live" },
                        b.x,
                        b.y,
                        b.width,
                        b.height,
                        source_name(f.source),
                        f.detector_score
                            .map(|s| format!(" {s:.3}"))
                            .unwrap_or_default(),
                        if flags.is_empty() {
                            "ok".to_string()
                        } else {
                            flags.join(",")
                        },
                        f.detection.latency.as_secs_f64() * 1e3
                    );
                }
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            }
        }
        Cmd::Calibrate {
            model,
            live,
            attack,
            target_bpcer,
            detector,
            whole_frame,
            crop_scale,
            out,
            engine,
        } => {
            if !(*target_bpcer > 0.0 && *target_bpcer < 1.0) {
                bail!("--target-bpcer is {target_bpcer}: use a share in (0, 1), e.g. 0.01");
            }
            // Refused before any scoring: a target below 1/n cannot be set from n frames.
            let listed = read_paths(live)?.len();
            if let Err(err @ calib::CalibError::TooFewFrames { .. }) =
                calib::calibrate(&vec![0.0; listed], *target_bpcer)
            {
                bail!("{err} (from {})", live.display());
            }
            let face_detector = if *whole_frame {
                None
            } else {
                Some(need_detector(detector)?)
            };
            let face_detector_sha256 = face_detector.as_ref().map(detector_sha256).transpose()?;
            let opts = EngineOptions {
                crop_scale: *crop_scale,
                face_detector,
                whole_frame: *whole_frame,
                ..options(&cli.ort, engine)
            };
            let e = load(model, &opts)?;
            let l = score_list(&e, live)?;
            let c = calib::calibrate(&l.scores, *target_bpcer).map_err(|err| {
                anyhow::anyhow!(
                    "{err} ({} live frames listed in {}, {} without a face)",
                    l.scores.len() + l.no_face.len(),
                    live.display(),
                    l.no_face.len()
                )
            })?;
            let a = attack.as_deref().map(|p| score_list(&e, p)).transpose()?;
            let apcer = a.as_ref().map(|a| calib::apcer(&a.scores, c.threshold));
            let meaning = format!(
                "at threshold {}, {} of the {} live frames ({:.4} %) are rejected (target \
                 {} %: at most {}); with 95 % confidence the camera's true BPCER at this \
                 threshold is at most {:.4} % (one-sided Clopper-Pearson bound from {} of {})",
                c.threshold,
                c.rejected,
                c.n,
                100.0 * c.bpcer,
                100.0 * target_bpcer,
                c.allowed,
                100.0 * c.bpcer_upper_95,
                c.rejected,
                c.n
            );
            let report = json!({
                "model": model,
                "model_sha256": e.info().model_sha256,
                "threshold": c.threshold,
                "model_threshold": e.info().meta.threshold,
                "target_bpcer": target_bpcer,
                "live_frames": c.n,
                "live_rejected": c.rejected,
                "live_rejected_allowed": c.allowed,
                "bpcer": c.bpcer,
                "bpcer_upper_95": c.bpcer_upper_95,
                "live_without_face": l.no_face.len(),
                "live_unsure": l.unsure,
                "attack_frames": a.as_ref().map(|a| a.scores.len()),
                "attack_without_face": a.as_ref().map(|a| a.no_face.len()),
                "apcer": apcer,
                "face_source": if *whole_frame { "whole_frame" } else { "detector" },
                "detector_sha256": face_detector_sha256,
                "crop_scale": crop_scale,
                "rule": "attack when attack_score >= threshold; the threshold is the float \
                         just above the (n - k)-th smallest live score, k = floor(target * n)",
                "meaning": meaning,
                "producer": format!("moae calibrate {}", env!("CARGO_PKG_VERSION")),
            });
            // Shortest round-trip form: copied back (--threshold), it is the same f32.
            println!("threshold        {}", c.threshold);
            println!(
                "live frames      {} scored, {} rejected (allowed {}), BPCER {:.4} %",
                c.n,
                c.rejected,
                c.allowed,
                100.0 * c.bpcer
            );
            println!(
                "BPCER bound      {:.4} % (95 %, one-sided Clopper-Pearson)",
                100.0 * c.bpcer_upper_95
            );
            if !l.no_face.is_empty() {
                println!(
                    "no face          {} live frames had no face and are not counted (first: {})",
                    l.no_face.len(),
                    l.no_face[0].display()
                );
            }
            if let (Some(a), Some(apcer)) = (&a, apcer) {
                println!(
                    "APCER            {:.4} % of {} attack frames accepted as live",
                    100.0 * apcer,
                    a.scores.len()
                );
            }
            println!("meaning          {meaning}");
            if let Some(out) = out {
                write_whole(out, &(serde_json::to_string_pretty(&report)? + "\n"))?;
                eprintln!("wrote {}", out.display());
            }
        }
        Cmd::Score {
            model,
            list,
            root,
            out,
            engine,
        } => {
            // Data-set images are pre-cropped faces: the whole image is the face.
            let opts = EngineOptions {
                whole_frame: true,
                ..options(&cli.ort, engine)
            };
            let e = load(model, &opts)?;
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
            // --e2e times the frame -> centre-square crop -> model path (no face detector):
            // the whole frame is the face.
            let opts = EngineOptions {
                whole_frame: true,
                ..options(&cli.ort, engine)
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
