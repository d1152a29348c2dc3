//! `trainer export`: a checkpoint → the ONNX file the SDK serves (spec §1–4; issue 4).
//!
//! tch has no ONNX exporter, so [`graph`] writes the graph op by op from the VarStore's
//! weights; the text tower is not exported: its class embeddings are folded in as a constant.
//! The file carries the libmoae metadata contract ([`moae_onnx::meta`]).

pub mod graph;
pub mod quantize;
pub mod student_graph;
pub mod triton;

pub use graph::{build_model, GraphOptions};
pub use quantize::WeightFormat;

use crate::eval::metrics::{self, Scored};
use crate::model::checkpoint::{self, CheckpointError};
use crate::model::config::{ConfigError, ModelConfig};
use crate::model::prompts::{self, PromptSet};
use crate::model::student::Student;
use crate::model::{MoaeClip, Net};
use moae_onnx::meta::{ModelMeta, CLASSES, FORMAT_VERSION};
use moae_onnx::proto::ModelProto;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use student_graph::StudentPrecision;
use tch::{nn, Device, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("the model config cannot be exported: {0}")]
    Config(ConfigError),
    #[error("the weights lack `{0}`, which the config needs: the checkpoint's config does not match its weights")]
    MissingWeight(String),
    #[error("weight `{name}` has shape {found:?} but the config needs {expected:?}: the checkpoint's config does not match its weights")]
    WeightShape {
        name: String,
        expected: Vec<i64>,
        found: Vec<i64>,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid export options: {0}")]
    Options(String),
    #[error("dev-set calibration failed: {0}")]
    Calibration(String),
}

/// Where the decision threshold comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    /// 0.5, marked not calibrated.
    Default,
    /// The equal-error threshold of these dev scores (spec §7).
    DevScores(Vec<Scored>),
}

/// Options of [`export_checkpoint`].
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub graph: GraphOptions,
    pub threshold: Threshold,
    /// Also write a Triton model repository entry into this directory.
    pub triton: Option<PathBuf>,
    /// Triton model name (default: the output file's stem).
    pub triton_name: Option<String>,
    /// A student's static int8 plan (ranges from [`student_graph::calibrate`]); needed by a
    /// student with [`WeightFormat::Int8`], refused for the CLIP family.
    pub calibration: Option<student_graph::Int8Plan>,
}

/// What an export did.
#[derive(Debug, Clone)]
pub struct ExportReport {
    pub out: PathBuf,
    pub bytes: usize,
    pub nodes: usize,
    pub seconds: f64,
    pub meta: ModelMeta,
    pub triton_dir: Option<PathBuf>,
    /// Things the user should know (e.g. the default prompts were used).
    pub notes: Vec<String>,
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The EER threshold of dev scores, as f32 in [0, 1].
pub fn dev_threshold(scores: &[Scored]) -> Result<f32, ExportError> {
    metrics::check_finite(scores, "dev").map_err(|e| ExportError::Calibration(e.to_string()))?;
    let p = metrics::eer_point(scores).ok_or_else(|| {
        ExportError::Calibration("the dev scores need both live and attack samples".into())
    })?;
    Ok((p.threshold as f32).clamp(0.0, 1.0))
}

/// The metadata of an export (threshold, precision, provenance).
pub fn model_meta(
    cfg: &ModelConfig,
    format: WeightFormat,
    threshold: Option<f32>,
    checkpoint_sha256: &str,
) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: cfg.to_json(),
        preset: cfg.preset.clone(),
        variant: cfg.experts.variant.name().into(),
        input_size: cfg.vision.image_size as u32,
        mean: cfg.vision.mean,
        std: cfg.vision.std,
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        attack_types: Vec::new(),
        threshold: threshold.unwrap_or(0.5),
        threshold_calibrated: threshold.is_some(),
        precision: format.name().into(),
        checkpoint_sha256: checkpoint_sha256.into(),
        producer: format!("moae-trainer {}", env!("CARGO_PKG_VERSION")),
    }
}

/// The class text embeddings [2, proj] from `prompts` through the model's text tower.
pub fn class_embeddings(model: &MoaeClip, prompts: &PromptSet) -> Tensor {
    let device = model.logit_scale().device();
    tch::no_grad(|| prompts::class_embeddings(model, &prompts.ids_tensor(device)))
}

/// Every VarStore tensor by name (shallow clones; the graph builder copies what it needs).
pub fn variables(vs: &nn::VarStore) -> HashMap<String, Tensor> {
    vs.variables()
}

/// Builds the ONNX bytes for an in-memory model (used by the CLI and by the tests).
pub fn export_bytes(
    model: &MoaeClip,
    vs: &nn::VarStore,
    class_emb: &Tensor,
    opts: &GraphOptions,
    meta: &ModelMeta,
) -> Result<Vec<u8>, ExportError> {
    let proto = tch::no_grad(|| build_model(&model.cfg, variables(vs), class_emb, opts, meta))?;
    Ok(moae_onnx::to_bytes(&proto))
}

/// A checkpoint read once for export: the model and the SHA-256 of the file's bytes.
pub struct Source {
    pub loaded: checkpoint::NetLoaded,
    pub sha256: String,
}

impl Source {
    /// Reads and checks `ckpt` (a corrupt file or a config that does not match its weights is
    /// an error naming the problem); the bytes are hashed and parsed from one read.
    pub fn read(ckpt: &Path) -> Result<Self, ExportError> {
        let file = std::fs::read(ckpt).map_err(|source| ExportError::Io {
            op: "reading",
            path: ckpt.to_path_buf(),
            source,
        })?;
        let sha256 = sha256_hex(&file);
        let loaded = checkpoint::load_net_bytes(ckpt, &file, Device::Cpu)?;
        Ok(Source { loaded, sha256 })
    }
}

/// The Triton model name `opts` asks for (default: the output file's stem), checked.
fn triton_name(out: &Path, opts: &ExportOptions) -> Result<String, ExportError> {
    let name = match &opts.triton_name {
        Some(n) => n.clone(),
        None => out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "moae".into()),
    };
    triton::check_name(&name)?;
    Ok(name)
}

impl From<crate::atomic_file::WriteError> for ExportError {
    fn from(e: crate::atomic_file::WriteError) -> Self {
        ExportError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

/// Every argument of an export that can be refused without the model: the output path, the
/// Triton directory and name. Called before anything is computed or written.
pub fn check_outputs(out: &Path, opts: &ExportOptions) -> Result<(), ExportError> {
    crate::atomic_file::check_writable(out)?;
    if opts.triton_name.is_some() && opts.triton.is_none() {
        return Err(ExportError::Options(
            "a Triton model name needs a Triton directory (--triton DIR)".into(),
        ));
    }
    if let Some(dir) = &opts.triton {
        triton_name(out, opts)?;
        if dir.exists() && !dir.is_dir() {
            return Err(ExportError::Options(format!(
                "the Triton directory {} is a file",
                dir.display()
            )));
        }
    }
    if let Threshold::DevScores(s) = &opts.threshold {
        dev_threshold(s)?;
    }
    Ok(())
}

/// Writes `files` all or nothing (see [`crate::atomic_file`]), creating their directories;
/// directories created here are removed again if the write fails.
pub(crate) fn write_outputs(files: &[(PathBuf, &[u8])]) -> Result<(), ExportError> {
    let mut created = Vec::new();
    let result = (|| {
        for (path, _) in files {
            let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
                continue;
            };
            let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
            std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
                op: "creating",
                path: dir.to_path_buf(),
                source,
            })?;
            created.extend(missing.into_iter().map(Path::to_path_buf));
        }
        Ok(crate::atomic_file::write_all_atomic(files)?)
    })();
    if result.is_err() {
        // Deepest first; `remove_dir` only removes empty directories.
        for d in &created {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

/// `trainer export`: reads `ckpt` once and exports it (see [`export_source`]).
pub fn export_checkpoint(
    ckpt: &Path,
    out: &Path,
    opts: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    check_outputs(out, opts)?;
    export_source(&Source::read(ckpt)?, out, opts)
}

/// The class embeddings of a loaded checkpoint's prompts (the default prompts, with a note,
/// when it stores none).
fn source_class_embeddings(
    model: &MoaeClip,
    meta: &checkpoint::CheckpointMeta,
    notes: &mut Vec<String>,
) -> Tensor {
    if meta.prompts.is_none() {
        notes.push(
            "the checkpoint stores no prompts: the default prompts (byte-level tokens) \
             define the classes"
                .to_string(),
        );
    }
    class_embeddings(model, &meta.prompts_or_default(&model.cfg))
}

/// A student's graph and metadata: fp32, or static int8 with `opts.calibration`.
fn student_model(
    student: &Student,
    vs: &nn::VarStore,
    opts: &ExportOptions,
    threshold: Option<f32>,
    sha256: &str,
) -> Result<(ModelProto, ModelMeta), ExportError> {
    let precision = match (opts.graph.format, &opts.calibration) {
        (WeightFormat::Fp32, None) => StudentPrecision::Fp32,
        (WeightFormat::Int8, Some(r)) => StudentPrecision::Int8(r.clone()),
        (WeightFormat::Int8, None) => {
            return Err(ExportError::Options(
                "an int8 student needs calibration images (--calib LIST): its convolutions \
                 are quantised statically"
                    .into(),
            ))
        }
        (WeightFormat::Fp32, Some(_)) => {
            return Err(ExportError::Options(
                "calibration images (--calib) are for an int8 export (--quantize int8)".into(),
            ))
        }
        (other, _) => {
            return Err(ExportError::Options(format!(
                "a student exports as fp32 or int8 (--quantize int8 --calib LIST), not {other:?}"
            )))
        }
    };
    if opts.graph.embedding {
        return Err(ExportError::Options(
            "a student has no image embedding output (--embedding is for the CLIP family)".into(),
        ));
    }
    let meta = student_graph::student_meta(&student.cfg, &precision, threshold, sha256);
    let proto = tch::no_grad(|| {
        student_graph::build_student(&student.cfg, &vs.variables(), &precision, &meta)
    })?;
    Ok((proto, meta))
}

/// Exports a checkpoint already read: every argument is checked first, then the ONNX file
/// (and the Triton entry) are written all or nothing.
pub fn export_source(
    src: &Source,
    out: &Path,
    opts: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let start = Instant::now();
    check_outputs(out, opts)?;
    let l = &src.loaded;
    let mut notes = Vec::new();
    let threshold = match &opts.threshold {
        Threshold::Default => None,
        Threshold::DevScores(s) => Some(dev_threshold(s)?),
    };
    let (proto, meta, size, embedding) = match &l.net {
        Net::Clip(model) => {
            if opts.calibration.is_some() {
                return Err(ExportError::Options(
                    "calibration images (--calib) are for a student's static int8; the CLIP \
                     family's int8 is dynamic"
                        .into(),
                ));
            }
            let cfg = &model.cfg;
            let class_emb = source_class_embeddings(model, &l.meta, &mut notes);
            let meta = model_meta(cfg, opts.graph.format, threshold, &src.sha256);
            let proto = tch::no_grad(|| {
                build_model(cfg, variables(&l.vs), &class_emb, &opts.graph, &meta)
            })?;
            let embedding = opts.graph.embedding.then_some(cfg.projection_dim);
            (proto, meta, cfg.vision.image_size, embedding)
        }
        Net::Student(st) => {
            let (proto, meta) = student_model(st, &l.vs, opts, threshold, &src.sha256)?;
            (proto, meta, st.cfg.image_size, None)
        }
    };
    let nodes = proto.graph.as_ref().map_or(0, |g| g.node.len());
    let bytes = moae_onnx::to_bytes(&proto);
    drop(proto);
    let mut files: Vec<(PathBuf, &[u8])> = vec![(out.to_path_buf(), &bytes)];
    let mut config_text = String::new();
    let triton_dir = match &opts.triton {
        Some(dir) => {
            let name = triton_name(out, opts)?;
            let attack_types =
                (!meta.attack_types.is_empty()).then_some(meta.attack_types.len() as i64);
            config_text = triton::config_pbtxt(&name, size, embedding, attack_types);
            let (model_dir, onnx, config) = triton::entry_paths(dir, &name);
            files.push((onnx, &bytes));
            files.push((config, config_text.as_bytes()));
            Some(model_dir)
        }
        None => None,
    };
    write_outputs(&files)?;
    drop(config_text);
    Ok(ExportReport {
        out: out.to_path_buf(),
        bytes: bytes.len(),
        nodes,
        seconds: start.elapsed().as_secs_f64(),
        meta,
        triton_dir,
        notes,
    })
}
