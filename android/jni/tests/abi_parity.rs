//! One ABI core (`moae_runtime::abi`): the same bad inputs, fed through the C ABI (`moae-ffi`,
//! called here exactly as a C program calls it) and through JNI on the host JVM
//! (`tests/java/ai/moae/AbiParityRunner.java` -> `NativeBridge`), must give the same status
//! number and the same message. Needs a JDK; without one the test fails and says so.

mod jvm;
#[allow(dead_code)] // the host JVM test uses the frame helpers, this test only the model
mod support;

use moae::moae_status::*;
use moae::*;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fmt::Write as _;
use std::path::Path;

const W: i32 = 64;
const H: i32 = 48;
const RGB: i32 = W * H * 3;
const Y: i32 = W * H;
const C: i32 = Y / 4;

/// One bad input: a frame description (detect on a good engine) or engine options (create).
enum Case {
    Frame {
        format: i32,
        size: (i32, i32),
        rotation: i32,
        strides: [i32; 3],
        /// Bytes per plane; -1 = null.
        lens: [i32; 3],
        face: Option<[f32; 4]>,
        mirrored: i32,
    },
    /// `moae_analyze` / `NativeBridge.analyzeArrays` on a good RGB frame with one box.
    Analyze {
        rect: [f32; 4],
        space: i32,
        units: i32,
    },
    Options {
        threads: i32,
        sessions: i32,
        threshold: f32,
        crop_scale: f32,
        detector_min_score: f32,
        min_face_px: f32,
        max_brightness: f32,
    },
}

fn frame(format: i32, lens: [i32; 3]) -> Case {
    Case::Frame {
        format,
        size: (W, H),
        rotation: 0,
        strides: [0; 3],
        lens,
        face: None,
        mirrored: 0,
    }
}

fn rgb() -> Case {
    frame(0, [RGB, -1, -1])
}

fn with(c: Case, f: impl FnOnce(&mut Case)) -> Case {
    let mut c = c;
    f(&mut c);
    c
}

fn rotated(deg: i32) -> Case {
    with(rgb(), |c| {
        if let Case::Frame { rotation, .. } = c {
            *rotation = deg;
        }
    })
}

fn sized(w: i32, h: i32) -> Case {
    with(rgb(), |c| {
        if let Case::Frame { size, .. } = c {
            *size = (w, h);
        }
    })
}

fn strided(format: i32, lens: [i32; 3], s: [i32; 3]) -> Case {
    with(frame(format, lens), |c| {
        if let Case::Frame { strides, .. } = c {
            *strides = s;
        }
    })
}

fn boxed(b: [f32; 4]) -> Case {
    with(rgb(), |c| {
        if let Case::Frame { face, .. } = c {
            *face = Some(b);
        }
    })
}

fn opts(threads: i32, sessions: i32, threshold: f32, crop_scale: f32) -> Case {
    Case::Options {
        threads,
        sessions,
        threshold,
        crop_scale,
        detector_min_score: -1.0,
        min_face_px: f32::NAN, // NaN here = leave the default (see c_quality / java_quality)
        max_brightness: f32::NAN,
    }
}

fn pipeline_opts(detector_min_score: f32, min_face_px: f32, max_brightness: f32) -> Case {
    Case::Options {
        threads: 1,
        sessions: 0,
        threshold: -1.0,
        crop_scale: 0.0,
        detector_min_score,
        min_face_px,
        max_brightness,
    }
}

fn mirrored(v: i32) -> Case {
    with(rgb(), |c| {
        if let Case::Frame { mirrored, .. } = c {
            *mirrored = v;
        }
    })
}

fn analyze(rect: [f32; 4], space: i32, units: i32) -> Case {
    Case::Analyze { rect, space, units }
}

fn cases() -> Vec<(&'static str, Case)> {
    vec![
        ("format_99", frame(99, [RGB, -1, -1])),
        ("format_negative", frame(-1, [RGB, -1, -1])),
        ("rotation_minus_90", rotated(-90)),
        ("rotation_45", rotated(45)),
        ("rotation_360", rotated(360)),
        ("rotation_900", rotated(900)),
        ("width_0", sized(0, H)),
        ("height_0", sized(W, 0)),
        ("rgb_short", frame(0, [RGB - 1, -1, -1])),
        ("rgb_stride_small", strided(0, [RGB, -1, -1], [100, 0, 0])),
        ("rgba_short", frame(2, [Y * 4 - 1, -1, -1])),
        (
            "bgra_stride_small",
            strided(3, [Y * 4, -1, -1], [255, 0, 0]),
        ),
        ("gray_short", frame(4, [100, -1, -1])),
        ("rgb_null", frame(0, [-1, -1, -1])),
        ("nv21_null_y", frame(5, [-1, 2 * C, -1])),
        ("nv21_one_buffer_short", frame(5, [Y - 72, -1, -1])),
        ("nv21_uv_short", frame(5, [Y, 100, -1])),
        (
            "nv12_uv_stride_small",
            strided(6, [Y, 2 * C, -1], [0, 10, 0]),
        ),
        ("i420_u_short", frame(7, [Y, 10, C])),
        ("i420_v_null", frame(7, [Y, C, -1])),
        ("i420_one_buffer_short", frame(7, [Y + 100, -1, -1])),
        ("box_nan", boxed([f32::NAN, 0.0, 10.0, 10.0])),
        ("box_inf", boxed([0.0, 0.0, f32::INFINITY, 10.0])),
        ("box_outside", boxed([1000.0, 1000.0, 10.0, 10.0])),
        ("box_zero_width", boxed([0.0, 0.0, 0.0, 10.0])),
        ("box_negative_height", boxed([0.0, 0.0, 10.0, -5.0])),
        ("threshold_nan", opts(1, 0, f32::NAN, 0.0)),
        ("threshold_1_5", opts(1, 0, 1.5, 0.0)),
        ("threshold_inf", opts(1, 0, f32::INFINITY, 0.0)),
        ("crop_scale_nan", opts(1, 0, -1.0, f32::NAN)),
        ("crop_scale_minus_inf", opts(1, 0, -1.0, f32::NEG_INFINITY)),
        ("threads_100000", opts(100_000, 0, -1.0, 0.0)),
        ("threads_65", opts(65, 0, -1.0, 0.0)),
        ("threads_negative", opts(-1, 0, -1.0, 0.0)),
        ("sessions_65", opts(1, 65, -1.0, 0.0)),
        ("sessions_negative", opts(1, -5, -1.0, 0.0)),
        ("mirrored_2", mirrored(2)),
        ("mirrored_minus_1", mirrored(-1)),
        ("box_space_2", analyze([4.0, 4.0, 32.0, 32.0], 2, 0)),
        ("box_units_minus_1", analyze([4.0, 4.0, 32.0, 32.0], 0, -1)),
        (
            "box_below_min_face_size",
            analyze([4.0, 4.0, 8.0, 8.0], 0, 0),
        ),
        ("box_normalized_tiny", analyze([0.1, 0.1, 0.05, 0.05], 1, 1)),
        (
            "box_nan_analyze",
            analyze([f32::NAN, 4.0, 32.0, 32.0], 0, 0),
        ),
        (
            "detector_min_score_2",
            pipeline_opts(2.0, f32::NAN, f32::NAN),
        ),
        (
            "detector_min_score_nan",
            pipeline_opts(f32::NAN, f32::NAN, f32::NAN),
        ),
        (
            "quality_min_face_px_inf",
            pipeline_opts(-1.0, f32::INFINITY, f32::NAN),
        ),
        (
            "quality_max_brightness_300",
            pipeline_opts(-1.0, f32::NAN, 300.0),
        ),
    ]
}

/// Each case's status and a fragment of its message: C and JNI must agree with each other and
/// with this (they share one core, so agreeing alone would let a wrong status pass both).
const EXPECTED: [(&str, moae_status, &str); 47] = [
    (
        "format_99",
        MOAE_ERR_UNKNOWN_FORMAT,
        "pixel format 99 is unknown",
    ),
    (
        "format_negative",
        MOAE_ERR_UNKNOWN_FORMAT,
        "pixel format -1 is unknown",
    ),
    (
        "rotation_minus_90",
        MOAE_ERR_INVALID_ARGUMENT,
        "rotation is -90 degrees",
    ),
    (
        "rotation_45",
        MOAE_ERR_INVALID_ARGUMENT,
        "rotation is 45 degrees",
    ),
    (
        "rotation_360",
        MOAE_ERR_INVALID_ARGUMENT,
        "rotation is 360 degrees",
    ),
    (
        "rotation_900",
        MOAE_ERR_INVALID_ARGUMENT,
        "rotation is 900 degrees",
    ),
    ("width_0", MOAE_ERR_INVALID_FRAME, "zero size 0x48"),
    ("height_0", MOAE_ERR_INVALID_FRAME, "zero size 64x0"),
    (
        "rgb_short",
        MOAE_ERR_INVALID_FRAME,
        "pixel buffer has 9215 bytes",
    ),
    (
        "rgb_stride_small",
        MOAE_ERR_INVALID_FRAME,
        "pixel stride 100 is less than its row size of 192",
    ),
    (
        "rgba_short",
        MOAE_ERR_INVALID_FRAME,
        "pixel buffer has 12287 bytes",
    ),
    (
        "bgra_stride_small",
        MOAE_ERR_INVALID_FRAME,
        "pixel stride 255 is less than its row size of 256",
    ),
    (
        "gray_short",
        MOAE_ERR_INVALID_FRAME,
        "pixel buffer has 100 bytes",
    ),
    ("rgb_null", MOAE_ERR_NULL_ARGUMENT, "`planes[0]` is NULL"),
    ("nv21_null_y", MOAE_ERR_NULL_ARGUMENT, "`planes[0]` is NULL"),
    (
        "nv21_one_buffer_short",
        MOAE_ERR_INVALID_FRAME,
        "planes[0] has 3000 bytes and no separate chroma plane",
    ),
    (
        "nv21_uv_short",
        MOAE_ERR_INVALID_FRAME,
        "UV plane buffer has 100 bytes",
    ),
    (
        "nv12_uv_stride_small",
        MOAE_ERR_INVALID_FRAME,
        "UV plane stride 10 is less than",
    ),
    (
        "i420_u_short",
        MOAE_ERR_INVALID_FRAME,
        "U plane buffer has 10 bytes",
    ),
    ("i420_v_null", MOAE_ERR_NULL_ARGUMENT, "`planes[2]` is NULL"),
    (
        "i420_one_buffer_short",
        MOAE_ERR_INVALID_FRAME,
        "U plane buffer has 100 bytes",
    ),
    (
        "box_nan",
        MOAE_ERR_INVALID_FACE_BOX,
        "has a non-finite value",
    ),
    (
        "box_inf",
        MOAE_ERR_INVALID_FACE_BOX,
        "has a non-finite value",
    ),
    (
        "box_outside",
        MOAE_ERR_INVALID_FACE_BOX,
        "lies wholly outside the upright 64x48 frame",
    ),
    (
        "box_zero_width",
        MOAE_ERR_INVALID_FACE_BOX,
        "width and height must be positive",
    ),
    (
        "box_negative_height",
        MOAE_ERR_INVALID_FACE_BOX,
        "width and height must be positive",
    ),
    (
        "threshold_nan",
        MOAE_ERR_INVALID_ARGUMENT,
        "threshold is NaN",
    ),
    (
        "threshold_1_5",
        MOAE_ERR_INVALID_ARGUMENT,
        "threshold is 1.5",
    ),
    (
        "threshold_inf",
        MOAE_ERR_INVALID_ARGUMENT,
        "threshold is inf",
    ),
    (
        "crop_scale_nan",
        MOAE_ERR_INVALID_ARGUMENT,
        "crop_scale is NaN",
    ),
    (
        "crop_scale_minus_inf",
        MOAE_ERR_INVALID_ARGUMENT,
        "crop_scale is -inf",
    ),
    (
        "threads_100000",
        MOAE_ERR_INVALID_ARGUMENT,
        "intra_op_threads is 100000",
    ),
    (
        "threads_65",
        MOAE_ERR_INVALID_ARGUMENT,
        "intra_op_threads is 65",
    ),
    (
        "threads_negative",
        MOAE_ERR_INVALID_ARGUMENT,
        "intra_op_threads is -1",
    ),
    (
        "sessions_65",
        MOAE_ERR_INVALID_ARGUMENT,
        "max_sessions is 65",
    ),
    (
        "sessions_negative",
        MOAE_ERR_INVALID_ARGUMENT,
        "max_sessions is -5",
    ),
    ("mirrored_2", MOAE_ERR_INVALID_ARGUMENT, "mirrored is 2"),
    (
        "mirrored_minus_1",
        MOAE_ERR_INVALID_ARGUMENT,
        "mirrored is -1",
    ),
    (
        "box_space_2",
        MOAE_ERR_INVALID_ARGUMENT,
        "boxes[0]: box space is 2",
    ),
    (
        "box_units_minus_1",
        MOAE_ERR_INVALID_ARGUMENT,
        "boxes[0]: box units are -1",
    ),
    (
        "box_below_min_face_size",
        MOAE_ERR_INVALID_FACE_BOX,
        "is 8.000x8.000 upright pixels",
    ),
    (
        "box_normalized_tiny",
        MOAE_ERR_INVALID_FACE_BOX,
        "is 3.200x2.400 upright pixels",
    ),
    (
        "box_nan_analyze",
        MOAE_ERR_INVALID_FACE_BOX,
        "has a non-finite value",
    ),
    (
        "detector_min_score_2",
        MOAE_ERR_INVALID_ARGUMENT,
        "detector_min_score is 2",
    ),
    (
        "detector_min_score_nan",
        MOAE_ERR_INVALID_ARGUMENT,
        "detector_min_score is NaN",
    ),
    (
        "quality_min_face_px_inf",
        MOAE_ERR_INVALID_ARGUMENT,
        "min_face_px is inf",
    ),
    (
        "quality_max_brightness_300",
        MOAE_ERR_INVALID_ARGUMENT,
        "max_brightness is 300",
    ),
];

/// A float as Java's Float.parseFloat reads it.
fn jfloat(v: f32) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        f32::INFINITY => "Infinity".into(),
        f32::NEG_INFINITY => "-Infinity".into(),
        v => v.to_string(),
    }
}

fn last_error_detail() -> String {
    let full = unsafe { CStr::from_ptr(moae_last_error()) }
        .to_string_lossy()
        .into_owned();
    // "moae_detect: <detail>": the function name is C's own prefix.
    full.split_once(": ")
        .map_or(full.clone(), |(_, d)| d.to_string())
}

/// The C ABI's initialisers, as a C program's `moae_options_init` macro fills a whole struct
/// of its own (full) size: the sized functions (the legacy symbols write only the v1 prefix).
fn c_default_options() -> moae_options {
    let mut o = std::mem::MaybeUninit::<moae_options>::uninit();
    moae_options_init_sized(o.as_mut_ptr(), std::mem::size_of::<moae_options>());
    let o = unsafe { o.assume_init() };
    assert_eq!(o.struct_size as usize, std::mem::size_of::<moae_options>());
    o
}

fn c_image() -> moae_image {
    let mut img = std::mem::MaybeUninit::<moae_image>::uninit();
    moae_image_init_sized(img.as_mut_ptr(), std::mem::size_of::<moae_image>());
    let img = unsafe { img.assume_init() };
    assert_eq!(img.struct_size as usize, std::mem::size_of::<moae_image>());
    img
}

fn c_options(ort: &CStr) -> moae_options {
    let mut o = c_default_options();
    o.ort_library_path = ort.as_ptr();
    o.intra_op_threads = 1;
    // Frames without a box are scored whole, so that the frame checks are what is compared
    // (without it, moae_detect with no box fails first, by design).
    o.whole_frame = 1;
    o
}

/// (status, detail) of one case through the C ABI.
fn through_c(model: &CStr, ort: &CStr, engine: *const moae_engine, case: &Case) -> (i32, String) {
    let status = match case {
        Case::Options {
            threads,
            sessions,
            threshold,
            crop_scale,
            detector_min_score,
            min_face_px,
            max_brightness,
        } => {
            let mut o = c_options(ort);
            o.intra_op_threads = *threads;
            o.max_sessions = *sessions;
            o.threshold = *threshold;
            o.crop_scale = *crop_scale;
            o.detector_min_score = *detector_min_score;
            if !min_face_px.is_nan() {
                o.quality.min_face_px = *min_face_px;
            }
            if !max_brightness.is_nan() {
                o.quality.max_brightness = *max_brightness;
            }
            let mut e = std::ptr::null_mut();
            let s = moae_engine_create_from_file(model.as_ptr(), &o, &mut e);
            moae_engine_destroy(e);
            s
        }
        Case::Frame {
            format,
            size,
            rotation,
            strides,
            lens,
            face,
            mirrored,
        } => {
            let bufs: Vec<Option<Vec<u8>>> = lens
                .iter()
                .map(|&n| (n >= 0).then(|| vec![0u8; n as usize]))
                .collect();
            let mut img = c_image();
            img.format = *format;
            img.width = size.0 as u32;
            img.height = size.1 as u32;
            img.rotation = *rotation;
            img.mirrored = *mirrored;
            for i in 0..3 {
                img.planes[i] = bufs[i].as_ref().map_or(std::ptr::null(), |b| b.as_ptr());
                img.plane_sizes[i] = bufs[i].as_ref().map_or(0, Vec::len);
                img.strides[i] = strides[i] as usize;
            }
            let boxes: Vec<moae_box> = face
                .iter()
                .map(|b| moae_box {
                    x: b[0],
                    y: b[1],
                    width: b[2],
                    height: b[3],
                })
                .collect();
            // SAFETY: moae_result is floats and integers only; all-zero is a valid value.
            let mut results = [unsafe { std::mem::zeroed::<moae_result>() }];
            let mut count = 0usize;
            // What a C program's `moae_detect` macro calls.
            moae_detect_sized(
                engine,
                &img,
                boxes.as_ptr(),
                boxes.len(),
                results.as_mut_ptr(),
                std::mem::size_of::<moae_result>(),
                1,
                &mut count,
            )
        }
        Case::Analyze { rect, space, units } => {
            let pixels = vec![100u8; (RGB) as usize];
            let mut img = c_image();
            img.format = 0;
            img.width = W as u32;
            img.height = H as u32;
            img.planes[0] = pixels.as_ptr();
            img.plane_sizes[0] = pixels.len();
            let b = moae_box_input {
                rect: moae_box {
                    x: rect[0],
                    y: rect[1],
                    width: rect[2],
                    height: rect[3],
                },
                space: *space,
                units: *units,
            };
            let mut faces: Vec<moae_face> = Vec::with_capacity(2);
            let (mut count, mut flags) = (0usize, 0u32);
            moae_analyze(
                engine,
                &img,
                &b,
                1,
                faces.as_mut_ptr(),
                std::mem::size_of::<moae_face>(),
                0,
                &mut count,
                &mut flags,
            )
        }
    };
    let code = status as i32;
    (
        code,
        if code == 0 {
            "ok".into()
        } else {
            last_error_detail()
        },
    )
}

fn spec_line(name: &str, case: &Case) -> String {
    match case {
        Case::Frame {
            format,
            size,
            rotation,
            strides,
            lens,
            face,
            mirrored,
        } => format!(
            "frame {name} {format} {} {} {rotation} {} {} {} {} {} {} {} {mirrored}",
            size.0,
            size.1,
            strides[0],
            strides[1],
            strides[2],
            lens[0],
            lens[1],
            lens[2],
            face.map_or("none".into(), |b| b.map(jfloat).join(","))
        ),
        Case::Analyze { rect, space, units } => format!(
            "analyze {name} {} {space} {units}",
            rect.map(jfloat).join(",")
        ),
        Case::Options {
            threads,
            sessions,
            threshold,
            crop_scale,
            detector_min_score,
            min_face_px,
            max_brightness,
        } => format!(
            "opts {name} {threads} {sessions} {} {} {} {} {}",
            jfloat(*threshold),
            jfloat(*crop_scale),
            jfloat(*detector_min_score),
            jfloat(*min_face_px),
            jfloat(*max_brightness)
        ),
    }
}

#[test]
fn c_abi_and_jni_give_the_same_status_and_message_for_each_bad_input() {
    let (javac, java) = jvm::jdk();
    let dir = tempfile::tempdir().expect("temp dir");
    let model_path = dir.path().join("tiny.onnx");
    std::fs::write(&model_path, support::tiny_model()).expect("write model");
    let ort = jvm::ort_library();
    let c_model = CString::new(model_path.to_str().unwrap()).unwrap();
    let c_ort = CString::new(ort.to_str().unwrap()).unwrap();

    let mut engine = std::ptr::null_mut();
    let o = c_options(&c_ort);
    let s = moae_engine_create_from_file(c_model.as_ptr(), &o, &mut engine);
    assert_eq!(s, moae_status::MOAE_OK, "{}", last_error_detail());

    let cases = cases();
    assert!(cases.len() >= 25, "the issue asks for at least 25 cases");
    let mut spec = format!("model {}\nort {}\n", model_path.display(), ort.display());
    let mut from_c = BTreeMap::new();
    for (name, case) in &cases {
        writeln!(spec, "{}", spec_line(name, case)).unwrap();
        from_c.insert(name.to_string(), through_c(&c_model, &c_ort, engine, case));
    }
    moae_engine_destroy(engine);
    let spec_file = dir.path().join("cases.txt");
    std::fs::write(&spec_file, &spec).expect("write cases");

    let classes = dir.path().join("classes");
    let runner =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/ai/moae/AbiParityRunner.java");
    jvm::compile(&javac, &classes, &[runner]);
    let out = jvm::run(&java, &classes, "ai.moae.AbiParityRunner", &[&spec_file]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "java failed:\n{stdout}\n{stderr}");
    assert!(
        !stderr.contains("WARNING in native method"),
        "JNI misuse reported:\n{stderr}"
    );
    let from_jni: BTreeMap<String, (i32, String)> = stdout
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let name = f.next().unwrap().to_string();
            let code = f.next().and_then(|c| c.parse().ok()).expect("status");
            (name, (code, f.next().unwrap_or("").to_string()))
        })
        .collect();

    let mut report = String::new();
    let mut statuses = std::collections::BTreeSet::new();
    for (name, _) in &cases {
        let c = &from_c[*name];
        let j = from_jni
            .get(*name)
            .unwrap_or_else(|| panic!("JNI printed no line for {name}:\n{stdout}"));
        writeln!(report, "{name:<24} C {:>2} | JNI {:>2} | {}", c.0, j.0, c.1).unwrap();
        let &(_, status, fragment) = EXPECTED
            .iter()
            .find(|e| e.0 == *name)
            .unwrap_or_else(|| panic!("{name}: no expected status in EXPECTED"));
        assert_eq!(
            c.0, status as i32,
            "{name}: C gave {c:?}, expected {status:?}"
        );
        assert!(
            c.1.contains(fragment),
            "{name}: `{}` lacks `{fragment}`",
            c.1
        );
        assert!(
            c == j,
            "{name}: C and JNI disagree:\n  C   {c:?}\n  JNI {j:?}"
        );
        statuses.insert(c.0);
    }
    println!("{report}");
    assert!(
        statuses.len() >= 5,
        "the cases should cover several statuses: {statuses:?}"
    );
    assert_eq!(
        EXPECTED.len(),
        cases.len(),
        "an EXPECTED entry without its case"
    );
}

/// C `moae_face` as the JNI face record's floats (`pack::face`: moae_face's order; the JNI
/// record has isAttack and provider between `latency_ms` and `has_attack_type`).
fn c_face_floats(f: &moae_face) -> Vec<f32> {
    let q = f.quality;
    let mut v = vec![f.r#box.x, f.r#box.y, f.r#box.width, f.r#box.height];
    v.extend(f.keypoints);
    v.extend([
        f.has_keypoints as f32,
        f.source as f32,
        f.detector_score,
        f.attack_score,
        f.live_score,
        f.threshold,
        f.decision as f32,
        f.quality_flags as f32,
        q.face_px,
        q.outside_fraction,
        q.brightness,
        q.overexposed_fraction,
        q.sharpness,
        q.roll_deg,
        q.yaw_deg,
        f.latency_ms,
        f.has_attack_type as f32,
    ]);
    v.extend(f.attack_type_probs);
    v
}

/// An engine created through C (the test fails on an error).
fn c_engine(model: &CStr, o: &moae_options) -> *mut moae_engine {
    let mut engine = std::ptr::null_mut();
    let s = moae_engine_create_from_file(model.as_ptr(), o, &mut engine);
    assert_eq!(s, moae_status::MOAE_OK, "{}", last_error_detail());
    engine
}

/// A packed RGB `moae_image` over `rgb`, which must outlive its use.
fn c_rgb_image(rgb: &[u8], (w, h): (u32, u32)) -> moae_image {
    let mut img = c_image();
    img.format = 0;
    img.width = w;
    img.height = h;
    img.planes[0] = rgb.as_ptr();
    img.plane_sizes[0] = rgb.len();
    img
}

/// One good analysis through C: (frame flags, faces).
fn c_analyze(
    model: &CStr,
    ort: &CStr,
    detector: Option<&CStr>,
    rgb: &[u8],
    (w, h): (u32, u32),
    boxes: &[moae_box_input],
) -> (u32, Vec<moae_face>) {
    let mut o = c_options(ort);
    if let Some(d) = detector {
        o.face_detector_path = d.as_ptr();
        o.whole_frame = 0;
    }
    let engine = c_engine(model, &o);
    let img = c_rgb_image(rgb, (w, h));
    // SAFETY: moae_face is floats and integers only; all-zero is a valid value.
    let mut faces = vec![unsafe { std::mem::zeroed::<moae_face>() }; 16];
    let (mut count, mut flags) = (0usize, 0u32);
    let s = moae_analyze(
        engine,
        &img,
        boxes.as_ptr(),
        boxes.len(),
        faces.as_mut_ptr(),
        std::mem::size_of::<moae_face>(),
        faces.len(),
        &mut count,
        &mut flags,
    );
    moae_engine_destroy(engine);
    assert_eq!(s, moae_status::MOAE_OK, "{}", last_error_detail());
    faces.truncate(count);
    (flags, faces)
}

/// (name, RGB bytes, (width, height), caller boxes, use the face detector).
type Run = (&'static str, Vec<u8>, (u32, u32), Vec<moae_box_input>, bool);

#[test]
fn c_and_jni_flatten_a_face_the_same_way() {
    let (javac, java) = jvm::jdk();
    let dir = tempfile::tempdir().expect("temp dir");
    let model_path = dir.path().join("tiny.onnx");
    // With an attack-type head, so that its probabilities are compared too.
    std::fs::write(&model_path, support::tiny_typed_model(4)).expect("write model");
    let ort = jvm::ort_library();
    let c_model = CString::new(model_path.to_str().unwrap()).unwrap();
    let c_ort = CString::new(ort.to_str().unwrap()).unwrap();
    let mut spec = format!("model {}\nort {}\n", model_path.display(), ort.display());

    // (name, frame file, size, rgb, boxes, detector): a caller's box on a patterned frame, the
    // whole frame, and (with the set-up's files) the detector on the astronaut photo.
    let pattern: Vec<u8> = (0..H as u32)
        .flat_map(|y| (0..W as u32).flat_map(move |x| (0..3).map(move |c| (x, y, c))))
        .map(|(x, y, c)| support::pattern(x, y, c, 9))
        .collect();
    let caller = moae_box_input {
        rect: moae_box {
            x: 6.0,
            y: 4.0,
            width: 30.0,
            height: 32.0,
        },
        space: 0,
        units: 0,
    };
    let mut runs: Vec<Run> = vec![
        (
            "caller_box",
            pattern.clone(),
            (W as u32, H as u32),
            vec![caller],
            false,
        ),
        ("whole_frame", pattern, (W as u32, H as u32), vec![], false),
    ];
    let face_dir = std::env::var_os("MOAE_FACE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/face"));
    let detector = face_dir.join("face_detection_front_128x128.onnx");
    if detector.is_file() && face_dir.join("astronaut.png").is_file() {
        let (rgb, w, h) =
            moae_runtime::decode_image(face_dir.join("astronaut.png").as_path()).expect("png");
        runs.push(("detector_astronaut", rgb, (w, h), vec![], true));
        writeln!(spec, "detector {}", detector.display()).unwrap();
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no face detector in {}: run scripts/setup.sh",
            face_dir.display()
        );
        eprintln!("SKIPPED: the detector case (no {})", face_dir.display());
    }
    let c_detector = CString::new(detector.to_str().unwrap()).unwrap();

    let mut from_c = BTreeMap::new();
    for (name, rgb, (w, h), boxes, use_detector) in &runs {
        let file = dir.path().join(format!("{name}.rgb"));
        std::fs::write(&file, rgb).expect("write frame");
        let box_spec = match boxes.first() {
            None => "none".to_string(),
            Some(b) => format!(
                "{},{},{},{},{},{}",
                jfloat(b.rect.x),
                jfloat(b.rect.y),
                jfloat(b.rect.width),
                jfloat(b.rect.height),
                b.space,
                b.units
            ),
        };
        let kind = if *use_detector { "detector" } else { "whole" };
        writeln!(
            spec,
            "face {name} {kind} {w} {h} {} {box_spec}",
            file.display()
        )
        .unwrap();
        let det = use_detector.then_some(c_detector.as_c_str());
        from_c.insert(
            *name,
            c_analyze(&c_model, &c_ort, det, rgb, (*w, *h), boxes),
        );
    }
    let spec_file = dir.path().join("faces.txt");
    std::fs::write(&spec_file, &spec).expect("write cases");
    let classes = dir.path().join("classes");
    let runner =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/ai/moae/AbiParityRunner.java");
    jvm::compile(&javac, &classes, &[runner]);
    let out = jvm::run(&java, &classes, "ai.moae.AbiParityRunner", &[&spec_file]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "java failed:\n{stdout}\n{stderr}");

    let mut scores = Vec::new();
    for (name, (flags, faces)) in &from_c {
        let line = stdout
            .lines()
            .find(|l| l.split('\t').next() == Some(name))
            .unwrap_or_else(|| panic!("JNI printed no line for {name}:\n{stdout}"));
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "{name}: JNI failed: {line}");
        let java_types: Vec<&str> = f[3].split(';').collect();
        let raw: Vec<f32> = f[1].split(',').map(|v| v.parse().expect("float")).collect();
        let has: Vec<bool> = f[2].chars().map(|c| c == 'Y').collect();
        assert_eq!(raw[1], *flags as f32, "{name}: frame flags");
        assert_eq!(raw[2] as usize, faces.len(), "{name}: face count");
        assert!(!faces.is_empty(), "{name}: no face, nothing compared");
        for (i, c) in faces.iter().enumerate() {
            let at = 3 + i * 39;
            let jni = &raw[at..at + 39];
            let c = c_face_floats(c);
            // The attack-type flag and probabilities: C = JNI record = Java FaceResult, exactly,
            // and a distribution.
            assert_eq!(
                c[32], 1.0,
                "{name} face {i}: the typed model's face has no types"
            );
            assert_eq!(
                &c[32..37],
                &jni[34..39],
                "{name} face {i}: attack types C vs JNI"
            );
            let java: Vec<f32> = java_types[i]
                .split(',')
                .map(|v| v.parse().expect("float"))
                .collect();
            assert_eq!(
                &java[..],
                &c[33..37],
                "{name} face {i}: attack types C vs Java"
            );
            let sum: f32 = java.iter().sum();
            assert!(
                (sum - 1.0).abs() < 1e-5,
                "{name} face {i}: types sum to {sum}"
            );
            // Every field but the latency (wall time of two separate calls).
            for (k, (a, b)) in c.iter().zip(jni).enumerate().take(31) {
                assert!(
                    a == b || (a - b).abs() <= 1e-6,
                    "{name} face {i} field {k}: C {a} vs JNI {b}"
                );
            }
            let score = c[18];
            // "No detector score" is one value: -1 in C and in the JNI record; Java's
            // FaceResult then says there is none.
            assert_eq!(score == -1.0, !has[i], "{name} face {i}: score {score}");
            assert_eq!(c[17] == 0.0, has[i], "{name} face {i}: source {}", c[17]);
            scores.push((name.to_string(), score));
        }
    }
    println!("detector scores (C = JNI): {scores:?}");
    assert!(
        scores.iter().any(|(_, s)| *s == -1.0),
        "no face without a detector score was compared"
    );
}

/// One good whole-frame-engine detection through C (`moae_detect_sized`, as the header's
/// `moae_detect` macro calls it).
fn c_detect(
    model: &CStr,
    ort: &CStr,
    rgb: &[u8],
    (w, h): (u32, u32),
    face: Option<moae_box>,
) -> moae_result {
    let o = c_options(ort);
    let engine = c_engine(model, &o);
    let img = c_rgb_image(rgb, (w, h));
    let boxes: Vec<moae_box> = face.into_iter().collect();
    // SAFETY: moae_result is floats and integers only; all-zero is a valid value.
    let mut r = [unsafe { std::mem::zeroed::<moae_result>() }];
    let mut count = 0usize;
    let s = moae_detect_sized(
        engine,
        &img,
        if boxes.is_empty() {
            std::ptr::null()
        } else {
            boxes.as_ptr()
        },
        boxes.len(),
        r.as_mut_ptr(),
        std::mem::size_of::<moae_result>(),
        1,
        &mut count,
    );
    moae_engine_destroy(engine);
    assert_eq!(s, moae_status::MOAE_OK, "{}", last_error_detail());
    assert_eq!(count, 1);
    r[0]
}

/// `detect`'s attack types: C `moae_result` = the JNI detection record = Java
/// `DetectionResult.attackTypeProbabilities()`, exactly, and a distribution; a model without
/// the head: C's flag 0 and zeros, the JNI record's flag 0, Java's `hasAttackType()` false.
#[test]
fn c_and_jni_carry_a_detection_s_attack_types_the_same_way() {
    let (javac, java) = jvm::jdk();
    let dir = tempfile::tempdir().expect("temp dir");
    let pattern: Vec<u8> = (0..H as u32)
        .flat_map(|y| (0..W as u32).flat_map(move |x| (0..3).map(move |c| (x, y, c))))
        .map(|(x, y, c)| support::pattern(x, y, c, 5))
        .collect();
    let frame = dir.path().join("frame.rgb");
    std::fs::write(&frame, &pattern).expect("write frame");
    let boxes = [
        None,
        Some(moae_box {
            x: 6.0,
            y: 4.0,
            width: 30.0,
            height: 32.0,
        }),
    ];
    let ort = jvm::ort_library();
    let c_ort = CString::new(ort.to_str().unwrap()).unwrap();
    let classes = dir.path().join("classes");
    let runner =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/ai/moae/AbiParityRunner.java");
    jvm::compile(&javac, &classes, &[runner]);
    for (typed, model) in [
        (true, support::tiny_typed_model(4)),
        (false, support::tiny_model()),
    ] {
        let model_path = dir.path().join(format!("tiny_{typed}.onnx"));
        std::fs::write(&model_path, model).expect("write model");
        let c_model = CString::new(model_path.to_str().unwrap()).unwrap();
        let mut spec = format!("model {}\nort {}\n", model_path.display(), ort.display());
        let mut from_c = Vec::new();
        for (i, b) in boxes.iter().enumerate() {
            let box_spec = b.map_or("none".into(), |b| {
                [b.x, b.y, b.width, b.height].map(jfloat).join(",")
            });
            writeln!(spec, "detect box{i} {W} {H} {} {box_spec}", frame.display()).unwrap();
            from_c.push(c_detect(
                &c_model,
                &c_ort,
                &pattern,
                (W as u32, H as u32),
                *b,
            ));
        }
        let spec_file = dir.path().join("detect.txt");
        std::fs::write(&spec_file, &spec).expect("write cases");
        let out = jvm::run(&java, &classes, "ai.moae.AbiParityRunner", &[&spec_file]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "java failed:\n{stdout}\n{stderr}");
        let mut seen = Vec::new();
        for (i, c) in from_c.iter().enumerate() {
            let name = format!("box{i}");
            let line = stdout
                .lines()
                .find(|l| l.split('\t').next() == Some(name.as_str()))
                .unwrap_or_else(|| panic!("JNI printed no line for {name}:\n{stdout}"));
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 3, "{name}: JNI failed: {line}");
            let jni: Vec<f32> = f[1].split(',').map(|v| v.parse().expect("float")).collect();
            assert_eq!(jni.len(), 11, "{name}: {line}");
            assert_eq!(jni[0], c.attack_score, "{name}: attack score C vs JNI");
            assert_eq!(jni[6], c.has_attack_type as f32, "{name}: flag C vs JNI");
            assert_eq!(&jni[7..], &c.attack_type_probs, "{name}: types C vs JNI");
            if !typed {
                assert_eq!(
                    (c.has_attack_type, c.attack_type_probs),
                    (0, [0.0; 4]),
                    "{name}"
                );
                assert_eq!(f[2], "none", "{name}: Java has types without the head");
                continue;
            }
            assert_eq!(
                c.has_attack_type, 1,
                "{name}: the typed model gave no types"
            );
            let java: Vec<f32> = f[2].split(',').map(|v| v.parse().expect("float")).collect();
            assert_eq!(&java[..], &c.attack_type_probs, "{name}: types C vs Java");
            let sum: f32 = java.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "{name}: types sum to {sum}");
            seen.push(c.attack_type_probs);
        }
        if typed {
            assert_ne!(
                seen[0], seen[1],
                "two crops, one answer: nothing was compared"
            );
        }
    }
}
