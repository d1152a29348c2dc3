//! Threshold calibration for one camera (`moae calibrate`): the threshold and its bounds
//! (pure functions), the frame lists, and the calibration file `moae calibrate --out` writes
//! and `moae detect --calibration` reads.
//!
//! Decision rule (the runtime's): a face is an attack when `attack_score >= threshold`.
//! A live frame is wrongly rejected (a BPCER error) when its score is `>= threshold`.

use crate::files::write_whole;
use anyhow::{bail, Context, Result};
use moae_metrics::interval::clopper_pearson_upper;
use moae_runtime::DetectorModel;
use sha2::Digest;
use std::path::{Path, PathBuf};

/// What a calibration found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// The smallest threshold at which at most `allowed` of the live scores are rejected.
    pub threshold: f32,
    /// Live frames used.
    pub n: usize,
    /// Most rejections the target allows: floor(target * n).
    pub allowed: usize,
    /// Live frames rejected at `threshold` (<= allowed; fewer with ties).
    pub rejected: usize,
    /// rejected / n.
    pub bpcer: f64,
    /// One-sided 95 % Clopper-Pearson upper bound on the true BPCER from (rejected, n).
    pub bpcer_upper_95: f64,
}

/// Why no threshold can be given.
#[derive(Clone, Debug, PartialEq)]
pub enum CalibError {
    NoLiveScores,
    /// The target is below 1/n: even zero rejections cannot show it; `needed` frames could.
    TooFewFrames {
        target: f64,
        n: usize,
        needed: usize,
    },
    BadTarget(f64),
    NonFinite(f32),
    /// The live scores allowed to pass reach 1.0: no threshold in [0, 1] keeps them.
    ScoresAtOne,
}

impl std::fmt::Display for CalibError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalibError::NoLiveScores => write!(f, "no live frame could be scored"),
            CalibError::TooFewFrames { target, n, needed } => write!(
                f,
                "--target-bpcer {target} is below 1/{n} (one live frame of the {n} given): a \
                 BPCER that small cannot be set from {n} frames; give at least {needed} live \
                 frames, or a target of at least {:.6}",
                1.0 / *n as f64
            ),
            CalibError::BadTarget(t) => {
                write!(f, "--target-bpcer is {t}: use a share in (0, 1), e.g. 0.01")
            }
            CalibError::NonFinite(s) => write!(f, "a live score is {s} (not finite)"),
            CalibError::ScoresAtOne => write!(
                f,
                "the live scores that must pass reach 1.0: no threshold in [0, 1] rejects few \
                 enough of them (the model calls these live frames attacks with certainty)"
            ),
        }
    }
}

impl std::error::Error for CalibError {}

/// Frames needed so that `target` is at least 1/n (one definition with the report's refusals).
pub use moae_metrics::operating::needed_for as frames_needed;

/// The smallest threshold rejecting at most floor(target * n) live scores: the float just
/// above the (n - k)-th smallest score (exact order statistic; ties at it all pass).
pub fn calibrate(live: &[f32], target: f64) -> Result<Calibration, CalibError> {
    if !(target > 0.0 && target < 1.0) {
        return Err(CalibError::BadTarget(target));
    }
    if live.is_empty() {
        return Err(CalibError::NoLiveScores);
    }
    if let Some(&s) = live.iter().find(|s| !s.is_finite()) {
        return Err(CalibError::NonFinite(s));
    }
    let n = live.len();
    // floor(target * n), robust to 0.01 * 300 = 2.9999999999999996.
    let allowed = ((target * n as f64) + 1e-9).floor() as usize;
    if allowed == 0 {
        return Err(CalibError::TooFewFrames {
            target,
            n,
            needed: frames_needed(target),
        });
    }
    let mut sorted = live.to_vec();
    sorted.sort_by(f32::total_cmp);
    let pivot = sorted[n - 1 - allowed.min(n - 1)];
    let threshold = next_up(pivot.max(0.0));
    if threshold > 1.0 {
        return Err(CalibError::ScoresAtOne);
    }
    let rejected = live.iter().filter(|&&s| s >= threshold).count();
    Ok(Calibration {
        threshold,
        n,
        allowed,
        rejected,
        bpcer: rejected as f64 / n as f64,
        bpcer_upper_95: clopper_pearson_upper(rejected, n, 0.05),
    })
}

/// The smallest f32 above `x` (finite, non-negative `x`).
pub fn next_up(x: f32) -> f32 {
    if x == 0.0 {
        return f32::from_bits(1);
    }
    f32::from_bits(x.to_bits() + 1)
}

/// Share of `scores` with `score >= threshold` (attacks caught) and < (attacks passed):
/// returns the APCER, the share of attack frames accepted as live.
pub fn apcer(attack: &[f32], threshold: f32) -> f64 {
    if attack.is_empty() {
        return 0.0;
    }
    attack.iter().filter(|&&s| s < threshold).count() as f64 / attack.len() as f64
}

// The calibration file and the frame lists.

/// What a calibration file (`moae calibrate --out`) says the threshold was measured on: a
/// threshold holds only for the same model, the same liveness crop and the same faces.
pub struct CalibrationFile {
    pub threshold: f32,
    pub model_sha256: String,
    pub crop_scale: f32,
    /// `"detector"` or `"whole_frame"`.
    pub face_source: String,
    /// The face detector's SHA-256 when `face_source` is `"detector"`.
    pub detector_sha256: Option<String>,
}

/// A JSON number read as the f32 it was written from (serde_json writes an f32 in its
/// shortest round-trip form; going through f64 could round twice).
fn json_f32(v: &serde_json::Value) -> Option<f32> {
    v.as_number()?.to_string().parse().ok()
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The calibration file `moae calibrate --out` writes.
pub fn read_calibration(path: &Path) -> Result<CalibrationFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the calibration {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let redo = "make it again with this version's `moae calibrate --out`";
    let threshold = json_f32(&v["threshold"])
        .filter(|t| (0.0..=1.0).contains(t))
        .with_context(|| format!("{}: no threshold in [0, 1]", path.display()))?;
    let model_sha256 = v["model_sha256"]
        .as_str()
        .filter(|s| is_sha256(s))
        .with_context(|| format!("{}: no model_sha256 (64 hex digits)", path.display()))?
        .to_string();
    let crop_scale = json_f32(&v["crop_scale"])
        .filter(|c| c.is_finite() && *c > 0.0)
        .with_context(|| {
            format!(
                "{}: no crop_scale: the file does not say which liveness crop its threshold \
                 was measured on; {redo}",
                path.display()
            )
        })?;
    let face_source = v["face_source"]
        .as_str()
        .filter(|s| ["detector", "whole_frame"].contains(s))
        .with_context(|| {
            format!(
                "{}: no face_source (\"detector\" or \"whole_frame\"); {redo}",
                path.display()
            )
        })?
        .to_string();
    let detector_sha256 = if face_source == "detector" {
        Some(
            v["detector_sha256"]
                .as_str()
                .filter(|s| is_sha256(s))
                .with_context(|| {
                    format!(
                        "{}: face_source is \"detector\" but there is no detector_sha256 \
                         (64 hex digits); {redo}",
                        path.display()
                    )
                })?
                .to_string(),
        )
    } else {
        None
    };
    Ok(CalibrationFile {
        threshold,
        model_sha256,
        crop_scale,
        face_source,
        detector_sha256,
    })
}

/// The SHA-256 (hex) of the face detector the run uses.
pub fn detector_sha256(d: &DetectorModel) -> Result<String> {
    let bytes: std::borrow::Cow<'_, [u8]> = match d {
        DetectorModel::Path(p) => std::fs::read(p)
            .with_context(|| format!("reading the face detector {}", p.display()))?
            .into(),
        DetectorModel::Bytes(b) => b.as_ref().into(),
    };
    Ok(sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Refuses a calibration measured on other faces than this run's: another crop scale, face
/// source or face detector gives other scores, so the threshold would not mean its BPCER.
pub fn check_calibration(
    c: &CalibrationFile,
    path: &Path,
    crop_scale: f32,
    source: &str,
    detector: Option<&DetectorModel>,
) -> Result<()> {
    let file = path.display();
    if c.crop_scale != crop_scale {
        bail!(
            "{file} was calibrated with crop scale {}, but this run uses {crop_scale}: the \
             threshold holds only for the crop it was measured on; pass --crop-scale {} or \
             calibrate again (moae calibrate --crop-scale {crop_scale})",
            c.crop_scale,
            c.crop_scale
        );
    }
    if c.face_source != source {
        let how = |s: &str| match s {
            "detector" => "faces from the face detector (--detector)",
            "whole_frame" => "whole images (--whole-frame)",
            _ => "the given face boxes (--box)",
        };
        bail!(
            "{file} was calibrated on {}, but this run scores {}: the threshold holds only \
             for the faces it was measured on; run with the same face source or calibrate \
             again with this one",
            how(&c.face_source),
            how(source)
        );
    }
    if let (Some(want), Some(d)) = (&c.detector_sha256, detector) {
        let have = detector_sha256(d)?;
        if *want != have {
            let name = match d {
                DetectorModel::Path(p) => p.display().to_string(),
                DetectorModel::Bytes(_) => "this run's face detector".to_string(),
            };
            bail!(
                "{file} was calibrated with the face detector of SHA-256 {want}, but {name} \
                 has {have}: another detector finds other face boxes, so the threshold does \
                 not hold; use that detector or calibrate again with this one"
            );
        }
    }
    Ok(())
}

/// Refuses a calibration made for another model (its threshold means nothing for this one).
pub fn check_calibration_model(
    c: &CalibrationFile,
    path: &Path,
    model: &Path,
    e: &moae_runtime::Engine,
) -> Result<()> {
    if c.model_sha256 != e.info().model_sha256 {
        bail!(
            "{} was made for the model with SHA-256 {}, but {} has {}: calibrate this model \
             (moae calibrate) or use its own calibration",
            path.display(),
            c.model_sha256,
            model.display(),
            e.info().model_sha256
        );
    }
    Ok(())
}

/// The image paths of a calibration list: the first field of each line, relative to the
/// list's directory; blank lines and # comments skipped.
pub fn read_paths(list: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_entries(list)?.into_iter().map(|(p, _)| p).collect())
}

/// Each listed image with its attack species: a line may go on as the image lists do
/// (`path label [type]`): the type column, else the label's type name; a bare path is `attack`.
pub fn read_entries(list: &Path) -> Result<Vec<(PathBuf, String)>> {
    let text =
        std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?;
    let dir = match list.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries: Vec<(PathBuf, String)> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let species = match (f.get(1).and_then(|s| moae_lists::parse_label(s)), f.get(2)) {
                (_, Some(t)) => t.to_string(),
                (Some(label), None) if label != 0 => moae_lists::type_name(label),
                _ => "attack".to_string(),
            };
            (dir.join(f[0]), species)
        })
        .collect();
    if entries.is_empty() {
        bail!("{} lists no image", list.display());
    }
    Ok(entries)
}

/// Writes the calibration report (`moae calibrate --out`) whole, as pretty JSON.
pub fn write_calibration(path: &Path, report: &serde_json::Value) -> Result<()> {
    write_whole(path, &(serde_json::to_string_pretty(report)? + "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibration_without_crop_scale_says_so_in_one_sentence() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.calib.json");
        let sha = "ab".repeat(32);
        let json = format!(r#"{{"threshold": 0.5, "model_sha256": "{sha}"}}"#);
        std::fs::write(&path, json).unwrap();
        let Err(err) = read_calibration(&path) else {
            panic!("a calibration without crop_scale was accepted")
        };
        let err = format!("{err:#}");
        assert!(
            err.contains("its threshold was measured on; make it again"),
            "{err}"
        );
        assert!(!err.contains("  "), "stray spaces: {err}");
    }

    #[test]
    fn threshold_is_just_above_the_order_statistic() {
        // 100 distinct scores 0.005, 0.015, ...; 1 % of 100 = 1 rejection allowed.
        let live: Vec<f32> = (0..100).map(|i| (i as f32 + 0.5) / 100.0).collect();
        let c = calibrate(&live, 0.01).unwrap();
        assert_eq!(c.allowed, 1);
        assert_eq!(c.rejected, 1);
        // Above the second-largest (0.985), at or below the largest (0.995).
        assert!(
            c.threshold > 0.985 && c.threshold <= 0.995,
            "{}",
            c.threshold
        );
        assert_eq!(c.threshold, next_up(0.985));
        // 5 %: 5 rejections; the rule holds exactly.
        let c = calibrate(&live, 0.05).unwrap();
        assert_eq!((c.allowed, c.rejected), (5, 5));
        assert_eq!(live.iter().filter(|&&s| s >= c.threshold).count(), 5);
        // Order does not matter.
        let mut rev = live.clone();
        rev.reverse();
        assert_eq!(calibrate(&rev, 0.05).unwrap(), c);
    }

    #[test]
    fn ties_never_reject_more_than_allowed() {
        // 10 scores of 0.9 at the top of 100: allowing 5 rejections must pass all ten ties
        // (a threshold at 0.9 would reject 10).
        let mut live = vec![0.1f32; 90];
        live.extend([0.9f32; 10]);
        let c = calibrate(&live, 0.05).unwrap();
        assert_eq!(c.rejected, 0);
        assert!(c.threshold > 0.9);
        // All equal: nothing rejected.
        let c = calibrate(&[0.3; 50], 0.1).unwrap();
        assert_eq!((c.rejected, c.threshold), (0, next_up(0.3)));
    }

    #[test]
    fn too_few_frames_is_refused_with_the_count_needed() {
        let live = vec![0.2f32; 50];
        let e = calibrate(&live, 0.01).unwrap_err();
        assert_eq!(
            e,
            CalibError::TooFewFrames {
                target: 0.01,
                n: 50,
                needed: 100
            }
        );
        assert!(e.to_string().contains("at least 100 live frames"), "{e}");
        // 1/n itself is allowed.
        assert_eq!(calibrate(&vec![0.2f32; 100], 0.01).unwrap().allowed, 1);
        assert_eq!(frames_needed(0.001), 1000);
        assert!(calibrate(&live, 0.0).is_err());
        assert!(calibrate(&live, f64::NAN).is_err());
        assert!(calibrate(&[], 0.5).is_err());
        assert!(calibrate(&[f32::NAN, 0.1], 0.5).is_err());
        assert_eq!(calibrate(&[1.0, 1.0], 0.5), Err(CalibError::ScoresAtOne));
    }

    #[test]
    fn apcer_counts_passes() {
        assert_eq!(apcer(&[0.2, 0.6, 0.8, 0.5], 0.5), 0.25);
        assert_eq!(apcer(&[], 0.5), 0.0);
    }
}
