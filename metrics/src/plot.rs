//! ROC and DET curves as PNG, drawn with the `image` crate (no plotting dependency): axes, grid,
//! tick labels in a built-in 5×7 pixel font, the curve.
//!
//! ROC: x = BPCER (lives called attack), y = 1 − APCER (attacks caught), linear axes.
//! DET (ISO/IEC 30107-3 style): x = APCER, y = BPCER, both on normal-deviate (probit) axes
//! from 0.05 % to 80 %; rates outside are drawn at the border.

use image::{Rgb, RgbImage};

use crate::rates::roc_points;
use crate::scores::Scored;

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("a {0} curve needs both live and attack scores")]
    OneClass(&'static str),
    #[error("plot size {0}×{1} is too small (at least 120×100)")]
    TooSmall(u32, u32),
    #[error("cannot encode a plot as PNG: {0}")]
    Encode(image::ImageError),
}

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
const GRID: Rgb<u8> = Rgb([220, 220, 220]);
const GUIDE: Rgb<u8> = Rgb([170, 170, 170]);
pub const CURVE: Rgb<u8> = Rgb([31, 90, 200]);

const DET_MIN: f64 = 0.0005;
const DET_MAX: f64 = 0.8;
const DET_TICKS: [(f64, &str); 6] = [
    (0.001, "0.1"),
    (0.01, "1"),
    (0.05, "5"),
    (0.2, "20"),
    (0.4, "40"),
    (0.8, "80"),
];

fn check(samples: &[Scored], what: &'static str, w: u32, h: u32) -> Result<(), PlotError> {
    if w < 120 || h < 100 {
        return Err(PlotError::TooSmall(w, h));
    }
    let attacks = samples.iter().filter(|s| s.attack).count();
    if attacks == 0 || attacks == samples.len() {
        return Err(PlotError::OneClass(what));
    }
    Ok(())
}

/// The ROC of a score set as an image.
pub fn roc_image(samples: &[Scored], w: u32, h: u32) -> Result<RgbImage, PlotError> {
    check(samples, "ROC", w, h)?;
    let mut p = Plot::new(w, h);
    let ticks: Vec<(f64, String)> = (0..=5)
        .map(|i| (i as f64 / 5.0, format!("{:.1}", i as f64 / 5.0)))
        .collect();
    p.frame(&ticks, &ticks, "BPCER", "1-APCER", "ROC");
    p.dashed((0.0, 0.0), (1.0, 1.0));
    let pts = roc_points(samples);
    p.polyline(&pts);
    Ok(p.img)
}

/// The DET of a score set as an image.
pub fn det_image(samples: &[Scored], w: u32, h: u32) -> Result<RgbImage, PlotError> {
    check(samples, "DET", w, h)?;
    let mut p = Plot::new(w, h);
    let axis = |r: f64| {
        (probit(r.clamp(DET_MIN, DET_MAX)) - probit(DET_MIN)) / (probit(DET_MAX) - probit(DET_MIN))
    };
    let ticks: Vec<(f64, String)> = DET_TICKS
        .iter()
        .map(|&(r, l)| (axis(r), l.to_string()))
        .collect();
    p.frame(&ticks, &ticks, "APCER %", "BPCER %", "DET");
    p.dashed((0.0, 0.0), (1.0, 1.0)); // APCER = BPCER: the EER line
    let pts: Vec<(f64, f64)> = roc_points(samples)
        .into_iter()
        .map(|(bpcer, tpr)| (axis(1.0 - tpr), axis(bpcer)))
        .collect();
    p.polyline(&pts);
    Ok(p.img)
}

/// The ROC as PNG bytes (the caller writes them atomically).
pub fn roc_png(samples: &[Scored], w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    png(roc_image(samples, w, h)?)
}

/// The DET as PNG bytes.
pub fn det_png(samples: &[Scored], w: u32, h: u32) -> Result<Vec<u8>, PlotError> {
    png(det_image(samples, w, h)?)
}

fn png(img: RgbImage) -> Result<Vec<u8>, PlotError> {
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(PlotError::Encode)?;
    Ok(png)
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
#[allow(clippy::excessive_precision)] // Acklam's published coefficients
pub fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A canvas with a plot area; data coordinates are in [0,1]² (y up).
struct Plot {
    img: RgbImage,
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Plot {
    fn new(w: u32, h: u32) -> Self {
        Self {
            img: RgbImage::from_pixel(w, h, WHITE),
            left: 52.0,
            top: 22.0,
            right: w as f64 - 14.0,
            bottom: h as f64 - 36.0,
        }
    }
    fn to_px(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let x = x.clamp(0.0, 1.0);
        let y = y.clamp(0.0, 1.0);
        (
            self.left + x * (self.right - self.left),
            self.bottom - y * (self.bottom - self.top),
        )
    }
    fn dot(&mut self, x: f64, y: f64, r: i64, c: Rgb<u8>) {
        let (cx, cy) = (x.round() as i64, y.round() as i64);
        for dy in -r..=r {
            for dx in -r..=r {
                let (px, py) = (cx + dx, cy + dy);
                if px >= 0
                    && py >= 0
                    && (px as u32) < self.img.width()
                    && (py as u32) < self.img.height()
                {
                    self.img.put_pixel(px as u32, py as u32, c);
                }
            }
        }
    }
    /// A segment in pixel coordinates, with an optional dash period.
    fn segment(&mut self, a: (f64, f64), b: (f64, f64), r: i64, c: Rgb<u8>, dash: Option<f64>) {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (len * 2.0).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            if let Some(period) = dash {
                if (t * len / period) as usize % 2 == 1 {
                    continue;
                }
            }
            self.dot(a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), r, c);
        }
    }
    fn dashed(&mut self, a: (f64, f64), b: (f64, f64)) {
        let (a, b) = (self.to_px(a), self.to_px(b));
        self.segment(a, b, 0, GUIDE, Some(4.0));
    }
    fn polyline(&mut self, pts: &[(f64, f64)]) {
        for w in pts.windows(2) {
            let (a, b) = (self.to_px(w[0]), self.to_px(w[1]));
            self.segment(a, b, 1, CURVE, None);
        }
    }
    fn frame(
        &mut self,
        xt: &[(f64, String)],
        yt: &[(f64, String)],
        xl: &str,
        yl: &str,
        title: &str,
    ) {
        for (v, label) in xt {
            let (x, _) = self.to_px((*v, 0.0));
            self.segment((x, self.top), (x, self.bottom), 0, GRID, None);
            let tw = text_width(label) as f64;
            self.text(x - tw / 2.0, self.bottom + 6.0, label);
        }
        for (v, label) in yt {
            let (_, y) = self.to_px((0.0, *v));
            self.segment((self.left, y), (self.right, y), 0, GRID, None);
            let tw = text_width(label) as f64;
            self.text(self.left - tw - 5.0, y - 3.0, label);
        }
        let (l, t, r, b) = (self.left, self.top, self.right, self.bottom);
        for (p, q) in [
            ((l, t), (l, b)),
            ((l, b), (r, b)),
            ((r, t), (r, b)),
            ((l, t), (r, t)),
        ] {
            self.segment(p, q, 0, BLACK, None);
        }
        let cx = (l + r) / 2.0;
        self.text(cx - text_width(xl) as f64 / 2.0, b + 20.0, xl);
        self.text(cx - text_width(title) as f64 / 2.0, 6.0, title);
        self.text(4.0, 6.0, yl);
    }
    fn text(&mut self, x: f64, y: f64, s: &str) {
        let (x0, y0) = (x.round() as i64, y.round() as i64);
        for (i, ch) in s.chars().enumerate() {
            let rows = glyph(ch);
            for (ry, bits) in rows.iter().enumerate() {
                for rx in 0..5 {
                    if bits & (0x10 >> rx) != 0 {
                        let (px, py) = (x0 + i as i64 * 6 + rx, y0 + ry as i64);
                        if px >= 0
                            && py >= 0
                            && (px as u32) < self.img.width()
                            && (py as u32) < self.img.height()
                        {
                            self.img.put_pixel(px as u32, py as u32, BLACK);
                        }
                    }
                }
            }
        }
    }
}

fn text_width(s: &str) -> usize {
    s.chars().count() * 6
}

/// 5×7 glyphs (one row a byte, bit 4 = leftmost) for the characters the plots use; others blank.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scores::type_name;

    fn scores() -> Vec<Scored> {
        (0..40)
            .map(|i| {
                Scored::new(
                    (i as f64 * 0.37).sin() * 0.3 + if i % 2 == 0 { 0.3 } else { 0.6 },
                    i % 2 == 1,
                    type_name((i % 2) as u8),
                )
            })
            .collect()
    }

    fn curve_pixels(img: &RgbImage) -> usize {
        img.pixels().filter(|p| **p == CURVE).count()
    }

    #[test]
    fn encodes_roc_and_det_pngs() {
        let s = scores();
        for (name, f) in [
            ("roc", roc_png as fn(&[Scored], u32, u32) -> _),
            ("det", det_png),
        ] {
            let png = f(&s, 320, 240).unwrap();
            let img = image::load_from_memory(&png).unwrap().to_rgb8();
            assert_eq!(img.dimensions(), (320, 240));
            assert!(curve_pixels(&img) > 200, "{name}: curve drawn");
            assert!(
                img.pixels().filter(|p| **p == BLACK).count() > 500,
                "{name}: axes and labels"
            );
        }
    }

    #[test]
    fn perfect_roc_hugs_the_top_left_corner() {
        let s: Vec<Scored> = (0..10)
            .map(|i| Scored::new(i as f64, i >= 5, type_name(u8::from(i >= 5))))
            .collect();
        let img = roc_image(&s, 200, 160).unwrap();
        let p = Plot::new(200, 160);
        // The curve passes through (0, 1) and never through the middle of the plot.
        let (x, y) = p.to_px((0.0, 1.0));
        assert_eq!(*img.get_pixel(x as u32, y as u32), CURVE);
        let (x, y) = p.to_px((0.6, 0.3));
        assert_ne!(*img.get_pixel(x as u32, y as u32), CURVE);
    }

    #[test]
    fn probit_and_errors() {
        assert!(probit(0.5).abs() < 1e-9);
        assert!((probit(0.975) - 1.959964).abs() < 1e-5);
        assert!((probit(0.001) + 3.090232).abs() < 1e-5);
        let lives: Vec<Scored> = scores().into_iter().filter(|s| !s.attack).collect();
        assert!(matches!(
            roc_image(&lives, 200, 160),
            Err(PlotError::OneClass("ROC"))
        ));
        assert!(matches!(
            det_image(&scores(), 50, 50),
            Err(PlotError::TooSmall(50, 50))
        ));
    }
}
