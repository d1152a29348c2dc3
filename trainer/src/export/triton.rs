//! A Triton Inference Server model repository for the exported model:
//! `DIR/<name>/1/model.onnx` and `DIR/<name>/config.pbtxt` (ONNX Runtime backend, dynamic
//! batching), for servers when a fleet outgrows on-device inference.

use super::ExportError;
use moae_onnx::meta::{
    INPUT_PIXELS, OUTPUT_ATTACK_SCORE, OUTPUT_ATTACK_TYPE, OUTPUT_EMBEDDING, OUTPUT_LOGITS,
};
use std::path::{Path, PathBuf};

/// Largest batch Triton may form; requests are batched up to this by the dynamic batcher.
pub const MAX_BATCH_SIZE: u32 = 32;

/// The `config.pbtxt` text. Triton's dims exclude the batch dimension (`max_batch_size` > 0).
/// `embedding`: the width of the image-embedding output, if exported; `attack_types`: the
/// width of the attack-type output (a student's second head), if the model has one.
pub fn config_pbtxt(
    name: &str,
    image_size: i64,
    embedding: Option<i64>,
    attack_types: Option<i64>,
) -> String {
    let mut outputs = vec![
        format!("  {{\n    name: \"{OUTPUT_LOGITS}\"\n    data_type: TYPE_FP32\n    dims: [ 2 ]\n  }}"),
        // attack_score is [N]: per request a scalar, which Triton writes as dims [ 1 ] with
        // reshape { shape: [ ] }.
        format!(
            "  {{\n    name: \"{OUTPUT_ATTACK_SCORE}\"\n    data_type: TYPE_FP32\n    dims: [ 1 ]\n    \
             reshape: {{ shape: [ ] }}\n  }}"
        ),
    ];
    if let Some(d) = embedding {
        outputs.push(format!(
            "  {{\n    name: \"{OUTPUT_EMBEDDING}\"\n    data_type: TYPE_FP32\n    dims: [ {d} ]\n  }}"
        ));
    }
    if let Some(t) = attack_types {
        outputs.push(format!(
            "  {{\n    name: \"{OUTPUT_ATTACK_TYPE}\"\n    data_type: TYPE_FP32\n    dims: [ {t} ]\n  }}"
        ));
    }
    format!(
        "name: \"{name}\"\n\
         platform: \"onnxruntime_onnx\"\n\
         max_batch_size: {MAX_BATCH_SIZE}\n\
         input [\n  {{\n    name: \"{INPUT_PIXELS}\"\n    data_type: TYPE_FP32\n    \
         dims: [ 3, {image_size}, {image_size} ]\n  }}\n]\n\
         output [\n{}\n]\n\
         dynamic_batching {{\n  preferred_batch_size: [ 8, 16 ]\n  \
         max_queue_delay_microseconds: 2000\n}}\n\
         instance_group [\n  {{\n    count: 1\n    kind: KIND_AUTO\n  }}\n]\n",
        outputs.join(",\n")
    )
}

/// Triton model names: letters, digits, `_`, `-`, `.`; not empty.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The error for a name [`valid_name`] refuses.
pub fn check_name(name: &str) -> Result<(), ExportError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ExportError::Options(format!(
            "Triton model name {name:?} must be non-empty letters, digits, `_`, `-` or `.`"
        )))
    }
}

/// The entry's model directory `DIR/<name>` and its two files: `1/model.onnx`, `config.pbtxt`.
pub fn entry_paths(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let model_dir = dir.join(name);
    let onnx = model_dir.join("1").join("model.onnx");
    let config = model_dir.join("config.pbtxt");
    (model_dir, onnx, config)
}

/// Writes the repository entry for `model` bytes, both files or neither; returns the model
/// directory.
pub fn write_repository(
    dir: &Path,
    name: &str,
    model: &[u8],
    image_size: i64,
    embedding: Option<i64>,
    attack_types: Option<i64>,
) -> Result<PathBuf, ExportError> {
    check_name(name)?;
    let (model_dir, onnx, config) = entry_paths(dir, name);
    let text = config_pbtxt(name, image_size, embedding, attack_types);
    super::write_outputs(&[(onnx, model), (config, text.as_bytes())])?;
    Ok(model_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_io_with_dynamic_batching() {
        let c = config_pbtxt("moae", 224, Some(512), None);
        assert!(c.contains("platform: \"onnxruntime_onnx\""));
        assert!(c.contains("dims: [ 3, 224, 224 ]"));
        assert!(c.contains("name: \"logits\""));
        assert!(c.contains("name: \"attack_score\""));
        assert!(c.contains("dims: [ 512 ]"));
        assert!(c.contains("dynamic_batching"));
        assert_eq!(c.matches('{').count(), c.matches('}').count());
        assert!(!config_pbtxt("m", 32, None, None).contains("embedding"));
        assert!(
            !c.contains("attack_type\""),
            "no head, no attack_type output: {c}"
        );
    }

    /// One `output` entry per name; its text block (from its `{` to the matching `}`).
    fn output_block<'a>(c: &'a str, name: &str) -> &'a str {
        let key = format!("name: \"{name}\"");
        assert_eq!(c.matches(&key).count(), 1, "{c}");
        let at = c.find(&key).unwrap();
        let start = c[..at].rfind('{').unwrap();
        let end = at + c[at..].find('}').unwrap();
        &c[start..=end]
    }

    #[test]
    fn a_students_attack_type_head_is_a_declared_output() {
        let c = config_pbtxt("student", 128, None, Some(4));
        let block = output_block(&c, "attack_type");
        assert!(block.contains("data_type: TYPE_FP32"), "{block}");
        assert!(block.contains("dims: [ 4 ]"), "{block}");
        assert!(
            !block.contains("reshape"),
            "[N, 4] needs no reshape: {block}"
        );
        assert!(c.contains("dims: [ 3, 128, 128 ]"), "{c}");
        assert!(output_block(&c, "attack_score").contains("reshape"));
        assert!(!c.contains("embedding"), "{c}");
        assert_eq!(c.matches('{').count(), c.matches('}').count());
        // Inside the one `output [ ... ]` list, comma-separated from the others.
        let outputs = &c[c.find("output [").unwrap()..c.find("dynamic_batching").unwrap()];
        assert!(outputs.contains(block), "{outputs}");
        assert_eq!(outputs.matches("name:").count(), 3, "{outputs}");
        assert_eq!(outputs.matches("},\n").count(), 2, "{outputs}");
    }

    #[test]
    fn repository_layout_and_bad_names() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_repository(tmp.path(), "moae_tiny", b"onnx", 32, None, None).unwrap();
        assert_eq!(std::fs::read(dir.join("1/model.onnx")).unwrap(), b"onnx");
        assert!(dir.join("config.pbtxt").exists());
        let err = write_repository(tmp.path(), "../x", b"", 32, None, None).unwrap_err();
        assert!(err.to_string().contains("Triton model name"), "{err}");
    }
}
