//! The liveness model: its file ([`model_file`]), ORT sessions with provider fallback and
//! model validation ([`session`]), the session pool ([`pool`]) and the preprocessing that turns
//! a frame and a face box into the model's input ([`preprocess`]).

pub(crate) mod model_file;
pub(crate) mod pool;
pub(crate) mod preprocess;
pub(crate) mod session;

pub(crate) use session::SessionOptions;

/// Most face boxes in one ORT run; a call with more runs them in chunks of this many, so its
/// peak memory does not grow with the number of boxes.
pub const BOX_CHUNK: usize = 16;
