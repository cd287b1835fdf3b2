//! The one backoff of the crate: reconnecting, refreshing a token, getting a
//! lost microphone back. Doubles from `first` up to `max`, with a random share
//! taken off so that many laptops behind one clinic network do not retry in
//! step.

use std::time::Duration;

/// Waits between retries: doubling, capped, with a random share taken off.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    /// The share of each wait that is random: 0.5 waits 50–100 % of it.
    jitter: f64,
    attempt: u32,
}

impl Backoff {
    /// Doubling from `first` to `max`, waiting 50–100 % of each step.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            jitter: 0.5,
            attempt: 0,
        }
    }

    /// The same with another random share (0.0: exact waits).
    pub fn with_jitter(mut self, share: f64) -> Self {
        self.jitter = share.clamp(0.0, 1.0);
        self
    }

    /// Failed attempts since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The wait before the next attempt: `first × 2^n`, capped, less the
    /// random share.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_within(self.max)
    }

    /// [`Backoff::next_delay`], never longer than `limit` (a deadline the
    /// caller must still meet, such as a token's remaining life).
    pub fn next_delay_within(&mut self, limit: Duration) -> Duration {
        let exponent = self.attempt.min(16);
        self.attempt += 1;
        let base = self
            .first
            .saturating_mul(1 << exponent)
            .min(self.max)
            .min(limit);
        base.mul_f64(1.0 - self.jitter * rand::random::<f64>())
    }

    /// Starts again from `first` (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let delays: Vec<Duration> = (0..10).map(|_| b.next_delay()).collect();
        assert!(delays[0] <= Duration::from_millis(500) && delays[0] >= Duration::from_millis(250));
        assert!(delays[3] <= Duration::from_secs(4) && delays[3] >= Duration::from_secs(2));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(30)));
        assert!(
            delays[9] >= Duration::from_secs(15),
            "capped at 30 s, not below half"
        );
        assert_eq!(b.attempt(), 10);
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(500));
    }

    #[test]
    fn without_jitter_the_waits_are_exact_and_a_limit_caps_them() {
        let mut b =
            Backoff::new(Duration::from_millis(250), Duration::from_secs(4)).with_jitter(0.0);
        let delays: Vec<u128> = (0..7).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).with_jitter(0.2);
        for _ in 0..5 {
            let d = b.next_delay_within(Duration::from_secs(3));
            assert!(
                d <= Duration::from_secs(3) && d >= Duration::from_millis(800),
                "{d:?}"
            );
        }
        assert_eq!(b.attempt(), 5);
    }
}
