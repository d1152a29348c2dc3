//! Losses: CE (classifier form or symmetric Eq. 1), DM and CDM with the stable log-sum-exp
//! (spec §3–4). Features are the projected image embeddings **before** l2-normalisation.
//!
//! Labels are int64 [n] with 0 = live, 1 = attack. Classes absent from a batch contribute no
//! term; a term with no rows at all is 0 (a constant, no gradient).

use crate::model::classifier_logits;
pub use crate::record::{CeForm, LossConfig};
use tch::{Kind, Reduction, Tensor};

/// Number of classes (live, attack).
pub const NUM_CLASSES: i64 = 2;

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            ce_form: CeForm::Classifier,
            lambda_dm: 1.0,
            lambda_cdm: 1.0,
            dm_margin: 0.5,
            reg_warmup: 0.0,
        }
    }
}

impl LossConfig {
    /// The weights in force at 0-based `step` of a `total`-step run (the `reg_warmup` ramp).
    pub fn at_step(&self, step: u64, total: u64) -> LossConfig {
        let ramp = self.reg_warmup * total as f64;
        let f = if ramp < 1.0 {
            1.0
        } else {
            ((step + 1) as f64 / ramp).min(1.0)
        };
        LossConfig {
            lambda_dm: self.lambda_dm * f,
            lambda_cdm: self.lambda_cdm * f,
            ..self.clone()
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
    let valid = valid.to_kind(z.kind());
    // Divide by max(N, 1) on the device: no host sync, and 0 when no row has a set.
    (lse.square() * &valid).sum(z.kind()) / valid.sum(z.kind()).clamp_min(1.0)
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

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // index loops mirror the formulas
mod tests {
    use super::*;
    use tch::Device;

    const P: usize = 3;
    // A hand-built batch: two rows per class, 3 features; centres (1.5, 0.5, 0.5) and
    // (0.5, 1.5, 1) whose scaled similarity 2/sqrt(3) exceeds the margin 0.5.
    const X: [[f64; P]; 4] = [
        [2.0, 0.0, 1.0],
        [1.0, 1.0, 0.0],
        [0.0, 2.0, 1.0],
        [1.0, 1.0, 1.0],
    ];
    const Y: [i64; 4] = [0, 0, 1, 1];

    fn x_tensor(rows: &[[f64; P]]) -> Tensor {
        let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        Tensor::from_slice(&flat).view([rows.len() as i64, P as i64])
    }

    fn labels(y: &[i64]) -> Tensor {
        Tensor::from_slice(y)
    }

    fn centres(x: &[[f64; P]], y: &[i64]) -> [[f64; P]; 2] {
        let mut c = [[0.0; P]; 2];
        for k in 0..2 {
            let rows: Vec<_> = x.iter().zip(y).filter(|(_, &l)| l == k as i64).collect();
            for (r, _) in &rows {
                for j in 0..P {
                    c[k][j] += r[j] / rows.len() as f64;
                }
            }
        }
        c
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn val(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    #[test]
    fn lse_sq_equals_naive_log_sum_exp() {
        tch::manual_seed(0);
        let z = Tensor::randn([5, 7], (Kind::Float, Device::Cpu)) * 3.0;
        let mask = Tensor::rand([5, 7], (Kind::Float, Device::Cpu)).gt(0.4);
        let _ = mask.get(2).fill_(0); // one empty row: no term
        let zv: Vec<Vec<f64>> = Vec::try_from(z.to_kind(Kind::Double)).unwrap();
        let mv: Vec<Vec<bool>> = Vec::try_from(&mask).unwrap();
        let (mut sum, mut rows) = (0.0, 0);
        for (zr, mr) in zv.iter().zip(&mv) {
            let s: f64 = zr
                .iter()
                .zip(mr)
                .filter(|(_, &m)| m)
                .map(|(z, _)| z.exp())
                .sum();
            if mr.iter().any(|&m| m) {
                sum += s.ln().powi(2);
                rows += 1;
            }
        }
        let want = sum / rows as f64;
        assert!((val(&lse_sq(&z, &mask)) - want).abs() < 1e-4 * want.max(1.0));
        // No row at all → 0.
        let none = mask.zeros_like();
        assert_eq!(val(&lse_sq(&z, &none)), 0.0);
    }

    #[test]
    fn lse_does_not_overflow() {
        let z = Tensor::from_slice(&[1e30f32, 1e30, -1e30]).view([1, 3]);
        let mask = z.ones_like().to_kind(Kind::Bool);
        let (lse, _) = masked_lse(&z, &mask);
        let v = val(&lse.squeeze());
        assert!((v - 1e30).abs() / 1e30 < 1e-6, "{v}");
    }

    #[test]
    fn dm_equals_direct_computation() {
        let c = centres(&X, &Y);
        let q = (dot(&c[0], &c[1]) / (P as f64).sqrt() - 0.5).max(0.0);
        assert!(q > 0.0);
        // Two class rows, each with one off-diagonal entry: LSE of one value is the value.
        let want = q * q;
        let got = val(&dm_loss(&x_tensor(&X), &labels(&Y), 0.5));
        assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
    }

    #[test]
    fn cdm_terms_equal_direct_computation() {
        let c = centres(&X, &Y);
        let mut att = 0.0;
        let mut rep = 0.0;
        for (x, &y) in X.iter().zip(&Y) {
            let own = &c[y as usize];
            let s: f64 = (0..P).map(|j| (x[j] - own[j]).abs().exp()).sum();
            att += s.ln().powi(2) / X.len() as f64;
            let sims = [dot(x, &c[0]), dot(x, &c[1])];
            let m = sims[0].max(sims[1]);
            let z = (sims[0] - m).exp() + (sims[1] - m).exp();
            let other = (sims[1 - y as usize] - m).exp() / z;
            rep += other.powi(2) / X.len() as f64;
        }
        let (x, y) = (x_tensor(&X), labels(&Y));
        assert!((val(&cdm_attraction(&x, &y)) - att).abs() < 1e-5 * att);
        assert!((val(&cdm_repulsion(&x, &y)) - rep).abs() < 1e-5 * rep.max(1e-3));
    }

    #[test]
    fn ce_equals_direct_computation() {
        let img = x_tensor(&X);
        let cls = x_tensor(&[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]);
        let scale = Tensor::from(2.0f32);
        let norm = |v: &[f64]| {
            let n = dot(v, v).sqrt();
            v.iter().map(|a| a / n).collect::<Vec<_>>()
        };
        let cn = [norm(&[1.0, 0.0, 0.0]), norm(&[0.0, 1.0, 1.0])];
        let e2 = 2f64.exp();
        let logits: Vec<[f64; 2]> = X
            .iter()
            .map(|x| {
                let xn = norm(x);
                [e2 * dot(&xn, &cn[0]), e2 * dot(&xn, &cn[1])]
            })
            .collect();
        let ce = |row: &[f64], t: usize| {
            let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            lse - row[t]
        };
        let want: f64 = logits
            .iter()
            .zip(&Y)
            .map(|(l, &y)| ce(l, y as usize))
            .sum::<f64>()
            / 4.0;
        let got = val(&ce_loss(
            &img,
            &cls,
            &scale,
            &labels(&Y),
            CeForm::Classifier,
        ));
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // Symmetric: N×N similarities of image i with the prompt of image j's class.
        let sims: Vec<Vec<f64>> = logits
            .iter()
            .map(|l| Y.iter().map(|&yj| l[yj as usize]).collect())
            .collect();
        let i2t: f64 = (0..4).map(|i| ce(&sims[i], i)).sum::<f64>() / 4.0;
        let t2i: f64 = (0..4)
            .map(|j| ce(&(0..4).map(|i| sims[i][j]).collect::<Vec<_>>(), j))
            .sum::<f64>()
            / 4.0;
        let got = val(&ce_loss(&img, &cls, &scale, &labels(&Y), CeForm::Symmetric));
        assert!((got - (i2t + t2i) / 2.0).abs() < 1e-5);
    }

    /// One gradient step on X for `loss`, returning the new rows.
    fn step(loss: impl Fn(&Tensor, &Tensor) -> Tensor, lr: f64) -> Vec<[f64; P]> {
        let x = x_tensor(&X).set_requires_grad(true);
        let l = loss(&x, &labels(&Y));
        l.backward();
        let g = x.grad();
        assert!(
            g.abs().sum(Kind::Float).double_value(&[]) > 0.0,
            "no gradient"
        );
        let nx = (x.detach() - g * lr).to_kind(Kind::Double);
        let rows: Vec<Vec<f64>> = Vec::try_from(nx).unwrap();
        rows.iter().map(|r| [r[0], r[1], r[2]]).collect()
    }

    #[test]
    fn dm_gradient_pushes_centres_apart() {
        let after = step(|x, y| dm_loss(x, y, 0.5), 0.01);
        let (c0, c1) = (centres(&X, &Y), centres(&after, &Y));
        assert!(dot(&c1[0], &c1[1]) < dot(&c0[0], &c0[1]));
    }

    #[test]
    fn attraction_gradient_pulls_rows_to_their_centre() {
        let after = step(cdm_attraction, 0.01);
        let (c0, c1) = (centres(&X, &Y), centres(&after, &Y));
        for i in 0..X.len() {
            let k = Y[i] as usize;
            let d = |x: &[f64; P], c: &[f64; P]| (0..P).map(|j| (x[j] - c[j]).powi(2)).sum::<f64>();
            assert!(d(&after[i], &c1[k]) < d(&X[i], &c0[k]), "row {i}");
        }
    }

    #[test]
    fn repulsion_gradient_pushes_rows_from_the_other_centre() {
        let after = step(cdm_repulsion, 0.05);
        let (c0, c1) = (centres(&X, &Y), centres(&after, &Y));
        for i in 0..X.len() {
            let (own, other) = (Y[i] as usize, 1 - Y[i] as usize);
            // The logit margin of the other centre over the own centre goes down.
            let before = dot(&X[i], &c0[other]) - dot(&X[i], &c0[own]);
            let now = dot(&after[i], &c1[other]) - dot(&after[i], &c1[own]);
            assert!(now < before, "row {i}: {now} !< {before}");
        }
    }

    fn all_finite(t: &Tensor) -> bool {
        t.isfinite().all().int64_value(&[]) == 1
    }

    #[test]
    fn huge_features_and_one_class_batches_stay_finite() {
        tch::manual_seed(1);
        let cls = Tensor::randn([2, 16], (Kind::Float, Device::Cpu));
        let scale = Tensor::from(4.6f32);
        let cases = [
            (
                Tensor::randn([6, 16], (Kind::Float, Device::Cpu)) * 1e4,
                vec![0i64, 1, 0, 1, 1, 0],
            ),
            (
                Tensor::randn([4, 16], (Kind::Float, Device::Cpu)) * 1e4,
                vec![1i64; 4],
            ),
            (
                Tensor::randn([3, 16], (Kind::Float, Device::Cpu)),
                vec![0i64; 3],
            ),
        ];
        for (x, y) in cases {
            let x = x.set_requires_grad(true);
            let one_class = y.iter().all(|&v| v == y[0]);
            let t = total_loss(&x, &cls, &scale, &labels(&y), &LossConfig::default());
            for term in [&t.ce, &t.dm, &t.cdm, &t.total] {
                assert!(all_finite(term), "{term:?}");
            }
            if one_class {
                // The absent class contributes no term.
                assert_eq!(val(&t.dm), 0.0);
                assert_eq!(val(&t.cdm_rep), 0.0);
            }
            t.total.backward();
            assert!(all_finite(&x.grad()));
        }
    }

    #[test]
    fn regulariser_ramp_reaches_full_weight_at_its_fraction() {
        let cfg = LossConfig {
            lambda_dm: 2.0,
            lambda_cdm: 1.0,
            reg_warmup: 0.5,
            ..LossConfig::default()
        };
        let at = |s| cfg.at_step(s, 100);
        assert!((at(0).lambda_dm - 2.0 / 50.0).abs() < 1e-12);
        assert!((at(24).lambda_cdm - 0.5).abs() < 1e-12);
        assert_eq!(at(49).lambda_dm, 2.0);
        assert_eq!(at(99).lambda_cdm, 1.0);
        assert_eq!(at(10).ce_form, cfg.ce_form);
        let flat = LossConfig::default();
        assert_eq!(flat.at_step(0, 100), flat);
    }
}
