//! A WAV file as an audio source, paced like a microphone (or faster).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::{AudioError, AudioSource, FRAME_SAMPLES, Frame};

/// Plays a 16 kHz mono 16-bit WAV file as frames, at real time × `speed`.
pub struct WavSource {
    path: PathBuf,
    samples: Vec<i16>,
    position: usize,
    started: Instant,
    first_offset: u64,
    speed: f64,
}

impl WavSource {
    /// Opens `path`. `speed` 1.0 is real time; 0 means as fast as possible.
    pub fn open(path: &Path, speed: f64) -> Result<Self, AudioError> {
        let fail = |reason: String| AudioError::File {
            path: path.to_owned(),
            reason,
        };
        let reader = hound::WavReader::open(path).map_err(|e| fail(e.to_string()))?;
        let spec = reader.spec();
        if spec.sample_rate != 16_000
            || spec.channels != 1
            || spec.bits_per_sample != 16
            || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(AudioError::Format {
                path: path.to_owned(),
                rate: spec.sample_rate,
                channels: spec.channels,
                bits: spec.bits_per_sample,
            });
        }
        let samples = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            samples,
            position: 0,
            started: Instant::now(),
            first_offset: 0,
            speed,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn total_samples(&self) -> u64 {
        self.samples.len() as u64
    }
}

impl AudioSource for WavSource {
    /// A file is the same audio every time: continue from `offset` in it.
    fn start_at(&mut self, offset: u64) {
        self.position = (offset as usize).min(self.samples.len());
        self.first_offset = self.position as u64;
        self.started = Instant::now();
    }

    async fn next_frame(&mut self) -> Result<Option<Frame>, AudioError> {
        if self.position >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.position + FRAME_SAMPLES).min(self.samples.len());
        if self.speed > 0.0 {
            // A frame is ready when its last sample would have been captured.
            let played = (end as u64 - self.first_offset) as f64 / 16_000.0 / self.speed;
            sleep_until(self.started + Duration::from_secs_f64(played)).await;
        }
        let pcm = self.samples[self.position..end]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let frame = Frame {
            offset: self.position as u64,
            pcm,
        };
        self.position = end;
        Ok(Some(frame))
    }
}
