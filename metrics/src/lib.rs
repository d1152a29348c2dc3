//! Spec §7's metrics, in one implementation for `trainer` and `moae`: the FAS literature's
//! (dev-EER threshold, ACER, AUC, EER, APCER per type) and the buyer's ISO/IEC 30107-3 figures
//! with confidence intervals and counts; the ROC/DET plots; the evaluation report (JSON + a
//! self-contained HTML page). Free of libtorch and ONNX Runtime.

pub mod bootstrap;
pub mod confusion;
pub mod files;
pub mod html;
pub mod interval;
pub mod iso;
pub mod operating;
pub mod plot;
pub mod rates;
pub mod report;
pub mod scores;

pub use rates::*;
pub use scores::*;
