//! A grid of the spoof-cue augmentation (spec §9) on a real face: each row one seed, columns
//! the original, moiré, halftone + gamut, screen gamma + flicker bands, self-fusion, JPEG.
//!
//! `cargo run -p moae-trainer --example spoof_cues -- [PHOTO] [OUT.png]`
//! (defaults: .venv/face/astronaut.png, fetched by scripts/setup-face.sh; docs/spoof-cues.png).
//! The face is the square at (x 125, y 0, side 200) of the 512×512 photo, or the centred square
//! of another photo.

use anyhow::{Context, Result};
use image::{imageops, RgbImage};
use moae_trainer::data::augment::decode;
use moae_trainer::data::spoof_cues::{apply_random, Cue};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

const TILE: u32 = 200;
const GAP: u32 = 4;
const SEEDS: [u64; 2] = [1, 2];

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let photo = PathBuf::from(args.next().unwrap_or(".venv/face/astronaut.png".into()));
    let out = PathBuf::from(args.next().unwrap_or("docs/spoof-cues.png".into()));
    let img = decode(&photo).with_context(|| format!("reading {}", photo.display()))?;
    let face = if img.dimensions() == (512, 512) {
        imageops::crop_imm(&img, 125, 0, 200, 200).to_image()
    } else {
        let s = img.width().min(img.height());
        imageops::crop_imm(&img, (img.width() - s) / 2, (img.height() - s) / 2, s, s).to_image()
    };
    let face = imageops::resize(&face, TILE, TILE, imageops::FilterType::Triangle);
    let cols = 1 + Cue::ALL.len() as u32;
    let rows = SEEDS.len() as u32;
    let mut grid = RgbImage::from_pixel(
        cols * TILE + (cols - 1) * GAP,
        rows * TILE + (rows - 1) * GAP,
        image::Rgb([255, 255, 255]),
    );
    for (r, &seed) in SEEDS.iter().enumerate() {
        let y = r as u32 * (TILE + GAP);
        imageops::replace(&mut grid, &face, 0, i64::from(y));
        for (c, &cue) in Cue::ALL.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let cued = apply_random(&face, cue, &mut rng)
                .with_context(|| format!("applying {}", cue.name()))?;
            let x = (c as u32 + 1) * (TILE + GAP);
            imageops::replace(&mut grid, &cued, i64::from(x), i64::from(y));
        }
    }
    grid.save(&out)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: columns original, {}; rows seeds {SEEDS:?}",
        out.display(),
        Cue::ALL.map(Cue::name).join(", ")
    );
    Ok(())
}
