//! Shared helpers for the end-to-end tests: a reference server per test, speech
//! made with espeak-ng, and small HTTP and WebSocket clients for the wire protocol.

pub mod audio;
pub mod bad_server;
pub mod chaos;
pub mod desktop;
pub mod procfs;
pub mod proxy;
pub mod reliability;
pub mod seed_backend;
pub mod server;
pub mod speech;
pub mod wire;
