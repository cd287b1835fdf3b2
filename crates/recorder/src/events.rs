//! The one event stream that describes everything a person can see.
//!
//! The app and the CLI are two views of it: the app forwards these to the web
//! UI, the CLI prints them as JSON lines. Never carries audio, tokens or
//! passwords; transcript text appears only in `Transcript` events, which go to
//! the UI and the session store, never to logs.

use serde::Serialize;

use crate::audio::Level;
use crate::audio::MicChange;
use crate::auth::AuthEvent;
use crate::deep_link::RecordLink;

/// What the doctor sees about the connection and upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// The first connection of the session is being opened.
    Connecting,
    /// Connected, and the upload is keeping up with the recording.
    Connected,
    /// Trying again soon.
    Reconnecting {
        /// Tries that have failed since the last good connection.
        attempt: u32,
        /// Milliseconds until the next try.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_try_in_ms: u64,
        /// Why the last try or connection ended.
        reason: String,
    },
    /// Disconnected for a while; audio is safe on disk.
    Offline {
        /// Seconds recorded that the server has not yet confirmed, to a tenth.
        buffered_secs: f64,
        /// Tries that have failed since the last good connection.
        attempt: u32,
        /// Milliseconds until the next try.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        next_try_in_ms: u64,
    },
    /// Connected and catching up on audio recorded while offline.
    UploadingBacklog {
        /// Seconds recorded but not yet sent, to a tenth.
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
    /// The upload failed for good, or audio cannot be written to disk.
    Failed {
        /// What went wrong, as a sentence the person can read.
        reason: String,
    },
}

/// A change to the live transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TranscriptUpdate {
    /// The words recognised in this stretch of audio.
    pub text: String,
    /// `true` when the server will not change this text again; a partial is
    /// replaced by later updates with the same start.
    pub is_final: bool,
    /// Sample offsets (exact in the v1 profile, estimated in the seed profile).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub start: u64,
    /// One past the last sample the text covers.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub end: u64,
}

/// Everything the UI and CLI show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The connection and upload status of a session changed.
    Status {
        /// The consultation's id.
        session_id: String,
        /// The new status.
        status: Status,
    },
    /// The live transcript of a session changed.
    Transcript {
        /// The consultation's id.
        session_id: String,
        /// The new or changed stretch of text.
        update: TranscriptUpdate,
    },
    /// Sample counts: captured to disk, sent, confirmed by the server.
    Progress {
        /// The consultation's id.
        session_id: String,
        /// Samples written to the spool.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        recorded: u64,
        /// Samples sent to the server.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        sent: u64,
        /// Samples the server confirmed it stored (seed profile: settled).
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        confirmed: u64,
    },
    /// The sign-in changed (signed in, refreshed, needed again, …).
    Auth(AuthEvent),
    /// A recording started (`active`) or stopped; its upload may go on.
    Recording {
        /// The consultation's id.
        session_id: String,
        /// `true` while the microphone is being recorded.
        active: bool,
    },
    /// The input level, ten times a second (for the meter).
    Level {
        /// The consultation's id.
        session_id: String,
        /// The latest reading.
        level: Level,
    },
    /// The microphone changed; `message` says so in one sentence.
    Microphone {
        /// The consultation's id.
        session_id: String,
        /// What changed, for the UI to act on.
        change: MicChange,
        /// The change as one sentence for the person.
        message: String,
    },
    /// Something the person should know that does not stop the session.
    Warning {
        /// The consultation's id.
        session_id: String,
        /// One sentence for the person.
        message: String,
    },
    /// A link from the clinic's system: waiting for the doctor, refused, or withdrawn.
    Link(LinkEvent),
    /// The doctor paused (`paused`) or resumed the recording. Nothing is
    /// captured while paused; the audio after a pause follows on at `at`.
    Paused {
        /// The consultation's id.
        session_id: String,
        /// `true` from a pause until the resume.
        paused: bool,
        /// Where in the recording (samples from its start).
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
    },
    /// The computer slept while recording: nothing was captured meanwhile.
    Slept {
        /// The consultation's id.
        session_id: String,
        /// Where in the recording the gap is (samples from its start).
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        at: u64,
        /// How long the computer slept, in whole seconds.
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        secs: u64,
        /// One sentence for the person.
        message: String,
    },
    /// Whether the computer is kept from sleeping for a recording.
    KeepAwake {
        /// The consultation's id.
        session_id: String,
        /// Held, released, or not possible.
        state: AwakeState,
    },
}

/// The recording's hold on the computer's sleep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AwakeState {
    /// The power manager keeps the computer awake while the recording runs.
    Held {
        /// The mechanism, e.g. `systemd-logind inhibitor`.
        by: String,
    },
    /// The recording ended and the computer may sleep again.
    Released,
    /// The computer may sleep during this recording; `message` says why, for the person.
    Unavailable {
        /// One sentence for the person.
        message: String,
    },
}

/// What happened to a `consult-recorder://record?…` link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LinkEvent {
    /// Ready to record once the doctor confirms.
    Offered {
        /// What the link asks to record.
        link: RecordLink,
    },
    /// Not used, for this reason (one sentence).
    Refused {
        /// The reason, as one sentence for the person.
        message: String,
    },
    /// The offer was taken up or dismissed.
    Cleared,
}
