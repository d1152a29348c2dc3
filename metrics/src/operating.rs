//! Operating points fixed by one error rate (ISO/IEC 30107-3): BPCER at a fixed APCER
//! (BPCER10/20/100 at APCER 10/5/1 %) and APCER at a fixed BPCER.
//!
//! A sample is predicted attack iff `s >= τ`. For a target APCER t over n attacks at most
//! k = ⌊t·n⌋ attacks may pass; τ is the (k+1)-th smallest attack score: the highest threshold
//! whose APCER is ≤ t, so the one with the fewest lives rejected. For a target BPCER t over n
//! lives at most k = ⌊t·n⌋ lives may be rejected; τ is just above the (n−k)-th smallest live
//! score: the lowest threshold whose BPCER is ≤ t. When k = 0 the set cannot show the target
//! (no error allowed means the target is below one sample's weight): the figure is refused with
//! the count that could resolve it, ⌈1/t⌉.

use serde::Serialize;

use crate::interval::Proportion;
use crate::scores::Scored;

/// A figure a set is too small for: `have` samples of `what`, `needed` to resolve it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unresolved {
    pub what: &'static str,
    pub have: usize,
    pub needed: usize,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not resolvable: {} {} given, at least {} needed",
            self.have, self.what, self.needed
        )
    }
}

/// Samples needed for `target` to allow one error: ⌈1/t⌉ (robust to 1/0.05 = 19.999…).
pub fn needed_for(target: f64) -> usize {
    (1.0 / target - 1e-9).ceil() as usize
}

/// ⌊t·n⌋, robust to 0.01·300 = 2.9999999999999996.
fn allowed(target: f64, n: usize) -> usize {
    ((target * n as f64) + 1e-9).floor() as usize
}

/// One operating point: the threshold and both error rates there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub threshold: f64,
    pub apcer: Proportion,
    pub bpcer: Proportion,
}

fn point(samples: &[Scored], threshold: f64) -> Option<OperatingPoint> {
    let (mut n_a, mut n_l, mut missed, mut rejected) = (0, 0, 0, 0);
    for s in samples {
        if s.attack {
            n_a += 1;
            missed += usize::from(s.score < threshold);
        } else {
            n_l += 1;
            rejected += usize::from(s.score >= threshold);
        }
    }
    Some(OperatingPoint {
        threshold,
        apcer: Proportion::of(missed, n_a)?,
        bpcer: Proportion::of(rejected, n_l)?,
    })
}

fn scores_of(samples: &[Scored], attack: bool) -> Vec<f64> {
    let mut v: Vec<f64> = samples
        .iter()
        .filter(|s| s.attack == attack)
        .map(|s| s.score)
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// BPCER at the highest threshold whose APCER is ≤ `target`. `Err` when the attacks are too few
/// (or either class is absent).
pub fn bpcer_at_apcer(samples: &[Scored], target: f64) -> Result<OperatingPoint, Unresolved> {
    let attacks = scores_of(samples, true);
    let n_live = samples.len() - attacks.len();
    let k = allowed(target, attacks.len());
    if k == 0 {
        return Err(Unresolved {
            what: "attack presentations",
            have: attacks.len(),
            needed: needed_for(target),
        });
    }
    let threshold = if k >= attacks.len() {
        f64::INFINITY
    } else {
        attacks[k]
    };
    point(samples, threshold).ok_or(Unresolved {
        what: "bona fide presentations",
        have: n_live,
        needed: 1,
    })
}

/// APCER at the lowest threshold whose BPCER is ≤ `target`.
pub fn apcer_at_bpcer(samples: &[Scored], target: f64) -> Result<OperatingPoint, Unresolved> {
    let lives = scores_of(samples, false);
    let n_attack = samples.len() - lives.len();
    let k = allowed(target, lives.len());
    if k == 0 {
        return Err(Unresolved {
            what: "bona fide presentations",
            have: lives.len(),
            needed: needed_for(target),
        });
    }
    let threshold = if k >= lives.len() {
        f64::NEG_INFINITY
    } else {
        next_up(lives[lives.len() - 1 - k])
    };
    point(samples, threshold).ok_or(Unresolved {
        what: "attack presentations",
        have: n_attack,
        needed: 1,
    })
}

/// The smallest f64 above a finite `x`.
pub fn next_up(x: f64) -> f64 {
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(lives: &[f64], attacks: &[f64]) -> Vec<Scored> {
        lives
            .iter()
            .map(|&s| Scored::new(s, false, "live"))
            .chain(attacks.iter().map(|&s| Scored::new(s, true, "print")))
            .collect()
    }

    #[test]
    fn bpcer20_is_the_highest_threshold_meeting_the_apcer() {
        // 20 attacks 0.05..1.0: APCER 5 % lets the lowest one pass; τ = 0.10.
        let attacks: Vec<f64> = (1..=20).map(|i| i as f64 / 20.0).collect();
        let lives = [0.02, 0.07, 0.09, 0.11, 0.5];
        let p = bpcer_at_apcer(&set(&lives, &attacks), 0.05).unwrap();
        assert_eq!(p.threshold, 0.10);
        assert_eq!((p.apcer.count, p.apcer.n), (1, 20));
        assert_eq!((p.bpcer.count, p.bpcer.n), (2, 5));
        // Ties at the k-th attack: all tied attacks pass only if allowed, so τ stays at the tie.
        let p = bpcer_at_apcer(&set(&lives, &[0.3, 0.3, 0.3, 0.9]), 0.25).unwrap();
        assert_eq!((p.threshold, p.apcer.count), (0.3, 0));
    }

    #[test]
    fn apcer_at_bpcer_is_the_lowest_threshold_meeting_the_bpcer() {
        let lives: Vec<f64> = (0..100).map(|i| (i as f64 + 0.5) / 100.0).collect();
        let attacks = [0.2, 0.985, 0.99, 0.999];
        let p = apcer_at_bpcer(&set(&lives, &attacks), 0.01).unwrap();
        assert_eq!(p.threshold, next_up(0.985));
        assert_eq!((p.bpcer.count, p.apcer.count), (1, 2));
    }

    #[test]
    fn too_few_samples_are_refused_with_the_count_needed() {
        let attacks = vec![0.9; 50];
        let e = bpcer_at_apcer(&set(&[0.1], &attacks), 0.01).unwrap_err();
        assert_eq!((e.have, e.needed), (50, 100));
        assert!(e.to_string().contains("at least 100"), "{e}");
        let e = apcer_at_bpcer(&set(&[0.1; 19], &attacks), 0.05).unwrap_err();
        assert_eq!((e.have, e.needed), (19, 20));
        assert!(apcer_at_bpcer(&set(&[0.1; 20], &attacks), 0.05).is_ok());
        // The other class absent: refused, never a rate of nothing.
        assert!(bpcer_at_apcer(&set(&[], &attacks), 0.1).is_err());
        assert_eq!(needed_for(0.05), 20);
        assert_eq!(needed_for(0.01), 100);
    }
}
