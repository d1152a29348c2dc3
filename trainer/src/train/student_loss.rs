//! The student's supervised loss (spec §9): cross-entropy over its live/attack logits plus,
//! when the training list carries fine-grained labels, cross-entropy of the attack-type head
//! over the four labels of spec §6. (Distillation adds its own term on top.)

use crate::model::student::StudentOutput;
use tch::{Reduction, Tensor};

/// Weight of the attack-type cross-entropy next to the binary one.
pub const TYPE_LOSS_WEIGHT: f64 = 1.0;

/// The loss terms of one batch (scalars).
#[derive(Debug)]
pub struct StudentLoss {
    pub total: Tensor,
    /// Binary cross-entropy (live/attack).
    pub ce: Tensor,
    /// Attack-type cross-entropy, when it is trained.
    pub type_ce: Option<Tensor>,
}

/// Whether a training list can teach the attack-type head: only lists with a label beyond
/// 0/1 are fine-grained for sure (a 0/1 list may be a binary one, where 1 means "any attack",
/// not "physical"), so binary lists train no type loss.
pub fn lists_are_typed(fine_labels: impl IntoIterator<Item = u8>) -> bool {
    fine_labels.into_iter().any(|l| l >= 2)
}

/// `CE(logits, labels) + TYPE_LOSS_WEIGHT · CE(type_logits, types)`; `types` (the fine labels,
/// int64 in 0..=3) `None` leaves the type head out.
pub fn student_loss(out: &StudentOutput, labels: &Tensor, types: Option<&Tensor>) -> StudentLoss {
    let ce = out
        .logits
        .cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0);
    let type_ce = match (&out.type_logits, types) {
        (Some(t), Some(y)) => {
            Some(t.cross_entropy_loss::<Tensor>(y, None, Reduction::Mean, -100, 0.0))
        }
        _ => None,
    };
    let total = match &type_ce {
        Some(t) => &ce + t * TYPE_LOSS_WEIGHT,
        None => ce.shallow_clone(),
    };
    StudentLoss { total, ce, type_ce }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_matches_a_hand_computed_case() {
        // logits (0, ln 3): P(attack) = 3/4; label attack → CE = −ln(3/4).
        // types uniform logits → CE = ln 4.
        let out = StudentOutput {
            logits: Tensor::from_slice(&[0.0f32, 3f32.ln()]).view([1, 2]),
            type_logits: Some(Tensor::zeros([1, 4], (tch::Kind::Float, tch::Device::Cpu))),
        };
        let labels = Tensor::from_slice(&[1i64]);
        let types = Tensor::from_slice(&[2i64]);
        let l = student_loss(&out, &labels, Some(&types));
        let want_ce = -(0.75f64.ln());
        let want = want_ce + TYPE_LOSS_WEIGHT * 4f64.ln();
        assert!((l.ce.double_value(&[]) - want_ce).abs() < 1e-6);
        assert!((l.total.double_value(&[]) - want).abs() < 1e-6);
        let binary = student_loss(&out, &labels, None);
        assert!(binary.type_ce.is_none());
        assert!((binary.total.double_value(&[]) - want_ce).abs() < 1e-6);
    }

    #[test]
    fn only_lists_with_labels_beyond_one_are_typed() {
        assert!(!lists_are_typed([0, 1, 1, 0]));
        assert!(lists_are_typed([0, 1, 3]));
    }
}
