//! Reads a hostile program's output (`CASE <area> <name> expect=... ok|FAIL` lines) and judges
//! the run: no signal, no panic message, no verdict from a non-finite number, every case as
//! expected except those listed in tests/hostile/pending.txt (fixes on another branch), which
//! must still fail. Shared by the C (ffi/tests/hostile.rs) and CLI (tests/tests/hostile_cli.rs)
//! harnesses through `#[path]`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

/// What a run showed, for the caller's own checks and the report.
pub struct Verdict {
    pub cases: usize,
    pub areas: Vec<(String, usize)>,
}

pub fn pending(root: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(root.join("tests/hostile/pending.txt"))
        .expect("tests/hostile/pending.txt")
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Panics (fails the test) with every problem found in `out`.
pub fn judge(what: &str, out: &Output, root: &Path, min_cases: usize) -> Verdict {
    use std::os::unix::process::ExitStatusExt;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}\n{stderr}");
    let mut problems = Vec::new();
    if let Some(sig) = out.status.signal() {
        problems.push(format!("{what} ended by signal {sig}"));
    } else if !out.status.success() {
        problems.push(format!("{what} exited with {}", out.status));
    }
    for bad in ["panicked at", "RUST_BACKTRACE", "Aborted", "core dumped"] {
        if all.contains(bad) {
            problems.push(format!("output contains {bad:?}"));
        }
    }
    for l in all.lines() {
        let lower = l.to_ascii_lowercase();
        let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        let verdict = words
            .iter()
            .any(|w| matches!(*w, "live" | "attack" | "attack_score"))
            || lower.contains("attack_score");
        let non_finite = words
            .iter()
            .any(|w| matches!(*w, "nan" | "inf" | "infinity"));
        // Case lines and error messages may name NaN; a verdict line may not.
        let report =
            l.starts_with("CASE ") || lower.contains("error") || lower.contains("non-finite");
        if verdict && non_finite && !report {
            problems.push(format!("a verdict from a non-finite number: {l}"));
        }
    }
    // A failure reported outside a CASE line (a harness check, a helper's own finding) counts
    // as much as a failed case.
    for l in stdout.lines().filter(|l| !l.starts_with("CASE ")) {
        if l.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "FAIL")
        {
            problems.push(format!("a failure outside a CASE line: {l}"));
        }
    }
    let pending = pending(root);
    let mut seen_pending = BTreeSet::new();
    let mut cases = 0;
    let mut areas: Vec<(String, usize)> = Vec::new();
    for l in stdout.lines().filter(|l| l.starts_with("CASE ")) {
        cases += 1;
        let mut it = l.split_whitespace().skip(1);
        let (area, name) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
        match areas.iter_mut().find(|(a, _)| a == area) {
            Some((_, n)) => *n += 1,
            None => areas.push((area.to_string(), 1)),
        }
        let key = format!("{area} {name}");
        let failed = l.contains(" FAIL");
        if pending.contains(&key) {
            if failed {
                seen_pending.insert(key);
            } else {
                problems.push(format!(
                    "{key} passes now: delete it from tests/hostile/pending.txt ({l})"
                ));
            }
        } else if failed {
            problems.push(l.to_string());
        }
    }
    if cases < min_cases {
        problems.push(format!(
            "only {cases} cases ran (expected at least {min_cases})"
        ));
    }
    eprintln!("{what}: {cases} cases, by area {areas:?}; pending (fix on another branch): {seen_pending:?}");
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        problems.len(),
        problems.join("\n")
    );
    Verdict { cases, areas }
}
