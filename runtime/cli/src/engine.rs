//! Loading the engine and running it on image files, shared by the commands.

use anyhow::{bail, Context, Result};
use moae_runtime::{
    decode_image, BoxInput, Detection, DetectorModel, Engine, EngineOptions, FaceBox, Frame,
    FrameAnalysis, PixelFormat, Rotation,
};
use std::path::{Path, PathBuf};

pub fn load(model: &PathBuf, opts: &EngineOptions) -> Result<Engine> {
    Engine::from_path(model, opts).with_context(|| format!("loading {}", model.display()))
}

/// The detector to use: the argument, else $MOAE_FACE_DETECTOR, else a clear error saying how
/// to get one.
pub fn need_detector(detector: &Option<PathBuf>) -> Result<DetectorModel> {
    let detector = detector
        .clone()
        .or_else(|| std::env::var_os("MOAE_FACE_DETECTOR").map(PathBuf::from));
    match &detector {
        Some(p) if !p.as_os_str().is_empty() => {
            if !p.is_file() {
                bail!(
                    "the face detector {} does not exist: run scripts/setup.sh (it places \
                     face_detection_front_128x128.onnx in .venv/face/), or pass --box / \
                     --whole-frame",
                    p.display()
                );
            }
            Ok(DetectorModel::Path(p.clone()))
        }
        _ => bail!(
            "no face box and no face detector: pass --detector PATH (or set \
             MOAE_FACE_DETECTOR; scripts/setup.sh places .venv/face/\
             face_detection_front_128x128.onnx), give --box X,Y,W,H, or --whole-frame for an \
             image that is already the face"
        ),
    }
}

/// Decodes an image file and scores its liveness (the whole image, or the first of `faces`).
pub fn score_file(e: &Engine, img: &Path, faces: &[FaceBox]) -> Result<Detection> {
    let (rgb, w, h) = decode_image(img).with_context(|| format!("reading {}", img.display()))?;
    let frame = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize)?;
    let d = e
        .detect(&frame, faces)
        .with_context(|| format!("detecting on {}", img.display()))?;
    Ok(d[0])
}

/// Decodes an image file (the raw buffer) and analyses it as the frame
/// rotate_cw(flip_if_mirrored(file), rotation).
pub fn analyze_file(
    e: &Engine,
    img: &Path,
    boxes: &[BoxInput],
    rotation: i32,
    mirrored: bool,
) -> Result<FrameAnalysis> {
    let (rgb, w, h) = decode_image(img).with_context(|| format!("reading {}", img.display()))?;
    let frame = Frame::packed(PixelFormat::Rgb, &rgb, w, h, 3 * w as usize)?
        .with_rotation(Rotation::try_from(rotation)?)
        .with_mirrored(mirrored);
    e.analyze(&frame, boxes)
        .with_context(|| format!("analysing {}", img.display()))
}
