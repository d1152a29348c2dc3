//! Writing output files whole.

use anyhow::{Context, Result};

/// Writes `text` beside `path` and renames it into place: a failure or a kill never leaves a
/// half-written score file at `path`.
pub fn write_whole(path: &std::path::Path, text: &str) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let res = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", path.display()))
}
