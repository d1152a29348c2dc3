//! Writing the report: both files rendered first, each written whole (temp file + rename).

use std::path::{Path, PathBuf};

use crate::report::EvalReport;
use crate::scores::Scored;

#[derive(Debug, thiserror::Error)]
pub enum WriteReportError {
    #[error("cannot write the report {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `dir/report.json` and `dir/report.html` with `write_atomic` (each file whole or not at
/// all). Both are rendered before either is written; when the second write fails the first is
/// removed, so a failed run leaves no report rather than half of one.
pub fn write_report(
    dir: &Path,
    report: &EvalReport,
    samples: &[Scored],
    write_atomic: impl Fn(&Path, &[u8]) -> std::io::Result<()>,
) -> Result<(), WriteReportError> {
    let json = report.json();
    let html = crate::html::render(report, samples);
    let (jp, hp) = (dir.join("report.json"), dir.join("report.html"));
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteReportError::Write { path, source }
    };
    write_atomic(&jp, json.as_bytes()).map_err(err(&jp))?;
    if let Err(e) = write_atomic(&hp, html.as_bytes()) {
        let _ = std::fs::remove_file(&jp);
        return Err(err(&hp)(e));
    }
    Ok(())
}

/// Temp file beside `path`, then rename: for callers without a writer of their own.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let res = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;

    #[test]
    fn a_failed_write_leaves_no_report() {
        let (r, s) = sample();
        let dir = tempfile::tempdir().unwrap();
        let fail_html = |p: &Path, b: &[u8]| {
            if p.extension().is_some_and(|e| e == "html") {
                Err(std::io::Error::other("disk full"))
            } else {
                write_atomic(p, b)
            }
        };
        let e = write_report(dir.path(), &r, &s, fail_html).unwrap_err();
        assert!(e.to_string().contains("report.html"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_report(dir.path(), &r, &s, write_atomic).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
