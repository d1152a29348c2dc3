//! Batches of preprocessed images, decoded on worker threads with a bounded prefetch queue.
//!
//! Determinism: the batch plan of each epoch (which samples form batch k) and each sample's
//! augmentation seed are fixed up front from (seed, epoch, batch, slot), and batches are handed
//! out strictly in plan order, so the output does not depend on thread timing or the number of
//! workers. The position `(epoch, batch)` is the whole state: [`Loader::state`] /
//! [`Loader::restore`] give an exact resume.
//!
//! Modes: *train* = endless epochs, reshuffled each epoch, balanced live/attack batches (half
//! each, the smaller class recycled with fresh shuffles), augmentation, an epoch is
//! `max(1, n / batch)` full batches. *eval* = one pass in list order, last batch partial, eval
//! preprocessing only.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::augment::{decode, eval_transform, train_transform, AugmentConfig, Normalization};
use super::lists::Sample;
use super::spoof_cues::{self, Cue, SpoofCueConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoaderConfig {
    /// Output side S: batches are N×3×S×S.
    pub size: u32,
    pub batch_size: usize,
    /// Train mode (endless, shuffled, augmented) or eval mode (one ordered pass).
    pub train: bool,
    /// Train mode: half live, half attack in every batch (spec §5).
    pub balanced: bool,
    pub seed: u64,
    /// Decoding threads (at least 1).
    pub workers: usize,
    /// Batches decoded ahead of the consumer (at least 1).
    pub prefetch: usize,
    /// Skip (and report) images that cannot be read or decoded instead of failing.
    pub skip_bad: bool,
    pub augment: AugmentConfig,
    /// The model's normalisation (train and eval alike).
    #[serde(default)]
    pub norm: Normalization,
    /// Train mode: live images turned into spoof-cued physical attacks (spec §9; off by
    /// default).
    #[serde(default)]
    pub spoof_cues: SpoofCueConfig,
    /// A distillation teacher's preprocessing: spoof-cued images also come in it
    /// ([`Batch::teacher_pixels`]), since a cache of the teacher's logits per source image
    /// cannot hold them.
    #[serde(default)]
    pub teacher_view: Option<TeacherView>,
}

/// The input side and normalisation of a second model (a distillation teacher).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TeacherView {
    pub size: u32,
    pub norm: Normalization,
}

impl LoaderConfig {
    pub fn train(size: u32, batch_size: usize, seed: u64) -> Self {
        Self {
            size,
            batch_size,
            train: true,
            balanced: true,
            seed,
            workers: default_workers(),
            prefetch: 4,
            skip_bad: false,
            augment: AugmentConfig::default(),
            norm: Normalization::default(),
            spoof_cues: SpoofCueConfig::default(),
            teacher_view: None,
        }
    }
    pub fn eval(size: u32, batch_size: usize) -> Self {
        Self {
            train: false,
            balanced: false,
            ..Self::train(size, batch_size, 0)
        }
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// Where the loader is: the next batch it returns is batch `position` of `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderState {
    pub epoch: u64,
    pub position: usize,
    pub seed: u64,
}

/// N preprocessed images: `pixels` is N×3×S×S (CHW per image, CLIP-normalised).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub pixels: Vec<f32>,
    pub size: u32,
    /// Binary labels (0 live, 1 attack) as the loss wants them.
    pub labels: Vec<i64>,
    /// Fine-grained labels (0 live, 1 physical, 2 adversarial, 3 digital, …).
    pub types: Vec<u8>,
    /// Attack type names: the list's third column, else derived from the fine label.
    pub attack_types: Vec<String>,
    pub paths: Vec<PathBuf>,
    /// Each image's index in the loader's sample list.
    pub indices: Vec<usize>,
    /// The spoof cue that turned a live image into this attack (train mode), else `None`.
    pub cued: Vec<Option<Cue>>,
    /// The cued images (in slot order) in [`LoaderConfig::teacher_view`]'s preprocessing:
    /// K×3×S'×S' for the K cued slots; empty without a teacher view.
    pub teacher_pixels: Vec<f32>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// An image that was skipped (`skip_bad`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedImage {
    pub path: PathBuf,
    pub list: PathBuf,
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "cannot read image {path} ({list} line {line}): {reason}; fix or remove it, or skip bad \
         images (skip_bad / --skip-bad)"
    )]
    Image {
        path: PathBuf,
        list: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("balanced batches need live and attack samples; the list has {live} live and {attack} attack")]
    OneClass { live: usize, attack: usize },
    #[error("invalid loader configuration: {0}")]
    Config(String),
    #[error("a loader worker failed: {0}")]
    Worker(String),
}

type BatchResult = (Result<Batch, DataError>, Vec<SkippedImage>);

struct Job {
    key: (u64, usize),
    indices: Vec<usize>,
    seeds: Vec<u64>,
}

struct Pipeline {
    jobs: Option<Sender<Job>>,
    results: Receiver<((u64, usize), BatchResult)>,
    handles: Vec<JoinHandle<()>>,
}

impl Pipeline {
    fn start(samples: Arc<Vec<Sample>>, cfg: Arc<LoaderConfig>) -> Self {
        let (job_tx, job_rx) = channel::<Job>();
        let (res_tx, res_rx) = channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let handles = (0..cfg.workers.max(1))
            .map(|_| {
                let (job_rx, res_tx) = (job_rx.clone(), res_tx.clone());
                let (samples, cfg) = (samples.clone(), cfg.clone());
                std::thread::spawn(move || loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => match rx.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        },
                        Err(_) => return,
                    };
                    let out = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        make_batch(&samples, &cfg, &job.indices, &job.seeds)
                    }))
                    .unwrap_or_else(|_| {
                        (
                            Err(DataError::Worker("panicked while decoding".into())),
                            vec![],
                        )
                    });
                    if res_tx.send((job.key, out)).is_err() {
                        return;
                    }
                })
            })
            .collect();
        Self {
            jobs: Some(job_tx),
            results: res_rx,
            handles,
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.jobs.take(); // workers see a closed queue after their current job
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

fn make_batch(
    samples: &[Sample],
    cfg: &LoaderConfig,
    indices: &[usize],
    seeds: &[u64],
) -> BatchResult {
    let s = cfg.size as usize;
    let mut batch = Batch {
        pixels: Vec::with_capacity(indices.len() * 3 * s * s),
        size: cfg.size,
        labels: Vec::new(),
        types: Vec::new(),
        attack_types: Vec::new(),
        paths: Vec::new(),
        indices: Vec::new(),
        cued: Vec::new(),
        teacher_pixels: Vec::new(),
    };
    let mut skipped = Vec::new();
    for (&i, &seed) in indices.iter().zip(seeds) {
        let sample = &samples[i];
        let prepared = match prepare(sample, cfg, seed) {
            Ok(p) => p,
            Err(reason) => {
                let info = SkippedImage {
                    path: sample.path.clone(),
                    list: sample.list.to_path_buf(),
                    line: sample.line,
                    reason,
                };
                if cfg.skip_bad {
                    skipped.push(info);
                    continue;
                }
                let SkippedImage {
                    path,
                    list,
                    line,
                    reason,
                } = info;
                return (
                    Err(DataError::Image {
                        path,
                        list,
                        line,
                        reason,
                    }),
                    skipped,
                );
            }
        };
        batch.pixels.extend_from_slice(&prepared.pixels);
        match prepared.cue {
            Some(cue) => {
                batch.labels.push(1);
                batch.types.push(CUED_FINE_LABEL);
                batch.attack_types.push(cue.attack_type());
                batch.teacher_pixels.extend_from_slice(&prepared.teacher);
            }
            None => {
                batch.labels.push(i64::from(sample.label));
                batch.types.push(sample.fine);
                batch.attack_types.push(sample.attack_type.clone());
            }
        }
        batch.paths.push(sample.path.clone());
        batch.indices.push(i);
        batch.cued.push(prepared.cue);
    }
    (Ok(batch), skipped)
}

/// The fine-grained label of a spoof-cued image: physical (spec §6, §9).
pub const CUED_FINE_LABEL: u8 = 1;
/// Seed stream of the spoof-cue draws, apart from the crop/flip/jitter stream: with the cues
/// off, every image is exactly what it was without them.
const CUE_STREAM: u64 = 0x5c0e;

struct Prepared {
    pixels: Vec<f32>,
    cue: Option<Cue>,
    /// The cued image in the teacher's preprocessing (empty when not cued or no teacher).
    teacher: Vec<f32>,
}

/// One sample decoded, (in train mode) maybe spoof-cued, and preprocessed.
fn prepare(sample: &Sample, cfg: &LoaderConfig, seed: u64) -> Result<Prepared, String> {
    let img = decode(&sample.path).map_err(|e| e.to_string())?;
    if !cfg.train {
        let pixels = eval_transform(&img, cfg.size, &cfg.norm).map_err(|e| e.to_string())?;
        return Ok(Prepared {
            pixels,
            cue: None,
            teacher: Vec::new(),
        });
    }
    let mut cue_rng = ChaCha8Rng::seed_from_u64(mix(&[seed, CUE_STREAM]));
    let cue = (sample.label == 0)
        .then(|| cfg.spoof_cues.pick(&mut cue_rng))
        .flatten();
    let img = match cue {
        Some(c) => spoof_cues::apply_random(&img, c, &mut cue_rng)
            .map_err(|e| format!("spoof cue {}: {e}", c.name()))?,
        None => img,
    };
    let teacher = match (cue, &cfg.teacher_view) {
        (Some(_), Some(view)) => {
            eval_transform(&img, view.size, &view.norm).map_err(|e| e.to_string())?
        }
        _ => Vec::new(),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pixels = train_transform(&img, cfg.size, &cfg.augment, &cfg.norm, &mut rng)
        .map_err(|e| e.to_string())?;
    Ok(Prepared {
        pixels,
        cue,
        teacher,
    })
}

/// SplitMix64 finaliser over a combination of the inputs: independent streams per purpose.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        let mut z = h ^ p.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h = z ^ (z >> 31);
    }
    h
}

/// Batches of one epoch, as sample indices.
fn epoch_plan(samples: &[Sample], cfg: &LoaderConfig, epoch: u64) -> Vec<Vec<usize>> {
    let b = cfg.batch_size;
    if !cfg.train {
        return (0..samples.len())
            .collect::<Vec<_>>()
            .chunks(b)
            .map(<[usize]>::to_vec)
            .collect();
    }
    let n_batches = (samples.len() / b).max(1);
    let shuffled = |pool: &[usize], tag: u64, count: usize| {
        // Concatenated fresh permutations of `pool` until `count` indices are drawn.
        let mut out = Vec::with_capacity(count);
        let mut cycle = 0u64;
        while out.len() < count {
            let mut p = pool.to_vec();
            p.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(&[
                cfg.seed, epoch, tag, cycle,
            ])));
            out.extend(p.into_iter().take(count - out.len()));
            cycle += 1;
        }
        out
    };
    if cfg.balanced {
        let live: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].label == 0)
            .collect();
        let attack: Vec<usize> = (0..samples.len())
            .filter(|&i| samples[i].label != 0)
            .collect();
        let (n_live, n_attack) = (b / 2, b - b / 2);
        let live = shuffled(&live, 1, n_batches * n_live);
        let attack = shuffled(&attack, 2, n_batches * n_attack);
        (0..n_batches)
            .map(|k| {
                let mut batch = live[k * n_live..(k + 1) * n_live].to_vec();
                batch.extend_from_slice(&attack[k * n_attack..(k + 1) * n_attack]);
                batch
            })
            .collect()
    } else {
        let all: Vec<usize> = (0..samples.len()).collect();
        shuffled(&all, 3, n_batches * b)
            .chunks(b)
            .map(<[usize]>::to_vec)
            .collect()
    }
}

pub struct Loader {
    samples: Arc<Vec<Sample>>,
    cfg: Arc<LoaderConfig>,
    epoch: u64,
    position: usize,
    plans: HashMap<u64, Arc<Vec<Vec<usize>>>>,
    /// The next batch to dispatch to the workers.
    dispatch: (u64, usize),
    ready: HashMap<(u64, usize), BatchResult>,
    pipeline: Pipeline,
    skipped: Vec<SkippedImage>,
    skipped_seen: HashSet<PathBuf>,
    skipped_total: usize,
}

impl Loader {
    pub fn new(samples: Vec<Sample>, cfg: LoaderConfig) -> Result<Self, DataError> {
        if cfg.batch_size == 0 || cfg.size == 0 {
            return Err(DataError::Config(
                "batch size and image size must be positive".into(),
            ));
        }
        if samples.is_empty() {
            return Err(DataError::Config("no samples".into()));
        }
        cfg.spoof_cues.validate().map_err(DataError::Config)?;
        if cfg.train && cfg.balanced {
            let attack = samples.iter().filter(|s| s.label != 0).count();
            let live = samples.len() - attack;
            if live == 0 || attack == 0 {
                return Err(DataError::OneClass { live, attack });
            }
            if cfg.batch_size < 2 {
                return Err(DataError::Config(
                    "balanced batches need batch size ≥ 2".into(),
                ));
            }
        }
        let cfg = Arc::new(LoaderConfig {
            workers: cfg.workers.max(1),
            prefetch: cfg.prefetch.max(1),
            ..cfg
        });
        let samples = Arc::new(samples);
        Ok(Self {
            pipeline: Pipeline::start(samples.clone(), cfg.clone()),
            samples,
            cfg,
            epoch: 0,
            position: 0,
            plans: HashMap::new(),
            dispatch: (0, 0),
            ready: HashMap::new(),
            skipped: Vec::new(),
            skipped_seen: HashSet::new(),
            skipped_total: 0,
        })
    }

    pub fn config(&self) -> &LoaderConfig {
        &self.cfg
    }
    pub fn num_samples(&self) -> usize {
        self.samples.len()
    }
    /// Batches in one epoch (eval: the whole pass).
    pub fn batches_per_epoch(&mut self) -> usize {
        self.plan(self.epoch).len()
    }

    pub fn state(&self) -> LoaderState {
        LoaderState {
            epoch: self.epoch,
            position: self.position,
            seed: self.cfg.seed,
        }
    }

    /// Continues from a saved state (same samples and config as when it was saved).
    pub fn restore(&mut self, state: LoaderState) -> Result<(), DataError> {
        if state.seed != self.cfg.seed {
            return Err(DataError::Config(format!(
                "loader state has seed {}, the loader seed {}",
                state.seed, self.cfg.seed
            )));
        }
        self.pipeline = Pipeline::start(self.samples.clone(), self.cfg.clone());
        self.ready.clear();
        self.epoch = state.epoch;
        self.position = state.position;
        self.dispatch = (state.epoch, state.position);
        Ok(())
    }

    /// Images skipped so far (each path once) and the number of skips in total.
    pub fn skipped(&self) -> (&[SkippedImage], usize) {
        (&self.skipped, self.skipped_total)
    }

    fn plan(&mut self, epoch: u64) -> Arc<Vec<Vec<usize>>> {
        let (samples, cfg) = (&self.samples, &self.cfg);
        self.plans
            .entry(epoch)
            .or_insert_with(|| Arc::new(epoch_plan(samples, cfg, epoch)))
            .clone()
    }

    /// Sends jobs until `prefetch` batches are queued or done ahead of the consumer.
    fn fill(&mut self) -> Result<(), DataError> {
        let ahead = |l: &Self| {
            // Batches dispatched but not yet consumed (plans have equal length in train mode).
            let per = l.plans.get(&l.epoch).map_or(1, |p| p.len().max(1));
            (l.dispatch.0 - l.epoch) as usize * per + l.dispatch.1 - l.position
        };
        while ahead(self) < self.cfg.prefetch {
            let (e, p) = self.dispatch;
            let plan = self.plan(e);
            if p >= plan.len() {
                if !self.cfg.train {
                    break;
                }
                self.dispatch = (e + 1, 0);
                continue;
            }
            let indices = plan[p].clone();
            let seeds = (0..indices.len())
                .map(|slot| mix(&[self.cfg.seed, e, p as u64, slot as u64]))
                .collect();
            let job = Job {
                key: (e, p),
                indices,
                seeds,
            };
            let tx = self.pipeline.jobs.as_ref().expect("pipeline is running");
            tx.send(job)
                .map_err(|_| DataError::Worker("all loader workers stopped".into()))?;
            self.dispatch = (e, p + 1);
        }
        Ok(())
    }

    /// The next batch; `Ok(None)` at the end of an eval pass (train mode never ends). A batch
    /// whose images were all skipped is passed over.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, DataError> {
        loop {
            if self.position >= self.plan(self.epoch).len() {
                if !self.cfg.train {
                    return Ok(None);
                }
                self.plans.remove(&self.epoch);
                self.epoch += 1;
                self.position = 0;
                // After a restore at an epoch's end nothing of the new epoch was dispatched yet.
                self.dispatch = self.dispatch.max((self.epoch, 0));
                continue;
            }
            self.fill()?;
            let key = (self.epoch, self.position);
            let (result, skipped) = loop {
                if let Some(r) = self.ready.remove(&key) {
                    break r;
                }
                let (k, r) = self
                    .pipeline
                    .results
                    .recv()
                    .map_err(|_| DataError::Worker("all loader workers stopped".into()))?;
                self.ready.insert(k, r);
            };
            self.position += 1;
            for s in skipped {
                self.skipped_total += 1;
                if self.skipped_seen.insert(s.path.clone()) {
                    self.skipped.push(s);
                }
            }
            let batch = result?;
            if !batch.is_empty() {
                return Ok(Some(batch));
            }
        }
    }
}

impl Iterator for Loader {
    type Item = Result<Batch, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbImage;

    /// n live + n attack PNGs of 20×16, each a flat colour encoding its index; a list over them.
    fn tree(n: usize) -> (tempfile::TempDir, Vec<Sample>) {
        let dir = tempfile::tempdir().unwrap();
        let mut list = String::new();
        for i in 0..2 * n {
            let name = format!("img{i}.png");
            RgbImage::from_pixel(20, 16, image::Rgb([(i * 7) as u8, 100, 50]))
                .save(dir.path().join(&name))
                .unwrap();
            list += &format!("{name} {}\n", if i < n { 0 } else { 1 + i % 3 });
        }
        let lp = dir.path().join("list.txt");
        std::fs::write(&lp, list).unwrap();
        let samples = super::super::lists::read_list(dir.path(), &lp).unwrap();
        (dir, samples)
    }

    fn take(loader: &mut Loader, k: usize) -> Vec<Batch> {
        (0..k)
            .map(|_| loader.next_batch().unwrap().unwrap())
            .collect()
    }

    #[test]
    fn balanced_deterministic_and_independent_of_workers() {
        let (_d, samples) = tree(6);
        let mut cfg = LoaderConfig::train(8, 4, 7);
        cfg.workers = 1;
        let a = take(&mut Loader::new(samples.clone(), cfg.clone()).unwrap(), 7);
        cfg.workers = 3;
        cfg.prefetch = 5;
        let b = take(&mut Loader::new(samples.clone(), cfg.clone()).unwrap(), 7);
        assert_eq!(a, b);
        for batch in &a {
            assert_eq!(batch.pixels.len(), 4 * 3 * 8 * 8);
            assert_eq!(batch.labels.iter().filter(|&&l| l == 0).count(), 2);
            assert_eq!(batch.labels.iter().filter(|&&l| l == 1).count(), 2);
        }
        cfg.seed = 8;
        let c = take(&mut Loader::new(samples, cfg).unwrap(), 7);
        assert_ne!(a, c);
    }

    #[test]
    fn resume_from_state_is_exact() {
        let (_d, samples) = tree(5);
        let cfg = LoaderConfig::train(8, 4, 3);
        let full = take(&mut Loader::new(samples.clone(), cfg.clone()).unwrap(), 9);
        // k = 3 stops mid-epoch (2 batches an epoch), k = 4 exactly at an epoch's end.
        for k in [3, 4] {
            let mut first = Loader::new(samples.clone(), cfg.clone()).unwrap();
            let head = take(&mut first, k);
            let state = first.state();
            drop(first);
            let mut second = Loader::new(samples.clone(), cfg.clone()).unwrap();
            second.restore(state).unwrap();
            let tail = take(&mut second, 9 - k);
            assert_eq!([head, tail].concat(), full, "resumed after {k} batches");
        }
    }

    #[test]
    fn eval_is_one_ordered_pass() {
        let (_d, samples) = tree(3);
        let mut l = Loader::new(samples.clone(), LoaderConfig::eval(8, 4)).unwrap();
        let batches: Vec<Batch> = l.by_ref().map(Result::unwrap).collect();
        assert_eq!(
            batches.iter().map(Batch::len).collect::<Vec<_>>(),
            vec![4, 2]
        );
        let paths: Vec<PathBuf> = batches.iter().flat_map(|b| b.paths.clone()).collect();
        assert_eq!(
            paths,
            samples.iter().map(|s| s.path.clone()).collect::<Vec<_>>()
        );
        assert_eq!(batches[1].types, vec![samples[4].fine, samples[5].fine]);
        assert!(l.next_batch().unwrap().is_none());
    }

    #[test]
    fn corrupt_image_errors_or_is_skipped() {
        let (d, samples) = tree(2);
        std::fs::write(d.path().join("img1.png"), b"garbage").unwrap();
        std::fs::remove_file(d.path().join("img3.png")).unwrap();
        let mut l = Loader::new(samples.clone(), LoaderConfig::eval(8, 2)).unwrap();
        let err = l.next_batch().unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("img1.png") && msg.contains("list.txt line 2"),
            "{msg}"
        );

        let cfg = LoaderConfig {
            skip_bad: true,
            ..LoaderConfig::eval(8, 2)
        };
        let mut l = Loader::new(samples, cfg).unwrap();
        let n: usize = l.by_ref().map(|b| b.unwrap().len()).sum();
        assert_eq!(n, 2);
        let (skipped, total) = l.skipped();
        assert_eq!(total, 2);
        assert_eq!(skipped[0].line, 2);
        assert!(skipped[1].path.ends_with("img3.png"));
    }

    /// Spoof cues turn live training images into physical attacks, deterministically, with
    /// the teacher's view of each cued image; with probability 0 nothing changes at all.
    #[test]
    fn spoof_cues_turn_live_images_into_physical_attacks() {
        let (_d, samples) = tree(6);
        let base = LoaderConfig::train(16, 4, 5);
        let plain = take(&mut Loader::new(samples.clone(), base.clone()).unwrap(), 6);
        let off = LoaderConfig {
            spoof_cues: SpoofCueConfig {
                p: 0.0,
                cues: vec![Cue::Jpeg],
            },
            ..base.clone()
        };
        assert_eq!(
            take(&mut Loader::new(samples.clone(), off).unwrap(), 6),
            plain
        );

        let view = TeacherView {
            size: 8,
            norm: Normalization {
                mean: [0.5; 3],
                std: [0.25; 3],
            },
        };
        let on_cfg = LoaderConfig {
            spoof_cues: SpoofCueConfig {
                p: 1.0,
                ..SpoofCueConfig::default()
            },
            teacher_view: Some(view),
            ..base
        };
        let on = take(
            &mut Loader::new(samples.clone(), on_cfg.clone()).unwrap(),
            6,
        );
        assert_eq!(
            on,
            take(&mut Loader::new(samples.clone(), on_cfg).unwrap(), 6)
        );
        let plane = 3 * 16 * 16;
        let mut cues_seen = std::collections::BTreeSet::new();
        let mut live_changed = 0.0f32;
        for (b, p) in on.iter().zip(&plain) {
            assert_eq!(
                b.paths, p.paths,
                "the batch plan does not depend on the cues"
            );
            let mut cued = 0;
            for slot in 0..b.len() {
                let px = |x: &Batch| x.pixels[slot * plane..(slot + 1) * plane].to_vec();
                if samples[b.indices[slot]].label == 0 {
                    let cue = b.cued[slot].expect("p = 1 cues every live image");
                    cues_seen.insert(cue);
                    assert_eq!((b.labels[slot], b.types[slot]), (1, CUED_FINE_LABEL));
                    assert_eq!(b.attack_types[slot], cue.attack_type());
                    live_changed += px(b)
                        .iter()
                        .zip(px(p))
                        .map(|(a, c)| (a - c).abs())
                        .sum::<f32>();
                    cued += 1;
                } else {
                    assert_eq!(b.cued[slot], None);
                    assert_eq!(b.labels[slot], p.labels[slot]);
                    assert_eq!(px(b), px(p), "attack images are never cued");
                }
            }
            assert_eq!(b.teacher_pixels.len(), cued * 3 * 8 * 8);
            // Normalised [0, 1] values: within [(0 − mean)/std, (1 − mean)/std] per channel.
            let norm = Normalization::default();
            for (i, v) in b.pixels.iter().enumerate() {
                let c = (i / (16 * 16)) % 3;
                let (lo, hi) = (
                    -norm.mean[c] / norm.std[c],
                    (1.0 - norm.mean[c]) / norm.std[c],
                );
                assert!(v.is_finite() && *v >= lo - 1e-4 && *v <= hi + 1e-4, "{v}");
            }
            assert!(b.teacher_pixels.iter().all(|v| (-2.0..=2.0).contains(v)));
        }
        assert!(live_changed > 0.0);
        assert!(cues_seen.len() >= 3, "{cues_seen:?}");
    }

    #[test]
    fn invalid_spoof_cue_settings_are_refused() {
        let (_d, samples) = tree(2);
        let cfg = LoaderConfig {
            spoof_cues: SpoofCueConfig {
                p: 2.0,
                ..SpoofCueConfig::default()
            },
            ..LoaderConfig::train(8, 4, 0)
        };
        let err = Loader::new(samples, cfg).err().unwrap().to_string();
        assert!(err.contains("probability"), "{err}");
    }

    #[test]
    fn one_class_balanced_is_an_error() {
        let (_d, samples) = tree(2);
        let lives: Vec<Sample> = samples.into_iter().filter(|s| s.label == 0).collect();
        assert!(matches!(
            Loader::new(lives, LoaderConfig::train(8, 4, 0)),
            Err(DataError::OneClass { live: 2, attack: 0 })
        ));
    }
}
