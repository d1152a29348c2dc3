//! The metrics of spec §7 live in `moae-metrics` (one implementation for `trainer` and `moae`);
//! this module keeps the trainer's paths to them.

pub use moae_metrics::rates::*;
pub use moae_metrics::scores::*;
