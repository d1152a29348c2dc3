//! `moae evaluate`: every image of a list through the SDK's own path (`Engine::analyze`: face
//! detection or the whole frame, quality, liveness, decision), images in parallel; then the
//! figures of spec §7 on the presentations that got a decision, the decisions by true class, and
//! the non-responses by reason, in one report (report.json + report.html, as `trainer eval`
//! writes) beside the per-image results (results.jsonl) and the decided scores (scores.txt).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::args::EvaluateArgs;
use crate::calib::{check_calibration, check_calibration_model, read_calibration};
use crate::engine::{load, need_detector};
use crate::files::write_whole;
use anyhow::{bail, Context, Result};
use moae_lists::Sample;
use moae_metrics::bootstrap::Settings;
use moae_metrics::interval::Proportion;
use moae_metrics::rates::ThresholdSource;
use moae_metrics::report::{EvalReport, FileId, Pipeline, Provenance};
use moae_metrics::scores::Scored;
use moae_runtime::{decode_image, Engine, EngineOptions, Frame, FrameAnalysis, PixelFormat};
use serde_json::json;

/// What the pipeline made of one presentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// One face, no quality flag: `attack` or `live` by the score.
    Decided {
        attack: bool,
        score: f32,
    },
    /// One face with quality flags: no decision (the score is still reported).
    Unsure {
        score: f32,
        flags: Vec<&'static str>,
    },
    NoFace,
    SeveralFaces(usize),
    /// The image could not be read or analysed.
    Failed(String),
}

impl Outcome {
    /// The outcome column of the decision table (see `moae_metrics::report::OUTCOMES`).
    fn column(&self) -> Option<&'static str> {
        match self {
            Outcome::Decided { attack: true, .. } => Some("attack"),
            Outcome::Decided { attack: false, .. } => Some("live"),
            Outcome::Unsure { .. } => Some("unsure"),
            Outcome::NoFace => Some("no_face"),
            Outcome::SeveralFaces(_) => Some("several_faces"),
            Outcome::Failed(_) => None,
        }
    }

    /// Non-response reasons; empty for a decision.
    fn reasons(&self) -> Vec<&'static str> {
        match self {
            Outcome::Unsure { flags, .. } => flags.clone(),
            Outcome::NoFace => vec!["no_face"],
            Outcome::SeveralFaces(_) => vec!["several_faces"],
            _ => Vec::new(),
        }
    }

    pub fn of(a: &FrameAnalysis) -> Result<Outcome> {
        match a.faces.as_slice() {
            [] => Ok(Outcome::NoFace),
            [f] => {
                let score = f.detection.attack_score;
                if !score.is_finite() {
                    bail!("the model gave a non-finite attack score {score}");
                }
                Ok(if f.quality.flags.is_empty() {
                    Outcome::Decided {
                        attack: score >= f.detection.threshold,
                        score,
                    }
                } else {
                    Outcome::Unsure {
                        score,
                        flags: f.quality.flags.names(),
                    }
                })
            }
            faces => Ok(Outcome::SeveralFaces(faces.len())),
        }
    }
}

/// Analyses one image file as an upright frame. The outer error stops the run (a non-finite
/// score: fail closed); the inner one is an image that could not be read or analysed.
fn analyze(e: &Engine, path: &Path) -> Result<Result<Outcome, String>> {
    let analysis = decode_image(path)
        .with_context(|| format!("reading {}", path.display()))
        .and_then(|(rgb, w, h)| {
            let frame = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize)?;
            e.analyze(&frame, &[])
                .with_context(|| format!("analysing {}", path.display()))
        });
    match analysis {
        Ok(a) => Ok(Ok(Outcome::of(&a)?)),
        Err(err) => Ok(Err(format!("{err:#}"))),
    }
}

/// Every sample through `e`, `jobs` at a time, with a progress bar on a terminal. A non-finite
/// score stops the run (fail closed); an unreadable image is recorded as `Failed`.
pub fn analyze_all(e: &Engine, samples: &[Sample], jobs: usize) -> Result<Vec<Outcome>> {
    let bar = indicatif::ProgressBar::new(samples.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} images, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; samples.len()]);
    let fatal: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= samples.len() || fatal.lock().map(|f| f.is_some()).unwrap_or(true) {
                    break;
                }
                let outcome = match analyze(e, &samples[i].path) {
                    Ok(Ok(o)) => o,
                    Ok(Err(why)) => Outcome::Failed(why),
                    Err(err) => {
                        let s = &samples[i];
                        let at = format!(
                            "{} line {} ({})",
                            s.list.display(),
                            s.line,
                            s.path.display()
                        );
                        if let Ok(mut f) = fatal.lock() {
                            f.get_or_insert(err.context(at));
                        }
                        break;
                    }
                };
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(outcome);
                }
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    if let Some(err) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(err);
    }
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .enumerate()
        .map(|(i, o)| o.with_context(|| format!("image {i} was not analysed")))
        .collect()
}

/// The true class of a sample as a row of the decision table: `live` or its species.
fn class_of(s: &Sample) -> String {
    if s.label == 0 {
        "live".into()
    } else {
        s.attack_type.clone()
    }
}

/// Decisions by true class and non-response by reason, over the readable presentations.
pub fn pipeline_table(samples: &[Sample], outcomes: &[Outcome]) -> Pipeline {
    let mut p = Pipeline::default();
    let (mut none, mut reasons) = (0usize, BTreeMap::<&str, usize>::new());
    for (s, o) in samples.iter().zip(outcomes) {
        let Some(col) = o.column() else { continue };
        p.presentations += 1;
        *p.decisions
            .entry(class_of(s))
            .or_default()
            .entry(col.to_string())
            .or_default() += 1;
        let r = o.reasons();
        none += usize::from(!r.is_empty());
        for reason in r {
            *reasons.entry(reason).or_default() += 1;
        }
    }
    p.non_response = Proportion::of(none, p.presentations);
    p.non_response_by_reason = reasons
        .into_iter()
        .filter_map(|(k, n)| Some((k.to_string(), Proportion::of(n, p.presentations)?)))
        .collect();
    p
}

/// The decided presentations as scored samples (what the figures are computed on).
pub fn decided_scores(samples: &[Sample], outcomes: &[Outcome]) -> Vec<Scored> {
    samples
        .iter()
        .zip(outcomes)
        .filter_map(|(s, o)| match o {
            Outcome::Decided { score, .. } => Some(Scored {
                score: *score as f64,
                attack: s.label != 0,
                attack_type: s.attack_type.clone(),
                subject: moae_lists::subject_of(&s.path),
            }),
            _ => None,
        })
        .collect()
}

/// results.jsonl: one JSON object per listed image, in list order.
pub fn results_jsonl(samples: &[Sample], outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for (s, o) in samples.iter().zip(outcomes) {
        let (outcome, score, detail) = match o {
            Outcome::Decided { attack, score } => (
                if *attack { "attack" } else { "live" },
                Some(*score),
                json!(null),
            ),
            Outcome::Unsure { score, flags } => ("unsure", Some(*score), json!(flags)),
            Outcome::NoFace => ("no_face", None, json!(null)),
            Outcome::SeveralFaces(n) => ("several_faces", None, json!(n)),
            Outcome::Failed(why) => ("failed", None, json!(why)),
        };
        let row = json!({
            "image": s.path,
            "line": s.line,
            "label": s.fine,
            "type": s.attack_type,
            "outcome": outcome,
            "attack_score": score,
            "detail": detail,
        });
        text += &row.to_string();
        text.push('\n');
    }
    text
}

/// How the threshold was fixed, for the report.
pub struct ThresholdOrigin {
    pub text: String,
    /// The calibration file, where the threshold came from one.
    pub file: Option<PathBuf>,
}

/// The evaluation's products, rendered: nothing is written until all of them are.
pub struct Evaluation {
    pub report: EvalReport,
    pub scores: Vec<Scored>,
    pub results: String,
    pub failed: usize,
}

/// Runs the list through `e` and computes the report.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    e: &Engine,
    model: &Path,
    list: &Path,
    samples: &[Sample],
    jobs: usize,
    origin: ThresholdOrigin,
    settings: Settings,
) -> Result<Evaluation> {
    let outcomes = analyze_all(e, samples, jobs)?;
    let failed: Vec<(&Sample, &String)> = samples
        .iter()
        .zip(&outcomes)
        .filter_map(|(s, o)| match o {
            Outcome::Failed(why) => Some((s, why)),
            _ => None,
        })
        .collect();
    if failed.len() == samples.len() {
        let (s, why) = failed[0];
        bail!(
            "none of the {} images listed in {} could be analysed (first, line {}: {why}); \
             check --root (the list's paths are relative to it) and the files",
            samples.len(),
            list.display(),
            s.line
        );
    }
    let scores = decided_scores(samples, &outcomes);
    let id = |p: &Path| FileId::of(p).with_context(|| format!("reading {}", p.display()));
    let provenance = Provenance {
        producer: format!("moae evaluate {}", env!("CARGO_PKG_VERSION")),
        sdk_version: env!("CARGO_PKG_VERSION").into(),
        model: Some(id(model)?),
        list: Some(id(list)?),
        threshold_list: origin.file.as_deref().map(id).transpose()?,
        threshold_origin: origin.text,
    };
    let threshold = e.info().threshold as f64;
    let mut report = EvalReport::new(
        &scores,
        threshold,
        ThresholdSource::Fixed,
        provenance,
        settings,
    )?;
    report.pipeline = Some(pipeline_table(samples, &outcomes));
    Ok(Evaluation {
        report,
        scores,
        results: results_jsonl(samples, &outcomes),
        failed: failed.len(),
    })
}

/// Writes the evaluation into `out` (created): results.jsonl, scores.txt, report.json and
/// report.html, each whole; on a failure none of the report's two files is left.
pub fn write(out: &Path, ev: &Evaluation) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_whole(&out.join("results.jsonl"), &ev.results)?;
    let scores = moae_metrics::scores::score_file_text(&ev.scores, None);
    write_whole(&out.join("scores.txt"), &scores)?;
    moae_metrics::files::write_report(
        out,
        &ev.report,
        &ev.scores,
        moae_metrics::files::write_atomic,
    )?;
    Ok(())
}

/// The text summary printed after a run.
pub fn summary(ev: &Evaluation) -> String {
    let mut s = String::new();
    if let Some(p) = &ev.report.pipeline {
        s += &format!("{} presentations analysed", p.presentations);
        if ev.failed > 0 {
            s += &format!(", {} unreadable (see results.jsonl)", ev.failed);
        }
        s += "\ndecisions by true class (live / attack / unsure / no face / several faces):\n";
        for (class, row) in &p.decisions {
            let cells: Vec<String> = moae_metrics::report::OUTCOMES
                .iter()
                .map(|o| row.get(*o).copied().unwrap_or(0).to_string())
                .collect();
            s += &format!("  {class:<20}{}\n", cells.join(" / "));
        }
        if let Some(n) = &p.non_response {
            s += &format!(
                "non-response {:.2} % ({} of {})\n",
                100.0 * n.value,
                n.count,
                n.n
            );
            for (k, r) in &p.non_response_by_reason {
                s += &format!(
                    "  {k:<20}{:.2} % ({} of {})\n",
                    100.0 * r.value,
                    r.count,
                    r.n
                );
            }
        }
    }
    s += &moae_metrics::iso::format_figures(&ev.report.iso);
    s
}

/// `moae evaluate`.
pub fn run(ort: &Option<PathBuf>, a: &EvaluateArgs) -> Result<()> {
    let root = a.root.clone().unwrap_or_else(|| match a.list.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    });
    let samples = moae_lists::read_list(&root, &a.list)?;
    // Checked before any image is analysed: an unwritable output fails now, not after the run.
    if a.out.is_file() {
        bail!("--out {} is a file; give a folder", a.out.display());
    }
    let calib = a.calibration.as_deref().map(read_calibration).transpose()?;
    let face_detector = if a.whole_frame {
        None
    } else {
        Some(need_detector(&a.detector)?)
    };
    if let (Some(c), Some(path)) = (&calib, &a.calibration) {
        let source = if a.whole_frame {
            "whole_frame"
        } else {
            "detector"
        };
        check_calibration(c, path, a.crop_scale, source, face_detector.as_ref())?;
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = EngineOptions {
        threshold: calib.as_ref().map(|c| c.threshold).or(a.threshold),
        crop_scale: a.crop_scale,
        face_detector,
        whole_frame: a.whole_frame,
        max_sessions: jobs,
        ..a.engine.options(ort)
    };
    let e = load(&a.model, &opts)?;
    if let (Some(c), Some(path)) = (&calib, &a.calibration) {
        check_calibration_model(c, path, &a.model, &e)?;
    }
    let origin = match (&a.calibration, a.threshold) {
        (Some(path), _) => ThresholdOrigin {
            text: format!("the calibration {} (moae calibrate)", path.display()),
            file: Some(path.clone()),
        },
        (None, Some(_)) => ThresholdOrigin {
            text: "given on the command line (--threshold)".into(),
            file: None,
        },
        (None, None) if e.info().threshold_calibrated => ThresholdOrigin {
            text: "the model's own: the dev set's equal-error point at export".into(),
            file: None,
        },
        (None, None) => ThresholdOrigin {
            text: "the model's default (not calibrated on any data)".into(),
            file: None,
        },
    };
    let settings = Settings {
        resamples: a.resamples,
        seed: a.seed,
    };
    let ev = evaluate(&e, &a.model, &a.list, &samples, jobs, origin, settings)?;
    write(&a.out, &ev)?;
    print!("{}", summary(&ev));
    if ev.failed > 0 {
        eprintln!(
            "warning: {} of {} images could not be analysed and are not counted (results.jsonl \
             says why)",
            ev.failed,
            samples.len()
        );
    }
    println!("report in {}", a.out.display());
    Ok(())
}
