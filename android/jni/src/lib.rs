//! JNI bridge of the Android wrapper: the `native` methods of `ai.moae.NativeBridge`, each a
//! thin translation between Java values and `moae_runtime`.
//!
//! Safety model (see `android/README.md`, "Threads"):
//! - A detector handle is a `jlong` holding `Box<Arc<Engine>>` from `create*`, freed by
//!   `destroy`. `Engine` is `Send + Sync`, so any number of threads may `detect` at once.
//! - `MoaeDetector` (Java) guards the handle with a read-write lock: `detect` holds the read
//!   lock, `close` the write lock and zeroes the handle before `destroy`. So `destroy` never
//!   runs while a `detect`/`analyze` on the same handle is inside native code, a closed
//!   detector raises the checked `MoaeException` with status CLOSED (-2), and `close()` twice
//!   is a no-op. Native code additionally rejects a 0 handle (also CLOSED), and clones the
//!   `Arc` for the call's duration.
//! - Frames arrive as `int[]` descriptions (`MoaeFrame.nativeInts`, see [`frame`]) plus up to
//!   three planes; results leave as flat `float[]`s ([`pack`]).
//! - Every native method runs in [`guard::guarded`]: panics and errors become Java exceptions.

mod frame;
mod guard;
pub mod pack;
mod status;

use frame::{FrameArgs, Planes};
use guard::guarded;
use jni::elements::ReleaseMode;
use jni::objects::{JByteArray, JByteBuffer, JClass, JFloatArray, JIntArray, JString};
use jni::refs::Reference;
use jni::sys::{jboolean, jfloat, jint, jlong};
use jni::{Env, EnvUnowned};
use moae_runtime::abi::{self, RawEngineOptions, RawQualityOptions};
use moae_runtime::{BoxInput, DetectorModel, Engine, EngineOptions, ExecutionProvider};
use status::{BridgeError, Status};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Engines created through this bridge and not yet destroyed (`MoaeDetector.nativeEngineCount`,
/// which the host tests use to see the Java cleaner free a dropped detector).
static LIVE_ENGINES: AtomicI64 = AtomicI64::new(0);

pub use status::Status as BridgeStatus;

fn opt_string(env: &Env<'_>, s: &JString<'_>) -> Result<Option<String>, BridgeError> {
    if s.is_null() {
        return Ok(None);
    }
    Ok(Some(s.try_to_string(env)?))
}

/// The detector and pipeline fields of `ai.moae.Options` (see `NativeBridge.java`).
pub struct PipelineArgs<'a, 'l> {
    pub detector_path: &'a JString<'l>,
    pub detector_bytes: &'a JByteArray<'l>,
    /// < 0 = the detector's default.
    pub detector_min_score: jfloat,
    pub whole_frame: jboolean,
    /// `QualityLimits.pack()`: one float per `QualityOptions` limit, -1 = the default.
    pub quality: &'a JFloatArray<'l>,
    pub allow_several_faces: jboolean,
}

/// Largest face detector model accepted from memory: the runtime's own cap on a detector
/// file, so a model refused from a path is refused from bytes too.
pub const MAX_DETECTOR_BYTES: usize = moae_runtime::MAX_DETECTOR_BYTES as usize;

/// `Options.faceDetectorBytes`' length against [`MAX_DETECTOR_BYTES`] (status MODEL, as the
/// runtime reports a detector file over the cap).
pub fn detector_len_ok(len: usize) -> Result<(), BridgeError> {
    if len > MAX_DETECTOR_BYTES {
        return Err(BridgeError::invalid(
            Status::Model,
            format!(
                "face detector bytes are too large: {len} bytes, the limit is \
                 {MAX_DETECTOR_BYTES}; pass face_detection_front_128x128.onnx or \
                 face_detection_back_256x256.onnx (under 1 MB) to Options.faceDetectorBytes"
            ),
        ));
    }
    Ok(())
}

/// Number of floats in `QualityLimits.pack()`, in `QualityOptions`' field order.
pub const QUALITY_FLOATS: usize = 8;

/// The face detector of `ai.moae.Options`: a path or bytes (the path wins, as in Java).
fn face_detector(
    env: &Env<'_>,
    p: &PipelineArgs<'_, '_>,
) -> Result<Option<DetectorModel>, BridgeError> {
    if let Some(path) = opt_string(env, p.detector_path)? {
        return Ok(Some(DetectorModel::Path(PathBuf::from(path))));
    }
    if p.detector_bytes.is_null() {
        return Ok(None);
    }
    // The length first: an oversized array is refused without copying it out of the JVM.
    detector_len_ok(p.detector_bytes.len(env)?)?;
    let bytes = env.convert_byte_array(p.detector_bytes)?;
    Ok(Some(DetectorModel::Bytes(Arc::from(bytes))))
}

/// `QualityLimits.pack()` (Java's "not set" is -1 per limit, `abi::quality_from_java`).
fn quality_limits(
    env: &Env<'_>,
    p: &PipelineArgs<'_, '_>,
) -> Result<RawQualityOptions, BridgeError> {
    let mut v = [-1f32; QUALITY_FLOATS];
    if !p.quality.is_null() {
        let len = p.quality.len(env)?;
        if len != QUALITY_FLOATS {
            return Err(BridgeError::invalid(
                Status::InvalidArgument,
                format!("quality limits have {len} values, expected {QUALITY_FLOATS}"),
            ));
        }
        p.quality.get_region(env, 0, &mut v)?;
    }
    Ok(abi::quality_from_java(v, p.allow_several_faces))
}

/// `Options.providers`, comma-separated names; empty or NULL = the default.
fn provider_list(
    env: &Env<'_>,
    providers: &JString<'_>,
) -> Result<Vec<ExecutionProvider>, BridgeError> {
    let Some(list) = opt_string(env, providers)? else {
        return Ok(Vec::new());
    };
    Ok(list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<ExecutionProvider>())
        .collect::<Result<_, _>>()?)
}

/// `Options.modelSha256`: NULL or 32 bytes.
fn sha256_pin(
    env: &Env<'_>,
    model_sha256: &JByteArray<'_>,
) -> Result<Option<[u8; 32]>, BridgeError> {
    if model_sha256.is_null() {
        return Ok(None);
    }
    let bytes = env.convert_byte_array(model_sha256)?;
    let pin: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        BridgeError::invalid(
            Status::InvalidArgument,
            format!("modelSha256 has {} bytes, a SHA-256 has 32", bytes.len()),
        )
    })?;
    Ok(Some(pin))
}

/// Engine options from the primitive fields of `ai.moae.Options` (see `NativeBridge.java`),
/// assembled by the C ABI's rules and messages (`abi::engine_options`).
#[allow(clippy::too_many_arguments)]
fn engine_options(
    env: &Env<'_>,
    providers: &JString<'_>,
    require_provider: jboolean,
    threads: jint,
    max_sessions: jint,
    ort_library_path: &JString<'_>,
    model_sha256: &JByteArray<'_>,
    threshold: jfloat,
    crop_scale: jfloat,
    pipeline: &PipelineArgs<'_, '_>,
) -> Result<EngineOptions, BridgeError> {
    let raw = RawEngineOptions {
        providers: provider_list(env, providers)?,
        require_provider: i32::from(require_provider),
        intra_op_threads: threads.into(),
        max_sessions: max_sessions.into(),
        ort_library_path: opt_string(env, ort_library_path)?.map(PathBuf::from),
        model_sha256: sha256_pin(env, model_sha256)?,
        threshold,
        crop_scale,
        detector_min_score: pipeline.detector_min_score,
        whole_frame: i32::from(pipeline.whole_frame),
        quality: quality_limits(env, pipeline)?,
        ..RawEngineOptions::default()
    };
    abi::engine_options(&raw, || face_detector(env, pipeline))
}

fn into_handle(engine: Engine) -> jlong {
    LIVE_ENGINES.fetch_add(1, Ordering::SeqCst);
    Box::into_raw(Box::new(Arc::new(engine))) as jlong
}

/// The engine behind a live handle, kept alive by its own `Arc` for this call.
fn engine_of(handle: jlong) -> Result<Arc<Engine>, BridgeError> {
    if handle == 0 {
        return Err(BridgeError::Closed);
    }
    // SAFETY: a non-zero handle comes from `into_handle` and Java's lock keeps `destroy` from
    // running concurrently (module docs), so the box is alive for this read.
    let arc = unsafe { &*(handle as *const Arc<Engine>) };
    Ok(Arc::clone(arc))
}

/// One engine creation: `model` checks and reads the model's source first (so a null model
/// is reported before any option, as in C), then `options` reads the options and `load` makes
/// the engine from both.
fn create<'l, M>(
    unowned: &mut EnvUnowned<'l>,
    model: impl FnOnce(&mut Env<'l>) -> Result<M, BridgeError>,
    options: impl FnOnce(&mut Env<'l>) -> Result<EngineOptions, BridgeError>,
    load: impl FnOnce(&mut Env<'l>, M, &EngineOptions) -> Result<Engine, BridgeError>,
) -> jlong {
    guarded(unowned, |env| {
        let source = model(env)?;
        let opts = options(env)?;
        Ok(into_handle(load(env, source, &opts)?))
    })
}

/// One `NativeBridge.createFrom*` entry point: the model parameter (`$model` of JNI type
/// `$model_ty`), then the `ai.moae.Options` fields in `NativeBridge.java`'s order, handed to
/// [`create`] with the closures that read the model (`$read`) and load the engine (`$load`).
macro_rules! create_entry_point {
    ($(#[$attr:meta])* $name:ident($model:ident: $model_ty:ident), $read:expr, $load:expr $(,)?) => {
        $(#[$attr])*
        #[unsafe(no_mangle)]
        #[allow(clippy::too_many_arguments)]
        pub extern "system" fn $name<'l>(
            mut unowned: EnvUnowned<'l>,
            _class: JClass<'l>,
            $model: $model_ty<'l>,
            providers: JString<'l>,
            require_provider: jboolean,
            threads: jint,
            max_sessions: jint,
            ort_library_path: JString<'l>,
            model_sha256: JByteArray<'l>,
            threshold: jfloat,
            crop_scale: jfloat,
            detector_path: JString<'l>,
            detector_bytes: JByteArray<'l>,
            detector_min_score: jfloat,
            whole_frame: jboolean,
            quality: JFloatArray<'l>,
            allow_several_faces: jboolean,
        ) -> jlong {
            let options = |env: &mut Env<'l>| {
                let pipeline = PipelineArgs {
                    detector_path: &detector_path,
                    detector_bytes: &detector_bytes,
                    detector_min_score,
                    whole_frame,
                    quality: &quality,
                    allow_several_faces,
                };
                engine_options(
                    env,
                    &providers,
                    require_provider,
                    threads,
                    max_sessions,
                    &ort_library_path,
                    &model_sha256,
                    threshold,
                    crop_scale,
                    &pipeline,
                )
            };
            create(&mut unowned, $read, options, $load)
        }
    };
}

create_entry_point!(
    Java_ai_moae_NativeBridge_createFromFile(path: JString),
    |env| opt_string(env, &path)?.ok_or_else(|| BridgeError::null("model path")),
    |_env, path, opts| Ok(Engine::from_path(path, opts)?),
);

create_entry_point!(
    Java_ai_moae_NativeBridge_createFromBytes(model: JByteArray),
    |_env| {
        if model.is_null() {
            return Err(BridgeError::null("model bytes"));
        }
        Ok(())
    },
    |env, (), opts| {
        // SAFETY: read-only access, released without copy-back before returning.
        let bytes = unsafe { model.get_elements(env, ReleaseMode::NoCopyBack)? };
        Ok(Engine::from_bytes(as_u8(&bytes), opts)?)
    },
);

create_entry_point!(
    /// The model from a direct buffer (a memory-mapped file or asset), read in place: the bytes
    /// never enter the Java heap. `MoaeDetector.fromBuffer` passes the buffer sliced at its
    /// position, so its capacity is the model's length.
    Java_ai_moae_NativeBridge_createFromBuffer(model: JByteBuffer),
    |env| direct(env, &model, "model buffer")?.ok_or_else(|| BridgeError::null("model buffer")),
    |_env, bytes, opts| Ok(Engine::from_bytes(bytes, opts)?),
);

#[unsafe(no_mangle)]
pub extern "system" fn Java_ai_moae_NativeBridge_liveEngines<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
) -> jlong {
    guarded(&mut unowned, |_env| Ok(LIVE_ENGINES.load(Ordering::SeqCst)))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_ai_moae_NativeBridge_destroy<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) {
    guarded(&mut unowned, |_env| {
        if handle != 0 {
            // SAFETY: Java calls this once per handle, under the write lock (module docs).
            drop(unsafe { Box::from_raw(handle as *mut Arc<Engine>) });
            LIVE_ENGINES.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    })
}

/// `key=value` lines, parsed by `ai.moae.DetectorInfo` (no JSON parser in the JDK).
#[unsafe(no_mangle)]
pub extern "system" fn Java_ai_moae_NativeBridge_info<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> JString<'l> {
    guarded(&mut unowned, |env| {
        let engine = engine_of(handle)?;
        let info = engine.info();
        let text =
            format!(
            "provider={}\ninput_size={}\nthreshold={}\nthreshold_calibrated={}\nmodel_sha256={}\n\
             precision={}\nort_library={}\nfallback_reason={}\n",
            info.provider,
            info.input_size,
            info.threshold,
            info.threshold_calibrated,
            info.model_sha256,
            info.meta.precision,
            info.ort_library.display(),
            info.fallback_reason.as_deref().unwrap_or("").replace('\n', " "),
        );
        Ok(JString::from_str(env, text)?)
    })
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_ai_moae_NativeBridge_version<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
) -> JString<'l> {
    guarded(&mut unowned, |env| {
        Ok(JString::from_str(env, moae_runtime::version())?)
    })
}

fn as_u8(bytes: &[i8]) -> &[u8] {
    // SAFETY: i8 and u8 have the same size and alignment; every bit pattern is valid.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u8>(), bytes.len()) }
}

fn read_box(env: &Env<'_>, face: &JFloatArray<'_>) -> Result<Option<[f32; 4]>, BridgeError> {
    if face.is_null() {
        return Ok(None);
    }
    let len = face.len(env)?;
    if len != 4 {
        return Err(BridgeError::invalid(
            Status::InvalidFaceBox,
            format!("face box has {len} values, expected [x, y, width, height]"),
        ));
    }
    let mut b = [0f32; 4];
    face.get_region(env, 0, &mut b)?;
    Ok(Some(b))
}

fn read_frame_ints(env: &Env<'_>, frame: &JIntArray<'_>) -> Result<FrameArgs, BridgeError> {
    if frame.is_null() {
        return Err(BridgeError::null("frame description"));
    }
    let len = frame.len(env)?;
    let mut v = vec![0i32; len];
    frame.get_region(env, 0, &mut v)?;
    FrameArgs::from_ints(&v)
}

fn read_boxes(env: &Env<'_>, boxes: &JFloatArray<'_>) -> Result<Vec<BoxInput>, BridgeError> {
    if boxes.is_null() {
        return Ok(Vec::new());
    }
    let len = boxes.len(env)?;
    let mut v = vec![0f32; len];
    boxes.get_region(env, 0, &mut v)?;
    frame::box_inputs(&v)
}

fn float_array<'l>(env: &mut Env<'l>, values: &[f32]) -> Result<JFloatArray<'l>, BridgeError> {
    let out = JFloatArray::new(env, values.len())?;
    out.set_region(env, 0, values)?;
    Ok(out)
}

/// What one native call does with its frame.
enum Call {
    /// `detect` with at most one upright-pixel box: `float[RESULT_LEN]`.
    Detect(Option<[f32; 4]>),
    /// `analyze` with caller boxes (empty = the detector): see [`pack::analysis`].
    Analyze(Vec<BoxInput>),
}

fn run_call<'l>(
    env: &mut Env<'l>,
    handle: jlong,
    args: &FrameArgs,
    planes: &Planes<'_>,
    call: Call,
) -> Result<JFloatArray<'l>, BridgeError> {
    let engine = engine_of(handle)?;
    let frame = frame::build(args, planes)?;
    match call {
        Call::Detect(face) => {
            let detections = engine.detect(&frame, &frame::face_box(face))?;
            let d = detections.first().ok_or_else(|| {
                BridgeError::invalid(Status::Inference, "the runtime returned no detection")
            })?;
            float_array(env, &pack::detection(d))
        }
        Call::Analyze(boxes) => {
            let analysis = engine.analyze(&frame, &boxes)?;
            float_array(env, &pack::analysis(&analysis))
        }
    }
}

/// One frame on `byte[]` planes (`p1`/`p2` may be null: see `abi::frame`). The arrays are
/// pinned or copied by the JVM (`GetByteArrayElements`), never written back.
fn on_arrays<'l>(
    env: &mut Env<'l>,
    handle: jlong,
    frame: &JIntArray<'l>,
    p: [&JByteArray<'l>; 3],
    call: impl FnOnce(&Env<'l>) -> Result<Call, BridgeError>,
) -> Result<JFloatArray<'l>, BridgeError> {
    engine_of(handle)?; // closed beats bad input
    let args = read_frame_ints(env, frame)?;
    let call = call(env)?;
    // SAFETY (all three): read-only, released with NoCopyBack when dropped at scope end.
    let e0 = if p[0].is_null() {
        None
    } else {
        Some(unsafe { p[0].get_elements(env, ReleaseMode::NoCopyBack)? })
    };
    let e1 = if p[1].is_null() {
        None
    } else {
        Some(unsafe { p[1].get_elements(env, ReleaseMode::NoCopyBack)? })
    };
    let e2 = if p[2].is_null() {
        None
    } else {
        Some(unsafe { p[2].get_elements(env, ReleaseMode::NoCopyBack)? })
    };
    let planes = Planes {
        data: [
            e0.as_deref().map(as_u8),
            e1.as_deref().map(as_u8),
            e2.as_deref().map(as_u8),
        ],
    };
    run_call(env, handle, &args, &planes, call)
}

/// One frame on direct `ByteBuffer` planes, read in place (no copy). Java passes each buffer
/// sliced at its position, so address..address+capacity is exactly the caller's bytes.
fn on_buffers<'l>(
    env: &mut Env<'l>,
    handle: jlong,
    frame: &JIntArray<'l>,
    p: [&JByteBuffer<'l>; 3],
    call: impl FnOnce(&Env<'l>) -> Result<Call, BridgeError>,
) -> Result<JFloatArray<'l>, BridgeError> {
    engine_of(handle)?;
    let args = read_frame_ints(env, frame)?;
    let call = call(env)?;
    let planes = Planes {
        data: [
            direct(env, p[0], "planes[0]")?,
            direct(env, p[1], "planes[1]")?,
            direct(env, p[2], "planes[2]")?,
        ],
    };
    run_call(env, handle, &args, &planes, call)
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_ai_moae_NativeBridge_detectArrays<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    frame: JIntArray<'l>,
    p0: JByteArray<'l>,
    p1: JByteArray<'l>,
    p2: JByteArray<'l>,
    face: JFloatArray<'l>,
) -> JFloatArray<'l> {
    guarded(&mut unowned, |env| {
        on_arrays(env, handle, &frame, [&p0, &p1, &p2], |env| {
            Ok(Call::Detect(read_box(env, &face)?))
        })
    })
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_ai_moae_NativeBridge_detectBuffers<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    frame: JIntArray<'l>,
    p0: JByteBuffer<'l>,
    p1: JByteBuffer<'l>,
    p2: JByteBuffer<'l>,
    face: JFloatArray<'l>,
) -> JFloatArray<'l> {
    guarded(&mut unowned, |env| {
        on_buffers(env, handle, &frame, [&p0, &p1, &p2], |env| {
            Ok(Call::Detect(read_box(env, &face)?))
        })
    })
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_ai_moae_NativeBridge_analyzeArrays<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    frame: JIntArray<'l>,
    p0: JByteArray<'l>,
    p1: JByteArray<'l>,
    p2: JByteArray<'l>,
    boxes: JFloatArray<'l>,
) -> JFloatArray<'l> {
    guarded(&mut unowned, |env| {
        on_arrays(env, handle, &frame, [&p0, &p1, &p2], |env| {
            Ok(Call::Analyze(read_boxes(env, &boxes)?))
        })
    })
}

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_ai_moae_NativeBridge_analyzeBuffers<'l>(
    mut unowned: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    frame: JIntArray<'l>,
    p0: JByteBuffer<'l>,
    p1: JByteBuffer<'l>,
    p2: JByteBuffer<'l>,
    boxes: JFloatArray<'l>,
) -> JFloatArray<'l> {
    guarded(&mut unowned, |env| {
        on_buffers(env, handle, &frame, [&p0, &p1, &p2], |env| {
            Ok(Call::Analyze(read_boxes(env, &boxes)?))
        })
    })
}

fn direct<'b>(
    env: &Env<'_>,
    buf: &JByteBuffer<'_>,
    name: &str,
) -> Result<Option<&'b [u8]>, BridgeError> {
    if buf.is_null() {
        return Ok(None);
    }
    let not_direct = || {
        BridgeError::invalid(
            Status::InvalidArgument,
            format!("{name} is not a direct ByteBuffer (the Java wrapper copies heap buffers)"),
        )
    };
    let addr = env
        .get_direct_buffer_address(buf)
        .map_err(|_| not_direct())?;
    let cap = env
        .get_direct_buffer_capacity(buf)
        .map_err(|_| not_direct())?;
    if addr.is_null() {
        return Err(not_direct());
    }
    // SAFETY: a direct buffer's memory stays valid while the buffer is reachable, and the Java
    // caller holds it for the duration of this call; we only read it.
    Ok(Some(unsafe {
        std::slice::from_raw_parts(addr as *const u8, cap)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_bytes_over_the_runtime_cap_are_refused_by_length() {
        assert_eq!(MAX_DETECTOR_BYTES, 64 << 20);
        assert!(detector_len_ok(0).is_ok()); // empty: the runtime's own message later
        assert!(detector_len_ok(MAX_DETECTOR_BYTES).is_ok());
        match detector_len_ok(MAX_DETECTOR_BYTES + 1) {
            Err(BridgeError::Status(s, msg)) => {
                assert_eq!(s, Status::Model);
                assert!(msg.contains("67108865 bytes"), "{msg}");
                assert!(msg.contains("faceDetectorBytes"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
}
