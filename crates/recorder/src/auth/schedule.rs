//! When to refresh an access token: the timing rule, as pure arithmetic.
//!
//! The rule: refresh at `exp − margin − jitter`, where
//! `margin = max(60 s, 20 % of the lifetime)`, capped at half the lifetime so a
//! short token is not refreshed the moment it arrives, and `jitter` is up to a
//! tenth of the margin (at most 10 s), so a clinic's laptops do not all refresh
//! in the same second.
//!
//! Laptop clocks are often wrong, so the time left is measured on the server's
//! clock (`exp − iat`, or `exp − Date` header when the token has no `iat`) and
//! then counted down on this machine's monotonic clock from the moment the
//! response arrived. The wall clock is used only when the server gives neither.

use std::time::Duration;

use super::claims::TokenTimes;

/// How long a token has left and when to refresh it, relative to its arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPlan {
    /// Time from arrival until the token expires.
    pub valid_for: Duration,
    /// Time from arrival until the refresh should start.
    pub refresh_after: Duration,
    /// Server clock minus this machine's clock, in seconds (for diagnostics).
    pub skew_secs: i64,
}

/// Where the estimate of "now on the server" came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNow {
    /// The token's `iat`.
    IssuedAt(u64),
    /// The HTTP `Date` header of the response.
    DateHeader(u64),
    /// Neither was available: this machine's clock.
    LocalClock(u64),
}

impl ServerNow {
    /// The best estimate of the server's clock: the token's `iat`, else the
    /// `Date` header, else this machine's clock.
    pub fn pick(times: &TokenTimes, date_header: Option<u64>, local_now: u64) -> Self {
        match (times.iat, date_header) {
            (Some(iat), _) => ServerNow::IssuedAt(iat),
            (None, Some(date)) => ServerNow::DateHeader(date),
            (None, None) => ServerNow::LocalClock(local_now),
        }
    }

    fn secs(self) -> u64 {
        match self {
            ServerNow::IssuedAt(s) | ServerNow::DateHeader(s) | ServerNow::LocalClock(s) => s,
        }
    }
}

/// The smallest margin before expiry.
pub const MIN_MARGIN: Duration = Duration::from_secs(60);

/// Plans the refresh of a token that just arrived. `jitter_unit` in `[0, 1)`
/// picks the jitter (callers pass a random number; tests pass fixed ones).
pub fn plan(
    times: &TokenTimes,
    server_now: ServerNow,
    local_now: u64,
    jitter_unit: f64,
) -> RefreshPlan {
    let now = server_now.secs();
    let valid_for = Duration::from_secs(times.exp.saturating_sub(now));
    let lifetime = times
        .iat
        .map(|iat| Duration::from_secs(times.exp.saturating_sub(iat)))
        .unwrap_or(valid_for);
    let margin = MIN_MARGIN.max(lifetime / 5).min(lifetime / 2);
    let jitter = (margin / 10)
        .min(Duration::from_secs(10))
        .mul_f64(jitter_unit.clamp(0.0, 1.0));
    let refresh_after = valid_for.saturating_sub(margin + jitter);
    RefreshPlan {
        valid_for,
        refresh_after,
        skew_secs: now as i64 - local_now as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(iat: Option<u64>, exp: u64) -> TokenTimes {
        TokenTimes {
            exp,
            iat,
            subject: None,
        }
    }

    #[test]
    fn thirty_minute_tokens_refresh_six_minutes_early() {
        let t = times(Some(1_000), 1_000 + 1800);
        let p = plan(&t, ServerNow::IssuedAt(1_000), 1_000, 0.0);
        assert_eq!(p.valid_for, Duration::from_secs(1800));
        assert_eq!(p.refresh_after, Duration::from_secs(1800 - 360));
        let jittered = plan(&t, ServerNow::IssuedAt(1_000), 1_000, 0.999);
        assert!(jittered.refresh_after < p.refresh_after);
        assert!(jittered.refresh_after >= p.refresh_after - Duration::from_secs(10));
    }

    #[test]
    fn short_tokens_keep_half_their_life() {
        let p = plan(&times(Some(0), 60), ServerNow::IssuedAt(0), 0, 0.0);
        assert_eq!(p.refresh_after, Duration::from_secs(30));
        let p = plan(&times(Some(0), 15), ServerNow::IssuedAt(0), 0, 0.0);
        assert_eq!(p.refresh_after, Duration::from_millis(7_500));
        let p = plan(&times(Some(0), 300), ServerNow::IssuedAt(0), 0, 0.0);
        assert_eq!(p.refresh_after, Duration::from_secs(240), "60 s floor");
    }

    #[test]
    fn a_wrong_laptop_clock_does_not_move_the_refresh() {
        let t = times(Some(10_000), 10_600);
        for local in [10_000 - 300, 10_000, 10_000 + 300] {
            let p = plan(&t, ServerNow::pick(&t, None, local), local, 0.0);
            assert_eq!(p.refresh_after, Duration::from_secs(480));
            assert_eq!(p.skew_secs, 10_000 - local as i64);
        }
        // Without iat, the Date header stands in for the server's clock.
        let t = times(None, 10_600);
        let p = plan(&t, ServerNow::pick(&t, Some(10_000), 10_300), 10_300, 0.0);
        assert_eq!(p.valid_for, Duration::from_secs(600));
        assert_eq!(p.skew_secs, -300);
    }

    #[test]
    fn an_already_expired_token_refreshes_at_once() {
        let p = plan(&times(Some(0), 100), ServerNow::DateHeader(200), 200, 0.0);
        assert_eq!(p.valid_for, Duration::ZERO);
        assert_eq!(p.refresh_after, Duration::ZERO);
    }
}
