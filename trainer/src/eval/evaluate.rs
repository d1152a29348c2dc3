//! Scoring a model on a data set: P(attack) per image (spec §7: softmax over the two
//! classifier logits), with the labels and attack types the metrics need.

use crate::data::loader::Batch;
use crate::eval::metrics::{self, Scored};
use crate::model::prompts::class_embeddings;
use crate::model::student::Student;
use crate::model::{MoaeClip, NetRef};
pub use crate::record::EvalSummary;
use anyhow::{Context, Result};
use moae_metrics::confusion::{AttackTypeMatrix, TypeConfusion};
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
    student_scores_and_types(student, pixels).0
}

/// P(attack) and, when the student has the attack-type head, the head's argmax per image.
fn student_scores_and_types(student: &Student, pixels: &Tensor) -> (Tensor, Option<Tensor>) {
    let out = student.forward_t(pixels, false);
    let scores = out.logits.softmax(-1, Kind::Float).select(1, 1);
    (scores, out.type_logits.map(|t| t.argmax(-1, false)))
}

/// One split's scores and, for a model with the attack-type head, each image's
/// `(true fine-grained label, the head's argmax)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredTypes {
    pub scored: Vec<Scored>,
    pub types: Option<Vec<(usize, usize)>>,
}

impl ScoredTypes {
    /// The attack-type confusion matrix; "not available" for a model without the head.
    pub fn type_matrix(&self) -> Result<AttackTypeMatrix> {
        Ok(match &self.types {
            None => AttackTypeMatrix::no_head(),
            Some(pairs) => {
                AttackTypeMatrix::Available(TypeConfusion::from_pairs(pairs.iter().copied())?)
            }
        })
    }
}

/// [`score_batches`] for a model of either family (`prompt_ids` are used by CLIP only).
pub fn score_net_batches(
    net: NetRef,
    prompt_ids: &Tensor,
    batches: impl Iterator<Item = Result<Batch>>,
    device: Device,
) -> Result<Vec<Scored>> {
    Ok(score_net_batches_typed(net, prompt_ids, batches, device)?.scored)
}

/// [`score_net_batches`] with the attack-type head's predictions where the model has one.
pub fn score_net_batches_typed(
    net: NetRef,
    prompt_ids: &Tensor,
    batches: impl Iterator<Item = Result<Batch>>,
    device: Device,
) -> Result<ScoredTypes> {
    let size = net.input().size;
    match net {
        NetRef::Clip(m) => Ok(ScoredTypes {
            scored: score_batches(m, prompt_ids, batches, size, device)?,
            types: None,
        }),
        NetRef::Student(s) => tch::no_grad(|| {
            score_each_typed(batches, size, device, |x| student_scores_and_types(s, x))
        }),
    }
}

fn score_each(
    batches: impl Iterator<Item = Result<Batch>>,
    image_size: i64,
    device: Device,
    scores: impl Fn(&Tensor) -> Tensor,
) -> Result<Vec<Scored>> {
    Ok(score_each_typed(batches, image_size, device, |x| (scores(x), None))?.scored)
}

/// `scores` gives P(attack) [N] and, optionally, the predicted type [N] (int64) of a batch; a
/// model gives the predictions for every batch or for none.
fn score_each_typed(
    batches: impl Iterator<Item = Result<Batch>>,
    image_size: i64,
    device: Device,
    scores: impl Fn(&Tensor) -> (Tensor, Option<Tensor>),
) -> Result<ScoredTypes> {
    let mut out = ScoredTypes {
        scored: Vec::new(),
        types: None,
    };
    let mut pairs: Option<Vec<(usize, usize)>> = None;
    for b in batches {
        let b = b.context("loading an evaluation batch")?;
        let (x, _) = crate::data::tensors::batch_tensors(&b, image_size, device)?;
        let (p, predicted) = scores(&x);
        let s: Vec<f32> =
            Vec::<f32>::try_from(p.to_device(Device::Cpu)).context("reading scores")?;
        if let Some(t) = predicted {
            let t: Vec<i64> =
                Vec::<i64>::try_from(t.to_device(Device::Cpu)).context("reading attack types")?;
            pairs.get_or_insert_with(Vec::new).extend(
                b.types
                    .iter()
                    .zip(t)
                    .map(|(&f, p)| (f as usize, p as usize)),
            );
        }
        for (i, score) in s.into_iter().enumerate() {
            out.scored.push(Scored {
                score: score as f64,
                attack: b.labels[i] != 0,
                attack_type: b.attack_types[i].clone(),
                subject: moae_lists::subject_of(&b.paths[i]),
            });
        }
    }
    if let Some(pairs) = pairs {
        if pairs.len() != out.scored.len() {
            anyhow::bail!(
                "the attack-type head predicted {} of {} images",
                pairs.len(),
                out.scored.len()
            );
        }
        out.types = Some(pairs);
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
