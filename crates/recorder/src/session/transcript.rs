//! Turns the server's transcript messages into one ordered, de-duplicated text.
//!
//! Partials replace partials; finals are kept in order of their start. After a
//! resume or replay the server may send a final again: in the v1 profile the
//! same start offset identifies it exactly; in the seed profile (no offsets)
//! a final whose text matches one already kept inside the replayed window is
//! dropped.

use std::collections::BTreeMap;

use crate::events::TranscriptUpdate;

/// The transcript of one session as it grows.
#[derive(Debug, Default)]
pub struct TranscriptAssembler {
    finals: BTreeMap<u64, TranscriptUpdate>,
    partial: Option<TranscriptUpdate>,
    /// Seed profile: samples at and after this offset are being sent again.
    replay_from: Option<u64>,
}

fn same_words(a: &str, b: &str) -> bool {
    a.split_whitespace()
        .map(str::to_lowercase)
        .eq(b.split_whitespace().map(str::to_lowercase))
}

impl TranscriptAssembler {
    /// Starts from finals already stored (after a restart).
    pub fn with_finals(finals: impl IntoIterator<Item = TranscriptUpdate>) -> Self {
        Self {
            finals: finals.into_iter().map(|f| (f.start, f)).collect(),
            ..Self::default()
        }
    }

    /// Where the last final ends: a client may ask for finals after this.
    pub fn finals_until(&self) -> u64 {
        self.finals.values().map(|f| f.end).max().unwrap_or(0)
    }

    /// The finals kept, in order of their start (what the tests check).
    #[cfg(test)]
    fn finals(&self) -> impl Iterator<Item = &TranscriptUpdate> {
        self.finals.values()
    }

    /// Seed profile: audio from `offset` on is about to be sent again.
    pub fn replaying_from(&mut self, offset: u64) {
        self.replay_from = Some(offset);
        self.partial = None;
    }

    /// Takes one update; returns it when it changes what the person sees.
    pub fn accept(&mut self, update: TranscriptUpdate) -> Option<TranscriptUpdate> {
        if update.text.trim().is_empty() {
            return None;
        }
        if !update.is_final {
            if self.finals.contains_key(&update.start) || self.partial.as_ref() == Some(&update) {
                return None;
            }
            self.partial = Some(update.clone());
            return Some(update);
        }
        if self.finals.contains_key(&update.start) {
            return None;
        }
        if let Some(from) = self.replay_from {
            let repeated = self.finals.values().any(|kept| {
                kept.end > from.saturating_sub(SEED_SLACK) && same_words(&kept.text, &update.text)
            });
            if repeated {
                return None;
            }
        }
        if self
            .partial
            .as_ref()
            .is_some_and(|p| p.start == update.start)
        {
            self.partial = None;
        }
        self.finals.insert(update.start, update.clone());
        Some(update)
    }
}

/// Seed offsets are estimates: allow this much (2 s) when matching a replay.
const SEED_SLACK: u64 = 32_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str, is_final: bool, start: u64, end: u64) -> TranscriptUpdate {
        TranscriptUpdate {
            text: text.into(),
            is_final,
            start,
            end,
        }
    }

    #[test]
    fn partials_give_way_to_finals_and_resent_finals_are_dropped() {
        let mut a = TranscriptAssembler::default();
        assert!(a.accept(t("take", false, 100, 200)).is_some());
        assert!(
            a.accept(t("take", false, 100, 200)).is_none(),
            "unchanged partial"
        );
        assert!(a.accept(t("take two", false, 100, 300)).is_some());
        assert!(a.accept(t("take two tablets", true, 100, 400)).is_some());
        assert!(
            a.accept(t("take two tablets", true, 100, 400)).is_none(),
            "replayed after resume"
        );
        assert!(
            a.accept(t("take two", false, 100, 300)).is_none(),
            "stale partial of a final"
        );
        assert!(a.accept(t("daily", true, 500, 600)).is_some());
        let text: Vec<&str> = a.finals().map(|f| f.text.as_str()).collect();
        assert_eq!(text, ["take two tablets", "daily"]);
        assert_eq!(a.finals_until(), 600);
    }

    #[test]
    fn seed_replays_are_recognised_by_their_words() {
        let mut a = TranscriptAssembler::default();
        a.accept(t("blood pressure is normal", true, 48_000, 64_000));
        a.replaying_from(40_000);
        assert!(
            a.accept(t("Blood pressure is  normal", true, 41_000, 50_000))
                .is_none()
        );
        assert!(
            a.accept(t("no known allergies", true, 70_000, 80_000))
                .is_some()
        );
    }
}
