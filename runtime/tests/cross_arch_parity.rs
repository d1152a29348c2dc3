//! Issue 16: the same models on the same frames give the same attack scores on aarch64 as on
//! x86-64. `scripts/test.sh` writes the fixture on x86-64 (`tests/tests/cross_arch_fixture.rs`:
//! the small preset exported fp32 and int8, frames in several formats and rotations, and
//! x86-64's scores), then runs this test for aarch64 under qemu against it.

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
/// whichever x86-64 CPU wrote the fixture.
const FP32_BOUND: f64 = 1e-5;
const INT8_BOUND: f64 = 5e-3;

#[test]
#[ignore = "reads the x86-64 fixture that scripts/test.sh's aarch64 step writes first"]
fn scores_equal_the_x86_64_scores() {
    let dir = PathBuf::from(std::env::var_os(DIR_VAR).unwrap_or_else(|| {
        panic!("set {DIR_VAR} to the folder tests/tests/cross_arch_fixture.rs wrote")
    }));
    let frames = read_frames(&dir);
    let mut want: BTreeMap<String, Vec<(String, f32)>> = BTreeMap::new();
    for (model, frame, s) in read_scores(&dir) {
        want.entry(model).or_default().push((frame, s));
    }
    assert!(
        want.len() >= 2,
        "expected fp32 and int8 models, got {:?}",
        want.keys()
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
                "  {model} {name}: x86-64 {s} {arch} {here} |delta| {:e}",
                (s - here).abs()
            );
            x86.push(*s);
        }
        let (max, i) =
            compare::max_abs_diff_at(&format!("{model}: x86-64 against {arch}"), &x86, &got);
        eprintln!(
            "cross-arch {model}: {} frames, max |score({arch}) - score(x86_64)| = {max:e}",
            frames.len()
        );
        assert!(
            max <= bound,
            "{model}, {}: x86-64 {} vs {arch} {}: |delta| {max:e} > {bound:e}",
            frames[i].name,
            x86[i],
            got[i]
        );
        // Scores that move between frames by less than the bound would make it say nothing.
        let (lo, hi) = got
            .iter()
            .fold((1.0f32, 0.0f32), |(l, h), &s| (l.min(s), h.max(s)));
        assert!(
            f64::from(hi - lo) > bound.max(1e-3),
            "{model}: scores {got:?} differ between frames by less than the bound {bound:e}"
        );
    }
}
