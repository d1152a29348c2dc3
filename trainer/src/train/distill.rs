//! Distillation (spec §9): a student learns from the labels and from a teacher's live/attack
//! logits, `L = CE(s, y) + α · T² · KL(softmax(t/T) ‖ softmax(s/T))`.
//!
//! The teacher sees the same source image as the student, through its own preprocessing (its
//! input size and normalisation, from its checkpoint). The student's crop, flip and colour
//! jitter are label-preserving views of that image, so the teacher's target for every view is
//! its logits on the image itself (its evaluation view): computed once per training image
//! before the run ([`TeacherCache`]). A spoof-cued sample is another image (a synthetic attack
//! made from a live one, spec §9): the cache cannot hold it, so the loader also prepares the
//! cued image in the teacher's preprocessing and the teacher scores it in the training step.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use crate::data::augment::Normalization;
use crate::data::lists::Sample;
use crate::data::loader::{Batch, TeacherView};
use crate::model::checkpoint::{self, Loaded};
use crate::model::prompts::{class_embeddings, PromptSet};
pub use crate::record::DistillConfig;

/// α: the weight of the distillation term against the label CE.
pub const DEFAULT_ALPHA: f64 = 0.5;
/// T: the softmax temperature of both sides of the KL term. At T = 1 a confident teacher's
/// two-class softmax is nearly one-hot and says little beyond the label; T = 4 keeps its
/// ranking of hard cases (Hinton et al. 2015 use 2–20; 4 is the common choice).
pub const DEFAULT_TEMPERATURE: f64 = 4.0;

/// `T² · KL(softmax(t/T) ‖ softmax(s/T))`, averaged over the batch: student and teacher logits
/// [N, C]. The T² keeps the term's gradient on the scale of the CE's as T changes.
pub fn kd_term(student: &Tensor, teacher: &Tensor, temperature: f64) -> Tensor {
    let t = temperature;
    let log_q = (student.to_kind(Kind::Float) / t).log_softmax(-1, Kind::Float);
    let log_p = (teacher.to_kind(Kind::Float) / t).log_softmax(-1, Kind::Float);
    (log_p.exp() * (&log_p - log_q))
        .sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
        .mean(Kind::Float)
        * (t * t)
}

/// The loss terms of one distillation step.
pub struct DistillLoss {
    pub ce: Tensor,
    pub kd: Tensor,
    /// `ce + α · kd`.
    pub total: Tensor,
}

/// `CE(student, labels) + α · T² · KL(softmax(t/T) ‖ softmax(s/T))` (spec §9).
pub fn distill_loss(
    student: &Tensor,
    teacher: &Tensor,
    labels: &Tensor,
    alpha: f64,
    temperature: f64,
) -> DistillLoss {
    let ce = student
        .to_kind(Kind::Float)
        .cross_entropy_for_logits(labels);
    let kd = kd_term(student, teacher, temperature);
    let total = &ce + &kd * alpha;
    DistillLoss { ce, kd, total }
}

/// A trained model whose live/attack logits a student learns from.
pub struct Teacher {
    loaded: Loaded,
    class_emb: Tensor,
    path: PathBuf,
    sha256: String,
    device: Device,
}

impl std::fmt::Debug for Teacher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Teacher")
            .field("path", &self.path)
            .field("preset", &self.loaded.config.preset)
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl Teacher {
    /// Loads the teacher checkpoint: a missing, truncated or tampered file is an error that
    /// names it (the checkpoint's content hash is checked).
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let what = || {
            format!(
                "the teacher {}: give --teacher a checkpoint written by `trainer train` \
                 (e.g. <run>/best.safetensors)",
                path.display()
            )
        };
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", what()))?;
        let loaded = checkpoint::load_bytes(path, &bytes, device)
            .with_context(|| format!("cannot load {}", what()))?;
        let sha256 = hex(&Sha256::digest(&bytes));
        drop(bytes);
        let prompts = loaded.meta.prompts.clone().unwrap_or_else(|| {
            PromptSet::default_byte_level(loaded.config.text.context_length as usize)
        });
        let ids = prompts.ids_tensor(device);
        let class_emb = tch::no_grad(|| class_embeddings(&loaded.model, &ids));
        Ok(Teacher {
            loaded,
            class_emb,
            path: path.to_path_buf(),
            sha256,
            device,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    pub fn preset(&self) -> &str {
        &self.loaded.config.preset
    }
    /// The teacher's own input side.
    pub fn image_size(&self) -> i64 {
        self.loaded.config.vision.image_size
    }
    /// The teacher's own normalisation.
    pub fn normalization(&self) -> Normalization {
        let v = &self.loaded.config.vision;
        Normalization {
            mean: v.mean,
            std: v.std,
        }
    }

    /// The settings a run distilling from this teacher records.
    pub fn config(&self, alpha: f64, temperature: f64) -> DistillConfig {
        DistillConfig {
            alpha,
            temperature,
            teacher_sha256: self.sha256.clone(),
            teacher_preset: self.preset().to_string(),
            teacher_image_size: self.image_size(),
        }
    }

    /// Live/attack logits [N, 2] of pixels [N, 3, S, S] in the teacher's preprocessing; no
    /// gradients.
    pub fn logits(&self, pixels: &Tensor) -> Result<Tensor> {
        let m = &self.loaded.model;
        m.check_pixels(pixels)
            .with_context(|| format!("teacher {}", self.path.display()))?;
        Ok(tch::no_grad(|| {
            let img = m.encode_image(&pixels.to_device(self.device), false);
            m.classifier_logits(&img, &self.class_emb)
                .to_kind(Kind::Float)
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The teacher's logits on every training image (its evaluation view), by sample index.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherCache {
    logits: Vec<Option<[f32; 2]>>,
}

impl TeacherCache {
    /// Scores `samples` with the teacher, in its own preprocessing. Images the loader skips
    /// (`skip_bad`) stay uncached: the training loader skips them too.
    pub fn build(
        teacher: &Teacher,
        samples: &[Sample],
        batch_size: usize,
        workers: usize,
        skip_bad: bool,
    ) -> Result<Self> {
        let size = teacher.image_size();
        let mut cfg = crate::data::loader::LoaderConfig::eval(size as u32, batch_size.max(1));
        cfg.norm = teacher.normalization();
        cfg.workers = workers.max(1);
        cfg.skip_bad = skip_bad;
        let mut loader = crate::data::loader::Loader::new(samples.to_vec(), cfg)?;
        let mut logits = vec![None; samples.len()];
        while let Some(b) = loader
            .next_batch()
            .context("scoring the training images with the teacher")?
        {
            let out = teacher.logits(&batch_pixels(&b.pixels, b.len(), size)?)?;
            let rows = logits_rows(&out)?;
            for (&i, row) in b.indices.iter().zip(rows) {
                logits[i] = Some(row);
            }
        }
        Ok(TeacherCache { logits })
    }

    /// How many images hold cached logits.
    pub fn len(&self) -> usize {
        self.logits.iter().flatten().count()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The teacher's logits [N, 2] for a training batch: cached rows for plain samples, a
    /// teacher pass over `batch.teacher_pixels` for the spoof-cued ones.
    pub fn batch_logits(&self, teacher: &Teacher, batch: &Batch) -> Result<Tensor> {
        let n_cued = batch.cued.iter().flatten().count();
        let cued_rows = if n_cued > 0 {
            let size = teacher.image_size();
            logits_rows(&teacher.logits(&batch_pixels(&batch.teacher_pixels, n_cued, size)?)?)?
        } else {
            Vec::new()
        };
        let mut cued = cued_rows.into_iter();
        let mut flat = Vec::with_capacity(2 * batch.len());
        for (slot, &i) in batch.indices.iter().enumerate() {
            let row = if batch.cued[slot].is_some() {
                cued.next()
                    .context("the batch has fewer teacher inputs than cued samples")?
            } else {
                self.logits.get(i).copied().flatten().with_context(|| {
                    format!(
                        "no teacher logits for training image {} (index {i})",
                        batch.paths[slot].display()
                    )
                })?
            };
            flat.extend_from_slice(&row);
        }
        Ok(Tensor::from_slice(&flat).view([batch.len() as i64, 2]))
    }
}

/// What a distilling training run holds: the teacher, its cached logits and the weights.
pub struct Distiller<'a> {
    teacher: &'a Teacher,
    cache: TeacherCache,
    cfg: DistillConfig,
    cache_seconds: f64,
}

impl<'a> Distiller<'a> {
    /// Checks that `cfg` names this teacher, then scores every training image with it.
    pub fn prepare(
        teacher: &'a Teacher,
        cfg: &DistillConfig,
        samples: &[Sample],
        batch_size: usize,
        workers: usize,
        skip_bad: bool,
    ) -> Result<Self> {
        cfg.validate()?;
        if cfg.teacher_sha256 != teacher.sha256() {
            bail!(
                "the run's settings name the teacher with SHA-256 {}, but {} has {}",
                cfg.teacher_sha256,
                teacher.path().display(),
                teacher.sha256()
            );
        }
        let t0 = std::time::Instant::now();
        let cache = TeacherCache::build(teacher, samples, batch_size, workers, skip_bad)?;
        Ok(Distiller {
            teacher,
            cache,
            cfg: cfg.clone(),
            cache_seconds: t0.elapsed().as_secs_f64(),
        })
    }

    /// The teacher's preprocessing, for the loader's spoof-cued images.
    pub fn view(&self) -> TeacherView {
        TeacherView {
            size: self.teacher.image_size() as u32,
            norm: self.teacher.normalization(),
        }
    }

    pub fn cached_images(&self) -> usize {
        self.cache.len()
    }

    /// What the run's log records about the teacher and its cache.
    pub fn log_entry(&self) -> serde_json::Value {
        serde_json::json!({ "teacher": {
            "path": self.teacher.path(), "sha256": self.teacher.sha256(),
            "preset": self.teacher.preset(), "image_size": self.teacher.image_size(),
            "cached_images": self.cache.len(), "cache_seconds": self.cache_seconds,
            "alpha": self.cfg.alpha, "temperature": self.cfg.temperature,
        }})
    }

    /// `T² · KL(teacher ‖ student)` over the batch, unweighted (the caller adds `α ·` it):
    /// student logits [N, 2] in batch order.
    pub fn kd(&self, batch: &Batch, student_logits: &Tensor) -> Result<Tensor> {
        let t = self
            .cache
            .batch_logits(self.teacher, batch)?
            .to_device(student_logits.device());
        Ok(kd_term(student_logits, &t, self.cfg.temperature))
    }

    pub fn alpha(&self) -> f64 {
        self.cfg.alpha
    }
}

fn batch_pixels(pixels: &[f32], n: usize, size: i64) -> Result<Tensor> {
    let want = n * 3 * (size * size) as usize;
    if pixels.len() != want {
        bail!(
            "{} teacher input values, expected {want} for {n} images of 3×{size}×{size}",
            pixels.len()
        );
    }
    Ok(Tensor::from_slice(pixels).view([n as i64, 3, size, size]))
}

fn logits_rows(t: &Tensor) -> Result<Vec<[f32; 2]>> {
    let size = t.size();
    if size.len() != 2 || size[1] != 2 {
        bail!("the teacher gave logits of shape {size:?}, expected [N, 2]");
    }
    let v = Vec::<f32>::try_from(t.to_device(Device::Cpu).contiguous().view([-1]))
        .context("reading the teacher's logits")?;
    if let Some(bad) = v.iter().find(|x| !x.is_finite()) {
        bail!("the teacher gave a non-finite logit ({bad}); is the teacher checkpoint sound?");
    }
    Ok(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss against a hand-computed case (values from the formulas, computed by hand in
    /// f64 below, not by the code under test).
    #[test]
    fn loss_matches_a_hand_computed_case() {
        let s = [[2.0f64, -1.0], [0.5, 0.5]];
        let t = [[3.0f64, 0.0], [-1.0, 1.0]];
        let y = [0i64, 1];
        let (alpha, temp) = (0.7, 2.0);
        // Reference: softmax by hand.
        let softmax = |z: [f64; 2], t: f64| {
            let (a, b) = ((z[0] / t).exp(), (z[1] / t).exp());
            [a / (a + b), b / (a + b)]
        };
        let mut ce = 0.0;
        let mut kl = 0.0;
        for i in 0..2 {
            ce -= softmax(s[i], 1.0)[y[i] as usize].ln();
            let (p, q) = (softmax(t[i], temp), softmax(s[i], temp));
            kl += (0..2).map(|c| p[c] * (p[c] / q[c]).ln()).sum::<f64>();
        }
        let (ce, kd) = (ce / 2.0, temp * temp * kl / 2.0);
        // Row 0: CE = ln(1 + e^-3) = 0.048587; p = σ(1.5) split, q = σ(1.5) split as well
        // (s/T = (1, −0.5), t/T = (1.5, 0)): KL row 0 = 0 exactly. Row 1: CE = ln 2.
        assert!((ce - (0.048_587_4 + std::f64::consts::LN_2) / 2.0).abs() < 1e-6);

        let st = Tensor::from_slice(&[2.0f32, -1.0, 0.5, 0.5]).view([2, 2]);
        let tt = Tensor::from_slice(&[3.0f32, 0.0, -1.0, 1.0]).view([2, 2]);
        let yt = Tensor::from_slice(&y);
        let l = distill_loss(&st, &tt, &yt, alpha, temp);
        let got = |t: &Tensor| t.double_value(&[]);
        assert!((got(&l.ce) - ce).abs() < 1e-6, "{} vs {ce}", got(&l.ce));
        assert!((got(&l.kd) - kd).abs() < 1e-6, "{} vs {kd}", got(&l.kd));
        assert!((got(&l.total) - (ce + alpha * kd)).abs() < 1e-6);
        // Row 1 alone: p = softmax(−0.5, 0.5) = (0.268941, 0.731059), q = (0.5, 0.5):
        // KL = 0.268941·ln(0.537883) + 0.731059·ln(1.462117) = 0.110944, × T² = 0.443776.
        let row1 = kd_term(&st.narrow(0, 1, 1), &tt.narrow(0, 1, 1), temp);
        assert!((got(&row1) - 0.443_776).abs() < 1e-5, "{}", got(&row1));
    }

    #[test]
    fn kd_is_zero_when_the_student_matches_and_has_the_teachers_gradient_sign() {
        let t = Tensor::from_slice(&[1.0f32, -2.0, 0.3, 0.9]).view([2, 2]);
        assert!(kd_term(&t, &t, 3.0).double_value(&[]).abs() < 1e-7);
        let s = Tensor::zeros([2, 2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        kd_term(&s, &t, 3.0).backward();
        let g = Vec::<f32>::try_from(s.grad().view([-1])).unwrap();
        // Descent raises the logit the teacher prefers: the gradient there is negative.
        assert!(
            g[0] < 0.0 && g[1] > 0.0 && g[2] > 0.0 && g[3] < 0.0,
            "{g:?}"
        );
    }

    #[test]
    fn settings_are_validated() {
        let ok = DistillConfig {
            alpha: DEFAULT_ALPHA,
            temperature: DEFAULT_TEMPERATURE,
            teacher_sha256: String::new(),
            teacher_preset: "small".into(),
            teacher_image_size: 64,
        };
        ok.validate().unwrap();
        for (a, t) in [
            (-1.0, 4.0),
            (f64::NAN, 4.0),
            (0.5, 0.0),
            (0.5, f64::INFINITY),
        ] {
            let bad = DistillConfig {
                alpha: a,
                temperature: t,
                ..ok.clone()
            };
            assert!(bad.validate().is_err(), "alpha {a} T {t}");
        }
    }
}
