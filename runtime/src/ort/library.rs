//! Finding and loading libonnxruntime at run time (ort's `load-dynamic`), everywhere but iOS
//! (and the iOS simulator and Mac Catalyst, `target_os = "ios"`), where ONNX Runtime is linked
//! statically from ORT's official package instead (see `linked.rs`).
//!
//! Search order: the path in the options, else `ORT_DYLIB_PATH`, else the library beside the
//! binary that contains this crate (libmoae.so / the app's .so / the executable, found with
//! `dladdr`), else beside the executable, else the system loader's `libonnxruntime.so`.
//!
//! ort panics if the library is missing when an API is first used, and asserts on a null
//! `OrtApiBase`; so before handing a path to `ort::init_from` we open it ourselves, look up
//! `OrtGetApiBase`, read the version and ask for the API version ort needs. Every failure is
//! an [`Error::OrtLibrary`]. A process can hold only one ONNX Runtime: the first successful
//! load is cached for the life of the process; failed attempts are not cached (a later call
//! may pass a correct path).

#[cfg(not(target_os = "ios"))]
use crate::error::{Error, Result};
use std::ffi::CStr;
#[cfg(not(target_os = "ios"))]
use std::ffi::CString;
#[cfg(not(target_os = "ios"))]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Mutex;

/// What was loaded: the path and the library's version string.
#[derive(Clone, Debug)]
pub struct OrtLibrary {
    pub path: PathBuf,
    pub version: String,
}

/// The loaded library and the process-wide ORT environment made from it.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub lib: OrtLibrary,
    pub env: ort::environment::Environment,
}

static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

#[cfg(target_os = "ios")]
#[path = "linked.rs"]
mod linked;
#[cfg(target_os = "ios")]
pub(crate) use linked::candidates;
#[cfg(target_os = "ios")]
pub(crate) use linked::ensure_loaded;

#[cfg(not(target_os = "ios"))]
fn lib_file_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Directory of the shared object (or executable) that contains this function.
#[cfg(not(target_os = "ios"))]
fn own_image_dir() -> Option<PathBuf> {
    // SAFETY: dladdr only reads loader tables; info is plain data written by the call.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let addr = own_image_dir as *const libc::c_void;
        if libc::dladdr(addr, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        let p = PathBuf::from(
            CStr::from_ptr(info.dli_fname)
                .to_string_lossy()
                .into_owned(),
        );
        let p = std::fs::canonicalize(&p).unwrap_or(p);
        p.parent().map(Path::to_path_buf)
    }
}

/// The candidate paths in search order, with where each came from.
#[cfg(not(target_os = "ios"))]
pub(crate) fn candidates(explicit: Option<&Path>) -> Vec<(PathBuf, &'static str)> {
    if let Some(p) = explicit {
        return vec![(p.to_path_buf(), "EngineOptions::ort_library_path")];
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|s| !s.is_empty()) {
        return vec![(PathBuf::from(p), "ORT_DYLIB_PATH")];
    }
    let name = lib_file_name();
    let mut v = Vec::new();
    if let Some(d) = own_image_dir() {
        v.push((d.join(&name), "beside the libmoae library"));
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let p = d.join(&name);
        if !v.iter().any(|(q, _)| *q == p) {
            v.push((p, "beside the executable"));
        }
    }
    v.push((PathBuf::from(name), "the system library search path"));
    v
}

/// Opens `path` with the platform loader and checks that it is an ONNX Runtime whose C API
/// offers the version ort was built for. Returns the version string.
#[cfg(not(target_os = "ios"))]
fn probe(path: &Path) -> std::result::Result<String, String> {
    let c = CString::new(path.as_os_str().to_string_lossy().as_bytes())
        .map_err(|_| "the path contains a NUL byte".to_string())?;
    // SAFETY: loading a library runs its initialisers; that is the point of this function
    // and the same thing ort would do. The handle is kept open (ort opens it again).
    unsafe {
        let h = libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if h.is_null() {
            let e = libc::dlerror();
            let msg = if e.is_null() {
                "dlopen failed".to_string()
            } else {
                CStr::from_ptr(e).to_string_lossy().into_owned()
            };
            return Err(msg);
        }
        let sym = libc::dlsym(h, c"OrtGetApiBase".as_ptr());
        if sym.is_null() {
            libc::dlclose(h);
            return Err("it does not export `OrtGetApiBase`: not an ONNX Runtime library".into());
        }
        let get_base: unsafe extern "C" fn() -> *const ort::sys::OrtApiBase =
            std::mem::transmute(sym);
        api_of(get_base()).map(|(version, _)| version)
    }
}

/// The version string and the C API (of the version ort was built for) behind an
/// `OrtGetApiBase` result, or why there is none.
///
/// # Safety
/// `base` is null or what ONNX Runtime's `OrtGetApiBase` returned.
unsafe fn api_of(
    base: *const ort::sys::OrtApiBase,
) -> std::result::Result<(String, *const ort::sys::OrtApi), String> {
    if base.is_null() {
        return Err("`OrtGetApiBase` returned null".into());
    }
    let vs = ((*base).GetVersionString)();
    let version = if vs.is_null() {
        String::from("?")
    } else {
        CStr::from_ptr(vs).to_string_lossy().into_owned()
    };
    let api = ((*base).GetApi)(ort::sys::ORT_API_VERSION);
    if api.is_null() {
        return Err(format!(
            "it is ONNX Runtime {version}, which lacks C API version {} (need ONNX Runtime \
             >= 1.{})",
            ort::sys::ORT_API_VERSION,
            ort::MINOR_VERSION
        ));
    }
    Ok((version, api))
}

#[cfg(not(target_os = "ios"))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Microsoft's ONNX Runtime builds (1.31 on Linux too) start a 1DS telemetry uploader thread
/// while creating the environment, before `DisableTelemetryEvents` can be called; the SDK must
/// not reach the network, and that thread, still running under a slow start (valgrind) when the
/// host calls `exit()` holding an engine, can read a string ORT's exit handlers have freed.
/// Setting `ORT_DISABLE_TELEMETRY` before ORT is loaded stops that thread, unless
/// the host already chose; done under the loader lock. (`setenv` can race a
/// host thread's `getenv`; a host that minds exports the variable itself, and then this is a no-op.)
fn disable_ort_telemetry() {
    if std::env::var_os("ORT_DISABLE_TELEMETRY").is_none() {
        std::env::set_var("ORT_DISABLE_TELEMETRY", "1");
    }
}

/// Loads ONNX Runtime once per process (see the module docs for the search order).
#[cfg(not(target_os = "ios"))]
pub(crate) fn ensure_loaded(explicit: Option<&Path>) -> Result<Loaded> {
    let mut guard = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    let cands = candidates(explicit);
    if let Some(done) = guard.as_ref() {
        if let Some(p) = explicit {
            if !same_file(p, &done.lib.path) {
                return Err(Error::OrtLibrary {
                    path: p.to_path_buf(),
                    reason: format!(
                        "this process already uses ONNX Runtime from `{}`; only one can be \
                         loaded per process",
                        done.lib.path.display()
                    ),
                });
            }
        }
        return Ok(done.clone());
    }
    disable_ort_telemetry();
    let mut reasons = Vec::new();
    for (path, source) in &cands {
        // Bare names go to the system loader; anything with a directory must exist.
        let is_bare = path.components().count() == 1;
        if !is_bare && !path.exists() {
            reasons.push(format!("{} ({source}): no such file", path.display()));
            continue;
        }
        match probe(path) {
            Err(why) => reasons.push(format!("{} ({source}): {why}", path.display())),
            Ok(version) => {
                let init = std::panic::catch_unwind(|| {
                    ort::init_from(path).map(|b| b.with_name("moae").with_telemetry(false).build())
                });
                match init {
                    Ok(Ok(Ok(env))) => {
                        let lib = OrtLibrary {
                            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()),
                            version,
                        };
                        let loaded = Loaded { lib, env };
                        *guard = Some(loaded.clone());
                        return Ok(loaded);
                    }
                    Ok(Ok(Err(e))) => reasons.push(format!(
                        "{} ({source}): could not create the ONNX Runtime environment: {e}",
                        path.display()
                    )),
                    Ok(Err(e)) => reasons.push(format!("{} ({source}): {e}", path.display())),
                    Err(_) => reasons.push(format!(
                        "{} ({source}): ONNX Runtime initialisation panicked",
                        path.display()
                    )),
                }
            }
        }
    }
    let path = cands
        .first()
        .map(|c| c.0.clone())
        .unwrap_or_else(|| PathBuf::from(lib_file_name()));
    Err(Error::OrtLibrary {
        path,
        reason: reasons.join("; "),
    })
}
