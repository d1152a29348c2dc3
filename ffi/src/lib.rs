//! libmoae: the stable C ABI over `moae-runtime` (header: `include/moae.h`, generated from this
//! crate by cbindgen; see `ffi/cbindgen.toml` and `tests/header.rs`).
//!
//! Conventions, for every exported function:
//! - it runs behind a panic boundary (a caught panic returns `MOAE_ERR_PANIC`);
//! - every pointer argument is checked for NULL;
//! - on failure it returns a status and sets this thread's `moae_last_error` detail;
//! - it keeps no pointer to caller memory after it returns, and hands out none into its own
//!   state except static strings and the thread-local last-error string.

#![allow(non_camel_case_types)]
// The exported functions check their pointer arguments themselves; C callers cannot see
// `unsafe`, so the functions are declared safe and documented in the header.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

// The C ABI's version-1 sizes (MOAE_OPTIONS_V1_SIZE 80, MOAE_IMAGE_V1_SIZE 96) and the header's
// static assertion are 64-bit; a 32-bit libmoae would refuse every 0.1 caller's struct.
#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "libmoae's C ABI is 64-bit only (include/moae.h asserts it); 32-bit Android apps use the \
     Java API (moae-jni), which does not go through the C structs"
);

mod api;
mod convert;
mod guard;
mod image_file;
mod log;
mod ptr;
mod sized;
mod status;
pub mod types;

pub use api::*;
pub use convert::{MOAE_IMAGE_V1_SIZE, MOAE_RESULT_V1_SIZE};
pub use image_file::*;
pub use types::*;

/// Major version of libmoae (same as the crate's).
pub const MOAE_VERSION_MAJOR: u32 = 0;
/// Minor version of libmoae.
pub const MOAE_VERSION_MINOR: u32 = 2;
/// Patch version of libmoae.
pub const MOAE_VERSION_PATCH: u32 = 0;
/// Bumped on any incompatible ABI change; `moae_options.abi_version` must equal it.
pub const MOAE_ABI_VERSION: u32 = 1;

/// Most `moae_options.intra_op_threads` (ONNX Runtime creates each thread up front).
pub const MOAE_MAX_INTRA_OP_THREADS: u32 = 64;
/// Most `moae_options.max_sessions` (each session holds its own copy of the weights).
pub const MOAE_MAX_SESSIONS: u32 = 64;
/// Largest `moae_options.crop_scale`.
pub const MOAE_MAX_CROP_SCALE: f32 = 10.0;
/// Most boxes in one `moae_detect` / `moae_analyze` call (they run in chunks, so memory stays
/// bounded).
pub const MOAE_MAX_BOXES: u32 = 4096;
/// Smallest face box width and height in upright pixels (each, after conversion from
/// raw/normalised): a box with a smaller side is MOAE_ERR_INVALID_FACE_BOX, never scored; also
/// the lowest accepted `moae_quality_options.min_face_px`.
pub const MOAE_MIN_FACE_SIZE_PX: f32 = 16.0;

// Quality flag bits of `moae_face.quality_flags` and `moae_analyze`'s `frame_flags`
// (the runtime's `QualityFlags`, same order and bits in C, Java and Swift).
/// Frame: the detector found no face (`face_count` is 0; no score).
pub const MOAE_QUALITY_NO_FACE: u32 = 1 << 0;
/// Frame and every face: more than one face (unless `allow_several_faces`).
pub const MOAE_QUALITY_SEVERAL_FACES: u32 = 1 << 1;
/// The face is smaller than `quality.min_face_px`.
pub const MOAE_QUALITY_TOO_SMALL: u32 = 1 << 2;
/// More than `quality.max_outside_fraction` of the face box lies outside the frame.
pub const MOAE_QUALITY_PARTLY_OUTSIDE: u32 = 1 << 3;
/// Mean face luma below `quality.min_brightness`.
pub const MOAE_QUALITY_TOO_DARK: u32 = 1 << 4;
/// Mean face luma above `quality.max_brightness`, or too many saturated pixels.
pub const MOAE_QUALITY_TOO_BRIGHT: u32 = 1 << 5;
/// Sharpness (variance of the Laplacian) below `quality.min_sharpness`.
pub const MOAE_QUALITY_BLURRED: u32 = 1 << 6;
/// In-plane head roll beyond `quality.max_roll_deg`.
pub const MOAE_QUALITY_HEAD_ROLL: u32 = 1 << 7;
/// Head yaw beyond `quality.max_yaw_deg`.
pub const MOAE_QUALITY_HEAD_YAW: u32 = 1 << 8;

// The header's limits are the runtime's.
const _: () = {
    assert!(MOAE_MAX_INTRA_OP_THREADS as usize == moae_runtime::MAX_INTRA_OP_THREADS);
    assert!(MOAE_MAX_SESSIONS as usize == moae_runtime::MAX_SESSIONS);
    assert!(MOAE_MAX_BOXES as usize == moae_runtime::abi::MAX_BOXES);
    assert!(MOAE_MAX_CROP_SCALE == moae_runtime::MAX_CROP_SCALE);
    assert!(MOAE_MIN_FACE_SIZE_PX == moae_runtime::MIN_FACE_SIZE_PX);
    // The C enums' numbers are runtime::abi's (shared with JNI).
    use moae_runtime::abi;
    assert!(types::moae_box_space::MOAE_BOX_UPRIGHT as i32 == abi::BOX_UPRIGHT);
    assert!(types::moae_box_space::MOAE_BOX_RAW as i32 == abi::BOX_RAW);
    assert!(types::moae_box_units::MOAE_UNITS_PIXELS as i32 == abi::UNITS_PIXELS);
    assert!(types::moae_box_units::MOAE_UNITS_NORMALIZED as i32 == abi::UNITS_NORMALIZED);
};

/// The C flag bits, in `QualityFlags::ALL`'s order (checked against the runtime by a test).
#[cfg(test)]
pub(crate) const QUALITY_BITS: [u32; 9] = [
    MOAE_QUALITY_NO_FACE,
    MOAE_QUALITY_SEVERAL_FACES,
    MOAE_QUALITY_TOO_SMALL,
    MOAE_QUALITY_PARTLY_OUTSIDE,
    MOAE_QUALITY_TOO_DARK,
    MOAE_QUALITY_TOO_BRIGHT,
    MOAE_QUALITY_BLURRED,
    MOAE_QUALITY_HEAD_ROLL,
    MOAE_QUALITY_HEAD_YAW,
];

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    #[test]
    fn decision_and_source_codes_are_the_runtimes() {
        use crate::types::{moae_decision::*, moae_face_source::*};
        use moae_runtime::{abi, Decision, FaceSource};
        assert_eq!(
            abi::decision_code(Decision::Live),
            MOAE_DECISION_LIVE as i32
        );
        assert_eq!(
            abi::decision_code(Decision::Attack),
            MOAE_DECISION_ATTACK as i32
        );
        assert_eq!(
            abi::decision_code(Decision::Unsure),
            MOAE_DECISION_UNSURE as i32
        );
        let sources = [
            (FaceSource::Detector, MOAE_FACE_SOURCE_DETECTOR),
            (FaceSource::Caller, MOAE_FACE_SOURCE_CALLER),
            (FaceSource::WholeFrame, MOAE_FACE_SOURCE_WHOLE_FRAME),
        ];
        for (s, c) in sources {
            assert_eq!(abi::face_source_code(s), c as i32);
        }
    }

    #[test]
    fn quality_bits_are_the_runtimes() {
        let all = moae_runtime::QualityFlags::ALL;
        assert_eq!(all.len(), super::QUALITY_BITS.len());
        for ((flag, name), bit) in all.iter().zip(super::QUALITY_BITS) {
            assert_eq!(flag.bits(), bit, "{name}");
        }
    }

    #[test]
    fn header_version_matches_the_crate() {
        let v: Vec<u32> = super::VERSION
            .split('.')
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(
            v,
            [
                super::MOAE_VERSION_MAJOR,
                super::MOAE_VERSION_MINOR,
                super::MOAE_VERSION_PATCH
            ]
        );
    }
}
