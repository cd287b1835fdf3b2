//! Notices that the computer slept while a recording ran. A suspended laptop
//! captures nothing, and its monotonic clock (which the capture and the
//! sender time themselves by) stops too, so without this the recording
//! would carry on as if nothing had happened and the doctor would never know
//! that minutes of the consultation are missing.

use std::sync::Arc;
use std::time::Duration;

/// Shorter gaps are a busy machine, not a sleep.
pub const NOTICED_FROM: Duration = Duration::from_secs(2);

/// Time spent asleep so far, from any fixed origin; `None` when the system
/// cannot say. The system's is [`SleepClock::system`]; tests wind their own.
#[derive(Clone)]
pub struct SleepClock(Arc<dyn Fn() -> Option<Duration> + Send + Sync>);

impl SleepClock {
    /// Linux: time suspended since boot (boot-time clock minus monotonic).
    /// Elsewhere: how far the wall clock ran ahead of the monotonic one,
    /// which a change of the wall clock also moves (documented).
    pub fn system() -> Self {
        #[cfg(target_os = "linux")]
        {
            Self(Arc::new(crate::os::suspended_since_boot))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let origin = (std::time::Instant::now(), std::time::SystemTime::now());
            Self(Arc::new(move || {
                let wall = std::time::SystemTime::now().duration_since(origin.1).ok()?;
                Some(wall.saturating_sub(origin.0.elapsed()))
            }))
        }
    }

    /// A clock read from `read`, for tests.
    pub fn from_fn(read: impl Fn() -> Option<Duration> + Send + Sync + 'static) -> Self {
        Self(Arc::new(read))
    }

    fn read(&self) -> Option<Duration> {
        (self.0)()
    }
}

impl std::fmt::Debug for SleepClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SleepClock")
    }
}

/// Compares the clock between two looks.
pub struct SleepWatch {
    clock: SleepClock,
    last: Option<Duration>,
}

impl SleepWatch {
    /// Starts watching from now.
    pub fn new(clock: SleepClock) -> Self {
        let last = clock.read();
        Self { clock, last }
    }

    /// How long the computer slept since the last look, if it did.
    pub fn slept(&mut self) -> Option<Duration> {
        let now = self.clock.read()?;
        let since = now.saturating_sub(self.last.replace(now).unwrap_or(now));
        (since >= NOTICED_FROM).then_some(since)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    #[test]
    fn only_a_jump_of_the_sleep_clock_counts_and_only_once() {
        let asleep = Arc::new(AtomicU64::new(5));
        let read = Arc::clone(&asleep);
        let mut watch = SleepWatch::new(SleepClock::from_fn(move || {
            Some(Duration::from_secs(read.load(Ordering::SeqCst)))
        }));
        assert_eq!(watch.slept(), None);
        asleep.store(6, Ordering::SeqCst);
        assert_eq!(watch.slept(), None, "a second is a busy machine");
        asleep.store(606, Ordering::SeqCst);
        assert_eq!(watch.slept(), Some(Duration::from_secs(600)));
        assert_eq!(watch.slept(), None, "reported once");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_system_clock_answers_on_linux() {
        assert!(SleepClock::system().read().is_some());
    }
}
