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
    pub version: String,
    /// The server signed in to, else the one configured.
    pub server: Option<String>,
    /// An administrator fixed the server: show it read-only.
    pub server_locked: bool,
    pub auth: AuthState,
    /// "This computer's clock is 12 minutes behind the server's…"
    pub clock_warning: Option<String>,
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
    pub id: String,
    pub reference: String,
    /// Unix milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: u64,
}

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SessionView {
    pub id: String,
    pub reference: String,
    /// Unix milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: u64,
    pub duration_secs: f64,
    /// Seconds recorded but not yet confirmed by the server.
    pub pending_secs: f64,
    pub state: SessionState,
    pub profile: Profile,
    pub failure: Option<String>,
    /// Being recorded now.
    pub recording: bool,
    /// Audio is being sent now.
    pub uploading: bool,
}

impl SessionView {
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
