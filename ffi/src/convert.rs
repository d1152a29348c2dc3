//! C structs <-> runtime values: options, images and boxes read with every pointer and range
//! checked; faces and defaults written back in their C form.

use crate::ptr::{opt_c_str, try_slice};
use crate::sized::read_sized;
use crate::status::{FfiError, FfiResult};
use crate::types::moae_status::*;
use crate::types::*;
use crate::{field_ends, field_spans};
use moae_runtime::abi::{self, RawFrame};
use moae_runtime::MAX_DETECTOR_BYTES;
use moae_runtime::{
    BoxInput, Detection, DetectorModel, EngineOptions, ExecutionProvider, FaceBox, FaceResult,
    Frame, QualityOptions,
};
use std::ffi::OsStr;
use std::os::raw::c_char;
use std::path::PathBuf;

pub const ABI_VERSION: u32 = crate::MOAE_ABI_VERSION;

pub const OPTIONS_ENDS: [usize; 20] = field_ends!(moae_options;
    struct_size: u32, abi_version: u32, providers: *const i32, provider_count: usize,
    require_provider: i32, intra_op_threads: i32, max_sessions: i32,
    ort_library_path: *const c_char, model_sha256: *const u8, tensorrt_cache_dir: *const c_char,
    tensorrt_fp16: i32, coreml_compute_units: i32, threshold: f32, crop_scale: f32,
    face_detector_path: *const c_char, face_detector_data: *const u8, face_detector_len: usize,
    detector_min_score: f32, whole_frame: i32, quality: moae_quality_options);

/// Where each `moae_options` field lies (for the sized init, which writes fields, not padding).
pub const OPTIONS_SPANS: [(usize, usize); 20] = field_spans!(moae_options;
    struct_size: u32, abi_version: u32, providers: *const i32, provider_count: usize,
    require_provider: i32, intra_op_threads: i32, max_sessions: i32,
    ort_library_path: *const c_char, model_sha256: *const u8, tensorrt_cache_dir: *const c_char,
    tensorrt_fp16: i32, coreml_compute_units: i32, threshold: f32, crop_scale: f32,
    face_detector_path: *const c_char, face_detector_data: *const u8, face_detector_len: usize,
    detector_min_score: f32, whole_frame: i32, quality: moae_quality_options);

/// Where each `moae_image` field lies.
pub const IMAGE_SPANS: [(usize, usize); 11] = field_spans!(moae_image;
    struct_size: u32, format: i32, width: u32, height: u32, planes: [*const u8; 3],
    plane_sizes: [usize; 3], strides: [usize; 3], rotation: i32, mirrored: i32,
    yuv_range: i32, yuv_matrix: i32);

/// The version-1 fields, then `mirrored` and `yuv_range`: a version-1 `moae_image` is 96 bytes
/// because of padding after `rotation`, where `mirrored` now lies. So that those padding bytes
/// are never read as `mirrored`, both 0.2 fields count as ending where `yuv_range` ends: they
/// are read only from a struct of at least that size.
pub const IMAGE_ENDS: [usize; 11] = {
    let e = field_ends!(moae_image;
        struct_size: u32, format: i32, width: u32, height: u32, planes: [*const u8; 3],
        plane_sizes: [usize; 3], strides: [usize; 3], rotation: i32, mirrored: i32,
        yuv_range: i32, yuv_matrix: i32);
    [
        e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[9], e[9], e[10],
    ]
};

/// Size of the version-1 `moae_image` (libmoae 0.1, which ended at `rotation`; the smallest
/// accepted).
pub const MOAE_IMAGE_V1_SIZE: usize = 96;

pub const FACE_ENDS: [usize; 14] = field_ends!(moae_face;
    r#box: moae_box, keypoints: [f32; 12], has_keypoints: i32, source: i32, detector_score: f32,
    attack_score: f32, live_score: f32, threshold: f32, decision: i32, quality_flags: u32,
    quality: moae_quality, latency_ms: f32, has_attack_type: i32, attack_type_probs: [f32; 4]);

pub const RESULT_ENDS: [usize; 8] = field_ends!(moae_result;
    attack_score: f32, live_score: f32, is_attack: i32, threshold: f32, provider: i32,
    latency_ms: f32, has_attack_type: i32, attack_type_probs: [f32; 4]);

/// Size of the version-1 `moae_result` (libmoae 0.1 and 0.2, ending at `latency_ms`): what
/// the exported `moae_detect` symbol writes per element, the smallest `result_struct_size`.
pub const MOAE_RESULT_V1_SIZE: usize = 24;

pub const INFO_ENDS: [usize; 10] = field_ends!(moae_engine_info;
    struct_size: u32, provider: i32, input_size: u32, threshold: f32,
    threshold_calibrated: i32, model_sha256: [c_char; 65], precision: [c_char; 8],
    ort_version: [c_char; 32], ort_library_path: [c_char; 1024], fallback_reason: [c_char; 512]);

/// The smallest options struct accepted: `struct_size` + `abi_version`.
pub const OPTIONS_MIN_SIZE: usize = OPTIONS_ENDS[1];

pub fn default_options() -> moae_options {
    moae_options {
        struct_size: std::mem::size_of::<moae_options>() as u32,
        abi_version: ABI_VERSION,
        providers: std::ptr::null(),
        provider_count: 0,
        require_provider: 0,
        intra_op_threads: 0,
        max_sessions: 0,
        ort_library_path: std::ptr::null(),
        model_sha256: std::ptr::null(),
        tensorrt_cache_dir: std::ptr::null(),
        tensorrt_fp16: 0,
        coreml_compute_units: moae_coreml_units::MOAE_COREML_ALL as i32,
        threshold: -1.0,
        crop_scale: 0.0,
        face_detector_path: std::ptr::null(),
        face_detector_data: std::ptr::null(),
        face_detector_len: 0,
        detector_min_score: -1.0,
        whole_frame: 0,
        quality: quality_to_c(&QualityOptions::default()),
    }
}

pub fn quality_to_c(q: &QualityOptions) -> moae_quality_options {
    let r = abi::RawQualityOptions::from(*q);
    moae_quality_options {
        min_face_px: r.min_face_px,
        max_outside_fraction: r.max_outside_fraction,
        min_brightness: r.min_brightness,
        max_brightness: r.max_brightness,
        max_overexposed_fraction: r.max_overexposed_fraction,
        min_sharpness: r.min_sharpness,
        max_roll_deg: r.max_roll_deg,
        max_yaw_deg: r.max_yaw_deg,
        allow_several_faces: r.allow_several_faces,
    }
}

fn raw_quality(q: &moae_quality_options) -> abi::RawQualityOptions {
    abi::RawQualityOptions {
        min_face_px: q.min_face_px,
        max_outside_fraction: q.max_outside_fraction,
        min_brightness: q.min_brightness,
        max_brightness: q.max_brightness,
        max_overexposed_fraction: q.max_overexposed_fraction,
        min_sharpness: q.min_sharpness,
        max_roll_deg: q.max_roll_deg,
        max_yaw_deg: q.max_yaw_deg,
        allow_several_faces: q.allow_several_faces,
    }
}

/// The face detector of the options: a path or bytes, not both.
///
/// # Safety
/// A non-NULL `face_detector_path` is NUL-terminated; a non-NULL `face_detector_data` points
/// to `face_detector_len` readable bytes.
unsafe fn face_detector(o: &moae_options) -> FfiResult<Option<DetectorModel>> {
    let data = !o.face_detector_data.is_null();
    if !o.face_detector_path.is_null() && data {
        return Err(FfiError::invalid(
            "both moae_options.face_detector_path and face_detector_data are set: set one",
        ));
    }
    // SAFETY: NULL or NUL-terminated (the caller's promise).
    if let Some(p) = unsafe { path_arg(o.face_detector_path) } {
        if p.as_os_str().is_empty() {
            return Err(FfiError::invalid(
                "moae_options.face_detector_path is \"\": pass the detector's path, or NULL",
            ));
        }
        return Ok(Some(DetectorModel::Path(p)));
    }
    if data {
        if o.face_detector_len == 0 {
            return Err(FfiError::invalid(
                "moae_options.face_detector_len is 0 with face_detector_data set: pass the \
                 detector's size in bytes",
            ));
        }
        // The runtime refuses a larger detector anyway; check before copying, so that a bad
        // length is an error, not a read of that many bytes.
        if o.face_detector_len as u64 > MAX_DETECTOR_BYTES {
            return Err(FfiError::invalid(format!(
                "moae_options.face_detector_len is {} bytes: over the face detector's limit of \
                 {MAX_DETECTOR_BYTES} bytes (BlazeFace is well under 1 MiB); check the \
                 length passed with face_detector_data",
                o.face_detector_len
            )));
        }
        // SAFETY: non-NULL, and the caller's promise of `face_detector_len` readable bytes.
        let bytes = unsafe {
            try_slice(
                o.face_detector_data,
                o.face_detector_len,
                "moae_options.face_detector_data",
            )
        }?;
        return Ok(Some(DetectorModel::Bytes(bytes.into())));
    }
    if o.face_detector_len != 0 {
        return Err(FfiError::null(
            "moae_options.face_detector_data (face_detector_len > 0)",
        ));
    }
    Ok(None)
}

pub fn provider_to_c(p: ExecutionProvider) -> i32 {
    abi::provider_code(p)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn path_arg(p: *const c_char) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: the caller's promise.
    let s = unsafe { opt_c_str(p) }?;
    Some(PathBuf::from(OsStr::from_bytes(s.to_bytes())))
}

/// Reads and validates the caller's options (NULL = all defaults).
///
/// # Safety
/// `opts` is NULL or points to `opts->struct_size` readable bytes whose pointers are valid.
pub unsafe fn engine_options(opts: *const moae_options) -> FfiResult<EngineOptions> {
    let o = if opts.is_null() {
        default_options()
    } else {
        // SAFETY: non-NULL, and the caller's promise of `struct_size` readable bytes.
        unsafe {
            read_sized(
                opts,
                "moae_options",
                OPTIONS_MIN_SIZE,
                &OPTIONS_ENDS,
                default_options(),
            )
        }?
    };
    if o.abi_version != ABI_VERSION {
        return Err(FfiError::new(
            MOAE_ERR_ABI_VERSION,
            format!(
                "moae_options.abi_version is {}, this libmoae {} has ABI {ABI_VERSION}: rebuild \
                 against its moae.h (and set abi_version with moae_options_init)",
                o.abi_version,
                crate::VERSION
            ),
        ));
    }
    // SAFETY: the caller's promise covers the pointers inside the options.
    let raw = unsafe { raw_options(&o) }?;
    abi::engine_options(&raw, || {
        // SAFETY: as above (the detector's path or bytes).
        unsafe { face_detector(&o) }
    })
}

/// The C options as the bindings' shared raw options (`abi::engine_options` applies the
/// rules): the provider codes, strings and hash read from their pointers.
///
/// # Safety
/// `providers` points to `provider_count` codes when that is > 0; `model_sha256` is NULL or
/// points to 32 bytes; the paths are NULL or NUL-terminated.
unsafe fn raw_options(o: &moae_options) -> FfiResult<abi::RawEngineOptions> {
    let mut providers = Vec::new();
    if o.provider_count > 0 {
        if o.providers.is_null() {
            return Err(FfiError::null(
                "moae_options.providers (provider_count > 0)",
            ));
        }
        if o.provider_count > abi::MAX_PROVIDERS {
            return Err(FfiError::invalid(format!(
                "provider_count is {} (at most {})",
                o.provider_count,
                abi::MAX_PROVIDERS
            )));
        }
        // SAFETY: non-NULL, and the caller's promise of `provider_count` codes.
        let codes = unsafe { try_slice(o.providers, o.provider_count, "moae_options.providers") }?;
        providers = codes
            .iter()
            .map(|&p| abi::provider(p))
            .collect::<Result<_, _>>()?;
    }
    let model_sha256 = (!o.model_sha256.is_null()).then(|| {
        // SAFETY: non-NULL, so 32 readable bytes (the caller's promise); [u8; 32] has
        // alignment 1.
        unsafe { *(o.model_sha256 as *const [u8; 32]) }
    });
    Ok(abi::RawEngineOptions {
        providers,
        require_provider: o.require_provider,
        intra_op_threads: o.intra_op_threads.into(),
        max_sessions: o.max_sessions.into(),
        // SAFETY: NULL or NUL-terminated (the caller's promise).
        ort_library_path: unsafe { path_arg(o.ort_library_path) },
        model_sha256,
        // SAFETY: as above.
        tensorrt_cache_dir: unsafe { path_arg(o.tensorrt_cache_dir) },
        tensorrt_fp16: o.tensorrt_fp16,
        coreml_compute_units: o.coreml_compute_units,
        threshold: o.threshold,
        crop_scale: o.crop_scale,
        detector_min_score: o.detector_min_score,
        whole_frame: o.whole_frame,
        quality: raw_quality(&o.quality),
    })
}

/// # Safety
/// A non-NULL plane pointer points to `plane_sizes[i]` readable bytes.
unsafe fn plane<'a>(img: &moae_image, i: usize) -> FfiResult<Option<&'a [u8]>> {
    let (ptr, len) = (img.planes[i], img.plane_sizes[i]);
    if ptr.is_null() {
        // A size with no pointer is a plane the caller meant to pass (read as "no plane",
        // a one-buffer frame, it would be misreported as a short chroma plane).
        if len != 0 {
            return Err(FfiError::new(
                MOAE_ERR_NULL_ARGUMENT,
                format!(
                    "planes[{i}] is NULL but plane_sizes[{i}] is {len}: pass the plane, or \
                     NULL with size 0 for a frame in one buffer"
                ),
            ));
        }
        return Ok(None);
    }
    if len > isize::MAX as usize {
        return Err(FfiError::new(
            MOAE_ERR_INVALID_FRAME,
            format!("plane_sizes[{i}] is {len} (larger than any buffer)"),
        ));
    }
    // SAFETY: non-NULL, a possible size, and the caller's promise of `len` readable bytes.
    Ok(Some(unsafe { std::slice::from_raw_parts(ptr, len) }))
}

/// Reads the caller's image into a runtime frame that borrows the caller's planes (the
/// checks are `moae_runtime::abi::frame`'s, shared with JNI).
///
/// # Safety
/// `img` is non-NULL, points to `struct_size` readable bytes, and each plane the format uses
/// points to `plane_sizes[i]` readable bytes that outlive the returned frame.
pub unsafe fn frame<'a>(img: *const moae_image) -> FfiResult<Frame<'a>> {
    let blank = moae_image {
        struct_size: 0,
        format: -1,
        width: 0,
        height: 0,
        planes: [std::ptr::null(); 3],
        plane_sizes: [0; 3],
        strides: [0; 3],
        rotation: 0,
        mirrored: 0,
        yuv_range: 0,
        yuv_matrix: 0,
    };
    // SAFETY: the caller's promise: `img` points to `struct_size` readable bytes.
    let m = unsafe { read_sized(img, "moae_image", MOAE_IMAGE_V1_SIZE, &IMAGE_ENDS, blank) }?;
    // `mirrored`, `yuv_range` and `yuv_matrix` are checked with the other fields by
    // `abi::frame`.
    if m.format == abi::PIXEL_YUV_420_888 {
        return Err(FfiError::new(
            MOAE_ERR_UNKNOWN_FORMAT,
            format!(
                "pixel format {} (Android YUV_420_888) is JNI-only: use NV21, NV12 or I420",
                m.format
            ),
        ));
    }
    // Only the planes the format uses are touched; the others may be garbage.
    let mut planes = [None; 3];
    for (i, p) in planes
        .iter_mut()
        .enumerate()
        .take(abi::planes_used(m.format))
    {
        // SAFETY: the caller's promise for the planes the format uses.
        *p = unsafe { plane(&m, i) }?;
    }
    let stride = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let raw = RawFrame {
        format: m.format,
        width: m.width.into(),
        height: m.height.into(),
        planes,
        strides: m.strides.map(stride),
        // moae_image has no pixel stride: YUV_420_888 is JNI-only.
        pixel_stride: 0,
        rotation: m.rotation,
        mirrored: m.mirrored,
        yuv_range: m.yuv_range,
        yuv_matrix: m.yuv_matrix,
    };
    Ok(abi::frame(&raw)?)
}

/// The caller's box array (either box type): empty for `count == 0` (the pointer is then not
/// read), else NULL and counts over `abi::MAX_BOXES` are errors.
///
/// # Safety
/// `boxes` points to `count` boxes when `count > 0`.
unsafe fn box_array<'a, T>(boxes: *const T, count: usize) -> FfiResult<&'a [T]> {
    if count == 0 {
        return Ok(&[]);
    }
    if boxes.is_null() {
        return Err(FfiError::null("boxes (box_count > 0)"));
    }
    if count > abi::MAX_BOXES {
        return Err(FfiError::invalid(format!(
            "box_count is {count} (at most {})",
            abi::MAX_BOXES
        )));
    }
    // SAFETY: non-NULL, and the caller's promise of `count` boxes.
    unsafe { try_slice(boxes, count, "boxes") }
}

/// # Safety
/// `boxes` points to `count` boxes when `count > 0`.
pub unsafe fn box_inputs(boxes: *const moae_box_input, count: usize) -> FfiResult<Vec<BoxInput>> {
    // SAFETY: the caller's promise.
    unsafe { box_array(boxes, count) }?
        .iter()
        .enumerate()
        .map(|(i, b)| box_input(i, b))
        .collect()
}

/// One caller box; its space and units codes checked by `abi::box_input`.
fn box_input(i: usize, b: &moae_box_input) -> FfiResult<BoxInput> {
    let rect = FaceBox {
        x: b.rect.x,
        y: b.rect.y,
        width: b.rect.width,
        height: b.rect.height,
    };
    abi::box_input(rect, b.space, b.units)
        .map_err(|e| FfiError::from(e).prefixed(&format!("boxes[{i}]: ")))
}

/// # Safety
/// `boxes` points to `count` boxes when `count > 0`.
pub unsafe fn face_boxes(boxes: *const moae_box, count: usize) -> FfiResult<Vec<FaceBox>> {
    // SAFETY: the caller's promise.
    Ok(unsafe { box_array(boxes, count) }?
        .iter()
        .map(|b| FaceBox {
            x: b.x,
            y: b.y,
            width: b.width,
            height: b.height,
        })
        .collect())
}

/// One analysed face in its C form: `abi::RawFace`'s flat numbers (shared with JNI, the same
/// fixed values for what a source lacks: no keypoints = zeros, detector_score = -1).
pub fn result_to_c(d: &Detection) -> moae_result {
    let (has_attack_type, attack_type_probs) = abi::raw_attack_type(d.attack_type);
    moae_result {
        attack_score: d.attack_score,
        live_score: d.live_score,
        is_attack: d.is_attack as i32,
        threshold: d.threshold,
        provider: provider_to_c(d.provider),
        latency_ms: d.latency.as_secs_f32() * 1000.0,
        has_attack_type,
        attack_type_probs,
    }
}

pub fn face_to_c(f: &FaceResult) -> moae_face {
    let r = abi::RawFace::from(f);
    let [x, y, width, height] = r.face_box;
    let [face_px, outside_fraction, brightness, overexposed_fraction, sharpness, roll_deg, yaw_deg] =
        r.quality;
    moae_face {
        r#box: moae_box {
            x,
            y,
            width,
            height,
        },
        keypoints: r.keypoints,
        has_keypoints: r.has_keypoints,
        source: r.source,
        detector_score: r.detector_score,
        attack_score: r.attack_score,
        live_score: r.live_score,
        threshold: r.threshold,
        decision: r.decision,
        quality_flags: r.quality_flags,
        quality: moae_quality {
            face_px,
            outside_fraction,
            brightness,
            overexposed_fraction,
            sharpness,
            roll_deg,
            yaw_deg,
        },
        latency_ms: r.latency_ms,
        has_attack_type: r.has_attack_type,
        attack_type_probs: r.attack_type_probs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finding 8 of the 0.2 review: `face_detector_len` is checked against the detector's size
    /// cap before a byte is read. The pointer here has 16 readable bytes: a copy of `len` bytes
    /// first would read far past them (a crash, or ASan/valgrind under the C tests).
    #[test]
    fn a_detector_length_over_the_cap_is_refused_before_copying() {
        let bytes = [0u8; 16];
        let cap = MAX_DETECTOR_BYTES as usize;
        for len in [cap + 1, usize::MAX / 2, usize::MAX] {
            let mut c = default_options();
            c.face_detector_data = bytes.as_ptr();
            c.face_detector_len = len;
            // SAFETY: the options and the buffers they point to are live locals.
            let e = unsafe { face_detector(&c) }.unwrap_err();
            assert_eq!(e.status, MOAE_ERR_INVALID_ARGUMENT);
            assert!(
                e.detail.contains(&len.to_string())
                    && e.detail.contains(&MAX_DETECTOR_BYTES.to_string()),
                "{}",
                e.detail
            );
        }
        let mut c = default_options();
        c.face_detector_data = bytes.as_ptr();
        c.face_detector_len = 0;
        // SAFETY: the options and the buffers they point to are live locals.
        let e = unsafe { face_detector(&c) }.unwrap_err();
        assert!(e.detail.contains("face_detector_len is 0"), "{}", e.detail);
        // Within the cap, the bytes are taken as given (the runtime judges them at create).
        c.face_detector_len = bytes.len();
        // SAFETY: the options and the buffers they point to are live locals.
        match unsafe { face_detector(&c) }.unwrap() {
            Some(DetectorModel::Bytes(b)) => assert_eq!(b.len(), 16),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_defaults_round_trip() {
        // SAFETY: the options and the buffers they point to are live locals.
        let o = unsafe { engine_options(std::ptr::null()) }.unwrap();
        assert_eq!(o.threshold, None);
        assert_eq!(o.crop_scale, EngineOptions::default().crop_scale);
        let mut c = default_options();
        c.abi_version = 999;
        // SAFETY: the options and the buffers they point to are live locals.
        let e = unsafe { engine_options(&c) }.unwrap_err();
        assert_eq!(e.status, MOAE_ERR_ABI_VERSION);
        let mut c = default_options();
        c.threshold = f32::NAN;
        assert_eq!(
            // SAFETY: the options and the buffers they point to are live locals.
            unsafe { engine_options(&c) }.unwrap_err().status,
            MOAE_ERR_INVALID_ARGUMENT
        );
        let mut c = default_options();
        c.provider_count = 1;
        assert_eq!(
            // SAFETY: the options and the buffers they point to are live locals.
            unsafe { engine_options(&c) }.unwrap_err().status,
            MOAE_ERR_NULL_ARGUMENT
        );
        let p = [1, 9];
        c.providers = p.as_ptr();
        c.provider_count = 2;
        assert_eq!(
            // SAFETY: the options and the buffers they point to are live locals.
            unsafe { engine_options(&c) }.unwrap_err().status,
            MOAE_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn layout_matches_the_header() {
        // Frozen offsets of ABI 1 on LP64 (the header's struct as a C compiler lays it out).
        assert_eq!(std::mem::offset_of!(moae_options, ort_library_path), 40);
        // 0.2's appended fields start where ABI 1's 80-byte struct ended.
        assert_eq!(std::mem::offset_of!(moae_options, face_detector_path), 80);
        assert_eq!(OPTIONS_ENDS[13], 80);
        assert_eq!(OPTIONS_ENDS[13], crate::api::MOAE_OPTIONS_V1_SIZE);
        assert_eq!(std::mem::size_of::<moae_options>(), 152);
        assert_eq!(std::mem::size_of::<moae_quality_options>(), 36);
        // moae_image: `mirrored` lies in version 1's padding (offset 92 < 96), so it is only
        // read from a struct that also holds `yuv_range`.
        assert_eq!(std::mem::offset_of!(moae_image, mirrored), 92);
        assert_eq!(IMAGE_ENDS[7], 92);
        assert_eq!(IMAGE_ENDS[8], 100);
        assert!(IMAGE_ENDS[8] > MOAE_IMAGE_V1_SIZE);
        // `yuv_matrix` fills the 0.2 struct's tail padding: the size stays 104 (0.2.0 is the
        // first release with these fields, so no released 104-byte struct lacks it).
        assert_eq!(std::mem::offset_of!(moae_image, yuv_matrix), 100);
        assert_eq!(IMAGE_ENDS[10], 104);
        assert_eq!(std::mem::size_of::<moae_image>(), 104);
        // Version 0.2's moae_face ended at 128 bytes; the attack-type fields are appended.
        assert_eq!(std::mem::size_of::<moae_face>(), 148);
        assert_eq!(std::mem::offset_of!(moae_face, has_attack_type), 128);
        assert_eq!(std::mem::offset_of!(moae_face, quality_flags), 92);
        // Version 0.2's moae_result ended at 24 bytes; the attack-type fields are appended.
        assert_eq!(RESULT_ENDS[5], MOAE_RESULT_V1_SIZE);
        assert_eq!(std::mem::offset_of!(moae_result, has_attack_type), 24);
        assert_eq!(std::mem::size_of::<moae_result>(), 44);
        assert_eq!(std::mem::offset_of!(moae_engine_info, ort_version), 93);
        assert_eq!(std::mem::size_of::<moae_engine_info>(), 1664);
    }
}
