//! `moae calibrate`: the decision threshold fitted to a camera's live frames.

use crate::args::CalibrateArgs;
use crate::calib::{self, detector_sha256, read_entries, read_paths, write_calibration};
use crate::engine::{analyze_file, load, need_detector};
use anyhow::{bail, Context, Result};
use moae_metrics::bootstrap::Settings;
use moae_metrics::iso::{format_species, IsoFigures};
use moae_metrics::scores::Scored as MetricScore;
use moae_runtime::{Engine, EngineOptions};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Scores the live (and attack) frames, fits the threshold and reports what it means.
pub fn run(ort: &Option<PathBuf>, a: &CalibrateArgs) -> Result<()> {
    let CalibrateArgs {
        model,
        live,
        attack,
        target_bpcer,
        detector,
        whole_frame,
        crop_scale,
        out,
        engine,
    } = a;
    check_target(live, *target_bpcer)?;
    let face_detector = if *whole_frame {
        None
    } else {
        Some(need_detector(detector)?)
    };
    let face_detector_sha256 = face_detector.as_ref().map(detector_sha256).transpose()?;
    let opts = EngineOptions {
        crop_scale: *crop_scale,
        face_detector,
        whole_frame: *whole_frame,
        ..engine.options(ort)
    };
    let e = load(model, &opts)?;
    let l = score_list(&e, live)?;
    let c = calib::calibrate(&l.scores, *target_bpcer).map_err(|err| {
        anyhow::anyhow!(
            "{err} ({} live frames listed in {}, {} without a face)",
            l.scores.len() + l.no_face.len(),
            live.display(),
            l.no_face.len()
        )
    })?;
    let a = attack.as_deref().map(|p| score_list(&e, p)).transpose()?;
    let apcer = a.as_ref().map(|a| calib::apcer(&a.scores, c.threshold));
    let figures = a
        .as_ref()
        .filter(|a| !a.scores.is_empty())
        .map(|a| figures_at(&l, a, c.threshold))
        .transpose()?;
    let meaning = meaning(&c, *target_bpcer);
    let report = json!({
        "model": model,
        "model_sha256": e.info().model_sha256,
        "threshold": c.threshold,
        "model_threshold": e.info().meta.threshold,
        "target_bpcer": target_bpcer,
        "live_frames": c.n,
        "live_rejected": c.rejected,
        "live_rejected_allowed": c.allowed,
        "bpcer": c.bpcer,
        "bpcer_upper_95": c.bpcer_upper_95,
        "live_without_face": l.no_face.len(),
        "live_unsure": l.unsure,
        "attack_frames": a.as_ref().map(|a| a.scores.len()),
        "attack_without_face": a.as_ref().map(|a| a.no_face.len()),
        "apcer": apcer,
        "apcer_per_species": figures.as_ref().map(|f| &f.apcer_per_species),
        "face_source": if *whole_frame { "whole_frame" } else { "detector" },
        "detector_sha256": face_detector_sha256,
        "crop_scale": crop_scale,
        "rule": "attack when attack_score >= threshold; the threshold is the float \
                 just above the (n - k)-th smallest live score, k = floor(target * n)",
        "meaning": meaning,
        "producer": format!("moae calibrate {}", env!("CARGO_PKG_VERSION")),
    });
    print_summary(&c, &l, a.as_ref(), apcer, figures.as_ref());
    println!("meaning          {meaning}");
    if let Some(out) = out {
        write_calibration(out, &report)?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The target is a share, and one the listed live frames can set: refused before any
/// scoring (a target below 1/n cannot be set from n frames).
fn check_target(live: &Path, target_bpcer: f64) -> Result<()> {
    if !(target_bpcer > 0.0 && target_bpcer < 1.0) {
        bail!("--target-bpcer is {target_bpcer}: use a share in (0, 1), e.g. 0.01");
    }
    let listed = read_paths(live)?.len();
    if let Err(err @ calib::CalibError::TooFewFrames { .. }) =
        calib::calibrate(&vec![0.0; listed], target_bpcer)
    {
        bail!("{err} (from {})", live.display());
    }
    Ok(())
}

/// What the threshold means, in one sentence (printed, and kept in the calibration file).
fn meaning(c: &calib::Calibration, target_bpcer: f64) -> String {
    format!(
        "at threshold {}, {} of the {} live frames ({:.4} %) are rejected (target \
         {} %: at most {}); with 95 % confidence the camera's true BPCER at this \
         threshold is at most {:.4} % (one-sided Clopper-Pearson bound from {} of {})",
        c.threshold,
        c.rejected,
        c.n,
        100.0 * c.bpcer,
        100.0 * target_bpcer,
        c.allowed,
        100.0 * c.bpcer_upper_95,
        c.rejected,
        c.n
    )
}

/// The human-readable lines of `moae calibrate` before its meaning.
fn print_summary(
    c: &calib::Calibration,
    l: &Scored,
    a: Option<&Scored>,
    apcer: Option<f64>,
    figures: Option<&IsoFigures>,
) {
    // Shortest round-trip form: copied back (--threshold), it is the same f32.
    println!("threshold        {}", c.threshold);
    println!(
        "live frames      {} scored, {} rejected (allowed {}), BPCER {:.4} %",
        c.n,
        c.rejected,
        c.allowed,
        100.0 * c.bpcer
    );
    println!(
        "BPCER bound      {:.4} % (95 %, one-sided Clopper-Pearson)",
        100.0 * c.bpcer_upper_95
    );
    if !l.no_face.is_empty() {
        println!(
            "no face          {} live frames had no face and are not counted (first: {})",
            l.no_face.len(),
            l.no_face[0].display()
        );
    }
    if let (Some(a), Some(apcer)) = (a, apcer) {
        println!(
            "APCER            {:.4} % of {} attack frames accepted as live",
            100.0 * apcer,
            a.scores.len()
        );
    }
    if let Some(f) = figures {
        print!("{}", format_species(f));
    }
}

/// Scores the first face of each listed frame; frames without a face are counted apart.
struct Scored {
    scores: Vec<f32>,
    /// The species of each score's frame (see `read_entries`).
    species: Vec<String>,
    no_face: Vec<PathBuf>,
    unsure: usize,
}

fn score_list(e: &Engine, list: &Path) -> Result<Scored> {
    let mut out = Scored {
        scores: Vec::new(),
        species: Vec::new(),
        no_face: Vec::new(),
        unsure: 0,
    };
    for (p, species) in read_entries(list)? {
        let a =
            analyze_file(e, &p, &[], 0, false).with_context(|| format!("{}", list.display()))?;
        match a.faces.first() {
            None => out.no_face.push(p),
            Some(f) => {
                if !f.quality.flags.is_empty() {
                    out.unsure += 1;
                }
                out.scores.push(f.detection.attack_score);
                out.species.push(species);
            }
        }
    }
    Ok(out)
}

/// The ISO figures of the live and attack scores at the calibrated threshold (the species
/// table `moae evaluate` reports).
fn figures_at(live: &Scored, attack: &Scored, threshold: f32) -> Result<IsoFigures> {
    let mut set: Vec<MetricScore> = live
        .scores
        .iter()
        .map(|&s| MetricScore::new(s as f64, false, "live"))
        .collect();
    set.extend(
        attack
            .scores
            .iter()
            .zip(&attack.species)
            .map(|(&s, sp)| MetricScore::new(s as f64, true, sp.as_str())),
    );
    Ok(moae_metrics::iso::figures(
        &set,
        threshold as f64,
        Settings::default(),
    )?)
}
