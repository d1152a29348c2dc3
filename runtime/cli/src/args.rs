//! The command line: clap's definitions of `moae` and its commands, and the parsers of their
//! values.

use clap::{Parser, Subcommand};
use moae_runtime::{
    EngineOptions, ExecutionProvider, FaceBox, ProviderPolicy, Rotation, MAX_INTRA_OP_THREADS,
};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "moae",
    version,
    about = "libmoae face anti-spoofing: model info, detection, benchmarks"
)]
pub struct Cli {
    /// libonnxruntime to load (else ORT_DYLIB_PATH, else beside the binary, else the system's)
    #[arg(long, global = true)]
    pub ort: Option<PathBuf>,
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(clap::Args)]
pub struct EngineArgs {
    /// Execution providers in preference order, e.g. `cuda,cpu`
    #[arg(long, value_delimiter = ',', default_value = "cpu")]
    pub ep: Vec<ExecutionProvider>,
    /// Fail instead of falling back when the first provider is unavailable
    #[arg(long)]
    pub require: bool,
    /// ORT intra-op threads (0 = ORT default; at most 64)
    #[arg(long, default_value_t = 0, value_parser = in_range(0, MAX_INTRA_OP_THREADS))]
    pub threads: usize,
    /// TensorRT engine cache directory
    #[arg(long)]
    pub trt_cache: Option<PathBuf>,
    /// TensorRT fp16
    #[arg(long)]
    pub trt_fp16: bool,
}

impl EngineArgs {
    /// The engine options these arguments (and `--ort`) set.
    pub fn options(&self, ort: &Option<PathBuf>) -> EngineOptions {
        EngineOptions {
            providers: self.ep.clone(),
            policy: if self.require {
                ProviderPolicy::Require
            } else {
                ProviderPolicy::Fallback
            },
            intra_op_threads: self.threads,
            ort_library_path: ort.clone(),
            tensorrt_cache_dir: self.trt_cache.clone(),
            tensorrt_fp16: self.trt_fp16,
            ..EngineOptions::default()
        }
    }
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Show a model's metadata and how it would run
    Info(InfoArgs),
    /// Frame in, decision out: find the faces (face detector), check their quality, and decide
    /// live / attack / unsure for each. Without --box and --whole-frame it needs a face
    /// detector: --detector, else $MOAE_FACE_DETECTOR.
    Detect(DetectArgs),
    /// Fit the decision threshold to a camera: the threshold at which at most --target-bpcer
    /// of the given live frames are rejected, a 95 % confidence bound on the BPCER from the
    /// count, and the APCER at it when attack frames are given. Lists: one image path per line
    /// (relative to the list's directory; anything after the path is ignored; # comments).
    Calibrate(CalibrateArgs),
    /// Score every image of a list (`path label [type]` per line, paths relative to --root)
    /// through the runtime and write `score label [type]` lines: the format `trainer metrics`
    /// reads, so an exported model (fp32, int8, …) is judged exactly as the trainer's own scores
    Score(ScoreArgs),
    /// Evaluate a model the way the SDK runs it: every image of a list through face detection
    /// (or --whole-frame), quality and liveness; the ISO/IEC 30107-3 figures with intervals and
    /// counts on the decided presentations, decisions by true class, non-response by reason;
    /// report.json + report.html, per-image results.jsonl and scores.txt in --out
    Evaluate(EvaluateArgs),
    /// Measure load time, latency percentiles, throughput and peak memory
    Bench(BenchArgs),
    /// The device latency benchmark: `bench` for every provider x model x batch size, each in
    /// its own child process (so peak RSS is per configuration); unavailable providers are
    /// listed as skipped with the reason. Prints a table; `--json FILE` also writes JSON.
    BenchMatrix(BenchMatrixArgs),
}

#[derive(clap::Args)]
pub struct InfoArgs {
    pub model: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct DetectArgs {
    pub model: PathBuf,
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// The face detector (BlazeFace ONNX, e.g. .venv/face/face_detection_front_128x128.onnx)
    #[arg(long)]
    pub detector: Option<PathBuf>,
    /// A face box x,y,w,h instead of the detector (repeat for several faces)
    #[arg(long = "box", value_name = "X,Y,W,H")]
    pub boxes: Vec<FaceBox>,
    /// The image --box coordinates refer to: the upright frame, or the raw file as given
    #[arg(long, value_enum, default_value = "upright")]
    pub box_space: SpaceArg,
    /// --box values are 0..1 of the image's width/height (Vision-style)
    #[arg(long)]
    pub normalized: bool,
    /// Clockwise rotation that makes the image upright (0, 90, 180, 270)
    #[arg(long, default_value_t = 0, value_parser = rotation_arg)]
    pub rotation: i32,
    /// The image is a left-right mirror image (front camera); applied before the rotation
    #[arg(long)]
    pub mirrored: bool,
    /// The whole image is the face (pre-cropped images): no detector
    #[arg(long, conflicts_with = "boxes")]
    pub whole_frame: bool,
    /// Decision threshold on the attack score (default: the model's)
    #[arg(long, conflicts_with = "calibration")]
    pub threshold: Option<f32>,
    /// The threshold from `moae calibrate --out FILE` (refused for another model)
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Face box enlargement
    #[arg(long, default_value_t = moae_runtime::DEFAULT_CROP_SCALE)]
    pub crop_scale: f32,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Print everything as JSON: per face box, keypoints, detector score, scores,
    /// threshold, decision, quality values and flags; the frame's flags
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct CalibrateArgs {
    pub model: PathBuf,
    /// Live frames of this camera
    #[arg(long, value_name = "LIST")]
    pub live: PathBuf,
    /// Attack frames (prints, screens, masks) of this camera
    #[arg(long, value_name = "LIST")]
    pub attack: Option<PathBuf>,
    /// Largest share of live frames to reject, e.g. 0.01
    #[arg(long)]
    pub target_bpcer: f64,
    /// The face detector (else $MOAE_FACE_DETECTOR); the frames' first face is scored
    #[arg(long, conflicts_with = "whole_frame")]
    pub detector: Option<PathBuf>,
    /// Each image is the face (pre-cropped frames)
    #[arg(long)]
    pub whole_frame: bool,
    /// Face box enlargement
    #[arg(long, default_value_t = moae_runtime::DEFAULT_CROP_SCALE)]
    pub crop_scale: f32,
    /// Write the calibration as JSON (for `moae detect --calibration`)
    #[arg(long, value_name = "FILE.json")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    pub model: PathBuf,
    /// The image list: `path label [type]` per line (spec §6), paths relative to --root
    #[arg(long)]
    pub list: PathBuf,
    /// Directory the list's paths are relative to [default: the list's directory]
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// The face detector (else $MOAE_FACE_DETECTOR)
    #[arg(long, conflicts_with = "whole_frame")]
    pub detector: Option<PathBuf>,
    /// Each image is the face (pre-cropped data sets): no detector
    #[arg(long)]
    pub whole_frame: bool,
    /// Decision threshold on the attack score (default: the model's)
    #[arg(long, conflicts_with = "calibration")]
    pub threshold: Option<f32>,
    /// The threshold from `moae calibrate --out FILE` (refused for another model)
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,
    /// Face box enlargement
    #[arg(long, default_value_t = moae_runtime::DEFAULT_CROP_SCALE)]
    pub crop_scale: f32,
    /// Output folder: results.jsonl, scores.txt, report.json, report.html
    #[arg(long)]
    pub out: PathBuf,
    /// Images analysed at once [default: the CPU count]
    #[arg(long, value_parser = in_range(1, moae_runtime::MAX_SESSIONS))]
    pub jobs: Option<usize>,
    /// Bootstrap resamples for the EER, AUC and BPCER@APCER intervals
    #[arg(long, default_value_t = moae_metrics::bootstrap::Settings::default().resamples, value_parser = in_range(100, 100_000))]
    pub resamples: usize,
    /// Bootstrap seed (the same seed gives the same intervals)
    #[arg(long, default_value_t = moae_metrics::bootstrap::Settings::default().seed)]
    pub seed: u64,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(clap::Args)]
pub struct ScoreArgs {
    pub model: PathBuf,
    /// The list file
    #[arg(long)]
    pub list: PathBuf,
    /// Directory the list's paths are relative to [default: the list's directory]
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Output score file
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    pub model: PathBuf,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Inputs per run (1..=256)
    #[arg(long, default_value_t = 1, value_parser = in_range(1, MAX_BATCH))]
    pub batch: usize,
    /// Timed runs (1..=1000000)
    #[arg(long, default_value_t = 50, value_parser = in_range(1, MAX_ITERS))]
    pub iters: usize,
    /// Untimed runs first (0..=10000)
    #[arg(long, default_value_t = 5, value_parser = in_range(0, MAX_WARMUP))]
    pub warmup: usize,
    /// Time the whole pipeline from a synthetic 1920x1080 NV21 frame, not just inference
    #[arg(long)]
    pub e2e: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct BenchMatrixArgs {
    /// Model files (e.g. fp32, fp16, int8 exports); precision is read from their metadata
    #[arg(required = true)]
    pub models: Vec<PathBuf>,
    /// Providers to try, in order
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "cpu,cuda,tensorrt,coreml"
    )]
    pub ep: Vec<ExecutionProvider>,
    /// Batch sizes (each 1..=256)
    #[arg(long, value_delimiter = ',', default_value = "1,8", value_parser = in_range(1, MAX_BATCH))]
    pub batch: Vec<usize>,
    /// Timed runs per configuration (1..=1000000)
    #[arg(long, default_value_t = 30, value_parser = in_range(1, MAX_ITERS))]
    pub iters: usize,
    /// Untimed runs before timing (first-run allocation, TensorRT/CoreML compilation)
    #[arg(long, default_value_t = 3, value_parser = in_range(0, MAX_WARMUP))]
    pub warmup: usize,
    /// ORT intra-op threads (0 = ORT default; at most 64)
    #[arg(long, default_value_t = 0, value_parser = in_range(0, MAX_INTRA_OP_THREADS))]
    pub threads: usize,
    /// Time the whole pipeline from a synthetic 1920x1080 NV21 frame, not just inference
    #[arg(long)]
    pub e2e: bool,
    /// TensorRT engine cache directory
    #[arg(long)]
    pub trt_cache: Option<PathBuf>,
    /// TensorRT fp16
    #[arg(long)]
    pub trt_fp16: bool,
    /// Also write the report as JSON to this file (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Bounds of the benchmark's numbers: every one is checked when parsed, so an absurd value is
/// a clear error and never an allocation failure or an overflow.
const MAX_BATCH: usize = 256;
const MAX_ITERS: usize = 1_000_000;
const MAX_WARMUP: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SpaceArg {
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
