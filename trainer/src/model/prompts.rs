//! Class prompts and class text embeddings (spec §4).
//!
//! The prompts are templates × class words; their token ids are computed once (by the CLIP BPE
//! tokenizer, or by [`byte_level_ids`] when a model has no tokenizer files) and stored in the
//! checkpoint, so training and export never need the tokenizer again.

use crate::model::config::{EOT_TOKEN, SOT_TOKEN};
use crate::model::{l2norm, MoaeClip};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

/// Default templates; `{}` is replaced by the class word.
pub const DEFAULT_TEMPLATES: [&str; 3] = [
    "This is an image of a {} face",
    "A photo of a {} face",
    "This is an example of a {} face",
];

/// Default class words, index 0 = live, 1 = attack.
pub const DEFAULT_CLASS_WORDS: [[&str; 2]; 2] = [["live", "real"], ["fake", "spoof"]];

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PromptError {
    #[error("prompt template {0:?} has no `{{}}` placeholder for the class word")]
    NoPlaceholder(String),
    #[error("prompts need at least one template and one word per class")]
    Empty,
    #[error("both classes need the same number of class words (live: {0}, attack: {1})")]
    UnequalWords(usize, usize),
    #[error("tokenizing prompt {text:?} failed: {why}")]
    Tokenize { text: String, why: String },
    #[error("prompt {text:?} tokenized to {got} ids, expected the context length {want}")]
    Length {
        text: String,
        got: usize,
        want: usize,
    },
}

/// The class prompts and their token ids, as stored in a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSet {
    pub templates: Vec<String>,
    /// Class words, index 0 = live, 1 = attack.
    pub class_words: [Vec<String>; 2],
    /// How `ids` were made: "clip-bpe" or "byte-level".
    pub tokenizer: String,
    /// Token ids [2·T, context], class-major: the T prompts of class 0, then those of class 1
    /// (T = templates × words per class, the same for both classes).
    pub ids: Vec<Vec<i64>>,
}

impl PromptSet {
    /// Texts of class `k` in row order: for each word, for each template.
    pub fn texts(templates: &[String], words: &[String]) -> Vec<String> {
        words
            .iter()
            .flat_map(|w| templates.iter().map(move |t| t.replace("{}", w)))
            .collect()
    }

    /// Tokenizes every prompt with `tokenize` (text → exactly `context` ids).
    pub fn build<E: std::fmt::Display>(
        templates: &[String],
        class_words: [Vec<String>; 2],
        tokenizer: &str,
        context: usize,
        mut tokenize: impl FnMut(&str) -> Result<Vec<i64>, E>,
    ) -> Result<Self, PromptError> {
        if templates.is_empty() || class_words.iter().any(|w| w.is_empty()) {
            return Err(PromptError::Empty);
        }
        if class_words[0].len() != class_words[1].len() {
            // Equal counts keep the [2, T] reshape simple; repeat a word to balance them.
            return Err(PromptError::UnequalWords(
                class_words[0].len(),
                class_words[1].len(),
            ));
        }
        if let Some(t) = templates.iter().find(|t| !t.contains("{}")) {
            return Err(PromptError::NoPlaceholder(t.clone()));
        }
        let mut ids = Vec::new();
        for words in &class_words {
            for text in Self::texts(templates, words) {
                let row = tokenize(&text).map_err(|e| PromptError::Tokenize {
                    text: text.clone(),
                    why: e.to_string(),
                })?;
                if row.len() != context {
                    return Err(PromptError::Length {
                        text,
                        got: row.len(),
                        want: context,
                    });
                }
                ids.push(row);
            }
        }
        Ok(PromptSet {
            templates: templates.to_vec(),
            class_words,
            tokenizer: tokenizer.to_string(),
            ids,
        })
    }

    /// The default templates and words, tokenized by `tokenize`.
    pub fn default_with<E: std::fmt::Display>(
        tokenizer: &str,
        context: usize,
        tokenize: impl FnMut(&str) -> Result<Vec<i64>, E>,
    ) -> Result<Self, PromptError> {
        let templates: Vec<String> = DEFAULT_TEMPLATES.iter().map(|s| s.to_string()).collect();
        let words = DEFAULT_CLASS_WORDS.map(|ws| ws.iter().map(|s| s.to_string()).collect());
        Self::build(&templates, words, tokenizer, context, tokenize)
    }

    /// The default prompts with the byte-level fallback tokenizer (models without HF files).
    pub fn default_byte_level(context: usize) -> Self {
        Self::default_with("byte-level", context, |t| {
            Ok::<_, std::convert::Infallible>(byte_level_ids(t, context))
        })
        .expect("default prompts are valid")
    }

    /// The ids as an int64 tensor [2·T, context] on `device`.
    pub fn ids_tensor(&self, device: Device) -> Tensor {
        let rows = self.ids.len() as i64;
        let flat: Vec<i64> = self.ids.iter().flatten().copied().collect();
        let ctx = if rows == 0 {
            0
        } else {
            flat.len() as i64 / rows
        };
        Tensor::from_slice(&flat)
            .view([rows, ctx])
            .to_device(device)
    }
}

/// Class text embeddings [2, proj]: per class, the mean of the l2-normalised prompt embeddings,
/// re-normalised. `ids` [2·T, context], class-major (as [`PromptSet::ids`]).
pub fn class_embeddings(model: &MoaeClip, ids: &Tensor) -> Tensor {
    let rows = ids.size()[0];
    let emb = l2norm(&model.encode_text(ids)); // [2T, proj]
    let proj = emb.size()[1];
    l2norm(&emb.view([2, rows / 2, proj]).mean_dim(1, false, emb.kind()))
}

/// The byte order of CLIP's `bytes_to_unicode` table: position i holds the byte whose
/// unicode stand-in is vocabulary entry i (entries 256 + i are the same with `</w>`).
fn clip_byte_order() -> [u8; 256] {
    let mut order = Vec::with_capacity(256);
    order.extend(b'!'..=b'~');
    order.extend(0xA1u8..=0xAC);
    order.extend(0xAEu8..=0xFF);
    for b in 0..=255u8 {
        if !order.contains(&b) {
            order.push(b);
        }
    }
    order.try_into().expect("256 bytes")
}

/// Deterministic fallback token ids for models without tokenizer files: CLIP's byte-level
/// BPE **with no merges**. Text is lower-cased and split into words (letter runs, single
/// digits, runs of other non-space characters — CLIP's pattern without the contractions);
/// every byte becomes its CLIP base-vocabulary id, the last byte of a word its `</w>` form
/// (+256). Wrapped in `<|startoftext|>` … `<|endoftext|>`, truncated to `context` (keeping
/// the end token) and padded with `<|endoftext|>` like HF's `CLIPTokenizer` (text pooling takes
/// the first largest id, so padding never moves it). The ids are valid in the real 49408-entry
/// CLIP vocabulary, so such prompts stay meaningful if HF weights are loaded later.
pub fn byte_level_ids(text: &str, context: usize) -> Vec<i64> {
    let order = clip_byte_order();
    let mut rank = [0i64; 256];
    for (i, &b) in order.iter().enumerate() {
        rank[b as usize] = i as i64;
    }
    let lower = text.to_lowercase();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_class = 0u8; // 1 letters, 2 other
    for ch in lower.chars() {
        let class = if ch.is_whitespace() {
            0
        } else if ch.is_alphabetic() {
            1
        } else if ch.is_numeric() {
            3
        } else {
            2
        };
        if class != cur_class || class == 3 {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            cur_class = class;
        }
        if class != 0 {
            cur.push(ch);
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut ids = vec![SOT_TOKEN];
    for w in &words {
        let bytes = w.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let end = if i + 1 == bytes.len() { 256 } else { 0 };
            ids.push(rank[b as usize] + end);
        }
    }
    ids.truncate(context.saturating_sub(1));
    ids.push(EOT_TOKEN);
    ids.resize(context, EOT_TOKEN);
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_ids_follow_clip_base_vocab() {
        let ids = byte_level_ids("A b!", 8);
        // 'a' is entry 64 in bytes_to_unicode order ('!' = 0 … '~' = 93), '</w>' adds 256.
        assert_eq!(
            ids,
            vec![
                SOT_TOKEN,
                64 + 256,
                65 + 256,
                256,
                EOT_TOKEN,
                EOT_TOKEN,
                EOT_TOKEN,
                EOT_TOKEN
            ]
        );
        let long = byte_level_ids(&"x".repeat(200), 77);
        assert_eq!(long.len(), 77);
        assert_eq!(long[76], EOT_TOKEN);
    }

    #[test]
    fn default_prompts_are_class_major() {
        let p = PromptSet::default_byte_level(77);
        assert_eq!(p.ids.len(), 12);
        assert_eq!(
            p.ids[0],
            byte_level_ids("This is an image of a live face", 77)
        );
        assert_eq!(
            p.ids[6],
            byte_level_ids("This is an image of a fake face", 77)
        );
        assert_eq!(p.ids_tensor(Device::Cpu).size(), vec![12, 77]);
    }

    #[test]
    fn bad_templates_are_errors() {
        let err = PromptSet::build(
            &["no placeholder".to_string()],
            [vec!["live".into()], vec!["fake".into()]],
            "byte-level",
            77,
            |t| Ok::<_, String>(byte_level_ids(t, 77)),
        )
        .unwrap_err();
        assert!(matches!(err, PromptError::NoPlaceholder(_)));
    }
}
