//! Losses: CE (classifier form or symmetric Eq. 1), DM and CDM with the stable log-sum-exp
//! (spec §3–4). Features are the projected image embeddings **before** l2-normalisation.
//!
//! Labels are int64 [n] with 0 = live, 1 = attack. Classes absent from a batch contribute no
//! term; a term with no rows at all is 0 (a constant, no gradient).

use crate::model::classifier_logits;
use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

/// Number of classes (live, attack).
pub const NUM_CLASSES: i64 = 2;

/// Which form of the classification loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum CeForm {
    /// Cross-entropy over the two class logits (zero-shot classifier form; default, spec §4).
    Classifier,
    /// The paper's symmetric image–text Eq. 1 over the batch's N pairs (ill-posed when many
    /// images share a prompt; offered as an option).
    Symmetric,
}

/// Loss weights and hyper-parameters (Eq. 14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    pub ce_form: CeForm,
    pub lambda_dm: f64,
    pub lambda_cdm: f64,
    /// DM margin t (spec §3).
    pub dm_margin: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            ce_form: CeForm::Classifier,
            lambda_dm: 1.0,
            lambda_cdm: 1.0,
            dm_margin: 0.5,
        }
    }
}

/// The loss terms of one batch (scalars); `total` = ce + λ_dm·dm + λ_cdm·cdm.
#[derive(Debug)]
pub struct TotalLoss {
    pub ce: Tensor,
    pub dm: Tensor,
    /// cdm = cdm_att + cdm_rep.
    pub cdm: Tensor,
    pub cdm_att: Tensor,
    pub cdm_rep: Tensor,
    pub total: Tensor,
}

/// Stable log-sum-exp of `z` [r, k] over the entries where `mask` [r, k] (bool) is true:
/// `max_S z + log Σ_S exp(z − max_S z)`. Rows with an empty set are returned as 0 and flagged
/// false in the second output ([r] bool).
pub fn masked_lse(z: &Tensor, mask: &Tensor) -> (Tensor, Tensor) {
    let valid = mask.any_dim(-1, false);
    let neg_inf = Tensor::full([], f64::NEG_INFINITY, (z.kind(), z.device()));
    // The max cancels in the gradient, so it is taken detached; empty rows use 0.
    let m = z
        .detach()
        .where_self(mask, &neg_inf)
        .amax([-1i64].as_slice(), true);
    let m = m.where_self(&valid.unsqueeze(-1), &m.zeros_like());
    // Masked-off entries are replaced by the max before exp, so they can never overflow.
    let shifted = (z.where_self(mask, &m) - &m).exp() * mask.to_kind(z.kind());
    let sum = shifted.sum_dim_intlist(-1, false, z.kind());
    let sum = sum.where_self(&valid, &sum.ones_like());
    (m.squeeze_dim(-1) + sum.log(), valid)
}

/// lse_sq(Z, S) = (1/N) Σ_i (LSE_{j∈S_i} Z_ij)² over the N rows whose S_i is not empty; 0 if
/// there are none (spec §3).
pub fn lse_sq(z: &Tensor, mask: &Tensor) -> Tensor {
    let (lse, valid) = masked_lse(z, mask);
    let count = valid.to_kind(Kind::Int64).sum(Kind::Int64).int64_value(&[]);
    if count == 0 {
        return Tensor::zeros([], (z.kind(), z.device()));
    }
    (lse.square() * valid.to_kind(z.kind())).sum(z.kind()) / count as f64
}

/// Class centres (Eq. 4): `x` [n, p], `labels` [n] → (centres [2, p], present [2] bool).
/// The centre of an absent class is 0.
pub fn class_centres(x: &Tensor, labels: &Tensor) -> (Tensor, Tensor) {
    let onehot = labels.one_hot(NUM_CLASSES).to_kind(x.kind()); // [n, 2]
    let counts = onehot.sum_dim_intlist(0, false, x.kind()); // [2]
    let present = counts.gt(0.0);
    let centres = onehot.transpose(0, 1).matmul(x) / counts.clamp_min(1.0).unsqueeze(-1);
    (centres, present)
}

/// DM (Eq. 5–8): R_c = C Cᵀ / sqrt(p); Q = max(R_c ⊙ (1 − I) − t, 0);
/// lse_sq(Q, S_k = {j ≠ k, j present}) over present classes k. Pushes the centres apart.
pub fn dm_loss(x: &Tensor, labels: &Tensor, margin: f64) -> Tensor {
    let p = x.size()[1];
    let (c, present) = class_centres(x, labels);
    let eye = Tensor::eye(NUM_CLASSES, (x.kind(), x.device()));
    let rc = c.matmul(&c.transpose(0, 1)) / (p as f64).sqrt();
    let off_diag: Tensor = 1.0 - &eye;
    let q = (rc * off_diag - margin).relu();
    let pair = present.unsqueeze(1).logical_and(&present.unsqueeze(0));
    let mask = pair.logical_and(&eye.eq(0.0));
    lse_sq(&q, &mask)
}

/// CDM attraction (Eq. 9–10): R' = |X − c_y| [n, p]; lse_sq over all feature dims.
/// A soft maximum of each row's deviation from its own centre: pulls rows to their centre.
pub fn cdm_attraction(x: &Tensor, labels: &Tensor) -> Tensor {
    let (c, _) = class_centres(x, labels);
    let own = c.index_select(0, labels); // [n, p]
    let r = (x - own).abs();
    lse_sq(&r, &r.ones_like().to_kind(Kind::Bool))
}

/// CDM repulsion (Eq. 11–12): R'' = softmax over present centres of X Cᵀ [n, 2];
/// lse_sq(R'', S_i = {k ≠ y_i, k present}). Pushes each row from the other class's centre.
pub fn cdm_repulsion(x: &Tensor, labels: &Tensor) -> Tensor {
    let (c, present) = class_centres(x, labels);
    let n = x.size()[0];
    let present = present.unsqueeze(0).expand([n, NUM_CLASSES], false);
    let neg_inf = Tensor::full([], f64::NEG_INFINITY, (x.kind(), x.device()));
    let sims = x.matmul(&c.transpose(0, 1)).where_self(&present, &neg_inf);
    let r = sims.softmax(-1, x.kind());
    let own = labels.one_hot(NUM_CLASSES).to_kind(Kind::Bool);
    let mask = present.logical_and(&own.logical_not());
    // An absent centre has probability exactly 0 and is masked out; where_self keeps its
    // gradient finite.
    lse_sq(&r.where_self(&present, &r.zeros_like()), &mask)
}

/// CE. Classifier form: cross-entropy of `classifier_logits(img, class_emb)` [n, 2] against
/// `labels`. Symmetric form (Eq. 1): pairs (img_i, class_emb[y_i]); mean of the image→text
/// and text→image cross-entropies over the N×N similarity matrix.
pub fn ce_loss(
    img: &Tensor,
    class_emb: &Tensor,
    logit_scale: &Tensor,
    labels: &Tensor,
    form: CeForm,
) -> Tensor {
    match form {
        CeForm::Classifier => classifier_logits(img, class_emb, logit_scale)
            .cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0),
        CeForm::Symmetric => {
            let txt = class_emb.index_select(0, labels);
            let logits = classifier_logits(img, &txt, logit_scale); // [N, N]
            let target = Tensor::arange(img.size()[0], (Kind::Int64, img.device()));
            let i2t =
                logits.cross_entropy_loss::<Tensor>(&target, None, Reduction::Mean, -100, 0.0);
            let t2i = logits.transpose(0, 1).cross_entropy_loss::<Tensor>(
                &target,
                None,
                Reduction::Mean,
                -100,
                0.0,
            );
            (i2t + t2i) / 2.0
        }
    }
}

/// All terms for one batch: `img` raw image features [n, proj], `class_emb` [2, proj],
/// `labels` [n] int64 in {0, 1}.
pub fn total_loss(
    img: &Tensor,
    class_emb: &Tensor,
    logit_scale: &Tensor,
    labels: &Tensor,
    cfg: &LossConfig,
) -> TotalLoss {
    let ce = ce_loss(img, class_emb, logit_scale, labels, cfg.ce_form);
    let dm = dm_loss(img, labels, cfg.dm_margin);
    let cdm_att = cdm_attraction(img, labels);
    let cdm_rep = cdm_repulsion(img, labels);
    let cdm = &cdm_att + &cdm_rep;
    let total = &ce + &dm * cfg.lambda_dm + &cdm * cfg.lambda_cdm;
    TotalLoss {
        ce,
        dm,
        cdm,
        cdm_att,
        cdm_rep,
        total,
    }
}
