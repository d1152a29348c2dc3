//! The fused preprocessing pass: crop, rotate, resample, convert colour and normalise in one
//! sweep over the source planes, writing the model's CHW f32 input.
//!
//! **Filter** (per axis, separable, defined in the source plane's pixel grid where pixel `p`
//! covers `[p, p+1)`): with `t` = source pixels per output pixel,
//! - `t >= 1` (downscaling, e.g. 1080 -> 224): *area average* — output `k` is the mean of the
//!   source over `[a + k t, a + (k+1) t)`, each source pixel weighted by its overlap. This is
//!   exact box filtering (OpenCV `INTER_AREA`), free of the aliasing bilinear shows at 5x.
//! - `t < 1` (upscaling small face crops): *bilinear*, sampling at `a + (k + 0.5) t - 0.5`,
//!   clamped to the plane.
//!
//! Chroma planes of 4:2:0 frames use the same rule in their own (half-resolution) grid,
//! chroma sample `j` covering luma `[2j, 2j+2)` (centred siting, as JFIF).
//!
//! **Colour**: BT.601 by default (Android camera frames, JPEG), BT.709 with
//! [`crate::YuvMatrix::Bt709`] (HD video, iOS HD capture). Full range (JFIF; Android camera
//! NV21/YUV_420_888) by default, limited (16-235/240) with [`crate::YuvRange::Limited`]. Y, U and V are area-averaged
//! *before* conversion; the conversion is affine, so this equals converting then averaging
//! except where the per-pixel conversion would clip to [0, 255] (saturated colours), where it
//! differs slightly.
//!
//! **Rotation and mirroring** are folded into the mapping, both ways through
//! [`crate::image::orient`]: the crop square of the upright, un-mirrored frame is mapped to the
//! stored buffer ([`crate::image::crop::to_source`]; a square stays a square), resampled in the
//! buffer's orientation row by row, and each row is scattered to its upright place in the
//! output. The values are the buffer's; only where they are written changes, so every [`Isa`]
//! stays bit-identical with mirroring too.
//!
//! **Speed**: per output row the vertical pass sums a few whole source rows (contiguous,
//! vectorised u8 -> f32 multiply-adds), then the horizontal pass applies the precomputed taps
//! to that one f32 row. Only the source rows inside the crop are read. The vertical pass and
//! the YUV -> RGB conversion run as explicit NEON on aarch64 ([`neon`]); on x86-64 the whole
//! pass is compiled a second time for AVX2. Every [`Isa`] gives bit-identical output: the
//! SIMD code multiplies and adds in the scalar order, without fused multiply-add.

use crate::image::crop::Square;
use crate::image::frame::{Frame, YuvMatrix, YuvRange};

#[cfg(test)]
mod isa_parity;
#[cfg(target_arch = "aarch64")]
mod neon;
mod pass;
mod taps;

#[cfg(target_arch = "aarch64")]
use crate::image::frame::Plane;
#[cfg(target_arch = "aarch64")]
use pass::RowKernels;
#[cfg(target_arch = "x86_64")]
use pass::Scratch;
use pass::{resample_impl, Portable, SCRATCH};
pub(crate) use taps::Taps;

/// Per-channel affine map from 0..=255 RGB to the model input: `v * scale + bias`
/// (= `(v / 255 - mean) / std`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Normalize {
    pub scale: [f32; 3],
    pub bias: [f32; 3],
}

impl Normalize {
    pub fn new(mean: [f32; 3], std: [f32; 3]) -> Self {
        let mut n = Normalize {
            scale: [0.0; 3],
            bias: [0.0; 3],
        };
        for c in 0..3 {
            n.scale[c] = 1.0 / (255.0 * std[c]);
            n.bias[c] = -mean[c] / std[c];
        }
        n
    }
}

/// The instruction sets the pass can run with on this build's architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    /// The portable code compiled for the target's baseline (SSE2 on x86-64).
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Isa {
    /// The fastest one this CPU runs (NEON is part of every aarch64 CPU).
    pub(crate) fn best() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
        #[cfg(target_arch = "aarch64")]
        return Isa::Neon;
        #[allow(unreachable_code)]
        Isa::Scalar
    }
}

/// Writes the `3 x s x s` normalised input for the buffer square `sq` (see
/// [`crate::image::crop::to_source`]) into `out`, upright and un-mirrored.
pub(crate) fn resample_into(
    frame: &Frame<'_>,
    sq: Square,
    s: usize,
    norm: &Normalize,
    out: &mut [f32],
) {
    resample_with(Isa::best(), frame, sq, s, norm, out)
}

/// [`resample_into`] with the given instruction set (one that [`Isa::best`] allows).
pub(crate) fn resample_with(
    isa: Isa,
    frame: &Frame<'_>,
    sq: Square,
    s: usize,
    norm: &Normalize,
    out: &mut [f32],
) {
    SCRATCH.with(|cell| {
        let mut scratch = cell.borrow_mut();
        match isa {
            // The whole pass compiled twice on x86-64: for AVX2 (the u8 -> f32 widening of the
            // vertical pass runs 8 wide instead of SSE2's 4) and for the baseline.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                assert!(
                    std::arch::is_x86_feature_detected!("avx2"),
                    "AVX2 not available"
                );
                // SAFETY: AVX2 support was checked just above.
                unsafe { resample_avx2(frame, sq, s, norm, out, &mut scratch) }
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => resample_impl::<neon::Neon>(frame, sq, s, norm, out, &mut scratch),
            Isa::Scalar => resample_impl::<Portable>(frame, sq, s, norm, out, &mut scratch),
        }
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn resample_avx2(
    frame: &Frame<'_>,
    sq: Square,
    s: usize,
    norm: &Normalize,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    resample_impl::<Portable>(frame, sq, s, norm, out, scratch)
}

/// YUV -> RGB coefficients of a matrix and range: R = Y' + kr V', G = Y' - kg_u U' - kg_v V',
/// B = Y' + kb U', from the standard's luma weights Kr, Kb (Kg = 1 - Kr - Kb): kr = 2(1 - Kr),
/// kb = 2(1 - Kb), kg_u = 2 Kb (1 - Kb) / Kg, kg_v = 2 Kr (1 - Kr) / Kg. Written out to six
/// decimals (the precision the standards' derived tables give): BT.601 Kr 0.299, Kb 0.114;
/// BT.709 Kr 0.2126, Kb 0.0722.
#[derive(Clone, Copy, Debug)]
pub(crate) struct YuvCoeffs {
    pub kr: f32,
    pub kg_u: f32,
    pub kg_v: f32,
    pub kb: f32,
    pub y_offset: f32,
    pub y_scale: f32,
    pub c_scale: f32,
}

impl YuvCoeffs {
    pub fn new(range: YuvRange, matrix: YuvMatrix) -> Self {
        let (y_offset, y_scale, c_scale) = match range {
            YuvRange::Full => (0.0, 1.0, 1.0),
            YuvRange::Limited => (16.0, 255.0 / 219.0, 255.0 / 224.0),
        };
        let (kr, kg_u, kg_v, kb) = match matrix {
            YuvMatrix::Bt601 => (1.402, 0.344_136, 0.714_136, 1.772),
            YuvMatrix::Bt709 => (1.5748, 0.187_324, 0.468_124, 1.8556),
        };
        YuvCoeffs {
            kr,
            kg_u,
            kg_v,
            kb,
            y_offset,
            y_scale,
            c_scale,
        }
    }

    /// One pixel; the SIMD kernels compute exactly this, in this order.
    #[inline(always)]
    pub fn rgb(&self, y: f32, u: f32, v: f32) -> [f32; 3] {
        let yy = (y - self.y_offset) * self.y_scale;
        let uu = (u - 128.0) * self.c_scale;
        let vv = (v - 128.0) * self.c_scale;
        [
            (yy + self.kr * vv).clamp(0.0, 255.0),
            (yy - self.kg_u * uu - self.kg_v * vv).clamp(0.0, 255.0),
            (yy + self.kb * uu).clamp(0.0, 255.0),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RGB of full- or limited-range Y'CbCr by a matrix's luma weights, straight from the
    /// standards' definitions (ITU-R BT.601 / BT.709), in f64: the expected values of
    /// `yuv_patches_decode_by_their_matrix`, computed without the code's constants.
    fn reference_rgb(y: u8, u: u8, v: u8, kr: f64, kb: f64, limited: bool) -> [f64; 3] {
        let (y, cb, cr) = if limited {
            (
                (y as f64 - 16.0) / 219.0,
                (u as f64 - 128.0) / 224.0,
                (v as f64 - 128.0) / 224.0,
            )
        } else {
            (
                y as f64 / 255.0,
                (u as f64 - 128.0) / 255.0,
                (v as f64 - 128.0) / 255.0,
            )
        };
        let kg = 1.0 - kr - kb;
        // E'Y = Kr R + Kg G + Kb B, Cb = (B - Y) / (2 (1 - Kb)), Cr = (R - Y) / (2 (1 - Kr)).
        let r = y + 2.0 * (1.0 - kr) * cr;
        let b = y + 2.0 * (1.0 - kb) * cb;
        let g = (y - kr * r - kb * b) / kg;
        [r, g, b].map(|c| (c * 255.0).clamp(0.0, 255.0))
    }

    /// A 16x16 NV12 frame of four 8x8 colour patches (skin, sky, foliage, a saturated red),
    /// decoded to a 2x2 output (one output pixel per patch, exact area averages): each matrix
    /// and range gives the RGB the standards define, on the portable and the SIMD pass.
    #[test]
    fn yuv_patches_decode_by_their_matrix() {
        use crate::image::frame::PixelFormat;
        let patches: [[u8; 3]; 4] = [
            [150, 110, 160],
            [120, 170, 100],
            [90, 100, 110],
            [80, 90, 230],
        ];
        let (w, h) = (16usize, 16usize);
        let mut y = vec![0u8; w * h];
        let mut uv = vec![0u8; w * h / 2];
        for row in 0..h {
            for col in 0..w {
                let p = patches[(row / 8) * 2 + col / 8];
                y[row * w + col] = p[0];
                if row % 2 == 0 && col % 2 == 0 {
                    let o = (row / 2) * w + col;
                    uv[o] = p[1];
                    uv[o + 1] = p[2];
                }
            }
        }
        let frame = Frame::nv(PixelFormat::Nv12, &y, w, &uv, w, w as u32, h as u32).unwrap();
        // Output in 0..255 (scale 1, bias 0), channel-major 3 x 2 x 2.
        let norm = Normalize::new([0.0; 3], [1.0 / 255.0; 3]);
        let sq = Square {
            x: 0.0,
            y: 0.0,
            side: 16.0,
        };
        let standards = [
            (YuvMatrix::Bt601, 0.299, 0.114),
            (YuvMatrix::Bt709, 0.2126, 0.0722),
        ];
        let mut isas = vec![Isa::Scalar];
        if Isa::best() != Isa::Scalar {
            isas.push(Isa::best());
        }
        for (matrix, kr, kb) in standards {
            for range in [YuvRange::Full, YuvRange::Limited] {
                let f = frame.with_yuv_matrix(matrix).with_yuv_range(range);
                for &isa in &isas {
                    let mut out = vec![f32::NAN; 3 * 4];
                    resample_with(isa, &f, sq, 2, &norm, &mut out);
                    for (i, p) in patches.iter().enumerate() {
                        let want =
                            reference_rgb(p[0], p[1], p[2], kr, kb, range == YuvRange::Limited);
                        for c in 0..3 {
                            let got = out[c * 4 + i] as f64;
                            assert!(
                                (got - want[c]).abs() < 0.02,
                                "{matrix:?} {range:?} {isa:?} patch {i} channel {c}: {got} vs {want:?}"
                            );
                        }
                    }
                }
            }
        }
        // The two matrices really differ on these patches (else the test could not fail).
        let a = reference_rgb(80, 90, 230, 0.299, 0.114, false);
        let b = reference_rgb(80, 90, 230, 0.2126, 0.0722, false);
        assert!((a[1] - b[1]).abs() > 10.0, "{a:?} vs {b:?}");
    }
}
