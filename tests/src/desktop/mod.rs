//! Driving the real desktop app over WebDriver, as a doctor would use it.

pub mod harness;
pub mod webdriver;

pub use harness::{App, Desktop, OPENED_LOG, built_binary, free_port};
