//! Issue 16: the same models on the same frames give the same attack scores on aarch64 as on
//! x86-64. `scripts/test.sh` writes the fixture on x86-64 (`tests/tests/cross_arch_fixture.rs`:
//! the small preset exported fp32 and int8, frames in several formats and rotations, and
//! x86-64's scores), then runs this test for aarch64 under qemu against it.

mod cross_arch;

use cross_arch::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// fp32: the bound (measured: 1.8e-7). int8: ONNX Runtime's integer kernels are
/// architecture-specific (MLAS: AVX2 code on x86-64, NEON code on ARM); the bound is the
/// measured delta (1.9e-4, small preset, 6 frames) with 5x headroom.
const FP32_BOUND: f32 = 1e-5;
const INT8_BOUND: f32 = 1e-3;

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
        let mut max = 0.0f32;
        let mut worst = String::new();
        for (((name, x86), f), here) in rows.iter().zip(&frames).zip(&got) {
            assert_eq!(name, &f.name, "{model}: frame order");
            let d = (x86 - here).abs();
            eprintln!("  {model} {name}: x86-64 {x86} {arch} {here} |delta| {d:e}");
            if d > max {
                max = d;
                worst = format!("{name}: x86-64 {x86} vs {arch} {here}");
            }
        }
        eprintln!(
            "cross-arch {model}: {} frames, max |score({arch}) - score(x86_64)| = {max:e}",
            frames.len()
        );
        assert!(
            max <= bound,
            "{model}, {worst}: |delta| {max:e} > {bound:e}"
        );
        // Scores that barely move between frames would make the comparison say little.
        let (lo, hi) = got
            .iter()
            .fold((1.0f32, 0.0f32), |(l, h), &s| (l.min(s), h.max(s)));
        assert!(
            hi - lo > 1e-3,
            "{model}: scores {got:?} hardly differ between frames"
        );
    }
}
