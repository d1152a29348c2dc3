//! Evaluation: scoring a model on a data set, the metrics of spec §7, ROC/DET plots, the
//! MoAE router's statistics and the eager-mode benchmark.

pub mod bench;
pub mod evaluate;
pub mod metrics;
pub use moae_metrics::plot;
pub mod router_stats;
