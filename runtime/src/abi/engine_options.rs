//! Engine options assembled once for every binding: the C ABI and the JNI bridge read their
//! caller's strings, arrays and face detector into a [`RawEngineOptions`], and
//! [`engine_options`] applies the shared "not set" rules, checks and defaults in one order, so
//! the same options give the same engine (or the same error) in C, C++, Swift and Java.

use super::codes::{coreml_units, flag};
use super::options::{count, crop_scale, detector_min_score, quality_options, threshold};
use super::options::{whole_frame, RawQualityOptions};
use super::status::AbiError;
use crate::face::DetectorModel;
use crate::ort::provider::{ExecutionProvider, ProviderPolicy};
use crate::pipeline::EngineOptions;
use std::path::PathBuf;

/// An engine's options as a binding received them: text, arrays and hashes already read into
/// Rust values; numbers and 0/1 flags still in the shared raw conventions (negative threshold
/// or detector score = not set, crop scale <= 0 = not set, counts 0 = default).
#[derive(Clone, Debug, PartialEq)]
pub struct RawEngineOptions {
    /// Preference order; empty = the default (`[Cpu]`).
    pub providers: Vec<ExecutionProvider>,
    pub require_provider: i32,
    pub intra_op_threads: i64,
    pub max_sessions: i64,
    pub ort_library_path: Option<PathBuf>,
    pub model_sha256: Option<[u8; 32]>,
    pub tensorrt_cache_dir: Option<PathBuf>,
    pub tensorrt_fp16: i32,
    /// A `moae_coreml_units` code.
    pub coreml_compute_units: i32,
    pub threshold: f32,
    pub crop_scale: f32,
    pub detector_min_score: f32,
    pub whole_frame: i32,
    pub quality: RawQualityOptions,
}

impl Default for RawEngineOptions {
    /// What `moae_options_init` writes: every option not set.
    fn default() -> Self {
        RawEngineOptions {
            providers: Vec::new(),
            require_provider: 0,
            intra_op_threads: 0,
            max_sessions: 0,
            ort_library_path: None,
            model_sha256: None,
            tensorrt_cache_dir: None,
            tensorrt_fp16: 0,
            coreml_compute_units: 0,
            threshold: -1.0,
            crop_scale: 0.0,
            detector_min_score: -1.0,
            whole_frame: 0,
            quality: RawQualityOptions::default(),
        }
    }
}

/// The options' checks and defaults, in one order for every binding; `face_detector` reads
/// the caller's detector (a path or bytes) when its turn comes, so a binding's own detector
/// errors keep their place in that order. The result is validated
/// ([`EngineOptions::validate`]) before anything is loaded.
pub fn engine_options<E>(
    raw: &RawEngineOptions,
    face_detector: impl FnOnce() -> Result<Option<DetectorModel>, E>,
) -> Result<EngineOptions, E>
where
    E: From<AbiError> + From<crate::Error>,
{
    let mut out = EngineOptions::default();
    if !raw.providers.is_empty() {
        out.providers = raw.providers.clone();
    }
    out.policy = if flag("require_provider", raw.require_provider)? {
        ProviderPolicy::Require
    } else {
        ProviderPolicy::Fallback
    };
    out.intra_op_threads = count("intra_op_threads", raw.intra_op_threads)?;
    out.max_sessions = count("max_sessions", raw.max_sessions)?;
    out.ort_library_path = raw.ort_library_path.clone();
    out.model_sha256 = raw.model_sha256;
    out.tensorrt_cache_dir = raw.tensorrt_cache_dir.clone();
    out.tensorrt_fp16 = flag("tensorrt_fp16", raw.tensorrt_fp16)?;
    out.coreml_units = coreml_units(raw.coreml_compute_units)?;
    out.threshold = threshold(raw.threshold)?;
    if let Some(scale) = crop_scale(raw.crop_scale)? {
        out.crop_scale = scale;
    }
    out.face_detector = face_detector()?;
    if let Some(s) = detector_min_score(raw.detector_min_score)? {
        out.detector.min_score = s;
    }
    out.whole_frame = whole_frame(raw.whole_frame)?;
    out.quality = quality_options(&raw.quality)?;
    // The documented limits (threads, sessions), checked here too so that the caller learns
    // of them before anything is loaded.
    out.validate()?;
    Ok(out)
}

/// Java's `QualityLimits.pack()` (one float per limit in [`RawQualityOptions`]' order, -1 =
/// not set, i.e. the runtime's default) and its allow-several-faces switch.
pub fn quality_from_java(values: [f32; 8], allow_several_faces: bool) -> RawQualityOptions {
    const NOT_SET: f32 = -1.0;
    let d = RawQualityOptions::default();
    let set = |v: f32, default: f32| if v == NOT_SET { default } else { v };
    RawQualityOptions {
        min_face_px: set(values[0], d.min_face_px),
        max_outside_fraction: set(values[1], d.max_outside_fraction),
        min_brightness: set(values[2], d.min_brightness),
        max_brightness: set(values[3], d.max_brightness),
        max_overexposed_fraction: set(values[4], d.max_overexposed_fraction),
        min_sharpness: set(values[5], d.min_sharpness),
        max_roll_deg: set(values[6], d.max_roll_deg),
        max_yaw_deg: set(values[7], d.max_yaw_deg),
        allow_several_faces: i32::from(allow_several_faces),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Status;
    use crate::quality::QualityOptions;

    fn assemble(raw: &RawEngineOptions) -> Result<EngineOptions, AbiError> {
        engine_options(raw, || Ok::<_, AbiError>(None))
    }

    #[test]
    fn not_set_gives_the_runtime_defaults() {
        let o = assemble(&RawEngineOptions::default()).unwrap();
        let d = EngineOptions::default();
        assert_eq!(o.providers, d.providers);
        assert_eq!(o.policy, d.policy);
        assert_eq!((o.threshold, o.crop_scale), (None, d.crop_scale));
        assert_eq!(o.detector.min_score, d.detector.min_score);
        assert_eq!(o.quality, QualityOptions::default());
        assert!(!o.whole_frame && !o.tensorrt_fp16);
    }

    #[test]
    fn values_are_taken_and_bad_ones_refused_in_order() {
        let raw = RawEngineOptions {
            providers: vec![ExecutionProvider::Cpu],
            require_provider: 1,
            intra_op_threads: 2,
            threshold: 0.3,
            crop_scale: 2.0,
            detector_min_score: 0.6,
            whole_frame: 1,
            ..Default::default()
        };
        let o = assemble(&raw).unwrap();
        assert_eq!(o.policy, ProviderPolicy::Require);
        assert_eq!((o.intra_op_threads, o.threshold), (2, Some(0.3)));
        assert_eq!((o.crop_scale, o.detector.min_score), (2.0, 0.6));
        assert!(o.whole_frame);
        // Threads are checked before the threshold: the first bad option is the one reported.
        let bad = RawEngineOptions {
            intra_op_threads: -1,
            threshold: f32::NAN,
            ..Default::default()
        };
        let e = assemble(&bad).unwrap_err();
        assert!(e.detail.contains("intra_op_threads"), "{e:?}");
        let bad = RawEngineOptions {
            tensorrt_fp16: 2,
            ..Default::default()
        };
        assert_eq!(assemble(&bad).unwrap_err().status, Status::InvalidArgument);
        let bad = RawEngineOptions {
            max_sessions: 1000,
            ..Default::default()
        };
        assert!(assemble(&bad).is_err());
        // The detector's own error comes after the crop scale's and before the score's.
        let bad = RawEngineOptions {
            crop_scale: f32::NAN,
            ..Default::default()
        };
        let e = engine_options(&bad, || Err(AbiError::invalid("detector")));
        assert!(e.unwrap_err().detail.contains("crop_scale"));
        let bad = RawEngineOptions {
            detector_min_score: f32::NAN,
            ..Default::default()
        };
        let e = engine_options(&bad, || Err(AbiError::invalid("detector")));
        assert_eq!(e.unwrap_err().detail, "detector");
    }

    #[test]
    fn java_minus_one_means_the_default() {
        let d = RawQualityOptions::default();
        assert_eq!(quality_from_java([-1.0; 8], false), d);
        let q = quality_from_java([40.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 12.0], true);
        assert_eq!((q.min_face_px, q.max_yaw_deg), (40.0, 12.0));
        assert_eq!(q.max_outside_fraction, d.max_outside_fraction);
        assert_eq!(q.allow_several_faces, 1);
        // Only exactly -1 is "not set": another negative value reaches the checks.
        let q = quality_from_java([-2.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0], false);
        assert!(quality_options(&q).is_err());
    }
}
