//! The metadata contract of a libmoae ONNX file: what `trainer export` writes into the
//! model's `metadata_props` and what the runtime checks at load. One definition for both sides.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when the graph's inputs/outputs or the meaning of a key changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// Name of the single graph input: float32 `[N, 3, H, W]`, CLIP-normalised RGB.
pub const INPUT_PIXELS: &str = "pixel_values";
/// Output `[N, 2]` float32 logits, class order [`CLASSES`].
pub const OUTPUT_LOGITS: &str = "logits";
/// Output `[N]` float32, softmax(logits)[:, 1] = P(attack).
pub const OUTPUT_ATTACK_SCORE: &str = "attack_score";
/// Optional output `[N, D]` float32: the projected image embedding, before l2-normalisation.
pub const OUTPUT_EMBEDDING: &str = "embedding";
/// Class order of `logits`.
pub const CLASSES: [&str; 2] = ["live", "attack"];
/// Optional output `[N, 4]` float32: the attack-type head's probabilities (softmax), class
/// order [`ATTACK_TYPES`]. Present exactly when the metadata declares `moae.attack_types`.
pub const OUTPUT_ATTACK_TYPE: &str = "attack_type";
/// Class order of `attack_type`: the fine-grained labels 0..=3 of spec §6.
pub const ATTACK_TYPES: [&str; 4] = ["live", "physical", "adversarial", "digital"];

pub mod keys {
    pub const FORMAT_VERSION: &str = "moae.format_version";
    /// The trainer's model config (preset + variant) as JSON.
    pub const CONFIG: &str = "moae.config";
    pub const PRESET: &str = "moae.preset";
    pub const VARIANT: &str = "moae.variant";
    /// Square input side in pixels, e.g. "224".
    pub const INPUT_SIZE: &str = "moae.input_size";
    /// Comma-separated RGB mean and std, applied to pixels in [0, 1].
    pub const MEAN: &str = "moae.mean";
    pub const STD: &str = "moae.std";
    /// Comma-separated class names in logit order: "live,attack".
    pub const CLASSES: &str = "moae.classes";
    /// Comma-separated class names of the `attack_type` output, "live,physical,adversarial,
    /// digital"; absent when the model has no attack-type head.
    pub const ATTACK_TYPES: &str = "moae.attack_types";
    /// Decision threshold on attack_score: attack iff score >= threshold.
    pub const THRESHOLD: &str = "moae.threshold";
    /// "true" when the threshold is the dev-set EER threshold, "false" for the 0.5 default.
    pub const THRESHOLD_CALIBRATED: &str = "moae.threshold_calibrated";
    /// "fp32", "fp16" or "int8".
    pub const PRECISION: &str = "moae.precision";
    /// Hex SHA-256 of the checkpoint file the model was exported from.
    pub const CHECKPOINT_SHA256: &str = "moae.checkpoint_sha256";
    /// e.g. "moae-trainer 0.1.0".
    pub const PRODUCER: &str = "moae.producer";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub format_version: u32,
    pub config_json: String,
    pub preset: String,
    pub variant: String,
    pub input_size: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub classes: Vec<String>,
    /// The `attack_type` output's classes ([`ATTACK_TYPES`]); empty: no attack-type head.
    #[serde(default)]
    pub attack_types: Vec<String>,
    pub threshold: f32,
    pub threshold_calibrated: bool,
    pub precision: String,
    pub checkpoint_sha256: String,
    pub producer: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MetaError {
    #[error("model metadata has no `{0}`: this ONNX file was not exported by `trainer export` (or is from an incompatible version)")]
    Missing(&'static str),
    #[error("model metadata `{key}` = {value:?} is invalid: {why}")]
    Invalid {
        key: &'static str,
        value: String,
        why: String,
    },
    #[error("model format version {found} is not supported (this build reads version {FORMAT_VERSION}); re-export the model with a matching trainer")]
    Version { found: u32 },
}

fn floats3(key: &'static str, v: &str) -> Result<[f32; 3], MetaError> {
    let parts: Vec<f32> = v
        .split(',')
        .map(|s| s.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| MetaError::Invalid {
            key,
            value: v.into(),
            why: e.to_string(),
        })?;
    parts.try_into().map_err(|_| MetaError::Invalid {
        key,
        value: v.into(),
        why: "expected three comma-separated numbers".into(),
    })
}

fn join3(v: &[f32; 3]) -> String {
    format!("{},{},{}", v[0], v[1], v[2])
}

impl ModelMeta {
    pub fn to_props(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put(keys::FORMAT_VERSION, self.format_version.to_string());
        put(keys::CONFIG, self.config_json.clone());
        put(keys::PRESET, self.preset.clone());
        put(keys::VARIANT, self.variant.clone());
        put(keys::INPUT_SIZE, self.input_size.to_string());
        put(keys::MEAN, join3(&self.mean));
        put(keys::STD, join3(&self.std));
        put(keys::CLASSES, self.classes.join(","));
        if !self.attack_types.is_empty() {
            put(keys::ATTACK_TYPES, self.attack_types.join(","));
        }
        put(keys::THRESHOLD, self.threshold.to_string());
        put(
            keys::THRESHOLD_CALIBRATED,
            self.threshold_calibrated.to_string(),
        );
        put(keys::PRECISION, self.precision.clone());
        put(keys::CHECKPOINT_SHA256, self.checkpoint_sha256.clone());
        put(keys::PRODUCER, self.producer.clone());
        m
    }

    /// Parses and validates the props; the format version is checked first so that a file
    /// from a newer exporter says so rather than failing on a renamed key.
    pub fn from_props(get: impl Fn(&str) -> Option<String>) -> Result<Self, MetaError> {
        let req = |k: &'static str| get(k).ok_or(MetaError::Missing(k));
        let version_s = req(keys::FORMAT_VERSION)?;
        let format_version: u32 = version_s.trim().parse().map_err(|_| MetaError::Invalid {
            key: keys::FORMAT_VERSION,
            value: version_s.clone(),
            why: "not an integer".into(),
        })?;
        if format_version != FORMAT_VERSION {
            return Err(MetaError::Version {
                found: format_version,
            });
        }
        let size_s = req(keys::INPUT_SIZE)?;
        let input_size: u32 = size_s
            .trim()
            .parse()
            .ok()
            .filter(|&s| s > 0 && s <= 4096)
            .ok_or_else(|| MetaError::Invalid {
                key: keys::INPUT_SIZE,
                value: size_s.clone(),
                why: "expected a side length in 1..=4096".into(),
            })?;
        let thr_s = req(keys::THRESHOLD)?;
        let threshold: f32 = thr_s
            .trim()
            .parse()
            .ok()
            .filter(|t: &f32| t.is_finite() && (0.0..=1.0).contains(t))
            .ok_or_else(|| MetaError::Invalid {
                key: keys::THRESHOLD,
                value: thr_s.clone(),
                why: "expected a number in [0, 1]".into(),
            })?;
        let std = floats3(keys::STD, &req(keys::STD)?)?;
        if std.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return Err(MetaError::Invalid {
                key: keys::STD,
                value: join3(&std),
                why: "std must be positive".into(),
            });
        }
        let classes: Vec<String> = req(keys::CLASSES)?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        if classes != CLASSES {
            return Err(MetaError::Invalid {
                key: keys::CLASSES,
                value: classes.join(","),
                why: format!("expected {}", CLASSES.join(",")),
            });
        }
        let attack_types: Vec<String> = match get(keys::ATTACK_TYPES) {
            None => Vec::new(),
            Some(v) => {
                let names: Vec<String> = v.split(',').map(|s| s.trim().to_string()).collect();
                if names != ATTACK_TYPES {
                    return Err(MetaError::Invalid {
                        key: keys::ATTACK_TYPES,
                        value: v,
                        why: format!(
                            "expected {} (the attack-type head's 4 classes)",
                            ATTACK_TYPES.join(",")
                        ),
                    });
                }
                names
            }
        };
        Ok(ModelMeta {
            format_version,
            config_json: get(keys::CONFIG).unwrap_or_default(),
            preset: get(keys::PRESET).unwrap_or_default(),
            variant: get(keys::VARIANT).unwrap_or_default(),
            input_size,
            mean: floats3(keys::MEAN, &req(keys::MEAN)?)?,
            std,
            classes,
            attack_types,
            threshold,
            threshold_calibrated: get(keys::THRESHOLD_CALIBRATED).as_deref() == Some("true"),
            precision: get(keys::PRECISION).unwrap_or_else(|| "fp32".into()),
            checkpoint_sha256: get(keys::CHECKPOINT_SHA256).unwrap_or_default(),
            producer: get(keys::PRODUCER).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
// The CLIP constants are quoted to the digits OpenAI publishes them with.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    fn sample() -> ModelMeta {
        ModelMeta {
            format_version: FORMAT_VERSION,
            config_json: "{}".into(),
            preset: "tiny".into(),
            variant: "moae".into(),
            input_size: 224,
            mean: [0.48145466, 0.4578275, 0.40821073],
            std: [0.26862954, 0.26130258, 0.27577711],
            classes: CLASSES.iter().map(|s| s.to_string()).collect(),
            attack_types: Vec::new(),
            threshold: 0.25,
            threshold_calibrated: true,
            precision: "fp32".into(),
            checkpoint_sha256: "ab".into(),
            producer: "test".into(),
        }
    }

    #[test]
    fn props_round_trip() {
        let m = sample();
        let p = m.to_props();
        assert_eq!(ModelMeta::from_props(|k| p.get(k).cloned()).unwrap(), m);
    }

    #[test]
    fn missing_and_bad_keys_are_named() {
        let m = sample();
        let mut p = m.to_props();
        p.remove(keys::THRESHOLD);
        assert_eq!(
            ModelMeta::from_props(|k| p.get(k).cloned()).unwrap_err(),
            MetaError::Missing(keys::THRESHOLD)
        );
        let mut p = m.to_props();
        p.insert(keys::FORMAT_VERSION.into(), "99".into());
        assert_eq!(
            ModelMeta::from_props(|k| p.get(k).cloned()).unwrap_err(),
            MetaError::Version { found: 99 }
        );
        let mut p = m.to_props();
        p.insert(keys::STD.into(), "1,0,1".into());
        assert!(matches!(
            ModelMeta::from_props(|k| p.get(k).cloned()).unwrap_err(),
            MetaError::Invalid { key: keys::STD, .. }
        ));
        assert_eq!(
            ModelMeta::from_props(|_| None).unwrap_err(),
            MetaError::Missing(keys::FORMAT_VERSION)
        );
    }
}
