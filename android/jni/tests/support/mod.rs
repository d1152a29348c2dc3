//! Test fixtures for the host JVM test: a tiny libmoae-format ONNX model and synthetic frames.

/// The tiny model is the C ABI tests' own: one fixture behind every binding's tests.
#[path = "../../../../ffi/tests/support/mod.rs"]
mod ffi_support;
// Each test binary includes this module; not every one uses both models.
#[allow(unused_imports)]
pub use ffi_support::{tiny_model, tiny_typed_model};

/// A deterministic, non-symmetric test pattern value for pixel (x, y), channel c.
pub fn pattern(x: u32, y: u32, c: u32, seed: u32) -> u8 {
    let v = x.wrapping_mul(7 + c) ^ y.wrapping_mul(13 + 3 * c) ^ seed.wrapping_mul(31);
    (v.wrapping_add(x * y / 3) % 251) as u8
}

/// RGBA rows of `stride` bytes (padding bytes are 0xEE, never read as pixels).
pub fn rgba(w: u32, h: u32, stride: usize, seed: u32) -> Vec<u8> {
    let mut out = vec![0xEE; stride * h as usize];
    for y in 0..h {
        for x in 0..w {
            let o = y as usize * stride + x as usize * 4;
            for c in 0..3 {
                out[o + c as usize] = pattern(x, y, c, seed);
            }
            out[o + 3] = 255;
        }
    }
    out
}

/// A Y plane of `y_stride` and an interleaved V,U plane of `uv_stride` (NV21 order).
pub fn yuv_planes(
    w: u32,
    h: u32,
    y_stride: usize,
    uv_stride: usize,
    seed: u32,
) -> (Vec<u8>, Vec<u8>) {
    let mut y = vec![0x10; y_stride * h as usize];
    for r in 0..h {
        for x in 0..w {
            y[r as usize * y_stride + x as usize] = pattern(x, r, 0, seed);
        }
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut vu = vec![0x80; uv_stride * ch as usize];
    for r in 0..ch {
        for x in 0..cw {
            let o = r as usize * uv_stride + 2 * x as usize;
            vu[o] = pattern(x, r, 1, seed).wrapping_add(64);
            vu[o + 1] = pattern(x, r, 2, seed).wrapping_sub(32);
        }
    }
    (y, vu)
}
