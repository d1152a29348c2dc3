//! Model-level tests: parameter counts, HF import, MoAE identity at W_o = 0, text pooling.

use moae_trainer::model::checkpoint::{copy_into, CheckpointError};
use moae_trainer::model::config::{ModelConfig, Variant};
use moae_trainer::model::experts::is_expert_param;
use moae_trainer::model::hf_import::{import_clip, load_hf_tensors, HF_WEIGHTS};
use moae_trainer::model::info::{param_counts, vision_macs};
use moae_trainer::model::prompts::{class_embeddings, PromptSet};
use moae_trainer::model::MoaeClip;
use safetensors::tensor::{Dtype, TensorView};
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

fn build(preset: &str, variant: Variant) -> (ModelConfig, nn::VarStore, MoaeClip) {
    let cfg = ModelConfig::preset(preset, variant).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MoaeClip::new(&vs.root(), &cfg);
    (cfg, vs, model)
}

fn pixels(n: i64, size: i64, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::randn([n, 3, size, size], (Kind::Float, Device::Cpu))
}

#[test]
fn vit_b16_clip_has_the_hf_parameter_counts() {
    let (cfg, vs, _m) = build("vit-b16", Variant::Clip);
    let c = param_counts(&vs);
    assert_eq!(c.vision, 85_799_424);
    assert_eq!(c.text, 63_165_952);
    assert_eq!(c.visual_projection, 393_216);
    assert_eq!(c.text_projection, 262_144);
    assert_eq!(c.logit_scale, 1);
    assert_eq!(c.experts, 0);
    assert_eq!(c.other, 0);
    assert_eq!(c.total, 149_620_737);
    // Sanity of the MAC count: ViT-B/16 at 224 px is ~17.6 GMACs.
    let macs = vision_macs(&cfg).total as f64 / 1e9;
    assert!((17.4..17.7).contains(&macs), "{macs}");
    // HF names, including the misspelt pre-norm.
    let vars = vs.variables();
    for name in [
        "vision_model.pre_layrnorm.weight",
        "vision_model.embeddings.patch_embedding.weight",
        "vision_model.embeddings.class_embedding",
        "vision_model.encoder.layers.11.self_attn.q_proj.weight",
        "vision_model.post_layernorm.bias",
        "text_model.final_layer_norm.weight",
        "text_model.encoder.layers.3.mlp.fc1.bias",
        "logit_scale",
    ] {
        assert!(vars.contains_key(name), "missing {name}");
    }
    assert!(!vars.contains_key("vision_model.embeddings.patch_embedding.bias"));
    assert!(!vars.contains_key("visual_projection.bias"));
}

/// Writes `tensors` as an HF-style safetensors file (no metadata) in `dtype`.
fn write_hf(path: &Path, tensors: &[(String, Tensor)], dtype: Dtype) {
    let kind = match dtype {
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        _ => Kind::Float,
    };
    let bufs: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = tensors
        .iter()
        .map(|(n, t)| {
            let (t, dt) = if t.kind() == Kind::Int64 {
                (t.contiguous(), Dtype::I64)
            } else {
                (t.to_kind(kind).contiguous(), dtype)
            };
            let mut data = vec![0u8; t.numel() * t.kind().elt_size_in_bytes()];
            t.copy_data_u8(&mut data, t.numel());
            (
                n.clone(),
                t.size().iter().map(|&d| d as usize).collect(),
                data,
                dt,
            )
        })
        .collect();
    let views: Vec<(String, TensorView)> = bufs
        .iter()
        .map(|(n, s, d, dt)| (n.clone(), TensorView::new(*dt, s.clone(), d).unwrap()))
        .collect();
    let bytes = safetensors::tensor::serialize(views, None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A random tiny CLIP in HF layout, with the `position_ids` buffers HF exports carry.
fn hf_tiny_clip(dir: &Path, dtype: Dtype) -> Vec<(String, Tensor)> {
    let (cfg, vs, _m) = build("tiny", Variant::Clip);
    let mut tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let mut with_buffers: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    with_buffers.push((
        "text_model.embeddings.position_ids".into(),
        Tensor::arange(cfg.text.context_length, (Kind::Int64, Device::Cpu)).unsqueeze(0),
    ));
    with_buffers.push((
        "vision_model.embeddings.position_ids".into(),
        Tensor::arange(cfg.vision.tokens(), (Kind::Int64, Device::Cpu)).unsqueeze(0),
    ));
    write_hf(&dir.join(HF_WEIGHTS), &with_buffers, dtype);
    tensors
}

#[test]
fn hf_layout_loads_with_exactly_the_expert_params_new() {
    let dir = tempfile::tempdir().unwrap();
    let source = hf_tiny_clip(dir.path(), Dtype::F32);
    for variant in [Variant::Clip, Variant::SoftMoe, Variant::Moae] {
        let cfg = ModelConfig::preset("tiny", variant).unwrap();
        let imp = import_clip(dir.path(), &cfg, Device::Cpu).unwrap();
        let r = &imp.report;
        assert_eq!(
            r.ignored_buffers,
            vec![
                "text_model.embeddings.position_ids".to_string(),
                "vision_model.embeddings.position_ids".to_string()
            ]
        );
        assert_eq!(r.loaded, source.len());
        let mut experts: Vec<String> = imp
            .vs
            .variables()
            .into_keys()
            .filter(|n| is_expert_param(n))
            .collect();
        experts.sort();
        assert_eq!(r.new_params, experts, "{variant}");
        match variant {
            Variant::Clip => assert!(r.new_params.is_empty()),
            Variant::Moae => {
                assert!(r
                    .new_params
                    .contains(&"vision_model.encoder.layers.1.moae.out_proj.weight".into()));
                assert!(r.new_params.iter().all(|n| n.contains(".moae.")));
            }
            Variant::SoftMoe => {
                assert!(r
                    .new_params
                    .contains(&"vision_model.encoder.layers.0.softmoe.scale".into()));
                assert!(r.new_params.iter().all(|n| n.contains(".softmoe.")));
            }
        }
        // The copied values are the file's.
        let vars = imp.vs.variables();
        for (n, t) in &source {
            assert!(vars[n].equal(t), "{n} differs after import");
        }
    }
}

#[test]
fn hf_f16_weights_are_converted() {
    let dir = tempfile::tempdir().unwrap();
    let source = hf_tiny_clip(dir.path(), Dtype::F16);
    let cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
    let imp = import_clip(dir.path(), &cfg, Device::Cpu).unwrap();
    let vars = imp.vs.variables();
    let (n, t) = &source[0];
    assert_eq!(vars[n].kind(), Kind::Float);
    assert!(vars[n].equal(&t.to_kind(Kind::Half).to_kind(Kind::Float)));
}

#[test]
fn hf_import_lists_missing_unexpected_and_misshapen_tensors() {
    let (_cfg, vs, _m) = build("tiny", Variant::Moae);
    let (_c2, clip_vs, _m2) = build("tiny", Variant::Clip);
    let mut named: Vec<(String, Tensor)> = clip_vs.variables().into_iter().collect();
    named.retain(|(n, _)| n != "text_projection.weight");
    for (n, t) in named.iter_mut() {
        if n == "vision_model.pre_layrnorm.weight" {
            *t = Tensor::ones([7], (Kind::Float, Device::Cpu));
        }
    }
    named.push((
        "clip.extra.weight".into(),
        Tensor::ones([2], (Kind::Float, Device::Cpu)),
    ));
    let before = vs.variables()["vision_model.post_layernorm.weight"].copy();
    let err = load_hf_tensors(Path::new("x/model.safetensors"), &vs, named).unwrap_err();
    match &err {
        CheckpointError::Mismatch {
            missing,
            unexpected,
            shapes,
            ..
        } => {
            assert_eq!(missing, &vec!["text_projection.weight".to_string()]);
            assert_eq!(unexpected, &vec!["clip.extra.weight".to_string()]);
            assert_eq!(shapes.len(), 1);
            assert!(
                shapes[0].starts_with("vision_model.pre_layrnorm.weight"),
                "{shapes:?}"
            );
        }
        other => panic!("unexpected error {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("x/model.safetensors") && msg.contains("text_projection.weight"),
        "{msg}"
    );
    // Nothing was copied.
    assert!(vs.variables()["vision_model.post_layernorm.weight"].equal(&before));
}

#[test]
fn missing_hf_directory_is_an_error_naming_the_file() {
    let cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
    let err = import_clip(Path::new("/nonexistent/clip"), &cfg, Device::Cpu).unwrap_err();
    assert!(
        err.to_string()
            .contains("/nonexistent/clip/model.safetensors"),
        "{err}"
    );
}

/// Copies the CLIP weights of `from` into `to` (experts keep their init).
fn share_clip_weights(from: &nn::VarStore, to: &nn::VarStore) {
    let named: Vec<(String, Tensor)> = from.variables().into_iter().collect();
    copy_into(Path::new("test"), to, &named, is_expert_param).unwrap();
}

#[test]
fn moae_with_zero_output_projection_equals_clip() {
    let (_c, clip_vs, clip) = build("tiny", Variant::Clip);
    let (_c, moae_vs, moae) = build("tiny", Variant::Moae);
    let (_c, soft_vs, soft) = build("tiny", Variant::SoftMoe);
    share_clip_weights(&clip_vs, &moae_vs);
    share_clip_weights(&clip_vs, &soft_vs);
    let x = pixels(3, 32, 1);
    let reference = clip.encode_image(&x, false);
    assert!(moae.encode_image(&x, false).equal(&reference));
    // Soft MoE starts at zero too (fc2 zero-initialised, see experts.rs).
    assert!(soft.encode_image(&x, false).equal(&reference));
    // The test can fail: a non-zero W_o changes the output.
    tch::no_grad(|| {
        let mut w = moae_vs.variables()["vision_model.encoder.layers.0.moae.out_proj.weight"]
            .shallow_clone();
        let _ = w.normal_(0.0, 0.1);
    });
    let changed = moae.encode_image(&x, false);
    assert!((changed - &reference).abs().max().double_value(&[]) > 1e-4);
}

#[test]
fn expert_layers_and_sizes_are_configuration() {
    let mut cfg = ModelConfig::preset("tiny", Variant::Moae).unwrap();
    cfg.experts.layers = Some(vec![1]);
    cfg.experts.num_experts = 3;
    cfg.experts.slots_per_expert = Some(5);
    cfg.experts.heads = 4;
    cfg.experts.ratio = 2;
    let vs = nn::VarStore::new(Device::Cpu);
    let m = MoaeClip::new(&vs.root(), &cfg);
    let vars = vs.variables();
    assert!(!vars.keys().any(|n| n.contains("layers.0.moae")));
    assert_eq!(
        vars["vision_model.encoder.layers.1.moae.slots"].size(),
        vec![15, 32]
    );
    // dh = 32 / 4 = 8, hidden = r·dh = 16.
    assert_eq!(
        vars["vision_model.encoder.layers.1.moae.experts.2.fc1.weight"].size(),
        vec![16, 8]
    );
    assert!(!vars.contains_key("vision_model.encoder.layers.1.moae.experts.3.fc1.weight"));
    let out = m.encode_image(&pixels(2, 32, 3), true);
    assert_eq!(out.size(), vec![2, 32]);
}

#[test]
fn moae_forward_matches_the_spec_formula() {
    // Recompute one MoAE block by hand (spec §2) and compare with the module.
    let (_c, vs, model) = build("tiny", Variant::Moae);
    tch::no_grad(|| {
        for (n, mut v) in vs.variables() {
            if n.ends_with("moae.out_proj.weight") {
                let _ = v.normal_(0.0, 0.2);
            }
        }
    });
    let moae = match model.vision.layers[0].experts.as_ref().unwrap() {
        moae_trainer::model::experts::ExpertModule::Moae(m) => m,
        _ => unreachable!(),
    };
    tch::manual_seed(5);
    let h = Tensor::randn([2, 17, 32], (Kind::Float, Device::Cpu));
    let got = moae.forward(&h);
    let (heads, dh, s) = (2i64, 16i64, moae.slots_per_expert);
    let w = |l: &nn::Linear| l.ws.transpose(0, 1);
    let q = moae.slots.matmul(&w(&moae.q_proj)); // [ms, d]
    let k = h.matmul(&w(&moae.k_proj)); // [n, p, d]
    let v = h.matmul(&w(&moae.v_proj));
    let mut head_outs = Vec::new();
    for hd in 0..heads {
        let qh = q.narrow(1, hd * dh, dh);
        let kh = k.narrow(2, hd * dh, dh);
        let vh = v.narrow(2, hd * dh, dh);
        let l = qh.matmul(&kh.transpose(1, 2)) / (dh as f64).sqrt(); // [n, ms, p]
        let d = l.softmax(2, Kind::Float);
        let slots = d.matmul(&vh); // [n, ms, dh]
        let ys: Vec<Tensor> = (0..4)
            .map(|e| moae.experts[e as usize].forward(&slots.narrow(1, e * s, s)))
            .collect();
        let y = Tensor::cat(&ys, 1);
        let c = l.transpose(1, 2).softmax(2, Kind::Float); // [n, p, ms]
        head_outs.push(c.matmul(&y));
    }
    let want = Tensor::cat(&head_outs, 2).matmul(&w(&moae.out_proj));
    let diff = (got - want).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "{diff}");
}

#[test]
fn text_tower_pools_at_eot_and_is_causal() {
    let (_c, _vs, model) = build("tiny", Variant::Clip);
    let a = PromptSet::default_byte_level(77);
    let ids = a.ids_tensor(Device::Cpu).narrow(0, 0, 2);
    let base = model.encode_text(&ids);
    assert_eq!(base.size(), vec![2, 32]);
    // Tokens after the EOT cannot change the pooled output (causal mask + EOT pooling).
    let changed = ids.copy();
    let _ = changed.narrow(1, 70, 7).fill_(123);
    assert!(model
        .encode_text(&changed)
        .allclose(&base, 1e-6, 1e-6, false));
    // Cutting the ids after the last EOT is an optimisation: compare with a tower that sees
    // all 77 positions (a second row with its EOT at the end forces the full length).
    let full = ids.copy();
    let _ = full.get(1).fill_(7);
    let _ = full.get(1).narrow(0, 76, 1).fill_(49407);
    let both = model.encode_text(&full);
    assert!(both.get(0).allclose(&base.get(0), 1e-5, 1e-5, false));
    // A token before the EOT does.
    let changed = ids.copy();
    let _ = changed.narrow(1, 2, 1).fill_(500);
    assert!(!model
        .encode_text(&changed)
        .allclose(&base, 1e-4, 1e-4, false));
    // Class embeddings: [2, proj], unit rows.
    let ce = class_embeddings(&model, &a.ids_tensor(Device::Cpu));
    assert_eq!(ce.size(), vec![2, 32]);
    let norms = ce.square().sum_dim_intlist(-1, false, Kind::Float).sqrt();
    assert!(norms.allclose(
        &Tensor::ones([2], (Kind::Float, Device::Cpu)),
        1e-5,
        1e-5,
        false
    ));
}

#[test]
fn attention_matches_the_explicit_formula_with_causal_mask() {
    use moae_trainer::model::clip::TextTower;
    let (_c, _vs, model) = build("tiny", Variant::Clip);
    let attn = &model.text.layers[0].self_attn;
    tch::manual_seed(9);
    let x = Tensor::randn([2, 6, 32], (Kind::Float, Device::Cpu));
    let w = |l: &nn::Linear| (l.ws.transpose(0, 1), l.bs.as_ref().unwrap().shallow_clone());
    let proj = |l: &nn::Linear| {
        let (wt, b) = w(l);
        x.matmul(&wt) + b
    };
    let heads = |t: Tensor| t.view([2, 6, 2, 16]).transpose(1, 2);
    let (q, k, v) = (
        heads(proj(&attn.q_proj)),
        heads(proj(&attn.k_proj)),
        heads(proj(&attn.v_proj)),
    );
    let scores = q.matmul(&k.transpose(-2, -1)) * 0.25 + TextTower::causal_mask(6, Device::Cpu);
    let o = scores
        .softmax(-1, Kind::Float)
        .matmul(&v)
        .transpose(1, 2)
        .reshape([2, 6, 32]);
    let (wo, bo) = w(&attn.out_proj);
    let want = o.matmul(&wo) + bo;
    let got = attn.forward(&x, true);
    let diff = (got - want).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "{diff}");
}

fn trainer(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .output()
        .expect("run trainer");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_info_vit_b16_clip_counts_the_hf_parameters() {
    let (ok, out, err) = trainer(&["info", "--preset", "vit-b16", "--variant", "clip", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let p = &v["params"];
    assert_eq!(p["total"], 149_620_737);
    assert_eq!(p["vision"], 85_799_424);
    assert_eq!(p["text"], 63_165_952);
    assert_eq!(p["visual_projection"], 393_216);
    assert_eq!(p["text_projection"], 262_144);
    assert_eq!(p["logit_scale"], 1);
    assert_eq!(v["config"]["experts"]["variant"], "clip");
}

#[test]
fn cli_import_clip_then_info_on_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    hf_tiny_clip(dir.path(), Dtype::F32);
    let ckpt = dir.path().join("moae.safetensors");
    let (ok, out, err) = trainer(&[
        "import-clip",
        "--hf",
        dir.path().to_str().unwrap(),
        "--preset",
        "tiny",
        "--variant",
        "moae",
        "--out",
        ckpt.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("vision_model.encoder.layers.0.moae.out_proj.weight"),
        "{out}"
    );
    assert!(out.contains("position_ids"), "{out}");
    let (ok, out, err) = trainer(&["info", ckpt.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("variant moae") && out.contains("experts"),
        "{out}"
    );
    // A bad directory is a clear error, not a panic.
    let (ok, _, err) = trainer(&["import-clip", "--hf", "/nonexistent", "--out", "/tmp/x.st"]);
    assert!(
        !ok && err.contains("/nonexistent/model.safetensors"),
        "{err}"
    );
}

#[test]
fn wrong_inputs_are_errors_not_panics() {
    let (_c, _vs, model) = build("tiny", Variant::Clip);
    assert!(model.check_pixels(&pixels(2, 32, 0)).is_ok());
    let err = model.check_pixels(&pixels(2, 64, 0)).unwrap_err();
    assert!(err.to_string().contains("[N, 3, 32, 32]"), "{err}");
    let ids = PromptSet::default_byte_level(77).ids_tensor(Device::Cpu);
    assert!(model.check_ids(&ids).is_ok());
    assert!(model.check_ids(&ids.to_kind(Kind::Int)).is_err());
    assert!(model.check_ids(&(ids + 49408)).is_err());
}

#[test]
fn softmoe_forward_matches_the_vmoe_formula() {
    let (_c, vs, model) = build("tiny", Variant::SoftMoe);
    tch::no_grad(|| {
        for (n, mut v) in vs.variables() {
            if n.contains("softmoe.experts") && n.contains("fc2") {
                let _ = v.normal_(0.0, 0.2);
            }
            if n.ends_with("softmoe.scale") {
                let _ = v.fill_(1.7);
            }
        }
    });
    let soft = match model.vision.layers[1].experts.as_ref().unwrap() {
        moae_trainer::model::experts::ExpertModule::SoftMoe(m) => m,
        _ => unreachable!(),
    };
    tch::manual_seed(6);
    let h = Tensor::randn([2, 17, 32], (Kind::Float, Device::Cpu));
    let got = soft.forward(&h);
    let norm = |x: &Tensor| x / (x.square().sum_dim_intlist(-1, true, Kind::Float) + 1e-6).sqrt();
    let logits = norm(&h).matmul(&(norm(&soft.slots) * 1.7).transpose(0, 1)); // [n, p, ms]
    let dispatch = logits.softmax(1, Kind::Float);
    let combine = logits.softmax(2, Kind::Float);
    let slots = dispatch.transpose(1, 2).matmul(&h); // [n, ms, d]
    let s = soft.slots_per_expert;
    let ys: Vec<Tensor> = (0..4)
        .map(|e| soft.experts[e as usize].forward(&slots.narrow(1, e * s, s)))
        .collect();
    let want = combine.matmul(&Tensor::cat(&ys, 1));
    let diff = (got - want).abs().max().double_value(&[]);
    assert!(diff < 1e-5, "{diff}");
}
