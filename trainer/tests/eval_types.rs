//! `trainer eval`'s attack-type confusion matrix: rows the true fine-grained label, columns the
//! head's argmax, each row summing to that label's count; a model without the head gets "not
//! available", never zeros.

use std::path::Path;

use moae_metrics::confusion::{AttackTypeMatrix, TYPE_CLASSES};
use moae_trainer::data::lists::Split;
use moae_trainer::data::synth::{generate, SynthConfig};
use moae_trainer::model::checkpoint::{self, CheckpointMeta};
use moae_trainer::model::config::Variant;
use moae_trainer::model::prompts::PromptSet;
use moae_trainer::model::{Net, NetConfig};
use moae_trainer::runs::{run_eval, DataSource, EvalRun};
use tch::{nn, Device, Tensor};

/// A checkpoint of `preset` with random weights; a student's type head is set to a constant
/// output (zero weights, `type_bias`), so its argmax is known for every image.
fn checkpoint(path: &Path, preset: &str, type_bias: Option<[f32; 4]>) {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = NetConfig::preset(preset, Variant::Moae)
        .unwrap()
        .build(&vs.root());
    let prompts = match &net {
        Net::Clip(m) => Some(PromptSet::default_byte_level(
            m.cfg.text.context_length as usize,
        )),
        Net::Student(s) => {
            let head = s
                .attack_type
                .as_ref()
                .expect("the preset has the type head");
            let bias = type_bias.expect("a student needs the head's bias");
            tch::no_grad(|| {
                let _ = head.ws.shallow_clone().zero_();
                head.bs
                    .as_ref()
                    .unwrap()
                    .shallow_clone()
                    .copy_(&Tensor::from_slice(&bias));
            });
            None
        }
    };
    let meta = CheckpointMeta {
        prompts,
        ..Default::default()
    };
    checkpoint::save_net(path, &net, &vs, &meta).unwrap();
}

fn eval(dir: &Path, ckpt: &Path) -> moae_metrics::report::EvalReport {
    run_eval(&EvalRun {
        ckpt: ckpt.to_path_buf(),
        data: DataSource::protocol(&dir.join("data"), "p1", 1),
        out: Some(dir.join("eval")),
        batch_size: 7,
        cpu: true,
        threads: Some(1),
    })
    .unwrap()
}

fn synth(dir: &Path) {
    let cfg = SynthConfig {
        seed: 5,
        size: 48,
        count: 4,
    };
    generate(&dir.join("data"), &cfg).unwrap();
}

#[test]
fn a_student_s_matrix_puts_each_label_in_its_row_and_the_argmax_in_its_column() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path());
    let ckpt = dir.path().join("student.safetensors");
    // The head says "adversarial" (class 2) for every image.
    checkpoint(&ckpt, "student-s", Some([0.0, -1.0, 5.0, 1.0]));
    let report = eval(dir.path(), &ckpt);

    let test = DataSource::protocol(&dir.path().join("data"), "p1", 1)
        .split(Split::Test)
        .unwrap()
        .unwrap();
    let mut per_label = [0usize; 4];
    for s in &test {
        per_label[s.fine as usize] += 1;
    }
    assert!(
        per_label.iter().filter(|&&n| n > 0).count() >= 3,
        "the synthetic test list has several labels: {per_label:?}"
    );
    let Some(AttackTypeMatrix::Available(c)) = &report.attack_type_confusion else {
        panic!("no matrix: {:?}", report.attack_type_confusion)
    };
    assert_eq!(c.classes, TYPE_CLASSES);
    assert_eq!(c.row_totals(), per_label);
    for (t, row) in c.counts.iter().enumerate() {
        assert_eq!(*row, [0, 0, per_label[t], 0], "row {}", TYPE_CLASSES[t]);
    }

    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("eval/report.json")).unwrap(),
    )
    .unwrap();
    let m = &json["attack_type_confusion"];
    assert_eq!(m["status"], "available");
    assert_eq!(m["counts"][1][2], per_label[1]);
    let html = std::fs::read_to_string(dir.path().join("eval/report.html")).unwrap();
    assert!(html.contains("Attack type (the model's second head)"));
}

#[test]
fn a_model_without_the_head_has_no_matrix() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path());
    let ckpt = dir.path().join("tiny.safetensors");
    checkpoint(&ckpt, "tiny", None);
    let report = eval(dir.path(), &ckpt);
    assert_eq!(
        report.attack_type_confusion,
        Some(AttackTypeMatrix::no_head())
    );
    let json = std::fs::read_to_string(dir.path().join("eval/report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["attack_type_confusion"]["status"], "not_available");
    assert!(v["attack_type_confusion"].get("counts").is_none());
    let html = std::fs::read_to_string(dir.path().join("eval/report.html")).unwrap();
    assert!(html.contains("Not available: the model has no attack-type head."));
}
