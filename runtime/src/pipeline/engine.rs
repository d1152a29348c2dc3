//! The engine: a validated liveness model, the chosen execution provider, a pool of ORT
//! sessions (see [`crate::liveness`]) and, optionally, a face detector.
//!
//! **Concurrency.** A caller takes a pooled session for each ORT run (see
//! `crate::liveness::pool`). Preprocessing happens outside the pool, so even one session
//! overlaps callers' preprocessing with inference.
//!
//! **Memory.** Every session holds its own copy of the weights (plus ORT's arenas): peak
//! memory grows by about one model size per extra session (~350 MB for fp32 ViT-B/16). The
//! default `max_sessions` is therefore **1** — an edge device usually serves one camera
//! stream and ORT already spreads one run over the cores with its intra-op threads. Servers
//! with many streams raise it. To grow the pool, the engine keeps the model bytes (for
//! [`Engine::from_bytes`]) or re-reads the file and checks its SHA-256 (for
//! [`Engine::from_path`]); with `max_sessions == 1` nothing is kept. Many faces in one call
//! run in chunks of [`BOX_CHUNK`](crate::BOX_CHUNK), so a call's memory does not grow with its box count.
//!
//! **Fail closed.** A non-finite or out-of-range score is [`Error::Inference`], never a
//! decision: a NaN compared with the threshold would read as "live" (see `super::scoring`).

use super::options::EngineOptions;
use crate::error::{Error, Result};
use crate::face::FaceDetector;
use crate::image::resample::Normalize;
use crate::liveness::model_file::{hex, read_file, sha256, sha256_file};
use crate::liveness::pool::{ModelSource, SessionPool};
use crate::liveness::session::{self, ModelInput};
use crate::ort::provider::ExecutionProvider;
use crate::quality::QualityOptions;
use moae_onnx::meta::ModelMeta;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the engine loaded and how it runs.
#[derive(Clone, Debug)]
pub struct EngineInfo {
    /// The provider the sessions actually use.
    pub provider: ExecutionProvider,
    /// Why preferred providers were skipped (Fallback policy), e.g. "cuda: not built in".
    pub fallback_reason: Option<String>,
    pub input_size: u32,
    /// The decision threshold in use (the override, else the model's).
    pub threshold: f32,
    pub threshold_calibrated: bool,
    /// Hex SHA-256 of the model bytes.
    pub model_sha256: String,
    pub meta: ModelMeta,
    pub ort_library: PathBuf,
    pub ort_version: String,
    /// Fixed batch size of the model's input, if it is not dynamic.
    pub fixed_batch: Option<usize>,
    pub max_sessions: usize,
    /// Time to validate the model and create the first session.
    pub load_time: Duration,
}

/// Scores for one input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// P(attack), the model's `attack_score` output.
    pub attack_score: f32,
    /// P(live) = softmax(logits)[0].
    pub live_score: f32,
    pub logits: [f32; 2],
    /// The attack-type head's probabilities (live, physical, adversarial, digital; sum 1);
    /// `None` when the model has no such head.
    pub attack_type: Option<[f32; 4]>,
}

/// The verdict for one face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    pub attack_score: f32,
    pub live_score: f32,
    /// `attack_score >= threshold`.
    pub is_attack: bool,
    pub threshold: f32,
    pub provider: ExecutionProvider,
    /// Wall time of the whole call that produced it (preprocessing + inference; for a batch,
    /// the batch's time).
    pub latency: Duration,
    /// Probabilities of live, physical, adversarial and digital attack
    /// ([`moae_onnx::meta::ATTACK_TYPES`]), summing to 1; `None` when the model has no
    /// attack-type head ("not available", never zeros). The decision stays `attack_score`
    /// against the threshold.
    pub attack_type: Option<[f32; 4]>,
}

/// A loaded model ready for inference; `Send + Sync`, share it with `Arc`.
pub struct Engine {
    pub(super) info: EngineInfo,
    pub(super) crop_scale: f32,
    pub(super) norm: Normalize,
    pub(super) pool: SessionPool,
    pub(super) detector: Option<FaceDetector>,
    pub(super) quality: QualityOptions,
    pub(super) whole_frame: bool,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

impl Engine {
    /// Loads a model file.
    pub fn from_path(path: impl AsRef<Path>, opts: &EngineOptions) -> Result<Engine> {
        let path = path.as_ref();
        opts.validate()?;
        let keep = if opts.pool_size() > 1 {
            ModelSource::Path(path.to_path_buf())
        } else {
            ModelSource::None
        };
        if opts.model_sha256.is_some() {
            // A pinned model is hashed and loaded from the same bytes, so it cannot change
            // between the check and the load.
            let bytes = read_file(path)?;
            let len = bytes.len() as u64;
            return Engine::load(sha256(&bytes), len, ModelInput::Bytes(&bytes), keep, opts);
        }
        let (digest, len) = sha256_file(path)?;
        Engine::load(digest, len, ModelInput::File(path), keep, opts)
    }

    /// Loads a model from memory (e.g. decrypted by the app); pin it with `model_sha256`.
    pub fn from_bytes(bytes: &[u8], opts: &EngineOptions) -> Result<Engine> {
        opts.validate()?;
        let keep = if opts.pool_size() > 1 {
            ModelSource::Bytes(Arc::from(bytes))
        } else {
            ModelSource::None
        };
        let len = bytes.len() as u64;
        Engine::load(sha256(bytes), len, ModelInput::Bytes(bytes), keep, opts)
    }

    /// `digest` and `len` describe the model's bytes, however ORT will read them.
    fn load(
        digest: [u8; 32],
        len: u64,
        model: ModelInput<'_>,
        source: ModelSource,
        opts: &EngineOptions,
    ) -> Result<Engine> {
        let t0 = Instant::now();
        opts.validate()?;
        if let Some(pin) = opts.model_sha256 {
            if pin != digest {
                return Err(Error::ModelHash {
                    expected: hex(&pin),
                    actual: hex(&digest),
                });
            }
        }
        if len == 0 {
            return Err(Error::Model("the model is empty (0 bytes)".into()));
        }
        let sessions = opts.liveness_sessions();
        let loaded = sessions.ort.load()?;
        let (session, provider, fallback_reason) =
            session::first_session(&loaded.env, &sessions, model)?;
        let (meta, fixed_batch) = session::validate(&session)?;
        let norm = Normalize::new(meta.mean, meta.std);
        let info = EngineInfo {
            provider,
            fallback_reason,
            input_size: meta.input_size,
            threshold: opts.threshold.unwrap_or(meta.threshold),
            threshold_calibrated: opts.threshold.is_none() && meta.threshold_calibrated,
            model_sha256: hex(&digest),
            meta,
            ort_library: loaded.lib.path.clone(),
            ort_version: loaded.lib.version.clone(),
            fixed_batch,
            max_sessions: opts.pool_size(),
            load_time: t0.elapsed(),
        };
        let pool = SessionPool::new(
            session,
            source,
            loaded.env,
            &sessions,
            provider,
            info.model_sha256.clone(),
        );
        let detector = opts
            .face_detector
            .as_ref()
            .map(|m| FaceDetector::new(m, &opts.detector, &sessions.ort))
            .transpose()?;
        Ok(Engine {
            info,
            crop_scale: opts.crop_scale,
            norm,
            pool,
            detector,
            quality: opts.quality,
            whole_frame: opts.whole_frame,
        })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// Whether a face detector was loaded (`EngineOptions::face_detector`).
    pub fn has_face_detector(&self) -> bool {
        self.detector.is_some()
    }
}
