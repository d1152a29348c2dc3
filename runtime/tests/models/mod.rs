//! Models that break the contract in one chosen way (a NaN bias, bad metadata), for the
//! fail-closed tests of the runtime and of the `moae` CLI: `support::linear_model` with its
//! bias or its metadata replaced.

use crate::support::{linear_model, ModelSpec};
use moae_onnx::meta::ModelMeta;
use moae_onnx::proto::StringStringEntryProto;
use moae_onnx::{read_model, to_bytes};

/// The linear test model of `meta.input_size` with bias `bias` and metadata `meta`.
pub fn model(bias: [f32; 2], meta: &ModelMeta) -> Vec<u8> {
    let spec = ModelSpec {
        size: meta.input_size,
        ..ModelSpec::default()
    };
    let mut m = read_model(&linear_model(&spec)).expect("the test model parses");
    let graph = m.graph.as_mut().expect("graph");
    let b = graph
        .initializer
        .iter_mut()
        .find(|t| t.name.as_deref() == Some("B"))
        .expect("bias initializer");
    b.raw_data = Some(bias.iter().flat_map(|v| v.to_le_bytes()).collect());
    m.metadata_props = meta
        .to_props()
        .into_iter()
        .map(|(k, v)| StringStringEntryProto {
            key: Some(k),
            value: Some(v),
        })
        .collect();
    to_bytes(&m)
}

/// [`model`] whose every score is NaN (as a corrupt or badly quantised export's would be).
pub fn nan_model(meta: &ModelMeta) -> Vec<u8> {
    model([f32::NAN, 0.0], meta)
}
