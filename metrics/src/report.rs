//! The evaluation report `trainer eval`, `trainer metrics` and `moae evaluate` write: report.json
//! (every figure with its interval and count, where the threshold came from, what was measured)
//! and report.html (the same for a person, self-contained: inline SVG, no network).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::Digest;

use crate::bootstrap::Settings;
use crate::confusion::AttackTypeMatrix;
use crate::interval::Proportion;
use crate::iso::{self, IsoFigures};
use crate::rates::{evaluate_at, Report, ReportError, ThresholdSource};
use crate::scores::Scored;

/// A file the report is about, by content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileId {
    pub path: PathBuf,
    pub sha256: String,
}

impl FileId {
    pub fn of(path: &Path) -> std::io::Result<FileId> {
        let mut f = std::fs::File::open(path)?;
        let mut h = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(FileId {
            path: path.to_path_buf(),
            sha256: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
}

/// What was measured, with what, and where the threshold came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// The program and version that wrote the report, e.g. `trainer eval 0.2.0`.
    pub producer: String,
    pub sdk_version: String,
    pub model: Option<FileId>,
    /// The test list (or score file) the figures are on.
    pub list: Option<FileId>,
    /// The list (or score file) the threshold was chosen on, where there was one.
    pub threshold_list: Option<FileId>,
    /// How τ was fixed, in words (e.g. "the dev set's EER point").
    pub threshold_origin: String,
}

/// The whole pipeline's outcome per presentation (`moae evaluate`): decisions by true class and
/// the presentations that got none.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Pipeline {
    pub presentations: usize,
    /// Rows: `live` and each attack species; columns: `live`, `attack`, `unsure`, `no_face`,
    /// `several_faces`.
    pub decisions: BTreeMap<String, BTreeMap<String, usize>>,
    /// Presentations without a live/attack decision.
    pub non_response: Option<Proportion>,
    /// Per reason (`no_face`, `several_faces`, each quality flag); a presentation with several
    /// flags counts under each.
    pub non_response_by_reason: BTreeMap<String, Proportion>,
}

/// Columns of [`Pipeline::decisions`], in table order.
pub const OUTCOMES: [&str; 5] = ["live", "attack", "unsure", "no_face", "several_faces"];

/// report.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// The FAS literature's figures (threshold source, rates, AUC, EER, APCER per type).
    #[serde(flatten)]
    pub literature: Report,
    pub provenance: Provenance,
    /// The buyer's figures (ISO/IEC 30107-3), each with interval and count.
    pub iso: IsoFigures,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    /// The attack-type head's confusion matrix on the test set, where the report comes from a
    /// model (`trainer eval`); absent for reports from score files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_type_confusion: Option<AttackTypeMatrix>,
}

impl EvalReport {
    /// Every figure of `test` at `threshold`.
    pub fn new(
        test: &[Scored],
        threshold: f64,
        source: ThresholdSource,
        provenance: Provenance,
        settings: Settings,
    ) -> Result<EvalReport, ReportError> {
        let iso = iso::figures(test, threshold, settings)?;
        Ok(EvalReport {
            literature: evaluate_at(test, threshold, source),
            provenance,
            iso,
            pipeline: None,
            attack_type_confusion: None,
        })
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises") + "\n"
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> (EvalReport, Vec<Scored>) {
        let mut s: Vec<Scored> = (0..40)
            .map(|i| Scored::new(i as f64 / 80.0, false, "live"))
            .collect();
        s.extend((0..30).map(|i| Scored::new(0.3 + i as f64 / 50.0, true, "print")));
        s.extend((0..25).map(|i| Scored::new(0.6 + i as f64 / 70.0, true, "replay")));
        let p = Provenance {
            producer: "test".into(),
            sdk_version: "0".into(),
            model: None,
            list: None,
            threshold_list: None,
            threshold_origin: "fixed by the test".into(),
        };
        let r = EvalReport::new(&s, 0.45, ThresholdSource::Fixed, p, Settings::default());
        (r.unwrap(), s)
    }

    #[test]
    fn json_keeps_the_literature_keys_and_adds_the_iso_figures() {
        let (r, _) = sample();
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["threshold_source"], "fixed");
        assert_eq!(v["test"]["n_attack"], 55);
        assert_eq!(v["iso"]["apcer_per_species"]["print"]["n"], 30);
        assert_eq!(v["iso"]["bpcer_at_apcer"][2]["unresolved"]["needed"], 100);
        assert!(v["iso"]["acer_literature"]["note"]
            .as_str()
            .unwrap()
            .contains("not an ISO/IEC 30107-3 metric"));
        assert_eq!(v["provenance"]["threshold_origin"], "fixed by the test");
        assert!(v.get("attack_type_confusion").is_none());
    }

    #[test]
    fn json_holds_the_type_matrix_when_there_is_one() {
        let (mut r, _) = sample();
        r.attack_type_confusion = Some(AttackTypeMatrix::no_head());
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["attack_type_confusion"]["status"], "not_available");
        let c = crate::confusion::TypeConfusion::from_pairs([(2, 1)]).unwrap();
        r.attack_type_confusion = Some(AttackTypeMatrix::Available(c));
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["attack_type_confusion"]["counts"][2][1], 1);
    }

    #[test]
    fn file_ids_hash_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, "abc").unwrap();
        assert_eq!(
            FileId::of(&p).unwrap().sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
