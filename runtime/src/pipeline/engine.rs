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
//! run in chunks of [`BOX_CHUNK`], so a call's memory does not grow with its box count.
//!
//! **Fail closed.** A non-finite or out-of-range score is [`Error::Inference`], never a
//! decision: a NaN compared with the threshold would read as "live".

use super::options::EngineOptions;
use crate::error::{Error, Result};
use crate::face::FaceDetector;
use crate::image::crop::{self, FaceBox};
use crate::image::frame::Frame;
use crate::image::resample::Normalize;
use crate::liveness::model_file::{hex, read_file, sha256, sha256_file};
use crate::liveness::pool::{ModelSource, SessionPool};
use crate::liveness::session::{self, ModelInput};
use crate::liveness::{preprocess, BOX_CHUNK};
use crate::ort::provider::ExecutionProvider;
use crate::quality::QualityOptions;
use moae_onnx::meta::{self, ModelMeta};
use ort::session::Session;
use ort::value::TensorRef;
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
    info: EngineInfo,
    pub(super) crop_scale: f32,
    norm: Normalize,
    pool: SessionPool,
    pub(super) detector: Option<FaceDetector>,
    pub(super) quality: QualityOptions,
    pub(super) whole_frame: bool,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

/// How far a probability may stray outside [0, 1] from float rounding (int8/fp16 models)
/// before it is treated as a broken model rather than clamped.
const SCORE_SLACK: f32 = 1e-4;

/// Checks one input's attack-type probabilities: each a probability and together summing to 1
/// (a softmax), else a named inference error.
fn attack_type_probabilities(p: &[f32], i: usize, batch: usize) -> Result<[f32; 4]> {
    let mut out = [0.0f32; 4];
    for (o, &v) in out.iter_mut().zip(p) {
        *o = probability(meta::OUTPUT_ATTACK_TYPE, v, i, batch)?;
    }
    let sum: f32 = out.iter().sum();
    if (sum - 1.0).abs() > 1e-3 {
        return Err(Error::Inference(format!(
            "the model gave attack-type probabilities {out:?} for input {} of {batch}, summing \
             to {sum} instead of 1; no decision was made: the model is broken",
            i + 1
        )));
    }
    Ok(out)
}

/// Checks one model output: a finite probability, else a named inference error.
fn probability(name: &str, v: f32, i: usize, batch: usize) -> Result<f32> {
    if !v.is_finite() || !(-SCORE_SLACK..=1.0 + SCORE_SLACK).contains(&v) {
        return Err(Error::Inference(format!(
            "the model gave {name} = {v} for input {} of {batch} (expected a probability in \
             [0, 1]); no decision was made: the model or its metadata (mean/std) is broken",
            i + 1
        )));
    }
    Ok(v.clamp(0.0, 1.0))
}

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

    /// One detection per box (upright pixels; finite, positive, width and height each at least
    /// [`MIN_FACE_SIZE_PX`](crate::MIN_FACE_SIZE_PX), else [`Error::InvalidFaceBox`]), in order
    /// (run in chunks of [`BOX_CHUNK`]).
    /// `faces` empty: with the `whole_frame` option, the whole frame (centre square crop), one
    /// detection; without it an error — a frame without a box is never scored as if its centre
    /// were a face (use [`Engine::analyze`] to let the face detector find the faces).
    pub fn detect(&self, frame: &Frame<'_>, faces: &[FaceBox]) -> Result<Vec<Detection>> {
        let items: Vec<(Frame<'_>, Option<FaceBox>)> = if faces.is_empty() {
            vec![(*frame, None)]
        } else {
            faces.iter().map(|f| (*frame, Some(*f))).collect()
        };
        self.detect_batch(&items)
    }

    /// Several frames/faces, in ORT runs of at most [`BOX_CHUNK`] inputs each (so memory is
    /// bounded whatever the count; results are the same as one run's). A `None` face (the
    /// whole frame's centre square) needs the `whole_frame` option, as in [`Engine::detect`].
    /// Every box must pass the same checks as a caller's [`BoxInput`](crate::BoxInput) in
    /// upright pixels (finite, positive, width and height each at least
    /// [`MIN_FACE_SIZE_PX`](crate::MIN_FACE_SIZE_PX)).
    pub fn detect_batch(&self, items: &[(Frame<'_>, Option<FaceBox>)]) -> Result<Vec<Detection>> {
        self.detect_items(items, true)
    }

    /// [`Engine::detect_batch`]; `check_min`: apply the minimum face size (caller boxes), or
    /// not (the detector's faces, which quality flags instead).
    pub(crate) fn detect_items(
        &self,
        items: &[(Frame<'_>, Option<FaceBox>)],
        check_min: bool,
    ) -> Result<Vec<Detection>> {
        let t0 = Instant::now();
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // Every box is checked before any inference, so a bad box late in a long list costs
        // nothing.
        if !self.whole_frame && items.iter().any(|(_, f)| f.is_none()) {
            return Err(Error::InvalidArgument(
                "no face box: pass the face boxes, let the face detector find the faces \
                 (analyze), or set the whole_frame option for pre-cropped images"
                    .into(),
            ));
        }
        for (i, (frame, face)) in items.iter().enumerate() {
            let (uw, uh) = frame.upright_size();
            crop::upright_crop(uw, uh, *face, self.crop_scale)?;
            if let (true, Some(b)) = (check_min, face) {
                let what = format!("box {} of {}, upright pixels", i + 1, items.len());
                crate::image::geometry::check_upright_box(b, &what)?;
            }
        }
        let n = self.input_len();
        let mut pixels = vec![0.0f32; n * items.len().min(BOX_CHUNK)];
        let mut scores = Vec::with_capacity(items.len());
        for chunk in items.chunks(BOX_CHUNK) {
            let buf = &mut pixels[..n * chunk.len()];
            for ((frame, face), out) in chunk.iter().zip(buf.chunks_exact_mut(n)) {
                self.preprocess_into(frame, *face, out)?;
            }
            scores.extend(self.run_tensor(buf, chunk.len())?);
        }
        let latency = t0.elapsed();
        let thr = self.info.threshold;
        Ok(scores
            .into_iter()
            .map(|s| Detection {
                attack_score: s.attack_score,
                live_score: s.live_score,
                is_attack: s.attack_score >= thr,
                threshold: thr,
                provider: self.info.provider,
                latency,
                attack_type: s.attack_type,
            })
            .collect())
    }

    /// Elements of one model input, 3 * S * S.
    pub fn input_len(&self) -> usize {
        let s = self.info.input_size as usize;
        3 * s * s
    }

    /// The model input for one crop: `[3 * S * S]`, CHW, normalised.
    pub fn preprocess(&self, frame: &Frame<'_>, face: Option<FaceBox>) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; self.input_len()];
        self.preprocess_into(frame, face, &mut out)?;
        Ok(out)
    }

    /// As [`Engine::preprocess`], into a caller's buffer of [`Engine::input_len`] floats.
    pub fn preprocess_into(
        &self,
        frame: &Frame<'_>,
        face: Option<FaceBox>,
        out: &mut [f32],
    ) -> Result<()> {
        preprocess::preprocess_with(
            frame,
            face,
            self.crop_scale,
            self.info.input_size,
            &self.norm,
            out,
        )
    }

    /// Runs the model on an already preprocessed `[batch, 3, S, S]` tensor (one ORT run, or
    /// runs of the model's fixed batch size).
    pub fn run_tensor(&self, pixels: &[f32], batch: usize) -> Result<Vec<Scores>> {
        let n = self.input_len();
        if batch == 0 || Some(pixels.len()) != batch.checked_mul(n) {
            return Err(Error::InvalidArgument(format!(
                "run_tensor: {} floats is not batch {batch} x {n} (3 x {s} x {s}); batch must \
                 be positive",
                pixels.len(),
                s = self.info.input_size
            )));
        }
        match self.info.fixed_batch {
            None => self
                .pool
                .with_session(|sess| self.run_chunk(sess, pixels, batch)),
            Some(k) => {
                let mut all = Vec::with_capacity(batch);
                let mut padded = vec![0.0f32; k * n];
                for chunk in pixels.chunks(k * n) {
                    let m = chunk.len() / n;
                    padded[..chunk.len()].copy_from_slice(chunk);
                    padded[chunk.len()..].fill(0.0);
                    let mut got = self
                        .pool
                        .with_session(|sess| self.run_chunk(sess, &padded, k))?;
                    got.truncate(m);
                    all.extend(got);
                }
                Ok(all)
            }
        }
    }

    fn run_chunk(&self, sess: &mut Session, pixels: &[f32], batch: usize) -> Result<Vec<Scores>> {
        let s = self.info.input_size as usize;
        let input = TensorRef::from_array_view(([batch, 3, s, s], pixels))
            .map_err(|e| Error::Inference(format!("cannot wrap the input tensor: {e}")))?;
        let outputs = sess
            .run(ort::inputs![meta::INPUT_PIXELS => input])
            .map_err(|e| Error::Inference(e.to_string()))?;
        let get = |name: &str, per: usize| -> Result<Vec<f32>> {
            let v = outputs
                .get(name)
                .ok_or_else(|| Error::Inference(format!("the model produced no `{name}`")))?;
            let (_, data) = v
                .try_extract_tensor::<f32>()
                .map_err(|e| Error::Inference(format!("output `{name}`: {e}")))?;
            if data.len() != batch * per {
                return Err(Error::Inference(format!(
                    "output `{name}` has {} values, expected {batch} x {per}",
                    data.len()
                )));
            }
            Ok(data.to_vec())
        };
        let logits = get(meta::OUTPUT_LOGITS, 2)?;
        let attack = get(meta::OUTPUT_ATTACK_SCORE, 1)?;
        let types = if self.info.meta.attack_types.is_empty() {
            None
        } else {
            Some(get(meta::OUTPUT_ATTACK_TYPE, 4)?)
        };
        logits
            .chunks_exact(2)
            .zip(attack)
            .enumerate()
            .map(|(i, (l, a))| {
                let attack_type = match &types {
                    Some(t) => Some(attack_type_probabilities(&t[4 * i..4 * i + 4], i, batch)?),
                    None => None,
                };
                if !(l[0].is_finite() && l[1].is_finite()) {
                    return Err(Error::Inference(format!(
                        "the model gave non-finite logits [{}, {}] for input {} of {batch}; no \
                         decision was made: the model or its metadata (mean/std) is broken",
                        l[0],
                        l[1],
                        i + 1
                    )));
                }
                let (l0, l1) = (l[0] as f64, l[1] as f64);
                let live = 1.0 / (1.0 + (l1 - l0).exp());
                Ok(Scores {
                    attack_score: probability(meta::OUTPUT_ATTACK_SCORE, a, i, batch)?,
                    live_score: live as f32,
                    logits: [l[0], l[1]],
                    attack_type,
                })
            })
            .collect()
    }
}
