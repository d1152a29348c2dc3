//! ONNX Runtime's floor: loading the library ([`library`]), execution providers ([`provider`])
//! and the threaded session builder every session of libmoae starts from ([`session`]).

pub mod library;
pub mod provider;
pub mod session;

pub(crate) use session::threaded_builder;
pub use session::SessionSettings;
