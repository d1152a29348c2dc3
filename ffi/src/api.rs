//! The exported engine functions.

use crate::convert::{self, FACE_ENDS, INFO_ENDS, RESULT_ENDS};
use crate::guard::{guard, guard_value, last_error_ptr};
use crate::log::{self, emit};
use crate::ptr::{opt_c_str, try_out, try_slice, Castable, Out};
use crate::sized::{known_prefix, write_sized};
use crate::status::{message, FfiError, FfiResult};
use crate::types::moae_log_level::*;
use crate::types::moae_status::{self, *};
use crate::types::*;
use moae_runtime::{Engine, EngineOptions};
use std::os::raw::c_char;

/// An engine: a loaded model and its ONNX Runtime sessions. Opaque to C.
/// One engine may be shared by any number of threads (all its functions take it `const`).
pub struct moae_engine {
    inner: Engine,
    /// `moae_options.whole_frame`, checked by `moae_detect` before anything else about a call
    /// without boxes.
    whole_frame: bool,
}

/// libmoae's version as `(major << 16) | (minor << 8) | patch`.
#[no_mangle]
pub extern "C" fn moae_version() -> u32 {
    (crate::MOAE_VERSION_MAJOR << 16) | (crate::MOAE_VERSION_MINOR << 8) | crate::MOAE_VERSION_PATCH
}

/// libmoae's version, e.g. "0.2.0". Static; never NULL.
#[no_mangle]
pub extern "C" fn moae_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The MOAE_ABI_VERSION this library was built with.
#[no_mangle]
pub extern "C" fn moae_abi_version() -> u32 {
    crate::MOAE_ABI_VERSION
}

/// Size of the version-1 `moae_options` (libmoae 0.1, which ended at `crop_scale`).
pub const MOAE_OPTIONS_V1_SIZE: usize = 80;

/// This library's `sizeof` of a struct (a `moae_struct_kind`), for callers without C's
/// `sizeof` (ctypes, cgo, JNA, Dart FFI): pass it to `moae_options_init_sized` /
/// `moae_image_init_sized`, as `face_struct_size`, or compare it with the binding's own layout.
/// 0 for an unknown kind.
#[no_mangle]
pub extern "C" fn moae_struct_size(kind: i32) -> usize {
    use crate::types::moae_struct_kind::*;
    use std::mem::size_of;
    guard_value("moae_struct_size", 0, || match kind {
        k if k == MOAE_STRUCT_OPTIONS as i32 => size_of::<moae_options>(),
        k if k == MOAE_STRUCT_IMAGE as i32 => size_of::<moae_image>(),
        k if k == MOAE_STRUCT_ENGINE_INFO as i32 => size_of::<moae_engine_info>(),
        k if k == MOAE_STRUCT_FACE as i32 => size_of::<moae_face>(),
        k if k == MOAE_STRUCT_RESULT as i32 => size_of::<moae_result>(),
        k if k == MOAE_STRUCT_BOX as i32 => size_of::<moae_box>(),
        k if k == MOAE_STRUCT_BOX_INPUT as i32 => size_of::<moae_box_input>(),
        k if k == MOAE_STRUCT_QUALITY_OPTIONS as i32 => size_of::<moae_quality_options>(),
        k if k == MOAE_STRUCT_QUALITY as i32 => size_of::<moae_quality>(),
        _ => 0,
    })
}

/// Fills the first `min(size, sizeof(moae_options))` bytes at `opts` with the defaults and sets
/// `struct_size` to that many bytes (`abi_version = MOAE_ABI_VERSION`). Only fields that lie
/// wholly inside those bytes are written (the rest of them are zeroed); nothing past them is
/// touched. Pass `sizeof(moae_options)` as the caller compiled it (the `moae_options_init`
/// macro of this header does). NULL, or a size too small for `struct_size`, writes nothing.
#[no_mangle]
pub extern "C" fn moae_options_init_sized(opts: *mut moae_options, size: usize) {
    guard_value("moae_options_init_sized", (), || {
        // SAFETY: the caller passes `size` writable bytes at `opts`.
        unsafe {
            init_sized(
                opts,
                size,
                &convert::OPTIONS_SPANS,
                convert::default_options(),
            )
        }
    })
}

/// The exported symbol of libmoae 0.1's `moae_options_init`, for binaries compiled against
/// its header: writes only the version-1 struct (80 bytes, `struct_size = 80`), so that an
/// old caller's smaller struct is never overrun; the 0.2 fields keep their defaults at
/// create. New code gets `moae_options_init_sized` through the macro of the same name below;
/// callers that cannot use C macros (Swift, Rust, other FFIs) must call
/// `moae_options_init_sized(p, moae_struct_size(MOAE_STRUCT_OPTIONS))` (or their own size):
/// with this function the library reads only the version-1 fields (struct_size 80), so the
/// 0.2 fields they set would be ignored.
#[no_mangle]
pub extern "C" fn moae_options_init(opts: *mut moae_options) {
    moae_options_init_sized(opts, MOAE_OPTIONS_V1_SIZE)
}

/// Zeroes the first `min(size, sizeof(moae_image))` bytes at `image` (format RGB, full
/// range) and sets `struct_size` to that many bytes; nothing past them is touched. Pass
/// `sizeof(moae_image)` as the caller compiled it (the `moae_image_init` macro of this header
/// does). NULL, or a size too small for `struct_size`, writes nothing.
#[no_mangle]
pub extern "C" fn moae_image_init_sized(image: *mut moae_image, size: usize) {
    guard_value("moae_image_init_sized", (), || {
        let value = moae_image {
            struct_size: 0,
            format: moae_pixel_format::MOAE_PIXEL_RGB as i32,
            width: 0,
            height: 0,
            planes: [std::ptr::null(); 3],
            plane_sizes: [0; 3],
            strides: [0; 3],
            rotation: 0,
            mirrored: 0,
            yuv_range: moae_yuv_range::MOAE_YUV_FULL as i32,
            yuv_matrix: moae_yuv_matrix::MOAE_YUV_BT601 as i32,
        };
        // SAFETY: the caller passes `size` writable bytes at `image`.
        unsafe { init_sized(image, size, &convert::IMAGE_SPANS, value) }
    })
}

/// The exported symbol of libmoae 0.1's `moae_image_init`, for binaries compiled against its
/// header: writes only the version-1 struct (96 bytes, `struct_size = 96`), so that an old
/// caller's smaller struct is never overrun (and `mirrored`/`yuv_range` are never read from
/// what follows it). New code gets `moae_image_init_sized` through the macro below; callers
/// without C macros call `moae_image_init_sized(p, moae_struct_size(MOAE_STRUCT_IMAGE))` (else
/// `mirrored`, `yuv_range` and `yuv_matrix` are ignored).
#[no_mangle]
pub extern "C" fn moae_image_init(image: *mut moae_image) {
    moae_image_init_sized(image, convert::MOAE_IMAGE_V1_SIZE)
}

/// Zeroes `min(size, size_of::<T>())` bytes at `ptr`, copies the fields of `value` that lie
/// wholly inside them (`spans`: each field's offset and end; padding is left zero), and sets
/// the leading `u32` struct_size to that count.
///
/// # Safety
/// `ptr` is NULL or points to `size` writable bytes.
unsafe fn init_sized<T: Copy>(ptr: *mut T, size: usize, spans: &[(usize, usize)], value: T) {
    let n = size.min(std::mem::size_of::<T>());
    if ptr.is_null() || n < std::mem::size_of::<u32>() {
        return;
    }
    let dst = ptr as *mut u8;
    let src = &value as *const T as *const u8;
    // SAFETY: the caller's `size` >= n writable bytes at `ptr`; every span ends at or before n
    // and lies inside `value` (n <= size_of::<T>()); n >= 4 for the leading u32.
    unsafe {
        std::ptr::write_bytes(dst, 0, n);
        for &(start, end) in spans.iter().filter(|&&(_, end)| end <= n) {
            std::ptr::copy_nonoverlapping(src.add(start), dst.add(start), end - start);
        }
        // n <= size_of::<T>(), far below u32::MAX for every struct of this ABI.
        std::ptr::write_unaligned(dst as *mut u32, n as u32);
    }
}

fn finish_create(
    made: moae_runtime::Result<Engine>,
    mut out: Out<'_, *mut moae_engine>,
    source: &str,
    whole_frame: bool,
) -> FfiResult<()> {
    let engine = made.map_err(|e| {
        let e = FfiError::from(e);
        emit(
            MOAE_LOG_ERROR,
            &format!("engine creation from {source} failed: {}", e.detail),
        );
        e
    })?;
    let info = engine.info();
    emit(
        MOAE_LOG_INFO,
        &format!(
            "engine created from {source}: provider {}, input {}px, threshold {}{}, model sha256 {}",
            info.provider,
            info.input_size,
            info.threshold,
            if info.threshold_calibrated { " (calibrated)" } else { "" },
            info.model_sha256
        ),
    );
    if let Some(why) = &info.fallback_reason {
        emit(MOAE_LOG_WARN, &format!("provider fallback: {why}"));
    }
    out.write(
        moae_engine {
            inner: engine,
            whole_frame,
        }
        .into_raw(),
    );
    Ok(())
}

impl Castable for moae_engine {}

/// The out-parameter (set to NULL) and the options of an engine creation.
///
/// # Safety
/// `out` is NULL or writable; `opts` as for `convert::engine_options`.
unsafe fn start_create<'a>(
    out: *mut *mut moae_engine,
    opts: *const moae_options,
) -> FfiResult<(Out<'a, *mut moae_engine>, EngineOptions)> {
    // SAFETY: the caller's promise.
    let mut out = unsafe { try_out(out, "out") }?;
    out.write(std::ptr::null_mut());
    // SAFETY: the caller's promise.
    let options = unsafe { convert::engine_options(opts) }?;
    Ok((out, options))
}

/// Loads the model at `path` (NUL-terminated) into a new engine, stored in `*out`
/// (set to NULL on failure). `opts` may be NULL for the defaults; it is read only during the
/// call. Free the engine with `moae_engine_destroy`.
#[no_mangle]
pub extern "C" fn moae_engine_create_from_file(
    path: *const c_char,
    opts: *const moae_options,
    out: *mut *mut moae_engine,
) -> moae_status {
    guard("moae_engine_create_from_file", || {
        // SAFETY: the header's contract for `out` and `opts` (pointers checked inside).
        let (out, options) = unsafe { start_create(out, opts) }?;
        // SAFETY: the header's contract: `path` is NULL or NUL-terminated.
        let path = unsafe { opt_c_str(path) }.ok_or_else(|| FfiError::null("path"))?;
        use std::os::unix::ffi::OsStrExt;
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        finish_create(
            Engine::from_path(path, &options),
            out,
            &path.display().to_string(),
            options.whole_frame,
        )
    })
}

/// Loads a model from `len` bytes at `data` (copied; the buffer may be freed after the call).
/// Otherwise as `moae_engine_create_from_file`.
#[no_mangle]
pub extern "C" fn moae_engine_create_from_memory(
    data: *const u8,
    len: usize,
    opts: *const moae_options,
    out: *mut *mut moae_engine,
) -> moae_status {
    guard("moae_engine_create_from_memory", || {
        // SAFETY: the header's contract for `out` and `opts` (pointers checked inside).
        let (out, options) = unsafe { start_create(out, opts) }?;
        if data.is_null() {
            return Err(FfiError::null("data"));
        }
        if len == 0 || len > isize::MAX as usize {
            return Err(FfiError::invalid(format!("len is {len}")));
        }
        // SAFETY: non-NULL, and the header's contract of `len` readable bytes.
        let bytes = unsafe { try_slice(data, len, "data") }?;
        finish_create(
            Engine::from_bytes(bytes, &options),
            out,
            "memory",
            options.whole_frame,
        )
    })
}

/// Frees an engine. NULL is ignored. No other call may use the engine during or after this.
#[no_mangle]
pub extern "C" fn moae_engine_destroy(engine: *mut moae_engine) {
    guard_value("moae_engine_destroy", (), || {
        // SAFETY: the header's contract: NULL or an engine from create, not used again.
        unsafe { moae_engine::free(engine) }
    })
}

/// Copies `s` as a NUL-terminated C string, cut at a character boundary if it is too long.
fn copy_c_str<const N: usize>(dst: &mut [c_char; N], s: &str) {
    let mut n = s.len().min(N - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    for (d, &b) in dst.iter_mut().zip(&s.as_bytes()[..n]) {
        *d = b as c_char;
    }
    dst[n] = 0;
}

/// Writes the engine's facts into `*out` (set `out->struct_size` first; only the fields that
/// fit in it are written).
#[no_mangle]
pub extern "C" fn moae_engine_get_info(
    engine: *const moae_engine,
    out: *mut moae_engine_info,
) -> moae_status {
    guard("moae_engine_get_info", || {
        // SAFETY: the header's contract: NULL or a live engine.
        let engine = unsafe { moae_engine::try_from_ptr(engine, "engine") }?;
        if out.is_null() {
            return Err(FfiError::null("out"));
        }
        let i = engine.inner.info();
        let mut info = moae_engine_info {
            struct_size: std::mem::size_of::<moae_engine_info>() as u32,
            provider: convert::provider_to_c(i.provider),
            input_size: i.input_size,
            threshold: i.threshold,
            threshold_calibrated: i.threshold_calibrated as i32,
            model_sha256: [0; 65],
            precision: [0; 8],
            ort_version: [0; 32],
            ort_library_path: [0; 1024],
            fallback_reason: [0; 512],
        };
        copy_c_str(&mut info.model_sha256, &i.model_sha256);
        copy_c_str(&mut info.precision, &i.meta.precision);
        copy_c_str(&mut info.ort_version, &i.ort_version);
        copy_c_str(&mut info.ort_library_path, &i.ort_library.to_string_lossy());
        copy_c_str(
            &mut info.fallback_reason,
            i.fallback_reason.as_deref().unwrap_or(""),
        );
        // SAFETY: non-NULL; the caller's struct_size says how many bytes are writable.
        unsafe { write_sized(out, "moae_engine_info", &INFO_ENDS, &info) }
    })
}

/// Scores the caller's face boxes (upright, un-mirrored pixels): one result per box, in order.
/// `box_count == 0` is allowed only for an engine created with `whole_frame = 1` (pre-cropped
/// images: the centre square is scored, one result); otherwise it fails with
/// MOAE_ERR_INVALID_ARGUMENT - use `moae_analyze`, whose face detector finds the faces. This
/// call applies no quality checks and makes no "unsure" decision; `moae_analyze` does.
/// Results go to the caller's array `results` of `results_capacity` elements, each
/// `result_struct_size` bytes apart: pass `sizeof(moae_result)` (the `moae_detect` macro of
/// this header does). A smaller, older struct gets only the fields that fit (at least
/// MOAE_RESULT_V1_SIZE, 24 bytes); a larger one from a newer header gets this library's fields
/// and the bytes past them are left as they were. `*result_count` receives the number
/// written. If the capacity is too small, nothing is run, `*result_count` is set to the number
/// needed and `MOAE_ERR_BUFFER_TOO_SMALL` is returned (so `results = NULL, capacity = 0` asks
/// the count). Nothing of the caller's (image planes, boxes, results) is kept after return.
/// Thread-safe: any number of threads may call this on one engine at once.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn moae_detect_sized(
    engine: *const moae_engine,
    image: *const moae_image,
    boxes: *const moae_box,
    box_count: usize,
    results: *mut moae_result,
    result_struct_size: usize,
    results_capacity: usize,
    result_count: *mut usize,
) -> moae_status {
    guard("moae_detect", || {
        // SAFETY: the header's contract: NULL or writable.
        let mut count = unsafe { try_out(result_count, "result_count") }?;
        count.write(0);
        // SAFETY: the header's contract: NULL or a live engine.
        let engine = unsafe { moae_engine::try_from_ptr(engine, "engine") }?;
        if image.is_null() {
            return Err(FfiError::null("image"));
        }
        let results_array = SizedArray {
            name: "results",
            size_name: "result_struct_size",
            struct_name: "moae_result",
            min_size: convert::MOAE_RESULT_V1_SIZE,
            ends: &RESULT_ENDS,
        };
        results_array.check::<moae_result>(result_struct_size, results_capacity)?;
        if box_count == 0 && !engine.whole_frame {
            return Err(FfiError::invalid(
                "box_count is 0 and the engine has no whole_frame option: pass the face boxes, \
                 call moae_analyze to let the face detector find the faces, or create the engine \
                 with moae_options.whole_frame = 1 for pre-cropped images",
            ));
        }
        let needed = box_count.max(1);
        if results_capacity < needed {
            count.write(needed);
            return Err(FfiError::new(
                MOAE_ERR_BUFFER_TOO_SMALL,
                format!("results_capacity is {results_capacity}, {needed} results are needed"),
            ));
        }
        if results.is_null() {
            return Err(FfiError::null("results"));
        }
        // SAFETY: image non-NULL; its planes are the header's contract.
        let frame = unsafe { convert::frame(image) }?;
        // SAFETY: the header's contract: `box_count` boxes at `boxes`.
        let faces = unsafe { convert::face_boxes(boxes, box_count) }?;
        let detections = engine.inner.detect(&frame, &faces)?;
        if detections.len() != needed {
            return Err(FfiError::new(
                MOAE_ERR_INFERENCE,
                format!(
                    "the runtime returned {} results for {needed}",
                    detections.len()
                ),
            ));
        }
        // SAFETY: results non-NULL with room for `results_capacity >= needed` elements of
        // `result_struct_size` bytes (the header's contract, checked above to be an array).
        unsafe {
            results_array.write(
                results,
                result_struct_size,
                detections.iter().map(convert::result_to_c),
            )
        };
        count.write(needed);
        Ok(())
    })
}

/// Deprecated: the exported symbol of libmoae 0.1 and 0.2's `moae_detect`, for binaries
/// compiled against their headers: writes only the version-1 `moae_result` (24 bytes, without
/// the attack type), element `i` at byte `i * MOAE_RESULT_V1_SIZE`. New code gets
/// `moae_detect_sized` with `sizeof(moae_result)` through the macro of the same name below;
/// callers that cannot use C macros (Swift, Rust, other FFIs) call `moae_detect_sized` with
/// `moae_struct_size(MOAE_STRUCT_RESULT)` (or their own size).
#[no_mangle]
pub extern "C" fn moae_detect(
    engine: *const moae_engine,
    image: *const moae_image,
    boxes: *const moae_box,
    box_count: usize,
    results: *mut moae_result,
    results_capacity: usize,
    result_count: *mut usize,
) -> moae_status {
    moae_detect_sized(
        engine,
        image,
        boxes,
        box_count,
        results,
        convert::MOAE_RESULT_V1_SIZE,
        results_capacity,
        result_count,
    )
}

/// Size of the version-0.2 `moae_face` prefix every caller must at least hold: the box.
const FACE_MIN_SIZE: usize = std::mem::size_of::<moae_box>();

/// Frame in, decision out. `box_count == 0`: the engine's face detector finds every face
/// (`moae_options.face_detector_path`/`_data`); without a detector, `whole_frame = 1` makes
/// the image the face; with neither it fails with MOAE_ERR_INVALID_ARGUMENT. An engine with
/// both a detector and `whole_frame = 1` uses the detector here (a frame without a face is
/// NO_FACE, not a whole-frame score); `whole_frame` then only lets `moae_detect` run without
/// boxes. Otherwise one face per caller box
/// (`moae_box_input`: upright or raw buffer coordinates, pixels or normalised), in order.
///
/// Each face gets its box (upright, un-mirrored pixels), keypoints (detector only), detector
/// score, attack/live score, threshold, quality values and flags, and a decision: LIVE or
/// ATTACK, or UNSURE whenever a quality flag is set (the score is still computed). A frame
/// without a face is not an error: `*face_count = 0` and `MOAE_QUALITY_NO_FACE` in
/// `*frame_flags` (`frame_flags` may be NULL if not wanted).
///
/// `faces` is the caller's array of `faces_capacity` elements, each `face_struct_size` bytes
/// apart: pass `sizeof(moae_face)` (a smaller, older struct gets only the fields that fit; at
/// least the box; a larger one from a newer header gets this library's fields and the bytes
/// past them are left as they were). If the capacity is too small, the first
/// `faces_capacity` faces are written, `*face_count` is the full number found and
/// MOAE_ERR_BUFFER_TOO_SMALL is returned, all from this one detection (`*frame_flags` too;
/// `faces = NULL, faces_capacity = 0` asks only the count). Calling again with a larger array
/// runs detection again, on the same frame normally with the same result. Nothing of the
/// caller's is kept after return; thread-safe as `moae_detect`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn moae_analyze(
    engine: *const moae_engine,
    image: *const moae_image,
    boxes: *const moae_box_input,
    box_count: usize,
    faces: *mut moae_face,
    face_struct_size: usize,
    faces_capacity: usize,
    face_count: *mut usize,
    frame_flags: *mut u32,
) -> moae_status {
    guard("moae_analyze", || {
        // SAFETY: the header's contract: NULL or writable.
        let mut count = unsafe { try_out(face_count, "face_count") }?;
        count.write(0);
        // SAFETY: the header's contract: NULL (not wanted) or writable.
        let mut flags = unsafe { try_out(frame_flags, "frame_flags") }.ok();
        if let Some(f) = flags.as_mut() {
            f.write(0);
        }
        // SAFETY: the header's contract: NULL or a live engine.
        let engine = unsafe { moae_engine::try_from_ptr(engine, "engine") }?;
        if image.is_null() {
            return Err(FfiError::null("image"));
        }
        let faces_array = SizedArray {
            name: "faces",
            size_name: "face_struct_size",
            struct_name: "moae_face",
            min_size: FACE_MIN_SIZE,
            ends: &FACE_ENDS,
        };
        faces_array.check::<moae_face>(face_struct_size, faces_capacity)?;
        if faces.is_null() && faces_capacity > 0 {
            return Err(FfiError::null("faces (faces_capacity > 0)"));
        }
        // SAFETY: image non-NULL; its planes are the header's contract.
        let frame = unsafe { convert::frame(image) }?;
        // SAFETY: the header's contract: `box_count` boxes at `boxes`.
        let inputs = unsafe { convert::box_inputs(boxes, box_count) }?;
        let analysis = engine.inner.analyze(&frame, &inputs)?;
        if box_count > 0 && analysis.faces.len() != box_count {
            return Err(FfiError::new(
                MOAE_ERR_INFERENCE,
                format!(
                    "the runtime returned {} faces for {box_count} boxes",
                    analysis.faces.len()
                ),
            ));
        }
        let n = analysis.faces.len();
        if let Some(f) = flags.as_mut() {
            f.write(analysis.flags.bits());
        }
        count.write(n);
        // The faces that fit, in order; the count is the full one (one detection, one answer).
        let fit = n.min(faces_capacity);
        // SAFETY: checked above: a non-zero capacity has a non-NULL `faces` of
        // `faces_capacity >= fit` elements of `face_struct_size` bytes.
        unsafe {
            faces_array.write(
                faces,
                face_struct_size,
                analysis.faces[..fit].iter().map(convert::face_to_c),
            )
        };
        if faces_capacity < n {
            return Err(FfiError::new(
                MOAE_ERR_BUFFER_TOO_SMALL,
                format!(
                    "faces_capacity is {faces_capacity}, {n} faces were found: the first \
                     {faces_capacity} were written"
                ),
            ));
        }
        Ok(())
    })
}

/// A caller's array of a struct that grows by appended fields: each element
/// `struct_size` bytes apart, of which only the whole fields that fit are written.
struct SizedArray<'a> {
    /// The array parameter, e.g. "faces".
    name: &'static str,
    /// Its element size parameter, e.g. "face_struct_size".
    size_name: &'static str,
    /// The C struct, e.g. "moae_face".
    struct_name: &'static str,
    /// The smallest element size accepted.
    min_size: usize,
    /// End offsets of the struct's fields (`field_ends!`).
    ends: &'a [usize],
}

impl SizedArray<'_> {
    /// Each element at least `min_size` bytes, and an array byte size that can exist.
    fn check<T>(&self, struct_size: usize, capacity: usize) -> FfiResult<()> {
        let (name, size_name, struct_name) = (self.name, self.size_name, self.struct_name);
        if struct_size < self.min_size {
            return Err(FfiError::new(
                MOAE_ERR_STRUCT_SIZE,
                format!(
                    "{size_name} is {struct_size}, at least {} is needed (this library's \
                     sizeof({struct_name}) is {}): pass sizeof({struct_name})",
                    self.min_size,
                    std::mem::size_of::<T>()
                ),
            ));
        }
        if capacity
            .checked_mul(struct_size)
            .is_none_or(|b| b > isize::MAX as usize)
        {
            return Err(FfiError::invalid(format!(
                "{name}_capacity {capacity} x {size_name} {struct_size} is larger than any array"
            )));
        }
        Ok(())
    }

    /// Writes each value's whole known fields that fit in `struct_size` bytes
    /// (`sized::known_prefix`), element `i` at byte `i * struct_size`.
    ///
    /// # Safety
    /// `array` points to at least as many writable elements of `struct_size` bytes as
    /// `values` yields.
    unsafe fn write<T: Copy>(
        &self,
        array: *mut T,
        struct_size: usize,
        values: impl Iterator<Item = T>,
    ) {
        let written = known_prefix(struct_size.min(std::mem::size_of::<T>()), self.ends);
        for (i, v) in values.enumerate() {
            // SAFETY: element `i` lies inside the caller's array; `written` <= both sizes.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    &v as *const T as *const u8,
                    (array as *mut u8).add(i * struct_size),
                    written,
                );
            }
        }
    }
}

/// The static message of a status code; never NULL (unknown codes get a generic message).
#[no_mangle]
pub extern "C" fn moae_status_message(status: i32) -> *const c_char {
    guard_value("moae_status_message", c"internal error".as_ptr(), || {
        message(status).as_ptr() as *const c_char
    })
}

/// Detail of this thread's last failure ("" if none). Valid until the next failing libmoae call
/// on this thread; a successful call does not clear it. Never NULL.
#[no_mangle]
pub extern "C" fn moae_last_error() -> *const c_char {
    guard_value("moae_last_error", c"".as_ptr(), last_error_ptr)
}

/// Clears this thread's last-error detail (to ""), e.g. before a call whose detail you want.
#[no_mangle]
pub extern "C" fn moae_clear_last_error() {
    guard_value("moae_clear_last_error", (), || {
        crate::guard::set_last_error("")
    })
}

/// Sets (or, with NULL, removes) the process-wide log callback. It receives libmoae's messages
/// (engine creation, provider fallback, failures) and the runtime's and ONNX Runtime's log
/// events, possibly from several threads at once; `user_data` is passed back unchanged.
/// Returns only when no call is inside the previous callback any more (it waits for those
/// running on other threads), so the previous `user_data` may be freed as soon as this
/// returns. Called from inside the callback itself, it cannot wait for that call: the new
/// callback then takes over when the running call returns. A callback must not wait for
/// another thread that is itself setting the callback.
#[no_mangle]
pub extern "C" fn moae_set_log_callback(callback: moae_log_fn, user_data: *mut std::ffi::c_void) {
    guard_value("moae_set_log_callback", (), || {
        log::set_callback(callback, user_data)
    })
}

/// Most verbose `moae_log_level` passed to the callback (default MOAE_LOG_INFO).
#[no_mangle]
pub extern "C" fn moae_set_log_level(max_level: i32) {
    guard_value("moae_set_log_level", (), || log::set_max_level(max_level))
}
