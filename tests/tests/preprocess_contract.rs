//! Issue 12 §1: train = serve. One image file scores the same through `trainer eval`'s library
//! path (decode, eval transform, tch model), `moae score` (the CLI over the exported ONNX) and a
//! C program over libmoae (`moae_decode_image_file` + `moae_detect`): within 1e-5, with no
//! decision differing. Images of 14 sizes (17×23 … 1920×1080, portrait and landscape, up- and
//! downscaled to the model's 32 px), each as JPEG and PNG, and JPEGs carrying EXIF orientations
//! 1–8 (each must decode upright). A fourth path is independent of the runtime: the images
//! decoded by the `image` crate, the documented resize (spec §1, README "One preprocessing")
//! written out here in f64, and the tch model; its inputs and scores must equal the others', so
//! a resampling fault shared by all three paths (they call the same runtime code) still fails.
//! The CLI and libmoae are the ones `cargo build --workspace` put in the target directory.

use image::{imageops, ImageEncoder, ImageFormat, RgbImage};
#[path = "../../runtime/tests/compare/mod.rs"]
mod compare;

use moae_tests::*;
use moae_trainer::export::WeightFormat;
use moae_trainer::model::config::Variant;
use moae_trainer::model::MoaeClip;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SIZES: [(u32, u32); 14] = [
    (17, 23),
    (23, 17),
    (20, 45),
    (31, 31),
    (64, 48),
    (48, 64),
    (100, 33),
    (97, 161),
    (224, 224),
    (333, 250),
    (480, 640),
    (640, 480),
    (720, 1280),
    (1920, 1080),
];

/// The target directory holding `moae` and libmoae, as the test command's build step left them.
fn built() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        built_artifact("moae");
        built_artifact("libmoae.so").parent().unwrap().to_path_buf()
    })
}

/// A deterministic picture: smooth gradients, a diagonal edge and fine stripes, so every
/// resampling choice (filter, crop, orientation) changes the pixels the model sees.
fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let edge = if fx + 0.5 * fy > 0.6 { 80.0 } else { 0.0 };
        let stripes = if (x / 2 + y / 3 + seed) % 3 == 0 {
            60.0
        } else {
            0.0
        };
        let r = 255.0 * fx * 0.7 + edge;
        let g = 255.0 * (1.0 - fy) * 0.6 + stripes;
        let b = ((x * 13 + y * 7 + seed * 31) % 97) as f32 + 90.0 * fy;
        image::Rgb([r.min(255.0) as u8, g.min(255.0) as u8, b.min(255.0) as u8])
    })
}

fn encoded(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    let (w, h, t) = (img.width(), img.height(), image::ExtendedColorType::Rgb8);
    match format {
        ImageFormat::Png => image::codecs::png::PngEncoder::new(&mut out).write_image(img, w, h, t),
        _ => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
            .write_image(img, w, h, t),
    }
    .unwrap();
    out
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    encoded(img, ImageFormat::Jpeg)
}

fn png(img: &RgbImage) -> Vec<u8> {
    encoded(img, ImageFormat::Png)
}

/// `jpeg` with an EXIF APP1 segment right after SOI holding one tag: Orientation (0x0112).
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec(); // big-endian, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // tag: Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // type SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count 1
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padded to 4 bytes
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let len = (2 + 6 + tiff.len()) as u16;
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The stored image whose display, under EXIF `orientation`, is `upright` (EXIF 2.3 table:
/// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 CW to display, 7 transverse,
/// 8 rotate 270 CW to display; so storing applies the inverse).
fn stored_for(upright: &RgbImage, orientation: u16) -> RgbImage {
    match orientation {
        1 => upright.clone(),
        2 => imageops::flip_horizontal(upright),
        3 => imageops::rotate180(upright),
        4 => imageops::flip_vertical(upright),
        5 => imageops::flip_horizontal(&imageops::rotate90(upright)), // transpose
        6 => imageops::rotate270(upright),
        7 => imageops::flip_horizontal(&imageops::rotate270(upright)), // transverse
        8 => imageops::rotate90(upright),
        _ => unreachable!(),
    }
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).abs())
        .sum::<f64>()
        / a.len() as f64
}

/// The upright image of `stored` under EXIF `orientation` (the inverse of `stored_for`).
fn upright_from(stored: &RgbImage, orientation: u16) -> RgbImage {
    match orientation {
        6 => imageops::rotate90(stored),
        8 => imageops::rotate270(stored),
        // The others are their own inverses.
        o => stored_for(stored, o),
    }
}

/// One axis of spec §1's resize, written from the README and the spec (not from the runtime):
/// output `k` of `n` over the source span `[a, a + n t)` of a `len`-pixel line (pixel `p`
/// covers `[p, p + 1)`). Downscaling (`t >= 1`): the mean of the source over
/// `[a + k t, a + (k + 1) t)`, each pixel weighted by its overlap. Upscaling: bilinear at
/// `a + (k + 0.5) t − 0.5`, clamped to `[0, len − 1]`.
fn spec_taps(a: f64, t: f64, k: usize, len: usize) -> Vec<(usize, f64)> {
    if t >= 1.0 {
        let (lo, hi) = (a + k as f64 * t, a + (k + 1) as f64 * t);
        (0..len)
            .map(|p| (p, (hi.min(p as f64 + 1.0) - lo.max(p as f64)) / t))
            .filter(|&(_, w)| w > 0.0)
            .collect()
    } else {
        let x = (a + (k as f64 + 0.5) * t - 0.5).clamp(0.0, (len - 1) as f64);
        let (i, f) = (x.floor() as usize, x - x.floor());
        if f > 0.0 {
            vec![(i, 1.0 - f), (i + 1, f)]
        } else {
            vec![(i, 1.0)]
        }
    }
}

/// The model input [3, s, s] of an upright RGB image by spec §1: its centred square of side
/// min(w, h), resized to `s` × `s`, then `(v / 255 − mean) / std`, in f64.
fn spec_input(img: &RgbImage, s: usize, mean: [f32; 3], std: [f32; 3]) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let side = w.min(h) as f64;
    let (x0, y0) = ((w as f64 - side) / 2.0, (h as f64 - side) / 2.0);
    let t = side / s as f64;
    let mut out = vec![0f32; 3 * s * s];
    for oy in 0..s {
        let ty = spec_taps(y0, t, oy, h);
        for ox in 0..s {
            let tx = spec_taps(x0, t, ox, w);
            for c in 0..3 {
                let mut v = 0f64;
                for &(sy, wy) in &ty {
                    for &(sx, wx) in &tx {
                        v += wy * wx * img.get_pixel(sx as u32, sy as u32)[c] as f64;
                    }
                }
                out[c * s * s + oy * s + ox] =
                    ((v / 255.0 - mean[c] as f64) / std[c] as f64) as f32;
            }
        }
    }
    out
}

struct Case {
    file: PathBuf,
    label: u8,
    /// The EXIF orientation written into the file (1 when none).
    orientation: u16,
}

/// Writes every test image under `dir`; checks EXIF ones decode upright.
fn write_images(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for (i, &(w, h)) in SIZES.iter().enumerate() {
        let img = picture(w, h, i as u32);
        for (ext, bytes) in [("jpg", jpeg(&img)), ("png", png(&img))] {
            let file = dir.join(format!("s{w}x{h}.{ext}"));
            std::fs::write(&file, bytes).unwrap();
            cases.push(Case {
                file,
                label: (cases.len() % 4) as u8,
                orientation: 1,
            });
        }
    }
    let upright = picture(60, 90, 99);
    for o in 1..=8u16 {
        let stored = stored_for(&upright, o);
        let file = dir.join(format!("exif{o}.jpg"));
        std::fs::write(&file, with_exif_orientation(&jpeg(&stored), o)).unwrap();
        // Decoded upright (JPEG loss aside), and not merely the stored pixels.
        let (px, w, h) = moae_runtime::decode_image(&file).unwrap();
        assert_eq!((w, h), (60, 90), "orientation {o}");
        let d = mean_abs_diff(&px, upright.as_raw());
        // (JPEG loss on the fine stripes is ~5 levels; a wrong orientation is > 20.)
        assert!(
            d < 10.0,
            "orientation {o}: decoded differs from upright by {d}"
        );
        if o != 1 {
            let naive = image::open(&file).unwrap().to_rgb8();
            if naive.dimensions() == (60, 90) {
                let wrong = mean_abs_diff(naive.as_raw(), upright.as_raw());
                assert!(
                    wrong > 20.0,
                    "orientation {o}: the test image is symmetric ({wrong})"
                );
            }
        }
        cases.push(Case {
            file,
            label: (o % 2) as u8,
            orientation: o,
        });
    }
    cases
}

/// Scores from the C program: (attack_score, is_attack) per image.
fn c_scores(work: &Path, model: &Path, files: &[PathBuf]) -> Vec<(f32, bool)> {
    let lib = built();
    let exe = work.join("score_images");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let st = Command::new(&cc)
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(workspace_root().join("tests/c/score_images.c"))
        .arg(format!("-I{}", workspace_root().join("include").display()))
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()))
        .args(["-lmoae", "-lpthread", "-lm"])
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(st.success(), "compiling tests/c/score_images.c failed");
    let out = Command::new(&exe).arg(model).args(files).output().unwrap();
    assert!(
        out.status.success(),
        "score_images failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (s, a) = l.split_once(' ').unwrap();
            (s.parse().unwrap(), a == "1")
        })
        .collect()
}

/// A tiny model with random non-zero weights (scores vary), exported to `dir/tiny.onnx`.
fn exported(dir: &Path, variant: Variant, seed: i64) -> (MoaeClip, PathBuf) {
    let (vs, model) = random_model("tiny", variant, seed);
    let class_emb = default_class_embeddings(&model);
    let path = dir.join("tiny.onnx");
    let bytes = export_model(&model, &vs, &class_emb, WeightFormat::Fp32, false);
    std::fs::write(&path, bytes).unwrap();
    (model, path)
}

fn moae_score(model: &Path, list: &Path, root: &Path, out: &Path) -> std::process::Output {
    Command::new(built().join("moae"))
        .arg("score")
        .arg(model)
        .arg("--list")
        .arg(list)
        .arg("--root")
        .arg(root)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn trainer_eval_moae_score_and_c_abi_agree() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let cases = write_images(work);

    let (model, model_path) = exported(work, Variant::Moae, 12);
    let size = model.cfg.vision.image_size;
    let threshold = moae_runtime::Engine::from_path(&model_path, &Default::default())
        .unwrap()
        .info()
        .threshold as f64;

    // The list: `path label [type]`, with a comment and a type column, as trainer reads it.
    let mut list = String::from("# preprocess contract\n");
    for (i, c) in cases.iter().enumerate() {
        let name = c.file.file_name().unwrap().to_str().unwrap();
        list += &match i % 5 {
            0 => format!("{name} {} print\n", c.label),
            _ => format!("{name} {}\n", c.label),
        };
    }
    let list_path = work.join("list.txt");
    std::fs::write(&list_path, list).unwrap();

    // 1. trainer eval's library path: its list parser, loader, eval transform, tch model.
    let samples = moae_trainer::data::read_list(work, &list_path).unwrap();
    assert_eq!(samples.len(), cases.len());
    let prompts = moae_trainer::model::prompts::PromptSet::default_byte_level(
        model.cfg.text.context_length as usize,
    );
    let batches =
        || moae_trainer::train::eval_batches(&samples, &model.cfg.vision, 8, 2, false).unwrap();
    let trainer = moae_trainer::eval::evaluate::score_batches(
        &model,
        &prompts.ids_tensor(tch::Device::Cpu),
        batches(),
        size,
        tch::Device::Cpu,
    )
    .unwrap();

    // 0. The reference: the `image` crate's pixels, spec §1's resize in f64, the tch model.
    let (mean, std) = (model.cfg.vision.mean, model.cfg.vision.std);
    let mut spec = Vec::new();
    for c in &cases {
        let stored = image::open(&c.file).unwrap().to_rgb8();
        spec.extend(spec_input(
            &upright_from(&stored, c.orientation),
            size as usize,
            mean,
            std,
        ));
    }
    let trainer_inputs: Vec<f32> = batches().flat_map(|b| b.unwrap().pixels).collect();
    compare::assert_close(
        "trainer eval's inputs against spec §1's resize",
        &trainer_inputs,
        &spec,
        1e-4,
    );
    let n = cases.len() as i64;
    let px = tch::Tensor::from_slice(&spec).view([n, 3, size, size]);
    let class_emb = default_class_embeddings(&model);
    let reference = values(
        &tch_logits(&model, &class_emb, &px)
            .softmax(-1, tch::Kind::Float)
            .select(1, 1),
    );

    // 2. `moae score`, read back by the trainer's score-file reader (`trainer metrics`).
    let scores_path = work.join("scores.txt");
    let out = moae_score(&model_path, &list_path, work, &scores_path);
    assert!(
        out.status.success(),
        "moae score: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli = moae_trainer::eval::metrics::read_score_file(&scores_path).unwrap();

    // 3. The C program over libmoae.
    let files: Vec<PathBuf> = cases.iter().map(|c| c.file.clone()).collect();
    let c = c_scores(work, &model_path, &files);

    assert_eq!(
        (trainer.len(), cli.len(), c.len()),
        (cases.len(), cases.len(), cases.len())
    );
    // A second threshold inside the score range, between two neighbours at least 1e-4 apart,
    // so that decisions split both ways there.
    let mut sorted: Vec<f64> = trainer.iter().map(|s| s.score).collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let gap = (mid..sorted.len() - 1)
        .find(|&i| sorted[i + 1] - sorted[i] > 1e-4)
        .expect("scores too close together to split");
    let split = (sorted[gap] + sorted[gap + 1]) / 2.0;

    let column = |f: &dyn Fn(usize) -> f64| (0..cases.len()).map(f).collect::<Vec<f64>>();
    let by_trainer = column(&|i| trainer[i].score);
    let mut worst = 0.0f64;
    for (what, scores) in [
        ("trainer eval", by_trainer.clone()),
        ("moae score", column(&|i| cli[i].score)),
        ("the C ABI", column(&|i| c[i].0 as f64)),
    ] {
        let d = compare::assert_close(
            &format!("{what} against the reference"),
            &scores,
            &reference,
            1e-5,
        );
        worst = worst.max(d);
        worst = worst.max(compare::assert_close(
            &format!("{what} against trainer eval"),
            &scores,
            &by_trainer,
            1e-5,
        ));
    }
    for (i, case) in cases.iter().enumerate() {
        let (t, s, (cs, c_attack)) = (trainer[i].score, cli[i].score, c[i]);
        assert_eq!(trainer[i].attack, case.label != 0);
        assert_eq!(cli[i].attack, case.label != 0);
        assert_eq!(trainer[i].attack_type, cli[i].attack_type);
        for th in [threshold, split] {
            let decisions = [t >= th, s >= th, cs as f64 >= th, reference[i] as f64 >= th];
            assert!(
                decisions.iter().all(|&x| x == decisions[0]),
                "{}: decisions at {th} differ: {decisions:?}",
                case.file.display()
            );
        }
        assert_eq!(c_attack, cs as f64 >= threshold, "{}", case.file.display());
    }
    let spread = sorted[sorted.len() - 1] - sorted[0];
    eprintln!(
        "{} images: max |difference| {worst:.2e}; scores {:.4}..{:.4}; split threshold {split:.4}",
        cases.len(),
        sorted[0],
        sorted[sorted.len() - 1]
    );
    assert!(
        spread > 1e-3,
        "degenerate model: scores barely vary ({spread})"
    );
}

/// `moae score` reads lists with the trainer's parser: what one rejects, the other rejects with
/// the same message; and a truncated JPEG in a list is an error naming it, not a score.
#[test]
fn moae_score_rejects_what_the_trainer_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let img = jpeg(&picture(40, 30, 1));
    std::fs::write(work.join("ok.jpg"), &img).unwrap();
    std::fs::write(work.join("cut.jpg"), &img[..img.len() * 2 / 3]).unwrap();
    let (_, model_path) = exported(work, Variant::Clip, 3);
    let list = work.join("l.txt");
    let out_path = work.join("s.txt");
    for bad in [
        "ok.jpg 300\n",
        "ok.jpg 0 print extra\n",
        "ok.jpg live\n",
        "# only\n",
    ] {
        std::fs::write(&list, bad).unwrap();
        let want = moae_trainer::data::read_list(work, &list)
            .unwrap_err()
            .to_string();
        let out = moae_score(&model_path, &list, work, &out_path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert!(stderr.contains(&want), "{bad:?}: `{stderr}` lacks `{want}`");
        assert!(!out_path.exists());
    }
    std::fs::write(&list, "ok.jpg 0\ncut.jpg 1\n").unwrap();
    let out = moae_score(&model_path, &list, work, &out_path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 2") && stderr.contains("truncated"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
