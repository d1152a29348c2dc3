//! The student's ONNX file (spec §9) computes what the tch student computes: fp32 within 1e-4
//! through ONNX Runtime (logits, attack score, attack-type probabilities), only mobile-safe
//! operators, and an int8 file whose convolutions ONNX Runtime really runs in int8.

use moae_onnx::meta::{INPUT_PIXELS, OUTPUT_ATTACK_SCORE, OUTPUT_ATTACK_TYPE, OUTPUT_LOGITS};
use moae_tests::*;
use moae_trainer::export::student_graph::{
    calibrate, export_student_bytes, student_meta, Int8Plan, RangeEstimator, StudentPrecision,
};
use moae_trainer::model::student::Student;
use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor as OrtTensor;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tch::{Kind, Tensor};

fn env() -> &'static Environment {
    static ENV: OnceLock<Environment> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var("ORT_DYLIB_PATH")
            .expect("ORT_DYLIB_PATH must name libonnxruntime (.cargo/config.toml sets it)");
        ort::init_from(&path)
            .unwrap_or_else(|e| panic!("loading {path}: {e}"))
            .build()
            .expect("ONNX Runtime environment")
    })
}

fn session(bytes: &[u8], optimized: Option<&std::path::Path>) -> Session {
    let mut b = Session::builder(env())
        .expect("session builder")
        .with_intra_threads(2)
        .map_err(|e| e.to_string())
        .expect("threads");
    if let Some(p) = optimized {
        b = b
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| e.to_string())
            .expect("level")
            .with_optimized_model_path(p)
            .map_err(|e| e.to_string())
            .expect("optimized model path");
    }
    b.commit_from_memory(bytes)
        .unwrap_or_else(|e| panic!("ONNX Runtime rejects the exported student: {e}"))
}

/// (logits [n·2], attack score [n], attack-type probabilities [n·4]).
fn run(s: &mut Session, pixels: &Tensor) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let input = OrtTensor::from_array((pixels.size(), values(pixels))).unwrap();
    let out = s.run(ort::inputs![INPUT_PIXELS => input]).expect("ORT run");
    let get = |name: &str| -> Vec<f32> {
        let a = out[name].try_extract_array::<f32>().unwrap();
        a.iter().copied().collect()
    };
    let types = out[OUTPUT_ATTACK_TYPE].try_extract_array::<f32>().unwrap();
    assert_eq!(types.shape(), &[pixels.size()[0] as usize, 4]);
    (
        get(OUTPUT_LOGITS),
        get(OUTPUT_ATTACK_SCORE),
        get(OUTPUT_ATTACK_TYPE),
    )
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn tch_outputs(student: &Student, px: &Tensor) -> (Tensor, Tensor) {
    tch::no_grad(|| {
        let o = student.forward_t(px, false);
        (o.logits, o.type_logits.unwrap().softmax(-1, Kind::Float))
    })
}

/// The operators ONNX Runtime's mobile build, CoreML and NNAPI all run (spec §9).
const MOBILE_OPS: [&str; 13] = [
    "Conv",
    "Relu",
    "HardSigmoid",
    "Mul",
    "Add",
    "GlobalAveragePool",
    "Flatten",
    "Gemm",
    "Softmax",
    "Gather",
    "Identity",
    "QuantizeLinear",
    "DequantizeLinear",
];

fn op_counts(bytes: &[u8]) -> BTreeMap<String, usize> {
    let m = moae_onnx::read_model(bytes).expect("an ONNX model");
    let mut counts = BTreeMap::new();
    for n in &m.graph.expect("a graph").node {
        let op = format!(
            "{}{}",
            n.domain
                .as_deref()
                .map(|d| format!("{d}."))
                .unwrap_or_default(),
            n.op_type.clone().unwrap_or_default()
        );
        *counts.entry(op).or_insert(0) += 1;
    }
    counts
}

fn parity(preset: &str) {
    let (vs, student) = random_student(preset, 11);
    let meta = student_meta(&student.cfg, &StudentPrecision::Fp32, None, "test");
    let bytes = export_student_bytes(&student, &vs, &StudentPrecision::Fp32, &meta).unwrap();
    let ops = op_counts(&bytes);
    for op in ops.keys() {
        assert!(
            MOBILE_OPS.contains(&op.as_str()),
            "{preset}: operator {op} is not mobile-safe"
        );
    }
    assert!(!ops.contains_key("BatchNormalization"));
    let mut s = session(&bytes, None);
    let size = student.cfg.image_size;
    for n in [1, 5] {
        let px = random_pixels(n, size, 40 + n);
        let (logits, probs) = tch_outputs(&student, &px);
        let (got_l, got_s, got_t) = run(&mut s, &px);
        let score = logits.softmax(-1, Kind::Float).select(1, 1);
        let (dl, ds, dt) = (
            max_abs_diff(&got_l, &values(&logits)),
            max_abs_diff(&got_s, &values(&score)),
            max_abs_diff(&got_t, &values(&probs)),
        );
        eprintln!("{preset} batch {n}: max |diff| logits {dl:.2e}, score {ds:.2e}, types {dt:.2e}");
        assert!(
            dl <= 1e-4 && ds <= 1e-4 && dt <= 1e-4,
            "{preset} batch {n}: {dl} {ds} {dt}"
        );
        if n == 5 {
            let spread = logits.select(1, 0).std(false).double_value(&[]);
            assert!(
                spread > 1e-3,
                "degenerate test student: logits barely vary ({spread})"
            );
        }
    }
}

#[test]
fn student_s_fp32_matches_tch() {
    parity("student-s");
}

#[test]
fn student_m_fp32_matches_tch() {
    parity("student-m");
}

/// Convolutions whose weights the file reads through DequantizeLinear (int8), and the others.
fn int8_and_float_convs(bytes: &[u8]) -> (usize, usize) {
    let g = moae_onnx::read_model(bytes).unwrap().graph.unwrap();
    let dq: Vec<&str> = g
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("DequantizeLinear"))
        .flat_map(|n| n.output.iter().map(String::as_str))
        .collect();
    let convs = g
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("Conv"));
    let quantised = convs.clone().filter(|n| dq.contains(&n.input[1].as_str()));
    let q = quantised.count();
    (q, convs.count() - q)
}

#[test]
fn int8_student_runs_its_convolutions_in_int8_and_stays_close() {
    let (vs, student) = random_student("student-s", 12);
    let size = student.cfg.image_size;
    let calib: Vec<Tensor> = (0..4).map(|i| random_pixels(8, size, 200 + i)).collect();
    let ranges = calibrate(&student, &calib, RangeEstimator::Percentile(99.99)).unwrap();
    let int8 = StudentPrecision::Int8(Int8Plan {
        ranges,
        float_front: 0,
        reduce_range: true,
        float_layers: Default::default(),
    });
    let meta = student_meta(&student.cfg, &int8, None, "test");
    let bytes = export_student_bytes(&student, &vs, &int8, &meta).unwrap();
    let ops = op_counts(&bytes);
    for op in ops.keys() {
        assert!(
            MOBILE_OPS.contains(&op.as_str()),
            "int8: operator {op} is not mobile-safe"
        );
    }
    // Reduced range: every output channel's largest weight is ±63, none beyond (int16 sums
    // of u8·s8 pairs cannot saturate on CPUs without VNNI).
    let g = moae_onnx::read_model(&bytes).unwrap().graph.unwrap();
    let weights: Vec<_> = g
        .initializer
        .iter()
        .filter(|t| {
            t.name
                .as_deref()
                .is_some_and(|n| n.ends_with(".weight.int8"))
        })
        .collect();
    assert!(!weights.is_empty());
    for t in weights {
        let raw = t.raw_data.as_deref().expect("raw int8 data");
        let max = raw.iter().map(|&b| (b as i8).unsigned_abs()).max().unwrap();
        assert_eq!(max, 63, "{:?}", t.name);
    }
    let dir = tempfile::tempdir().unwrap();
    let optimized = dir.path().join("optimized.onnx");
    let mut s = session(&bytes, Some(&optimized));
    let after = op_counts(&std::fs::read(&optimized).unwrap());
    eprintln!("int8 student-s: file ops {ops:?}\nORT optimised graph ops {after:?}");
    let convs = ops["Conv"];
    let qconvs = after.get("com.microsoft.QLinearConv").copied().unwrap_or(0);
    assert_eq!(qconvs, convs, "convolutions left in float: {after:?}");
    assert_eq!(
        after.get("com.microsoft.QGemm"),
        Some(&1),
        "hidden layer: {after:?}"
    );
    let px = random_pixels(5, size, 300);
    let (logits, probs) = tch_outputs(&student, &px);
    let (got_l, _, got_t) = run(&mut s, &px);
    let scale = values(&logits.abs()).into_iter().fold(0.0f32, f32::max);
    let dl = max_abs_diff(&got_l, &values(&logits));
    let dt = max_abs_diff(&got_t, &values(&probs));
    eprintln!("int8 vs tch fp32: logits {dl:.3e} (max |logit| {scale:.3e}), types {dt:.3e}");
    assert!(
        dl <= 0.1 * scale.max(1e-3),
        "int8 logits drift: {dl} vs {scale}"
    );
    for row in got_t.chunks(4) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{row:?}");
    }
}

#[test]
fn an_empty_calibration_set_is_an_error() {
    let (_, student) = random_student("student-s", 13);
    let err = calibrate(&student, &[], RangeEstimator::MinMax)
        .unwrap_err()
        .to_string();
    assert!(err.contains("calibration set is empty"), "{err}");
}

/// Values of one observation point over a batch, as the model computes them.
fn observed_values(student: &Student, px: &Tensor, point: &str) -> Vec<f32> {
    let mut out = Vec::new();
    tch::no_grad(|| {
        student.observe(px, &mut |name: &str, t: &Tensor| {
            if name == point {
                out.extend(values(t));
            }
        })
    });
    out
}

#[test]
fn percentile_ranges_bracket_the_exact_percentiles_within_one_bin() {
    let (_, student) = random_student("student-s", 14);
    let size = student.cfg.image_size;
    let calib: Vec<Tensor> = (0..2).map(|i| random_pixels(4, size, 500 + i)).collect();
    let p = 99.9;
    let minmax = calibrate(&student, &calib, RangeEstimator::MinMax).unwrap();
    let clipped = calibrate(&student, &calib, RangeEstimator::Percentile(p)).unwrap();
    assert_eq!(
        minmax.keys().collect::<Vec<_>>(),
        clipped.keys().collect::<Vec<_>>()
    );
    for point in ["stem.out", "blocks.1.depthwise.out", "hidden.in"] {
        let mut v: Vec<f32> = calib
            .iter()
            .flat_map(|b| observed_values(&student, b, point))
            .collect();
        v.sort_by(f32::total_cmp);
        let (lo, hi) = (v[0], v[v.len() - 1]);
        assert_eq!(minmax[point], (lo, hi), "{point}: min/max");
        // The values outside the estimate are at most the tail; one bin farther out they
        // would not be.
        let tail = (v.len() as f64 * (100.0 - p) / 100.0).floor() as usize;
        let bin = (hi - lo) / 4096.0;
        let (elo, ehi) = clipped[point];
        let below = |x: f32| v.iter().filter(|&&y| y < x).count();
        let above = |x: f32| v.iter().filter(|&&y| y > x).count();
        eprintln!(
            "{point}: min/max [{lo}, {hi}], {p} % [{elo}, {ehi}], {} values",
            v.len()
        );
        assert!(
            below(elo) <= tail && below(elo + 1.01 * bin) > tail,
            "{point} low {elo}"
        );
        assert!(
            above(ehi) <= tail && above(ehi - 1.01 * bin) > tail,
            "{point} high {ehi}"
        );
        if tail >= 100 {
            assert!(ehi - elo < 0.9 * (hi - lo), "{point}: nothing clipped");
        }
    }
}

#[test]
fn float_front_keeps_the_stem_and_first_blocks_in_float_and_the_rest_in_int8() {
    let (vs, student) = random_student("student-s", 15);
    let size = student.cfg.image_size;
    let calib = vec![random_pixels(8, size, 600)];
    let ranges = calibrate(&student, &calib, RangeEstimator::Percentile(99.99)).unwrap();
    let export = |float_front: usize| {
        let int8 = StudentPrecision::Int8(Int8Plan {
            ranges: ranges.clone(),
            float_front,
            reduce_range: true,
            float_layers: Default::default(),
        });
        let meta = student_meta(&student.cfg, &int8, None, "test");
        export_student_bytes(&student, &vs, &int8, &meta)
    };
    let all = export(0).unwrap();
    let front = export(2).unwrap();
    let (q_all, f_all) = int8_and_float_convs(&all);
    let (q, f) = int8_and_float_convs(&front);
    // The stem, and block 0's convolutions: expansion (when it widens), depthwise, SE, project.
    let b = &student.cfg.blocks[0];
    let block0 = 2 + usize::from(b.expand != student.cfg.stem) + 2 * usize::from(b.se);
    assert_eq!((q_all, f_all), (q + f, 0));
    assert_eq!(f, 1 + block0, "float convolutions");
    let dir = tempfile::tempdir().unwrap();
    let optimized = dir.path().join("optimized.onnx");
    let mut s = session(&front, Some(&optimized));
    let after = op_counts(&std::fs::read(&optimized).unwrap());
    let qconvs = after.get("com.microsoft.QLinearConv").copied().unwrap_or(0);
    assert_eq!(qconvs, q, "ORT's optimised graph: {after:?}");
    let px = random_pixels(3, size, 601);
    let (logits, _) = tch_outputs(&student, &px);
    let (got, _, _) = run(&mut s, &px);
    let scale = values(&logits.abs()).into_iter().fold(0.0f32, f32::max);
    assert!(max_abs_diff(&got, &values(&logits)) <= 0.1 * scale.max(1e-3));
    let too_many = student.cfg.blocks.len() + 2;
    let err = export(too_many).unwrap_err().to_string();
    assert!(err.contains("float stages"), "{err}");
}
