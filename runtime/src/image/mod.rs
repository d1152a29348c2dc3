//! Images and their geometry: camera frames ([`frame`]), face boxes and the caller's box
//! conventions ([`geometry`]), the square crop around a face ([`crop`]), the fused
//! crop + colour conversion + resample ([`resample`]) and still-image decoding ([`decode`]).

pub mod crop;
pub(crate) mod decode;
pub mod frame;
pub mod geometry;
pub mod resample;
