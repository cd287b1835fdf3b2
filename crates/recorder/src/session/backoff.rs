//! Capped exponential backoff with jitter, reset when a connection succeeds.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            attempt: 0,
        }
    }

    /// Failed attempts since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The wait before the next attempt: `first × 2^n`, capped, times 0.5–1.0.
    pub fn next_delay(&mut self) -> Duration {
        let exponent = self.attempt.min(16);
        self.attempt += 1;
        let base = self.first.saturating_mul(1 << exponent).min(self.max);
        base.mul_f64(0.5 + 0.5 * rand::random::<f64>())
    }

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
}
