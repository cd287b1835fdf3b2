//! Keeps the computer from sleeping while a consultation is recorded.
//!
//! A laptop that suspends mid-consultation stops the microphone without a
//! word; the recording would go on saying "recording" over silence. Each
//! platform has one call that asks the power manager not to sleep while a
//! handle is held: [`hold`] returns that handle as a [`Hold`], and dropping it
//! lets the computer sleep again. Only the Linux backend is exercised by the
//! tests; the others are written against their platform's documentation.

#[cfg(target_os = "linux")]
mod logind;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(windows)]
mod windows;

#[cfg(target_os = "linux")]
use logind as platform;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(windows)]
use windows as platform;

/// Why the computer could not be kept awake; the recording goes on regardless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeepAwakeError {
    /// The system's power manager is not there to ask (no logind, no D-Bus).
    #[error("the system's power manager could not be reached ({0})")]
    Unreachable(String),
    /// The power manager answered with a refusal.
    #[error("the system's power manager refused ({0})")]
    Refused(String),
    /// This platform has no backend.
    #[error("keeping the computer awake is not supported on this system")]
    Unsupported,
}

/// While this lives, the computer does not go to sleep on its own.
pub struct Hold {
    backend: &'static str,
    // Released by its own `Drop`.
    _guard: Guard,
}

impl Hold {
    /// Which mechanism holds the computer awake, for the log and diagnostics.
    pub fn backend(&self) -> &'static str {
        self.backend
    }
}

impl std::fmt::Debug for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hold")
            .field("backend", &self.backend)
            .finish()
    }
}

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
type Guard = platform::Guard;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
type Guard = ();

/// Asks the power manager to keep the computer awake; `why` is shown by the
/// system's own tools (e.g. `systemd-inhibit --list`). Blocks for at most a
/// few seconds: call it off the async runtime.
pub fn hold(why: &str) -> Result<Hold, KeepAwakeError> {
    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    {
        Ok(Hold {
            backend: platform::NAME,
            _guard: platform::hold(why)?,
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        let _ = why;
        Err(KeepAwakeError::Unsupported)
    }
}

/// The name a recording's hold goes by in the system's list.
pub const APP_NAME: &str = "Consult Recorder";
/// The reason a recording gives.
pub const RECORDING: &str = "Recording a consultation";
