//! One resampling pass over a frame's planes: vertical sums of whole source rows, horizontal
//! taps, colour conversion, and each output row scattered to its upright place.

use super::{Normalize, Taps, YuvCoeffs};
use crate::image::crop::Square;
use crate::image::frame::{Frame, Layout, Plane};
use crate::image::orient::{Orient, PixelMap};

/// Scratch buffers reused across rows (and, through a thread-local, across calls).
#[derive(Default)]
pub(crate) struct Scratch {
    acc: Vec<f32>,
    acc2: Vec<f32>,
    ch: [Vec<f32>; 3],
}

thread_local! {
    pub(super) static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
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

/// Where the rows of the buffer-oriented S x S grid land in the upright output: cell `(k, r)`
/// of the grid is the orientation map's pixel `(k, r)` of an S x S buffer. Only where the
/// values are written depends on the orientation, so every ISA stays bit-identical.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowScatter {
    map: PixelMap,
    s: usize,
}

impl RowScatter {
    pub(super) fn new(frame: &Frame<'_>, s: usize) -> RowScatter {
        let grid = Orient::new(frame.rotation, frame.mirrored, s as u32, s as u32);
        RowScatter {
            map: PixelMap::buffer_to_upright(&grid),
            s,
        }
    }

    /// Output index of row `r`'s first value and the step between consecutive values.
    #[inline(always)]
    fn row(&self, r: usize) -> (isize, isize) {
        let s = self.s as i64;
        let (x0, y0) = self.map.map(0, r as i64);
        let (x1, y1) = self.map.map(1, r as i64);
        ((y0 * s + x0) as isize, ((y1 - y0) * s + (x1 - x0)) as isize)
    }

    /// Normalises row `r` of each channel (`vals`) into its place in `out` (CHW, S x S).
    #[inline(always)]
    fn write(&self, r: usize, vals: [&[f32]; 3], norm: &Normalize, out: &mut [f32]) {
        let s = self.s;
        let plane = s * s;
        let (start, step) = self.row(r);
        for c in 0..3 {
            let (sc, b) = (norm.scale[c], norm.bias[c]);
            let dst = &mut out[c * plane..(c + 1) * plane];
            let src = vals[c];
            // A row of the grid is a row of the output (forwards or backwards) or a column.
            match step {
                1 => {
                    let at = start as usize;
                    for (d, &v) in dst[at..at + s].iter_mut().zip(src) {
                        *d = v * sc + b;
                    }
                }
                -1 => {
                    let end = start as usize + 1;
                    for (d, &v) in dst[end - s..end].iter_mut().rev().zip(src) {
                        *d = v * sc + b;
                    }
                }
                _ => {
                    for (k, &v) in src.iter().enumerate() {
                        dst[(start + k as isize * step) as usize] = v * sc + b;
                    }
                }
            }
        }
    }
}

#[inline(always)]
pub(super) fn resample_impl<K: RowKernels>(
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
        let scatter = RowScatter::new(frame, s);
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
                        scatter.write(r, [c0, c0, c0], norm, out);
                    } else {
                        horizontal(acc, &tx, ps, offsets[0], c0);
                        horizontal(acc, &tx, ps, offsets[1], c1);
                        horizontal(acc, &tx, ps, offsets[2], c2);
                        scatter.write(r, [c0, c1, c2], norm, out);
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
                    scatter.write(r, [c0, c1, c2], norm, out);
                }
            }
        }
    }
}
