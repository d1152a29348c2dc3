//! MoAE-CR trainer: the CLIP ViT-B/16 + Mixture-of-Attack-Experts model in tch, its losses,
//! training, evaluation and ONNX export. The spec we implement is `shared/spec/moae-cr.md`.
pub mod atomic_file;
pub mod bench;
pub mod checkpoint;
pub mod clip;
pub mod config;
pub mod data;
pub mod evaluate;
pub mod experts;
pub mod export;
pub mod hf_import;
pub mod info;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod plot;
pub mod prompts;
pub mod runs;
pub mod synth;
pub mod tokenizer;
pub mod train;
