//! Checkpoint round trip, corruption and mismatch errors, and a toy training run.

use moae_trainer::model::checkpoint::{self, CheckpointError, CheckpointMeta};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::prompts::{class_embeddings, PromptSet};
use moae_trainer::model::MoaeClip;
use moae_trainer::train::losses::{total_loss, LossConfig};
use std::collections::BTreeMap;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

fn tiny(variant: Variant) -> (ModelConfig, nn::VarStore, MoaeClip) {
    let cfg = ModelConfig::preset("tiny", variant).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let m = MoaeClip::new(&vs.root(), &cfg);
    (cfg, vs, m)
}

fn meta() -> CheckpointMeta {
    CheckpointMeta {
        prompts: Some(PromptSet::default_byte_level(77)),
        step: Some(42),
        train: Some(moae_trainer::train::TrainState {
            config: moae_trainer::train::TrainConfig::default(),
            optim: Some("optim-42.safetensors".into()),
            loader: None,
            best: None,
        }),
    }
}

#[test]
fn save_load_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.safetensors");
    let (cfg, vs, model) = tiny(Variant::Moae);
    // Non-trivial expert weights, so every tensor differs from a fresh init.
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            let _ = v.g_add_(&(v.randn_like() * 0.01));
        }
    });
    checkpoint::save(&path, &cfg, &vs, &meta()).unwrap();
    let loaded = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(loaded.config, cfg);
    assert_eq!(loaded.meta, meta());
    let (a, b) = (vs.variables(), loaded.vs.variables());
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        let u = &b[name];
        assert_eq!(t.kind(), u.kind());
        // Bitwise: compare the raw bytes.
        let bytes = |x: &Tensor| {
            let mut v = vec![0u8; x.numel() * 4];
            x.copy_data_u8(&mut v, x.numel());
            v
        };
        assert_eq!(bytes(t), bytes(u), "{name}");
    }
    tch::manual_seed(3);
    let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
    assert!(model
        .encode_image(&x, false)
        .equal(&loaded.model.encode_image(&x, false)));
    // Saving again over the same path works (atomic replace) and leaves no temp files.
    checkpoint::save(&path, &cfg, &loaded.vs, &meta()).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn corrupt_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let (cfg, vs, _m) = tiny(Variant::Clip);
    checkpoint::save(&path, &cfg, &vs, &CheckpointMeta::default()).unwrap();
    let good = std::fs::read(&path).unwrap();

    // Truncated.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let err = checkpoint::load(&path, Device::Cpu).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("c.safetensors"), "{err}");

    // One flipped byte in the tensor data: the checksum catches it.
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x40;
    std::fs::write(&path, &flipped).unwrap();
    let err = checkpoint::load(&path, Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");

    // Not a safetensors file at all.
    std::fs::write(&path, b"hello world, definitely not tensors").unwrap();
    assert!(matches!(
        checkpoint::load(&path, Device::Cpu),
        Err(CheckpointError::Corrupt { .. })
    ));

    // Missing file: an I/O error naming the path.
    let missing = dir.path().join("nope.safetensors");
    let err = checkpoint::load(&missing, Device::Cpu).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Io { .. }) && err.to_string().contains("nope.safetensors")
    );
}

#[test]
fn weights_that_do_not_match_the_config_list_the_offenders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    // A clip checkpoint whose config claims moae: the expert weights are missing.
    let (_cfg, vs, _m) = tiny(Variant::Clip);
    let moae_cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
    checkpoint::save(&path, &moae_cfg, &vs, &CheckpointMeta::default()).unwrap();
    match checkpoint::load(&path, Device::Cpu).unwrap_err() {
        CheckpointError::Mismatch {
            missing,
            unexpected,
            shapes,
            ..
        } => {
            assert!(!missing.is_empty() && missing.iter().all(|n| n.contains(".moae.")));
            assert!(unexpected.is_empty() && shapes.is_empty());
        }
        other => panic!("{other}"),
    }
    // A wider projection in the config than in the weights: shapes differ.
    let mut wide = ModelConfig::preset("tiny", Variant::Clip).unwrap();
    wide.projection_dim = 48;
    checkpoint::save(&path, &wide, &vs, &CheckpointMeta::default()).unwrap();
    let err = checkpoint::load(&path, Device::Cpu).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("visual_projection.weight") && msg.contains("wrong shape"),
        "{msg}"
    );
}

#[test]
fn write_to_a_missing_directory_is_an_error_naming_the_path() {
    let (cfg, vs, _m) = tiny(Variant::Clip);
    let path = std::path::Path::new("/nonexistent-dir/x.safetensors");
    let err = checkpoint::save(path, &cfg, &vs, &CheckpointMeta::default()).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent-dir/"), "{err}");
}

#[test]
fn generic_tensor_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opt.safetensors");
    let t = vec![
        (
            "adam.m.0".to_string(),
            Tensor::from_slice(&[1.5f32, -2.0]).view([2, 1]),
        ),
        ("step".to_string(), Tensor::from_slice(&[9i64])),
    ];
    let mut md = BTreeMap::new();
    md.insert("lr".to_string(), "1e-4".to_string());
    checkpoint::save_tensors(&path, &t, &md).unwrap();
    let (back, md2) = checkpoint::load_tensors(&path, Device::Cpu).unwrap();
    assert_eq!(md2["lr"], "1e-4");
    assert_eq!(back.len(), 2);
    assert!(back[0].1.equal(&t[0].1) && back[1].1.equal(&t[1].1));
}

/// A separable toy batch: live images brighter in the red channel, attacks with a stripe
/// pattern — enough for the tiny model to learn in a few hundred steps.
fn toy_batch(n: i64) -> (Tensor, Tensor) {
    tch::manual_seed(11);
    let opts = (Kind::Float, Device::Cpu);
    let labels = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(2);
    let noise = Tensor::randn([n, 3, 32, 32], opts) * 0.5;
    let stripes = (Tensor::arange(32, opts) * 1.5).sin().view([1, 1, 1, 32]);
    let is_attack = labels.to_kind(Kind::Float).view([n, 1, 1, 1]);
    let x = noise + &is_attack * stripes + (1.0 - is_attack) * 0.5;
    (x, labels)
}

#[test]
fn adam_on_a_toy_batch_drives_the_total_loss_down() {
    // One intra-op thread: on a small shared CPU, libtorch's thread pool only adds contention.
    tch::set_num_threads(1);
    tch::manual_seed(0);
    let (_cfg, vs, model) = tiny(Variant::Moae);
    let prompts = PromptSet::default_byte_level(77).ids_tensor(Device::Cpu);
    let (x, y) = toy_batch(8);
    let mut opt = nn::Adam::default().build(&vs, 1e-3).unwrap();
    let loss_cfg = LossConfig::default();
    let mut history = Vec::new();
    for _ in 0..200 {
        let img = model.encode_image(&x, true);
        let cls = class_embeddings(&model, &prompts);
        let l = total_loss(&img, &cls, model.logit_scale(), &y, &loss_cfg);
        opt.backward_step(&l.total);
        history.push((l.total.double_value(&[]), l.ce.double_value(&[])));
    }
    eprintln!(
        "total/ce every 20 steps: {:?}",
        history.iter().step_by(20).collect::<Vec<_>>()
    );
    let (first, first_ce) = history[0];
    let (last, last_ce) = history[history.len() - 1];
    assert!(history.iter().all(|(t, c)| t.is_finite() && c.is_finite()));
    assert!(last < first * 0.8, "total {first} → {last}");
    assert!(last_ce < first_ce * 0.5, "ce {first_ce} → {last_ce}");
    // The batch is classified correctly.
    let img = model.encode_image(&x, false);
    let cls = class_embeddings(&model, &prompts);
    let pred = model.classifier_logits(&img, &cls).argmax(-1, false);
    assert!(pred.equal(&y));
}

#[test]
fn a_failed_write_leaves_the_previous_checkpoint_loadable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latest.safetensors");
    let (cfg, vs, _m) = tiny(Variant::Clip);
    checkpoint::save(&path, &cfg, &vs, &CheckpointMeta::default()).unwrap();
    // A crashed writer leaves at most a half-written temp file beside the checkpoint.
    std::fs::write(
        dir.path().join(".latest.safetensors.tmp-1-0"),
        b"half a checkpo",
    )
    .unwrap();
    let loaded = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(loaded.config, cfg);
    // A write whose rename fails (target is a directory) is an error naming the target, and
    // leaves no temp file behind.
    let blocked = dir.path().join("blocked.safetensors");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();
    let err = checkpoint::save(&blocked, &cfg, &vs, &CheckpointMeta::default()).unwrap_err();
    assert!(err.to_string().contains("blocked.safetensors"), "{err}");
    let temps = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("blocked.safetensors.tmp")
        })
        .count();
    assert_eq!(temps, 0);
}

/// Rewrites `path`'s metadata entry `key` with `edit`, keeping every tensor and the stored
/// checksum as they are (what a hand edit of the header does).
fn edit_metadata(path: &std::path::Path, key: &str, edit: impl Fn(&mut String)) {
    use safetensors::tensor::{serialize, SafeTensors};
    let bytes = std::fs::read(path).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut md = header.metadata().clone().unwrap();
    edit(md.get_mut(key).unwrap());
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let out = serialize(st.tensors(), Some(md)).unwrap();
    std::fs::write(path, out).unwrap();
}

/// [`edit_metadata`] of a JSON entry; returns the new entry.
fn edit_json(path: &std::path::Path, key: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let new = std::cell::RefCell::new(String::new());
    edit_metadata(path, key, |s| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        edit(&mut v);
        *s = v.to_string();
        *new.borrow_mut() = s.clone();
    });
    new.into_inner()
}

/// Issue 14 item 4: the checksum covers the config and the metadata, not only the tensors.
/// Each of these edits leaves every tensor fitting the config, so only the hash can catch it.
#[test]
fn an_edited_config_or_meta_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let (cfg, vs, _m) = tiny(Variant::Moae);
    checkpoint::save(&path, &cfg, &vs, &meta()).unwrap();
    let good = std::fs::read(&path).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 4] = [
        ("config", |c| c["vision"]["heads"] = 1.into()),
        ("config", |c| c["layer_norm_eps"] = 0.01.into()),
        ("config", |c| c["vision"]["mean"][0] = 0.9.into()),
        ("meta", |m| m["step"] = 7.into()),
    ];
    for (key, edit) in edits {
        std::fs::write(&path, &good).unwrap();
        let edited = edit_json(&path, key, edit);
        if key == "config" {
            // A config the model accepts: only the checksum stands in the way.
            ModelConfig::from_json(&edited).unwrap();
        }
        let err = checkpoint::load(&path, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("checksum mismatch"), "{key}: {err}");
    }
    // The same rewrite without an edit loads: the failures above are the checksum's.
    std::fs::write(&path, &good).unwrap();
    edit_metadata(&path, "meta", |_| {});
    checkpoint::load(&path, Device::Cpu).unwrap();
}

/// A config out of range is a named error before any model is allocated, even in a file whose
/// checksum is valid (written with the hash recomputed).
#[test]
fn an_absurd_config_with_a_valid_checksum_is_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    let (cfg, vs, _m) = tiny(Variant::Clip);
    let mut big: serde_json::Value = serde_json::from_str(&cfg.to_json()).unwrap();
    big["vision"]["layers"] = 100_000.into();
    let mut md = BTreeMap::new();
    md.insert("format".to_string(), checkpoint::FORMAT.to_string());
    md.insert("config".to_string(), big.to_string());
    let tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    checkpoint::save_tensors(&path, &tensors, &md).unwrap();
    let err = checkpoint::load(&path, Device::Cpu).unwrap_err();
    assert!(matches!(err, CheckpointError::Config { .. }), "{err}");
    assert!(
        err.to_string().contains("vision.layers must be in 1..=128"),
        "{err}"
    );
}

/// Files of format 1 (checksum over tensors only) are refused with the way out.
#[test]
fn format_one_checkpoints_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.safetensors");
    let (cfg, vs, _m) = tiny(Variant::Clip);
    checkpoint::save(&path, &cfg, &vs, &CheckpointMeta::default()).unwrap();
    edit_metadata(&path, "format", |f| *f = "moae-checkpoint/1".into());
    let err = checkpoint::load(&path, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("moae-checkpoint/1") && err.contains("re-create"),
        "{err}"
    );
}

/// The training state is typed: a corrupt record (here a `best` whose step is not a number)
/// is an error at load, not silently dropped — even in a file whose checksum is valid.
#[test]
fn a_corrupt_training_record_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-best.safetensors");
    let (cfg, vs, _m) = tiny(Variant::Clip);
    let mut m: serde_json::Value = serde_json::to_value(meta()).unwrap();
    let dev = serde_json::json!({"n": 4, "eer": 0.25, "auc": 0.9, "acer": 0.25, "threshold": 0.5});
    m["train"]["best"] = serde_json::json!({ "step": "three", "dev": dev });
    let mut md = BTreeMap::new();
    md.insert("format".to_string(), checkpoint::FORMAT.to_string());
    md.insert("config".to_string(), cfg.to_json());
    md.insert("meta".to_string(), m.to_string());
    let tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    checkpoint::save_tensors(&path, &tensors, &md).unwrap();
    let err = checkpoint::load(&path, Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`meta` metadata") && err.contains("three"),
        "{err}"
    );
    // With a well-formed record the same file loads (the failure above is the record's).
    m["train"]["best"]["step"] = 3.into();
    md.insert("meta".to_string(), m.to_string());
    checkpoint::save_tensors(&path, &tensors, &md).unwrap();
    let l = checkpoint::load(&path, Device::Cpu).unwrap();
    assert_eq!(l.meta.train.unwrap().best.unwrap().step, 3);
}
