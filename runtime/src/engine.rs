//! The engine: a validated model, the chosen execution provider and a pool of ORT sessions.
//!
//! **Concurrency.** ort's `Session::run` takes `&mut self`, so the engine keeps a pool of
//! sessions behind a mutex + condvar. A caller takes an idle session, or creates one if fewer
//! than `max_sessions` exist, or waits. Preprocessing happens outside the pool, so even one
//! session overlaps callers' preprocessing with inference.
//!
//! **Memory.** Every session holds its own copy of the weights (plus ORT's arenas): peak
//! memory grows by about one model size per extra session (~350 MB for fp32 ViT-B/16). The
//! default `max_sessions` is therefore **1** — an edge device usually serves one camera
//! stream and ORT already spreads one run over the cores with its intra-op threads. Servers
//! with many streams raise it. To grow the pool, the engine keeps the model bytes (for
//! [`Engine::from_bytes`]) or re-reads the file and checks its SHA-256 (for
//! [`Engine::from_path`]); with `max_sessions == 1` nothing is kept.

use crate::crop::{self, FaceBox, DEFAULT_CROP_SCALE};
use crate::error::{Error, Result};
use crate::frame::Frame;
use crate::ort_lib;
use crate::provider::{self, CoreMlUnits, ExecutionProvider, ProviderPolicy, ProviderSettings};
use crate::resample::{self, Normalize};
use moae_onnx::meta::{self, ModelMeta};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Options for [`Engine`]; see each field.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Preference order; default `[Cpu]`.
    pub providers: Vec<ExecutionProvider>,
    /// Default `Fallback`.
    pub policy: ProviderPolicy,
    /// Threads ORT uses inside one run; 0 = ORT's default (one per physical core).
    pub intra_op_threads: usize,
    /// Most ORT sessions kept for concurrent callers; 0 = the default, 1 (see module docs).
    pub max_sessions: usize,
    /// libonnxruntime to load; else `ORT_DYLIB_PATH`, else beside libmoae / the executable,
    /// else the system's.
    pub ort_library_path: Option<PathBuf>,
    /// SHA-256 of the model bytes; a mismatch is [`Error::ModelHash`].
    pub model_sha256: Option<[u8; 32]>,
    /// TensorRT engine and timing cache directory (enables the caches).
    pub tensorrt_cache_dir: Option<PathBuf>,
    pub tensorrt_fp16: bool,
    pub coreml_units: CoreMlUnits,
    /// Overrides the model's decision threshold on the attack score.
    pub threshold: Option<f32>,
    /// Face box enlargement around its centre; default [`DEFAULT_CROP_SCALE`] (1.5).
    pub crop_scale: f32,
}

/// Default pool size (see the module docs for why 1).
pub const DEFAULT_MAX_SESSIONS: usize = 1;

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            providers: vec![ExecutionProvider::Cpu],
            policy: ProviderPolicy::Fallback,
            intra_op_threads: 0,
            max_sessions: 0,
            ort_library_path: None,
            model_sha256: None,
            tensorrt_cache_dir: None,
            tensorrt_fp16: false,
            coreml_units: CoreMlUnits::All,
            threshold: None,
            crop_scale: DEFAULT_CROP_SCALE,
        }
    }
}

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
}

enum ModelSource {
    /// max_sessions == 1: the pool never grows.
    None,
    Bytes(Arc<[u8]>),
    Path(PathBuf),
}

struct PoolState {
    idle: Vec<Session>,
    total: usize,
}

struct Pool {
    state: Mutex<PoolState>,
    cv: Condvar,
    max: usize,
}

/// A loaded model ready for inference; `Send + Sync`, share it with `Arc`.
pub struct Engine {
    info: EngineInfo,
    opts: EngineOptions,
    norm: Normalize,
    source: ModelSource,
    env: ort::environment::Environment,
    pool: Pool,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 and length of a file, read in chunks (never the whole model in memory).
fn sha256_file(path: &Path) -> Result<([u8; 32], u64)> {
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((h.finalize().into(), len))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn check_options(opts: &EngineOptions) -> Result<()> {
    if !(opts.crop_scale.is_finite() && opts.crop_scale > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "crop_scale must be a positive number, got {}",
            opts.crop_scale
        )));
    }
    if let Some(t) = opts.threshold {
        if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
            return Err(Error::InvalidArgument(format!(
                "threshold must be in [0, 1], got {t}"
            )));
        }
    }
    Ok(())
}

/// Where ONNX Runtime reads the model from for a session.
#[derive(Clone, Copy)]
enum ModelInput<'a> {
    Bytes(&'a [u8]),
    /// ORT reads the file itself: the engine never holds a second copy of the weights while
    /// the session is built (peak memory ≈ ORT's own, ~1.4× the file, instead of ~2.2×).
    File(&'a Path),
}

fn build_session(
    env: &ort::environment::Environment,
    opts: &EngineOptions,
    p: ExecutionProvider,
    model: ModelInput<'_>,
) -> std::result::Result<Session, String> {
    let mut b = Session::builder(env).map_err(|e| e.to_string())?;
    if opts.intra_op_threads > 0 {
        b = b
            .with_intra_threads(opts.intra_op_threads)
            .map_err(|e| format!("setting {} intra-op threads: {e}", opts.intra_op_threads))?;
    }
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

/// Creates the first session, choosing the provider per the policy.
fn first_session(
    env: &ort::environment::Environment,
    opts: &EngineOptions,
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

/// Checks the session's metadata and signature against the contract in `moae_onnx::meta`.
fn validate(session: &Session) -> Result<(ModelMeta, Option<usize>)> {
    let md = session
        .metadata()
        .map_err(|e| Error::Model(format!("cannot read the model metadata: {e}")))?;
    let meta = ModelMeta::from_props(|k| md.custom(k)).map_err(|e| Error::Model(e.to_string()))?;
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
            && shape[1] == 3
            && (shape[2] == s || shape[2] < 0)
            && (shape[3] == s || shape[3] < 0) =>
        {
            (shape[0] > 0).then_some(shape[0] as usize)
        }
        other => {
            return Err(Error::Model(format!(
                "input `{}` is {other:?}; expected float32 [N, 3, {s}, {s}] \
                 (moae.input_size = {s})",
                meta::INPUT_PIXELS
            )))
        }
    };
    for name in [meta::OUTPUT_LOGITS, meta::OUTPUT_ATTACK_SCORE] {
        if !session.outputs().iter().any(|o| o.name() == name) {
            return Err(Error::Model(format!("the model has no output `{name}`")));
        }
    }
    Ok((meta, fixed_batch))
}

impl Engine {
    /// Loads a model file.
    pub fn from_path(path: impl AsRef<Path>, opts: &EngineOptions) -> Result<Engine> {
        let path = path.as_ref();
        let keep = if opts.max_sessions > 1 {
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
        let keep = if opts.max_sessions > 1 {
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
        check_options(opts)?;
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
        let loaded = ort_lib::ensure_loaded(opts.ort_library_path.as_deref())?;
        let (session, provider, fallback_reason) = first_session(&loaded.env, opts, model)?;
        let (meta, fixed_batch) = validate(&session)?;
        let max = if opts.max_sessions == 0 {
            DEFAULT_MAX_SESSIONS
        } else {
            opts.max_sessions
        };
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
            max_sessions: max,
            load_time: t0.elapsed(),
        };
        Ok(Engine {
            info,
            opts: opts.clone(),
            norm,
            source,
            env: loaded.env,
            pool: Pool {
                state: Mutex::new(PoolState {
                    idle: vec![session],
                    total: 1,
                }),
                cv: Condvar::new(),
                max,
            },
        })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// `faces` empty: the whole frame (centre square crop), one detection; else one detection
    /// per box, in order, all in one ORT run.
    pub fn detect(&self, frame: &Frame<'_>, faces: &[FaceBox]) -> Result<Vec<Detection>> {
        let items: Vec<(Frame<'_>, Option<FaceBox>)> = if faces.is_empty() {
            vec![(*frame, None)]
        } else {
            faces.iter().map(|f| (*frame, Some(*f))).collect()
        };
        self.detect_batch(&items)
    }

    /// Several frames/faces in one ORT run (chunked if the model has a fixed batch size).
    pub fn detect_batch(&self, items: &[(Frame<'_>, Option<FaceBox>)]) -> Result<Vec<Detection>> {
        let t0 = Instant::now();
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let n = self.input_len();
        let mut pixels = vec![0.0f32; n * items.len()];
        for ((frame, face), out) in items.iter().zip(pixels.chunks_exact_mut(n)) {
            self.preprocess_into(frame, *face, out)?;
        }
        let scores = self.run_tensor(&pixels, items.len())?;
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
        preprocess_with(
            frame,
            face,
            self.opts.crop_scale,
            self.info.input_size,
            &self.norm,
            out,
        )
    }

    /// Runs the model on an already preprocessed `[batch, 3, S, S]` tensor.
    pub fn run_tensor(&self, pixels: &[f32], batch: usize) -> Result<Vec<Scores>> {
        let n = self.input_len();
        if batch == 0 || pixels.len() != batch * n {
            return Err(Error::InvalidArgument(format!(
                "run_tensor: {} floats is not batch {batch} x {n} (3 x {s} x {s}); batch must                  be positive",
                pixels.len(),
                s = self.info.input_size
            )));
        }
        match self.info.fixed_batch {
            None => self.with_session(|sess| self.run_chunk(sess, pixels, batch)),
            Some(k) => {
                let mut all = Vec::with_capacity(batch);
                let mut padded = vec![0.0f32; k * n];
                for chunk in pixels.chunks(k * n) {
                    let m = chunk.len() / n;
                    padded[..chunk.len()].copy_from_slice(chunk);
                    padded[chunk.len()..].fill(0.0);
                    let mut got = self.with_session(|sess| self.run_chunk(sess, &padded, k))?;
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
        Ok(logits
            .chunks_exact(2)
            .zip(attack)
            .map(|(l, a)| {
                let (l0, l1) = (l[0] as f64, l[1] as f64);
                let live = 1.0 / (1.0 + (l1 - l0).exp());
                Scores {
                    attack_score: a,
                    live_score: live as f32,
                    logits: [l[0], l[1]],
                }
            })
            .collect())
    }

    /// Takes an idle session, creates one if the pool may grow, or waits for one.
    fn acquire(&self) -> Result<Session> {
        let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = st.idle.pop() {
                return Ok(s);
            }
            if st.total < self.pool.max {
                st.total += 1;
                drop(st);
                return self.new_session().inspect_err(|_| {
                    let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.total -= 1;
                    self.pool.cv.notify_one();
                });
            }
            st = self.pool.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Runs `f` with exclusive use of a pooled session (see the module docs).
    fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> Result<R>) -> Result<R> {
        let session = self.acquire()?;
        // Return the session even if `f` panics.
        struct Back<'a> {
            pool: &'a Pool,
            s: Option<Session>,
        }
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                if let Some(s) = self.s.take() {
                    let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.idle.push(s);
                    self.pool.cv.notify_one();
                }
            }
        }
        let mut back = Back {
            pool: &self.pool,
            s: Some(session),
        };
        f(back.s.as_mut().expect("the session was just put there"))
    }

    fn new_session(&self) -> Result<Session> {
        let owned;
        let bytes: &[u8] = match &self.source {
            ModelSource::None => {
                return Err(Error::Inference("the session pool cannot grow".into()));
            }
            ModelSource::Bytes(b) => b,
            ModelSource::Path(p) => {
                owned = read_file(p)?;
                let actual = hex(&sha256(&owned));
                if actual != self.info.model_sha256 {
                    return Err(Error::ModelHash {
                        expected: self.info.model_sha256.clone(),
                        actual,
                    });
                }
                &owned
            }
        };
        build_session(
            &self.env,
            &self.opts,
            self.info.provider,
            ModelInput::Bytes(bytes),
        )
        .map_err(|e| {
            Error::Inference(format!(
                "creating another {} session failed: {e}",
                self.info.provider
            ))
        })
    }
}

/// The preprocessing used by [`Engine::preprocess`], without an engine or ONNX Runtime: crop (see
/// [`crate::crop`]) and resample (see [`crate::resample`]) `frame` into `out`
/// (`3 * size * size` floats, CHW, `(rgb / 255 - mean) / std`).
#[allow(clippy::too_many_arguments)]
pub fn preprocess_into(
    frame: &Frame<'_>,
    face: Option<FaceBox>,
    crop_scale: f32,
    size: u32,
    mean: [f32; 3],
    std: [f32; 3],
    out: &mut [f32],
) -> Result<()> {
    preprocess_with(
        frame,
        face,
        crop_scale,
        size,
        &Normalize::new(mean, std),
        out,
    )
}

fn preprocess_with(
    frame: &Frame<'_>,
    face: Option<FaceBox>,
    crop_scale: f32,
    size: u32,
    norm: &Normalize,
    out: &mut [f32],
) -> Result<()> {
    let s = size as usize;
    if out.len() != 3 * s * s {
        return Err(Error::InvalidArgument(format!(
            "output buffer has {} floats, need 3 x {size} x {size}",
            out.len()
        )));
    }
    if !(crop_scale.is_finite() && crop_scale > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "crop_scale must be a positive number, got {crop_scale}"
        )));
    }
    let (uw, uh) = frame.upright_size();
    let sq = crop::upright_crop(uw, uh, face, crop_scale)?;
    let src = crop::to_source(sq, frame.rotation, frame.width, frame.height);
    resample::resample_into(frame, src, s, norm, out);
    Ok(())
}
