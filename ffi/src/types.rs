//! The `#[repr(C)]` types of the ABI. Layouts are frozen: new fields are only ever appended,
//! and every input struct starts with `struct_size` so that older (smaller) callers keep working.

use std::os::raw::c_char;

/// Status of every fallible call. `MOAE_OK` is 0; every other value has a static message
/// (`moae_status_message`) and the failing thread gets a detail string (`moae_last_error`).
/// New codes may be appended in later minor versions: treat unknown non-zero codes as errors.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_status {
    MOAE_OK = 0,
    MOAE_ERR_NULL_ARGUMENT = 1,
    MOAE_ERR_INVALID_ARGUMENT = 2,
    MOAE_ERR_STRUCT_SIZE = 3,
    MOAE_ERR_ABI_VERSION = 4,
    MOAE_ERR_ORT_LIBRARY = 5,
    MOAE_ERR_PROVIDER_UNAVAILABLE = 6,
    MOAE_ERR_MODEL = 7,
    MOAE_ERR_MODEL_HASH = 8,
    MOAE_ERR_IO = 9,
    MOAE_ERR_INVALID_FRAME = 10,
    MOAE_ERR_INVALID_FACE_BOX = 11,
    MOAE_ERR_INFERENCE = 12,
    MOAE_ERR_BUFFER_TOO_SMALL = 13,
    MOAE_ERR_UNKNOWN_FORMAT = 14,
    MOAE_ERR_PANIC = 15,
    /// `moae_decode_image_file`: the file is not a decodable JPEG/PNG.
    MOAE_ERR_IMAGE_DECODE = 16,
}

/// Pixel layout of a `moae_image` (stored as `int32_t` so that unknown values are checked).
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_pixel_format {
    /// Packed, 3 bytes per pixel, plane 0.
    MOAE_PIXEL_RGB = 0,
    MOAE_PIXEL_BGR = 1,
    /// Packed, 4 bytes per pixel (alpha ignored), plane 0.
    MOAE_PIXEL_RGBA = 2,
    MOAE_PIXEL_BGRA = 3,
    /// Packed, 1 byte per pixel, plane 0.
    MOAE_PIXEL_GRAY = 4,
    /// Plane 0: Y; plane 1: interleaved V,U at half resolution (Android camera default).
    /// Plane 1 NULL: the whole frame is in plane 0, chroma right after the Y rows.
    MOAE_PIXEL_NV21 = 5,
    /// Plane 0: Y; plane 1: interleaved U,V at half resolution (iOS 420f/420v).
    /// Plane 1 NULL: as for NV21.
    MOAE_PIXEL_NV12 = 6,
    /// Planes 0, 1, 2: Y, U, V; chroma at half resolution. Planes 1 and 2 NULL: the whole
    /// frame is in plane 0 (Y, then U, then V).
    MOAE_PIXEL_I420 = 7,
}

/// Execution providers, in `moae_options.providers` and `moae_result.provider`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_provider {
    MOAE_PROVIDER_CPU = 0,
    MOAE_PROVIDER_CUDA = 1,
    MOAE_PROVIDER_TENSORRT = 2,
    MOAE_PROVIDER_COREML = 3,
}

/// `moae_options.coreml_compute_units`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_coreml_units {
    MOAE_COREML_ALL = 0,
    MOAE_COREML_CPU_ONLY = 1,
    MOAE_COREML_CPU_AND_GPU = 2,
    MOAE_COREML_CPU_AND_NEURAL_ENGINE = 3,
}

/// Levels passed to the log callback (smaller is more severe).
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum moae_log_level {
    MOAE_LOG_ERROR = 0,
    MOAE_LOG_WARN = 1,
    MOAE_LOG_INFO = 2,
    MOAE_LOG_DEBUG = 3,
    MOAE_LOG_TRACE = 4,
}

/// Engine options. Fill with `moae_options_init` first, then change fields.
///
/// `struct_size` is the caller's `sizeof(moae_options)`: an older, smaller struct is accepted
/// (only the fields that lie wholly inside `struct_size` bytes are read; the others keep their
/// defaults), and so is a larger one from a newer header (the bytes past the fields this
/// library knows are ignored). At least `struct_size` and `abi_version` (8 bytes) must be there.
/// libmoae reads the struct and the memory it points to only during the create call.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct moae_options {
    /// sizeof(moae_options) as the caller compiled it.
    pub struct_size: u32,
    /// MOAE_ABI_VERSION the caller was compiled with; a mismatch fails with MOAE_ERR_ABI_VERSION.
    pub abi_version: u32,
    /// `moae_provider` values in preference order; NULL/0 = CPU only.
    pub providers: *const i32,
    pub provider_count: usize,
    /// 1: fail (MOAE_ERR_PROVIDER_UNAVAILABLE) if the first provider is unavailable;
    /// 0: walk the list and end at CPU (the reason is logged).
    pub require_provider: i32,
    /// ONNX Runtime intra-op threads; 0 = ORT's default; at most MOAE_MAX_INTRA_OP_THREADS
    /// (more, or < 0: MOAE_ERR_INVALID_ARGUMENT before ONNX Runtime is touched).
    pub intra_op_threads: i32,
    /// Sessions kept for concurrent callers; 0 = the runtime's default (1); at most
    /// MOAE_MAX_SESSIONS.
    pub max_sessions: i32,
    /// Path of libonnxruntime; NULL = $ORT_DYLIB_PATH, then beside libmoae, then the system's.
    pub ort_library_path: *const c_char,
    /// NULL, or 32 bytes: the model's expected SHA-256 (mismatch: MOAE_ERR_MODEL_HASH).
    pub model_sha256: *const u8,
    /// TensorRT engine-cache directory; NULL = none.
    pub tensorrt_cache_dir: *const c_char,
    /// Non-zero: allow FP16 in TensorRT.
    pub tensorrt_fp16: i32,
    /// A `moae_coreml_units` value.
    pub coreml_compute_units: i32,
    /// Decision threshold on attack_score in [0, 1]; < 0 = the model's; NaN, infinities and
    /// values > 1 fail with MOAE_ERR_INVALID_ARGUMENT.
    pub threshold: f32,
    /// Face-box enlargement around its centre; <= 0 = the runtime's default (1.5); at most
    /// MOAE_MAX_CROP_SCALE; NaN, infinities and larger values fail with
    /// MOAE_ERR_INVALID_ARGUMENT.
    pub crop_scale: f32,
}

/// One camera frame, described by the caller; libmoae reads it only during `moae_detect`.
///
/// `struct_size` must be at least the size of this (version 1) struct; larger is accepted and
/// the extra bytes are ignored. Packed formats use plane 0 only. `plane_sizes[i]` is the number
/// of readable bytes at `planes[i]` (checked against width, height and stride).
/// `strides[i]` is the byte distance between rows; 0 = tightly packed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct moae_image {
    pub struct_size: u32,
    /// A `moae_pixel_format` value; others fail with MOAE_ERR_UNKNOWN_FORMAT.
    pub format: i32,
    pub width: u32,
    pub height: u32,
    pub planes: [*const u8; 3],
    pub plane_sizes: [usize; 3],
    pub strides: [usize; 3],
    /// 0, 90, 180 or 270: the clockwise rotation that makes the frame upright (any other
    /// value, -90 included, fails with MOAE_ERR_INVALID_ARGUMENT).
    pub rotation: i32,
}

/// A face box in UPRIGHT (rotated) frame coordinates, pixels.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct moae_box {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// One decision, written into the caller's array.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct moae_result {
    /// P(attack) in [0, 1], always finite (a non-finite model output is MOAE_ERR_INFERENCE,
    /// never a result).
    pub attack_score: f32,
    /// 1 - attack_score.
    pub live_score: f32,
    /// 1 when attack_score >= threshold.
    pub is_attack: i32,
    pub threshold: f32,
    /// The `moae_provider` that ran the model.
    pub provider: i32,
    /// Wall time of this detection (preprocessing + inference).
    pub latency_ms: f32,
}

/// Engine facts, written by `moae_engine_get_info`; set `struct_size` before the call
/// (only the fields that fit in it are written).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct moae_engine_info {
    pub struct_size: u32,
    /// The `moae_provider` actually in use (after any fallback).
    pub provider: i32,
    /// Square model input side in pixels.
    pub input_size: u32,
    pub threshold: f32,
    /// 1 when the threshold was calibrated on a dev set (the model's EER threshold).
    pub threshold_calibrated: i32,
    /// Hex SHA-256 of the model bytes, NUL-terminated.
    pub model_sha256: [c_char; 65],
    /// "fp32", "fp16" or "int8", NUL-terminated.
    pub precision: [c_char; 8],
    /// Version of the loaded ONNX Runtime, e.g. "1.22.0", NUL-terminated. (Appended in 0.1:
    /// written only when `struct_size` covers it.)
    pub ort_version: [c_char; 32],
    /// Path of the loaded libonnxruntime, NUL-terminated (cut at a character boundary to at
    /// most 1023 bytes).
    pub ort_library_path: [c_char; 1024],
    /// Why preferred providers were skipped (provider fallback), e.g. "cuda: ..."; "" when the
    /// first preference was used. NUL-terminated, cut to at most 511 bytes.
    pub fallback_reason: [c_char; 512],
}

/// Receives log messages; may be called from any thread, concurrently.
/// `message` is valid only during the call.
#[allow(non_camel_case_types)]
pub type moae_log_fn = Option<
    unsafe extern "C" fn(level: i32, message: *const c_char, user_data: *mut std::ffi::c_void),
>;
