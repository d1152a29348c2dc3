//! The attack-type head's confusion matrix: rows the true fine-grained label (spec §6: live,
//! physical, adversarial, digital), columns the head's argmax. A model without the head has no
//! matrix: it is reported as not available, never as zeros that read like an answer.

use std::fmt::Write;

use serde::Serialize;

/// Rows and columns of the matrix: the fine-grained labels 0..=3 (spec §6).
pub const TYPE_CLASSES: [&str; 4] = ["live", "physical", "adversarial", "digital"];

/// Counts of (true label, predicted type) over one split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeConfusion {
    /// Row and column names ([`TYPE_CLASSES`]).
    pub classes: Vec<String>,
    /// `counts[t][p]`: images of true label `t` the head put in class `p`.
    pub counts: [[usize; 4]; 4],
}

/// A label or prediction outside 0..=3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attack-type {what} {value} is outside 0..=3 (live, physical, adversarial, digital)")]
pub struct TypeOutOfRange {
    pub what: &'static str,
    pub value: usize,
}

impl TypeConfusion {
    /// Counts `(true label, predicted class)` pairs.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<TypeConfusion, TypeOutOfRange> {
        let mut counts = [[0usize; 4]; 4];
        let check = |what, value: usize| {
            if value < 4 {
                Ok(value)
            } else {
                Err(TypeOutOfRange { what, value })
            }
        };
        for (t, p) in pairs {
            counts[check("label", t)?][check("prediction", p)?] += 1;
        }
        Ok(TypeConfusion {
            classes: TYPE_CLASSES.iter().map(|s| s.to_string()).collect(),
            counts,
        })
    }

    /// Images of each true label.
    pub fn row_totals(&self) -> [usize; 4] {
        self.counts.map(|r| r.iter().sum())
    }

    /// Share of images whose type the head got right; `None` for an empty matrix.
    pub fn accuracy(&self) -> Option<f64> {
        let n: usize = self.row_totals().iter().sum();
        let right: usize = (0..4).map(|i| self.counts[i][i]).sum();
        (n > 0).then(|| right as f64 / n as f64)
    }
}

/// The matrix, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum AttackTypeMatrix {
    Available(TypeConfusion),
    NotAvailable { reason: String },
}

impl AttackTypeMatrix {
    /// What a model without the attack-type head gets.
    pub fn no_head() -> AttackTypeMatrix {
        AttackTypeMatrix::NotAvailable {
            reason: "the model has no attack-type head".into(),
        }
    }

    /// The matrix as text: a header, one row per true label with its total, the accuracy.
    pub fn format(&self) -> String {
        let c = match self {
            AttackTypeMatrix::NotAvailable { reason } => {
                return format!("attack-type confusion matrix: not available ({reason})\n")
            }
            AttackTypeMatrix::Available(c) => c,
        };
        let mut s = String::from(
            "attack-type confusion matrix (rows: true label; columns: the head's argmax):\n",
        );
        let _ = write!(s, "  {:<14}", "");
        for name in &c.classes {
            let _ = write!(s, "{name:>13}");
        }
        s += "        total\n";
        for (name, (row, total)) in c.classes.iter().zip(c.counts.iter().zip(c.row_totals())) {
            let _ = write!(s, "  {name:<14}");
            for n in row {
                let _ = write!(s, "{n:>13}");
            }
            let _ = writeln!(s, "{total:>13}");
        }
        if let Some(a) = c.accuracy() {
            let _ = writeln!(s, "  type accuracy {:.2}%", 100.0 * a);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand_made() -> TypeConfusion {
        // live 3 (2 right, 1 called physical), physical 2 (both right), adversarial 1 (called
        // digital), digital 0.
        TypeConfusion::from_pairs([(0, 0), (1, 1), (0, 1), (2, 3), (0, 0), (1, 1)]).unwrap()
    }

    #[test]
    fn counts_land_in_true_row_and_predicted_column() {
        let c = hand_made();
        assert_eq!(
            c.counts,
            [[2, 1, 0, 0], [0, 2, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
        );
        assert_eq!(c.row_totals(), [3, 2, 1, 0]);
        assert_eq!(c.accuracy(), Some(4.0 / 6.0));
    }

    #[test]
    fn out_of_range_labels_are_refused() {
        let e = TypeConfusion::from_pairs([(0, 0), (4, 1)]).unwrap_err();
        assert_eq!((e.what, e.value), ("label", 4));
        let e = TypeConfusion::from_pairs([(1, 7)]).unwrap_err();
        assert_eq!((e.what, e.value), ("prediction", 7));
    }

    #[test]
    fn text_has_each_row_with_its_total() {
        let t = AttackTypeMatrix::Available(hand_made()).format();
        let row = |name: &str| -> Vec<usize> {
            let line = t
                .lines()
                .find(|l| l.starts_with(&format!("  {name} ")))
                .unwrap();
            line.split_whitespace()
                .skip(1)
                .map(|x| x.parse().unwrap())
                .collect()
        };
        assert_eq!(row("live"), vec![2, 1, 0, 0, 3]);
        assert_eq!(row("adversarial"), vec![0, 0, 0, 1, 1]);
        assert!(t.contains("type accuracy 66.67%"), "{t}");
    }

    #[test]
    fn a_model_without_the_head_gets_no_numbers() {
        let t = AttackTypeMatrix::no_head().format();
        assert!(t.contains("not available"), "{t}");
        assert!(!t.chars().any(|c| c.is_ascii_digit()), "{t}");
        let v = serde_json::to_value(AttackTypeMatrix::no_head()).unwrap();
        assert_eq!(v["status"], "not_available");
        assert!(v.get("counts").is_none());
    }

    #[test]
    fn json_carries_the_counts_and_classes() {
        let v = serde_json::to_value(AttackTypeMatrix::Available(hand_made())).unwrap();
        assert_eq!(v["status"], "available");
        assert_eq!(v["classes"][3], "digital");
        assert_eq!(v["counts"][0][1], 1);
    }
}
