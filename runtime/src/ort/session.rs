//! The session builder shared by the liveness model's sessions and the face detector's.

use crate::error::Result;
use ort::session::builder::SessionBuilder;
use ort::session::Session;
use std::path::PathBuf;

/// What every ONNX Runtime session of an engine shares: the library it loads, its intra-op
/// threads and whether idle threads spin. The engine builds it from its options
/// (`EngineOptions::session_settings`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionSettings {
    /// libonnxruntime to load; else `ORT_DYLIB_PATH`, else beside libmoae / the executable,
    /// else the system's.
    pub library: Option<PathBuf>,
    /// Threads ORT uses inside one run; 0 = ORT's default (one per physical core).
    pub intra_op_threads: usize,
    /// Let ORT's idle pool threads spin-wait for work instead of blocking.
    pub allow_spinning: bool,
}

impl SessionSettings {
    /// The loaded ONNX Runtime (loading it on first use, see [`super::library`]).
    pub(crate) fn load(&self) -> Result<super::library::Loaded> {
        super::library::ensure_loaded(self.library.as_deref())
    }
}

/// A session builder with the caller's intra-op threads and spinning: the liveness model's
/// sessions and the face detector's session are built from it.
pub(crate) fn threaded_builder(
    env: &ort::environment::Environment,
    s: &SessionSettings,
) -> std::result::Result<SessionBuilder, String> {
    let mut b = Session::builder(env).map_err(|e| e.to_string())?;
    if s.intra_op_threads > 0 {
        b = b
            .with_intra_threads(s.intra_op_threads)
            .map_err(|e| format!("setting {} intra-op threads: {e}", s.intra_op_threads))?;
    }
    // Set both explicitly: ORT's default is to spin (see `SessionSettings::allow_spinning`).
    let spin_err = |e: ort::Error<_>| format!("setting allow_spinning = {}: {e}", s.allow_spinning);
    b = b
        .with_intra_op_spinning(s.allow_spinning)
        .map_err(spin_err)?;
    b = b
        .with_inter_op_spinning(s.allow_spinning)
        .map_err(spin_err)?;
    Ok(b)
}
