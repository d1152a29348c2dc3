//! MoAE-CR trainer: the CLIP ViT-B/16 + Mixture-of-Attack-Experts model in tch, its losses,
//! training, evaluation and ONNX export. The spec we implement is `shared/spec/moae-cr.md`.
//!
//! Rooms: [`model`] (config, towers, experts, losses, prompts, tokenizer, checkpoints, HF
//! import), [`data`] (lists, decoding, augmentation, loader, synthetic set), [`train`] (loop,
//! optimiser), [`eval`] (scoring, metrics, plots, benchmark), [`export`] (ONNX, Triton),
//! [`runs`] (typed train/eval/protocol/ablation entry points), [`atomic_file`] (all-or-nothing
//! outputs). The `trainer` binary's command line is in `src/cli/`.
pub mod atomic_file;
pub mod data;
pub mod eval;
pub mod export;
pub mod model;
pub mod runs;
pub mod train;
