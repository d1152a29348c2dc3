//! Running Java against this crate's `libmoae_jni` on the host JVM: finding the JDK and the
//! library cargo built for this test run, compiling the Java API plus a test runner.
// Shared by several test binaries, each of which uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lib_name() -> String {
    format!(
        "{}moae_jni{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The cdylib for the profile under test: cargo builds it beside the test binary.
pub fn jni_library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir").to_path_buf();
    [
        deps.clone(),
        deps.parent().expect("profile dir").to_path_buf(),
    ]
    .into_iter()
    .find(|d| d.join(lib_name()).is_file())
    .unwrap_or_else(|| {
        panic!(
            "{} not found beside {}: build it with `cargo build -p moae-jni`",
            lib_name(),
            exe.display()
        )
    })
}

pub fn jdk_tool(name: &str) -> Option<PathBuf> {
    if let Ok(home) = std::env::var("JAVA_HOME") {
        let p = Path::new(&home).join("bin").join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    let found = Command::new(name).arg("-version").output().ok()?;
    found.status.success().then(|| PathBuf::from(name))
}

/// javac and java, or a failure that names what to install (never a silent pass).
pub fn jdk() -> (PathBuf, PathBuf) {
    match (jdk_tool("javac"), jdk_tool("java")) {
        (Some(c), Some(j)) => (c, j),
        _ => panic!(
            "no JDK (javac/java) on PATH or JAVA_HOME: install a JDK 11+ \
             (e.g. apt-get install openjdk-17-jdk-headless)"
        ),
    }
}

/// ORT_DYLIB_PATH, made absolute (it is relative in .cargo/config.toml).
pub fn ort_library() -> PathBuf {
    let p = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .expect("ORT_DYLIB_PATH (set by .cargo/config.toml after scripts/setup.sh)");
    if p.is_relative() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
    } else {
        p
    }
}

fn java_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("java sources in {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "java"))
        .collect()
}

/// Compiles the host-safe Java API (ai/moae/*.java), the stand-ins of the androidx nullability
/// annotations it uses, and `extra` test sources into `classes`.
pub fn compile(javac: &Path, classes: &Path, extra: &[PathBuf]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = java_files(&root.join("../moae/src/main/java/ai/moae"));
    sources.extend(java_files(&root.join("tests/java/androidx/annotation")));
    sources.extend_from_slice(extra);
    let out = Command::new(javac)
        .args(["-Xlint:all", "-Werror", "--release", "11", "-d"])
        .arg(classes)
        .args(&sources)
        .output()
        .expect("run javac");
    assert!(
        out.status.success(),
        "javac failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `main_class` with the JNI library on the library path and JNI checks on.
pub fn run(java: &Path, classes: &Path, main_class: &str, args: &[&Path]) -> Output {
    Command::new(java)
        .arg(format!(
            "-Djava.library.path={}",
            jni_library_dir().display()
        ))
        .arg("-Xcheck:jni")
        .arg("-cp")
        .arg(classes)
        .arg(main_class)
        .args(args)
        .output()
        .expect("run java")
}
