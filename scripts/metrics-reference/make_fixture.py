#!/usr/bin/env python3
"""Writes score files and the figures an independent implementation (scikit-learn, SciPy,
statsmodels) computes on them; metrics/tests/reference.rs compares moae-metrics against them.

Run (not needed by the test command; the outputs are committed):
  python3 -m venv .venv-metrics-ref
  .venv-metrics-ref/bin/pip install -r scripts/metrics-reference/requirements.txt
  .venv-metrics-ref/bin/python scripts/metrics-reference/make_fixture.py

Definitions (spec section 7): score = P(attack), attack iff score >= tau. APCER = attacks below
tau / attacks, BPCER = lives at or above tau / lives. BPCER at APCER t: the lowest BPCER among
the ROC points whose APCER <= t; APCER at BPCER t: the lowest APCER among points whose
BPCER <= t. A target t with floor(t * n) = 0 (n attacks, resp. lives) cannot be resolved and
needs ceil(1 / t). EER: the ROC point minimising |APCER - BPCER| (ties: smaller APCER + BPCER,
then lower threshold), reported as (APCER + BPCER) / 2. AUC: roc_auc_score (ties half).
Intervals: two-sided 95 % Clopper-Pearson (statsmodels, method="beta"); bootstrap: SciPy's
percentile bootstrap with lives and attacks resampled apart.
"""

import json
import math
import pathlib
from fractions import Fraction

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy.stats import bootstrap
from sklearn.metrics import roc_auc_score, roc_curve
from statsmodels.stats.proportion import proportion_confint

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "metrics" / "tests" / "fixtures"
APCER_TARGETS = [("BPCER10", 0.10), ("BPCER20", 0.05), ("BPCER100", 0.01)]
BPCER_TARGETS = [("APCER@BPCER1%", 0.01), ("APCER@BPCER5%", 0.05)]


def cp(x, n):
    lo, hi = proportion_confint(x, n, alpha=0.05, method="beta")
    return [float(lo), float(hi)]


def prop(x, n):
    return {"count": int(x), "n": int(n), "value": x / n, "ci95": cp(x, n)}


def roc(y, s):
    """ROC points over every distinct score (no point dropped)."""
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, thr


def needed(t):
    return math.ceil(1.0 / t - 1e-9)


def allowed(t, n):
    return math.floor(t * n + 1e-9)


def bpcer_at_apcer(y, s, t):
    n_a = int(y.sum())
    if allowed(t, n_a) == 0:
        return None
    fpr, tpr, _ = roc(y, s)
    ok = (1 - tpr) <= t + 1e-12
    return float(fpr[ok].min())


def apcer_at_bpcer(y, s, t):
    n_l = int((1 - y).sum())
    if allowed(t, n_l) == 0:
        return None
    fpr, tpr, _ = roc(y, s)
    ok = fpr <= t + 1e-12
    return float(1 - tpr[ok].max())


def eer(y, s):
    n_a, n_l = int(y.sum()), int((1 - y).sum())
    # Exact counts at every distinct score as threshold (attack iff s >= tau).
    best = None
    for tau in np.unique(s):
        a = Fraction(int(((s < tau) & (y == 1)).sum()), n_a)
        b = Fraction(int(((s >= tau) & (y == 0)).sum()), n_l)
        key = (abs(a - b), a + b, tau)
        if best is None or key < best[0]:
            best = (key, float((a + b) / 2))
    return best[1]


def auc_stat(live, attack):
    y = np.r_[np.zeros(len(live)), np.ones(len(attack))]
    return roc_auc_score(y, np.r_[live, attack])


def eer_stat(live, attack):
    y = np.r_[np.zeros(len(live)), np.ones(len(attack))].astype(int)
    return eer(y, np.r_[live, attack])


def boot(stat, live, attack, n, seed):
    r = bootstrap(
        (live, attack),
        stat,
        n_resamples=n,
        method="percentile",
        vectorized=False,
        paired=False,
        random_state=np.random.default_rng(seed),
    )
    return [float(r.confidence_interval.low), float(r.confidence_interval.high)]


def figures(rows, tau, boot_n):
    s = np.array([r[0] for r in rows])
    y = np.array([0 if r[1] == "live" else 1 for r in rows])
    species = [r[1] for r in rows]
    n_a, n_l = int(y.sum()), int((1 - y).sum())
    out = {
        "threshold": tau,
        "n_live": n_l,
        "n_attack": n_a,
        "apcer": prop(int(((s < tau) & (y == 1)).sum()), n_a),
        "bpcer": prop(int(((s >= tau) & (y == 0)).sum()), n_l),
        "apcer_per_species": {},
        "auc": float(roc_auc_score(y, s)),
        "eer": eer(y, s),
        "at_target": {},
    }
    for sp in sorted(set(species) - {"live"}):
        m = np.array([x == sp for x in species])
        out["apcer_per_species"][sp] = prop(int((s[m] < tau).sum()), int(m.sum()))
    for name, t in APCER_TARGETS:
        v = bpcer_at_apcer(y, s, t)
        out["at_target"][name] = (
            {"value": v} if v is not None else {"needed": needed(t), "have": n_a}
        )
    for name, t in BPCER_TARGETS:
        v = apcer_at_bpcer(y, s, t)
        out["at_target"][name] = (
            {"value": v} if v is not None else {"needed": needed(t), "have": n_l}
        )
    if boot_n:
        live, attack = s[y == 0], s[y == 1]
        out["bootstrap"] = {
            "resamples": boot_n,
            "auc_ci95": boot(auc_stat, live, attack, boot_n, 1),
            "eer_ci95": boot(eer_stat, live, attack, boot_n, 2),
        }
    return out


def write_scores(name, rows):
    text = "# score label type  (generated by scripts/metrics-reference/make_fixture.py)\n"
    label = {"live": 0}
    for score, sp in rows:
        text += f"{score!r} {label.get(sp, 1)} {sp}\n"
    (OUT / name).write_text(text)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261206)
    sets = {}

    # Heavy ties: scores on a 0.1 grid.
    rows = [(round(float(v), 1), "live") for v in np.clip(rng.normal(0.3, 0.15, 60), 0, 1)]
    for sp, mu in [("print", 0.7), ("replay", 0.6), ("digital", 0.8)]:
        rows += [(round(float(v), 1), sp) for v in np.clip(rng.normal(mu, 0.15, 40), 0, 1)]
    sets["ties.txt"] = (rows, 0.5, 0)

    # Tiny: every fixed-rate figure needs more samples than it has.
    rows = [(0.1, "live"), (0.2, "live"), (0.6, "live"), (0.3, "live")]
    rows += [(0.7, "print"), (0.4, "print"), (0.9, "print")]
    sets["tiny.txt"] = (rows, 0.5, 0)

    # A species with zero errors (its upper limit is still > 0), others with some.
    rows = [(float(v), "live") for v in rng.beta(2, 8, 250)]
    rows += [(float(v), "replay") for v in rng.uniform(0.6, 1.0, 120)]
    rows += [(float(v), "print") for v in rng.beta(6, 2, 150)]
    rows += [(float(v), "adversarial") for v in rng.beta(4, 3, 100)]
    sets["zero-errors.txt"] = (rows, 0.5, 0)

    # Larger, for the bootstrap intervals (SciPy's resampling against ours, within MC error).
    rows = [(float(v), "live") for v in rng.beta(2, 5, 400)]
    rows += [(float(v), "print") for v in rng.beta(5, 2, 400)]
    sets["bootstrap.txt"] = (rows, 0.5, 4000)

    expected = {
        "generator": "scripts/metrics-reference/make_fixture.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "files": {},
    }
    for name, (rows, tau, boot_n) in sets.items():
        write_scores(name, rows)
        expected["files"][name] = figures(rows, tau, boot_n)
    (OUT / "reference.json").write_text(json.dumps(expected, indent=1) + "\n")
    (OUT / "nan.txt").write_text("0.1 0\n0.9 1 print\nnan 1 print\n")
    print(f"wrote {len(sets)} score files and reference.json to {OUT}")


if __name__ == "__main__":
    main()
