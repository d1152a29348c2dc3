//! Image lists (spec §6): UniAttackData protocol lists and the generic `path label [type]` format.
//!
//! A line is `<path relative to the root> <label> [type]`, whitespace-separated (so paths cannot
//! contain spaces); blank lines and lines starting with `#` are skipped. The label is the
//! fine-grained UniAttackData label (0 live, 1 physical, 2 adversarial, 3 digital; binary lists
//! use 0/1); binary = label != 0. Any other label is an error, here and in `trainer metrics`'
//! score files alike, so that what `moae score` accepts and writes the trainer reads. The
//! optional third column names the attack type and overrides the name derived from the label
//! (e.g. `print`, `replay` for other data sets).
//!
//! Free of libtorch and ONNX Runtime: `trainer` (its data lists) and `moae score` read lists
//! with this one parser, so both accept and reject the same files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a bad label is called in errors, here and in `trainer metrics`' score files.
pub const LABEL_RULE: &str = "label is not 0 (live) or 1-3 (attack types)";

/// A fine-grained UniAttackData label (spec §6): 0 live, 1 physical, 2 adversarial, 3 digital
/// (binary lists use 0/1). `None` for anything else (see [`LABEL_RULE`]).
pub fn parse_label(text: &str) -> Option<u8> {
    text.parse().ok().filter(|l: &u8| *l <= 3)
}

/// The type name for a fine-grained UniAttackData label (spec §6); other labels are `type<N>`.
pub fn type_name(label: u8) -> String {
    match label {
        0 => "live".into(),
        1 => "physical".into(),
        2 => "adversarial".into(),
        3 => "digital".into(),
        n => format!("type{n}"),
    }
}

/// The subject (person) an image of the UniAttackData layout shows (spec §6), from the
/// components after `Data`: `live/<eth>/<ID>/…`, `spoof/<eth>/<ID>/…`,
/// `adv-attacks/<method>/<name>_<eth>-112x112/<ID>/…`, and for face swaps
/// `<swap-method>/<eth>/X-To-Y/…` the identity X whose face is shown. `None` for any other
/// layout (generic lists): metrics then treat every image as its own unit.
pub fn subject_of(path: &Path) -> Option<String> {
    let parts: Vec<&str> = path.iter().filter_map(|c| c.to_str()).collect();
    let data = parts.iter().rposition(|c| *c == "Data")?;
    let rest = &parts[data + 1..];
    // The ID must be followed by more path (its images), so a file name is never taken for it;
    // live and print/replay captures sit two folders below it (`real.rssdk/color/`).
    let at = |i: usize| {
        rest.get(i)
            .filter(|_| i + 1 < rest.len())
            .map(|s| s.to_string())
    };
    match *rest.first()? {
        "live" | "spoof" => at(2).filter(|_| rest.len() > 4),
        "adv-attacks" => at(3),
        _ => {
            let pair = at(2)?;
            let (x, _) = pair.split_once("-To-")?;
            (!x.is_empty()).then(|| x.to_string())
        }
    }
}

/// Sub-folders of the root searched (in this order) for a protocol's list files: the root itself,
/// then the folders UniAttackData releases and our synthetic set use.
pub const LIST_DIRS: [&str; 5] = ["", "Protocol", "Protocols", "protocols", "UniAttackData"];

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("data root {0} does not exist or is not a folder")]
    MissingRoot(PathBuf),
    #[error("no list file {name} for protocol {protocol} under {root} (looked in: {searched})")]
    MissingList {
        protocol: String,
        name: String,
        root: PathBuf,
        searched: String,
    },
    #[error("cannot read list file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {what} (expected `path label [type]`, got {text:?})")]
    BadLine {
        path: PathBuf,
        line: usize,
        what: String,
        text: String,
    },
    #[error("list file {0} has no samples")]
    Empty(PathBuf),
    #[error("unknown split {0:?} (expected train, dev or test)")]
    BadSplit(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Dev,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

impl std::str::FromStr for Split {
    type Err = ListError;
    fn from_str(s: &str) -> Result<Self, ListError> {
        match s {
            "train" => Ok(Split::Train),
            "dev" => Ok(Split::Dev),
            "test" => Ok(Split::Test),
            _ => Err(ListError::BadSplit(s.into())),
        }
    }
}

/// One image of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The image path, root-joined.
    pub path: PathBuf,
    /// Binary label: 0 live, 1 attack.
    pub label: u8,
    /// The fine-grained label as written in the list (0 live, 1 physical, 2 adversarial, 3 digital).
    pub fine: u8,
    /// The attack type name: the third column, or derived from `fine` (see [`type_name`]).
    pub attack_type: String,
    /// The list file and 1-based line the sample came from (for error messages).
    pub list: Arc<Path>,
    pub line: usize,
}

/// `UniAttackData@{protocol}_image_{split}.txt`, e.g. protocol `p2.1`.
pub fn list_file_name(protocol: &str, split: Split) -> String {
    format!("UniAttackData@{protocol}_image_{}.txt", split.name())
}

/// Finds a protocol's list under `root` (see [`LIST_DIRS`]).
pub fn find_list(root: &Path, protocol: &str, split: Split) -> Result<PathBuf, ListError> {
    if !root.is_dir() {
        return Err(ListError::MissingRoot(root.to_path_buf()));
    }
    let name = list_file_name(protocol, split);
    let candidates: Vec<PathBuf> = LIST_DIRS.iter().map(|d| root.join(d).join(&name)).collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| ListError::MissingList {
            protocol: protocol.into(),
            name: name.clone(),
            root: root.to_path_buf(),
            searched: LIST_DIRS
                .iter()
                .map(|d| if d.is_empty() { "." } else { d })
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Reads a protocol's split: `find_list` then `read_list`.
pub fn read_protocol(root: &Path, protocol: &str, split: Split) -> Result<Vec<Sample>, ListError> {
    let list = find_list(root, protocol, split)?;
    read_list(root, &list)
}

/// Reads any list file; paths are taken relative to `root` (absolute paths are kept).
pub fn read_list(root: &Path, list: &Path) -> Result<Vec<Sample>, ListError> {
    if !root.is_dir() {
        return Err(ListError::MissingRoot(root.to_path_buf()));
    }
    let bytes = std::fs::read(list).map_err(|source| ListError::Io {
        path: list.to_path_buf(),
        source,
    })?;
    let list_arc: Arc<Path> = Arc::from(list);
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let bad = |what: &str, text: String| ListError::BadLine {
            path: list.to_path_buf(),
            line: i + 1,
            what: what.into(),
            text,
        };
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(bad(
                "not UTF-8 text",
                String::from_utf8_lossy(raw).into_owned(),
            ));
        };
        let line = text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !(2..=3).contains(&fields.len()) {
            return Err(bad("wrong number of columns", text.into()));
        }
        let fine = parse_label(fields[1]).ok_or_else(|| bad(LABEL_RULE, text.into()))?;
        out.push(Sample {
            path: root.join(fields[0]),
            label: u8::from(fine != 0),
            fine,
            attack_type: fields
                .get(2)
                .map(|s| s.to_string())
                .unwrap_or_else(|| type_name(fine)),
            list: list_arc.clone(),
            line: i + 1,
        });
    }
    if out.is_empty() {
        return Err(ListError::Empty(list.to_path_buf()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_protocol_lists_with_fine_labels() {
        let dir = tempfile::tempdir().unwrap();
        let proto = dir.path().join("Protocols");
        std::fs::create_dir(&proto).unwrap();
        std::fs::write(
            proto.join("UniAttackData@p2.1_image_dev.txt"),
            "# header\nData/live/a.jpg 0\n\nData/spoof/b.jpg 1\nData/adv/c.jpg 2\nx/d.png 1 replay\n",
        )
        .unwrap();
        let s = read_protocol(dir.path(), "p2.1", Split::Dev).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].path, dir.path().join("Data/live/a.jpg"));
        assert_eq!(
            (s[0].label, s[0].fine, s[0].attack_type.as_str()),
            (0, 0, "live")
        );
        assert_eq!((s[1].label, s[1].fine, s[1].line), (1, 1, 4));
        assert_eq!((s[2].label, s[2].attack_type.as_str()), (1, "adversarial"));
        assert_eq!(s[3].attack_type, "replay");
    }

    #[test]
    fn subjects_follow_the_uniattackdata_layout() {
        let id = |p: &str| subject_of(Path::new(p));
        assert_eq!(
            id("UniAttackData/Data/live/AF/0042/real.rssdk/color/0001.jpg").as_deref(),
            Some("0042")
        );
        assert_eq!(
            id("/r/UniAttackData/Data/spoof/CA/7/cloth-indoor/color/1.jpg").as_deref(),
            Some("7")
        );
        assert_eq!(
            id("Data/adv-attacks/PGD/x_AF-112x112/0099/a.png").as_deref(),
            Some("0099")
        );
        assert_eq!(
            id("Data/SimSwap/EA/0012-To-0031/f.jpg").as_deref(),
            Some("0012")
        );
        // Generic lists and truncated paths identify no one.
        assert_eq!(id("faces/a.jpg"), None);
        assert_eq!(id("Data/live/AF/0001.jpg"), None);
        assert_eq!(id("Data/SimSwap/EA/noarrow/f.jpg"), None);
        // The synthetic set's layout (Data/<family>/<split>/N.png) has no subject.
        assert_eq!(id("UniAttackData/Data/live/test/0001.png"), None);
        assert_eq!(id("UniAttackData/Data/spoof/print/test/0001.png"), None);
    }

    #[test]
    fn errors_name_what_and_where() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_protocol(&dir.path().join("absent"), "p1", Split::Train).unwrap_err();
        assert!(matches!(err, ListError::MissingRoot(_)), "{err}");
        assert!(err.to_string().contains("absent"));

        let err = read_protocol(dir.path(), "p1", Split::Train).unwrap_err();
        assert!(
            err.to_string().contains("UniAttackData@p1_image_train.txt"),
            "{err}"
        );

        let list = dir.path().join("l.txt");
        std::fs::write(&list, "a.jpg 0\nb.jpg live\n").unwrap();
        let err = read_list(dir.path(), &list).unwrap_err();
        assert!(matches!(err, ListError::BadLine { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("l.txt line 2"), "{err}");

        std::fs::write(&list, b"a.jpg 0\n\xff\xfe 1\n").unwrap();
        let err = read_list(dir.path(), &list).unwrap_err();
        assert!(matches!(err, ListError::BadLine { line: 2, .. }), "{err}");

        // Labels outside UniAttackData's 0-3 are refused (as `trainer metrics` refuses them).
        std::fs::write(&list, "a.jpg 0\nb.jpg 4\n").unwrap();
        let err = read_list(dir.path(), &list).unwrap_err();
        assert!(matches!(err, ListError::BadLine { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("label"), "{err}");

        std::fs::write(&list, "a.jpg 0 x y\n").unwrap();
        assert!(matches!(
            read_list(dir.path(), &list),
            Err(ListError::BadLine { line: 1, .. })
        ));
        std::fs::write(&list, "# nothing\n").unwrap();
        assert!(matches!(
            read_list(dir.path(), &list),
            Err(ListError::Empty(_))
        ));
    }
}
