//! One consultation from Record to "uploaded": capture → spool → sender.
//!
//! Owns the wiring between the audio source, the spool, the session store and
//! the protocol sender of the session's profile. Capture never waits for the
//! network and the network never reads from capture: the spool sits between.

pub mod capture;
mod connection;
mod driver;
mod evidence;
mod link;
mod pace;
mod report;
mod retry;
mod seed;
mod seed_url;
pub mod transcript;
mod v1;

pub use link::{DEFAULT_SEED_PACE, SenderOptions};
pub use report::Reporter;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::audio::AudioSource;
use crate::auth::TokenManager;
use crate::events::{Event, Status, TranscriptUpdate};
use crate::net::{self, ConnectError};
use crate::spool::{SpoolError, SpoolWriter};
use crate::store::{Profile, SessionRecord, SessionState, Store, StoreError};
use link::Link;
use transcript::TranscriptAssembler;

/// Why a session could not start or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Server(#[from] ConnectError),
    #[error("session {0} is already complete")]
    AlreadyComplete(String),
    #[error("the session failed: {0}")]
    Failed(String),
}

/// Everything a session needs besides its audio.
#[derive(Clone)]
pub struct SessionSetup {
    pub id: String,
    /// The doctor's reference for the consultation (free text, may be empty).
    pub reference: String,
    pub profile: Profile,
    /// The server's origin, e.g. `https://transcribe.clinic.example`.
    pub server: String,
    /// Folder of the spool files.
    pub spool_dir: PathBuf,
    pub store: Store,
    pub tokens: TokenManager,
    pub options: SenderOptions,
}

impl SessionSetup {
    pub fn spool_path(&self) -> PathBuf {
        spool_path(&self.spool_dir, &self.id)
    }
}

/// Where the spool of session `id` lives under `dir`.
pub fn spool_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.spool"))
}

/// Stops a session's capture from anywhere (a button, a signal).
#[derive(Debug, Clone)]
pub struct Stopper(Arc<watch::Sender<bool>>);

impl Stopper {
    /// Stops capture; whatever was recorded is still uploaded.
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// A running session.
pub struct Session {
    pub id: String,
    reporter: Reporter,
    stop: Arc<watch::Sender<bool>>,
    task: JoinHandle<Result<(), SessionError>>,
}

impl Session {
    /// Starts recording from `source` (or, with `None`, uploading what the spool holds).
    ///
    /// A session that already exists continues: capture resumes where its spool
    /// ends and the sender where the server's confirmation ends.
    pub fn start<S: AudioSource + 'static>(
        setup: SessionSetup,
        source: Option<S>,
    ) -> Result<Self, SessionError> {
        let ws_base = net::ws_base(&setup.server)?;
        let key = setup.store.keys().get().map_err(StoreError::from)?;
        let (writer, recovered) = SpoolWriter::open(&setup.spool_path(), &key)?;
        let (events, _) = broadcast::channel(1024);
        let reporter = Reporter::new(&setup.id, events);
        let existing = setup.store.get(&setup.id)?;
        match &existing {
            Some(record) if matches!(record.state, SessionState::Complete | SessionState::Sent) => {
                return Err(SessionError::AlreadyComplete(setup.id));
            }
            Some(_) => {}
            None => setup.store.create(&SessionRecord {
                id: setup.id.clone(),
                reference: setup.reference.clone(),
                started_at: crate::clock::unix_millis(),
                profile: setup.profile,
                server: setup.server.clone(),
                state: SessionState::Recording,
                failure: None,
                samples_recorded: recovered.end,
                samples_confirmed: 0,
            })?,
        }
        if !recovered.lost.is_empty() {
            let lost: u64 = recovered.lost.iter().map(|r| r.end - r.start).sum();
            let how = if recovered.unauthentic_records > 0 {
                "was altered on disk, or sealed under another computer's key"
            } else {
                "was damaged on disk"
            };
            reporter.warning(format!(
                "{:.2} s of this session's audio {how} ({}); it is sent as silence",
                consult_protocol::samples_to_secs(lost),
                setup.spool_path().display()
            ));
        }
        let mut reader = writer.reader()?;
        let (stop, stop_rx) = watch::channel(false);
        let capture_failure = capture::CaptureFailure::default();
        let mut capture = match source {
            Some(mut source) => {
                source.start_at(recovered.end);
                setup
                    .store
                    .set_state(&setup.id, SessionState::Recording, None)?;
                capture::start(
                    source,
                    writer,
                    setup.store.clone(),
                    reporter.clone(),
                    stop_rx,
                    capture_failure.clone(),
                )
            }
            None => {
                setup
                    .store
                    .set_state(&setup.id, SessionState::Uploading, None)?;
                watch::channel(Some(writer.end())).1
            }
        };
        let stored: Vec<TranscriptUpdate> = setup
            .store
            .segments(&setup.id)?
            .into_iter()
            .map(|s| TranscriptUpdate {
                text: s.text,
                is_final: true,
                start: s.start,
                end: s.end,
            })
            .collect();
        let mut transcript = TranscriptAssembler::with_finals(stored);
        let link = Link {
            session_id: setup.id.clone(),
            reference: setup.reference.clone(),
            ws_base,
            tokens: setup.tokens.clone(),
            store: setup.store.clone(),
            reporter: reporter.clone(),
            options: setup.options.clone(),
        };
        let span = tracing::info_span!("session", id = %setup.id, profile = setup.profile.as_str());
        let profile = setup.profile;
        let task = tokio::spawn(
            async move {
                let store = link.store.clone();
                let id = link.session_id.clone();
                let mut watch_capture = capture.clone();
                let marker = tokio::spawn({
                    let store = store.clone();
                    let id = id.clone();
                    async move {
                        if watch_capture.wait_for(Option::is_some).await.is_ok() {
                            let _ = store.set_state(&id, SessionState::Uploading, None);
                        }
                    }
                });
                let result = match profile {
                    Profile::V1 => v1::run(&link, &mut reader, &mut capture, &mut transcript).await,
                    Profile::Seed => {
                        seed::run(&link, &mut reader, &mut capture, &mut transcript).await
                    }
                };
                marker.abort();
                // Everything that reached the spool was delivered, but audio that
                // never reached the disk means the session is not whole.
                let unsaved = capture_failure
                    .lock()
                    .expect("failure lock poisoned")
                    .clone();
                let result = match (result, unsaved) {
                    (Ok(()), Some(reason)) => Err(reason),
                    (other, _) => other,
                };
                match result {
                    // Only a v1 server confirms storage; a seed server's
                    // silence after the last frame proves nothing more.
                    Ok(()) if profile == Profile::Seed => {
                        store.set_state(&id, SessionState::Sent, None)?;
                        link.reporter.status(Status::Sent);
                        Ok(())
                    }
                    Ok(()) => {
                        store.set_state(&id, SessionState::Complete, None)?;
                        link.reporter.status(Status::Complete);
                        Ok(())
                    }
                    Err(reason) => {
                        store.set_state(&id, SessionState::Failed, Some(&reason))?;
                        link.reporter.status(Status::Failed {
                            reason: reason.clone(),
                        });
                        Err(SessionError::Failed(reason))
                    }
                }
            }
            .instrument(span),
        );
        Ok(Self {
            id: setup.id,
            reporter,
            stop: Arc::new(stop),
            task,
        })
    }

    /// The session's events from now on. A session starts working as soon
    /// as it is created, so a subscriber may already have missed a status:
    /// see [`Session::status_event`].
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.reporter.subscribe()
    }

    /// The latest status as an event, for a subscriber to show first (its
    /// subscription may have come after it was sent).
    pub fn status_event(&self) -> Option<Event> {
        self.reporter.current_status().map(|status| Event::Status {
            session_id: self.id.clone(),
            status,
        })
    }

    /// Stops capture; whatever was recorded is still uploaded.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.stop))
    }

    /// Waits until the server confirmed everything (or the session failed).
    pub async fn finished(self) -> Result<(), SessionError> {
        self.task.await.unwrap_or_else(|e| {
            Err(SessionError::Failed(format!(
                "the session task stopped: {e}"
            )))
        })
    }
}

/// Sessions whose audio the server has not fully confirmed (for `upload` and
/// for resuming at start-up).
pub fn pending(store: &Store) -> Result<Vec<SessionRecord>, StoreError> {
    store.pending()
}
