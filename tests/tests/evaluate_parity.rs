//! `moae evaluate --whole-frame` (the SDK's own path over an exported ONNX file) and
//! `trainer eval` (tch over the checkpoint) on the same images and threshold: every score
//! within 1e-6, the same counts behind every figure. The model is a tiny one (`trainer init`),
//! its ONNX file calibrated on the dev scores `trainer eval` wrote (so both use the dev EER
//! threshold); the data is `trainer synth`'s. Both binaries are the ones the test command built.

use std::path::{Path, PathBuf};
use std::process::Command;

/// target/<profile>, holding `trainer` and `moae` as the test command's build step left them.
fn binaries() -> PathBuf {
    moae_tests::built_artifact("trainer");
    moae_tests::built_artifact("moae")
        .parent()
        .unwrap()
        .to_path_buf()
}

fn ok(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{} {args:?}\n{so}\n{se}",
        bin.display()
    );
    so.into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn moae_evaluate_whole_frame_equals_trainer_eval() {
    let bin = binaries();
    let (trainer, moae) = (bin.join("trainer"), bin.join("moae"));
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    ok(
        &trainer,
        &[
            "synth",
            "--out",
            &p("data"),
            "--size",
            "64",
            "--count",
            "6",
            "--seed",
            "3",
        ],
    );
    ok(
        &trainer,
        &[
            "init",
            "--preset",
            "tiny",
            "--seed",
            "5",
            "--out",
            &p("m.safetensors"),
        ],
    );
    let (ckpt, data, eval_out, mev) = (p("m.safetensors"), p("data"), p("eval"), p("mev"));
    let mut args = vec![
        "eval",
        &ckpt,
        "--root",
        &data,
        "--protocol",
        "p1",
        "--out",
        &eval_out,
    ];
    args.extend([
        "--workers",
        "1",
        "--threads",
        "1",
        "--batch-size",
        "16",
        "--cpu",
    ]);
    ok(&trainer, &args);
    let dev_scores = d.join("eval/scores-dev.txt");
    ok(
        &trainer,
        &[
            "export",
            &ckpt,
            "--onnx",
            &p("m.onnx"),
            "--dev-scores",
            dev_scores.to_str().unwrap(),
        ],
    );
    let list = d.join("data/UniAttackData@p1_image_test.txt");
    ok(
        &moae,
        &[
            "evaluate",
            &p("m.onnx"),
            "--list",
            list.to_str().unwrap(),
            "--root",
            &data,
            "--whole-frame",
            "--out",
            &mev,
            "--threads",
            "1",
        ],
    );

    // Every image, in list order: the same score.
    let trainer_scores: Vec<f64> = std::fs::read_to_string(d.join("eval/scores-test.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(d.join("mev/results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), trainer_scores.len());
    assert_eq!(rows.len(), 30, "6 images x 5 families");
    for (i, (r, t)) in rows.iter().zip(&trainer_scores).enumerate() {
        let s = r["attack_score"]
            .as_f64()
            .unwrap_or_else(|| panic!("row {i}: {r}"));
        assert!(
            (s - t).abs() <= 1e-6,
            "image {i}: moae {s}, trainer {t} ({r})"
        );
        assert!(
            ["live", "attack"].contains(&r["outcome"].as_str().unwrap()),
            "{r}"
        );
    }

    // The same threshold and the same count behind every figure.
    let (a, b) = (
        json(&d.join("eval/report.json")),
        json(&d.join("mev/report.json")),
    );
    let (ia, ib) = (&a["iso"], &b["iso"]);
    let (ta, tb) = (
        ia["threshold"].as_f64().unwrap(),
        ib["threshold"].as_f64().unwrap(),
    );
    assert!((ta - tb).abs() < 1e-7, "thresholds {ta} vs {tb}");
    for k in [
        "n_live",
        "n_attack",
        "apcer",
        "bpcer",
        "apcer_per_species",
        "worst_species",
    ] {
        assert_eq!(ia[k], ib[k], "{k}");
    }
    for k in ["bpcer_at_apcer", "apcer_at_bpcer"] {
        let strip = |v: &serde_json::Value| -> Vec<serde_json::Value> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    serde_json::json!([
                        x["name"],
                        x["point"]["apcer"],
                        x["point"]["bpcer"],
                        x["unresolved"]
                    ])
                })
                .collect()
        };
        assert_eq!(strip(&ia[k]), strip(&ib[k]), "{k}");
    }
    for k in ["eer", "auc"] {
        let (x, y) = (
            ia[k]["value"].as_f64().unwrap(),
            ib[k]["value"].as_f64().unwrap(),
        );
        assert!((x - y).abs() < 1e-12, "{k}: {x} vs {y}");
    }
    assert_eq!(b["pipeline"]["non_response"]["count"], 0);
    assert_eq!(b["pipeline"]["presentations"], 30);
}
