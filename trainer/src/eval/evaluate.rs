//! Scoring a model on a data set: P(attack) per image (spec §7: softmax over the two
//! classifier logits), with the labels and attack types the metrics need.

use crate::data::loader::Batch;
use crate::eval::metrics::{self, Scored};
use crate::model::prompts::class_embeddings;
use crate::model::student::Student;
use crate::model::{MoaeClip, NetRef};
pub use crate::record::EvalSummary;
use anyhow::{Context, Result};
use tch::{Device, Kind, Tensor};

/// P(attack) for pixels [N, 3, S, S]: softmax over the classifier logits, column 1.
pub fn attack_scores(model: &MoaeClip, class_emb: &Tensor, pixels: &Tensor) -> Tensor {
    let img = model.encode_image(pixels, false);
    model
        .classifier_logits(&img, class_emb)
        .softmax(-1, Kind::Float)
        .select(1, 1)
}

/// Scores every batch (evaluation mode, no gradients).
pub fn score_batches(
    model: &MoaeClip,
    prompt_ids: &Tensor,
    batches: impl Iterator<Item = Result<Batch>>,
    image_size: i64,
    device: Device,
) -> Result<Vec<Scored>> {
    tch::no_grad(|| {
        let class_emb = class_embeddings(model, prompt_ids);
        score_each(batches, image_size, device, |x| {
            attack_scores(model, &class_emb, x)
        })
    })
}

/// P(attack) of a student for pixels [N, 3, S, S] (its own normalisation): softmax over its
/// live/attack logits, column 1.
pub fn student_attack_scores(student: &Student, pixels: &Tensor) -> Tensor {
    student
        .forward_t(pixels, false)
        .logits
        .softmax(-1, Kind::Float)
        .select(1, 1)
}

/// [`score_batches`] for a model of either family (`prompt_ids` are used by CLIP only).
pub fn score_net_batches(
    net: NetRef,
    prompt_ids: &Tensor,
    batches: impl Iterator<Item = Result<Batch>>,
    device: Device,
) -> Result<Vec<Scored>> {
    let size = net.input().size;
    match net {
        NetRef::Clip(m) => score_batches(m, prompt_ids, batches, size, device),
        NetRef::Student(s) => {
            tch::no_grad(|| score_each(batches, size, device, |x| student_attack_scores(s, x)))
        }
    }
}

fn score_each(
    batches: impl Iterator<Item = Result<Batch>>,
    image_size: i64,
    device: Device,
    scores: impl Fn(&Tensor) -> Tensor,
) -> Result<Vec<Scored>> {
    let mut out = Vec::new();
    for b in batches {
        let b = b.context("loading an evaluation batch")?;
        let (x, _) = crate::data::tensors::batch_tensors(&b, image_size, device)?;
        let s: Vec<f32> =
            Vec::<f32>::try_from(scores(&x).to_device(Device::Cpu)).context("reading scores")?;
        for (i, score) in s.into_iter().enumerate() {
            out.push(Scored {
                score: score as f64,
                attack: b.labels[i] != 0,
                attack_type: b.attack_types[i].clone(),
                subject: moae_lists::subject_of(&b.paths[i]),
            });
        }
    }
    Ok(out)
}

impl EvalSummary {
    pub fn of(scored: &[Scored]) -> Self {
        let eer = metrics::eer_point(scored);
        let acer = eer.and_then(|p| metrics::rates_at(scored, p.threshold).acer);
        EvalSummary {
            n: scored.len(),
            eer: eer.map(|p| p.eer),
            auc: metrics::auc(scored),
            acer,
            threshold: eer.map(|p| p.threshold),
        }
    }

    /// Lower EER wins; ties go to the higher AUC. A summary with no EER never wins.
    pub fn better_than(&self, other: &EvalSummary) -> bool {
        match (self.eer, other.eer) {
            (Some(a), Some(b)) if a != b => a < b,
            (Some(_), Some(_)) => self.auc.unwrap_or(0.0) > other.auc.unwrap_or(0.0),
            (Some(_), None) => true,
            _ => false,
        }
    }

    pub fn one_line(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{:.2}%", 100.0 * v));
        format!(
            "EER {} AUC {} ACER {} (n={})",
            pct(self.eer),
            pct(self.auc),
            pct(self.acer),
            self.n
        )
    }
}
