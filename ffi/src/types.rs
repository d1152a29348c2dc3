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
    /// 0: walk the list and end at CPU (the reason is logged). Other values fail with
    /// MOAE_ERR_INVALID_ARGUMENT.
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
    /// 1: allow FP16 in TensorRT; 0: not. Other values fail with MOAE_ERR_INVALID_ARGUMENT.
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
    /// (Appended in 0.2.) Path of the face detector (BlazeFace ONNX,
    /// face_detection_front_128x128.onnx or face_detection_back_256x256.onnx), NUL-terminated;
    /// NULL = none. With a detector, `moae_analyze` without boxes finds the faces itself.
    /// At most one of `face_detector_path` and `face_detector_data` may be set.
    pub face_detector_path: *const c_char,
    /// The face detector's bytes instead of a path (copied during the create call); NULL = none.
    pub face_detector_data: *const u8,
    /// Bytes at `face_detector_data` (> 0 when it is set).
    pub face_detector_len: usize,
    /// Faces the detector scores below are dropped; < 0 = the default (0.5, MediaPipe's);
    /// NaN, infinities and values > 1 fail with MOAE_ERR_INVALID_ARGUMENT.
    pub detector_min_score: f32,
    /// 1: the whole image is the face (pre-cropped images such as data sets): a call without
    /// boxes scores the centre square. 0 (default): a call without boxes needs the face
    /// detector, and a frame without a face is "no face" (MOAE_QUALITY_NO_FACE), never a score.
    /// Other values fail with MOAE_ERR_INVALID_ARGUMENT.
    pub whole_frame: i32,
    /// The quality checks' limits (defaults from `moae_options_init`). The nested struct is
    /// frozen: later limits are appended after this field.
    pub quality: moae_quality_options,
}

/// Limits of the quality checks (one float per runtime `QualityOptions` field).
/// FROZEN: nested in `moae_options`, so it can never grow or change (that would move every
/// field after it); limits added later are appended to `moae_options` itself. A face that
/// fails one gets its `MOAE_QUALITY_*` flag and the decision MOAE_DECISION_UNSURE.
/// `moae_options_init` fills the runtime's documented defaults (`QualityOptions::default`).
/// Values are checked at create (finite, in range, min_brightness <= max_brightness; the
/// runtime's `QualityOptions::validate`): NaN, infinities, negative or out-of-range values fail
/// with MOAE_ERR_INVALID_ARGUMENT naming the field.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct moae_quality_options {
    /// Smallest face (longer box side, upright pixels) that is not MOAE_QUALITY_TOO_SMALL; at
    /// least MOAE_MIN_FACE_SIZE_PX (a lower value fails with MOAE_ERR_INVALID_ARGUMENT).
    pub min_face_px: f32,
    /// Largest share (0..1) of the face box outside the frame that is not PARTLY_OUTSIDE.
    pub max_outside_fraction: f32,
    /// Mean luma (0-255) of the face below which it is TOO_DARK.
    pub min_brightness: f32,
    /// Mean luma above which it is TOO_BRIGHT.
    pub max_brightness: f32,
    /// Share (0..1) of saturated face pixels above which it is TOO_BRIGHT.
    pub max_overexposed_fraction: f32,
    /// Variance of the Laplacian of the face crop below which it is BLURRED.
    pub min_sharpness: f32,
    /// Largest in-plane head roll, degrees (HEAD_ROLL beyond).
    pub max_roll_deg: f32,
    /// Largest head yaw from the keypoints, degrees (HEAD_YAW beyond).
    pub max_yaw_deg: f32,
    /// 1: several faces in a frame are allowed; 0 (default): they make every face
    /// MOAE_QUALITY_SEVERAL_FACES (unsure). Other values fail with MOAE_ERR_INVALID_ARGUMENT.
    pub allow_several_faces: i32,
}

/// One camera frame, described by the caller; libmoae reads it only during `moae_detect` /
/// `moae_analyze`.
///
/// `struct_size` must be at least MOAE_IMAGE_V1_SIZE (96: the version-1 struct, which ended
/// at `rotation`); larger is accepted and bytes past the known fields are ignored. `mirrored`
/// and `yuv_range` (0.2) are read only when `struct_size` covers both (>= 100): a version-1
/// struct of 96 bytes has padding there, never read, and means not mirrored, full range;
/// `yuv_matrix` (0.2) only when it covers it (>= 104), else BT.601. Packed formats use plane 0
/// only. `plane_sizes[i]` is the number of readable bytes at `planes[i]` (checked against
/// width, height and stride).
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
    /// (0.2) 1: the buffer is a left-right mirror image of the scene (a front camera's
    /// mirrored preview). The upright frame every box and result is in is
    /// rotate_cw(flip_left_right(buffer), rotation) - EXIF's order: (rotation, mirrored)
    /// (0,0)=1 (0,1)=2 (180,0)=3 (180,1)=4 (270,1)=5 (90,0)=6 (90,1)=7 (270,0)=8.
    /// 0: not mirrored. Other values fail with MOAE_ERR_INVALID_ARGUMENT.
    pub mirrored: i32,
    /// (0.2) A `moae_yuv_range` value (YUV formats only; ignored for RGB/gray); others fail
    /// with MOAE_ERR_INVALID_ARGUMENT.
    pub yuv_range: i32,
    /// (0.2) A `moae_yuv_matrix` value: the YCbCr matrix of YUV formats (ignored for
    /// RGB/gray); others fail with MOAE_ERR_INVALID_ARGUMENT. Read only when `struct_size`
    /// covers it; a smaller struct means BT.601.
    pub yuv_matrix: i32,
}

/// `moae_image.yuv_range`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_yuv_range {
    /// 0-255 (JFIF; Android camera NV21/YUV_420_888, iOS 420f). The default.
    MOAE_YUV_FULL = 0,
    /// 16-235 luma (video/studio range; iOS 420v, most video decoders).
    MOAE_YUV_LIMITED = 1,
}

/// `moae_image.yuv_matrix`: the YCbCr -> RGB matrix.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_yuv_matrix {
    /// ITU-R BT.601: Android camera frames, JPEG (JFIF), SD video. The default.
    MOAE_YUV_BT601 = 0,
    /// ITU-R BT.709: HD video; iOS HD capture (CVImageBufferYCbCrMatrix ITU_R_709_2).
    MOAE_YUV_BT709 = 1,
}

/// `moae_struct_size(kind)`: the structs whose size a caller without C's `sizeof` (ctypes,
/// cgo, JNA, Dart FFI) asks for.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_struct_kind {
    MOAE_STRUCT_OPTIONS = 0,
    MOAE_STRUCT_IMAGE = 1,
    MOAE_STRUCT_ENGINE_INFO = 2,
    MOAE_STRUCT_FACE = 3,
    MOAE_STRUCT_RESULT = 4,
    MOAE_STRUCT_BOX = 5,
    MOAE_STRUCT_BOX_INPUT = 6,
    MOAE_STRUCT_QUALITY_OPTIONS = 7,
    MOAE_STRUCT_QUALITY = 8,
}

/// `moae_box_input.space`: which image a caller's box is in.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_box_space {
    /// The upright, un-mirrored frame (after mirroring and rotation), as every result.
    MOAE_BOX_UPRIGHT = 0,
    /// The buffer as passed, before mirroring and rotation (e.g. MediaPipe on iOS).
    MOAE_BOX_RAW = 1,
}

/// `moae_box_input.units`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_box_units {
    MOAE_UNITS_PIXELS = 0,
    /// 0..1 of the width/height of the image named by the space (Vision-style, top-left origin).
    MOAE_UNITS_NORMALIZED = 1,
}

/// A caller's face box and how to read it (`moae_analyze`). Boxes whose upright width or
/// height is under MOAE_MIN_FACE_SIZE_PX fail with MOAE_ERR_INVALID_FACE_BOX (never scored).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct moae_box_input {
    pub rect: moae_box,
    /// A `moae_box_space` value; others fail with MOAE_ERR_INVALID_ARGUMENT.
    pub space: i32,
    /// A `moae_box_units` value; others fail with MOAE_ERR_INVALID_ARGUMENT.
    pub units: i32,
}

/// `moae_face.decision`.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_decision {
    /// attack_score < threshold and no quality flag.
    MOAE_DECISION_LIVE = 0,
    /// attack_score >= threshold and no quality flag.
    MOAE_DECISION_ATTACK = 1,
    /// A quality check failed (see quality_flags): the score is computed and returned, but
    /// not to be trusted; ask the user for a better frame.
    MOAE_DECISION_UNSURE = 2,
}

/// `moae_face.source`: where the face's box came from.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum moae_face_source {
    MOAE_FACE_SOURCE_DETECTOR = 0,
    MOAE_FACE_SOURCE_CALLER = 1,
    /// `moae_options.whole_frame`: the image is the face.
    MOAE_FACE_SOURCE_WHOLE_FRAME = 2,
}

/// Measured quality values of one face (a value that cannot be measured, such as yaw for a
/// caller's box without keypoints, is 0 and its check is skipped; never NaN).
/// FROZEN: nested in `moae_face`, so it can never grow or change (that would move every field
/// after it); values added later are appended to `moae_face` itself.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct moae_quality {
    /// Longer side of the face box, upright pixels.
    pub face_px: f32,
    /// Share of the face box outside the frame (0..1).
    pub outside_fraction: f32,
    /// Mean luma of the face (0-255).
    pub brightness: f32,
    /// Share of saturated face pixels (0..1).
    pub overexposed_fraction: f32,
    /// Variance of the Laplacian of the face crop.
    pub sharpness: f32,
    pub roll_deg: f32,
    pub yaw_deg: f32,
}

/// Everything about one face, written by `moae_analyze` into the caller's array.
///
/// Older callers with a smaller moae_face pass their sizeof as `face_struct_size`: only the
/// fields that fit in it are written, and the array's stride is `face_struct_size`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct moae_face {
    /// Upright, un-mirrored frame pixels.
    pub r#box: moae_box,
    /// The detector's 6 keypoints as x,y pairs in upright pixels, MediaPipe's order: right
    /// eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion (the
    /// subject's right). All 0 when `has_keypoints` is 0.
    pub keypoints: [f32; 12],
    /// 1 for detector faces, 0 for caller boxes and whole frames.
    pub has_keypoints: i32,
    /// A `moae_face_source` value.
    pub source: i32,
    /// The detector's confidence in [0, 1]; -1 for caller boxes and whole frames.
    pub detector_score: f32,
    /// P(attack) in [0, 1], always computed (also for unsure faces).
    pub attack_score: f32,
    /// 1 - attack_score.
    pub live_score: f32,
    pub threshold: f32,
    /// A `moae_decision` value.
    pub decision: i32,
    /// `MOAE_QUALITY_*` bits; any set bit makes the decision MOAE_DECISION_UNSURE.
    pub quality_flags: u32,
    /// Measured quality values. The nested struct is frozen: later values are appended to
    /// `moae_face`.
    pub quality: moae_quality,
    /// Wall time of the call that produced it, milliseconds.
    pub latency_ms: f32,
    /// 1 when the model has an attack-type head and `attack_type_probs` holds its output; 0
    /// when it has none ("not available": the probabilities are then all 0 and mean nothing).
    pub has_attack_type: i32,
    /// P(live), P(physical), P(adversarial), P(digital editing), summing to 1 when
    /// `has_attack_type` is 1. The decision stays `attack_score` against `threshold`.
    pub attack_type_probs: [f32; 4],
}

/// A face box in UPRIGHT (rotated, un-mirrored) frame coordinates, pixels (`moae_detect`;
/// `moae_analyze` takes `moae_box_input`, which may also be raw or normalised).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct moae_box {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// One decision, written into the caller's array by `moae_detect_sized`.
///
/// Older callers with a smaller moae_result pass their sizeof as `result_struct_size`: only
/// the fields that fit in it are written, and the array's stride is `result_struct_size`.
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
    /// 1 when the model has an attack-type head and `attack_type_probs` holds its output; 0
    /// when it has none ("not available": the probabilities are then all 0 and mean nothing).
    /// Written only by `moae_detect_sized` with a `result_struct_size` that holds it (the
    /// `moae_detect` macro passes `sizeof(moae_result)`).
    pub has_attack_type: i32,
    /// P(live), P(physical), P(adversarial), P(digital editing), summing to 1 when
    /// `has_attack_type` is 1. The decision stays `attack_score` against `threshold`.
    pub attack_type_probs: [f32; 4],
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
