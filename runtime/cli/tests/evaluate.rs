//! `moae evaluate` end to end: with the face detector on composed frames (the astronaut's face
//! pasted at known places into 640×480 scenes: one face, two faces, none) it reports the no-face
//! and several-faces rates the composition implies; bad input (an empty list, images that all
//! fail to decode, a calibration of another model) is a clear error, a non-zero exit and no
//! report.

#[path = "../../tests/face_support/mod.rs"]
mod face_support;
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use face_support::{astronaut, Rgb};
use support::*;

/// `$MOAE_FACE_DIR`, else the workspace's `.venv/face` (scripts/setup-face.sh); `None` after
/// printing SKIPPED when the detector is missing (under `CI`, a failure).
fn face_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MOAE_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/face"));
    for f in ["face_detection_front_128x128.onnx", "astronaut.png"] {
        if !dir.join(f).is_file() {
            let msg = format!(
                "{} is missing (scripts/setup-face.sh)",
                dir.join(f).display()
            );
            assert!(std::env::var_os("CI").is_none(), "CI is set and {msg}");
            eprintln!("SKIPPED: {msg}");
            return None;
        }
    }
    Some(dir)
}

fn moae() -> Command {
    Command::new(env!("CARGO_BIN_EXE_moae"))
}

fn linear(dir: &Path) -> PathBuf {
    let model = dir.join("m.onnx");
    std::fs::write(&model, linear_model(&ModelSpec::default())).unwrap();
    model
}

fn save(img: &Rgb, path: &Path) {
    let mut raw = Vec::with_capacity(img.w * img.h * 3);
    for y in 0..img.h {
        for x in 0..img.w {
            raw.extend(img.px(x, y));
        }
    }
    image::RgbImage::from_raw(img.w as u32, img.h as u32, raw)
        .unwrap()
        .save(path)
        .unwrap();
}

/// A smooth gradient scene with the face patch pasted at `(x, y, scale)` each.
fn scene(photo: &Rgb, at: &[(usize, usize, f32)]) -> Rgb {
    let (w, h) = (640, 480);
    let mut img = Rgb::new(w, h);
    for y in 0..h {
        for x in 0..w {
            img.set(
                x,
                y,
                [
                    (60 + 120 * x / w) as u8,
                    (90 + 60 * y / h) as u8,
                    (150 - 80 * x / w) as u8,
                ],
            );
        }
    }
    let patch = photo.crop(110, 20, 230, 230);
    for &(x, y, s) in at {
        let side = (230.0 * s).round() as usize;
        patch.resize_nearest(side, side).paste_into(&mut img, x, y);
    }
    img
}

fn run(args: &[&std::ffi::OsStr]) -> (Output, String) {
    let out = moae().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, err)
}

fn no_report(out: &Path) {
    for f in ["report.json", "report.html"] {
        assert!(!out.join(f).exists(), "{f} written by a failed run");
    }
}

#[test]
fn detector_non_response_matches_the_composition() {
    let Some(faces) = face_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let model = linear(d);
    let photo = astronaut(&faces);
    // 5 one-face frames, 3 with two faces, 2 empty: no face 2/10, several faces 3/10.
    let layouts: [&[(usize, usize, f32)]; 10] = [
        &[(250, 60, 1.5)],
        &[(0, 150, 1.3)],
        &[(10, 30, 1.2), (330, 170, 1.3)],
        &[],
        &[(250, 60, 1.5)],
        &[(10, 30, 1.2), (330, 170, 1.3)],
        &[(0, 150, 1.3)],
        &[],
        &[(10, 30, 1.2), (330, 170, 1.3)],
        &[(250, 60, 1.5)],
    ];
    let mut list = String::new();
    for (i, at) in layouts.iter().enumerate() {
        let name = format!("f{i}.png");
        save(&scene(&photo, at), &d.join(&name));
        list += &format!("{name} {}\n", if i % 2 == 0 { 0 } else { 1 });
    }
    std::fs::write(d.join("list.txt"), list).unwrap();
    let out = d.join("ev");
    let (o, err) = run(&[
        "evaluate".as_ref(),
        model.as_os_str(),
        "--list".as_ref(),
        d.join("list.txt").as_os_str(),
        "--detector".as_ref(),
        faces.join("face_detection_front_128x128.onnx").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--resamples".as_ref(),
        "200".as_ref(),
    ]);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let p = &v["pipeline"];
    assert_eq!(p["presentations"], 10, "{p}");
    let by = &p["non_response_by_reason"];
    assert_eq!(
        (by["no_face"]["count"].as_u64(), by["no_face"]["n"].as_u64()),
        (Some(2), Some(10)),
        "{p}"
    );
    assert_eq!(by["several_faces"]["count"].as_u64(), Some(3), "{p}");
    // Every frame is in the decision table once.
    let total: u64 = p["decisions"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|row| row.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 10, "{p}");
    let (nf, sf) = (
        &p["decisions"]["live"]["no_face"],
        &p["decisions"]["live"]["several_faces"],
    );
    // Frames 3 and 7 (odd: attack) are empty; frames 2 and 8 (even: live) and 5 have two faces.
    assert_eq!((nf.as_u64(), sf.as_u64()), (None, Some(2)), "{p}");
    // The per-image results say which frame got which outcome.
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcome = |i: usize| rows[i]["outcome"].as_str().unwrap().to_string();
    assert_eq!(
        (outcome(3), outcome(7)),
        ("no_face".into(), "no_face".into())
    );
    assert_eq!(outcome(5), "several_faces");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Non-response") && html.contains("several_faces"));
}

#[test]
fn bad_input_is_a_clear_error_and_leaves_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let model = linear(d);
    let out = d.join("ev");
    let evaluate = |list: &Path, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "evaluate".as_ref(),
            model.as_os_str(),
            "--list".as_ref(),
            list.as_os_str(),
            "--whole-frame".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        run(&args)
    };

    let empty = d.join("empty.txt");
    std::fs::write(&empty, "# nothing listed\n").unwrap();
    let (o, err) = evaluate(&empty, &[]);
    assert!(
        !o.status.success() && err.contains("has no samples"),
        "{err}"
    );
    no_report(&out);

    let broken = d.join("broken.txt");
    std::fs::write(d.join("a.png"), b"not a png").unwrap();
    std::fs::write(&broken, "a.png 0\nmissing.png 1\n").unwrap();
    let (o, err) = evaluate(&broken, &[]);
    assert!(
        !o.status.success() && err.contains("none of the 2 images"),
        "{err}"
    );
    no_report(&out);

    // A calibration made for another model.
    let img = d.join("face.png");
    image::RgbImage::from_raw(64, 64, test_rgb(64, 64))
        .unwrap()
        .save(&img)
        .unwrap();
    let good = d.join("good.txt");
    std::fs::write(&good, "face.png 0\nface.png 1\n").unwrap();
    let calib = d.join("calib.json");
    std::fs::write(
        &calib,
        serde_json::json!({
            "threshold": 0.5,
            "model_sha256": "ab".repeat(32),
            "crop_scale": 1.5,
            "face_source": "whole_frame",
        })
        .to_string(),
    )
    .unwrap();
    let (o, err) = evaluate(&good, &["--calibration", calib.to_str().unwrap()]);
    assert!(
        !o.status.success() && err.contains("was made for the model with SHA-256"),
        "{err}"
    );
    no_report(&out);

    // A target no set can resolve (0 % of any number of frames): refused before any scoring.
    let cal_out = d.join("cal.json");
    let o = moae()
        .arg("calibrate")
        .arg(&model)
        .arg("--live")
        .arg(&good)
        .args(["--target-bpcer", "0", "--whole-frame", "--out"])
        .arg(&cal_out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("use a share in (0, 1)"),
        "{err}"
    );
    assert!(!cal_out.exists());

    // The same list evaluates, and writes every file.
    let (o, err) = evaluate(&good, &["--resamples", "100"]);
    assert!(o.status.success(), "{err}");
    for f in ["report.json", "report.html", "results.jsonl", "scores.txt"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

/// `moae calibrate` with attack frames prints the species table `moae evaluate` reports, at the
/// calibrated threshold, and records it in its JSON.
#[test]
fn calibrate_prints_the_species_table_at_its_threshold() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let model = linear(d);
    let (mut live, mut attack) = (String::new(), String::new());
    for i in 0..20u32 {
        let (w, h) = (48 + i, 40 + (i * 7) % 13);
        let name = format!("f{i}.png");
        image::RgbImage::from_raw(w, h, test_rgb(w, h))
            .unwrap()
            .save(d.join(&name))
            .unwrap();
        live += &format!("{name}\n");
        // The image lists' columns: a type column, a label, or a bare path.
        attack += &match i % 3 {
            0 => format!("{name} 1 print\n"),
            1 => format!("{name} 3\n"),
            _ => format!("{name}\n"),
        };
    }
    std::fs::write(d.join("live.txt"), live).unwrap();
    std::fs::write(d.join("attack.txt"), attack).unwrap();
    let out = d.join("calib.json");
    let o = moae()
        .arg("calibrate")
        .arg(&model)
        .arg("--live")
        .arg(d.join("live.txt"))
        .arg("--attack")
        .arg(d.join("attack.txt"))
        .args(["--target-bpcer", "0.1", "--whole-frame", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("APCER per attack species"), "{stdout}");
    for (species, n) in [("print", 7), ("digital", 7), ("attack", 6)] {
        let row = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(species))
            .unwrap_or_else(|| panic!("{species} row missing: {stdout}"));
        assert!(row.contains(&format!(" of {n}")), "{row}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let table = &v["apcer_per_species"];
    assert_eq!(table["print"]["n"], 7, "{v}");
    // The table's APCER over all species is the calibration's own APCER.
    let missed: u64 = table
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert!(
        (missed as f64 / 20.0 - v["apcer"].as_f64().unwrap()).abs() < 1e-12,
        "{v}"
    );
}
