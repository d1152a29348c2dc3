//! Students (spec §9) through the trainer: checkpoints of their own family, exact resume,
//! the attack-type loss only on fine-grained lists, and CLIP-only entry points that refuse a
//! student by name.

mod support;
use moae_trainer::data::synth::{generate, SynthConfig};
use moae_trainer::model::checkpoint::{self, CheckpointError};
use moae_trainer::model::{Net, NetConfig};
use moae_trainer::runs::{initial_net, Init, ModelChoice};
use moae_trainer::train::{train, RunOptions, TrainConfig, LATEST, LOG};
use std::path::Path;
use support::{p1_train_data, serial};
use tch::Device;

fn synth(dir: &Path) {
    let cfg = SynthConfig {
        seed: 4,
        size: 48,
        count: 4,
    };
    generate(dir, &cfg).expect("synthetic data");
}

fn student_s() -> ModelChoice {
    ModelChoice {
        init: Init::Scratch {
            preset: "student-s".into(),
        },
        variant: None,
    }
}

fn cfg(steps: u64) -> TrainConfig {
    let mut c = TrainConfig {
        steps,
        batch_size: 8,
        eval_every: 2,
        seed: 7,
        ..TrainConfig::default()
    };
    c.adam.lr = 2e-3;
    c.schedule = moae_trainer::train::optim::LrSchedule::Cosine;
    c
}

fn run(root: &Path, out: &Path, steps: u64, stop_after: Option<u64>, resume: bool) {
    let (mut vs, net, meta, _) = initial_net(&student_s(), Device::Cpu, 5).unwrap();
    let opts = RunOptions {
        out_dir: out.to_path_buf(),
        device: Device::Cpu,
        resume,
        progress: false,
        stop_after,
    };
    train(
        &mut vs,
        &net,
        &meta,
        &cfg(steps),
        &p1_train_data(root, None),
        &opts,
    )
    .unwrap();
}

/// Stopped after step 2 and resumed, a student ends bit-identical to an uninterrupted run
/// (weights and BatchNorm statistics), and its checkpoints load as students only.
#[test]
fn a_student_resumes_exactly_and_loads_as_a_student() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);
    let (whole, split) = (dir.path().join("whole"), dir.path().join("split"));
    run(&root, &whole, 4, None, false);
    run(&root, &split, 4, Some(2), false);
    run(&root, &split, 4, None, true);
    let a = checkpoint::load_net(&whole.join(LATEST), Device::Cpu).unwrap();
    let b = checkpoint::load_net(&split.join(LATEST), Device::Cpu).unwrap();
    assert!(matches!(a.net, Net::Student(_)));
    assert_eq!(a.meta.step, Some(4));
    assert_eq!(b.meta.step, Some(4));
    let fresh = NetConfig::preset("student-s", moae_trainer::model::config::Variant::Moae).unwrap();
    assert_eq!(a.net.config(), fresh);
    let (va, vb) = (a.vs.variables(), b.vs.variables());
    assert!(va.keys().any(|n| n.ends_with("bn.running_var")));
    for (name, ta) in &va {
        assert!(ta.equal(&vb[name]), "{name} differs after resume");
    }
    let err = checkpoint::load(&whole.join(LATEST), Device::Cpu).unwrap_err();
    assert!(matches!(err, CheckpointError::Student { .. }), "{err}");
    assert!(
        err.to_string().contains("holds a student (student-s)"),
        "{err}"
    );
}

/// The attack-type loss is trained from fine-grained lists (labels 2, 3 present) and left out
/// on a binary 0/1 list, where 1 means "any attack".
#[test]
fn the_type_loss_needs_fine_grained_labels() {
    let _rng = serial();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);
    let list = root.join("UniAttackData@p1_image_train.txt");
    let binary: String = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(|l| {
            let (path, label) = l.split_once(' ').unwrap();
            let b = u8::from(label.trim() != "0");
            format!("{path} {b}\n")
        })
        .collect();
    let binary_list = dir.path().join("binary.txt");
    std::fs::write(&binary_list, binary).unwrap();
    for (name, list, typed) in [("fine", None, true), ("binary", Some(&binary_list), false)] {
        let (mut vs, net, meta, _) = initial_net(&student_s(), Device::Cpu, 5).unwrap();
        let out = dir.path().join(name);
        let opts = RunOptions {
            out_dir: out.clone(),
            device: Device::Cpu,
            resume: false,
            progress: false,
            stop_after: None,
        };
        let d = p1_train_data(&root, list.map(|p| p.as_path()));
        train(&mut vs, &net, &meta, &cfg(1), &d, &opts).unwrap();
        let log = std::fs::read_to_string(out.join(LOG)).unwrap();
        let step: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
        assert_eq!(step["type_ce"].is_number(), typed, "{name}: {step}");
    }
}

#[test]
fn a_student_refuses_a_clip_variant_and_clip_entry_points_refuse_a_student() {
    let _rng = serial();
    let mut m = student_s();
    m.variant = Some(moae_trainer::model::config::Variant::Moae);
    let err = initial_net(&m, Device::Cpu, 1).unwrap_err().to_string();
    assert!(err.contains("--variant"), "{err}");
    let err = moae_trainer::runs::initial_model(&student_s(), Device::Cpu, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("student"), "{err}");
}
