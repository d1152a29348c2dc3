//! `moae score`: a data-set list scored through the runtime, in `trainer metrics`' format.

use crate::args::ScoreArgs;
use crate::engine::{load, score_file};
use crate::files::write_whole;
use anyhow::{bail, Context, Result};
use moae_runtime::EngineOptions;
use std::path::PathBuf;

/// Writes one `score label [type]` line per listed image.
pub fn run(ort: &Option<PathBuf>, a: &ScoreArgs) -> Result<()> {
    let ScoreArgs {
        model,
        list,
        root,
        out,
        engine,
    } = a;
    // Data-set images are pre-cropped faces: the whole image is the face.
    let opts = EngineOptions {
        whole_frame: true,
        ..engine.options(ort)
    };
    let e = load(model, &opts)?;
    // Directory of the list, "." for a bare file name.
    let root = root.clone().unwrap_or_else(|| match list.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    });
    // The trainer's own list parser: both accept and reject the same lists, and the
    // `score label type` lines below are what `trainer metrics` reads.
    let samples = moae_lists::read_list(&root, list)?;
    let mut lines = String::new();
    let n = samples.len();
    for s in &samples {
        let at = || format!("{} line {}", list.display(), s.line);
        let d = score_file(&e, &s.path, &[]).with_context(at)?;
        if !d.attack_score.is_finite() {
            bail!(
                "{}: the model gave a non-finite score {}",
                at(),
                d.attack_score
            );
        }
        // The type column only where the list named one (else the label implies it).
        lines += &format!("{:.8} {}", d.attack_score, s.fine);
        if s.attack_type != moae_lists::type_name(s.fine) {
            lines += &format!(" {}", s.attack_type);
        }
        lines.push('\n');
    }
    write_whole(out, &lines)?;
    eprintln!(
        "scored {n} images from {} into {}",
        list.display(),
        out.display()
    );
    Ok(())
}
