//! Checkpoints: one `.safetensors` file with every VarStore tensor (HF names, stored in the
//! VarStore's dtype, so save → load is bit-exact) and `__metadata__`:
//!
//! | key | value |
//! | --- | --- |
//! | `format` | `moae-checkpoint/2` |
//! | `config` | the [`ModelConfig`] as JSON |
//! | `meta` | the [`CheckpointMeta`] as JSON (prompt ids, step, typed training state) |
//! | `content_sha256` | SHA-256 over every other metadata entry (key, value, in key order), then (name, dtype, shape, bytes) of every tensor in name order |
//!
//! The hash covers the config and metadata, not only the tensors: a halved `vision.heads` or an
//! edited `vision.mean` changes every score while every tensor still fits, so it must not load.
//! Format 1 hashed tensors only; such files are refused with a message saying how to upgrade.
//!
//! Files are written atomically (temp file in the same directory, fsync, rename, fsync of the
//! directory), so an interrupted write leaves the previous file intact. [`save_tensors`] /
//! [`load_tensors`] do the same for any named tensors (e.g. optimiser state in a second file).

use crate::model::config::ModelConfig;
use crate::model::prompts::PromptSet;
use crate::model::{MoaeClip, Net, NetConfig};
use safetensors::tensor::{Dtype, SafeTensors, TensorView, View};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

pub const FORMAT: &str = "moae-checkpoint/2";
/// The previous format, whose checksum left the config and metadata unprotected.
const FORMAT_V1: &str = "moae-checkpoint/1";
const KEY_FORMAT: &str = "format";
const KEY_CONFIG: &str = "config";
const KEY_META: &str = "meta";
const KEY_SHA: &str = "content_sha256";

/// What a checkpoint carries besides the weights and the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Class prompts and their token ids (training never needs the tokenizer again).
    pub prompts: Option<PromptSet>,
    /// Optimiser steps taken so far.
    pub step: Option<u64>,
    /// The state of the training run that wrote it (settings, optimiser file, data position,
    /// best dev record); absent in checkpoints not written by a training run.
    #[serde(default)]
    pub train: Option<crate::record::TrainState>,
}

impl CheckpointMeta {
    /// The stored prompts, else the default (byte-level) prompts at the model's context length.
    pub fn prompts_or_default(&self, config: &ModelConfig) -> PromptSet {
        self.prompts
            .clone()
            .unwrap_or_else(|| PromptSet::default_byte_level(config.text.context_length as usize))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid checkpoint: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("{path}: the stored config is unusable: {why}")]
    Config { path: PathBuf, why: String },
    #[error("{path} holds a student ({preset}); this needs a CLIP/MoAE-CR checkpoint")]
    Student { path: PathBuf, preset: String },
    #[error("{path}: the weights do not match the config ({})", mismatch_summary(.missing, .unexpected, .shapes))]
    Mismatch {
        path: PathBuf,
        /// Parameters the config needs that the file lacks.
        missing: Vec<String>,
        /// Tensors in the file the config has no parameter for.
        unexpected: Vec<String>,
        /// `name: file [..] vs model [..]`.
        shapes: Vec<String>,
    },
    #[error("{path}: tensor `{name}`: {why}")]
    Tensor {
        path: PathBuf,
        name: String,
        why: String,
    },
}

fn list(label: &str, items: &[String]) -> Option<String> {
    const SHOW: usize = 12;
    if items.is_empty() {
        return None;
    }
    let mut s = format!(
        "{label} {}: {}",
        items.len(),
        items[..items.len().min(SHOW)].join(", ")
    );
    if items.len() > SHOW {
        s.push_str(&format!(", … and {} more", items.len() - SHOW));
    }
    Some(s)
}

fn mismatch_summary(missing: &[String], unexpected: &[String], shapes: &[String]) -> String {
    [
        list("missing", missing),
        list("unexpected", unexpected),
        list("wrong shape", shapes),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ")
}

/// A loaded checkpoint: the model is built on `vs` (its tensors are the VarStore's).
#[derive(Debug)]
pub struct Loaded {
    pub config: ModelConfig,
    pub vs: nn::VarStore,
    pub model: MoaeClip,
    pub meta: CheckpointMeta,
}

fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CheckpointError + 'a {
    move |source| CheckpointError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn kind_to_dtype(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Int16 => Dtype::I16,
        Kind::Int8 => Dtype::I8,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::BOOL,
        _ => return None,
    })
}

pub(crate) fn dtype_to_kind(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::I16 => Kind::Int16,
        Dtype::I8 => Kind::Int8,
        Dtype::U8 => Kind::Uint8,
        Dtype::BOOL => Kind::Bool,
        _ => return None,
    })
}

/// A CPU copy of a tensor's bytes, for safetensors serialisation.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl Bytes {
    fn of(name: &str, t: &Tensor, path: &Path) -> Result<Self, CheckpointError> {
        let bad = |why: String| CheckpointError::Tensor {
            path: path.to_path_buf(),
            name: name.to_string(),
            why,
        };
        let kind = t.kind();
        let dtype = kind_to_dtype(kind).ok_or_else(|| bad(format!("unsupported kind {kind:?}")))?;
        let t = t.detach().to_device(Device::Cpu).contiguous();
        let numel = t.numel();
        let mut data = vec![0u8; numel * kind.elt_size_in_bytes()];
        t.f_copy_data_u8(&mut data, numel)
            .map_err(|e| bad(e.to_string()))?;
        let shape = t.size().iter().map(|&d| d as usize).collect();
        Ok(Bytes { dtype, shape, data })
    }
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn content_hash<'a>(
    metadata: &BTreeMap<String, String>,
    items: impl Iterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>,
) -> String {
    let mut h = Sha256::new();
    // Length-prefixed, so no two different (key, value) lists hash alike.
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(b"metadata");
    for (k, v) in metadata.iter().filter(|(k, _)| k.as_str() != KEY_SHA) {
        field(k.as_bytes());
        field(v.as_bytes());
    }
    field(b"tensors");
    let mut sorted: Vec<_> = items.collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (name, dtype, shape, data) in sorted {
        field(name.as_bytes());
        field(format!("{dtype:?}{shape:?}").as_bytes());
        field(data);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path` atomically (see [`crate::atomic_file`]): on any failure the temp
/// file is removed, the previous file at `path` is untouched, and the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    crate::atomic_file::write_atomic(path, bytes).map_err(CheckpointError::from)
}

impl From<crate::atomic_file::WriteError> for CheckpointError {
    fn from(e: crate::atomic_file::WriteError) -> Self {
        CheckpointError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

/// Saves named tensors with string metadata, atomically, plus a `content_sha256` entry.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let bytes: Vec<(String, Bytes)> = tensors
        .iter()
        .map(|(n, t)| Ok((n.clone(), Bytes::of(n, t, path)?)))
        .collect::<Result<_, CheckpointError>>()?;
    let mut info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let hash = content_hash(
        metadata,
        bytes
            .iter()
            .map(|(n, b)| (n.as_str(), b.dtype, b.shape.as_slice(), b.data.as_slice())),
    );
    info.insert(KEY_SHA.into(), hash);
    let buf =
        safetensors::tensor::serialize(bytes.iter().map(|(n, b)| (n.as_str(), b)), Some(info))
            .map_err(|e| CheckpointError::Corrupt {
                path: path.to_path_buf(),
                why: format!("cannot serialise: {e}"),
            })?;
    drop(bytes);
    write_atomic(path, &buf)
}

/// Reads a safetensors file; the `content_sha256` entry, when present, is verified.
/// Returns tensors (in their stored dtype, on `device`) in name order, and the metadata.
#[allow(clippy::type_complexity)]
pub fn load_tensors(
    path: &Path,
    device: Device,
) -> Result<(Vec<(String, Tensor)>, BTreeMap<String, String>), CheckpointError> {
    let buf = std::fs::read(path).map_err(io_err("reading", path))?;
    parse_tensors(path, &buf, device)
}

/// The `__metadata__` map of a safetensors buffer (nothing else is parsed).
fn header_metadata(path: &Path, buf: &[u8]) -> Result<BTreeMap<String, String>, CheckpointError> {
    let (_, header) = SafeTensors::read_metadata(buf).map_err(|e| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        why: format!("safetensors: {e}"),
    })?;
    Ok(header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

#[allow(clippy::type_complexity)]
pub(crate) fn parse_tensors(
    path: &Path,
    buf: &[u8],
    device: Device,
) -> Result<(Vec<(String, Tensor)>, BTreeMap<String, String>), CheckpointError> {
    let corrupt = |why: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        why,
    };
    let st = SafeTensors::deserialize(buf).map_err(|e| corrupt(format!("safetensors: {e}")))?;
    let metadata = header_metadata(path, buf)?;
    let mut views: Vec<(String, TensorView)> = st.tensors();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(want) = metadata.get(KEY_SHA) {
        let got = content_hash(
            &metadata,
            views
                .iter()
                .map(|(n, v)| (n.as_str(), v.dtype(), v.shape(), v.data())),
        );
        if &got != want {
            return Err(corrupt(
                "content checksum mismatch: the weights, config or metadata were modified or \
                 damaged since the file was written (re-create or re-train it)"
                    .into(),
            ));
        }
    }
    let mut out = Vec::with_capacity(views.len());
    for (name, v) in views {
        let kind = dtype_to_kind(v.dtype()).ok_or_else(|| CheckpointError::Tensor {
            path: path.to_path_buf(),
            name: name.clone(),
            why: format!("unsupported dtype {:?}", v.dtype()),
        })?;
        let shape: Vec<i64> = v.shape().iter().map(|&d| d as i64).collect();
        let t = Tensor::f_from_data_size(v.data(), &shape, kind)
            .map_err(|e| CheckpointError::Tensor {
                path: path.to_path_buf(),
                name: name.clone(),
                why: e.to_string(),
            })?
            .to_device(device);
        out.push((name, t));
    }
    Ok((out, metadata))
}

/// Saves the model's VarStore with its config and `meta` (atomically, bit-exact).
pub fn save(
    path: &Path,
    config: &ModelConfig,
    vs: &nn::VarStore,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    save_config_json(path, &config.to_json(), vs, meta)
}

/// [`save`] for a model of either family.
pub fn save_net(
    path: &Path,
    net: &Net,
    vs: &nn::VarStore,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    save_config_json(path, &net.config_json(), vs, meta)
}

/// [`save`] with the config already serialised (either family).
pub fn save_config_json(
    path: &Path,
    config_json: &str,
    vs: &nn::VarStore,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let mut tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut md = BTreeMap::new();
    md.insert(KEY_FORMAT.to_string(), FORMAT.to_string());
    md.insert(KEY_CONFIG.to_string(), config_json.to_string());
    md.insert(
        KEY_META.to_string(),
        serde_json::to_string(meta).expect("CheckpointMeta serialises"),
    );
    save_tensors(path, &tensors, &md)
}

/// Copies `named` tensors into the VarStore variables of the same name (converting dtype, e.g.
/// f16/bf16 sources into an f32 store). Every variable must be given with its exact shape
/// (except those for which `may_be_missing` is true, which keep their value), and no other
/// tensor may be given; otherwise nothing is copied and all offenders are listed.
pub fn copy_into(
    path: &Path,
    vs: &nn::VarStore,
    named: &[(String, Tensor)],
    may_be_missing: impl Fn(&str) -> bool,
) -> Result<(), CheckpointError> {
    let vars = vs.variables();
    let given: HashMap<&str, &Tensor> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut missing: Vec<String> = vars
        .keys()
        .filter(|n| !given.contains_key(n.as_str()) && !may_be_missing(n))
        .cloned()
        .collect();
    let mut unexpected: Vec<String> = given
        .keys()
        .filter(|n| !vars.contains_key(**n))
        .map(|n| n.to_string())
        .collect();
    let mut shapes: Vec<String> = vars
        .iter()
        .filter_map(|(n, v)| {
            let t = given.get(n.as_str())?;
            (t.size() != v.size())
                .then(|| format!("{n}: file {:?} vs model {:?}", t.size(), v.size()))
        })
        .collect();
    missing.sort();
    unexpected.sort();
    shapes.sort();
    if !missing.is_empty() || !unexpected.is_empty() || !shapes.is_empty() {
        return Err(CheckpointError::Mismatch {
            path: path.to_path_buf(),
            missing,
            unexpected,
            shapes,
        });
    }
    tch::no_grad(|| {
        for (name, mut var) in vars {
            let Some(src) = given.get(name.as_str()) else {
                continue;
            };
            var.f_copy_(&src.to_kind(var.kind()).to_device(var.device()))
                .map_err(|e| CheckpointError::Tensor {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    why: e.to_string(),
                })?;
        }
        Ok(())
    })
}

/// Loads a checkpoint written by [`save`]: parses the config, builds the model on a fresh
/// VarStore on `device`, and copies every tensor in (names and shapes must match exactly).
pub fn load(path: &Path, device: Device) -> Result<Loaded, CheckpointError> {
    let buf = std::fs::read(path).map_err(io_err("reading", path))?;
    load_bytes(path, &buf, device)
}

/// [`load`] from bytes already read (`path` names them in errors); a student checkpoint is
/// an error (this reads the CLIP family only: see [`load_net_bytes`]).
pub fn load_bytes(path: &Path, buf: &[u8], device: Device) -> Result<Loaded, CheckpointError> {
    let l = load_net_bytes(path, buf, device)?;
    match l.net {
        Net::Clip(model) => Ok(Loaded {
            config: model.cfg.clone(),
            vs: l.vs,
            model,
            meta: l.meta,
        }),
        Net::Student(s) => Err(CheckpointError::Student {
            path: path.to_path_buf(),
            preset: s.cfg.preset.clone(),
        }),
    }
}

/// The `config` metadata of a checkpoint file, read from its header only (unverified: to
/// choose how to load it, not to trust it); `None` when it cannot be read.
pub fn peek_config_json(path: &Path) -> Option<String> {
    let buf = std::fs::read(path).ok()?;
    header_metadata(path, &buf).ok()?.remove(KEY_CONFIG)
}

/// A loaded checkpoint of either family: the model is built on `vs`.
#[derive(Debug)]
pub struct NetLoaded {
    pub vs: nn::VarStore,
    pub net: Net,
    pub meta: CheckpointMeta,
}

/// Loads a checkpoint of either family (CLIP/MoAE or student).
pub fn load_net(path: &Path, device: Device) -> Result<NetLoaded, CheckpointError> {
    let buf = std::fs::read(path).map_err(io_err("reading", path))?;
    load_net_bytes(path, &buf, device)
}

/// [`load_net`] from bytes already read. The format and config are checked before any tensor
/// is parsed or any model is allocated.
pub fn load_net_bytes(
    path: &Path,
    buf: &[u8],
    device: Device,
) -> Result<NetLoaded, CheckpointError> {
    let corrupt = |why: String| CheckpointError::Corrupt {
        path: path.to_path_buf(),
        why,
    };
    let md = header_metadata(path, buf)?;
    match md.get(KEY_FORMAT) {
        Some(f) if f == FORMAT => {}
        Some(f) if f == FORMAT_V1 => {
            return Err(corrupt(format!(
                "format `{FORMAT_V1}` checksummed the tensors only, not the config; re-create \
                 the checkpoint with this trainer (`trainer init`, `import-clip` or `train`)"
            )))
        }
        Some(f) => return Err(corrupt(format!("format `{f}` is not `{FORMAT}`"))),
        None => {
            return Err(corrupt(
                "no `format` metadata: not a moae checkpoint (for Hugging Face weights use \
                 `trainer import-clip`)"
                    .into(),
            ))
        }
    }
    if !md.contains_key(KEY_SHA) {
        return Err(corrupt(format!(
            "no `{KEY_SHA}` metadata: the file's integrity cannot be checked"
        )));
    }
    // The checksum (over config, metadata and tensors) before trusting the config.
    let (tensors, md) = parse_tensors(path, buf, device)?;
    let config_json = md
        .get(KEY_CONFIG)
        .ok_or_else(|| corrupt("no `config` metadata".into()))?;
    let config = NetConfig::from_json(config_json).map_err(|why| CheckpointError::Config {
        path: path.to_path_buf(),
        why,
    })?;
    let meta: CheckpointMeta = match md.get(KEY_META) {
        Some(m) => serde_json::from_str(m).map_err(|e| corrupt(format!("`meta` metadata: {e}")))?,
        None => CheckpointMeta::default(),
    };
    let vs = nn::VarStore::new(device);
    let net = config.build(&vs.root());
    copy_into(path, &vs, &tensors, |_| false)?;
    Ok(NetLoaded { vs, net, meta })
}
