//! The one comparison of every parity test (runtime, export, cross-arch): the largest absolute
//! difference of two equally long sequences, failing on any non-finite value on either side.
//! `f32::max` folds drop NaN, so a fold of |a − b| passes an output that is all NaN; here a NaN
//! or an infinity is a failure that names the sequence and the index. Shared through `#[path]`
//! by the test crates that compare numbers (runtime/tests, tests/tests).
#![allow(dead_code)]

/// Largest |a[i] − b[i]| and its index. Panics, naming `what` and the index, when the lengths
/// differ or any value on either side is NaN or infinite.
pub fn max_abs_diff_at<A: Copy + Into<f64>, B: Copy + Into<f64>>(
    what: &str,
    a: &[A],
    b: &[B],
) -> (f64, usize) {
    assert_eq!(
        a.len(),
        b.len(),
        "{what}: {} values against {}",
        a.len(),
        b.len()
    );
    let mut worst = (0.0f64, 0usize);
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let (x, y): (f64, f64) = (x.into(), y.into());
        assert!(
            x.is_finite() && y.is_finite(),
            "{what}: non-finite value at index {i}: {x} against {y}"
        );
        let d = (x - y).abs();
        if d > worst.0 {
            worst = (d, i);
        }
    }
    worst
}

/// Largest |a[i] − b[i]| (see `max_abs_diff_at`).
pub fn max_abs_diff<A: Copy + Into<f64>, B: Copy + Into<f64>>(what: &str, a: &[A], b: &[B]) -> f64 {
    max_abs_diff_at(what, a, b).0
}

/// Asserts every |a[i] − b[i]| ≤ `bound` (all values finite); returns the largest difference.
pub fn assert_close<A: Copy + Into<f64>, B: Copy + Into<f64>>(
    what: &str,
    a: &[A],
    b: &[B],
    bound: f64,
) -> f64 {
    let (d, i) = max_abs_diff_at(what, a, b);
    assert!(
        d <= bound,
        "{what}: |difference| {d:e} > {bound:e} at index {i} ({} against {})",
        a[i].into(),
        b[i].into()
    );
    d
}
