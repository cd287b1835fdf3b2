//! The recorder's core library run the way the app runs it, for tests that
//! drive a `Session` directly: signed in with tokens kept in memory, a WAV
//! file of distinct samples as the microphone, and the spool and session
//! store in a scratch folder of the test's own.

use std::path::PathBuf;
use std::time::Duration;

use consult_recorder::audio::WavSource;
use consult_recorder::auth::memory_vault::MemoryVault;
use consult_recorder::auth::{AuthClient, AuthProfile, ManagerOptions, Secret, TokenManager};
use consult_recorder::crypto::{DataKey, DataKeySource};
use consult_recorder::session::{Power, SenderOptions, Session, SessionError, SessionSetup};
use consult_recorder::store::{Profile, Store};

use crate::audio::{unique_pcm, write_wav};
use crate::server::{EMAIL, PASSWORD};

/// The test account signed in at `server`, tokens in memory: every session a test starts needs one.
pub async fn signed_in(server: &str) -> TokenManager {
    let client = AuthClient::new(server, AuthProfile::default(), Duration::from_secs(5)).unwrap();
    let tokens = TokenManager::start(client, MemoryVault::default(), ManagerOptions::default());
    tokens.sign_in(EMAIL, Secret::new(PASSWORD)).await.unwrap();
    tokens
}

/// A consultation to record (audio, WAV, session id, scratch folder), set up one way for all.
pub struct Consultation {
    /// Holds the WAV file, the spool and the session store.
    pub scratch: tempfile::TempDir,
    /// The audio as 16-bit PCM, what the server must end up with.
    pub source: Vec<u8>,
    /// The file the recorder plays as its microphone.
    pub wav: PathBuf,
    /// The session's id, as the server files it.
    pub session_id: String,
}

impl Consultation {
    /// `samples` of audio that never repeats, so a sample lost, doubled or misplaced shows.
    pub fn new(samples: usize, seed: u64) -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let source = unique_pcm(samples, seed);
        let wav = scratch.path().join("consultation.wav");
        write_wav(&wav, &source);
        Self {
            scratch,
            source,
            wav,
            session_id: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// A setup with default options and no reference: a test changes only what it is about.
    pub fn setup(&self, profile: Profile, server: String, tokens: TokenManager) -> SessionSetup {
        SessionSetup {
            id: self.session_id.clone(),
            reference: String::new(),
            profile,
            server,
            spool_dir: self.scratch.path().join("spool"),
            store: Store::open(
                &self.scratch.path().join("sessions.sqlite3"),
                DataKeySource::fixed(DataKey::generate()),
            )
            .unwrap(),
            tokens,
            options: SenderOptions::default(),
            // Only the keep-awake test asks a power manager.
            power: Power::watch_only(),
        }
    }

    /// Starts the session, the WAV file at `speed` times real time standing in for a microphone.
    pub fn record(&self, setup: SessionSetup, speed: f64) -> Session {
        Session::start(setup, Some(WavSource::open(&self.wav, speed).unwrap())).unwrap()
    }
}

/// Waits for the session's end, failing with `what` after `limit`: never ending fails, not hangs.
pub async fn finished_within(
    session: Session,
    limit: Duration,
    what: &str,
) -> Result<(), SessionError> {
    tokio::time::timeout(limit, session.finished())
        .await
        .expect(what)
}
