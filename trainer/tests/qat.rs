//! Quantisation-aware training of a student (docs/int8.md): the fake-quantised forward pass
//! computes what the static int8 export computes through ONNX Runtime, BatchNorm stays at its
//! running statistics, the run records its settings and resumes exactly, and bad requests are
//! refused before anything is written.

mod support;
use moae_runtime::{Engine, EngineOptions};
use moae_trainer::data::synth::{generate, SynthConfig};
use moae_trainer::export::quantize::values;
use moae_trainer::export::student_graph::{
    calibrate, export_student_bytes, layer_sensitivity, most_sensitive, student_meta, uint8_params,
    ActivationRanges, Int8Plan, RangeEstimator, StudentPrecision,
};
use moae_trainer::model::checkpoint;
use moae_trainer::model::student::{
    block, Activation, FakeQuant, Family, Student, StudentConfig, STUDENT_MEAN, STUDENT_STD,
};
use moae_trainer::model::{Net, NetRef};
use moae_trainer::train::{
    train_quantization_aware, QatConfig, RunOptions, TrainConfig, TrainData, LATEST, LOG,
};
use std::collections::HashMap;
use std::path::Path;
use support::{p1_train_data, serial, trainer};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

/// A student small enough for a test with every kind of layer: a residual block without
/// expansion, squeeze-and-excitation, both activations, a stride-2 block.
fn small_cfg() -> StudentConfig {
    StudentConfig {
        family: Family::Student,
        preset: "qat-test".into(),
        image_size: 32,
        mean: STUDENT_MEAN,
        std: STUDENT_STD,
        stem: 8,
        blocks: vec![
            block(3, 8, 8, 1, false, Activation::Relu),
            block(3, 24, 16, 2, true, Activation::Hswish),
            block(5, 32, 16, 1, true, Activation::Hswish),
        ],
        last_conv: 32,
        hidden: 24,
        attack_types: 4,
        bn_eps: 1e-3,
    }
}

/// A student with trained-looking BatchNorm (statistics and affine parameters away from 0/1),
/// so that folding changes the weights that are rounded.
fn small_student(seed: i64) -> (VarStore, Student) {
    tch::manual_seed(seed);
    let vs = VarStore::new(Device::Cpu);
    let s = Student::new(&vs.root(), &small_cfg());
    // In name order: the draws must not follow the HashMap's order.
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut t) in vars {
            let n = t.size();
            let u = |lo: f64, hi: f64| {
                Tensor::rand(n.as_slice(), (Kind::Float, Device::Cpu)) * (hi - lo) + lo
            };
            if name.ends_with("bn.running_mean") || name.ends_with("bn.bias") {
                t.copy_(&u(-0.3, 0.3));
            } else if name.ends_with("bn.running_var") || name.ends_with("bn.weight") {
                t.copy_(&u(0.5, 1.5));
            }
        }
    });
    (vs, s)
}

fn pixels(n: i64) -> Tensor {
    Tensor::rand([n, 3, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The fake-quantised forward pass gives the int8 file's logits through ONNX Runtime within
/// one quantisation step of the last int8 activation (one unit of the hidden layer's output)
/// carried to the logits: `1.5 · step · max |W|` (hard-swish's slope is at most 1.5, the
/// classifier after it is float). ONNX Runtime's integer kernels round their requantisation
/// where the float simulation rounds a float sum, so a value at a rounding tie may land one
/// step apart. The plain fp32 forward is further from the file than that, so a fake
/// quantisation that did nothing would fail.
#[test]
fn fake_quant_forward_is_the_int8_export_through_onnx_runtime() {
    let _g = serial();
    let (vs, s) = small_student(11);
    let calib = pixels(48);
    let x = pixels(32);
    let opts = EngineOptions {
        intra_op_threads: 1,
        ..Default::default()
    };
    for float_front in [0usize, 2] {
        let ranges = calibrate(
            &s,
            &[calib.shallow_clone()],
            RangeEstimator::Percentile(99.99),
        )
        .unwrap();
        let fq = FakeQuant::new(&s, ranges.clone(), float_front, 63.0).unwrap();
        let (qat, fp32) = tch::no_grad(|| {
            (
                values(&s.forward_fake_quant(&x, &fq).logits),
                values(&s.forward_t(&x, false).logits),
            )
        });
        let precision = StudentPrecision::Int8(Int8Plan {
            ranges,
            float_front,
            reduce_range: true,
            float_layers: Default::default(),
        });
        let meta = student_meta(&s.cfg, &precision, None, "qat-test");
        let bytes = export_student_bytes(&s, &vs, &precision, &meta).unwrap();
        let engine = Engine::from_bytes(&bytes, &opts).unwrap();
        let ort: Vec<f32> = engine
            .run_tensor(&values(&x), 32)
            .unwrap()
            .iter()
            .flat_map(|o| o.logits)
            .collect();
        let (lo, hi) = fq.ranges["hidden.out"];
        let step = uint8_params(lo, hi).0;
        let w = &vs.variables()["classifier.weight"];
        let bound = 1.5 * step * w.abs().max().double_value(&[]) as f32;
        let (d_qat, d_fp32) = (max_abs(&ort, &qat), max_abs(&ort, &fp32));
        eprintln!(
            "float_front {float_front}: |ORT - QAT| {d_qat:.5}, |ORT - fp32| {d_fp32:.5}, \
             bound {bound:.5}"
        );
        assert!(
            d_qat <= bound,
            "QAT forward is {d_qat} from ORT (bound {bound})"
        );
        assert!(
            d_fp32 > bound,
            "fp32 is only {d_fp32} from the int8 file (bound {bound})"
        );
    }
}

/// One backward pass through the fake-quantised forward: the running statistics are those
/// the export folds (unchanged), and gradients reach the rounded weights (straight-through)
/// and BatchNorm's affine parameters.
#[test]
fn fake_quant_freezes_batchnorm_and_passes_gradients_straight_through() {
    let _g = serial();
    let (vs, s) = small_student(12);
    let ranges = calibrate(&s, &[pixels(16)], RangeEstimator::Percentile(99.99)).unwrap();
    let fq = FakeQuant::new(&s, ranges, 1, 63.0).unwrap();
    let before = snapshot(&vs);
    let out = s.forward_fake_quant(&pixels(8), &fq);
    (out.logits.sum(Kind::Float) + out.type_logits.unwrap().sum(Kind::Float)).backward();
    for (name, t) in &before {
        if name.contains("running_") {
            assert!(vs.variables()[name].equal(t), "{name} changed");
        }
    }
    let vars = vs.variables();
    for name in [
        "blocks.1.expand.conv.weight",
        "blocks.2.depthwise.bn.weight",
        "blocks.2.se.restore.bias",
        "last.conv.weight",
        "hidden.weight",
        "stem.conv.weight",
    ] {
        let g = vars[name].grad();
        assert!(g.defined(), "{name} has no gradient");
        let norm = g.abs().sum(Kind::Float).double_value(&[]);
        assert!(norm > 0.0, "{name}'s gradient is zero");
    }
}

fn snapshot(vs: &VarStore) -> HashMap<String, Tensor> {
    vs.variables()
        .into_iter()
        .map(|(k, v)| (k, v.detach().copy()))
        .collect()
}

fn qat_cfg(steps: u64) -> TrainConfig {
    let mut c = TrainConfig {
        steps,
        batch_size: 8,
        eval_every: 1,
        seed: 3,
        qat: Some(QatConfig {
            calib_percentile: 99.99,
            float_front: 1,
            reduce_range: true,
            float_sensitive: 0,
            agreement: 1.0,
            calib_list: "test".into(),
            calib_images: 16,
        }),
        ..TrainConfig::default()
    };
    c.adam.lr = 1e-3;
    c
}

fn synth_data(root: &Path) -> TrainData {
    generate(
        root,
        &SynthConfig {
            seed: 2,
            size: 40,
            count: 4,
        },
    )
    .unwrap();
    p1_train_data(root, None)
}

/// Trains `steps` (stopping after `stop_after`, resuming when asked) from the seed-13 student.
fn qat_run(data: &TrainData, out: &Path, steps: u64, stop_after: Option<u64>, resume: bool) {
    let (mut vs, s) = small_student(13);
    let calib = [pixels(16)];
    let run = RunOptions {
        out_dir: out.to_path_buf(),
        device: Device::Cpu,
        resume,
        progress: false,
        stop_after,
    };
    let meta = Default::default();
    let model = NetRef::Student(&s);
    train_quantization_aware(
        &mut vs,
        model,
        &meta,
        &qat_cfg(steps),
        data,
        &run,
        None,
        &calib,
    )
    .unwrap();
}

/// Through the training loop: BatchNorm statistics stay those of the initial student while
/// the weights move, the checkpoint records the QAT settings, the ranges are recalibrated at
/// every checkpoint, and a run stopped after step 1 and resumed ends bit-identical to an
/// uninterrupted one.
#[test]
fn a_qat_run_keeps_batchnorm_records_its_settings_and_resumes_exactly() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let data = synth_data(&dir.path().join("data"));
    let (whole, split) = (dir.path().join("whole"), dir.path().join("split"));
    qat_run(&data, &whole, 2, None, false);
    qat_run(&data, &split, 2, Some(1), false);
    qat_run(&data, &split, 2, None, true);
    let initial = snapshot(&small_student(13).0);
    let load = |d: &Path| checkpoint::load_net(&d.join(LATEST), Device::Cpu).unwrap();
    let (a, b) = (load(&whole), load(&split));
    let (va, vb) = (a.vs.variables(), b.vs.variables());
    let mut moved = 0;
    for (name, t0) in &initial {
        if name.contains("running_") {
            assert!(va[name].equal(t0), "{name} changed during QAT");
        } else if !va[name].equal(t0) {
            moved += 1;
        }
        assert!(va[name].equal(&vb[name]), "{name}: resumed run differs");
    }
    assert!(moved > 10, "only {moved} tensors moved");
    assert!(matches!(a.net, Net::Student(_)));
    let train = a.meta.train.expect("training state");
    assert_eq!(train.config.qat, qat_cfg(2).qat);
    let log = std::fs::read_to_string(whole.join(LOG)).unwrap();
    assert_eq!(log.matches("qat_recalibrated").count(), 2, "{log}");
}

/// `trainer train --qat` refuses a CLIP checkpoint, an empty or missing calibration list, a
/// float front beyond the model and a run without --init, each by name and with no output
/// directory written.
#[test]
fn qat_refuses_bad_requests_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("data");
    generate(
        &root,
        &SynthConfig {
            seed: 1,
            size: 40,
            count: 2,
        },
    )
    .unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    for (preset, out) in [
        ("tiny", "clip.safetensors"),
        ("student-s", "student.safetensors"),
    ] {
        let (ok, text) = trainer(&["init", "--preset", preset, "--out", &p(out)]);
        assert!(ok, "{text}");
    }
    std::fs::write(d.join("empty.txt"), "").unwrap();
    let train_list = root.join("UniAttackData@p1_image_train.txt");
    std::fs::copy(&train_list, d.join("calib.txt")).unwrap();
    let root_s = root.display().to_string();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--init", &p("clip.safetensors"), "--calib", &p("calib.txt")],
            "is for a student",
        ),
        (
            &[
                "--init",
                &p("student.safetensors"),
                "--calib",
                &p("empty.txt"),
            ],
            "no samples",
        ),
        (
            &[
                "--init",
                &p("student.safetensors"),
                "--calib",
                &p("none.txt"),
            ],
            "none.txt",
        ),
        (
            &[
                "--init",
                &p("student.safetensors"),
                "--calib",
                &p("calib.txt"),
                "--float-front",
                "99",
            ],
            "--float-front 99",
        ),
        (
            &[
                "--init",
                &p("student.safetensors"),
                "--calib",
                &p("calib.txt"),
                "--float-sensitive",
                "999",
            ],
            "--float-sensitive 999: `student-s` has",
        ),
        (&["--calib", &p("calib.txt")], "--init"),
    ];
    for (i, (extra, want)) in cases.iter().enumerate() {
        let out = d.join(format!("out{i}"));
        let mut args = vec![
            "train",
            "--qat",
            "--root",
            &root_s,
            "--protocol",
            "p1",
            "--steps",
            "1",
            "--quiet",
        ];
        let out_s = out.display().to_string();
        args.extend(["--out", &out_s]);
        args.extend(extra.iter().copied());
        let (ok, text) = trainer(&args);
        assert!(!ok, "case {i} succeeded: {text}");
        assert!(text.contains(want), "case {i}: no `{want}` in: {text}");
        assert!(!text.contains("panicked"), "case {i}: {text}");
        assert!(!out.exists(), "case {i} wrote {}", out.display());
    }
}

/// The agreement term against a hand computation: margins (attack − live) 1 and −2 against
/// 0 and 0 give mean(1², 2²) = 2.5.
#[test]
fn agreement_term_is_the_mean_squared_margin_difference() {
    let int8 = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 0.0]).view([2, 2]);
    let fp32 = Tensor::from_slice(&[3.0f32, 3.0, -1.0, -1.0]).view([2, 2]);
    let t = moae_trainer::train::qat::agreement_term(&int8, &fp32).double_value(&[]);
    assert!((t - 2.5).abs() < 1e-6, "{t}");
}

/// The int8 file's logits of `s` under `plan` through ONNX Runtime, `[N · 2]`.
fn ort_logits(s: &Student, vs: &VarStore, plan: Int8Plan, x: &Tensor) -> Vec<f32> {
    let precision = StudentPrecision::Int8(plan);
    let meta = student_meta(&s.cfg, &precision, None, "qat-test");
    let bytes = export_student_bytes(s, vs, &precision, &meta).unwrap();
    let opts = EngineOptions {
        intra_op_threads: 1,
        ..Default::default()
    };
    let engine = Engine::from_bytes(&bytes, &opts).unwrap();
    engine
        .run_tensor(&values(x), x.size()[0] as usize)
        .unwrap()
        .iter()
        .flat_map(|o| o.logits)
        .collect()
}

fn plan(ranges: &ActivationRanges, float_front: usize, float: &[&str]) -> Int8Plan {
    Int8Plan {
        ranges: ranges.clone(),
        float_front,
        reduce_range: true,
        float_layers: float.iter().map(|l| l.to_string()).collect(),
    }
}

/// Layers named in `float_layers` run in float in the file and in the QAT simulation alike:
/// the simulation with them in float gives the file's logits within the bound of
/// `fake_quant_forward_is_the_int8_export_through_onnx_runtime`, and the file differs from
/// the one that quantises them by more than that (an exporter that ignored the set would
/// fail). Names that are no int8 layer are refused by both.
#[test]
fn float_layers_stay_float_in_the_file_and_in_the_simulation() {
    let _g = serial();
    let (vs, s) = small_student(14);
    let calib = pixels(48);
    let x = pixels(32);
    let layers = s.int8_layers(1);
    assert_eq!(
        layers.first().map(String::as_str),
        Some("blocks.0.depthwise")
    );
    assert_eq!(layers[layers.len() - 2..], ["last", "hidden"]);
    assert_eq!(s.int8_layers(0)[0], "stem");
    assert!(
        layers.contains(&"blocks.2.se.reduce".to_string()),
        "{layers:?}"
    );
    let ranges = calibrate(&s, &[calib], RangeEstimator::Percentile(99.99)).unwrap();
    let float = ["blocks.1.depthwise", "blocks.2.se.reduce"];
    let fq = FakeQuant::new(&s, ranges.clone(), 1, 63.0)
        .unwrap()
        .with_float_layers(&s, float.iter().map(|l| l.to_string()).collect())
        .unwrap();
    let qat = tch::no_grad(|| values(&s.forward_fake_quant(&x, &fq).logits));
    let mixed = ort_logits(&s, &vs, plan(&ranges, 1, &float), &x);
    let all_int8 = ort_logits(&s, &vs, plan(&ranges, 1, &[]), &x);
    let (lo, hi) = ranges["hidden.out"];
    let w = &vs.variables()["classifier.weight"];
    let bound = 1.5 * uint8_params(lo, hi).0 * w.abs().max().double_value(&[]) as f32;
    let (d_qat, d_int8) = (max_abs(&mixed, &qat), max_abs(&mixed, &all_int8));
    eprintln!("|mixed - QAT| {d_qat:.5}, |mixed - all int8| {d_int8:.5}, bound {bound:.5}");
    assert!(
        d_qat <= bound,
        "QAT forward is {d_qat} from the file (bound {bound})"
    );
    assert!(
        d_int8 > bound,
        "float layers changed the file by only {d_int8}"
    );

    let fq = FakeQuant::new(&s, ranges.clone(), 1, 63.0).unwrap();
    let err = fq
        .with_float_layers(&s, ["stem".to_string()].into())
        .unwrap_err();
    assert!(err.contains("stem is not an int8 layer"), "{err}");
    let precision = StudentPrecision::Int8(plan(&ranges, 1, &["hidden", "blocks.9.expand"]));
    let meta = student_meta(&s.cfg, &precision, None, "qat-test");
    let err = export_student_bytes(&s, &vs, &precision, &meta).unwrap_err();
    assert!(
        err.to_string()
            .contains("blocks.9.expand are no int8 layer"),
        "{err}"
    );
}

/// Each layer's sensitivity is what the int8 file with that layer alone in int8 does to the
/// attack margin through ONNX Runtime (checked for the most and the least sensitive layer),
/// the list names every int8 layer once, most sensitive first, and `most_sensitive` takes its
/// head or refuses more layers than there are.
#[test]
fn layer_sensitivity_is_each_layer_alone_in_int8_through_onnx_runtime() {
    let _g = serial();
    let (vs, s) = small_student(15);
    let calib = pixels(48);
    let ranges = calibrate(
        &s,
        &[calib.shallow_clone()],
        RangeEstimator::Percentile(99.99),
    )
    .unwrap();
    let sens = layer_sensitivity(&s, &[calib.shallow_clone()], &ranges, 1, 63.0).unwrap();
    let mut names: Vec<String> = sens.iter().map(|(l, _)| l.clone()).collect();
    assert!(
        sens.windows(2).all(|w| w[0].1 >= w[1].1),
        "not most sensitive first: {sens:?}"
    );
    names.sort();
    let mut layers = s.int8_layers(1);
    layers.sort();
    assert_eq!(names, layers);
    let fp32 = tch::no_grad(|| values(&s.forward_t(&calib, false).logits));
    let margin = |l: &[f32]| l.chunks(2).map(|z| z[1] - z[0]).collect::<Vec<_>>();
    let m32 = margin(&fp32);
    for (layer, value) in [&sens[0], &sens[sens.len() - 1]] {
        let all = s.int8_layers(1);
        let others: Vec<&str> = all
            .iter()
            .filter(|l| *l != layer)
            .map(String::as_str)
            .collect();
        let ort = margin(&ort_logits(&s, &vs, plan(&ranges, 1, &others), &calib));
        let mean = ort
            .iter()
            .zip(&m32)
            .map(|(a, b)| f64::from((a - b).abs()))
            .sum::<f64>()
            / m32.len() as f64;
        eprintln!("{layer}: sensitivity {value:.6}, through ONNX Runtime {mean:.6}");
        assert!(
            (mean - value).abs() <= 0.1 * value + 1e-4,
            "{layer}: sensitivity {value} but the file moves the margin by {mean}"
        );
    }
    assert!(sens[0].1 > 10.0 * sens[sens.len() - 1].1 + 1e-6, "{sens:?}");
    let top2 = most_sensitive(&sens, 2).unwrap();
    assert_eq!(top2, [sens[0].0.clone(), sens[1].0.clone()].into());
    let mut cfg = qat_cfg(1).qat.unwrap();
    cfg.float_sensitive = 2;
    let fq = moae_trainer::train::qat::fake_quant(&s, &[calib], &cfg).unwrap();
    assert_eq!(
        fq.float_layers, top2,
        "QAT simulates other float layers than the export"
    );
    let err = most_sensitive(&sens, sens.len() + 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("int8 layers after its float front"), "{err}");
}

/// `trainer export --float-sensitive N` prints every int8 layer's sensitivity and keeps the
/// first N in float (the file grows by their float weights); more layers than there are is a
/// clear error with nothing written.
#[test]
fn export_float_sensitive_keeps_the_most_sensitive_layers_in_float() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = d.join("data");
    let cfg = SynthConfig {
        seed: 4,
        size: 40,
        count: 2,
    };
    generate(&root, &cfg).unwrap();
    let p = |n: &str| d.join(n).display().to_string();
    let (ok, text) = trainer(&[
        "init",
        "--preset",
        "student-s",
        "--out",
        &p("s.safetensors"),
    ]);
    assert!(ok, "{text}");
    let calib = root.join("UniAttackData@p1_image_train.txt");
    let calib = calib.display().to_string();
    let root = root.display().to_string();
    let export = |out: &str, n: &str| {
        trainer(&[
            "export",
            "--onnx",
            &p(out),
            &p("s.safetensors"),
            "--root",
            &root,
            "--quantize",
            "int8",
            "--calib",
            &calib,
            "--float-sensitive",
            n,
        ])
    };
    let (ok, plain) = export("plain.onnx", "0");
    assert!(ok, "{plain}");
    assert!(!plain.contains("sensitivity"), "{plain}");
    let (ok, mixed) = export("mixed.onnx", "3");
    assert!(ok, "{mixed}");
    let rows: Vec<&str> = mixed.lines().filter(|l| l.starts_with("  ")).collect();
    let layers = rows.len();
    assert!(layers > 10, "{mixed}");
    assert_eq!(
        rows.iter().filter(|l| l.ends_with("float")).count(),
        3,
        "{mixed}"
    );
    assert!(rows[..3].iter().all(|l| l.ends_with("float")), "{mixed}");
    let size = |n: &str| std::fs::metadata(d.join(n)).unwrap().len();
    assert!(
        size("mixed.onnx") > size("plain.onnx"),
        "float layers kept int8 weights"
    );
    let n = (layers + 1).to_string();
    let (ok, text) = export("bad.onnx", &n);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("{n} float layers asked for")),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(!d.join("bad.onnx").exists());
}
