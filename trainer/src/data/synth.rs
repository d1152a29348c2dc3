//! A small, deterministic, **synthetic** face anti-spoofing data set in UniAttackData layout, for
//! the demo and the tests.
//!
//! This data set is synthetic: procedurally drawn face-like images with simulated attack
//! artefacts. It is not evidence about real presentation or digital attacks, and results on it
//! say nothing about performance on real data.
//!
//! Families (fine label): live (0); print and replay (1, physical); adversarial (2); digital
//! editing (3). Each image is drawn from its own RNG seeded by (seed, split, family, index), and
//! PNG encoding is deterministic, so the same seed gives byte-identical files.
//!
//! Layout under `--out`: `README.txt`, list files `UniAttackData@{p1,p2.1,p2.2}_image_{train,dev,
//! test}.txt` (paths relative to `--out`), images under `UniAttackData/Data/...`. Protocols are
//! analogues of spec §6: P1 all kinds everywhere; P2.1 trains on live+adversarial+digital and
//! tests live+physical; P2.2 trains on live+physical and tests live+adversarial+digital.

use std::f32::consts::PI;
use std::io::Write;
use std::path::{Path, PathBuf};

use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::lists::{list_file_name, Split};

pub const README: &str = "Synthetic face anti-spoofing data (written by `trainer synth`).

This data set is synthetic: procedurally drawn face-like images with simulated attack
artefacts. It is not evidence about real presentation or digital attacks, and results on it
say nothing about performance on real data.

Labels (UniAttackData fine-grained): 0 live, 1 physical (print, replay), 2 adversarial,
3 digital editing. Lists: UniAttackData@{p1,p2.1,p2.2}_image_{train,dev,test}.txt, one
`path label` a line, paths relative to this folder. P1: all kinds in every split. P2.1: train
and dev hold live+adversarial+digital, test holds live+physical. P2.2: train and dev hold
live+physical, test holds live+adversarial+digital.
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthConfig {
    pub seed: u64,
    /// Image side in pixels.
    pub size: u32,
    /// Images per family per split (five families, three splits).
    pub count: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            size: 112,
            count: 40,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path}: {source}")]
    Encode {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("invalid synth settings: {0}")]
    Config(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Live,
    Print,
    Replay,
    Adversarial,
    Digital,
}

const FAMILIES: [Family; 5] = [
    Family::Live,
    Family::Print,
    Family::Replay,
    Family::Adversarial,
    Family::Digital,
];

impl Family {
    fn label(self) -> u8 {
        match self {
            Family::Live => 0,
            Family::Print | Family::Replay => 1,
            Family::Adversarial => 2,
            Family::Digital => 3,
        }
    }
    fn dir(self) -> &'static str {
        match self {
            Family::Live => "live",
            Family::Print => "spoof/print",
            Family::Replay => "spoof/replay",
            Family::Adversarial => "adv-attacks",
            Family::Digital => "face-swap",
        }
    }
}

/// Which families each protocol's split holds.
fn protocol_families(protocol: &str, split: Split) -> &'static [Family] {
    use Family::*;
    const ALL: &[Family] = &[Live, Print, Replay, Adversarial, Digital];
    const PHYS: &[Family] = &[Live, Print, Replay];
    const DIGI: &[Family] = &[Live, Adversarial, Digital];
    match (protocol, split) {
        ("p2.1", Split::Test) => PHYS,
        ("p2.1", _) => DIGI,
        ("p2.2", Split::Test) => DIGI,
        ("p2.2", _) => PHYS,
        _ => ALL,
    }
}

pub const PROTOCOLS: [&str; 3] = ["p1", "p2.1", "p2.2"];
const SPLITS: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    pub images: usize,
    /// (list file name, lines).
    pub lists: Vec<(String, usize)>,
}

/// Writes the data set under `out` (created if needed; existing files are overwritten).
pub fn generate(out: &Path, cfg: &SynthConfig) -> Result<SynthSummary, SynthError> {
    if cfg.size < 32 || cfg.size > 1024 || cfg.count == 0 {
        return Err(SynthError::Config(format!(
            "size must be 32..=1024 px and count ≥ 1 (got size {}, count {})",
            cfg.size, cfg.count
        )));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SynthError::Io { path, source }
    };
    let mut images = 0;
    for (si, split) in SPLITS.iter().enumerate() {
        for (fi, fam) in FAMILIES.iter().enumerate() {
            let dir = out.join(image_dir(*fam, *split));
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
            for i in 0..cfg.count {
                let seed = crate::data::loader::mix(&[cfg.seed, si as u64, fi as u64, i as u64]);
                let img = render(*fam, cfg.size, &mut ChaCha8Rng::seed_from_u64(seed));
                let path = dir.join(format!("{i:04}.png"));
                img.save(&path).map_err(|source| SynthError::Encode {
                    path: path.clone(),
                    source,
                })?;
                images += 1;
            }
        }
    }
    let mut lists = Vec::new();
    for protocol in PROTOCOLS {
        for split in SPLITS {
            let name = list_file_name(protocol, split);
            let mut text = String::new();
            let mut n = 0;
            for fam in protocol_families(protocol, split) {
                for i in 0..cfg.count {
                    let rel = image_dir(*fam, split).join(format!("{i:04}.png"));
                    text += &format!("{} {}\n", rel.display(), fam.label());
                    n += 1;
                }
            }
            let path = out.join(&name);
            std::fs::write(&path, text).map_err(io(&path))?;
            lists.push((name, n));
        }
    }
    let readme = out.join("README.txt");
    std::fs::File::create(&readme)
        .and_then(|mut f| f.write_all(README.as_bytes()))
        .map_err(io(&readme))?;
    Ok(SynthSummary { images, lists })
}

fn image_dir(fam: Family, split: Split) -> PathBuf {
    Path::new("UniAttackData/Data")
        .join(fam.dir())
        .join(split.name())
}

/// An RGB float image in [0,1], row-major HWC.
struct Canvas {
    w: usize,
    data: Vec<[f32; 3]>,
}

impl Canvas {
    fn new(size: u32) -> Self {
        let w = size as usize;
        Self {
            w,
            data: vec![[0.0; 3]; w * w],
        }
    }
    fn map(&mut self, mut f: impl FnMut(f32, f32, [f32; 3]) -> [f32; 3]) {
        let w = self.w;
        for (i, px) in self.data.iter_mut().enumerate() {
            *px = f((i % w) as f32 + 0.5, (i / w) as f32 + 0.5, *px);
        }
    }
    fn to_image(&self) -> RgbImage {
        let mut img = RgbImage::new(self.w as u32, self.w as u32);
        for (px, c) in img.pixels_mut().zip(&self.data) {
            px.0 = c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8);
        }
        img
    }
    /// Separable box blur of the given radius.
    fn blur(&mut self, r: usize) {
        let w = self.w;
        for horizontal in [true, false] {
            let src = self.data.clone();
            for y in 0..w {
                for x in 0..w {
                    let mut acc = [0f32; 3];
                    let mut n = 0.0;
                    for d in -(r as i64)..=(r as i64) {
                        let (xx, yy) = if horizontal {
                            (x as i64 + d, y as i64)
                        } else {
                            (x as i64, y as i64 + d)
                        };
                        if (0..w as i64).contains(&xx) && (0..w as i64).contains(&yy) {
                            let p = src[yy as usize * w + xx as usize];
                            (0..3).for_each(|k| acc[k] += p[k]);
                            n += 1.0;
                        }
                    }
                    self.data[y * w + x] = acc.map(|a| a / n);
                }
            }
        }
    }
}

/// Gaussian noise by Box–Muller (rand 0.8 has no normal distribution without rand_distr).
fn gauss<R: Rng>(rng: &mut R) -> f32 {
    let u1: f32 = rng.gen_range(1e-7..1.0);
    let u2: f32 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * t)
}

/// Anti-aliased coverage of an ellipse given the normalised radius `r` and pixels per unit.
fn cover(r: f32, px_per_unit: f32) -> f32 {
    ((1.0 - r) * px_per_unit + 0.5).clamp(0.0, 1.0)
}

/// Head position, size and pose.
#[derive(Clone, Copy)]
struct Geometry {
    cx: f32,
    cy: f32,
    rx: f32,
    ry: f32,
    angle: f32,
    light: (f32, f32),
}

/// Identity-like appearance.
#[derive(Clone, Copy)]
struct Appearance {
    skin: [f32; 3],
    hair: [f32; 3],
    iris: [f32; 3],
    lips: [f32; 3],
    cloth: [f32; 3],
    eye_dx: f32,
    mouth_w: f32,
    hair_top: f32,
}

fn geometry<R: Rng>(size: f32, rng: &mut R) -> Geometry {
    let rx = size * rng.gen_range(0.2..0.26);
    let a = rng.gen_range(0.0..2.0 * PI);
    Geometry {
        cx: size * rng.gen_range(0.44..0.56),
        cy: size * rng.gen_range(0.45..0.55),
        rx,
        ry: rx * rng.gen_range(1.2..1.4),
        angle: rng.gen_range(-0.25..0.25),
        light: (
            a.cos() * rng.gen_range(0.1..0.3),
            a.sin() * rng.gen_range(0.1..0.3),
        ),
    }
}

fn appearance<R: Rng>(rng: &mut R) -> Appearance {
    let t = rng.gen::<f32>();
    let hair_pal = [
        [0.05, 0.04, 0.03],
        [0.3, 0.18, 0.08],
        [0.75, 0.6, 0.3],
        [0.5, 0.5, 0.5],
    ];
    Appearance {
        skin: lerp3([0.96, 0.8, 0.68], [0.4, 0.26, 0.17], t),
        hair: hair_pal[rng.gen_range(0..hair_pal.len())].map(|v| v * rng.gen_range(0.8..1.2)),
        iris: [
            rng.gen_range(0.1..0.4),
            rng.gen_range(0.1..0.4),
            rng.gen_range(0.05..0.35),
        ],
        lips: [
            rng.gen_range(0.55..0.8),
            rng.gen_range(0.2..0.35),
            rng.gen_range(0.2..0.35),
        ],
        cloth: [rng.gen(), rng.gen(), rng.gen()],
        eye_dx: rng.gen_range(0.33..0.42),
        mouth_w: rng.gen_range(0.28..0.42),
        hair_top: rng.gen_range(0.05..0.3),
    }
}

/// Draws a face-like picture: background gradient, shoulders, hair, face oval with lighting,
/// eyes, brows, nose shading, mouth.
fn draw_face<R: Rng>(size: u32, g: &Geometry, a: &Appearance, rng: &mut R) -> Canvas {
    let s = size as f32;
    let bg0: [f32; 3] = [rng.gen(), rng.gen(), rng.gen()];
    let bg1 = lerp3(bg0, [rng.gen(), rng.gen(), rng.gen()], 0.6);
    let bg_dir = rng.gen_range(0.0..2.0 * PI);
    let (sin, cos) = g.angle.sin_cos();
    let mut c = Canvas::new(size);
    c.map(|x, y, _| {
        let t = ((x / s - 0.5) * bg_dir.cos() + (y / s - 0.5) * bg_dir.sin() + 0.5).clamp(0.0, 1.0);
        let mut px = lerp3(bg0, bg1, t);
        // Head-local coordinates, in units of the face radii.
        let (dx, dy) = (x - g.cx, y - g.cy);
        let u = (dx * cos + dy * sin) / g.rx;
        let v = (-dx * sin + dy * cos) / g.ry;
        let ppu = g.rx;
        // Shoulders: a wide ellipse below the head.
        let sh = ((u / 2.6).powi(2) + ((v - 2.2) / 1.1).powi(2)).sqrt();
        px = lerp3(px, a.cloth, cover(sh, ppu * 2.0));
        // Neck.
        let neck = ((u / 0.45).powi(2) + ((v - 1.0) / 0.8).powi(2)).sqrt();
        px = lerp3(px, a.skin.map(|v| v * 0.8), cover(neck, ppu * 0.45));
        // Hair behind and above the face.
        let hair = ((u / 1.15).powi(2) + ((v + 0.12 + a.hair_top * 0.3) / 1.1).powi(2)).sqrt();
        px = lerp3(px, a.hair, cover(hair, ppu));
        // Face with directional light.
        let r = (u * u + v * v).sqrt();
        let shade = 1.0 + g.light.0 * u + g.light.1 * v - 0.12 * r * r;
        let skin = a.skin.map(|c| c * shade);
        let fringe = v < -0.55 + a.hair_top * 0.5 - 0.1 * (u * 3.0).sin().abs();
        if !fringe {
            px = lerp3(px, skin, cover(r, ppu));
        }
        for side in [-1.0f32, 1.0] {
            let (ex, ey) = (u - side * a.eye_dx, v + 0.12);
            let eye = ((ex / 0.16).powi(2) + (ey / 0.07).powi(2)).sqrt();
            px = lerp3(px, [0.93, 0.92, 0.9], cover(eye, ppu * 0.07));
            let iris = ((ex / 0.065).powi(2) + (ey / 0.065).powi(2)).sqrt();
            px = lerp3(px, a.iris, cover(iris, ppu * 0.065));
            let brow = ((ex / 0.2).powi(2) + ((ey + 0.14) / 0.035).powi(2)).sqrt();
            px = lerp3(px, a.hair.map(|c| c * 0.8), cover(brow, ppu * 0.035));
        }
        let nose = ((u / 0.09).powi(2) + ((v - 0.15) / 0.2).powi(2)).sqrt();
        px = lerp3(px, skin.map(|c| c * 0.85), cover(nose, ppu * 0.09) * 0.6);
        let mouth = ((u / a.mouth_w).powi(2) + ((v - 0.5) / 0.07).powi(2)).sqrt();
        px = lerp3(px, a.lips.map(|c| c * shade), cover(mouth, ppu * 0.07));
        px
    });
    c
}

/// Camera capture: exposure, a little optical blur now and then (rarely: at 64 px a blurred
/// live face is hard to tell from a print's ink blur or a swap's resampling), sensor noise.
fn capture<R: Rng>(c: &mut Canvas, rng: &mut R) {
    if rng.gen_bool(0.1) {
        c.blur(1);
    }
    let gain = rng.gen_range(0.9..1.1);
    let sigma = rng.gen_range(0.006..0.02);
    c.map(|_, _, p| p.map(|v| v * gain));
    for px in c.data.iter_mut() {
        for v in px.iter_mut() {
            *v += sigma * gauss(rng);
        }
    }
}

/// Smooth value noise on a lattice of `cell` pixels (bilinear), values in [-1, 1].
fn value_noise<R: Rng>(size: u32, cell: f32, rng: &mut R) -> impl Fn(f32, f32) -> f32 {
    let n = (size as f32 / cell) as usize + 2;
    let lattice: Vec<f32> = (0..n * n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    move |x, y| {
        let (fx, fy) = (x / cell, y / cell);
        let (ix, iy) = ((fx as usize).min(n - 2), (fy as usize).min(n - 2));
        let (tx, ty) = (fx - ix as f32, fy - iy as f32);
        let at = |i: usize, j: usize| lattice[j * n + i];
        let top = at(ix, iy) * (1.0 - tx) + at(ix + 1, iy) * tx;
        let bot = at(ix, iy + 1) * (1.0 - tx) + at(ix + 1, iy + 1) * tx;
        top * (1.0 - ty) + bot * ty
    }
}

// The attack cues below are deliberately plain (visible at 64 px, a few pixels per period):
// the set exists so that a small model trained for minutes on a CPU can be seen to learn, and
// so that the demo and tests have something to detect. Real artefacts are subtler.

/// Print attack: the picture is printed (ink blur, reduced gamut and saturation on warm paper),
/// then the print is seen through its halftone screen and paper fibre.
fn print_attack<R: Rng>(c: &mut Canvas, size: u32, rng: &mut R) {
    c.blur(1);
    let sat = rng.gen_range(0.3..0.6);
    let (lo, hi) = (rng.gen_range(0.12..0.2), rng.gen_range(0.72..0.85));
    let paper = [1.0, rng.gen_range(0.92..0.97), rng.gen_range(0.78..0.88)];
    let period = rng.gen_range(4.0..6.0);
    let amp = rng.gen_range(0.15..0.25);
    let screen = rng.gen_range(0.0..PI / 2.0);
    let (ss, sc) = screen.sin_cos();
    let fibre = value_noise(size, rng.gen_range(4.0..8.0), rng);
    let fibre_amp = rng.gen_range(0.03..0.06);
    c.map(|x, y, p| {
        let grey = (p[0] + p[1] + p[2]) / 3.0;
        let (xr, yr) = (x * sc + y * ss, -x * ss + y * sc);
        let dots = ((2.0 * PI * xr / period).cos() + (2.0 * PI * yr / period).cos()) / 2.0;
        let f = fibre(x, y) * fibre_amp;
        [0, 1, 2].map(|k| {
            let v = grey + (p[k] - grey) * sat;
            (lo + (hi - lo) * v) * paper[k] + amp * dots * (1.0 - v) + f
        })
    });
}

/// Replay attack: a display seen by the camera: lifted black level, gamma, cold tint, pixel
/// grid with sub-pixel stripes, moiré bands, glare.
fn replay_attack<R: Rng>(c: &mut Canvas, size: u32, rng: &mut R) {
    let s = size as f32;
    let gamma = if rng.gen_bool(0.5) {
        rng.gen_range(0.65..0.8)
    } else {
        rng.gen_range(1.25..1.5)
    };
    let q = rng.gen_range(3.0..4.5);
    let grid = rng.gen_range(0.25..0.4);
    let (mp, ma, mb) = (
        rng.gen_range(6.0..12.0),
        rng.gen_range(0.1..0.18),
        rng.gen_range(-3.0..3.0),
    );
    let mdir = rng.gen_range(0.0..PI);
    let (gx, gy) = (rng.gen_range(0.2..0.8) * s, rng.gen_range(0.2..0.8) * s);
    let (ga, gs) = (rng.gen_range(0.2..0.4), s * rng.gen_range(0.1..0.2));
    let tint = [rng.gen_range(0.82..0.92), 1.0, rng.gen_range(1.08..1.2)];
    let black = rng.gen_range(0.06..0.12);
    c.map(|x, y, p| {
        let phase = (x * mdir.cos() + y * mdir.sin()) / mp
            + mb * ((x - s / 2.0).powi(2) + (y - s / 2.0).powi(2)) / (s * s);
        let moire = 1.0 + ma * (2.0 * PI * phase).cos();
        let row = (0.5 - 0.5 * (2.0 * PI * y / q).cos()).powi(4);
        let glare = ga * (-((x - gx).powi(2) + (y - gy).powi(2)) / (2.0 * gs * gs)).exp();
        [0, 1, 2].map(|k| {
            let col = (0.5 - 0.5 * (2.0 * PI * (x / q + k as f32 / 3.0)).cos()).powi(4);
            let cell = 1.0 - grid * (row + col);
            black + p[k].clamp(0.0, 1.0).powf(gamma) * tint[k] * cell * moire + glare
        })
    });
}

/// Digital editing: in a captured frame, the face replaced by another identity's synthesised
/// one (or only its lower half), with a colour mismatch, blocky resampling (down-scaled, then
/// up-scaled by pixel repetition), no sensor noise inside, and a visible seam.
fn digital_attack<R: Rng>(size: u32, rng: &mut R) -> Canvas {
    let g = geometry(size as f32, rng);
    let target = appearance(rng);
    let source = appearance(rng);
    let mut out = draw_face(size, &g, &target, &mut ChaCha8Rng::seed_from_u64(rng.gen()));
    // The target is a real capture (sensor noise); the pasted face is synthesised and lacks it.
    capture(&mut out, rng);
    let mut src = draw_face(size, &g, &source, &mut ChaCha8Rng::seed_from_u64(rng.gen()));
    let factor = rng.gen_range(4..7);
    let small = image::imageops::resize(
        &src.to_image(),
        size / factor,
        size / factor,
        image::imageops::FilterType::Triangle,
    );
    let back = image::imageops::resize(&small, size, size, image::imageops::FilterType::Nearest);
    for (d, p) in src.data.iter_mut().zip(back.pixels()) {
        *d = p.0.map(|v| v as f32 / 255.0);
    }
    let shift = [0, 1, 2].map(|_| {
        let d = rng.gen_range(0.12..0.25);
        if rng.gen_bool(0.5) {
            1.0 + d
        } else {
            1.0 - d
        }
    });
    let lower_only = rng.gen_bool(0.1);
    let (extent, feather) = (rng.gen_range(0.9..1.1), rng.gen_range(0.02..0.05));
    let seam = rng.gen_range(0.15..0.25) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    let (sin, cos) = g.angle.sin_cos();
    let w = size as usize;
    for (i, px) in out.data.iter_mut().enumerate() {
        let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
        let (dx, dy) = (x - g.cx, y - g.cy);
        let u = (dx * cos + dy * sin) / g.rx;
        let v = (-dx * sin + dy * cos) / g.ry;
        let r = (u * u + v * v).sqrt() / extent;
        let mut m = ((1.0 - r) / feather).clamp(0.0, 1.0);
        if lower_only {
            m *= ((v + 0.05) / feather).clamp(0.0, 1.0);
        }
        let ring = (1.0 - ((1.0 - r).abs() / 0.06)).max(0.0);
        let pasted = [0, 1, 2].map(|k| src.data[i][k] * shift[k]);
        *px = lerp3(*px, pasted, m).map(|v| v + seam * ring);
    }
    out
}

/// Adversarial: a live face plus an L∞ structured perturbation (sign of crossed gratings,
/// per-channel phase), |δ| ≤ 16/255 (the budgets used in the literature are 4–16/255).
fn adversarial_attack<R: Rng>(c: &mut Canvas, rng: &mut R) {
    let eps = rng.gen_range(13.0..16.0) / 255.0;
    let f = [0, 1, 2, 3]
        .map(|_| rng.gen_range(0.08..0.16) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 });
    let ph = [0, 1, 2].map(|_| rng.gen_range(0.0..2.0 * PI));
    c.map(|x, y, p| {
        [0, 1, 2].map(|k| {
            let a = (2.0 * PI * (f[0] * x + f[1] * y) + ph[k]).sin();
            let b = (2.0 * PI * (f[2] * x - f[3] * y) + ph[k] * 0.5).sin();
            p[k] + eps * (a * b).signum()
        })
    });
}

fn render<R: Rng>(fam: Family, size: u32, rng: &mut R) -> RgbImage {
    let mut c = match fam {
        Family::Digital => digital_attack(size, rng),
        _ => {
            let g = geometry(size as f32, rng);
            let a = appearance(rng);
            draw_face(size, &g, &a, rng)
        }
    };
    match fam {
        Family::Live => capture(&mut c, rng),
        // Captured before the paste (see `digital_attack`).
        Family::Digital => {}
        Family::Print => {
            print_attack(&mut c, size, rng);
            capture(&mut c, rng);
        }
        Family::Replay => {
            replay_attack(&mut c, size, rng);
            capture(&mut c, rng);
        }
        // The perturbation is added to the final (captured) image, as attacks on images are.
        Family::Adversarial => {
            capture(&mut c, rng);
            adversarial_attack(&mut c, rng);
        }
    }
    c.to_image()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::lists::read_protocol;

    fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((
                        p.strip_prefix(dir).unwrap().to_path_buf(),
                        std::fs::read(&p).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn same_seed_same_bytes_other_seed_differs() {
        let cfg = SynthConfig {
            seed: 5,
            size: 48,
            count: 2,
        };
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let summary = generate(a.path(), &cfg).unwrap();
        generate(b.path(), &cfg).unwrap();
        generate(c.path(), &SynthConfig { seed: 6, ..cfg }).unwrap();
        assert_eq!(summary.images, 3 * 5 * 2);
        let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
        assert_eq!(fa.len(), 30 + 9 + 1);
        assert!(fa == fb, "same seed must give byte-identical files");
        assert_ne!(fa, fc);
        let readme = std::fs::read_to_string(a.path().join("README.txt")).unwrap();
        assert!(readme.contains("synthetic") && readme.contains("not evidence"));
    }

    #[test]
    fn lists_follow_the_protocols() {
        let dir = tempfile::tempdir().unwrap();
        generate(
            dir.path(),
            &SynthConfig {
                seed: 1,
                size: 32,
                count: 1,
            },
        )
        .unwrap();
        let labels = |p: &str, s: Split| {
            let mut l: Vec<u8> = read_protocol(dir.path(), p, s)
                .unwrap()
                .iter()
                .map(|s| s.fine)
                .collect();
            l.dedup();
            l
        };
        assert_eq!(labels("p1", Split::Train), vec![0, 1, 2, 3]);
        assert_eq!(labels("p2.1", Split::Train), vec![0, 2, 3]);
        assert_eq!(labels("p2.1", Split::Test), vec![0, 1]);
        assert_eq!(labels("p2.2", Split::Dev), vec![0, 1]);
        assert_eq!(labels("p2.2", Split::Test), vec![0, 2, 3]);
        // Every listed image exists and decodes.
        for s in read_protocol(dir.path(), "p1", Split::Test).unwrap() {
            assert_eq!(crate::data::decode(&s.path).unwrap().dimensions(), (32, 32));
        }
    }

    #[test]
    fn adversarial_is_a_small_norm_perturbation_of_a_live_face() {
        // Same seed → the same captured face; the adversarial family then adds ±ε, ε ∈ [13, 16]/255.
        let live = render(Family::Live, 64, &mut ChaCha8Rng::seed_from_u64(3));
        let adv = render(Family::Adversarial, 64, &mut ChaCha8Rng::seed_from_u64(3));
        let diffs: Vec<i32> = live
            .as_raw()
            .iter()
            .zip(adv.as_raw())
            .map(|(&a, &b)| (a as i32 - b as i32).abs())
            .collect();
        let max = *diffs.iter().max().unwrap();
        let mean = diffs.iter().sum::<i32>() as f32 / diffs.len() as f32;
        assert!(max <= 17, "L∞ {max}");
        assert!(mean > 5.0, "mean |δ| {mean}");
    }
}
