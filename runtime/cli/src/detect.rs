//! `moae detect`: frames in, a decision per face out (text or JSON).

use crate::args::{DetectArgs, SpaceArg};
use crate::calib::{check_calibration, check_calibration_model, read_calibration};
use crate::engine::{analyze_file, load, need_detector};
use anyhow::Result;
use moae_runtime::{
    BoxInput, BoxSpace, BoxUnits, EngineOptions, FaceBox, FaceResult, FrameAnalysis, ATTACK_TYPES,
};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Analyses every image and prints each face's decision, scores and quality.
pub fn run(ort: &Option<PathBuf>, a: &DetectArgs) -> Result<()> {
    let DetectArgs {
        model,
        images,
        detector,
        boxes,
        box_space,
        normalized,
        rotation,
        mirrored,
        whole_frame,
        threshold,
        calibration,
        crop_scale,
        engine,
        json,
    } = a;
    let calib = calibration.as_deref().map(read_calibration).transpose()?;
    let face_detector = if boxes.is_empty() && !whole_frame {
        Some(need_detector(detector)?)
    } else {
        None
    };
    if let (Some(c), Some(path)) = (&calib, calibration) {
        let source = if !boxes.is_empty() {
            "caller"
        } else if *whole_frame {
            "whole_frame"
        } else {
            "detector"
        };
        check_calibration(c, path, *crop_scale, source, face_detector.as_ref())?;
    }
    let opts = EngineOptions {
        threshold: calib.as_ref().map(|c| c.threshold).or(*threshold),
        crop_scale: *crop_scale,
        face_detector,
        whole_frame: *whole_frame,
        ..engine.options(ort)
    };
    let e = load(model, &opts)?;
    if let (Some(c), Some(path)) = (&calib, calibration) {
        check_calibration_model(c, path, model, &e)?;
    }
    let inputs = box_inputs(boxes, *box_space, *normalized);
    let mut rows = Vec::new();
    for img in images {
        let a = analyze_file(&e, img, &inputs, *rotation, *mirrored)?;
        if *json {
            rows.push(analysis_json(img, &a));
            continue;
        }
        print_text(img, &a);
    }
    if *json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}

/// The `--box` rectangles read in the given space and units.
fn box_inputs(boxes: &[FaceBox], space: SpaceArg, normalized: bool) -> Vec<BoxInput> {
    boxes
        .iter()
        .map(|&rect| BoxInput {
            rect,
            space: match space {
                SpaceArg::Upright => BoxSpace::Upright,
                SpaceArg::Raw => BoxSpace::Raw,
            },
            units: if normalized {
                BoxUnits::Normalized
            } else {
                BoxUnits::Pixels
            },
        })
        .collect()
}

/// One line per face (or a "no face" line) of the text output.
fn print_text(img: &Path, a: &FrameAnalysis) {
    if a.faces.is_empty() {
        println!(
            "{}\tno face\tframe flags: {}",
            img.display(),
            a.flags.names().join(",")
        );
    }
    for (i, f) in a.faces.iter().enumerate() {
        let b = f.face_box;
        let flags = f.quality.flags.names();
        println!(
            "{}\tface {i}\t{}\tattack_score={:.4}\tthreshold={:.4}\tby_score={}\tbox={:.1},{:.1},{:.1},{:.1}\t{}{}\tquality={}\t{:.2} ms",
            img.display(),
            f.decision.name(),
            f.detection.attack_score,
            f.detection.threshold,
            if f.detection.is_attack { "attack" } else { "live" },
            b.x,
            b.y,
            b.width,
            b.height,
            f.source.name(),
            f.detector_score
                .map(|s| format!(" {s:.3}"))
                .unwrap_or_default(),
            if flags.is_empty() {
                "ok".to_string()
            } else {
                flags.join(",")
            },
            f.detection.latency.as_secs_f64() * 1e3
        );
        if let Some(p) = f.detection.attack_type {
            let types: Vec<String> = ATTACK_TYPES
                .iter()
                .zip(p)
                .map(|(name, v)| format!("{name}={v:.3}"))
                .collect();
            println!(
                "{}	face {i}	attack type: {}",
                img.display(),
                types.join(" ")
            );
        }
    }
}

fn quality_json(f: &FaceResult) -> serde_json::Value {
    let q = &f.quality.values;
    json!({
        "face_px": q.face_px,
        "outside_fraction": q.outside_fraction,
        "brightness": q.brightness,
        "overexposed_fraction": q.overexposed_fraction,
        "sharpness": q.sharpness,
        "roll_deg": q.roll_deg,
        "yaw_deg": q.yaw_deg,
        "flags": f.quality.flags.names(),
    })
}

fn face_json(f: &FaceResult) -> serde_json::Value {
    let b = f.face_box;
    json!({
        "source": f.source.name(),
        "box": {"x": b.x, "y": b.y, "width": b.width, "height": b.height},
        "keypoints": f.keypoints.map(|k| k.iter().map(|p| [p.x, p.y]).collect::<Vec<_>>()),
        "detector_score": f.detector_score,
        "attack_score": f.detection.attack_score,
        "live_score": f.detection.live_score,
        "threshold": f.detection.threshold,
        "decision": f.decision.name(),
        "quality": quality_json(f),
        "attack_type": attack_type_json(f),
        "latency_ms": f.detection.latency.as_secs_f64() * 1e3,
    })
}

/// `{"live": p, "physical": p, "adversarial": p, "digital": p}`, or null when the model has
/// no attack-type head.
fn attack_type_json(f: &FaceResult) -> serde_json::Value {
    match f.detection.attack_type {
        Some(p) => serde_json::Value::Object(
            ATTACK_TYPES
                .iter()
                .zip(p)
                .map(|(name, v)| (name.to_string(), json!(v)))
                .collect(),
        ),
        None => serde_json::Value::Null,
    }
}

fn analysis_json(img: &Path, a: &FrameAnalysis) -> serde_json::Value {
    json!({
        "image": img,
        "frame_flags": a.flags.names(),
        "faces": a.faces.iter().map(face_json).collect::<Vec<_>>(),
    })
}
