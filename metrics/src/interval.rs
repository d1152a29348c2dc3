//! Exact (Clopper–Pearson) binomial confidence limits, and a proportion reported with its count.
//!
//! For x errors in n trials the two-sided (1 − α) limits are the Beta quantiles
//! lower = B(α/2; x, n − x + 1) (0 when x = 0) and upper = B(1 − α/2; x + 1, n − x) (1 when
//! x = n). They never exclude what the count could come from: zero errors still give an upper
//! limit above 0 (≈ 3.7/n at 95 %).

use serde::Serialize;
use statrs::function::beta::inv_beta_reg;

/// The confidence level of every interval this crate reports.
pub const CONFIDENCE: f64 = 0.95;

/// Two-sided Clopper–Pearson limits at `confidence` for `x` of `n`; `None` when `n` is 0.
pub fn clopper_pearson(x: usize, n: usize, confidence: f64) -> Option<[f64; 2]> {
    if n == 0 || x > n {
        return None;
    }
    let alpha = 1.0 - confidence;
    let (xf, nf) = (x as f64, n as f64);
    let lower = if x == 0 {
        0.0
    } else {
        inv_beta_reg(xf, nf - xf + 1.0, alpha / 2.0)
    };
    let upper = if x == n {
        1.0
    } else {
        inv_beta_reg(xf + 1.0, nf - xf, 1.0 - alpha / 2.0)
    };
    Some([lower, upper])
}

/// One-sided (1 − α) Clopper–Pearson upper limit for `x` of `n` (1 when x = n or n = 0).
pub fn clopper_pearson_upper(x: usize, n: usize, alpha: f64) -> f64 {
    if n == 0 || x >= n {
        return 1.0;
    }
    inv_beta_reg(x as f64 + 1.0, (n - x) as f64, 1.0 - alpha)
}

/// A share with the count behind it: `count` of `n`, and its two-sided 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Proportion {
    pub count: usize,
    pub n: usize,
    pub value: f64,
    /// Two-sided 95 % Clopper–Pearson interval.
    pub ci95: [f64; 2],
}

impl Proportion {
    /// `None` when `n` is 0: a share of nothing is not a number to report.
    pub fn of(count: usize, n: usize) -> Option<Self> {
        Some(Proportion {
            count,
            n,
            value: count as f64 / n as f64,
            ci95: clopper_pearson(count, n, CONFIDENCE)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // x = 0: upper = 1 − (α/2)^(1/n); x = n: lower = (α/2)^(1/n).
        for n in [1usize, 7, 100, 5000] {
            let [lo, hi] = clopper_pearson(0, n, 0.95).unwrap();
            assert_eq!(lo, 0.0);
            assert!(
                (hi - (1.0 - 0.025f64.powf(1.0 / n as f64))).abs() < 1e-10,
                "n={n}"
            );
            let [lo, hi] = clopper_pearson(n, n, 0.95).unwrap();
            assert_eq!(hi, 1.0);
            assert!((lo - 0.025f64.powf(1.0 / n as f64)).abs() < 1e-10, "n={n}");
        }
        // One-sided: x = 0 gives 1 − α^(1/n); x = n − 1 gives (1 − α)^(1/n).
        assert!((clopper_pearson_upper(0, 100, 0.05) - (1.0 - 0.05f64.powf(0.01))).abs() < 1e-10);
        assert!((clopper_pearson_upper(9, 10, 0.05) - 0.95f64.powf(0.1)).abs() < 1e-10);
        assert_eq!(clopper_pearson_upper(10, 10, 0.05), 1.0);
        assert_eq!(clopper_pearson(1, 0, 0.95), None);
        assert_eq!(clopper_pearson(3, 2, 0.95), None);
    }

    #[test]
    fn published_table_values() {
        // Exact binomial 95 % limits as tabulated (e.g. Geigy Scientific Tables; Collett,
        // "Modelling Binary Data", table of exact limits), 4 decimals.
        let cases: [(usize, usize, [f64; 2]); 6] = [
            (0, 10, [0.0, 0.3085]),
            (1, 10, [0.0025, 0.4450]),
            (5, 10, [0.1871, 0.8129]),
            (0, 20, [0.0, 0.1684]),
            (2, 20, [0.0123, 0.3170]),
            (10, 100, [0.0490, 0.1762]),
        ];
        for (x, n, want) in cases {
            let got = clopper_pearson(x, n, 0.95).unwrap();
            for k in 0..2 {
                assert!(
                    (got[k] - want[k]).abs() < 6e-5,
                    "{x}/{n}: {got:?} vs table {want:?}"
                );
            }
        }
        // One-sided 95 % upper limits: 1/100 → 0.0466, 5/100 → 0.1023.
        assert!((clopper_pearson_upper(1, 100, 0.05) - 0.0466).abs() < 5e-5);
        assert!((clopper_pearson_upper(5, 100, 0.05) - 0.1023).abs() < 5e-5);
    }

    #[test]
    fn one_sided_upper_is_monotone_and_holds_for_large_n() {
        let mut last = 0.0;
        for x in 0..20 {
            let u = clopper_pearson_upper(x, 1000, 0.05);
            assert!(u > last && u > x as f64 / 1000.0);
            last = u;
        }
        let u = clopper_pearson_upper(100, 100_000, 0.05);
        assert!(u > 0.001 && u < 0.0013, "{u}");
    }

    #[test]
    fn zero_errors_still_bound_above_zero() {
        let p = Proportion::of(0, 300).unwrap();
        assert_eq!((p.value, p.ci95[0]), (0.0, 0.0));
        assert!(p.ci95[1] > 0.01 && p.ci95[1] < 0.0125, "{p:?}");
        assert_eq!(Proportion::of(0, 0), None);
    }
}
