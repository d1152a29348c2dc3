//! The runtime's error type: every user-facing failure says what went wrong, where, and what to do.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "could not load ONNX Runtime from `{}`: {reason}. Pass the path of libonnxruntime \
         (>= 1.{min}) in EngineOptions::ort_library_path or set ORT_DYLIB_PATH",
        path.display(),
        min = ort::MINOR_VERSION
    )]
    OrtLibrary { path: PathBuf, reason: String },
    #[error("execution provider `{provider}` is unavailable: {reason}")]
    ProviderUnavailable { provider: String, reason: String },
    #[error("invalid model: {0}")]
    Model(String),
    #[error(
        "model SHA-256 mismatch: expected {expected}, the bytes hash to {actual}; \
         the model file is not the pinned one (corrupt, tampered with, or wrongly decrypted)"
    )]
    ModelHash { expected: String, actual: String },
    #[error("could not read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid frame: {0}")]
    InvalidFrame(String),
    #[error("invalid face box: {0}")]
    InvalidFaceBox(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("could not decode image: {0}")]
    Image(String),
}

const _: () = {
    const fn assert_send_sync_static<T: Send + Sync + 'static>() {}
    assert_send_sync_static::<Error>();
};
