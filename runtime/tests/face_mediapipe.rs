//! libmoae's BlazeFace against MediaPipe's own face detector (`mediapipe==0.10.14`,
//! face_detection_short_range) on the astronaut photo and upright variants of it: every image
//! rebuilt bit for bit (SHA-256 of its RGB bytes), then the same faces, IoU >= 0.9 and every
//! keypoint within 2 % of the box size. Fixture: tests/fixtures/face/mediapipe_reference.json,
//! made by scripts/face-reference/make_fixture.py.

mod compare;
mod face_support;

use face_support::*;
use moae_runtime::{FaceBox, Frame, PixelFormat};
use serde_json::Value;

fn fixture() -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/face/mediapipe_reference.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("fixture readable"))
        .expect("fixture is JSON")
}

fn rebuild(photo: &Rgb, ops: &[Value]) -> Rgb {
    let mut img = photo.clone();
    let n = |o: &Value, k: &str| o[k].as_u64().unwrap() as usize;
    for o in ops {
        img = match o["op"].as_str().unwrap() {
            "flip_lr" => img.flip_lr(),
            "crop" => img.crop(n(o, "x"), n(o, "y"), n(o, "width"), n(o, "height")),
            "pad" => img.pad(n(o, "left"), n(o, "top"), n(o, "right"), n(o, "bottom")),
            "downscale2" => img.downscale2(),
            other => panic!("unknown op {other}"),
        };
    }
    img
}

#[test]
fn matches_mediapipe_on_every_upright_image() {
    let Some(dir) = face_dir() else { return };
    let fx = fixture();
    let photo = astronaut(&dir);
    let det = front(&dir);
    let images = fx["images"].as_array().unwrap();
    assert!(images.len() >= 8);
    let (mut worst_iou, mut worst_kp, mut worst_score) = (1.0f32, 0.0f32, 0.0f32);
    let mut compared = 0;
    for im in images {
        let name = im["name"].as_str().unwrap();
        let img = rebuild(&photo, im["ops"].as_array().unwrap());
        assert_eq!(
            (img.w, img.h),
            (
                im["width"].as_u64().unwrap() as usize,
                im["height"].as_u64().unwrap() as usize
            ),
            "{name}"
        );
        assert_eq!(
            img.sha256(),
            im["rgb_sha256"].as_str().unwrap(),
            "{name}: pixels differ"
        );
        let frame = Frame::packed(
            PixelFormat::Rgb,
            &img.data,
            img.w as u32,
            img.h as u32,
            img.w * 3,
        )
        .unwrap();
        let ours = det.detect(&frame).unwrap();
        let theirs = im["faces"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}: {ours:?} vs {theirs:?}");
        for (o, t) in ours.iter().zip(theirs) {
            let f = |k: &str| t["box"][k].as_f64().unwrap() as f32;
            let tb = FaceBox::new(f("x"), f("y"), f("width"), f("height"));
            let i = iou(&o.face_box, &tb);
            let size = tb.width.max(tb.height);
            let dist: Vec<f32> = o
                .keypoints
                .iter()
                .zip(t["keypoints"].as_array().unwrap())
                .map(|(k, tk)| {
                    let (tx, ty) = (
                        tk[0].as_f64().unwrap() as f32,
                        tk[1].as_f64().unwrap() as f32,
                    );
                    (k.x - tx).hypot(k.y - ty) / size
                })
                .collect();
            let kp = compare::max_abs_diff(
                &format!("{name}: keypoint distance"),
                &dist,
                &vec![0f32; dist.len()],
            ) as f32;
            let ds = compare::max_abs_diff(
                &format!("{name}: score"),
                &[o.score],
                &[t["score"].as_f64().unwrap()],
            ) as f32;
            eprintln!(
                "{name:24} IoU {i:.6}  worst keypoint {:.4} % of box  score {:.5} vs {:.5}",
                kp * 100.0,
                o.score,
                t["score"].as_f64().unwrap()
            );
            assert!(i >= 0.9, "{name}: IoU {i} ({:?} vs {tb:?})", o.face_box);
            assert!(
                kp <= 0.02,
                "{name}: a keypoint is {:.2} % of the box off",
                kp * 100.0
            );
            // Same weights, same input: the scores agree too (ORT vs TFLite float rounding).
            assert!(
                ds <= 0.01,
                "{name}: score {} vs MediaPipe's {}",
                o.score,
                t["score"]
            );
            worst_iou = worst_iou.min(i);
            worst_kp = worst_kp.max(kp);
            worst_score = worst_score.max(ds);
            compared += 1;
        }
    }
    assert!(compared >= 8, "only {compared} faces compared");
    eprintln!(
        "{compared} faces: worst IoU {worst_iou:.6}, worst keypoint {:.4} % of the box, worst \
         score difference {worst_score:.6}",
        worst_kp * 100.0
    );
}
