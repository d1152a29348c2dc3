//! The training loop end to end on a tiny synthetic set: exact resume, checkpoints that
//! survive an interrupted write, and data errors that name what and where.

use moae_trainer::data::lists::Split;
use moae_trainer::data::synth::{generate, SynthConfig};
use moae_trainer::model::checkpoint;
use moae_trainer::model::config::Variant;
use moae_trainer::runs::{initial_model, DataSource, Init, ModelChoice};
use moae_trainer::train::{train, RunOptions, TrainConfig, TrainData, LATEST};
use std::path::Path;
use tch::Device;

/// `initial_model` under one lock: tch's RNG is global, so models seeded by tests running in
/// parallel would interleave their draws (two runs meant to start alike would not).
fn seeded_model(
    m: &ModelChoice,
    device: Device,
    seed: u64,
) -> (
    tch::nn::VarStore,
    moae_trainer::model::MoaeClip,
    moae_trainer::model::checkpoint::CheckpointMeta,
    bool,
) {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _rng = RNG.lock().unwrap_or_else(|e| e.into_inner());
    initial_model(m, device, seed).unwrap()
}

fn synth(dir: &Path) {
    let cfg = SynthConfig {
        seed: 3,
        size: 48,
        count: 4,
    };
    generate(dir, &cfg).expect("synthetic data");
}

fn data_args(root: &Path) -> DataSource {
    DataSource::protocol(root, "p1", 2)
}

fn scratch(variant: Variant) -> ModelChoice {
    ModelChoice {
        init: Init::Scratch {
            preset: "tiny".into(),
        },
        variant: Some(variant),
    }
}

fn tiny() -> ModelChoice {
    scratch(Variant::Moae)
}

fn cfg(steps: u64) -> TrainConfig {
    let mut c = TrainConfig {
        steps,
        batch_size: 8,
        eval_every: 3,
        seed: 11,
        ..TrainConfig::default()
    };
    c.adam.lr = 1e-3;
    c.adam.lr_new = 1e-3;
    // The from-random-weights recipe: a schedule and a regulariser ramp that depend on the step,
    // and a frozen text tower — all of which a resumed run must reproduce exactly.
    c.adam.lr_text = Some(0.0);
    c.schedule = moae_trainer::train::optim::LrSchedule::Cosine;
    c.loss.reg_warmup = 0.5;
    c
}

/// The p1 lists of `root`: train, and dev when `with_dev`.
fn train_data(root: &Path, with_dev: bool, workers: usize) -> TrainData {
    let args = data_args(root);
    TrainData {
        train: args.split(Split::Train).unwrap().unwrap(),
        dev: if with_dev {
            args.split(Split::Dev).unwrap()
        } else {
            None
        },
        workers,
        skip_bad: false,
    }
}

fn options(out: &Path, resume: bool, stop_after: Option<u64>) -> RunOptions {
    RunOptions {
        out_dir: out.to_path_buf(),
        device: Device::Cpu,
        resume,
        progress: false,
        stop_after,
    }
}

fn run(root: &Path, out: &Path, steps: u64, stop_after: Option<u64>, resume: bool) {
    let data = train_data(root, true, 2);
    let (mut vs, model, meta, _) = seeded_model(&tiny(), Device::Cpu, 5);
    let opts = options(out, resume, stop_after);
    train(&mut vs, &model, &meta, &cfg(steps), &data, &opts).unwrap();
}

/// Learning rate 0 for every group leaves nothing to train: a named error, not a panic in
/// backward (e.g. `ablate --init ... --lr 0`, whose `clip` row has no expert modules).
#[test]
fn all_groups_frozen_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);
    let data = train_data(&root, false, 1);
    let (mut vs, model, meta, _) = seeded_model(&tiny(), Device::Cpu, 5);
    let mut c = cfg(2);
    (c.adam.lr, c.adam.lr_new) = (0.0, 0.0);
    let opts = options(&dir.path().join("out"), false, None);
    let err = train(&mut vs, &model, &meta, &c, &data, &opts).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("nothing to train") && msg.contains("--lr"),
        "{msg}"
    );
    assert!(!dir.path().join("out").join(LATEST).exists());
}

/// A run stopped after step 3 and resumed ends with the same weights as an uninterrupted run.
/// Tolerance: exact equality — same ops, same order, same data, single-process CPU kernels.
#[test]
fn resume_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);
    let whole = dir.path().join("whole");
    let split = dir.path().join("split");
    run(&root, &whole, 6, None, false);
    run(&root, &split, 6, Some(3), false);
    let half = checkpoint::load(&split.join(LATEST), Device::Cpu).unwrap();
    assert_eq!(half.meta.step, Some(3));
    run(&root, &split, 6, None, true);

    let a = checkpoint::load(&whole.join(LATEST), Device::Cpu).unwrap();
    let b = checkpoint::load(&split.join(LATEST), Device::Cpu).unwrap();
    assert_eq!(a.meta.step, Some(6));
    assert_eq!(b.meta.step, Some(6));
    let (va, vb) = (a.vs.variables(), b.vs.variables());
    assert_eq!(va.len(), vb.len());
    let mut moved = false;
    for (name, ta) in &va {
        let tb = &vb[name];
        assert!(ta.equal(tb), "{name} differs after resume");
        let changed = !ta.equal(&half.vs.variables()[name]);
        if moae_trainer::train::optim::is_text_param(name) {
            assert!(!changed, "{name}: the frozen text tower moved");
        }
        moved |= changed;
    }
    assert!(
        moved,
        "steps 4..6 changed no weight: the comparison would be vacuous"
    );
    assert!(whole.join("best.safetensors").exists());
    assert!(whole.join("train.jsonl").exists());
}

/// A checkpoint write that dies half-way (simulated: the temp file is left truncated and the
/// rename never happens) leaves the previous file loadable and the run resumable.
/// (A write that fails with an I/O error is covered by the checkpoint module's own tests.)
#[test]
fn interrupted_write_keeps_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);
    let out = dir.path().join("run");
    run(&root, &out, 3, None, false);
    let latest = out.join(LATEST);
    let before = std::fs::read(&latest).unwrap();

    // A crash mid-write: a half-written temp file beside `latest`, never renamed.
    std::fs::write(
        out.join(format!(".{LATEST}.tmp-999999")),
        &before[..before.len() / 2],
    )
    .unwrap();
    assert_eq!(
        std::fs::read(&latest).unwrap(),
        before,
        "previous checkpoint untouched"
    );
    let again = checkpoint::load(&latest, Device::Cpu).unwrap();
    assert_eq!(again.meta.step, Some(3));
    // And the run resumes from it.
    run(&root, &out, 4, None, true);
    assert_eq!(
        checkpoint::load(&latest, Device::Cpu).unwrap().meta.step,
        Some(4)
    );
}

#[test]
fn data_errors_name_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);

    // Missing root.
    let mut a = data_args(&dir.path().join("nope"));
    let e = a.split(Split::Train).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("root"), "{e}");

    // An unreadable list line.
    let list = dir.path().join("bad.txt");
    std::fs::write(&list, "a.png 0\nthis line has no label\n").unwrap();
    a = data_args(&root);
    a.train_list = Some(list.clone());
    let e = format!("{:#}", a.split(Split::Train).unwrap_err());
    assert!(e.contains("bad.txt") && e.contains("line 2"), "{e}");

    // A corrupt image: training stops with an error naming the file and its list line.
    let train_list = moae_trainer::data::lists::find_list(&root, "p1", Split::Train).unwrap();
    let text = std::fs::read_to_string(&train_list).unwrap();
    let first = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(root.join(&first), b"not an image at all").unwrap();
    let data = train_data(&root, false, 1);
    let (mut vs, model, meta, _) = seeded_model(&tiny(), Device::Cpu, 5);
    let opts = options(&dir.path().join("run"), false, None);
    let mut c = cfg(40);
    c.eval_every = 0;
    let e = format!(
        "{:#}",
        train(&mut vs, &model, &meta, &c, &data, &opts).unwrap_err()
    );
    assert!(e.contains(&first) && e.contains("line 1"), "{e}");

    // With skip_bad the same run finishes and counts the skipped image.
    let data = TrainData {
        skip_bad: true,
        ..data
    };
    let (mut vs, model, meta, _) = seeded_model(&tiny(), Device::Cpu, 5);
    let s = train(&mut vs, &model, &meta, &c, &data, &opts).unwrap();
    assert!(s.skipped_images >= 1, "skipped {}", s.skipped_images);
}

/// `--init CKPT --variant V` keeps the checkpoint's CLIP weights and adds fresh expert modules
/// (how `ablate --init` starts every row from the same CLIP).
#[test]
fn init_with_another_variant_keeps_clip_weights() {
    let dir = tempfile::tempdir().unwrap();
    let clip = scratch(Variant::Clip);
    let (vs, model, meta, _) = seeded_model(&clip, Device::Cpu, 1);
    let path = dir.path().join("clip.safetensors");
    checkpoint::save(&path, &model.cfg, &vs, &meta).unwrap();

    let moae = ModelChoice {
        init: Init::Checkpoint(path),
        variant: Some(Variant::Moae),
    };
    let (vs2, model2, _, pretrained) = seeded_model(&moae, Device::Cpu, 1);
    assert!(pretrained);
    assert_eq!(model2.cfg.experts.variant, Variant::Moae);
    let (a, b) = (vs.variables(), vs2.variables());
    assert!(
        b.keys().any(|n| n.contains(".moae.")),
        "expert modules added"
    );
    for (name, t) in &a {
        assert!(t.equal(&b[name]), "{name} was not carried over");
    }
    assert_eq!(
        b.len() - a.len(),
        b.keys().filter(|n| n.contains(".moae.")).count()
    );
}
