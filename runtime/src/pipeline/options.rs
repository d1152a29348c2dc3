//! What a caller can set on an engine, the documented limits, and their validation (run before
//! ONNX Runtime is loaded or touched).

use crate::error::{Error, Result};
use crate::face::{DetectorModel, DetectorOptions};
use crate::image::crop::DEFAULT_CROP_SCALE;
use crate::liveness::SessionOptions;
use crate::ort::provider::{CoreMlUnits, ExecutionProvider, ProviderPolicy};
use crate::ort::SessionSettings;
use crate::quality::QualityOptions;
use std::path::PathBuf;

/// Options for [`Engine`](crate::Engine); see each field.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Preference order; default `[Cpu]`.
    pub providers: Vec<ExecutionProvider>,
    /// Default `Fallback`.
    pub policy: ProviderPolicy,
    /// Threads ORT uses inside one run; 0 = ORT's default (one per physical core); at most
    /// [`MAX_INTRA_OP_THREADS`].
    pub intra_op_threads: usize,
    /// Most ORT sessions kept for concurrent callers; 0 = the default, 1 (see the engine's
    /// docs); at most [`MAX_SESSIONS`].
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
    /// Face box enlargement around its centre; default [`DEFAULT_CROP_SCALE`] (1.5), at most
    /// [`MAX_CROP_SCALE`](crate::image::crop::MAX_CROP_SCALE) (10).
    pub crop_scale: f32,
    /// Let ORT's idle pool threads spin-wait for work (ORT's own default) instead of blocking;
    /// default false: spinning saves microseconds per run but burns a core after every run
    /// (battery on phones).
    pub allow_spinning: bool,
    /// The face detector (BlazeFace ONNX, at most [`MAX_DETECTOR_BYTES`](crate::MAX_DETECTOR_BYTES));
    /// `None`: callers pass boxes, or set `whole_frame`. One detector session per engine:
    /// face detection is serialised per engine (threads calling `analyze` at once take turns
    /// for the small detector model, then score in parallel). No detector pool is
    /// kept: a one-camera device analyses one frame at a time; a server with several streams
    /// uses one engine per stream.
    pub face_detector: Option<DetectorModel>,
    pub detector: DetectorOptions,
    pub quality: QualityOptions,
    /// The whole image is the face (pre-cropped images such as data sets): a call without
    /// boxes scores the centre square. Default false: without boxes the detector decides, and
    /// no face is "no face", never a score of the centre.
    pub whole_frame: bool,
}

/// Default pool size (see the engine's docs for why 1).
pub const DEFAULT_MAX_SESSIONS: usize = 1;

/// Most intra-op threads. ONNX Runtime creates every thread up front (each with its own stack
/// and spin-waiting); 100 000 of them crashed the process inside ORT and a few hundred made a
/// run take minutes on 2 cores. 64 covers the largest single-socket servers.
pub const MAX_INTRA_OP_THREADS: usize = 64;

/// Most pooled sessions: each holds its own copy of the weights (~350 MB for ViT-B/16 fp32).
pub const MAX_SESSIONS: usize = 64;

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
            allow_spinning: false,
            face_detector: None,
            detector: DetectorOptions::default(),
            quality: QualityOptions::default(),
            whole_frame: false,
        }
    }
}

impl EngineOptions {
    /// Every range check, before anything is loaded.
    pub fn validate(&self) -> Result<()> {
        crate::image::crop::check_crop_scale(self.crop_scale)?;
        self.quality.validate()?;
        if let Some(t) = self.threshold {
            if !(t.is_finite() && (0.0..=1.0).contains(&t)) {
                return Err(Error::InvalidArgument(format!(
                    "threshold must be in [0, 1], got {t}"
                )));
            }
        }
        if self.intra_op_threads > MAX_INTRA_OP_THREADS {
            return Err(Error::InvalidArgument(format!(
                "intra_op_threads is {}: use 0 (ONNX Runtime's default) to {MAX_INTRA_OP_THREADS}",
                self.intra_op_threads
            )));
        }
        if self.max_sessions > MAX_SESSIONS {
            return Err(Error::InvalidArgument(format!(
                "max_sessions is {}: use 0 (the default, {DEFAULT_MAX_SESSIONS}) to {MAX_SESSIONS}",
                self.max_sessions
            )));
        }
        Ok(())
    }

    /// The ONNX Runtime settings every session of the engine shares (the face detector's too).
    pub fn session_settings(&self) -> SessionSettings {
        SessionSettings {
            library: self.ort_library_path.clone(),
            intra_op_threads: self.intra_op_threads,
            allow_spinning: self.allow_spinning,
        }
    }

    /// How the liveness model's sessions are built.
    pub(crate) fn liveness_sessions(&self) -> SessionOptions {
        SessionOptions {
            ort: self.session_settings(),
            providers: self.providers.clone(),
            policy: self.policy,
            tensorrt_cache_dir: self.tensorrt_cache_dir.clone(),
            tensorrt_fp16: self.tensorrt_fp16,
            coreml_units: self.coreml_units,
            pool_size: self.pool_size(),
        }
    }

    /// The pool size in use.
    pub(crate) fn pool_size(&self) -> usize {
        if self.max_sessions == 0 {
            DEFAULT_MAX_SESSIONS
        } else {
            self.max_sessions
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        assert!(EngineOptions::default().validate().is_ok());
        let o = EngineOptions {
            intra_op_threads: MAX_INTRA_OP_THREADS + 1,
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(Error::InvalidArgument(_))));
        let o = EngineOptions {
            max_sessions: MAX_SESSIONS + 1,
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(Error::InvalidArgument(_))));
        let o = EngineOptions {
            threshold: Some(f32::NAN),
            ..Default::default()
        };
        assert!(o.validate().is_err());
        let o = EngineOptions {
            quality: QualityOptions {
                min_brightness: 200.0,
                max_brightness: 100.0,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(Error::InvalidArgument(_))));
    }
}
