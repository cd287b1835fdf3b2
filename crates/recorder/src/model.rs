//! What a consultation is, as every part of the recorder sees it: its
//! protocol profile, its state, its record in the history, its transcript
//! segments and the patient's consent. Plain data; the store persists it, the
//! app and the CLI show it.

use serde::{Deserialize, Serialize};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Audio is still being captured.
    Recording,
    /// Capture ended; audio is still being sent.
    Uploading,
    /// The server confirmed every sample.
    Complete,
    /// Seed profile: every sample was sent and the connection outlived it,
    /// but the server never confirms what it stored.
    Sent,
    /// The session cannot go on (see `failure`).
    Failed,
}

impl SessionState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SessionState::Recording => "recording",
            SessionState::Uploading => "uploading",
            SessionState::Complete => "complete",
            SessionState::Sent => "sent",
            SessionState::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "recording" => SessionState::Recording,
            "uploading" => SessionState::Uploading,
            "complete" => SessionState::Complete,
            "sent" => SessionState::Sent,
            _ => SessionState::Failed,
        }
    }
}

/// Which protocol profile a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The existing clinic backend (token in the URL, no acknowledgements).
    Seed,
    /// Resumable, acknowledged, token in a header.
    V1,
}

impl Profile {
    /// The profile's name as in the configuration and the store (`seed`, `v1`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Seed => "seed",
            Profile::V1 => "v1",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        if text == "seed" {
            Profile::Seed
        } else {
            Profile::V1
        }
    }
}

/// One consultation as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The consultation's id; it also names the spool file.
    pub id: String,
    /// The doctor's reference for the consultation (may be empty).
    pub reference: String,
    /// Unix milliseconds.
    pub started_at: u64,
    /// The protocol the session speaks to its server.
    pub profile: Profile,
    /// The server's origin the audio goes to, e.g. `https://transcribe.clinic.example`.
    pub server: String,
    /// Where the session is in its life.
    pub state: SessionState,
    /// Why the session failed, when it did.
    pub failure: Option<String>,
    /// Samples written to the spool; it never goes down.
    pub samples_recorded: u64,
    /// Samples the server confirmed it stored (seed profile: settled).
    pub samples_confirmed: u64,
}

impl SessionRecord {
    /// How long the recording is, in seconds of audio.
    pub fn duration_secs(&self) -> f64 {
        consult_protocol::samples_to_secs(self.samples_recorded)
    }

    /// Audio recorded but not yet confirmed by the server.
    pub fn pending_samples(&self) -> u64 {
        self.samples_recorded.saturating_sub(self.samples_confirmed)
    }
}

/// One final transcript segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Segment {
    /// First sample of the utterance.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub start: u64,
    /// One past the last sample the text covers.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub end: u64,
    /// The words, as the server recognised them.
    pub text: String,
}

/// The doctor's confirmation that the patient agreed to the recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Consent {
    /// The signed-in account that confirmed it.
    pub confirmed_by: String,
    /// Unix milliseconds.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub confirmed_at: u64,
}
