//! libmoae runtime.
