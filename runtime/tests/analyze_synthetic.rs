//! `Engine::analyze` with synthetic BlazeFace-shaped detectors whose outputs are known
//! constants (built as in face_hostile.rs), so the pipeline's fail-closed rules are checked
//! without the real detector files: a detector's huge finite outputs that overflow in upright
//! pixels are an inference error (never a face with NaN angles); SEVERAL_FACES is judged on
//! the faces found, before `max_faces` and before skipped faces; `nms_iou` must be below 1; a
//! detector face that misses the frame or leaves no crop is skipped, not a failure of the whole
//! call; `min_face_px` cannot go below `MIN_FACE_SIZE_PX`. Needs libonnxruntime only.

mod support;

use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{to_bytes, Attr, Dim, GraphBuilder, IR_VERSION, OPSET};
use moae_runtime::{
    Decision, DetectorModel, DetectorOptions, Engine, EngineOptions, Error, FaceDetector,
    FaceSource, Frame, PixelFormat, QualityFlags, QualityOptions, SessionSettings,
    MIN_FACE_SIZE_PX,
};
use std::sync::Arc;
use support::{ort_path, spatial_model};

const SHAPES: [[i64; 3]; 4] = [[1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]];

/// A 128x128 BlazeFace-shaped model whose four outputs are the given constants (plus
/// 0 x mean(input), so the input is used).
fn fake_detector(outs: &[Vec<f32>; 4]) -> Vec<u8> {
    let mut g = GraphBuilder::new("fake-blazeface");
    let dims: Vec<Dim> = [1i64, 128, 128, 3].iter().map(|&d| d.into()).collect();
    let x = g.input("input:0", DataType::Float, &dims);
    let m = g.op(
        "ReduceMean",
        &[&x],
        vec![Attr::ints("axes", &[1, 2, 3]), Attr::int("keepdims", 0)],
    );
    let zero = g.scalar_f32("zero", 0.0);
    let m0 = g.op("Mul", &[&m, &zero], vec![]);
    for (i, (data, shape)) in outs.iter().zip(SHAPES).enumerate() {
        let c = g.initializer_f32(&format!("c{i}"), &shape, data);
        let y = g.op("Add", &[&m0, &c], vec![]);
        let d: Vec<Dim> = shape.iter().map(|&v| v.into()).collect();
        g.output(&y, &format!("out{i}"), DataType::Float, &d);
    }
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-analyze-tests", None))
}

/// Every score very low, boxes zero: no face until edited.
fn empty_outputs() -> [Vec<f32>; 4] {
    [
        vec![-20.0; 512],
        vec![-20.0; 384],
        vec![0.0; 512 * 16],
        vec![0.0; 384 * 16],
    ]
}

/// Sets the fine-grid anchor at cell (`cx`, `cy`) (first of its two) to a face: score logit,
/// box offset/size and keypoint offsets in 128-tensor pixels.
fn face_at(o: &mut [Vec<f32>; 4], cx: usize, cy: usize, logit: f32, r: [f32; 4], kp: f32) {
    let a = (cy * 16 + cx) * 2;
    o[0][a] = logit;
    o[2][a * 16..a * 16 + 4].copy_from_slice(&r);
    for v in &mut o[2][a * 16 + 4..a * 16 + 16] {
        *v = kp;
    }
}

fn opts(detector: Vec<u8>, det: DetectorOptions, quality: QualityOptions) -> EngineOptions {
    EngineOptions {
        ort_library_path: Some(ort_path()),
        intra_op_threads: 2,
        face_detector: Some(DetectorModel::Bytes(Arc::from(detector))),
        detector: det,
        quality,
        ..EngineOptions::default()
    }
}

fn engine(detector: Vec<u8>, det: DetectorOptions, quality: QualityOptions) -> Engine {
    Engine::from_bytes(&spatial_model(32), &opts(detector, det, quality)).expect("engine loads")
}

/// A textured grey frame (`w` x `h`), so the face crops have detail.
fn frame_px(w: usize, h: usize) -> Vec<u8> {
    (0..w * h)
        .map(|i| {
            if ((i % w) / 4 + (i / w) / 4) % 2 == 0 {
                200
            } else {
                60
            }
        })
        .collect()
}

fn gray(px: &[u8], w: u32, h: u32) -> Frame<'_> {
    Frame::packed(PixelFormat::Gray, px, w, h, w as usize).unwrap()
}

#[test]
fn huge_finite_detector_outputs_are_inference_errors() {
    // 640x480: letterbox side 640, so a regressor of 3e38 tensor px (finite, and finite after
    // decoding: 3e38 / 128) overflows f32 in upright pixels.
    let px = frame_px(640, 480);
    let frame = gray(&px, 640, 480);
    let big = 3.0e38f32;
    for (what, r, kp) in [
        ("box", [0.0, 0.0, big, big], 0.0),
        ("keypoints", [0.0, 0.0, 32.0, 32.0], big),
        ("negative keypoints", [0.0, 0.0, 32.0, 32.0], -big),
    ] {
        let mut o = empty_outputs();
        face_at(&mut o, 8, 8, 3.0, r, kp);
        let bytes = fake_detector(&o);
        let det = FaceDetector::new(
            &DetectorModel::Bytes(Arc::from(bytes.clone())),
            &DetectorOptions::default(),
            &SessionSettings {
                library: Some(ort_path()),
                intra_op_threads: 2,
                ..Default::default()
            },
        )
        .unwrap();
        match det.detect(&frame) {
            Err(Error::Inference(m)) => assert!(m.contains("outside f32's range"), "{what}: {m}"),
            other => panic!("{what}: expected an inference error, got {other:?}"),
        }
        let e = engine(bytes, DetectorOptions::default(), QualityOptions::default());
        match e.analyze(&frame, &[]) {
            Err(Error::Inference(m)) => assert!(m.contains("detector"), "{what}: {m}"),
            other => panic!("{what}: expected an inference error, got {other:?}"),
        }
    }
    // The same model with ordinary outputs is one face (the test model works).
    let mut o = empty_outputs();
    face_at(&mut o, 8, 8, 3.0, [0.0, 0.0, 32.0, 32.0], 0.0);
    let e = engine(
        fake_detector(&o),
        DetectorOptions::default(),
        QualityOptions::default(),
    );
    let a = e.analyze(&frame, &[]).unwrap();
    assert_eq!(a.faces.len(), 1, "{a:?}");
    assert!(a.faces[0]
        .keypoints
        .unwrap()
        .iter()
        .all(|k| k.x.is_finite()));
}

/// Two separate faces (fine-grid cells (4, 8) and (11, 8)) on a 256x256 frame.
fn two_faces() -> Vec<u8> {
    let mut o = empty_outputs();
    face_at(&mut o, 4, 8, 3.0, [0.0, 0.0, 32.0, 32.0], 0.0);
    face_at(&mut o, 11, 8, 2.0, [0.0, 0.0, 32.0, 32.0], 0.0);
    fake_detector(&o)
}

#[test]
fn several_faces_are_counted_before_max_faces() {
    let px = frame_px(256, 256);
    let frame = gray(&px, 256, 256);
    let d = DetectorOptions::default();
    let q = QualityOptions::default();
    // All faces returned: two, both SEVERAL_FACES.
    let a = engine(two_faces(), d, q).analyze(&frame, &[]).unwrap();
    assert_eq!(a.faces.len(), 2);
    assert!(a.flags.contains(QualityFlags::SEVERAL_FACES));
    // max_faces = 1 keeps the best face only, but the frame still had two: SEVERAL_FACES on
    // the frame and on the face, and the face is unsure.
    let one = DetectorOptions { max_faces: 1, ..d };
    let a = engine(two_faces(), one, q).analyze(&frame, &[]).unwrap();
    assert_eq!(a.faces.len(), 1, "{a:?}");
    assert_eq!(a.flags, QualityFlags::SEVERAL_FACES);
    let f = &a.faces[0];
    assert!(f.quality.flags.contains(QualityFlags::SEVERAL_FACES));
    assert_eq!(f.decision, Decision::Unsure);
    assert!((f.detector_score.unwrap() - 1.0 / (1.0 + (-3f32).exp())).abs() < 1e-6);
    // The count is the detector's.
    let det = FaceDetector::new(
        &DetectorModel::Bytes(Arc::from(two_faces())),
        &one,
        &SessionSettings {
            library: Some(ort_path()),
            intra_op_threads: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let (faces, found) = det.detect_counted(&frame).unwrap();
    assert_eq!((faces.len(), found), (1, 2));
    // allow_several_faces: no flag for two faces, whatever max_faces.
    let allow = QualityOptions {
        allow_several_faces: true,
        ..q
    };
    let a = engine(two_faces(), one, allow)
        .analyze(&frame, &[])
        .unwrap();
    assert!(!a.flags.contains(QualityFlags::SEVERAL_FACES), "{a:?}");
    assert!(!a.faces[0]
        .quality
        .flags
        .contains(QualityFlags::SEVERAL_FACES));
}

#[test]
fn nms_iou_must_be_in_the_open_unit_interval() {
    let o = empty_outputs();
    for iou in [1.0f32, 1.5, 0.0, -0.1, f32::NAN, f32::INFINITY] {
        let d = DetectorOptions {
            nms_iou: iou,
            ..Default::default()
        };
        assert!(
            matches!(d.validate(), Err(Error::InvalidArgument(ref m)) if m.contains("(0, 1)")),
            "{iou}: {:?}",
            d.validate()
        );
        let r = Engine::from_bytes(
            &spatial_model(32),
            &opts(fake_detector(&o), d, QualityOptions::default()),
        );
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{iou}");
    }
    for iou in [0.3f32, 0.999] {
        let d = DetectorOptions {
            nms_iou: iou,
            ..Default::default()
        };
        assert!(d.validate().is_ok(), "{iou}");
    }
}

#[test]
fn a_detector_face_that_misses_the_frame_or_has_no_crop_is_skipped() {
    // A 256x64 upright frame: the letterbox's side is 256, with 96 rows of padding above and
    // below (upright y = tensor y * 256 - 96).
    let px = frame_px(256, 64);
    let frame = gray(&px, 256, 64);
    let (d, q) = (DetectorOptions::default(), QualityOptions::default());
    // Cell (3, 1): centre y 1.5/16 * 256 - 96 = -72, 32 px high: wholly above the frame.
    let outside = |o: &mut [Vec<f32>; 4]| face_at(o, 3, 1, 3.0, [0.0, 0.0, 16.0, 16.0], 0.0);
    // Cell (8, 8): centre (136, 40), 32 px: inside.
    let inside = |o: &mut [Vec<f32>; 4]| face_at(o, 8, 8, 2.0, [0.0, 0.0, 16.0, 16.0], 0.0);
    // Cell (12, 8): a sliver 1e-4 tensor px wide (positive, so the decoder keeps it): its
    // quality square leaves no part of the frame.
    let sliver = |o: &mut [Vec<f32>; 4]| face_at(o, 12, 8, 1.0, [0.0, 0.0, 1e-4, 16.0], 0.0);

    // The best face misses the frame: skipped; the other is judged, and the frame had two.
    let mut o = empty_outputs();
    outside(&mut o);
    inside(&mut o);
    let a = engine(fake_detector(&o), d, q)
        .analyze(&frame, &[])
        .expect("one face outside the frame does not fail the call");
    assert_eq!(a.faces.len(), 1, "{a:?}");
    let f = &a.faces[0];
    assert_eq!(f.source, FaceSource::Detector);
    assert!((f.face_box.x - 120.0).abs() < 1e-3 && (f.face_box.y - 24.0).abs() < 1e-3);
    assert!(a.flags.contains(QualityFlags::SEVERAL_FACES));
    assert!(f.detection.attack_score.is_finite());

    // Only faces that cannot be judged: no face (not an error, no score).
    for (what, add) in [
        ("outside", &outside as &dyn Fn(&mut [Vec<f32>; 4])),
        ("sliver", &sliver),
    ] {
        let mut o = empty_outputs();
        add(&mut o);
        // The detector itself reports it ...
        let det = FaceDetector::new(
            &DetectorModel::Bytes(Arc::from(fake_detector(&o))),
            &d,
            &SessionSettings {
                library: Some(ort_path()),
                intra_op_threads: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(det.detect(&frame).unwrap().len(), 1, "{what}");
        // ... analyze skips it.
        let a = engine(fake_detector(&o), d, q)
            .analyze(&frame, &[])
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(a.faces.is_empty(), "{what}: {a:?}");
        assert_eq!(a.flags, QualityFlags::NO_FACE, "{what}");
    }
}

#[test]
fn min_face_px_cannot_go_below_the_smallest_judged_face() {
    let o = empty_outputs();
    for px in [0.0f32, 1.0, MIN_FACE_SIZE_PX - 0.01] {
        let q = QualityOptions {
            min_face_px: px,
            ..Default::default()
        };
        match Engine::from_bytes(
            &spatial_model(32),
            &opts(fake_detector(&o), DetectorOptions::default(), q),
        ) {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.contains("min_face_px") && m.contains(">= 16"), "{m}")
            }
            Err(e) => panic!("{px}: {e}"),
            Ok(_) => panic!("{px}: accepted"),
        }
    }
    let q = QualityOptions {
        min_face_px: MIN_FACE_SIZE_PX,
        ..Default::default()
    };
    assert!(Engine::from_bytes(
        &spatial_model(32),
        &opts(fake_detector(&o), DetectorOptions::default(), q)
    )
    .is_ok());
}
