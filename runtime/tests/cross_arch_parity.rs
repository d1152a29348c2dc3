//! The same models on the same frames give the same attack scores (and, for the student, the
//! same attack-type probabilities) on aarch64 as on x86-64. `scripts/test-aarch64.sh` writes
//! the fixture on x86-64 (`tests/tests/cross_arch_fixture.rs`: the small preset and the
//! `student-s` student exported fp32 and int8, frames in several formats and rotations, and
//! x86-64's outputs), then runs this test for aarch64 under qemu against it.

mod compare;
mod cross_arch;

use cross_arch::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// fp32: measured 1.8e-7 (x86-64 against aarch64, and AVX-512 against AVX2). int8: ONNX
/// Runtime's integer kernels differ by ISA (MLAS: AVX-512 VNNI, AVX2 and NEON code), and so do
/// their scores: on the small preset's 6 frames, x86-64 with AVX-512 VNNI against aarch64 gave
/// 1.9e-4, the same build under `qemu-x86_64 -cpu Haswell` (AVX2, no AVX-512) against AVX-512
/// 2.47e-3 and AVX2 against aarch64 2.52e-3 (nv12 each time); the bound is twice the largest,
/// whichever x86-64 CPU wrote the fixture. The students' static int8 (QDQ: `QLinearConv`) is
/// held to the same bound: with ±127 weights AVX2 (`qemu-x86_64 -cpu Haswell`) against AVX-512
/// VNNI gave 4.3e-2 on the score and 0.28 on the attack types for the random student-s here,
/// 0.22 / 0.90 for the demo's trained student-m (MLAS's AVX2 u8s8 kernel sums pairs of
/// products in saturating int16); with the ±63 weights `trainer export` writes by default the
/// same student-s gives 0 / 0 there.
const FP32_BOUND: f64 = 1e-5;
const INT8_BOUND: f64 = 5e-3;

#[test]
#[ignore = "reads the x86-64 fixture that scripts/test.sh's aarch64 step writes first"]
fn scores_equal_the_x86_64_scores() {
    let dir = PathBuf::from(std::env::var_os(DIR_VAR).unwrap_or_else(|| {
        panic!("set {DIR_VAR} to the folder tests/tests/cross_arch_fixture.rs wrote")
    }));
    let frames = read_frames(&dir);
    let mut want: BTreeMap<String, Vec<(String, FrameScore)>> = BTreeMap::new();
    for (model, frame, s) in read_scores(&dir) {
        want.entry(model).or_default().push((frame, s));
    }
    assert!(
        want.len() >= 4,
        "expected the small preset and the student, fp32 and int8, got {:?}",
        want.keys()
    );
    assert!(
        want.values()
            .flatten()
            .any(|(_, s)| s.attack_type.is_some()),
        "no model with an attack-type head in the fixture"
    );
    let arch = std::env::consts::ARCH;
    for (model, rows) in &want {
        let got = score(&dir.join(model), &frames);
        assert_eq!(
            rows.len(),
            frames.len(),
            "{model}: one x86-64 score per frame"
        );
        let bound = if model.contains("int8") {
            INT8_BOUND
        } else {
            FP32_BOUND
        };
        let mut x86 = Vec::with_capacity(rows.len());
        for (((name, s), f), here) in rows.iter().zip(&frames).zip(&got) {
            assert_eq!(name, &f.name, "{model}: frame order");
            eprintln!(
                "  {model} {name}: x86-64 {s:?} {arch} {here:?} |delta score| {:e}",
                (s.attack_score - here.attack_score).abs()
            );
            x86.push(*s);
        }
        let scores = |v: &[FrameScore]| v.iter().map(|s| s.attack_score).collect::<Vec<f32>>();
        let (x86_scores, here_scores) = (scores(&x86), scores(&got));
        let what = format!("{model}: x86-64 against {arch}");
        let (max, i) = compare::max_abs_diff_at(&what, &x86_scores, &here_scores);
        eprintln!(
            "cross-arch {model}: {} frames, max |score({arch}) - score(x86_64)| = {max:e}",
            frames.len()
        );
        assert!(
            max <= bound,
            "{model}, {}: x86-64 {} vs {arch} {}: |delta| {max:e} > {bound:e}",
            frames[i].name,
            x86_scores[i],
            here_scores[i]
        );
        // Scores that move between frames by less than the bound would make it say nothing.
        // The fixture's own models are built to vary; a trained model joining from outside
        // (`extra-`, the demo's) may call every synthetic frame an attack: said, not failed.
        let from_outside = model.starts_with(EXTRA_PREFIX);
        let varies = spread(&here_scores) > bound.max(1e-3);
        if from_outside && !varies {
            eprintln!(
                "cross-arch {model}: scores {here_scores:?} differ between frames by less than the \
                 bound {bound:e}: this model's comparison says little"
            );
        } else {
            assert!(
                varies,
                "{model}: scores {here_scores:?} differ between frames by less than the bound \
                 {bound:e}"
            );
        }
        compare_attack_types(model, &x86, &got, bound, from_outside);
    }
}

/// max - min of `v`.
fn spread(v: &[f32]) -> f64 {
    let (lo, hi) = v
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &s| {
            (l.min(s), h.max(s))
        });
    f64::from(hi - lo)
}

/// The attack-type probabilities (a student's second output): present on both sides or on
/// neither, within the score's bound, and varying over the frames unless `from_outside`.
fn compare_attack_types(
    model: &str,
    x86: &[FrameScore],
    got: &[FrameScore],
    bound: f64,
    from_outside: bool,
) {
    let arch = std::env::consts::ARCH;
    let types = |v: &[FrameScore]| -> Option<Vec<f32>> {
        v.iter()
            .map(|s| s.attack_type)
            .collect::<Option<Vec<[f32; 4]>>>()
            .map(|t| t.concat())
    };
    match (types(x86), types(got)) {
        (None, None) => {
            assert!(
                x86.iter().chain(got).all(|s| s.attack_type.is_none()),
                "{model}: the attack-type output on some frames only"
            );
        }
        (Some(want), Some(here)) => {
            let what = format!("{model} attack types: x86-64 against {arch}");
            let (max, i) = compare::max_abs_diff_at(&what, &want, &here);
            eprintln!(
                "cross-arch {model}: max |attack_type({arch}) - attack_type(x86_64)| = {max:e}"
            );
            assert!(
                max <= bound,
                "{what}, frame {} class {}: {} vs {}: |delta| {max:e} > {bound:e}",
                i / 4,
                i % 4,
                want[i],
                here[i]
            );
            for row in here.chunks(4) {
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-4, "{model}: {row:?} sums to {sum}");
            }
            let widest = (0..4)
                .map(|c| spread(&here.iter().skip(c).step_by(4).copied().collect::<Vec<_>>()))
                .fold(0.0, f64::max);
            assert!(
                widest > bound.max(1e-3) || from_outside,
                "{model}: no attack-type probability differs between frames by more than the \
                 bound {bound:e}: {here:?}"
            );
        }
        (w, h) => panic!(
            "{model}: x86-64 {} the attack-type output, {arch} {}",
            if w.is_some() { "has" } else { "lacks" },
            if h.is_some() { "has" } else { "lacks" }
        ),
    }
}
