//! The Java API on the host JVM: builds nothing itself but finds the `libmoae_jni.so` cargo built
//! for this test run, compiles the Java sources with `javac`, and runs
//! `tests/java/ai/moae/hosttest/HostTestRunner.java` against the scores moae-runtime computes
//! here on the same frames. Needs a JDK (javac + java, 11+; JAVA_HOME or PATH).

mod jvm;
mod support;

use jvm::{jdk_tool, jni_library_dir, ort_library};

use moae_runtime::{Engine, EngineOptions, FaceBox, Frame, PixelFormat, Rotation};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case<'a> {
    name: &'a str,
    kind: &'a str,
    width: u32,
    height: u32,
    rotation: i32,
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
        frame.expect("valid test frame").with_rotation(rotation)
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
    vec![
        Case {
            name: "nv21_whole",
            kind: "nv21",
            width: 64,
            height: 48,
            rotation: 0,
            face: None,
            strides: [64, 64],
            planes: nv(1),
        },
        Case {
            name: "nv21_rot90_box",
            kind: "nv21",
            width: 64,
            height: 48,
            rotation: 90,
            face: fb(6.0, 10.0, 30.0, 34.0),
            strides: [64, 64],
            planes: nv(2),
        },
        Case {
            name: "rgba_bitmap",
            kind: "rgba",
            width: 40,
            height: 30,
            rotation: 0,
            face: fb(4.0, 2.0, 24.0, 24.0),
            strides: [160, 0],
            planes: vec![support::rgba(40, 30, 160, 3)],
        },
        Case {
            name: "rgba_padded_rot270",
            kind: "rgba",
            width: 40,
            height: 30,
            rotation: 270,
            face: None,
            strides: [176, 0],
            planes: vec![support::rgba(40, 30, 176, 4)],
        },
        Case {
            name: "yuv888_padded_rot180_box",
            kind: "yuv888",
            width: 64,
            height: 48,
            rotation: 180,
            face: fb(10.0, 8.0, 32.0, 30.0),
            strides: [72, 72],
            planes: {
                let (y, vu) = support::yuv_planes(64, 48, 72, 72, 5);
                vec![y, vu]
            },
        },
    ]
}

#[test]
fn java_api_matches_the_rust_runtime_on_the_host_jvm() {
    let (Some(javac), Some(java)) = (jdk_tool("javac"), jdk_tool("java")) else {
        // Not silently green: under CI (or with MOAE_REQUIRE_JAVA=1) a missing JDK fails the
        // run; scripts/setup.sh installs one. Elsewhere the message names what to install.
        let msg = "no JDK (javac/java) on PATH or JAVA_HOME: the host JVM tests of android/ \
                   did NOT run; install a JDK 11+ (scripts/setup.sh installs \
                   openjdk-17-jdk-headless)";
        assert!(
            std::env::var_os("MOAE_REQUIRE_JAVA").is_none() && std::env::var_os("CI").is_none(),
            "{msg}"
        );
        eprintln!("SKIPPED: {msg}");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let model_path = dir.path().join("tiny.onnx");
    std::fs::write(&model_path, support::tiny_model()).expect("write model");
    let ort = ort_library();

    // Expected values: the same runtime, on the same bytes, without the JNI layer.
    let opts = EngineOptions {
        ort_library_path: Some(ort.clone()),
        intra_op_threads: 1,
        ..EngineOptions::default()
    };
    let engine = Engine::from_path(&model_path, &opts).expect("runtime loads the tiny model");
    let mut spec = format!("model {}\nort {}\n", model_path.display(), ort.display());
    let mut attacks = Vec::new();
    for c in cases() {
        let faces: Vec<FaceBox> = c.face.into_iter().collect();
        let d = &engine.detect(&c.frame(), &faces).expect("runtime detects")[0];
        attacks.push(d.attack_score);
        let face = c.face.map_or("none".to_string(), |f| {
            format!("{},{},{},{}", f.x, f.y, f.width, f.height)
        });
        writeln!(
            spec,
            "case {} {} {} {} {} {} {} {} {:e} {:e} {} {:e}",
            c.name,
            c.kind,
            c.width,
            c.height,
            c.rotation,
            face,
            c.strides[0],
            c.strides[1],
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
    // The frames must differ in score, or "matches the runtime" would prove little.
    attacks.sort_by(f32::total_cmp);
    attacks.dedup();
    assert!(
        attacks.len() >= 4,
        "test frames give too few distinct scores: {attacks:?}"
    );
    let cases_file = dir.path().join("cases.txt");
    std::fs::write(&cases_file, &spec).expect("write cases");

    // Compile the host-safe Java API (ai/moae/*.java, not ai/moae/android/) and the runner.
    let android = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let api_dir = android.join("moae/src/main/java/ai/moae");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&api_dir)
        .expect("java sources")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "java"))
        .collect();
    sources.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/java/ai/moae/hosttest/HostTestRunner.java"),
    );
    let classes = dir.path().join("classes");
    let out = Command::new(&javac)
        .args(["-Xlint:all", "-Werror", "--release", "11", "-d"])
        .arg(&classes)
        .args(&sources)
        .output()
        .expect("run javac");
    assert!(
        out.status.success(),
        "javac failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(&java)
        .arg(format!(
            "-Djava.library.path={}",
            jni_library_dir().display()
        ))
        .arg("-Xcheck:jni")
        .arg("-cp")
        .arg(&classes)
        .arg("ai.moae.hosttest.HostTestRunner")
        .arg(&cases_file)
        .output()
        .expect("run java");
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
}
