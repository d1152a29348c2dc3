//! Adam with learning-rate groups and weight decay (spec §5), written out so that its state
//! (moments and step count) can be saved and restored exactly for `--resume` — tch's
//! built-in optimiser keeps its state inside libtorch, out of reach of a checkpoint.
//!
//! The update is PyTorch's `torch.optim.Adam` (bias-corrected moments; `eps` added to the
//! corrected second-moment root). Weight decay: pretrained groups get the paper's L2 form
//! (`wd·p` added to the gradient, as `Adam`); the new expert modules get the decoupled form
//! of `torch.optim.AdamW` (`p ← p − lr·wd·p`, outside the moments). Why, spec §5: Adam
//! normalises the step, so with L2 decay a parameter whose gradient is tiny (the router while
//! W_o ≈ 0) shrinks by ≈ lr per step whatever wd is — it killed the MoAE router.

use crate::model::checkpoint::{self, CheckpointError};
pub use crate::record::{AdamConfig, LrSchedule};
use std::collections::BTreeMap;
use std::path::Path;
use tch::{nn, Device, Kind, Tensor};

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-6,
            lr_new: 1e-4,
            lr_text: None,
            weight_decay: 5e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// The learning-rate groups of spec §5, plus the text tower's own (see [`AdamConfig::lr_text`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Pretrained CLIP weights outside the text tower: `lr`.
    Pretrained,
    /// New expert modules: `lr_new`.
    New,
    /// `text_model.*`, `text_projection.*`: `lr_text`, else `lr`.
    Text,
}

/// How a group's weight decay is applied (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decay {
    /// `wd·p` added to the gradient before Adam's moments (the paper's form).
    L2,
    /// `p ← p·(1 − lr·wd)` before the Adam update, outside the moments (AdamW).
    Decoupled,
}

impl Group {
    /// The weight-decay form of the group: decoupled for the new modules only.
    pub fn decay(self) -> Decay {
        match self {
            Group::New => Decay::Decoupled,
            Group::Pretrained | Group::Text => Decay::L2,
        }
    }

    /// The group of variable `name`; `is_new` tells the expert modules.
    pub fn of(name: &str, is_new: impl Fn(&str) -> bool) -> Group {
        if is_new(name) {
            Group::New
        } else if is_text_param(name) {
            Group::Text
        } else {
            Group::Pretrained
        }
    }
}

impl AdamConfig {
    /// A group's configured learning rate, before any schedule factor.
    pub fn base_lr(&self, group: Group) -> f64 {
        match group {
            Group::Pretrained => self.lr,
            Group::New => self.lr_new,
            Group::Text => self.lr_text.unwrap_or(self.lr),
        }
    }
}

/// Turns gradients off for every variable of a group whose learning rate is 0: such a group
/// can never move, so it needs no backward pass through it and no optimiser state (for the
/// small preset's frozen text tower, a good part of the step time). Call before [`Adam::new`],
/// which then leaves those variables out.
pub fn freeze_zero_lr_groups(vs: &nn::VarStore, cfg: &AdamConfig, is_new: impl Fn(&str) -> bool) {
    for (name, t) in vs.variables() {
        if cfg.base_lr(Group::of(&name, &is_new)) == 0.0 {
            let _ = t.set_requires_grad(false);
        }
    }
}

struct Param {
    name: String,
    tensor: Tensor,
    group: Group,
    m: Tensor,
    v: Tensor,
}

pub struct Adam {
    cfg: AdamConfig,
    params: Vec<Param>,
    step: i64,
    /// Multiplies every group's learning rate (a schedule's factor for the coming step).
    lr_scale: f64,
}

impl LrSchedule {
    /// The factor for 0-based `step` of a `total`-step run.
    pub fn factor(self, step: u64, total: u64) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let total = total.max(1) as f64;
                let warm = (total * 0.05).ceil().max(1.0);
                let s = step as f64;
                if s < warm {
                    (s + 1.0) / warm
                } else {
                    let t = ((s - warm) / (total - warm).max(1.0)).min(1.0);
                    0.5 * (1.0 + (std::f64::consts::PI * t).cos())
                }
            }
        }
    }
}

/// Whether a variable belongs to the text tower (the `lr_text` group).
pub fn is_text_param(name: &str) -> bool {
    name.starts_with("text_model.") || name.starts_with("text_projection.")
}

/// Name prefix of the optimiser tensors in an optimiser-state file.
const M_PREFIX: &str = "adam.m.";
const V_PREFIX: &str = "adam.v.";
const KEY_STEP: &str = "adam.step";

impl Adam {
    /// Every trainable variable of `vs` (those with gradients on), in name order, each in its
    /// [`Group`]; `is_new(name)` tells the expert modules.
    pub fn new(vs: &nn::VarStore, cfg: AdamConfig, is_new: impl Fn(&str) -> bool) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let params = vars
            .into_iter()
            .map(|(name, tensor)| Param {
                group: Group::of(&name, &is_new),
                m: tensor.zeros_like(),
                v: tensor.zeros_like(),
                name,
                tensor,
            })
            .collect();
        Adam {
            cfg,
            params,
            step: 0,
            lr_scale: 1.0,
        }
    }

    /// Sets the schedule's factor for the next [`Adam::step`]s.
    pub fn set_lr_scale(&mut self, scale: f64) {
        self.lr_scale = scale;
    }

    /// Whether no variable is trained (every group frozen).
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn steps_taken(&self) -> i64 {
        self.step
    }

    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.tensor.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// One update from the gradients currently stored on the parameters.
    pub fn step(&mut self) {
        self.step += 1;
        let c = self.cfg;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        tch::no_grad(|| {
            for p in &mut self.params {
                let grad = p.tensor.grad();
                if !grad.defined() {
                    continue;
                }
                let lr = self.lr_scale * c.base_lr(p.group);
                // In place wherever possible: the token embedding alone is millions of
                // values, and temporaries dominate the step time on CPU. The gradient itself
                // is overwritten (it is zeroed before the next backward anyway).
                let mut g = grad;
                if c.weight_decay != 0.0 {
                    match p.group.decay() {
                        Decay::Decoupled => {
                            let _ = p.tensor.g_mul_scalar_(1.0 - lr * c.weight_decay);
                        }
                        Decay::L2 => {
                            let _ = g.g_add_(&(&p.tensor * c.weight_decay));
                        }
                    }
                }
                let _ = p.m.lerp_(&g, 1.0 - c.beta1); // m = β1·m + (1−β1)·g
                let _ = p.v.g_mul_scalar_(c.beta2);
                let _ = p.v.addcmul_(&(&g * (1.0 - c.beta2)), &g); // v = β2·v + (1−β2)·g²
                let mut denom = p.v.sqrt();
                let _ = denom.g_div_scalar_(bc2.sqrt()).g_add_scalar_(c.eps);
                let _ = p.tensor.addcdiv_(&(&p.m * (-lr / bc1)), &denom);
            }
        });
    }

    /// Writes the moments and the step count (atomically; see [`checkpoint::save_tensors`]).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let mut tensors = Vec::with_capacity(self.params.len() * 2);
        for p in &self.params {
            tensors.push((format!("{M_PREFIX}{}", p.name), p.m.shallow_clone()));
            tensors.push((format!("{V_PREFIX}{}", p.name), p.v.shallow_clone()));
        }
        let mut md = BTreeMap::new();
        md.insert(KEY_STEP.to_string(), self.step.to_string());
        md.insert(
            "adam.config".to_string(),
            serde_json::to_string(&self.cfg).unwrap_or_default(),
        );
        checkpoint::save_tensors(path, &tensors, &md)
    }

    /// Restores moments and step count saved by [`Adam::save`] for the same parameters.
    pub fn load(&mut self, path: &Path, device: Device) -> Result<(), CheckpointError> {
        let (tensors, md) = checkpoint::load_tensors(path, device)?;
        let corrupt = |why: String| CheckpointError::Corrupt {
            path: path.to_path_buf(),
            why,
        };
        let step: i64 = md
            .get(KEY_STEP)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt(format!("no `{KEY_STEP}`: not an optimiser-state file")))?;
        let mut by_name: BTreeMap<String, Tensor> = tensors.into_iter().collect();
        for p in &mut self.params {
            for (prefix, slot) in [(M_PREFIX, &mut p.m), (V_PREFIX, &mut p.v)] {
                let key = format!("{prefix}{}", p.name);
                let t = by_name
                    .remove(&key)
                    .ok_or_else(|| corrupt(format!("optimiser state lacks `{key}`")))?;
                if t.size() != slot.size() {
                    return Err(corrupt(format!(
                        "`{key}` has shape {:?}, the parameter {:?}",
                        t.size(),
                        slot.size()
                    )));
                }
                *slot = t.to_kind(Kind::Float).to_device(device);
            }
        }
        if let Some(extra) = by_name.keys().next() {
            return Err(corrupt(format!(
                "optimiser state has `{extra}`, which is not a trained parameter of this run \
                 (another model, or a group whose learning rate is now 0)"
            )));
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps against the formulas PyTorch documents: `Adam` (L2 decay) for a pretrained
    /// parameter, `AdamW` (decoupled decay) for a new-module parameter.
    #[test]
    fn matches_the_adam_and_adamw_formulas() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], nn::Init::Const(1.0));
        let b = (vs.root() / "new").var("b", &[1], nn::Init::Const(-2.0));
        let cfg = AdamConfig {
            lr: 0.1,
            lr_new: 0.01,
            weight_decay: 0.5,
            ..Default::default()
        };
        let mut opt = Adam::new(&vs, cfg, |n| n.starts_with("new."));
        for _ in 0..2 {
            opt.zero_grad();
            let loss = (&w * 3.0).sum(Kind::Float) + (&b * &b).sum(Kind::Float);
            loss.backward();
            opt.step();
        }
        // Hand computation. w (L2): g = 3 + 0.5·w each step. b (AdamW): b ← b·(1 − lr·wd),
        // then the Adam step on the plain gradient 2b (taken before the decay, as PyTorch).
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let run = |mut x: f64, grad: &dyn Fn(f64) -> f64, decay: Decay, wd: f64, lr: f64| {
            let (mut m, mut v) = (0.0, 0.0);
            for t in 1..=2 {
                let g = match decay {
                    Decay::L2 => grad(x) + wd * x,
                    Decay::Decoupled => {
                        let g = grad(x);
                        x *= 1.0 - lr * wd;
                        g
                    }
                };
                m = b1 * m + (1.0 - b1) * g;
                v = b2 * v + (1.0 - b2) * g * g;
                let mh = m / (1.0 - b1.powi(t));
                let denom = v.sqrt() / (1.0 - b2.powi(t)).sqrt() + eps;
                x -= lr * mh / denom;
            }
            x
        };
        let w_want = run(1.0, &|_| 3.0, Decay::L2, 0.5, 0.1);
        let b_want = run(-2.0, &|x| 2.0 * x, Decay::Decoupled, 0.5, 0.01);
        // The two forms differ measurably here, so the test tells them apart.
        let b_l2 = run(-2.0, &|x| 2.0 * x, Decay::L2, 0.5, 0.01);
        assert!((b_want - b_l2).abs() > 1e-4, "{b_want} vs {b_l2}");
        let w_got = w.double_value(&[0]);
        let b_got = b.double_value(&[0]);
        assert!((w_got - w_want).abs() < 1e-6, "w {w_got} vs {w_want}");
        assert!((b_got - b_want).abs() < 1e-6, "b {b_got} vs {b_want}");
    }

    /// Spec §5's reason for the decoupled form: with no loss gradient (the router's while
    /// W_o = 0), L2 decay through Adam moves θ by ≈ lr per step (Adam normalises the step)
    /// and wipes it out, while decoupled decay shrinks it by the factor (1 − lr·wd) per step.
    #[test]
    fn decoupled_decay_keeps_a_parameter_with_a_tiny_gradient() {
        let vs = nn::VarStore::new(Device::Cpu);
        let old = vs.root().var("old", &[1], nn::Init::Const(0.1));
        let new = (vs.root() / "new").var("new", &[1], nn::Init::Const(0.1));
        let cfg = AdamConfig {
            lr: 0.01,
            lr_new: 0.01,
            weight_decay: 5e-4,
            ..Default::default()
        };
        let mut opt = Adam::new(&vs, cfg, |n| n.starts_with("new."));
        for _ in 0..100 {
            opt.zero_grad();
            ((&old + &new) * 0.0).sum(Kind::Float).backward();
            opt.step();
        }
        let (o, n) = (old.double_value(&[0]), new.double_value(&[0]));
        assert!(o.abs() < 0.05, "L2 form: {o}");
        let want = 0.1 * (1.0 - 0.01 * 5e-4f64).powi(100);
        assert!((n - want).abs() < 1e-6, "decoupled: {n} vs {want}");
    }

    #[test]
    fn state_round_trips_and_mismatch_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[3], nn::Init::Const(1.0));
        let mut opt = Adam::new(&vs, AdamConfig::default(), |_| false);
        opt.zero_grad();
        (&w * &w).sum(Kind::Float).backward();
        opt.step();
        let path = dir.path().join("opt.safetensors");
        opt.save(&path).unwrap();
        let mut opt2 = Adam::new(&vs, AdamConfig::default(), |_| false);
        opt2.load(&path, Device::Cpu).unwrap();
        assert_eq!(opt2.steps_taken(), 1);
        assert!(opt2.params[0].m.equal(&opt.params[0].m));
        assert!(opt2.params[0].v.equal(&opt.params[0].v));

        let other = nn::VarStore::new(Device::Cpu);
        let _ = other.root().var("u", &[3], nn::Init::Const(1.0));
        let mut opt3 = Adam::new(&other, AdamConfig::default(), |_| false);
        let err = opt3.load(&path, Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("adam.m.u"), "{err}");
    }

    /// A group whose learning rate is 0 gets no gradients and no optimiser state; the other
    /// groups train as before.
    #[test]
    fn zero_lr_groups_are_frozen_and_left_out() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[1], nn::Init::Const(1.0));
        let e = (vs.root() / "new").var("e", &[1], nn::Init::Const(1.0));
        let t = (vs.root() / "text_model").var("t", &[1], nn::Init::Const(1.0));
        let is_new = |n: &str| n.starts_with("new.");
        let cfg = AdamConfig {
            lr: 0.1,
            lr_new: 0.0,
            lr_text: Some(0.0),
            ..AdamConfig::default()
        };
        assert_eq!(Group::of("text_model.t", is_new), Group::Text);
        assert_eq!(cfg.base_lr(Group::Text), 0.0);
        freeze_zero_lr_groups(&vs, &cfg, is_new);
        assert!(w.requires_grad() && !e.requires_grad() && !t.requires_grad());
        let mut opt = Adam::new(&vs, cfg, is_new);
        let names: Vec<&str> = opt.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["w"]);
        opt.zero_grad();
        ((&w + &e + &t) * 3.0).sum(Kind::Float).backward();
        opt.step();
        assert!((w.double_value(&[0]) - 0.9).abs() < 1e-6);
        assert_eq!((e.double_value(&[0]), t.double_value(&[0])), (1.0, 1.0));
        // Without lr_text the text tower follows `lr`.
        let plain = AdamConfig {
            lr_text: None,
            ..cfg
        };
        assert_eq!(plain.base_lr(Group::Text), 0.1);
    }

    #[test]
    fn cosine_warms_up_then_decays_to_zero_and_constant_is_one() {
        let f = |s| LrSchedule::Cosine.factor(s, 100);
        // 5 warm-up steps: 0.2, 0.4, …, 1.0; then a half cosine over the remaining 95.
        assert!((f(0) - 0.2).abs() < 1e-12 && (f(4) - 1.0).abs() < 1e-12);
        assert!((f(5) - 1.0).abs() < 1e-12);
        assert!((f(5 + 95 / 2) - 0.5).abs() < 0.02, "{}", f(52));
        assert!(f(99) < 1e-3 && f(99) >= 0.0);
        assert!(
            (1..100).all(|s| s < 5 || f(s) <= f(s - 1)),
            "monotone after warm-up"
        );
        assert_eq!(LrSchedule::Constant.factor(7, 10), 1.0);
        // A one-step run still takes a step.
        assert_eq!(LrSchedule::Cosine.factor(0, 1), 1.0);
    }

    #[test]
    fn lr_scale_multiplies_the_learning_rate() {
        // One Adam step moves a parameter by ≈ lr (|m̂/√v̂| = 1 on the first step), so the
        // scale shows directly in the distance moved.
        let moved = |scale: f64| {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs.root().var("w", &[1], nn::Init::Const(1.0));
            let cfg = AdamConfig {
                lr: 0.1,
                weight_decay: 0.0,
                ..AdamConfig::default()
            };
            let mut opt = Adam::new(&vs, cfg, |_| false);
            opt.zero_grad();
            (&w * 3.0).sum(Kind::Float).backward();
            opt.set_lr_scale(scale);
            opt.step();
            1.0 - w.double_value(&[0])
        };
        assert!((moved(1.0) - 0.1).abs() < 1e-6);
        assert!((moved(0.25) - 0.025).abs() < 1e-6);
    }
}
