//! Models that break the contract in one chosen way (a NaN bias, bad metadata), for the
//! fail-closed tests of the runtime and of the `moae` CLI.

use moae_onnx::meta::{self, ModelMeta};
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{to_bytes, Attr, Dim, GraphBuilder, IR_VERSION, OPSET};

use crate::support::W;

/// The linear test model with a chosen bias and metadata (a NaN bias makes NaN logits and a
/// NaN attack_score, as a corrupt or badly quantised export would).
pub fn model(bias: [f32; 2], meta: &ModelMeta) -> Vec<u8> {
    let s = meta.input_size as i64;
    let n = Dim::batch();
    let mut g = GraphBuilder::new("moae-test-fail-closed");
    let x = g.input(
        meta::INPUT_PIXELS,
        DataType::Float,
        &[n.clone(), 3.into(), s.into(), s.into()],
    );
    let wflat: Vec<f32> = W.iter().flatten().copied().collect();
    let w = g.initializer_f32("W", &[3, 2], &wflat);
    let b = g.initializer_f32("B", &[2], &bias);
    let m = g.op(
        "ReduceMean",
        &[&x],
        vec![Attr::ints("axes", &[2, 3]), Attr::int("keepdims", 0)],
    );
    let mw = g.op("MatMul", &[&m, &w], vec![]);
    let logits = g.op("Add", &[&mw, &b], vec![]);
    g.classifier_outputs(&logits, &n);
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-runtime-tests", Some(meta)))
}

/// [`model`] whose every score is NaN (as a corrupt or badly quantised export's would be).
pub fn nan_model(meta: &ModelMeta) -> Vec<u8> {
    model([f32::NAN, 0.0], meta)
}
