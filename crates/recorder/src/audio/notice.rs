//! What an audio source has to say besides frames: the input level, and
//! changes to the microphone a person must hear about.

use serde::Serialize;

use super::InputDevice;
use super::dsp::Level;

/// Digital silence for this long is worth a warning (a muted or dead input).
/// Long, because a consultation has pauses, and a noise-gated headset
/// delivers zeros in every one of them: a warning at each pause teaches the
/// doctor to ignore it.
pub const NO_SIGNAL_AFTER_SECS: f32 = 30.0;

/// A change to the microphone. Recording goes on through all of these.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MicChange {
    /// The device stopped delivering audio; a new one is being looked for.
    Lost {
        /// The lost device's name.
        device: String,
        /// Why it counts as lost: the audio system's error, or how long it
        /// delivered nothing.
        reason: String,
    },
    /// Audio flows again, from `device` (`same_device`: the one that was lost).
    Restored {
        /// The device audio now comes from.
        device: InputDevice,
        /// Whether that is the device that was lost (if not, the default one).
        same_device: bool,
        /// Seconds without a microphone; that time is not in the recording.
        missing_secs: f64,
    },
    /// The operating system refuses access; `advice` says what to do.
    PermissionDenied {
        /// What to do on this platform (see [`super::permission_advice`]).
        advice: String,
    },
    /// Nothing but digital zeros for `secs` seconds.
    NoSignal {
        /// Seconds of digital silence so far.
        secs: f32,
    },
    /// Sound again after [`MicChange::NoSignal`].
    SignalBack,
    /// The reader fell behind the device and `secs` of audio were dropped.
    Overflow {
        /// Seconds of audio dropped since the last such notice.
        secs: f64,
    },
}

impl MicChange {
    /// One sentence for the person recording.
    pub fn describe(&self) -> String {
        match self {
            Self::Lost { device, reason } => format!(
                "Microphone lost ({device}: {reason}). Recording continues as soon as a microphone is back."
            ),
            Self::Restored {
                device,
                same_device: true,
                missing_secs,
            } => format!(
                "The microphone is back ({}) after {missing_secs:.0} s.",
                device.name
            ),
            Self::Restored {
                device,
                missing_secs,
                ..
            } => format!(
                "Switched to another microphone ({}) after {missing_secs:.0} s without one.",
                device.name
            ),
            Self::PermissionDenied { advice } => advice.clone(),
            Self::NoSignal { secs } => {
                format!("No sound from the microphone for {secs:.0} s. Is it muted?")
            }
            Self::SignalBack => "The microphone picks up sound again.".into(),
            Self::Overflow { secs } => format!(
                "{secs:.2} s of microphone audio were dropped because the computer was too busy."
            ),
        }
    }
}

/// Either a level reading or a microphone change.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceNotice {
    /// An input level reading (ten a second).
    Level(Level),
    /// A change to the microphone.
    Mic(MicChange),
}
