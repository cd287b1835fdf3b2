//! The session store: one SQLite file listing every consultation, its upload
//! progress and its transcript. Owns the schema; never holds audio.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Why the store failed, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("session database {path}: {source}")]
pub struct StoreError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

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
    /// The session cannot go on (see `failure`).
    Failed,
}

impl SessionState {
    fn as_str(self) -> &'static str {
        match self {
            SessionState::Recording => "recording",
            SessionState::Uploading => "uploading",
            SessionState::Complete => "complete",
            SessionState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "recording" => SessionState::Recording,
            "uploading" => SessionState::Uploading,
            "complete" => SessionState::Complete,
            _ => SessionState::Failed,
        }
    }
}

/// Which protocol profile a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The existing clinic backend (token in the URL, no acknowledgements).
    Seed,
    /// Resumable, acknowledged, token in a header.
    V1,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Seed => "seed",
            Profile::V1 => "v1",
        }
    }

    fn parse(text: &str) -> Self {
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
    pub id: String,
    /// The doctor's reference for the consultation (may be empty).
    pub reference: String,
    /// Unix milliseconds.
    pub started_at: u64,
    pub profile: Profile,
    pub server: String,
    pub state: SessionState,
    pub failure: Option<String>,
    pub samples_recorded: u64,
    pub samples_confirmed: u64,
}

impl SessionRecord {
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
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub start: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub end: u64,
    pub text: String,
}

/// A handle to the database. Cheap to clone; calls are short and never held
/// across an await.
#[derive(Debug, Clone)]
pub struct Store {
    path: String,
    connection: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    reference TEXT NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
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
    text TEXT NOT NULL,
    PRIMARY KEY (session_id, start)
);
";

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let fail = |source| StoreError {
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
        connection.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Self {
            path: name,
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        let connection = self.connection.lock().expect("store lock poisoned");
        f(&connection).map_err(|source| StoreError {
            path: self.path.clone(),
            source,
        })
    }

    pub fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO sessions (id, reference, started_at, profile, server, state, failure, samples_recorded, samples_confirmed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO NOTHING",
                params![
                    record.id,
                    record.reference,
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

    pub fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.with(|c| {
            c.query_row(
                &format!("{SELECT} WHERE id = ?1"),
                params![id],
                row_to_record,
            )
            .optional()
        })
    }

    /// Every session, newest first.
    pub fn list(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(&format!("{SELECT} ORDER BY started_at DESC, id"))?;
            statement.query_map([], row_to_record)?.collect()
        })
    }

    /// Sessions with audio the server has not confirmed, oldest first.
    pub fn pending(&self) -> Result<Vec<SessionRecord>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(&format!(
                "{SELECT} WHERE state IN ('recording', 'uploading') ORDER BY started_at, id"
            ))?;
            statement.query_map([], row_to_record)?.collect()
        })
    }

    pub fn set_recorded(&self, id: &str, samples: u64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET samples_recorded = MAX(samples_recorded, ?2) WHERE id = ?1",
                params![id, samples as i64],
            )
            .map(drop)
        })
    }

    /// Records the server's confirmation; it never moves backwards.
    pub fn set_confirmed(&self, id: &str, samples: u64) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET samples_confirmed = MAX(samples_confirmed, ?2) WHERE id = ?1",
                params![id, samples as i64],
            )
            .map(drop)
        })
    }

    pub fn set_state(
        &self,
        id: &str,
        state: SessionState,
        failure: Option<&str>,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE sessions SET state = ?2, failure = ?3 WHERE id = ?1",
                params![id, state.as_str(), failure],
            )
            .map(drop)
        })
    }

    /// Stores a final segment; a segment already stored at the same start is kept.
    pub fn add_segment(&self, id: &str, segment: &Segment) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO segments (session_id, start, end, text) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(session_id, start) DO NOTHING",
                params![id, segment.start as i64, segment.end as i64, segment.text],
            )
            .map(|changed| changed > 0)
        })
    }

    pub fn segments(&self, id: &str) -> Result<Vec<Segment>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT start, end, text FROM segments WHERE session_id = ?1 ORDER BY start",
            )?;
            statement
                .query_map(params![id], |row| {
                    Ok(Segment {
                        start: row.get::<_, i64>(0)? as u64,
                        end: row.get::<_, i64>(1)? as u64,
                        text: row.get(2)?,
                    })
                })?
                .collect()
        })
    }

    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            c.execute("DELETE FROM segments WHERE session_id = ?1", params![id])?;
            c.execute("DELETE FROM sessions WHERE id = ?1", params![id])
                .map(|n| n > 0)
        })
    }
}

const SELECT: &str = "SELECT id, reference, started_at, profile, server, state, failure, samples_recorded, samples_confirmed FROM sessions";

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
    Ok(SessionRecord {
        id: row.get(0)?,
        reference: row.get(1)?,
        started_at: row.get::<_, i64>(2)? as u64,
        profile: Profile::parse(&row.get::<_, String>(3)?),
        server: row.get(4)?,
        state: SessionState::parse(&row.get::<_, String>(5)?),
        failure: row.get(6)?,
        samples_recorded: row.get::<_, i64>(7)? as u64,
        samples_confirmed: row.get::<_, i64>(8)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let store = Store::open(&path).unwrap();
        store.create(&record("a", 1)).unwrap();
        store.create(&record("b", 2)).unwrap();
        store.set_recorded("a", 48_000).unwrap();
        store.set_confirmed("a", 32_000).unwrap();
        store.set_confirmed("a", 16_000).unwrap(); // never backwards
        store.set_state("b", SessionState::Complete, None).unwrap();
        drop(store);

        let store = Store::open(&path).unwrap();
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
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
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
}
