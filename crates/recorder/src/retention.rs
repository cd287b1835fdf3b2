//! Retention: what of a finished consultation stays on this computer, and
//! for how long.
//!
//! Only sessions the server has confirmed in full (v1), or that were sent in
//! full and settled (seed, whose server confirms nothing), are ever touched:
//! their audio goes once `audio_days` have passed since then — until then a
//! seed session can be sent again — and their transcript once
//! `transcript_days` have. Unsent audio is never deleted here, however old.

use std::path::Path;

use crate::config::Resolved;
use crate::session::spool_path;
use crate::store::{Store, StoreError};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How long to keep each part of a confirmed session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Days the spooled audio is kept after the session was confirmed or sent.
    pub audio_days: u32,
    /// Days the stored transcript is kept after the session was confirmed or sent.
    pub transcript_days: u32,
}

impl Policy {
    /// The policy the configuration sets.
    pub fn from_config(config: &Resolved) -> Self {
        Self {
            audio_days: config.audio_retention_days,
            transcript_days: config.transcript_retention_days,
        }
    }
}

/// What one sweep removed (session ids).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Sessions whose spool file was deleted.
    pub audio: Vec<String>,
    /// Sessions whose transcript segments were deleted.
    pub transcripts: Vec<String>,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The session store could not be read or changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An expired spool file could not be removed.
    #[error("cannot delete the expired audio {path}: {source}")]
    Delete {
        /// The spool file.
        path: String,
        /// Why the file system refused.
        #[source]
        source: std::io::Error,
    },
}

/// Deletes what `policy` no longer keeps, as of `now_ms` (Unix milliseconds).
pub fn sweep(
    store: &Store,
    spool_dir: &Path,
    policy: Policy,
    now_ms: u64,
) -> Result<Swept, RetentionError> {
    let mut swept = Swept::default();
    for (id, completed_at) in store.completed()? {
        let age = now_ms.saturating_sub(completed_at);
        let path = spool_path(spool_dir, &id);
        if age >= u64::from(policy.audio_days) * DAY_MS && path.exists() {
            std::fs::remove_file(&path).map_err(|source| RetentionError::Delete {
                path: path.display().to_string(),
                source,
            })?;
            swept.audio.push(id.clone());
        }
        if age >= u64::from(policy.transcript_days) * DAY_MS && store.delete_segments(&id)? > 0 {
            swept.transcripts.push(id);
        }
    }
    if !swept.audio.is_empty() || !swept.transcripts.is_empty() {
        tracing::info!(
            audio = swept.audio.len(),
            transcripts = swept.transcripts.len(),
            "retention: removed what the configuration no longer keeps"
        );
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{DataKey, DataKeySource};
    use crate::store::{Profile, Segment, SessionRecord, SessionState};

    fn session(store: &Store, dir: &Path, id: &str, state: SessionState) {
        store
            .create(&SessionRecord {
                id: id.into(),
                reference: String::new(),
                started_at: 1,
                profile: Profile::V1,
                server: "https://t.example".into(),
                state: SessionState::Recording,
                failure: None,
                samples_recorded: 16_000,
                samples_confirmed: 0,
            })
            .unwrap();
        store
            .add_segment(
                id,
                &Segment {
                    start: 0,
                    end: 10,
                    text: "words".into(),
                },
            )
            .unwrap();
        std::fs::write(spool_path(dir, id), b"audio").unwrap();
        store.set_state(id, state, None).unwrap();
    }

    /// A store in a fresh folder holding `sessions`, and when the first of them ended.
    fn store_with(sessions: &[(&str, SessionState)]) -> (tempfile::TempDir, Store, u64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("s.sqlite3"),
            DataKeySource::fixed(DataKey::generate()),
        )
        .unwrap();
        for (id, state) in sessions {
            session(&store, dir.path(), id, *state);
        }
        let (_, ended_at) = store.completed().unwrap()[0].clone();
        (dir, store, ended_at)
    }

    fn days(audio_days: u32, transcript_days: u32) -> Policy {
        Policy {
            audio_days,
            transcript_days,
        }
    }

    #[test]
    fn keeps_unconfirmed_audio_forever_and_confirmed_parts_for_their_days() {
        let (dir, store, completed_at) = store_with(&[
            ("done", SessionState::Complete),
            ("pending", SessionState::Uploading),
        ]);
        let policy = days(2, 5);
        let at = |days: u64| completed_at + days * DAY_MS;

        assert_eq!(
            sweep(&store, dir.path(), policy, at(1)).unwrap(),
            Swept::default()
        );
        let swept = sweep(&store, dir.path(), policy, at(2)).unwrap();
        assert_eq!(swept.audio, ["done"]);
        assert!(swept.transcripts.is_empty());
        assert!(!spool_path(dir.path(), "done").exists());
        assert_eq!(store.segments("done").unwrap().len(), 1);

        let swept = sweep(&store, dir.path(), policy, at(400)).unwrap();
        assert_eq!(
            (swept.audio.len(), swept.transcripts),
            (0, vec!["done".to_string()])
        );
        assert!(store.segments("done").unwrap().is_empty());
        assert!(
            store.get("done").unwrap().is_some(),
            "the history row stays"
        );
        // The unconfirmed session keeps everything, however old.
        assert!(spool_path(dir.path(), "pending").exists());
        assert_eq!(store.segments("pending").unwrap().len(), 1);
    }

    #[test]
    fn a_sent_seed_session_is_kept_for_its_days_then_goes_like_a_confirmed_one() {
        let (dir, store, sent_at) = store_with(&[("sent", SessionState::Sent)]);
        let policy = days(3, 30);
        let kept = sweep(&store, dir.path(), policy, sent_at + 2 * DAY_MS).unwrap();
        assert_eq!(
            kept,
            Swept::default(),
            "within its days it can be sent again"
        );
        let swept = sweep(&store, dir.path(), policy, sent_at + 3 * DAY_MS).unwrap();
        assert_eq!(swept.audio, ["sent"]);
        assert!(!spool_path(dir.path(), "sent").exists());
    }

    #[test]
    fn zero_days_removes_audio_as_soon_as_it_is_confirmed() {
        let (dir, store, completed_at) = store_with(&[("done", SessionState::Complete)]);
        let policy = days(0, 30);
        assert_eq!(
            sweep(&store, dir.path(), policy, completed_at)
                .unwrap()
                .audio,
            ["done"]
        );
    }
}
