//! Status codes on their way to the C caller. The numbers, their messages and the mapping
//! from runtime errors live in `moae_runtime::abi` (shared with JNI); this is only the
//! `moae_status` spelling of them.

use crate::types::moae_status::{self, *};
use moae_runtime::abi::{AbiError, Status};
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
        AbiError::null(what).into()
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        AbiError::invalid(detail).into()
    }
    /// The same error, its detail prefixed with where it happened (e.g. "boxes[2]: ").
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.detail = format!("{prefix}{}", self.detail);
        self
    }
}

/// The C enum of an ABI status (exhaustive: a new status cannot compile without one).
pub fn to_c(s: Status) -> moae_status {
    match s {
        Status::Ok => MOAE_OK,
        Status::NullArgument => MOAE_ERR_NULL_ARGUMENT,
        Status::InvalidArgument => MOAE_ERR_INVALID_ARGUMENT,
        Status::StructSize => MOAE_ERR_STRUCT_SIZE,
        Status::AbiVersion => MOAE_ERR_ABI_VERSION,
        Status::OrtLibrary => MOAE_ERR_ORT_LIBRARY,
        Status::ProviderUnavailable => MOAE_ERR_PROVIDER_UNAVAILABLE,
        Status::Model => MOAE_ERR_MODEL,
        Status::ModelHash => MOAE_ERR_MODEL_HASH,
        Status::Io => MOAE_ERR_IO,
        Status::InvalidFrame => MOAE_ERR_INVALID_FRAME,
        Status::InvalidFaceBox => MOAE_ERR_INVALID_FACE_BOX,
        Status::Inference => MOAE_ERR_INFERENCE,
        Status::BufferTooSmall => MOAE_ERR_BUFFER_TOO_SMALL,
        Status::UnknownFormat => MOAE_ERR_UNKNOWN_FORMAT,
        Status::Panic => MOAE_ERR_PANIC,
        Status::ImageDecode => MOAE_ERR_IMAGE_DECODE,
    }
}

impl From<AbiError> for FfiError {
    fn from(e: AbiError) -> Self {
        FfiError::new(to_c(e.status), e.detail)
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        AbiError::from(e).into()
    }
}

pub type FfiResult<T> = Result<T, FfiError>;

/// The static, NUL-terminated message of a status code (unknown codes get a generic one).
pub fn message(code: i32) -> &'static [u8] {
    Status::message_of(code).to_bytes_with_nul()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_enum_spells_the_abi_numbers() {
        for s in Status::ALL {
            assert_eq!(to_c(s) as i32, s.code(), "{s:?}");
            assert_eq!(message(s.code()), s.message().to_bytes_with_nul());
        }
        assert_eq!(message(-1), b"unknown status code\0");
    }
}
