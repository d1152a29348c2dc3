//! A tiny model built with the builder serialises, parses back identically, and carries the
//! metadata contract; foreign and corrupt bytes give their own errors.

use moae_onnx::meta::{self, FORMAT_VERSION};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{model_meta, read_model, to_bytes, Attr, Dim, GraphBuilder, ModelMeta, OnnxError};
use moae_onnx::{IR_VERSION, OPSET};

fn sample_meta() -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        config_json: "{\"preset\":\"tiny\"}".into(),
        preset: "tiny".into(),
        variant: "clip".into(),
        input_size: 4,
        mean: [0.5, 0.5, 0.5],
        std: [0.25, 0.25, 0.25],
        classes: meta::CLASSES.iter().map(|s| s.to_string()).collect(),
        attack_types: Vec::new(),
        threshold: 0.5,
        threshold_calibrated: false,
        precision: "fp32".into(),
        checkpoint_sha256: "00".into(),
        producer: "test 0".into(),
    }
}

/// pixels [N,3] -> MatMul W[3,2] + b -> logits; Softmax -> attack score column.
fn tiny_model(with_meta: bool) -> moae_onnx::proto::ModelProto {
    let mut g = GraphBuilder::new("tiny");
    let x = g.input("x", DataType::Float, &[Dim::batch(), Dim::Fixed(3)]);
    let w = g.initializer_f32("w", &[3, 2], &[1.0, 0.0, 0.0, 1.0, 0.5, -0.5]);
    let b = g.initializer_f32("b", &[2], &[0.1, -0.1]);
    let _dup = g.initializer_f32("w", &[1], &[9.0]);
    let _h = g.initializer_f16("half", &[2], &[1.0, 2.0]);
    let _q = g.initializer_i8("q", &[2], &[-1, 1]);
    let _u = g.initializer_u8("u", &[1], &[255]);
    let mm = g.op("MatMul", &[&x, &w], vec![]);
    let logits = g.op("Add", &[&mm, &b], vec![]);
    let p = g.op("Softmax", &[&logits], vec![Attr::int("axis", -1)]);
    let idx = g.const_i64("idx", &[1]);
    let col = g.op("Gather", &[&p, &idx], vec![Attr::int("axis", 1)]);
    g.output(
        &logits,
        "logits",
        DataType::Float,
        &[Dim::batch(), Dim::Fixed(2)],
    );
    g.output(
        &col,
        "attack_score",
        DataType::Float,
        &[Dim::batch(), Dim::Fixed(1)],
    );
    let meta = sample_meta();
    g.finish(OPSET, IR_VERSION, "test 0.1", with_meta.then_some(&meta))
}

#[test]
fn tiny_model_round_trips_with_metadata() {
    let model = tiny_model(true);
    let bytes = to_bytes(&model);
    let back = read_model(&bytes).unwrap();
    assert_eq!(back, model);
    assert_eq!(back.ir_version, Some(IR_VERSION));
    assert_eq!(back.opset_import[0].version, Some(OPSET));
    let g = back.graph.as_ref().unwrap();
    let init_names: Vec<_> = g.initializer.iter().map(|t| t.name().to_string()).collect();
    assert!(init_names.iter().any(|n| n == "w"));
    // A taken name gets a fresh one rather than silently shadowing the first tensor.
    assert_eq!(
        init_names.iter().filter(|n| n.starts_with("w")).count(),
        2,
        "{init_names:?}"
    );
    let f32_w = g.initializer.iter().find(|t| t.name() == "w").unwrap();
    assert_eq!(f32_w.raw_data().len(), 6 * 4);
    let half = g.initializer.iter().find(|t| t.name() == "half").unwrap();
    assert_eq!(half.raw_data(), &[0x00, 0x3c, 0x00, 0x40]);
    assert_eq!(g.output[0].name(), "logits");
    assert_eq!(model_meta(&back).unwrap(), sample_meta());
}

#[test]
fn foreign_and_corrupt_bytes_are_distinct_errors() {
    let foreign = to_bytes(&tiny_model(false));
    let err = model_meta(&read_model(&foreign).unwrap()).unwrap_err();
    assert!(
        matches!(err, OnnxError::Meta(meta::MetaError::Missing(_))),
        "{err}"
    );
    assert!(err.to_string().contains("not exported by `trainer export`"));

    assert!(matches!(read_model(&[]), Err(OnnxError::NotOnnx(_))));
    let mut truncated = to_bytes(&tiny_model(true));
    truncated.truncate(truncated.len() / 2);
    assert!(read_model(&truncated).is_err());
    let junk = b"\x89PNG\r\n\x1a\n this is not a model".to_vec();
    assert!(read_model(&junk).is_err());
}

/// `classifier_outputs` ends a graph the way the runtime reads it: `logits` [N, 2] and a
/// rank-1 `attack_score` [N] taken from the `attack` column of a softmax over classes.
#[test]
fn classifier_outputs_follow_the_output_contract() {
    let mut g = GraphBuilder::new("head");
    let x = g.input("x", DataType::Float, &[Dim::batch(), Dim::Fixed(2)]);
    g.classifier_outputs(&x, &Dim::batch());
    let graph = g.finish(OPSET, IR_VERSION, "test", None).graph.unwrap();
    let names: Vec<_> = graph
        .output
        .iter()
        .map(|o| o.name.clone().unwrap())
        .collect();
    assert_eq!(names, [meta::OUTPUT_LOGITS, meta::OUTPUT_ATTACK_SCORE]);
    let rank = |i: usize| match &graph.output[i].r#type.as_ref().unwrap().value {
        Some(moae_onnx::proto::type_proto::Value::TensorType(t)) => {
            t.shape.as_ref().unwrap().dim.len()
        }
        other => panic!("not a tensor type: {other:?}"),
    };
    assert_eq!((rank(0), rank(1)), (2, 1));
    let ops: Vec<_> = graph
        .node
        .iter()
        .map(|n| n.op_type.clone().unwrap())
        .collect();
    assert_eq!(ops, ["Softmax", "Gather", "Identity", "Identity"]);
    let softmax_axis = graph.node[0].attribute[0].i;
    assert_eq!(softmax_axis, Some(-1));
    let index = graph
        .initializer
        .iter()
        .find(|t| {
            Some(t.name.as_deref().unwrap()) == graph.node[1].input.get(1).map(|s| s.as_str())
        })
        .expect("the Gather index is an initializer");
    let attack = meta::CLASSES.iter().position(|c| *c == "attack").unwrap() as i64;
    assert!(index.dims.is_empty(), "a scalar index drops the class axis");
    assert_eq!(index.raw_data.as_deref(), Some(&attack.to_le_bytes()[..]));
}
