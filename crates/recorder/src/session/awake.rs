//! The recording's hold on sleep: taken when capture starts, off the async
//! runtime (the power manager may take seconds to answer, and capture must
//! not wait for it), and released when capture ends.

use tokio::task::JoinHandle;

use super::report::Reporter;
use crate::events::AwakeState;
use crate::keep_awake::{self, Hold};

/// The hold being taken; [`release`] ends it.
pub type Pending = JoinHandle<Option<Hold>>;

/// Asks for the hold in the background and reports the answer.
pub fn take(reporter: Reporter) -> Pending {
    tokio::task::spawn_blocking(move || match keep_awake::hold(keep_awake::RECORDING) {
        Ok(hold) => {
            reporter.keep_awake(AwakeState::Held {
                by: hold.backend().to_owned(),
            });
            Some(hold)
        }
        Err(err) => {
            // The cause is for IT (the log, `diagnose`); the doctor needs what to do.
            tracing::warn!(session = %reporter.session_id(), error = %err, "cannot keep the computer awake");
            reporter.keep_awake(AwakeState::Unavailable {
                message: "This computer may go to sleep during the recording: the system \
                          did not let the app keep it awake. Keep it plugged in with the lid open."
                    .to_owned(),
            });
            None
        }
    })
}

/// Lets the computer sleep again (waiting for an answer still on its way).
pub async fn release(pending: Pending, reporter: &Reporter) {
    if let Ok(Some(hold)) = pending.await {
        drop(hold);
        reporter.keep_awake(AwakeState::Released);
    }
}
