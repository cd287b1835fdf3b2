//! One consultation from Record to "uploaded": capture → spool → sender.
//!
//! Owns the wiring between the audio source, the spool, the session store and
//! the protocol sender of the session's profile. Capture never waits for the
//! network and the network never reads from capture: the spool sits between.

mod awake;
pub mod capture;
mod connection;
mod driver;
mod evidence;
mod handover;
mod pace;
mod report;
mod retry;
mod seed;
mod seed_url;
mod sender;
mod sleep_watch;
mod socket;
mod transcript;
mod upload;
mod v1;

pub use report::Reporter;
pub use sender::{DEFAULT_SEED_PACE, SenderOptions};
pub use sleep_watch::SleepClock;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::audio::AudioSource;
use crate::auth::TokenManager;
use crate::events::{AwakeState, Event, Status, TranscriptUpdate};
use crate::net::{self, ConnectError};
use crate::spool::{Recovered, SpoolError, SpoolReader, SpoolWriter};
use crate::store::{Profile, SessionRecord, SessionState, Store, StoreError};
use capture::CaptureDone;
pub use driver::Failure;
use driver::drive;
use seed::Seed;
use sender::SenderContext;
use transcript::TranscriptAssembler;
use upload::Upload;
use v1::V1;

/// Why a session could not start or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The spool file could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The session store failed (or the data key is unavailable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server address is not usable for streaming.
    #[error(transparent)]
    Server(#[from] ConnectError),
    /// The session was already sent or confirmed; holds its id.
    #[error("session {0} is already complete")]
    AlreadyComplete(String),
    /// The session ended without its profile's evidence that it is whole.
    #[error("the session failed: {0}")]
    Failed(#[from] Failure),
}

/// Everything a session needs besides its audio.
#[derive(Clone)]
pub struct SessionSetup {
    /// The session's id: names its record and spool, and is sent to the server.
    pub id: String,
    /// The doctor's reference for the consultation (free text, may be empty).
    pub reference: String,
    /// The protocol the session speaks.
    pub profile: Profile,
    /// The server's origin, e.g. `https://transcribe.clinic.example`.
    pub server: String,
    /// Folder of the spool files.
    pub spool_dir: PathBuf,
    /// Keeps the session's record and transcript, and gives the data key.
    pub store: Store,
    /// Hands out access tokens for the connection.
    pub tokens: TokenManager,
    /// How the sender connects, retries and paces.
    pub options: SenderOptions,
    /// How recording deals with the computer's sleep.
    pub power: Power,
}

/// How a recording deals with the computer's sleep.
#[derive(Debug, Clone)]
pub struct Power {
    /// Keep the computer from sleeping while capture runs. The app's
    /// recordings do; tests about other things leave the power manager alone.
    pub keep_awake: bool,
    /// Tells that the computer slept anyway (the doctor is then told).
    pub sleep_clock: SleepClock,
}

impl Power {
    /// What the app does: keep the computer awake, and notice a sleep.
    pub fn system() -> Self {
        Self {
            keep_awake: true,
            sleep_clock: SleepClock::system(),
        }
    }

    /// Notices a sleep but asks no power manager (tests of other things).
    pub fn watch_only() -> Self {
        Self {
            keep_awake: false,
            sleep_clock: SleepClock::system(),
        }
    }
}

impl SessionSetup {
    /// This session's spool file.
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

/// Pauses and resumes a session's capture from anywhere (a button, a shortcut).
#[derive(Debug, Clone)]
pub struct Pauser(Arc<watch::Sender<bool>>);

impl Pauser {
    /// Pauses (`true`) or resumes capture; saying it twice changes nothing.
    pub fn set(&self, paused: bool) {
        self.0
            .send_if_modified(|now| std::mem::replace(now, paused) != paused);
    }

    /// Whether capture is paused.
    pub fn is_paused(&self) -> bool {
        *self.0.borrow()
    }
}

/// A running session.
pub struct Session {
    /// The session's id, as given in its [`SessionSetup`].
    pub id: String,
    reporter: Reporter,
    stop: Arc<watch::Sender<bool>>,
    pause: Arc<watch::Sender<bool>>,
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
        open_record(&setup, recovered.end)?;
        warn_of_lost_audio(&reporter, &recovered, &setup.spool_path());
        let reader = writer.reader()?;
        let (stop, stop_rx) = watch::channel(false);
        let (pause, paused) = watch::channel(false);
        let capture_failure = capture::CaptureFailure::default();
        let capture = match source {
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
                    capture::Controls {
                        stop: stop_rx,
                        paused: paused.clone(),
                    },
                    capture_failure.clone(),
                    setup.power.clone(),
                )
            }
            None => {
                setup
                    .store
                    .set_state(&setup.id, SessionState::Uploading, None)?;
                watch::channel(Some(writer.end())).1
            }
        };
        let transcript = stored_transcript(&setup.store, &setup.id)?;
        let sender = SenderContext {
            session_id: setup.id.clone(),
            reference: setup.reference.clone(),
            ws_base,
            tokens: setup.tokens.clone(),
            store: setup.store.clone(),
            reporter: reporter.clone(),
            options: setup.options.clone(),
            paused,
        };
        let span = tracing::info_span!("session", id = %setup.id, profile = setup.profile.as_str());
        let profile = setup.profile;
        let task = tokio::spawn(
            send_all(
                sender,
                profile,
                reader,
                capture,
                transcript,
                capture_failure,
            )
            .instrument(span),
        );
        Ok(Self {
            id: setup.id,
            reporter,
            stop: Arc::new(stop),
            pause: Arc::new(pause),
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

    /// The recording's latest hold on sleep, if one was asked for yet (a
    /// subscriber may have missed its event, as with [`Session::status_event`]).
    pub fn keep_awake_state(&self) -> Option<AwakeState> {
        self.reporter.current_awake()
    }

    /// Stops capture; whatever was recorded is still uploaded.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// A handle that pauses and resumes capture from elsewhere.
    pub fn pauser(&self) -> Pauser {
        Pauser(Arc::clone(&self.pause))
    }

    /// A handle that stops capture from elsewhere (a button, a signal).
    pub fn stopper(&self) -> Stopper {
        Stopper(Arc::clone(&self.stop))
    }

    /// Waits until the server confirmed everything (or the session failed).
    pub async fn finished(self) -> Result<(), SessionError> {
        self.task
            .await
            .unwrap_or_else(|e| Err(Failure::TaskStopped(e.to_string()).into()))
    }
}

/// Sessions whose audio the server has not fully confirmed (for `upload` and
/// for resuming at start-up).
pub fn pending(store: &Store) -> Result<Vec<SessionRecord>, StoreError> {
    store.pending()
}

/// The session's record: created for a new session; a finished one is refused.
fn open_record(setup: &SessionSetup, recorded: u64) -> Result<(), SessionError> {
    match setup.store.get(&setup.id)? {
        Some(record) if matches!(record.state, SessionState::Complete | SessionState::Sent) => {
            Err(SessionError::AlreadyComplete(setup.id.clone()))
        }
        Some(_) => Ok(()),
        None => Ok(setup.store.create(&SessionRecord {
            id: setup.id.clone(),
            reference: setup.reference.clone(),
            started_at: crate::clock::unix_millis(),
            profile: setup.profile,
            server: setup.server.clone(),
            state: SessionState::Recording,
            failure: None,
            samples_recorded: recorded,
            samples_confirmed: 0,
        })?),
    }
}

/// Tells the person about audio the spool could not read back.
fn warn_of_lost_audio(reporter: &Reporter, recovered: &Recovered, path: &Path) {
    if recovered.lost.is_empty() {
        return;
    }
    let lost: u64 = recovered.lost.iter().map(|r| r.end - r.start).sum();
    let how = if recovered.unauthentic_records > 0 {
        "was altered on disk, or sealed under another computer's key"
    } else {
        "was damaged on disk"
    };
    reporter.warning(format!(
        "{:.2} s of this session's audio {how} ({}); it is sent as silence",
        consult_protocol::samples_to_secs(lost),
        path.display()
    ));
}

/// The transcript so far, from the finals stored by earlier runs.
fn stored_transcript(store: &Store, id: &str) -> Result<TranscriptAssembler, StoreError> {
    let stored = store.segments(id)?.into_iter().map(|s| TranscriptUpdate {
        text: s.text,
        is_final: true,
        start: s.start,
        end: s.end,
    });
    Ok(TranscriptAssembler::with_finals(stored))
}

/// The session's task: sends until the profile's evidence covers every
/// sample, then records how the session ended.
async fn send_all(
    sender: SenderContext,
    profile: Profile,
    mut reader: SpoolReader,
    mut capture: CaptureDone,
    mut transcript: TranscriptAssembler,
    capture_failure: capture::CaptureFailure,
) -> Result<(), SessionError> {
    let store = sender.store.clone();
    let id = sender.session_id.clone();
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
    let mut upload = Upload::new(&sender, &mut reader, &mut capture, &mut transcript);
    let result = match profile {
        Profile::V1 => drive(&mut upload, &mut V1::new(&sender.options)).await,
        Profile::Seed => drive(&mut upload, &mut Seed::new(&sender.options)).await,
    };
    drop(upload);
    marker.abort();
    // Everything that reached the spool was delivered, but audio that
    // never reached the disk means the session is not whole.
    let unsaved = capture_failure
        .lock()
        .expect("failure lock poisoned")
        .clone();
    let result = match (result, unsaved) {
        (Ok(()), Some(reason)) => Err(Failure::NotSaved(reason)),
        (other, _) => other,
    };
    let (state, status) = match &result {
        // Only a v1 server confirms storage; a seed server's silence after
        // the last frame proves nothing more.
        Ok(()) if profile == Profile::Seed => (SessionState::Sent, Status::Sent),
        Ok(()) => (SessionState::Complete, Status::Complete),
        Err(failure) => (
            SessionState::Failed,
            Status::Failed {
                reason: failure.to_string(),
            },
        ),
    };
    let reason = result.as_ref().err().map(ToString::to_string);
    store.set_state(&id, state, reason.as_deref())?;
    sender.reporter.status(status);
    result.map_err(SessionError::Failed)
}
