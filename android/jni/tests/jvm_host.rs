//! The Java API on the host JVM: builds nothing itself but finds the `libmoae_jni.so` cargo built
//! for this test run, compiles the Java sources (the core API, the CameraX helper against
//! stand-ins of its three CameraX types) with `javac`, and runs
//! `tests/java/ai/moae/hosttest/HostTestRunner.java` against what moae-runtime computes here on
//! the same frames: scores for `detect*`, whole analyses (or the exact error) for `analyze`.
//! Needs a JDK (javac + java, 11+; JAVA_HOME or PATH).

mod jvm;
mod support;

use jvm::{jdk_tool, jni_library_dir, ort_library};

use moae_jni::pack;
use moae_runtime::abi::AbiError;
use moae_runtime::{
    BoxInput, BoxSpace, BoxUnits, DetectorModel, Engine, EngineOptions, FaceBox, Frame,
    PixelFormat, QualityOptions, Rotation, YuvMatrix, YuvRange,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case<'a> {
    name: &'a str,
    kind: &'a str,
    width: u32,
    height: u32,
    rotation: i32,
    mirrored: bool,
    limited: bool,
    bt709: bool,
    face: Option<FaceBox>,
    strides: [usize; 2],
    planes: Vec<Vec<u8>>,
}

impl Case<'_> {
    fn frame(&self) -> Frame<'_> {
        let (w, h) = (self.width, self.height);
        let frame = match self.kind {
            "nv21" => {
                let (y, vu) = self.planes[0].split_at(self.strides[0] * h as usize);
                Frame::nv(
                    PixelFormat::Nv21,
                    y,
                    self.strides[0],
                    vu,
                    self.strides[0],
                    w,
                    h,
                )
            }
            "rgba" => Frame::packed(PixelFormat::Rgba, &self.planes[0], w, h, self.strides[0]),
            "rgb" => Frame::packed(PixelFormat::Rgb, &self.planes[0], w, h, self.strides[0]),
            "yuv888" => {
                // As Android hands them out for pixel stride 2: V and U views of one VU block.
                let vu = &self.planes[1];
                let (u, v) = (&vu[1..], &vu[..vu.len() - 1]);
                let [ys, uvs] = self.strides;
                Frame::yuv420_888(&self.planes[0], ys, u, v, uvs, 2, w, h)
            }
            other => panic!("unknown kind {other}"),
        };
        let rotation = Rotation::try_from(self.rotation).expect("rotation");
        frame
            .expect("valid test frame")
            .with_rotation(rotation)
            .with_mirrored(self.mirrored)
            .with_yuv_matrix(if self.bt709 {
                YuvMatrix::Bt709
            } else {
                YuvMatrix::Bt601
            })
            .with_yuv_range(if self.limited {
                YuvRange::Limited
            } else {
                YuvRange::Full
            })
    }
}

fn cases() -> Vec<Case<'static>> {
    let nv = |seed| {
        let (y, vu) = support::yuv_planes(64, 48, 64, 64, seed);
        vec![[y, vu].concat()]
    };
    let fb = |x, y, width, height| {
        Some(FaceBox {
            x,
            y,
            width,
            height,
        })
    };
    let base = |name, kind, width, height, rotation, face, strides, planes| Case {
        name,
        kind,
        width,
        height,
        rotation,
        mirrored: false,
        limited: false,
        bt709: false,
        face,
        strides,
        planes,
    };
    let yuv888 = |seed| {
        let (y, vu) = support::yuv_planes(64, 48, 72, 72, seed);
        vec![y, vu]
    };
    let rgba_bitmap = support::rgba(40, 30, 160, 3);
    vec![
        base("nv21_whole", "nv21", 64, 48, 0, None, [64, 64], nv(1)),
        base(
            "nv21_rot90_box",
            "nv21",
            64,
            48,
            90,
            fb(6.0, 10.0, 30.0, 34.0),
            [64, 64],
            nv(2),
        ),
        base(
            "rgba_bitmap",
            "rgba",
            40,
            30,
            0,
            fb(4.0, 2.0, 24.0, 24.0),
            [160, 0],
            vec![rgba_bitmap.clone()],
        ),
        base(
            "rgba_padded_rot270",
            "rgba",
            40,
            30,
            270,
            None,
            [176, 0],
            vec![support::rgba(40, 30, 176, 4)],
        ),
        base(
            "yuv888_padded_rot180_box",
            "yuv888",
            64,
            48,
            180,
            fb(10.0, 8.0, 32.0, 30.0),
            [72, 72],
            yuv888(5),
        ),
        // The mirror image of rgba_bitmap's buffer, said to be mirrored: the same scene, so
        // the same box (upright, un-mirrored coordinates).
        Case {
            mirrored: true,
            ..base(
                "rgba_mirrored",
                "rgba",
                40,
                30,
                0,
                fb(4.0, 2.0, 24.0, 24.0),
                [160, 0],
                vec![mirror_rows(&rgba_bitmap, 40, 4, 160)],
            )
        },
        Case {
            mirrored: true,
            ..base(
                "yuv888_mirrored_rot90_box",
                "yuv888",
                64,
                48,
                90,
                fb(6.0, 12.0, 30.0, 32.0),
                [72, 72],
                yuv888(6),
            )
        },
        // nv21_whole's bytes read as limited ("video") range.
        Case {
            limited: true,
            ..base("nv21_limited", "nv21", 64, 48, 0, None, [64, 64], nv(1))
        },
        // The same bytes decoded with BT.709 (HD video's matrix) instead of BT.601.
        Case {
            bt709: true,
            ..base("nv21_bt709", "nv21", 64, 48, 0, None, [64, 64], nv(1))
        },
    ]
}

/// Each row of a packed image mirrored pixel by pixel (row padding stays where it is).
fn mirror_rows(buf: &[u8], w: usize, bpp: usize, stride: usize) -> Vec<u8> {
    let mut out = buf.to_vec();
    for (src, dst) in buf.chunks(stride).zip(out.chunks_mut(stride)) {
        for x in 0..w {
            let s = (w - 1 - x) * bpp;
            dst[x * bpp..(x + 1) * bpp].copy_from_slice(&src[s..s + bpp]);
        }
    }
    out
}

/// An engine as the Java side makes it for an analysis case (`Options` in HostTestRunner).
fn engine_options(kind: &str, ort: &Path, detector: Option<&Path>) -> EngineOptions {
    let mut o = EngineOptions {
        ort_library_path: Some(ort.to_path_buf()),
        intra_op_threads: 1,
        ..EngineOptions::default()
    };
    match kind {
        "whole" => o.whole_frame = true,
        "strict" => {
            o.whole_frame = true;
            o.quality = QualityOptions {
                min_face_px: 10_000.0,
                allow_several_faces: true,
                ..QualityOptions::default()
            };
        }
        "plain" => {}
        "detector" => {
            o.face_detector = Some(DetectorModel::Path(
                detector
                    .expect("detector case without a detector")
                    .to_path_buf(),
            ))
        }
        other => panic!("unknown engine kind {other}"),
    }
    o
}

struct Analysis {
    name: &'static str,
    case: &'static str,
    engine: &'static str,
    boxes: Vec<BoxInput>,
}

fn bx(x: f32, y: f32, w: f32, h: f32, space: BoxSpace, units: BoxUnits) -> BoxInput {
    BoxInput {
        rect: FaceBox {
            x,
            y,
            width: w,
            height: h,
        },
        space,
        units,
    }
}

fn analyses() -> Vec<Analysis> {
    use BoxSpace::{Raw, Upright};
    use BoxUnits::{Normalized, Pixels};
    let a = |name, case, engine, boxes| Analysis {
        name,
        case,
        engine,
        boxes,
    };
    vec![
        a(
            "caller_box",
            "rgba_bitmap",
            "whole",
            vec![bx(4.0, 2.0, 24.0, 24.0, Upright, Pixels)],
        ),
        a("no_detector_no_box", "rgba_bitmap", "plain", vec![]),
        a("whole_frame", "nv21_whole", "whole", vec![]),
        a(
            "raw_normalized_mirrored_rot90",
            "yuv888_mirrored_rot90_box",
            "whole",
            vec![bx(0.2, 0.1, 0.5, 0.6, Raw, Normalized)],
        ),
        a(
            "strict_quality_limits",
            "rgba_bitmap",
            "strict",
            vec![bx(4.0, 2.0, 24.0, 24.0, Upright, Pixels)],
        ),
        a(
            "two_boxes",
            "nv21_rot90_box",
            "whole",
            vec![
                bx(2.0, 2.0, 20.0, 20.0, Upright, Pixels),
                bx(20.0, 30.0, 24.0, 24.0, Upright, Pixels),
            ],
        ),
        a(
            "tiny_box",
            "rgba_bitmap",
            "whole",
            vec![bx(2.0, 2.0, 4.0, 4.0, Upright, Pixels)],
        ),
        a("detector_astronaut", "astronaut", "detector", vec![]),
        a("detector_empty_frame", "gray_frame", "detector", vec![]),
    ]
}

/// Each analysis case tests what its name says (else "Java equals the runtime" would hold
/// vacuously, e.g. on zero faces).
fn expect_meaningful(name: &str, r: &moae_runtime::FrameAnalysis) {
    use moae_runtime::{Decision, FaceSource, QualityFlags};
    let n = r.faces.len();
    let first = r.faces.first();
    let ok = match name {
        "caller_box" | "raw_normalized_mirrored_rot90" => {
            n == 1 && first.unwrap().source == FaceSource::Caller
        }
        "whole_frame" => n == 1 && first.unwrap().source == FaceSource::WholeFrame,
        "strict_quality_limits" => {
            n == 1
                && first
                    .unwrap()
                    .quality
                    .flags
                    .contains(QualityFlags::TOO_SMALL)
                && first.unwrap().decision == Decision::Unsure
        }
        "two_boxes" => n == 2 && r.flags.contains(QualityFlags::SEVERAL_FACES),
        "detector_astronaut" => {
            n >= 1
                && first.unwrap().source == FaceSource::Detector
                && first.unwrap().keypoints.is_some()
                && first.unwrap().detector_score.is_some()
        }
        "detector_empty_frame" => n == 0 && r.flags.contains(QualityFlags::NO_FACE),
        _ => true,
    };
    assert!(ok, "analysis case {name} does not test what it says: {r:?}");
}

/// The face detector and photo the set-up places (rules: `$root/.venv/face`, `MOAE_FACE_DIR`).
fn face_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MOAE_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/face"));
    let ok = dir.join("face_detection_front_128x128.onnx").is_file()
        && dir.join("astronaut.png").is_file();
    ok.then_some(dir)
}

fn detector_cases(dir: &Path) -> Vec<Case<'static>> {
    let (rgb, w, h) =
        moae_runtime::decode_image(dir.join("astronaut.png").as_path()).expect("astronaut.png");
    let flat = vec![118u8; 64 * 48 * 3];
    vec![
        Case {
            name: "astronaut",
            kind: "rgb",
            width: w,
            height: h,
            rotation: 0,
            mirrored: false,
            limited: false,
            bt709: false,
            face: None,
            strides: [w as usize * 3, 0],
            planes: vec![rgb],
        },
        Case {
            name: "gray_frame",
            kind: "rgb",
            width: 64,
            height: 48,
            rotation: 0,
            mirrored: false,
            limited: false,
            bt709: false,
            face: None,
            strides: [64 * 3, 0],
            planes: vec![flat],
        },
    ]
}

fn space_code(s: BoxSpace) -> i32 {
    match s {
        BoxSpace::Upright => 0,
        BoxSpace::Raw => 1,
    }
}

fn units_code(u: BoxUnits) -> i32 {
    match u {
        BoxUnits::Pixels => 0,
        BoxUnits::Normalized => 1,
    }
}

/// `model` with `extra` bytes appended as an unknown length-delimited field (number 999) of
/// the ONNX ModelProto: protobuf parsers skip it, so the model is the same, only larger.
fn padded_model(model: &[u8], extra: usize) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = model.to_vec();
    varint((999 << 3) | 2, &mut out);
    varint(extra as u64, &mut out);
    out.resize(out.len() + extra, 0x5A);
    out
}

fn require_or_skip(what: &str) -> bool {
    assert!(
        std::env::var_os("MOAE_REQUIRE_JAVA").is_none() && std::env::var_os("CI").is_none(),
        "{what}"
    );
    eprintln!("SKIPPED: {what}");
    false
}

#[test]
fn java_api_matches_the_rust_runtime_on_the_host_jvm() {
    let (Some(javac), Some(java)) = (jdk_tool("javac"), jdk_tool("java")) else {
        // Not silently green: under CI (or with MOAE_REQUIRE_JAVA=1) a missing JDK fails the
        // run; scripts/setup.sh installs one. Elsewhere the message names what to install.
        require_or_skip(
            "no JDK (javac/java) on PATH or JAVA_HOME: the host JVM tests of android/ did NOT \
             run; install a JDK 11+ (scripts/setup.sh installs openjdk-17-jdk-headless)",
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let model_path = dir.path().join("tiny.onnx");
    std::fs::write(&model_path, support::tiny_model()).expect("write model");
    let ort = ort_library();
    let face = face_dir();
    if face.is_none() {
        // The face-detector cases need the set-up's files; everything else still runs.
        let _ = require_or_skip(
            "no face detector in .venv/face (or MOAE_FACE_DIR): the detector cases of the host \
             JVM test did NOT run; run scripts/setup.sh",
        );
    }
    let detector = face
        .as_ref()
        .map(|d| d.join("face_detection_front_128x128.onnx"));

    // Expected values: the same runtime, on the same bytes, without the JNI layer. Frames
    // without a box are scored whole by `detect`, which needs whole_frame (as in Java).
    let whole = Engine::from_path(&model_path, &engine_options("whole", &ort, None))
        .expect("runtime loads the tiny model");
    let mut spec = format!("model {}\nort {}\n", model_path.display(), ort.display());
    if let Some(d) = &detector {
        writeln!(spec, "face_detector {}", d.display()).unwrap();
    }
    let mut all_cases = cases();
    if let Some(d) = &face {
        all_cases.extend(detector_cases(d));
    }
    let mut attack_of = std::collections::BTreeMap::new();
    for c in &all_cases {
        let faces: Vec<FaceBox> = c.face.into_iter().collect();
        let d = &whole.detect(&c.frame(), &faces).expect("runtime detects")[0];
        attack_of.insert(c.name, d.attack_score);
        let face = c.face.map_or("none".to_string(), |f| {
            format!("{},{},{},{}", f.x, f.y, f.width, f.height)
        });
        writeln!(
            spec,
            "case {} {} {} {} {} {} {} {} {} {} {} {:e} {:e} {} {:e}",
            c.name,
            c.kind,
            c.width,
            c.height,
            c.rotation,
            face,
            c.strides[0],
            c.strides[1],
            u8::from(c.mirrored),
            u8::from(c.limited),
            u8::from(c.bt709),
            d.attack_score,
            d.live_score,
            u8::from(d.is_attack),
            d.threshold
        )
        .unwrap();
        for (i, p) in c.planes.iter().enumerate() {
            std::fs::write(dir.path().join(format!("{}.p{i}", c.name)), p).expect("write plane");
        }
    }
    // The frames must differ in score, or "matches the runtime" would prove little; and the
    // range flag must change the score, or passing it through would not be tested.
    let mut attacks: Vec<f32> = attack_of.values().copied().collect();
    attacks.sort_by(f32::total_cmp);
    attacks.dedup();
    assert!(
        attacks.len() >= 5,
        "test frames give too few distinct scores: {attacks:?}"
    );
    assert_ne!(
        attack_of["nv21_limited"], attack_of["nv21_whole"],
        "limited vs full range gives the same score: the range test would prove nothing"
    );
    assert_ne!(
        attack_of["nv21_bt709"], attack_of["nv21_whole"],
        "BT.709 vs BT.601 gives the same score: the matrix test would prove nothing"
    );
    // A mirrored buffer said to be mirrored is the same scene (the geometry contract): the
    // runtime must give the same score, and Java must too (the "same" line).
    assert!(
        (attack_of["rgba_mirrored"] - attack_of["rgba_bitmap"]).abs() <= 1e-5,
        "the runtime does not un-mirror: rgba_mirrored {} vs rgba_bitmap {}",
        attack_of["rgba_mirrored"],
        attack_of["rgba_bitmap"]
    );
    writeln!(spec, "same rgba_bitmap rgba_mirrored").unwrap();

    // Analyses: the runtime's result (every field) or its exact error.
    let mut analyses_run = 0;
    for a in analyses() {
        let Some(c) = all_cases.iter().find(|c| c.name == a.case) else {
            continue; // a detector case without the set-up's files
        };
        let engine = Engine::from_path(
            &model_path,
            &engine_options(a.engine, &ort, detector.as_deref()),
        )
        .expect("runtime engine for the analysis");
        let boxes = if a.boxes.is_empty() {
            "none".to_string()
        } else {
            a.boxes
                .iter()
                .map(|b| {
                    format!(
                        "{},{},{},{},{},{}",
                        b.rect.x,
                        b.rect.y,
                        b.rect.width,
                        b.rect.height,
                        space_code(b.space),
                        units_code(b.units)
                    )
                })
                .collect::<Vec<_>>()
                .join(";")
        };
        let status = match engine.analyze(&c.frame(), &a.boxes) {
            Ok(result) => {
                expect_meaningful(a.name, &result);
                let text: String = pack::analysis(&result)
                    .iter()
                    .map(|v| format!("{v:e}\n"))
                    .collect();
                std::fs::write(dir.path().join(format!("{}.analysis", a.name)), text)
                    .expect("write analysis");
                0
            }
            Err(e) => {
                let e = AbiError::from(e);
                std::fs::write(dir.path().join(format!("{}.error", a.name)), &e.detail)
                    .expect("write error");
                e.status.code()
            }
        };
        writeln!(
            spec,
            "analyze {} {} {} {} {}",
            a.name, a.case, a.engine, boxes, status
        )
        .unwrap();
        analyses_run += 1;
    }
    assert!(analyses_run >= 7, "only {analyses_run} analysis cases");
    let cases_file = dir.path().join("cases.txt");
    std::fs::write(&cases_file, &spec).expect("write cases");

    // Compile the host-safe Java API (ai/moae/*.java), the CameraX and Android helpers with
    // stand-ins of the CameraX/Android types they call, and the runner.
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java");
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("../moae/src/main/java/ai/moae");
    let classes = dir.path().join("classes");
    jvm::compile(
        &javac,
        &classes,
        &[
            tests.join("ai/moae/hosttest/HostTestRunner.java"),
            main.join("camerax/MoaeCameraX.java"),
            main.join("android/MoaeAndroid.java"),
            tests.join("android/content/res/AssetManager.java"),
            tests.join("android/content/res/AssetFileDescriptor.java"),
            tests.join("android/graphics/Bitmap.java"),
            tests.join("android/graphics/RectF.java"),
            tests.join("android/media/Image.java"),
            tests.join("androidx/camera/core/ImageProxy.java"),
            tests.join("androidx/camera/core/ImageInfo.java"),
            tests.join("androidx/camera/core/ImageAnalysis.java"),
        ],
    );

    let out = jvm::run(
        &java,
        &classes,
        "ai.moae.hosttest.HostTestRunner",
        &[&cases_file],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "Java host tests failed (exit {:?})",
        out.status.code()
    );
    assert!(
        stdout.contains("SUMMARY passed=") && stdout.contains(" failed=0"),
        "no summary"
    );
    // -Xcheck:jni reports misuse (e.g. a JNI call with an exception pending) as warnings.
    assert!(
        !stderr.contains("WARNING in native method"),
        "JNI misuse reported:\n{stderr}"
    );

    // A missing libmoae_jni: the library error status, not INVALID_ARGUMENT.
    let empty = dir.path().join("no-native-libraries");
    std::fs::create_dir(&empty).expect("empty dir");
    let out = Command::new(&java)
        .arg(format!("-Djava.library.path={}", empty.display()))
        .arg("-cp")
        .arg(&classes)
        .arg("ai.moae.hosttest.HostTestRunner")
        .arg("--missing-library")
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("ok   missing libmoae_jni"),
        "missing-library run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A model larger than the JVM's heap loads from a path, a memory map and a stream.
    let large = dir.path().join("large-model.onnx");
    std::fs::write(&large, padded_model(&support::tiny_model(), 24 << 20)).expect("large model");
    let out = Command::new(&java)
        .arg("-Xmx16m")
        .arg(format!(
            "-Djava.library.path={}",
            jni_library_dir().display()
        ))
        .arg("-Xcheck:jni")
        .arg("-cp")
        .arg(&classes)
        .arg("ai.moae.hosttest.HostTestRunner")
        .arg("--large-model")
        .arg(&large)
        .arg(ort_library())
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains(" failed=0"),
        "large-model run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The library really is where the main run found it.
    assert!(jni_library_dir().is_dir());
}
