//! Liveness scoring: each face's crop planned once, preprocessed, run through the model in
//! chunks of [`BOX_CHUNK`], and every output checked (a non-finite or out-of-range score is
//! [`Error::Inference`], never a decision).

use super::{Detection, Engine, Scores};
use crate::error::{Error, Result};
use crate::image::crop::{self, FaceBox, Square};
use crate::image::frame::Frame;
use crate::liveness::{preprocess, BOX_CHUNK};
use moae_onnx::meta;
use ort::session::Session;
use ort::value::TensorRef;
use std::time::Instant;

/// How far a probability may stray outside [0, 1] from float rounding (int8/fp16 models)
/// before it is treated as a broken model rather than clamped.
const SCORE_SLACK: f32 = 1e-4;

/// Checks one input's attack-type probabilities: each a probability and together summing to 1
/// (a softmax), else a named inference error.
fn attack_type_probabilities(p: &[f32], i: usize, batch: usize) -> Result<[f32; 4]> {
    let mut out = [0.0f32; 4];
    for (o, &v) in out.iter_mut().zip(p) {
        *o = probability(meta::OUTPUT_ATTACK_TYPE, v, i, batch)?;
    }
    let sum: f32 = out.iter().sum();
    if (sum - 1.0).abs() > 1e-3 {
        return Err(Error::Inference(format!(
            "the model gave attack-type probabilities {out:?} for input {} of {batch}, summing \
             to {sum} instead of 1; no decision was made: the model is broken",
            i + 1
        )));
    }
    Ok(out)
}

/// Checks one model output: a finite probability, else a named inference error.
fn probability(name: &str, v: f32, i: usize, batch: usize) -> Result<f32> {
    if !v.is_finite() || !(-SCORE_SLACK..=1.0 + SCORE_SLACK).contains(&v) {
        return Err(Error::Inference(format!(
            "the model gave {name} = {v} for input {} of {batch} (expected a probability in \
             [0, 1]); no decision was made: the model or its metadata (mean/std) is broken",
            i + 1
        )));
    }
    Ok(v.clamp(0.0, 1.0))
}

impl Engine {
    /// One detection per box (upright pixels; finite, positive, width and height each at least
    /// [`MIN_FACE_SIZE_PX`](crate::MIN_FACE_SIZE_PX), else [`Error::InvalidFaceBox`]), in order
    /// (run in chunks of [`BOX_CHUNK`]).
    /// `faces` empty: with the `whole_frame` option, the whole frame (centre square crop), one
    /// detection; without it an error — a frame without a box is never scored as if its centre
    /// were a face (use [`Engine::analyze`] to let the face detector find the faces).
    pub fn detect(&self, frame: &Frame<'_>, faces: &[FaceBox]) -> Result<Vec<Detection>> {
        let items: Vec<(Frame<'_>, Option<FaceBox>)> = if faces.is_empty() {
            vec![(*frame, None)]
        } else {
            faces.iter().map(|f| (*frame, Some(*f))).collect()
        };
        self.detect_batch(&items)
    }

    /// Several frames/faces, in ORT runs of at most [`BOX_CHUNK`] inputs each (so memory is
    /// bounded whatever the count; results are the same as one run's). A `None` face (the
    /// whole frame's centre square) needs the `whole_frame` option, as in [`Engine::detect`].
    /// Every box must pass the same checks as a caller's [`BoxInput`](crate::BoxInput) in
    /// upright pixels (finite, positive, width and height each at least
    /// [`MIN_FACE_SIZE_PX`](crate::MIN_FACE_SIZE_PX)).
    pub fn detect_batch(&self, items: &[(Frame<'_>, Option<FaceBox>)]) -> Result<Vec<Detection>> {
        self.score_items(items)
    }

    /// [`Engine::detect_batch`]: every item's crop is planned (and checked) before any
    /// inference, so a bad box late in a long list costs nothing.
    fn score_items(&self, items: &[(Frame<'_>, Option<FaceBox>)]) -> Result<Vec<Detection>> {
        let t0 = Instant::now();
        if items.is_empty() {
            return Ok(Vec::new());
        }
        if !self.whole_frame && items.iter().any(|(_, f)| f.is_none()) {
            return Err(Error::InvalidArgument(
                "no face box: pass the face boxes, let the face detector find the faces \
                 (analyze), or set the whole_frame option for pre-cropped images"
                    .into(),
            ));
        }
        let mut crops = Vec::with_capacity(items.len());
        for (i, (frame, face)) in items.iter().enumerate() {
            crops.push((*frame, self.liveness_crop(frame, *face)?));
            if let Some(b) = face {
                let what = format!("box {} of {}, upright pixels", i + 1, items.len());
                crate::image::geometry::check_upright_box(b, &what)?;
            }
        }
        self.score_crops(&crops, t0)
    }

    /// The liveness crop of `face` (the centred square without one), in upright pixels.
    pub(super) fn liveness_crop(&self, frame: &Frame<'_>, face: Option<FaceBox>) -> Result<Square> {
        let (uw, uh) = frame.upright_size();
        crop::upright_crop(uw, uh, face, self.crop_scale)
    }

    /// Scores planned crops (upright squares inside their frames) in chunks of [`BOX_CHUNK`];
    /// each detection's latency is the time since `t0`.
    pub(super) fn score_crops(
        &self,
        crops: &[(Frame<'_>, Square)],
        t0: Instant,
    ) -> Result<Vec<Detection>> {
        let n = self.input_len();
        let s = self.info.input_size as usize;
        let mut pixels = vec![0.0f32; n * crops.len().min(BOX_CHUNK)];
        let mut scores = Vec::with_capacity(crops.len());
        for chunk in crops.chunks(BOX_CHUNK) {
            let buf = &mut pixels[..n * chunk.len()];
            for ((frame, sq), out) in chunk.iter().zip(buf.chunks_exact_mut(n)) {
                preprocess::resample_upright(frame, *sq, s, &self.norm, out);
            }
            scores.extend(self.run_tensor(buf, chunk.len())?);
        }
        let latency = t0.elapsed();
        let thr = self.info.threshold;
        Ok(scores
            .into_iter()
            .map(|s| Detection {
                attack_score: s.attack_score,
                live_score: s.live_score,
                is_attack: s.attack_score >= thr,
                threshold: thr,
                provider: self.info.provider,
                latency,
                attack_type: s.attack_type,
            })
            .collect())
    }

    /// Elements of one model input, 3 * S * S.
    pub fn input_len(&self) -> usize {
        let s = self.info.input_size as usize;
        3 * s * s
    }

    /// The model input for one crop: `[3 * S * S]`, CHW, normalised.
    pub fn preprocess(&self, frame: &Frame<'_>, face: Option<FaceBox>) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; self.input_len()];
        self.preprocess_into(frame, face, &mut out)?;
        Ok(out)
    }

    /// As [`Engine::preprocess`], into a caller's buffer of [`Engine::input_len`] floats.
    pub fn preprocess_into(
        &self,
        frame: &Frame<'_>,
        face: Option<FaceBox>,
        out: &mut [f32],
    ) -> Result<()> {
        preprocess::preprocess_with(
            frame,
            face,
            self.crop_scale,
            self.info.input_size,
            &self.norm,
            out,
        )
    }

    /// Runs the model on an already preprocessed `[batch, 3, S, S]` tensor (one ORT run, or
    /// runs of the model's fixed batch size).
    pub fn run_tensor(&self, pixels: &[f32], batch: usize) -> Result<Vec<Scores>> {
        let n = self.input_len();
        if batch == 0 || Some(pixels.len()) != batch.checked_mul(n) {
            return Err(Error::InvalidArgument(format!(
                "run_tensor: {} floats is not batch {batch} x {n} (3 x {s} x {s}); batch must \
                 be positive",
                pixels.len(),
                s = self.info.input_size
            )));
        }
        match self.info.fixed_batch {
            None => self
                .pool
                .with_session(|sess| self.run_chunk(sess, pixels, batch)),
            Some(k) => {
                let mut all = Vec::with_capacity(batch);
                let mut padded = vec![0.0f32; k * n];
                for chunk in pixels.chunks(k * n) {
                    let m = chunk.len() / n;
                    padded[..chunk.len()].copy_from_slice(chunk);
                    padded[chunk.len()..].fill(0.0);
                    let mut got = self
                        .pool
                        .with_session(|sess| self.run_chunk(sess, &padded, k))?;
                    got.truncate(m);
                    all.extend(got);
                }
                Ok(all)
            }
        }
    }

    fn run_chunk(&self, sess: &mut Session, pixels: &[f32], batch: usize) -> Result<Vec<Scores>> {
        let s = self.info.input_size as usize;
        let input = TensorRef::from_array_view(([batch, 3, s, s], pixels))
            .map_err(|e| Error::Inference(format!("cannot wrap the input tensor: {e}")))?;
        let outputs = sess
            .run(ort::inputs![meta::INPUT_PIXELS => input])
            .map_err(|e| Error::Inference(e.to_string()))?;
        let get = |name: &str, per: usize| -> Result<Vec<f32>> {
            let v = outputs
                .get(name)
                .ok_or_else(|| Error::Inference(format!("the model produced no `{name}`")))?;
            let (_, data) = v
                .try_extract_tensor::<f32>()
                .map_err(|e| Error::Inference(format!("output `{name}`: {e}")))?;
            if data.len() != batch * per {
                return Err(Error::Inference(format!(
                    "output `{name}` has {} values, expected {batch} x {per}",
                    data.len()
                )));
            }
            Ok(data.to_vec())
        };
        let logits = get(meta::OUTPUT_LOGITS, 2)?;
        let attack = get(meta::OUTPUT_ATTACK_SCORE, 1)?;
        let types = if self.info.meta.attack_types.is_empty() {
            None
        } else {
            Some(get(meta::OUTPUT_ATTACK_TYPE, 4)?)
        };
        logits
            .chunks_exact(2)
            .zip(attack)
            .enumerate()
            .map(|(i, (l, a))| {
                let attack_type = match &types {
                    Some(t) => Some(attack_type_probabilities(&t[4 * i..4 * i + 4], i, batch)?),
                    None => None,
                };
                if !(l[0].is_finite() && l[1].is_finite()) {
                    return Err(Error::Inference(format!(
                        "the model gave non-finite logits [{}, {}] for input {} of {batch}; no \
                         decision was made: the model or its metadata (mean/std) is broken",
                        l[0],
                        l[1],
                        i + 1
                    )));
                }
                let (l0, l1) = (l[0] as f64, l[1] as f64);
                let live = 1.0 / (1.0 + (l1 - l0).exp());
                Ok(Scores {
                    attack_score: probability(meta::OUTPUT_ATTACK_SCORE, a, i, batch)?,
                    live_score: live as f32,
                    logits: [l[0], l[1]],
                    attack_type,
                })
            })
            .collect()
    }
}
