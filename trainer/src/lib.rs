//! MoAE-CR trainer: the CLIP ViT-B/16 + Mixture-of-Attack-Experts model in tch, its losses,
//! training, evaluation and ONNX export. The spec we implement is `shared/spec/moae-cr.md`.
//!
//! Rooms: [`model`] (config, towers, experts, prompts, tokenizer, checkpoints, HF import),
//! [`data`] (lists, decoding, augmentation, loader, synthetic set, batches as tensors),
//! [`train`] (loop, losses, optimiser), [`eval`] (scoring, metrics, plots, benchmark),
//! [`export`] (ONNX, Triton), [`runs`] (typed train/eval/protocol/ablation entry points),
//! [`record`] (the run settings and state a checkpoint stores), [`compute`] (libtorch threads
//! and device), [`atomic_file`] (all-or-nothing outputs). The arrows point one way: `data`
//! uses nothing here, `record` only `data`, `model` only `record` and `atomic_file`, `eval`
//! uses those, `train` uses `eval` too, `runs` and `export` sit on top (`modgraph`'s test
//! fails on a cycle). The `trainer` binary's command line is in `src/cli/`.
pub mod atomic_file;
pub mod compute;
pub mod data;
pub mod eval;
pub mod export;
pub mod model;
pub mod record;
pub mod runs;
pub mod train;
