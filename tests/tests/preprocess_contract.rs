//! Issue 12 §1: train = serve. One image file scores the same through `trainer eval`'s library
//! path (decode, eval transform, tch model), `moae score` (the CLI over the exported ONNX) and a
//! C program over libmoae (`moae_decode_image_file` + `moae_detect`): within 1e-5, with no
//! decision differing. Images of 14 sizes (17×23 … 1920×1080, portrait and landscape, up- and
//! downscaled to the model's 32 px), each as JPEG and PNG, and JPEGs carrying EXIF orientations
//! 1–8 (each must decode upright). The CLI and libmoae are built by `cargo build` from here.

use image::{imageops, ImageEncoder, ImageFormat, RgbImage};
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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// target/<profile>: this test binary lives in its deps/.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// `moae` and libmoae, built from the current sources (a no-op when up to date).
fn built() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = profile_dir();
        let release = dir.ends_with("release");
        for args in [&["--bin", "moae"][..], &["-p", "moae-ffi", "--lib"][..]] {
            let mut c = Command::new(env!("CARGO"));
            c.arg("build").args(args).current_dir(workspace());
            if release {
                c.arg("--release");
            }
            assert!(c.status().unwrap().success(), "cargo build {args:?} failed");
        }
        dir
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

struct Case {
    file: PathBuf,
    label: u8,
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
        .arg(workspace().join("tests/c/score_images.c"))
        .arg(format!("-I{}", workspace().join("include").display()))
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
        moae_trainer::train::eval_batches(&samples, &model.cfg.vision, 8, 2, false).unwrap();
    let trainer = moae_trainer::eval::evaluate::score_batches(
        &model,
        &prompts.ids_tensor(tch::Device::Cpu),
        batches,
        size,
        tch::Device::Cpu,
    )
    .unwrap();

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

    let mut worst = 0.0f64;
    for (i, case) in cases.iter().enumerate() {
        let (t, s, (cs, c_attack)) = (trainer[i].score, cli[i].score, c[i]);
        let d = (t - s).abs().max((t - cs as f64).abs());
        worst = worst.max(d);
        assert!(
            d <= 1e-5,
            "{}: trainer {t}, moae score {s}, C {cs}",
            case.file.display()
        );
        assert_eq!(trainer[i].attack, case.label != 0);
        assert_eq!(cli[i].attack, case.label != 0);
        assert_eq!(trainer[i].attack_type, cli[i].attack_type);
        for th in [threshold, split] {
            let decisions = [t >= th, s >= th, cs as f64 >= th];
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
