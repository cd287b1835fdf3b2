//! The one event stream that describes everything a person can see.
//!
//! The app and the CLI are two views of it: the app forwards these to the web
//! UI, the CLI prints them as JSON lines. Never carries audio, tokens or
//! passwords; transcript text appears only in `Transcript` events, which go to
//! the UI and the session store, never to logs.

use serde::Serialize;

use crate::audio::MicChange;
use crate::audio::dsp::Level;
use crate::auth::AuthEvent;
use crate::deep_link::RecordLink;

/// What the doctor sees about the connection and upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    Connecting,
    Connected,
    /// Trying again soon.
    Reconnecting {
        attempt: u32,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_try_in_ms: u64,
        reason: String,
    },
    /// Disconnected for a while; audio is safe on disk.
    Offline {
        buffered_secs: f64,
        attempt: u32,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_try_in_ms: u64,
    },
    /// Connected and catching up on audio recorded while offline.
    UploadingBacklog {
        seconds_left: f64,
    },
    /// The server ended the sign-in: recording goes on, upload waits.
    SignInRequired,
    /// Capture has stopped; the last audio and transcript are being sent.
    Finishing,
    /// The server confirmed everything.
    Complete,
    /// Seed profile: everything was sent; the server does not confirm receipt.
    Sent,
    Failed {
        reason: String,
    },
}

/// A change to the live transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TranscriptUpdate {
    pub text: String,
    pub is_final: bool,
    /// Sample offsets (exact in the v1 profile, estimated in the seed profile).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub start: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub end: u64,
}

/// Everything the UI and CLI show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Status {
        session_id: String,
        status: Status,
    },
    Transcript {
        session_id: String,
        update: TranscriptUpdate,
    },
    /// Sample counts: captured to disk, sent, confirmed by the server.
    Progress {
        session_id: String,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        recorded: u64,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        sent: u64,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        confirmed: u64,
    },
    Auth(AuthEvent),
    /// A recording started (`active`) or stopped; its upload may go on.
    Recording {
        session_id: String,
        active: bool,
    },
    /// The input level, ten times a second (for the meter).
    Level {
        session_id: String,
        level: Level,
    },
    /// The microphone changed; `message` says so in one sentence.
    Microphone {
        session_id: String,
        change: MicChange,
        message: String,
    },
    /// Something the person should know that does not stop the session.
    Warning {
        session_id: String,
        message: String,
    },
    /// A link from the clinic's system: waiting for the doctor, refused, or withdrawn.
    Link(LinkEvent),
}

/// What happened to a `consult-recorder://record?…` link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LinkEvent {
    /// Ready to record once the doctor confirms.
    Offered { link: RecordLink },
    /// Not used, for this reason (one sentence).
    Refused { message: String },
    /// The offer was taken up or dismissed.
    Cleared,
}
