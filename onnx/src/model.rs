//! Whole-model helpers: the opset/IR versions we write, serialisation, and reading a model
//! back with clear errors for files that are not ONNX or not ours.

use crate::meta::{MetaError, ModelMeta};
use crate::proto::ModelProto;
use prost::Message;

/// Opset 17: the first where `LayerNormalization` is a standard (default-domain) op, so the
/// ViT's 25+ layer norms stay single fused nodes that the CPU, CUDA, TensorRT (8.6+) and CoreML
/// providers all support; ONNX Runtime 1.31 implements opset 17 fully, and it is old enough
/// for every provider's op tables (newer opsets gain us nothing this graph uses).
pub const OPSET: i64 = 17;
/// IR version 8 is the one opset 17 was released with (ONNX 1.12): ORT 1.31 loads it (it reads
/// newer IR versions too), and older TensorRT parsers and converters accept it.
pub const IR_VERSION: i64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error("not an ONNX model: the bytes do not decode as an ONNX ModelProto ({0}); the file is corrupt, truncated or of another format")]
    Decode(#[from] prost::DecodeError),
    #[error("not an ONNX model: {0}")]
    NotOnnx(&'static str),
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// Serialises a model to the ONNX protobuf wire format.
pub fn to_bytes(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// Parses ONNX bytes. Protobuf decoding alone accepts many non-ONNX byte strings (an empty file
/// decodes to a default message), so a model without IR version or graph is rejected too.
pub fn read_model(bytes: &[u8]) -> Result<ModelProto, OnnxError> {
    if bytes.is_empty() {
        return Err(OnnxError::NotOnnx("the file is empty"));
    }
    let model = ModelProto::decode(bytes)?;
    if model.ir_version.unwrap_or(0) <= 0 {
        return Err(OnnxError::NotOnnx("no ir_version"));
    }
    let Some(graph) = &model.graph else {
        return Err(OnnxError::NotOnnx("no graph"));
    };
    if graph.node.is_empty() || graph.output.is_empty() {
        return Err(OnnxError::NotOnnx("the graph has no nodes or no outputs"));
    }
    Ok(model)
}

/// The libmoae metadata of a model (see [`crate::meta`]); a foreign ONNX file fails with
/// [`MetaError::Missing`] naming the first absent key.
pub fn model_meta(model: &ModelProto) -> Result<ModelMeta, OnnxError> {
    let get = |k: &str| {
        model
            .metadata_props
            .iter()
            .find(|p| p.key.as_deref() == Some(k))
            .and_then(|p| p.value.clone())
    };
    Ok(ModelMeta::from_props(get)?)
}
