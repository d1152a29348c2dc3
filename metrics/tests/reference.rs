//! Every figure against an independent implementation: scripts/metrics-reference/make_fixture.py
//! computed them with scikit-learn, SciPy and statsmodels on the score files in fixtures/ (ties,
//! a tiny set, a species with zero errors, a larger set for the bootstrap) and wrote
//! fixtures/reference.json. Deterministic figures agree to 1e-9; bootstrap intervals (other
//! random draws on each side) to Monte-Carlo error.

use std::path::{Path, PathBuf};

use moae_metrics::bootstrap::Settings;
use moae_metrics::interval::Proportion;
use moae_metrics::iso::{figures, AtTarget};
use moae_metrics::read_score_file;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn close(a: f64, b: &Value, tol: f64, what: &str) {
    let b = b
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: reference {b} is not a number"));
    assert!((a - b).abs() <= tol, "{what}: ours {a}, reference {b}");
}

fn same_proportion(p: &Proportion, r: &Value, what: &str) {
    assert_eq!(
        p.count as u64,
        r["count"].as_u64().unwrap(),
        "{what}: count"
    );
    assert_eq!(p.n as u64, r["n"].as_u64().unwrap(), "{what}: n");
    close(p.value, &r["value"], 1e-12, what);
    close(
        p.ci95[0],
        &r["ci95"][0],
        1e-9,
        &format!("{what} lower limit"),
    );
    close(
        p.ci95[1],
        &r["ci95"][1],
        1e-9,
        &format!("{what} upper limit"),
    );
}

fn same_at_target(a: &AtTarget, r: &Value, bpcer_figure: bool) {
    match (&a.point, &a.unresolved) {
        (Some(p), None) => {
            let v = if bpcer_figure { p.bpcer } else { p.apcer };
            close(v.value, &r["value"], 1e-12, &a.name);
        }
        (None, Some(u)) => {
            assert!(
                r["value"].is_null(),
                "{}: reference resolved it: {r}",
                a.name
            );
            assert_eq!(u.needed as u64, r["needed"].as_u64().unwrap(), "{}", a.name);
            assert_eq!(u.have as u64, r["have"].as_u64().unwrap(), "{}", a.name);
        }
        _ => panic!("{}: neither resolved nor refused", a.name),
    }
}

#[test]
fn every_figure_matches_the_reference() {
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("reference.json")).unwrap())
            .unwrap();
    let files = reference["files"].as_object().unwrap();
    assert!(files.len() >= 3, "at least three score files");
    for (name, r) in files {
        let samples = read_score_file(&fixtures().join(name)).unwrap();
        let tau = r["threshold"].as_f64().unwrap();
        let f = figures(&samples, tau, Settings::default()).unwrap();
        assert_eq!(f.n_live as u64, r["n_live"].as_u64().unwrap(), "{name}");
        assert_eq!(f.n_attack as u64, r["n_attack"].as_u64().unwrap(), "{name}");
        same_proportion(
            f.apcer.as_ref().unwrap(),
            &r["apcer"],
            &format!("{name} APCER"),
        );
        same_proportion(
            f.bpcer.as_ref().unwrap(),
            &r["bpcer"],
            &format!("{name} BPCER"),
        );
        let species = r["apcer_per_species"].as_object().unwrap();
        assert_eq!(
            f.apcer_per_species.keys().collect::<Vec<_>>(),
            species.keys().collect::<Vec<_>>(),
            "{name}: species"
        );
        for (k, p) in &f.apcer_per_species {
            same_proportion(p, &species[k], &format!("{name} APCER[{k}]"));
        }
        close(
            f.auc.unwrap().value,
            &r["auc"],
            1e-12,
            &format!("{name} AUC"),
        );
        close(
            f.eer.unwrap().value,
            &r["eer"],
            1e-12,
            &format!("{name} EER"),
        );
        for a in &f.bpcer_at_apcer {
            same_at_target(a, &r["at_target"][&a.name], true);
        }
        for a in &f.apcer_at_bpcer {
            same_at_target(a, &r["at_target"][&a.name], false);
        }
        if let Some(b) = r.get("bootstrap") {
            // Both are 95 % percentile intervals of stratified resamples; the draws differ, so
            // the ends agree to Monte-Carlo error (a few thousandths for 800 samples).
            for (ours, key) in [(f.auc.unwrap(), "auc_ci95"), (f.eer.unwrap(), "eer_ci95")] {
                let ci = ours.bootstrap.unwrap().ci95;
                close(ci[0], &b[key][0], 0.003, &format!("{name} {key} low"));
                close(ci[1], &b[key][1], 0.003, &format!("{name} {key} high"));
            }
        }
    }
}

#[test]
fn zero_errors_keep_an_upper_limit_above_zero() {
    let samples = read_score_file(&fixtures().join("zero-errors.txt")).unwrap();
    let f = figures(&samples, 0.5, Settings::default()).unwrap();
    let replay = f.apcer_per_species["replay"];
    assert_eq!((replay.count, replay.value), (0, 0.0));
    assert!(replay.ci95[1] > 0.02, "{replay:?}");
}

#[test]
fn a_nan_score_is_a_named_error() {
    let path = fixtures().join("nan.txt");
    let e = read_score_file(&path).unwrap_err().to_string();
    assert!(
        e.contains("nan.txt line 3") && e.contains("not finite"),
        "{e}"
    );
}
