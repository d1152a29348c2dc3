//! Threshold calibration for one camera (`moae calibrate`): the threshold and its bounds
//! (pure functions), the frame lists, and the calibration file `moae calibrate --out` writes
//! and `moae detect --calibration` reads.
//!
//! Decision rule (the runtime's): a face is an attack when `attack_score >= threshold`.
//! A live frame is wrongly rejected (a BPCER error) when its score is `>= threshold`.

use crate::files::write_whole;
use anyhow::{bail, Context, Result};
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

/// Frames needed so that `target` is at least 1/n.
pub fn frames_needed(target: f64) -> usize {
    (1.0 / target - 1e-9).ceil() as usize
}

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

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; |error| < 1e-13 here).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// P(X <= x) for X ~ Binomial(n, p), summed in log space (no underflow for large n).
pub fn binomial_cdf(x: usize, n: usize, p: f64) -> f64 {
    if x >= n || p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    let ln_n1 = ln_gamma(n as f64 + 1.0);
    let terms: Vec<f64> = (0..=x)
        .map(|i| {
            ln_n1 - ln_gamma(i as f64 + 1.0) - ln_gamma((n - i) as f64 + 1.0)
                + i as f64 * lp
                + (n - i) as f64 * lq
        })
        .collect();
    let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln())
        .exp()
        .min(1.0)
}

/// One-sided (1 - alpha) Clopper-Pearson upper bound on a proportion from `x` of `n`: the p at
/// which P(X <= x; n, p) = alpha (= the Beta(x + 1, n - x) quantile at 1 - alpha), found by
/// bisection on the binomial CDF (decreasing in p). x = n gives 1.
pub fn clopper_pearson_upper(x: usize, n: usize, alpha: f64) -> f64 {
    if n == 0 || x >= n {
        return 1.0;
    }
    let (mut lo, mut hi) = (x as f64 / n as f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if binomial_cdf(x, n, mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
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
                "{}: no crop_scale: the file does not say which liveness crop its threshold                  was measured on; {redo}",
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

/// The image paths of a calibration list: the first field of each line, relative to the
/// list's directory; blank lines and # comments skipped.
pub fn read_paths(list: &Path) -> Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?;
    let dir = match list.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let paths: Vec<PathBuf> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(l.split_whitespace().next().unwrap_or(l)))
        .collect();
    if paths.is_empty() {
        bail!("{} lists no image", list.display());
    }
    Ok(paths)
}

/// Writes the calibration report (`moae calibrate --out`) whole, as pretty JSON.
pub fn write_calibration(path: &Path, report: &serde_json::Value) -> Result<()> {
    write_whole(path, &(serde_json::to_string_pretty(report)? + "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn clopper_pearson_matches_closed_forms_and_tables() {
        // x = 0: the bound is 1 - alpha^(1/n) exactly.
        for n in [1usize, 10, 100, 3000] {
            let want = 1.0 - 0.05f64.powf(1.0 / n as f64);
            let got = clopper_pearson_upper(0, n, 0.05);
            assert!((got - want).abs() < 1e-9, "n={n}: {got} vs {want}");
        }
        // x = n - 1: P(X <= n-1) = 1 - p^n = alpha -> p = (1 - alpha)^(1/n).
        let got = clopper_pearson_upper(9, 10, 0.05);
        assert!((got - 0.95f64.powf(0.1)).abs() < 1e-9, "{got}");
        // Published one-sided 95 % upper limits: 1/100 -> 0.0466, 5/100 -> 0.1024.
        assert!((clopper_pearson_upper(1, 100, 0.05) - 0.0466).abs() < 5e-4);
        assert!((clopper_pearson_upper(5, 100, 0.05) - 0.1024).abs() < 5e-4);
        assert_eq!(clopper_pearson_upper(10, 10, 0.05), 1.0);
        // Monotone in x, and above the observed share.
        let mut last = 0.0;
        for x in 0..20 {
            let u = clopper_pearson_upper(x, 1000, 0.05);
            assert!(u > last && u > x as f64 / 1000.0);
            last = u;
        }
        // Large n does not underflow.
        let u = clopper_pearson_upper(100, 100_000, 0.05);
        assert!(u > 0.001 && u < 0.0013, "{u}");
    }

    #[test]
    fn binomial_cdf_sums_to_one_and_apcer_counts_passes() {
        assert!((binomial_cdf(10, 10, 0.3) - 1.0).abs() < 1e-12);
        // P(X <= 1; 3, 0.5) = 4/8.
        assert!((binomial_cdf(1, 3, 0.5) - 0.5).abs() < 1e-12);
        assert_eq!(apcer(&[0.2, 0.6, 0.8, 0.5], 0.5), 0.25);
        assert_eq!(apcer(&[], 0.5), 0.0);
    }
}
