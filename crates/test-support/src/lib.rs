//! What the recorder's integration tests, the end-to-end tests and the
//! benchmarks share. It depends on none of the product's crates, so every
//! suite can use it without a second copy of them.

#![warn(missing_docs)]

pub mod audio;
pub mod cli;
pub mod pulse;
pub mod speech;
pub mod stored;
