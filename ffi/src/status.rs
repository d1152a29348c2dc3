//! Status codes, their static messages, and the mapping from runtime errors.

use crate::types::moae_status::{self, *};
use moae_runtime::Error;

/// A failure on its way to the C caller: the code, and the detail for `moae_last_error`.
#[derive(Debug)]
pub struct FfiError {
    pub status: moae_status,
    pub detail: String,
}

impl FfiError {
    pub fn new(status: moae_status, detail: impl Into<String>) -> Self {
        FfiError {
            status,
            detail: detail.into(),
        }
    }
    pub fn null(what: &str) -> Self {
        Self::new(MOAE_ERR_NULL_ARGUMENT, format!("`{what}` is NULL"))
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(MOAE_ERR_INVALID_ARGUMENT, detail)
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::OrtLibrary { .. } => MOAE_ERR_ORT_LIBRARY,
            Error::ProviderUnavailable { .. } => MOAE_ERR_PROVIDER_UNAVAILABLE,
            Error::Model(_) => MOAE_ERR_MODEL,
            Error::ModelHash { .. } => MOAE_ERR_MODEL_HASH,
            Error::Io { .. } => MOAE_ERR_IO,
            Error::InvalidFrame(_) => MOAE_ERR_INVALID_FRAME,
            Error::InvalidFaceBox(_) => MOAE_ERR_INVALID_FACE_BOX,
            Error::InvalidArgument(_) => MOAE_ERR_INVALID_ARGUMENT,
            Error::Image(_) => MOAE_ERR_IMAGE_DECODE,
            #[allow(unreachable_patterns)] // the runtime may add variants
            _ => MOAE_ERR_INFERENCE,
        };
        FfiError::new(status, e.to_string())
    }
}

pub type FfiResult<T> = Result<T, FfiError>;

/// The static, NUL-terminated message of a status code (unknown codes get a generic one).
pub fn message(code: i32) -> &'static [u8] {
    match code {
        0 => b"ok\0",
        1 => b"a required pointer argument is NULL\0",
        2 => b"an argument is out of range or malformed\0",
        3 => b"a struct's struct_size is too small for this library\0",
        4 => b"the caller was compiled against an incompatible MOAE_ABI_VERSION\0",
        5 => b"the ONNX Runtime library could not be loaded (missing or wrong version)\0",
        6 => b"the required execution provider is not available\0",
        7 => b"the model is corrupt, foreign, or has wrong metadata or shapes\0",
        8 => b"the model's SHA-256 differs from the pinned one\0",
        9 => b"a file could not be read\0",
        10 => b"the image buffer does not match its format, size and strides\0",
        11 => b"a face box is outside the frame, empty or not finite\0",
        12 => b"model inference failed\0",
        13 => b"the results array is too small; *result_count holds the needed count\0",
        14 => b"unknown pixel format\0",
        15 => b"internal error (a panic was caught); please report it\0",
        16 => b"the image file could not be decoded (JPEG and PNG are supported)\0",
        _ => b"unknown status code\0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_message() {
        let mut seen = std::collections::HashSet::new();
        for code in 0..=16 {
            let m = message(code);
            assert_eq!(m.last(), Some(&0));
            assert_ne!(m, message(-1), "code {code} has no message");
            assert!(seen.insert(m), "code {code} shares a message");
        }
        assert_eq!(MOAE_ERR_IMAGE_DECODE as i32, 16);
    }
}
