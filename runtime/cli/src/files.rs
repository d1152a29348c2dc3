//! Writing output files whole.

use anyhow::{Context, Result};

/// Writes `text` beside `path` and renames it into place (the report writer's own
/// `write_atomic`): a failure or a kill never leaves a half-written file at `path`.
pub fn write_whole(path: &std::path::Path, text: &str) -> Result<()> {
    moae_metrics::files::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
