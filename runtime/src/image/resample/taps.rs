//! Per-axis resampling taps: area average when downscaling, bilinear when upscaling.

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
}
