//! Building ORT sessions: the provider choice with its fallback, and the model's validation
//! against the contract in `moae_onnx::meta`.

use super::BOX_CHUNK;
use crate::error::{Error, Result};
use crate::ort::provider::{
    self, CoreMlUnits, ExecutionProvider, ProviderPolicy, ProviderSettings,
};
use crate::ort::{threaded_builder, SessionSettings};
use moae_onnx::meta::{self, ModelMeta};
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use std::path::{Path, PathBuf};

/// Largest fixed batch dimension accepted: every run pads to it, so it bounds a run's memory.
const MAX_FIXED_BATCH: i64 = 256;
/// The most input floats one ORT run may take (1 GiB): a model whose metadata claims a huge
/// input size, or a huge fixed batch, is refused at load instead of aborting the first detect
/// on an allocation of tens of GB. Real models are far below it (ViT-B/16: 16 × 3 × 224² = 2.4 M).
const MAX_RUN_INPUT_FLOATS: u64 = 1 << 28;

/// How the liveness model's sessions are built: the shared ORT settings, the providers in
/// preference order and the pool's size. The engine builds it from its options.
#[derive(Clone, Debug)]
pub(crate) struct SessionOptions {
    pub ort: SessionSettings,
    pub providers: Vec<ExecutionProvider>,
    pub policy: ProviderPolicy,
    pub tensorrt_cache_dir: Option<PathBuf>,
    pub tensorrt_fp16: bool,
    pub coreml_units: CoreMlUnits,
    /// Most sessions the pool keeps.
    pub pool_size: usize,
}

/// Where ONNX Runtime reads the model from for a session.
#[derive(Clone, Copy)]
pub(crate) enum ModelInput<'a> {
    Bytes(&'a [u8]),
    /// ORT reads the file itself: the engine never holds a second copy of the weights while
    /// the session is built (peak memory ≈ ORT's own, ~1.4× the file, instead of ~2.2×).
    File(&'a Path),
}

pub(crate) fn build_session(
    env: &ort::environment::Environment,
    opts: &SessionOptions,
    p: ExecutionProvider,
    model: ModelInput<'_>,
) -> std::result::Result<Session, String> {
    let b = threaded_builder(env, &opts.ort)?;
    let settings = ProviderSettings {
        tensorrt_cache_dir: opts.tensorrt_cache_dir.as_deref(),
        tensorrt_fp16: opts.tensorrt_fp16,
        coreml_units: opts.coreml_units,
    };
    let mut b = provider::register(p, b, &settings)?;
    match model {
        ModelInput::Bytes(bytes) => b.commit_from_memory(bytes).map_err(|e| e.to_string()),
        ModelInput::File(path) => b.commit_from_file(path).map_err(|e| e.to_string()),
    }
}

fn model_error(why: String) -> Error {
    Error::Model(format!(
        "ONNX Runtime cannot load it ({why}); is this a complete .onnx file from `trainer export`?"
    ))
}

/// The first session, on the provider the policy chooses, and why preferred ones were skipped.
pub(crate) fn first_session(
    env: &ort::environment::Environment,
    opts: &SessionOptions,
    bytes: ModelInput<'_>,
) -> Result<(Session, ExecutionProvider, Option<String>)> {
    let prefs = if opts.providers.is_empty() {
        vec![ExecutionProvider::Cpu]
    } else {
        opts.providers.clone()
    };
    let mut skipped = Vec::new();
    for (i, &p) in prefs.iter().enumerate() {
        match build_session(env, opts, p, bytes) {
            Ok(s) => {
                let reason = (!skipped.is_empty()).then(|| skipped.join("; "));
                return Ok((s, p, reason));
            }
            Err(why) if p == ExecutionProvider::Cpu => return Err(model_error(why)),
            Err(why) => {
                if i == 0 && opts.policy == ProviderPolicy::Require {
                    // Tell a bad model apart from a bad provider.
                    if let Err(cpu_why) = build_session(env, opts, ExecutionProvider::Cpu, bytes) {
                        return Err(model_error(cpu_why));
                    }
                    return Err(Error::ProviderUnavailable {
                        provider: p.to_string(),
                        reason: why,
                    });
                }
                skipped.push(format!("{p}: {why}"));
            }
        }
    }
    match build_session(env, opts, ExecutionProvider::Cpu, bytes) {
        Ok(s) => Ok((s, ExecutionProvider::Cpu, Some(skipped.join("; ")))),
        Err(why) => Err(model_error(why)),
    }
}

/// Normalisation constants and the threshold must give finite inputs and a real decision:
/// a NaN mean makes every score NaN, which would read as "live".
fn check_meta(m: &ModelMeta) -> Result<()> {
    let bad = |key: &str, v: String, want: &str| {
        Err(Error::Model(format!(
            "metadata `{key}` = {v} is out of range ({want}); re-export the model with \
             `trainer export`"
        )))
    };
    if m.mean.iter().any(|v| !v.is_finite() || v.abs() > 1e3) {
        return bad(
            meta::keys::MEAN,
            format!("{:?}", m.mean),
            "finite, |mean| <= 1000",
        );
    }
    if m.std
        .iter()
        .any(|v| !v.is_finite() || !(1e-6..=1e3).contains(v))
    {
        return bad(
            meta::keys::STD,
            format!("{:?}", m.std),
            "finite, in [1e-6, 1000]",
        );
    }
    if !(m.threshold.is_finite() && (0.0..=1.0).contains(&m.threshold)) {
        return bad(meta::keys::THRESHOLD, m.threshold.to_string(), "in [0, 1]");
    }
    if !(1..=4096).contains(&m.input_size) {
        return bad(meta::keys::INPUT_SIZE, m.input_size.to_string(), "1..=4096");
    }
    Ok(())
}

/// Checks the session's metadata and signature; returns the metadata and the input's fixed
/// batch size, if it has one.
pub(crate) fn validate(session: &Session) -> Result<(ModelMeta, Option<usize>)> {
    let md = session
        .metadata()
        .map_err(|e| Error::Model(format!("cannot read the model metadata: {e}")))?;
    let meta = ModelMeta::from_props(|k| md.custom(k)).map_err(|e| Error::Model(e.to_string()))?;
    check_meta(&meta)?;
    let s = meta.input_size as i64;
    let inputs = session.inputs();
    let input = inputs
        .iter()
        .find(|o| o.name() == meta::INPUT_PIXELS)
        .ok_or_else(|| {
            Error::Model(format!(
                "the model has no input `{}` (it has: {})",
                meta::INPUT_PIXELS,
                inputs
                    .iter()
                    .map(|o| o.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    if inputs.len() != 1 {
        return Err(Error::Model(format!(
            "the model has {} inputs; a libmoae model has exactly one, `{}`",
            inputs.len(),
            meta::INPUT_PIXELS
        )));
    }
    let fixed_batch = match input.dtype() {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } if shape.len() == 4
            && shape[0] <= MAX_FIXED_BATCH
            && shape[1] == 3
            && (shape[2] == s || shape[2] < 0)
            && (shape[3] == s || shape[3] < 0) =>
        {
            (shape[0] > 0).then_some(shape[0] as usize)
        }
        ValueType::Tensor { shape, .. } if shape.len() == 4 && shape[0] > MAX_FIXED_BATCH => {
            return Err(Error::Model(format!(
                "input `{}` has a fixed batch size of {}; at most {MAX_FIXED_BATCH} is supported \
                 (export with a dynamic batch)",
                meta::INPUT_PIXELS,
                shape[0]
            )))
        }
        other => {
            return Err(Error::Model(format!(
                "input `{}` is {other:?}; expected float32 [N, 3, {s}, {s}] \
                 (moae.input_size = {s})",
                meta::INPUT_PIXELS
            )))
        }
    };
    let per_run = fixed_batch.unwrap_or(1).max(BOX_CHUNK) as u64 * 3 * (s * s) as u64;
    if per_run > MAX_RUN_INPUT_FLOATS {
        return Err(Error::Model(format!(
            "one run of this model takes {per_run} input floats ({} × 3 × {s} × {s}); libmoae's \
             limit is {MAX_RUN_INPUT_FLOATS} (1 GiB): use a smaller input size or batch",
            fixed_batch.unwrap_or(1).max(BOX_CHUNK)
        )));
    }
    for name in [meta::OUTPUT_LOGITS, meta::OUTPUT_ATTACK_SCORE] {
        if !session.outputs().iter().any(|o| o.name() == name) {
            return Err(Error::Model(format!("the model has no output `{name}`")));
        }
    }
    check_attack_type_output(session, &meta)?;
    Ok((meta, fixed_batch))
}

/// A model whose metadata declares the attack-type classes must output `attack_type` as
/// float32 [N, classes]; a head of another width is refused at load, not misread per frame.
fn check_attack_type_output(session: &Session, meta: &ModelMeta) -> Result<()> {
    if meta.attack_types.is_empty() {
        return Ok(());
    }
    let want = meta.attack_types.len() as i64;
    let outputs = session.outputs();
    let out = outputs
        .iter()
        .find(|o| o.name() == meta::OUTPUT_ATTACK_TYPE)
        .ok_or_else(|| {
            Error::Model(format!(
                "the metadata declares {} attack types ({}) but the model has no output `{}`",
                want,
                meta.attack_types.join(","),
                meta::OUTPUT_ATTACK_TYPE
            ))
        })?;
    match out.dtype() {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } if shape.len() == 2 && shape[1] == want => Ok(()),
        other => Err(Error::Model(format!(
            "output `{}` is {other:?}; the metadata declares {want} attack types ({}), so it \
             must be float32 [N, {want}]: re-export the model",
            meta::OUTPUT_ATTACK_TYPE,
            meta.attack_types.join(",")
        ))),
    }
}
