//! The C ABI of libmoae.
