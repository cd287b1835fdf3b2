//! The session store: one SQLite file listing every consultation, its upload
//! progress and its transcript. Owns the schema; never holds audio.
//!
//! What identifies a patient or says what was said — the doctor's reference
//! and every transcript segment — is sealed with the data key before it is
//! written (see [`crate::crypto`]); counts, states and times stay readable so
//! the history and the retention sweep need no key.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use crate::crypto::{DataKeySource, KeyError};
pub use crate::model::{Consent, Profile, Segment, SessionRecord, SessionState};

/// Why the store failed, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite could not open, read or write the file, or its schema is another
    /// version's.
    #[error("session database {path}: {source}")]
    Database {
        /// The database file.
        path: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The key that seals references and transcripts could not be read from
    /// the keychain, or is damaged.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A sealed value did not open: it was changed, or sealed under another key.
    #[error(
        "session database {path}: the {what} of session {session} was altered or sealed under \
         another computer's key; it is not shown"
    )]
    Tampered {
        /// The database file.
        path: String,
        /// The id of the session it belongs to.
        session: String,
        /// Which value: `reference` or `segment`.
        what: &'static str,
    },
}

/// A handle to the database. Cheap to clone; calls are short and never held
/// across an await.
#[derive(Debug, Clone)]
pub struct Store {
    path: String,
    connection: Arc<Mutex<Connection>>,
    keys: DataKeySource,
}

/// Shown for a reference that does not open (altered, or another key).
pub const UNREADABLE: &str = "(unreadable on this computer)";

/// Additional data of a sealed column: what it is, whose, and where.
fn aad(what: &str, session: &str, start: u64) -> Vec<u8> {
    format!("consult-recorder store v2\0{what}\0{session}\0{start}").into_bytes()
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    sealed_reference BLOB NOT NULL,
    started_at INTEGER NOT NULL,
    completed_at INTEGER,
    profile TEXT NOT NULL,
    server TEXT NOT NULL,
    state TEXT NOT NULL,
    failure TEXT,
    samples_recorded INTEGER NOT NULL DEFAULT 0,
    samples_confirmed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS segments (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    sealed_text BLOB NOT NULL,
    PRIMARY KEY (session_id, start)
);
CREATE TABLE IF NOT EXISTS consents (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    confirmed_by TEXT NOT NULL,
    confirmed_at INTEGER NOT NULL
);
PRAGMA user_version = 2;
";

impl Store {
    /// The history database in its folder, its sealed columns under the
    /// data key in `keychain`: how the app and the CLI both open it.
    pub fn open_in(
        dirs: &crate::paths::AppDirs,
        keychain: &crate::auth::Keychain,
    ) -> Result<Self, StoreError> {
        Self::open(
            &dirs.store_file(),
            DataKeySource::keychain(keychain.clone()),
        )
    }

    /// Opens (or creates) the database; sealed columns use `keys`, fetched
    /// the first time one is written or read.
    pub fn open(path: &Path, keys: DataKeySource) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let fail = |source| StoreError::Database {
            path: name.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let connection = Connection::open(path).map_err(fail)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
            .map_err(fail)?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(fail)?;
        if version == 1 || version > 2 {
            return Err(fail(rusqlite::Error::InvalidParameterName(format!(
                "schema version {version} is not this version's (2); move the file aside"
            ))));
        }
        connection.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Self {
            path: name,
            connection: Arc::new(Mutex::new(connection)),
            keys,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let connection = self.connection.lock().expect("store lock poisoned");
        f(&connection).map_err(|source| StoreError::Database {
            path: self.path.clone(),
            source,
        })
    }

    /// Where the data key comes from (the spool seals audio with the same key).
    pub fn keys(&self) -> &DataKeySource {
        &self.keys
    }

    fn seal(
        &self,
        what: &str,
        session: &str,
        start: u64,
        text: &str,
    ) -> Result<Vec<u8>, StoreError> {
        let key = self.keys.get()?;
        Ok(key
            .sealer()
            .seal(&aad(what, session, start), text.as_bytes()))
    }

    fn open_sealed(
        &self,
        what: &'static str,
        session: &str,
        start: u64,
        sealed: &[u8],
    ) -> Result<String, StoreError> {
        let key = self.keys.get()?;
        let tampered = || StoreError::Tampered {
            path: self.path.clone(),
            session: session.to_owned(),
            what,
        };
        let bytes = key
            .sealer()
            .open(&aad(what, session, start), sealed)
            .map_err(|_| tampered())?;
        String::from_utf8(bytes).map_err(|_| tampered())
    }

    /// Opens the sealed reference of rows read with [`SELECT`].
    fn unseal_records(
        &self,
        rows: Vec<(SessionRecord, Vec<u8>)>,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        rows.into_iter()
            .map(|(mut record, sealed)| {
                record.reference = match self.open_sealed("reference", &record.id, 0, &sealed) {
                    Ok(reference) => reference,
                    // One unreadable row must not hide the whole history.
                    Err(err @ StoreError::Tampered { .. }) => {
                        tracing::warn!(session = %record.id, error = %err, "reference unreadable");
                        UNREADABLE.to_owned()
                    }
                    Err(err) => return Err(err),
                };
                Ok(record)
            })
            .collect()
    }

    /// Adds a new session; a session with the same id already there is kept as it is.
    pub fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let reference = self.seal("reference", &record.id, 0, &record.reference)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions (id, sealed_reference, started_at, profile, server, state, failure, samples_recorded, samples_confirmed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO NOTHING",
                params![
                    record.id,
                    reference,
                    record.started_at as i64,
                    record.profile.as_str(),
                    record.server,
                    record.state.as_str(),
                    record.failure,
                    record.samples_recorded as i64,
                    record.samples_confirmed as i64
                ],
            )
            .map(drop)
        })
    }

    /// The session with this id, if there is one.
    pub fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = self.with(|c| {
            c.query_row(
                &format!("{SELECT} WHERE id = ?1"),
                params![id],
                row_to_record,
            )
            .optional()
        })?;
        Ok(self.unseal_records(row.into_iter().collect())?.pop())
    }

    /// Every session, newest first.
    pub fn list(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = self.with(|c| {
            let mut statement = c.prepare(&format!("{SELECT} ORDER BY started_at DESC, id"))?;
            statement.query_map([], row_to_record)?.collect()
        })?;
        self.unseal_records(rows)
    }

    /// Sessions with audio the server has not confirmed, oldest first.
    pub fn pending(&self) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = self.with(|c| {
            let mut statement = c.prepare(&format!(
                "{SELECT} WHERE state IN ('recording', 'uploading') ORDER BY started_at, id"
            ))?;
            statement.query_map([], row_to_record)?.collect()
        })?;
        self.unseal_records(rows)
    }

    /// Records how much audio the spool holds; it never moves backwards.
    pub fn set_recorded(&self, id: &str, samples: u64) -> Result<(), StoreError> {
        self.raise(
            "UPDATE sessions SET samples_recorded = MAX(samples_recorded, ?2) WHERE id = ?1",
            id,
            samples,
        )
    }

    /// Records the server's confirmation; it never moves backwards.
    pub fn set_confirmed(&self, id: &str, samples: u64) -> Result<(), StoreError> {
        self.raise(
            "UPDATE sessions SET samples_confirmed = MAX(samples_confirmed, ?2) WHERE id = ?1",
            id,
            samples,
        )
    }

    /// Runs one of the two monotonic counter updates above.
    fn raise(&self, update: &str, id: &str, samples: u64) -> Result<(), StoreError> {
        self.with(|c| c.execute(update, params![id, samples as i64]).map(drop))
    }

    /// Marks a finished session to be sent again from its first sample (the
    /// seed profile cannot prove storage, so a clinic may ask for it).
    pub fn restart_upload(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET state = 'uploading', failure = NULL, samples_confirmed = 0,
                    completed_at = NULL WHERE id = ?1",
                params![id],
            )
            .map(|n| n > 0)
        })
    }

    /// Sets the session's state and failure reason; the first time it becomes
    /// complete or sent is remembered for the retention sweep.
    pub fn set_state(
        &self,
        id: &str,
        state: SessionState,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET state = ?2, failure = ?3,
                    completed_at = CASE WHEN ?2 IN ('complete', 'sent')
                        THEN COALESCE(completed_at, ?4) ELSE completed_at END
                 WHERE id = ?1",
                params![
                    id,
                    state.as_str(),
                    failure,
                    crate::clock::unix_millis() as i64
                ],
            )
            .map(drop)
        })
    }

    /// Stores a final segment; a segment already stored at the same start is kept.
    pub fn add_segment(&self, id: &str, segment: &Segment) -> Result<bool, StoreError> {
        let sealed = self.seal("segment", id, segment.start, &segment.text)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO segments (session_id, start, end, sealed_text) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(session_id, start) DO NOTHING",
                params![id, segment.start as i64, segment.end as i64, sealed],
            )
            .map(|changed| changed > 0)
        })
    }

    /// The session's final transcript segments, in order of their start.
    pub fn segments(&self, id: &str) -> Result<Vec<Segment>, StoreError> {
        let rows: Vec<(u64, u64, Vec<u8>)> = self.with(|c| {
            let mut statement = c.prepare(
                "SELECT start, end, sealed_text FROM segments WHERE session_id = ?1 ORDER BY start",
            )?;
            statement
                .query_map(params![id], |row| {
                    Ok((
                        row.get::<_, i64>(0)? as u64,
                        row.get::<_, i64>(1)? as u64,
                        row.get(2)?,
                    ))
                })?
                .collect()
        })?;
        rows.into_iter()
            .map(|(start, end, sealed)| {
                Ok(Segment {
                    start,
                    end,
                    text: self.open_sealed("segment", id, start, &sealed)?,
                })
            })
            .collect()
    }

    /// Records the consent confirmed for session `id` (once; the first stays).
    pub fn set_consent(&self, id: &str, consent: &Consent) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO consents (session_id, confirmed_by, confirmed_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(session_id) DO NOTHING",
                params![id, consent.confirmed_by, consent.confirmed_at as i64],
            )
            .map(|_| ())
        })
    }

    /// The consent confirmed for session `id`, if one was.
    pub fn consent(&self, id: &str) -> Result<Option<Consent>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT confirmed_by, confirmed_at FROM consents WHERE session_id = ?1",
                params![id],
                |row| {
                    Ok(Consent {
                        confirmed_by: row.get(0)?,
                        confirmed_at: row.get::<_, i64>(1)? as u64,
                    })
                },
            )
            .optional()
        })
    }

    /// Removes the transcript of a session, keeping its row (retention);
    /// returns how many segments went.
    pub fn delete_segments(&self, id: &str) -> Result<usize, StoreError> {
        self.with(|c| c.execute("DELETE FROM segments WHERE session_id = ?1", params![id]))
    }

    /// Finished sessions (complete, or sent to a seed server) with the time
    /// they finished (Unix milliseconds), oldest first: what retention counts from.
    pub fn completed(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT id, completed_at FROM sessions
                 WHERE state IN ('complete', 'sent') AND completed_at IS NOT NULL
                 ORDER BY completed_at, id",
            )?;
            statement
                .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?
                .collect()
        })
    }

    /// Removes a session with its transcript and consent; `false` if there was none.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM segments WHERE session_id = ?1", params![id])?;
            c.execute("DELETE FROM consents WHERE session_id = ?1", params![id])?;
            c.execute("DELETE FROM sessions WHERE id = ?1", params![id])
                .map(|n| n > 0)
        })
    }
}

const SELECT: &str = "SELECT id, sealed_reference, started_at, profile, server, state, failure, samples_recorded, samples_confirmed FROM sessions";

/// A row, with its reference still sealed.
fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<(SessionRecord, Vec<u8>)> {
    let record = SessionRecord {
        id: row.get(0)?,
        reference: String::new(),
        started_at: row.get::<_, i64>(2)? as u64,
        profile: Profile::parse(&row.get::<_, String>(3)?),
        server: row.get(4)?,
        state: SessionState::parse(&row.get::<_, String>(5)?),
        failure: row.get(6)?,
        samples_recorded: row.get::<_, i64>(7)? as u64,
        samples_confirmed: row.get::<_, i64>(8)? as u64,
    };
    Ok((record, row.get(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;

    fn keys() -> DataKeySource {
        DataKeySource::fixed(DataKey::generate())
    }

    fn record(id: &str, started_at: u64) -> SessionRecord {
        SessionRecord {
            id: id.into(),
            reference: "bed 4".into(),
            started_at,
            profile: Profile::V1,
            server: "https://t.example".into(),
            state: SessionState::Recording,
            failure: None,
            samples_recorded: 0,
            samples_confirmed: 0,
        }
    }

    #[test]
    fn sessions_progress_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.sqlite3");
        let keys = keys();
        let store = Store::open(&path, keys.clone()).unwrap();
        store.create(&record("a", 1)).unwrap();
        store.create(&record("b", 2)).unwrap();
        store.set_recorded("a", 48_000).unwrap();
        store.set_confirmed("a", 32_000).unwrap();
        store.set_confirmed("a", 16_000).unwrap(); // never backwards
        store.set_state("b", SessionState::Complete, None).unwrap();
        drop(store);

        let store = Store::open(&path, keys.clone()).unwrap();
        let a = store.get("a").unwrap().unwrap();
        assert_eq!(
            (a.samples_recorded, a.samples_confirmed, a.pending_samples()),
            (48_000, 32_000, 16_000)
        );
        assert_eq!(
            store
                .list()
                .unwrap()
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(store.pending().unwrap().len(), 1);
    }

    #[test]
    fn segments_are_ordered_and_deduplicated_by_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3"), keys()).unwrap();
        store.create(&record("a", 1)).unwrap();
        let seg = |start, text: &str| Segment {
            start,
            end: start + 10,
            text: text.into(),
        };
        assert!(store.add_segment("a", &seg(20, "second")).unwrap());
        assert!(store.add_segment("a", &seg(0, "first")).unwrap());
        assert!(
            !store.add_segment("a", &seg(20, "second")).unwrap(),
            "a replayed final is not doubled"
        );
        let texts: Vec<String> = store
            .segments("a")
            .unwrap()
            .into_iter()
            .map(|s| s.text)
            .collect();
        assert_eq!(texts, ["first", "second"]);
        assert!(store.delete("a").unwrap());
        assert!(store.segments("a").unwrap().is_empty());
    }

    #[test]
    fn the_file_holds_no_reference_or_text_and_refuses_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let keys = keys();
        let store = Store::open(&path, keys.clone()).unwrap();
        store.create(&record("a", 1)).unwrap();
        let segment = |start, text: &str| Segment {
            start,
            end: start + 10,
            text: text.into(),
        };
        store
            .add_segment("a", &segment(0, "chest pain since Tuesday"))
            .unwrap();
        store
            .add_segment("a", &segment(10, "no allergies known"))
            .unwrap();
        drop(store);
        // Checkpoint the WAL so every byte is in the main file too, then look.
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
        for plain in ["chest pain", "allergies", "bed 4"] {
            assert!(
                !bytes.windows(plain.len()).any(|w| w == plain.as_bytes()),
                "{plain:?} is readable in the database file"
            );
        }
        // Someone swaps two sealed segments: both are refused, none shown wrong.
        raw.execute_batch(
            "UPDATE segments SET sealed_text = (SELECT sealed_text FROM segments WHERE start = 10)
             WHERE start = 0;",
        )
        .unwrap();
        let store = Store::open(&path, keys).unwrap();
        assert!(matches!(
            store.segments("a"),
            Err(StoreError::Tampered {
                what: "segment",
                ..
            })
        ));
        // Another install's key opens nothing.
        let elsewhere = Store::open(&path, DataKeySource::fixed(DataKey::generate())).unwrap();
        assert_eq!(elsewhere.get("a").unwrap().unwrap().reference, UNREADABLE);
        assert!(matches!(
            elsewhere.segments("a"),
            Err(StoreError::Tampered {
                what: "segment",
                ..
            })
        ));
    }

    #[test]
    fn a_sent_seed_session_ages_like_a_complete_one_and_can_be_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3"), keys()).unwrap();
        store.create(&record("seed", 1)).unwrap();
        store.set_confirmed("seed", 16_000).unwrap();
        store.set_state("seed", SessionState::Sent, None).unwrap();
        assert_eq!(
            store.get("seed").unwrap().unwrap().state,
            SessionState::Sent
        );
        assert!(store.pending().unwrap().is_empty(), "nothing left to send");
        assert_eq!(
            store.completed().unwrap().len(),
            1,
            "retention counts from now"
        );
        assert!(store.restart_upload("seed").unwrap());
        let again = store.get("seed").unwrap().unwrap();
        assert_eq!(
            (again.state, again.samples_confirmed),
            (SessionState::Uploading, 0),
            "sent again from its first sample"
        );
        assert_eq!(store.pending().unwrap().len(), 1);
        assert!(
            store.completed().unwrap().is_empty(),
            "not finished any more"
        );
        assert!(!store.restart_upload("missing").unwrap());
    }

    #[test]
    fn completion_time_is_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3"), keys()).unwrap();
        store.create(&record("a", 1)).unwrap();
        store.create(&record("b", 2)).unwrap();
        assert!(store.completed().unwrap().is_empty());
        store.set_state("a", SessionState::Complete, None).unwrap();
        let first = store.completed().unwrap();
        assert_eq!(first.len(), 1);
        store.set_state("a", SessionState::Complete, None).unwrap();
        assert_eq!(
            store.completed().unwrap(),
            first,
            "a repeat keeps the first time"
        );
    }
}
