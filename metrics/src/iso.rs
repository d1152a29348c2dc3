//! The buyer's figures (ISO/IEC 30107-3, spec §7) of one scored set at a threshold fixed before
//! the test: every proportion with its count and a two-sided 95 % Clopper–Pearson interval; EER,
//! AUC and BPCER at a fixed APCER with a seeded bootstrap interval; figures the set is too small
//! for refused with the count they need; ACER kept apart as the literature's figure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bootstrap::{self, Interval, Plan, Settings, Unit};
use crate::interval::Proportion;
use crate::operating::{apcer_at_bpcer, bpcer_at_apcer, OperatingPoint, Unresolved};
use crate::rates::{auc, check_finite, eer_point, ReportError};
use crate::scores::Scored;

/// APCER targets of BPCER10/20/100.
pub const APCER_TARGETS: [(&str, f64); 3] =
    [("BPCER10", 0.10), ("BPCER20", 0.05), ("BPCER100", 0.01)];
/// BPCER targets for "APCER at BPCER".
pub const BPCER_TARGETS: [(&str, f64); 2] = [("APCER@BPCER1%", 0.01), ("APCER@BPCER5%", 0.05)];

/// A figure fixed by one error rate: resolved, or refused with the count it needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtTarget {
    pub name: String,
    pub target: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<OperatingPoint>,
    /// Bootstrap interval of the figure (BPCER for BPCER@APCER, APCER for APCER@BPCER).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<Interval>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<Unresolved>,
}

/// A score-level figure with its bootstrap interval and the counts behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub n_live: usize,
    pub n_attack: usize,
    pub bootstrap: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Species {
    pub name: String,
    pub apcer: Proportion,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapInfo {
    pub unit: Unit,
    pub units: usize,
    pub resamples: usize,
    pub seed: u64,
}

/// The literature's ACER, labelled so that nobody reads it as a 30107-3 figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiteratureAcer {
    pub value: f64,
    pub note: &'static str,
}

const ACER_NOTE: &str = "(APCER + BPCER) / 2 as in the face anti-spoofing literature; not an \
                         ISO/IEC 30107-3 metric";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IsoFigures {
    pub threshold: f64,
    pub n_live: usize,
    pub n_attack: usize,
    /// All attacks together at τ.
    pub apcer: Option<Proportion>,
    pub bpcer: Option<Proportion>,
    pub apcer_per_species: BTreeMap<String, Proportion>,
    pub worst_species: Option<Species>,
    pub bpcer_at_apcer: Vec<AtTarget>,
    pub apcer_at_bpcer: Vec<AtTarget>,
    pub eer: Option<Estimate>,
    pub auc: Option<Estimate>,
    pub acer_literature: Option<LiteratureAcer>,
    pub bootstrap: BootstrapInfo,
}

/// Every figure of `samples` at `threshold`. A non-finite score is an error naming it.
pub fn figures(
    samples: &[Scored],
    threshold: f64,
    settings: Settings,
) -> Result<IsoFigures, ReportError> {
    check_finite(samples, "test")?;
    let n_attack = samples.iter().filter(|s| s.attack).count();
    let n_live = samples.len() - n_attack;
    let missed = samples
        .iter()
        .filter(|s| s.attack && s.score < threshold)
        .count();
    let rejected = samples
        .iter()
        .filter(|s| !s.attack && s.score >= threshold)
        .count();
    let apcer = Proportion::of(missed, n_attack);
    let bpcer = Proportion::of(rejected, n_live);

    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.attack) {
        let e = counts.entry(s.attack_type.clone()).or_default();
        e.0 += usize::from(s.score < threshold);
        e.1 += 1;
    }
    let apcer_per_species: BTreeMap<String, Proportion> = counts
        .into_iter()
        .filter_map(|(k, (x, n))| Some((k, Proportion::of(x, n)?)))
        .collect();
    // Highest APCER; a tie goes to the species with the higher upper limit (fewer samples),
    // then to the first name.
    let worst_species = apcer_per_species
        .iter()
        .fold(None::<(&String, &Proportion)>, |best, (k, p)| match best {
            Some((_, b)) if (b.value, b.ci95[1]) >= (p.value, p.ci95[1]) => best,
            _ => Some((k, p)),
        })
        .map(|(k, p)| Species {
            name: k.clone(),
            apcer: *p,
        });

    let plan = Plan::new(samples);
    let at =
        |name: &str, target: f64, f: fn(&[Scored], f64) -> Result<OperatingPoint, Unresolved>| {
            match f(samples, target) {
                Ok(p) => AtTarget {
                    name: name.into(),
                    target,
                    point: Some(p),
                    bootstrap: None,
                    unresolved: None,
                },
                Err(u) => AtTarget {
                    name: name.into(),
                    target,
                    point: None,
                    bootstrap: None,
                    unresolved: Some(u),
                },
            }
        };
    let mut bpcer_at: Vec<AtTarget> = APCER_TARGETS
        .iter()
        .map(|&(n, t)| at(n, t, bpcer_at_apcer))
        .collect();
    let apcer_at: Vec<AtTarget> = BPCER_TARGETS
        .iter()
        .map(|&(n, t)| at(n, t, apcer_at_bpcer))
        .collect();

    // One set of draws for every bootstrapped figure.
    let eer_of = |d: &[Scored]| eer_point(d).map(|p| p.eer);
    let bpcer_of = |t: f64| move |d: &[Scored]| bpcer_at_apcer(d, t).ok().map(|p| p.bpcer.value);
    let per_target: Vec<_> = bpcer_at.iter().map(|a| bpcer_of(a.target)).collect();
    let mut figs: Vec<bootstrap::Figure<'_>> = vec![&eer_of, &auc];
    figs.extend(per_target.iter().map(|f| f as bootstrap::Figure<'_>));
    let both = n_live > 0 && n_attack > 0;
    let mut ci = if both {
        bootstrap::intervals(samples, &plan, settings, &figs)
    } else {
        vec![None; figs.len()]
    }
    .into_iter();
    let (eer_ci, auc_ci) = (ci.next().flatten(), ci.next().flatten());
    for (a, c) in bpcer_at.iter_mut().zip(ci) {
        if a.point.is_some() {
            a.bootstrap = c;
        }
    }
    let estimate = |value: Option<f64>, bootstrap| {
        value.map(|value| Estimate {
            value,
            n_live,
            n_attack,
            bootstrap,
        })
    };
    Ok(IsoFigures {
        threshold,
        n_live,
        n_attack,
        apcer,
        bpcer,
        apcer_per_species,
        worst_species,
        bpcer_at_apcer: bpcer_at,
        apcer_at_bpcer: apcer_at,
        eer: estimate(eer_of(samples), eer_ci),
        auc: estimate(auc(samples), auc_ci),
        acer_literature: apcer.zip(bpcer).map(|(a, b)| LiteratureAcer {
            value: (a.value + b.value) / 2.0,
            note: ACER_NOTE,
        }),
        bootstrap: BootstrapInfo {
            unit: plan.unit,
            units: plan.units,
            resamples: settings.resamples,
            seed: settings.seed,
        },
    })
}

fn pct(p: f64) -> String {
    format!("{:.2} %", 100.0 * p)
}

fn with_ci(v: f64, ci: [f64; 2]) -> String {
    format!("{} [{}, {}]", pct(v), pct(ci[0]), pct(ci[1]))
}

/// The species table: APCER per species at τ with interval and count, the worst marked.
pub fn format_species(f: &IsoFigures) -> String {
    let mut s = format!(
        "APCER per attack species at τ = {} (95 % Clopper–Pearson):\n",
        f.threshold
    );
    for (k, p) in &f.apcer_per_species {
        let worst = f.worst_species.as_ref().is_some_and(|w| &w.name == k);
        s += &format!(
            "  {k:<20}{:>32}  {} of {}{}\n",
            with_ci(p.value, p.ci95),
            p.count,
            p.n,
            if worst { "  ← worst" } else { "" }
        );
    }
    s
}

/// A plain-text table of every figure.
pub fn format_figures(f: &IsoFigures) -> String {
    let mut s = String::from("ISO/IEC 30107-3 figures (95 % intervals; counts behind each):\n");
    let prop = |name: &str, p: &Option<Proportion>| match p {
        Some(p) => format!(
            "  {name:<20}{:>32}  {} of {}\n",
            with_ci(p.value, p.ci95),
            p.count,
            p.n
        ),
        None => format!("  {name:<20}{:>32}\n", "no samples"),
    };
    s += &prop("APCER (all)", &f.apcer);
    s += &prop("BPCER", &f.bpcer);
    s += &format_species(f);
    for a in f.bpcer_at_apcer.iter().chain(&f.apcer_at_bpcer) {
        s += &match (&a.point, &a.unresolved) {
            (Some(p), _) => {
                let (v, ci) = if a.name.starts_with("BPCER") {
                    (p.bpcer, a.bootstrap.map(|b| b.ci95))
                } else {
                    (p.apcer, None)
                };
                let ci = ci.unwrap_or(v.ci95);
                format!(
                    "  {:<20}{:>32}  {} of {} at τ = {:.6}\n",
                    a.name,
                    with_ci(v.value, ci),
                    v.count,
                    v.n,
                    p.threshold
                )
            }
            (None, Some(u)) => format!("  {:<20}{u}\n", a.name),
            (None, None) => String::new(),
        };
    }
    for (name, e) in [("EER", &f.eer), ("AUC", &f.auc)] {
        s += &match e {
            Some(e) => format!(
                "  {name:<20}{:>32}  {} live, {} attack (bootstrap)\n",
                match e.bootstrap {
                    Some(b) => with_ci(e.value, b.ci95),
                    None => pct(e.value),
                },
                e.n_live,
                e.n_attack
            ),
            None => format!("  {name:<20}{:>32}\n", "needs both classes"),
        };
    }
    if let Some(a) = &f.acer_literature {
        s += &format!("  {:<20}{:>32}  ({})\n", "ACER", pct(a.value), a.note);
    }
    s += &format!(
        "  bootstrap: {} resamples of {} {}s, seed {}\n",
        f.bootstrap.resamples,
        f.bootstrap.units,
        match f.bootstrap.unit {
            Unit::Subject => "subject",
            Unit::Image => "image",
        },
        f.bootstrap.seed
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_carry_counts_and_refuse_what_the_set_cannot_resolve() {
        // 10 lives, 30 print (2 missed at 0.5), 20 replay (none missed).
        let mut s: Vec<Scored> = (0..10)
            .map(|i| Scored::new(0.04 * i as f64, false, "live"))
            .collect();
        s.extend((0..30).map(|i| Scored::new(if i < 2 { 0.3 } else { 0.9 }, true, "print")));
        s.extend((0..20).map(|_| Scored::new(0.95, true, "replay")));
        let f = figures(&s, 0.5, Settings::default()).unwrap();
        let print = f.apcer_per_species["print"];
        assert_eq!((print.count, print.n), (2, 30));
        let replay = f.apcer_per_species["replay"];
        assert_eq!((replay.count, replay.value), (0, 0.0));
        assert!(replay.ci95[1] > 0.1, "zero errors, upper limit still > 0");
        assert_eq!(f.worst_species.as_ref().unwrap().name, "print");
        // 50 attacks: APCER 10 % and 5 % resolvable, 1 % not (100 needed).
        let names: Vec<_> = f
            .bpcer_at_apcer
            .iter()
            .map(|a| (a.name.as_str(), a.point.is_some()))
            .collect();
        assert_eq!(
            names,
            [("BPCER10", true), ("BPCER20", true), ("BPCER100", false)]
        );
        let u = f.bpcer_at_apcer[2].unresolved.as_ref().unwrap();
        assert_eq!((u.have, u.needed), (50, 100));
        // 10 lives: BPCER 1 % and 5 % both need more lives.
        assert!(f.apcer_at_bpcer.iter().all(|a| a.unresolved.is_some()));
        let text = format_figures(&f);
        assert!(text.contains("at least 100 needed"), "{text}");
        assert!(!text.contains("BPCER100        0.00"), "{text}");
        assert!(text.contains("not an ISO/IEC 30107-3 metric"), "{text}");
    }

    #[test]
    fn a_nan_score_is_a_named_error() {
        let s = vec![
            Scored::new(0.1, false, "live"),
            Scored::new(f64::NAN, true, "print"),
        ];
        let e = figures(&s, 0.5, Settings::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a finite number") && e.contains("#1"), "{e}");
    }
}
