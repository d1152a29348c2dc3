//! The "not set" conventions and limits of numeric options, the same in C, Java and Swift.

use super::status::{AbiError, AbiResult};
pub use crate::engine::{MAX_INTRA_OP_THREADS, MAX_SESSIONS};

/// Most entries in a provider preference list.
pub const MAX_PROVIDERS: usize = 16;
/// Most face boxes in one detection call (they are run in bounded chunks, see `Engine`).
pub const MAX_BOXES: usize = 4096;

/// A count option (threads, sessions): 0 = the default, negative is an error. The upper bound
/// is checked by `EngineOptions` validation, for the Rust API and the CLI too.
pub fn count(name: &str, v: i64) -> AbiResult<usize> {
    usize::try_from(v).map_err(|_| AbiError::invalid(format!("{name} is {v} (< 0)")))
}

/// A decision-threshold option: a negative value = the model's threshold; [0, 1] = override;
/// NaN, infinities and values above 1 are rejected (a NaN must never silently mean "unset").
pub fn threshold(v: f32) -> AbiResult<Option<f32>> {
    if !v.is_finite() || v > 1.0 {
        return Err(AbiError::invalid(format!(
            "threshold is {v}: use a value in [0, 1], or a negative value for the model's"
        )));
    }
    Ok((v >= 0.0).then_some(v))
}

/// A crop-scale option: <= 0 = the runtime's default; NaN and infinities are rejected.
pub fn crop_scale(v: f32) -> AbiResult<Option<f32>> {
    if !v.is_finite() {
        return Err(AbiError::invalid(format!(
            "crop_scale is {v}: use a finite value, or <= 0 for the default"
        )));
    }
    Ok((v > 0.0).then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_set_is_negative_never_nan() {
        assert_eq!(threshold(-1.0), Ok(None));
        assert_eq!(threshold(0.25), Ok(Some(0.25)));
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.5] {
            assert!(threshold(bad).is_err(), "{bad}");
        }
        assert_eq!(crop_scale(0.0), Ok(None));
        assert_eq!(crop_scale(2.0), Ok(Some(2.0)));
        assert!(crop_scale(f32::NAN).is_err());
        assert_eq!(count("threads", 3), Ok(3));
        assert!(count("threads", -1).is_err());
    }
}
