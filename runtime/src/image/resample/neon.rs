//! NEON (`std::arch::aarch64`) versions of the pass's two hot row kernels. They multiply and
//! add in exactly the order of the portable code ([`super::Portable`]) and never fuse a
//! multiply-add, so their output is bit-identical to it (checked by `isa_parity`).

use super::{Plane, RowKernels, Taps, YuvCoeffs};
use std::arch::aarch64::*;

pub(crate) struct Neon;

// SAFETY (both calls): NEON is part of the aarch64 baseline; every aarch64 CPU has it.
impl RowKernels for Neon {
    #[inline(always)]
    fn vertical(
        plane: &Plane<'_>,
        ty: &Taps,
        r: usize,
        byte_lo: usize,
        span: usize,
        acc: &mut [f32],
    ) {
        unsafe { vertical(plane, ty, r, byte_lo, span, acc) }
    }

    #[inline(always)]
    fn yuv_to_rgb(c: [&mut [f32]; 3], k: &YuvCoeffs) {
        unsafe { yuv_to_rgb(c, k) }
    }
}

/// 16 bytes -> four vectors of 4 f32 (exact: every u8 is an f32).
#[inline]
#[target_feature(enable = "neon")]
fn widen(b: uint8x16_t) -> [float32x4_t; 4] {
    let lo = vmovl_u8(vget_low_u8(b));
    let hi = vmovl_high_u8(b);
    [
        vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo))),
        vcvtq_f32_u32(vmovl_high_u16(lo)),
        vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi))),
        vcvtq_f32_u32(vmovl_high_u16(hi)),
    ]
}

#[inline]
#[target_feature(enable = "neon")]
fn clamp_0_255(x: float32x4_t) -> float32x4_t {
    vminq_f32(vmaxq_f32(x, vdupq_n_f32(0.0)), vdupq_n_f32(255.0))
}

/// 16 columns at a time, all of the row's taps summed in registers (the portable code streams
/// the accumulator through memory once per tap).
#[target_feature(enable = "neon")]
fn vertical(plane: &Plane<'_>, ty: &Taps, r: usize, byte_lo: usize, span: usize, acc: &mut [f32]) {
    let acc = &mut acc[..span];
    let ws = &ty.w[ty.off[r] as usize..ty.off[r + 1] as usize];
    let stride = plane.stride;
    let base = ty.start[r] as usize * stride + byte_lo;
    // Every byte the loops read, checked once: the unchecked loads below stay inside.
    assert!(
        !ws.is_empty() && base + (ws.len() - 1) * stride + span <= plane.data.len(),
        "vertical taps reach past the plane"
    );
    let src = plane.data.as_ptr();
    let body = span / 16 * 16;
    for col in (0..body).step_by(16) {
        let mut a = [vdupq_n_f32(0.0); 4];
        for (j, &w) in ws.iter().enumerate() {
            // SAFETY: base + j*stride + col + 16 <= base + (len-1)*stride + span (asserted).
            let px = widen(unsafe { vld1q_u8(src.add(base + j * stride + col)) });
            let wv = vdupq_n_f32(w);
            for (a, p) in a.iter_mut().zip(px) {
                let prod = vmulq_f32(wv, p);
                *a = if j == 0 { prod } else { vaddq_f32(*a, prod) };
            }
        }
        for (i, a) in a.into_iter().enumerate() {
            // SAFETY: col + 16 <= body <= span = acc.len().
            unsafe { vst1q_f32(acc.as_mut_ptr().add(col + 4 * i), a) };
        }
    }
    for (i, out) in acc.iter_mut().enumerate().skip(body) {
        let mut v = 0.0f32;
        for (j, &w) in ws.iter().enumerate() {
            let p = w * plane.data[base + j * stride + i] as f32;
            v = if j == 0 { p } else { v + p };
        }
        *out = v;
    }
}

#[target_feature(enable = "neon")]
fn yuv_to_rgb([c0, c1, c2]: [&mut [f32]; 3], k: &YuvCoeffs) {
    let n = c0.len();
    assert!(c1.len() == n && c2.len() == n, "YUV rows differ in length");
    let (yoff, ys, cs) = (
        vdupq_n_f32(k.y_offset),
        vdupq_n_f32(k.y_scale),
        vdupq_n_f32(k.c_scale),
    );
    let half = vdupq_n_f32(128.0);
    let (kr, kgu, kgv, kb) = (
        vdupq_n_f32(k.kr),
        vdupq_n_f32(k.kg_u),
        vdupq_n_f32(k.kg_v),
        vdupq_n_f32(k.kb),
    );
    let body = n / 4 * 4;
    for i in (0..body).step_by(4) {
        // SAFETY: i + 4 <= body <= n, the length of all three rows (asserted).
        unsafe {
            let (p0, p1, p2) = (
                c0.as_mut_ptr().add(i),
                c1.as_mut_ptr().add(i),
                c2.as_mut_ptr().add(i),
            );
            let yy = vmulq_f32(vsubq_f32(vld1q_f32(p0), yoff), ys);
            let uu = vmulq_f32(vsubq_f32(vld1q_f32(p1), half), cs);
            let vv = vmulq_f32(vsubq_f32(vld1q_f32(p2), half), cs);
            let r = vaddq_f32(yy, vmulq_f32(kr, vv));
            let g = vsubq_f32(vsubq_f32(yy, vmulq_f32(kgu, uu)), vmulq_f32(kgv, vv));
            let b = vaddq_f32(yy, vmulq_f32(kb, uu));
            vst1q_f32(p0, clamp_0_255(r));
            vst1q_f32(p1, clamp_0_255(g));
            vst1q_f32(p2, clamp_0_255(b));
        }
    }
    for i in body..n {
        [c0[i], c1[i], c2[i]] = k.rgb(c0[i], c1[i], c2[i]);
    }
}
