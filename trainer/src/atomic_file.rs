//! All-or-nothing output files: every file the trainer writes (checkpoints, optimiser state,
//! ONNX exports, Triton entries) goes to a temp file beside its final path, is synced, and is
//! renamed into place only when complete. A failed write removes its temp file; so does
//! SIGINT/SIGTERM/SIGHUP once [`remove_temps_on_signal`] is installed (the `trainer` binary does
//! it at start). A final path therefore holds either its previous content or the new one,
//! never a partial file.
//!
//! Fault injection (tests of the real writer): `MOAE_FAULT_WRITE_FAIL_AFTER=N` makes every write
//! fail with an I/O error after N bytes of a file; `MOAE_FAULT_WRITE_STALL_AFTER=N` makes it stop
//! for a minute after N bytes (a test then signals the process mid-write).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Temp files being written now; the signal handler removes them.
static IN_PROGRESS: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {source}")]
pub struct WriteError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> WriteError + 'a {
    move |source| WriteError {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn registry() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    // A poisoned lock only means a panic elsewhere; the set itself is still valid.
    IN_PROGRESS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs the handler that removes in-progress temp files and exits with status 130 on
/// SIGINT, SIGTERM or SIGHUP. For binaries (a library must not take over a host's signals);
/// calling it twice is harmless.
pub fn remove_temps_on_signal() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            // Held to the end: a writer cannot rename a file in while we clean up.
            let temps = registry();
            for t in temps.iter() {
                let _ = std::fs::remove_file(t);
            }
            eprintln!("interrupted: partial output files removed");
            std::process::exit(130);
        });
        if let Err(e) = installed {
            eprintln!("warning: cannot install the signal handler ({e}); an interrupted write may leave a temp file");
        }
    });
}

/// The parent directory of `path` (`.` for a bare file name) and the file name.
fn split(path: &Path) -> Result<(PathBuf, String), WriteError> {
    let name = path.file_name().ok_or_else(|| WriteError {
        op: "writing",
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_string_lossy().into_owned()))
}

/// Checks that `path` can become a file: its directory exists and it is not a directory itself
/// (so that arguments are refused before anything is computed or written).
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    let (dir, _) = split(path)?;
    if !dir.is_dir() {
        let (kind, why) = if dir.exists() {
            (
                std::io::ErrorKind::NotADirectory,
                format!("{} is a file, not a directory", dir.display()),
            )
        } else {
            (
                std::io::ErrorKind::NotFound,
                format!("the directory {} does not exist", dir.display()),
            )
        };
        return Err(WriteError {
            op: "writing",
            path: path.to_path_buf(),
            source: std::io::Error::new(kind, why),
        });
    }
    if path.is_dir() {
        return Err(WriteError {
            op: "writing",
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a directory is in the way",
            ),
        });
    }
    Ok(())
}

/// A byte count from a fault-injection variable, if set.
fn fault(var: &str) -> Option<usize> {
    std::env::var(var).ok()?.parse().ok()
}

/// The writer behind every output file: passes bytes through, and injects the faults named in
/// the module docs.
struct Faulty<W> {
    inner: W,
    written: usize,
    fail_after: Option<usize>,
    stall_after: Option<usize>,
}

impl<W: Write> Write for Faulty<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut n = buf.len();
        for limit in [self.fail_after, self.stall_after].into_iter().flatten() {
            n = n.min(limit.saturating_sub(self.written).max(1));
        }
        if self.fail_after.is_some_and(|l| self.written >= l) {
            return Err(std::io::Error::other("injected write failure"));
        }
        if self.stall_after.is_some_and(|l| self.written >= l) {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
        let n = self.inner.write(&buf[..n])?;
        self.written += n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A temp file beside its final path; removed on drop unless [`Staged::commit`]ted.
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
}

impl Staged {
    /// Writes `bytes` to a synced temp file beside `path` (`path` itself is untouched).
    pub fn write(path: &Path, bytes: &[u8]) -> Result<Self, WriteError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let (dir, name) = split(path)?;
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{unique}", std::process::id()));
        registry().insert(tmp.clone());
        let staged = Staged {
            tmp,
            path: path.to_path_buf(),
            dir,
        };
        let file =
            std::fs::File::create(&staged.tmp).map_err(err("creating a temp file for", path))?;
        let mut w = Faulty {
            inner: file,
            written: 0,
            fail_after: fault("MOAE_FAULT_WRITE_FAIL_AFTER"),
            stall_after: fault("MOAE_FAULT_WRITE_STALL_AFTER"),
        };
        w.write_all(bytes).map_err(err("writing", path))?;
        w.inner.sync_all().map_err(err("syncing", path))?;
        Ok(staged)
    }

    /// Renames the temp file onto the final path and syncs the directory.
    pub fn commit(self) -> Result<(), WriteError> {
        {
            let mut temps = registry();
            std::fs::rename(&self.tmp, &self.path)
                .map_err(err("renaming the temp file onto", &self.path))?;
            temps.remove(&self.tmp);
        }
        // Persist the rename itself; not every platform can open a directory, so best effort.
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let mut temps = registry();
        if temps.remove(&self.tmp) {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically: temp file beside it, fsync, rename, fsync the directory.
/// On any failure (full disk, permissions, …) the temp file is removed, the previous file at
/// `path` is untouched, and the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    Staged::write(path, bytes)?.commit()
}

/// Writes several files all or nothing: each is staged first; only when every one is complete
/// are they renamed into place (a rename failure part-way is reported; renames do not fail on
/// a disk that took the bytes, short of a concurrent change to the directory).
pub fn write_all_atomic(files: &[(PathBuf, &[u8])]) -> Result<(), WriteError> {
    let staged = files
        .iter()
        .map(|(p, b)| Staged::write(p, b))
        .collect::<Result<Vec<_>, _>>()?;
    staged.into_iter().try_for_each(Staged::commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_writer_failing_midway_leaves_no_temp_and_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        std::fs::write(&path, b"old").unwrap();
        let mut w = Faulty {
            inner: Vec::new(),
            written: 0,
            fail_after: Some(5),
            stall_after: None,
        };
        assert!(w.write_all(b"0123456789").is_err());
        assert_eq!(w.inner, b"01234");
        // A staged file dropped before commit (what an error does) is removed.
        let staged = Staged::write(&path, b"new bytes").unwrap();
        assert_eq!(names(dir.path()).len(), 2);
        drop(staged);
        assert_eq!(names(dir.path()), ["m.onnx"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn all_or_nothing_over_several_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let blocked = dir.path().join("sub/b"); // no such directory: staging fails
        let err = write_all_atomic(&[(a.clone(), b"x"), (blocked, b"y")]).unwrap_err();
        assert!(err.to_string().contains("sub/b"), "{err}");
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        write_all_atomic(&[(a.clone(), b"x")]).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"x");
        assert!(check_writable(&dir.path().join("nope/x")).is_err());
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(&a).is_ok());
        // A file where the directory should be is named as such, not as missing.
        let err = check_writable(&a.join("m.onnx")).unwrap_err().to_string();
        assert!(err.contains("is a file, not a directory"), "{err}");
        let err = check_writable(&dir.path().join("nope/x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
