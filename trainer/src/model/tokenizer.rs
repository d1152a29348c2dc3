//! CLIP's byte-level BPE tokenizer (spec §1), the algorithm of OpenAI's `simple_tokenizer.py`
//! and Hugging Face's `CLIPTokenizer`: the special tokens are split off the raw text (exact,
//! case-sensitive match, as Hugging Face's added-token split) → each other segment is
//! NFC-normalised, whitespace-collapsed and lower-cased (Unicode rules with word-final `ς`, as
//! Python's `str.lower`) → split by the CLIP regex → each piece's UTF-8 bytes mapped to printable
//! symbols (`bytes_to_unicode`) → the last symbol gets the `</w>` end-of-word suffix → pairs
//! merged by rank until none applies.
//!
//! Differences from the Python tokenizers, on purpose: no `ftfy`/HTML unescaping (no such
//! dependency; plain text is unchanged by them), and a merges line that is not two symbols is an
//! error instead of being kept as a malformed tuple.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;

/// CLIP's text context length.
pub const CONTEXT_LEN: usize = 77;
pub const SOT: &str = "<|startoftext|>";
pub const EOT: &str = "<|endoftext|>";
const END_OF_WORD: &str = "</w>";
/// Hugging Face reads `merges[1 : 49152 - 256 - 2 + 1]` (after the `#version` line).
const HF_MERGE_LINES: usize = 49152 - 256 - 2;
/// The split regex of spec §1 for text between special tokens (those are split off before, so
/// `<|ENDOFTEXT|>` written in upper case stays plain text, as in Hugging Face).
const SPLIT_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot read tokenizer file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a JSON map of token → id: {source}")]
    VocabJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} line {line}: a merge must be two symbols separated by a space, got {text:?}")]
    BadMerge {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("merges file {0} is empty (expected a '#version' header and merge lines)")]
    EmptyMerges(PathBuf),
    #[error("the vocabulary has no {0:?} token; CLIP vocabularies must contain it")]
    MissingSpecial(&'static str),
}

/// `bytes_to_unicode()` of CLIP/GPT-2: byte → a printable char, in CLIP's base-vocab order
/// (printable Latin-1 bytes first, in byte order, then the rest mapped to U+0100…).
pub fn bytes_to_unicode() -> Vec<(u8, char)> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .map(|(b, c)| {
            (
                b as u8,
                char::from_u32(c).expect("code points below 512 are valid"),
            )
        })
        .collect()
}

/// NFC, then collapses whitespace runs to one space, trims, lower-cases (Hugging Face's
/// normalisation + CLIP's `whitespace_clean` + lower). NFC first: a decomposed `e` + U+0301
/// would otherwise split into a letter and a lone accent. `str::to_lowercase` applies Unicode's
/// Final_Sigma rule (`ΟΔΟΣ` → `οδος`), as Python's `str.lower` does.
pub fn clean_text(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let nfc: String = text.nfc().collect();
    nfc.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `text` cut at each exact `<|startoftext|>` / `<|endoftext|>`: `Err(special)` or `Ok(segment)`.
fn split_specials(text: &str) -> Vec<Result<&str, &'static str>> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let next = [SOT, EOT]
            .into_iter()
            .filter_map(|sp| rest.find(sp).map(|at| (at, sp)))
            .min_by_key(|&(at, _)| at);
        match next {
            Some((at, sp)) => {
                out.push(Ok(&rest[..at]));
                out.push(Err(sp));
                rest = &rest[at + sp.len()..];
            }
            None => {
                out.push(Ok(rest));
                return out;
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClipTokenizer {
    encoder: HashMap<String, i64>,
    ranks: HashMap<(String, String), usize>,
    byte_encoder: [char; 256],
    pattern: Regex,
    sot: i64,
    eot: i64,
}

impl ClipTokenizer {
    /// Reads Hugging Face's `vocab.json` and `merges.txt` (first line a `#version` header).
    pub fn from_files(vocab_json: &Path, merges_txt: &Path) -> Result<Self, TokenizerError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| TokenizerError::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        let vocab: HashMap<String, i64> =
            serde_json::from_str(&read(vocab_json)?).map_err(|source| {
                TokenizerError::VocabJson {
                    path: vocab_json.to_path_buf(),
                    source,
                }
            })?;
        let text = read(merges_txt)?;
        let lines: Vec<&str> = text.trim().split('\n').collect();
        if lines.is_empty() || lines[0].is_empty() {
            return Err(TokenizerError::EmptyMerges(merges_txt.to_path_buf()));
        }
        let mut merges = Vec::new();
        // Like HF: skip the header, keep at most HF_MERGE_LINES lines (line numbers are 1-based).
        for (i, line) in lines.iter().enumerate().skip(1).take(HF_MERGE_LINES) {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(b), None) => merges.push((a.to_string(), b.to_string())),
                _ => {
                    return Err(TokenizerError::BadMerge {
                        path: merges_txt.to_path_buf(),
                        line: i + 1,
                        text: line.to_string(),
                    })
                }
            }
        }
        Self::from_parts(vocab, merges)
    }

    /// Builds a tokenizer from a vocabulary and merges in rank order (first = highest priority).
    pub fn from_parts(
        vocab: HashMap<String, i64>,
        merges: Vec<(String, String)>,
    ) -> Result<Self, TokenizerError> {
        let sot = *vocab.get(SOT).ok_or(TokenizerError::MissingSpecial(SOT))?;
        let eot = *vocab.get(EOT).ok_or(TokenizerError::MissingSpecial(EOT))?;
        let mut ranks = HashMap::with_capacity(merges.len());
        for (rank, pair) in merges.into_iter().enumerate() {
            // A duplicated merge keeps its first (best) rank, as Python's dict(zip(..)) would not;
            // real CLIP files have no duplicates, so this only matters for hand-made files.
            ranks.entry(pair).or_insert(rank);
        }
        let mut byte_encoder = ['\0'; 256];
        for (b, c) in bytes_to_unicode() {
            byte_encoder[b as usize] = c;
        }
        Ok(Self {
            encoder: vocab,
            ranks,
            byte_encoder,
            pattern: Regex::new(SPLIT_PATTERN).expect("the CLIP regex is valid"),
            sot,
            eot,
        })
    }

    /// A tokenizer with no merges for models trained from scratch: the 256 byte symbols, the 256
    /// byte+`</w>` symbols, then `<|startoftext|>` (512) and `<|endoftext|>` (513) — CLIP's own
    /// base-vocab order, 514 entries.
    pub fn byte_level() -> Self {
        let symbols: Vec<String> = bytes_to_unicode()
            .into_iter()
            .map(|(_, c)| c.to_string())
            .collect();
        let mut vocab = HashMap::new();
        for (i, s) in symbols.iter().enumerate() {
            vocab.insert(s.clone(), i as i64);
            vocab.insert(format!("{s}{END_OF_WORD}"), (i + 256) as i64);
        }
        vocab.insert(SOT.to_string(), 512);
        vocab.insert(EOT.to_string(), 513);
        Self::from_parts(vocab, Vec::new()).expect("specials are present")
    }

    pub fn vocab_size(&self) -> usize {
        self.encoder.len()
    }
    pub fn sot_id(&self) -> i64 {
        self.sot
    }
    pub fn eot_id(&self) -> i64 {
        self.eot
    }

    /// Token ids of `text`, without start/end tokens. A symbol missing from the vocabulary maps to
    /// `<|endoftext|>`, Hugging Face's `unk_token` for CLIP.
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let mut ids = Vec::new();
        for part in split_specials(text) {
            let segment = match part {
                Err(special) => {
                    ids.push(if special == SOT { self.sot } else { self.eot });
                    continue;
                }
                Ok(segment) => clean_text(segment),
            };
            for piece in self.pattern.find_iter(&segment) {
                let symbols: String = piece
                    .as_str()
                    .bytes()
                    .map(|b| self.byte_encoder[b as usize])
                    .collect();
                for token in self.bpe(&symbols) {
                    ids.push(*self.encoder.get(&token).unwrap_or(&self.eot));
                }
            }
        }
        ids
    }

    /// `[SOT] + ids + [EOT]`, truncated so that EOT stays last (index `context_len - 1`), then
    /// padded to `context_len` with `<|endoftext|>` — what HF's `CLIPTokenizer` does for the openai
    /// checkpoints (their `pad_token` is `<|endoftext|>`). Text pooling takes argmax(ids), i.e. the
    /// first EOT, so the padding does not change the pooled position.
    pub fn encode_padded(&self, text: &str, context_len: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(context_len.max(2));
        ids.push(self.sot);
        let body = self.encode(text);
        let room = context_len.saturating_sub(2);
        ids.extend(body.into_iter().take(room));
        ids.push(self.eot);
        ids.resize(context_len.max(ids.len()), self.eot);
        ids
    }

    /// The BPE of one pre-tokenised piece (already byte-encoded), as `simple_tokenizer.bpe`.
    fn bpe(&self, piece: &str) -> Vec<String> {
        let chars: Vec<char> = piece.chars().collect();
        let Some((last, init)) = chars.split_last() else {
            return Vec::new();
        };
        let mut word: Vec<String> = init.iter().map(|c| c.to_string()).collect();
        word.push(format!("{last}{END_OF_WORD}"));
        while word.len() > 1 {
            // The adjacent pair with the lowest rank; none ranked → done.
            let best = word
                .windows(2)
                .filter_map(|w| self.ranks.get(&(w[0].clone(), w[1].clone())))
                .min()
                .copied();
            let Some(rank) = best else { break };
            let (first, second) = word
                .windows(2)
                .find(|w| self.ranks.get(&(w[0].clone(), w[1].clone())) == Some(&rank))
                .map(|w| (w[0].clone(), w[1].clone()))
                .expect("the best pair exists");
            // Merge every non-overlapping occurrence, left to right.
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                    merged.push(format!("{first}{second}"));
                    i += 2;
                } else {
                    merged.push(word[i].clone());
                    i += 1;
                }
            }
            word = merged;
        }
        word
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Ids of single byte symbols follow CLIP's base order: '!'..'~' are 0..93, so an ASCII
    // printable char c has id (c - 33), and its "</w>" form has id 256 + (c - 33).
    fn byte_id(c: char) -> i64 {
        c as i64 - 33
    }
    fn eow_id(c: char) -> i64 {
        256 + byte_id(c)
    }

    /// A CLIP-style vocab: 512 base symbols, then one entry per merge (ids 512..), then SOT, EOT.
    fn tiny() -> ClipTokenizer {
        let merges: Vec<(String, String)> = [
            ("h", "e"),        // rank 0 → "he"         id 512
            ("l", "l"),        // rank 1 → "ll"         id 513
            ("he", "ll"),      // rank 2 → "hell"       id 514
            ("hell", "o</w>"), // rank 3 → "hello</w>"  id 515
            ("w", "o"),        // rank 4 → "wo"         id 516
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let base = ClipTokenizer::byte_level();
        let mut vocab: HashMap<String, i64> = base
            .encoder
            .iter()
            .filter(|(_, &id)| id < 512)
            .map(|(k, &v)| (k.clone(), v))
            .collect();
        for (i, (a, b)) in merges.iter().enumerate() {
            vocab.insert(format!("{a}{b}"), 512 + i as i64);
        }
        vocab.insert(SOT.into(), 517);
        vocab.insert(EOT.into(), 518);
        ClipTokenizer::from_parts(vocab, merges).unwrap()
    }

    #[test]
    fn byte_table_matches_clip() {
        let t = bytes_to_unicode();
        assert_eq!(t.len(), 256);
        assert_eq!(t[0], (b'!', '!'));
        assert_eq!(t[93], (b'~', '~'));
        assert_eq!(t[94], (0xA1, '¡'));
        // The first non-printable byte (0) maps to U+0100, space (32) to U+0120 'Ġ'.
        assert_eq!(t[188], (0, '\u{100}'));
        assert_eq!(t[188 + 32], (b' ', 'Ġ'));
        let byte_level = ClipTokenizer::byte_level();
        assert_eq!(byte_level.vocab_size(), 514);
        assert_eq!((byte_level.sot_id(), byte_level.eot_id()), (512, 513));
    }

    #[test]
    fn word_over_several_merges_and_punctuation() {
        let tok = tiny();
        // "Hello, World!" → clean → "hello, world!" → pieces "hello" "," "world" "!".
        // hello: h e l l o</w> → (h,e) r0 → he l l o</w> → (l,l) r1 → he ll o</w>
        //        → (he,ll) r2 → hell o</w> → (hell,o</w>) r3 → hello</w> = 515.
        // ",": one symbol ",</w>". world: (w,o) r4 → wo r l d</w>; no other ranked pair.
        let expected = vec![
            515,
            eow_id(','),
            516,
            byte_id('r'),
            byte_id('l'),
            eow_id('d'),
            eow_id('!'),
        ];
        assert_eq!(tok.encode("Hello, World!"), expected);
        // Whitespace runs and case do not matter.
        assert_eq!(tok.encode("  HELLO ,\n\tworld !  "), expected);
    }

    #[test]
    fn merges_do_not_overlap_and_contractions_split() {
        let tok = tiny();
        // l l l</w>: (l,l) merges the first two only; "l</w>" is a different symbol.
        assert_eq!(tok.encode("lll"), vec![513, eow_id('l')]);
        // "it's" → "it" + "'s"; digits are split one by one.
        assert_eq!(
            tok.encode("it's 42"),
            vec![
                byte_id('i'),
                eow_id('t'),
                byte_id('\''),
                eow_id('s'),
                eow_id('4'),
                eow_id('2')
            ]
        );
        // Non-ASCII goes through UTF-8 bytes: é = C3 A9; C3 is base index 106 + (0xC3-0xAE) = 127,
        // A9 is 94 + (0xA9-0xA1) = 102, and as the last symbol it carries </w>: 256 + 102.
        assert_eq!(tok.encode("é"), vec![127, 358]);
    }

    #[test]
    fn specials_padding_and_truncation() {
        let tok = tiny();
        let ids = tok.encode_padded("hello", CONTEXT_LEN);
        assert_eq!(ids.len(), 77);
        assert_eq!(&ids[..3], &[517, 515, 518]);
        assert!(
            ids[3..].iter().all(|&i| i == 518),
            "padded with <|endoftext|>"
        );
        // Special tokens written in the text map to their ids.
        assert_eq!(tok.encode("<|startoftext|>hello"), vec![517, 515]);

        // 100 words "a" → 75 kept, EOT at index 76.
        let long = vec!["a"; 100].join(" ");
        let ids = tok.encode_padded(&long, CONTEXT_LEN);
        assert_eq!(ids.len(), 77);
        assert_eq!(ids[0], 517);
        assert!(ids[1..76].iter().all(|&i| i == eow_id('a')));
        assert_eq!(ids[76], 518);
    }

    /// The id of byte `b`'s symbol in CLIP's base order (`bytes_to_unicode`), plain or `</w>`.
    fn sym(b: u8, eow: bool) -> i64 {
        let i = bytes_to_unicode()
            .iter()
            .position(|&(x, _)| x == b)
            .unwrap() as i64;
        i + if eow { 256 } else { 0 }
    }

    #[test]
    fn matches_hugging_face_on_accents_sigma_and_upper_case_specials() {
        let tok = tiny();
        // Decomposed "e" + U+0301 is NFC-composed to "é" (C3 A9) first, as Hugging Face does.
        assert_eq!(tok.encode("e\u{301}"), vec![127, 358]);
        assert_eq!(tok.encode("E\u{301}"), tok.encode("é"));
        // Word-final capital Σ lower-cases to ς (CF 82) as Python's str.lower, elsewhere σ (CF 83).
        // "ΟΔΟΣ" → "οδος" = CE BF CE B4 CE BF CF 82; no merges apply.
        let odos = [0xCE, 0xBF, 0xCE, 0xB4, 0xCE, 0xBF, 0xCF, 0x82];
        let expected: Vec<i64> = odos
            .iter()
            .enumerate()
            .map(|(i, &b)| sym(b, i == odos.len() - 1))
            .collect();
        assert_eq!(tok.encode("ΟΔΟΣ"), expected);
        assert_eq!(
            tok.encode("ΣΑ"),
            vec![
                sym(0xCF, false),
                sym(0x83, false),
                sym(0xCE, false),
                sym(0xB1, true)
            ]
        );
        // Upper-case <|ENDOFTEXT|> is plain text (specials match exactly, before lower-casing):
        // "<|endoftext|>" → pieces "<|", "endoftext", "|>".
        let mut plain = vec![sym(b'<', false), sym(b'|', true)];
        plain.extend(b"endofte".iter().map(|&b| sym(b, false)));
        plain.extend([
            sym(b'x', false),
            sym(b't', true),
            sym(b'|', false),
            sym(b'>', true),
        ]);
        assert_eq!(tok.encode("<|ENDOFTEXT|>"), plain);
        // Lower-case ones are the special token, also between words and without spaces.
        assert_eq!(tok.encode("hello<|endoftext|>HELLO"), vec![515, 518, 515]);
    }

    #[test]
    fn reads_hf_files_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let tok = tiny();
        let vocab = dir.path().join("vocab.json");
        std::fs::write(&vocab, serde_json::to_string(&tok.encoder).unwrap()).unwrap();
        let merges = dir.path().join("merges.txt");
        std::fs::write(&merges, "#version: 0.2\nh e\nl l\nhe ll\nhell o</w>\nw o\n").unwrap();
        let from_files = ClipTokenizer::from_files(&vocab, &merges).unwrap();
        assert_eq!(from_files.encode("hello world"), tok.encode("hello world"));

        std::fs::write(&merges, "#version: 0.2\nh e\nl l x\n").unwrap();
        let err = ClipTokenizer::from_files(&vocab, &merges).unwrap_err();
        assert!(
            matches!(err, TokenizerError::BadMerge { line: 3, .. }),
            "{err}"
        );
        let err = ClipTokenizer::from_files(&dir.path().join("nope.json"), &merges).unwrap_err();
        assert!(err.to_string().contains("nope.json"));
    }
}
