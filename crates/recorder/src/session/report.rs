//! Publishes a session's events, without repeating an unchanged status.

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::audio::SourceNotice;
use crate::events::{AwakeState, Event, Status, TranscriptUpdate};

/// The session's voice: every event the UI and the CLI see goes through here.
#[derive(Debug, Clone)]
pub struct Reporter {
    session_id: String,
    events: broadcast::Sender<Event>,
    last_status: Arc<Mutex<Option<Status>>>,
    last_awake: Arc<Mutex<Option<AwakeState>>>,
}

impl Reporter {
    /// A reporter for `session_id` that publishes on `events`.
    pub fn new(session_id: &str, events: broadcast::Sender<Event>) -> Self {
        Self {
            session_id: session_id.to_owned(),
            events,
            last_status: Arc::new(Mutex::new(None)),
            last_awake: Arc::new(Mutex::new(None)),
        }
    }

    /// The id of the session it reports for.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Publishes `status`, unless it is the one last published.
    pub fn status(&self, status: Status) {
        let mut last = self.last_status.lock().expect("status lock poisoned");
        if last.as_ref() == Some(&status) {
            return;
        }
        tracing::info!(session = %self.session_id, status = ?status, "status");
        *last = Some(status.clone());
        let _ = self.events.send(Event::Status {
            session_id: self.session_id.clone(),
            status,
        });
    }

    /// The status last published, if any.
    pub fn current_status(&self) -> Option<Status> {
        self.last_status
            .lock()
            .expect("status lock poisoned")
            .clone()
    }

    /// Publishes a transcript update.
    pub fn transcript(&self, update: TranscriptUpdate) {
        let _ = self.events.send(Event::Transcript {
            session_id: self.session_id.clone(),
            update,
        });
    }

    /// Publishes sample counts: captured to disk, sent, confirmed by the server.
    pub fn progress(&self, recorded: u64, sent: u64, confirmed: u64) {
        let _ = self.events.send(Event::Progress {
            session_id: self.session_id.clone(),
            recorded,
            sent,
            confirmed,
        });
    }

    /// Publishes a warning for the person (and logs it).
    pub fn warning(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(session = %self.session_id, %message, "warning");
        let _ = self.events.send(Event::Warning {
            session_id: self.session_id.clone(),
            message,
        });
    }

    /// Publishes that the computer slept at sample `at` for `slept` (and logs it).
    pub fn slept(&self, at: u64, slept: std::time::Duration) {
        let secs = slept.as_secs();
        let message = format!(
            "This computer was asleep for {}; nothing was recorded meanwhile. Recording goes on.",
            crate::clock::spoken_duration(secs)
        );
        tracing::warn!(session = %self.session_id, at, secs, "the computer slept while recording");
        let _ = self.events.send(Event::Slept {
            session_id: self.session_id.clone(),
            at,
            secs,
            message,
        });
    }

    /// Publishes a pause (`true`) or resume at sample `at` (and logs it).
    pub fn paused(&self, paused: bool, at: u64) {
        tracing::info!(session = %self.session_id, paused, at, "pause");
        let _ = self.events.send(Event::Paused {
            session_id: self.session_id.clone(),
            paused,
            at,
        });
    }

    /// Publishes the recording's hold on sleep (and logs it).
    pub fn keep_awake(&self, state: AwakeState) {
        match &state {
            AwakeState::Unavailable { message } => {
                tracing::warn!(session = %self.session_id, %message, "keep awake")
            }
            other => tracing::info!(session = %self.session_id, state = ?other, "keep awake"),
        }
        *self.last_awake.lock().expect("awake lock poisoned") = Some(state.clone());
        let _ = self.events.send(Event::KeepAwake {
            session_id: self.session_id.clone(),
            state,
        });
    }

    /// The latest hold on sleep, for a subscriber that came after it was sent.
    pub fn current_awake(&self) -> Option<AwakeState> {
        self.last_awake.lock().expect("awake lock poisoned").clone()
    }

    /// Passes on what the audio source noticed (levels, microphone changes).
    pub fn source_notice(&self, notice: SourceNotice) {
        let event = match notice {
            SourceNotice::Level(level) => Event::Level {
                session_id: self.session_id.clone(),
                level,
            },
            SourceNotice::Mic(change) => {
                let message = change.describe();
                tracing::warn!(session = %self.session_id, %message, "microphone");
                Event::Microphone {
                    session_id: self.session_id.clone(),
                    change,
                    message,
                }
            }
        };
        let _ = self.events.send(event);
    }
}
