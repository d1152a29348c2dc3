//! Distillation (spec §9) end to end on a tiny synthetic set: the teacher's logits come from
//! its own preprocessing (another input size and normalisation than the student's), a
//! distilled run with spoof cues resumes exactly, and a missing, corrupt or mismatched teacher
//! is a clear error with nothing written.

mod support;
use moae_trainer::data::augment::{decode, eval_transform, Normalization};
use moae_trainer::data::synth::{generate, SynthConfig};
use moae_trainer::model::checkpoint::{self, CheckpointMeta};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::prompts::PromptSet;
use moae_trainer::model::MoaeClip;
use moae_trainer::runs::{initial_model, Init, ModelChoice};
use moae_trainer::train::distill::{Teacher, TeacherCache, DEFAULT_ALPHA, DEFAULT_TEMPERATURE};
use moae_trainer::train::{train_distilled, RunOptions, TrainConfig, LATEST, LOG};
use std::path::{Path, PathBuf};
use support::{p1_train_data, trainer};
use tch::{nn, Device, Tensor};

const TEACHER_NORM: Normalization = Normalization {
    mean: [0.5, 0.4, 0.3],
    std: [0.2, 0.25, 0.3],
};

fn synth(dir: &Path) {
    let cfg = SynthConfig {
        seed: 4,
        size: 48,
        count: 4,
    };
    generate(dir, &cfg).expect("synthetic data");
}

/// A teacher of another input size (the small preset's 64 px; the student is tiny, 32 px) and
/// another normalisation than CLIP's, with random weights (the mechanics do not need a trained
/// one).
fn write_teacher(path: &Path) {
    let mut cfg = ModelConfig::preset("small", Variant::Moae).unwrap();
    cfg.vision.mean = TEACHER_NORM.mean;
    cfg.vision.std = TEACHER_NORM.std;
    tch::manual_seed(21);
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = MoaeClip::new(&vs.root(), &cfg);
    let meta = CheckpointMeta {
        prompts: Some(PromptSet::default_byte_level(77)),
        ..Default::default()
    };
    checkpoint::save(path, &cfg, &vs, &meta).unwrap();
}

struct Setup {
    dir: tempfile::TempDir,
    root: PathBuf,
    teacher: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    synth(&root);
    let teacher = dir.path().join("teacher.safetensors");
    write_teacher(&teacher);
    Setup { dir, root, teacher }
}

/// The teacher's cached logits of an image are its logits on that image through its own size
/// and normalisation — not the student's.
#[test]
fn teacher_scores_each_image_with_its_own_preprocessing() {
    let s = setup();
    let teacher = Teacher::load(&s.teacher, Device::Cpu).unwrap();
    assert_eq!(teacher.image_size(), 64);
    assert_eq!(teacher.normalization(), TEACHER_NORM);
    let data = p1_train_data(&s.root, None);
    let cache = TeacherCache::build(&teacher, &data.train, 7, 1, false).unwrap();
    assert_eq!(cache.len(), data.train.len());

    let logits_of = |norm: &Normalization, i: usize| {
        let img = decode(&data.train[i].path).unwrap();
        let px = eval_transform(&img, 64, norm).unwrap();
        Vec::<f32>::try_from(
            teacher
                .logits(&Tensor::from_slice(&px).view([1, 3, 64, 64]))
                .unwrap()
                .view([-1]),
        )
        .unwrap()
    };
    // A batch of the loader (train mode, no augmentation) asks the cache for each slot.
    let mut lcfg = moae_trainer::data::loader::LoaderConfig::eval(32, 4);
    lcfg.workers = 1;
    let mut loader = moae_trainer::data::loader::Loader::new(data.train.clone(), lcfg).unwrap();
    let batch = loader.next_batch().unwrap().unwrap();
    let from_cache =
        Vec::<f32>::try_from(cache.batch_logits(&teacher, &batch).unwrap().view([-1])).unwrap();
    for slot in 0..batch.len() {
        let own = logits_of(&TEACHER_NORM, batch.indices[slot]);
        for c in 0..2 {
            assert!(
                (from_cache[2 * slot + c] - own[c]).abs() < 1e-4,
                "slot {slot}: cache {:?} vs own {own:?}",
                &from_cache[2 * slot..2 * slot + 2]
            );
        }
    }
    // Spoof-cued images are not the cached source images: the teacher scores the loader's
    // teacher view of each (64 px, its normalisation), not the cache's row.
    let mut lcfg = moae_trainer::data::loader::LoaderConfig::train(32, 4, 1);
    lcfg.workers = 1;
    lcfg.spoof_cues.p = 1.0;
    lcfg.teacher_view = Some(moae_trainer::data::loader::TeacherView {
        size: 64,
        norm: TEACHER_NORM,
    });
    let mut loader = moae_trainer::data::loader::Loader::new(data.train.clone(), lcfg).unwrap();
    let batch = loader.next_batch().unwrap().unwrap();
    let got =
        Vec::<f32>::try_from(cache.batch_logits(&teacher, &batch).unwrap().view([-1])).unwrap();
    let mut cued_slots = 0;
    let mut k = 0;
    for slot in 0..batch.len() {
        let row = &got[2 * slot..2 * slot + 2];
        let cached = logits_of(&TEACHER_NORM, batch.indices[slot]);
        if batch.cued[slot].is_some() {
            let px = &batch.teacher_pixels[k * 3 * 64 * 64..(k + 1) * 3 * 64 * 64];
            k += 1;
            let want = Vec::<f32>::try_from(
                teacher
                    .logits(&Tensor::from_slice(px).view([1, 3, 64, 64]))
                    .unwrap()
                    .view([-1]),
            )
            .unwrap();
            assert!((row[0] - want[0]).abs() + (row[1] - want[1]).abs() < 1e-4);
            assert!((row[0] - cached[0]).abs() + (row[1] - cached[1]).abs() > 1e-5);
            cued_slots += 1;
        } else {
            assert!((row[0] - cached[0]).abs() + (row[1] - cached[1]).abs() < 1e-4);
        }
    }
    assert_eq!(
        cued_slots, 2,
        "balanced batch of 4: its 2 live images are cued"
    );

    // With CLIP's normalisation (the student's) the teacher would say something else.
    let clip = logits_of(&Normalization::default(), 0);
    let own = logits_of(&TEACHER_NORM, 0);
    assert!(
        (clip[0] - own[0]).abs() + (clip[1] - own[1]).abs() > 1e-3,
        "{clip:?} {own:?}"
    );
}

fn student() -> ModelChoice {
    ModelChoice {
        init: Init::Scratch {
            preset: "tiny".into(),
        },
        variant: Some(Variant::Moae),
    }
}

fn distill_cfg(teacher: &Teacher, steps: u64) -> TrainConfig {
    let mut c = TrainConfig {
        steps,
        batch_size: 8,
        eval_every: 2,
        seed: 3,
        ..TrainConfig::default()
    };
    c.adam.lr = 1e-3;
    c.adam.lr_new = 1e-3;
    c.adam.lr_text = Some(0.0);
    // Half the live images become spoof-cued attacks: those need the teacher per sample.
    c.spoof_cues.p = 0.5;
    c.distill = Some(teacher.config(DEFAULT_ALPHA, DEFAULT_TEMPERATURE));
    c
}

fn run_distilled(
    root: &Path,
    out: &Path,
    teacher: &Teacher,
    cfg: &TrainConfig,
    stop_after: Option<u64>,
    resume: bool,
) -> anyhow::Result<()> {
    let (mut vs, model, meta, _) = initial_model(&student(), Device::Cpu, 9).unwrap();
    let run = RunOptions {
        out_dir: out.to_path_buf(),
        device: Device::Cpu,
        resume,
        progress: false,
        stop_after,
    };
    train_distilled(
        &mut vs,
        &model,
        &meta,
        cfg,
        &p1_train_data(root, None),
        &run,
        teacher,
    )?;
    Ok(())
}

/// A distilled run with spoof cues stopped after 2 of 4 steps and resumed ends with the
/// uninterrupted run's weights; its log has the distillation term; resuming with another
/// teacher is refused.
#[test]
fn distilled_run_resumes_exactly_and_logs_the_kd_term() {
    let s = setup();
    let teacher = Teacher::load(&s.teacher, Device::Cpu).unwrap();
    let cfg = distill_cfg(&teacher, 4);
    let (whole, split) = (s.dir.path().join("whole"), s.dir.path().join("split"));
    run_distilled(&s.root, &whole, &teacher, &cfg, None, false).unwrap();
    run_distilled(&s.root, &split, &teacher, &cfg, Some(2), false).unwrap();
    run_distilled(&s.root, &split, &teacher, &cfg, None, true).unwrap();
    let a = checkpoint::load(&whole.join(LATEST), Device::Cpu).unwrap();
    let b = checkpoint::load(&split.join(LATEST), Device::Cpu).unwrap();
    for (name, t) in a.vs.variables() {
        let u = &b.vs.variables()[&name];
        assert!(t.equal(u), "{name} differs after resume");
    }
    let log = std::fs::read_to_string(whole.join(LOG)).unwrap();
    let kd: Vec<f64> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["kd"].as_f64())
        .collect();
    assert_eq!(kd.len(), 4, "{log}");
    let teacher_line: serde_json::Value =
        serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let t = &teacher_line["teacher"];
    assert_eq!(t["sha256"].as_str(), Some(teacher.sha256()));
    assert_eq!(t["image_size"].as_i64(), Some(64));
    assert_eq!(
        t["cached_images"].as_u64(),
        Some(p1_train_data(&s.root, None).train.len() as u64)
    );
    assert!(kd.iter().all(|k| k.is_finite() && *k >= 0.0), "{kd:?}");

    // The term reaches the gradient: α = 0 (labels only) ends elsewhere.
    let mut no_kd = cfg.clone();
    no_kd.distill.as_mut().unwrap().alpha = 0.0;
    let plain = s.dir.path().join("alpha0");
    run_distilled(&s.root, &plain, &teacher, &no_kd, None, false).unwrap();
    let c = checkpoint::load(&plain.join(LATEST), Device::Cpu).unwrap();
    let moved =
        a.vs.variables()
            .iter()
            .any(|(name, t)| !t.equal(&c.vs.variables()[name]));
    assert!(moved, "α = 0.5 and α = 0 trained the same weights");

    // Another teacher (another file, other weights): the resumed run must not mix them.
    let other_path = s.dir.path().join("other.safetensors");
    write_teacher(&other_path);
    let bytes = std::fs::read(&other_path).unwrap();
    let mut cfg2 = ModelConfig::preset("small", Variant::Moae).unwrap();
    cfg2.vision.mean = [0.45, 0.45, 0.45];
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let _m = MoaeClip::new(&vs.root(), &cfg2);
    checkpoint::save(&other_path, &cfg2, &vs, &CheckpointMeta::default()).unwrap();
    assert_ne!(bytes, std::fs::read(&other_path).unwrap());
    let other = Teacher::load(&other_path, Device::Cpu).unwrap();
    let more = TrainConfig {
        steps: 6,
        distill: Some(other.config(DEFAULT_ALPHA, DEFAULT_TEMPERATURE)),
        ..cfg.clone()
    };
    let err = run_distilled(&s.root, &split, &other, &more, None, true).unwrap_err();
    assert!(format!("{err:#}").contains("--resume"), "{err:#}");
    // Settings naming one teacher with another teacher's file: refused before training.
    let err =
        run_distilled(&s.root, &s.dir.path().join("x"), &other, &cfg, None, false).unwrap_err();
    assert!(format!("{err:#}").contains("SHA-256"), "{err:#}");
    assert!(!s.dir.path().join("x").exists());
}

fn distill_args<'a>(root: &'a str, teacher: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "distill",
        "--teacher",
        teacher,
        "--arch",
        "tiny",
        "--root",
        root,
        "--protocol",
        "p1",
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--batch-size",
        "8",
        "--workers",
        "1",
        "--threads",
        "1",
        "--cpu",
        "--quiet",
        "--out",
        out,
    ]
}

/// `trainer distill` works with a teacher of another size, for a CLIP-family and a
/// convolutional student; a student as teacher, a missing or a corrupt teacher is a clear error
/// naming it, and nothing is written.
#[test]
fn distill_command_and_bad_teachers() {
    let s = setup();
    let st = |p: &Path| p.to_str().unwrap().to_string();
    let (root, teacher) = (st(&s.root), st(&s.teacher));
    let out = s.dir.path().join("run");
    let mut args = distill_args(&root, &teacher, out.to_str().unwrap());
    args.extend(["--spoof-cues", "0.3", "--cues", "moire,jpeg"]);
    let (ok, text) = trainer(&args);
    assert!(ok, "{text}");
    assert!(out.join("best.safetensors").exists() && out.join(LATEST).exists());
    assert!(text.contains("distilling from"), "{text}");

    // A student (MobileNetV3 kind, 112 px, its own normalisation) learns from the 64-px CLIP
    // teacher; its log has the distillation term.
    let out_s = s.dir.path().join("run-student");
    let mut args = distill_args(&root, &teacher, out_s.to_str().unwrap());
    let arch = args.iter().position(|a| *a == "tiny").unwrap();
    args[arch] = "student-s";
    args.extend(["--spoof-cues", "0.5"]);
    let (ok, text) = trainer(&args);
    assert!(ok, "{text}");
    let log = std::fs::read_to_string(out_s.join(LOG)).unwrap();
    assert!(log.lines().any(|l| l.contains("\"kd\"")), "{log}");

    // A student given as the teacher: refused, nothing written.
    let student_ckpt = s.dir.path().join("student.safetensors");
    let (ok, text) = trainer(&["init", "--preset", "student-s", "--out", &st(&student_ckpt)]);
    assert!(ok, "{text}");
    let out_bad = s.dir.path().join("student-as-teacher");
    let (ok, text) = trainer(&distill_args(
        &root,
        &st(&student_ckpt),
        out_bad.to_str().unwrap(),
    ));
    assert!(!ok, "{text}");
    assert!(
        text.contains("student") && text.contains(&st(&student_ckpt)) && text.contains("--teacher"),
        "{text}"
    );
    assert!(!out_bad.exists());

    let missing = s.dir.path().join("no-such-teacher.safetensors");
    let corrupt = s.dir.path().join("corrupt.safetensors");
    let mut bytes = std::fs::read(&s.teacher).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x40; // one flipped bit in the weights: the content hash fails
    std::fs::write(&corrupt, &bytes).unwrap();
    let truncated = s.dir.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..n / 2]).unwrap();
    for bad in [&missing, &corrupt, &truncated] {
        let out = s.dir.path().join("bad-run");
        let (ok, text) = trainer(&distill_args(&root, &st(bad), out.to_str().unwrap()));
        assert!(!ok, "{}: {text}", bad.display());
        assert!(
            text.contains(&st(bad)) && text.contains("--teacher"),
            "{}: {text}",
            bad.display()
        );
        assert!(!text.contains("panicked"), "{text}");
        assert!(!out.exists(), "{}: something was written", bad.display());
    }
}
