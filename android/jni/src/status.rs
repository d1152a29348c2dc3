//! Status codes shared with the C ABI (`include/moae.h`, `moae_status`) so an Android and an
//! iOS app report the same number for the same failure. `ai.moae.MoaeException.Status` mirrors
//! this table; the host JVM test checks both sides agree.

use moae_runtime::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Status {
    NullArgument = 1,
    InvalidArgument = 2,
    OrtLibrary = 5,
    ProviderUnavailable = 6,
    Model = 7,
    ModelHash = 8,
    Io = 9,
    InvalidFrame = 10,
    InvalidFaceBox = 11,
    Inference = 12,
    UnknownFormat = 14,
    Panic = 15,
}

impl Status {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status a runtime error is reported with.
    pub fn of(err: &Error) -> Status {
        #[allow(unreachable_patterns)] // the runtime may add variants; they map to a generic code
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
            // An undecodable image is bad caller input, like the C ABI's mapping.
            Error::Image(_) => Status::InvalidArgument,
            _ => Status::InvalidArgument,
        }
    }
}

/// Everything a native method can fail with; each becomes one Java exception.
#[derive(Debug)]
pub enum BridgeError {
    /// `ai.moae.MoaeException` with this status.
    Status(Status, String),
    /// `java.lang.IllegalStateException`: the detector was closed.
    Closed,
    /// A JNI call failed; if it left a Java exception pending, that one propagates.
    Jni(jni::errors::Error),
}

impl BridgeError {
    pub fn null(what: &str) -> Self {
        BridgeError::Status(
            Status::NullArgument,
            format!("{what} is null: pass a non-null value"),
        )
    }

    pub fn invalid(status: Status, msg: impl Into<String>) -> Self {
        BridgeError::Status(status, msg.into())
    }
}

impl From<Error> for BridgeError {
    fn from(err: Error) -> Self {
        // Append the source chain unless Display already includes it, so an `Io` error always
        // says which OS error it was.
        let mut msg = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            let text = s.to_string();
            if !msg.contains(&text) {
                msg.push_str(": ");
                msg.push_str(&text);
            }
            source = s.source();
        }
        BridgeError::Status(Status::of(&err), msg)
    }
}

impl From<jni::errors::Error> for BridgeError {
    fn from(err: jni::errors::Error) -> Self {
        BridgeError::Jni(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_map_to_the_c_abi_codes() {
        assert_eq!(Status::of(&Error::InvalidFrame("x".into())).code(), 10);
        assert_eq!(Status::of(&Error::InvalidFaceBox("x".into())).code(), 11);
        assert_eq!(Status::of(&Error::Model("x".into())).code(), 7);
        assert_eq!(Status::of(&Error::Inference("x".into())).code(), 12);
    }

    #[test]
    fn io_errors_keep_their_cause() {
        let err = Error::Io {
            path: "/nope/model.onnx".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        let BridgeError::Status(status, msg) = BridgeError::from(err) else {
            panic!("an Io error must become a status error");
        };
        assert_eq!(status, Status::Io);
        assert!(msg.contains("no such file"), "{msg}");
    }
}
