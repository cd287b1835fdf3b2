//! What a seed server has shown it has: the only evidence that profile gives.
//!
//! Every ping carries the sample offset sent before it, and a WebSocket
//! library answers a ping only after reading every frame before it. A pong
//! therefore proves the server's *library* read the audio up to the offset it
//! echoes — not that the application behind it took it from its queue. At a
//! pace the recogniser accepts, that queue empties within moments, so a pong
//! counts as *settled* once the connection has stayed up for `settle` after
//! it. Only settled audio is never sent again.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Pongs of one connection and the settled offset they prove.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// Echoed offsets not yet settled, with when they arrived.
    unsettled: VecDeque<(u64, Instant)>,
    settled: u64,
}

impl Evidence {
    /// A connection that started sending at `from` (itself settled earlier).
    pub fn new(from: u64) -> Self {
        Self {
            unsettled: VecDeque::new(),
            settled: from,
        }
    }

    /// A pong echoing `offset` arrived at `at`.
    pub fn pong(&mut self, offset: u64, at: Instant) {
        if offset > self.settled && self.unsettled.back().is_none_or(|(o, _)| offset > *o) {
            self.unsettled.push_back((offset, at));
        }
    }

    /// Settles every pong at least `settle` old at `now`; returns the settled offset.
    pub fn settle(&mut self, now: Instant, settle: Duration) -> u64 {
        while let Some(&(offset, at)) = self.unsettled.front() {
            if now.saturating_duration_since(at) < settle {
                break;
            }
            self.settled = offset;
            self.unsettled.pop_front();
        }
        self.settled
    }

    pub fn settled(&self) -> u64 {
        self.settled
    }

    /// When the oldest unsettled pong settles.
    pub fn next_settle_at(&self, settle: Duration) -> Option<Instant> {
        self.unsettled.front().map(|(_, at)| *at + settle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_secs(1);

    #[test]
    fn a_pong_settles_only_after_the_connection_stayed_up_long_enough() {
        let t0 = Instant::now();
        let mut evidence = Evidence::new(1_000);
        evidence.pong(9_000, t0);
        evidence.pong(17_000, t0 + Duration::from_millis(500));
        assert_eq!(
            evidence.settle(t0 + Duration::from_millis(999), SETTLE),
            1_000
        );
        assert_eq!(evidence.settle(t0 + SETTLE, SETTLE), 9_000);
        assert_eq!(
            evidence.next_settle_at(SETTLE),
            Some(t0 + Duration::from_millis(1_500))
        );
        assert_eq!(evidence.settle(t0 + Duration::from_secs(5), SETTLE), 17_000);
        assert_eq!(evidence.next_settle_at(SETTLE), None);
    }

    #[test]
    fn stale_or_backward_pongs_change_nothing() {
        let t0 = Instant::now();
        let mut evidence = Evidence::new(8_000);
        evidence.pong(4_000, t0);
        evidence.pong(12_000, t0);
        evidence.pong(10_000, t0);
        assert_eq!(evidence.settle(t0 + Duration::from_secs(2), SETTLE), 12_000);
    }
}
