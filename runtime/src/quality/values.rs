//! The measured values of one face, read by the flags and written by the measures.

/// The measured values for one face (a value that cannot be measured, such as yaw for a
/// caller's box without keypoints, is 0 and its check is skipped; a NaN, which only absurd
/// detector keypoints could produce, trips its flag).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct QualityValues {
    pub face_px: f32,
    pub outside_fraction: f32,
    pub brightness: f32,
    pub overexposed_fraction: f32,
    pub sharpness: f32,
    pub roll_deg: f32,
    pub yaw_deg: f32,
}
