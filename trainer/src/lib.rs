//! MoAE-CR trainer: the CLIP ViT-B/16 + Mixture-of-Attack-Experts model in tch, its losses,
//! training, evaluation and ONNX export. The spec we implement is `shared/spec/moae-cr.md`.
pub mod data;
pub mod metrics;
pub mod plot;
pub mod synth;
pub mod tokenizer;
