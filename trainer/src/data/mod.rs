//! Data: image lists (spec §6), decoding + augmentation (spec §1, §5) and the batch loader.
//! Free of libtorch but for [`tensors`]: batches are plain f32 buffers until the training loop
//! and the evaluation turn them into tensors there.

pub mod augment;
pub mod loader;
/// The list parser shared with `moae score` (crate `moae-lists`).
pub use moae_lists as lists;
pub mod spoof_cues;
pub mod synth;
pub mod tensors;

pub use augment::{
    decode, eval_transform, train_transform, AugmentConfig, Normalization, CLIP_MEAN, CLIP_STD,
};
pub use lists::{find_list, list_file_name, read_list, read_protocol, ListError, Sample, Split};
pub use loader::{Batch, DataError, Loader, LoaderConfig, LoaderState, SkippedImage, TeacherView};
