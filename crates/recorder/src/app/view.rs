//! What the UI shows: plain data, serialised to the webview.

use serde::Serialize;

use crate::auth::AuthState;
use crate::config::Resolved;
use crate::deep_link::RecordLink;
use crate::settings::UserSettings;
use crate::store::{Profile, SessionRecord, SessionState};

/// The whole screen's state at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Snapshot {
    /// The app's version, for the About panel.
    pub version: String,
    /// The server signed in to, else the one configured.
    pub server: Option<String>,
    /// An administrator fixed the server: show it read-only.
    pub server_locked: bool,
    /// Whether, and as whom, the doctor is signed in.
    pub auth: AuthState,
    /// "This computer's clock is 12 minutes behind the server's…"
    pub clock_warning: Option<String>,
    /// The recording in progress, if any.
    pub recording: Option<RecordingView>,
    /// A link from the clinic's system waiting for the doctor to confirm it.
    pub link_offer: Option<RecordLink>,
    /// The person's own choices.
    pub settings: UserSettings,
    /// What is in force (administrator, person, environment) and what was ignored.
    pub config: Resolved,
}

/// The recording in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RecordingView {
    /// The consultation's id.
    pub id: String,
    /// The doctor's reference for the consultation (may be empty).
    pub reference: String,
    /// Unix milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: u64,
    /// Since when (Unix milliseconds) the doctor has paused it, if paused.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub paused_since: Option<u64>,
    /// Milliseconds of earlier pauses, which the elapsed time leaves out.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub paused_ms: u64,
}

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SessionView {
    /// The consultation's id.
    pub id: String,
    /// The doctor's reference (may be empty, or a placeholder when it cannot
    /// be opened on this computer).
    pub reference: String,
    /// Unix milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: u64,
    /// Seconds of audio recorded.
    pub duration_secs: f64,
    /// Seconds recorded but not yet confirmed by the server.
    pub pending_secs: f64,
    /// Where the session is in its life.
    pub state: SessionState,
    /// The protocol the session speaks to its server.
    pub profile: Profile,
    /// Why the session failed, when it did.
    pub failure: Option<String>,
    /// Being recorded now.
    pub recording: bool,
    /// Audio is being sent now.
    pub uploading: bool,
}

impl SessionView {
    /// The row for `record`; `uploading` and `recording` say what is happening to it now.
    pub fn new(uploading: bool, recording: bool, record: SessionRecord) -> Self {
        Self {
            duration_secs: record.duration_secs(),
            pending_secs: consult_protocol::samples_to_secs(record.pending_samples()),
            id: record.id,
            reference: record.reference,
            started_at: record.started_at,
            state: record.state,
            profile: record.profile,
            failure: record.failure,
            recording,
            uploading,
        }
    }
}
