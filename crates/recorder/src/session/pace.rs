//! How fast audio may go on one connection, per profile.
//!
//! A v1 server stores what it gets and takes a backlog as fast as we allow
//! ([`BacklogPace`]). The seed backend feeds a streaming recogniser (Google-style) that refuses
//! audio arriving faster than real time, beyond a few seconds of slack, and
//! then drops what it had queued. So each connection has a budget: a small
//! burst plus `pace` seconds of audio per second since the server greeted it.
//! Everything counts against it, live audio and backlog alike.

use std::time::Duration;

use tokio::time::Instant;

use consult_protocol::{SAMPLE_RATE, samples_to_secs};

/// Audio behind the live edge that still counts as "live" (0.5 s).
pub const LIVE_LAG: u64 = 8_000;

/// When audio may go on a connection, and in what chunks.
pub trait Pace: Send {
    /// The most to send in one frame, being `lag` samples behind the live edge.
    fn chunk(&self, lag: u64) -> u64;
    /// When `chunk` samples may go: `None` for at once.
    fn send_at(&self, chunk: u64, lag: u64, now: Instant) -> Option<Instant>;
    /// Counts `samples` as sent while `lag` behind.
    fn sent(&mut self, samples: u64, lag: u64);
}

/// The v1 pace: live audio at once, a backlog at `speed` times real time.
#[derive(Debug, Clone)]
pub struct BacklogPace {
    speed: f64,
    next_backlog_send: Instant,
}

impl BacklogPace {
    pub fn new(speed: f64, now: Instant) -> Self {
        Self {
            speed,
            next_backlog_send: now,
        }
    }
}

impl Pace for BacklogPace {
    fn chunk(&self, lag: u64) -> u64 {
        lag.min(consult_protocol::audio::MAX_FRAME_SAMPLES as u64)
    }

    fn send_at(&self, _chunk: u64, lag: u64, now: Instant) -> Option<Instant> {
        (lag > LIVE_LAG && self.next_backlog_send > now).then_some(self.next_backlog_send)
    }

    fn sent(&mut self, samples: u64, lag: u64) {
        if lag > LIVE_LAG {
            let pace = Duration::from_secs_f64(samples_to_secs(samples) / self.speed);
            self.next_backlog_send = self.next_backlog_send.max(Instant::now() - pace) + pace;
        }
    }
}

/// Audio a fresh connection may send at once (1 s): below the few seconds a
/// Google-style recogniser tolerates ahead of real time.
pub const BURST_SAMPLES: u64 = SAMPLE_RATE as u64;

/// The seed pace: the send budget of one connection.
#[derive(Debug, Clone)]
pub struct Pacer {
    started: Instant,
    /// Seconds of audio per second of wall time.
    pace: f64,
    sent: u64,
}

impl Pacer {
    /// A budget starting now, at `pace` times real time.
    pub fn new(pace: f64, now: Instant) -> Self {
        Self {
            started: now,
            pace,
            sent: 0,
        }
    }

    /// When `samples` more may go: `None` for at once.
    pub fn send_at(&self, samples: u64, now: Instant) -> Option<Instant> {
        let needed = (self.sent + samples).saturating_sub(BURST_SAMPLES);
        let at = self.started
            + Duration::from_secs_f64(needed as f64 / (self.pace * SAMPLE_RATE as f64));
        (at > now).then_some(at)
    }

    /// Counts `samples` as sent.
    pub fn sent(&mut self, samples: u64) {
        self.sent += samples;
    }

    /// The largest chunk worth sending at this pace: 100 ms of audio at real
    /// time (what streaming recognisers ask for), more when the pace is a
    /// compressed test clock, never more than a second.
    pub fn chunk_samples(&self) -> u64 {
        let tenth = SAMPLE_RATE as u64 / 10;
        ((tenth as f64 * self.pace.max(1.0)) as u64).min(SAMPLE_RATE as u64)
    }

    /// A wall-clock span of `audio_secs` seconds of audio at this pace.
    pub fn wall(&self, audio_secs: f64) -> Duration {
        Duration::from_secs_f64(audio_secs / self.pace)
    }
}

impl Pace for Pacer {
    fn chunk(&self, lag: u64) -> u64 {
        lag.min(self.chunk_samples())
    }

    fn send_at(&self, chunk: u64, _lag: u64, now: Instant) -> Option<Instant> {
        Pacer::send_at(self, chunk, now)
    }

    fn sent(&mut self, samples: u64, _lag: u64) {
        Pacer::sent(self, samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_at_once_then_real_time() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(1.0, t0);
        assert_eq!(
            pacer.send_at(BURST_SAMPLES, t0),
            None,
            "the burst goes at once"
        );
        pacer.sent(BURST_SAMPLES);
        let next = pacer.send_at(1_600, t0).expect("past the burst, it waits");
        assert_eq!(next - t0, Duration::from_millis(100));
        assert_eq!(pacer.send_at(1_600, t0 + Duration::from_millis(100)), None);
        // An idle connection earns its budget back (the server's clock runs too).
        assert_eq!(pacer.send_at(16_000, t0 + Duration::from_secs(1)), None);
    }

    #[test]
    fn never_more_than_pace_times_elapsed_plus_the_burst() {
        let t0 = Instant::now();
        for pace in [0.5, 1.0, 8.0, 30.0] {
            let mut pacer = Pacer::new(pace, t0);
            let mut now = t0;
            let chunk = pacer.chunk_samples();
            for _ in 0..500 {
                if let Some(at) = pacer.send_at(chunk, now) {
                    now = at;
                }
                pacer.sent(chunk);
                let elapsed = (now - t0).as_secs_f64();
                let allowed = BURST_SAMPLES as f64 + pace * elapsed * SAMPLE_RATE as f64;
                assert!(
                    pacer.sent as f64 <= allowed + 1.0,
                    "pace {pace}: {} > {allowed}",
                    pacer.sent
                );
            }
        }
    }

    #[test]
    fn chunks_are_small_at_real_time_and_bounded_when_compressed() {
        let t0 = Instant::now();
        assert_eq!(Pacer::new(1.0, t0).chunk_samples(), 1_600);
        assert_eq!(Pacer::new(0.5, t0).chunk_samples(), 1_600);
        assert_eq!(Pacer::new(8.0, t0).chunk_samples(), 12_800);
        assert_eq!(Pacer::new(50.0, t0).chunk_samples(), 16_000);
    }
}
