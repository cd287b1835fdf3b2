//! macOS: the system's own `caffeinate -i`, which holds a "prevent idle
//! sleep" power assertion while it runs. `-w` ties it to this process, so the
//! assertion ends with the app even if the app is killed. (Not run by the
//! tests: they run on Linux.)

use std::process::{Child, Command, Stdio};

use super::KeepAwakeError;

/// Shown in diagnostics and the log.
pub const NAME: &str = "caffeinate power assertion";

/// The running `caffeinate`; stopped on drop.
pub struct Guard(Child);

/// Starts `caffeinate` for the life of the guard (`why` is not shown by macOS).
pub fn hold(_why: &str) -> Result<Guard, KeepAwakeError> {
    Command::new("/usr/bin/caffeinate")
        .args(["-i", "-w", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Guard)
        .map_err(|e| KeepAwakeError::Unreachable(format!("caffeinate: {e}")))
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
