//! ONNX Runtime linked into the app (iOS, the iOS simulator, Mac Catalyst): `ort` is built with
//! its `alternative-backend` feature there, and this module hands it the API of the ONNX
//! Runtime the app links (ORT's official static framework, from its Swift package or the
//! `onnxruntime-c` pod) through the C entry point `OrtGetApiBase`. libmoae.a leaves that symbol
//! undefined; the app's link resolves it. Nothing is dlopen'ed (iOS allows no foreign dylib).

use super::{api_of, disable_ort_telemetry, Loaded, OrtLibrary, LOADED};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

extern "C" {
    /// ONNX Runtime's C entry point, from the statically linked framework.
    fn OrtGetApiBase() -> *const ort::sys::OrtApiBase;
}

/// What `DetectorInfo.ort_library` / `moae_engine_info.ort_library_path` say here.
const LINKED: &str = "linked statically (ONNX Runtime's package)";

/// No library files are searched on these platforms.
pub(crate) fn candidates(_explicit: Option<&Path>) -> Vec<(PathBuf, &'static str)> {
    Vec::new()
}

/// Hands `ort` the linked ONNX Runtime's API once per process and creates the environment.
pub(crate) fn ensure_loaded(explicit: Option<&Path>) -> Result<Loaded> {
    if let Some(p) = explicit {
        return Err(Error::OrtLibrary {
            path: p.to_path_buf(),
            reason: "ONNX Runtime is linked statically on this platform (add ORT's official \
                     package to the app); leave the ONNX Runtime library path unset"
                .into(),
        });
    }
    let mut guard = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = guard.as_ref() {
        return Ok(done.clone());
    }
    disable_ort_telemetry();
    let fail = |reason: String| Error::OrtLibrary {
        path: PathBuf::from(LINKED),
        reason,
    };
    // SAFETY: OrtGetApiBase is ONNX Runtime's own entry point, resolved at the app's link.
    let (version, api) = unsafe { api_of(OrtGetApiBase()) }.map_err(fail)?;
    // SAFETY: `api` is non-null (checked by `api_of`) and points to ONNX Runtime's static
    // function table for the version ort needs; ort keeps its own copy.
    ort::set_api(unsafe { (*api).clone() });
    let env = ort::init()
        .with_name("moae")
        .with_telemetry(false)
        .build()
        .map_err(|e| {
            fail(format!(
                "could not create the ONNX Runtime environment: {e}"
            ))
        })?;
    let loaded = Loaded {
        lib: OrtLibrary {
            path: PathBuf::from(LINKED),
            version,
        },
        env,
    };
    *guard = Some(loaded.clone());
    Ok(loaded)
}
