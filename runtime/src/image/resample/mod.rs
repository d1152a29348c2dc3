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
//! **Rotation and mirroring** are folded into the mapping: the crop square of the upright,
//! un-mirrored frame is mapped to the stored buffer (a square stays a square; a mirrored
//! buffer's square is reflected left-right, see [`crate::image::crop::to_source`]), resampled in
//! the buffer's orientation row by row, and each row is scattered to its place in the output
//! (reversed for a mirrored buffer, then rotated). The values are the buffer's; only where
//! they are written changes, so every [`Isa`] stays bit-identical with mirroring too.
//!
//! **Speed**: per output row the vertical pass sums a few whole source rows (contiguous,
//! vectorised u8 -> f32 multiply-adds), then the horizontal pass applies the precomputed taps
//! to that one f32 row. Only the source rows inside the crop are read. The vertical pass and
//! the YUV -> RGB conversion run as explicit NEON on aarch64 ([`neon`]); on x86-64 the whole
//! pass is compiled a second time for AVX2. Every [`Isa`] gives bit-identical output: the
//! SIMD code multiplies and adds in the scalar order, without fused multiply-add.

use crate::image::crop::Square;
use crate::image::frame::{Frame, Layout, Plane, Rotation, YuvMatrix, YuvRange};

#[cfg(test)]
mod isa_parity;
#[cfg(target_arch = "aarch64")]
mod neon;

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

/// Resampling taps for one axis: output `k` = sum over `i` of `w[off[k]+i] * src[start[k]+i]`.
#[derive(Debug, Default)]
pub(crate) struct Taps {
    pub start: Vec<u32>,
    pub off: Vec<u32>,
    pub w: Vec<f32>,
    /// The same taps at a fixed width (zero-padded, start moved left at the plane's end) so
    /// the horizontal pass runs a fully unrolled loop: output `k` reads
    /// `src[fstart[k] .. fstart[k] + width]` with weights `fixed[k * width ..][..width]`.
    pub width: usize,
    pub fstart: Vec<u32>,
    pub fixed: Vec<f32>,
    /// Union of the source range read, `[lo, hi)`.
    pub lo: usize,
    pub hi: usize,
}

impl Taps {
    /// Taps for `n` outputs over the source span `[a, a + n t)` of a plane `len` pixels long.
    pub fn new(a: f64, t: f64, n: usize, len: usize) -> Taps {
        let mut taps = Taps {
            start: Vec::with_capacity(n),
            off: Vec::with_capacity(n + 1),
            w: Vec::with_capacity(n * (t.ceil() as usize + 2)),
            width: 0,
            fstart: Vec::with_capacity(n),
            fixed: Vec::new(),
            lo: usize::MAX,
            hi: 0,
        };
        let lenf = len as f64;
        taps.off.push(0);
        for k in 0..n {
            let first = taps.w.len();
            let start;
            if t >= 1.0 {
                let lo = (a + k as f64 * t).clamp(0.0, lenf);
                let hi = (a + (k + 1) as f64 * t).clamp(0.0, lenf);
                let p0 = (lo.floor() as usize).min(len - 1);
                let p1 = (hi.ceil() as usize).clamp(p0 + 1, len);
                start = p0;
                for p in p0..p1 {
                    let ov = (hi.min(p as f64 + 1.0) - lo.max(p as f64)).max(0.0);
                    taps.w.push(ov as f32);
                }
                // Trim zero-weight ends so the union range stays tight.
                let sum: f32 = taps.w[first..].iter().sum();
                if sum <= 0.0 {
                    // Degenerate (crop edge exactly on the plane edge): take the nearest pixel.
                    taps.w.truncate(first);
                    taps.w.push(1.0);
                } else {
                    taps.w[first..].iter_mut().for_each(|w| *w /= sum);
                }
            } else {
                let x = (a + (k as f64 + 0.5) * t - 0.5).clamp(0.0, lenf - 1.0);
                let i0 = x.floor() as usize;
                let f = (x - i0 as f64) as f32;
                start = i0;
                if f > 0.0 && i0 + 1 < len {
                    taps.w.push(1.0 - f);
                    taps.w.push(f);
                } else {
                    taps.w.push(1.0);
                }
            }
            let count = taps.w.len() - first;
            taps.lo = taps.lo.min(start);
            taps.hi = taps.hi.max(start + count);
            taps.start.push(start as u32);
            taps.off.push(taps.w.len() as u32);
        }
        let width = (0..n)
            .map(|k| (taps.off[k + 1] - taps.off[k]) as usize)
            .max()
            .unwrap_or(1);
        taps.width = width;
        taps.fixed = vec![0.0; n * width];
        for k in 0..n {
            let start = taps.start[k] as usize;
            let fs = start.min(len - width);
            let ws = &taps.w[taps.off[k] as usize..taps.off[k + 1] as usize];
            let shift = start - fs;
            taps.fixed[k * width + shift..k * width + shift + ws.len()].copy_from_slice(ws);
            taps.fstart.push(fs as u32);
            taps.lo = taps.lo.min(fs);
            taps.hi = taps.hi.max(fs + width);
        }
        taps
    }
}

/// Scratch buffers reused across rows (and, through a thread-local, across calls).
#[derive(Default)]
pub(crate) struct Scratch {
    acc: Vec<f32>,
    acc2: Vec<f32>,
    ch: [Vec<f32>; 3],
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// The two hot row kernels of the pass, per instruction set.
pub(crate) trait RowKernels {
    /// Vertical pass: `acc[i] = sum_j wy_j * row_j[lo*ps + i]` over `span` bytes of each row.
    fn vertical(
        plane: &Plane<'_>,
        ty: &Taps,
        r: usize,
        byte_lo: usize,
        span: usize,
        acc: &mut [f32],
    );
    /// In place: (Y, U, V) -> (R, G, B), clamped to 0..=255.
    fn yuv_to_rgb(c: [&mut [f32]; 3], k: &YuvCoeffs);
}

/// Plain Rust, vectorised by the compiler for whatever the build targets.
pub(crate) struct Portable;

impl RowKernels for Portable {
    #[inline(always)]
    fn vertical(
        plane: &Plane<'_>,
        ty: &Taps,
        r: usize,
        byte_lo: usize,
        span: usize,
        acc: &mut [f32],
    ) {
        vertical_kernel(plane, ty, r, byte_lo, span, acc)
    }
    #[inline(always)]
    fn yuv_to_rgb([c0, c1, c2]: [&mut [f32]; 3], k: &YuvCoeffs) {
        for ((r, g), b) in c0.iter_mut().zip(c1.iter_mut()).zip(c2.iter_mut()) {
            [*r, *g, *b] = k.rgb(*r, *g, *b);
        }
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

/// Vertical pass: `acc[i] = sum_j wy_j * row_j[lo*ps + i]` over the `span` bytes of each row.
#[inline(always)]
fn vertical_kernel(
    plane: &Plane<'_>,
    ty: &Taps,
    r: usize,
    byte_lo: usize,
    span: usize,
    acc: &mut [f32],
) {
    let acc = &mut acc[..span];
    let s = ty.start[r] as usize;
    let ws = &ty.w[ty.off[r] as usize..ty.off[r + 1] as usize];
    for (j, &w) in ws.iter().enumerate() {
        let base = (s + j) * plane.stride + byte_lo;
        let row = &plane.data[base..base + span];
        if j == 0 {
            for (a, &p) in acc.iter_mut().zip(row) {
                *a = w * p as f32;
            }
        } else {
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += w * p as f32;
            }
        }
    }
}

/// Horizontal pass over an accumulated row: `out[k] = sum_i w * acc[(start+i-lo)*ps + ch_off]`.
#[inline(always)]
fn horizontal(acc: &[f32], tx: &Taps, ps: usize, ch_off: usize, out: &mut [f32]) {
    match tx.width {
        1 => horizontal_fixed::<1>(acc, tx, ps, ch_off, out),
        2 => horizontal_fixed::<2>(acc, tx, ps, ch_off, out),
        3 => horizontal_fixed::<3>(acc, tx, ps, ch_off, out),
        4 => horizontal_fixed::<4>(acc, tx, ps, ch_off, out),
        5 => horizontal_fixed::<5>(acc, tx, ps, ch_off, out),
        6 => horizontal_fixed::<6>(acc, tx, ps, ch_off, out),
        7 => horizontal_fixed::<7>(acc, tx, ps, ch_off, out),
        8 => horizontal_fixed::<8>(acc, tx, ps, ch_off, out),
        _ => horizontal_var(acc, tx, ps, ch_off, out),
    }
}

#[inline(always)]
fn horizontal_fixed<const K: usize>(
    acc: &[f32],
    tx: &Taps,
    ps: usize,
    ch_off: usize,
    out: &mut [f32],
) {
    for ((o, &fs), w) in out.iter_mut().zip(&tx.fstart).zip(tx.fixed.chunks_exact(K)) {
        let base = (fs as usize - tx.lo) * ps + ch_off;
        let a = &acc[base..base + (K - 1) * ps + 1];
        let mut v = 0.0f32;
        for i in 0..K {
            v += w[i] * a[i * ps];
        }
        *o = v;
    }
}

/// Wide taps (strong downscaling): a plain loop over each output's own taps.
fn horizontal_var(acc: &[f32], tx: &Taps, ps: usize, ch_off: usize, out: &mut [f32]) {
    for (k, o) in out.iter_mut().enumerate() {
        let s = tx.start[k] as usize - tx.lo;
        let ws = &tx.w[tx.off[k] as usize..tx.off[k + 1] as usize];
        let mut v = 0.0f32;
        let mut idx = s * ps + ch_off;
        for &w in ws {
            v += w * acc[idx];
            idx += ps;
        }
        *o = v;
    }
}

/// Bytes of the row span `[lo, hi)` (in samples) of a plane with pixel stride `ps`, reading
/// only up to the last sample byte needed at channel offset `max_off`.
fn span_bytes(tx: &Taps, ps: usize, max_off: usize) -> (usize, usize) {
    (tx.lo * ps, (tx.hi - tx.lo - 1) * ps + max_off + 1)
}

/// Where row `r`, column `k` of the buffer-oriented S x S grid lands in the upright output.
/// A mirrored buffer's column `k` is column `s-1-k` of the un-mirrored scene (the flip comes
/// before the rotation, as in EXIF), so mirroring only changes the write order: the values,
/// and therefore the ISA parity, are untouched.
#[inline(always)]
fn scatter_row(
    rotation: Rotation,
    mirrored: bool,
    s: usize,
    r: usize,
    vals: [&[f32]; 3],
    norm: &Normalize,
    out: &mut [f32],
) {
    let plane = s * s;
    for c in 0..3 {
        let (sc, b) = (norm.scale[c], norm.bias[c]);
        let dst = &mut out[c * plane..(c + 1) * plane];
        let src = vals[c];
        match (rotation, mirrored) {
            (Rotation::R0, false) | (Rotation::R180, true) => {
                let row = if mirrored { s - 1 - r } else { r };
                for (d, &v) in dst[row * s..(row + 1) * s].iter_mut().zip(src) {
                    *d = v * sc + b;
                }
            }
            (Rotation::R180, false) | (Rotation::R0, true) => {
                let row = if mirrored { r } else { s - 1 - r };
                for (d, &v) in dst[row * s..(row + 1) * s].iter_mut().rev().zip(src) {
                    *d = v * sc + b;
                }
            }
            // Un-mirrored column k: (oy, ox) = (k, s-1-r)
            (Rotation::R90, _) => {
                let col = s - 1 - r;
                for (k, &v) in src.iter().enumerate() {
                    let k = if mirrored { s - 1 - k } else { k };
                    dst[k * s + col] = v * sc + b;
                }
            }
            // Un-mirrored column k: (oy, ox) = (s-1-k, r)
            (Rotation::R270, _) => {
                for (k, &v) in src.iter().enumerate() {
                    let k = if mirrored { s - 1 - k } else { k };
                    dst[(s - 1 - k) * s + r] = v * sc + b;
                }
            }
        }
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

#[inline(always)]
fn resample_impl<K: RowKernels>(
    frame: &Frame<'_>,
    sq: Square,
    s: usize,
    norm: &Normalize,
    out: &mut [f32],
    scratch: &mut Scratch,
) {
    debug_assert_eq!(out.len(), 3 * s * s);
    {
        let Scratch { acc, acc2, ch } = scratch;
        for c in ch.iter_mut() {
            c.resize(s, 0.0);
        }
        let (w, h) = (frame.width as usize, frame.height as usize);
        let t = sq.side / s as f64;
        match frame.layout {
            Layout::Packed {
                plane,
                offsets,
                channels,
            } => {
                let tx = Taps::new(sq.x, t, s, w);
                let ty = Taps::new(sq.y, t, s, h);
                let ps = plane.pixel_stride;
                let max_off = *offsets.iter().max().unwrap_or(&0);
                let (blo, span) = span_bytes(&tx, ps, max_off);
                acc.resize(span, 0.0);
                for r in 0..s {
                    K::vertical(&plane, &ty, r, blo, span, acc);
                    let [c0, c1, c2] = ch;
                    if channels == 1 {
                        horizontal(acc, &tx, ps, 0, c0);
                        scatter_row(
                            frame.rotation,
                            frame.mirrored,
                            s,
                            r,
                            [c0, c0, c0],
                            norm,
                            out,
                        );
                    } else {
                        horizontal(acc, &tx, ps, offsets[0], c0);
                        horizontal(acc, &tx, ps, offsets[1], c1);
                        horizontal(acc, &tx, ps, offsets[2], c2);
                        scatter_row(
                            frame.rotation,
                            frame.mirrored,
                            s,
                            r,
                            [c0, c1, c2],
                            norm,
                            out,
                        );
                    }
                }
            }
            Layout::Yuv {
                y,
                u,
                v,
                interleaved,
            } => {
                let tx = Taps::new(sq.x, t, s, w);
                let ty = Taps::new(sq.y, t, s, h);
                let cx = Taps::new(sq.x / 2.0, t / 2.0, s, w / 2);
                let cy = Taps::new(sq.y / 2.0, t / 2.0, s, h / 2);
                let (ylo, yspan) = span_bytes(&tx, 1, 0);
                acc.resize(yspan, 0.0);
                let coeffs = YuvCoeffs::new(frame.yuv_range, frame.yuv_matrix);
                for r in 0..s {
                    let [c0, c1, c2] = ch;
                    K::vertical(&y, &ty, r, ylo, yspan, acc);
                    horizontal(acc, &tx, 1, 0, c0);
                    match interleaved {
                        Some((uv, uo, vo)) => {
                            let (lo, span) = span_bytes(&cx, 2, 1);
                            acc2.resize(span, 0.0);
                            K::vertical(&uv, &cy, r, lo, span, acc2);
                            horizontal(acc2, &cx, 2, uo, c1);
                            horizontal(acc2, &cx, 2, vo, c2);
                        }
                        None => {
                            let ps = u.pixel_stride;
                            let (lo, span) = span_bytes(&cx, ps, 0);
                            acc2.resize(span, 0.0);
                            K::vertical(&u, &cy, r, lo, span, acc2);
                            horizontal(acc2, &cx, ps, 0, c1);
                            K::vertical(&v, &cy, r, lo, span, acc2);
                            horizontal(acc2, &cx, ps, 0, c2);
                        }
                    }
                    K::yuv_to_rgb([&mut c0[..], &mut c1[..], &mut c2[..]], &coeffs);
                    scatter_row(
                        frame.rotation,
                        frame.mirrored,
                        s,
                        r,
                        [c0, c1, c2],
                        norm,
                        out,
                    );
                }
            }
        }
    }
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

    #[test]
    fn area_taps_of_exact_halving_are_pairs() {
        let t = Taps::new(0.0, 2.0, 3, 6);
        assert_eq!(t.start, vec![0, 2, 4]);
        assert_eq!(t.w, vec![0.5; 6]);
        assert_eq!((t.lo, t.hi), (0, 6));
    }

    #[test]
    fn area_taps_weight_partial_pixels() {
        let t = Taps::new(0.5, 1.5, 2, 4);
        // [0.5, 2.0): pixels 0 (0.5), 1 (1.0); [2.0, 3.5): 2 (1.0), 3 (0.5)
        assert_eq!(t.start, vec![0, 2]);
        let w: Vec<f32> = t.w.iter().map(|w| w * 1.5).collect();
        assert_eq!(w, vec![0.5, 1.0, 1.0, 0.5]);
        assert_eq!(t.off, vec![0, 2, 4]);
    }

    #[test]
    fn bilinear_taps_when_upscaling() {
        let t = Taps::new(0.0, 0.5, 4, 2);
        // centres at -0.25 (clamped 0), 0.25, 0.75, 1.25 -> clamped to 1
        assert_eq!(t.start, vec![0, 0, 0, 1]);
        assert_eq!(t.w, vec![1.0, 0.75, 0.25, 0.25, 0.75, 1.0]);
    }

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
