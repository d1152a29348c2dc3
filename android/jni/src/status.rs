//! Java exceptions of the bridge. The status numbers, their meaning and the mapping from
//! runtime errors are `moae_runtime::abi`'s, shared with the C ABI, so an Android and an iOS
//! app report the same number and message for the same failure. `ai.moae.MoaeException.Status`
//! is checked against `abi::Status::ALL` by `tests/status_enums.rs`.

use moae_runtime::abi::AbiError;
pub use moae_runtime::abi::Status;
use moae_runtime::Error;

/// Everything a native method can fail with; each becomes one Java exception.
#[derive(Debug)]
pub enum BridgeError {
    /// `ai.moae.MoaeException` with this status.
    Status(Status, String),
    /// `ai.moae.MoaeException` with status CLOSED (-2): the detector was closed.
    Closed,
    /// A JNI call failed; if it left a Java exception pending, that one propagates.
    Jni(jni::errors::Error),
}

impl BridgeError {
    pub fn null(what: &str) -> Self {
        AbiError::null(what).into()
    }

    pub fn invalid(status: Status, msg: impl Into<String>) -> Self {
        BridgeError::Status(status, msg.into())
    }
}

impl From<AbiError> for BridgeError {
    fn from(e: AbiError) -> Self {
        BridgeError::Status(e.status, e.detail)
    }
}

impl From<Error> for BridgeError {
    fn from(err: Error) -> Self {
        AbiError::from(err).into()
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
        let code = |e: Error| match BridgeError::from(e) {
            BridgeError::Status(s, _) => s.code(),
            other => panic!("{other:?}"),
        };
        assert_eq!(code(Error::InvalidFrame("x".into())), 10);
        assert_eq!(code(Error::InvalidFaceBox("x".into())), 11);
        assert_eq!(code(Error::Model("x".into())), 7);
        assert_eq!(code(Error::Inference("x".into())), 12);
        // Was 2 in JNI and 16 in C: now one mapping.
        assert_eq!(code(Error::Image("x".into())), 16);
    }
}
