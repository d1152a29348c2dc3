//! Import of Hugging Face `CLIPModel` weights (`model.safetensors`) into a MoAE-CR model.
//!
//! Names are HF names on both sides, so the import is a shape-checked copy. The parameters the
//! file lacks must be exactly the expert modules (none for `clip`); non-persistent buffers that
//! some exports include (`*.position_ids`) are ignored and reported separately.

use crate::model::checkpoint::{self, CheckpointError, CheckpointMeta};
use crate::model::config::ModelConfig;
use crate::model::experts::is_expert_param;
use crate::model::prompts::PromptSet;
use crate::model::MoaeClip;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Tensor};

/// The HF weights file inside a model directory.
pub const HF_WEIGHTS: &str = "model.safetensors";

/// What an import did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportReport {
    /// Parameters copied from the file.
    pub loaded: usize,
    /// Parameters the file lacks (freshly initialised): exactly the expert modules.
    pub new_params: Vec<String>,
    /// Known buffers in the file that are not parameters (e.g. `*.position_ids`), ignored.
    pub ignored_buffers: Vec<String>,
}

/// A freshly imported model.
#[derive(Debug)]
pub struct Imported {
    pub vs: nn::VarStore,
    pub model: MoaeClip,
    pub report: ImportReport,
}

/// Whether a name is a known non-parameter buffer of HF CLIP.
pub fn is_known_buffer(name: &str) -> bool {
    name.ends_with(".position_ids")
}

/// Copies HF tensors `named` into the model's VarStore `vs` (dtype converted, shapes checked).
/// Errors (nothing copied) when a non-expert parameter is missing, a tensor is unexpected, or
/// a shape differs, listing every offender under `path`.
pub fn load_hf_tensors(
    path: &Path,
    vs: &nn::VarStore,
    named: Vec<(String, Tensor)>,
) -> Result<ImportReport, CheckpointError> {
    let vars = vs.variables();
    let (buffers, named): (Vec<_>, Vec<_>) = named
        .into_iter()
        .partition(|(n, _)| is_known_buffer(n) && !vars.contains_key(n));
    let given: HashMap<&str, &Tensor> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut new_params: Vec<String> = vars
        .keys()
        .filter(|n| !given.contains_key(n.as_str()) && is_expert_param(n))
        .cloned()
        .collect();
    new_params.sort();
    // Expert parameters keep their fresh initialisation; everything else must come from the file.
    checkpoint::copy_into(path, vs, &named, is_expert_param)?;
    let mut ignored_buffers: Vec<String> = buffers.into_iter().map(|(n, _)| n).collect();
    ignored_buffers.sort();
    Ok(ImportReport {
        loaded: named.len(),
        new_params,
        ignored_buffers,
    })
}

/// Reads `DIR/model.safetensors` and builds the model of `cfg` with the HF weights; the
/// expert modules keep their initialisation (MoAE's W_o = 0, so the result computes exactly
/// the HF CLIP).
pub fn import_clip(
    hf_dir: &Path,
    cfg: &ModelConfig,
    device: Device,
) -> Result<Imported, CheckpointError> {
    let path: PathBuf = hf_dir.join(HF_WEIGHTS);
    if !path.is_file() {
        return Err(CheckpointError::Io {
            op: "reading Hugging Face weights",
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no model.safetensors here (download openai/clip-vit-base-patch16 with its \
                 safetensors file; pytorch_model.bin is not supported)",
            ),
        });
    }
    cfg.validate().map_err(|e| CheckpointError::Config {
        path: path.clone(),
        why: e.to_string(),
    })?;
    let (named, _) = checkpoint::load_tensors(&path, Device::Cpu)?;
    let vs = nn::VarStore::new(device);
    let model = MoaeClip::new(&vs.root(), cfg);
    let report = load_hf_tensors(&path, &vs, named)?;
    Ok(Imported { vs, model, report })
}

/// Writes an imported model as a checkpoint with its prompts.
pub fn write_checkpoint(
    out: &Path,
    cfg: &ModelConfig,
    imported: &Imported,
    prompts: PromptSet,
) -> Result<(), CheckpointError> {
    let meta = CheckpointMeta {
        prompts: Some(prompts),
        step: Some(0),
        ..Default::default()
    };
    checkpoint::save(out, cfg, &imported.vs, &meta)
}
