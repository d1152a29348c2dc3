//! `trainer export`: a checkpoint → the ONNX file the SDK serves (spec §1–4; issue 4).
//!
//! tch has no ONNX exporter, so [`graph`] writes the graph op by op from the VarStore's
//! weights; the text tower is not exported: its class embeddings are folded in as a constant.
//! The file carries the libmoae metadata contract ([`moae_onnx::meta`]).

pub mod graph;
pub mod quantize;
pub mod triton;

pub use graph::{build_model, GraphOptions};
pub use quantize::WeightFormat;

use crate::checkpoint::{self, CheckpointError};
use crate::config::{ConfigError, ModelConfig};
use crate::metrics::{self, Scored};
use crate::model::MoaeClip;
use crate::prompts::{self, PromptSet};
use moae_onnx::meta::{ModelMeta, CLASSES, FORMAT_VERSION};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
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

/// `trainer export`: loads `ckpt` (a corrupt file or a config that does not match its weights
/// is an error naming the problem), writes `out` atomically, and optionally a Triton entry.
pub fn export_checkpoint(
    ckpt: &Path,
    out: &Path,
    opts: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let start = Instant::now();
    let file = std::fs::read(ckpt).map_err(|source| ExportError::Io {
        op: "reading",
        path: ckpt.to_path_buf(),
        source,
    })?;
    let sha = sha256_hex(&file);
    drop(file);
    let loaded = checkpoint::load(ckpt, Device::Cpu)?;
    let mut notes = Vec::new();
    let prompts = match &loaded.meta.prompts {
        Some(p) => p.clone(),
        None => {
            notes.push(
                "the checkpoint stores no prompts: the default prompts (byte-level tokens) \
                 define the classes"
                    .to_string(),
            );
            PromptSet::default_byte_level(loaded.config.text.context_length as usize)
        }
    };
    let class_emb = class_embeddings(&loaded.model, &prompts);
    let threshold = match &opts.threshold {
        Threshold::Default => None,
        Threshold::DevScores(s) => Some(dev_threshold(s)?),
    };
    let meta = model_meta(&loaded.config, opts.graph.format, threshold, &sha);
    let proto = tch::no_grad(|| {
        build_model(
            &loaded.config,
            variables(&loaded.vs),
            &class_emb,
            &opts.graph,
            &meta,
        )
    })?;
    let nodes = proto.graph.as_ref().map_or(0, |g| g.node.len());
    let bytes = moae_onnx::to_bytes(&proto);
    drop(proto);
    checkpoint::write_atomic(out, &bytes)?;
    let triton_dir = match &opts.triton {
        Some(dir) => {
            let name = match &opts.triton_name {
                Some(n) => n.clone(),
                None => out
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "moae".into()),
            };
            let embedding = opts.graph.embedding.then_some(loaded.config.projection_dim);
            let size = loaded.config.vision.image_size;
            Some(triton::write_repository(
                dir, &name, &bytes, size, embedding,
            )?)
        }
        None => None,
    };
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
