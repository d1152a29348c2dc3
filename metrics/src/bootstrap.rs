//! Seeded percentile-bootstrap intervals for figures without a binomial count (EER, AUC,
//! BPCER at a fixed APCER).
//!
//! Unit of resampling: the subject (person) where every sample names one — images of one person
//! are not independent, and resampling images would make the interval too narrow — else the
//! image, with lives and attacks resampled apart so that every draw keeps the set's class counts.
//! A subject draw that lacks a class (or where the figure is undefined) is discarded and counted.
//! The same seed gives the same interval on every machine (ChaCha8).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::scores::Scored;

/// What is resampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Subject,
    Image,
}

/// Bootstrap settings recorded with every interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    pub resamples: usize,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            resamples: 2000,
            seed: 0x6D6F_6165,
        }
    }
}

/// How the samples fall into resampling units.
#[derive(Debug, Clone)]
pub struct Plan {
    pub unit: Unit,
    /// Units (subjects, or images).
    pub units: usize,
    /// Subject mode: the sample indices of each subject.
    groups: Vec<Vec<usize>>,
    /// Image mode: indices of lives and of attacks.
    lives: Vec<usize>,
    attacks: Vec<usize>,
}

impl Plan {
    pub fn new(samples: &[Scored]) -> Self {
        let by_subject = !samples.is_empty() && samples.iter().all(|s| s.subject.is_some());
        if by_subject {
            let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            for (i, s) in samples.iter().enumerate() {
                groups
                    .entry(s.subject.as_deref().unwrap_or_default())
                    .or_default()
                    .push(i);
            }
            let groups: Vec<Vec<usize>> = groups.into_values().collect();
            Plan {
                unit: Unit::Subject,
                units: groups.len(),
                groups,
                lives: Vec::new(),
                attacks: Vec::new(),
            }
        } else {
            let (attacks, lives): (Vec<usize>, Vec<usize>) =
                (0..samples.len()).partition(|&i| samples[i].attack);
            Plan {
                unit: Unit::Image,
                units: samples.len(),
                groups: Vec::new(),
                lives,
                attacks,
            }
        }
    }

    /// One resample's sample indices.
    fn draw(&self, rng: &mut ChaCha8Rng, out: &mut Vec<usize>) {
        out.clear();
        match self.unit {
            Unit::Subject => {
                for _ in 0..self.groups.len() {
                    out.extend(&self.groups[rng.gen_range(0..self.groups.len())]);
                }
            }
            Unit::Image => {
                for class in [&self.lives, &self.attacks] {
                    for _ in 0..class.len() {
                        out.push(class[rng.gen_range(0..class.len())]);
                    }
                }
            }
        }
    }
}

/// A figure's bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// 2.5 % and 97.5 % percentiles of the resampled figure.
    pub ci95: [f64; 2],
    /// Resamples that gave a value.
    pub used: usize,
    /// Resamples where the figure was undefined (a class missing from a subject draw).
    pub discarded: usize,
}

/// A figure computed on one draw; `None` where it is undefined there.
pub type Figure<'a> = &'a dyn Fn(&[Scored]) -> Option<f64>;

/// The percentile interval of each figure over `settings.resamples` draws (one draw serves all
/// figures); `None` for a figure no draw gave a value for.
pub fn intervals(
    samples: &[Scored],
    plan: &Plan,
    settings: Settings,
    figures: &[Figure<'_>],
) -> Vec<Option<Interval>> {
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let (mut idx, mut draw) = (Vec::new(), Vec::new());
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); figures.len()];
    for _ in 0..settings.resamples {
        plan.draw(&mut rng, &mut idx);
        draw.clear();
        // Score and class only: the figures need nothing else, and an empty String allocates
        // nothing.
        draw.extend(
            idx.iter()
                .map(|&i| Scored::new(samples[i].score, samples[i].attack, String::new())),
        );
        for (f, v) in figures.iter().zip(&mut values) {
            if let Some(x) = f(&draw).filter(|x| x.is_finite()) {
                v.push(x);
            }
        }
    }
    values
        .into_iter()
        .map(|mut v| {
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            Some(Interval {
                ci95: [percentile(&v, 0.025), percentile(&v, 0.975)],
                used: v.len(),
                discarded: settings.resamples - v.len(),
            })
        })
        .collect()
}

/// [`intervals`] for one figure.
pub fn interval(
    samples: &[Scored],
    plan: &Plan,
    settings: Settings,
    figure: impl Fn(&[Scored]) -> Option<f64>,
) -> Option<Interval> {
    intervals(samples, plan, settings, &[&figure])
        .pop()
        .flatten()
}

/// Linear interpolation between order statistics (NumPy's default `percentile`).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rates::auc;

    fn noisy(n: usize, subjects: bool) -> Vec<Scored> {
        (0..n)
            .map(|i| {
                let attack = i % 3 != 0;
                let jitter = ((i * 7919) % 101) as f64 / 101.0;
                let mut s = Scored::new(
                    if attack {
                        0.35 + 0.6 * jitter
                    } else {
                        0.6 * jitter
                    },
                    attack,
                    if attack { "print" } else { "live" },
                );
                s.subject = subjects.then(|| format!("p{}", i / 6));
                s
            })
            .collect()
    }

    #[test]
    fn seeded_deterministic_and_brackets_the_estimate() {
        let s = noisy(300, false);
        let plan = Plan::new(&s);
        assert_eq!((plan.unit, plan.units), (Unit::Image, 300));
        let a = interval(&s, &plan, Settings::default(), auc).unwrap();
        let b = interval(&s, &plan, Settings::default(), auc).unwrap();
        assert_eq!(a, b, "same seed, same interval");
        let c = interval(
            &s,
            &plan,
            Settings {
                seed: 1,
                ..Settings::default()
            },
            auc,
        )
        .unwrap();
        assert_ne!(a.ci95, c.ci95, "another seed, other draws");
        let point = auc(&s).unwrap();
        assert!(a.ci95[0] < point && point < a.ci95[1], "{a:?} {point}");
        assert_eq!((a.used, a.discarded), (2000, 0));
    }

    #[test]
    fn subjects_are_resampled_whole_and_widen_the_interval_for_clustered_data() {
        // Each subject's 6 images are copies: 50 independent units, not 300.
        let base = noisy(50, false);
        let mut clustered = Vec::new();
        for (i, s) in base.iter().enumerate() {
            for _ in 0..6 {
                let mut c = s.clone();
                c.subject = Some(format!("p{i}"));
                clustered.push(c);
            }
        }
        let by_subject = Plan::new(&clustered);
        assert_eq!((by_subject.unit, by_subject.units), (Unit::Subject, 50));
        let w = |i: Interval| i.ci95[1] - i.ci95[0];
        let subj = interval(&clustered, &by_subject, Settings::default(), auc).unwrap();
        let mut anonymous = clustered.clone();
        anonymous[0].subject = None; // one sample without a subject: images are the unit
        let by_image = Plan::new(&anonymous);
        assert_eq!(by_image.unit, Unit::Image);
        let img = interval(&anonymous, &by_image, Settings::default(), auc).unwrap();
        assert!(w(subj) > 1.8 * w(img), "subject {subj:?} vs image {img:?}");
    }

    #[test]
    fn subject_draws_missing_a_class_are_discarded_and_counted() {
        // Two subjects, one all live, one all attack: a quarter + a quarter of draws miss a class.
        let s: Vec<Scored> = [(0.1, false, "a"), (0.2, false, "a"), (0.8, true, "b")]
            .iter()
            .map(|&(v, a, p)| Scored {
                subject: Some(p.into()),
                ..Scored::new(v, a, if a { "print" } else { "live" })
            })
            .collect();
        let i = interval(&s, &Plan::new(&s), Settings::default(), auc).unwrap();
        assert_eq!(i.used + i.discarded, 2000);
        assert!(i.discarded > 800 && i.discarded < 1200, "{i:?}");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    }
}
