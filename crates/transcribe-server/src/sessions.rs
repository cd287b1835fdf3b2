//! v1 sessions: who owns each one, its durable audio, and which connection is live.
//!
//! A session outlives its connections: a reconnecting client finds the same audio
//! file and finals, and a newer connection takes the session over from an older one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, watch};

use crate::storage::{AudioFile, Finals, StorageError, session_dir};

/// Why a connection may not use a session.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Another account created the session.
    #[error("session belongs to another account")]
    Forbidden,
    /// The session's files could not be created or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a live connection holds exclusively while it streams.
#[derive(Debug)]
pub struct SessionMedia {
    /// The session's `audio.pcm`: every sample once, in order.
    pub audio: AudioFile,
    /// The final transcripts so far, replayed to a reconnecting client.
    pub finals: Finals,
}

/// One v1 session.
#[derive(Debug)]
pub struct Session {
    /// The id the client chose; also the name of the session's directory.
    pub id: String,
    /// The account that created the session; no other may connect to it.
    pub owner: String,
    media: Arc<AsyncMutex<SessionMedia>>,
    /// Bumped by each new connection; an older connection that sees a newer
    /// generation closes with 4410.
    generation: watch::Sender<u64>,
}

impl Session {
    /// The session's `audio.pcm` under `data_dir`, which the recogniser reads.
    pub fn audio_path(&self, data_dir: &std::path::Path) -> PathBuf {
        session_dir(data_dir, &self.id.to_string()).join("audio.pcm")
    }

    /// Claims the session for a new connection: the previous holder is told to
    /// leave, and this waits until it has.
    pub async fn claim(&self) -> (u64, watch::Receiver<u64>, OwnedMutexGuard<SessionMedia>) {
        let mut mine = 0;
        self.generation.send_modify(|g| {
            *g += 1;
            mine = *g;
        });
        let watcher = self.generation.subscribe();
        let media = Arc::clone(&self.media).lock_owned().await;
        (mine, watcher, media)
    }
}

/// All v1 sessions this server knows, loaded from disk on first use.
#[derive(Debug)]
pub struct SessionRegistry {
    data_dir: PathBuf,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
}

impl SessionRegistry {
    /// An empty registry over the sessions stored under `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The session `id` for `account`, created on first use.
    pub fn open(&self, id: String, account: &str) -> Result<Arc<Session>, SessionError> {
        let mut sessions = self.sessions.lock().expect("session map lock poisoned");
        if let Some(session) = sessions.get(&id) {
            return if session.owner == account {
                Ok(Arc::clone(session))
            } else {
                Err(SessionError::Forbidden)
            };
        }
        let dir = session_dir(&self.data_dir, &id);
        std::fs::create_dir_all(&dir).map_err(|e| StorageError::from_io("creating", &dir, e))?;
        let owner_path = dir.join("owner");
        let owner = match std::fs::read_to_string(&owner_path) {
            Ok(owner) => owner.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::write(&owner_path, account)
                    .map_err(|e| StorageError::from_io("writing", &owner_path, e))?;
                account.to_owned()
            }
            Err(e) => return Err(StorageError::from_io("reading", &owner_path, e).into()),
        };
        if owner != account {
            return Err(SessionError::Forbidden);
        }
        let media = SessionMedia {
            audio: AudioFile::open(&dir.join("audio.pcm"))?,
            finals: Finals::load(&dir.join("finals.jsonl"))?,
        };
        let session = Arc::new(Session {
            id: id.clone(),
            owner,
            media: Arc::new(AsyncMutex::new(media)),
            generation: watch::Sender::new(0),
        });
        sessions.insert(id, Arc::clone(&session));
        Ok(session)
    }
}
