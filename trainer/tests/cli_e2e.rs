//! Every `trainer` subcommand end to end through the binary on a tiny set (tiny preset, a few
//! steps, 32-px synthetic images), asserting what it wrote; bad numbers are clear errors; an
//! interrupted or failing write (a fault injected inside the real writer, or a signal) leaves
//! no partial file and no temp file. One synthetic set and one training run are shared by the
//! tests (CI time).

use moae_onnx::{model_meta, read_model};
use moae_trainer::model::checkpoint;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tch::Device;

fn trainer(args: &[&str]) -> Output {
    trainer_env(args, &[])
}

fn trainer_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trainer"));
    c.args(args).env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("running trainer")
}

/// Runs `args`, asserts success, returns stdout.
fn ok(args: &[&str]) -> String {
    let o = trainer(args);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{args:?}\n{out}\n{err}");
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Files in `dir` whose name contains `.tmp-` (the atomic writer's temp files).
fn temps(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

const FAST: [&str; 6] = ["--workers", "1", "--threads", "1", "--batch-size", "8"];

/// The shared fixture: synthetic data and one 4-step run (dev-evaluated at steps 2 and 4).
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
    run: PathBuf,
    train_stdout: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let data = root.join("data");
        let out = ok(&[
            "synth",
            "--out",
            s(&data),
            "--size",
            "32",
            "--count",
            "3",
            "--seed",
            "1",
        ]);
        assert!(out.contains("wrote 45 synthetic images"), "{out}");
        let run = root.join("run");
        let mut args = vec![
            "train",
            "--root",
            s(&data),
            "--protocol",
            "p1",
            "--preset",
            "tiny",
            "--steps",
            "4",
            "--eval-every",
            "2",
            "--out",
            s(&run),
            "--quiet",
        ];
        args.extend(FAST);
        let train_stdout = ok(&args);
        Fixture {
            _dir: dir,
            root,
            data,
            run,
            train_stdout,
        }
    })
}

#[test]
fn synth_writes_lists_of_existing_images() {
    let f = fixture();
    for split in ["train", "dev", "test"] {
        let list = f.data.join(format!("UniAttackData@p1_image_{split}.txt"));
        let text = std::fs::read_to_string(&list).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 15, "{split}: 3 images × 5 families");
        for l in lines {
            let path = l.split_whitespace().next().unwrap();
            let img = image::open(f.data.join(path)).unwrap();
            assert_eq!((img.width(), img.height()), (32, 32));
        }
    }
}

#[test]
fn train_writes_loadable_checkpoints_and_a_log() {
    let f = fixture();
    assert!(
        f.train_stdout.contains("trained 4 steps"),
        "{}",
        f.train_stdout
    );
    for name in ["latest.safetensors", "best.safetensors"] {
        assert!(f.train_stdout.contains(name));
        let l = checkpoint::load(&f.run.join(name), Device::Cpu).unwrap();
        assert_eq!(l.config.preset, "tiny");
        let state = l.meta.train.as_ref().expect("training state recorded");
        assert_eq!(state.config.steps, 4);
        assert!(state.best.is_some(), "{name}: a dev set was given");
    }
    let latest = checkpoint::load(&f.run.join("latest.safetensors"), Device::Cpu).unwrap();
    assert_eq!(latest.meta.step, Some(4));
    let log = std::fs::read_to_string(f.run.join("train.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps = rows.iter().filter(|r| r.get("loss").is_some()).count();
    let devs: Vec<&serde_json::Value> = rows.iter().filter_map(|r| r.get("dev")).collect();
    assert_eq!((steps, devs.len()), (4, 2));
    for d in devs {
        let auc = d["auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{d}");
    }
    assert!(rows
        .iter()
        .filter_map(|r| r["loss"].as_f64())
        .all(f64::is_finite));
    assert!(temps(&f.run).is_empty());
}

#[test]
fn eval_then_metrics_agree_and_export_calibrates() {
    let f = fixture();
    let eval_dir = f.root.join("eval");
    let best = f.run.join("best.safetensors");
    let mut args = vec![
        "eval",
        s(&best),
        "--root",
        s(&f.data),
        "--protocol",
        "p1",
        "--out",
        s(&eval_dir),
        "--json",
    ];
    args.extend(FAST);
    let report: serde_json::Value = serde_json::from_str(&ok(&args)).unwrap();
    assert_eq!(report["threshold_source"], "dev");
    assert_eq!(report["test"]["n_live"].as_u64(), Some(3));
    assert_eq!(report["test"]["n_attack"].as_u64(), Some(12));
    for k in ["auc", "eer"] {
        let v = report[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{k} {v}");
    }
    for file in [
        "report.json",
        "report.html",
        "scores-dev.txt",
        "scores-test.txt",
    ] {
        assert!(eval_dir.join(file).is_file(), "{file}");
    }
    // The buyer's figures: counts behind each, refusals where 12 attacks / 3 lives are too few.
    let iso = &report["iso"];
    assert_eq!(iso["apcer"]["n"].as_u64(), Some(12));
    assert_eq!(iso["bpcer"]["n"].as_u64(), Some(3));
    assert_eq!(
        iso["bpcer_at_apcer"][1]["unresolved"]["needed"].as_u64(),
        Some(20),
        "BPCER20 from 12 attacks is refused: {iso}"
    );
    let species: Vec<&String> = iso["apcer_per_species"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(species, ["adversarial", "digital", "physical"], "{iso}");
    let model_sha = report["provenance"]["model"]["sha256"].as_str().unwrap();
    assert_eq!(model_sha.len(), 64);
    let html = std::fs::read_to_string(eval_dir.join("report.html")).unwrap();
    assert!(
        html.contains(model_sha) && html.contains("BPCER20"),
        "report.html"
    );
    for png in ["roc.png", "det.png"] {
        let img = image::open(eval_dir.join(png)).unwrap();
        assert_eq!((img.width(), img.height()), (640, 480));
    }

    // `metrics` on the scores eval wrote reproduces eval's report.
    let m = f.root.join("metrics.json");
    ok(&[
        "metrics",
        "--scores",
        s(&eval_dir.join("scores-test.txt")),
        "--dev",
        s(&eval_dir.join("scores-dev.txt")),
        "--json",
        s(&m),
        "--out",
        s(&f.root.join("metrics-report")),
    ]);
    for file in ["report.json", "report.html"] {
        assert!(f.root.join("metrics-report").join(file).is_file(), "{file}");
    }
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
    assert_eq!(
        again["iso"]["apcer_per_species"],
        report["iso"]["apcer_per_species"]
    );
    // Scores are written with 8 decimals: the threshold agrees to that precision.
    let (t1, t2) = (
        report["test"]["threshold"].as_f64().unwrap(),
        again["test"]["threshold"].as_f64().unwrap(),
    );
    assert!((t1 - t2).abs() < 1e-7, "{t1} vs {t2}");
    assert_eq!(report["test"]["n_attack"], again["test"]["n_attack"]);

    // `export` with the dev scores: the file carries the dev EER threshold.
    let onnx = f.root.join("best.onnx");
    ok(&[
        "export",
        s(&best),
        "--onnx",
        s(&onnx),
        "--dev-scores",
        s(&eval_dir.join("scores-dev.txt")),
    ]);
    let meta = model_meta(&read_model(&std::fs::read(&onnx).unwrap()).unwrap()).unwrap();
    assert!(meta.threshold_calibrated);
    assert!((meta.threshold as f64 - t1.clamp(0.0, 1.0)).abs() < 1e-6);
    assert_eq!(meta.input_size, 32);
}

#[test]
fn init_and_info_describe_the_same_model() {
    let f = fixture();
    let ckpt = f.root.join("init-softmoe.safetensors");
    let out = ok(&[
        "init",
        "--preset",
        "tiny",
        "--variant",
        "softmoe",
        "--seed",
        "3",
        "--out",
        s(&ckpt),
    ]);
    assert!(out.contains("tiny / softmoe"), "{out}");
    let l = checkpoint::load(&ckpt, Device::Cpu).unwrap();
    assert!(l.meta.prompts.is_some() && l.meta.train.is_none());
    let info: serde_json::Value = serde_json::from_str(&ok(&["info", s(&ckpt), "--json"])).unwrap();
    assert_eq!(info["config"]["experts"]["variant"], "softmoe");
    let experts = info["params"]["experts"].as_i64().unwrap();
    assert!(experts > 0, "{info}");
    let numel: i64 = l.vs.variables().values().map(|t| t.numel() as i64).sum();
    let parts: i64 = info["params"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "total")
        .filter_map(|(_, v)| v.as_i64())
        .sum();
    assert_eq!(
        (parts, info["params"]["total"].as_i64().unwrap()),
        (numel, numel),
        "{info}"
    );
    // The preset form gives the same counts without a file.
    let preset: serde_json::Value = serde_json::from_str(&ok(&[
        "info",
        "--preset",
        "tiny",
        "--variant",
        "softmoe",
        "--json",
    ]))
    .unwrap();
    assert_eq!(preset["params"], info["params"]);
}

/// `protocol` / `ablate` arguments for one-step tiny runs of each table row.
fn one_step_tables<'a>(
    cmd: &'a str,
    data: &'a Path,
    out: &'a Path,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        cmd,
        "--root",
        s(data),
        "--preset",
        "tiny",
        "--steps",
        "1",
        "--eval-every",
        "1",
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend(FAST);
    args.extend(extra);
    args
}

#[test]
fn protocol_and_ablate_write_their_tables() {
    let f = fixture();
    let proto = f.root.join("proto");
    let table = ok(&one_step_tables(
        "protocol",
        &f.data,
        &proto,
        &["--protocols", "p1,p2.1"],
    ));
    assert!(table.contains("p2.1"), "{table}");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(proto.join("protocols.json")).unwrap())
            .unwrap();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        for k in ["acer", "acc", "auc", "eer"] {
            let v = r[k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{k} {r}");
        }
    }
    assert!(proto.join("p1/eval/report.json").is_file());

    let abl = f.root.join("ablate");
    let table = ok(&one_step_tables(
        "ablate",
        &f.data,
        &abl,
        &["--protocol", "p1"],
    ));
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(abl.join("ablation.json")).unwrap()).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "clip",
            "softmoe",
            "moae",
            "moae+DM",
            "moae+CDM",
            "moae+DM+CDM"
        ],
        "{table}"
    );
    let clip = checkpoint::load(&abl.join("clip/best.safetensors"), Device::Cpu).unwrap();
    assert_eq!(clip.config.experts.variant.name(), "clip");
}

/// Issue 14 item 8: nonsense numbers are usage errors naming the flag; nothing is written and
/// no checkpoint path is printed.
#[test]
fn nonsense_numbers_are_clear_errors() {
    let f = fixture();
    let out = f.root.join("nonsense");
    let base = [
        "train",
        "--root",
        s(&f.data),
        "--protocol",
        "p1",
        "--preset",
        "tiny",
        "--out",
        s(&out),
    ];
    let cases: [(&[&str], &str); 9] = [
        (&["--steps", "0"], "--steps"),
        (&["--steps=-3"], "--steps"),
        (&["--batch-size", "0"], "--batch-size"),
        (&["--batch-size", "99999999999"], "--batch-size"),
        (&["--threads", "100000"], "--threads"),
        (&["--workers", "0"], "--workers"),
        (&["--lr", "NaN"], "--lr"),
        (&["--lambda-dm", "inf"], "--lambda-dm"),
        (&["--reg-warmup", "2"], "--reg-warmup"),
    ];
    for (extra, flag) in cases {
        let mut args = base.to_vec();
        args.extend(extra);
        let o = trainer(&args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {stdout}{stderr}");
        assert!(stderr.contains(flag), "{extra:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stdout.contains("safetensors"), "{extra:?}: {stdout}");
    }
    for (args, flag) in [
        (
            vec!["bench-torch", "x.safetensors", "--iters", "0"],
            "--iters",
        ),
        (
            vec!["bench-torch", "x.safetensors", "--batch", "1000000"],
            "--batch",
        ),
        (vec!["synth", "--out", s(&out), "--count", "0"], "--count"),
        (
            vec![
                "eval",
                "x",
                "--root",
                ".",
                "--protocol",
                "p1",
                "--batch-size",
                "0",
            ],
            "--batch-size",
        ),
    ] {
        let o = trainer(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    assert!(!out.exists(), "nothing was written");
}

/// Issue 14 item 7: a bad Triton name is refused before anything is written.
#[test]
fn export_validates_every_argument_before_writing() {
    let f = fixture();
    let dir = f.root.join("export-args");
    std::fs::create_dir_all(&dir).unwrap();
    let onnx = dir.join("m.onnx");
    let best = f.run.join("best.safetensors");
    for (extra, want) in [
        (
            vec!["--triton", s(&dir), "--triton-name", "../evil"],
            "Triton model name",
        ),
        (vec!["--triton", s(&onnx.with_extension("x"))], "Triton"),
    ] {
        if extra.len() == 2 {
            std::fs::write(dir.join("m.x"), b"a file, not a directory").unwrap();
        }
        let mut args = vec!["export", s(&best), "--onnx", s(&onnx)];
        args.extend(extra);
        let o = trainer(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && stderr.contains(want), "{stderr}");
        assert!(!onnx.exists(), "m.onnx written although the export failed");
        assert!(temps(&dir).is_empty());
    }
    // Into a missing directory: refused up front, naming the path.
    let o = trainer(&["export", s(&best), "--onnx", "/nonexistent-dir/m.onnx"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("/nonexistent-dir"),
        "{stderr}"
    );
}

/// Issue 14 item 7: a write that fails inside the real writer (injected after 1000 bytes)
/// leaves the final paths as they were (absent, or the previous file) and no temp file, for
/// the ONNX export with its Triton entry and for checkpoint saves.
#[test]
fn a_failing_writer_leaves_no_partial_file() {
    let f = fixture();
    let dir = f.root.join("faulty");
    std::fs::create_dir_all(&dir).unwrap();
    let best = f.run.join("best.safetensors");
    let onnx = dir.join("m.onnx");
    let repo = dir.join("repo");
    let fail = [("MOAE_FAULT_WRITE_FAIL_AFTER", "1000")];
    let o = trainer_env(
        &["export", s(&best), "--onnx", s(&onnx), "--triton", s(&repo)],
        &fail,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && stderr.contains("injected write failure"),
        "{stderr}"
    );
    assert!(
        !onnx.exists() && !repo.exists(),
        "{:?}",
        std::fs::read_dir(&dir).unwrap().count()
    );
    assert!(temps(&dir).is_empty(), "{:?}", temps(&dir));

    // Over an existing file: the previous bytes stay.
    std::fs::write(&onnx, b"previous export").unwrap();
    let o = trainer_env(&["export", s(&best), "--onnx", s(&onnx)], &fail);
    assert!(!o.status.success());
    assert_eq!(std::fs::read(&onnx).unwrap(), b"previous export");
    assert!(temps(&dir).is_empty());

    // A checkpoint save (`init` writes one with the same writer as training).
    let ckpt = dir.join("init.safetensors");
    let o = trainer_env(&["init", "--preset", "tiny", "--out", s(&ckpt)], &fail);
    assert!(!o.status.success() && !ckpt.exists());
    assert!(temps(&dir).is_empty());
    // Without the fault the same commands succeed (the failure above was the injected one).
    ok(&["init", "--preset", "tiny", "--out", s(&ckpt)]);
    checkpoint::load(&ckpt, Device::Cpu).unwrap();
}

/// Issue 14 item 7: SIGTERM / SIGINT during the write (the writer stalls after 1000 bytes)
/// removes the temp file; the final path never appears.
#[test]
fn a_signal_during_the_write_removes_the_temp_file() {
    let f = fixture();
    let best = f.run.join("best.safetensors");
    for signal in ["TERM", "INT"] {
        let dir = f.root.join(format!("signal-{signal}"));
        std::fs::create_dir_all(&dir).unwrap();
        let onnx = dir.join("m.onnx");
        let child = Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(["export", s(&best), "--onnx", s(&onnx)])
            .env("MOAE_FAULT_WRITE_STALL_AFTER", "1000")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while temps(&dir).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no temp file appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The stall begins once 1000 bytes are in the temp file.
        while std::fs::metadata(dir.join(&temps(&dir)[0])).map_or(0, |m| m.len()) < 1000 {
            std::thread::sleep(Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{signal}: {stderr}");
        assert!(stderr.contains("partial output files removed"), "{stderr}");
        assert!(temps(&dir).is_empty(), "{signal}: {:?}", temps(&dir));
        assert!(!onnx.exists());
    }
}

/// A resumed training run whose checkpoint write fails inside the real writer: the error names
/// the checkpoint, `latest` keeps the previous step's bytes, and no temp file is left.
#[test]
fn a_failing_checkpoint_write_keeps_the_previous_latest() {
    let f = fixture();
    let run = f.root.join("resume-faulty");
    std::fs::create_dir_all(&run).unwrap();
    for e in std::fs::read_dir(&f.run).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
    }
    let latest = run.join("latest.safetensors");
    let before = std::fs::read(&latest).unwrap();
    let mut args = vec![
        "train",
        "--root",
        s(&f.data),
        "--protocol",
        "p1",
        "--preset",
        "tiny",
        "--steps",
        "5",
        "--eval-every",
        "2",
        "--out",
        s(&run),
        "--quiet",
        "--resume",
    ];
    args.extend(FAST);
    let o = trainer_env(&args, &[("MOAE_FAULT_WRITE_FAIL_AFTER", "4096")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(stderr.contains("injected write failure"), "{stderr}");
    assert_eq!(std::fs::read(&latest).unwrap(), before);
    assert!(temps(&run).is_empty(), "{:?}", temps(&run));
    // The run then resumes from the untouched checkpoint.
    ok(&args);
    let l = checkpoint::load(&latest, Device::Cpu).unwrap();
    assert_eq!(l.meta.step, Some(5));
}

#[test]
fn a_closed_stdout_ends_the_process_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("scores.txt");
    std::fs::write(&scores, "0.1 0\n0.9 1\n0.2 0\n0.8 1\n").unwrap();
    // `trainer metrics ... | head -0`: the reader is gone before the report is printed (the
    // child is still loading libtorch when its pipe's read end is closed here).
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["metrics", "--scores", s(&scores)])
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "want the quiet end of a Unix tool whose reader left, got {:?}: {err}",
        out.status
    );
}
