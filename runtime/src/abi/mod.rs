//! The numbers and rules the C ABI and the JNI bridge share: status codes and their
//! messages, pixel-format / provider / CoreML codes, rotation and mirroring, box space/units,
//! decision and face-source codes, the "not set" rules of thresholds, crop scale, counts and
//! the detector's score, the raw quality options, and the raw frame description -> [`Frame`]
//! conversion. Quality flag bits are [`crate::QualityFlags`]' `u32`.
//!
//! The C ABI (`moae-ffi`, header `include/moae.h`) and the JNI bridge (`moae-jni`) are thin
//! calls into this module, so the same bad input gets the same status number and the same
//! message in C, C++, Swift (over the C ABI) and Java. Java's `MoaeException.Status` and
//! Swift's `MoaeError.Status` are checked against [`Status::ALL`] by a test in `android/jni`.
//!
//! [`Frame`]: crate::Frame

mod codes;
mod engine_options;
mod face;
mod options;
mod raw_frame;
mod status;

pub use codes::{
    box_input, box_space, box_units, coreml_units, decision_code, face_source_code, flag,
    pixel_format, pixel_format_code, provider, provider_code, rotation, BOX_RAW, BOX_UPRIGHT,
    PIXEL_YUV_420_888, UNITS_NORMALIZED, UNITS_PIXELS,
};
pub use engine_options::{engine_options, quality_from_java, RawEngineOptions};
pub use face::{raw_attack_type, RawFace};
pub use options::{
    count, crop_scale, detector_min_score, quality_options, threshold, whole_frame,
    RawQualityOptions, MAX_BOXES, MAX_INTRA_OP_THREADS, MAX_PROVIDERS, MAX_SESSIONS,
};
pub use raw_frame::{frame, planes_used, RawFrame, YUV_BT601, YUV_BT709, YUV_FULL, YUV_LIMITED};
pub use status::{AbiError, AbiResult, Status};
