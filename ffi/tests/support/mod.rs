//! Test support shared by the C ABI driver, the JNI host test and the fuzz target: a tiny
//! valid libmoae model (moae-onnx's graph builder, no exporter or libtorch needed) and
//! deterministic test images.
#![allow(dead_code)]

use moae_onnx::meta::{
    ModelMeta, ATTACK_TYPES, CLASSES, FORMAT_VERSION, INPUT_PIXELS, OUTPUT_ATTACK_TYPE,
};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{to_bytes, Attr, Dim, GraphBuilder, IR_VERSION, OPSET};

/// Side of the tiny model's square input.
pub const INPUT_SIZE: u32 = 16;

/// Deterministic pseudo-random numbers (xorshift), no external crate needed.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u32(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 32) as u32
    }
    pub fn unit(&mut self) -> f32 {
        self.next_u32() as f32 / u32::MAX as f32
    }
}

pub fn tiny_meta(threshold: f32) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: "{\"preset\":\"ffi-test\"}".into(),
        preset: "ffi-test".into(),
        variant: "linear".into(),
        input_size: INPUT_SIZE,
        mean: [0.48145466, 0.4578275, 0.40821073],
        std: [0.268_629_5, 0.261_302_6, 0.275_777_1],
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        attack_types: Vec::new(),
        threshold,
        threshold_calibrated: true,
        precision: "fp32".into(),
        checkpoint_sha256: "00".repeat(32),
        producer: "moae-ffi tests".into(),
    }
}

/// A linear classifier over all pixels: logits = flatten(x) W + b, attack = softmax[:, 1].
/// Every pixel matters, so crops, rotations and formats show up in the scores.
pub fn tiny_model() -> Vec<u8> {
    let s = INPUT_SIZE as i64;
    let features = 3 * s * s;
    let mut rng = Rng::new(7);
    let w: Vec<f32> = (0..features * 2)
        .map(|_| (rng.unit() - 0.5) * 0.1)
        .collect();
    let n = Dim::batch();
    let mut g = GraphBuilder::new("moae_ffi_tiny");
    let x = g.input(
        INPUT_PIXELS,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let w = g.initializer_f32("W", &[features, 2], &w);
    let b = g.initializer_f32("B", &[2], &[0.1, -0.1]);
    let flat = g.op("Flatten", &[&x], vec![Attr::int("axis", 1)]);
    let mm = g.op("MatMul", &[&flat, &w], vec![]);
    let logits = g.op("Add", &[&mm, &b], vec![]);
    g.classifier_outputs(&logits, &n);
    let meta = tiny_meta(0.5);
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-ffi-tests", Some(&meta)))
}

/// [`tiny_model`] with an attack-type head: `attack_type` = softmax(flatten(x) W_t) over
/// `width` classes, declared in the metadata as the 4 classes of `ATTACK_TYPES` (a `width`
/// other than 4 is a model whose head does not match its metadata).
pub fn tiny_typed_model(width: i64) -> Vec<u8> {
    let s = INPUT_SIZE as i64;
    let features = 3 * s * s;
    let mut rng = Rng::new(7);
    let mut weights = |n: i64| -> Vec<f32> { (0..n).map(|_| (rng.unit() - 0.5) * 0.1).collect() };
    let (w, wt) = (weights(features * 2), weights(features * width));
    let n = Dim::batch();
    let mut g = GraphBuilder::new("moae_ffi_tiny_typed");
    let x = g.input(
        INPUT_PIXELS,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let w = g.initializer_f32("W", &[features, 2], &w);
    let wt = g.initializer_f32("W_types", &[features, width], &wt);
    let flat = g.op("Flatten", &[&x], vec![Attr::int("axis", 1)]);
    let logits = g.op("MatMul", &[&flat, &w], vec![]);
    let t = g.op("MatMul", &[&flat, &wt], vec![]);
    let probs = g.op("Softmax", &[&t], vec![Attr::int("axis", -1)]);
    g.classifier_outputs(&logits, &n);
    g.output(
        &probs,
        OUTPUT_ATTACK_TYPE,
        DataType::Float,
        &[n, width.into()],
    );
    let mut meta = tiny_meta(0.5);
    meta.attack_types = ATTACK_TYPES.iter().map(|s| s.to_string()).collect();
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-ffi-tests", Some(&meta)))
}

/// A W x H packed RGB test image: smooth gradients plus seeded noise.
pub fn test_image(seed: u64, w: u32, h: u32) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let phase = (seed % 7) as f32;
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let base = 128.0
                    + 90.0 * ((x as f32 * 0.3 + y as f32 * 0.17 * (c + 1) as f32 + phase).sin());
                let v = base + (rng.unit() - 0.5) * 60.0;
                out.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// Whether `name` is missing (then the caller returns): under CI that is a failure, since an
/// unrun test must not show green; elsewhere it says SKIPPED. scripts/setup.sh installs it.
pub fn tool_missing(name: &str) -> bool {
    let missing = std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_err();
    if missing {
        let msg = format!("{name} is not installed (scripts/setup.sh installs it with apt-get)");
        assert!(std::env::var_os("CI").is_none(), "CI is set and {msg}");
        eprintln!("SKIPPED: {msg}");
    }
    missing
}

/// valgrind memcheck as the C ABI's suites run it: leaks that are libmoae's (definite,
/// indirect) are errors; ONNX Runtime's process-lifetime allocations are suppressed by
/// `supp`; exit status `error_exit` when memcheck found anything.
#[allow(dead_code)] // not every test binary that includes this module runs valgrind
pub fn memcheck(supp: &std::path::Path, error_exit: u8) -> std::process::Command {
    let mut c = std::process::Command::new("valgrind");
    c.arg(format!("--error-exitcode={error_exit}"))
        .args([
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
            "--track-origins=no",
            "-q",
        ])
        .arg(format!("--suppressions={}", supp.display()));
    c
}
