//! ONNX types and the model contract shared by the trainer (writer) and the runtime (reader).

pub mod meta;
pub use meta::{MetaError, ModelMeta};
