//! Where audio comes from: sources that produce PCM16LE 16 kHz mono frames.
//!
//! Owns the frame format and the sources (a WAV file, the microphone). Never
//! touches the disk spool or the network: a source only hands frames to
//! whoever records them.

mod wav;

pub use wav::WavSource;

mod device_list;
mod dsp;
mod library_messages;
mod mic;
mod notice;

pub use dsp::{Dsp, Level, LevelMeter, ResampleError, Resampler16k, SampleBlock};
pub use mic::{InputDevice, MicSource, STALL_AFTER, input_devices, permission_advice};
pub use notice::{MicChange, NO_SIGNAL_AFTER_SECS, SourceNotice};

use std::future::Future;
use std::path::PathBuf;

/// Samples per frame: 20 ms at 16 kHz, small enough for live text.
pub const FRAME_SAMPLES: usize = 320;

/// A frame of captured audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Sample offset of the first sample, from the start of the session.
    pub offset: u64,
    /// PCM16LE mono 16 kHz.
    pub pcm: Vec<u8>,
}

impl Frame {
    /// Samples in the frame (two bytes each).
    pub fn samples(&self) -> u64 {
        (self.pcm.len() / 2) as u64
    }

    /// The offset just after the frame's last sample: the next frame's `offset`.
    pub fn end(&self) -> u64 {
        self.offset + self.samples()
    }
}

/// Why a source cannot deliver audio.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file cannot be opened or read.
    #[error("cannot read the audio file {path}: {reason}")]
    File {
        /// The file that failed.
        path: PathBuf,
        /// The WAV reader's error.
        reason: String,
    },
    /// The microphone cannot be found, opened or read; holds why.
    #[error("microphone: {0}")]
    Device(String),
    /// The operating system refused access to the microphone.
    #[error("the system refused access to the microphone")]
    PermissionDenied,
    /// The file is not 16 kHz mono 16-bit integer PCM.
    #[error(
        "the audio file {path} is {rate} Hz, {channels} channel(s), {bits}-bit; \
         this source needs 16 kHz mono 16-bit PCM"
    )]
    Format {
        /// The file that was refused.
        path: PathBuf,
        /// Its sample rate, in Hz.
        rate: u32,
        /// Its number of channels.
        channels: u16,
        /// Its bits per sample.
        bits: u16,
    },
}

/// Something that produces audio frames in order, without gaps.
pub trait AudioSource: Send {
    /// Number the frames from `offset` (a resumed session continues its spool).
    fn start_at(&mut self, offset: u64);

    /// The next frame, `None` at the end of the audio.
    fn next_frame(&mut self) -> impl Future<Output = Result<Option<Frame>, AudioError>> + Send;

    /// Level readings and device changes, as they happen (even while no frame
    /// is coming). Given out once; sources without any (a file) return `None`.
    fn take_notices(&mut self) -> Option<tokio::sync::mpsc::Receiver<SourceNotice>> {
        None
    }
}
