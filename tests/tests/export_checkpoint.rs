//! `export_checkpoint` (what `trainer export` runs): metadata, threshold, Triton entry, and
//! clear errors for corrupt checkpoints and configs that do not match their weights.

use moae_onnx::{model_meta, read_model};
use moae_tests::random_model;
use moae_trainer::eval::metrics::Scored;
use moae_trainer::export::{
    self, build_model, ExportError, ExportOptions, GraphOptions, Threshold, WeightFormat,
};
use moae_trainer::model::checkpoint::{self, CheckpointError, CheckpointMeta};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::prompts::PromptSet;
use std::path::Path;

fn options(threshold: Threshold) -> ExportOptions {
    ExportOptions {
        graph: GraphOptions::default(),
        threshold,
        triton: None,
        triton_name: None,
        calibration: None,
    }
}

fn tiny_checkpoint(dir: &Path, variant: Variant) -> std::path::PathBuf {
    let (vs, model) = random_model("tiny", variant, 1);
    let path = dir.join("tiny.safetensors");
    let meta = CheckpointMeta {
        prompts: Some(PromptSet::default_byte_level(
            model.cfg.text.context_length as usize,
        )),
        ..Default::default()
    };
    checkpoint::save(&path, &model.cfg, &vs, &meta).unwrap();
    path
}

#[test]
fn exported_file_carries_the_metadata_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tiny_checkpoint(tmp.path(), Variant::Moae);
    let out = tmp.path().join("m.onnx");
    let mut opts = options(Threshold::Default);
    opts.triton = Some(tmp.path().join("repo"));
    let r = export::export_checkpoint(&ckpt, &out, &opts).unwrap();
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), r.bytes);
    let meta = model_meta(&read_model(&bytes).unwrap()).unwrap();
    assert_eq!(meta, r.meta);
    assert_eq!(meta.variant, "moae");
    assert_eq!(meta.preset, "tiny");
    assert_eq!(meta.input_size, 32);
    assert_eq!(meta.threshold, 0.5);
    assert!(!meta.threshold_calibrated);
    assert_eq!(meta.precision, "fp32");
    assert_eq!(
        meta.checkpoint_sha256,
        export::sha256_hex(&std::fs::read(&ckpt).unwrap())
    );
    assert_eq!(
        ModelConfig::from_json(&meta.config_json)
            .unwrap()
            .experts
            .variant,
        Variant::Moae
    );
    let triton = r.triton_dir.unwrap();
    assert_eq!(std::fs::read(triton.join("1/model.onnx")).unwrap(), bytes);
    let pbtxt = std::fs::read_to_string(triton.join("config.pbtxt")).unwrap();
    assert!(pbtxt.contains("name: \"m\""), "{pbtxt}");
}

#[test]
fn dev_scores_set_the_eer_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tiny_checkpoint(tmp.path(), Variant::Clip);
    let scored = |score: f64, attack: bool| {
        Scored::new(score, attack, if attack { "physical" } else { "live" })
    };
    // Lives at 0.1..0.3, attacks at 0.7..0.9: the equal-error threshold lies between them.
    let dev = vec![
        scored(0.1, false),
        scored(0.2, false),
        scored(0.3, false),
        scored(0.7, true),
        scored(0.8, true),
        scored(0.9, true),
    ];
    let out = tmp.path().join("m.onnx");
    let r = export::export_checkpoint(&ckpt, &out, &options(Threshold::DevScores(dev))).unwrap();
    assert!(r.meta.threshold_calibrated);
    assert!(
        r.meta.threshold > 0.3 && r.meta.threshold <= 0.7,
        "{}",
        r.meta.threshold
    );

    let one_class = vec![scored(0.1, false), scored(0.2, false)];
    let err = export::export_checkpoint(&ckpt, &out, &options(Threshold::DevScores(one_class)))
        .unwrap_err();
    assert!(matches!(err, ExportError::Calibration(_)), "{err}");
}

#[test]
fn corrupt_checkpoint_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tiny_checkpoint(tmp.path(), Variant::Moae);
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let mid = bytes.len() - 100;
    bytes[mid] ^= 0xff;
    std::fs::write(&ckpt, &bytes).unwrap();
    let out = tmp.path().join("m.onnx");
    let err = export::export_checkpoint(&ckpt, &out, &options(Threshold::Default)).unwrap_err();
    assert!(
        matches!(
            err,
            ExportError::Checkpoint(CheckpointError::Corrupt { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("tiny.safetensors"), "{err}");
    assert!(!out.exists(), "no output is written for a failed export");

    std::fs::write(&ckpt, b"not a checkpoint").unwrap();
    let err = export::export_checkpoint(&ckpt, &out, &options(Threshold::Default)).unwrap_err();
    assert!(matches!(err, ExportError::Checkpoint(_)), "{err}");
    let missing = tmp.path().join("absent.safetensors");
    let err = export::export_checkpoint(&missing, &out, &options(Threshold::Default)).unwrap_err();
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
}

#[test]
fn config_that_does_not_match_the_weights_is_a_clear_error() {
    // In a checkpoint: a `softmoe` config stored with `moae` weights.
    let tmp = tempfile::tempdir().unwrap();
    let (vs, _model) = random_model("tiny", Variant::Moae, 1);
    let wrong = ModelConfig::preset("tiny", Variant::SoftMoe).unwrap();
    let ckpt = tmp.path().join("wrong.safetensors");
    checkpoint::save(&ckpt, &wrong, &vs, &CheckpointMeta::default()).unwrap();
    let err = export::export_checkpoint(
        &ckpt,
        &tmp.path().join("m.onnx"),
        &options(Threshold::Default),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            ExportError::Checkpoint(CheckpointError::Mismatch { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("moae"), "{err}");

    // Straight into the graph builder: the weight that disagrees is named.
    let (vs, model) = random_model("tiny", Variant::Moae, 1);
    let class_emb = moae_tests::default_class_embeddings(&model);
    let mut cfg = model.cfg.clone();
    cfg.experts.num_experts = 2;
    let meta = export::model_meta(&cfg, WeightFormat::Fp32, None, "x");
    let err = build_model(
        &cfg,
        vs.variables(),
        &class_emb,
        &GraphOptions::default(),
        &meta,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ExportError::WeightShape { name, .. } if name.contains(".moae.slots")),
        "{err}"
    );
    let mut vars = vs.variables();
    vars.remove("vision_model.post_layernorm.bias");
    let err = build_model(
        &model.cfg,
        vars,
        &class_emb,
        &GraphOptions::default(),
        &meta,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("vision_model.post_layernorm.bias"),
        "{err}"
    );
}
