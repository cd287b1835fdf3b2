//! Offline speech recognition for the reference server (pocketsphinx).
//!
//! Owns the decoder threads; never touches sockets. A worker tails a session's
//! audio file, so recognition can lag behind a fast backlog upload without ever
//! slowing acknowledgements or dropping audio.

// The pocketsphinx bindings and their one safe owner: the only unsafe code
// of the workspace (denied everywhere else by the workspace lints).
#[allow(unsafe_code)]
mod decoder;
#[allow(unsafe_code)]
mod ffi;
pub mod grammar;
mod worker;

pub use decoder::{Decoder, ModelPaths, RecognizerError};
pub use worker::{FeedState, Span, WorkerEvent, spawn_worker};

use std::sync::Arc;

/// How the server recognises speech.
#[derive(Debug, Clone)]
pub enum Recognition {
    /// No recognition: audio is stored and acknowledged, no text is produced
    /// (for benchmarks that measure the client).
    Off,
    /// pocketsphinx with the general language model, or a grammar when given.
    Pocketsphinx {
        /// Where the model files are.
        paths: ModelPaths,
        /// A JSGF grammar to restrict recognition to; `None` uses the general language model.
        jsgf: Option<Arc<str>>,
    },
}

impl Recognition {
    /// Loads a decoder once to fail at start-up rather than on the first session.
    pub fn check(&self) -> Result<(), RecognizerError> {
        match self {
            Recognition::Off => Ok(()),
            Recognition::Pocketsphinx { paths, jsgf } => {
                Decoder::new(paths, jsgf.as_deref()).map(drop)
            }
        }
    }
}
