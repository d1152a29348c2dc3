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

mod api;
mod convert;
mod guard;
mod image_file;
mod log;
mod sized;
mod status;
pub mod types;

pub use api::*;
pub use image_file::*;
pub use types::*;

/// Major version of libmoae (same as the crate's).
pub const MOAE_VERSION_MAJOR: u32 = 0;
/// Minor version of libmoae.
pub const MOAE_VERSION_MINOR: u32 = 1;
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
/// Most boxes in one `moae_detect` call (they run in chunks, so memory stays bounded).
pub const MOAE_MAX_BOXES: u32 = 4096;

// The header's limits are the runtime's.
const _: () = {
    assert!(MOAE_MAX_INTRA_OP_THREADS as usize == moae_runtime::MAX_INTRA_OP_THREADS);
    assert!(MOAE_MAX_SESSIONS as usize == moae_runtime::MAX_SESSIONS);
    assert!(MOAE_MAX_BOXES as usize == moae_runtime::abi::MAX_BOXES);
    assert!(MOAE_MAX_CROP_SCALE == moae_runtime::MAX_CROP_SCALE);
};

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
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
