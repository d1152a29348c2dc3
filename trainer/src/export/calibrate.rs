//! Dev-set calibration: P(attack) of preprocessed dev images through the tch model (fp32), whose
//! equal-error threshold (spec §7) becomes the exported model's `moae.threshold`.
//!
//! Image decoding and preprocessing belong to the data module; callers pass each image as
//! CLIP-normalised CHW values (`data::augment::eval_transform`), so this stays independent of
//! how lists are read.

use super::ExportError;
use crate::metrics::Scored;
use crate::model::MoaeClip;
use tch::{Kind, Tensor};

/// One dev image: CHW float values of side `size`, its binary label and attack type name.
pub struct DevImage {
    pub chw: Vec<f32>,
    pub attack: bool,
    pub attack_type: String,
}

/// Scores dev images in batches of `batch`; an image whose value count is not 3·size² is an
/// error naming its position (a preprocessing bug would otherwise shift every later image).
pub fn score_images(
    model: &MoaeClip,
    class_emb: &Tensor,
    images: impl IntoIterator<Item = Result<DevImage, ExportError>>,
    batch: usize,
) -> Result<Vec<Scored>, ExportError> {
    let size = model.cfg.vision.image_size;
    let want = (3 * size * size) as usize;
    let device = model.logit_scale().device();
    let mut out = Vec::new();
    let mut pending: Vec<DevImage> = Vec::new();
    let flush = |pending: &mut Vec<DevImage>, out: &mut Vec<Scored>| {
        if pending.is_empty() {
            return;
        }
        let n = pending.len() as i64;
        let flat: Vec<f32> = pending.iter().flat_map(|p| p.chw.iter().copied()).collect();
        let px = Tensor::from_slice(&flat)
            .view([n, 3, size, size])
            .to_device(device);
        let scores = tch::no_grad(|| {
            let logits = model.classifier_logits(&model.encode_image(&px, false), class_emb);
            logits.softmax(-1, Kind::Float).select(1, 1)
        });
        let scores = super::quantize::values(&scores);
        for (p, s) in pending.drain(..).zip(scores) {
            out.push(Scored {
                score: s as f64,
                attack: p.attack,
                attack_type: p.attack_type,
            });
        }
    };
    for (i, img) in images.into_iter().enumerate() {
        let img = img?;
        if img.chw.len() != want {
            return Err(ExportError::Calibration(format!(
                "dev image {} has {} values, expected 3×{size}×{size} = {want}",
                i + 1,
                img.chw.len()
            )));
        }
        pending.push(img);
        if pending.len() >= batch.max(1) {
            flush(&mut pending, &mut out);
        }
    }
    flush(&mut pending, &mut out);
    if out.is_empty() {
        return Err(ExportError::Calibration(
            "the dev list has no images".into(),
        ));
    }
    Ok(out)
}
