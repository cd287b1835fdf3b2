//! Shared helpers for the end-to-end tests: a reference server per test, the
//! desktop under WebDriver, the recorder's sessions run as the app runs them,
//! fault proxies and seed-style backends, and small HTTP and WebSocket
//! clients for the wire protocol. Audio, speech and the
//! virtual microphone come from `consult-test-support`.

pub mod audio;
pub mod bad_server;
pub mod chaos;
pub mod desktop;
pub mod procfs;
pub mod proxy;
pub mod recording;
pub mod reliability;
pub mod seed_backend;
pub mod server;
pub use consult_test_support::speech;
pub mod wire;
