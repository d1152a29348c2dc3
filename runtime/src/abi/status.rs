//! Status codes: one number and one static message per failure kind, and the one mapping from
//! runtime errors.

use crate::error::Error;
use std::ffi::CStr;

/// Every status a libmoae call can end with (C: `moae_status`; Java: `MoaeException.Status`;
/// Swift: `MoaeError.Status`). Codes are frozen; new ones are only appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    Ok = 0,
    NullArgument = 1,
    InvalidArgument = 2,
    StructSize = 3,
    AbiVersion = 4,
    OrtLibrary = 5,
    ProviderUnavailable = 6,
    Model = 7,
    ModelHash = 8,
    Io = 9,
    InvalidFrame = 10,
    InvalidFaceBox = 11,
    Inference = 12,
    BufferTooSmall = 13,
    UnknownFormat = 14,
    Panic = 15,
    ImageDecode = 16,
}

impl Status {
    /// All statuses, in code order (code = index).
    pub const ALL: [Status; 17] = [
        Status::Ok,
        Status::NullArgument,
        Status::InvalidArgument,
        Status::StructSize,
        Status::AbiVersion,
        Status::OrtLibrary,
        Status::ProviderUnavailable,
        Status::Model,
        Status::ModelHash,
        Status::Io,
        Status::InvalidFrame,
        Status::InvalidFaceBox,
        Status::Inference,
        Status::BufferTooSmall,
        Status::UnknownFormat,
        Status::Panic,
        Status::ImageDecode,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Status> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Status::ALL.get(i).copied())
    }

    /// The suffix of the C name (`MOAE_ERR_` + this, or `MOAE_OK`) and the Java enum constant.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::NullArgument => "NULL_ARGUMENT",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::StructSize => "STRUCT_SIZE",
            Status::AbiVersion => "ABI_VERSION",
            Status::OrtLibrary => "ORT_LIBRARY",
            Status::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Status::Model => "MODEL",
            Status::ModelHash => "MODEL_HASH",
            Status::Io => "IO",
            Status::InvalidFrame => "INVALID_FRAME",
            Status::InvalidFaceBox => "INVALID_FACE_BOX",
            Status::Inference => "INFERENCE",
            Status::BufferTooSmall => "BUFFER_TOO_SMALL",
            Status::UnknownFormat => "UNKNOWN_FORMAT",
            Status::Panic => "PANIC",
            Status::ImageDecode => "IMAGE_DECODE",
        }
    }

    /// The static message (`moae_status_message`).
    pub fn message(self) -> &'static CStr {
        match self {
            Status::Ok => c"ok",
            Status::NullArgument => c"a required pointer argument is NULL",
            Status::InvalidArgument => c"an argument is out of range or malformed",
            Status::StructSize => c"a struct's struct_size is too small for this library",
            Status::AbiVersion => {
                c"the caller was compiled against an incompatible MOAE_ABI_VERSION"
            }
            Status::OrtLibrary => {
                c"the ONNX Runtime library could not be loaded (missing or wrong version)"
            }
            Status::ProviderUnavailable => c"the required execution provider is not available",
            Status::Model => c"the model is corrupt, foreign, or has wrong metadata or shapes",
            Status::ModelHash => c"the model's SHA-256 differs from the pinned one",
            Status::Io => c"a file could not be read",
            Status::InvalidFrame => c"the image buffer does not match its format, size and strides",
            Status::InvalidFaceBox => c"a face box is outside the frame, empty or not finite",
            Status::Inference => {
                c"model inference failed or gave a non-finite score (no decision was made)"
            }
            Status::BufferTooSmall => {
                c"the results array is too small; *result_count holds the needed count"
            }
            Status::UnknownFormat => c"unknown pixel format",
            Status::Panic => c"internal error (a panic was caught); please report it",
            Status::ImageDecode => {
                c"the image file could not be decoded (JPEG and PNG are supported)"
            }
        }
    }

    /// The message of any code, unknown ones included (a newer library's).
    pub fn message_of(code: i32) -> &'static CStr {
        Status::from_code(code).map_or(c"unknown status code", Status::message)
    }

    /// The status a runtime error is reported with: the one mapping, exhaustive so that a new
    /// `Error` variant cannot compile without a status.
    pub fn of(err: &Error) -> Status {
        match err {
            Error::OrtLibrary { .. } => Status::OrtLibrary,
            Error::ProviderUnavailable { .. } => Status::ProviderUnavailable,
            Error::Model(_) => Status::Model,
            Error::ModelHash { .. } => Status::ModelHash,
            Error::Io { .. } => Status::Io,
            Error::InvalidFrame(_) => Status::InvalidFrame,
            Error::InvalidFaceBox(_) => Status::InvalidFaceBox,
            Error::InvalidArgument(_) => Status::InvalidArgument,
            Error::Inference(_) => Status::Inference,
            Error::Image(_) => Status::ImageDecode,
        }
    }
}

/// A failure on its way to a foreign caller: the status and the detail message (C:
/// `moae_last_error`; Java: the exception message; Swift: `MoaeError.message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiError {
    pub status: Status,
    pub detail: String,
}

pub type AbiResult<T> = Result<T, AbiError>;

impl AbiError {
    pub fn new(status: Status, detail: impl Into<String>) -> Self {
        AbiError {
            status,
            detail: detail.into(),
        }
    }

    /// A required argument is missing (C: NULL, Java: null).
    pub fn null(what: &str) -> Self {
        Self::new(
            Status::NullArgument,
            format!("`{what}` is NULL: pass a valid value"),
        )
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(Status::InvalidArgument, detail)
    }
}

impl std::fmt::Display for AbiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl From<Error> for AbiError {
    fn from(err: Error) -> Self {
        // Append the source chain unless Display already includes it, so an `Io` error always
        // says which OS error it was.
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            let text = s.to_string();
            if !detail.contains(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            source = s.source();
        }
        AbiError::new(Status::of(&err), detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_indices_and_messages_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for (i, s) in Status::ALL.iter().enumerate() {
            assert_eq!(s.code(), i as i32);
            assert_eq!(Status::from_code(i as i32), Some(*s));
            assert!(seen.insert(s.message()), "{s:?} shares a message");
        }
        assert_eq!(Status::from_code(17), None);
        assert_eq!(Status::from_code(-1), None);
        assert_eq!(Status::message_of(99), c"unknown status code");
    }

    #[test]
    fn errors_map_once_and_keep_their_cause() {
        assert_eq!(Status::of(&Error::Image("x".into())), Status::ImageDecode);
        assert_eq!(Status::of(&Error::Inference("x".into())), Status::Inference);
        let err = Error::Io {
            path: "/nope/model.onnx".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        let e = AbiError::from(err);
        assert_eq!(e.status, Status::Io);
        assert!(e.detail.contains("no such file"), "{}", e.detail);
    }
}
