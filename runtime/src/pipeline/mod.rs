//! Frames in, decisions out: the [`Engine`] (loading, [`engine`]), what a caller sets on it
//! ([`options`]), liveness scoring ([`scoring`]) and the per-frame analysis: detection,
//! quality, liveness and the decision ([`analyze`]).

mod analyze;
mod engine;
pub(crate) mod options;
mod scoring;

pub use analyze::{Decision, FaceResult, FaceSource, FrameAnalysis};
pub use engine::{Detection, Engine, EngineInfo, Scores};
pub use options::{EngineOptions, DEFAULT_MAX_SESSIONS, MAX_INTRA_OP_THREADS, MAX_SESSIONS};
