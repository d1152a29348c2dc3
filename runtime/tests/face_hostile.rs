//! Hostile and synthetic detector models: every bad file or shape is a clear error at load,
//! non-finite outputs are an inference error (never a face, never a panic), hostile frames
//! (1x1, 2x2, extremely thin) are handled, and a model with known outputs shows the decoding,
//! weighted NMS and mapping to upright pixels end to end. The synthetic models need only ONNX
//! Runtime; the real-model cases need scripts/setup-face.sh's files (else SKIPPED).

mod face_support;

use face_support::*;
use moae_onnx::proto::tensor_proto::DataType;
use moae_onnx::{to_bytes, Attr, Dim, GraphBuilder, IR_VERSION, OPSET};
use moae_runtime::{
    DetectorModel, DetectorOptions, Error, FaceDetector, Frame, PixelFormat, Rotation,
};
use std::sync::Arc;

/// A BlazeFace-shaped model: input `[1, s, s, 3]` (or `input_dims`), outputs the given
/// constants (`[1,512,1]`, `[1,384,1]`, `[1,512,16]`, `[1,384,16]`) plus 0 x mean(input).
fn fake_model(input_dims: &[i64], outs: [&[f32]; 4], out_shapes: [[i64; 3]; 4]) -> Vec<u8> {
    let mut g = GraphBuilder::new("fake-blazeface");
    let dims: Vec<Dim> = input_dims.iter().map(|&d| d.into()).collect();
    let x = g.input("input:0", DataType::Float, &dims);
    let axes: Vec<i64> = (1..input_dims.len() as i64).collect();
    let m = g.op(
        "ReduceMean",
        &[&x],
        vec![Attr::ints("axes", &axes), Attr::int("keepdims", 0)],
    );
    let zero = g.scalar_f32("zero", 0.0);
    let m0 = g.op("Mul", &[&m, &zero], vec![]);
    for (i, (data, shape)) in outs.iter().zip(out_shapes).enumerate() {
        let c = g.initializer_f32(&format!("c{i}"), &shape, data);
        let y = g.op("Add", &[&m0, &c], vec![]);
        let d: Vec<Dim> = shape.iter().map(|&v| v.into()).collect();
        let name = if i == 0 {
            "Identity:0".to_string()
        } else {
            format!("Identity_{i}:0")
        };
        g.output(&y, &name, DataType::Float, &d);
    }
    to_bytes(&g.finish(OPSET, IR_VERSION, "moae-face-tests", None))
}

const SHAPES: [[i64; 3]; 4] = [[1, 512, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]];

/// Outputs with every score very low, ready to be edited.
fn empty_outputs() -> [Vec<f32>; 4] {
    [
        vec![-20.0; 512],
        vec![-20.0; 384],
        vec![0.0; 512 * 16],
        vec![0.0; 384 * 16],
    ]
}

fn load(bytes: Vec<u8>, opts: &DetectorOptions) -> moae_runtime::Result<FaceDetector> {
    FaceDetector::new(
        &DetectorModel::Bytes(Arc::from(bytes)),
        opts,
        &engine_opts().session_settings(),
    )
}

fn build(outs: &[Vec<f32>; 4], s: i64) -> FaceDetector {
    let m = fake_model(
        &[1, s, s, 3],
        [&outs[0], &outs[1], &outs[2], &outs[3]],
        SHAPES,
    );
    load(m, &DetectorOptions::default()).expect("fake model loads")
}

fn model_err(r: moae_runtime::Result<FaceDetector>) -> String {
    match r {
        Err(Error::Model(m)) => m,
        Err(e) => panic!("expected Error::Model, got {e}"),
        Ok(_) => panic!("expected Error::Model, the detector loaded"),
    }
}

#[test]
fn bad_files_are_model_errors() {
    let o = DetectorOptions::default();
    let m = model_err(load(vec![], &o));
    assert!(m.contains("empty"), "{m}");
    let m = model_err(load(
        b"definitely not an onnx protobuf \x00\xff".to_vec(),
        &o,
    ));
    assert!(m.contains("not a loadable ONNX model"), "{m}");
    let missing = FaceDetector::new(
        &DetectorModel::Path("/nonexistent/face_detection_front_128x128.onnx".into()),
        &o,
        &engine_opts().session_settings(),
    );
    assert!(matches!(missing, Err(Error::Io { .. })));
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let r = FaceDetector::new(
        &DetectorModel::Path(empty),
        &o,
        &engine_opts().session_settings(),
    );
    assert!(model_err(r).contains("empty"));
    // A real detector cut in half.
    if let Some(fd) = face_dir() {
        let b = std::fs::read(fd.join("face_detection_front_128x128.onnx")).unwrap();
        let m = model_err(load(b[..b.len() / 2].to_vec(), &o));
        assert!(m.contains("face detector"), "{m}");
    }
}

#[test]
fn wrong_shapes_are_model_errors() {
    let o = empty_outputs();
    let outs = [&o[0][..], &o[1], &o[2], &o[3]];
    // NCHW instead of NHWC; a 96x96 input; a 4-channel input.
    for dims in [[1, 3, 128, 128], [1, 96, 96, 3], [1, 128, 128, 4]] {
        let m = model_err(load(fake_model(&dims, outs, SHAPES), &Default::default()));
        assert!(m.contains("wrong input shape"), "{dims:?}: {m}");
    }
    // Outputs of the wrong sizes.
    let small = [
        vec![0.0; 100],
        vec![0.0; 384],
        vec![0.0; 512 * 16],
        vec![0.0; 384 * 16],
    ];
    let m = model_err(load(
        fake_model(
            &[1, 128, 128, 3],
            [&small[0], &small[1], &small[2], &small[3]],
            [[1, 100, 1], [1, 384, 1], [1, 512, 16], [1, 384, 16]],
        ),
        &Default::default(),
    ));
    assert!(m.contains("wrong outputs"), "{m}");
    // A real 128 model is told apart from the 256 one by its input.
    assert_eq!(
        build(&o, 128).kind(),
        moae_runtime::face::DetectorKind::Front128
    );
    assert_eq!(
        build(&o, 256).kind(),
        moae_runtime::face::DetectorKind::Back256
    );
}

#[test]
fn bad_options_are_invalid_arguments() {
    let o = empty_outputs();
    let m = fake_model(&[1, 128, 128, 3], [&o[0], &o[1], &o[2], &o[3]], SHAPES);
    for opts in [
        DetectorOptions {
            min_score: f32::NAN,
            ..Default::default()
        },
        DetectorOptions {
            min_score: 1.5,
            ..Default::default()
        },
        DetectorOptions {
            nms_iou: 0.0,
            ..Default::default()
        },
        DetectorOptions {
            max_faces: 0,
            ..Default::default()
        },
    ] {
        assert!(
            matches!(load(m.clone(), &opts), Err(Error::InvalidArgument(_))),
            "{opts:?}"
        );
    }
}

#[test]
fn non_finite_outputs_are_inference_errors() {
    let px = vec![128u8; 64 * 48 * 3];
    let frame = Frame::packed(PixelFormat::Rgb, &px, 64, 48, 64 * 3).unwrap();
    for (which, v) in [
        (0, f32::NAN),
        (1, f32::INFINITY),
        (2, f32::NAN),
        (3, f32::NEG_INFINITY),
    ] {
        let mut o = empty_outputs();
        o[which][5] = v;
        match build(&o, 128).detect(&frame) {
            Err(Error::Inference(m)) => assert!(m.contains("non-finite"), "{m}"),
            other => panic!("output {which} = {v}: expected an inference error, got {other:?}"),
        }
    }
}

/// Two overlapping detections at the 16x16 grid's cell (8, 4) and one at the 8x8 grid's cell
/// (1, 6): on a 256x128 upright frame (letterbox side 256, 64 rows of padding above), the
/// merged face and the second face land where MediaPipe's formulas put them, best first,
/// whatever the buffer's rotation and mirroring.
#[test]
fn decoding_merging_and_mapping_end_to_end() {
    let mut o = empty_outputs();
    // fine anchor (x 8, y 4), first of its two: index (4 * 16 + 8) * 2
    let a = (4 * 16 + 8) * 2;
    o[0][a] = 3.0; // score 0.9526
    o[2][a * 16..a * 16 + 4].copy_from_slice(&[0.0, 0.0, 32.0, 32.0]);
    for k in 0..6 {
        o[2][a * 16 + 4 + 2 * k] = k as f32;
        o[2][a * 16 + 5 + 2 * k] = -(k as f32);
    }
    // its twin, shifted by 4 tensor px, score 0.8808: merged by weighted NMS
    let b = a + 1;
    o[0][b] = 2.0;
    o[2][b * 16..b * 16 + 4].copy_from_slice(&[4.0, 0.0, 32.0, 32.0]);
    // coarse anchor (x 1, y 6), second of six: 384-block index (6 * 8 + 1) * 6 + 1
    let c = (6 * 8 + 1) * 6 + 1;
    o[1][c] = 1.0; // 0.7311
    o[3][c * 16..c * 16 + 4].copy_from_slice(&[0.0, 0.0, 16.0, 24.0]);
    let det = build(&o, 128);
    let (s1, s2, s3) = (
        1.0 / (1.0 + (-3f32).exp()),
        1.0 / (1.0 + (-2f32).exp()),
        1.0 / (1.0 + (-1f32).exp()),
    );
    // tensor-normalised centres, then upright px = u * 256 + (0, -64)
    let cx1 = 8.5 / 16.0 + (4.0 / 128.0) * s2 / (s1 + s2);
    let cy1 = 4.5 / 16.0;
    let want1 = (cx1 * 256.0 - 32.0, cy1 * 256.0 - 64.0 - 32.0, 64.0, 64.0);
    let want2 = (
        1.5 / 8.0 * 256.0 - 16.0,
        6.5 / 8.0 * 256.0 - 64.0 - 24.0,
        32.0,
        48.0,
    );
    let up = Rgb::new(256, 128);
    for rot in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
        for mirrored in [false, true] {
            let buf = to_buffer(&up, rot, mirrored);
            let p = convert(&buf, PixelFormat::Nv21);
            let frame = p.frame().with_rotation(rot).with_mirrored(mirrored);
            let faces = det.detect(&frame).unwrap();
            assert_eq!(faces.len(), 2, "{faces:?}");
            let close = |a: f32, b: f32| (a - b).abs() < 1e-3;
            let (f1, f2) = (&faces[0], &faces[1]);
            assert!(close(f1.score, s1) && close(f2.score, s3));
            for (f, w) in [(f1, want1), (f2, want2)] {
                let b = f.face_box;
                assert!(
                    close(b.x, w.0)
                        && close(b.y, w.1)
                        && close(b.width, w.2)
                        && close(b.height, w.3),
                    "rotation {rot:?} mirrored {mirrored}: {b:?} vs {w:?}"
                );
            }
            // keypoint k of the merged face: weighted mean of (k, -k) and (0, 0) tensor px
            for (k, kp) in f1.keypoints.iter().enumerate() {
                let kx = (8.5 / 16.0 + k as f32 / 128.0 * s1 / (s1 + s2)) * 256.0;
                let ky = (4.5 / 16.0 - k as f32 / 128.0 * s1 / (s1 + s2)) * 256.0 - 64.0;
                assert!(close(kp.x, kx) && close(kp.y, ky), "keypoint {k}: {kp:?}");
            }
        }
    }
    // min_score and max_faces
    let m = fake_model(&[1, 128, 128, 3], [&o[0], &o[1], &o[2], &o[3]], SHAPES);
    let frame_px = vec![0u8; 256 * 128 * 3];
    let frame = Frame::packed(PixelFormat::Rgb, &frame_px, 256, 128, 256 * 3).unwrap();
    let strict = DetectorOptions {
        min_score: 0.8,
        ..Default::default()
    };
    assert_eq!(
        load(m.clone(), &strict)
            .unwrap()
            .detect(&frame)
            .unwrap()
            .len(),
        1
    );
    let one = DetectorOptions {
        max_faces: 1,
        ..Default::default()
    };
    let got = load(m, &one).unwrap().detect(&frame).unwrap();
    assert_eq!(got.len(), 1);
    assert!((got[0].score - s1).abs() < 1e-6);
}

#[test]
fn hostile_frames_do_not_panic() {
    let Some(dir) = face_dir() else { return };
    let det = front(&dir);
    let one = [200u8, 10, 10];
    let f = Frame::packed(PixelFormat::Rgb, &one, 1, 1, 3).unwrap();
    for rot in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
        for m in [false, true] {
            assert!(det
                .detect(&f.with_rotation(rot).with_mirrored(m))
                .unwrap()
                .is_empty());
        }
    }
    let y = [16u8; 4];
    let vu = [128u8; 2];
    let f = Frame::nv(PixelFormat::Nv21, &y, 2, &vu, 2, 2, 2).unwrap();
    assert!(det
        .detect(&f.with_rotation(Rotation::R90))
        .unwrap()
        .is_empty());
    // 4000 x 2 gray, and 2 x 4000 I420
    let g = vec![77u8; 4000 * 2];
    let f = Frame::packed(PixelFormat::Gray, &g, 4000, 2, 4000).unwrap();
    assert!(det
        .detect(&f.with_rotation(Rotation::R270))
        .unwrap()
        .is_empty());
    let yp = vec![90u8; 2 * 4000];
    let c = vec![128u8; 2000];
    let f = Frame::i420(&yp, 2, &c, 1, &c, 1, 2, 4000).unwrap();
    assert!(det.detect(&f.with_mirrored(true)).unwrap().is_empty());
}
