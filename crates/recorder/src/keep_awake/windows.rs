//! Windows: `SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)`.
//! The state belongs to the thread that set it, so a thread of its own sets
//! it, waits for the guard to go, and clears it. (Not run by the tests: they
//! run on Linux.)

use std::sync::mpsc;
use std::thread::JoinHandle;

use super::KeepAwakeError;

/// Shown in diagnostics and the log.
pub const NAME: &str = "Windows execution state";

/// The thread holding the execution state; told to clear it on drop.
pub struct Guard {
    release: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the holding thread and waits until it has set the state.
pub fn hold(_why: &str) -> Result<Guard, KeepAwakeError> {
    let (release, released) = mpsc::channel::<()>();
    let (ready, set) = mpsc::channel::<bool>();
    let thread = std::thread::Builder::new()
        .name("keep-awake".into())
        .spawn(move || {
            let held = crate::os::keep_system_awake(true);
            let _ = ready.send(held);
            if held {
                // Returns when the guard drops its sender.
                let _ = released.recv();
                crate::os::keep_system_awake(false);
            }
        })
        .map_err(|e| KeepAwakeError::Unreachable(e.to_string()))?;
    match set.recv() {
        Ok(true) => Ok(Guard {
            release: Some(release),
            thread: Some(thread),
        }),
        _ => Err(KeepAwakeError::Refused(
            "SetThreadExecutionState failed".into(),
        )),
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
