//! Reading input files within a bound, and writing output files whole.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// Most bytes of a calibration file (`moae calibrate --out` writes well under 1 KiB).
pub const MAX_CALIBRATION_BYTES: u64 = 64 << 10;
/// Most bytes of a frame list (`moae calibrate --live/--attack`): about 100,000 paths.
pub const MAX_LIST_BYTES: u64 = 16 << 20;

/// Reads `path` whole when it is a regular file of at most `max` bytes. A directory, a device
/// (/dev/zero), a FIFO, a symlink loop, a larger file, or one that grows past `max` while it is
/// read is an error naming `what`, the path and the reason; memory stays within `max`.
pub fn read_bounded(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    let shown = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("cannot open {what} {shown}"))?;
    if meta.is_dir() {
        bail!("{what} {shown} is a directory, not a file");
    }
    if !meta.is_file() {
        bail!("{what} {shown} is not a regular file (a device, FIFO or socket)");
    }
    if meta.len() > max {
        bail!(
            "{what} {shown} is {} bytes, more than the {max} bytes allowed",
            meta.len()
        );
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {what} {shown}"))?;
    if bytes.len() as u64 > max {
        bail!("{what} {shown} grew past the {max} bytes allowed while it was read");
    }
    Ok(bytes)
}

/// `read_bounded` as UTF-8 text.
pub fn read_bounded_text(path: &Path, max: u64, what: &str) -> Result<String> {
    String::from_utf8(read_bounded(path, max, what)?)
        .with_context(|| format!("{what} {} is not UTF-8 text", path.display()))
}

/// Writes `text` beside `path` and renames it into place (the report writer's own
/// `write_atomic`): a failure or a kill never leaves a half-written file at `path`.
pub fn write_whole(path: &std::path::Path, text: &str) -> Result<()> {
    moae_metrics::files::write_atomic(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
