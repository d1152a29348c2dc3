//! Presentation-attack-detection metrics of spec §7 (ISO/IEC 30107-3 style).
//!
//! A score is s = P(attack); a sample is predicted *attack* iff `s >= τ`. The threshold τ is the
//! equal-error point of the **dev** scores and is applied unchanged to test.
//! - APCER = attacks predicted live / attacks; BPCER = lives predicted attack / lives;
//!   ACER = (APCER + BPCER) / 2; ACC = correct / all.
//! - AUC = P(s_attack > s_live) + ½ P(s_attack = s_live) (Mann–Whitney, ties count half).
//! - Undefined values (a rate with an empty denominator, AUC/EER with one class only) are `None`,
//!   never a silent NaN.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::scores::Scored;

/// Error rates at one threshold. Rates whose denominator is empty are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rates {
    pub threshold: f64,
    pub apcer: Option<f64>,
    pub bpcer: Option<f64>,
    pub acer: Option<f64>,
    pub acc: Option<f64>,
    pub n_live: usize,
    pub n_attack: usize,
}

pub fn rates_at(samples: &[Scored], threshold: f64) -> Rates {
    let (mut n_live, mut n_attack, mut live_err, mut attack_err) = (0usize, 0usize, 0usize, 0usize);
    for s in samples {
        let predicted_attack = s.score >= threshold;
        if s.attack {
            n_attack += 1;
            attack_err += usize::from(!predicted_attack);
        } else {
            n_live += 1;
            live_err += usize::from(predicted_attack);
        }
    }
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    let apcer = ratio(attack_err, n_attack);
    let bpcer = ratio(live_err, n_live);
    Rates {
        threshold,
        apcer,
        bpcer,
        acer: apcer.zip(bpcer).map(|(a, b)| (a + b) / 2.0),
        acc: ratio(n_live + n_attack - live_err - attack_err, n_live + n_attack),
        n_live,
        n_attack,
    }
}

/// The equal-error operating point of a score set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EerPoint {
    pub threshold: f64,
    pub apcer: f64,
    pub bpcer: f64,
    /// (APCER + BPCER) / 2 at the threshold: the EER as reported in the FAS literature.
    pub eer: f64,
}

/// τ = argmin over the distinct scores of |APCER(τ) − BPCER(τ)|. Ties: the smaller
/// (APCER + BPCER)/2, then the lower threshold. `None` when either class is absent.
///
/// Error counts are compared exactly (as integers scaled by #attack·#live): in floating point
/// |1/3 − 1/2| and |2/3 − 1/2| differ in the last bit and the tie-break would follow rounding.
/// Non-finite scores must be rejected before (see [`check_finite`]); here they sort by
/// `total_cmp` and end the sweep like any other value instead of looping forever.
pub fn eer_point(samples: &[Scored]) -> Option<EerPoint> {
    let n_attack = samples.iter().filter(|s| s.attack).count();
    let n_live = samples.len() - n_attack;
    if n_attack == 0 || n_live == 0 {
        return None;
    }
    let mut sorted: Vec<&Scored> = samples.iter().collect();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    // Sweep τ upwards over distinct scores; before τ, `attacks_below`/`lives_below` have s < τ.
    let (mut attacks_below, mut lives_below) = (0usize, 0usize);
    // (|Δ|, APCER + BPCER) scaled by n_attack · n_live: exact integers.
    let mut best: Option<((u128, u128), EerPoint)> = None;
    for group in sorted.chunk_by(|a, b| a.score.total_cmp(&b.score).is_eq()) {
        let tau = group[0].score;
        let live_errors = n_live - lives_below;
        let a = attacks_below as u128 * n_live as u128;
        let b = live_errors as u128 * n_attack as u128;
        let key = (a.abs_diff(b), a + b);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            let apcer = attacks_below as f64 / n_attack as f64;
            let bpcer = live_errors as f64 / n_live as f64;
            let point = EerPoint {
                threshold: tau,
                apcer,
                bpcer,
                eer: (apcer + bpcer) / 2.0,
            };
            best = Some((key, point));
        }
        let attacks = group.iter().filter(|s| s.attack).count();
        attacks_below += attacks;
        lives_below += group.len() - attacks;
    }
    best.map(|(_, p)| p)
}

/// The first non-finite score, as a named error: a NaN would make every threshold comparison
/// false (and so rank arbitrarily), so metrics refuse such sets instead of reporting on them.
pub fn check_finite(samples: &[Scored], set: &'static str) -> Result<(), ReportError> {
    match samples.iter().position(|s| !s.score.is_finite()) {
        Some(index) => Err(ReportError::NonFinite {
            set,
            index,
            score: samples[index].score,
        }),
        None => Ok(()),
    }
}

/// Area under the ROC (attack positive), ties counted half; `None` with one class only.
pub fn auc(samples: &[Scored]) -> Option<f64> {
    let mut sorted: Vec<&Scored> = samples.iter().collect();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    let n_attack = sorted.iter().filter(|s| s.attack).count();
    let n_live = sorted.len() - n_attack;
    if n_attack == 0 || n_live == 0 {
        return None;
    }
    // Σ over attacks of (#lives strictly below + ½ #lives tied), group by equal score.
    let (mut lives_below, mut sum) = (0usize, 0f64);
    for group in sorted.chunk_by(|a, b| a.score.total_cmp(&b.score).is_eq()) {
        let attacks = group.iter().filter(|s| s.attack).count();
        let lives = group.len() - attacks;
        sum += attacks as f64 * (lives_below as f64 + 0.5 * lives as f64);
        lives_below += lives;
    }
    Some(sum / (n_attack as f64 * n_live as f64))
}

/// ROC points (BPCER = false-positive rate, 1 − APCER = true-positive rate) for thresholds from
/// above the highest score down to the lowest; starts at (0,0) and ends at (1,1).
pub fn roc_points(samples: &[Scored]) -> Vec<(f64, f64)> {
    let n_attack = samples.iter().filter(|s| s.attack).count().max(1) as f64;
    let n_live = samples.iter().filter(|s| !s.attack).count().max(1) as f64;
    let mut sorted: Vec<&Scored> = samples.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut pts = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    for group in sorted.chunk_by(|a, b| a.score.total_cmp(&b.score).is_eq()) {
        let attacks = group.iter().filter(|s| s.attack).count();
        tp += attacks;
        fp += group.len() - attacks;
        pts.push((fp as f64 / n_live, tp as f64 / n_attack));
    }
    pts
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeRate {
    pub n: usize,
    pub apcer: f64,
}

/// APCER of each attack type present in `samples` at τ (a type absent from the set simply has no
/// entry), and the worst type. Lives are not a type here.
pub fn per_type_apcer(
    samples: &[Scored],
    threshold: f64,
) -> (BTreeMap<String, TypeRate>, Option<(String, f64)>) {
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.attack) {
        let e = counts.entry(s.attack_type.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(s.score < threshold);
    }
    let rates: BTreeMap<String, TypeRate> = counts
        .into_iter()
        .map(|(k, (n, missed))| {
            (
                k,
                TypeRate {
                    n,
                    apcer: missed as f64 / n as f64,
                },
            )
        })
        .collect();
    // Worst = highest APCER; ties → the first name in sorted order.
    let worst = rates
        .iter()
        .fold(None::<(&String, f64)>, |acc, (k, r)| match acc {
            Some((_, a)) if a >= r.apcer => acc,
            _ => Some((k, r.apcer)),
        })
        .map(|(k, a)| (k.clone(), a));
    (rates, worst)
}

/// Mean and population standard deviation (spec §7: P2 = mean ± std over P2.1 and P2.2).
/// `None` for an empty slice.
pub fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

/// Where τ came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdSource {
    /// The dev set's EER point (the protocol).
    Dev,
    /// The test set's own EER point (no dev scores given: optimistic, labelled as such).
    Test,
    /// A threshold given by the caller.
    Fixed,
}

/// Everything spec §7 reports for one test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub threshold_source: ThresholdSource,
    pub test: Rates,
    pub auc: Option<f64>,
    /// EER of the test scores' own equal-error point.
    pub eer: Option<f64>,
    pub per_type: BTreeMap<String, TypeRate>,
    pub worst_type: Option<(String, f64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the {0} set needs both live and attack scores to choose an EER threshold")]
    NoThreshold(&'static str),
    #[error(
        "the {set} set's score #{index} is {score}, not a finite number: the model produced \
         a non-finite output (check the checkpoint and the input images); no metric is computed"
    )]
    NonFinite {
        set: &'static str,
        index: usize,
        score: f64,
    },
}

/// τ from `dev` (or from `test` itself when `dev` is `None`), then all metrics on `test`.
pub fn evaluate(dev: Option<&[Scored]>, test: &[Scored]) -> Result<Report, ReportError> {
    if let Some(d) = dev {
        check_finite(d, "dev")?;
    }
    check_finite(test, "test")?;
    let (threshold, source) = match dev {
        Some(d) => (
            eer_point(d)
                .ok_or(ReportError::NoThreshold("dev"))?
                .threshold,
            ThresholdSource::Dev,
        ),
        None => (
            eer_point(test)
                .ok_or(ReportError::NoThreshold("test"))?
                .threshold,
            ThresholdSource::Test,
        ),
    };
    Ok(evaluate_at(test, threshold, source))
}

pub fn evaluate_at(test: &[Scored], threshold: f64, source: ThresholdSource) -> Report {
    let (per_type, worst_type) = per_type_apcer(test, threshold);
    Report {
        threshold_source: source,
        test: rates_at(test, threshold),
        auc: auc(test),
        eer: eer_point(test).map(|p| p.eer),
        per_type,
        worst_type,
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:.2}%", 100.0 * v))
}

/// A plain-text table of a report.
pub fn format_report(r: &Report) -> String {
    let src = match r.threshold_source {
        ThresholdSource::Dev => "dev EER",
        ThresholdSource::Test => "test's own EER (no dev set given)",
        ThresholdSource::Fixed => "fixed",
    };
    let mut s = format!(
        "threshold τ = {:.6} ({src}); {} live, {} attack\n",
        r.test.threshold, r.test.n_live, r.test.n_attack
    );
    s += &format!(
        "{:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n",
        "", "APCER", "BPCER", "ACER", "ACC", "AUC", "EER"
    );
    s += &format!(
        "{:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}\n",
        "test",
        pct(r.test.apcer),
        pct(r.test.bpcer),
        pct(r.test.acer),
        pct(r.test.acc),
        pct(r.auc),
        pct(r.eer)
    );
    if !r.per_type.is_empty() {
        s += "APCER per attack type:\n";
        for (k, t) in &r.per_type {
            s += &format!("  {k:<20}{:>10}  (n = {})\n", pct(Some(t.apcer)), t.n);
        }
        if let Some((k, a)) = &r.worst_type {
            s += &format!("  worst: {k} {}\n", pct(Some(*a)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scores::type_name;

    fn set(items: &[(f64, u8)]) -> Vec<Scored> {
        items
            .iter()
            .map(|&(score, l)| Scored::new(score, l != 0, type_name(l)))
            .collect()
    }

    #[test]
    fn perfect_separation() {
        let s = set(&[(0.1, 0), (0.2, 0), (0.8, 1), (0.9, 2)]);
        let p = eer_point(&s).unwrap();
        // τ = 0.8: no attack below, no live at/above → both rates 0.
        assert_eq!((p.threshold, p.apcer, p.bpcer, p.eer), (0.8, 0.0, 0.0, 0.0));
        assert_eq!(auc(&s), Some(1.0));
        let r = rates_at(&s, p.threshold);
        assert_eq!((r.acer, r.acc), (Some(0.0), Some(1.0)));
    }

    #[test]
    fn ties_count_half_and_score_at_threshold_is_attack() {
        // live 0.5, 0.5, 0.2; attack 0.5, 0.9.
        let s = set(&[(0.5, 0), (0.5, 0), (0.2, 0), (0.5, 1), (0.9, 3)]);
        // Pairs (attack, live): 0.5 vs {0.5,0.5,0.2} = ½+½+1 = 2; 0.9 vs all = 3 → 5/6.
        assert!((auc(&s).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // At τ = 0.5 every 0.5 is predicted attack: APCER 0/2, BPCER 2/3.
        let r = rates_at(&s, 0.5);
        assert_eq!(r.apcer, Some(0.0));
        assert!((r.bpcer.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.acc.unwrap() - 3.0 / 5.0).abs() < 1e-12);
        // Candidates: 0.2 → (0, 1), 0.5 → (0, 2/3), 0.9 → (1/2, 0): |Δ| 1, 2/3, 1/2 → τ = 0.9.
        let p = eer_point(&s).unwrap();
        assert_eq!((p.threshold, p.apcer, p.bpcer), (0.9, 0.5, 0.0));
        assert_eq!(p.eer, 0.25);
    }

    #[test]
    fn eer_tie_break_prefers_lower_mean_error_then_lower_threshold() {
        // lives 0.1 0.3, attacks 0.2 0.4: τ=0.1 (0,1); 0.2 (0,½); 0.3 (½,½); 0.4 (½,0).
        // |Δ| = 1, ½, 0, ½ → τ = 0.3 with EER ½.
        let s = set(&[(0.1, 0), (0.3, 0), (0.2, 1), (0.4, 1)]);
        let p = eer_point(&s).unwrap();
        assert_eq!((p.threshold, p.eer), (0.3, 0.5));
        // Equal |Δ|: live 0.4, attacks 0.2 0.6: τ=0.2 (0,1); τ=0.4 (½,1) Δ −½, mean ¾;
        // τ=0.6 (½,0) Δ +½, mean ¼ → the lower mean error wins: τ = 0.6.
        let s = set(&[(0.4, 0), (0.2, 1), (0.6, 1)]);
        let p = eer_point(&s).unwrap();
        assert_eq!((p.threshold, p.eer), (0.6, 0.25));
        // Fully inverted scores: live 0.6, attack 0.4: τ=0.4 (0,1); τ=0.6 (1,1) |Δ|=0 → EER 1.
        let s = set(&[(0.6, 0), (0.4, 1)]);
        let p = eer_point(&s).unwrap();
        assert_eq!((p.threshold, p.eer), (0.6, 1.0));
        assert_eq!(auc(&s), Some(0.0));
    }

    #[test]
    fn eer_tie_break_is_exact_not_float_rounding() {
        // Issue 12 §4: τ=0.65 gives (⅓, ½) and τ=0.75 (⅔, ½): |Δ| = ⅙ both, exactly. In f64
        // |⅓−½| is one ulp above |⅔−½|, which picked τ = 0.75 (EER 58.3 %); the documented rule
        // (the smaller mean error) gives τ = 0.65, EER 5/12 = 41.7 %.
        let s = set(&[(0.2, 0), (0.65, 1), (0.4, 1), (0.9, 1), (0.75, 0)]);
        let p = eer_point(&s).unwrap();
        assert_eq!(p.threshold, 0.65);
        assert!((p.eer - 5.0 / 12.0).abs() < 1e-12, "{p:?}");
        let r = evaluate(Some(&s), &s).unwrap();
        assert_eq!(r.test.threshold, 0.65);
        assert!((r.eer.unwrap() - 5.0 / 12.0).abs() < 1e-12);
        assert!((r.test.acer.unwrap() - 5.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn non_finite_scores_are_a_named_error_and_never_hang() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let s = set(&[(0.1, 0), (bad, 1), (0.9, 1), (bad, 0)]);
            let e = evaluate(None, &s).unwrap_err().to_string();
            assert!(e.contains("not a finite number") && e.contains("#1"), "{e}");
            let good = set(&[(0.1, 0), (0.9, 1)]);
            let e = evaluate(Some(&s), &good).unwrap_err().to_string();
            assert!(e.contains("dev set"), "{e}");
            // The low-level functions terminate on them (they used to loop forever on NaN).
            assert!(eer_point(&s).is_some());
            assert!(auc(&s).is_some());
            assert_eq!(roc_points(&s).last(), Some(&(1.0, 1.0)));
        }
    }

    #[test]
    fn one_class_only_is_undefined_not_nan() {
        let lives = set(&[(0.1, 0), (0.7, 0)]);
        assert_eq!(auc(&lives), None);
        assert_eq!(eer_point(&lives), None);
        let r = rates_at(&lives, 0.5);
        assert_eq!((r.apcer, r.acer), (None, None));
        assert_eq!(r.bpcer, Some(0.5));
        assert_eq!(r.acc, Some(0.5));
        assert!(matches!(
            evaluate(None, &lives),
            Err(ReportError::NoThreshold("test"))
        ));
        // A dev set with both classes still gives a threshold for a one-class test set.
        let dev = set(&[(0.2, 0), (0.8, 1)]);
        let rep = evaluate(Some(&dev), &lives).unwrap();
        assert_eq!(rep.test.threshold, 0.8);
        assert_eq!(rep.test.bpcer, Some(0.0));
        assert!(rep.per_type.is_empty() && rep.worst_type.is_none());
    }

    #[test]
    fn per_type_with_absent_type() {
        // No adversarial (2) samples in this test set: that type has no entry.
        let s = set(&[(0.1, 0), (0.9, 1), (0.4, 1), (0.3, 3), (0.95, 3), (0.96, 3)]);
        let (rates, worst) = per_type_apcer(&s, 0.5);
        assert_eq!(
            rates.keys().collect::<Vec<_>>(),
            vec!["digital", "physical"]
        );
        assert_eq!(rates["physical"], TypeRate { n: 2, apcer: 0.5 });
        assert!((rates["digital"].apcer - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(worst, Some(("physical".to_string(), 0.5)));
    }

    #[test]
    fn dev_threshold_applied_to_test() {
        let dev = set(&[(0.1, 0), (0.3, 0), (0.6, 1), (0.7, 2)]);
        let test = set(&[(0.2, 0), (0.65, 0), (0.5, 1), (0.9, 3)]);
        let rep = evaluate(Some(&dev), &test).unwrap();
        // Dev τ = 0.6; test: live 0.65 → attack (BPCER ½), attack 0.5 → live (APCER ½).
        assert_eq!(rep.threshold_source, ThresholdSource::Dev);
        assert_eq!(rep.test.threshold, 0.6);
        assert_eq!((rep.test.apcer, rep.test.bpcer), (Some(0.5), Some(0.5)));
        assert_eq!(rep.test.acer, Some(0.5));
        // AUC: attack 0.5 beats 0.2 only (1 of 2), 0.9 beats both → 3/4.
        assert_eq!(rep.auc, Some(0.75));
        assert!(format_report(&rep).contains("50.00%"));
    }

    #[test]
    fn mean_and_population_std() {
        let (m, s) = mean_std(&[0.1, 0.3]).unwrap();
        assert!((m - 0.2).abs() < 1e-12 && (s - 0.1).abs() < 1e-12);
        assert_eq!(mean_std(&[]), None);
    }

    #[test]
    fn roc_goes_from_origin_to_corner() {
        let s = set(&[(0.1, 0), (0.5, 0), (0.5, 1), (0.9, 1)]);
        assert_eq!(
            roc_points(&s),
            vec![(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
    }
}
