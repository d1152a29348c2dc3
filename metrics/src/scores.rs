//! Score files: one `score label [type [subject]]` a line, score = P(attack); what `trainer eval`
//! and `moae score` write and `trainer metrics` reads.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ScoreFileError {
    #[error("cannot read score file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {what} (expected `score label [type [subject]]`, got {text:?})")]
    Line {
        path: PathBuf,
        line: usize,
        what: String,
        text: String,
    },
    #[error("score file {0} has no scores")]
    Empty(PathBuf),
}

/// One scored sample: `attack` is the binary label, `attack_type` the fine-grained type name
/// (the attack species), `subject` the person shown where the list identifies one (the bootstrap
/// then resamples people, not images: images of one person are not independent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub score: f64,
    pub attack: bool,
    pub attack_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Scored {
    pub fn new(score: f64, attack: bool, attack_type: impl Into<String>) -> Self {
        Scored {
            score,
            attack,
            attack_type: attack_type.into(),
            subject: None,
        }
    }
}

/// The type name for a fine-grained UniAttackData label (one definition, beside the list parser).
pub use moae_lists::type_name;

/// Reads a score file: one `score label [type [subject]]` per line; blank lines and `#` comments
/// skipped. `label` is 0 (live) or 1-3 (attack, fine-grained type, spec §6); the optional third
/// column names the type and overrides the name derived from the label; the optional fourth
/// names the subject (person) shown.
pub fn read_score_file(path: &Path) -> Result<Vec<Scored>, ScoreFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScoreFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| ScoreFileError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            what: what.to_string(),
            text: raw.to_string(),
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !(2..=4).contains(&fields.len()) {
            return Err(bad("wrong number of columns"));
        }
        let score: f64 = fields[0]
            .parse()
            .map_err(|_| bad("score is not a number"))?;
        if !score.is_finite() {
            return Err(bad("score is not finite"));
        }
        // The image lists' rule (spec §6): what `moae score` writes, this reads.
        let label =
            moae_lists::parse_label(fields[1]).ok_or_else(|| bad(moae_lists::LABEL_RULE))?;
        let attack_type = fields
            .get(2)
            .map(|s| s.to_string())
            .unwrap_or_else(|| type_name(label));
        out.push(Scored {
            score,
            attack: label != 0,
            attack_type,
            subject: fields.get(3).map(|s| s.to_string()),
        });
    }
    if out.is_empty() {
        return Err(ScoreFileError::Empty(path.to_path_buf()));
    }
    Ok(out)
}

/// Scores as the text `read_score_file` reads (`score label type [subject]`; label 0/1 binary,
/// the type name kept in the third column), so `trainer metrics` can re-judge them. Scores keep
/// `decimals` digits (`None`: the shortest form that reads back as the same f64).
pub fn score_file_text(samples: &[Scored], decimals: Option<usize>) -> String {
    let mut text = String::new();
    for s in samples {
        match decimals {
            Some(d) => text += &format!("{:.d$} {} {}", s.score, u8::from(s.attack), s.attack_type),
            None => text += &format!("{} {} {}", s.score, u8::from(s.attack), s.attack_type),
        }
        if let Some(subject) = &s.subject {
            text += &format!(" {subject}");
        }
        text.push('\n');
    }
    text
}

/// Writes [`score_file_text`] (shortest round-trip form) with a header comment.
pub fn write_score_file(path: &Path, samples: &[Scored]) -> std::io::Result<()> {
    let text = String::from("# score label type [subject]  (score = P(attack))\n")
        + &score_file_text(samples, None);
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_file_parsing_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.txt");
        std::fs::write(&p, "# score label type\n0.1 0\n\n0.9 1 print\n0.7 3\n").unwrap();
        let s = read_score_file(&p).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].attack_type, "print");
        assert_eq!(s[2].attack_type, "digital");
        let back = dir.path().join("back.txt");
        write_score_file(&back, &s).unwrap();
        let again = read_score_file(&back).unwrap();
        assert_eq!(again, s, "scores round-trip exactly");
        std::fs::write(&p, "0.1 0\n0.7 1 print s17\n").unwrap();
        let s = read_score_file(&p).unwrap();
        assert_eq!(s[1].subject.as_deref(), Some("s17"));
        write_score_file(&back, &s).unwrap();
        assert_eq!(read_score_file(&back).unwrap(), s, "subjects round-trip");
        std::fs::write(&p, "0.1 0 live s1 extra\n").unwrap();
        assert!(read_score_file(&p).is_err(), "five columns");
        std::fs::write(&p, "0.1 0\n0.2 x\n").unwrap();
        let err = read_score_file(&p).unwrap_err();
        assert!(matches!(err, ScoreFileError::Line { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("s.txt"));
        std::fs::write(&p, "nan 1\n").unwrap();
        assert!(read_score_file(&p).is_err());
        std::fs::write(&p, "0.1 0\n0.9 9\n").unwrap();
        let err = read_score_file(&p).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("label"), "{err}");
        std::fs::write(&p, "\n# only comments\n").unwrap();
        assert!(matches!(read_score_file(&p), Err(ScoreFileError::Empty(_))));
    }
}
