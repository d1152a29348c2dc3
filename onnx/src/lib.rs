//! ONNX types and the model contract shared by the trainer (writer) and the runtime (reader).

pub mod builder;
pub mod meta;
pub mod model;

pub use builder::{Attr, Dim, GraphBuilder};
pub use meta::{MetaError, ModelMeta};
pub use model::{model_meta, read_model, to_bytes, OnnxError, IR_VERSION, OPSET};

/// Protobuf types generated from the vendored `proto/onnx.proto` (see
/// `tests/generated_is_current.rs` for how to regenerate). `include!` keeps rustfmt and the
/// lints of this crate off the generated text, so the committed file stays byte-identical.
#[allow(clippy::all, missing_docs, rustdoc::all)]
pub mod proto {
    include!("generated/onnx.rs");
}
