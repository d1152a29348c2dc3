//! Images and their geometry: camera frames ([`frame`]), the buffer <-> upright map
//! ([`orient`]), face boxes and the caller's box conventions ([`geometry`]), the square crop around a face ([`crop`]), the fused
//! crop + colour conversion + resample ([`resample`]) and still-image decoding ([`decode`]).

pub mod crop;
pub(crate) mod decode;
pub mod frame;
pub mod geometry;
pub(crate) mod orient;
pub mod resample;
