//! A WAV file as an audio source, paced like a microphone (or faster).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

use super::{AudioError, AudioSource, FRAME_SAMPLES, Frame};

/// Plays a 16 kHz mono 16-bit WAV file as frames, at real time × `speed`.
pub struct WavSource {
    path: PathBuf,
    samples: Vec<i16>,
    position: usize,
    started: Instant,
    first_offset: u64,
    speed: f64,
    pacer: Option<Pacer>,
}

/// Two timers a frame apart, taking turns. Arming a timer earlier than every
/// other the runtime holds makes tokio wake its own driver (a write to an
/// eventfd and an extra poll, 50 times a second); with the next frame's timer
/// always armed, the one re-armed is never the earliest.
struct Pacer {
    timers: [Pin<Box<Sleep>>; 2],
    turn: usize,
}

impl Pacer {
    fn new(first: Instant, second: Instant) -> Self {
        Self {
            timers: [Box::pin(sleep_until(first)), Box::pin(sleep_until(second))],
            turn: 0,
        }
    }

    /// Waits for the current frame's deadline.
    async fn wait(&mut self) {
        self.timers[self.turn].as_mut().await;
    }

    /// Re-arms the timer just used for the frame after next.
    fn rearm(&mut self, deadline: Instant) {
        self.timers[self.turn].as_mut().reset(deadline);
        self.turn ^= 1;
    }
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
        if spec.sample_rate != consult_protocol::SAMPLE_RATE
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
            pacer: None,
        })
    }

    /// The file being played.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Samples (at 16 kHz) in the whole file.
    pub fn total_samples(&self) -> u64 {
        self.samples.len() as u64
    }

    /// A frame is ready when its last sample would have been captured.
    fn due(&self, end: u64) -> Instant {
        let played = consult_protocol::samples_to_secs(end - self.first_offset) / self.speed;
        self.started + Duration::from_secs_f64(played)
    }
}

impl AudioSource for WavSource {
    /// A file is the same audio every time: continue from `offset` in it.
    fn start_at(&mut self, offset: u64) {
        self.position = (offset as usize).min(self.samples.len());
        self.first_offset = self.position as u64;
        self.started = Instant::now();
        self.pacer = None;
    }

    async fn next_frame(&mut self) -> Result<Option<Frame>, AudioError> {
        if self.position >= self.samples.len() {
            return Ok(None);
        }
        let end = (self.position + FRAME_SAMPLES).min(self.samples.len());
        if self.speed > 0.0 {
            // This frame's deadline, the next one's and the one after.
            let [due, next, after_next] =
                [0, 1, 2].map(|k| self.due(end as u64 + k * FRAME_SAMPLES as u64));
            let pacer = self.pacer.get_or_insert_with(|| Pacer::new(due, next));
            pacer.wait().await;
            pacer.rearm(after_next);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_of(dir: &Path, frames: usize) -> PathBuf {
        let path = dir.join("paced.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: consult_protocol::SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..frames * FRAME_SAMPLES {
            writer.write_sample(i as i16).unwrap();
        }
        writer.finalize().unwrap();
        path
    }

    /// Each frame is ready when its last sample would have been captured, on
    /// Tokio's paused clock (which jumps to the next deadline, so the times
    /// are exact), through both timers' turns and a restart in the middle.
    #[tokio::test(start_paused = true)]
    async fn frames_come_at_real_time_through_both_timers_and_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut source = WavSource::open(&wav_of(dir.path(), 10), 1.0).unwrap();
        source.start_at(0);
        let start = Instant::now();
        let frame = Duration::from_millis(20);
        for k in 1..=5u32 {
            let got = source.next_frame().await.unwrap().unwrap();
            assert_eq!(got.offset, u64::from(k - 1) * FRAME_SAMPLES as u64);
            let late = Instant::now() - (start + frame * k);
            assert!(
                late <= Duration::from_millis(1),
                "frame {k} late by {late:?}"
            );
        }

        // Resumed at frame 7: paced from now, not from the first start.
        source.start_at(7 * FRAME_SAMPLES as u64);
        let restart = Instant::now();
        for k in 1..=3u32 {
            let got = source.next_frame().await.unwrap().unwrap();
            assert_eq!(got.offset, u64::from(6 + k) * FRAME_SAMPLES as u64);
            let late = Instant::now() - (restart + frame * k);
            assert!(
                late <= Duration::from_millis(1),
                "resumed frame {k} late by {late:?}"
            );
        }
        assert!(source.next_frame().await.unwrap().is_none());
    }
}
