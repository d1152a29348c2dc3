//! The detector on composed camera frames: the astronaut's face pasted at several scales and
//! positions into 1920x1080 and 640x480 scenes (one face, two faces, none), each stored as a
//! camera would hand it over — NV21, NV12, I420, BGRA, RGB; rotated 0/90/180/270 (the buffer
//! stored rotated, the frame told its rotation); mirrored or not — and every pasted face found
//! in upright, un-mirrored coordinates with IoU >= 0.8 against its known box; nothing on the
//! empty scenes.

mod face_support;

use face_support::*;
use moae_runtime::{FaceBox, FaceDetector, PixelFormat, Rotation};

/// The part of the photo pasted (the face with some margin), and MediaPipe's box on the photo
/// (from the fixture) shifted into it.
const PATCH: (usize, usize, usize, usize) = (110, 20, 230, 230);

fn mediapipe_box_on_photo() -> FaceBox {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/face/mediapipe_reference.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let b = &v["images"][0];
    assert_eq!(b["name"], "original");
    let f = |k: &str| b["faces"][0]["box"][k].as_f64().unwrap() as f32;
    FaceBox::new(f("x"), f("y"), f("width"), f("height"))
}

/// A smooth, slightly noisy background (deterministic): no face in it.
fn background(w: usize, h: usize) -> Rgb {
    let mut img = Rgb::new(w, h);
    let mut s = 0x2545_f491_u32;
    for y in 0..h {
        for x in 0..w {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let n = (s % 17) as i32 - 8;
            let r = (60 + 120 * x / w) as i32 + n;
            let g = (90 + 60 * y / h) as i32 + n;
            let b = (150 - 80 * x / w) as i32 + n;
            img.set(x, y, [r as u8, g as u8, b as u8]);
        }
    }
    img
}

struct Scene {
    name: &'static str,
    img: Rgb,
    faces: Vec<FaceBox>,
}

/// `(x, y, scale)` per face: the patch resized by `scale` pasted with its top-left at (x, y).
fn scene(
    name: &'static str,
    w: usize,
    h: usize,
    photo: &Rgb,
    face: FaceBox,
    at: &[(usize, usize, f32)],
) -> Scene {
    let (px, py, pw, ph) = PATCH;
    let patch = photo.crop(px, py, pw, ph);
    let mut img = background(w, h);
    let mut faces = Vec::new();
    for &(x, y, s) in at {
        let (sw, sh) = (
            (pw as f32 * s).round() as usize,
            (ph as f32 * s).round() as usize,
        );
        patch.resize_nearest(sw, sh).paste_into(&mut img, x, y);
        let (kx, ky) = (sw as f32 / pw as f32, sh as f32 / ph as f32);
        faces.push(FaceBox::new(
            x as f32 + (face.x - px as f32) * kx,
            y as f32 + (face.y - py as f32) * ky,
            face.width * kx,
            face.height * ky,
        ));
    }
    Scene { name, img, faces }
}

const FORMATS: [PixelFormat; 5] = [
    PixelFormat::Nv21,
    PixelFormat::Nv12,
    PixelFormat::I420,
    PixelFormat::Bgra,
    PixelFormat::Rgb,
];
const ROTATIONS: [Rotation; 4] = [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270];

/// Every format x rotation x mirroring of every scene: each known face found once (IoU >=
/// 0.8, eyes in upright order), no other face. Returns the worst IoU.
fn check(det: &FaceDetector, scenes: &[Scene]) -> f32 {
    let mut worst = 1.0f32;
    let mut runs = 0;
    for sc in scenes {
        let mut scene_worst = 1.0f32;
        // The upright frame is the same picture in every rotation and mirroring (and RGB and
        // BGRA hold the same bytes): the detector must give the very same faces.
        let mut first: Vec<(PixelFormat, Vec<moae_runtime::DetectedFace>)> = Vec::new();
        for rot in ROTATIONS {
            for mirrored in [false, true] {
                let buf = to_buffer(&sc.img, rot, mirrored);
                for fmt in FORMATS {
                    let planes = convert(&buf, fmt);
                    let frame = planes.frame().with_rotation(rot).with_mirrored(mirrored);
                    assert_eq!(frame.upright_size(), (sc.img.w as u32, sc.img.h as u32));
                    let found = det.detect(&frame).unwrap();
                    let what = format!(
                        "{}: {fmt} rotation {} mirrored {mirrored}",
                        sc.name,
                        rot.degrees()
                    );
                    assert_eq!(
                        found.len(),
                        sc.faces.len(),
                        "{what}: found {found:?}, expected {:?}",
                        sc.faces
                    );
                    for want in &sc.faces {
                        let best = found
                            .iter()
                            .max_by(|a, b| {
                                iou(&a.face_box, want).total_cmp(&iou(&b.face_box, want))
                            })
                            .unwrap();
                        let i = iou(&best.face_box, want);
                        assert!(i >= 0.8, "{what}: IoU {i}: {:?} vs {want:?}", best.face_box);
                        // The subject's right eye is on the upright, un-mirrored image's left.
                        assert!(
                            best.keypoints[0].x < best.keypoints[1].x,
                            "{what}: eyes swapped: {:?}",
                            best.keypoints
                        );
                        assert!(best.score >= 0.5 && best.score <= 1.0);
                        worst = worst.min(i);
                        scene_worst = scene_worst.min(i);
                    }
                    let key = match fmt {
                        PixelFormat::Bgra => PixelFormat::Rgb,
                        f => f,
                    };
                    match first.iter().find(|(f, _)| *f == key) {
                        Some((_, f0)) => assert_eq!(&found, f0, "{what}: differs from rotation 0"),
                        None => first.push((key, found.clone())),
                    }
                    runs += 1;
                }
            }
        }
        if !sc.faces.is_empty() {
            eprintln!("{:24} worst IoU {scene_worst:.4}", sc.name);
        }
    }
    eprintln!(
        "{runs} frames ({} scenes x 4 rotations x 2 mirror x 5 formats), worst IoU {worst:.4}",
        scenes.len()
    );
    worst
}

#[test]
fn front_model_finds_every_pasted_face_in_every_format_rotation_and_mirror() {
    let Some(dir) = face_dir() else { return };
    let photo = astronaut(&dir);
    let face = mediapipe_box_on_photo();
    let scenes = [
        scene(
            "hd one face, large",
            1920,
            1080,
            &photo,
            face,
            &[(700, 50, 4.4)],
        ),
        scene(
            "hd one face, left",
            1920,
            1080,
            &photo,
            face,
            &[(40, 300, 3.0)],
        ),
        scene(
            "hd two faces",
            1920,
            1080,
            &photo,
            face,
            &[(100, 150, 3.0), (1100, 300, 3.2)],
        ),
        scene("hd empty", 1920, 1080, &photo, face, &[]),
        scene("vga one face", 640, 480, &photo, face, &[(250, 60, 1.5)]),
        scene(
            "vga one face, corner",
            640,
            480,
            &photo,
            face,
            &[(0, 150, 1.3)],
        ),
        scene(
            "vga two faces",
            640,
            480,
            &photo,
            face,
            &[(10, 30, 1.2), (330, 170, 1.3)],
        ),
        scene("vga empty", 640, 480, &photo, face, &[]),
    ];
    check(&front(&dir), &scenes);
}

#[test]
fn back_model_finds_faces_farther_away() {
    let Some(dir) = face_dir() else { return };
    let photo = astronaut(&dir);
    let face = mediapipe_box_on_photo();
    let det = detector(&dir, "face_detection_back_256x256.onnx");
    assert_eq!(det.kind(), moae_runtime::face::DetectorKind::Back256);
    let scenes = [
        scene(
            "hd two far faces",
            1920,
            1080,
            &photo,
            face,
            &[(300, 500, 2.0), (1400, 300, 1.8)],
        ),
        scene("hd empty", 1920, 1080, &photo, face, &[]),
    ];
    check(&det, &scenes);
}
