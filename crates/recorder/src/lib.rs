//! Consult Recorder's core: everything the app does, with no GUI toolkit in sight.
//!
//! The desktop shell (`src-tauri`) and the command-line tool are two thin views
//! over this crate; tests drive it without a window.

#![deny(clippy::unwrap_used)]

pub mod account;
pub mod app;
pub mod audio;
pub mod auth;
mod backoff;
pub mod clinic_session;
pub mod clock;
pub mod config;
pub mod consultation;
pub mod crypto;
pub mod deep_link;
pub mod diagnose;
pub mod events;
mod json_file;
pub mod keep_awake;
pub mod logging;
mod model;
pub mod net;
// The C library (free disk space, Windows' sleep state): the crate's only unsafe code.
#[allow(unsafe_code)]
mod os;
pub mod paths;
pub mod retention;
mod secret;
pub mod server_profile;
pub mod session;
pub mod settings;
pub mod spool;
pub mod store;

pub use consult_protocol as protocol;

/// The product's version, shown in the app's About panel and in diagnostics.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
